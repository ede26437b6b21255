//! Per-address rate limits for the endpoints that attract abuse: sign-up and sign-in.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::StatusCode;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Limits, set from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Sign-ups allowed per address per hour.
    pub register_per_hour: u32,
    /// Sign-in attempts allowed per address per minute.
    pub login_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            register_per_hour: 10,
            login_per_minute: 20,
        }
    }
}

/// The limiters, shared by all requests of one instance.
#[derive(Clone)]
pub struct Limiters {
    register: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    login: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limiters {
    /// Builds limiters; a limit of 0 is treated as 1.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            register: Arc::new(RateLimiter::keyed(Quota::per_hour(nonzero(
                limits.register_per_hour,
            )))),
            login: Arc::new(RateLimiter::keyed(Quota::per_minute(nonzero(
                limits.login_per_minute,
            )))),
        }
    }

    /// Counts a sign-up from `ip`, refusing it when over the limit.
    pub fn check_register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.register
            .check_key(&ip)
            .map_err(|_| too_many("sign-ups"))
    }

    /// Counts a sign-in attempt from `ip`, refusing it when over the limit.
    pub fn check_login(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.login
            .check_key(&ip)
            .map_err(|_| too_many("sign-in attempts"))
    }
}

fn too_many(what: &str) -> ApiError {
    ApiError::http(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many {what} from your address; wait a while and try again."),
    )
}
