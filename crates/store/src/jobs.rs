//! Durable jobs: a table of our own, written in the business transaction (so a job whose
//! transaction rolls back never exists), claimed safely by any number of runners on either
//! database (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), retried with
//! exponential backoff and parked as a dead letter after its last attempt.
//!
//! Handlers must be idempotent: a runner that dies after a handler's side effect but before it
//! records success leaves the job to be claimed again once its lease expires. The job id is
//! passed to the handler for de-duplication.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::{JobId, OrgId};
use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::db::{DbResult, Q, Row};
use crate::{Store, Txn};

pub const PENDING: &str = "pending";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const DEAD: &str = "dead";

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub org_id: Option<OrgId>,
    pub run_at: Option<Timestamp>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload,
            org_id: None,
            run_at: None,
            max_attempts: 5,
        }
    }
    pub fn org(mut self, org: OrgId) -> NewJob {
        self.org_id = Some(org);
        self
    }
    pub fn at(mut self, t: Timestamp) -> NewJob {
        self.run_at = Some(t);
        self
    }
    pub fn attempts(mut self, n: i64) -> NewJob {
        self.max_attempts = n.max(1);
        self
    }
}

/// A job as a runner claimed it.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub id: JobId,
    pub org_id: Option<OrgId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

impl Job {
    fn from_row(r: &Row) -> DbResult<Job> {
        Ok(Job {
            id: JobId::from_uuid(r.uuid("id")?),
            org_id: r.opt_uuid("org_id")?.map(OrgId::from_uuid),
            kind: r.string("kind")?,
            payload: r.json("payload")?,
            status: r.string("status")?,
            attempts: r.i64("attempts")?,
            max_attempts: r.i64("max_attempts")?,
            run_at: r.ts("run_at")?,
            last_error: r.opt_string("last_error")?,
            created_at: r.ts("created_at")?,
        })
    }
}

impl Txn {
    /// Enqueues a job in this transaction: it exists only if the transaction commits.
    pub async fn enqueue(&mut self, store: &Store, job: NewJob) -> DbResult<JobId> {
        let id = JobId::from_uuid(store.new_uuid());
        let now = store.now();
        self.execute(
            Q::new(
                "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_at, \
                 locked_by, locked_until, last_error, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, NULL, NULL, NULL, $7, $7)",
            )
            .bind(id)
            .bind(job.org_id)
            .bind(job.kind)
            .bind(job.payload.to_string())
            .bind(job.max_attempts)
            .bind(job.run_at.unwrap_or(now))
            .bind(now),
        )
        .await?;
        Ok(id)
    }
}

/// Counts of jobs by status, for /metrics and the admin page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

impl Store {
    pub async fn enqueue(&self, job: NewJob) -> DbResult<JobId> {
        let mut t = self.begin().await?;
        let id = t.enqueue(self, job).await?;
        t.commit().await?;
        Ok(id)
    }

    /// Enqueues a recurring job unless one of its kind is already waiting. (A running one may be
    /// the handler itself scheduling its next run.)
    /// Returns whether it enqueued. Two servers racing may both enqueue; recurring handlers
    /// are idempotent, so that costs one extra run.
    pub async fn ensure_scheduled(&self, job: NewJob) -> DbResult<bool> {
        let mut t = self.begin().await?;
        let existing = t
            .fetch_optional(
                Q::new("SELECT id FROM jobs WHERE kind = $1 AND status = 'pending' LIMIT 1")
                    .bind(job.kind.as_str()),
            )
            .await?;
        if existing.is_some() {
            t.rollback().await?;
            return Ok(false);
        }
        t.enqueue(self, job).await?;
        t.commit().await?;
        Ok(true)
    }

