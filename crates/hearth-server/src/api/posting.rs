//! Posting a message, for REST and the realtime gateway's `send` alike: the same checks,
//! the same idempotency, the same errors.
//!
//! A post goes in two steps. [`queue`] checks it and has the store take it, behind every
//! post taken before it ([`Store::queue_post`](hearth_core::store::Store::queue_post));
//! [`QueuedSend::committed`] waits for its commit. REST does both at once ([`post`]); a
//! socket queues each send as it reads it and awaits the commits meanwhile, so one
//! connection's sends in flight share commits and still keep their order.

use hearth_core::mention;
use hearth_core::model::User;
use hearth_core::permission;
use hearth_core::store::{NewMessage, Posted, QueuedPost, StoreError};
use hearth_core::value::{MessageText, ValidationError};
use hearth_proto as wire;

use crate::api::access::{self, not_found_as};
use crate::error::{ApiError, ApiResult, NotFound};
use crate::sending::InFlight;
use crate::state::AppState;

/// Checks a post, has the store take it and waits for its commit.
pub async fn post(
    state: &AppState,
    me: &User,
    channel_id: &str,
    req: wire::PostMessageRequest,
) -> ApiResult<Posted> {
    queue(state, me, channel_id, req).await?.committed().await
}

/// A post that passed every check and that the store has taken; its commit is ahead.
#[must_use = "the post's outcome is known only by awaiting `committed`"]
pub struct QueuedSend<'a> {
    state: &'a AppState,
    post: QueuedPost,
    /// Counted until answered, so that background work can step aside while sends queue.
    _in_flight: InFlight<'a>,
}

impl QueuedSend<'_> {
    /// The post once committed, or why the store refused it or could not commit it.
    pub async fn committed(self) -> ApiResult<Posted> {
        let posted = self.post.await.map_err(store_error)?;
        if !posted.replayed {
            // The message is committed: its notifications can be worked out now.
            self.state.notifier.message_committed();
        }
        Ok(posted)
    }
}

/// Checks a post and has the store take it, behind every post it took before. A refusal
/// found by these checks is answered here; one only the store can find (a reused
/// `client_msg_id`, a file deleted meanwhile) comes from [`QueuedSend::committed`].
pub async fn queue<'a>(
    state: &'a AppState,
    me: &User,
    channel_id: &str,
    req: wire::PostMessageRequest,
) -> ApiResult<QueuedSend<'a>> {
    let in_flight = state.sending.start();
    let visible = access::channel_to_use(state, me, channel_id).await?;
    permission::can_post(&visible.channel, visible.membership.as_ref())?;
    let retry = req.client_msg_id.is_some();
    let file_ids = access::shareable_files(state, me, &req.file_ids, retry).await?;
    let text = if file_ids.is_empty() {
        MessageText::parse(&req.text)?
    } else {
        MessageText::parse_caption(&req.text)?
    };
    // The root is resolved like any id the caller names, so a root it cannot see (another
    // workspace's, or in a private channel it is not in) is 404, not `invalid_thread_root`.
    let thread_root_id = match req.thread_root_id.as_deref() {
        None => None,
        Some(raw) => Some(access::message(state, me, raw).await?.0.id),
    };
    let message = NewMessage {
        channel_id: visible.channel.id.clone(),
        author: me.id.clone(),
        mentions: mention::parse(text.as_str()),
        text,
        client_msg_id: client_msg_id(req.client_msg_id)?,
        thread_root_id,
        file_ids,
    };
    let post = state
        .store
        .queue_post(&me.workspace_id, message)
        .await
        .map_err(store_error)?;
    Ok(QueuedSend {
        state,
        post,
        _in_flight: in_flight,
    })
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        // A file deleted between the check above and the post.
        StoreError::Invalid("file_not_found") => ApiError::not_found(NotFound::File),
        e => not_found_as(NotFound::Message)(e.into()),
    }
}

fn client_msg_id(raw: Option<String>) -> Result<Option<String>, ValidationError> {
    match raw {
        None => Ok(None),
        Some(id) if (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(id))
        }
        Some(_) => Err(ValidationError::new(
            "invalid_client_msg_id",
            "client_msg_id must be 1 to 64 printable ASCII characters.",
        )),
    }
}
