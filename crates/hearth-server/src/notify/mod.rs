//! Notifications: the workers that turn committed messages into pushes, webhooks and
//! emails, and the ephemeral [`Attention`] that keeps them from disturbing a user who is
//! already reading.
//!
//! The pipeline (see `hearth_core::notify` for the rules, `NotifyStore` for the records):
//!
//! ```text
//! event log ──► expand (one task per node; a workspace's cursor is leased)
//!                 decide each member's reason, record notifications + deliveries
//!                 and the cursor's new position in one transaction
//!            ──► deliver (one task per node, N attempts in flight; deliveries leased)
//!                 re-check in one read (read? removed? deleted? do-not-disturb?),
//!                 then attention (active?), send (Web Push, webhook, email), then
//!                 sent / retry with backoff / dead letter, recorded a few at a time
//! ```
//!
//! Nothing here runs on the send path: a send commits its message and event, and a
//! worker picks it up within [`NotifySettings::poll`] (at once on the node that took the
//! send, which pokes its worker). Every node runs both workers; leases keep two nodes off
//! the same work, and a node that dies mid-batch leaves its leases to lapse and be taken
//! over, so nothing is lost. What it had sent and recorded is not sent again; what it
//! had sent in its last few milliseconds, before the outcome was written (`outcomes`),
//! may be sent a second time, with the same notification id.

mod attention;
mod backoff;
mod checks;
mod deliver;
pub mod email;
mod expand;
mod outcomes;
mod payload;
mod targets;
mod webhook;
pub mod webpush;
mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use attention::Attention;
pub use targets::{TargetRules, validate_endpoint};
pub use worker::Notifier;

use self::email::SmtpSettings;

/// The notification workers' tunables; the defaults are the product's behaviour.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Whether this node runs the workers (a node may leave them to others).
    pub workers: bool,
    /// How often an idle worker looks for work another node created.
    pub poll: Duration,
    /// How long a claim on a cursor or a delivery holds unless finished.
    pub lease: Duration,
    /// How long the expander, woken from idle by a new message, lets more arrive before
    /// it reads them: a burst is expanded in a few pages rather than one per message, and
    /// a push leaves at most this much later.
    pub expand_settle: Duration,
    /// Sends in flight on this node, on average over one of the expander's steps, from
    /// which the node counts as busy with senders: the expander then rests after each
    /// step (see `busy_share`). Pushes wait, sends do not.
    pub busy_sends: f64,
    /// The share of the time the expander may work while the node is busy with senders:
    /// after a step of `t` it rests `t × (1 − share) / share`, or until the sends stop
    /// queueing. What it does not expand waits for the node to have room.
    pub busy_share: f64,
    /// How far behind the messages pacing may leave the expander: further behind, it
    /// works without resting until it has caught up this far, sends or not.
    pub busy_max_lag: Duration,
    /// Messages read per claim of a workspace's cursor.
    pub sources_per_claim: u32,
    /// Members expanded per transaction (an `@channel` in a large channel takes several).
    pub candidates_per_batch: u32,
    /// Deliveries attempted at once by one node (most of the time is the endpoint's).
    pub concurrency: usize,
    /// Of those, how many re-check in the database at once: notification work yields
    /// to senders, who share the database's connections and the node's cores.
    pub db_concurrency: usize,
    /// The first retry waits about this long; each next one twice as long (with jitter).
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// After this many attempts a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// How long a user's notifications of a conversation wait, unread, before one email.
    pub email_delay: Duration,
    /// Where emails go; `None` sends none.
    pub smtp: Option<SmtpSettings>,
    /// The VAPID `sub` claim: how a push service reaches the operator.
    pub push_subject: String,
    /// The server's public URL, for links in emails.
    pub public_url: Option<String>,
    /// What push target endpoints may be (see [`TargetRules`]).
    pub targets: TargetRules,
    /// How long one push, webhook or SMTP exchange may take.
    pub request_timeout: Duration,
    /// How long after their last activity a focused user counts as reading.
    pub attention_window: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            workers: true,
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            expand_settle: Duration::from_millis(10),
            busy_sends: BUSY_SENDS_PER_CORE * crate::cores() as f64,
            busy_share: 0.1,
            busy_max_lag: Duration::from_secs(30),
            sources_per_claim: 200,
            candidates_per_batch: 1_000,
            concurrency: 32,
            db_concurrency: 2,
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            max_attempts: 8,
            email_delay: Duration::from_secs(600),
            smtp: None,
            push_subject: "mailto:admin@localhost".to_owned(),
            public_url: None,
            targets: TargetRules::default(),
            request_timeout: Duration::from_secs(10),
            attention_window: Duration::from_secs(60),
        }
    }
}

/// Sends in flight per core, on average, at which a node counts as busy with senders.
/// A send spends 1–3 ms in the server on SQLite, most of it waiting for its durable
/// commit, so one per core is ~500 sends/s per core and up; below that, notifications go
/// out at once. Four per core let pushes go out faster at high rates but slowed closed-loop
/// senders to half their rate (BENCHMARKS.md, "Notifications").
const BUSY_SENDS_PER_CORE: f64 = 1.0;

/// The attention tracker for these settings: local, or shared over Redis.
pub fn attention(
    settings: &NotifySettings,
    redis_url: Option<&str>,
) -> anyhow::Result<Arc<Attention>> {
    Ok(Arc::new(match redis_url {
        None => Attention::local(settings.attention_window),
        Some(url) => Attention::shared(settings.attention_window, url)?,
    }))
}
