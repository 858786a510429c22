//! The Hearth server: HTTP API, configuration and process lifecycle.
//!
//! Data flow of a write: a handler in [`api`] parses the request into validated values,
//! resolves ids through [`api::access`] (so invisible objects are 404), checks
//! [`hearth_core::permission`], and calls the [`hearth_core::store::Store`]; the store
//! commits the change and its events in one transaction; the handler converts the result
//! with [`convert`] into hearth-proto's wire types.

pub mod api;
pub mod app;
pub mod auth;
pub mod backend;
pub mod config;
pub mod convert;
pub mod error;
pub mod extract;
pub mod files;
pub mod gateway;
pub mod maintenance;
pub mod memo;
pub mod migrate_data;
pub mod notify;
pub mod sending;
pub mod state;
pub mod web;

pub use app::{router, run};
pub use state::{AppState, Settings};

/// The cores this process may run on (2 if the system cannot say): the hub's shards,
/// the password hashers' concurrency and the notification workers' idea of busy
/// scale with it.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
