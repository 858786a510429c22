//! The latency leg: messages that each concern one offline recipient, sent at a fixed
//! rate, and the time from each message's commit to its push at the recipient's webhook.
//!
//! A workspace of `--senders` senders and `--recipients` recipients; every recipient
//! registers a webhook target on this tool's [`Receiver`] and never opens a socket, so
//! the server sees them offline and owes each message's recipient a push. Message `i`
//! concerns recipient `i % recipients` and comes from sender `recipient % senders`: a
//! mention (`<@U…>`) in a channel everyone is in, or (`--conversation dm`) a message in
//! their DM. Messages are sent over REST open loop, each at its due time whatever
//! happened to the ones before, so a slow server shows up as latency rather than as a
//! slower load.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::receiver::Receiver;
use super::tally::{Owed, PushCounts, tally};
use super::{Conversation, NotifyArgs, message_text, register_webhooks};
use crate::api::{Account, Api, Population};
use crate::client::client_msg_id;
use crate::progress;
use crate::scenarios::run_tag;
use crate::server::{LogSummary, ProcessMemory, Target};
use crate::stats::{Latency, LatencySummary};

/// Refusals kept verbatim for the report.
const KEPT_ERRORS: usize = 10;
/// DMs opened at once during set-up.
const SETUP_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct LatencyLeg {
    pub senders: usize,
    pub recipients: usize,
    pub conversation: Conversation,
    pub rate: f64,
    pub duration_s: u64,
    pub setup_seconds: f64,
    pub sent: u64,
    pub send_errors: u64,
    pub first_errors: Vec<String>,
    pub pushes: PushCounts,
    /// From each message's `201` (its commit acknowledged) to its push's arrival.
    pub commit_to_push: LatencySummary,
    /// From each message's due time to its push's arrival (includes the send itself).
    pub send_to_push: LatencySummary,
    /// From each message's due time to its `201`.
    pub send_to_ack: LatencySummary,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

/// Who sends what where.
struct Stage {
    senders: Vec<Account>,
    recipients: Vec<Account>,
    /// The conversation of each recipient with its sender.
    conversations: Vec<String>,
}

pub async fn run(target: &Target, args: &NotifyArgs) -> anyhow::Result<LatencyLeg> {
    if args.senders == 0 || args.recipients == 0 || args.rate <= 0.0 || args.duration == 0 {
        bail!("notify needs senders, recipients, a rate and a duration");
    }
    let receiver = Receiver::start().await?;
    let started = Instant::now();
    let stage = prepare(target, args, &receiver).await?;
    let setup_seconds = started.elapsed().as_secs_f64();
    eprintln!("set up in {setup_seconds:.1} s");

    let messages = (args.rate * args.duration as f64).round().max(1.0) as u64;
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let api = Api::with_pool(&target.base_url, args.senders.max(8))?;
    let stage = Arc::new(stage);
    let tag = run_tag();
    eprintln!(
        "sending {messages} messages at {} msg/s, each to one offline recipient",
        args.rate
    );
    let start = Instant::now() + Duration::from_millis(100);
    let bar = progress::bar(messages, "sending");
    let mut posts = JoinSet::new();
    for i in 0..messages {
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let (api, stage, tag) = (api.clone(), stage.clone(), tag.clone());
        let (text_bytes, conversation) = (args.text_bytes, args.conversation);
        posts.spawn(async move {
            let r = (i % stage.recipients.len() as u64) as usize;
            let recipient = &stage.recipients[r];
            let sender = &stage.senders[r % stage.senders.len()];
            let text = message_text(recipient, conversation, i, text_bytes);
            let result = api
                .post_message_stored(
                    sender,
                    &stage.conversations[r],
                    text,
                    client_msg_id(&tag, i),
                )
                .await
                .map(|m| (m.id, Instant::now()));
            (i, r, due, result)
        });
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut owed = HashMap::new();
    let mut send_to_ack = Latency::default();
    let (mut send_errors, mut first_errors) = (0, Vec::new());
    while let Some(joined) = posts.join_next().await {
        let (i, r, due, result) = joined.context("a send panicked")?;
        match result {
            Ok((id, acked_at)) => {
                send_to_ack.record(acked_at.saturating_duration_since(due));
                let user = stage.recipients[r].user_id.clone();
                owed.insert(
                    id,
                    Owed {
                        user,
                        sent_at: due,
                        acked_at,
                    },
                );
            }
            Err(e) => {
                send_errors += 1;
                if first_errors.len() < KEPT_ERRORS {
                    first_errors.push(format!("message {i}: {e:#}"));
                }
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(args.grace);
    eprintln!(
        "waiting up to {} s for {} pushes ({} so far)",
        args.grace,
        owed.len(),
        receiver.distinct()
    );
    receiver.wait_for(owed.len() as u64, deadline).await;
    // Late duplicates (a retry of a push we answered) would come after the last first copy.
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let t = tally(&owed, &receiver.arrivals());
    Ok(LatencyLeg {
        senders: args.senders,
        recipients: args.recipients,
        conversation: args.conversation,
        rate: args.rate,
        duration_s: args.duration,
        setup_seconds,
        sent: messages,
        send_errors,
        first_errors,
        pushes: t.counts,
        commit_to_push: t.from_ack.summary(),
        send_to_push: t.from_send.summary(),
        send_to_ack: send_to_ack.summary(),
        server_memory: target.memory(),
        server_log: target.log_summary(),
    })
}

/// The workspace, the recipients' webhooks, and each recipient's conversation.
async fn prepare(target: &Target, args: &NotifyArgs, receiver: &Receiver) -> anyhow::Result<Stage> {
    let api = Api::new(&target.base_url)?;
    let users = args.senders + args.recipients;
    eprintln!(
        "setting up: a workspace of {} senders and {} offline recipients with webhooks",
        args.senders, args.recipients
    );
    let population = Population::create(&api, "notify", users).await?;
    let mut senders = population.accounts.clone();
    let recipients = senders.split_off(args.senders);
    register_webhooks(&api, receiver, &recipients).await?;
    let conversations = match args.conversation {
        Conversation::Mention => {
            let channel = population.channel_with_everyone(&api, "notify").await?;
            vec![channel; recipients.len()]
        }
        Conversation::Dm => {
            stream::iter(recipients.iter().enumerate())
                .map(|(r, recipient)| {
                    let sender = &senders[r % senders.len()];
                    api.open_dm(sender, &recipient.user_id)
                })
                .buffered(SETUP_CONCURRENCY)
                .try_collect()
                .await?
        }
    };
    Ok(Stage {
        senders,
        recipients,
        conversations,
    })
}
