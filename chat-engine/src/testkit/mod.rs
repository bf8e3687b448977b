//! Conformance suites that every Store and Bus adapter runs unchanged.
//!
//! Cases are plain async fns ([`store`], [`bus`], [`presence`]), each documented with the
//! guarantee it checks; the macros only list them, so adding a case to the
//! list adds it to every adapter at once. An adapter's test file is one line:
//!
//! ```ignore
//! // chat-store-sqlite/tests/conformance.rs
//! chat_engine::store_conformance!(fixture::sqlite);
//! ```
//!
//! where `fixture::sqlite` is an `async fn() -> impl StoreFixture` giving each
//! test its own isolated store. Cases never sleep: they await events under a
//! timeout ([`within`]), so a broken adapter fails instead of hanging.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::{Bus, Store};

pub mod bus;
pub mod faults;
pub mod layer;
pub mod presence;
pub mod store;

/// A fresh, isolated store for one test (own database or file), and its cleanup.
pub trait StoreFixture: Send + 'static {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// Drops what the test created. Not called when the case panicked: the
    /// data stays for debugging and the adapter's harness sweeps it later.
    fn teardown(self) -> impl Future<Output = ()> + Send;
    /// Every place in storage still holding `text` (a table's column, a
    /// search index), by name: what proves a delete leaves no text behind.
    fn where_stored(&self, text: &str) -> impl Future<Output = Vec<String>> + Send;
}

/// An isolated bus backend (own channel prefix) on which nodes can be made.
pub trait BusFixture: Send + Sync + 'static {
    /// A new node on this fixture's backend. Nodes of one fixture reach each
    /// other, and nothing outside it.
    fn node(&self) -> impl Future<Output = Arc<dyn Bus>> + Send;
    /// Releases what the test created.
    fn teardown(self) -> impl Future<Output = ()> + Send;
}

/// How long a case waits for an event before failing.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `future`, panicking with `what` if it takes longer than [`EVENT_TIMEOUT`].
///
/// # Panics
/// On timeout.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(EVENT_TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {EVENT_TIMEOUT:?} waiting for {what}"),
    }
}

/// Runs every Store case against `$setup`, an `async fn() -> impl StoreFixture`.
#[macro_export]
macro_rules! store_conformance {
    ($setup:path) => {
        $crate::__conformance_cases!(store, StoreFixture, store, $setup;
            group_round_trips,
            append_assigns_gap_free_seq,
            append_checks_membership_and_returns_members,
            concurrent_appends_are_gap_free,
            client_id_retry_returns_stored_message,
            concurrent_client_id_retries_store_once,
            open_direct_is_unique_under_race,
            history_pages_by_seq,
            history_edges,
            mark_read_never_moves_back,
            unread_counts_only_others_messages,
            membership_rules,
            unknown_ids_are_none,
            conversations_ordered_by_activity,
            conversations_page_by_cursor,
            bodies_round_trip_byte_for_byte,
            structured_content_round_trips,
            public_rooms_directory,
            add_member_keeps_the_limit_under_concurrency,
            changes_share_the_gap_free_seq,
            change_retries_return_the_stored_event,
            edit_and_delete_rules,
            reactions_count_each_member_once,
            membership_and_renames_are_events,
            timeline_replays_current_state,
            threads_page_apart,
            concurrent_thread_replies_all_count,
            search_follows_the_current_text,
            search_sees_changes_made_right_after_sending,
            read_marks_and_pins,
            unread_leaves_out_deleted_and_thread_replies,
            roles_decide_who_moderates,
            members_add_where_the_group_allows_it,
            the_owner_leaving_hands_the_group_on,
            bans_keep_users_out,
            mutes_silence_writes,
            blocks_stop_direct_messages_and_invitations,
            two_admins_removing_each_other_leave_one,
            a_ban_racing_a_join_keeps_the_user_out,
            preferences_are_each_members_own,
            archived_conversations_are_listed_apart,
            pinned_conversations_lead_the_first_page,
            contacts_share_a_private_conversation,
            users_are_listed_searched_and_resolved,
            outbox_rows_come_with_their_messages,
            concurrent_claims_take_each_row_once,
            preferences_of_reads_members_only,
        );
        $crate::__conformance_cases!(store, StoreFixture, by_ref, $setup;
            delete_wipes_the_text,
            deleting_a_group_deletes_its_history,
        );
    };
}

/// Runs every Bus case against `$setup`, an `async fn() -> impl BusFixture`.
#[macro_export]
macro_rules! bus_conformance {
    ($setup:path) => {
        $crate::__conformance_cases!(bus, BusFixture, by_ref, $setup;
            delivers_to_a_watching_node,
            ignores_users_it_does_not_watch,
            unwatch_stops_delivery,
            each_watched_recipient_gets_the_event_once,
            delivers_across_nodes,
            preserves_publish_order,
            envelopes_round_trip_intact,
            all_devices_of_a_user_receive,
            a_sign_out_closes_the_user_on_every_node,
            a_watch_covers_every_publish_that_starts_after_it,
        );
        $crate::__conformance_cases!(presence, BusFixture, by_ref, $setup;
            presence_comes_with_the_first_node_and_goes_with_the_last,
            a_dead_node_s_users_go_offline_at_its_deadline,
            a_sweep_spares_users_still_online_elsewhere,
            renewals_keep_users_online_and_restore_lapsed_ones,
            racing_nodes_announce_a_change_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($module:ident, $fixture:ident, $arg:ident, $setup:path; $($case:ident),+ $(,)?) => { $(
        // Multi-threaded on purpose: concurrency cases must race for real.
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let fixture = $setup().await;
            $crate::testkit::$module::$case($crate::__fixture_arg!($arg, $fixture, fixture)).await;
            $crate::testkit::$fixture::teardown(fixture).await;
        }
    )+ };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __fixture_arg {
    (store, $fixture:ident, $value:ident) => {
        $crate::testkit::$fixture::store(&$value)
    };
    (by_ref, $fixture:ident, $value:ident) => {
        &$value
    };
}
