//! The state API handlers share.

use axum::extract::FromRef;
use cairn_core::Cairn;

/// Shared state of the API and web routers.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The domain handle.
    pub ctx: Cairn,
    /// The versioned URLs of the web interface's stylesheet and script.
    pub assets: crate::web::AssetUrls,
}

impl ApiState {
    /// Builds the state.
    pub fn new(ctx: Cairn) -> Self {
        Self {
            ctx,
            assets: crate::web::AssetUrls::new(),
        }
    }
}

impl FromRef<ApiState> for Cairn {
    fn from_ref(s: &ApiState) -> Cairn {
        s.ctx.clone()
    }
}
