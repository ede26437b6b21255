//! The state API handlers share.

use axum::extract::FromRef;
use cairn_core::Cairn;

use crate::ratelimit::ClientAddresses;

/// Shared state of the API and web routers.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The domain handle.
    pub ctx: Cairn,
    /// How the client's address is found, for the rate limits kept in `ctx`.
    pub clients: ClientAddresses,
    /// The versioned URLs of the web interface's stylesheet and script.
    pub assets: crate::web::AssetUrls,
}

impl ApiState {
    /// Builds the state.
    pub fn new(ctx: Cairn, clients: ClientAddresses) -> Self {
        Self {
            ctx,
            clients,
            assets: crate::web::AssetUrls::new(),
        }
    }
}

impl FromRef<ApiState> for Cairn {
    fn from_ref(s: &ApiState) -> Cairn {
        s.ctx.clone()
    }
}
