//! Editing a comment from the web: its author gets a form with the Markdown as written, saving
//! goes back to the comment in its thread, an empty text keeps the form with the error, and
//! nobody else may open it.

use cairn_tests::{Backend, TestInstance, User, backend_tests};
use serde_json::json;

use super::browser::Browser;

async fn authors_edit_their_comments(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    let user = User {
        name: "alice".into(),
        token: alice.jar["cairn_session"].clone(),
    };
    cairn.community(&user, "tea", "open").await;
    let post = cairn.post_in(&user, "tea", "Green or black?").await;
    let id = cairn
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&user.token),
            json!({"body": "Green, *always*."}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("id");
    let edit = format!("/comment/{id}/edit");

    // The thread offers the author an edit link, and the form holds the Markdown as written.
    let thread = alice.get(&format!("/post/{post}")).await;
    assert!(
        thread
            .expect(200)
            .body
            .contains(&format!("href=\"{edit}\""))
    );
    let form = alice.get(&edit).await;
    assert!(
        form.expect(200).body.contains("Green, *always*."),
        "{}",
        form.body
    );

    let saved = alice
        .submit(&edit, &edit, &[("body", "Green, mostly.")])
        .await;
    assert_eq!(
        saved.expect(303).location(),
        format!("/post/{post}#comment-{id}")
    );
    let c = cairn
        .get(&format!("/api/v1/comments/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(c["body"], "Green, mostly.");
    assert!(c["updated"].is_string(), "{c}");

    // An empty text is refused on the form, which keeps what was typed.
    let refused = alice.submit(&edit, &edit, &[("body", "   ")]).await;
    refused.expect(422);
    assert!(
        refused.body.contains("The text is empty."),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("id=\"comment-edit-form\""));

    // Someone else may neither open the form nor save through it.
    let mut bob = Browser::new(&cairn);
    bob.sign_up("bob").await;
    bob.get(&edit).await.expect(403);
    let csrf = bob.get("/").await.expect(200).csrf();
    let forged = bob
        .post(&edit, &[("csrf", csrf.as_str()), ("body", "Bob's words")])
        .await;
    assert!(
        matches!(forged.status.as_u16(), 403 | 422),
        "{}: {}",
        forged.status,
        forged.body
    );
    assert!(
        forged.body.contains("Only the author may edit"),
        "{}",
        forged.body
    );
    let c = cairn
        .get(&format!("/api/v1/comments/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(c["body"], "Green, mostly.");

    // A deleted comment has no form.
    cairn
        .delete(&format!("/api/v1/comments/{id}"), &user.token)
        .await
        .expect(204);
    alice.get(&edit).await.expect(410);
    cairn.stop().await;
}

backend_tests!(authors_edit_their_comments);
