#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The durable jobs table and runner, on both databases.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::JobId;
use futures::future::BoxFuture;
use serde_json::json;
use store::Store;
use store::jobs::{Job, JobHandler, JobRunner, NewJob, RunnerSettings};
use test_support::dual_test;

fn fast() -> RunnerSettings {
    RunnerSettings {
        poll_interval: Duration::from_millis(10),
        batch: 8,
        lease: Duration::from_secs(60),
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

type Runs = Arc<Mutex<HashMap<JobId, u32>>>;

/// A handler that fails the first `fail_times` attempts of each job, recording every run.
struct Flaky {
    runs: Runs,
    fail_times: u32,
}

impl JobHandler for Flaky {
    fn run<'a>(&'a self, _store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        let n = {
            let mut m = self.runs.lock().unwrap();
            let e = m.entry(job.id).or_insert(0);
            *e += 1;
            *e
        };
        let fail = n <= self.fail_times;
        Box::pin(async move {
            if fail {
                Err(format!("failure {n}"))
            } else {
                Ok(())
            }
        })
    }
}

fn flaky(runs: Runs, fail_times: u32) -> Flaky {
    Flaky { runs, fail_times }
}

async fn drain(runner: &JobRunner, rounds: usize) {
    for _ in 0..rounds {
        runner.tick().await.unwrap();
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
}

dual_test!(system_clock async fn fails_twice_then_succeeds_runs_three_times(db) {
    let runs: Runs = Arc::default();
    let runner = JobRunner::new(db.store.clone(), fast()).handle("t.flaky", flaky(runs.clone(), 2));
    let id = db.store.enqueue(NewJob::new("t.flaky", json!({"x": 1})).attempts(5)).await.unwrap();
    drain(&runner, 40).await;
    assert_eq!(runs.lock().unwrap()[&id], 3);
    let job = db.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, "done");
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("failure 2"));
});

dual_test!(system_clock async fn always_failing_job_ends_in_dead_letters(db) {
    let runs: Runs = Arc::default();
    let runner = JobRunner::new(db.store.clone(), fast()).handle("t.broken", flaky(runs.clone(), u32::MAX));
    let id = db.store.enqueue(NewJob::new("t.broken", json!({})).attempts(4)).await.unwrap();
    drain(&runner, 40).await;
    assert_eq!(runs.lock().unwrap()[&id], 4, "runs exactly max_attempts times");
    let dead = db.store.dead_jobs(None, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].last_error.as_deref(), Some("failure 4"));
    assert_eq!(db.store.queue_depth().await.unwrap().dead, 1);
    // An admin puts it back; it runs again.
    assert!(db.store.retry_dead_job(None, id).await.unwrap());
    runner.tick().await.unwrap();
    assert_eq!(runs.lock().unwrap()[&id], 5);
});

dual_test!(system_clock async fn unknown_kind_is_retried_then_dead(db) {
    let runner = JobRunner::new(db.store.clone(), fast());
    let id = db.store.enqueue(NewJob::new("t.nobody", json!({})).attempts(2)).await.unwrap();
    drain(&runner, 20).await;
    let job = db.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, "dead");
    assert!(job.last_error.unwrap().contains("no handler"));
});

dual_test!(system_clock async fn job_enqueued_in_a_rolled_back_transaction_never_runs(db) {
    let runs: Runs = Arc::default();
    let runner = JobRunner::new(db.store.clone(), fast()).handle("t.ok", flaky(runs.clone(), 0));
    let mut tx = db.store.begin().await.unwrap();
    let ghost = tx.enqueue(&db.store, NewJob::new("t.ok", json!({}))).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let dropped = tx.enqueue(&db.store, NewJob::new("t.ok", json!({}))).await.unwrap();
    drop(tx); // dropped without commit: rolled back too
    let real = db.store.enqueue(NewJob::new("t.ok", json!({}))).await.unwrap();
    drain(&runner, 5).await;
    let seen = runs.lock().unwrap().clone();
    assert_eq!(seen.get(&real), Some(&1));
    assert!(!seen.contains_key(&ghost) && !seen.contains_key(&dropped));
    assert!(db.store.job(ghost).await.unwrap().is_none());
});

dual_test!(system_clock async fn future_jobs_wait_for_their_time(db) {
    let runs: Runs = Arc::default();
    let runner = JobRunner::new(db.store.clone(), fast()).handle("t.ok", flaky(runs.clone(), 0));
    let later = db.store.now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    let id = db.store.enqueue(NewJob::new("t.ok", json!({})).at(later)).await.unwrap();
    drain(&runner, 3).await;
    assert!(runs.lock().unwrap().get(&id).is_none());
    assert_eq!(db.store.job(id).await.unwrap().unwrap().status, "pending");
});

