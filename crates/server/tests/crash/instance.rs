//! The `cairn serve` processes under test: picking a free port, starting an instance on a
//! fresh database, waiting until it answers, killing it with SIGKILL, and the Drop guard that
//! stops it and shows its logs when a test fails.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::pg::PgDatabase;

/// The binary under test.
const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// How long an instance may take to answer its first request.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Which database the instances run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A TCP port nothing listens on right now: bind port 0, note the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// One `cairn serve` instance: its port, database and working directory, which also holds the
/// log of each start. It can be killed and started again on the same database and port.
pub(crate) struct Instance {
    pub(crate) name: &'static str,
    port: u16,
    pub(crate) database_url: String,
    dir: TempDir,
    /// How many times the process was started; each start logs to its own file.
    starts: u32,
    child: Option<Child>,
    // Declared last: the database is dropped after the process is gone.
    _pg: Option<PgDatabase>,
}

impl Instance {
    /// Prepares an instance on a fresh database of `backend` and starts it.
    pub(crate) fn start(name: &'static str, backend: Backend) -> Self {
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
    pub(crate) fn domain(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// An absolute URL on the instance.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.path().join(format!("{}.{start}.log", self.name))
    }

    /// Starts `cairn serve` with an empty environment apart from its configuration, so the
    /// developer's own settings cannot leak in.
    pub(crate) fn spawn(&mut self) {
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
            // The bursts come from one address and a few accounts, far faster than people
            // write; the rate limits are not what these tests are about.
            .env("CAIRN_RATE_LIMIT_POSTS_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_COMMENTS_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_VOTES_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_COMMUNITIES_PER_HOUR", "100000")
            .env("CAIRN_RATE_LIMIT_FOLLOWS_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_EDITS_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_INBOX_PER_HOST_PER_MINUTE", "100000")
            .env("CAIRN_RATE_LIMIT_INBOX_PER_ADDRESS_PER_MINUTE", "100000")
            // A delivery that fails while a follower is busy is retried within a second instead
            // of the production default of thirty.
            .env("CAIRN_DELIVERY_RETRY_BASE_SECONDS", "1")
            // Likewise a received activity whose fetch failed, or that waits for another.
            .env("CAIRN_INBOX_RETRY_BASE_SECONDS", "1")
            // The shortest lease allowed, so the deliveries in flight at the kill come back
            // after 15 seconds rather than the default two minutes; the inbox worker's lease of
            // received activities is the same setting.
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
    pub(crate) async fn ready(&mut self, client: &reqwest::Client) {
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
    pub(crate) fn kill(&mut self) {
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
