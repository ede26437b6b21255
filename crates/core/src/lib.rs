//! Cairn's domain: validated types, permission rules and the use cases every front end calls.
//!
//! This crate knows nothing of HTTP or ActivityPub. Use cases take a [`Cairn`] handle and plain
//! inputs, check them, apply them through `cairn-storage` in one transaction and return domain
//! types from [`model`].

pub mod accounts;
pub mod clients;
pub mod comments;
pub mod communities;
mod context;
pub mod crypto;
mod error;
pub mod events;
pub mod facts;
pub mod follows;
pub mod health;
pub mod inbound;
pub mod limits;
pub mod markdown;
pub mod model;
pub mod people;
pub mod posts;
pub mod ranking;
pub mod remote;
pub mod sessions;
mod settings;
pub mod site;
mod urls;
pub mod validate;
pub mod votes;

pub use context::{Cairn, Capacity, SlowWork, default_crypto_concurrency};
pub use error::{CoreError, CoreResult};
pub use settings::{InstanceSettings, RegistrationMode};
pub use urls::Urls;
