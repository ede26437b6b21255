//! Federation benchmarks on loopback: real Cairn instances started in-process by the test
//! harness, measured with `std::time::Instant`.
//!
//! - `post_latency`: a user on beta follows a community on alpha; each round creates a post on
//!   alpha through the API and polls beta's API until the post is listed there.
//! - `fanout_100`: a community on alpha with 100 remote followers, each on its own host (a
//!   small recording inbox on its own `127.0.0.1` port, so no shared inbox merges them); each
//!   round creates a post and waits until all 100 inboxes have the FEP-1b12 `Announce` and the
//!   compatibility `Announce(Page)`.
//! - `rsa_sign`: the cost of one HTTP signature (RSA-2048, PKCS#1 v1.5, SHA-256) on one core,
//!   to set the fan-out's rate against.
//!
//! Run with `cargo bench -p cairn-tests --bench federation`. Arguments after `--` select
//! benchmarks (`post_latency`, `fanout_100`, `rsa_sign`) and backends (`sqlite`, `postgres`;
//! SQLite alone by default). `CAIRN_BENCH_ROUNDS` overrides the number of measured rounds.
//! Without `--bench` (as `cargo test --all-targets` runs it) the binary does nothing: speed is
//! measured here, never by tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use cairn_server::Config;
use cairn_storage::deliveries;
use cairn_tests::{Backend, TestInstance, User};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Longest wait for one round before the benchmark gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between two polls of beta's API.
const POLL_EVERY: Duration = Duration::from_millis(2);
/// Number of remote followers in the fan-out.
const FOLLOWERS: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "federation benchmarks: run them with `cargo bench -p cairn-tests --bench federation`"
        );
        return;
    }
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut backends: Vec<Backend> = vec![];
    if words.contains(&"sqlite") {
        backends.push(Backend::Sqlite);
    }
    if words.contains(&"postgres") {
        backends.push(Backend::Postgres);
    }
    if backends.is_empty() {
        backends.push(Backend::Sqlite);
    }
    let names = ["rsa_sign", "post_latency", "fanout_100"];
    if let Some(unknown) = words
        .iter()
        .find(|w| !names.contains(w) && !["sqlite", "postgres"].contains(w))
    {
        eprintln!(
            "unknown argument `{unknown}`; give benchmark names ({}) and backends (sqlite, postgres)",
            names.join(", ")
        );
        std::process::exit(2);
    }
    let chosen: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| words.contains(n))
        .collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.contains(&name);
    let rounds = |default: usize| {
        std::env::var("CAIRN_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
            .max(1)
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "cairn federation benchmarks: {} cores, tokio multi-thread runtime with default workers",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print_load("at the start");
    let mut sign_rate = None;
    if wanted("rsa_sign") {
        sign_rate = Some(rsa_sign(rounds(5)));
    }
    for &backend in &backends {
        if wanted("post_latency") {
            runtime.block_on(post_latency(backend, 5, rounds(50)));
        }
        if wanted("fanout_100") {
            runtime.block_on(fanout(backend, 2, rounds(20), sign_rate));
        }
    }
    println!();
    print_load("at the end");
}

/// Other work on the machine shows in every figure; the load average says how much there was.
fn print_load(when: &str) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average {when}: {}", load.join(" "));
    }
}

/// Median and 95th percentile (nearest rank) of `samples`.
fn median_p95(samples: &[f64]) -> (f64, f64) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = |q: f64| s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
    (rank(0.5), rank(0.95))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU time (user and system) this process has used, from `/proc/self/stat`; `None` where
/// there is no such file.
fn cpu_time() -> Option<Duration> {
    proc_cpu_time("/proc/self/stat")
}

/// CPU time (user and system) the calling thread has used.
fn thread_cpu_time() -> Option<Duration> {
    proc_cpu_time("/proc/thread-self/stat")
}

