//! `history`: the latest page of a random channel's history in a filled workspace.
//!
//! First the workspace is filled with `--messages` messages round-robin over `--channels`
//! channels, as fast as `--fillers` concurrent REST posters go (the fill rate is reported
//! too). Then `--readers` clients each ask closed loop, for `--duration` seconds (and at
//! most `--requests` in all), for `GET /api/v1/channels/{id}/messages?limit=50` of a
//! random channel; each answer's time is recorded. Every page is checked: the right
//! number of messages (50, or all of a smaller channel), all of that channel, in strictly
//! increasing seq, ending at the newest message posted to it. A wrong page or a refused
//! request makes the run unclean.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures::{StreamExt, stream};
use serde::Serialize;
use tokio::time::Instant;

use crate::api::{Account, Api, Population};
use crate::client::client_msg_id;
use crate::scenarios::run_tag;
use crate::server::{LogSummary, ProcessMemory, Target};
use crate::stats::{Latency, LatencySummary};

/// The page size asked for.
const PAGE: u32 = 50;
/// Problems kept verbatim for the report.
const KEPT_ERRORS: usize = 10;

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Messages in the workspace.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Channels they are spread over, round-robin.
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    /// Concurrent REST posters filling the workspace.
    #[arg(long, default_value_t = 16)]
    pub fillers: usize,
    /// Concurrent readers, each asking closed loop.
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Seconds of reading.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// At most this many reads in all.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub messages: u64,
    pub channels: usize,
    pub fill_seconds: f64,
    pub fill_per_s: f64,
    pub fill_errors: u64,
    pub readers: usize,
    pub reads: u64,
    pub reads_per_s: f64,
    pub read_errors: u64,
    /// Pages with the wrong messages.
    pub wrong_pages: u64,
    /// From sending each request to its whole answer.
    pub latency: LatencySummary,
    pub first_errors: Vec<String>,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

impl HistoryReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "history on hearth: {} messages in {} channels, filled in {:.1} s \
                 ({:.0} msg/s, {} errors)",
                self.messages, self.channels, self.fill_seconds, self.fill_per_s, self.fill_errors
            ),
            format!(
                "reads: {} ({:.0}/s) by {} closed-loop readers of the latest {PAGE} | \
                 errors {} | wrong pages {} | {}",
                self.reads,
                self.reads_per_s,
                self.readers,
                self.read_errors,
                self.wrong_pages,
                if self.failures().is_empty() {
                    "OK"
                } else {
                    "NOT CLEAN"
                }
            ),
            format!("latest page: {}", self.latency),
        ];
        lines.extend(self.first_errors.iter().map(|e| format!("  error: {e}")));
        if let Some(m) = &self.server_memory {
            lines.push(format!(
                "server memory: RSS {} KiB (peak {} KiB)",
                m.rss_kib, m.peak_rss_kib
            ));
        }
        if let Some(log) = &self.server_log {
            lines.push(format!(
                "server log: {} warnings, {} errors",
                log.warnings, log.errors
            ));
            lines.extend(log.first_lines.iter().take(5).map(|l| format!("  {l}")));
        }
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.fill_errors > 0 {
            failures.push(format!("{} posts failed while filling", self.fill_errors));
        }
        if self.reads == 0 {
            failures.push("no read completed".to_owned());
        }
        if self.read_errors > 0 {
            failures.push(format!("{} reads failed", self.read_errors));
        }
        if self.wrong_pages > 0 {
            failures.push(format!("{} pages were wrong", self.wrong_pages));
        }
        failures
    }
}

/// What was posted to one channel: how many, and the newest seq.
#[derive(Debug, Clone, Copy, Default)]
struct Posted {
    count: u64,
    last_seq: i64,
}

/// A small xorshift generator: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

pub async fn run(target: &mut Target, args: &HistoryArgs) -> anyhow::Result<HistoryReport> {
    if target.baseline {
        bail!("history has no broadcast baseline");
    }
    if args.channels == 0 || args.messages == 0 || args.readers == 0 || args.duration == 0 {
        bail!("history needs channels, messages, readers and a duration");
    }
    let api = Api::new(&target.base_url)?;
    eprintln!("setting up: a workspace and {} channels", args.channels);
    let population = Population::create(&api, "history", 1).await?;
    let owner = population.owner().clone();
    let channels = api.create_channels(&owner, "h", args.channels).await?;

    let fillers = args.fillers.max(1);
    let api = Api::with_pool(&target.base_url, fillers.max(args.readers))?;
    let (posted, fill_errors, fill_seconds, mut first_errors) =
        fill(&api, &owner, &channels, args, fillers).await;
    eprintln!(
        "filled {} messages in {fill_seconds:.1} s",
        args.messages - fill_errors
    );

    let posted = Arc::new(posted);
    let channels = Arc::new(channels);
    let issued = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for reader in 0..args.readers {
        let (api, owner, channels, posted, issued) = (
            api.clone(),
            owner.clone(),
            channels.clone(),
            posted.clone(),
            issued.clone(),
        );
        let cap = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (reader as u64 + 1));
            let mut tally = ReadTally::default();
            while Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < cap {
                let channel = &channels[rng.below(channels.len())];
                let sent = Instant::now();
                match api.latest_messages(&owner, channel, PAGE).await {
                    Ok(page) => {
                        tally.latency.record(sent.elapsed());
                        tally.reads += 1;
                        let want = posted.get(channel).copied().unwrap_or_default();
                        if let Err(why) = check_page(&page, channel, want) {
                            tally.wrong += 1;
                            tally.note(format!("channel {channel}: {why}"));
                        }
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.note(format!("{e:#}"));
                    }
                }
            }
            tally
        }));
    }
    let mut latency = Latency::default();
    let (mut reads, mut read_errors, mut wrong_pages) = (0, 0, 0);
    for task in tasks {
        let tally = task.await.context("a reader panicked")?;
        latency.merge(&tally.latency);
        reads += tally.reads;
        read_errors += tally.errors;
        wrong_pages += tally.wrong;
        first_errors.extend(tally.notes);
    }
    let elapsed = begin.elapsed().as_secs_f64();
    first_errors.truncate(KEPT_ERRORS);
    Ok(HistoryReport {
        messages: args.messages,
        channels: args.channels,
        fill_seconds,
        fill_per_s: (args.messages - fill_errors) as f64 / fill_seconds,
        fill_errors,
        readers: args.readers,
        reads,
        reads_per_s: reads as f64 / elapsed,
        read_errors,
        wrong_pages,
        latency: latency.summary(),
        first_errors,
        server_memory: target.memory(),
        server_log: target.log_summary(),
    })
}

