//! Rate limits at the HTTP edge: who the client is, and the extractor every write handler
//! takes. The limiters themselves live in core (`cairn_core::limits`), in the `Cairn` context.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use cairn_core::limits::{Action, Limited};
use cairn_core::model::AuthUser;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::extract::Auth;
use crate::state::ApiState;

/// How the client's address is found: the proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct ClientAddresses {
    /// Networks of reverse proxies in front of Cairn.
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientAddresses {
    fn trusted(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.trusted_proxies.iter().any(|n| n.contains(&addr))
    }

    /// The client's address: the socket peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of
    /// that one were written by the client and prove nothing, so they are never used.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in entries.iter().rev() {
            let Some(addr) = parse_forwarded(entry) else {
                // An entry that is not an address cannot be attributed; stop at the proxy.
                return peer;
            };
            if !self.trusted(addr) {
                return addr;
            }
        }
        peer
    }
}

/// An IPv4 address mapped into IPv6 (as a dual-stack socket reports it) as plain IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// The client's address, as [`ClientAddresses::client`] finds it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    ApiState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = ApiState::from_ref(state);
        Ok(ClientAddr(client_addr(&state, parts)))
    }
}

/// The client's address of a request; without a socket address (never in the server, which
/// serves with connect info) the unspecified address, which all such requests share.
pub(crate) fn client_addr(state: &ApiState, parts: &Parts) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    state.clients.client(peer, &parts.headers)
}

/// A kind of write, for [`Write`].
pub trait WriteKind {
    /// The limit the write counts against.
    const ACTION: Action;
}

macro_rules! write_kinds {
    ($($(#[$doc:meta])* $name:ident => $action:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;
            impl WriteKind for $name {
                const ACTION: Action = Action::$action;
            }
        )*
    };
}

write_kinds! {
    /// Creating a post.
    Posting => Post,
    /// Creating a comment.
    Commenting => Comment,
    /// Voting.
    Voting => Vote,
    /// Creating a community.
    Founding => Community,
    /// Joining, leaving, following and unfollowing.
    Following => Follow,
    /// Editing, deleting, moderating and changing a profile.
    Editing => Edit,
}

/// The signed-in user of a write, counted against the limit of `K` for the account and for
/// the client's address; over either, the request answers 429 with `Retry-After`.
#[derive(Debug)]
pub struct Write<K>(pub AuthUser, pub PhantomData<K>);

impl<S, K> FromRequestParts<S> for Write<K>
where
    S: Send + Sync,
    ApiState: FromRef<S>,
    K: WriteKind,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let api = ApiState::from_ref(state);
        let Auth(user) = Auth::from_request_parts(parts, &api).await?;
        let addr = client_addr(&api, parts);
        api.ctx
            .limits()
            .check_write(K::ACTION, user.person_id, addr)?;
        Ok(Write(user, PhantomData))
    }
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        ApiError::Limited(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let c = ClientAddresses {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        let h = forwarded("6.6.6.6, 203.0.113.5, 10.1.1.1");
        // From the proxy: the right-most entry that is not a proxy, not what the client wrote.
        assert_eq!(c.client(ip("10.0.0.2"), &h), ip("203.0.113.5"));
        assert_eq!(c.client(ip("::ffff:10.0.0.2"), &h), ip("203.0.113.5"));
        // From anyone else: the header is ignored.
        assert_eq!(c.client(ip("198.51.100.7"), &h), ip("198.51.100.7"));
        // A proxy without the header, or with garbage, is the client itself.
        assert_eq!(c.client(ip("::1"), &HeaderMap::new()), ip("::1"));
        assert_eq!(c.client(ip("::1"), &forwarded("unknown")), ip("::1"));
        assert_eq!(
            c.client(ip("::1"), &forwarded("[2001:db8::7]:443")),
            ip("2001:db8::7")
        );
    }
}
