//! Full-text search: the query language, the tokenizer both backends index with, the
//! highlighted snippet, and [`search`], which runs a typed query against a [`Store`].
//!
//! The flow: [`Query::parse`] reads what the user typed (refusing what it cannot
//! understand with a stable code); [`search`] resolves names (`from:@ada`, `in:#general`,
//! `in:@bob`) to ids, turns dates into UTC instants, decides which channels the caller
//! may read ([`permission::can_read_public_channels`]) and asks the store for one page
//! ([`Store::search_messages`]); each hit gets its [`snippet`]. A name that matches
//! nothing the caller can see gives an empty page, exactly like a name that does not
//! exist, so a query never reveals a private channel or someone else's DM.

pub mod query;
pub mod rank;
pub mod snippet;
pub mod text;

pub use query::{ChannelRef, Query, Term, UserRef};

use chrono::{Days, NaiveDate};

use crate::Timestamp;
use crate::cursor;
use crate::id::{ChannelId, UserId};
use crate::model::User;
use crate::permission;
use crate::store::{SearchHit, SearchKey, SearchRequest, SearchSort, Store, StoreError};
use crate::value::ValidationError;

/// The most results one page holds, and the default.
pub const MAX_SEARCH_PAGE: u32 = 100;
pub const DEFAULT_SEARCH_PAGE: u32 = 20;

/// One page of a search, as the caller asked for it.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'a> {
    pub query: &'a str,
    pub sort: SearchSort,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<&'a str>,
    pub limit: Option<u32>,
}

/// A message found, and its snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub hit: SearchHit,
    /// HTML: the text around the first match, escaped, with matches in `<mark>`.
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    pub results: Vec<SearchResult>,
    /// Present when there may be more results.
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query, cursor or limit was refused; the code is for the client.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one page of `viewer`'s search. The caller has authenticated `viewer`, an active
/// account of its workspace.
pub async fn search(
    store: &dyn Store,
    viewer: &User,
    options: SearchOptions<'_>,
) -> Result<SearchResults, SearchError> {
    let query = Query::parse(options.query)?;
    let limit = page_limit(options.limit)?;
    let position = options
        .cursor
        .map(|c| Position::decode(c, options.sort))
        .transpose()?;
    let ws = &viewer.workspace_id;
    let through_seq = match position {
        Some(p) => p.through_seq,
        None => store.last_seq(ws).await?,
    };
    let Some(scope) = resolve(store, viewer, &query).await? else {
        return Ok(SearchResults::default());
    };
    let request = SearchRequest {
        viewer: viewer.id.clone(),
        include_public: permission::can_read_public_channels(viewer),
        terms: query.terms.clone(),
        excluded: query.excluded.clone(),
        flags: flags(&query),
        has_reaction: query.has_reaction,
        is_thread: query.is_thread,
        authors: scope.authors,
        channels: scope.channels,
        created_from: scope.created_from,
        created_before: scope.created_before,
        through_seq,
        sort: options.sort,
        after: position.map(|p| p.key),
        limit: limit + 1,
    };
    let mut hits = store.search_messages(ws, &request).await?;
    let more = hits.len() > limit as usize;
    hits.truncate(limit as usize);
    let next_cursor = match hits.last() {
        Some(last) if more => Some(
            Position {
                key: SearchKey {
                    score: last.score,
                    seq: last.message.seq,
                },
                through_seq,
            }
            .encode(options.sort),
        ),
        _ => None,
    };
    let results = hits
        .into_iter()
        .map(|hit| SearchResult {
            snippet: snippet::highlight(&hit.message.text, &query.terms),
            hit,
        })
        .collect();
    Ok(SearchResults {
        results,
        next_cursor,
    })
}

fn page_limit(limit: Option<u32>) -> Result<u32, ValidationError> {
    match limit {
        None => Ok(DEFAULT_SEARCH_PAGE),
        Some(n) if (1..=MAX_SEARCH_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ValidationError::new(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_SEARCH_PAGE}."),
        )),
    }
}

fn flags(query: &Query) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if query.has_link {
        flags.push(text::FLAG_LINK);
    }
    if query.has_file {
        flags.push(text::FLAG_FILE);
    }
    flags
}

/// The filters of a query, resolved to ids and instants.
struct Scope {
    authors: Vec<UserId>,
    channels: Vec<ChannelId>,
    created_from: Option<Timestamp>,
    created_before: Option<Timestamp>,
}

/// Resolves names and dates; `None` when nothing can match (every named author or
/// channel unknown, or dates that exclude each other).
async fn resolve(
    store: &dyn Store,
    viewer: &User,
    query: &Query,
) -> Result<Option<Scope>, StoreError> {
    let mut authors = Vec::new();
    for user in &query.from {
        authors.extend(user_id(store, viewer, user).await?);
    }
    let mut channels = Vec::new();
    for channel in &query.channels {
        channels.extend(channel_id(store, viewer, channel).await?);
    }
    let (created_from, created_before) = time_bounds(query);
    let empty_range = matches!((created_from, created_before), (Some(f), Some(b)) if f >= b);
    if (authors.is_empty() && !query.from.is_empty())
        || (channels.is_empty() && !query.channels.is_empty())
        || empty_range
    {
        return Ok(None);
    }
    Ok(Some(Scope {
        authors,
        channels,
        created_from,
        created_before,
    }))
}

