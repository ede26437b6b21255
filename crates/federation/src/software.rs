//! What software other instances run, read from their NodeInfo, so the publisher can spare
//! microblog servers the comments and votes their users do not want in their timelines.

use std::time::Duration;

use activitypub_federation::config::{Data, FederationConfig};
use cairn_core::Cairn;
use cairn_storage::db_now;
use cairn_storage::instances::InstanceRow;
use serde::Deserialize;
use url::Url;

use crate::network::Outbound;

/// Microblog software, whose users follow groups from their home timeline (Mastodon and its
/// relatives). Threadiverse software (Lemmy, Mbin, PieFed, NodeBB, Discourse, Friendica, Cairn)
/// is everything else.
pub const MICROBLOGS: &[&str] = &[
    "mastodon",
    "glitchsoc",
    "hometown",
    "pleroma",
    "akkoma",
    "misskey",
    "sharkey",
    "firefish",
    "iceshrimp",
    "calckey",
    "foundkey",
    "catodon",
    "gotosocial",
    "snac",
    "takahe",
    "mitra",
    "bovine",
    "fedify",
];

/// Link aggregators and forums that follow FEP-1b12 and read a community's Announce of a
/// Create, so the compatibility Announce of the bare Page is not sent to them.
const THREADIVERSE: &[&str] = &["cairn", "lemmy", "mbin", "kbin", "piefed", "sublinks"];

/// True when `software` (NodeInfo's `software.name`) reads FEP-1b12 Announces of activities.
pub fn is_threadiverse(software: &str) -> bool {
    let s = software.to_ascii_lowercase();
    THREADIVERSE.iter().any(|t| s == *t)
}

/// True when `software` (NodeInfo's `software.name`) is a microblog.
pub fn is_microblog(software: &str) -> bool {
    let s = software.to_ascii_lowercase();
    MICROBLOGS
        .iter()
        .any(|m| s == *m || s.starts_with(&format!("{m}-")))
}

#[derive(Debug, Deserialize)]
struct Links {
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    rel: String,
    href: Url,
}

#[derive(Debug, Deserialize)]
struct NodeInfo {
    software: Software,
}

#[derive(Debug, Deserialize)]
struct Software {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

/// The largest NodeInfo document (or link list) read; real ones are a few kilobytes.
const MAX_NODEINFO_BYTES: usize = 256 * 1024;

/// GETs a JSON document through the one outgoing client, which checks the URL and every
/// redirect and caps the body. It is signed like every other fetch, for servers that refuse
/// anonymous requests.
async fn get_json<T: serde::de::DeserializeOwned>(
    data: &Data<Cairn>,
    outbound: &Outbound,
    url: &Url,
) -> Result<T, String> {
    let fetched = outbound
        .get(url, "application/json", Some(data), MAX_NODEINFO_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&fetched.body).map_err(|e| format!("{url} is not NodeInfo: {e}"))
}

/// Reads a host's NodeInfo: its software name and version.
pub async fn nodeinfo(
    data: &Data<Cairn>,
    outbound: &Outbound,
    host: &str,
) -> Result<(String, Option<String>), String> {
    let scheme = if data.settings().https {
        "https"
    } else {
        "http"
    };
    let well_known = Url::parse(&format!("{scheme}://{host}/.well-known/nodeinfo"))
        .map_err(|e| e.to_string())?;
    let links: Links = get_json(data, outbound, &well_known).await?;
    let link = links
        .links
        .iter()
        .filter(|l| {
            l.rel
                .starts_with("http://nodeinfo.diaspora.software/ns/schema/2.")
        })
        .max_by(|a, b| a.rel.cmp(&b.rel))
        .ok_or_else(|| format!("{host} links no NodeInfo 2.x document"))?;
    if link.href.host_str() != well_known.host_str() {
        return Err(format!("{host} links NodeInfo on another host"));
    }
    let info: NodeInfo = get_json(data, outbound, &link.href).await?;
    Ok((
        info.software.name.to_ascii_lowercase(),
        info.software.version,
    ))
}

/// Reads the NodeInfo of instances not yet (or not recently) read, every minute.
pub async fn run(config: FederationConfig<Cairn>, outbound: Outbound) {
    let data = config.to_request_data();
    loop {
        let stale = db_now() - chrono::Duration::days(1);
        let hosts = data
            .db()
            .run(move |conn| InstanceRow::needing_nodeinfo(conn, stale, 20))
            .await
            .unwrap_or_default();
        for host in hosts {
            let (software, version) = match nodeinfo(&data, &outbound, &host).await {
                Ok(found) => (Some(found.0), found.1),
                Err(e) => {
                    tracing::debug!(%host, error = %e, "cannot read NodeInfo");
                    // Remember the attempt, so an instance without NodeInfo is not asked again
                    // for a day; unknown software gets everything, as threadiverse servers do.
                    (None, None)
                }
            };
            let h = host.clone();
            if let Err(e) = data
                .db()
                .run(move |conn| {
                    InstanceRow::set_software(
                        conn,
                        &h,
                        software.as_deref(),
                        version.as_deref(),
                        db_now(),
                    )
                })
                .await
            {
                tracing::warn!(%host, error = %e, "cannot record instance software");
            }
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_software() {
        assert!(is_microblog("mastodon"));
        assert!(is_microblog("Akkoma"));
        assert!(is_microblog("gotosocial"));
        assert!(!is_microblog("lemmy"));
        assert!(!is_microblog("mbin"));
        assert!(!is_microblog("cairn"));
        assert!(!is_microblog("piefed"));
    }
}
