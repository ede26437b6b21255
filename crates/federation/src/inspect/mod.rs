//! `cairn inspect`: how Cairn understands an ActivityPub document, for operators debugging
//! federation with other software.
//!
//! A document is classified the way the inbox would handle it, with the inbox's own parsing,
//! checks and rejection codes (`crate::inbox`, `crate::inbound`): its type, actor, the community
//! it would land in and what it would become, or the specific reason it would be refused.
//! Objects, actors and collections, which are fetched rather than delivered, are described as
//! what Cairn makes of them when it meets them.
//!
//! Nothing is written anywhere. Without a database the verdict is structural: every check that
//! needs no lookup is made, and the community is reported as the addressees it could be. With a
//! database, read-only lookups say whether the community is one of ours and whether the post or
//! comment a reply, vote or deletion names is known here.

mod activity;
mod document;
mod fetch;

use cairn_core::Cairn;
use serde::Serialize;
use serde_json::Value;

use crate::error::FederationError;
use crate::inbox::{MAX_ACTIVITY_BYTES, inbox_rejection};

pub use fetch::{FetchError, Fetcher};

/// What inspect knows about the instance it speaks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The local domain (host and optional port): an activity with an id on it is refused, as
    /// the inbox refuses activities that claim to come from this server.
    pub local_domain: Option<String>,
    /// Development mode (`dev_insecure_federation`): http URLs and explicit ports are allowed.
    pub insecure: bool,
}

/// How Cairn understands one document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The type, with the types of embedded objects: `Create(Page)`, `Undo(Like)`, `Group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The document's id.
    pub id: Option<String>,
    /// Who sent it (activities) or wrote it (objects).
    pub actor: Option<String>,
    /// Where it would land, and how sure that is.
    pub community: Option<String>,
    /// Accepted, and as what, or rejected, and why.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Further remarks: checks not made here, conditions applied on arrival.
    pub notes: Vec<String>,
    /// What the inbox recorded, when this instance received an activity with this id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredVerdict>,
}

/// The verdict the inbox worker recorded for a received activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVerdict {
    /// `pending`, `leased`, `applied`, `ignored`, `refused` or `failed`.
    pub state: String,
    /// The verdict's code; for a pending activity, why the last attempt did not apply it.
    pub code: Option<String>,
    pub message: Option<String>,
    pub attempts: i32,
    pub received_at: chrono::NaiveDateTime,
    pub finished_at: Option<chrono::NaiveDateTime>,
}

impl StoredVerdict {
    fn to_line(&self) -> String {
        let mut line = format!("stored: {}", self.state);
        if let Some(code) = self.code.as_deref().filter(|c| *c != self.state) {
            line.push_str(&format!(" ({code})"));
        }
        if let Some(m) = self.message.as_deref().filter(|m| !m.is_empty()) {
            line.push_str(&format!(": {m}"));
        }
        line.push_str(&format!(
            "; received {} UTC, {} attempt{}",
            self.received_at.format("%Y-%m-%d %H:%M:%S"),
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        ));
        if let Some(at) = self.finished_at {
            line.push_str(&format!(", decided {} UTC", at.format("%Y-%m-%d %H:%M:%S")));
        }
        line.push('\n');
        line
    }
}

/// The verdict stored for the received activity `ap_id`, if this instance received it.
pub async fn stored_verdict(
    db: &Cairn,
    ap_id: &str,
) -> Result<Option<(StoredVerdict, Value)>, FederationError> {
    let id = ap_id.to_owned();
    let row = db
        .db()
        .run(move |c| cairn_storage::inbound::InboundRow::by_ap_id(c, &id))
        .await
        .map_err(|e| FederationError::Core(e.into()))?;
    Ok(row.map(|r| {
        let data = serde_json::from_str(&r.data).unwrap_or(Value::Null);
        (
            StoredVerdict {
                state: r.state,
                code: r.code,
                message: r.message,
                attempts: r.attempts,
                received_at: r.received_at,
                finished_at: r.finished_at,
            },
            data,
        )
    }))
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Cairn would take it.
    Accepted {
        /// A stable word for what it becomes: `post`, `comment`, `upvote`, `follow`,
        /// `community-actor`, ... (see [`Verdict::becomes`]).
        becomes: &'static str,
        /// What it becomes, for people: `post "Title"`, `upvote of https://...`.
        description: String,
    },
    /// Cairn would acknowledge it and do nothing: it concerns nothing here.
    Ignored {
        /// The verdict code the inbox records.
        code: String,
        /// Why, in a sentence.
        reason: String,
    },
    /// Cairn would refuse it.
    Rejected {
        /// The code the inbox answers with.
        code: String,
        /// Why, in a sentence.
        reason: String,
    },
}

impl Verdict {
    fn accepted(becomes: &'static str, description: impl Into<String>) -> Self {
        Self::Accepted {
            becomes,
            description: description.into(),
        }
    }

    fn rejected(code: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Rejected {
            code: code.into(),
            reason: reason.into(),
        }
    }

    fn ignored(code: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Ignored {
            code: code.into(),
            reason: reason.into(),
        }
    }

