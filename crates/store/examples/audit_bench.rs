//! Audit chain throughput on either database:
//!
//!   cargo run --release -p store --example audit_bench -- URL append EVENTS PER_TX [WRITERS]
//!   cargo run --release -p store --example audit_bench -- URL plain ROWS PER_TX [WRITERS]
//!   cargo run --release -p store --example audit_bench -- URL fill EVENTS
//!   cargo run --release -p store --example audit_bench -- URL verify
//!
//! `append` goes through `Txn::audit` (head row lock, hash, insert, head update), `PER_TX`
//! events per transaction, from `WRITERS` concurrent tasks (default 1) sharing the total.
//! `plain` makes the same transactions with one plain row (id, time, JSON) instead of each
//! chained event: the cost of the transactions themselves, without the chain. `fill` writes an already-chained log with batch inserts (to build a
//! 10M-event chain quickly). `verify` walks every chain in the database and prints events/s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark program

use std::sync::Arc;
use std::time::Instant;

use domain::{EventId, OrgId, Organization};
use store::audit::{AuditEntry, AuditEvent, GENESIS};
use store::batch::BatchInsert;
use store::{Db, PoolSettings, Q, Store, Val};

async fn bench_org(store: &Store) -> OrgId {
    if let Some(o) = store.org_by_slug("audit-bench").await.unwrap() {
        return o.id;
    }
    let org = Organization {
        id: OrgId::from_uuid(store.new_uuid()),
        name: "Audit bench".into(),
        slug: "audit-bench".into(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.create_org(store, &org).await.unwrap();
    tx.commit().await.unwrap();
    org.id
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = Db::connect(&args[0], &PoolSettings::default())
        .await
        .unwrap();
    let store = Store::new(db, Arc::new(domain::SystemClock));
    store.migrate().await.unwrap();
    let org = bench_org(&store).await;
    let started = Instant::now();
    match args[1].as_str() {
        "append" => {
            let n: u64 = args[2].parse().unwrap();
            let per_tx: u64 = args[3].parse().unwrap();
            let writers: u64 = args.get(4).map(|w| w.parse().unwrap()).unwrap_or(1);
            let store = Arc::new(store);
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let store = store.clone();
                    let mine = n / writers + u64::from(w < n % writers);
                    tokio::spawn(async move {
                        let mut done = 0;
                        while done < mine {
                            let mut tx = store.begin().await.unwrap();
                            for _ in 0..per_tx.min(mine - done) {
                                let e = AuditEntry::system(
                                    "patient.read",
                                    "chart",
                                    serde_json::json!({"part": "perio"}),
                                );
                                tx.audit(&store, org, e).await.unwrap();
                                done += 1;
                            }
                            tx.commit().await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let s = started.elapsed().as_secs_f64();
            println!(
                "append: {n} events, {per_tx} per transaction, {writers} writers, {s:.2} s: {:.0} events/s on {}{}",
                n as f64 / s,
                store.db.backend().name(),
                store
                    .db
                    .wal_fsyncs()
                    .map(|f| format!(" ({f} WAL fsyncs)"))
                    .unwrap_or_default()
            );
        }
        "plain" => {
            let n: u64 = args[2].parse().unwrap();
            let per_tx: u64 = args[3].parse().unwrap();
            let writers: u64 = args.get(4).map(|w| w.parse().unwrap()).unwrap_or(1);
            store
                .db
                .execute(Q::fork(
                    "CREATE TABLE IF NOT EXISTS bench_plain (id BLOB PRIMARY KEY, at BIGINT NOT NULL, details TEXT NOT NULL)",
                    "CREATE TABLE IF NOT EXISTS bench_plain (id UUID PRIMARY KEY, at BIGINT NOT NULL, details TEXT NOT NULL)",
                ))
                .await
                .unwrap();
            let store = Arc::new(store);
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let store = store.clone();
                    let mine = n / writers + u64::from(w < n % writers);
                    tokio::spawn(async move {
                        let mut done = 0;
                        while done < mine {
                            let mut tx = store.begin().await.unwrap();
                            for _ in 0..per_tx.min(mine - done) {
                                tx.execute(
                                    Q::new("INSERT INTO bench_plain (id, at, details) VALUES ($1, $2, $3)")
                                        .bind(store.new_uuid())
                                        .bind(store.now())
                                        .bind("{\"part\":\"perio\"}"),
                                )
                                .await
                                .unwrap();
                                done += 1;
                            }
                            tx.commit().await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let s = started.elapsed().as_secs_f64();
            println!(
                "plain: {n} rows, {per_tx} per transaction, {writers} writers, {s:.2} s: {:.0} rows/s on {}",
                n as f64 / s,
                store.db.backend().name()
            );
        }
        "fill" => {
            let n: i64 = args[2].parse().unwrap();
            let head = store
                .db
                .fetch_one(Q::new("SELECT seq, hash FROM audit_heads WHERE org_id = $1").bind(org))
                .await
                .unwrap();
            let (mut seq, mut prev) = (head.i64("seq").unwrap(), head.string("hash").unwrap());
            assert!(prev != GENESIS || seq == 0);
            let mut written = 0;
            while written < n {
                let mut tx = store.db.begin().await.unwrap();
                let mut batch = BatchInsert::new(
                    "audit_events",
                    &[
                        "org_id",
                        "seq",
                        "id",
                        "at",
                        "actor_id",
                        "actor",
                        "action",
                        "patient_id",
                        "subject",
                        "details",
                        "ip",
                        "request_id",
                        "prev_hash",
                        "hash",
                    ],
                );
                for _ in 0..(n - written).min(100_000) {
                    seq += 1;
                    let mut e = AuditEvent {
                        org_id: org,
                        seq,
                        id: EventId::from_uuid(store.new_uuid()),
                        at: store.now(),
                        actor_id: None,
                        actor: "bench".into(),
                        action: "patient.read".into(),
                        patient_id: None,
                        subject: "chart".into(),
                        details: "{\"part\":\"perio\"}".into(),
                        ip: None,
                        request_id: None,
                        prev_hash: prev.clone(),
                        hash: String::new(),
                    };
                    e.hash = e.compute_hash();
                    prev = e.hash.clone();
                    let row: Vec<Val> = vec![
                        org.into(),
                        seq.into(),
                        e.id.into(),
                        e.at.into(),
                        Option::<uuid::Uuid>::None.into(),
                        e.actor.into(),
                        e.action.into(),
                        Option::<uuid::Uuid>::None.into(),
                        e.subject.into(),
                        e.details.into(),
                        Option::<String>::None.into(),
                        Option::<String>::None.into(),
                        e.prev_hash.into(),
                        e.hash.into(),
                    ];
                    batch.push(&mut tx, row).await.unwrap();
                    written += 1;
                }
                batch.flush(&mut tx).await.unwrap();
                tx.execute(
                    Q::new("UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3")
                        .bind(seq)
                        .bind(prev.as_str())
                        .bind(org),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
            println!(
                "fill: {n} chained events in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        "verify" => {
            let mut total = 0;
            for o in store.audited_orgs().await.unwrap() {
                let r = store.verify_audit(o, None).await.unwrap();
                assert!(r.broken.is_none(), "{r:?}");
                total += r.events;
            }
            let s = started.elapsed().as_secs_f64();
            println!(
                "verify: {total} events in {s:.2} s: {:.0} events/s on {}",
                total as f64 / s,
                store.db.backend().name()
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
