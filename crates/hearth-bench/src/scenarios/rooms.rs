//! Many rooms at once, the shape of the small-rooms and fanout scenarios: `channels`
//! channels of `members` members each, drawn from `users` online users (one connection
//! each), so every user is in about `channels * members / users` channels.
//!
//! Member `j` of channel `c` is user `(c + j * users / members) % users`: the members of a
//! channel are distinct and spread over the whole population, and with as many channels
//! as users each user is in exactly `members` of them. Message `i` goes to channel
//! `i % channels` from its members in turn ([`fanout::SendPlan`]).

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use futures::{StreamExt, TryStreamExt, stream};
use tokio::time::Instant;

use crate::api::{Account, Api, Population};
use crate::baseline::token_with_rooms;
use crate::client::Observer;
use crate::scenarios::fanout::{DeliveryArgs, Route, SendPlan, SendRoom};
use crate::scenarios::{Connected, connect_all, dialers, node_of};
use crate::server::Target;

/// Channel set-up calls in flight at once.
const SETUP_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Args)]
pub struct RoomsArgs {
    /// Channels, each with its own members.
    #[arg(long, default_value_t = 1_000)]
    pub channels: usize,
    /// Members per channel.
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Online users the members are drawn from (one connection each).
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

impl RoomsArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.channels == 0 || self.members < 2 || self.users < self.members {
            bail!("rooms need channels, at least 2 members each, and users >= members");
        }
        Ok(())
    }

    /// The users (indexes) in channel `c`.
    pub fn members_of(&self, c: usize) -> Vec<usize> {
        let stride = (self.users / self.members).max(1);
        let mut members: Vec<usize> = (0..self.members)
            .map(|j| (c + j * stride) % self.users)
            .collect();
        members.dedup();
        members
    }

    /// Of the deliveries of messages `0..messages` (message `i` to room `i % channels`
    /// from its members in turn), the share whose recipient is on another node than its
    /// sender, with the users spread over `nodes` nodes by [`node_of`].
    pub fn cross_node_share(&self, messages: u64, nodes: usize) -> f64 {
        let members: Vec<Vec<usize>> = (0..self.channels).map(|c| self.members_of(c)).collect();
        let (mut crossing, mut all) = (0u64, 0u64);
        for i in 0..messages {
            let room = &members[(i % self.channels as u64) as usize];
            let sender = room[((i / self.channels as u64) % room.len() as u64) as usize];
            for &member in room.iter().filter(|&&m| m != sender) {
                all += 1;
                crossing += u64::from(node_of(member, nodes) != node_of(sender, nodes));
            }
        }
        if all == 0 {
            return 0.0;
        }
        crossing as f64 / all as f64
    }

    /// Extra `hearth serve` arguments so that no user's sends at `rate` per second in all
    /// hit the per-connection command limit (with room to spare).
    pub fn server_args(&self, rate: f64) -> Vec<String> {
        let per_minute = (rate / self.users as f64 * 60.0 * 4.0).ceil().max(120.0) as u64;
        vec![format!("--ws-commands-per-minute={per_minute}")]
    }
}

/// The rooms, their members connected.
pub struct Rooms {
    pub connected: Connected,
    pub plan: SendPlan,
    pub route: Route,
    pub setup_seconds: f64,
}

