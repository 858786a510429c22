//! Snapshots of every wire type, so any change to what crosses the wire shows up in
//! review as a changed `.snap` file. Ids and times are fixed fakes, so snapshots are
//! stable.

use hearth_proto::*;
use insta::assert_json_snapshot;

const T: &str = "2026-11-22T12:00:00.000Z";

fn user() -> User {
    User {
        id: "U00000000000000000000000001".into(),
        handle: "ada".into(),
        display_name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        role: "owner".into(),
        status_text: "Computing".into(),
        status_emoji: Some("abacus".into()),
        deactivated: false,
        created_at: T.into(),
    }
}

fn workspace() -> Workspace {
    Workspace {
        id: "T00000000000000000000000001".into(),
        name: "Acme".into(),
        slug: "acme".into(),
        created_at: T.into(),
    }
}

fn channel() -> Channel {
    Channel {
        id: "C00000000000000000000000001".into(),
        kind: "public".into(),
        name: Some("general".into()),
        topic: "Company-wide".into(),
        purpose: "".into(),
        archived: false,
        created_by: "U00000000000000000000000001".into(),
        created_at: T.into(),
        last_seq: 42,
    }
}

fn message() -> Message {
    Message {
        id: "M00000000000000000000000001".into(),
        channel_id: "C00000000000000000000000001".into(),
        seq: 42,
        user_id: "U00000000000000000000000001".into(),
        text: "Hello <@U00000000000000000000000002>".into(),
        created_at: T.into(),
        edited_at: None,
        deleted: false,
        thread_root_id: None,
        reply_count: 2,
        last_reply_at: Some(T.into()),
        reactions: vec![Reaction {
            emoji: "+1".into(),
            count: 1,
            user_ids: vec!["U00000000000000000000000002".into()],
        }],
        files: vec![sample_file()],
        client_msg_id: Some("c-1".into()),
    }
}

fn sample_file() -> File {
    File {
        id: "F00000000000000000000000001".into(),
        name: "diagram.png".into(),
        size: 48213,
        mime_type: "image/png".into(),
        width: Some(1280),
        height: Some(720),
        url: "/api/v1/files/F00000000000000000000000001".into(),
        thumb_url: Some("/api/v1/files/F00000000000000000000000001/thumb".into()),
    }
}

#[test]
fn file_info() {
    let pdf = File {
        id: "F00000000000000000000000002".into(),
        name: "../../report.pdf".into(),
        size: 1024,
        mime_type: "application/pdf".into(),
        width: None,
        height: None,
        url: "/api/v1/files/F00000000000000000000000002".into(),
        thumb_url: None,
    };
    assert_json_snapshot!(FileInfo {
        file: pdf,
        uploader_id: "U00000000000000000000000001".into(),
        created_at: T.into(),
    });
}

#[test]
fn error_body() {
    assert_json_snapshot!(ErrorBody::new("channel_not_found", "Channel not found."));
}

#[test]
fn accounts() {
    assert_json_snapshot!(
        "create_workspace_response",
        CreateWorkspaceResponse {
            workspace: workspace(),
            user: user(),
            token: Some("TOKEN".into()),
            csrf_token: None,
        }
    );
    assert_json_snapshot!(
        "cookie_session_response",
        SessionResponse {
            workspace: workspace(),
            user: user(),
            token: None,
            csrf_token: Some("CSRF".into()),
        }
    );
    assert_json_snapshot!(
        "me_response",
        MeResponse {
            workspace: workspace(),
            user: user()
        }
    );
    assert_json_snapshot!(
        "invite_response",
        InviteResponse {
            code: "CODE".into(),
            email: Some("bob@example.com".into()),
            role: "member".into(),
            expires_at: T.into(),
        }
    );
    assert_json_snapshot!(
        "user_list",
        UserList {
            users: vec![user()],
            next_cursor: Some("azpV".into())
        }
    );
}

