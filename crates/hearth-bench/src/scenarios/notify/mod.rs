//! `notify`: what notifications cost and how fast they are, the two figures of issue 8.
//!
//! - **latency** ([`latency`]): messages that each concern one offline user (a mention,
//!   or a DM), at a fixed rate; the time from each message's commit (its `201`) to the
//!   push request at that user's webhook, which this tool serves itself ([`receiver`]).
//! - **throughput** ([`throughput`]): `write`'s closed-loop durable-send load, every
//!   message mentioning an offline user with a webhook, on a server with notifications
//!   off (`--notify-workers false`, the baseline) and on one with them on; sends per
//!   second of both, their ratio, and how long the last push took to arrive after the
//!   last send.
//!
//! Every leg starts its own server (`--push-allow-private`, so the webhooks may point at
//! loopback; a short `--notify-retry-base-ms`, so a failed attempt is retried, and any
//! duplicate it makes arrives, while the tool still listens). Every owed push must arrive
//! exactly once, to the right user's target, with its id in the header; anything else
//! makes the run unclean ([`tally`]). The legs run in the order latency, on, off: with
//! `--postgres` they share one scratch database, and the off leg leaves notification work
//! behind that a later server with workers would pick up.

mod latency;
mod receiver;
mod tally;
mod throughput;

use anyhow::bail;
use clap::{Args, ValueEnum};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use self::latency::LatencyLeg;
use self::receiver::Receiver;
use self::throughput::ThroughputLeg;
use crate::api::{Account, Api};
use crate::markdown::{self, Row};
use crate::server::{Target, server_lines};

