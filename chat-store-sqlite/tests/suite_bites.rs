//! Proof that the Store suite bites: deliberately wrong stores, built on the
//! real one, must fail the cases that pin down what they get wrong.

use std::sync::Arc;

use async_trait::async_trait;
use chat_engine::testkit::layer::StoreLayer;
use chat_engine::testkit::store as cases;
use chat_engine::{
    Appended, ConversationId, MessageId, NewMessageRecord, ReadMarkUpdate, Seq, Store, StoreResult,
    UserId,
};
use chat_store_sqlite::SqliteStore;

#[derive(Debug, Clone, Copy)]
enum Flaw {
    /// Every append burns one extra seq, leaving holes.
    SkipsSeqs,
    /// Retries are stored again instead of returning the first message.
    IgnoresClientId,
    /// Read marks are written as given, even backwards.
    LowersReadMarks,
}

#[derive(Debug)]
struct Flawed {
    inner: SqliteStore,
    flaw: Flaw,
}

#[async_trait]
impl StoreLayer for Flawed {
    fn inner(&self) -> &dyn Store {
        &self.inner
    }
    async fn append(&self, mut message: NewMessageRecord) -> StoreResult<Appended> {
        match self.flaw {
            Flaw::SkipsSeqs => {
                let mut burned = message.clone();
                burned.id = MessageId::generate();
                burned.client_id = None;
                self.inner.append(burned).await?;
            }
            Flaw::IgnoresClientId => {
                if let Some(key) = message.client_id.take() {
                    message.client_id = Some(format!("{key}-{}", MessageId::generate()));
                }
            }
            Flaw::LowersReadMarks => {}
        }
        self.inner.append(message).await
    }
    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        match self.flaw {
            Flaw::LowersReadMarks => {
                sqlx_set_read(&self.inner, id, user, seq).await;
                Ok(ReadMarkUpdate { seq, moved: true })
            }
            _ => self.inner.mark_read(id, user, seq).await,
        }
    }
}

async fn sqlx_set_read(store: &SqliteStore, id: &ConversationId, user: &UserId, seq: Seq) {
    chat_store_sqlite::sqlx::query(
        "UPDATE chat_members SET read_seq = ? WHERE conversation_id = ? AND user_id = ?",
    )
    .bind(i64::try_from(seq).unwrap())
    .bind(id.as_str())
    .bind(user.as_str())
    .execute(store.pool())
    .await
    .unwrap();
}

async fn flawed(flaw: Flaw) -> Arc<dyn Store> {
    let inner = SqliteStore::connect("sqlite::memory:").await.unwrap();
    Arc::new(Flawed { inner, flaw })
}

/// Runs a case on its own task and reports whether it failed (panicked).
async fn fails<F>(case: F) -> bool
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(case)
        .await
        .is_err_and(|error| error.is_panic())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_skips_seqs() {
    assert!(
        fails(cases::append_assigns_gap_free_seq(
            flawed(Flaw::SkipsSeqs).await
        ))
        .await
    );
    assert!(
        fails(cases::concurrent_appends_are_gap_free(
            flawed(Flaw::SkipsSeqs).await
        ))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_ignores_client_ids() {
    let store = flawed(Flaw::IgnoresClientId).await;
    assert!(fails(cases::client_id_retry_returns_stored_message(store)).await);
    let store = flawed(Flaw::IgnoresClientId).await;
    assert!(fails(cases::concurrent_client_id_retries_store_once(store)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_lowers_read_marks() {
    assert!(
        fails(cases::mark_read_never_moves_back(
            flawed(Flaw::LowersReadMarks).await
        ))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unflawed_store_passes_the_same_cases() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    assert!(!fails(cases::append_assigns_gap_free_seq(Arc::clone(&store))).await);
    assert!(
        !fails(cases::client_id_retry_returns_stored_message(Arc::clone(
            &store
        )))
        .await
    );
    assert!(!fails(cases::mark_read_never_moves_back(store)).await);
}
