//! Throwaway databases for tests (feature `testing`): each test gets an empty database of
//! its own on a shared server, so tests run in parallel without seeing each other's rows,
//! and the database is dropped when the test is done with it.
//!
//! Also the two ways a search with words and `in:` or `from:` can be written
//! ([`Shape`], see the `search` module), so a test can run each one and see which the
//! planner picks.
//!
//! The server is the one at `HEARTH_TEST_POSTGRES` (a URL whose user may create
//! databases), by default `postgres://postgres@127.0.0.1:5432/postgres`.

use std::str::FromStr;
use std::time::Duration;

use hearth_core::id::WorkspaceId;
use hearth_core::store::{SearchHit, SearchRequest, StoreResult};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection};

use crate::PgStore;
use crate::error::db;
use crate::search;
pub use crate::search::Shape;

/// The server tests use when `HEARTH_TEST_POSTGRES` is not set.
const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// SQLSTATE object_in_use: `CREATE DATABASE` copies `template1` and refuses while another
/// session is connected to it, which a neighbouring test or tool may briefly be.
const OBJECT_IN_USE: &str = "55006";

/// A fresh, empty, uniquely named database (`hearth_test_<random>`), dropped with
/// `DROP DATABASE ... WITH (FORCE)` when this value is dropped. Keep it alive for as long
/// as anything uses [`url`](Self::url), e.g. with `TestStore::keeping`.
pub struct ScratchDatabase {
    name: String,
    url: String,
    /// The server's maintenance database, where the scratch database is created and
    /// dropped from.
    admin: PgConnectOptions,
}

impl ScratchDatabase {
    /// Creates the database. Panics when the server cannot be reached or refuses: a test
    /// that needs PostgreSQL cannot run without it.
    pub async fn create() -> ScratchDatabase {
        let server = server_url();
        let admin = PgConnectOptions::from_str(&server)
            .unwrap_or_else(|e| panic!("HEARTH_TEST_POSTGRES={server:?} is not a URL: {e}"));
        // An id's 26 characters after its kind letter: time-ordered and random, and in
        // lowercase a name that needs no quoting.
        let id = WorkspaceId::generate();
        let name = format!("hearth_test_{}", id.as_str()[1..].to_ascii_lowercase());

        let mut conn = admin
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting to the test server {server}: {e}"));
        create_database(&mut conn, &name)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        // Closing is only politeness; the database exists either way.
        let _ = conn.close().await;

        let url = admin.clone().database(&name).to_url_lossy().to_string();
        ScratchDatabase { name, url, admin }
    }

    /// The database's URL, for `PgStore::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    /// Drop is synchronous, and may run on a runtime's worker, where blocking on another
    /// future of that runtime would panic; so the `DROP DATABASE` runs on a thread of its
    /// own with its own runtime, and this waits for it so that the database is gone when
    /// the test ends. `WITH (FORCE)` ends connections a pool has not closed yet.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), std::mem::take(&mut self.name));
        let dropping = std::thread::spawn(move || -> Result<(), sqlx::Error> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = admin.connect().await?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                conn.execute(AssertSqlSafe(sql)).await?;
                conn.close().await
            })
        });
        // Report rather than panic: panicking in a drop while a failed test unwinds would
        // abort the whole test binary and hide the failure.
        match dropping.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.url),
            Err(_) => eprintln!("dropping test database {} panicked", self.url),
        }
    }
}

impl PgStore {
    /// The shape `request` would run in: for words with `in:` or `from:`, the one the
    /// planner costs lower on the data as it is now.
    pub async fn search_shape(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
    ) -> StoreResult<Shape> {
        let mut tx = self.snapshot().await?;
        let by_pairs = self.by_pairs(&mut tx).await?;
        let shape = search::shape_for(&mut tx, ws, request, by_pairs).await?;
        tx.commit().await.map_err(db)?;
        Ok(shape)
    }

    /// `request`'s page run in `shape`, whatever the planner would pick.
    pub async fn search_in_shape(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
        shape: Shape,
    ) -> StoreResult<Vec<SearchHit>> {
        let mut tx = self.snapshot().await?;
        let by_pairs = self.by_pairs(&mut tx).await?;
        let hits = search::search_in_shape(&mut tx, ws, request, shape, by_pairs).await?;
        tx.commit().await.map_err(db)?;
        Ok(hits)
    }

    /// `request`'s page with phrases found by word pairs or not, whatever the store would
    /// do now.
    pub async fn search_by_pairs(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
        by_pairs: bool,
    ) -> StoreResult<Vec<SearchHit>> {
        let mut tx = self.snapshot().await?;
        let hits = search::search_messages(&mut tx, ws, request, by_pairs).await?;
        tx.commit().await.map_err(db)?;
        Ok(hits)
    }
}

fn server_url() -> String {
    // `var_os`: the server's configuration never comes from the environment directly
    // (clippy.toml), but a test's database server does.
    match std::env::var_os("HEARTH_TEST_POSTGRES") {
        Some(url) => url
            .into_string()
            .unwrap_or_else(|url| panic!("HEARTH_TEST_POSTGRES={url:?} is not UTF-8")),
        None => DEFAULT_SERVER.to_owned(),
    }
}

/// `CREATE DATABASE`, retried for a few seconds while `template1` is in use.
async fn create_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let mut attempts = 0;
    loop {
        let sql = format!("CREATE DATABASE {name}");
        match conn.execute(AssertSqlSafe(sql)).await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some(OBJECT_IN_USE) && attempts < 50 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
