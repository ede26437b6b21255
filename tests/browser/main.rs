//! Browser tests: a real Cairn on loopback, driven through its web interface by headless
//! Chromium (the Debian package) with playwright-core, and checked with axe-core.
//!
//! The flows are plain JavaScript modules in tests/browser, run with the machine's Node; their
//! npm packages are installed by tests/browser/install.sh (scripts/test.sh runs it) into
//! `CAIRN_BROWSER_CACHE`, by default `~/.cache/cairn-browser`. Each test starts one instance,
//! runs the flows against it with JavaScript on and off, and fails with the flows' report when
//! a step fails, a page has a serious or critical accessibility violation, or the browser saw a
//! console error, a CSP violation or a request leaving loopback. Reports and screenshots land
//! in `target/browser/BACKEND/`.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_tests::{Backend, TestInstance, backend_tests};

/// Two Chromiums at once on a two-core machine make both slow enough to hit timeouts, so the
/// backends' tests take turns with the browser while their instances start in parallel.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long the flows may take before the test stops them. The flows stop themselves earlier
/// (run.mjs has its own limit and still writes its report); this is for a wedged Node.
const LIMIT: Duration = Duration::from_secs(12 * 60);

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where install.sh puts the npm packages.
fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CAIRN_BROWSER_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache").join("cairn-browser")
}

fn chromium() -> PathBuf {
    std::env::var("CAIRN_CHROMIUM")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// `target/browser/BACKEND`: beside cargo's own folders, so CI keeps it with the build.
fn out_dir(backend: Backend) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("browser")
        .join(format!("{backend:?}").to_lowercase())
}

/// Fails early, with the command that fixes it, when the browser or the packages are missing:
/// there is no skipping, so CI cannot pass without the browser tests.
fn preflight() {
    assert!(
        chromium().exists(),
        "{} is missing; install it with `apt-get install chromium chromium-driver` \
         (.ci/run does when it is missing)",
        chromium().display()
    );
    assert!(
        cache_dir().join("node_modules/playwright-core").exists()
            && cache_dir().join("node_modules/axe-core").exists(),
        "playwright-core and axe-core are not installed in {}; run tests/browser/install.sh \
         first (scripts/test.sh does)",
        cache_dir().display()
    );
}

/// Runs `node run.mjs BASE OUT LABEL` to its end or until [`LIMIT`], with its output in
/// OUT/node.log. Returns how it ended and how long it took.
fn run_flows(base: &str, out: &Path, label: &str) -> (Option<ExitStatus>, Duration) {
    std::fs::create_dir_all(out).expect("output folder");
    let log = File::create(out.join("node.log")).expect("log file");
    let started = Instant::now();
    let mut child = Command::new(std::env::var("CAIRN_NODE").unwrap_or_else(|_| "node".into()))
        .arg(browser_dir().join("run.mjs"))
        .arg(base)
        .arg(out)
        .arg(label)
        .env("CAIRN_BROWSER_CACHE", cache_dir())
        .env("CAIRN_CHROMIUM", chromium())
        // Its own process group, so that stopping it on a timeout reaches Chromium too.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("node starts (is Node.js installed?)");
    loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            return (Some(status), started.elapsed());
        }
        if started.elapsed() > LIMIT {
            // TERM first: playwright-core closes Chromium on it; KILL if that does not help.
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            return (None, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn member_flows(backend: Backend) {
    preflight();
    let instance = TestInstance::start(backend).await;
    let out = out_dir(backend);
    let label = format!("{backend:?}");
    let base = instance.base.clone();
    let dir = out.clone();
    // The flows block a thread for minutes, so they run off the runtime that serves Cairn.
    let (status, took) = tokio::task::spawn_blocking(move || {
        let _turn = ONE_BROWSER_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        run_flows(&base, &dir, &label)
    })
    .await
    .expect("the flows' thread");
    let log = std::fs::read_to_string(out.join("node.log")).unwrap_or_default();
    println!("{log}");
    println!(
        "browser flows on {backend:?} took {:.1} s; report and screenshots in {}",
        took.as_secs_f64(),
        out.display()
    );
    instance.stop().await;
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the browser flows failed ({s}):\n{log}"),
        None => panic!(
            "the browser flows did not finish within {} s:\n{log}",
            LIMIT.as_secs()
        ),
    }
}

backend_tests!(member_flows);
