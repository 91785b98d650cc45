#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Domain events: delivered after commit, never after rollback; on PostgreSQL they cross
//! servers.

use std::time::Duration;

use serde_json::json;
use test_support::{TestDb, dual_test, seed_org};

dual_test!(async fn committed_events_reach_subscribers_and_rolled_back_ones_do_not(db) {
    let (org, _) = seed_org(&db.store, "ev").await;
    let mut rx = db.store.bus.subscribe();
    let mut tx = db.store.begin().await.unwrap();
    tx.publish(&db.store, Some(org.id), "t.rolled_back", json!({})).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let id = tx.publish(&db.store, Some(org.id), "t.committed", json!({"n": 1})).await.unwrap();
    assert!(rx.try_recv().is_err(), "nothing before commit");
    tx.commit().await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.unwrap().unwrap();
    assert_eq!(e.id, id);
    assert_eq!(e.kind, "t.committed");
    assert_eq!(e.payload["n"], 1);
    assert!(rx.try_recv().is_err(), "the rolled-back event never came");
    assert_eq!(db.store.event(id).await.unwrap().unwrap().kind, "t.committed");
    // pruning keeps recent events
    let old = db.store.now().checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    assert_eq!(db.store.prune_events(old).await.unwrap(), 0);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_event_from_one_server_reaches_the_other() {
    let Some(db) = TestDb::postgres_with(std::sync::Arc::new(domain::SystemClock)).await else {
        return;
    };
    let a = db.store.clone();
    let b = db.second_store().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(store::events::relay_remote_events(b.clone(), stop_rx));
    let mut rx_b = b.bus.subscribe();
    let mut rx_a = a.bus.subscribe();
    // The listener needs a moment to LISTEN before the first NOTIFY.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = a
        .publish(None, "t.cross", json!({"from": "a"}))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx_b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.payload["from"], "a");
    assert_eq!(rx_a.recv().await.unwrap().id, id, "and locally once");
    // b's own events are not relayed back to b a second time
    let own = b.publish(None, "t.own", json!({})).await.unwrap();
    assert_eq!(rx_b.recv().await.unwrap().id, own);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx_b.try_recv().is_err(), "no duplicate");
    stop_tx.send(true).unwrap();
    relay.await.unwrap();
}
