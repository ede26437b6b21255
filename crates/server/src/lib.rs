//! The `cairn` server: configuration, command line and wiring. Tests use [`app::start`] to run
//! real instances in-process.

pub mod app;
pub mod cli;
pub mod config;
pub mod health;
pub mod inspect;
pub mod metrics;

pub use config::{Config, ConfigError, Validated};