    /// Claims up to `limit` due jobs for `worker`, holding each for `lease`. Jobs whose lease
    /// expired (their runner died) are due again.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        lease: Duration,
    ) -> DbResult<Vec<Job>> {
        let now = self.now();
        let until = now
            .checked_add(SignedDuration::try_from(lease).unwrap_or(SignedDuration::from_secs(60)))
            .unwrap_or(now);
        let mut tx = self.db.begin().await?;
        // A job whose runner died (or whose handler crashed the runner) on its last attempt is
        // not claimed again forever: it becomes a dead letter.
        tx.execute(
            Q::new(
                "UPDATE jobs SET status = 'dead', locked_by = NULL, locked_until = NULL, updated_at = $1, \
                 last_error = 'the runner stopped during the last attempt (crash or lost lease)' \
                 WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
            )
            .bind(now),
        )
        .await?;
        let rows = tx
            .fetch_all(
                Q::fork(
                    "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, \
                     attempts = attempts + 1, updated_at = $3 \
                     WHERE id IN (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $3) \
                     OR (status = 'running' AND locked_until < $3) ORDER BY run_at LIMIT $4) \
                     RETURNING id, org_id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at",
                    "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, \
                     attempts = attempts + 1, updated_at = $3 \
                     WHERE id IN (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $3) \
                     OR (status = 'running' AND locked_until < $3) ORDER BY run_at LIMIT $4 \
                     FOR UPDATE SKIP LOCKED) \
                     RETURNING id, org_id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at",
                )
                .bind(worker)
                .bind(until)
                .bind(now)
                .bind(limit),
            )
            .await?;
        tx.commit().await?;
        rows.iter().map(Job::from_row).collect()
    }

    /// Records success. Returns false if the job was no longer this worker's.
    pub async fn complete_job(&self, id: JobId, worker: &str) -> DbResult<bool> {
        let n = self
            .db
            .execute(
                Q::new(
                    "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, updated_at = $1 \
                     WHERE id = $2 AND locked_by = $3 AND status = 'running'",
                )
                .bind(self.now())
                .bind(id)
                .bind(worker),
            )
            .await?;
        Ok(n == 1)
    }

    /// Records a failure: the job is due again after `backoff`, or dead after its last attempt.
    pub async fn fail_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        backoff: Duration,
    ) -> DbResult<()> {
        let now = self.now();
        let dead = job.attempts >= job.max_attempts;
        let run_at = now
            .checked_add(SignedDuration::try_from(backoff).unwrap_or(SignedDuration::ZERO))
            .unwrap_or(now);
        let error: String = error.chars().take(2000).collect();
        self.db
            .execute(
                Q::new(
                    "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, locked_by = NULL, \
                     locked_until = NULL, updated_at = $4 WHERE id = $5 AND locked_by = $6",
                )
                .bind(if dead { DEAD } else { PENDING })
                .bind(run_at)
                .bind(error)
                .bind(now)
                .bind(job.id)
                .bind(worker),
            )
            .await?;
        Ok(())
    }

    /// Gives back the jobs a worker holds (graceful shutdown): they are due again at once and
    /// the interrupted attempt does not count.
    pub async fn release_jobs(&self, worker: &str) -> DbResult<u64> {
        self.db
            .execute(
                Q::new(
                    "UPDATE jobs SET status = 'pending', attempts = attempts - 1, locked_by = NULL, \
                     locked_until = NULL, updated_at = $1 WHERE locked_by = $2 AND status = 'running'",
                )
                .bind(self.now())
                .bind(worker),
            )
            .await
    }

    pub async fn job(&self, id: JobId) -> DbResult<Option<Job>> {
        let sql = "SELECT id, org_id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at FROM jobs WHERE id = $1";
        let row = self.db.fetch_optional(Q::new(sql).bind(id)).await?;
        row.as_ref().map(Job::from_row).transpose()
    }

    /// Dead letters of one organization (or of the installation, for system jobs), newest first.
    pub async fn dead_jobs(&self, org: Option<OrgId>, limit: i64) -> DbResult<Vec<Job>> {
        let rows = match org {
            Some(org) => {
                self.db
                    .fetch_all(
                        Q::new("SELECT id, org_id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at FROM jobs WHERE status = 'dead' AND org_id = $1 ORDER BY updated_at DESC LIMIT $2")
                        .bind(org)
                        .bind(limit),
                    )
                    .await?
            }
            None => {
                self.db
                    .fetch_all(
                        Q::new("SELECT id, org_id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at FROM jobs WHERE status = 'dead' AND org_id IS NULL ORDER BY updated_at DESC LIMIT $1")
                        .bind(limit),
                    )
                    .await?
            }
        };
        rows.iter().map(Job::from_row).collect()
    }

    /// Puts a dead letter of one organization (or, with `None`, a system job) back in the
    /// queue with a fresh set of attempts, and publishes `job.retried`.
    pub async fn retry_dead_job(&self, org: Option<OrgId>, id: JobId) -> DbResult<bool> {
        let q = match org {
            Some(org) => Q::new(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status = 'dead' AND org_id = $3",
            )
            .bind(self.now())
            .bind(id)
            .bind(org),
            None => Q::new(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status = 'dead' AND org_id IS NULL",
            )
            .bind(self.now())
            .bind(id),
        };
        // One transaction: the job goes back in the queue and everyone watching is told.
        let mut t = self.begin().await?;
        if t.execute(q).await? != 1 {
            t.rollback().await?;
            return Ok(false);
        }
        t.publish(
            self,
            org,
            "job.retried",
            serde_json::json!({ "job": id.to_string() }),
        )
        .await?;
        t.commit().await?;
        Ok(true)
    }

    /// Jobs by status, installation-wide (metrics).
    pub async fn queue_depth(&self) -> DbResult<QueueDepth> {
        let rows = self
            .db
            .fetch_all(Q::new(
                "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
            ))
            .await?;
        Self::depth_from(&rows)
    }

    /// One organization's jobs by status (its administrators' view).
    pub async fn org_queue_depth(&self, org: OrgId) -> DbResult<QueueDepth> {
        let rows = self
            .db
            .fetch_all(
                Q::new("SELECT status, COUNT(*) AS n FROM jobs WHERE org_id = $1 GROUP BY status")
                    .bind(org),
            )
            .await?;
        Self::depth_from(&rows)
    }

    fn depth_from(rows: &[Row]) -> DbResult<QueueDepth> {
        let mut d = QueueDepth::default();
        for r in rows {
            let n = r.i64("n")?;
            match r.string("status")?.as_str() {
                PENDING => d.pending = n,
                RUNNING => d.running = n,
                DONE => d.done = n,
                DEAD => d.dead = n,
                _ => {}
            }
        }
        Ok(d)
    }
}

