//! Test support: real Cairn instances on loopback, each with its own database, on SQLite or
//! PostgreSQL, and a small HTTP client for talking to them.
//!
//! PostgreSQL is expected at `CAIRN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`); every instance gets a fresh database that is dropped
//! when the instance is. There is no skipping: if PostgreSQL is unreachable the PostgreSQL
//! variants fail, so CI cannot pass without both backends.

use std::path::PathBuf;

use cairn_server::Config;
use cairn_server::app::{self, Running};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::Value;

/// Which database an instance runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Runs each named async test function `fn(Backend)` once per backend, as
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}

fn postgres_base() -> String {
    std::env::var("CAIRN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A PostgreSQL database that lives as long as this value.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> Self {
        let name = format!("cairn_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&format!("{}/postgres", postgres_base()))
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the postgres tests ({}): {e}",
                    postgres_base()
                )
            });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        Self { name }
    }

    fn url(&self) -> String {
        format!("{}/{}", postgres_base(), self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", postgres_base())) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A database of the given backend that nothing else uses, and a guard that removes it.
pub fn scratch_database(backend: Backend) -> (String, Box<dyn std::any::Any + Send>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("scratch.sqlite3").display());
            (url, Box::new(dir))
        }
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url(), Box::new(db))
        }
    }
}

/// A running Cairn instance.
pub struct TestInstance {
    /// `http://localhost:PORT`
    pub base: String,
    /// The instance's domain, `localhost:PORT`.
    pub domain: String,
    /// A client without cookies or redirects.
    pub client: reqwest::Client,
    running: Option<Running>,
    dir: tempfile::TempDir,
    backend: Backend,
    // Declared last so it is dropped after the server stops using it.
    _pg: Option<PgDatabase>,
}

/// A signed-in user of an instance.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub token: String,
}

/// An HTTP answer: status, headers and the body parsed as JSON (or `Value::String` of the
/// raw text when it is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Reads a response whole, for requests a test builds itself.
    pub async fn read(resp: reqwest::Response) -> Answer {
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

    /// The `error` code of an error answer.
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// Panics unless the status is `expected`, showing the body.
    #[track_caller]
    pub fn expect(&self, expected: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.body
        );
        &self.body
    }

    /// Panics unless the answer is the error `code` with status `status` and a message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.error_code(),
            code,
            "unexpected error code; body: {}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.body
        );
    }
}

/// The host names test instances federate under; they all resolve to 127.0.0.1.
pub const TEST_HOSTS: &[&str] = &["alpha.test", "beta.test", "gamma.test"];

