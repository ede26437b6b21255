//! Every document under tests/fixtures/activitypub through the classifier of `cairn inspect`,
//! offline, against the golden table tests/fixtures/verdicts.txt: one line per file with its
//! type, whether Cairn accepts it, and what it becomes or the code it is refused with.
//!
//! A fixture missing from the table, a table line without its fixture, or a verdict that
//! changes fails the test, so the table documents Cairn's understanding of every document and
//! a change to the inbox that alters it cannot go unnoticed. After a deliberate change, run
//! with `CAIRN_BLESS_VERDICTS=1` to rewrite the table, and review its diff.

use std::path::{Path, PathBuf};

use cairn_federation::inspect::{Options, Report, Verdict, inspect_bytes};
use cairn_tests::fixtures_dir;

/// The golden table, next to the fixtures folder.
fn table_path() -> PathBuf {
    fixtures_dir().with_file_name("verdicts.txt")
}

/// How the fixtures are judged: as a development instance does, since Lemmy's samples come
/// from its test servers on http:// URLs with ports, which a production instance refuses.
fn options() -> Options {
    Options {
        local_domain: None,
        insecure: true,
    }
}

/// Every `.json` file under `dir`, as paths relative to `root` with `/` separators, sorted.
fn json_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            let relative = path.strip_prefix(root).expect("under the root");
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

/// The report on one fixture.
async fn inspect(relative: &str) -> Report {
    let bytes = std::fs::read(fixtures_dir().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"));
    inspect_bytes(&bytes, &options(), None).await
}

/// One row of the table: path, type, accepted, ignored or rejected, what it becomes or the code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    path: String,
    kind: String,
    verdict: String,
    word: String,
}

impl Row {
    fn of(path: &str, report: &Report) -> Self {
        Self {
            path: path.to_owned(),
            kind: report.kind.replace(char::is_whitespace, ""),
            verdict: match report.verdict {
                Verdict::Accepted { .. } => "accepted",
                Verdict::Ignored { .. } => "ignored",
                Verdict::Rejected { .. } => "rejected",
            }
            .to_owned(),
            word: report.verdict.becomes().to_owned(),
        }
    }

    fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split_whitespace();
        let row = Self {
            path: fields.next()?.to_owned(),
            kind: fields.next()?.to_owned(),
            verdict: fields.next()?.to_owned(),
            word: fields.next()?.to_owned(),
        };
        fields.next().is_none().then_some(row)
    }

    fn line(&self) -> String {
        format!(
            "{:<68} {:<24} {:<9} {}",
            self.path, self.kind, self.verdict, self.word
        )
    }
}

const HEADER: &str = "\
# How Cairn understands every document under tests/fixtures/activitypub: one line per file with
# its type, whether Cairn accepts, ignores (acknowledges and does nothing with) or refuses it,
# and what it becomes or the verdict's code,
# as `cairn inspect --offline` reports it on a development instance (dev_insecure_federation:
# Lemmy's samples come from its http:// test servers, whose ids a production instance refuses
# with invalid_url).
#
# Offline, nothing is looked up: `accepted` holds when the community the document addresses is
# one here (or, for one on the sender's server, followed here, so that its Announce brings the
# document) and the post or comment it replies to or votes on is known here.
#
# Checked by tests/e2e/fixtures.rs. After a deliberate change, rewrite it with
#   CAIRN_BLESS_VERDICTS=1 cargo test -p cairn-tests --test e2e fixtures
# and review the diff.
";

#[tokio::test]
async fn every_fixture_has_its_verdict_in_the_table() {
    let root = fixtures_dir();
    let mut files = vec![];
    json_files(&root, &root, &mut files);
    files.sort();
    assert!(files.len() > 70, "only {} fixtures found", files.len());
    let mut actual = vec![];
    for path in &files {
        actual.push(Row::of(path, &inspect(path).await));
    }

    if std::env::var_os("CAIRN_BLESS_VERDICTS").is_some() {
        let mut text = HEADER.to_owned();
        for row in &actual {
            text.push_str(&row.line());
            text.push('\n');
        }
        std::fs::write(table_path(), text).expect("write the verdict table");
        return;
    }

    let text = std::fs::read_to_string(table_path()).expect("tests/fixtures/verdicts.txt");
    let mut expected = vec![];
    let mut failures = vec![];
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match Row::parse(line) {
            Some(row) => expected.push(row),
            None => failures.push(format!("verdicts.txt line {}: not 4 fields", n + 1)),
        }
    }
    for row in &actual {
        match expected.iter().find(|e| e.path == row.path) {
            None => failures.push(format!(
                "{} is not in the table; its line would be:\n  {}",
                row.path,
                row.line()
            )),
            Some(e) if e != row => {
                let report = inspect(&row.path).await;
                failures.push(format!(
                    "{}: the table says\n  {}\nbut it is now\n  {}\n{}",
                    row.path,
                    e.line(),
                    row.line(),
                    report.to_text()
                ));
            }
            Some(_) => {}
        }
    }
    for e in &expected {
        if !files.contains(&e.path) {
            failures.push(format!("{}: in the table but no such fixture", e.path));
        }
    }
    assert!(
        failures.is_empty(),
        "\n{}\n\n(After a deliberate change: CAIRN_BLESS_VERDICTS=1, then review the diff.)",
        failures.join("\n")
    );
}

