//! Accounts over HTTP: sign-up and its validation, sign-in and sessions, profiles, the three
//! registration modes with administrator approval, the sign-in rate limit, and the API's answers
//! to malformed requests.

use cairn_core::accounts::{Origin, Registration};
use cairn_tests::{Answer, Backend, TestInstance, User, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

/// The password every account in this file uses unless a test says otherwise.
const PASSWORD: &str = "correct horse battery staple";

/// Sends `body` as raw bytes with the given `Content-Type` (or none), so that tests can send
/// what a well-behaved JSON client never would.
async fn raw(
    cairn: &TestInstance,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let mut req = cairn.client.request(method, cairn.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header(reqwest::header::CONTENT_TYPE, ct);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends a sign-up request.
async fn register(cairn: &TestInstance, body: Value) -> Answer {
    cairn.post("/api/v1/accounts", None, body).await
}

/// Tries to sign in with a username and password.
async fn login(cairn: &TestInstance, username: &str, password: &str) -> Answer {
    cairn
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
}

/// Creates an administrator through the core API (as `cairn admin create-user` does) and signs
/// it in over HTTP.
async fn admin(cairn: &TestInstance, name: &str) -> User {
    cairn_core::accounts::register(
        cairn.ctx(),
        Registration {
            username: name.to_owned(),
            password: PASSWORD.to_owned(),
            email: None,
            answer: None,
        },
        Origin::Admin { admin: true },
    )
    .await
    .expect("admin account");
    let token = login(cairn, name, PASSWORD).await.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    User {
        name: name.to_owned(),
        token,
    }
}

/// Sign-up answers 201 with the new account, and usernames are unique regardless of case.
async fn register_and_duplicates(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let created = register(
        &cairn,
        json!({"username": "Alice_1", "password": PASSWORD, "email": "alice@example.org"}),
    )
    .await;
    let account = created.expect(201);
    assert_eq!(account["person"]["name"], "Alice_1");
    assert_eq!(account["person"]["local"], true);
    assert_eq!(account["person"]["bot"], false);
    assert!(account["person"]["id"].as_i64().is_some());
    let ap_id = format!("{}/u/Alice_1", cairn.base);
    assert_eq!(account["person"]["ap_id"], ap_id);
    assert_eq!(account["email"], "alice@example.org");
    assert_eq!(account["is_admin"], false);
    assert_eq!(account["approved"], true);
    // The password is never echoed.
    assert!(account.get("password").is_none(), "{account}");
    assert!(account.get("password_hash").is_none(), "{account}");

    // The same name in another case is the same name.
    for name in ["Alice_1", "alice_1", "ALICE_1"] {
        register(&cairn, json!({"username": name, "password": PASSWORD}))
            .await
            .expect_error(409, "username_taken");
    }
    // An email address can hold only one account, also regardless of case.
    register(
        &cairn,
        json!({"username": "bob", "password": PASSWORD, "email": "ALICE@example.org"}),
    )
    .await
    .expect_error(409, "email_taken");
    cairn.stop().await;
}

/// Malformed usernames, short passwords and bad email addresses are refused with their codes.
async fn register_validation(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let long_name = "a".repeat(31);
    for name in ["al", "al ice", "al-ice", "élise", long_name.as_str(), ""] {
        register(&cairn, json!({"username": name, "password": PASSWORD}))
            .await
            .expect_error(400, "invalid_username");
    }
    register(&cairn, json!({"username": "carol", "password": "short"}))
        .await
        .expect_error(400, "invalid_password");
    for email in ["not-an-email", "a@b", "a b@example.org", "@example.org"] {
        register(
            &cairn,
            json!({"username": "carol", "password": PASSWORD, "email": email}),
        )
        .await
        .expect_error(400, "invalid_email");
    }
    // None of the refused attempts created the account.
    cairn
        .get("/api/v1/users/carol", None)
        .await
        .expect_error(404, "user_not_found");
    // Thirty characters is still a valid username.
    let thirty = "b".repeat(30);
    let ok = register(&cairn, json!({"username": thirty, "password": PASSWORD})).await;
    assert_eq!(ok.expect(201)["person"]["name"], thirty);
    cairn.stop().await;
}

/// Sign-in returns a working token; wrong credentials, missing and ended sessions get 401.
async fn login_and_sessions(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    register(&cairn, json!({"username": "dave", "password": PASSWORD}))
        .await
        .expect(201);

    let signed_in = login(&cairn, "dave", PASSWORD).await;
    let body = signed_in.expect(200);
    let token = body["token"].as_str().expect("token").to_owned();
    assert!(!token.is_empty());
    assert_eq!(body["account"]["person"]["name"], "dave");

    let me = cairn.get("/api/v1/me", Some(&token)).await;
    let me = me.expect(200);
    assert_eq!(me["person"]["name"], "dave");
    assert_eq!(me["approved"], true);
    assert_eq!(me["is_admin"], false);

    // A wrong password and an unknown user look the same to the client.
    login(&cairn, "dave", "not the right password")
        .await
        .expect_error(401, "invalid_credentials");
    login(&cairn, "nobody_here", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");

    // Without a token there is no "me"; a made-up token is refused too.
    cairn
        .get("/api/v1/me", None)
        .await
        .expect_error(401, "not_signed_in");
    cairn
        .get("/api/v1/me", Some("made-up-token"))
        .await
        .expect_error(401, "invalid_token");

    // A second session is independent of the first.
    let other = login(&cairn, "dave", PASSWORD).await.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_ne!(other, token, "each sign-in opens a new session");

    // Logging out ends exactly that session.
    let out = cairn
        .send(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    out.expect(204);
    cairn
        .get("/api/v1/me", Some(&token))
        .await
        .expect_error(401, "invalid_token");
    cairn.get("/api/v1/me", Some(&other)).await.expect(200);
    // Logging out needs a live session.
    cairn
        .send(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await
        .expect_error(401, "invalid_token");
    cairn.stop().await;
}

/// Profiles: display name and Markdown bio are stored, rendered and sanitised, and shown on the
/// public profile.
async fn profile(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let erin = cairn.user("erin").await;
    let bio = "I grow **tomatoes**. <script>alert('x')</script> [site](javascript:alert(1))";
    let changed = cairn
        .patch(
            "/api/v1/me",
            &erin.token,
            json!({"display_name": "Erin E.", "bio": bio}),
        )
        .await;
    let person = changed.expect(200);
    assert_eq!(person["name"], "erin");
    assert_eq!(person["display_name"], "Erin E.");
    assert_eq!(person["bio"], bio, "the Markdown source is kept as written");
    let html = person["bio_html"].as_str().expect("bio_html");
    assert!(html.contains("<strong>tomatoes</strong>"), "{html}");
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(person["updated"].is_string(), "an edit sets `updated`");

    // The public profile shows the same, to anyone, and the name is found in any case.
    for name in ["erin", "ERIN"] {
        let public = cairn.get(&format!("/api/v1/users/{name}"), None).await;
        let public = public.expect(200);
        assert_eq!(public["name"], "erin");
        assert_eq!(public["display_name"], "Erin E.");
        assert_eq!(public["bio_html"], html);
        assert_eq!(public["local"], true);
        // The public profile hides private fields.
        assert!(public.get("email").is_none(), "{public}");
    }

    // Absent fields stay; an empty display name clears it.
    let cleared = cairn
        .patch("/api/v1/me", &erin.token, json!({"display_name": ""}))
        .await;
    let cleared = cleared.expect(200);
    assert!(cleared["display_name"].is_null(), "{cleared}");
    assert_eq!(cleared["bio"], bio);

    // Over-long and multi-line display names are refused.
    cairn
        .patch(
            "/api/v1/me",
            &erin.token,
            json!({"display_name": "x".repeat(51)}),
        )
        .await
        .expect_error(400, "invalid_display_name");
    cairn
        .patch(
            "/api/v1/me",
            &erin.token,
            json!({"display_name": "two\nlines"}),
        )
        .await
        .expect_error(400, "invalid_display_name");

    // Unknown users are 404, and editing a profile needs a session.
    cairn
        .get("/api/v1/users/nobody_here", None)
        .await
        .expect_error(404, "user_not_found");
    cairn
        .send(
            Method::PATCH,
            "/api/v1/me",
            None,
            Some(&json!({"display_name": "x"})),
        )
        .await
        .expect_error(401, "not_signed_in");
    cairn.stop().await;
}

/// A closed instance refuses sign-ups but still lets the administrator create accounts.
async fn closed_registration(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.registration_mode = "closed".into()).await;
    let site = cairn.get("/api/v1/site", None).await;
    assert_eq!(site.expect(200)["registration_mode"], "closed");
    register(&cairn, json!({"username": "frank", "password": PASSWORD}))
        .await
        .expect_error(403, "registrations_closed");
    login(&cairn, "frank", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");

    // The administrator's path is not a sign-up, so it still works.
    let root = admin(&cairn, "root").await;
    let me = cairn.get("/api/v1/me", Some(&root.token)).await;
    assert_eq!(me.expect(200)["is_admin"], true);
    cairn.stop().await;
}

/// Approval mode: new accounts wait for an administrator, who can approve or reject them;
/// other users cannot decide.
async fn approval_registration(backend: Backend) {
    let cairn =
        TestInstance::start_with(backend, |c| c.registration_mode = "approval".into()).await;
    let site = cairn.get("/api/v1/site", None).await;
    assert_eq!(site.expect(200)["registration_mode"], "approval");

    let created = register(
        &cairn,
        json!({"username": "gina", "password": PASSWORD, "answer": "I run the allotment."}),
    )
    .await;
    let account = created.expect(201);
    assert_eq!(account["approved"], false);
    assert_eq!(account["registration_answer"], "I run the allotment.");
    login(&cairn, "gina", PASSWORD)
        .await
        .expect_error(403, "registration_pending");
    // A wrong password is still just wrong, and does not reveal the pending state.
    login(&cairn, "gina", "not the right password")
        .await
        .expect_error(401, "invalid_credentials");

    // An ordinary (approved) user made by the administrator cannot decide registrations.
    cairn_core::accounts::register(
        cairn.ctx(),
        Registration {
            username: "henry".into(),
            password: PASSWORD.into(),
            email: None,
            answer: None,
        },
        Origin::Admin { admin: false },
    )
    .await
    .expect("plain account");
    let henry = login(&cairn, "henry", PASSWORD).await.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    cairn
        .post(
            "/api/v1/admin/registrations/gina/approve",
            Some(&henry),
            json!({}),
        )
        .await
        .expect_error(403, "admin_only");
    cairn
        .get("/api/v1/admin/registrations", Some(&henry))
        .await
        .expect_error(403, "admin_only");

    // The administrator sees the pending account with its answer, and approves it.
    let root = admin(&cairn, "root").await;
    let pending = cairn
        .get("/api/v1/admin/registrations", Some(&root.token))
        .await;
    let pending = pending.expect(200).as_array().expect("list").clone();
    let names: Vec<&str> = pending
        .iter()
        .map(|a| a["person"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["gina"]);
    assert_eq!(pending[0]["registration_answer"], "I run the allotment.");

    cairn
        .post(
            "/api/v1/admin/registrations/gina/approve",
            Some(&root.token),
            json!({}),
        )
        .await
        .expect(204);
    let signed_in = login(&cairn, "gina", PASSWORD).await;
    let token = signed_in.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = cairn.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.expect(200)["approved"], true);
    cairn
        .post(
            "/api/v1/admin/registrations/gina/approve",
            Some(&root.token),
            json!({}),
        )
        .await
        .expect_error(409, "already_approved");
    cairn
        .post(
            "/api/v1/admin/registrations/nobody_here/approve",
            Some(&root.token),
            json!({}),
        )
        .await
        .expect_error(404, "user_not_found");

    // A rejected account is deleted entirely: the name and the address are free again.
    register(
        &cairn,
        json!({"username": "ivan", "password": PASSWORD, "email": "ivan@example.org"}),
    )
    .await
    .expect(201);
    cairn
        .post(
            "/api/v1/admin/registrations/ivan/reject",
            Some(&root.token),
            json!({}),
        )
        .await
        .expect(204);
    login(&cairn, "ivan", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    let pending = cairn
        .get("/api/v1/admin/registrations", Some(&root.token))
        .await;
    assert_eq!(pending.expect(200), &json!([]));
    register(
        &cairn,
        json!({"username": "ivan", "password": PASSWORD, "email": "ivan@example.org"}),
    )
    .await
    .expect(201);
    cairn.stop().await;
}

/// Sign-in attempts are rate limited per address: with two a minute, the third is refused.
async fn login_rate_limit(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.login_per_minute = 2).await;
    register(&cairn, json!({"username": "jane", "password": PASSWORD}))
        .await
        .expect(201);
    login(&cairn, "jane", "not the right password")
        .await
        .expect_error(401, "invalid_credentials");
    login(&cairn, "jane", PASSWORD).await.expect(200);
    // The limit counts attempts, so even the right password is refused now.
    login(&cairn, "jane", PASSWORD)
        .await
        .expect_error(429, "rate_limited");
    cairn.stop().await;
}

/// Bodies that are not JSON, lack the content type, are too large or carry unknown fields get
/// the API's error format, as do unknown paths and methods.
async fn malformed_requests(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.max_body_bytes = 2048).await;
    let json_type = Some("application/json");

    raw(
        &cairn,
        Method::POST,
        "/api/v1/accounts",
        json_type,
        "{\"username\": \"kim\", ",
    )
    .await
    .expect_error(400, "invalid_json");
    raw(
        &cairn,
        Method::POST,
        "/api/v1/auth/login",
        json_type,
        "not json at all",
    )
    .await
    .expect_error(400, "invalid_json");

    let valid = json!({"username": "kim", "password": PASSWORD}).to_string();
    raw(
        &cairn,
        Method::POST,
        "/api/v1/accounts",
        None,
        valid.clone(),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    raw(
        &cairn,
        Method::POST,
        "/api/v1/accounts",
        Some("text/plain"),
        valid.clone(),
    )
    .await
    .expect_error(415, "unsupported_media_type");

    let huge = json!({"username": "kim", "password": "p".repeat(10 * 1024)}).to_string();
    assert!(huge.len() > 10 * 1024);
    raw(&cairn, Method::POST, "/api/v1/accounts", json_type, huge)
        .await
        .expect_error(413, "body_too_large");

    register(
        &cairn,
        json!({"username": "kim", "password": PASSWORD, "is_admin": true}),
    )
    .await
    .expect_error(400, "invalid_json");
    // A field of the wrong type and a missing required field do not fit either.
    register(&cairn, json!({"username": 42, "password": PASSWORD}))
        .await
        .expect_error(400, "invalid_json");
    register(&cairn, json!({"username": "kim"}))
        .await
        .expect_error(400, "invalid_json");
    // None of those created the account; the well-formed request still does.
    cairn
        .get("/api/v1/users/kim", None)
        .await
        .expect_error(404, "user_not_found");
    raw(&cairn, Method::POST, "/api/v1/accounts", json_type, valid)
        .await
        .expect(201);

    cairn
        .get("/api/v1/no/such/thing", None)
        .await
        .expect_error(404, "no_such_endpoint");
    cairn
        .post("/api/v1/accountz", None, json!({}))
        .await
        .expect_error(404, "no_such_endpoint");
    cairn
        .send(Method::DELETE, "/api/v1/accounts", None, None)
        .await
        .expect_error(405, "method_not_allowed");
    cairn.stop().await;
}

backend_tests!(
    register_and_duplicates,
    register_validation,
    login_and_sessions,
    profile,
    closed_registration,
    approval_registration,
    login_rate_limit,
    malformed_requests,
);
