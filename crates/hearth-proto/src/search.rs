//! Search results.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Message;

/// `GET /api/v1/search`: one page of results, best (or newest) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub results: Vec<SearchResult>,
    /// Pass as `cursor` to read the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    pub message: Message,
    pub channel: SearchChannel,
    pub author: SearchAuthor,
    /// HTML: the part of the text around the first match, HTML-escaped, with each match
    /// wrapped in `<mark>` and `</mark>` (the only markup it ever contains); `…` marks
    /// where the text was cut.
    pub snippet: String,
}

/// Where a result was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchChannel {
    pub id: String,
    /// `public`, `private`, `dm` or `group_dm`.
    pub kind: String,
    /// Absent for DMs and group DMs.
    pub name: Option<String>,
}

/// Who wrote a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchAuthor {
    pub id: String,
    pub handle: String,
    pub display_name: String,
}
