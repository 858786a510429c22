//! Scratch PostgreSQL databases: a fresh, empty database for one run's servers (or for the
//! storage baseline), created on a PostgreSQL server the caller names and dropped at the
//! end, so a run never sees another run's rows and leaves nothing behind.
//!
//! The name is unique per process and moment (`hearth_bench_<label>_<pid>_<nanos>`), so
//! runs on a shared server, and the tests' own scratch databases, never collide.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection};

/// The local server `--postgres` uses when given no URL (trust authentication).
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// SQLSTATE object_in_use: `CREATE DATABASE` copies `template1` and refuses while another
/// session is connected to it, which a neighbouring test may briefly be.
const OBJECT_IN_USE: &str = "55006";

/// A database this tool created. Drop it with [`ScratchDatabase::drop_database`]; if a
/// run fails before that, dropping the value drops the database all the same.
pub struct ScratchDatabase {
    name: String,
    url: String,
    /// Where the database was created from, and is dropped from.
    admin: PgConnectOptions,
    dropped: bool,
}

impl ScratchDatabase {
    /// Creates `hearth_bench_<label>_...` on the server at `server_url` (any database of
    /// it; the user must be allowed to create databases).
    pub async fn create(server_url: &str, label: &str) -> anyhow::Result<Self> {
        let admin = PgConnectOptions::from_str(server_url)
            .with_context(|| format!("{server_url:?} is not a PostgreSQL URL"))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("hearth_bench_{label}_{}_{nanos}", std::process::id());
        let mut conn = admin
            .connect()
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redacted(&admin)))?;
        create_database(&mut conn, &name)
            .await
            .with_context(|| format!("creating the scratch database {name}"))?;
        let _ = conn.close().await;
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Ok(Self {
            name,
            url,
            admin,
            dropped: false,
        })
    }

    /// The database's URL, for `hearth serve --database` or a connection of our own.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending any connection still open to it (a server just killed
    /// may not have closed its pool yet). A failure is reported, not returned: the run's
    /// figures are already out.
    pub async fn drop_database(mut self) {
        self.dropped = true;
        if let Err(e) = drop_database(&self.admin, &self.name).await {
            eprintln!("could not drop the scratch database {}: {e:#}", self.name);
        }
    }
}

impl Drop for ScratchDatabase {
    /// The fallback for a run that failed before [`ScratchDatabase::drop_database`]. Drop
    /// is synchronous and may run on a runtime worker, where blocking on that runtime
    /// would panic, so the `DROP DATABASE` runs on a thread with a runtime of its own.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin, name) = (self.admin.clone(), std::mem::take(&mut self.name));
        let dropping = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_database(&admin, &name))
        });
        match dropping.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop a scratch database: {e:#}"),
            Err(_) => eprintln!("dropping a scratch database panicked"),
        }
    }
}

/// The server's address without its password, for messages.
fn redacted(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// `CREATE DATABASE`, retried for a few seconds while `template1` is in use.
async fn create_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let mut attempts = 0;
    loop {
        // The name is ours: lowercase letters, digits and underscores, no quoting needed.
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

async fn drop_database(admin: &PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let mut conn = admin.connect().await?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    conn.execute(AssertSqlSafe(sql)).await?;
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scratch_database_is_usable_and_gone_after_the_drop() {
        let db = ScratchDatabase::create(DEFAULT_SERVER, "test")
            .await
            .unwrap();
        let name = db.name().to_owned();
        let mut conn = PgConnection::connect(db.url()).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
        conn.close().await.unwrap();
        db.drop_database().await;

        let mut admin = PgConnection::connect(DEFAULT_SERVER).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert_eq!(left, 0, "{name} is still there");
    }
}