#[derive(Default)]
struct ReadTally {
    latency: Latency,
    reads: u64,
    errors: u64,
    wrong: u64,
    notes: Vec<String>,
}

impl ReadTally {
    fn note(&mut self, note: String) {
        if self.notes.len() < KEPT_ERRORS {
            self.notes.push(note);
        }
    }
}

/// Posts the messages, `fillers` at a time; returns what each channel got, the failed
/// posts, the seconds taken and the first errors.
async fn fill(
    api: &Api,
    owner: &Account,
    channels: &[String],
    args: &HistoryArgs,
    fillers: usize,
) -> (HashMap<String, Posted>, u64, f64, Vec<String>) {
    let tag = run_tag();
    let text = "x".repeat(args.text_bytes.max(1));
    let started = Instant::now();
    let mut posted: HashMap<String, Posted> = HashMap::new();
    let mut errors = 0;
    let mut first_errors = Vec::new();
    let mut results = stream::iter(0..args.messages)
        .map(|msg| {
            let channel = &channels[(msg % channels.len() as u64) as usize];
            let (text, cmid) = (text.clone(), client_msg_id(&tag, msg));
            async move {
                let result = api.post_message_stored(owner, channel, text, cmid).await;
                (channel, result)
            }
        })
        .buffer_unordered(fillers);
    let mut done = 0u64;
    while let Some((channel, result)) = results.next().await {
        done += 1;
        if done.is_multiple_of(10_000) {
            eprintln!("  {done} of {} posted", args.messages);
        }
        match result {
            Ok(m) => {
                let p = posted.entry(channel.clone()).or_default();
                p.count += 1;
                p.last_seq = p.last_seq.max(m.seq);
            }
            Err(e) => {
                errors += 1;
                if first_errors.len() < KEPT_ERRORS {
                    first_errors.push(format!("filling: {e:#}"));
                }
            }
        }
    }
    (
        posted,
        errors,
        started.elapsed().as_secs_f64(),
        first_errors,
    )
}

/// Whether `page` is the latest page of `channel`, given what was posted to it.
fn check_page(
    page: &hearth_proto::MessagePage,
    channel: &str,
    posted: Posted,
) -> Result<(), String> {
    let want = posted.count.min(u64::from(PAGE));
    if page.messages.len() as u64 != want {
        return Err(format!("{} messages, expected {want}", page.messages.len()));
    }
    if page.has_more != (posted.count > u64::from(PAGE)) {
        return Err(format!("has_more {} is wrong", page.has_more));
    }
    if let Some(m) = page.messages.iter().find(|m| m.channel_id != channel) {
        return Err(format!("message {} of channel {}", m.id, m.channel_id));
    }
    if page.messages.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err("seqs not strictly increasing".to_owned());
    }
    match page.messages.last() {
        Some(m) if m.seq != posted.last_seq => Err(format!(
            "newest seq {}, expected {}",
            m.seq, posted.last_seq
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, seq: i64) -> hearth_proto::Message {
        hearth_proto::Message {
            id: format!("M{seq}"),
            channel_id: channel.into(),
            seq,
            user_id: "U1".into(),
            text: "x".into(),
            created_at: String::new(),
            edited_at: None,
            deleted: false,
            thread_root_id: None,
            reply_count: 0,
            last_reply_at: None,
            reactions: Vec::new(),
            files: Vec::new(),
            client_msg_id: None,
        }
    }

    #[test]
    fn a_page_must_be_the_newest_messages_of_its_channel_in_order() {
        let page = |seqs: &[i64], has_more| hearth_proto::MessagePage {
            messages: seqs.iter().map(|&s| message("C1", s)).collect(),
            has_more,
        };
        let posted = Posted {
            count: 3,
            last_seq: 9,
        };
        assert!(check_page(&page(&[2, 5, 9], false), "C1", posted).is_ok());
        assert!(check_page(&page(&[2, 5], false), "C1", posted).is_err());
        assert!(check_page(&page(&[5, 2, 9], false), "C1", posted).is_err());
        assert!(check_page(&page(&[2, 5, 8], false), "C1", posted).is_err());
        assert!(check_page(&page(&[2, 5, 9], true), "C1", posted).is_err());
        assert!(check_page(&page(&[2, 5, 9], false), "C2", posted).is_err());
    }

    #[test]
    fn the_generator_stays_in_range() {
        let mut rng = Rng(42);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
