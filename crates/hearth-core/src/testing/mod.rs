//! The `Store` conformance suite (feature `testing`): one set of behavioural tests that
//! every backend runs, so SQLite and PostgreSQL behave the same.
//!
//! The [`Store`] trait's doc comments are the contract; each test here checks one promise
//! from them that a user would notice if it broke (a message posted twice, an event shown
//! to someone outside a private channel, a resume that silently skips events). Tests build
//! their data through the store itself, starting from a [`Fixture`], so they hold for any
//! backend and never depend on its tables.
//!
//! A backend runs the suite from one integration test, handing the macro an async
//! expression that opens a fresh, empty store (anything that converts into a
//! [`TestStore`]):
//!
//! ```ignore
//! hearth_core::store_conformance_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).await.unwrap();
//!     hearth_core::testing::TestStore::new(store).keeping(dir)
//! });
//! ```
//!
//! It expands to one `#[tokio::test]` per conformance test (in one module per area, so
//! output reads `messages::client_msg_id_retry_returns_the_original`), each on a fresh
//! store. The calling crate needs `tokio` with the multi-threaded runtime.

use std::any::Any;
use std::sync::Arc;

use crate::store::Store;

mod fixture;

pub use fixture::*;

pub mod accounts;
pub mod channels;
pub mod concurrency;
pub mod conversations;
pub mod event_log;
pub mod event_visibility;
pub mod files;
pub mod isolation;
pub mod messages;
pub mod notify;
pub mod notify_delivery;
pub mod notify_expansion;
pub mod notify_recheck;
pub mod read_markers;
pub mod realtime_support;
pub mod search;
pub mod sessions_invites;
pub mod threads_reactions;

/// A fresh store for one test, and whatever must outlive it (a temporary directory, a
/// scratch database) until the test ends.
pub struct TestStore {
    store: Arc<dyn Store>,
    // Dropped after `store`: fields drop in declaration order.
    _keep: Option<Box<dyn Any + Send>>,
}

impl TestStore {
    pub fn new(store: impl Store) -> Self {
        Self::from(Arc::new(store) as Arc<dyn Store>)
    }

    /// Keeps `guard` alive (and undropped) for as long as the test runs.
    pub fn keeping(mut self, guard: impl Any + Send) -> Self {
        self._keep = Some(Box::new(guard));
        self
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

impl From<Arc<dyn Store>> for TestStore {
    fn from(store: Arc<dyn Store>) -> Self {
        Self { store, _keep: None }
    }
}

impl<S: Store> From<S> for TestStore {
    fn from(store: S) -> Self {
        Self::new(store)
    }
}

/// Every area module's source, to find its tests.
const AREAS: &[(&str, &str)] = &[
    ("accounts", include_str!("accounts.rs")),
    ("channels", include_str!("channels.rs")),
    ("concurrency", include_str!("concurrency.rs")),
    ("conversations", include_str!("conversations.rs")),
    ("event_log", include_str!("event_log.rs")),
    ("event_visibility", include_str!("event_visibility.rs")),
    ("files", include_str!("files.rs")),
    ("isolation", include_str!("isolation.rs")),
    ("messages", include_str!("messages.rs")),
    ("notify", include_str!("notify.rs")),
    ("notify_delivery", include_str!("notify_delivery.rs")),
    ("notify_expansion", include_str!("notify_expansion.rs")),
    ("notify_recheck", include_str!("notify_recheck.rs")),
    ("read_markers", include_str!("read_markers.rs")),
    ("realtime_support", include_str!("realtime_support.rs")),
    ("search", include_str!("search.rs")),
    ("sessions_invites", include_str!("sessions_invites.rs")),
    ("threads_reactions", include_str!("threads_reactions.rs")),
];

/// The conformance tests (`area::name`, each a `pub async fn` at the start of a line in
/// an area module) that are not in `listed`.
pub fn unlisted_tests(listed: &[&str]) -> Vec<String> {
    let mut unlisted = Vec::new();
    for (area, source) in AREAS {
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub async fn ") else {
                continue;
            };
            let name = format!("{area}::{}", rest.split('(').next().unwrap_or_default());
            if !listed.contains(&name.as_str()) {
                unlisted.push(name);
            }
        }
    }
    unlisted
}

