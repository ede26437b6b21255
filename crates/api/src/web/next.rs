//! Where a page may send the browser next: the `next` field of sign-in and the `Referer` that
//! forms return to.
//!
//! Both arrive from the outside and end up in a `Location` header, so an unchecked value would
//! make Cairn an open redirect: `//evil.example` is another host to a browser, and browsers
//! also treat `\` like `/` and drop TAB, CR and LF from URLs, so `/\evil.example` and
//! `/<TAB>/evil.example` are `//evil.example` once the browser has cleaned them up. Percent
//! escapes get the same scrutiny decoded, in case something on the way decodes them.

/// The longest path accepted; a page's own address is far shorter.
const MAX_PATH_LEN: usize = 2048;

/// How many rounds of percent-decoding are checked; more layers than this are refused outright.
const MAX_DECODE_ROUNDS: usize = 4;

/// `raw` if it is a path on this site that is safe to redirect to, else `None`.
///
/// A safe path starts with exactly one `/` (not `//`, not `/\`), has only visible ASCII (a
/// page's own address arrives percent-encoded, so anything else did not come from Cairn's
/// links), no backslash, and keeps all of that when its percent escapes are decoded, however
/// often.
pub(crate) fn local_path(raw: &str) -> Option<&str> {
    if raw.len() > MAX_PATH_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut current = raw.as_bytes().to_vec();
    for _ in 0..MAX_DECODE_ROUNDS {
        if !sound(&current) {
            return None;
        }
        let decoded = percent_decode(&current);
        if decoded == current {
            return Some(raw);
        }
        current = decoded;
    }
    None
}

/// Where to go after signing in: `raw` when [`local_path`] accepts it, else the front page.
pub(crate) fn safe_next(raw: &str) -> String {
    local_path(raw).unwrap_or("/").to_owned()
}

/// One layer's checks: a single leading slash, and no control character or backslash.
fn sound(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && !matches!(path.get(1), Some(b'/' | b'\\'))
        && !path.iter().any(|&b| b.is_ascii_control() || b == b'\\')
}

/// Decodes `%XX` escapes once; a `%` without two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let escaped = (input[i] == b'%')
            .then(|| input.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_on_this_site_or_the_front_page() {
        let cases = [
            // Paths of this site stay as they are.
            ("/", "/"),
            ("/communities/new", "/communities/new"),
            ("/c/tea?sort=new&cursor=abc", "/c/tea?sort=new&cursor=abc"),
            ("/c/tea@beta.example", "/c/tea@beta.example"),
            ("/post/7#comment-9", "/post/7#comment-9"),
            ("/search?q=caf%C3%A9", "/search?q=caf%C3%A9"),
            ("/a%2Fb", "/a%2Fb"),
            ("/100%", "/100%"),
            ("/%zz", "/%zz"),
            // Not a path, or another host.
            ("", "/"),
            ("communities/new", "/"),
            ("https://evil.example/", "/"),
            ("//evil.example", "/"),
            ("///evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/x\\y", "/"),
            // Control characters, which browsers drop, leaving `//`.
            ("/\t/evil.example", "/"),
            ("/\r\n/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("/x\u{7f}", "/"),
            ("/x\u{0}", "/"),
            // The same, percent-encoded, once or more.
            ("/%09/evil.example", "/"),
            ("/%0D%0A/evil.example", "/"),
            ("/%2F%2Fevil", "/"),
            ("/%2fevil.example", "/"),
            ("/%5Cevil.example", "/"),
            ("/x%5Cy", "/"),
            ("/%252F%252Fevil", "/"),
            ("/%25252F%25252Fevil", "/"),
            ("/%2525252F%2525252Fevil", "/"),
            ("/%00", "/"),
            // Spaces and non-ASCII do not come from Cairn's own links.
            ("/a b", "/"),
            ("/café", "/"),
        ];
        for (raw, expected) in cases {
            assert_eq!(safe_next(raw), expected, "next = {raw:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(MAX_PATH_LEN))), "/");
    }
}