/// Webhooks registered at once during set-up.
const SETUP_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Args)]
pub struct NotifyArgs {
    /// Which legs to run.
    #[arg(long, value_enum, default_value = "both")]
    pub legs: Legs,
    /// Offline users who receive the notifications, each with a webhook target.
    #[arg(long, default_value_t = 100)]
    pub recipients: usize,
    /// Latency leg: users who send (recipient `r` hears from sender `r % senders`).
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Latency leg: what makes a message concern its recipient.
    #[arg(long, value_enum, default_value = "mention")]
    pub conversation: Conversation,
    /// Latency leg: messages per second, open loop.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Latency leg: seconds of sending.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Latency leg: seconds to wait, after the last `201`, for pushes still owed.
    #[arg(long, default_value_t = 30)]
    pub grace: u64,
    /// Throughput legs: channels, posted to round-robin, each with one recipient.
    #[arg(long, default_value_t = 1000)]
    pub channels: usize,
    /// Throughput legs: concurrent REST writers, each posting closed loop.
    #[arg(long, default_value_t = 64)]
    pub writers: usize,
    /// Throughput legs: seconds of posting in each.
    #[arg(long, default_value_t = 10)]
    pub write_duration: u64,
    /// Throughput leg with notifications on: seconds to wait, after the last send, for
    /// the workers to deliver every push.
    #[arg(long, default_value_t = 300)]
    pub drain_timeout: u64,
    /// Seconds to keep listening once every push arrived, for late duplicates.
    #[arg(long, default_value_t = 1)]
    pub settle: u64,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
    /// `--notify-retry-base-ms` for the servers started (unless `--server-arg` gives it).
    #[arg(long, default_value_t = 1000)]
    pub retry_base_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Legs {
    Latency,
    Throughput,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversation {
    /// `<@U…>` in a public channel the sender and every recipient are in.
    Mention,
    /// A message in the sender's DM with the recipient.
    Dm,
}

impl Conversation {
    fn name(self) -> &'static str {
        match self {
            Conversation::Mention => "mention",
            Conversation::Dm => "DM",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NotifyReport {
    pub database: &'static str,
    pub latency: Option<LatencyLeg>,
    pub throughput: Option<ThroughputReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    pub channels: usize,
    pub recipients: usize,
    pub writers: usize,
    pub duration_s: u64,
    pub text_bytes: usize,
    pub off: ThroughputLeg,
    pub on: ThroughputLeg,
    /// Sends per second with notifications on over those with them off.
    pub ratio: Option<f64>,
}

/// Runs the legs `args` asks for, each on a server from `start` (given the leg's extra
/// arguments); `user_args` are the `--server-arg`s every started server gets anyway.
pub async fn run(
    start: impl AsyncFn(&[String]) -> anyhow::Result<Target>,
    external: bool,
    user_args: &[String],
    args: &NotifyArgs,
    database: &'static str,
) -> anyhow::Result<NotifyReport> {
    if external && args.legs != Legs::Latency {
        bail!(
            "notify's throughput legs start their own servers (notifications on and off): \
             with --server, pass --legs latency (that server needs --push-allow-private)"
        );
    }
    let extra = |workers| server_args(user_args, workers, args.retry_base_ms);
    let mut report = NotifyReport {
        database,
        latency: None,
        throughput: None,
    };
    if args.legs != Legs::Throughput {
        let target = start(&(if external { Vec::new() } else { extra(true)? })).await?;
        let leg = latency::run(&target, args).await;
        target.stop().await;
        report.latency = Some(leg?);
    }
    if args.legs != Legs::Latency {
        if args.channels == 0 || args.recipients == 0 || args.writers == 0 {
            bail!("notify's throughput legs need channels, recipients and writers");
        }
        let mut legs = Vec::new();
        for workers in [true, false] {
            let target = start(&extra(workers)?).await?;
            let leg = throughput::run(&target, args, workers).await;
            target.stop().await;
            legs.push(leg?);
        }
        let (off, on) = (legs.pop().expect("two legs"), legs.pop().expect("two legs"));
        let ratio = (off.sends_per_s > 0.0).then(|| on.sends_per_s / off.sends_per_s);
        report.throughput = Some(ThroughputReport {
            channels: args.channels,
            recipients: args.recipients,
            writers: args.writers,
            duration_s: args.write_duration,
            text_bytes: args.text_bytes,
            off,
            on,
            ratio,
        });
    }
    Ok(report)
}

/// A leg's server arguments: workers on or off, loopback webhooks allowed, and quick
/// retries, unless the run's own `--server-arg`s say otherwise.
fn server_args(user: &[String], workers: bool, retry_base_ms: u64) -> anyhow::Result<Vec<String>> {
    let given = |flag: &str| user.iter().any(|a| a.starts_with(flag));
    if given("--notify-workers") {
        bail!("notify sets --notify-workers for each leg itself: drop it from --server-arg");
    }
    let mut extra = vec!["--notify-workers".to_owned(), workers.to_string()];
    if !given("--push-allow-private") {
        extra.push("--push-allow-private".to_owned());
    }
    if !given("--notify-retry-base-ms") {
        extra.extend([
            "--notify-retry-base-ms".to_owned(),
            retry_base_ms.to_string(),
        ]);
    }
    Ok(extra)
}

/// Registers a webhook on `receiver` for each of `recipients`.
async fn register_webhooks(
    api: &Api,
    receiver: &Receiver,
    recipients: &[Account],
) -> anyhow::Result<()> {
    stream::iter(recipients)
        .map(|r| async move {
            api.add_webhook(r, &receiver.endpoint(&r.user_id))
                .await
                .map(drop)
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// The text of message `i` to `recipient`, padded to `bytes`: it mentions the recipient
/// by id unless it goes to their DM.
fn message_text(recipient: &Account, conversation: Conversation, i: u64, bytes: usize) -> String {
    let mut text = match conversation {
        Conversation::Mention => format!("<@{}> hearth-bench notify {i} ", recipient.user_id),
        Conversation::Dm => format!("hearth-bench notify {i} "),
    };
    while text.len() < bytes {
        text.push('x');
    }
    text
}

impl NotifyReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(l) = &self.latency {
            lines.push(format!(
                "notify latency on {}: {} senders, {} offline recipients with webhooks, by \
                 {}, {} msg/s for {} s (set up in {:.1} s)",
                self.database,
                l.senders,
                l.recipients,
                l.conversation.name(),
                l.rate,
                l.duration_s,
                l.setup_seconds
            ));
            lines.push(format!(
                "sent {} (errors {}) | {}",
                l.sent, l.send_errors, l.pushes
            ));
            lines.push(format!("commit (201) to push: {}", l.commit_to_push));
            lines.push(format!("send to push:         {}", l.send_to_push));
            lines.push(format!("send to 201:          {}", l.send_to_ack));
            lines.extend(l.first_errors.iter().map(|e| format!("  error: {e}")));
            lines.extend(server_lines(
                l.server_memory.as_ref(),
                l.server_log.as_ref(),
            ));
        }
        if let Some(t) = &self.throughput {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push(format!(
                "notify throughput on {}: {} channels ({} offline recipients with webhooks, \
                 one per channel), {} closed-loop REST writers, {} s per leg, every message \
                 a mention",
                self.database, t.channels, t.recipients, t.writers, t.duration_s
            ));
            lines.extend(t.off.lines());
            lines.extend(t.on.lines());
            if let Some(r) = t.ratio {
                lines.push(format!("sends/s, notifications on / off: {r:.2}x"));
            }
        }
        lines
    }

    /// Why the run is not clean; empty when it is.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if let Some(l) = &self.latency {
            failures.extend(l.pushes.failures("latency"));
            if l.send_errors > 0 {
                failures.push(format!("latency: {} sends failed", l.send_errors));
            }
            if l.pushes.expected == 0 {
                failures.push("latency: no message was acknowledged".to_owned());
            }
        }
        if let Some(t) = &self.throughput {
            failures.extend(t.off.failures());
            failures.extend(t.on.failures());
        }
        failures
    }

    /// The run's row of the BENCHMARKS.md table.
    pub fn row(&self) -> Row {
        let mut ours = Vec::new();
        if let Some(l) = &self.latency {
            ours.push(format!(
                "commit to push ({} msg/s, by {}): {}",
                l.rate,
                l.conversation.name(),
                markdown::latency(&l.commit_to_push)
            ));
        }
        let mut row = Row::new(&format!("notify ({})", self.database), String::new());
        if let Some(t) = &self.throughput {
            ours.push(format!(
                "notifications on: {:.0} sends/s, last push {} after the last send",
                t.on.sends_per_s,
                t.on.drain_s
                    .map_or("never".to_owned(), |s| format!("{s:.2} s"))
            ));
            row = row.against(
                format!("notifications off: {:.0} sends/s", t.off.sends_per_s),
                t.ratio.map(|r| format!("{r:.2}x sends/s")),
            );
        }
        row.ours = ours.join("; ");
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_set_workers_and_leave_the_users_own_options_alone() {
        let args = server_args(&[], false, 500).unwrap();
        assert_eq!(
            args,
            [
                "--notify-workers",
                "false",
                "--push-allow-private",
                "--notify-retry-base-ms",
                "500"
            ]
        );
        let user = ["--notify-retry-base-ms=50".to_owned()];
        assert_eq!(
            server_args(&user, true, 500).unwrap(),
            ["--notify-workers", "true", "--push-allow-private"]
        );
        assert!(server_args(&["--notify-workers=true".to_owned()], true, 1).is_err());
    }

    #[test]
    fn mentions_name_the_recipient_by_id() {
        let r = Account {
            user_id: "U123".into(),
            token: String::new(),
        };
        let text = message_text(&r, Conversation::Mention, 7, 60);
        assert!(text.starts_with("<@U123> hearth-bench notify 7 "), "{text}");
        assert_eq!(text.len(), 60);
        assert!(!message_text(&r, Conversation::Dm, 7, 10).contains("<@"));
    }
}
