//! Communities over HTTP: creation and its validation, listing, and membership in the three
//! modes (open, approval, invite) with join requests, invitations and the owner's duties.

use cairn_tests::{Backend, TestInstance, User, backend_tests};
use serde_json::{Value, json};

/// Creates a community with an arbitrary JSON body and returns the answer.
async fn create(cairn: &TestInstance, owner: &User, body: Value) -> cairn_tests::Answer {
    cairn
        .post("/api/v1/communities", Some(&owner.token), body)
        .await
}

/// Joins `community` as `user` and returns the resulting membership state.
async fn join(cairn: &TestInstance, user: &User, community: &str) -> String {
    let answer = cairn
        .post(
            &format!("/api/v1/communities/{community}/join"),
            Some(&user.token),
            json!({}),
        )
        .await;
    answer.expect(200)["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

/// The community as `viewer` sees it.
async fn community(cairn: &TestInstance, name: &str, viewer: Option<&User>) -> Value {
    let answer = cairn
        .get(
            &format!("/api/v1/communities/{name}"),
            viewer.map(|u| u.token.as_str()),
        )
        .await;
    answer.expect(200).clone()
}

/// The names of a list of member entries.
fn member_names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|m| m["person"]["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Tries to post in `community` and returns the answer.
async fn try_post(cairn: &TestInstance, author: &User, community: &str) -> cairn_tests::Answer {
    cairn
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({"community": community, "title": "Hello", "body": "First post"}),
        )
        .await
}

/// Creating a community: defaults, explicit values, the owner's place, and the listing.
async fn create_and_list(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;

    let created = create(
        &cairn,
        &alice,
        json!({"name": "gardening", "title": "  Gardening  "}),
    )
    .await;
    let c = created.expect(201);
    assert_eq!(c["name"], "gardening");
    assert_eq!(c["title"], "Gardening", "titles are trimmed");
    assert_eq!(c["kind"], "practice");
    assert_eq!(c["membership"], "open");
    assert_eq!(c["local"], true);
    assert_eq!(c["posting_restricted_to_mods"], false);
    assert_eq!(c["ap_id"], format!("{}/c/gardening", cairn.base));
    assert!(c["description"].is_null());
    assert_eq!(c["member_count"], 1);
    assert_eq!(c["my_membership"]["role"], "owner");
    assert_eq!(c["my_membership"]["state"], "active");
    let moderators = c["moderators"].as_array().expect("moderators");
    assert_eq!(moderators.len(), 1, "{c}");
    assert_eq!(moderators[0]["name"], "alice");

    let created = create(
        &cairn,
        &alice,
        json!({
            "name": "rust_wg_2",
            "title": "Rust working group",
            "description": "We *meet* weekly. <script>alert(1)</script>",
            "kind": "working_group",
            "membership": "approval",
        }),
    )
    .await;
    let c = created.expect(201);
    assert_eq!(c["kind"], "working_group");
    assert_eq!(c["membership"], "approval");
    let source = "We *meet* weekly. <script>alert(1)</script>";
    assert_eq!(c["description"], source, "the Markdown source is kept");
    let html = c["description_html"].as_str().expect("description_html");
    assert!(html.contains("<em>meet</em>"), "{html}");
    assert!(!html.contains("<script"), "{html}");

    for (name, kind, membership) in [
        ("projects", "project_team", "invite"),
        ("network_of_20_chars", "network", "open"),
    ] {
        let created = create(
            &cairn,
            &alice,
            json!({"name": name, "title": "T", "kind": kind, "membership": membership}),
        )
        .await;
        let c = created.expect(201);
        assert_eq!(c["kind"], kind);
        assert_eq!(c["membership"], membership);
    }

    // Someone else sees the community without a membership of their own.
    let bob = cairn.user("bob").await;
    let seen = community(&cairn, "gardening", Some(&bob)).await;
    assert!(seen["my_membership"].is_null(), "{seen}");
    assert_eq!(seen["moderators"][0]["name"], "alice");
    let anonymous = community(&cairn, "gardening", None).await;
    assert!(anonymous["my_membership"].is_null());
    assert_eq!(anonymous["member_count"], 1);

    // The list holds every community, by name, with member counts.
    join(&cairn, &bob, "gardening").await;
    let list = cairn.get("/api/v1/communities", None).await;
    let list = list.expect(200).as_array().expect("list").clone();
    let names: Vec<&str> = list
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    let all = ["gardening", "network_of_20_chars", "projects", "rust_wg_2"];
    assert_eq!(names, all);
    assert_eq!(list[0]["member_count"], 2);
    assert_eq!(list[0]["kind"], "practice");
    assert_eq!(list[3]["member_count"], 1);
    assert_eq!(list[3]["membership"], "approval");
    let page = cairn
        .get("/api/v1/communities?limit=2&offset=1", None)
        .await;
    let page = page.expect(200).as_array().expect("list").clone();
    let names: Vec<&str> = page
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["network_of_20_chars", "projects"]);
    cairn.stop().await;
}

/// Bad names, titles, kinds and membership modes are refused; names are unique.
async fn create_validation(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let too_long = "a".repeat(21);
    for name in [
        "ab",
        "Gardening",
        "gar-den",
        "gar den",
        too_long.as_str(),
        "",
    ] {
        create(&cairn, &alice, json!({"name": name, "title": "T"}))
            .await
            .expect_error(400, "invalid_community_name");
    }
    for title in ["x".repeat(101), "   ".into(), "two\nlines".into()] {
        create(&cairn, &alice, json!({"name": "valid", "title": title}))
            .await
            .expect_error(400, "invalid_title");
    }
    create(
        &cairn,
        &alice,
        json!({"name": "valid", "title": "T", "kind": "club"}),
    )
    .await
    .expect_error(400, "invalid_kind");
    create(
        &cairn,
        &alice,
        json!({"name": "valid", "title": "T", "membership": "secret"}),
    )
    .await
    .expect_error(400, "invalid_membership");
    // None of the refused attempts created anything.
    let list = cairn.get("/api/v1/communities", None).await;
    assert_eq!(list.expect(200), &json!([]));

    // A hundred-character title is allowed.
    create(
        &cairn,
        &alice,
        json!({"name": "valid", "title": "x".repeat(100)}),
    )
    .await
    .expect(201);
    let bob = cairn.user("bob").await;
    create(&cairn, &bob, json!({"name": "valid", "title": "Again"}))
        .await
        .expect_error(409, "community_name_taken");

    // Creating needs a session.
    cairn
        .post(
            "/api/v1/communities",
            None,
            json!({"name": "anon", "title": "T"}),
        )
        .await
        .expect_error(401, "not_signed_in");
    cairn.stop().await;
}

/// Open communities: anyone joins at once and may leave; the last owner may not.
async fn open_membership(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn.community(&alice, "gardening", "open").await;

    assert_eq!(join(&cairn, &bob, "gardening").await, "active");
    let seen = community(&cairn, "gardening", Some(&bob)).await;
    assert_eq!(seen["member_count"], 2);
    assert_eq!(seen["my_membership"]["role"], "member");
    assert_eq!(seen["my_membership"]["state"], "active");
    // Joining again changes nothing.
    assert_eq!(join(&cairn, &bob, "gardening").await, "active");
    let seen = community(&cairn, "gardening", None).await;
    assert_eq!(seen["member_count"], 2);

    let members = cairn
        .get("/api/v1/communities/gardening/members", None)
        .await;
    let members = members.expect(200).clone();
    assert_eq!(member_names(&members), ["alice", "bob"]);
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[0]["state"], "active");
    assert_eq!(members[1]["role"], "member");
    assert_eq!(members[1]["state"], "active");

    cairn
        .post(
            "/api/v1/communities/gardening/leave",
            Some(&bob.token),
            json!({}),
        )
        .await
        .expect(204);
    let seen = community(&cairn, "gardening", Some(&bob)).await;
    assert_eq!(seen["member_count"], 1);
    assert!(seen["my_membership"].is_null());
    let members = cairn
        .get("/api/v1/communities/gardening/members", None)
        .await;
    assert_eq!(member_names(members.expect(200)), ["alice"]);

    cairn
        .post(
            "/api/v1/communities/gardening/leave",
            Some(&bob.token),
            json!({}),
        )
        .await
        .expect_error(409, "not_a_member");
    cairn
        .post(
            "/api/v1/communities/gardening/leave",
            Some(&alice.token),
            json!({}),
        )
        .await
        .expect_error(403, "last_owner");
    let seen = community(&cairn, "gardening", Some(&alice)).await;
    assert_eq!(seen["my_membership"]["role"], "owner");

    // Posting in an open community does not require joining.
    try_post(&cairn, &bob, "gardening").await.expect(201);
    cairn.stop().await;
}

