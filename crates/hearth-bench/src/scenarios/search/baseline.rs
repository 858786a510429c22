//! The baseline: the raw index lookup of the same words on the same database, without
//! HTTP, visibility or ranking.

use super::*;

/// One reader's lookups.
#[derive(Default)]
struct Lookups {
    latency: Latency,
    count: u64,
    empty: u64,
}

pub(super) async fn baseline(
    backend: &Backend,
    words: &[String],
    args: &SearchArgs,
) -> anyhow::Result<BaselineReport> {
    let words = Arc::new(words.to_vec());
    let issued = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for reader in 0..args.readers {
        let (backend, words, issued) = (backend.clone(), words.clone(), issued.clone());
        let cap = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0xBA5E_0000 ^ (reader as u64 + 1));
            let mut out = Lookups::default();
            let more = || Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < cap;
            match backend {
                Backend::Sqlite(path) => {
                    let mut conn = sqlite_reader(&path).await?;
                    while more() {
                        let word = &words[rng.below(words.len())];
                        let expr = format!("terms : \"{word}\"");
                        let sent = Instant::now();
                        let rows: Vec<i64> = sqlx::query_scalar(
                            "SELECT rowid FROM message_search WHERE message_search MATCH ? \
                             ORDER BY rowid DESC LIMIT 20",
                        )
                        .bind(expr)
                        .fetch_all(&mut conn)
                        .await?;
                        out.latency.record(sent.elapsed());
                        out.count += 1;
                        out.empty += u64::from(rows.is_empty());
                    }
                    conn.close().await?;
                }
                Backend::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(&url).await?;
                    // The generated database holds one workspace; scoped to it, as every
                    // query of the server is, the planner can walk its newest messages.
                    let ws: String = sqlx::query_scalar("SELECT id FROM workspaces LIMIT 1")
                        .fetch_one(&mut conn)
                        .await?;
                    while more() {
                        let word = &words[rng.below(words.len())];
                        let tsquery = format!("'{word}':A");
                        let sent = Instant::now();
                        let rows: Vec<String> = sqlx::query_scalar(
                            "SELECT id FROM messages WHERE workspace_id = $1 \
                             AND search_vector @@ $2::tsquery ORDER BY seq DESC LIMIT 20",
                        )
                        .bind(&ws)
                        .bind(tsquery)
                        .fetch_all(&mut conn)
                        .await?;
                        out.latency.record(sent.elapsed());
                        out.count += 1;
                        out.empty += u64::from(rows.is_empty());
                    }
                    conn.close().await?;
                }
            }
            anyhow::Ok(out)
        }));
    }
    let mut total = Lookups::default();
    for task in tasks {
        let one = task.await.context("a baseline reader panicked")??;
        total.latency.merge(&one.latency);
        total.count += one.count;
        total.empty += one.empty;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let storage = match backend {
        Backend::Sqlite(_) => {
            "raw FTS5 MATCH 'terms : \"word\"' newest 20 on the same file, one read-only \
             connection per reader"
        }
        Backend::Postgres(_) => {
            "raw search_vector @@ 'word':A in the workspace, newest 20 (ORDER BY seq) on the \
             same database, one connection per reader"
        }
    };
    Ok(BaselineReport {
        storage: storage.to_owned(),
        readers: args.readers,
        lookups: total.count,
        lookups_per_s: total.count as f64 / elapsed,
        empty: total.empty,
        latency: total.latency.summary(),
    })
}
