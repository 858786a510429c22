//! What the search tests share: a search through hearth-core as a user makes it, and the
//! request hearth-core would hand the store for a query.
// Each test file uses what it needs of this module.
#![allow(dead_code)]

use hearth_core::model::{Channel, User};
use hearth_core::search::{Query, SearchOptions, search};
use hearth_core::store::{SearchRequest, SearchSort};
use hearth_core::testing::Fixture;

/// The texts `viewer` finds for `q`, newest first.
pub async fn find(f: &Fixture, viewer: &User, q: &str) -> Vec<String> {
    let options = SearchOptions {
        query: q,
        sort: SearchSort::Recent,
        cursor: None,
        limit: Some(100),
    };
    let results = search(&*f.store, viewer, options).await.unwrap();
    results
        .results
        .into_iter()
        .map(|r| r.hit.message.text)
        .collect()
}

/// The request hearth-core would make for `q` (its words only) in `channel`, or by
/// `author`, sorted by relevance.
pub async fn request(
    f: &Fixture,
    q: &str,
    channel: Option<&Channel>,
    author: Option<&User>,
) -> SearchRequest {
    let query = Query::parse(q).unwrap();
    SearchRequest {
        viewer: f.owner.id.clone(),
        include_public: true,
        terms: query.terms,
        excluded: query.excluded,
        flags: Vec::new(),
        has_reaction: false,
        is_thread: false,
        authors: author.map(|a| a.id.clone()).into_iter().collect(),
        channels: channel.map(|c| c.id.clone()).into_iter().collect(),
        created_from: None,
        created_before: None,
        through_seq: f.last_seq().await,
        sort: SearchSort::Relevance,
        after: None,
        limit: 20,
    }
}
