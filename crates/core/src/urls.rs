//! The public URLs of local actors and objects, Lemmy's paths so links and habits carry over.

/// Builds public URLs from the instance base URL.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

impl Urls {
    /// Creates the builder for `base` (`https://host[:port]`).
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    /// The instance's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The instance Application actor.
    pub fn instance(&self) -> String {
        format!("{}/", self.base)
    }

    /// The shared inbox.
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// A local person.
    pub fn person(&self, name: &str) -> String {
        format!("{}/u/{name}", self.base)
    }

    /// A local person's inbox.
    pub fn person_inbox(&self, name: &str) -> String {
        format!("{}/u/{name}/inbox", self.base)
    }

    /// A local person's outbox.
    pub fn person_outbox(&self, name: &str) -> String {
        format!("{}/u/{name}/outbox", self.base)
    }

    /// A local community.
    pub fn community(&self, name: &str) -> String {
        format!("{}/c/{name}", self.base)
    }

    /// A community sub-resource: `inbox`, `outbox`, `followers`, `featured` or `moderators`.
    pub fn community_part(&self, name: &str, part: &str) -> String {
        format!("{}/c/{name}/{part}", self.base)
    }

    /// A post.
    pub fn post(&self, id: i64) -> String {
        format!("{}/post/{id}", self.base)
    }

    /// A comment.
    pub fn comment(&self, id: i64) -> String {
        format!("{}/comment/{id}", self.base)
    }
}