fn proc_cpu_time(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Configuration of a benchmarked instance: the product's defaults, except plain http on
/// loopback (`dev_insecure_federation`) and the harness's high sign-up limits.
fn bench_config(c: &mut Config) {
    let defaults = Config::default();
    c.dev_insecure_federation = true;
    // The harness shrinks the pool for the test suite; the benchmark runs the default.
    c.database_pool_size = defaults.database_pool_size;
    c.delivery_per_host = defaults.delivery_per_host;
    c.delivery_concurrency = defaults.delivery_concurrency;
    c.delivery_retry_base_seconds = defaults.delivery_retry_base_seconds;
}

fn describe_config() -> String {
    let c = Config::default();
    format!(
        "delivery_per_host = {}, delivery_concurrency = {}, database_pool_size = {}, \
         delivery_retry_base_seconds = {}, dev_insecure_federation = true",
        c.delivery_per_host,
        c.delivery_concurrency,
        c.database_pool_size,
        c.delivery_retry_base_seconds
    )
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Waits until `check` holds, polling every `every`, or panics after [`ROUND_TIMEOUT`].
async fn until<F, Fut>(what: &str, every: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < ROUND_TIMEOUT,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(every).await;
    }
}

async fn queue_len(cairn: &TestInstance) -> i64 {
    cairn
        .ctx()
        .db()
        .run(deliveries::count)
        .await
        .expect("count")
}

async fn queue_drained(cairn: &TestInstance) {
    until(
        "the delivery queue drains",
        Duration::from_millis(5),
        || async { queue_len(cairn).await == 0 },
    )
    .await;
}

async fn create_post(on: &TestInstance, author: &User, community: &str, title: &str) {
    on.post(
        "/api/v1/posts",
        Some(&author.token),
        json!({"community": community, "title": title, "body": format!("Body of *{title}*")}),
    )
    .await
    .expect(201);
}

// ---------------------------------------------------------------------------------------------
// rsa_sign

/// Signs a draft-cavage signing string the way `activitypub_federation` does, on this thread.
/// Returns the signatures per second of CPU time, which other load on the machine does not
/// change, or per second of wall time where the CPU time cannot be read.
fn rsa_sign(rounds: usize) -> f64 {
    use rsa::pkcs8::DecodePrivateKey;
    use sha2::{Digest, Sha256};

    let pair = cairn_core::crypto::generate_keypair().expect("key pair");
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pair.private_pem).expect("private key");
    let signing_string = "(request-target): post /inbox\nhost: localhost:40000\n\
                          date: Mon, 01 Jan 2026 00:00:00 GMT\n\
                          digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let sign = || {
        key.clone()
            .sign(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing_string.as_bytes()),
            )
            .expect("signature")
    };
    const PER_ROUND: usize = 200;
    for _ in 0..PER_ROUND / 4 {
        std::hint::black_box(sign());
    }
    let mut wall = vec![];
    let mut cpu = vec![];
    for _ in 0..rounds {
        let cpu_before = thread_cpu_time();
        let start = Instant::now();
        for _ in 0..PER_ROUND {
            std::hint::black_box(sign());
        }
        wall.push(PER_ROUND as f64 / start.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu_time())
            && after > before
        {
            cpu.push(PER_ROUND as f64 / (after - before).as_secs_f64());
        }
    }
    let (wall_median, _) = median_p95(&wall);
    println!();
    println!("rsa_sign: RSA-2048 PKCS#1 v1.5 SHA-256 signatures on one thread");
    println!(
        "  {rounds} rounds of {PER_ROUND}: median {wall_median:.0} signatures/s of wall time ({:.2} ms each)",
        1000.0 / wall_median
    );
    if cpu.len() == rounds {
        let (cpu_median, _) = median_p95(&cpu);
        println!(
            "  median {cpu_median:.0} signatures/s of CPU time ({:.2} ms each)",
            1000.0 / cpu_median
        );
        cpu_median
    } else {
        wall_median
    }
}

// ---------------------------------------------------------------------------------------------
// post_latency