    /// The verdict for an error of the inbox, with the code and message it would answer with.
    fn from_error(e: &FederationError) -> Self {
        let (_, code, message) = inbox_rejection(e);
        Self::rejected(code, message)
    }

    /// Whether Cairn would take the document.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted { .. })
    }

    /// The word in the verdict table: what it becomes, or the rejection code.
    pub fn becomes(&self) -> &str {
        match self {
            Self::Accepted { becomes, .. } => becomes,
            Self::Rejected { code, .. } | Self::Ignored { code, .. } => code,
        }
    }
}

impl Report {
    fn new(kind: String) -> Self {
        Self {
            kind,
            id: None,
            actor: None,
            community: None,
            verdict: Verdict::rejected("internal_error", "not classified"),
            notes: vec![],
            stored: None,
        }
    }

    /// A few lines for people: type, id, actor, community, then what it becomes or why it is
    /// rejected, then the notes.
    pub fn to_text(&self) -> String {
        let mut out = format!("type: {}\n", self.kind);
        for (label, value) in [
            ("id", &self.id),
            ("actor", &self.actor),
            ("community", &self.community),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("{label}: {v}\n"));
            }
        }
        match &self.verdict {
            Verdict::Accepted { description, .. } => {
                out.push_str(&format!("becomes: {description}\n"));
            }
            Verdict::Rejected { code, reason } => {
                out.push_str(&format!("rejected: {code}: {reason}\n"));
            }
            Verdict::Ignored { code, reason } => {
                out.push_str(&format!("ignored: {code}: {reason}\n"));
            }
        }
        if let Some(stored) = &self.stored {
            out.push_str(&stored.to_line());
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }
}

/// Where lookups go: nowhere (offline), or a database read without writing.
#[derive(Clone, Copy)]
struct Env<'a> {
    options: &'a Options,
    db: Option<&'a Cairn>,
}

/// Classifies a document as received: at most [`MAX_ACTIVITY_BYTES`], JSON, then as
/// [`inspect_value`] does.
pub async fn inspect_bytes(bytes: &[u8], options: &Options, db: Option<&Cairn>) -> Report {
    if bytes.len() > MAX_ACTIVITY_BYTES {
        let mut report = Report::new("unknown".into());
        report.verdict = Verdict::rejected(
            "body_too_large",
            "The document is larger than the inbox accepts (1 MiB).",
        );
        return report;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => inspect_value(&value, options, db).await,
        Err(e) => {
            let mut report = Report::new("unknown".into());
            report.verdict = Verdict::rejected(
                "unsupported_activity",
                format!("The document is not JSON: {e}."),
            );
            report
        }
    }
}

/// Classifies a parsed document: an activity as the inbox would handle it, an object as what a
/// Create would make of it, an actor or a collection as what Cairn reads from it.
pub async fn inspect_value(value: &Value, options: &Options, db: Option<&Cairn>) -> Report {
    let env = Env { options, db };
    let mut report = Report::new(type_line(value, 0));
    report.id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let Some(kind) = type_name(value) else {
        report.verdict = Verdict::rejected(
            "unsupported_activity",
            if value.is_object() {
                "The document has no `type`."
            } else {
                "The document is not a JSON object."
            },
        );
        return report;
    };
    report.verdict = match document::family(kind, value) {
        document::Family::Actor => document::actor(kind, value, &mut report),
        document::Family::Collection => document::collection(kind, value, &mut report),
        document::Family::Activity => activity::classify(value, &mut report, env).await,
        document::Family::Object => document::object(kind, value, &mut report, env).await,
    };
    report
}

/// The document's `type`; the first one when it lists several, as JSON-LD allows.
fn type_name(v: &Value) -> Option<&str> {
    match v.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// `Announce(Create(Page))`: the type, then the types of embedded objects, three levels deep.
fn type_line(v: &Value, depth: usize) -> String {
    let kind = type_name(v).unwrap_or("unknown").to_owned();
    match v.get("object") {
        Some(inner) if depth < 3 && type_name(inner).is_some() => {
            format!("{kind}({})", type_line(inner, depth + 1))
        }
        _ => kind,
    }
}

/// The name of a community guessed from its URL (`https://h/c/tenforward` gives `tenforward`),
/// for titles made from a Note when the community is not looked up.
fn name_from_url(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_show_what_they_carry() {
        let v = serde_json::json!({"type": "Announce", "object": {"type": "Create",
            "object": {"type": ["Page", "as:Page"]}}});
        assert_eq!(type_line(&v, 0), "Announce(Create(Page))");
        assert_eq!(name_from_url("https://h/c/tenforward/"), "tenforward");
    }

    #[tokio::test]
    async fn oversized_and_malformed_documents_are_refused() {
        let options = Options::default();
        let big = vec![b' '; MAX_ACTIVITY_BYTES + 1];
        let report = inspect_bytes(&big, &options, None).await;
        assert_eq!(report.verdict.becomes(), "body_too_large");
        let report = inspect_bytes(b"{not json", &options, None).await;
        assert_eq!(report.verdict.becomes(), "unsupported_activity");
        let report = inspect_bytes(b"[1, 2]", &options, None).await;
        assert!(report.to_text().contains("not a JSON object"), "{report:?}");
    }
}
