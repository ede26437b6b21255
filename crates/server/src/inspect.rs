//! `cairn inspect`: reads or fetches one ActivityPub document and prints how Cairn understands
//! it. It never writes to the database: it opens an existing one for lookups only, and works
//! without one.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cairn_core::{Cairn, remote};
use cairn_federation::inbox::MAX_ACTIVITY_BYTES;
use cairn_federation::inspect::{self, Fetcher, Options, Report};
use cairn_storage::{Backend, Database, PoolOptions};
use url::Url;

use crate::config::Validated;

/// Exit status of an accepted document.
const ACCEPTED: u8 = 0;
/// Exit status of a rejected or ignored one (acknowledged, but nothing is applied).
const REJECTED: u8 = 1;
/// Exit status when there was nothing to judge: unreadable file, failed fetch, bad argument.
const FAILED: u8 = 2;

/// What the argument names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Url(Url),
    File(String),
    Stdin,
    Handle(String),
}

impl Target {
    /// An http(s) URL, `-` for standard input, an existing file, else `name@host`, else a file
    /// (which then does not exist, and says so).
    fn parse(arg: &str) -> Self {
        if (arg.starts_with("https://") || arg.starts_with("http://"))
            && let Ok(url) = Url::parse(arg)
        {
            return Self::Url(url);
        }
        if arg == "-" {
            return Self::Stdin;
        }
        let handle = arg.trim_start_matches(['@', '!']);
        if !Path::new(arg).exists()
            && !arg.contains('/')
            && handle
                .split_once('@')
                .is_some_and(|(n, h)| !n.is_empty() && !h.is_empty() && !h.contains('@'))
        {
            return Self::Handle(handle.to_owned());
        }
        Self::File(arg.to_owned())
    }
}

/// Runs `cairn inspect`: prints the report (as text, or JSON with `json`) and returns 0 when the
/// document would be accepted, 1 when rejected, 2 when it could not be read or fetched.
pub async fn run(config: &Validated, target: &str, json: bool, offline: bool) -> ExitCode {
    let report = match inspect(config, target, offline).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cairn inspect: {e:#}");
            return ExitCode::from(FAILED);
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("cairn inspect: cannot write the report: {e}");
                return ExitCode::from(FAILED);
            }
        }
    } else {
        print!("{}", report.to_text());
    }
    ExitCode::from(if report.verdict.is_accepted() {
        ACCEPTED
    } else {
        REJECTED
    })
}

/// A fetcher as the server would fetch; a note says when it cannot sign.
async fn fetcher(
    config: &Validated,
    ctx: Option<&Cairn>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Fetcher> {
    let (fetcher, note) =
        Fetcher::new(ctx, &config.instance.domain, &crate::app::network(config)).await?;
    notes.extend(note);
    Ok(fetcher)
}

async fn inspect(config: &Validated, target: &str, offline: bool) -> anyhow::Result<Report> {
    let options = Options {
        local_domain: Some(config.instance.domain.clone()),
        insecure: config.raw.dev_insecure_federation,
    };
    let target = Target::parse(target);
    let (ctx, mut notes) = if offline {
        (
            None,
            vec!["Offline (--offline): nothing was looked up in the database.".to_owned()],
        )
    } else {
        open_read_only(config).await
    };
    let mut report = match target {
        Target::File(path) => {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read the file `{path}`"))?;
            let bytes = read_limited(file).with_context(|| format!("cannot read `{path}`"))?;
            inspect::inspect_bytes(&bytes, &options, ctx.as_ref()).await
        }
        Target::Stdin => {
            let bytes = read_limited(std::io::stdin()).context("cannot read the standard input")?;
            inspect::inspect_bytes(&bytes, &options, ctx.as_ref()).await
        }
        Target::Url(url) => {
            // An activity this instance received is judged as it arrived, beside the verdict
            // the inbox recorded; most activities cannot be fetched from their id anyway.
            let stored = match &ctx {
                Some(ctx) => inspect::stored_verdict(ctx, url.as_str()).await?,
                None => None,
            };
            match stored {
                Some((verdict, value)) => {
                    notes.push("Judged as stored on arrival; nothing was fetched.".to_owned());
                    let mut report = inspect::inspect_value(&value, &options, ctx.as_ref()).await;
                    report.stored = Some(verdict);
                    report
                }
                None => {
                    let fetcher = fetcher(config, ctx.as_ref(), &mut notes).await?;
                    let value = fetcher.fetch(&url).await?;
                    inspect::inspect_value(&value, &options, ctx.as_ref()).await
                }
            }
        }
        Target::Handle(handle) => {
            let fetcher = fetcher(config, ctx.as_ref(), &mut notes).await?;
            let url = fetcher.webfinger(&handle).await?;
            notes.push(format!("WebFinger gave {url} for {handle}."));
            let value = fetcher.fetch(&url).await?;
            inspect::inspect_value(&value, &options, ctx.as_ref()).await
        }
    };
    if report.stored.is_none()
        && let (Some(ctx), Some(id)) = (&ctx, &report.id)
    {
        report.stored = inspect::stored_verdict(ctx, id).await?.map(|(v, _)| v);
    }
    report.notes.extend(notes);
    Ok(report)
}

/// Reads at most one byte more than the inbox accepts, so an oversized document is refused as
/// the inbox refuses it without being read whole.
fn read_limited(source: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![];
    source
        .take(MAX_ACTIVITY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Opens the configured database for lookups, without migrating it and without creating a
/// SQLite file that is not there. Without a usable database the verdict is structural, and a
/// note says why.
async fn open_read_only(config: &Validated) -> (Option<Cairn>, Vec<String>) {
    let skipped = |why: String| {
        (
            None,
            vec![format!("{why}: nothing was looked up in the database.")],
        )
    };
    let url = &config.database;
    if url.backend == Backend::Sqlite && !Path::new(&url.target).exists() {
        return skipped(format!("No database at `{}`", url.target));
    }
    let options = PoolOptions {
        max_size: 2,
        connection_timeout: Duration::from_secs(5),
    };
    let db = match Database::connect(url, &options) {
        Ok(db) => db,
        Err(e) => return skipped(format!("Cannot open the database ({e})")),
    };
    let ctx = Cairn::new(db, config.instance.clone());
    // A lookup that finds nothing proves the tables are there before any verdict relies on them.
    if let Err(e) = remote::community_by_ap_id(&ctx, "https://cairn.invalid/").await {
        return skipped(format!(
            "The database cannot be read ({e}); `cairn migrate` brings it up to date"
        ));
    }
    (Some(ctx), vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_urls_handles_files_and_stdin() {
        assert!(matches!(
            Target::parse("https://lemmy.example/c/tf"),
            Target::Url(_)
        ));
        assert_eq!(Target::parse("-"), Target::Stdin);
        assert_eq!(
            Target::parse("tf@lemmy.example"),
            Target::Handle("tf@lemmy.example".into())
        );
        assert_eq!(
            Target::parse("!tf@lemmy.example"),
            Target::Handle("tf@lemmy.example".into())
        );
        assert_eq!(
            Target::parse("saved/create.json"),
            Target::File("saved/create.json".into())
        );
        assert_eq!(Target::parse("a.json"), Target::File("a.json".into()));
    }
}
