//! Interoperability: Cairn against ActivityPub software that other people wrote, installed from
//! the package registries by tests/interop/install.sh and run on their own loopback addresses.
//!
//! Each test starts one peer and two Cairn instances (the community's home, and a second one
//! that follows the community so that relaying can be seen), runs every scenario in order,
//! writes a report, prints it, and fails if any scenario failed. A scenario the peer cannot
//! perform at all is reported as not applicable, with the peer's reason.

mod peer;
mod scenarios;

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use cairn_tests::{Backend, TEST_HOSTS, TestInstance};

use crate::peer::{Kind, Peer};
use crate::scenarios::{Outcome, World};

type Scenario = for<'a> fn(&'a mut World) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>;

macro_rules! scenario {
    ($name:ident) => {
        (
            stringify!($name),
            (|w| Box::pin(scenarios::$name(w))) as Scenario,
        )
    };
}

/// The scenarios, in the order they build on each other.
fn all() -> Vec<(&'static str, Scenario)> {
    vec![
        scenario!(resolve_by_handle),
        scenario!(resolve_by_url),
        scenario!(follow_is_accepted),
        scenario!(post_is_announced),
        scenario!(edit_is_announced),
        scenario!(reply_becomes_comment),
        scenario!(mention_becomes_post),
        scenario!(delete_is_announced),
        scenario!(cairn_follows_peer),
    ]
}

async fn world(kind: Kind, backend: Backend) -> World {
    let peer = Peer::start(kind, TEST_HOSTS).await;
    let setup = |c: &mut cairn_server::Config| {
        c.delivery_retry_base_seconds = 1;
        c.dev_hosts.push(kind.dev_host());
    };
    let alpha = TestInstance::start_named(backend, "alpha", setup).await;
    let beta = TestInstance::start_named(backend, "beta", setup).await;
    let owner = alpha.user("owner").await;
    let community = "seedsavers".to_owned();
    alpha.community(&owner, &community, "open").await;
    let reader = beta.user("reader").await;
    beta.follow_remote(&reader, &format!("{community}@{}", alpha.domain))
        .await;
    World {
        alpha,
        beta,
        owner,
        community,
        peer,
        post: None,
    }
}

async fn run(kind: Kind, backend: Backend) {
    let mut w = world(kind, backend).await;
    let mut report = format!(
        "# Interop with {} ({backend:?})\n\npeer actor: {}\n\n",
        kind.name(),
        w.peer.actor
    );
    let mut failed = Vec::new();
    for (name, scenario) in all() {
        let outcome = scenario(&mut w).await;
        let line = match &outcome {
            Ok(()) => format!("- {name}: pass\n"),
            Err(e) if e.contains("unsupported") => format!("- {name}: not applicable: {e}\n"),
            Err(e) => {
                failed.push(name);
                format!("- {name}: FAIL: {e}\n")
            }
        };
        report.push_str(&line);
    }
    if !failed.is_empty() {
        let _ = write!(report, "\npeer log (last lines):\n{}\n", w.peer.log_tail());
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join(format!("{}-{backend:?}.md", kind.name()).to_lowercase()),
        &report,
    );
    println!("{report}");
    assert!(failed.is_empty(), "failed scenarios {failed:?}:\n{report}");
}

macro_rules! peer_tests {
    ($($name:ident => $kind:expr),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::run($kind, cairn_tests::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::run($kind, cairn_tests::Backend::Postgres).await
                }
            }
        )*
    };
}

peer_tests!(bovine => crate::peer::Kind::Bovine, fedify => crate::peer::Kind::Fedify);