/// Approval communities: joining asks, a moderator decides, and only members take part.
async fn approval_membership(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let carol = cairn.user("carol").await;
    let dave = cairn.user("dave").await;
    cairn.community(&alice, "council", "approval").await;

    try_post(&cairn, &carol, "council")
        .await
        .expect_error(403, "members_only");
    assert_eq!(join(&cairn, &carol, "council").await, "pending");
    assert_eq!(join(&cairn, &carol, "council").await, "pending");
    let seen = community(&cairn, "council", Some(&carol)).await;
    assert_eq!(seen["my_membership"]["state"], "pending");
    assert_eq!(seen["member_count"], 1, "a request is not a membership");
    try_post(&cairn, &carol, "council")
        .await
        .expect_error(403, "members_only");
    let members = cairn.get("/api/v1/communities/council/members", None).await;
    assert_eq!(member_names(members.expect(200)), ["alice"]);

    // Only moderators see and decide requests.
    cairn
        .get(
            "/api/v1/communities/council/join-requests",
            Some(&carol.token),
        )
        .await
        .expect_error(403, "moderator_only");
    cairn
        .post(
            "/api/v1/communities/council/join-requests/carol/approve",
            Some(&dave.token),
            json!({}),
        )
        .await
        .expect_error(403, "moderator_only");

    assert_eq!(join(&cairn, &dave, "council").await, "pending");
    let requests = cairn
        .get(
            "/api/v1/communities/council/join-requests",
            Some(&alice.token),
        )
        .await;
    let requests = requests.expect(200).clone();
    assert_eq!(member_names(&requests), ["carol", "dave"]);
    assert_eq!(requests[0]["state"], "pending");
    assert_eq!(requests[0]["role"], "member");

    cairn
        .post(
            "/api/v1/communities/council/join-requests/carol/approve",
            Some(&alice.token),
            json!({}),
        )
        .await
        .expect(204);
    let seen = community(&cairn, "council", Some(&carol)).await;
    assert_eq!(seen["my_membership"]["state"], "active");
    assert_eq!(seen["my_membership"]["role"], "member");
    assert_eq!(seen["member_count"], 2);
    let posted = try_post(&cairn, &carol, "council").await;
    assert_eq!(posted.expect(201)["community"], "council");

    // Rejecting removes the request; the person may ask again.
    cairn
        .post(
            "/api/v1/communities/council/join-requests/dave/reject",
            Some(&alice.token),
            json!({}),
        )
        .await
        .expect(204);
    let requests = cairn
        .get(
            "/api/v1/communities/council/join-requests",
            Some(&alice.token),
        )
        .await;
    assert_eq!(requests.expect(200), &json!([]));
    let seen = community(&cairn, "council", Some(&dave)).await;
    assert!(seen["my_membership"].is_null(), "{seen}");
    assert_eq!(seen["member_count"], 2);
    try_post(&cairn, &dave, "council")
        .await
        .expect_error(403, "members_only");
    cairn
        .post(
            "/api/v1/communities/council/join-requests/dave/approve",
            Some(&alice.token),
            json!({}),
        )
        .await
        .expect_error(404, "no_pending_request");
    assert_eq!(join(&cairn, &dave, "council").await, "pending");

    // Withdrawing a request is leaving.
    cairn
        .post(
            "/api/v1/communities/council/leave",
            Some(&dave.token),
            json!({}),
        )
        .await
        .expect(204);
    let requests = cairn
        .get(
            "/api/v1/communities/council/join-requests",
            Some(&alice.token),
        )
        .await;
    assert_eq!(requests.expect(200), &json!([]));

    let members = cairn.get("/api/v1/communities/council/members", None).await;
    assert_eq!(member_names(members.expect(200)), ["alice", "carol"]);
    cairn.stop().await;
}