async fn post_latency(backend: Backend, warmup: usize, rounds: usize) {
    let alpha = TestInstance::start_with(backend, bench_config).await;
    let beta = TestInstance::start_with(backend, bench_config).await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "bench", "open").await;
    let handle = format!("bench@{}", alpha.domain);
    let bob = beta.user("bob").await;
    beta.post(
        "/api/v1/communities/follow",
        Some(&bob.token),
        json!({"handle": handle}),
    )
    .await
    .expect(200);
    until(
        "alpha's Accept reaches beta",
        Duration::from_millis(20),
        || async {
            let c = beta
                .get(&format!("/api/v1/communities/{handle}"), Some(&bob.token))
                .await;
            c.body["my_membership"]["state"] == "active"
        },
    )
    .await;
    queue_drained(&alpha).await;
    queue_drained(&beta).await;

    let listing = format!("/api/v1/communities/{handle}/posts?sort=new");
    let mut latencies = vec![];
    let mut creates = vec![];
    for round in 0..warmup + rounds {
        let title = format!("Latency round {round}");
        let start = Instant::now();
        create_post(&alpha, &alice, "bench", &title).await;
        let created = start.elapsed();
        until(&format!("`{title}` reaches beta"), POLL_EVERY, || async {
            let page = beta.get(&listing, None).await;
            page.body["posts"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["title"] == title.as_str()))
        })
        .await;
        let arrived = start.elapsed();
        if round >= warmup {
            latencies.push(ms(arrived));
            creates.push(ms(created));
        }
        // Each round starts with both queues empty (alpha also sends beta the compatibility
        // Announce(Page)), so rounds do not overlap.
        queue_drained(&alpha).await;
    }
    let (median, p95) = median_p95(&latencies);
    let (c_median, c_p95) = median_p95(&creates);
    println!();
    println!(
        "post_latency [{}]: a post created on alpha until beta's API lists it",
        backend_name(backend)
    );
    println!("  config: {}", describe_config());
    println!(
        "  {rounds} rounds after {warmup} warm-up, polling beta every {} ms",
        POLL_EVERY.as_millis()
    );
    println!("  latency: median {median:.1} ms, p95 {p95:.1} ms");
    println!("  of which the create request on alpha: median {c_median:.1} ms, p95 {c_p95:.1} ms");
    alpha.stop().await;
    beta.stop().await;
}

// ---------------------------------------------------------------------------------------------
// fanout_100

/// What the recording inboxes saw in the current round.
#[derive(Default)]
struct Round {
    /// FEP-1b12 Announces (of a Create, Update, ...) per inbox.
    announces: Vec<usize>,
    /// Compatibility Announce(Page) copies per inbox.
    compat: Vec<usize>,
    /// Anything else posted to an inbox.
    other: usize,
    first_at: Option<Instant>,
    announces_done_at: Option<Instant>,
    all_done_at: Option<Instant>,
}

struct Recorder {
    round: Mutex<Round>,
    done: Notify,
}

impl Recorder {
    fn new() -> Self {
        Self {
            round: Mutex::new(Round::default()),
            done: Notify::new(),
        }
    }

    fn reset(&self) {
        *self.round.lock().expect("lock") = Round {
            announces: vec![0; FOLLOWERS],
            compat: vec![0; FOLLOWERS],
            ..Round::default()
        };
    }

    fn record(&self, inbox: usize, body: &[u8]) {
        let now = Instant::now();
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let announce = v["type"] == "Announce";
        let inner = v["object"]["type"].as_str().unwrap_or("");
        let mut r = self.round.lock().expect("lock");
        r.first_at.get_or_insert(now);
        match (announce, inner) {
            (true, "Page") => r.compat[inbox] += 1,
            (true, "Create" | "Update" | "Delete" | "Like" | "Dislike" | "Undo") => {
                r.announces[inbox] += 1;
            }
            _ => r.other += 1,
        }
        let all_announced = r.announces.iter().all(|&n| n >= 1);
        if all_announced && r.announces_done_at.is_none() {
            r.announces_done_at = Some(now);
        }
        if all_announced && r.compat.iter().all(|&n| n >= 1) && r.all_done_at.is_none() {
            r.all_done_at = Some(now);
            self.done.notify_one();
        }
    }
}

#[derive(Clone)]
struct InboxState {
    index: usize,
    recorder: Arc<Recorder>,
}

async fn receive(State(s): State<InboxState>, body: Bytes) -> StatusCode {
    s.recorder.record(s.index, &body);
    StatusCode::ACCEPTED
}

/// Starts a recording inbox on its own port; returns its base URL, `http://localhost:PORT`.
async fn start_inbox(index: usize, recorder: Arc<Recorder>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new()
        .route("/inbox", post(receive))
        .with_state(InboxState { index, recorder });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://localhost:{port}")
}

struct FanoutSample {
    first: f64,
    announces: f64,
    all: f64,
    /// Until the worker has recorded every outcome and the queue is empty.
    drained: f64,
}

