//! Crash safety of outgoing federation, tested with real processes and a real SIGKILL.
//!
//! The origin instance `alpha` hosts a community that users on three follower instances follow.
//! After a few earlier posts have reached everyone, alpha gets a burst of new posts, comments,
//! replies, edits and votes, and is killed with SIGKILL while the fan-out of that burst is under
//! way: some events not yet published, some deliveries done, others queued, and some leased and
//! in flight. It is then started again on the same database and port. Once its outbox and its
//! delivery queue are empty, every follower's JSON API must show every post and comment of
//! alpha exactly once, with the titles and scores alpha itself shows.
//!
//! This is the promise of the durable outbox: killing the process at any moment and starting it
//! again loses no delivery, and receivers drop the duplicates a restart resends, by activity id.
//! Only separate processes can be killed at an arbitrary instant and leave the database as a
//! crash leaves it, so every instance here is the real `cairn` binary.
//!
//! Deliveries that were in flight at the kill stay leased by the dead process until their lease
//! runs out (`delivery_lease_seconds`, set to its minimum of 15 here), so recovery takes that
//! long and the test waits for it. The test runs once on SQLite and once on PostgreSQL.
//!
//! Every byte of traffic stays on loopback: the instances listen on 127.0.0.1, call each other
//! through `localhost`, and run with an empty environment, so no proxy setting applies.

// A panic is how a test reports failure, so helpers may unwrap as test functions do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cairn_storage::schema::{activities, deliveries, outbox_events};
use cairn_storage::{Database, DatabaseUrl, PoolOptions, StorageError};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinSet;

/// The binary under test.
const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// How long an instance may take to answer its first request.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How long a step of the set-up (a follow being accepted) may take.
const STEP_WITHIN: Duration = Duration::from_secs(60);

/// How long the followers may take to catch up after the restart: the 15-second lease of the
/// deliveries that were in flight at the kill, plus time for resending everything on a busy
/// machine.
const RECOVERY_WITHIN: Duration = Duration::from_secs(120);

/// Posts in the burst; each gets a comment, a reply to it and a few votes.
const POSTS: usize = 30;

/// A password that passes the length rule.
const PASSWORD: &str = "correct horse battery staple";

/// The community on alpha that everyone follows.
const COMMUNITY: &str = "lighthouse";

