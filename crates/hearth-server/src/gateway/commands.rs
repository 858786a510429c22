//! What a connection does with each command frame once it is live: `ping`, `send`,
//! `typing`, presence. Replies go through the connection's outbox, so they stay in order
//! with the events around them; a send's reply waits for its commit, and the replies of
//! one connection's sends go out in the order it sent them.

use std::pin::Pin;

use axum::extract::ws::Utf8Bytes;
use hearth_core::id::{ChannelId, UserId};
use hearth_core::model::User;
use hearth_proto::{ClientFrame, ServerFrame};

use super::encode;
use super::hub::Command;
use super::outbox::{ConnId, Outbox};
use crate::api::posting;
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// The most users one `presence_sub` may name.
const MAX_PRESENCE_SUB: usize = 500;

/// A send's reply (its `ack`, or the error refusing it), once known.
pub(super) type SendReply<'a> = Pin<Box<dyn Future<Output = Utf8Bytes> + Send + 'a>>;

/// Handles one command. A `send` is checked and taken by the store in the order read, but
/// its commit is not awaited here: its reply comes back to be awaited with the others in
/// flight, in the order the sends were read (see `connection::read_loop`).
pub(super) async fn handle<'a>(
    frame: ClientFrame,
    state: &'a AppState,
    user: &User,
    id: ConnId,
    outbox: &Outbox,
) -> Option<SendReply<'a>> {
    let ws = &user.workspace_id;
    let hub = &state.hub;
    match frame {
        ClientFrame::Auth { .. } => {
            outbox.push(error_frame(
                "already_authenticated",
                "This connection is already signed in.",
                None,
            ));
        }
        ClientFrame::Ping { id } => {
            outbox.push(encode(&ServerFrame::Pong { id }));
        }
        ClientFrame::Send {
            channel_id,
            text,
            client_msg_id,
            thread_root_id,
            file_ids,
        } => {
            let request = hearth_proto::PostMessageRequest {
                text,
                client_msg_id: client_msg_id.clone(),
                thread_root_id,
                file_ids,
            };
            // Writing is being at the client: the user sees the conversation.
            state.attention.focus(ws, &user.id, id);
            let reply: SendReply<'a> = match posting::queue(state, user, &channel_id, request).await
            {
                Ok(queued) => Box::pin(async move {
                    match queued.committed().await {
                        Ok(posted) => encode(&ServerFrame::Ack {
                            client_msg_id,
                            message: convert::message(&posted.message),
                        }),
                        Err(e) => api_error_frame(&e, client_msg_id),
                    }
                }),
                Err(e) => refused(api_error_frame(&e, client_msg_id)),
            };
            hub.send(
                ws,
                Command::Activity {
                    ws: ws.clone(),
                    conn: id,
                },
            );
            return Some(reply);
        }
        ClientFrame::Typing { channel_id } => match ChannelId::parse(&channel_id) {
            Some(channel) => hub.send(
                ws,
                Command::Typing {
                    ws: ws.clone(),
                    conn: id,
                    channel,
                },
            ),
            None => {
                outbox.push(error_frame(
                    "not_in_channel",
                    "Join the channel first.",
                    None,
                ));
            }
        },
        ClientFrame::PresenceSub { user_ids } => {
            if user_ids.len() > MAX_PRESENCE_SUB {
                outbox.push(error_frame(
                    "too_many_users",
                    &format!("Subscribe to at most {MAX_PRESENCE_SUB} users."),
                    None,
                ));
                return None;
            }
            // Ids that are not well-formed cannot be anyone's: they are simply skipped.
            let users: Vec<UserId> = user_ids.iter().filter_map(|u| UserId::parse(u)).collect();
            hub.send(
                ws,
                Command::PresenceSub {
                    ws: ws.clone(),
                    conn: id,
                    users,
                },
            );
        }
        ClientFrame::SetPresence { presence } => {
            let away = match presence.as_str() {
                "away" => true,
                "auto" => false,
                _ => {
                    outbox.push(error_frame(
                        "invalid_presence",
                        "presence is auto or away.",
                        None,
                    ));
                    return None;
                }
            };
            hub.send(
                ws,
                Command::SetAway {
                    ws: ws.clone(),
                    conn: id,
                    away,
                },
            );
        }
        ClientFrame::Focus { focused: false } => {
            state.attention.blur(ws, &user.id, id);
        }
        ClientFrame::Activity | ClientFrame::Focus { focused: true } => {
            state.attention.focus(ws, &user.id, id);
            hub.send(
                ws,
                Command::Activity {
                    ws: ws.clone(),
                    conn: id,
                },
            );
        }
    }
    None
}

/// The reply of a send refused before the store took it, in its place among the others.
pub(super) fn refused<'a>(error: Utf8Bytes) -> SendReply<'a> {
    Box::pin(std::future::ready(error))
}

pub(super) fn error_frame(code: &str, message: &str, client_msg_id: Option<String>) -> Utf8Bytes {
    encode(&ServerFrame::Error {
        code: code.to_owned(),
        message: message.to_owned(),
        client_msg_id,
    })
}

fn api_error_frame(error: &ApiError, client_msg_id: Option<String>) -> Utf8Bytes {
    error_frame(error.code, &error.message, client_msg_id)
}
