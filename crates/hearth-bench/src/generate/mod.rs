//! `generate`: fills a server data directory with a realistic workspace fast, for the
//! history and search scenarios and for timing `hearth migrate-data`.
//!
//! Posting through the API is fsync-bound (about a thousand messages a second), so ten
//! million messages would take hours. Instead:
//! 1. the real server starts on the new data directory and, over the API, creates the
//!    workspace, its owner (a real session and password hash), one channel and one
//!    message, so the schema, migrations and seed rows are the server's own;
//! 2. the server stops and the rest is written straight into its SQLite database with
//!    Hearth's schema ([`sqlite`]): users (sharing the owner's password), channels of
//!    long-tailed sizes, memberships, messages with realistic text, thread replies and
//!    reactions, each with the event the server would have logged ([`workspace`]);
//! 3. the server starts again on the result, and the latest page of a sample of channels
//!    is read over the API and checked against what was generated.
//!
//! `manifest.json` in the directory records the owner's session and each channel's
//! top-level message count and newest seq, so `history --data DIR` can check every page.
//! Channel creations and joins are written as rows without their log events, as after the
//! log was pruned, and so are the events of messages older than `--event-days` (the
//! server's retention); a client resuming from before what is kept gets a resync.

mod sqlite;
pub mod text;
mod workspace;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::api::{Account, Api};
use crate::progress;
use crate::server::ServerProcess;
use sqlite::{Db, Ids};
use text::Rng;
use workspace::Stream;

/// Messages written per transaction.
const CHUNK: u64 = 50_000;
/// Channels whose latest page is checked after generating.
const CHECKED_CHANNELS: usize = 20;
/// The manifest's file name in the data directory.
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The data directory to create; it must not hold a database yet.
    #[arg(long)]
    pub out: PathBuf,
    /// Messages to generate (thread replies included).
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Accounts in the workspace, the owner included.
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Public channels (the first holds everyone).
    #[arg(long, default_value_t = 1_000)]
    pub channels: usize,
    /// Days the history spans, ending now.
    #[arg(long, default_value_t = 365)]
    pub days: u64,
    /// Days of events the log keeps (the server's `--event-retention-days`): older
    /// messages are written as if their events had already been pruned.
    #[arg(long, default_value_t = 7)]
    pub event_days: u64,
    /// Seed of the random choices: the same seed gives the same workspace shape and text.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// What `history --data` needs to know of a generated directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub workspace_slug: String,
    pub owner_user_id: String,
    pub owner_token: String,
    pub messages: u64,
    pub replies: u64,
    pub reactions: u64,
    pub users: usize,
    pub channels: Vec<ChannelFacts>,
    pub generate_seconds: f64,
}

/// One channel's top-level messages: how many, and the newest one's seq.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelFacts {
    pub id: String,
    pub top_level: u64,
    pub last_seq: i64,
}

impl Manifest {
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (make it with `hearth-bench generate --out {}`)",
                path.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn owner(&self) -> Account {
        Account {
            user_id: self.owner_user_id.clone(),
            token: self.owner_token.clone(),
        }
    }
}