dual_test!(system_clock async fn release_at_shutdown_gives_jobs_back(db) {
    let claimed = db.store.claim_jobs("w1", 10, Duration::from_secs(60)).await.unwrap();
    assert!(claimed.is_empty());
    let id = db.store.enqueue(NewJob::new("t.ok", json!({}))).await.unwrap();
    let claimed = db.store.claim_jobs("w1", 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(db.store.claim_jobs("w2", 10, Duration::from_secs(60)).await.unwrap().is_empty(), "held by w1");
    assert_eq!(db.store.release_jobs("w1").await.unwrap(), 1);
    let again = db.store.claim_jobs("w2", 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, id);
    assert_eq!(again[0].attempts, 1, "the released attempt did not count");
    assert!(!db.store.complete_job(id, "w1").await.unwrap(), "w1 no longer holds it");
    assert!(db.store.complete_job(id, "w2").await.unwrap());
});

dual_test!(system_clock async fn an_expired_lease_is_claimed_again(db) {
    let id = db.store.enqueue(NewJob::new("t.ok", json!({}))).await.unwrap();
    let first = db.store.claim_jobs("dead-worker", 10, Duration::from_millis(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = db.store.claim_jobs("w2", 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, id);
    assert_eq!(second[0].attempts, 2);
});

dual_test!(system_clock async fn a_thousand_jobs_two_racing_runners_each_run_exactly_once(db) {
    // Two servers: two independent connection pools on one database, each with its runner.
    let other = db.second_store().await;
    let runs: Runs = Arc::default();
    let mk = |s: &Store| JobRunner::new(s.clone(), RunnerSettings { batch: 16, ..fast() })
        .handle("t.count", flaky(runs.clone(), 0));
    let (a, b) = (mk(&db.store), mk(&other));
    let mut ids = Vec::new();
    for i in 0..1000 {
        let s = if i % 2 == 0 { &db.store } else { &other };
        ids.push(s.enqueue(NewJob::new("t.count", json!({ "i": i }))).await.unwrap());
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ta = tokio::spawn(a.run(stop_rx.clone()));
    let tb = tokio::spawn(b.run(stop_rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let d = db.store.queue_depth().await.unwrap();
        if d.done == 1000 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    ta.await.unwrap();
    tb.await.unwrap();
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), 1000, "every job ran");
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "jobs run more than once: {twice:?}");
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1));
    }
});

struct Panics;

impl JobHandler for Panics {
    fn run<'a>(&'a self, _store: &'a Store, _job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { panic!("handler bug") })
    }
}

dual_test!(system_clock async fn a_panicking_handler_fails_its_job_and_the_runner_goes_on(db) {
    let runs: Runs = Arc::default();
    let runner = JobRunner::new(db.store.clone(), fast())
        .handle("t.panics", Panics)
        .handle("t.ok", flaky(runs.clone(), 0));
    let bad = db.store.enqueue(NewJob::new("t.panics", json!({})).attempts(2)).await.unwrap();
    let good = db.store.enqueue(NewJob::new("t.ok", json!({}))).await.unwrap();
    drain(&runner, 20).await;
    let bad = db.store.job(bad).await.unwrap().unwrap();
    assert_eq!(bad.status, "dead");
    assert_eq!(bad.last_error.as_deref(), Some("the handler panicked"));
    assert_eq!(runs.lock().unwrap().get(&good), Some(&1), "the runner kept going");
});

dual_test!(system_clock async fn a_lost_lease_on_the_last_attempt_is_a_dead_letter(db) {
    let id = db.store.enqueue(NewJob::new("t.ok", json!({})).attempts(1)).await.unwrap();
    assert_eq!(db.store.claim_jobs("crashed", 10, Duration::from_millis(1)).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(db.store.claim_jobs("w2", 10, Duration::from_secs(60)).await.unwrap().is_empty());
    let job = db.store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, "dead");
    assert!(job.last_error.unwrap().contains("last attempt"));
});

dual_test!(system_clock async fn dead_letters_are_retried_only_by_their_own_org(db) {
    let (a, _) = test_support::seed_org(&db.store, "job-a").await;
    let (b, _) = test_support::seed_org(&db.store, "job-b").await;
    let runner = JobRunner::new(db.store.clone(), fast());
    let id = db.store.enqueue(NewJob::new("t.nobody", json!({})).org(a.id).attempts(1)).await.unwrap();
    drain(&runner, 3).await;
    assert_eq!(db.store.dead_jobs(Some(a.id), 10).await.unwrap().len(), 1);
    assert!(db.store.dead_jobs(Some(b.id), 10).await.unwrap().is_empty());
    assert!(!db.store.retry_dead_job(Some(b.id), id).await.unwrap());
    assert!(!db.store.retry_dead_job(None, id).await.unwrap());
    assert!(db.store.retry_dead_job(Some(a.id), id).await.unwrap());
});

dual_test!(system_clock async fn a_recurring_job_can_schedule_its_next_run_while_running(db) {
    assert!(db.store.ensure_scheduled(NewJob::new("t.recurring", json!({}))).await.unwrap());
    assert!(!db.store.ensure_scheduled(NewJob::new("t.recurring", json!({}))).await.unwrap(), "one pending is enough");
    let claimed = db.store.claim_jobs("w", 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(db.store.ensure_scheduled(NewJob::new("t.recurring", json!({}))).await.unwrap(), "the running one does not block the next");
});
