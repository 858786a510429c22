//! What [`Store::search_messages`](super::Store::search_messages) is asked and answers.
//!
//! The query arrives parsed and resolved to ids (see [`crate::search`]); a backend turns
//! it into its own full-text syntax (FTS5, tsquery) from the terms of
//! [`crate::search::text`], which it also indexes with, and never from what a user typed.

use crate::Timestamp;
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelKind, Message};
use crate::search::Term;
use crate::value::{ChannelName, DisplayName, Handle};

/// The most messages [`Store::index_search_backlog`](super::Store::index_search_backlog)
/// indexes in one write transaction.
pub const SEARCH_INDEX_STEP: u64 = 1_000;

/// How many of the newest matches [`SearchSort::Relevance`] ranks: the best of the
/// newest matches rather than of all, so a word in half the messages costs about what a
/// rare one does. Older matches are reached with [`SearchSort::Recent`].
pub const RELEVANCE_WINDOW: u32 = 500;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchSort {
    /// Best match first (the backend's full-text rank) among the newest
    /// [`RELEVANCE_WINDOW`] matches, newest first among equals.
    #[default]
    Relevance,
    /// Newest first.
    Recent,
}

/// Where the previous page ended: results come strictly after this one, in the order of
/// the request's sort.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchKey {
    /// The previous page's last score (ignored for [`SearchSort::Recent`]).
    pub score: f64,
    pub seq: i64,
}

/// A resolved search. Every condition must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Results come only from channels this account is a member of now and, when
    /// `include_public`, from the workspace's public channels.
    pub viewer: UserId,
    pub include_public: bool,
    /// Terms the text must contain (none: any text).
    pub terms: Vec<Term>,
    /// Terms the text must not contain.
    pub excluded: Vec<Term>,
    /// Index flags the message must carry ([`crate::search::text::FLAG_LINK`], `FLAG_FILE`).
    pub flags: Vec<&'static str>,
    pub has_reaction: bool,
    /// A thread reply, or a message with replies.
    pub is_thread: bool,
    /// Written by any of these accounts (empty: anyone).
    pub authors: Vec<UserId>,
    /// In any of these channels (empty: every channel the viewer can read).
    pub channels: Vec<ChannelId>,
    /// `created_at >= created_from`.
    pub created_from: Option<Timestamp>,
    /// `created_at < created_before`.
    pub created_before: Option<Timestamp>,
    /// Only messages with `seq <= through_seq`: the workspace's newest seq when the first
    /// page was asked for, so later pages do not shift as people write.
    pub through_seq: i64,
    pub sort: SearchSort,
    pub after: Option<SearchKey>,
    pub limit: u32,
}

/// A message found, with what a result shows of its channel and author.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub message: Message,
    /// Higher is better; 0 for [`SearchSort::Recent`]. It must depend only on the query
    /// and this message (as [`crate::search::rank::score`] and PostgreSQL's `ts_rank`
    /// do, unlike BM25's corpus statistics), so that a message keeps its score while
    /// others are written and the next page, cut at this score, neither repeats nor
    /// skips a result.
    pub score: f64,
    pub channel_kind: ChannelKind,
    pub channel_name: Option<ChannelName>,
    pub author_handle: Handle,
    pub author_display_name: DisplayName,
}