/// Which database the instances run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server, as the end-to-end tests find it.
fn postgres_base() -> String {
    std::env::var("CAIRN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh PostgreSQL database, dropped with this value even when the test fails.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> Self {
        let name = format!("cairn_crash_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&format!("{}/postgres", postgres_base()))
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the postgres variant ({}): {e}",
                    postgres_base()
                )
            });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        Self { name }
    }

    fn url(&self) -> String {
        format!("{}/{}", postgres_base(), self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // FORCE ends the sessions of the observer pool, which may still be open.
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", postgres_base())) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A TCP port nothing listens on right now: bind port 0, note the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// One `cairn serve` instance: its port, database and working directory, which also holds the
/// log of each start. It can be killed and started again on the same database and port.
struct Instance {
    name: &'static str,
    port: u16,
    database_url: String,
    dir: TempDir,
    /// How many times the process was started; each start logs to its own file.
    starts: u32,
    child: Option<Child>,
    // Declared last: the database is dropped after the process is gone.
    _pg: Option<PgDatabase>,
}

impl Instance {
    /// Prepares an instance on a fresh database of `backend` and starts it.
    fn start(name: &'static str, backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        let database_url = match &pg {
            Some(db) => db.url(),
            None => format!("sqlite://{}", dir.path().join("cairn.sqlite3").display()),
        };
        let mut instance = Self {
            name,
            port: free_port(),
            database_url,
            dir,
            starts: 0,
            child: None,
            _pg: pg,
        };
        instance.spawn();
        instance
    }

    /// `localhost:PORT`, the domain in every ActivityPub id of the instance.
    fn domain(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// An absolute URL on the instance.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.path().join(format!("{}.{start}.log", self.name))
    }

    /// Starts `cairn serve` with an empty environment apart from its configuration, so the
    /// developer's own settings cannot leak in.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        self.starts += 1;
        let log = File::create(self.log_path(self.starts)).expect("log file");
        let bind = format!("127.0.0.1:{}", self.port);
        let domain = self.domain();
        let child = Command::new(CAIRN)
            .arg("serve")
            .current_dir(self.dir.path())
            .env_clear()
            .env("CAIRN_DATABASE_URL", &self.database_url)
            // Four instances share one PostgreSQL server with the rest of the test suite.
            .env("CAIRN_DATABASE_POOL_SIZE", "4")
            .env("CAIRN_BIND", bind)
            .env("CAIRN_DOMAIN", domain)
            .env("CAIRN_HTTPS", "false")
            .env("CAIRN_REGISTER_PER_HOUR", "10000")
            .env("CAIRN_LOGIN_PER_MINUTE", "10000")
            // A delivery that fails while a follower is busy is retried within a second instead
            // of the production default of thirty.
            .env("CAIRN_DELIVERY_RETRY_BASE_SECONDS", "1")
            // The shortest lease allowed, so the deliveries in flight at the kill come back
            // after 15 seconds rather than the default two minutes.
            .env("CAIRN_DELIVERY_LEASE_SECONDS", "15")
            .env("CAIRN_DEV_INSECURE_FEDERATION", "true")
            .env("CAIRN_LOG", "info,cairn_federation=debug")
            // Plain text in the log files, without colour codes.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn cairn serve");
        self.child = Some(child);
    }

    /// Waits until NodeInfo answers, failing if the process exits or [`READY_WITHIN`] passes.
    async fn ready(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            let child = self.child.as_mut().expect("started");
            if let Some(status) = child.try_wait().expect("wait for cairn") {
                panic!("{} exited with {status} before answering", self.name);
            }
            let answer = client.get(self.url("/nodeinfo/2.1")).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "{} did not answer on port {} within {READY_WITHIN:?}",
                self.name,
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process with SIGKILL, as the kernel's OOM killer or a power cut would stop it:
    /// no shutdown code runs.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap the killed process");
        assert_eq!(
            status.signal(),
            Some(9),
            "{} ended with {status} instead of being killed",
            self.name
        );
    }

    /// The last lines of every log of this instance, for a failure report.
    fn log_tails(&self) -> String {
        let mut out = String::new();
        for start in 1..=self.starts {
            let path = self.log_path(start);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(200)..];
            out.push_str(&format!(
                "===== {} (start {start}, {}; last {} of {} lines) =====\n{}\n",
                self.name,
                path.display(),
                tail.len(),
                lines.len(),
                tail.join("\n")
            ));
        }
        out
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The logs are the only way to see what the instance did, so a failing test shows them.
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails());
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a request and returns the status and the body as JSON (`Null` when it is not JSON).
async fn call(
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
async fn expect(
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
async fn user(client: &reqwest::Client, on: &Instance, name: &str) -> String {
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
async fn eventually<T, F, Fut>(what: &str, within: Duration, every: Duration, mut check: F) -> T
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

/// The outgoing work of an instance, read from its database: outbox events not yet turned
/// into deliveries, deliveries waiting, and those of them leased by a worker (in flight, or
/// held by a worker that died).
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    unpublished: i64,
    waiting: i64,
    leased: i64,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.unpublished == 0 && self.waiting == 0
    }
}

/// Reads the outgoing work. The observer opens its own pool, which works whether or not the
/// instance is running: SQLite in WAL mode lets readers in beside the writer.
async fn outgoing(db: &Database) -> Outgoing {
    db.run(|conn| -> Result<Outgoing, StorageError> {
        Ok(cairn_storage::with_conn!(conn, |c| {
            let unpublished: i64 = outbox_events::table
                .filter(outbox_events::processed_at.is_null())
                .count()
                .get_result(c)?;
            let waiting: i64 = deliveries::table.count().get_result(c)?;
            let leased: i64 = deliveries::table
                .filter(deliveries::leased_until.is_not_null())
                .count()
                .get_result(c)?;
            Outgoing {
                unpublished,
                waiting,
                leased,
            }
        }))
    })
    .await
    .expect("read the outgoing work")
}

/// A pool of one connection on an instance's database, for reading what the API does not show.
fn observer(instance: &Instance) -> Database {
    let url = DatabaseUrl::parse(&instance.database_url).expect("database URL");
    let options = PoolOptions {
        max_size: 1,
        ..PoolOptions::default()
    };
    Database::connect(&url, &options).expect("open the instance's database")
}

/// How many of the deliveries alpha had leased (in flight) carry an activity that its follower
/// had already recorded as received. The restart sends each of them again, and the follower
/// must drop it as a duplicate. Followers record the activity inside a community's Announce,
/// so that is the id looked up.
async fn already_received(alpha_db: &Database, followers: &[(String, Database)]) -> usize {
    let leased: Vec<(String, String)> = alpha_db
        .run(|conn| -> Result<_, StorageError> {
            Ok(cairn_storage::with_conn!(conn, |c| deliveries::table
                .inner_join(activities::table)
                .filter(deliveries::leased_until.is_not_null())
                .select((deliveries::host, activities::data))
                .load(c))?)
        })
        .await
        .expect("read alpha's leased deliveries");
    let mut count = 0;
    for (host, data) in leased {
        let announce: Value = serde_json::from_str(&data).expect("stored activity JSON");
        let Some(inner) = announce["object"]["id"].as_str().map(str::to_owned) else {
            continue;
        };
        let (_, db) = followers
            .iter()
            .find(|(domain, _)| *domain == host)
            .expect("a delivery to a follower");
        let seen: i64 = db
            .run(move |conn| -> Result<i64, StorageError> {
                Ok(cairn_storage::with_conn!(conn, |c| activities::table
                    .filter(activities::ap_id.eq(&inner))
                    .count()
                    .get_result(c))?)
            })
            .await
            .expect("read a follower's received activities");
        count += usize::from(seen > 0);
    }
    count
}

/// A comment as a follower should see it: parent and text, with its ActivityPub id as the key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CommentState {
    parent: Option<String>,
    body: String,
    score: i64,
}