/// Creates the users and channels (on Hearth, over REST; on the baseline, as rooms named
/// in each client's token) and connects every user, to node [`node_of`] of `target`
/// (node A) and `others` (the other nodes of a multi-node run, usually none).
pub async fn prepare(
    target: &mut Target,
    others: &[Target],
    args: &RoomsArgs,
    sources: usize,
    observer: &Observer,
) -> anyhow::Result<Rooms> {
    args.check()?;
    let started = Instant::now();
    let members: Vec<Vec<usize>> = (0..args.channels).map(|c| args.members_of(c)).collect();
    let (channel_ids, accounts, api) = if target.baseline {
        let ids: Vec<String> = (0..args.channels).map(|c| format!("C{c}")).collect();
        let mut rooms_of_user = vec![Vec::new(); args.users];
        for (c, m) in members.iter().enumerate() {
            for &u in m {
                rooms_of_user[u].push(ids[c].as_str());
            }
        }
        let accounts = rooms_of_user
            .iter()
            .enumerate()
            .map(|(u, rooms)| Account {
                user_id: format!("U{u}"),
                token: token_with_rooms(&format!("baseline-{u}"), rooms),
            })
            .collect();
        (ids, accounts, None)
    } else {
        let (ids, accounts) = on_hearth(target, args, &members).await?;
        (ids, accounts, Some(Api::new(&target.base_url)?))
    };
    let dialers = dialers(target, others, sources).await?;
    eprintln!(
        "connecting {} users to {} node(s)",
        args.users,
        dialers.len()
    );
    let connected = connect_all(
        &dialers,
        args.users,
        |i| accounts[i].token.clone(),
        observer,
    )
    .await;
    if connected.failures > 0 {
        bail!(
            "{} of {} users could not connect: {:?}",
            connected.failures,
            args.users,
            connected.first_errors
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let conn_of = |u: usize| connected.clients[u].conn;
    let rooms = channel_ids
        .iter()
        .zip(&members)
        .map(|(id, m)| SendRoom {
            channel_id: id.clone(),
            senders: m
                .iter()
                .map(|&u| (connected.clients[u].clone(), accounts[u].clone()))
                .collect(),
        })
        .collect();
    let member_conns: Vec<Vec<u32>> = members
        .iter()
        .map(|m| m.iter().map(|&u| conn_of(u)).collect())
        .collect();
    let plan = SendPlan::of_rooms(rooms, api, args.delivery.via, args.delivery.text_bytes);
    let route = Route::rooms(plan.sender_conns(), member_conns);
    Ok(Rooms {
        connected,
        plan,
        route,
        setup_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The users and channels on Hearth; the server is restarted afterwards so its memory
/// figures are the gateway's, not the sign-ups'.
async fn on_hearth(
    target: &mut Target,
    args: &RoomsArgs,
    members: &[Vec<usize>],
) -> anyhow::Result<(Vec<String>, Vec<Account>)> {
    let api = Api::new(&target.base_url)?;
    eprintln!(
        "setting up: {} users (Argon2 sign-ups take a while) and {} channels of {}",
        args.users, args.channels, args.members
    );
    // The owner creates the channels but never connects: the users are the members.
    let population = Population::create(&api, "rooms", args.users + 1).await?;
    let owner = population.owner().clone();
    let users = population.accounts[1..].to_vec();
    let ids: Vec<String> = stream::iter(0..args.channels)
        .map(|c| {
            let (api, owner, users) = (&api, &owner, &users);
            let chosen: Vec<Account> = members[c].iter().map(|&u| users[u].clone()).collect();
            async move {
                let id = api.create_channel(owner, &format!("room-{c}")).await?;
                api.add_members(owner, &id, &chosen).await?;
                anyhow::Ok(id)
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    target.restart().await?;
    Ok((ids, users))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::fanout::SendVia;

    fn args(channels: usize, members: usize, users: usize) -> RoomsArgs {
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

    #[test]
    fn every_user_is_in_as_many_channels_and_members_are_distinct() {
        let a = args(1_000, 10, 1_000);
        let mut per_user = vec![0; 1_000];
        for c in 0..1_000 {
            let m = a.members_of(c);
            assert_eq!(m.len(), 10);
            let unique: std::collections::HashSet<_> = m.iter().collect();
            assert_eq!(unique.len(), 10);
            for u in m {
                per_user[u] += 1;
            }
        }
        assert!(per_user.iter().all(|&n| n == 10));
    }

    #[test]
    fn rooms_spread_over_the_nodes_so_deliveries_cross_them() {
        let a = args(1_000, 10, 1_000);
        assert_eq!(a.cross_node_share(2_000, 1), 0.0);
        // A recipient is on another node than the sender about (n - 1) / n of the time.
        for (nodes, expected) in [(2, 0.5), (3, 0.667), (4, 0.75)] {
            let share = a.cross_node_share(2_000, nodes);
            assert!((share - expected).abs() < 0.03, "{nodes} nodes: {share}");
        }
    }

    #[test]
    fn the_command_limit_leaves_room_for_the_rate() {
        let a = args(1_000, 10, 1_000);
        assert_eq!(a.server_args(2_000.0), ["--ws-commands-per-minute=480"]);
        assert_eq!(a.server_args(10.0), ["--ws-commands-per-minute=120"]);
    }
}
