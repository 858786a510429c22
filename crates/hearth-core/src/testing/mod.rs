//! The `Store` conformance suite (feature `testing`): one set of behavioural tests that
//! every backend runs, so SQLite and PostgreSQL behave the same.
