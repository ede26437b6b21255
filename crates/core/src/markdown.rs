//! Markdown to sanitised HTML, and plain-text excerpts for summaries.
//!
//! Every piece of HTML we store or serve passes through ammonia, whose allow-list removes
//! scripts, event handlers, styles and dangerous URL schemes.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders Markdown to sanitised HTML.
pub fn to_html(md: &str) -> String {
    let mut raw = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(md, options()));
    sanitize_html(&raw)
}

/// Sanitises HTML from anywhere (our renderer or another server).
pub fn sanitize_html(raw: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .clean(raw)
        .to_string()
}

/// The text of a Markdown document without markup, cut at a word boundary to at most
/// `max_chars` characters (an ellipsis marks a cut).
pub fn plain_excerpt(md: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => text.push(' '),
            Event::Start(Tag::Item) => text.push_str("• "),
            _ => {}
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        return collapsed;
    }
    let cut: String = collapsed
        .chars()
        .take(max_chars.saturating_sub(1))
        .collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max_chars / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// The text of an HTML fragment, with paragraph and line breaks kept as newlines and entities
/// decoded (for deriving a title from a post that has none).
pub fn html_to_text(html: &str) -> String {
    let with_breaks = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n")
        .replace("</li>", "</li>\n");
    let stripped = ammonia::Builder::empty().clean(&with_breaks).to_string();
    stripped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Escapes text for inclusion in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_sanitizes() {
        let html = to_html("**hi** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>hi</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn html_text() {
        let t = html_to_text("<p><span>@group</span> Title &amp; more</p><p>Body <b>bold</b></p>");
        assert_eq!(t.lines().next(), Some("@group Title & more"));
        assert!(t.contains("Body bold"));
        assert!(!html_to_text("<script>x</script>ok").contains("script"));
    }

    #[test]
    fn excerpts() {
        assert_eq!(
            plain_excerpt("# Title\n\nSome *text* here.", 100),
            "Title Some text here."
        );
        let long = "word ".repeat(100);
        let e = plain_excerpt(&long, 20);
        assert!(e.chars().count() <= 20, "{e}");
        assert!(e.ends_with('…'));
    }
}