impl TestInstance {
    /// Starts an instance with test defaults (high rate limits, http).
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts an instance after `tweak` adjusts the configuration.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_as(backend, "localhost", tweak).await
    }

    /// Starts a federating instance named `name` (alpha, beta, gamma): its domain is
    /// `NAME.test:PORT`, and it reaches the other test names on 127.0.0.1, as the instances of
    /// a real federation reach each other by name.
    pub async fn start_named(
        backend: Backend,
        name: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_as(backend, &format!("{name}.test"), |c| {
            c.dev_insecure_federation = true;
            c.dev_hosts = TEST_HOSTS.iter().map(|h| (*h).to_owned()).collect();
            tweak(c);
        })
        .await
    }

    async fn start_as(backend: Backend, host: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let domain = format!("{host}:{port}");
        let mut config = Config {
            database_url: match &pg {
                Some(db) => db.url(),
                None => dir.path().join("cairn.sqlite3").display().to_string(),
            },
            database_pool_size: 4,
            bind: format!("127.0.0.1:{port}"),
            domain: domain.clone(),
            https: Some(false),
            register_per_hour: 10_000,
            login_per_minute: 10_000,
            // Tests write quickly from one address; the limits tests set their own.
            rate_limit_posts_per_minute: 100_000,
            rate_limit_comments_per_minute: 100_000,
            rate_limit_votes_per_minute: 100_000,
            rate_limit_communities_per_hour: 100_000,
            rate_limit_follows_per_minute: 100_000,
            rate_limit_edits_per_minute: 100_000,
            rate_limit_inbox_per_host_per_minute: 100_000,
            rate_limit_inbox_per_address_per_minute: 100_000,
            ..Config::default()
        };
        tweak(&mut config);
        let validated = config.validate().expect("valid test config");
        let running = app::start(&validated, listener, false)
            .await
            .expect("instance starts");
        Self {
            base: format!("http://{domain}"),
            domain,
            client: TEST_HOSTS
                .iter()
                .fold(
                    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()),
                    |b, h| b.resolve(h, std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                )
                .build()
                .expect("client"),
            running: Some(running),
            dir,
            backend,
            _pg: pg,
        }
    }

    /// The backend this instance runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The instance's temporary directory (holds the SQLite file).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The domain handle of the running instance.
    pub fn ctx(&self) -> &cairn_core::Cairn {
        &self.running.as_ref().expect("running").ctx
    }

    /// An absolute URL on this instance.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the instance.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Answer::read(req.send().await.expect("request")).await
    }

    /// GET with an `Accept` header.
    pub async fn get_accept(&self, path: &str, accept: &str) -> Answer {
        let resp = self
            .client
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .expect("request");
        Answer::read(resp).await
    }

    /// GET of an ActivityPub document.
    pub async fn get_ap(&self, path: &str) -> Answer {
        self.get_accept(path, "application/activity+json").await
    }

    /// GET, optionally signed in.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// POST JSON, optionally signed in.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, token, Some(&body))
            .await
    }

    /// PATCH JSON, signed in.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PATCH, path, Some(token), Some(&body))
            .await
    }

    /// DELETE, signed in.
    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    /// Registers `name` with a standard password and signs in.
    pub async fn user(&self, name: &str) -> User {
        let password = "correct horse battery staple";
        self.post(
            "/api/v1/accounts",
            None,
            serde_json::json!({"username": name, "password": password}),
        )
        .await
        .expect(201);
        let login = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"username": name, "password": password}),
            )
            .await;
        let token = login.expect(200)["token"]
            .as_str()
            .expect("token")
            .to_owned();
        User {
            name: name.to_owned(),
            token,
        }
    }

    /// Creates a community owned by `owner` with the given membership mode.
    pub async fn community(&self, owner: &User, name: &str, membership: &str) -> Value {
        self.post(
            "/api/v1/communities",
            Some(&owner.token),
            serde_json::json!({"name": name, "title": format!("The {name} community"), "membership": membership}),
        )
        .await
        .expect(201)
        .clone()
    }

    /// Makes `user` follow the community `handle` (`name@host`) and waits until the
    /// community's Accept made the membership active.
    pub async fn follow_remote(&self, user: &User, handle: &str) {
        self.post(
            "/api/v1/communities/follow",
            Some(&user.token),
            serde_json::json!({"handle": handle}),
        )
        .await
        .expect(200);
        eventually("the follow is accepted", || async {
            let c = self
                .get(&format!("/api/v1/communities/{handle}"), Some(&user.token))
                .await;
            (c.body["my_membership"]["state"] == "active").then_some(())
        })
        .await;
    }

    /// Stores a person of another server, at `base` (`https://host` or `http://localhost:PORT`),
    /// as an active member of the local `community`, as if its Follow had been accepted: tests
    /// of the outbox and of delivery need followers without running another instance.
    pub async fn add_remote_follower(&self, community: &str, name: &str, base: &str) {
        use cairn_storage::communities::{CommunityRow, MemberRow};
        use cairn_storage::persons::{NewPerson, PersonRow};
        let (community, name, base) = (community.to_owned(), name.to_owned(), base.to_owned());
        self.ctx()
            .db()
            .run(move |conn: &mut cairn_storage::AnyConn<'_>| {
                let now = cairn_storage::db_now();
                let person = PersonRow::insert(
                    conn,
                    &NewPerson {
                        name: name.clone(),
                        display_name: None,
                        bio_md: None,
                        bio_html: None,
                        ap_id: format!("{base}/u/{name}"),
                        inbox_url: format!("{base}/u/{name}/inbox"),
                        shared_inbox_url: Some(format!("{base}/inbox")),
                        public_key: String::new(),
                        private_key: None,
                        local: false,
                        bot: false,
                        published: now,
                        last_refreshed_at: now,
                    },
                )?;
                let c = CommunityRow::local_by_name(conn, &community)?.expect("community");
                MemberRow::insert(
                    conn,
                    &MemberRow {
                        community_id: c.id,
                        person_id: person.id,
                        role: "member".into(),
                        state: "active".into(),
                        follow_activity_id: None,
                        invited_by: None,
                        created_at: now,
                    },
                )
            })
            .await
            .expect("remote follower");
    }

    /// The first page of a community's posts, newest first, as this instance lists them;
    /// `community` is a local name or a remote `name@host`.
    pub async fn newest_posts(&self, community: &str) -> Vec<Value> {
        let page = self
            .get(
                &format!("/api/v1/communities/{community}/posts?sort=new"),
                None,
            )
            .await;
        page.body["posts"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a post and returns its id.
    pub async fn post_in(&self, author: &User, community: &str, title: &str) -> i64 {
        self.post(
            "/api/v1/posts",
            Some(&author.token),
            serde_json::json!({"community": community, "title": title, "body": format!("Body of *{title}*")}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .expect("post id")
    }
}

/// The final verdict the inbox recorded for a received activity: its state (`applied`,
/// `ignored`, `refused` or `failed`) and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxVerdict {
    pub state: String,
    pub code: String,
    pub message: String,
}

impl TestInstance {
    /// Waits until the inbox worker has recorded a final verdict on the activity `ap_id`, which
    /// this instance answered 202 for, and returns it.
    pub async fn verdict(&self, ap_id: &str) -> InboxVerdict {
        self.inbox_state(ap_id, false).await
    }

    /// Waits until the inbox worker has tried the activity `ap_id` at least once: a final
    /// verdict, or the code of a failure it will retry later (then the state is `pending`).
    /// Tests of what a failed attempt leaves behind use it instead of waiting out the backoff.
    pub async fn first_attempt(&self, ap_id: &str) -> InboxVerdict {
        self.inbox_state(ap_id, true).await
    }

    async fn inbox_state(&self, ap_id: &str, retry_counts: bool) -> InboxVerdict {
        let ctx = self.ctx().clone();
        eventually(&format!("the inbox decides on {ap_id}"), || {
            let ctx = ctx.clone();
            let id = ap_id.to_owned();
            async move {
                let row = ctx
                    .db()
                    .run(move |c| cairn_storage::inbound::InboundRow::by_ap_id(c, &id))
                    .await
                    .ok()
                    .flatten()?;
                let decided = row.state != "pending" && row.state != "leased";
                let retried = retry_counts && row.state == "pending" && row.attempts > 0;
                (decided || retried).then(|| InboxVerdict {
                    state: row.state,
                    code: row.code.unwrap_or_default(),
                    message: row.message.unwrap_or_default(),
                })
            }
        })
        .await
    }
}

/// Polls `check` every 50 ms until it returns a value, for up to thirty seconds; federation
/// happens in the background, so tests wait for its effect rather than for a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The folder of the copied ActivityPub fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("activitypub")
}
