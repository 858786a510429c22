//! `multi-node`: the small-rooms or big-room load on a deployment of several nodes (one
//! PostgreSQL database, one Redis bus), and what spreading the clients over the nodes
//! costs against keeping them all on one.
//!
//! All the nodes are started for the run (`--nodes`, 2 to 4 by default bounds) on the
//! run's scratch database with `--bus` on Redis, and the load runs twice, each leg with a
//! workspace and connections of its own:
//!
//! - (a) one node: every client connected to node A, the other nodes up but idle;
//! - (b) spread: the clients spread evenly over the nodes by a fixed pseudo-random draw
//!   ([`node_of`](crate::scenarios::node_of)), so every room has members on several
//!   nodes. Each sends over its own socket, so its node commits the message and delivers
//!   it to its own clients, and every other node gets it over Redis and delivers it to
//!   theirs. The report gives the share of deliveries that crossed nodes, about
//!   (n - 1) / n.
//!
//! The ratio (b) / (a) of the scenario's headline latency (send-to-deliver for
//! small-rooms, time to the last member for big-room) is the price of the cross-node hops
//! under that load. Every delivery of both legs is checked as in the single-node
//! scenarios: any loss, duplicate or reordering fails the run.

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::scenarios::big_room::BigRoomArgs;
use crate::scenarios::fanout::SendVia;
use crate::scenarios::node_name;
use crate::scenarios::small_rooms::SmallRoomsArgs;
use crate::server::Target;

/// The most nodes a run starts: each is a server process with its own pool of database
/// connections, on a machine that also runs PostgreSQL, Redis and this tool.
pub const MAX_NODES: usize = 8;

#[derive(Debug, Clone, Args)]
pub struct MultiNodeArgs {
    /// Nodes to start, all on the run's database and bus.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// The Redis bus of the nodes (their `--bus`).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    #[command(subcommand)]
    pub load: MultiNodeLoad,
}

/// The load each leg runs.
#[derive(Debug, Clone, Subcommand)]
pub enum MultiNodeLoad {
    /// Many small channels chatting at once (`small-rooms`'s options).
    SmallRooms(SmallRoomsArgs),
    /// One channel of thousands of online members (`big-room`'s options).
    BigRoom(BigRoomArgs),
}

impl MultiNodeArgs {
    /// Refuses what the scenario cannot measure.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(2..=MAX_NODES).contains(&self.nodes) {
            bail!("multi-node needs 2 to {MAX_NODES} nodes (--nodes)");
        }
        let delivery = match &self.load {
            MultiNodeLoad::SmallRooms(load) => &load.rooms.delivery,
            MultiNodeLoad::BigRoom(load) => &load.delivery,
        };
        if delivery.via != SendVia::Ws {
            bail!(
                "multi-node sends over each sender's own socket, to the sender's node: \
                 drop --via rest"
            );
        }
        if delivery.baseline {
            bail!(
                "multi-node's comparison is one node against several: drop --baseline (the \
                 bare broadcast baseline is one process)"
            );
        }
        Ok(())
    }

    /// Every node's extra `hearth serve` arguments: the bus, and what the load needs.
    pub fn node_args(&self) -> Vec<String> {
        let mut args = vec!["--bus".to_owned(), self.redis.clone()];
        if let MultiNodeLoad::SmallRooms(load) = &self.load {
            args.extend(load.rooms.server_args(load.rate));
        }
        args
    }

    /// The scenario's name in reports.
    pub fn name(&self) -> &'static str {
        match self.load {
            MultiNodeLoad::SmallRooms(_) => "multi-node small-rooms",
            MultiNodeLoad::BigRoom(_) => "multi-node big-room",
        }
    }
}

/// Runs `leg` with every client on node A, then spread over all of `nodes`; returns
/// (one node, spread).
pub async fn legs<R>(
    nodes: &mut [Target],
    leg: impl AsyncFn(&mut Target, &[Target]) -> anyhow::Result<R>,
) -> anyhow::Result<(R, R)> {
    let Some((a, others)) = nodes.split_first_mut() else {
        bail!("multi-node has no nodes");
    };
    let names: String = (0..=others.len()).map(node_name).collect();
    eprintln!("(a) one node: every client on node A at {}", a.base_url);
    let single = leg(a, &[]).await?;
    eprintln!("(b) spread: clients over nodes {names}");
    let spread = leg(a, &*others).await?;
    Ok((single, spread))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: MultiNodeArgs,
    }

    fn parse(line: &str) -> anyhow::Result<MultiNodeArgs> {
        let args = Cli::try_parse_from(line.split_whitespace())?.args;
        args.check()?;
        Ok(args)
    }

    #[test]
    fn nodes_get_the_bus_and_the_load_s_command_limit() {
        let args = parse("x --nodes 3 small-rooms --rate 2000").unwrap();
        assert_eq!(
            args.node_args(),
            [
                "--bus",
                "redis://127.0.0.1:6379",
                "--ws-commands-per-minute=480"
            ]
        );
        let args = parse("x --redis redis://10.0.0.1 big-room --members 100").unwrap();
        assert_eq!(args.nodes, 3);
        assert_eq!(args.node_args(), ["--bus", "redis://10.0.0.1"]);
    }

    #[test]
    fn what_it_cannot_measure_is_refused() {
        assert!(parse("x --nodes 1 big-room").is_err());
        assert!(parse("x --nodes 9 big-room").is_err());
        assert!(parse("x big-room --via rest").is_err());
        assert!(parse("x small-rooms --baseline").is_err());
    }
}
