//! The state API handlers share.

use axum::extract::FromRef;
use cairn_core::Cairn;

use crate::ratelimit::{Limiters, RateLimits};

/// Shared state of the API and web routers.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The domain handle.
    pub ctx: Cairn,
    /// Rate limiters.
    pub limits: Limiters,
    /// The versioned URLs of the web interface's stylesheet and script.
    pub assets: crate::web::AssetUrls,
}

impl ApiState {
    /// Builds the state.
    pub fn new(ctx: Cairn, limits: RateLimits) -> Self {
        Self {
            ctx,
            limits: Limiters::new(limits),
            assets: crate::web::AssetUrls::new(),
        }
    }
}

impl FromRef<ApiState> for Cairn {
    fn from_ref(s: &ApiState) -> Cairn {
        s.ctx.clone()
    }
}
