//! The scenarios, one module each, and what they share: preparing a room of members
//! (over REST on Hearth, trivially on the baseline), connecting many clients, and the
//! report every scenario ends with.

pub mod big_room;
pub mod cross_node;
pub mod fanout;
pub mod fanout_ramp;
pub mod files;
pub mod history;
pub mod idle;
pub mod idle_workers;
pub mod multi_node;
pub mod notify;
pub mod reconnect;
pub mod rooms;
pub mod search;
pub mod small_room;
pub mod small_rooms;
pub mod write;
pub mod write_ws;

use std::time::Duration;

use futures::{StreamExt, stream};
use serde::Serialize;
use tokio::time::Instant;

use crate::api::{Account, Api, Population};
use crate::client::{Client, Counters, Dialer, Observer};
use crate::progress;
use crate::server::{LogSummary, ProcessMemory, Target, server_lines};

/// Upgrades in flight at once while connecting many clients; more only overflows the
/// server's accept backlog.
pub const CONNECT_CONCURRENCY: usize = 200;

/// A channel whose members are about to connect.
pub struct Room {
    pub channel_id: String,
    /// One account per member, in connection order.
    pub members: Vec<Account>,
    /// The REST API, absent on the baseline.
    pub api: Option<Api>,
}

impl Room {
    /// A channel of `members` accounts: created over REST on Hearth; on the baseline,
    /// which has neither accounts nor channels, placeholder names. A server we started is
    /// restarted after the set-up, so the memory it reports at the end is the gateway's,
    /// not what thousands of Argon2 sign-ups left resident in the allocator.
    pub async fn prepare(target: &mut Target, label: &str, members: usize) -> anyhow::Result<Self> {
        if target.baseline {
            let members = (0..members)
                .map(|i| Account {
                    user_id: format!("U{i}"),
                    token: format!("baseline-{i}"),
                })
                .collect();
            return Ok(Self {
                channel_id: "C-baseline".into(),
                members,
                api: None,
            });
        }
        let api = Api::new(&target.base_url)?;
        let started = Instant::now();
        eprintln!("setting up: a workspace of {members} users (Argon2 sign-ups take a while)");
        let population = Population::create(&api, label, members).await?;
        let channel_id = population.channel_with_everyone(&api, label).await?;
        target.restart().await?;
        let api = Api::new(&target.base_url)?;
        eprintln!("set up in {:.1} s", started.elapsed().as_secs_f64());
        Ok(Self {
            channel_id,
            members: population.accounts,
            api: Some(api),
        })
    }
}

/// Node `i`'s letter in reports: A, B, C...
pub fn node_name(i: usize) -> char {
    char::from(b'A' + (i % 26) as u8)
}

/// The node client `i` connects to, of `nodes`: a fixed pseudo-random draw (SplitMix64's
/// finalizer of `i`), so the clients spread evenly over the nodes and the members of
/// any room, whatever the room's layout, are spread over them too (with 2 nodes and a
/// layout of stride 100, `i % 2` would put every member of a room on one node).
pub fn node_of(i: usize, nodes: usize) -> usize {
    if nodes <= 1 {
        return 0;
    }
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % nodes as u64) as usize
}

/// " (N nodes, X % of deliveries cross nodes)" in a report's first line when its
/// clients were spread over several nodes; empty on one.
pub fn on_nodes(nodes: usize, cross_node_share: f64) -> String {
    match nodes {
        0 | 1 => String::new(),
        n => format!(
            " ({n} nodes, {:.0} % of deliveries cross nodes)",
            cross_node_share * 100.0
        ),
    }
}

/// A name for this run, unique enough to tell its messages from any others.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("hb{}x{nanos}", std::process::id())
}

/// Clients connected (in index order) and the failures, at most a few kept verbatim.
pub struct Connected {
    pub clients: Vec<Client>,
    pub failures: usize,
    pub first_errors: Vec<String>,
    pub elapsed: Duration,
}