/// A job handler. It gets the claimed job (with its id, for idempotency).
pub trait JobHandler: Send + Sync {
    fn run<'a>(&'a self, store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>>;
}

impl<F> JobHandler for F
where
    F: for<'a> Fn(&'a Store, &'a Job) -> BoxFuture<'a, Result<(), String>> + Send + Sync,
{
    fn run<'a>(&'a self, store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        self(store, job)
    }
}

#[derive(Clone, Debug)]
pub struct RunnerSettings {
    pub poll_interval: Duration,
    pub batch: i64,
    pub lease: Duration,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            poll_interval: Duration::from_millis(500),
            batch: 16,
            lease: Duration::from_secs(300),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl RunnerSettings {
    /// Backoff after the `attempt`-th failure: base × 2^(attempt−1), capped.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.base_backoff
            .checked_mul(2u32.saturating_pow(exp))
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Claims and runs jobs until shut down.
#[derive(Clone)]
pub struct JobRunner {
    store: Store,
    handlers: Arc<HashMap<String, Arc<dyn JobHandler>>>,
    settings: RunnerSettings,
    worker: String,
}

impl JobRunner {
    pub fn new(store: Store, settings: RunnerSettings) -> JobRunner {
        let worker = format!("{}-{}", store.bus.origin(), hex::encode(store.random10()));
        JobRunner {
            store,
            handlers: Arc::new(HashMap::new()),
            settings,
            worker,
        }
    }

    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    pub fn handle(mut self, kind: &str, h: impl JobHandler + 'static) -> JobRunner {
        let mut map: HashMap<String, Arc<dyn JobHandler>> = (*self.handlers).clone();
        map.insert(kind.to_string(), Arc::new(h));
        self.handlers = Arc::new(map);
        self
    }

    /// Claims one batch and runs it. Returns how many jobs ran.
    pub async fn tick(&self) -> DbResult<usize> {
        let claimed_at = std::time::Instant::now();
        let jobs = self
            .store
            .claim_jobs(&self.worker, self.settings.batch, self.settings.lease)
            .await?;
        // Stop short of the lease: past it, another runner may claim the same job.
        let deadline = self.settings.lease.mul_f64(0.9);
        let mut ran = 0;
        for job in &jobs {
            if claimed_at.elapsed() >= deadline {
                break;
            }
            ran += 1;
            let outcome = match self.handlers.get(&job.kind) {
                Some(h) => {
                    match std::panic::AssertUnwindSafe(h.run(&self.store, job))
                        .catch_unwind()
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => Err("the handler panicked".to_string()),
                    }
                }
                None => Err(format!("no handler for job kind {:?}", job.kind)),
            };
            let recorded = match outcome {
                Ok(()) => {
                    metrics::counter!("cuspid_jobs_completed_total").increment(1);
                    self.store
                        .complete_job(job.id, &self.worker)
                        .await
                        .map(|_| ())
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
                    metrics::counter!("cuspid_jobs_failed_total").increment(1);
                    let backoff = self.settings.backoff(job.attempts);
                    self.store.fail_job(job, &self.worker, &e, backoff).await
                }
            };
            if let Err(e) = recorded {
                // The lease will expire and the job will be claimed again; handlers are idempotent.
                tracing::warn!(job = %job.id, error = %e, "cannot record a job's outcome");
            }
        }
        if ran < jobs.len() {
            self.store.release_jobs(&self.worker).await?;
        }
        Ok(ran)
    }

    /// Runs until `shutdown` turns true, then gives back what it holds.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let ran = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "job runner cannot reach the database");
                    0
                }
            };
            if ran == 0 {
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
        match self.store.release_jobs(&self.worker).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "jobs released at shutdown"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot release jobs at shutdown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = RunnerSettings {
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            ..RunnerSettings::default()
        };
        assert_eq!(s.backoff(1), Duration::from_secs(5));
        assert_eq!(s.backoff(2), Duration::from_secs(10));
        assert_eq!(s.backoff(3), Duration::from_secs(20));
        assert_eq!(s.backoff(5), Duration::from_secs(60));
        assert_eq!(s.backoff(500), Duration::from_secs(60));
    }
}
