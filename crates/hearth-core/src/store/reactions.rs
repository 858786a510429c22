//! How a message's reactions come out of a backend: rows of (user, emoji) in the order
//! people reacted, grouped into one [`ReactionSummary`] per emoji.
//!
//! Both backends read a history page in one statement, each message with its reactions
//! aggregated into one JSON column of `[user_id, emoji]` pairs ([`reactions_column`]);
//! other reads load a page's reactions as rows and group them with [`summarize`].

use crate::id::UserId;
use crate::model::ReactionSummary;
use crate::store::{StoreError, StoreResult};
use crate::value::Emoji;

/// One summary per emoji, in the order the emoji was first used, its users in the order
/// they reacted. `reactions` must come in the order they were made.
pub fn summarize(reactions: impl IntoIterator<Item = (UserId, Emoji)>) -> Vec<ReactionSummary> {
    let mut summaries: Vec<ReactionSummary> = Vec::new();
    for (user, emoji) in reactions {
        match summaries.iter_mut().find(|s| s.emoji == emoji) {
            Some(summary) => {
                summary.count += 1;
                summary.user_ids.push(user);
            }
            None => summaries.push(ReactionSummary {
                emoji,
                count: 1,
                user_ids: vec![user],
            }),
        }
    }
    summaries
}

/// A message's reactions from its aggregated column: a JSON array of `[user_id, emoji]`
/// pairs in the order they were made, or NULL when it has none.
pub fn reactions_column(json: Option<&str>) -> StoreResult<Vec<ReactionSummary>> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let pairs: Vec<(String, String)> = serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("corrupt reactions column {json:?}: {e}")))?;
    Ok(summarize(pairs.into_iter().map(|(user, emoji)| {
        (UserId::from_trusted(user), Emoji::from_trusted(emoji))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_group_by_emoji_in_the_order_they_were_made() {
        let summaries = reactions_column(Some(
            r#"[["U1","thumbsup"],["U2","tada"],["U3","thumbsup"]]"#,
        ))
        .unwrap();
        let shape: Vec<(&str, i64, Vec<&str>)> = summaries
            .iter()
            .map(|s| {
                (
                    s.emoji.as_str(),
                    s.count,
                    s.user_ids.iter().map(UserId::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![("thumbsup", 2, vec!["U1", "U3"]), ("tada", 1, vec!["U2"])]
        );
    }

    #[test]
    fn no_reactions_is_null_and_a_broken_column_is_an_error() {
        assert!(reactions_column(None).unwrap().is_empty());
        assert!(reactions_column(Some("[1, 2]")).is_err());
    }
}