async fn fanout(backend: Backend, warmup: usize, rounds: usize, sign_rate: Option<f64>) {
    let recorder = Arc::new(Recorder::new());
    let alpha = TestInstance::start_with(backend, bench_config).await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "bench", "open").await;
    for i in 0..FOLLOWERS {
        let base = start_inbox(i, recorder.clone()).await;
        alpha.add_remote_follower("bench", "follower", &base).await;
    }

    let mut samples = vec![];
    let mut cpu = Duration::ZERO;
    let mut others = 0;
    for round in 0..warmup + rounds {
        recorder.reset();
        let done = recorder.done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        let cpu_before = cpu_time();
        let start = Instant::now();
        create_post(&alpha, &alice, "bench", &format!("Fan-out round {round}")).await;
        tokio::time::timeout(ROUND_TIMEOUT, done)
            .await
            .unwrap_or_else(|_| {
                let r = recorder.round.lock().expect("lock");
                panic!(
                    "round {round}: after {ROUND_TIMEOUT:?} only {} inboxes have the Announce and {} the Announce(Page)",
                    r.announces.iter().filter(|&&n| n > 0).count(),
                    r.compat.iter().filter(|&&n| n > 0).count()
                )
            });
        // The worker records outcomes after the last request; let it finish before the next
        // round, and check that nothing arrived twice.
        queue_drained(&alpha).await;
        let drained = ms(start.elapsed());
        let cpu_after = cpu_time();
        let r = recorder.round.lock().expect("lock");
        let since = |t: Option<Instant>| ms(t.expect("recorded").duration_since(start));
        let sample = FanoutSample {
            first: since(r.first_at),
            announces: since(r.announces_done_at),
            all: since(r.all_done_at),
            drained,
        };
        assert!(
            r.announces.iter().chain(&r.compat).all(|&n| n == 1),
            "round {round}: an inbox got an activity twice"
        );
        if round >= warmup {
            if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
                cpu += after.saturating_sub(before);
            }
            others += r.other;
            samples.push(sample);
        }
    }

    let pick = |f: fn(&FanoutSample) -> f64| -> Vec<f64> { samples.iter().map(f).collect() };
    let (first_median, first_p95) = median_p95(&pick(|s| s.first));
    let (ann_median, ann_p95) = median_p95(&pick(|s| s.announces));
    let (all_median, all_p95) = median_p95(&pick(|s| s.all));
    let requests = 2 * FOLLOWERS;
    let per_s = |n: usize, millis: f64| n as f64 / (millis / 1000.0);
    println!();
    println!(
        "fanout_100 [{}]: one post to {FOLLOWERS} follower inboxes on {FOLLOWERS} distinct hosts",
        backend_name(backend)
    );
    println!("  config: {}", describe_config());
    println!(
        "  {rounds} rounds after {warmup} warm-up; each round sends {FOLLOWERS} FEP-1b12 Announces \
         and {FOLLOWERS} compatibility Announce(Page) copies ({requests} signed POSTs)"
    );
    println!("  create to first inbox request: median {first_median:.1} ms, p95 {first_p95:.1} ms");
    println!(
        "  create to all {FOLLOWERS} Announces: median {ann_median:.1} ms, p95 {ann_p95:.1} ms \
         -> {:.0} Announce deliveries/s (at p95: {:.0}/s)",
        per_s(FOLLOWERS, ann_median),
        per_s(FOLLOWERS, ann_p95)
    );
    let all_rate = per_s(requests, all_median);
    println!(
        "  create to all {requests} requests: median {all_median:.1} ms, p95 {all_p95:.1} ms \
         -> {all_rate:.0} requests/s (at p95: {:.0}/s)",
        per_s(requests, all_p95)
    );
    println!(
        "  signatures: one per request, so {all_rate:.0} RSA signatures/s{}",
        match sign_rate {
            Some(r) => format!(
                ", {:.0}% of one core's {r:.0}/s (CPU time) measured by rsa_sign",
                100.0 * all_rate / r
            ),
            None => String::new(),
        }
    );
    let (drained_median, drained_p95) = median_p95(&pick(|s| s.drained));
    println!(
        "  create to an empty delivery queue (every outcome recorded): median {drained_median:.1} ms, \
         p95 {drained_p95:.1} ms"
    );
    if cpu > Duration::ZERO {
        let total_ms: f64 = samples.iter().map(|s| s.drained).sum();
        let per_request = ms(cpu) / (requests * rounds) as f64;
        println!(
            "  process CPU until the queue is empty (instance, inboxes and client together): \
             {per_request:.2} ms per request{}, {:.2} cores busy on average",
            match sign_rate {
                Some(r) => format!(", of which one signature takes {:.2} ms", 1000.0 / r),
                None => String::new(),
            },
            ms(cpu) / total_ms
        );
    }
    if others > 0 {
        println!("  other requests to the inboxes: {others}");
    }
    alpha.stop().await;
}
