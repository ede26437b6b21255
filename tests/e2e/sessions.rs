//! Sessions through the JSON API: listing them without their secrets, ending one or all, idle
//! expiry and its hourly renewal, pruning, and a password change that ends the other sessions.

use cairn_storage::persons::SessionRow;
use cairn_tests::{Backend, TestInstance, User, backend_tests};
use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// Signs `name` in once more, as the app `agent`; returns the new token.
async fn sign_in(cairn: &TestInstance, name: &str, password: &str, agent: &str) -> String {
    let resp = cairn
        .client
        .post(cairn.url("/api/v1/auth/login"))
        .header("user-agent", agent)
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

/// The caller's sessions as the API lists them.
async fn sessions(cairn: &TestInstance, token: &str) -> Vec<Value> {
    cairn
        .get("/api/v1/me/sessions", Some(token))
        .await
        .expect(200)
        .as_array()
        .expect("a list")
        .clone()
}

/// The id of the caller's current session.
async fn current_id(cairn: &TestInstance, token: &str) -> i64 {
    sessions(cairn, token)
        .await
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_i64())
        .expect("a current session")
}

/// Sets when a session was last used, as if time had passed.
async fn set_last_used(cairn: &TestInstance, id: i64, at: NaiveDateTime) {
    cairn
        .ctx()
        .db()
        .run(move |conn| SessionRow::touch(conn, id, at))
        .await
        .expect("touch");
}

async fn last_used(cairn: &TestInstance, token: &str) -> String {
    let list = sessions(cairn, token).await;
    let me = list.iter().find(|s| s["current"] == true).expect("current");
    me["last_used_at"].as_str().expect("a time").to_owned()
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

async fn sessions_are_listed_and_ended(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let phone = sign_in(&cairn, "alice", PASSWORD, "CairnPhone/1.0").await;
    let bob = cairn.user("bob").await;

    let list = sessions(&cairn, &alice.token).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other = list
        .iter()
        .find(|s| s["current"] == false)
        .expect("the phone");
    assert_eq!(other["user_agent"], "CairnPhone/1.0");
    for s in &list {
        let mut keys: Vec<&String> = s.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["created_at", "current", "id", "last_used_at", "user_agent"],
            "no secret is listed: {s}"
        );
    }
    let text = serde_json::to_string(&list).expect("json");
    assert!(!text.contains(&alice.token) && !text.contains(&phone));

    // Another person's session id is not found, and ends nothing.
    let bobs = current_id(&cairn, &bob.token).await;
    cairn
        .delete(&format!("/api/v1/me/sessions/{bobs}"), &alice.token)
        .await
        .expect_error(404, "session_not_found");
    cairn.get("/api/v1/me", Some(&bob.token)).await.expect(200);

    // Ending the phone's session ends its token only.
    let phone_id = other["id"].as_i64().expect("id");
    cairn
        .delete(&format!("/api/v1/me/sessions/{phone_id}"), &alice.token)
        .await
        .expect(204);
    cairn
        .get("/api/v1/me", Some(&phone))
        .await
        .expect_error(401, "invalid_token");
    cairn
        .get("/api/v1/me", Some(&alice.token))
        .await
        .expect(200);

    // Signing out everywhere ends every session of the account, and no one else's.
    let laptop = sign_in(&cairn, "alice", PASSWORD, "Laptop").await;
    let ended = cairn.delete("/api/v1/me/sessions", &alice.token).await;
    assert_eq!(ended.expect(200)["ended"], 2);
    for token in [&alice.token, &laptop] {
        cairn.get("/api/v1/me", Some(token)).await.expect(401);
    }
    cairn.get("/api/v1/me", Some(&bob.token)).await.expect(200);
    cairn.stop().await;
}

async fn idle_sessions_expire(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.session_idle_days = 7).await;
    let alice = cairn.user("alice").await;
    let id = current_id(&cairn, &alice.token).await;

    // A use within the hour writes nothing; one after it renews the session.
    let recent = now() - Duration::minutes(20);
    set_last_used(&cairn, id, recent).await;
    let before = last_used(&cairn, &alice.token).await;
    cairn
        .get("/api/v1/me", Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(last_used(&cairn, &alice.token).await, before);
    set_last_used(&cairn, id, now() - Duration::days(6)).await;
    cairn
        .get("/api/v1/me", Some(&alice.token))
        .await
        .expect(200);
    let renewed = last_used(&cairn, &alice.token).await;
    assert!(renewed > before, "{renewed} is after {before}");

    // Unused for longer than session_idle_days, the token is refused, and its row is gone.
    set_last_used(&cairn, id, now() - Duration::days(7) - Duration::minutes(1)).await;
    cairn
        .get("/api/v1/me", Some(&alice.token))
        .await
        .expect_error(401, "session_expired");
    cairn
        .get("/api/v1/me", Some(&alice.token))
        .await
        .expect_error(401, "invalid_token");

    // Pruning deletes idle sessions and keeps the others.
    let old = sign_in(&cairn, "alice", PASSWORD, "Old").await;
    let fresh = sign_in(&cairn, "alice", PASSWORD, "Fresh").await;
    let old_id = current_id(&cairn, &old).await;
    set_last_used(&cairn, old_id, now() - Duration::days(8)).await;
    let pruned = cairn_core::sessions::prune(cairn.ctx())
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    cairn
        .get("/api/v1/me", Some(&old))
        .await
        .expect_error(401, "invalid_token");
    assert_eq!(sessions(&cairn, &fresh).await.len(), 1);
    cairn.stop().await;
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let User { token: here, .. } = cairn.user("alice").await;
    let elsewhere = sign_in(&cairn, "alice", PASSWORD, "Elsewhere").await;
    let new = "a much longer new password";

    cairn
        .post(
            "/api/v1/me/password",
            Some(&here),
            json!({"current_password": "not it at all", "new_password": new}),
        )
        .await
        .expect_error(403, "wrong_password");
    cairn
        .post(
            "/api/v1/me/password",
            Some(&here),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await
        .expect_error(400, "invalid_password");
    cairn.get("/api/v1/me", Some(&elsewhere)).await.expect(200);

    let changed = cairn
        .post(
            "/api/v1/me/password",
            Some(&here),
            json!({"current_password": PASSWORD, "new_password": new}),
        )
        .await;
    assert_eq!(changed.status.as_u16(), 204, "{:?}", changed.body);
    cairn.get("/api/v1/me", Some(&here)).await.expect(200);
    cairn
        .get("/api/v1/me", Some(&elsewhere))
        .await
        .expect_error(401, "invalid_token");
    cairn
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await
        .expect_error(401, "invalid_credentials");
    sign_in(&cairn, "alice", new, "Again").await;
    cairn.stop().await;
}

backend_tests!(
    sessions_are_listed_and_ended,
    idle_sessions_expire,
    password_change_ends_other_sessions,
);
