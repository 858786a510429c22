//! Resolving ids from URLs into objects the caller may see.
//!
//! Architecture Invariant: a handler never reads a channel or message by id except through
//! these functions, so "not yours" and "does not exist" are the same 404 on every route.

use hearth_core::id::{ChannelId, FileId, MessageId, UserId};
use hearth_core::model::{Channel, File, MAX_FILES_PER_MESSAGE, Membership, Message, User};
use hearth_core::permission;

use crate::api::access_cache::Access;
use crate::error::{ApiError, ApiResult, NotFound};
use crate::state::AppState;

/// A channel the caller can see, with the caller's membership if any.
pub struct VisibleChannel {
    pub channel: Channel,
    pub membership: Option<Membership>,
}

/// A channel the caller can see, read from the store.
pub async fn channel(state: &AppState, me: &User, raw_id: &str) -> ApiResult<VisibleChannel> {
    let id = channel_id(raw_id)?;
    let found = state
        .store
        .channel_for(&me.workspace_id, &id, &me.id)
        .await?;
    visible(me, found)
}

/// [`channel`] for a request that only checks the caller's access before acting on the
/// channel (posting, reading history): answered from the node's access cache when it has
/// a fresh entry. The channel's `last_message_seq` and the membership's `last_read_seq`
/// may then be up to a second old; see `api::access_cache` for why access itself is not.
pub async fn channel_to_use(
    state: &AppState,
    me: &User,
    raw_id: &str,
) -> ApiResult<VisibleChannel> {
    let id = channel_id(raw_id)?;
    let ws = &me.workspace_id;
    let cache = state.hub.access();
    let found = match cache.get(ws, &id, &me.id) {
        Ok(access) => Some(access),
        Err(ticket) => {
            let found = state.store.channel_for(ws, &id, &me.id).await?;
            if let Some(access) = &found {
                cache.store(ticket, &me.id, access);
            }
            found
        }
    };
    visible(me, found)
}

fn channel_id(raw_id: &str) -> ApiResult<ChannelId> {
    ChannelId::parse(raw_id).ok_or_else(|| ApiError::not_found(NotFound::Channel))
}

/// The channel found for the caller, if the caller may see it; 404 otherwise.
fn visible(me: &User, found: Option<Access>) -> ApiResult<VisibleChannel> {
    match found {
        Some((channel, membership))
            if permission::can_see_channel(me, &channel, membership.as_ref()) =>
        {
            Ok(VisibleChannel {
                channel,
                membership,
            })
        }
        _ => Err(ApiError::not_found(NotFound::Channel)),
    }
}

/// A message the caller can see (it can see the message's channel), and that channel.
pub async fn message(
    state: &AppState,
    me: &User,
    raw_id: &str,
) -> ApiResult<(Message, VisibleChannel)> {
    let not_found = || ApiError::not_found(NotFound::Message);
    let id = MessageId::parse(raw_id).ok_or_else(not_found)?;
    let message = state
        .store
        .message(&me.workspace_id, &id)
        .await?
        .ok_or_else(not_found)?;
    let channel = channel(state, me, message.channel_id.as_str())
        .await
        .map_err(|e| if e.status == 404 { not_found() } else { e })?;
    Ok((message, channel))
}

/// A file the caller can see: its uploader's, or shared by a live message in a channel
/// the caller can see.
pub async fn file(state: &AppState, me: &User, raw_id: &str) -> ApiResult<File> {
    let not_found = || ApiError::not_found(NotFound::File);
    let id = FileId::parse(raw_id).ok_or_else(not_found)?;
    let ws = &me.workspace_id;
    let file = state.store.file(ws, &id).await?.ok_or_else(not_found)?;
    if permission::can_see_file(me, &file, false) {
        return Ok(file);
    }
    for channel in state.store.file_channels(ws, &id).await? {
        if let Some((channel, membership)) = state.store.channel_for(ws, &channel, &me.id).await?
            && permission::can_see_channel(me, &channel, membership.as_ref())
        {
            return Ok(file);
        }
    }
    Err(not_found())
}

/// An account of the caller's workspace.
pub async fn user(state: &AppState, me: &User, raw_id: &str) -> ApiResult<User> {
    let not_found = || ApiError::not_found(NotFound::User);
    let id = UserId::parse(raw_id).ok_or_else(not_found)?;
    state
        .store
        .user(&me.workspace_id, &id)
        .await?
        .ok_or_else(not_found)
}

/// Parses a list of user ids from a body; any malformed one is `user_not_found`, like an
/// id that does not exist.
pub fn user_ids(raw: &[String]) -> ApiResult<Vec<UserId>> {
    raw.iter()
        .map(|s| UserId::parse(s).ok_or_else(|| ApiError::not_found(NotFound::User)))
        .collect()
}

/// The files a new message may share: at most [`MAX_FILES_PER_MESSAGE`] distinct ids
/// (repeats count once, in first-given order), each one the sender can see; any other
/// id is `file_not_found`. A `retry` (a send with a `client_msg_id`) may also name files
/// deleted since: the store answers a retry of a known send with the original, and
/// refuses the id of a file that no longer exists for a new one.
pub async fn shareable_files(
    state: &AppState,
    me: &User,
    raw: &[String],
    retry: bool,
) -> ApiResult<Vec<FileId>> {
    let mut ids: Vec<&str> = Vec::with_capacity(MAX_FILES_PER_MESSAGE);
    for id in raw {
        if ids.contains(&id.as_str()) {
            continue;
        }
        if ids.len() == MAX_FILES_PER_MESSAGE {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_files",
                "A message can share at most 10 files.",
            ));
        }
        ids.push(id);
    }
    let mut files = Vec::with_capacity(ids.len());
    for raw_id in ids {
        match file(state, me, raw_id).await {
            Ok(file) => files.push(file.id),
            Err(e) if e.status == 404 && retry => {
                let Some(id) = FileId::parse(raw_id) else {
                    return Err(e);
                };
                // Passed on only when no such file exists any more; one that exists but
                // is not the sender's to see stays not found.
                if state.store.file(&me.workspace_id, &id).await?.is_some() {
                    return Err(e);
                }
                files.push(id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(files)
}

/// Maps the store's generic `NotFound` to the kind of object the route is about.
pub fn not_found_as(kind: NotFound) -> impl Fn(ApiError) -> ApiError {
    move |e| {
        if e.status == 404 {
            ApiError::not_found(kind)
        } else {
            e
        }
    }
}
