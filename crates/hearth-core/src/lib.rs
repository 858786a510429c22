//! Hearth's domain, free of I/O.
//!
//! Everything a backend or the server needs to agree on lives here: opaque [`id`]s,
//! validated values that can only be built by parsing ([`value`]), the domain [`model`],
//! who may do what ([`permission`]), how message text references people ([`mention`]),
//! who is notified of what ([`notify`]),
//! opaque pagination [`cursor`]s, the durable [`event`] log's vocabulary, secrets
//! ([`secret`]), full-text [`search`] (query language, tokenizer, snippets), and the [`store`] port that the SQLite and PostgreSQL backends implement.
//!
//! With the `testing` feature, [`testing`] holds the conformance suite every backend runs.

pub mod cursor;
pub mod event;
pub mod id;
pub mod mention;
pub mod model;
pub mod notify;
pub mod permission;
pub mod search;
pub mod secret;
pub mod store;
pub mod time;
pub mod value;

#[cfg(feature = "testing")]
pub mod testing;

pub use time::Timestamp;
