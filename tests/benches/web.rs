//! Web page weight and render time: a post with 200 nested comments on SQLite, fetched over
//! loopback from a real instance, signed out and signed in (with the vote buttons a member
//! sees, and as the author, who also sees a delete link on each comment).
//!
//! Prints the median and 95th percentile of the time from sending the request until the
//! whole page has arrived (the server loads the post and its thread, renders the page and
//! sends it; loopback adds little), and the bytes of the HTML, the stylesheet and the script,
//! against the budget of 150 KB for the three together and 20 ms of rendering.
//!
//! Run with `cargo bench -p cairn-tests --bench web`. `CAIRN_BENCH_ROUNDS` overrides the
//! number of measured requests (200). Without `--bench` the binary does nothing.

use std::time::{Duration, Instant};

use cairn_tests::{Backend, TestInstance};
use serde_json::json;

/// Comments on the post.
const COMMENTS: usize = 200;

/// A comment body of a realistic length: two or three sentences of Markdown.
fn body(i: usize) -> String {
    format!(
        "Comment {i}: we tried this in the *community garden* last spring and it worked, \
         though the **second** batch needed more browns. Has anyone measured the temperature \
         in the middle of the pile after a week?"
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("web benchmark: run it with `cargo bench -p cairn-tests --bench web`");
        return;
    }
    let rounds: usize = std::env::var("CAIRN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(rounds));
}

async fn run(rounds: usize) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the start: {}", load.trim());
    }
    let cairn = TestInstance::start(Backend::Sqlite).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost tips").await;
    // A thread of 20 top-level comments, each with chains and branches of replies, up to a
    // depth of about eight.
    let mut ids: Vec<i64> = Vec::with_capacity(COMMENTS);
    for i in 0..COMMENTS {
        let parent = if i % 10 == 0 {
            None
        } else {
            let back = 1 + (i * 7) % 3;
            Some(ids[i.saturating_sub(back).max(i - i % 10)])
        };
        let answer = cairn
            .post(
                &format!("/api/v1/posts/{post}/comments"),
                Some(&alice.token),
                json!({"body": body(i), "parent_id": parent}),
            )
            .await;
        ids.push(answer.expect(201)["id"].as_i64().expect("id"));
    }
    let url = cairn.url(&format!("/post/{post}"));
    let client = reqwest::Client::new();
    let home = client
        .get(cairn.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("home body");
    let asset = |name: &str| {
        let at = home
            .find(&format!("/static/{name}?v="))
            .expect("asset link");
        home[at..at + home[at..].find('"').expect("end")].to_owned()
    };
    let mut asset_bytes = 0;
    for name in ["cairn.css", "cairn.js"] {
        let text = client
            .get(cairn.url(&asset(name)))
            .send()
            .await
            .expect("asset")
            .text()
            .await
            .expect("asset body");
        println!("{name}: {} bytes", text.len());
        asset_bytes += text.len();
    }
    // The web session cookie holds a core session token, so the API's token signs in too.
    // A member sees vote buttons on every comment; the author also a delete link on each.
    let bob = cairn.user("bob").await;
    let member = format!("cairn_session={}", bob.token);
    let author = format!("cairn_session={}", alice.token);
    for (who, cookie) in [
        ("signed out", None),
        ("signed in as a member", Some(member.as_str())),
        (
            "signed in as the author of every comment",
            Some(author.as_str()),
        ),
    ] {
        let fetch = || async {
            let mut req = client.get(&url).header("accept", "text/html");
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let start = Instant::now();
            let resp = req.send().await.expect("page");
            assert!(resp.status().is_success(), "{}", resp.status());
            let html = resp.text().await.expect("html");
            (start.elapsed(), html)
        };
        for _ in 0..10 {
            fetch().await;
        }
        let mut times = Vec::with_capacity(rounds);
        let mut size = 0;
        for _ in 0..rounds {
            let (t, html) = fetch().await;
            assert_eq!(html.matches("<li id=\"comment-").count(), COMMENTS);
            size = html.len();
            times.push(t);
        }
        times.sort();
        let median = times[times.len() / 2];
        let p95 = times[((times.len() * 95).div_ceil(100)).clamp(1, times.len()) - 1];
        println!(
            "post page with {COMMENTS} comments, {who}: median {:.2} ms, p95 {:.2} ms ({rounds} requests); \
             HTML {size} bytes, with CSS and JS {} bytes ({:.1} KB)",
            ms(median),
            ms(p95),
            size + asset_bytes,
            (size + asset_bytes) as f64 / 1024.0
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the end: {}", load.trim());
    }
    cairn.stop().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