/// Invite communities: joining needs an invitation from a moderator.
async fn invite_membership(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let erin = cairn.user("erin").await;
    let frank = cairn.user("frank").await;
    cairn.community(&alice, "inner", "invite").await;

    cairn
        .post(
            "/api/v1/communities/inner/join",
            Some(&erin.token),
            json!({}),
        )
        .await
        .expect_error(403, "invite_required");
    try_post(&cairn, &erin, "inner")
        .await
        .expect_error(403, "members_only");
    cairn
        .post(
            "/api/v1/communities/inner/invites",
            Some(&frank.token),
            json!({"username": "erin"}),
        )
        .await
        .expect_error(403, "moderator_only");

    cairn
        .post(
            "/api/v1/communities/inner/invites",
            Some(&alice.token),
            json!({"username": "erin"}),
        )
        .await
        .expect(204);
    let seen = community(&cairn, "inner", Some(&erin)).await;
    assert_eq!(seen["my_membership"]["state"], "invited");
    assert_eq!(seen["member_count"], 1, "an invitation is not a membership");

    assert_eq!(join(&cairn, &erin, "inner").await, "active");
    let seen = community(&cairn, "inner", Some(&erin)).await;
    assert_eq!(seen["my_membership"]["state"], "active");
    assert_eq!(seen["my_membership"]["role"], "member");
    assert_eq!(seen["member_count"], 2);
    try_post(&cairn, &erin, "inner").await.expect(201);

    cairn
        .post(
            "/api/v1/communities/inner/invites",
            Some(&alice.token),
            json!({"username": "erin"}),
        )
        .await
        .expect_error(409, "already_member");
    cairn
        .post(
            "/api/v1/communities/inner/invites",
            Some(&alice.token),
            json!({"username": "nobody_here"}),
        )
        .await
        .expect_error(404, "user_not_found");

    // Declining an invitation is leaving, and afterwards joining is refused again.
    cairn
        .post(
            "/api/v1/communities/inner/invites",
            Some(&alice.token),
            json!({"username": "frank"}),
        )
        .await
        .expect(204);
    cairn
        .post(
            "/api/v1/communities/inner/leave",
            Some(&frank.token),
            json!({}),
        )
        .await
        .expect(204);
    cairn
        .post(
            "/api/v1/communities/inner/join",
            Some(&frank.token),
            json!({}),
        )
        .await
        .expect_error(403, "invite_required");

    let members = cairn.get("/api/v1/communities/inner/members", None).await;
    assert_eq!(member_names(members.expect(200)), ["alice", "erin"]);
    cairn.stop().await;
}

