#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Crash durability: a writer is killed with SIGKILL in the middle of a burst of writes, 20
//! times on each database; every write it acknowledged (printed after its commit returned) is
//! there afterwards.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use store::Q;
use test_support::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_cuspid");

async fn kill_mid_burst_20_times(db: &TestDb) {
    let mut total_acked = 0usize;
    for round in 0..20u32 {
        let mut child = Command::new(BIN)
            .args([
                "write-burst",
                "--count",
                "1000000",
                "--database-url",
                &db.url,
            ])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill at a different point each round.
        let kill_after = 25 + (round as usize * 37) % 300;
        let mut acked: Vec<String> = Vec::new();
        while acked.len() < kill_after {
            match lines.next() {
                Some(Ok(l)) => acked.push(l),
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        // Lines already written before the kill were acknowledged too.
        for l in lines.map_while(Result::ok) {
            acked.push(l);
        }
        let _ = child.wait();
        assert!(
            acked.len() >= kill_after,
            "round {round}: the writer produced {} acks",
            acked.len()
        );
        let stored: HashSet<String> = db
            .store
            .db
            .fetch_all(Q::new(
                "SELECT id FROM events WHERE kind = 'durability.probe'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.uuid("id").unwrap().to_string())
            .collect();
        let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged writes lost, e.g. {:?}",
            lost.len(),
            lost.first()
        );
        total_acked += acked.len();
    }
    eprintln!(
        "{}: {total_acked} acknowledged writes over 20 kills, none lost",
        db.backend().name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_across_20_sigkills() {
    let db = TestDb::sqlite().await;
    kill_mid_burst_20_times(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_write_across_20_sigkills() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    kill_mid_burst_20_times(&db).await;
}
