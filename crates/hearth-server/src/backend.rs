//! Opening the store a node runs on, chosen at run time from the database URL: both
//! backends are compiled into every binary.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_core::store::Store;
use hearth_postgres::{PgOptions, PgStore};
use hearth_sqlite::{SqliteOptions, SqliteStore, Synchronous};

use crate::config::{Database, ServeConfig, SqliteSync};

/// An open store, kept by its concrete type so it can be closed cleanly at shutdown.
pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// Opens (creating or migrating as needed) the database `config` names.
    pub async fn open(config: &ServeConfig) -> anyhow::Result<Self> {
        match config.database()? {
            Database::Sqlite(path) => open_sqlite(&path, config).await,
            Database::Postgres(url) => {
                let options = PgOptions {
                    max_connections: config.db_max_connections,
                    acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms),
                };
                let store = PgStore::connect(&url, options)
                    .await
                    .context("connecting to PostgreSQL")?;
                Ok(Backend::Postgres(Arc::new(store)))
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(store) => store.clone(),
            Backend::Postgres(store) => store.clone(),
        }
    }

    /// Where the data lives, for the log (never a password).
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite(_) => "SQLite".to_owned(),
            Backend::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }

    /// Finishes queued writes and closes every connection.
    pub async fn close(&self) {
        match self {
            Backend::Sqlite(store) => store.close().await,
            Backend::Postgres(store) => store.close().await,
        }
    }
}

async fn open_sqlite(path: &Path, config: &ServeConfig) -> anyhow::Result<Backend> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let options = SqliteOptions {
        synchronous: match config.sqlite_synchronous {
            SqliteSync::Full => Synchronous::Full,
            SqliteSync::Normal => Synchronous::Normal,
        },
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(path, options)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    Ok(Backend::Sqlite(Arc::new(store)))
}