/// Every community endpoint answers 404 `community_not_found` for a name that does not exist.
async fn unknown_community(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let t = Some(alice.token.as_str());
    cairn
        .get("/api/v1/communities/nowhere", None)
        .await
        .expect_error(404, "community_not_found");
    cairn
        .get("/api/v1/communities/nowhere/members", None)
        .await
        .expect_error(404, "community_not_found");
    cairn
        .get("/api/v1/communities/nowhere/posts", None)
        .await
        .expect_error(404, "community_not_found");
    cairn
        .get("/api/v1/communities/nowhere/join-requests", t)
        .await
        .expect_error(404, "community_not_found");
    cairn
        .post("/api/v1/communities/nowhere/join", t, json!({}))
        .await
        .expect_error(404, "community_not_found");
    cairn
        .post("/api/v1/communities/nowhere/leave", t, json!({}))
        .await
        .expect_error(404, "community_not_found");
    cairn
        .post(
            "/api/v1/communities/nowhere/invites",
            t,
            json!({"username": "alice"}),
        )
        .await
        .expect_error(404, "community_not_found");
    // Joining needs a session even before the name is looked up.
    cairn
        .post("/api/v1/communities/nowhere/join", None, json!({}))
        .await
        .expect_error(401, "not_signed_in");
    cairn.stop().await;
}

backend_tests!(
    create_and_list,
    create_validation,
    open_membership,
    approval_membership,
    invite_membership,
    unknown_community,
);
