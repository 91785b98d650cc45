#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The audit chain: appended in the business transaction, refused UPDATE/DELETE by the
//! database, and any edit, deletion, insertion, reordering, truncation or wholesale rewrite is
//! found by `verify_audit`, which names the first broken event.

use domain::OrgId;
use serde_json::json;
use store::audit::{AuditEntry, AuditSigner};
use store::{Backend, Q, Store};
use test_support::{TestDb, dual_test, seed_org};

const SEED: [u8; 32] = [7; 32];

/// An organization with a chain of `n` events (creation events included).
async fn chain(store: &Store, n: i64) -> OrgId {
    let (org, _) = seed_org(store, "audited").await;
    let have = store.audit_events(org.id, 0, 1000).await.unwrap().len() as i64;
    for i in have..n {
        let mut tx = store.begin().await.unwrap();
        tx.audit(
            store,
            org.id,
            AuditEntry::system("patient.read", "chart", json!({ "i": i })),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    org.id
}

/// What an attacker with database access does first.
async fn drop_protection(store: &Store) {
    match store.db.backend() {
        Backend::Sqlite => {
            for t in [
                "audit_events_no_update",
                "audit_events_no_delete",
                "audit_checkpoints_no_update",
                "audit_checkpoints_no_delete",
            ] {
                store
                    .db
                    .execute(Q::generated(format!("DROP TRIGGER {t}")))
                    .await
                    .unwrap();
            }
        }
        Backend::Postgres => {
            store
                .db
                .execute(Q::new("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                .await
                .unwrap();
            store
                .db
                .execute(Q::new("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
                .await
                .unwrap();
        }
    }
}

async fn broken_at(store: &Store, org: OrgId) -> (i64, String) {
    let r = store
        .verify_audit(org, Some(&signer().public_key()))
        .await
        .unwrap();
    let b = r.broken.expect("tampering detected");
    (b.seq, b.reason)
}

fn signer() -> AuditSigner {
    AuditSigner::from_seed(&SEED, 3).unwrap()
}

dual_test!(async fn an_intact_chain_verifies_and_the_database_refuses_changes(db) {
    let store = db.store.clone().with_audit_signer(signer());
    let org = chain(&store, 10).await;
    let r = store.verify_audit(org, Some(&signer().public_key())).await.unwrap();
    assert_eq!(r.broken, None);
    assert_eq!(r.events, 10);
    assert_eq!(r.checkpoints, 3, "checkpoints at 3, 6 and 9");
    let up = store.db.execute(Q::new("UPDATE audit_events SET actor = 'someone' WHERE seq = 2")).await;
    assert!(up.unwrap_err().to_string().contains("append-only"));
    let del = store.db.execute(Q::new("DELETE FROM audit_events WHERE seq = 2")).await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
    let del = store.db.execute(Q::new("DELETE FROM audit_checkpoints")).await;
    assert!(del.is_err());
    assert!(store.verify_audit(org, None).await.unwrap().broken.is_none());
});

dual_test!(async fn an_edited_event_is_named(db) {
    let org = chain(&db.store, 10).await;
    drop_protection(&db.store).await;
    db.store.db.execute(Q::new("UPDATE audit_events SET details = '{\"i\":99}' WHERE seq = 5")).await.unwrap();
    let (seq, why) = broken_at(&db.store, org).await;
    assert_eq!(seq, 5);
    assert!(why.contains("edited"), "{why}");
});

dual_test!(async fn a_deleted_event_is_named(db) {
    let org = chain(&db.store, 10).await;
    drop_protection(&db.store).await;
    db.store.db.execute(Q::new("DELETE FROM audit_events WHERE seq = 5")).await.unwrap();
    let (seq, why) = broken_at(&db.store, org).await;
    assert_eq!(seq, 5);
    assert!(why.contains("missing"), "{why}");
});

dual_test!(async fn an_inserted_event_is_found(db) {
    let org = chain(&db.store, 10).await;
    drop_protection(&db.store).await;
    // make room at 5 and put a forged, self-consistent event there
    db.store.db.execute(Q::new("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")).await.unwrap();
    db.store.db.execute(Q::new("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")).await.unwrap();
    let four = db.store.audit_events(org, 3, 1).await.unwrap().remove(0);
    let mut forged = four.clone();
    forged.seq = 5;
    forged.id = domain::EventId::from_uuid(db.store.new_uuid());
    forged.action = "patient.read".into();
    forged.details = "{\"forged\":true}".into();
    forged.prev_hash = four.hash.clone();
    forged.hash = forged.compute_hash();
    db.store
        .db
        .execute(
            Q::new("INSERT INTO audit_events (org_id, seq, id, at, actor_id, actor, action, patient_id, subject, details, ip, request_id, prev_hash, hash) VALUES ($1, $2, $3, $4, NULL, $5, $6, NULL, $7, $8, NULL, NULL, $9, $10)")
                .bind(org).bind(forged.seq).bind(forged.id).bind(forged.at).bind(forged.actor.as_str()).bind(forged.action.as_str())
                .bind(forged.subject.as_str()).bind(forged.details.as_str()).bind(forged.prev_hash.as_str()).bind(forged.hash.as_str()),
        )
        .await
        .unwrap();
    let (seq, _) = broken_at(&db.store, org).await;
    assert_eq!(seq, 6, "the first event after the forgery no longer fits");
});

dual_test!(async fn reordered_events_are_named(db) {
    let org = chain(&db.store, 10).await;
    drop_protection(&db.store).await;
    db.store.db.execute(Q::new("UPDATE audit_events SET seq = 1004 WHERE seq = 4")).await.unwrap();
    db.store.db.execute(Q::new("UPDATE audit_events SET seq = 4 WHERE seq = 5")).await.unwrap();
    db.store.db.execute(Q::new("UPDATE audit_events SET seq = 5 WHERE seq = 1004")).await.unwrap();
    let (seq, _) = broken_at(&db.store, org).await;
    assert_eq!(seq, 4);
});

dual_test!(async fn a_truncated_chain_is_found(db) {
    let org = chain(&db.store, 10).await;
    drop_protection(&db.store).await;
    db.store.db.execute(Q::new("DELETE FROM audit_events WHERE seq = 10")).await.unwrap();
    let (seq, why) = broken_at(&db.store, org).await;
    assert_eq!(seq, 10);
    assert!(why.contains("head"), "{why}");
});

dual_test!(async fn a_wholesale_rewrite_is_caught_by_the_signed_checkpoints(db) {
    let store = db.store.clone().with_audit_signer(signer());
    let org = chain(&store, 10).await;
    drop_protection(&store).await;
    // Rewrite event 2 and recompute every hash after it: the chain itself is consistent again.
    let mut events = store.audit_events(org, 0, 100).await.unwrap();
    events[1].details = "{\"rewritten\":true}".into();
    let mut prev = events[0].hash.clone();
    for e in events.iter_mut().skip(1) {
        e.prev_hash = prev.clone();
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        store
            .db
            .execute(Q::new("UPDATE audit_events SET details = $1, prev_hash = $2, hash = $3 WHERE org_id = $4 AND seq = $5")
                .bind(e.details.as_str()).bind(e.prev_hash.as_str()).bind(e.hash.as_str()).bind(org).bind(e.seq))
            .await
            .unwrap();
    }
    store.db.execute(Q::new("UPDATE audit_heads SET hash = $1 WHERE org_id = $2").bind(prev.as_str()).bind(org)).await.unwrap();
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, 3, "the first checkpoint after the rewrite");
    assert!(why.contains("checkpoint"), "{why}");
    // Rewriting the checkpoints too needs the private key: the signatures no longer verify.
    for e in &events {
        store.db.execute(Q::new("UPDATE audit_checkpoints SET hash = $1 WHERE org_id = $2 AND seq = $3").bind(e.hash.as_str()).bind(org).bind(e.seq)).await.unwrap();
    }
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, 3);
    assert!(why.contains("signature"), "{why}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_from_concurrent_transactions_keep_one_chain() {
    for db in [Some(TestDb::sqlite().await), TestDb::postgres().await]
        .into_iter()
        .flatten()
    {
        let org = chain(&db.store, 1).await;
        let mut tasks = Vec::new();
        for t in 0..4 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let mut tx = store.begin().await.unwrap();
                    tx.audit(
                        &store,
                        org,
                        AuditEntry::system("patient.read", "chart", json!({ "t": t, "i": i })),
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = db.store.verify_audit(org, None).await.unwrap();
        assert_eq!(r.broken, None, "{:?}", db.backend());
        assert_eq!(r.events, 2 + 100, "org.created + location.created + 100");
    }
}

/// An organization with a chain of `n` events written 1,000 per transaction.
async fn long_chain(store: &Store, n: i64) -> OrgId {
    let (org, _) = seed_org(store, "audited").await;
    let mut have = store.audit_events(org.id, 0, 1000).await.unwrap().len() as i64;
    while have < n {
        let mut tx = store.begin().await.unwrap();
        for _ in 0..(n - have).min(1000) {
            tx.audit(
                store,
                org.id,
                AuditEntry::system("patient.read", "chart", json!({ "i": have })),
            )
            .await
            .unwrap();
            have += 1;
        }
        tx.commit().await.unwrap();
    }
    org.id
}

// A long chain is read in four ranges at once (`VERIFY_SEGMENTS`): events at the seams between
// them are checked against the range before, and the first broken event is the one a walk
// from the start would name. Each tampering below is earlier than the one before it.
dual_test!(async fn tampering_at_the_seams_of_a_parallel_verification_is_named_exactly(db) {
    let store = db.store.clone().with_audit_signer(AuditSigner::from_seed(&SEED, 1000).unwrap());
    let n = 40_000;
    let org = long_chain(&store, n).await;
    let r = store.verify_audit(org, Some(&signer().public_key())).await.unwrap();
    assert_eq!(r.broken, None);
    assert_eq!((r.events, r.checkpoints), (40_000, 40));
    // The ranges are (0, 10001], (10001, 20002], (20002, 30003], (30003, 40000].
    assert_eq!(store::audit::VERIFY_SEGMENTS, 4);
    let step = n / 4 + 1;
    drop_protection(&store).await;

    // The last event of the third range.
    store.db.execute(Q::new("DELETE FROM audit_events WHERE org_id = $1 AND seq = $2").bind(org).bind(3 * step)).await.unwrap();
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, 3 * step);
    assert!(why.contains("missing") && why.contains(&format!("next one is {}", 3 * step + 1)), "{why}");

    // The first event of the third range.
    store.db.execute(Q::new("UPDATE audit_events SET details = '{}' WHERE org_id = $1 AND seq = $2").bind(org).bind(2 * step + 1)).await.unwrap();
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, 2 * step + 1);
    assert!(why.contains("edited"), "{why}");

    // A self-consistent forgery replacing the first event of the second range: its hash fits
    // its content, but it does not follow the last event of the first range.
    let mut forged = store.audit_events(org, step, 1).await.unwrap().remove(0);
    forged.details = "{\"forged\":true}".into();
    forged.prev_hash = "f".repeat(64);
    forged.hash = forged.compute_hash();
    store.db.execute(Q::new("UPDATE audit_events SET details = $1, prev_hash = $2, hash = $3 WHERE org_id = $4 AND seq = $5")
        .bind(forged.details.as_str()).bind(forged.prev_hash.as_str()).bind(forged.hash.as_str()).bind(org).bind(forged.seq)).await.unwrap();
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, step + 1);
    assert!(why.contains("does not follow"), "{why}");

    // The whole first range gone: event 1 is missing, and the next one is the second range's.
    store.db.execute(Q::new("DELETE FROM audit_events WHERE org_id = $1 AND seq <= $2").bind(org).bind(step)).await.unwrap();
    let (seq, why) = broken_at(&store, org).await;
    assert_eq!(seq, 1);
    assert!(why.contains(&format!("next one is {}", step + 1)), "{why}");
});
