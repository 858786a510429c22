//! The `Store` conformance suite from `hearth_core::testing`, run on PostgreSQL: every test
//! gets a fresh database of its own on the test server (see `ScratchDatabase`), dropped
//! when it ends. Pools stay small because all the tests share the server's connections.

use hearth_core::testing::TestStore;
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};

hearth_core::store_conformance_tests!(async {
    let db = ScratchDatabase::create().await;
    let options = PgOptions {
        max_connections: 4,
        ..Default::default()
    };
    let store = PgStore::connect(db.url(), options)
        .await
        .expect("connect to a fresh PostgreSQL database");
    TestStore::new(store).keeping(db)
});