async fn user_id(
    store: &dyn Store,
    viewer: &User,
    user: &UserRef,
) -> Result<Option<UserId>, StoreError> {
    Ok(match user {
        UserRef::Id(id) => Some(id.clone()),
        UserRef::Handle(handle) => store
            .user_by_handle(&viewer.workspace_id, handle)
            .await?
            .map(|u| u.id),
    })
}

async fn channel_id(
    store: &dyn Store,
    viewer: &User,
    channel: &ChannelRef,
) -> Result<Option<ChannelId>, StoreError> {
    let ws = &viewer.workspace_id;
    Ok(match channel {
        ChannelRef::Id(id) => Some(id.clone()),
        ChannelRef::Name(name) => store.channel_by_name(ws, name).await?.map(|c| c.id),
        ChannelRef::Dm(user) => match user_id(store, viewer, user).await? {
            Some(other) => {
                let mut members = vec![viewer.id.clone(), other];
                members.sort();
                members.dedup();
                store.find_conversation(ws, &members).await?.map(|c| c.id)
            }
            None => None,
        },
    })
}

/// `before:`, `after:` and `on:` as `[from, before)` in UTC milliseconds.
fn time_bounds(query: &Query) -> (Option<Timestamp>, Option<Timestamp>) {
    let start = |day: NaiveDate| {
        Timestamp(
            day.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis(),
        )
    };
    let next = |day: NaiveDate| day.checked_add_days(Days::new(1)).map(start);
    let mut from = query.after.and_then(next);
    let mut before = query.before.map(start);
    if let Some(on) = query.on {
        from = from.max(Some(start(on)));
        before = match (before, next(on)) {
            (Some(b), Some(n)) => Some(b.min(n)),
            (b, n) => b.or(n),
        };
    }
    (from, before)
}

/// What a search cursor holds: where the page ended and the snapshot it reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Position {
    key: SearchKey,
    through_seq: i64,
}

impl Position {
    fn encode(&self, sort: SearchSort) -> String {
        let key = match sort {
            SearchSort::Relevance => format!(
                "r.{:x}.{}.{}",
                self.key.score.to_bits(),
                self.key.seq,
                self.through_seq
            ),
            SearchSort::Recent => format!("t.{}.{}", self.key.seq, self.through_seq),
        };
        cursor::encode(&key)
    }

    fn decode(cursor: &str, sort: SearchSort) -> Result<Position, ValidationError> {
        let key = cursor::decode(cursor)?;
        let parts: Vec<&str> = key.split('.').collect();
        let parsed = match (sort, parts.as_slice()) {
            (SearchSort::Relevance, ["r", score, seq, through]) => u64::from_str_radix(score, 16)
                .ok()
                .map(f64::from_bits)
                .filter(|s| s.is_finite())
                .zip(seq.parse().ok())
                .zip(through.parse().ok())
                .map(|((score, seq), through_seq)| Position {
                    key: SearchKey { score, seq },
                    through_seq,
                }),
            (SearchSort::Recent, ["t", seq, through]) => seq
                .parse()
                .ok()
                .zip(through.parse().ok())
                .map(|(seq, through_seq)| Position {
                    key: SearchKey { score: 0.0, seq },
                    through_seq,
                }),
            _ => None,
        };
        parsed.ok_or_else(|| ValidationError::new("invalid_cursor", "The cursor is not valid."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let p = Position {
            key: SearchKey {
                score: 1.234_567_89,
                seq: 42,
            },
            through_seq: 99,
        };
        let c = p.encode(SearchSort::Relevance);
        assert_eq!(Position::decode(&c, SearchSort::Relevance), Ok(p));
        assert!(Position::decode(&c, SearchSort::Recent).is_err());
        let c = p.encode(SearchSort::Recent);
        assert_eq!(
            Position::decode(&c, SearchSort::Recent).unwrap().key.seq,
            42
        );
        assert!(Position::decode("garbage", SearchSort::Recent).is_err());
    }

    #[test]
    fn dates_become_utc_day_bounds() {
        let q = Query::parse("after:2026-01-01 before:2026-01-03").unwrap();
        let (from, before) = time_bounds(&q);
        assert_eq!(from.unwrap().to_rfc3339(), "2026-01-02T00:00:00.000Z");
        assert_eq!(before.unwrap().to_rfc3339(), "2026-01-03T00:00:00.000Z");
        let q = Query::parse("on:2026-01-05").unwrap();
        let (from, before) = time_bounds(&q);
        assert_eq!(from.unwrap().to_rfc3339(), "2026-01-05T00:00:00.000Z");
        assert_eq!(before.unwrap().to_rfc3339(), "2026-01-06T00:00:00.000Z");
    }
}