#[test]
fn channels() {
    assert_json_snapshot!(
        "my_channel_list",
        MyChannelList {
            channels: vec![MyChannel {
                channel: channel(),
                last_read_seq: 40,
                unread_count: 2,
                mention_count: 1,
                member_ids: vec![],
            }],
        }
    );
    assert_json_snapshot!(
        "browse_list",
        BrowseList {
            channels: vec![BrowseItem {
                channel: channel(),
                member_count: 12,
                is_member: true
            }],
        }
    );
    assert_json_snapshot!(
        "member_list",
        MemberList {
            members: vec![Member {
                user: user(),
                role: "admin".into(),
                joined_at: T.into()
            }],
            next_cursor: None,
        }
    );
    assert_json_snapshot!(
        "read_marker",
        ReadMarker {
            channel_id: "C00000000000000000000000001".into(),
            last_read_seq: 42,
        }
    );
}

#[test]
fn messages() {
    assert_json_snapshot!(
        "message_page",
        MessagePage {
            messages: vec![message()],
            has_more: true
        }
    );
}

#[test]
fn search_results() {
    assert_json_snapshot!(
        "search_results",
        SearchResults {
            results: vec![SearchResult {
                message: message(),
                channel: SearchChannel {
                    id: "C0123456789ABCDEFGHJKMNPQRS".into(),
                    kind: "public".into(),
                    name: Some("general".into()),
                },
                author: SearchAuthor {
                    id: "U0123456789ABCDEFGHJKMNPQRS".into(),
                    handle: "ada".into(),
                    display_name: "Ada".into(),
                },
                snippet: "we <mark>deployed</mark> &amp; celebrated".into(),
            }],
            next_cursor: Some("cj4xLjUuOQ".into()),
        }
    );
}

#[test]
fn events() {
    let list = EventList {
        events: vec![
            Event {
                seq: 42,
                created_at: T.into(),
                event: EventBody::MessageCreated {
                    channel_id: "C00000000000000000000000001".into(),
                    message: message(),
                },
            },
            Event {
                seq: 43,
                created_at: T.into(),
                event: EventBody::ReactionAdded {
                    channel_id: "C00000000000000000000000001".into(),
                    message_id: "M00000000000000000000000001".into(),
                    user_id: "U00000000000000000000000002".into(),
                    emoji: "+1".into(),
                },
            },
            Event {
                seq: 44,
                created_at: T.into(),
                event: EventBody::MemberLeft {
                    channel_id: "C00000000000000000000000001".into(),
                    user_id: "U00000000000000000000000002".into(),
                },
            },
            Event {
                seq: 45,
                created_at: T.into(),
                event: EventBody::ReadMarkerUpdated {
                    channel_id: "C00000000000000000000000001".into(),
                    last_read_seq: 44,
                },
            },
        ],
        last_seq: 45,
        has_more: false,
    };
    assert_json_snapshot!("event_list", list);
}

