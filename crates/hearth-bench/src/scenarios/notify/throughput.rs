//! The throughput legs: `write`'s closed-loop durable-send load ([`ClosedLoop`]) where
//! every message mentions an offline recipient with a webhook target, run once on a
//! server with notifications off (`--notify-workers false`) and once with them on.
//!
//! Both legs set up the same workspace: `--channels` channels, channel `c` holding its
//! creator (the one author) and recipient `c % recipients`, and every recipient's
//! webhook on this tool's [`Receiver`]. Message `i` goes to channel `i % channels` and
//! mentions that channel's recipient, so with the workers on it is owed one push. With
//! them off nothing may arrive. The figures are the sends per second of each leg, their
//! ratio, and, with the workers on, how long after the last send the last push arrived
//! (the backlog the workers had left when the load stopped).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use tokio::time::Instant;

use super::receiver::Receiver;
use super::tally::{Owed, PushCounts, tally};
use super::{Conversation, NotifyArgs, message_text, register_webhooks};
use crate::api::{Api, Population};
use crate::scenarios::run_tag;
use crate::scenarios::write::ClosedLoop;
use crate::server::{LogSummary, ProcessMemory, Target};
use crate::stats::LatencySummary;

/// Channels given their recipient at once during set-up.
const SETUP_CONCURRENCY: usize = 8;

/// One leg's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputLeg {
    /// Whether the server ran its notification workers.
    pub notifications: bool,
    pub setup_seconds: f64,
    pub acknowledged: u64,
    pub errors: u64,
    /// Acknowledgements with a repeated seq or the wrong channel or `client_msg_id`.
    pub inconsistent: u64,
    pub sends_per_s: f64,
    /// From sending each request to its `201`.
    pub ack: LatencySummary,
    pub first_errors: Vec<String>,
    /// With the workers off nothing is owed: anything that arrives is unexpected.
    pub pushes: PushCounts,
    /// From each message's `201` to its push (workers on).
    pub commit_to_push: LatencySummary,
    /// From the end of sending until the last push arrived (workers on, all arrived).
    pub drain_s: Option<f64>,
    /// Pushes received per second from the first send to the last push (workers on).
    pub pushes_per_s: Option<f64>,
    /// Pushes received per second while the load ran, and after it (workers on): how
    /// much the sends held the workers back.
    pub pushes_per_s_sending: Option<f64>,
    pub pushes_per_s_after: Option<f64>,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

