//! Throughput of the bulk-load path (`BatchInsert`) the generator uses, on either database:
//!
//!   cargo run --release -p store --example batch_insert -- sqlite:/tmp/b.db 1000000
//!   cargo run --release -p store --example batch_insert -- postgres://postgres@127.0.0.1/bench 1000000
//!
//! Writes N rows into `events` (six columns) in transactions of 50,000 rows and prints rows/s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark program

use std::sync::Arc;
use std::time::Instant;

use store::batch::BatchInsert;
use store::{Db, PoolSettings, Store, Val};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("database URL");
    let n: u64 = args
        .next()
        .map(|s| s.parse().expect("row count"))
        .unwrap_or(1_000_000);
    let db = Db::connect(&url, &PoolSettings::default()).await.unwrap();
    let store = Store::new(db, Arc::new(domain::SystemClock));
    store.migrate().await.unwrap();
    let started = Instant::now();
    let mut written = 0u64;
    let payload = r#"{"chair":3,"status":"seated"}"#;
    while written < n {
        let mut tx = store.db.begin().await.unwrap();
        let mut batch = BatchInsert::new(
            "events",
            &["id", "org_id", "kind", "payload", "origin", "created_at"],
        );
        let chunk = (n - written).min(50_000);
        for _ in 0..chunk {
            let row: Vec<Val> = vec![
                store.new_uuid().into(),
                Option::<uuid::Uuid>::None.into(),
                "bench.row".into(),
                payload.into(),
                "bench".into(),
                store.now().into(),
            ];
            batch.push(&mut tx, row).await.unwrap();
        }
        batch.flush(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        written += chunk;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} rows in {:.2} s: {:.0} rows/s on {}",
        written,
        secs,
        written as f64 / secs,
        store.db.backend().name()
    );
}
