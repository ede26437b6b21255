//! Reads during a burst of community creations: each creation generates a 2048-bit RSA key
//! pair, which takes a core for a noticeable moment, and database calls share tokio's blocking
//! pool with it. The bench creates a burst of communities at once on SQLite and meanwhile reads
//! a community's post list over and over, and prints the read latency (median, 95th percentile,
//! maximum) before and during the burst, once with `crypto_concurrency` at 1 (the default on a
//! two-core machine) and once at 256, which is as good as unbounded: one blocking thread per
//! key generation, as before the crypto pool existed.
//!
//! Run with `cargo bench -p cairn-tests --bench crypto_burst`. `CAIRN_BENCH_COMMUNITIES`
//! overrides the size of the burst (40; the figure is 500). Without `--bench` the
//! binary does nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cairn_tests::{Backend, TestInstance};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "crypto burst benchmark: run it with `cargo bench -p cairn-tests --bench crypto_burst`"
        );
        return;
    }
    let burst: usize = std::env::var("CAIRN_BENCH_COMMUNITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the start: {}", load.trim());
    }
    println!(
        "{} cores; a burst of {burst} community creations",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for concurrency in [1, 256] {
        runtime.block_on(run(burst, concurrency));
    }
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {label:<14} {:>4} reads: median {:>7.1} ms, p95 {:>7.1} ms, max {:>7.1} ms",
        times.len(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
        at(1.0).as_secs_f64() * 1000.0,
    );
}

/// One read and how long it took; a read that fails is reported with its status rather than
/// ending the bench, since a failure under the burst is itself a finding.
async fn read(cairn: &TestInstance) -> Duration {
    let started = Instant::now();
    let answer = cairn.get("/api/v1/communities/gardening/posts", None).await;
    if answer.status.as_u16() != 200 {
        println!(
            "  a read failed after {:.1} s with {}",
            started.elapsed().as_secs_f64(),
            answer.status
        );
    }
    started.elapsed()
}

async fn run(burst: usize, concurrency: usize) {
    let cairn = TestInstance::start_with(Backend::Sqlite, |c| {
        c.crypto_concurrency = concurrency;
        c.database_pool_size = 8;
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    for n in 0..20 {
        cairn
            .post_in(&alice, "gardening", &format!("Post {n}"))
            .await;
    }
    println!("crypto_concurrency = {concurrency}");
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(read(&cairn).await);
    }
    summary("idle", idle);

    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let creations = create_burst(&cairn, &alice.token, burst, done.clone());
    let reads = async {
        let mut times = Vec::new();
        // Reads start once the burst has had a moment to queue up.
        tokio::time::sleep(Duration::from_millis(50)).await;
        loop {
            times.push(read(&cairn).await);
            if times.len() >= 5 && started.elapsed() > Duration::from_secs(120) {
                break;
            }
            if done.load(Ordering::Relaxed) >= burst {
                break;
            }
        }
        times
    };
    let (created, times) = tokio::join!(creations, reads);
    summary("during burst", times);
    println!(
        "  {created} of {burst} communities created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    cairn.stop().await;
}

/// Creates `burst` communities at once, counting finished requests in `done`; returns how many
/// were created.
async fn create_burst(
    cairn: &TestInstance,
    token: &str,
    burst: usize,
    done: Arc<AtomicUsize>,
) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..burst {
        let client = cairn.client.clone();
        let url = cairn.url("/api/v1/communities");
        let token = token.to_owned();
        let done = done.clone();
        tasks.spawn(async move {
            let ok = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"name": format!("burst{n}"), "title": format!("Burst {n}")}))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 201);
            done.fetch_add(1, Ordering::Relaxed);
            ok
        });
    }
    let mut created = 0;
    while let Some(done) = tasks.join_next().await {
        created += usize::from(done.unwrap_or(false));
    }
    created
}