#[test]
fn requests_reject_unknown_fields() {
    let err = serde_json::from_str::<PostMessageRequest>(r#"{"text":"hi","txet":"typo"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `txet`"), "{err}");
    let ok: PostMessageRequest = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
    assert_eq!(ok.client_msg_id, None);
}

#[test]
fn realtime_frames() {
    let frames = vec![
        ServerFrame::Hello {
            user_id: "U00000000000000000000000001".into(),
            last_seq: 456,
            heartbeat_ms: 30_000,
        },
        ServerFrame::Event(Event {
            seq: 457,
            created_at: T.into(),
            event: EventBody::MemberJoined {
                channel_id: "C00000000000000000000000001".into(),
                user_id: "U00000000000000000000000002".into(),
            },
        }),
        ServerFrame::Resumed { seq: 457 },
        ServerFrame::ResyncRequired,
        ServerFrame::Pong { id: Some(7) },
        ServerFrame::Ack {
            client_msg_id: Some("c-1".into()),
            message: message(),
        },
        ServerFrame::Typing {
            channel_id: "C00000000000000000000000001".into(),
            user_id: "U00000000000000000000000002".into(),
            ttl_ms: 6000,
        },
        ServerFrame::Presence {
            user_id: "U00000000000000000000000002".into(),
            presence: "active".into(),
        },
        ServerFrame::Error {
            code: "not_in_channel".into(),
            message: "Join the channel first.".into(),
            client_msg_id: Some("c-2".into()),
        },
    ];
    assert_json_snapshot!("server_frames", frames);
}

#[test]
fn client_frames_parse_strictly() {
    let auth: ClientFrame =
        serde_json::from_str(r#"{"op":"auth","token":"t","resume_from":5}"#).unwrap();
    assert_eq!(
        auth,
        ClientFrame::Auth {
            token: Some("t".into()),
            resume_from: Some(5)
        }
    );
    let cookie_auth: ClientFrame = serde_json::from_str(r#"{"op":"auth"}"#).unwrap();
    assert_eq!(
        cookie_auth,
        ClientFrame::Auth {
            token: None,
            resume_from: None
        }
    );
    assert_eq!(
        serde_json::from_str::<ClientFrame>(r#"{"op":"activity"}"#).unwrap(),
        ClientFrame::Activity
    );
    assert_eq!(
        serde_json::from_str::<ClientFrame>(r#"{"op":"focus","focused":false}"#).unwrap(),
        ClientFrame::Focus { focused: false }
    );
    for bad in [
        r#"{"op":"ping","id":1,"extra":true}"#,
        r#"{"op":"launch_missiles"}"#,
        r#"{"channel_id":"C1"}"#,
        r#"[1,2]"#,
    ] {
        assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
    }
}

#[test]
fn notification_payload() {
    assert_json_snapshot!(NotificationPayload {
        id: "N00000000000000000000000001".into(),
        workspace_id: "T00000000000000000000000001".into(),
        reason: "mention".into(),
        channel: PayloadChannel {
            id: "C00000000000000000000000001".into(),
            name: Some("general".into()),
            kind: "public".into(),
        },
        sender: PayloadSender {
            id: "U00000000000000000000000001".into(),
            handle: "ada".into(),
            display_name: "Ada Lovelace".into(),
        },
        message: PayloadMessage {
            id: "M00000000000000000000000001".into(),
            seq: 42,
            thread_root_id: None,
            excerpt: "@bob the build is green".into(),
        },
        created_at: T.into(),
    });
}

#[test]
fn notification_settings() {
    assert_json_snapshot!(NotifyPrefs {
        keywords: vec!["deploy".into(), "on call".into()],
        dnd_until: Some(T.into()),
        quiet_hours: Some(QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        }),
        time_zone: "Europe/Paris".into(),
        thread_replies: true,
        email: false,
    });
    // Omitted fields take their defaults.
    let empty: NotifyPrefs = serde_json::from_str("{}").unwrap();
    assert_eq!(empty.time_zone, "UTC");
    assert!(empty.thread_replies && empty.email);
    assert_json_snapshot!(ChannelNotify {
        level: "mentions".into(),
        muted: true,
    });
    let target = PushTarget {
        id: "P00000000000000000000000001".into(),
        kind: "webpush".into(),
        endpoint: "https://push.example.com/send/abc".into(),
        created_at: T.into(),
    };
    assert_json_snapshot!(PushTargetList {
        targets: vec![target.clone()],
    });
    assert_json_snapshot!(DeadLetterList {
        dead_letters: vec![DeadLetter {
            id: "D00000000000000000000000001".into(),
            user_id: "U00000000000000000000000002".into(),
            channel_id: "C00000000000000000000000001".into(),
            kind: "push".into(),
            target: Some(target),
            message_id: Some("M00000000000000000000000001".into()),
            attempts: 8,
            last_error: Some(
                "webhook answered 500 Internal Server Error (after 8 attempts)".into()
            ),
            created_at: T.into(),
        }],
        has_more: false,
    });
}