/// Connects `count` clients, client `i` as `token_of(i)` through the dialer of node
/// [`node_of`]`(i)` (one dialer per node the clients are spread over), a bounded number
/// at a time.
pub async fn connect_all(
    dialers: &[Dialer],
    count: usize,
    token_of: impl Fn(usize) -> String,
    observer: &Observer,
) -> Connected {
    let started = Instant::now();
    let bar = progress::bar(count as u64, "connecting");
    let results: Vec<(usize, anyhow::Result<Client>)> = stream::iter(0..count)
        .map(|i| {
            let token = token_of(i);
            let observer = observer.clone();
            let dialer = &dialers[node_of(i, dialers.len())];
            async move {
                let conn = u32::try_from(i).expect("fewer than 4 billion clients");
                (i, Client::connect(dialer, conn, &token, observer).await)
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut ordered: Vec<(usize, Client)> = Vec::with_capacity(count);
    let mut failures = 0;
    let mut first_errors = Vec::new();
    for (i, result) in results {
        match result {
            Ok(client) => ordered.push((i, client)),
            Err(e) => {
                failures += 1;
                if first_errors.len() < 10 {
                    first_errors.push(format!("client {i}: {e:#}"));
                }
            }
        }
    }
    ordered.sort_by_key(|(i, _)| *i);
    Connected {
        clients: ordered.into_iter().map(|(_, c)| c).collect(),
        failures,
        first_errors,
        elapsed: started.elapsed(),
    }
}

/// One dialer per node a scenario's clients are spread over: `target` (node A) first,
/// then `others`, the other nodes of the same deployment (none outside `multi-node`).
pub async fn dialers(
    target: &Target,
    others: &[Target],
    sources: usize,
) -> anyhow::Result<Vec<Dialer>> {
    let mut dialers = Vec::with_capacity(1 + others.len());
    for node in std::iter::once(target).chain(others) {
        dialers.push(Dialer::new(&node.realtime_url(), sources).await?);
    }
    Ok(dialers)
}

/// How the connections fared over the run, and what the server logged.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub connect_failures: usize,
    /// Connections the server ended while the scenario still used them.
    pub disconnects: u64,
    pub error_frames: u64,
    /// The first connect errors, disconnect reasons and error frames.
    pub notes: Vec<String>,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

impl Health {
    pub fn gather(target: &Target, connected: &Connected, counters: &Counters) -> Self {
        let mut notes = connected.first_errors.clone();
        notes.extend(counters.reasons());
        Self {
            connect_failures: connected.failures,
            disconnects: Counters::get(&counters.disconnects),
            error_frames: Counters::get(&counters.error_frames),
            notes,
            server_memory: target.memory(),
            server_log: target.log_summary(),
        }
    }

    /// Adds what the other nodes of a multi-node run logged to node A's log summary
    /// (the memory figure stays node A's).
    pub fn with_nodes(mut self, others: &[Target]) -> Self {
        for (i, node) in others.iter().enumerate() {
            let (Some(log), Some(theirs)) = (self.server_log.as_mut(), node.log_summary()) else {
                continue;
            };
            log.warnings += theirs.warnings;
            log.errors += theirs.errors;
            let name = node_name(i + 1);
            log.first_lines.extend(
                theirs
                    .first_lines
                    .into_iter()
                    .map(|l| format!("node {name}: {l}")),
            );
        }
        self
    }

    /// Why the connections make the run unclean; empty when they do not.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.connect_failures > 0 {
            failures.push(format!(
                "{} clients failed to connect",
                self.connect_failures
            ));
        }
        if self.disconnects > 0 {
            failures.push(format!(
                "the server dropped {} connections",
                self.disconnects
            ));
        }
        failures
    }

    /// Plain lines for the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "connections: {} failed to connect, {} dropped by the server, {} error frames",
            self.connect_failures, self.disconnects, self.error_frames
        )];
        lines.extend(server_lines(
            self.server_memory.as_ref(),
            self.server_log.as_ref(),
        ));
        lines.extend(self.notes.iter().take(10).map(|n| format!("  note: {n}")));
        lines
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    #[test]
    fn clients_spread_evenly_over_the_nodes() {
        for nodes in 1..=4 {
            let mut per_node = vec![0usize; nodes];
            for i in 0..10_000 {
                per_node[super::node_of(i, nodes)] += 1;
            }
            let even = 10_000 / nodes;
            assert!(
                per_node.iter().all(|&n| n.abs_diff(even) < even / 20),
                "{per_node:?}"
            );
        }
    }

    use super::big_room::{self, BigRoomArgs};
    use super::fanout::{DeliveryArgs, SendVia};
    use super::fanout_ramp::{self, FanoutArgs};
    use super::rooms::RoomsArgs;
    use super::small_room::{self, SmallRoomArgs};
    use super::small_rooms::{self, SmallRoomsArgs};
    use crate::baseline;
    use crate::server::Target;

    async fn baseline_target() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(baseline::serve(listener));
        Target::baseline_at(&format!("http://{addr}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_room_on_the_baseline_delivers_everything_once() {
        let mut target = baseline_target().await;
        let args = SmallRoomArgs {
            members: 5,
            rate: 200.0,
            duration: 1,
            senders: None,
            delivery: DeliveryArgs {
                via: SendVia::Ws,
                text_bytes: 100,
                grace: 5,
                baseline: false,
            },
        };
        let report = small_room::run(&mut target, &args, 3).await.unwrap();
        let d = report.deliveries;
        assert_eq!((d.sent, d.expected), (200, 800), "{d}");
        assert!(d.is_clean(), "{d}");
        assert_eq!(report.send_to_ack.count, 200);
        assert_eq!(report.health.disconnects, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn big_room_on_the_baseline_times_every_message_to_the_last_member() {
        let mut target = baseline_target().await;
        let args = BigRoomArgs {
            members: 300,
            messages: 3,
            interval_ms: 100,
            delivery: DeliveryArgs {
                via: SendVia::Ws,
                text_bytes: 100,
                grace: 5,
                baseline: false,
            },
        };
        let report = big_room::run(&mut target, &args, 4).await.unwrap();
        assert!(report.deliveries.is_clean(), "{}", report.deliveries);
        assert_eq!(report.time_to_last.count, 3);
        assert!(report.per_message.iter().all(|m| m.received == 299));
    }

    fn rooms(channels: usize, members: usize, users: usize) -> RoomsArgs {
        RoomsArgs {
            channels,
            members,
            users,
            delivery: DeliveryArgs {
                via: SendVia::Ws,
                text_bytes: 100,
                grace: 5,
                baseline: false,
            },
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_rooms_on_the_baseline_deliver_within_each_room_only() {
        let mut target = baseline_target().await;
        let args = SmallRoomsArgs {
            rooms: rooms(20, 4, 20),
            rate: 400.0,
            duration: 1,
        };
        let report = small_rooms::run(&mut target, &args, 3).await.unwrap();
        let d = report.deliveries;
        // 400 messages, each owed to the 3 other members of its room and nobody else.
        assert_eq!((d.sent, d.expected), (400, 1_200), "{d}");
        assert!(d.is_clean(), "{d}");
        assert_eq!(report.send_to_ack.count, 400);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fanout_on_the_baseline_ramps_through_every_step() {
        let mut target = baseline_target().await;
        let args = FanoutArgs {
            rooms: rooms(10, 3, 12),
            start_rate: 100.0,
            factor: 2.0,
            step_seconds: 1,
            p99_ms: 1_000,
            max_rate: 400.0,
        };
        let report = fanout_ramp::run(&mut target, &args, 2).await.unwrap();
        let rates: Vec<f64> = report.steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, [100.0, 200.0, 400.0]);
        assert!(report.steps.iter().all(|s| s.deliveries.is_clean()));
        // Steps are numbered apart: the last one owes its own 400 messages, twice each.
        assert_eq!(report.steps[2].deliveries.expected, 800);
        assert_eq!(report.best.as_ref().map(|b| b.rate), Some(400.0));
        assert!(report.failures().is_empty(), "{:?}", report.failures());
    }
}
