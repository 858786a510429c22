//! The `Store` conformance suite from `hearth_core::testing`, run on SQLite: every test
//! gets a fresh database file in its own temporary directory, removed when it ends.

use hearth_core::testing::TestStore;
use hearth_sqlite::{SqliteOptions, SqliteStore};

hearth_core::store_conformance_tests!(async {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("hearth.db");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("open a fresh SQLite store");
    TestStore::new(store).keeping(dir)
});
