//! Content negotiation: does a request want ActivityPub JSON or a web page?

use axum::http::{HeaderMap, header};

/// True when the `Accept` header asks for ActivityPub JSON (`application/activity+json`, or
/// `application/ld+json` with or without the ActivityStreams profile, or plain
/// `application/json`) ahead of HTML. Browsers send `text/html` first and get the page.
pub fn wants_activitypub(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut best_json: f32 = -1.0;
    let mut best_html: f32 = -1.0;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        match media.as_str() {
            "application/activity+json" | "application/ld+json" | "application/json" => {
                best_json = best_json.max(q)
            }
            "text/html" | "application/xhtml+xml" => best_html = best_html.max(q),
            _ => {}
        }
    }
    best_json > 0.0 && best_json >= best_html
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn negotiates() {
        assert!(wants_activitypub(&h("application/activity+json")));
        assert!(wants_activitypub(&h(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(!wants_activitypub(&h(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_activitypub(&HeaderMap::new()));
        assert!(wants_activitypub(&h(
            "application/activity+json, text/html;q=0.5"
        )));
    }
}
