//! Posting a top-level message on the write connection's raw handle (see `raw`): the
//! hot path of a chat server, run without a hand-off per statement.
//!
//! It does what `messages::post_message` does for a message that is not a thread reply,
//! statement for statement and with the same SQL, so the two cannot drift apart in what
//! they store: the channel and author checks, the seq bump, the message, its mentions,
//! the channel's newest seq and the `message.created` event, and the search index row
//! deferred to the end of the writer's run of raw jobs (see `writer`), in the same
//! transaction. Its checks all come before its first write: it has no savepoint.
//!
//! Thread replies (which read and re-serialize their root), posts that share files, and
//! retries of a known `client_msg_id` (which read the original back) are rarer; they
//! take the sqlx path.

use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPayload};
use hearth_core::id::{MessageId, UserId, WorkspaceId};
use hearth_core::model::Message;
use hearth_core::store::{NewMessage, Posted, StoreError, StoreResult};

use crate::log::{EventColumns, INSERT_EVENT, NEXT_SEQ};
use crate::messages::{INSERT_MENTIONS, INSERT_MESSAGE, UPDATE_CHANNEL_LAST_SEQ, broadcast_name};
use crate::raw::{Param, Raw};
use crate::rows::json_list;
use crate::search::{INDEX_ROW, IndexRow};

/// What the raw path made of a post.
pub(crate) enum FastPost {
    Posted(Posted),
    /// The author already used this `client_msg_id`: nothing was written, and the caller
    /// answers through `messages::post_message`, which compares the retry to the original.
    Known(NewMessage),
}

/// Binds workspace, channel, author: whether the channel exists and the author is an
/// active account of the workspace (`messages::post_message` asks the same, in two).
const CAN_POST: &str = "SELECT EXISTS (SELECT 1 FROM channels WHERE workspace_id = ?1 AND id = ?2) \
     AND EXISTS (SELECT 1 FROM users WHERE workspace_id = ?1 AND id = ?3 AND deactivated = 0)";

/// Binds workspace, author, client_msg_id.
const KNOWN_KEY: &str =
    "SELECT 1 FROM messages WHERE workspace_id = ?1 AND user_id = ?2 AND client_msg_id = ?3";

/// Posts `new`, which must not be a thread reply nor share files. Runs inside the
/// writer's transaction without a savepoint (see `writer`), so every refusal comes
/// before the first write; `now` is read by the caller when the job starts.
pub(crate) fn post_top_level(
    raw: &mut Raw<'_>,
    ws: &WorkspaceId,
    new: NewMessage,
    index: IndexRow,
    now: Timestamp,
) -> StoreResult<FastPost> {
    debug_assert!(new.thread_root_id.is_none() && new.file_ids.is_empty());
    let wsp = Param::Text(ws.as_str());
    if let Some(key) = &new.client_msg_id {
        let known = raw.int(
            KNOWN_KEY,
            &[wsp, Param::Text(new.author.as_str()), Param::Text(key)],
        )?;
        if known.is_some() {
            return Ok(FastPost::Known(new));
        }
    }
    let allowed = raw.int(
        CAN_POST,
        &[
            wsp,
            Param::Text(new.channel_id.as_str()),
            Param::Text(new.author.as_str()),
        ],
    )?;
    if allowed != Some(1) {
        return Err(StoreError::NotFound);
    }

    let seq = raw.int(NEXT_SEQ, &[wsp])?.ok_or(StoreError::NotFound)?;
    let message = Message {
        id: MessageId::generate(),
        workspace_id: ws.clone(),
        channel_id: new.channel_id,
        seq,
        user_id: new.author,
        text: new.text.as_str().to_owned(),
        created_at: now,
        edited_at: None,
        deleted: false,
        thread_root_id: None,
        reply_count: 0,
        last_reply_at: None,
        reactions: Vec::new(),
        files: Vec::new(),
        client_msg_id: new.client_msg_id,
    };
    let channel = Param::Text(message.channel_id.as_str());
    raw.run(
        INSERT_MESSAGE,
        &[
            Param::Text(message.id.as_str()),
            wsp,
            channel,
            Param::Int(seq),
            Param::Text(message.user_id.as_str()),
            Param::Text(&message.text),
            Param::Int(now.0),
            Param::Null,
            message.client_msg_id.as_deref().into(),
            new.mentions.broadcast.map(broadcast_name).into(),
            Param::Null,
        ],
    )?;
    let rowid = raw.last_insert_rowid();
    raw.defer(Box::new(move |raw| {
        raw.run(
            INDEX_ROW,
            &[
                Param::Int(rowid),
                Param::Text(&index.terms),
                Param::Text(&index.variants),
                Param::Text(&index.flags),
            ],
        )
    }));
    let mentions = &new.mentions;
    if !(mentions.user_ids.is_empty() && mentions.handles.is_empty()) {
        let ids = json_list(mentions.user_ids.iter().map(UserId::as_str));
        let handles = json_list(mentions.handles.iter().map(|h| h.as_str()));
        raw.run(
            INSERT_MENTIONS,
            &[
                wsp,
                channel,
                Param::Text(message.id.as_str()),
                Param::Int(seq),
                Param::Text(&ids),
                Param::Text(&handles),
            ],
        )?;
    }
    raw.run(UPDATE_CHANNEL_LAST_SEQ, &[Param::Int(seq), wsp, channel])?;

    let payload = EventPayload::MessageCreated {
        message: message.clone(),
    };
    let row = EventColumns::of(&payload)?;
    raw.run(
        INSERT_EVENT,
        &[
            wsp,
            Param::Int(seq),
            Param::Text(payload.kind()),
            row.channel_id.as_ref().map(|c| c.as_str()).into(),
            row.user_id.as_ref().map(|u| u.as_str()).into(),
            Param::Text(&row.body),
            Param::Int(now.0),
        ],
    )?;
    Ok(FastPost::Posted(Posted {
        message,
        replayed: false,
        events: vec![Event {
            seq,
            created_at: now,
            payload,
        }],
    }))
}