/// A post as a follower should see it, comments included, keyed by its ActivityPub id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PostState {
    title: String,
    score: i64,
    upvotes: i64,
    downvotes: i64,
    comment_count: i64,
    comments: BTreeMap<String, CommentState>,
}

/// Every post of the community as listed by `on` (newest first, following `next_cursor`),
/// failing on any post listed twice.
async fn list_posts(client: &reqwest::Client, on: &Instance, handle: &str) -> Vec<Value> {
    let mut posts: Vec<Value> = vec![];
    let mut cursor: Option<String> = None;
    loop {
        // Small pages, so that the listing goes through several cursors.
        let mut url = url::Url::parse(&on.url(&format!("/api/v1/communities/{handle}/posts")))
            .expect("listing URL");
        url.query_pairs_mut()
            .append_pair("sort", "new")
            .append_pair("limit", "7");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let page = expect(client, Method::GET, url.as_str(), None, None, 200).await;
        posts.extend(page["posts"].as_array().expect("posts").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut ids = BTreeSet::new();
    let mut ap_ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for p in &posts {
        assert!(
            ids.insert(p["id"].as_i64().expect("id")),
            "{} lists post {} twice",
            on.name,
            p["id"]
        );
        assert!(
            ap_ids.insert(p["ap_id"].as_str().expect("ap_id").to_owned()),
            "{} lists {} twice",
            on.name,
            p["ap_id"]
        );
        assert!(
            titles.insert(p["title"].as_str().expect("title").to_owned()),
            "{} has two posts titled {}",
            on.name,
            p["title"]
        );
    }
    posts
}

/// The posts of a listing with their counters, without comments: cheap enough to poll.
fn summary(posts: &[Value]) -> BTreeMap<String, PostState> {
    posts
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap_or_else(|| panic!("no {k} in {p}"));
            let state = PostState {
                title: p["title"].as_str().expect("title").to_owned(),
                score: n("score"),
                upvotes: n("upvotes"),
                downvotes: n("downvotes"),
                comment_count: n("comment_count"),
                comments: BTreeMap::new(),
            };
            (p["ap_id"].as_str().expect("ap_id").to_owned(), state)
        })
        .collect()
}

/// What `seen` lacks, has in excess or shows otherwise than `expected`, for a failure message.
fn differences(
    expected: &BTreeMap<String, PostState>,
    seen: &BTreeMap<String, PostState>,
) -> String {
    let mut out = vec![];
    for (ap_id, want) in expected {
        match seen.get(ap_id) {
            None => out.push(format!("lacks {ap_id} ({})", want.title)),
            Some(got) if got != want => out.push(format!("{ap_id}: {got:?} instead of {want:?}")),
            Some(_) => {}
        }
    }
    for ap_id in seen.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("has {ap_id}, which alpha does not"));
    }
    out.join("; ")
}