pub async fn run(bin: &Path, server_args: &[String], args: &GenerateArgs) -> anyhow::Result<()> {
    if args.users < 3 || args.channels == 0 || args.messages == 0 {
        bail!("generate needs at least 3 users, 1 channel and 1 message");
    }
    let db_path = args.out.join("hearth.db");
    if db_path.exists() {
        bail!(
            "{} already exists: generate into a new directory",
            db_path.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();

    eprintln!("seeding {} through the server", args.out.display());
    let target = ServerProcess::start_hearth_in(bin, &args.out, server_args).await?;
    let api = Api::new(&target.base_url)?;
    let (slug, owner) = api.create_workspace("generated").await?;
    let general = api.create_channel(&owner, "general").await?;
    let first = api
        .post_message_stored(&owner, &general, "Welcome!".into(), "generate-0".into())
        .await?;
    target.stop().await;

    let mut db = Db::open(&db_path).await?;
    let seed = db.seed().await?;
    let mut rng = Rng::new(args.seed);
    let end_ms = now_millis() - 60_000;
    let start_ms = end_ms - args.days as i64 * 86_400_000;

    let mut user_rows = workspace::users(args.users - 1, start_ms, &mut rng);
    let mut channel_rows = workspace::channels(args.channels - 1, start_ms, &mut rng);
    let mut user_ids = vec![seed.owner_id.clone()];
    user_ids.extend(user_rows.iter().map(|u| u.id.clone()));
    let mut channel_ids = vec![seed.first_channel_id.clone()];
    channel_ids.extend(channel_rows.iter().map(|c| c.id.clone()));
    let ids = Ids {
        workspace: &seed.workspace_id,
        users: &user_ids,
        channels: &channel_ids,
    };
    seed.check_payload_shape(&ids)?;
    let members = workspace::members(args.channels, args.users, 0, &mut rng);
    // The owner's membership of the seed channel exists already.
    let pairs: Vec<(usize, usize)> = members
        .iter()
        .enumerate()
        .flat_map(|(c, m)| m.iter().map(move |&u| (c, u)))
        .filter(|&pair| pair != (0, 0))
        .collect();
    let first_seq = seed.last_seq + 1;

    db.begin().await?;
    db.backdate_seed(start_ms).await?;
    db.insert_users(&seed, &user_rows, "generated.example")
        .await?;
    db.insert_channels(&seed, &channel_rows).await?;
    db.insert_members(&ids, &pairs, 0, first_seq, start_ms)
        .await?;
    db.commit().await?;
    user_rows.clear();
    channel_rows.clear();
    eprintln!(
        "{} users, {} channels, {} memberships; writing {} messages",
        args.users,
        args.channels,
        pairs.len() + 1,
        args.messages
    );

    // Events are spread evenly over the span; reactions take seqs too (about 5 %).
    let step_ms = (end_ms - start_ms) as f64 / (args.messages as f64 * 1.06);
    let mut stream = Stream::new(rng, members, first_seq, start_ms, step_ms);
    let events_from = end_ms - args.event_days as i64 * 86_400_000;
    let (mut written, mut replies, mut reactions) = (0u64, 0u64, 0u64);
    let mut next_report = 0;
    let bar = progress::bar(args.messages, "generating");
    while written < args.messages {
        let (messages, reacted) = stream.chunk(CHUNK.min(args.messages - written));
        db.begin().await?;
        db.insert_messages(&ids, &messages, events_from).await?;
        db.insert_reactions(&ids, &reacted, events_from).await?;
        db.commit().await?;
        written += messages.len() as u64;
        replies += messages
            .iter()
            .filter(|m| m.thread_root_id.is_some())
            .count() as u64;
        reactions += reacted.len() as u64;
        bar.inc(messages.len() as u64);
        let percent = written * 100 / args.messages;
        if percent >= next_report && !progress::drawn(&bar) {
            let rate = written as f64 / started.elapsed().as_secs_f64();
            eprintln!("  {written} messages ({percent} %, {rate:.0}/s)");
            next_report = percent + 10;
        }
    }
    bar.finish_and_clear();
    let roots: Vec<(String, i64, i64)> = stream
        .replies
        .iter()
        .map(|(id, &(count, last))| (id.clone(), count, last))
        .collect();
    db.begin().await?;
    db.set_replies(&ids, &roots).await?;
    db.commit().await?;
    let channel_last: Vec<i64> = stream.tallies.iter().map(|t| t.last_seq).collect();
    db.finish(&ids, stream.next_seq - 1, &channel_last, events_from)
        .await?;

    let mut channels: Vec<ChannelFacts> = channel_ids
        .iter()
        .zip(&stream.tallies)
        .map(|(id, t)| ChannelFacts {
            id: id.clone(),
            top_level: t.top_level,
            last_seq: t.last_seq,
        })
        .collect();
    // The seed message is the first channel's oldest.
    channels[0].top_level += 1;
    channels[0].last_seq = channels[0].last_seq.max(first.seq);
    let manifest = Manifest {
        workspace_slug: slug,
        owner_user_id: owner.user_id.clone(),
        owner_token: owner.token.clone(),
        messages: args.messages + 1,
        replies,
        reactions,
        users: args.users,
        channels,
        generate_seconds: started.elapsed().as_secs_f64(),
    };
    verify(bin, server_args, &args.out, &manifest).await?;
    let text = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(args.out.join(MANIFEST), text + "\n")?;
    println!(
        "generated {} messages ({} thread replies, {} reactions) by {} users in {} channels \
         in {:.1} s ({:.0} messages/s) into {}",
        manifest.messages,
        replies,
        reactions,
        args.users,
        args.channels,
        manifest.generate_seconds,
        manifest.messages as f64 / manifest.generate_seconds,
        args.out.display()
    );
    Ok(())
}

/// Starts the server on the generated directory and checks the latest page of the
/// busiest channels and of a few quiet ones against the manifest.
async fn verify(
    bin: &Path,
    server_args: &[String],
    dir: &Path,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    let target = ServerProcess::start_hearth_in(bin, dir, server_args).await?;
    let api = Api::new(&target.base_url)?;
    let owner = manifest.owner();
    let mut sample: Vec<&ChannelFacts> = manifest.channels.iter().collect();
    sample.sort_by_key(|c| std::cmp::Reverse(c.top_level));
    let quiet = sample.split_off(sample.len().min(CHECKED_CHANNELS / 2));
    sample.extend(quiet.iter().rev().take(CHECKED_CHANNELS / 2));
    let mut result = Ok(());
    for channel in sample {
        let page = api.latest_messages(&owner, &channel.id, 50).await;
        let checked = page.and_then(|page| {
            crate::scenarios::history::check_page(&page, &channel.id, channel.into())
                .map_err(anyhow::Error::msg)
        });
        if let Err(e) = checked {
            result = Err(e.context(format!("channel {} after generating", channel.id)));
            break;
        }
    }
    target.stop().await;
    result
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