/// Expands to one `#[tokio::test]` per conformance test; see the [module docs](crate::testing).
///
/// The list below is the suite: it must name every `pub async fn` of the area modules. The
/// generated `suite::every_conformance_test_is_listed` fails when one is missing, since it
/// would otherwise silently not run.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@list (@areas $make));
        mod suite {
            #[test]
            fn every_conformance_test_is_listed() {
                let listed = $crate::store_conformance_tests!(@list (@names));
                let unlisted = $crate::testing::unlisted_tests(listed);
                assert!(unlisted.is_empty(), "not in store_conformance_tests!: {unlisted:?}");
            }
        }
    };
    (@list ($($mode:tt)*)) => {
        $crate::store_conformance_tests!($($mode)*;
            accounts {
                create_workspace_makes_its_owner,
                slug_taken,
                workspace_lookups,
                handles_derive_from_email_with_numeric_suffixes,
                explicit_taken_handle_conflicts,
                email_taken,
                update_user_appends_snapshot,
                last_owner_is_protected,
                deactivation_ends_sessions,
                list_users_pages_without_dupes_or_holes,
            }
            sessions_invites {
                session_lookup_by_token_hash,
                expired_session_is_none,
                delete_session_signs_out,
                email_invite_is_single_use,
                invite_email_must_match,
                expired_invite_is_invalid,
                unknown_or_foreign_invite_is_invalid,
                open_invite_is_reusable_and_sets_role,
            }
            channels {
                create_channel_makes_creator_admin,
                channel_names_are_unique,
                browse_lists_public_channels_with_member_counts,
                update_channel_appends_channel_updated,
                rename_to_taken_name_conflicts,
                add_members_adds_only_new_members,
                add_members_rejects_unknown_or_inactive_all_or_nothing,
                remove_member_appends_member_left,
                list_members_pages_by_user_id,
            }
            conversations {
                open_conversation_is_get_or_create,
                self_dm_and_group_dm_sizes,
                too_many_members,
                open_conversation_needs_active_accounts,
                list_user_channels_names_the_other_participants,
            }
            messages {
                post_message_seq_is_its_event_seq,
                post_into_unknown_channel_is_not_found,
                history_pages_oldest_first_without_replies,
                client_msg_id_retry_returns_the_original,
                client_msg_id_reuse_with_other_content_is_invalid,
                edit_sets_edited_at_and_appends_event,
                delete_leaves_a_tombstone_once,
                deleted_message_cannot_be_edited_or_reacted_to,
            }
            threads_reactions {
                reply_updates_its_root,
                invalid_thread_roots,
                list_replies_pages,
                deleting_a_reply_decrements_reply_count,
                reactions_are_idempotent_and_ordered,
                remove_reaction,
            }
            read_markers {
                unread_count_counts_others_top_level_messages,
                mark_read_moves_the_marker,
                mark_read_rejects_bad_seq_and_non_members,
                mention_count_counts_mentions_and_broadcasts,
                every_unread_dm_message_is_a_mention,
            }
            event_log {
                seqs_strictly_increase_and_match_committed_events,
                events_after_pages_without_skipping,
                resync_when_after_is_newer_than_log,
                prune_forces_resync_only_before_pruned_seq,
                seqs_are_not_reused_after_prune,
                prune_clears_a_backlog_larger_than_one_step,
            }
            event_visibility {
                private_channel_events_only_reach_members,
                removed_member_sees_own_leave_then_nothing,
                late_joiner_sees_from_join_on,
                read_markers_and_profiles_audience,
            }
            realtime_support {
                subscription_lists_exactly_the_users_channels,
                unknown_or_foreign_ids_are_not_found,
                log_after_is_the_whole_log_unfiltered,
                log_after_pages_walk_the_log_once,
                log_after_resyncs_ahead_of_the_log_or_behind_pruning,
                events_after_a_subscription_are_newer_than_it,
                subscription_is_one_snapshot_while_channels_are_created,
            }
            isolation {
                accounts_and_names_are_per_workspace,
                foreign_channel_is_missing,
                foreign_message_is_missing,
                foreign_users_cannot_be_added_or_messaged,
                event_logs_are_separate,
            }
            search {
                words_must_all_match,
                stemming_case_and_accents_do_not_matter,
                phrases_and_exclusions,
                prefixes_match_words_and_stems,
                cjk_text_is_found_by_substrings,
                from_and_in_filters,
                rare_authors_and_channels_among_a_common_words_matches,
                date_filters,
                has_and_is_filters,
                relevance_ranks_better_matches_first_and_recent_sorts_by_time,
                pages_have_no_duplicates_or_holes,
                ranked_phrases_page_through_their_newest_matches,
                edits_and_deletes_apply_at_once,
                canaries_never_leak,
                snippets_mark_matches_and_escape_html,
                bad_queries_and_cursors_are_refused,
                everything_posted_is_indexed_without_a_backlog,
            }
            files {
                created_files_read_back,
                quota_counts_live_files_atomically,
                quota_holds_under_concurrent_uploads,
                messages_carry_their_files,
                sharing_unknown_or_deleted_files_stores_nothing,
                retries_must_name_the_same_files,
                deleting_a_file_removes_it_from_messages,
                deleting_the_last_message_deletes_its_files,
                purging_forgets_files_and_collects_orphans,
                files_are_per_workspace,
            }
            notify {
                prefs_default_and_round_trip,
                channel_notify_needs_membership,
                push_targets_upsert_limit_and_delete,
                a_browser_belongs_to_the_last_user_who_registered_it,
                server_secret_first_writer_wins,
            }
            notify_expansion {
                cursor_claims_are_exclusive_and_lapse,
                sources_are_new_messages_with_mentions,
                candidates_everyone_and_filtered,
                record_is_idempotent_and_creates_deliveries,
            }
            notify_delivery {
                deliveries_claim_finish_retry_and_dead,
                target_gone_removes_the_target_and_skips_its_pending,
                unread_notifications_follow_read_marker_and_sent_emails,
                notifications_recorded_while_an_email_is_sent_get_the_next,
                prune_removes_finished_work,
                finish_deliveries_records_each_that_its_lease_still_holds,
            }
            notify_recheck {
                push_check_reads_what_a_push_is_rechecked_against,
            }
            concurrency {
                concurrent_posts_get_distinct_seqs_in_commit_order,
                queued_posts_are_stored_in_the_order_queued,
                concurrent_retries_store_one_message,
                concurrent_get_or_create_and_uniqueness,
            }
        );
    };
    (@names; $($area:ident { $($test:ident),* $(,)? })*) => {
        &[$($(concat!(stringify!($area), "::", stringify!($test))),*),*]
    };
    (@areas $make:expr; $($area:ident { $($test:ident),* $(,)? })*) => {
        $(
            mod $area {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $test() {
                        let test_store: $crate::testing::TestStore = ($make).await.into();
                        $crate::testing::$area::$test(test_store.store()).await;
                    }
                )*
            }
        )*
    };
}
