//! Sign-in's `next`, the settings page (sessions, signing out everywhere, changing the
//! password) and expired sessions, through the web interface.

use cairn_storage::persons::SessionRow;
use cairn_tests::{Backend, TestInstance, backend_tests};
use chrono::Duration;
use serde_json::json;

use super::browser::{Browser, PASSWORD};

/// Where POST /login sends the browser for a given `next`.
async fn login_redirect(b: &mut Browser<'_>, next: &str) -> String {
    let csrf = b.get("/login").await.expect(200).csrf();
    let done = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("next", next),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    done.expect(303).location().to_owned()
}

async fn next_never_leaves_the_site(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    cairn.user("alice").await;
    let mut b = Browser::new(&cairn);
    let cases = [
        ("/communities/new", "/communities/new"),
        ("/c/tea?sort=new", "/c/tea?sort=new"),
        // A browser drops the TAB and goes to //evil.example; this answered
        // `Location: /\t/evil.example` before.
        ("/\t/evil.example", "/"),
        ("/\r\n/evil.example", "/"),
        ("/%09/evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
    ];
    for (next, expected) in cases {
        assert_eq!(
            login_redirect(&mut b, next).await,
            expected,
            "next = {next:?}"
        );
    }
    // The sign-in page does not offer an unsafe `next` either.
    let page = b.get("/login?next=/%2509/evil.example").await;
    assert!(
        page.body.contains("name=\"next\" value=\"/\""),
        "{}",
        page.body
    );
    cairn.stop().await;
}

async fn settings_sign_out_everywhere(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut b = Browser::new(&cairn);
    b.sign_up("alice").await;
    let app = cairn
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let app = app.expect(200)["token"].as_str().expect("token").to_owned();

    let settings = b.get("/settings").await;
    settings.expect(200);
    assert!(
        settings.body.contains("id=\"current-session\""),
        "{}",
        settings.body
    );
    assert_eq!(settings.body.matches("id=\"end-session-").count(), 2);
    assert!(b.get("/").await.body.contains("href=\"/settings\""));

    let everywhere = b
        .submit("/settings", "/settings/sessions/end-all", &[])
        .await;
    assert_eq!(
        everywhere.expect(303).location(),
        "/login?notice=signed-out-everywhere"
    );
    assert!(
        everywhere
            .set_cookie("cairn_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    cairn.get("/api/v1/me", Some(&app)).await.expect(401);
    let signed_out = b.get("/settings").await;
    assert_eq!(signed_out.expect(303).location(), "/login?next=/settings");
    cairn.stop().await;
}

async fn settings_change_password(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut b = Browser::new(&cairn);
    b.sign_up("alice").await;
    let app = cairn
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let app = app.expect(200)["token"].as_str().expect("token").to_owned();
    let new = "another long password";

    let wrong = b
        .submit(
            "/settings",
            "/settings/password",
            &[("current_password", "not the password"), ("password", new)],
        )
        .await;
    wrong.expect(422);
    assert!(
        wrong.body.contains("The current password is wrong."),
        "{}",
        wrong.body
    );
    cairn.get("/api/v1/me", Some(&app)).await.expect(200);

    let changed = b
        .submit(
            "/settings",
            "/settings/password",
            &[("current_password", PASSWORD), ("password", new)],
        )
        .await;
    assert_eq!(
        changed.expect(303).location(),
        "/settings?notice=password-changed"
    );
    // This browser stays signed in; the app's session has ended.
    let page = b.get("/settings?notice=password-changed").await;
    page.expect(200);
    assert!(page.body.contains("Your password is changed."));
    assert_eq!(page.body.matches("id=\"end-session-").count(), 1);
    cairn.get("/api/v1/me", Some(&app)).await.expect(401);

    // Ending this browser's own session from the list signs it out.
    let at = page.body.find("id=\"end-session-").expect("a session") + "id=\"end-session-".len();
    let id: String = page.body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let token = b.jar["cairn_session"].clone();
    let ended = b
        .submit("/settings", &format!("/settings/sessions/{id}/end"), &[])
        .await;
    assert_eq!(ended.expect(303).location(), "/login?notice=signed-out");
    assert!(!b.jar.contains_key("cairn_session"));
    cairn.get("/api/v1/me", Some(&token)).await.expect(401);
    cairn.stop().await;
}

async fn expired_cookie_goes_to_sign_in(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut b = Browser::new(&cairn);
    b.sign_up("alice").await;
    let token = b.jar["cairn_session"].clone();
    let list = cairn.get("/api/v1/me/sessions", Some(&token)).await;
    let id = list.expect(200)[0]["id"].as_i64().expect("id");
    let long_ago = chrono::Utc::now().naive_utc() - Duration::days(31);
    cairn
        .ctx()
        .db()
        .run(move |conn| SessionRow::touch(conn, id, long_ago))
        .await
        .expect("touch");
    let page = b.get("/settings").await;
    assert_eq!(page.expect(303).location(), "/login?next=/settings");
    assert!(
        page.set_cookie("cairn_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    cairn.get("/api/v1/me", Some(&token)).await.expect(401);
    cairn.stop().await;
}

backend_tests!(
    next_never_leaves_the_site,
    settings_sign_out_everywhere,
    settings_change_password,
    expired_cookie_goes_to_sign_in,
);