/// Everything `on` shows of the community: each post with its comment tree, flattened, each
/// parent named by its ActivityPub id since local ids differ between instances. Fails on a
/// comment shown twice.
async fn snapshot(
    client: &reqwest::Client,
    on: &Instance,
    handle: &str,
) -> BTreeMap<String, PostState> {
    let posts = list_posts(client, on, handle).await;
    let mut states = summary(&posts);
    for p in &posts {
        let id = p["id"].as_i64().expect("id");
        let detail = expect(
            client,
            Method::GET,
            &on.url(&format!("/api/v1/posts/{id}")),
            None,
            None,
            200,
        )
        .await;
        let mut flat = BTreeMap::new();
        let mut stack: Vec<(Option<String>, &Value)> = detail["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .map(|n| (None, n))
            .collect();
        while let Some((parent, node)) = stack.pop() {
            let c = &node["comment"];
            let ap_id = c["ap_id"].as_str().expect("comment ap_id").to_owned();
            for reply in node["replies"].as_array().expect("replies") {
                stack.push((Some(ap_id.clone()), reply));
            }
            let state = CommentState {
                parent,
                body: c["body"].as_str().unwrap_or_default().to_owned(),
                score: c["score"].as_i64().expect("comment score"),
            };
            assert!(
                flat.insert(ap_id.clone(), state).is_none(),
                "{} shows the comment {ap_id} twice",
                on.name
            );
        }
        let ap_id = p["ap_id"].as_str().expect("ap_id");
        states.get_mut(ap_id).expect("listed").comments = flat;
    }
    states
}

/// Signed-in users of alpha: the community's owner and three voters.
struct People {
    alice: String,
    vera: String,
    victor: String,
    violet: String,
}

/// Creates a post in the community on the instance at `base` as `token`; returns its id.
async fn create_post(client: &reqwest::Client, base: &str, token: &str, title: &str) -> i64 {
    let body =
        json!({"community": COMMUNITY, "title": title, "body": format!("{title}, in full.")});
    let url = format!("{base}/api/v1/posts");
    let post = expect(client, Method::POST, &url, Some(token), Some(body), 201).await;
    post["id"].as_i64().expect("post id")
}

/// Comments on a post as `token`, under `parent` when given; returns the comment's id.
async fn comment(
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
async fn vote(client: &reqwest::Client, base: &str, token: &str, what: &str, score: i64) {
    let url = format!("{base}/api/v1/{what}/vote");
    let body = json!({"score": score});
    expect(client, Method::POST, &url, Some(token), Some(body), 200).await;
}

/// Posts made and delivered before the burst, so that the burst can edit them, comment on
/// them, and change and withdraw votes on them.
const EARLIER: usize = 3;

/// The posts made before the burst, each with a downvote by vera and an upvote by violet.
async fn earlier_posts(client: &reqwest::Client, base: &str, people: &People) -> Vec<i64> {
    let mut ids = vec![];
    for k in 0..EARLIER {
        let id = create_post(client, base, &people.alice, &format!("Earlier post {k}")).await;
        vote(client, base, &people.vera, &format!("posts/{id}"), -1).await;
        vote(client, base, &people.violet, &format!("posts/{id}"), 1).await;
        ids.push(id);
    }
    ids
}

/// Alpha's burst: `POSTS` new posts, each with a comment by alice, a reply by vera and votes
/// that differ from post to post; and on each earlier post an edit, a comment, vera's
/// downvote turned into an upvote and violet's upvote withdrawn (an Undo). Each phase sends
/// its requests concurrently, so that the burst outpaces the delivery worker.
///
/// Every voter votes at most once per object within the burst. ActivityPub does not order
/// deliveries: a Like and its Undo sent moments apart may be applied in either order, and no
/// receiver can tell which was meant last. What this test checks, that nothing is lost or
/// doubled, must hold whatever the order, so the burst's final state must not depend on it.
async fn burst(client: &reqwest::Client, base: &str, people: &People, earlier: &[i64]) {
    let mut tasks = JoinSet::new();
    for i in 0..POSTS {
        let (client, base, alice) = (client.clone(), base.to_owned(), people.alice.clone());
        tasks.spawn(async move {
            let title = format!("Crash post {i:02}");
            (i, create_post(&client, &base, &alice, &title).await)
        });
    }
    let posts = tasks.join_all().await;

    let mut tasks = JoinSet::new();
    for (k, &post) in earlier.iter().enumerate() {
        let (client, base) = (client.clone(), base.to_owned());
        let (alice, vera) = (people.alice.clone(), people.vera.clone());
        let violet = people.violet.clone();
        tasks.spawn(async move {
            let url = format!("{base}/api/v1/posts/{post}");
            let edit = json!({"title": format!("Earlier post {k}, edited")});
            expect(&client, Method::PATCH, &url, Some(&alice), Some(edit), 200).await;
            let text = format!("Alice, later, on earlier post {k}.");
            comment(&client, &base, &alice, post, None, &text).await;
            vote(&client, &base, &vera, &format!("posts/{post}"), 1).await;
            vote(&client, &base, &violet, &format!("posts/{post}"), 0).await;
        });
    }
    for (i, post) in posts {
        let (client, base) = (client.clone(), base.to_owned());
        let (alice, vera) = (people.alice.clone(), people.vera.clone());
        let (victor, violet) = (people.victor.clone(), people.violet.clone());
        tasks.spawn(async move {
            let text = format!("Alice on post {i}.");
            let first = comment(&client, &base, &alice, post, None, &text).await;
            let text = format!("Vera replies on post {i}.");
            comment(&client, &base, &vera, post, Some(first), &text).await;
            if i % 2 == 0 {
                vote(&client, &base, &vera, &format!("posts/{post}"), 1).await;
            }
            if i % 3 == 0 {
                vote(&client, &base, &victor, &format!("posts/{post}"), -1).await;
            }
            if i % 4 == 0 {
                vote(&client, &base, &violet, &format!("comments/{first}"), 1).await;
            }
        });
    }
    tasks.join_all().await;
}

/// The posts of a snapshot without their comments, as a listing shows them.
fn without_comments(full: &BTreeMap<String, PostState>) -> BTreeMap<String, PostState> {
    full.iter()
        .map(|(k, v)| {
            let post = PostState {
                comments: BTreeMap::new(),
                ..v.clone()
            };
            (k.clone(), post)
        })
        .collect()
}

/// Waits until alpha has no outgoing work left and every follower lists the community's posts
/// as `expected` says, comments aside; then compares every post in full, comments included.
async fn wait_until_caught_up(
    client: &reqwest::Client,
    alpha_db: &Database,
    followers: &[Instance],
    handle: &str,
    expected: &BTreeMap<String, PostState>,
    within: Duration,
) {
    let listed = without_comments(expected);
    eventually(
        "alpha's outgoing work drains and every follower lists what alpha lists",
        within,
        Duration::from_millis(500),
        || async {
            let now = outgoing(alpha_db).await;
            if !now.is_empty() {
                return Err(format!("alpha still has work: {now:?}"));
            }
            for f in followers {
                let seen = summary(&list_posts(client, f, handle).await);
                if seen != listed {
                    let diff = differences(&listed, &seen);
                    return Err(format!("{} differs: {diff}", f.name));
                }
            }
            Ok(())
        },
    )
    .await;
    // Nothing is in flight any more, so what the followers show now is final.
    for f in followers {
        let seen = snapshot(client, f, handle).await;
        assert!(
            seen == *expected,
            "{} shows the community otherwise than alpha: {}",
            f.name,
            differences(expected, &seen)
        );
    }
}

/// The whole scenario on one backend.
async fn crash_during_fan_out(backend: Backend) {
    let test_started = Instant::now();
    // No proxy, whatever the environment says: every request goes to loopback directly.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut alpha = Instance::start("alpha", backend);
    let mut followers = [
        Instance::start("beta", backend),
        Instance::start("gamma", backend),
        Instance::start("delta", backend),
    ];
    alpha.ready(&client).await;
    for f in &mut followers {
        f.ready(&client).await;
    }
    let handle = format!("{COMMUNITY}@{}", alpha.domain());

    let people = People {
        alice: user(&client, &alpha, "alice").await,
        vera: user(&client, &alpha, "vera").await,
        victor: user(&client, &alpha, "victor").await,
        violet: user(&client, &alpha, "violet").await,
    };
    expect(
        &client,
        Method::POST,
        &alpha.url("/api/v1/communities"),
        Some(&people.alice),
        Some(json!({"name": COMMUNITY, "title": "Keepers of the light", "membership": "open"})),
        201,
    )
    .await;

    // Each follower instance gets a reader who follows the community.
    for f in &followers {
        let reader = user(&client, f, "reader").await;
        expect(
            &client,
            Method::POST,
            &f.url("/api/v1/communities/follow"),
            Some(&reader),
            Some(json!({"handle": handle})),
            200,
        )
        .await;
        let community = f.url(&format!("/api/v1/communities/{handle}"));
        eventually(
            &format!("alpha accepts the follow from {}", f.name),
            STEP_WITHIN,
            Duration::from_millis(50),
            || async {
                let (_, c) = call(&client, Method::GET, &community, Some(&reader), None).await;
                if c["my_membership"]["state"] == "active" {
                    Ok(())
                } else {
                    Err(format!("the membership is {}", c["my_membership"]))
                }
            },
        )
        .await;
    }

    // Observers of alpha's outgoing work and the followers' received activities, straight from
    // the databases.
    let alpha_db = observer(&alpha);
    let follower_dbs: Vec<(String, Database)> = followers
        .iter()
        .map(|f| (f.domain(), observer(f)))
        .collect();

    // The earlier posts reach every follower before the burst, as in a community with a past.
    let earlier = earlier_posts(&client, &alpha.url(""), &people).await;
    let before = snapshot(&client, &alpha, COMMUNITY).await;
    wait_until_caught_up(
        &client,
        &alpha_db,
        &followers,
        &handle,
        &before,
        STEP_WITHIN,
    )
    .await;

    let burst_started = Instant::now();
    burst(&client, &alpha.url(""), &people, &earlier).await;
    let burst_took = burst_started.elapsed();

    // Kill alpha as soon as the fan-out is under way: deliveries are leased and a first post
    // of the burst has reached a follower. Most of the burst's work is then still to do.
    let first_listing: Vec<String> = followers
        .iter()
        .map(|f| {
            f.url(&format!(
                "/api/v1/communities/{handle}/posts?sort=new&limit=50"
            ))
        })
        .collect();
    eventually(
        "a first post of the burst reaches a follower",
        STEP_WITHIN,
        Duration::from_millis(10),
        || async {
            let now = outgoing(&alpha_db).await;
            if now.leased == 0 {
                return Err(format!("nothing is leased: {now:?}"));
            }
            for url in &first_listing {
                let (_, page) = call(&client, Method::GET, url, None, None).await;
                if page["posts"].as_array().is_some_and(|p| p.len() > EARLIER) {
                    return Ok(());
                }
            }
            Err("no follower shows a post of the burst".into())
        },
    )
    .await;
    let before_kill = outgoing(&alpha_db).await;
    alpha.kill();
    let at_kill = outgoing(&alpha_db).await;
    let mut received = vec![];
    for f in &followers {
        let burst_posts = list_posts(&client, f, &handle).await.len() - EARLIER;
        received.push((f.name, burst_posts));
    }
    let duplicates = already_received(&alpha_db, &follower_dbs).await;
    eprintln!(
        "[{backend:?}] the burst of {POSTS} posts took {burst_took:?}; just before the kill: \
         {before_kill:?}; after it: {at_kill:?}, {duplicates} of the leased ones already \
         received; posts of the burst shown by the followers: {received:?}"
    );
    assert!(
        at_kill.waiting > 0,
        "the fan-out had finished before the kill; the burst must outpace delivery"
    );

    alpha.spawn();
    alpha.ready(&client).await;
    let restarted = Instant::now();

    // Alpha's own view is the truth the followers must reach, and it lost nothing either.
    let expected = snapshot(&client, &alpha, COMMUNITY).await;
    assert_eq!(expected.len(), EARLIER + POSTS, "alpha lost posts");
    let comments: usize = expected.values().map(|p| p.comments.len()).sum();
    assert_eq!(comments, EARLIER + 2 * POSTS, "alpha lost comments");

    wait_until_caught_up(
        &client,
        &alpha_db,
        &followers,
        &handle,
        &expected,
        RECOVERY_WITHIN,
    )
    .await;
    eprintln!(
        "[{backend:?}] every follower caught up {:?} after the restart; the test took {:?}",
        restarted.elapsed(),
        test_started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_instance_killed_during_fan_out_loses_and_doubles_nothing() {
    crash_during_fan_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instance_killed_during_fan_out_loses_and_doubles_nothing() {
    crash_during_fan_out(Backend::Postgres).await;
}
