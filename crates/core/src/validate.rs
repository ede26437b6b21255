//! Validated input types. A value of these types has passed the rules, so code further in never
//! checks again.

use crate::error::{CoreError, CoreResult};

/// Longest post title, as in Lemmy.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest community title.
pub const MAX_COMMUNITY_TITLE_CHARS: usize = 100;
/// Longest Markdown body of a post or comment.
pub const MAX_BODY_CHARS: usize = 50_000;
/// Longest community description or bio.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;
/// Longest link.
pub const MAX_URL_CHARS: usize = 2_000;

fn is_name_char(c: char, allow_upper: bool) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || c == '_'
        || (allow_upper && c.is_ascii_uppercase())
}

/// A local username: 3 to 30 of `[A-Za-z0-9_]`, unique without regard to case.
pub fn username(raw: &str) -> CoreResult<String> {
    let n = raw.chars().count();
    if !(3..=30).contains(&n) || !raw.chars().all(|c| is_name_char(c, true)) {
        return Err(CoreError::invalid(
            "invalid_username",
            "A username has 3 to 30 characters: letters, digits and underscores.",
        ));
    }
    Ok(raw.to_owned())
}

/// A community name: 3 to 20 of `[a-z0-9_]`.
pub fn community_name(raw: &str) -> CoreResult<String> {
    let n = raw.chars().count();
    if !(3..=20).contains(&n) || !raw.chars().all(|c| is_name_char(c, false)) {
        return Err(CoreError::invalid(
            "invalid_community_name",
            "A community name has 3 to 20 characters: lower-case letters, digits and underscores.",
        ));
    }
    // These names are API paths under /api/v1/communities/.
    if matches!(raw, "follow" | "unfollow") {
        return Err(CoreError::invalid(
            "invalid_community_name",
            format!("`{raw}` is reserved; choose another community name."),
        ));
    }
    Ok(raw.to_owned())
}

/// A password: 10 to 1024 characters.
pub fn password(raw: &str) -> CoreResult<&str> {
    let n = raw.chars().count();
    if !(10..=1024).contains(&n) {
        return Err(CoreError::invalid(
            "invalid_password",
            "A password has 10 to 1024 characters.",
        ));
    }
    Ok(raw)
}

/// An email address: one `@` with text on both sides, no spaces, at most 254 characters.
pub fn email(raw: &str) -> CoreResult<String> {
    let raw = raw.trim();
    let valid = raw.len() <= 254
        && !raw.chars().any(char::is_whitespace)
        && matches!(raw.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
    if !valid {
        return Err(CoreError::invalid(
            "invalid_email",
            "That is not an email address.",
        ));
    }
    Ok(raw.to_owned())
}

fn single_line(raw: &str, max: usize, code: &'static str, what: &str) -> CoreResult<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(CoreError::invalid(code, format!("The {what} is empty.")));
    }
    if trimmed.chars().count() > max {
        return Err(CoreError::invalid(
            code,
            format!("The {what} is longer than {max} characters."),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            code,
            format!("The {what} must be a single line of text."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A post title: one line, 1 to 200 characters after trimming.
pub fn post_title(raw: &str) -> CoreResult<String> {
    single_line(raw, MAX_TITLE_CHARS, "invalid_title", "title")
}

/// A community title: one line, 1 to 100 characters after trimming.
pub fn community_title(raw: &str) -> CoreResult<String> {
    single_line(raw, MAX_COMMUNITY_TITLE_CHARS, "invalid_title", "title")
}

/// A display name: one line, up to 50 characters; blank means none.
pub fn display_name(raw: &str) -> CoreResult<Option<String>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    single_line(
        raw,
        MAX_DISPLAY_NAME_CHARS,
        "invalid_display_name",
        "display name",
    )
    .map(Some)
}

/// Markdown text of at most `max` characters; blank means none.
pub fn markdown(raw: &str, max: usize, code: &'static str) -> CoreResult<Option<String>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > max {
        return Err(CoreError::invalid(
            code,
            format!("The text is longer than {max} characters."),
        ));
    }
    Ok(Some(raw.to_owned()))
}

/// A required Markdown body, such as a comment's.
pub fn required_body(raw: &str) -> CoreResult<String> {
    markdown(raw, MAX_BODY_CHARS, "invalid_body")?
        .ok_or_else(|| CoreError::invalid("invalid_body", "The text is empty."))
}

/// An http or https link.
pub fn link(raw: &str) -> CoreResult<Option<String>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > MAX_URL_CHARS {
        return Err(CoreError::invalid(
            "invalid_url",
            format!("The link is longer than {MAX_URL_CHARS} characters."),
        ));
    }
    let parsed = url::Url::parse(raw)
        .map_err(|e| CoreError::invalid("invalid_url", format!("The link is not a URL: {e}.")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(CoreError::invalid(
            "invalid_url",
            "The link must be an http or https URL with a host.",
        ));
    }
    Ok(Some(parsed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_names() {
        assert!(community_name("rust_dev").is_ok());
        assert!(community_name("ab").is_err());
        assert!(community_name("Upper").is_err());
        assert!(community_name("a-b-c").is_err());
        assert!(community_name(&"a".repeat(21)).is_err());
        assert!(community_name("ünï").is_err());
    }

    #[test]
    fn usernames() {
        assert!(username("Alice_1").is_ok());
        assert!(username("al").is_err());
        assert!(username("al ice").is_err());
    }

    #[test]
    fn titles() {
        assert_eq!(post_title("  Hi  ").unwrap(), "Hi");
        assert!(post_title("   ").is_err());
        assert!(post_title(&"x".repeat(201)).is_err());
        assert!(post_title(&"x".repeat(200)).is_ok());
        assert!(post_title("two\nlines").is_err());
    }

    #[test]
    fn links_and_emails() {
        assert!(link("javascript:alert(1)").is_err());
        assert!(link("https://example.com/a").unwrap().is_some());
        assert!(link("").unwrap().is_none());
        assert!(email("a@b.org").is_ok());
        assert!(email("a@b").is_err());
        assert!(email("a b@c.org").is_err());
    }
}
