//! Cairn's HTTP front for people and apps: the JSON API under /api/v1 (with its OpenAPI
//! document) and the HTML pages.
//!
//! Handlers are thin: extract, call one `cairn-core` use case, convert to a DTO or a template.
//! This crate never touches the database or ActivityPub.

pub mod dto;
mod error;
mod extract;
mod ratelimit;
mod state;
mod v1;
pub mod web;

pub use error::{ApiError, ApiResult, ErrorBody};
pub use ratelimit::ClientAddresses;
pub use state::ApiState;
pub use v1::{ApiDoc, routes as api_routes};
