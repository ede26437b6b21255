//! Rate limits at the HTTP edge: who the client is, and the extractor every write handler
//! takes. The limiters themselves live in core (`cairn_core::limits`), in the `Cairn` context.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use cairn_core::limits::{Action, Limited};
use cairn_core::model::AuthUser;

use crate::error::ApiError;
use crate::extract::Auth;
use crate::state::ApiState;

pub use cairn_core::clients::ClientAddresses;

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
    state
        .ctx
        .clients()
        .client(peer, forwarded_for(&parts.headers))
}

/// The values of the `X-Forwarded-For` headers, in order.
pub fn forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
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
