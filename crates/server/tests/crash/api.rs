//! Small helpers for the JSON API of an instance: sending a request and checking its status,
//! registering a user, posting, commenting and voting, and polling until a condition holds.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::COMMUNITY;
use crate::instance::Instance;

/// A password that passes the length rule.
const PASSWORD: &str = "correct horse battery staple";

/// Sends a request and returns the status and the body as JSON (`Null` when it is not JSON).
pub(crate) async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method.clone(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = &body {
        req = req.json(b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Sends a request that must answer `expected`, and returns the body.
pub(crate) async fn expect(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let (status, answer) = call(client, method.clone(), url, token, body).await;
    assert_eq!(
        status, expected,
        "{method} {url} answered {status}: {answer}"
    );
    answer
}

/// Registers `name` on `on` and signs in; returns the token.
pub(crate) async fn user(client: &reqwest::Client, on: &Instance, name: &str) -> String {
    let account = json!({"username": name, "password": PASSWORD});
    expect(
        client,
        Method::POST,
        &on.url("/api/v1/accounts"),
        None,
        Some(account.clone()),
        201,
    )
    .await;
    let login = expect(
        client,
        Method::POST,
        &on.url("/api/v1/auth/login"),
        None,
        Some(account),
        200,
    )
    .await;
    login["token"].as_str().expect("a token").to_owned()
}

/// Polls `check` every `every` until it gives a value, failing after `within` with `what` and
/// the reason `check` last gave for not being done.
pub(crate) async fn eventually<T, F, Fut>(
    what: &str,
    within: Duration,
    every: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        let why = match check().await {
            Ok(v) => return v,
            Err(why) => why,
        };
        assert!(
            started.elapsed() < within,
            "timed out after {within:?} waiting until {what}; last seen: {why}"
        );
        tokio::time::sleep(every).await;
    }
}

/// Creates a post in the community on the instance at `base` as `token`; returns its id.
pub(crate) async fn create_post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    title: &str,
) -> i64 {
    let body =
        json!({"community": COMMUNITY, "title": title, "body": format!("{title}, in full.")});
    let url = format!("{base}/api/v1/posts");
    let post = expect(client, Method::POST, &url, Some(token), Some(body), 201).await;
    post["id"].as_i64().expect("post id")
}

/// Comments on a post as `token`, under `parent` when given; returns the comment's id.
pub(crate) async fn comment(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    post: i64,
    parent: Option<i64>,
    text: &str,
) -> i64 {
    let body = json!({"body": text, "parent_id": parent});
    let url = format!("{base}/api/v1/posts/{post}/comments");
    let c = expect(client, Method::POST, &url, Some(token), Some(body), 201).await;
    c["id"].as_i64().expect("comment id")
}

/// Votes as `token` on `what` (`posts/ID` or `comments/ID`).
pub(crate) async fn vote(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    what: &str,
    score: i64,
) {
    let url = format!("{base}/api/v1/{what}/vote");
    let body = json!({"score": score});
    expect(client, Method::POST, &url, Some(token), Some(body), 200).await;
}
