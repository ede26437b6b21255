//! End-to-end tests: real instances on loopback, driven over HTTP, on SQLite and PostgreSQL.

mod accounts;
mod activitypub;
mod backfill;
mod communities;
mod delivery;
mod fixtures;
mod golden;
mod health;
mod inbox;
mod limits;
mod migrations;
mod outbound;
mod outbox;
mod people;
mod posts;
mod processes;
mod relay;
mod remote;
mod sessions;
mod smoke;
mod threads;
mod web;
