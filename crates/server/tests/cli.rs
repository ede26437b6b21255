//! Tests of the real `cairn` binary: its help, `cairn serve` with nothing but a bind address and
//! a domain, configuration errors that stop it with a message naming the key, `cairn migrate`
//! on a `sqlite://` URL, `cairn admin create-user` followed by signing in, and `cairn inspect`
//! on fixture files, a database and a running server.
//!
//! Every process runs in its own temporary working directory with an empty environment apart
//! from the variables a test sets, so the developer's own configuration cannot leak in. Servers
//! are held by a guard that kills them when the test ends, however it ends.

// A panic is how a test reports failure, so helpers may unwrap as test functions do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// The binary under test.
const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// How long a server may take to answer its first request.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// How long a command that should stop on its own may run.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

/// A password that passes the length rule.
const PASSWORD: &str = "correct horse battery staple";

/// A TCP port nothing listens on right now: bind port 0, note the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A `cairn` command with `args`, run in `dir` with only the environment variables in `env`.
fn cairn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(CAIRN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

/// Files that receive a process's standard output and error, so a chatty process can never
/// block on a full pipe.
struct Logs {
    dir: TempDir,
}

impl Logs {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("log dir"),
        }
    }

    fn attach(&self, cmd: &mut Command) {
        let out = File::create(self.dir.path().join("stdout")).expect("stdout file");
        let err = File::create(self.dir.path().join("stderr")).expect("stderr file");
        cmd.stdout(out).stderr(err);
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

/// Kills the child when dropped, so no test leaves a process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How a command that ran to its end went.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs a command that should stop on its own; fails the test if it is still running after
/// [`EXIT_WITHIN`], which for a start-up error means it started serving instead.
fn run(mut cmd: Command) -> Finished {
    let logs = Logs::new();
    logs.attach(&mut cmd);
    let mut child = KillOnDrop(cmd.spawn().expect("spawn cairn"));
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().expect("wait for cairn") {
            return Finished {
                status,
                stdout: logs.stdout(),
                stderr: logs.stderr(),
            };
        }
        if started.elapsed() > EXIT_WITHIN {
            panic!(
                "cairn {:?} did not stop within {EXIT_WITHIN:?}; its log:\n{}",
                cmd.get_args().collect::<Vec<_>>(),
                logs.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command that must fail, and returns its standard error.
#[track_caller]
fn expect_failure(cmd: Command) -> String {
    let done = run(cmd);
    assert!(
        !done.status.success(),
        "cairn succeeded but should have failed; stderr:\n{}",
        done.stderr
    );
    assert!(!done.stderr.trim().is_empty(), "failed without a message");
    done.stderr
}

/// Runs a command that must succeed.
#[track_caller]
fn expect_success(cmd: Command) -> Finished {
    let done = run(cmd);
    assert!(
        done.status.success(),
        "cairn failed with {}; stderr:\n{}",
        done.status,
        done.stderr
    );
    done
}

/// A running `cairn serve`.
struct Server {
    port: u16,
    logs: Logs,
    // Declared last: the process is killed after the test has read its logs.
    child: KillOnDrop,
}

impl Server {
    /// Starts `cairn serve` in `dir`, listening on `port`, with `env` on top of the bind
    /// address and domain.
    fn start(dir: &Path, port: u16, env: &[(&str, &str)]) -> Self {
        let bind = format!("127.0.0.1:{port}");
        let domain = format!("localhost:{port}");
        let mut all = vec![
            ("CAIRN_BIND", bind.as_str()),
            ("CAIRN_DOMAIN", domain.as_str()),
        ];
        all.extend_from_slice(env);
        let mut cmd = cairn(dir, &["serve"], &all);
        let logs = Logs::new();
        logs.attach(&mut cmd);
        let child = KillOnDrop(cmd.spawn().expect("spawn cairn serve"));
        Self { port, logs, child }
    }

    /// An absolute URL on the server.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until NodeInfo answers 200, failing with the server's log if the process exits
    /// or [`READY_WITHIN`] passes first.
    async fn ready(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.0.try_wait().expect("wait for cairn") {
                panic!(
                    "cairn serve exited with {status} before answering; its log:\n{}",
                    self.logs.stderr()
                );
            }
            let answer = client.get(self.url("/nodeinfo/2.1")).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if started.elapsed() > READY_WITHIN {
                panic!(
                    "cairn serve did not answer on port {} within {READY_WITHIN:?}; its log:\n{}",
                    self.port,
                    self.logs.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A fresh temporary directory.
fn temp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Writes `text` to a file `name` in `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

#[test]
fn help_lists_and_explains_the_commands() {
    let dir = temp();
    let done = expect_success(cairn(dir.path(), &["--help"], &[]));
    let help = done.stdout;
    // Each command has a line of its own with an explanation after the name.
    let line = |name: &str| {
        help.lines()
            .map(str::trim_start)
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("`{name}` is not listed:\n{help}"))
            .to_owned()
    };
    assert!(line("serve").contains("serve the web UI"), "{help}");
    assert!(line("migrate").contains("migrations"), "{help}");
    assert!(line("admin").contains("Administrative"), "{help}");
    assert!(line("inspect").contains("ActivityPub document"), "{help}");
    // The help says where configuration comes from.
    assert!(help.contains("CAIRN_DATABASE_URL"), "{help}");
    assert!(help.contains("--config"), "{help}");

    let inspect = expect_success(cairn(dir.path(), &["inspect", "--help"], &[])).stdout;
    assert!(
        inspect.contains("Exit status") && inspect.contains("name@host"),
        "{inspect}"
    );

    let admin = expect_success(cairn(dir.path(), &["admin", "--help"], &[])).stdout;
    assert!(
        admin.contains("create-user") && admin.contains("Create a local account"),
        "{admin}"
    );
}

#[tokio::test]
async fn serve_needs_nothing_but_a_bind_address_and_a_domain() {
    let dir = temp();
    let port = free_port();
    let mut server = Server::start(dir.path(), port, &[]);
    let client = reqwest::Client::new();
    server.ready(&client).await;

    // With no database configured, the SQLite file appears in the working directory.
    assert!(
        dir.path().join("cairn.sqlite3").is_file(),
        "no cairn.sqlite3 in the working directory"
    );
    let nodeinfo: Value = client
        .get(server.url("/nodeinfo/2.1"))
        .send()
        .await
        .expect("nodeinfo")
        .json()
        .await
        .expect("nodeinfo JSON");
    assert_eq!(nodeinfo["software"]["name"], "cairn");
    assert_eq!(nodeinfo["protocols"], json!(["activitypub"]));

    // Ids use the configured domain, over http because it is a localhost domain.
    let instance: Value = client
        .get(server.url("/"))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("instance actor")
        .json()
        .await
        .expect("instance JSON");
    assert_eq!(instance["id"], format!("http://localhost:{port}/"));
}

#[tokio::test]
async fn serve_reads_bind_and_domain_from_a_config_file() {
    // The same settings as above, from a file instead of the environment.
    let dir = temp();
    let port = free_port();
    let text = format!("bind = \"127.0.0.1:{port}\"\ndomain = \"localhost:{port}\"\n");
    let file = write(dir.path(), "cairn.toml", &text);
    let mut cmd = cairn(dir.path(), &["serve", "--config"], &[]);
    cmd.arg(&file);
    let logs = Logs::new();
    logs.attach(&mut cmd);
    let mut server = Server {
        port,
        logs,
        child: KillOnDrop(cmd.spawn().expect("spawn cairn serve")),
    };
    let client = reqwest::Client::new();
    server.ready(&client).await;
    assert!(dir.path().join("cairn.sqlite3").is_file());
}

/// Runs `cairn serve` in a fresh directory with `env` and returns its error output, failing
/// the test unless it stops with an error. Valid bind and domain values come first, so only
/// the variable under test is wrong.
fn serve_error(env: &[(&str, &str)]) -> String {
    let dir = temp();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let domain = format!("localhost:{port}");
    let mut all = vec![
        ("CAIRN_BIND", bind.as_str()),
        ("CAIRN_DOMAIN", domain.as_str()),
    ];
    all.extend_from_slice(env);
    expect_failure(cairn(dir.path(), &["serve"], &all))
}

#[test]
fn a_bind_address_that_is_not_one_stops_start_up() {
    let stderr = serve_error(&[("CAIRN_BIND", "nonsense")]);
    assert!(
        stderr.contains("`bind`") && stderr.contains("nonsense"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_registration_mode_stops_start_up() {
    let stderr = serve_error(&[("CAIRN_REGISTRATION_MODE", "sometimes")]);
    assert!(stderr.contains("`registration_mode`"), "{stderr}");
}

#[test]
fn a_domain_with_a_scheme_stops_start_up() {
    let stderr = serve_error(&[("CAIRN_DOMAIN", "https://x")]);
    assert!(
        stderr.contains("`domain`") && stderr.contains("https://x"),
        "{stderr}"
    );
}

#[test]
fn a_number_that_is_not_one_stops_start_up() {
    let stderr = serve_error(&[("CAIRN_DATABASE_POOL_SIZE", "lots")]);
    assert!(stderr.contains("database_pool_size"), "{stderr}");
}

#[test]
fn an_unknown_key_in_the_config_file_stops_start_up() {
    let dir = temp();
    let file = write(dir.path(), "cairn.toml", "sitename = \"Typo\"\n");
    let file = file.to_str().expect("utf-8 path");
    let stderr = expect_failure(cairn(dir.path(), &["serve", "--config", file], &[]));
    assert!(stderr.contains("sitename"), "{stderr}");
}

#[test]
fn a_missing_config_file_stops_start_up() {
    let dir = temp();
    let missing = dir.path().join("nowhere.toml");
    let missing = missing.to_str().expect("utf-8 path");
    let stderr = expect_failure(cairn(dir.path(), &["serve", "--config", missing], &[]));
    assert!(
        stderr.contains(missing) && stderr.contains("does not exist"),
        "{stderr}"
    );
    // The same file named by CAIRN_CONFIG fails the same way.
    let stderr = expect_failure(cairn(dir.path(), &["serve"], &[("CAIRN_CONFIG", missing)]));
    assert!(stderr.contains(missing), "{stderr}");
}

#[test]
fn migrate_creates_the_database_named_by_a_sqlite_url() {
    let data = temp();
    let work = temp();
    let db = data.path().join("data.sqlite3");
    let url = format!("sqlite://{}", db.display());
    let env = [("CAIRN_DATABASE_URL", url.as_str())];
    expect_success(cairn(work.path(), &["migrate"], &env));
    let size = std::fs::metadata(&db)
        .unwrap_or_else(|_| panic!("{} was not created", db.display()))
        .len();
    assert!(size > 0, "the migrated database is empty");
    assert!(
        !work.path().join("cairn.sqlite3").exists(),
        "migrate used the default database instead of CAIRN_DATABASE_URL"
    );
    // Migrating an up-to-date database changes nothing and succeeds.
    expect_success(cairn(work.path(), &["migrate"], &env));
}

/// Signs in over the API and returns the account `GET /api/v1/me` shows.
async fn sign_in(client: &reqwest::Client, server: &Server, name: &str) -> Value {
    let login = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200, "{name} cannot sign in");
    let body: Value = login.json().await.expect("login JSON");
    let token = body["token"].as_str().expect("a token").to_owned();
    let me = client
        .get(server.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    me.json().await.expect("me JSON")
}

#[tokio::test]
async fn admin_create_user_makes_an_account_that_can_sign_in() {
    let dir = temp();
    let secrets = temp();
    let password = write(secrets.path(), "password", &format!("{PASSWORD}\n"));
    let password = password.to_str().expect("utf-8 path");
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let domain = format!("localhost:{port}");
    let env = [
        ("CAIRN_BIND", bind.as_str()),
        ("CAIRN_DOMAIN", domain.as_str()),
    ];
    let create = |args: &[&str]| {
        let mut all = vec!["admin", "create-user"];
        all.extend_from_slice(args);
        expect_success(cairn(dir.path(), &all, &env));
    };
    create(&["bob", "--admin", "--password-file", password]);
    create(&["carol", "--password-file", password]);

    let mut server = Server::start(dir.path(), port, &[]);
    let client = reqwest::Client::new();
    server.ready(&client).await;
    let bob = sign_in(&client, &server, "bob").await;
    assert_eq!(bob["person"]["name"], "bob");
    assert_eq!(bob["is_admin"], true, "{bob}");
    let carol = sign_in(&client, &server, "carol").await;
    assert_eq!(carol["is_admin"], false, "{carol}");
}

#[test]
fn admin_create_user_refuses_a_bad_password() {
    let dir = temp();
    let secrets = temp();
    let create = |password_file: &Path| {
        let file = password_file.to_str().expect("utf-8 path");
        cairn(
            dir.path(),
            &["admin", "create-user", "dave", "--password-file", file],
            &[],
        )
    };

    let short = write(secrets.path(), "short", "tiny\n");
    let stderr = expect_failure(create(&short));
    assert!(stderr.contains("password"), "{stderr}");

    let empty = write(secrets.path(), "empty", "");
    let stderr = expect_failure(create(&empty));
    assert!(stderr.contains("empty"), "{stderr}");

    let stderr = expect_failure(create(&secrets.path().join("missing")));
    assert!(stderr.contains("password file"), "{stderr}");

    // None of the failures created the account: a good password now succeeds.
    let good = write(secrets.path(), "good", PASSWORD);
    expect_success(create(&good));
}

/// A document under tests/fixtures/activitypub.
fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/activitypub")
        .join(path);
    assert!(full.is_file(), "no fixture {}", full.display());
    full.to_str().expect("utf-8 path").to_owned()
}

/// Development mode, which Lemmy's samples need: they come from its http:// test servers.
const INSECURE: (&str, &str) = ("CAIRN_DEV_INSECURE_FEDERATION", "1");

/// Runs `cairn inspect` with `args` in a fresh directory and returns how it went.
fn inspect(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let dir = temp();
    let mut all = vec!["inspect"];
    all.extend_from_slice(args);
    let done = run(cairn(dir.path(), &all, env));
    // Inspecting never creates a database.
    assert!(
        !dir.path().join("cairn.sqlite3").exists(),
        "inspect created a database"
    );
    done
}

#[test]
fn inspect_prints_what_a_fixture_becomes_and_exits_0() {
    let file = fixture("lemmy/activities/create_or_update/create_page.json");
    let done = inspect(&[&file], &[INSECURE]);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}{}",
        done.stdout,
        done.stderr
    );
    let out = &done.stdout;
    assert!(out.contains("type: Create(Page)\n"), "{out}");
    assert!(
        out.contains("actor: http://ds9.lemmy.ml/u/lemmy_alpha\n"),
        "{out}"
    );
    assert!(
        out.contains("community: https://enterprise.lemmy.ml/c/main"),
        "{out}"
    );
    assert!(out.contains("becomes: post \"test post\""), "{out}");
    assert!(
        out.contains("No database"),
        "the note says nothing was looked up: {out}"
    );

    // A Mastodon toot mentioning a group, as JSON.
    let file = fixture("mastodon/objects/page.json");
    let done = inspect(&["--json", &file], &[]);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}{}",
        done.stdout,
        done.stderr
    );
    let report: Value = serde_json::from_str(&done.stdout).expect("JSON report");
    assert_eq!(report["type"], "Note");
    assert_eq!(report["verdict"], "accepted");
    assert_eq!(report["becomes"], "post");
    assert_eq!(
        report["description"],
        "post \"Variable never resetting at refresh\""
    );
}

#[test]
fn inspect_gives_the_reason_for_a_rejection_and_exits_1() {
    let file = fixture("lemmy/activities/block/block_user.json");
    let done = inspect(&[&file], &[INSECURE]);
    assert_eq!(
        done.status.code(),
        Some(1),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(
        done.stdout
            .contains("ignored: unsupported_activity: Cairn does not use `Block`"),
        "{}",
        done.stdout
    );

    // Lemmy's test ids are http://, which a production instance refuses.
    let file = fixture("lemmy/activities/voting/like_note.json");
    let done = inspect(&[&file], &[]);
    assert_eq!(done.status.code(), Some(1), "{}", done.stdout);
    assert!(
        done.stdout.contains("rejected: invalid_url:"),
        "{}",
        done.stdout
    );

    let dir = temp();
    let broken = write(dir.path(), "broken.json", "{\"type\": \"Create\", oops");
    let done = inspect(&[broken.to_str().expect("utf-8 path")], &[]);
    assert_eq!(done.status.code(), Some(1), "{}", done.stdout);
    assert!(
        done.stdout
            .contains("rejected: unsupported_activity: The document is not JSON"),
        "{}",
        done.stdout
    );

    // Larger than the inbox accepts.
    let huge = format!(
        "{{\"type\": \"Note\", \"content\": \"{}\"}}",
        "x".repeat(1 << 20)
    );
    let huge = write(dir.path(), "huge.json", &huge);
    let done = inspect(&[huge.to_str().expect("utf-8 path")], &[]);
    assert_eq!(done.status.code(), Some(1), "{}", done.stdout);
    assert!(
        done.stdout.contains("rejected: body_too_large:"),
        "{}",
        done.stdout
    );
}

#[test]
fn inspect_of_a_missing_file_exits_2() {
    let dir = temp();
    let missing = dir.path().join("nowhere.json");
    let missing = missing.to_str().expect("utf-8 path");
    let done = inspect(&[missing], &[]);
    assert_eq!(done.status.code(), Some(2), "{}", done.stdout);
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    assert!(
        done.stderr.contains(missing) && done.stderr.contains("No such file"),
        "{}",
        done.stderr
    );
    // A usage error exits 2 as well.
    let done = inspect(&[], &[]);
    assert_eq!(done.status.code(), Some(2), "{}", done.stderr);
}

#[test]
fn inspect_looks_up_the_community_in_an_existing_database() {
    let dir = temp();
    expect_success(cairn(dir.path(), &["migrate"], &[]));
    let run_here = |path: &str| {
        let file = fixture(path);
        run(cairn(dir.path(), &["inspect", &file], &[INSECURE]))
    };
    // The community followed is neither a community nor a person of this server.
    let done = run_here("lemmy/activities/following/follow.json");
    assert_eq!(
        done.status.code(),
        Some(1),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(
        done.stdout.contains("ignored: followee_not_found:"),
        "{}",
        done.stdout
    );
    let done = run_here("lemmy/activities/create_or_update/create_page.json");
    assert_eq!(done.status.code(), Some(1), "{}", done.stdout);
    assert!(
        done.stdout.contains("ignored: no_community:"),
        "{}",
        done.stdout
    );
    // --offline leaves the database alone and judges the structure only.
    let file = fixture("lemmy/activities/following/follow.json");
    let done = run(cairn(
        dir.path(),
        &["inspect", "--offline", &file],
        &[INSECURE],
    ));
    assert_eq!(done.status.code(), Some(0), "{}", done.stdout);
    assert!(
        done.stdout.contains("becomes: follow of"),
        "{}",
        done.stdout
    );
}

#[tokio::test]
async fn inspect_fetches_an_actor_by_url_and_by_name() {
    let dir = temp();
    let secrets = temp();
    let password = write(secrets.path(), "password", PASSWORD);
    let password = password.to_str().expect("utf-8 path");
    let port = free_port();
    let domain = format!("localhost:{port}");
    let env = [("CAIRN_DOMAIN", domain.as_str()), INSECURE];
    expect_success(cairn(
        dir.path(),
        &["admin", "create-user", "bob", "--password-file", password],
        &env,
    ));
    let mut server = Server::start(dir.path(), port, &[INSECURE]);
    let client = reqwest::Client::new();
    server.ready(&client).await;

    // Another instance's view: its own domain, no database, development mode for loopback.
    let elsewhere = [("CAIRN_DOMAIN", "localhost:9"), INSECURE];
    let url = format!("http://localhost:{port}/u/bob");
    let done = inspect(&[&url], &elsewhere);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(done.stdout.contains("type: Person\n"), "{}", done.stdout);
    assert!(
        done.stdout.contains("becomes: person @bob@localhost"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("without a signature"),
        "the note says the fetch was unsigned: {}",
        done.stdout
    );

    let handle = format!("bob@localhost:{port}");
    let done = inspect(&[&handle], &elsewhere);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(
        done.stdout.contains(&format!("WebFinger gave {url}")),
        "{}",
        done.stdout
    );

    // Nothing there: the fetch fails, which is not a verdict.
    let done = inspect(&[&format!("http://localhost:{port}/u/nobody")], &elsewhere);
    assert_eq!(
        done.status.code(),
        Some(2),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(done.stderr.contains("cannot fetch"), "{}", done.stderr);
}

#[tokio::test]
async fn inspect_shows_the_stored_verdict_of_a_received_activity() {
    use cairn_storage::inbound::{InboundRow, NewInbound};
    use cairn_storage::schema::inbound_activities as ia;
    use cairn_storage::{Database, DatabaseUrl, PoolOptions, StorageError, with_conn};
    use diesel::prelude::*;

    let dir = temp();
    expect_success(cairn(dir.path(), &["migrate"], &[]));
    let path = dir.path().join("cairn.sqlite3");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
    let db = Database::connect(&url, &PoolOptions::default()).expect("open");
    let follow = fixture("lemmy/activities/following/follow.json");
    let data = std::fs::read_to_string(&follow).expect("fixture");
    let value: Value = serde_json::from_str(&data).expect("json");
    let ap_id = value["id"].as_str().expect("id").to_owned();
    let (id, stored) = (ap_id.clone(), data.clone());
    db.run(move |conn| -> Result<(), StorageError> {
        let now = cairn_storage::db_now();
        InboundRow::insert(
            conn,
            &NewInbound {
                ap_id: id.clone(),
                actor_ap_id: "https://lemmy.example/u/someone".into(),
                host: "lemmy.example".into(),
                kind: "Follow".into(),
                object_key: id.clone(),
                data: stored,
                next_attempt_at: now,
                received_at: now,
            },
        )?;
        with_conn!(conn, |c| diesel::update(
            ia::table.filter(ia::ap_id.eq(&id))
        )
        .set((
            ia::state.eq("ignored"),
            ia::code.eq(Some("followee_not_found")),
            ia::message.eq(Some("Nobody here has that name.")),
            ia::attempts.eq(1),
            ia::finished_at.eq(Some(now)),
        ))
        .execute(c))?;
        Ok(())
    })
    .await
    .expect("store a received activity");
    drop(db);
    // By id: the stored copy is judged, nothing is fetched (the id's host does not exist).
    let done = run(cairn(dir.path(), &["inspect", &ap_id], &[INSECURE]));
    assert_eq!(
        done.status.code(),
        Some(1),
        "{}{}",
        done.stdout,
        done.stderr
    );
    assert!(
        done.stdout
            .contains("stored: ignored (followee_not_found): Nobody here has that name.; received"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("1 attempt, decided"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("nothing was fetched"),
        "{}",
        done.stdout
    );
    // From a file, the stored verdict of the same id is shown too, also as JSON.
    let done = run(cairn(
        dir.path(),
        &["inspect", "--json", &follow],
        &[INSECURE],
    ));
    let report: Value = serde_json::from_str(&done.stdout).expect("json report");
    assert_eq!(report["stored"]["state"], "ignored", "{report}");
    assert_eq!(report["stored"]["code"], "followee_not_found");
}