impl ThroughputLeg {
    pub fn lines(&self) -> Vec<String> {
        let name = match self.notifications {
            true => "notifications on",
            false => "notifications off",
        };
        let mut lines = vec![format!(
            "{name}: acknowledged {} ({:.0} sends/s) | errors {} | inconsistent {} | ack {} \
             (set up in {:.1} s)",
            self.acknowledged,
            self.sends_per_s,
            self.errors,
            self.inconsistent,
            self.ack,
            self.setup_seconds
        )];
        lines.push(format!("  {}", self.pushes));
        if self.notifications {
            lines.push(format!("  commit (201) to push: {}", self.commit_to_push));
            let rate = |r: Option<f64>| r.map_or("?".to_owned(), |p| format!("{p:.0}"));
            lines.push(format!(
                "  last push {} after the last send; pushes/s: {} from the first send to \
                 the last push ({} while sending, {} after)",
                self.drain_s
                    .map_or("never arrived".to_owned(), |s| format!("{s:.2} s")),
                rate(self.pushes_per_s),
                rate(self.pushes_per_s_sending),
                rate(self.pushes_per_s_after),
            ));
        }
        lines.extend(self.first_errors.iter().map(|e| format!("  error: {e}")));
        lines.extend(
            crate::server::server_lines(self.server_memory.as_ref(), self.server_log.as_ref())
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let name = match self.notifications {
            true => "throughput, notifications on",
            false => "throughput, notifications off",
        };
        let mut failures = self.pushes.failures(name);
        if self.acknowledged == 0 {
            failures.push(format!("{name}: no message was acknowledged"));
        }
        if self.errors > 0 {
            failures.push(format!("{name}: {} sends failed", self.errors));
        }
        if self.inconsistent > 0 {
            failures.push(format!(
                "{name}: {} acknowledgements inconsistent",
                self.inconsistent
            ));
        }
        failures
    }
}

pub async fn run(
    target: &Target,
    args: &NotifyArgs,
    notifications: bool,
) -> anyhow::Result<ThroughputLeg> {
    let receiver = Receiver::start().await?;
    let api = Api::new(&target.base_url)?;
    let started = Instant::now();
    eprintln!(
        "setting up: {} channels, {} offline recipients with webhooks",
        args.channels, args.recipients
    );
    let population = Population::create(&api, "notify-write", 1 + args.recipients).await?;
    let author = population.owner().clone();
    let recipients = Arc::new(population.accounts[1..].to_vec());
    register_webhooks(&api, &receiver, &recipients).await?;
    let channels = api.create_channels(&author, "n", args.channels).await?;
    stream::iter(channels.iter().enumerate())
        .map(|(c, channel)| {
            let recipient = &recipients[c % recipients.len()];
            api.add_members(&author, channel, std::slice::from_ref(recipient))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let setup_seconds = started.elapsed().as_secs_f64();
    eprintln!("set up in {setup_seconds:.1} s");

    let tag = run_tag();
    let channel_count = channels.len() as u64;
    let text_bytes = args.text_bytes;
    let mentioned = recipients.clone();
    let load = ClosedLoop {
        author,
        channels: Arc::new(channels),
        writers: args.writers,
        duration: Duration::from_secs(args.write_duration),
        tag: tag.clone(),
        text: Arc::new(move |i| {
            let recipient = &mentioned[recipient_of(i, channel_count, mentioned.len())];
            message_text(recipient, Conversation::Mention, i, text_bytes)
        }),
    };
    eprintln!(
        "posting for {} s from {} writers, notifications {}",
        args.write_duration,
        args.writers,
        if notifications { "on" } else { "off" }
    );
    let begin = Instant::now();
    let posting = load.run(&target.base_url).await?;
    let sending_ended = Instant::now();

    let mut owed = HashMap::new();
    if notifications {
        for p in &posting.posted {
            let recipient = &recipients[recipient_of(p.msg, channel_count, recipients.len())];
            let o = Owed {
                user: recipient.user_id.clone(),
                sent_at: p.sent_at,
                acked_at: p.acked_at,
            };
            owed.insert(p.id.clone(), o);
        }
        eprintln!(
            "waiting up to {} s for {} pushes ({} so far)",
            args.drain_timeout,
            owed.len(),
            receiver.distinct()
        );
        let deadline = sending_ended + Duration::from_secs(args.drain_timeout);
        receiver.wait_for(owed.len() as u64, deadline).await;
    }
    // Late duplicates, or (workers off) anything the server should not have sent.
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let t = tally(&owed, &receiver.arrivals());
    let all_arrived = t.counts.received == t.counts.expected;
    let per_s = |n: usize, span: Duration| n as f64 / span.as_secs_f64().max(1e-9);
    let (mut drain_s, mut pushes_per_s, mut sending_rate, mut after_rate) =
        (None, None, None, None);
    if let (true, Some(last)) = (notifications, t.last_arrival()) {
        let during = t.arrived.iter().filter(|&&at| at <= sending_ended).count();
        drain_s = all_arrived.then(|| last.saturating_duration_since(sending_ended).as_secs_f64());
        pushes_per_s = Some(per_s(t.arrived.len(), last - begin));
        sending_rate = Some(per_s(during, sending_ended - begin));
        after_rate =
            (last > sending_ended).then(|| per_s(t.arrived.len() - during, last - sending_ended));
    }
    Ok(ThroughputLeg {
        notifications,
        setup_seconds,
        acknowledged: posting.posted.len() as u64,
        errors: posting.errors,
        inconsistent: posting.inconsistent(&tag),
        sends_per_s: posting.sends_per_s(),
        ack: posting.latency.summary(),
        first_errors: posting.first_errors,
        pushes: t.counts,
        commit_to_push: t.from_ack.summary(),
        drain_s,
        pushes_per_s,
        pushes_per_s_sending: sending_rate,
        pushes_per_s_after: after_rate,
        server_memory: target.memory(),
        server_log: target.log_summary(),
    })
}

/// The recipient mentioned by message `msg`: the one member of its channel besides the
/// author (channel `msg % channels` holds recipient `channel % recipients`).
fn recipient_of(msg: u64, channels: u64, recipients: usize) -> usize {
    (msg % channels) as usize % recipients
}
