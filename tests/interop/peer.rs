//! A peer: another ActivityPub implementation running as a child process on its own loopback
//! address, driven through the small JSON control API its wrapper script serves (see
//! tests/interop/README.md for the API).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Which implementation a peer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// bovine-herd, from PyPI.
    Bovine,
    /// A script of ours on @fedify/fedify, from npm.
    Fedify,
}

impl Kind {
    /// The peer's name, also its folder under tests/interop.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bovine => "bovine",
            Kind::Fedify => "fedify",
        }
    }

    /// Each peer gets its own loopback address, so its ids never look like Cairn's.
    fn address(self) -> Ipv4Addr {
        match self {
            Kind::Bovine => Ipv4Addr::new(127, 0, 0, 2),
            Kind::Fedify => Ipv4Addr::new(127, 0, 0, 3),
        }
    }

    /// The host name in the peer's ids. ActivityPub ids must have a domain (the federation
    /// library refuses bare addresses), so the peer is named, and Cairn's `dev_hosts` entry
    /// (`dev_host`) maps the name to the peer's address.
    pub fn host(self) -> &'static str {
        match self {
            Kind::Bovine => "bovine.test",
            Kind::Fedify => "fedify.test",
        }
    }

    /// The `dev_hosts` entry that lets Cairn reach the peer by name.
    pub fn dev_host(self) -> String {
        format!("{}={}", self.host(), self.address())
    }
}

/// Where the peers are installed: `CAIRN_INTEROP_CACHE`, or `~/.cache/cairn-interop`.
pub fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CAIRN_INTEROP_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache").join("cairn-interop")
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// A free TCP port on `addr`. The port is released before the peer binds it; nothing else on
/// the test machine binds ports of 127.0.0.2 and 127.0.0.3, so the race is theoretical.
fn free_port(addr: Ipv4Addr) -> u16 {
    TcpListener::bind(SocketAddr::from((addr, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running peer.
pub struct Peer {
    pub kind: Kind,
    /// The peer actor's id.
    pub actor: String,
    /// The peer actor's handle, `name@host:port`.
    pub handle: String,
    control: String,
    client: reqwest::Client,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Peer {
    /// Starts the peer and waits until its control API answers; it reaches the Cairn
    /// instances named in `cairn_hosts` on 127.0.0.1. Panics with the peer's own output when it
    /// does not come up, and with the install command when it is not installed.
    pub async fn start(kind: Kind, cairn_hosts: &[&str]) -> Peer {
        let cache = cache_dir();
        let script = interop_dir().join(kind.name()).join("run.sh");
        assert!(
            is_installed(kind, &cache),
            "the {} peer is not installed in {}; run tests/interop/install.sh first \
             (scripts/test.sh does)",
            kind.name(),
            cache.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("peer.log");
        let addr = kind.address();
        let port = free_port(addr);
        let control_port = free_port(addr);
        let resolve: Vec<String> = cairn_hosts
            .iter()
            .map(|h| format!("{h}=127.0.0.1"))
            .collect();
        let resolve = resolve.join(",");
        // The two wrappers name their settings differently: bovine wants the whole authority
        // and a map of names, the Fedify script the host name and a list of names.
        let (domain, resolve_var) = match kind {
            Kind::Bovine => (format!("{}:{port}", kind.host()), "PEER_HOSTS_MAP"),
            Kind::Fedify => (kind.host().to_owned(), "PEER_RESOLVE"),
        };
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("bash")
            .arg(&script)
            .arg(&cache)
            .env("PEER_HOST", addr.to_string())
            .env("PEER_PORT", port.to_string())
            .env("CONTROL_PORT", control_port.to_string())
            .env("PEER_USER", "peer")
            .env("PEER_DOMAIN", domain)
            .env(resolve_var, resolve)
            .env("PEER_DATA", dir.path())
            .env("INTEROP_CACHE", &cache)
            // Its own process group, so that stopping the peer also stops whatever the
            // wrapper script started.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("peer starts");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("client");
        let mut peer = Peer {
            kind,
            actor: String::new(),
            handle: String::new(),
            control: format!("http://{addr}:{control_port}"),
            client,
            child,
            log,
            _dir: dir,
        };
        for _ in 0..240 {
            if let Ok(Some(status)) = peer.child.try_wait() {
                panic!(
                    "the {} peer exited with {status} before it was ready:\n{}",
                    kind.name(),
                    peer.log_tail()
                );
            }
            if let Ok(resp) = peer
                .client
                .get(format!("{}/health", peer.control))
                .send()
                .await
                && let Ok(health) = resp.json::<Value>().await
                && health["ok"] == true
            {
                peer.actor = health["actor"].as_str().unwrap_or_default().to_owned();
                peer.handle = health["handle"].as_str().unwrap_or_default().to_owned();
                return peer;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "the {} peer did not answer within a minute:\n{}",
            kind.name(),
            peer.log_tail()
        );
    }

    /// The last lines the peer printed, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Calls a control endpoint. A peer answers `{"ok": false, "error": ...}` when the step
    /// failed on its side; that becomes `Err` with the peer's words.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.control));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("control call {path} failed: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| format!("control call {path} answered {status}: {text}"))?;
        if value["ok"] == true {
            Ok(value)
        } else {
            Err(format!(
                "{} said: {}",
                self.kind.name(),
                value["error"].as_str().map(str::to_owned).unwrap_or(text)
            ))
        }
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Everything the peer's inbox received so far, oldest first.
    pub async fn inbox(&self) -> Result<Vec<Value>, String> {
        Ok(self.get("/inbox").await?["items"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// A signed GET by the peer, as it would dereference an id.
    pub async fn fetch(&self, url: &str) -> Result<Value, String> {
        self.post("/fetch", json!({ "url": url })).await
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // SIGTERM lets the wrapper stop its server; the kill is the fallback for a peer that
        // ignores it, so that no test leaves processes behind.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// Whether `install.sh` has installed the peer into `cache`.
fn is_installed(kind: Kind, cache: &Path) -> bool {
    cache.join(format!("{}.installed", kind.name())).exists()
}
