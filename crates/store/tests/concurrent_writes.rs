#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Concurrent write transactions: each one's work is kept or undone on its own, whatever the
//! others do, and on SQLite commits made while an fsync runs share the next one.

use std::sync::Arc;

use serde_json::json;
use store::audit::AuditEntry;
use store::{Backend, Q, Store};
use test_support::{dual_test, seed_org};

async fn notes(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .db
        .fetch_all(Q::new("SELECT body FROM group_notes"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.string("body").unwrap())
        .collect();
    v.sort();
    v
}

async fn table(store: &Store) {
    store
        .db
        .execute(Q::new(
            "CREATE TABLE group_notes (body TEXT NOT NULL UNIQUE)",
        ))
        .await
        .unwrap();
}

dual_test!(
    async fn concurrent_transactions_commit_roll_back_and_vanish_on_their_own(db) {
        let store = Arc::new(db.store.clone());
        table(&store).await;
        let (org, _) = seed_org(&store, "grouped").await;
        let before = store.db.wal_fsyncs();
        let mut tasks = Vec::new();
        for i in 0..60 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.execute(Q::new("INSERT INTO group_notes (body) VALUES ($1)").bind(format!("n{i:02}")))
                    .await
                    .unwrap();
                tx.audit(&store, org.id, AuditEntry::system("test.note", "note", json!({ "i": i })))
                    .await
                    .unwrap();
                // Every third one changes its mind; every fifth writes a duplicate, which fails,
                // and is dropped.
                if i % 3 == 0 {
                    tx.rollback().await.unwrap();
                    return;
                }
                if i % 5 == 0 {
                    let dup = tx
                        .execute(Q::new("INSERT INTO group_notes (body) VALUES ($1)").bind(format!("n{i:02}")))
                        .await;
                    assert!(dup.unwrap_err().is_unique_violation());
                    return;
                }
                tokio::task::yield_now().await;
                tx.commit().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let want: Vec<String> =
            (0..60).filter(|i| i % 3 != 0 && i % 5 != 0).map(|i| format!("n{i:02}")).collect();
        assert_eq!(notes(&store).await, want);
        // The chain holds exactly the committed transactions' events, in one unbroken line.
        let report = store.verify_audit(org.id, None).await.unwrap();
        assert_eq!(report.broken, None);
        let events = store.audit_events(org.id, 0, 10_000).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "test.note").count(), want.len());

        if store.db.backend() == Backend::Sqlite {
            // Every commit waited for an fsync made after it; commits made while one runs share
            // the next (how many share depends on timing: `durable.rs` tests it exactly).
            let fsyncs = store.db.wal_fsyncs().unwrap() - before.unwrap();
            assert!(fsyncs >= 1 && fsyncs <= want.len() as u64, "{fsyncs} fsyncs for {} commits", want.len());
        } else {
            assert_eq!(store.db.wal_fsyncs(), None);
        }
    }
);

// On SQLite a commit returns only after an fsync of the WAL that began after it: one by one,
// each commit makes its own. (PostgreSQL syncs its own WAL at COMMIT.)
#[tokio::test]
async fn every_sqlite_commit_waits_for_an_fsync_made_after_it() {
    let db = test_support::TestDb::sqlite().await;
    let store = &db.store;
    table(store).await;
    for i in 0..5 {
        let before = store.db.wal_fsyncs().unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.execute(Q::new("INSERT INTO group_notes (body) VALUES ($1)").bind(format!("s{i}")))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.db.wal_fsyncs().unwrap(), before + 1);
    }
    // A rolled-back transaction has nothing to make durable.
    let before = store.db.wal_fsyncs().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.execute(Q::new("INSERT INTO group_notes (body) VALUES ('gone')"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.db.wal_fsyncs().unwrap(), before);
}
