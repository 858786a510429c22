//! `GET /api/v1/search`: full-text search over the messages the caller can read.
//!
//! The work is [`hearth_core::search::search`]; this handler reads the parameters and
//! converts the page. A query the parser refuses is a 400 with its `search_*` code.

use axum::extract::State;
use hearth_core::search::{self, SearchError, SearchOptions, SearchResult};
use hearth_core::store::SearchSort;
use hearth_core::value::ValidationError;
use hearth_proto as wire;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The query: words (all must match), `"exact phrase"`, `-excluded`, `prefix*`,
    /// `from:@handle`, `in:#channel`, `in:@handle` (a DM), `before:`/`after:`/`on:`
    /// YYYY-MM-DD (UTC), `has:link`, `has:file`, `has:reaction`, `is:thread`.
    pub q: String,
    /// `relevance` (default) or `recent`.
    pub sort: Option<String>,
    /// `next_cursor` of the previous page (with the same `q` and `sort`).
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses(
        (status = 200, body = wire::SearchResults),
        (status = 400, body = wire::ErrorBody, description = "A malformed query (`search_*` codes), cursor or limit"),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    me: CurrentUser,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<wire::SearchResults>> {
    let sort = match params.sort.as_deref() {
        None | Some("relevance") => SearchSort::Relevance,
        Some("recent") => SearchSort::Recent,
        Some(_) => {
            return Err(
                ValidationError::new("invalid_sort", "sort is relevance or recent.").into(),
            );
        }
    };
    let options = SearchOptions {
        query: &params.q,
        sort,
        cursor: params.cursor.as_deref(),
        limit: params.limit,
    };
    let page = search::search(&*state.store, &me.user, options)
        .await
        .map_err(|e| match e {
            SearchError::Invalid(e) => ApiError::from(e),
            SearchError::Store(e) => ApiError::from(e),
        })?;
    Ok(Json(wire::SearchResults {
        results: page.results.iter().map(result).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn result(r: &SearchResult) -> wire::SearchResult {
    let hit = &r.hit;
    wire::SearchResult {
        message: convert::message(&hit.message),
        channel: wire::SearchChannel {
            id: hit.message.channel_id.to_string(),
            kind: hit.channel_kind.as_str().to_owned(),
            name: hit.channel_name.as_ref().map(ToString::to_string),
        },
        author: wire::SearchAuthor {
            id: hit.message.user_id.to_string(),
            handle: hit.author_handle.to_string(),
            display_name: hit.author_display_name.to_string(),
        },
        snippet: r.snippet.clone(),
    }
}