/// The verdicts docs/federation.md calls for, asserted here as well as in the table, so that
/// rewriting the table cannot quietly make one of them wrong.
#[tokio::test]
async fn key_fixtures_become_what_federation_md_says() {
    let expectations = [
        ("lemmy/activities/create_or_update/create_page.json", "post"),
        (
            "lemmy/activities/create_or_update/update_page.json",
            "post-edit",
        ),
        (
            "lemmy/activities/create_or_update/create_comment.json",
            "comment",
        ),
        // Lemmy's sample names `u/main` as the post's audience while `c/main` announces it:
        // a Group is believed only about its own community, so the mismatch is refused.
        (
            "lemmy/activities/community/announce_create_page.json",
            "audience_mismatch",
        ),
        ("lemmy/activities/voting/like_note.json", "upvote"),
        ("lemmy/activities/voting/dislike_page.json", "downvote"),
        (
            "lemmy/activities/voting/undo_like_note.json",
            "vote-withdrawn",
        ),
        ("lemmy/activities/deletion/delete_page.json", "delete"),
        ("lemmy/activities/deletion/remove_note.json", "delete"),
        ("lemmy/activities/following/follow.json", "follow"),
        ("lemmy/activities/following/undo_follow.json", "unfollow"),
        ("lemmy/activities/following/accept.json", "follow-accepted"),
        ("mastodon/activities/follow.json", "follow"),
        ("mastodon/activities/undo_follow.json", "unfollow"),
        // Mastodon addresses likes and deletions to no community: they land with their post.
        ("mastodon/activities/like_page.json", "upvote"),
        ("mastodon/activities/undo_like_page.json", "vote-withdrawn"),
        ("mastodon/activities/delete.json", "delete"),
        ("mitra/activities/accept.json", "follow-accepted"),
        ("mitra/activities/create_post.json", "post"),
        // A public toot mentioning a group is a post, a reply a comment.
        ("mastodon/objects/page.json", "post"),
        ("mastodon/objects/note_1.json", "comment"),
        ("mastodon/activities/create_note.json", "comment"),
        ("lemmy/objects/page.json", "post"),
        ("lemmy/objects/comment.json", "comment"),
        ("nodebb/objects/page.json", "post"),
        ("piefed/objects/page.json", "post"),
        ("lemmy/objects/group.json", "community-actor"),
        ("mobilizon/objects/group.json", "community-actor"),
        ("lemmy/objects/person.json", "person-actor"),
        ("mastodon/objects/person.json", "person-actor"),
        ("lemmy/objects/instance.json", "instance-actor"),
        ("lemmy/collections/group_outbox.json", "collection"),
        // Refused, each for its own reason.
        (
            "lemmy/activities/block/block_user.json",
            "unsupported_activity",
        ),
        ("mastodon/activities/flag.json", "unsupported_activity"),
        (
            "lemmy/activities/deletion/undo_delete_page.json",
            "unsupported_activity",
        ),
        ("lemmy/objects/private_message.json", "not_public"),
        (
            "lemmy/activities/create_or_update/create_private_message.json",
            "not_public",
        ),
        // An account's deletion: Cairn does not delete people yet, and ignores it.
        (
            "lemmy/activities/deletion/delete_user.json",
            "unknown_object",
        ),
        ("piefed/objects/feed.json", "unsupported_actor"),
    ];
    let mut failures = vec![];
    for (path, want) in expectations {
        let report = inspect(path).await;
        if report.verdict.becomes() != want {
            failures.push(format!("{path}: want {want}, got\n{}", report.to_text()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A production instance refuses the http:// ids of Lemmy's test samples, as its inbox does,
/// and an activity claiming to come from the instance itself.
#[tokio::test]
async fn production_checks_refuse_http_ids_and_our_own_domain() {
    let production = Options {
        local_domain: Some("ds9.lemmy.ml".into()),
        insecure: false,
    };
    let text = std::fs::read(fixtures_dir().join("lemmy/activities/voting/like_note.json"))
        .expect("fixture");
    let report = inspect_bytes(&text, &production, None).await;
    assert_eq!(report.verdict.becomes(), "invalid_url", "{report:?}");
    let https = String::from_utf8(text)
        .expect("utf-8")
        .replace("http://", "https://");
    let report = inspect_bytes(https.as_bytes(), &production, None).await;
    assert_eq!(report.verdict.becomes(), "local_actor", "{report:?}");
    assert!(report.to_text().contains("on this server"), "{report:?}");
    let elsewhere = Options {
        local_domain: Some("cairn.example".into()),
        insecure: false,
    };
    let report = inspect_bytes(https.as_bytes(), &elsewhere, None).await;
    assert_eq!(report.verdict.becomes(), "upvote", "{report:?}");
}
