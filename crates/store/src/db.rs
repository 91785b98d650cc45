//! `Db`: one SQL text, run on SQLite or PostgreSQL.
//!
//! sqlx's `Any` driver is too poor for us (no UUIDs), so `Db` holds one of two typed pools and a
//! query is built once with [`Q`] — SQL text with `$1` placeholders plus typed binds — and run on
//! whichever pool is there. Where a dialect must fork, a query is built with [`Q::fork`] in that
//! one function only.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Postgres, Row as _, Sqlite};
use uuid::Uuid;

/// Which database a `Db` runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot open database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("unsupported database URL {0:?} (expected sqlite:… or postgres://…)")]
    BadUrl(String),
    #[error("{0}")]
    Migration(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl DbError {
    /// True when the error is a unique-constraint violation (on either database).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) => {
                e.kind() == sqlx::error::ErrorKind::UniqueViolation
            }
            _ => false,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A typed bind value. `None` variants bind a typed NULL, which PostgreSQL needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Uuid(Option<Uuid>),
    I64(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! val_from {
    ($t:ty, $v:ident, $conv:expr) => {
        impl From<$t> for Val {
            fn from(x: $t) -> Val {
                #[allow(clippy::redundant_closure_call)]
                Val::$v(Some(($conv)(x)))
            }
        }
        impl From<Option<$t>> for Val {
            fn from(x: Option<$t>) -> Val {
                #[allow(clippy::redundant_closure_call)]
                Val::$v(x.map($conv))
            }
        }
    };
}

val_from!(Uuid, Uuid, |x| x);
val_from!(i64, I64, |x| x);
val_from!(String, Text, |x| x);
val_from!(&str, Text, |x: &str| x.to_string());
val_from!(bool, Bool, |x| x);
val_from!(Vec<u8>, Bytes, |x| x);
val_from!(&[u8], Bytes, |x: &[u8]| x.to_vec());
val_from!(Timestamp, I64, |t: Timestamp| t.as_microsecond());

macro_rules! val_from_id {
    ($($t:ty),*) => {$(
        impl From<$t> for Val {
            fn from(x: $t) -> Val { Val::Uuid(Some(x.as_uuid())) }
        }
        impl From<Option<$t>> for Val {
            fn from(x: Option<$t>) -> Val { Val::Uuid(x.map(|i| i.as_uuid())) }
        }
    )*};
}
val_from_id!(
    domain::OrgId,
    domain::LocationId,
    domain::UserId,
    domain::JobId,
    domain::EventId,
    domain::ObjectId,
    domain::PatientId,
    domain::FamilyId,
    domain::DocumentId,
    domain::MergeId,
    domain::OperatoryId,
    domain::AppointmentTypeId,
    domain::AppointmentId,
    domain::BlockoutId,
    domain::WaitlistId,
    domain::RecallTypeId,
    domain::CalendarFeedId,
    domain::ProcedureCodeId,
    domain::ChartEntryId
);

/// A query: SQL text (one for both databases, or a fork) plus its binds.
#[derive(Clone, Debug)]
pub struct Q {
    sqlite: Cow<'static, str>,
    pg: Cow<'static, str>,
    binds: Vec<Val>,
}

impl Q {
    /// The same SQL on both databases.
    pub fn new(sql: &'static str) -> Q {
        Q {
            sqlite: Cow::Borrowed(sql),
            pg: Cow::Borrowed(sql),
            binds: Vec::new(),
        }
    }

    /// SQL built at run time, for statements generated from our own table and column names
    /// (batch inserts). Never put input from outside into the text: bind it.
    pub fn generated(sql: String) -> Q {
        Q {
            sqlite: Cow::Owned(sql.clone()),
            pg: Cow::Owned(sql),
            binds: Vec::new(),
        }
    }

    /// A dialect fork of generated SQL (same rule as `generated`: never outside input).
    pub fn generated_fork(sqlite: String, pg: String) -> Q {
        Q {
            sqlite: Cow::Owned(sqlite),
            pg: Cow::Owned(pg),
            binds: Vec::new(),
        }
    }

    /// A dialect fork. Use in the one function that needs it, never as a habit.
    pub fn fork(sqlite: &'static str, pg: &'static str) -> Q {
        Q {
            sqlite: Cow::Borrowed(sqlite),
            pg: Cow::Borrowed(pg),
            binds: Vec::new(),
        }
    }

    pub fn bind(mut self, v: impl Into<Val>) -> Q {
        self.binds.push(v.into());
        self
    }

    pub fn sql_for(&self, backend: Backend) -> &str {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.pg,
        }
    }

    fn sqlite(&self) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sqlite.clone()));
        for v in &self.binds {
            q = match v.clone() {
                Val::Uuid(x) => q.bind(x),
                Val::I64(x) => q.bind(x),
                Val::Text(x) => q.bind(x),
                Val::Bool(x) => q.bind(x),
                Val::Bytes(x) => q.bind(x),
            };
        }
        q
    }

    fn pg(&self) -> sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.pg.clone()));
        for v in &self.binds {
            q = match v.clone() {
                Val::Uuid(x) => q.bind(x),
                Val::I64(x) => q.bind(x),
                Val::Text(x) => q.bind(x),
                Val::Bool(x) => q.bind(x),
                Val::Bytes(x) => q.bind(x),
            };
        }
        q
    }
}

/// A row from either database, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

impl Row {
    fn get<T>(&self, col: &str) -> DbResult<T>
    where
        T: for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>,
    {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Pg(r) => r.try_get(col)?,
        })
    }

    pub fn uuid(&self, col: &str) -> DbResult<Uuid> {
        self.get(col)
    }
    pub fn opt_uuid(&self, col: &str) -> DbResult<Option<Uuid>> {
        self.get(col)
    }
    pub fn i64(&self, col: &str) -> DbResult<i64> {
        self.get(col)
    }
    pub fn opt_i64(&self, col: &str) -> DbResult<Option<i64>> {
        self.get(col)
    }
    pub fn string(&self, col: &str) -> DbResult<String> {
        self.get(col)
    }
    pub fn opt_string(&self, col: &str) -> DbResult<Option<String>> {
        self.get(col)
    }
    pub fn bool(&self, col: &str) -> DbResult<bool> {
        self.get(col)
    }
    pub fn bytes(&self, col: &str) -> DbResult<Vec<u8>> {
        self.get(col)
    }
    pub fn opt_bytes(&self, col: &str) -> DbResult<Option<Vec<u8>>> {
        self.get(col)
    }
    /// A timestamp stored as microseconds since the Unix epoch.
    pub fn ts(&self, col: &str) -> DbResult<Timestamp> {
        let us = self.i64(col)?;
        Timestamp::from_microsecond(us).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
    }
    pub fn opt_ts(&self, col: &str) -> DbResult<Option<Timestamp>> {
        self.opt_i64(col)?
            .map(|us| {
                Timestamp::from_microsecond(us).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
            })
            .transpose()
    }
    /// A JSON document stored as text.
    pub fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> DbResult<T> {
        let s = self.string(col)?;
        serde_json::from_str(&s).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
    }
}

/// Connection settings shared by both databases.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database: one of two typed pools (SQLite's with its writers' queue).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteGate),
    Pg(PgPool),
}

/// This process's SQLite writers: the queue they wait in for their turn, and the group fsync
/// that makes their commits durable (`durable.rs`).
#[derive(Clone, Debug)]
pub struct WriteGate {
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    wal: std::sync::Arc<crate::durable::WalSync>,
    /// The database file (`None` for an in-memory database).
    path: Option<std::path::PathBuf>,
}

impl WriteGate {
    /// fsyncs of the WAL made so far by this process's commits.
    pub fn fsyncs(&self) -> u64 {
        self.wal.fsyncs()
    }
}

impl Db {
    /// Opens a database from a URL: `sqlite:PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, settings: &PoolSettings) -> DbResult<Db> {
        let fail = |e: sqlx::Error| DbError::Connect {
            url: redact_url(url),
            reason: one_line(&e.to_string()),
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(fail)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // NORMAL: a commit writes its WAL frames without fsync; `Tx::commit` then waits
                // for a group fsync that covers it, so an acknowledged commit is on disk as
                // with FULL, but the writer never waits for the disk (`durable.rs`).
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads straight from the OS page cache (no read syscall per page), and a larger
                // per-connection cache: searches over a million patients touch many pages.
                .pragma("mmap_size", "1073741824")
                .pragma("cache_size", "-16384");
            let file = opts.get_filename();
            let wal = crate::durable::WalSync::new(file);
            let path = (file.as_os_str() != ":memory:" && !file.as_os_str().is_empty())
                .then(|| file.to_path_buf());
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.max(2))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(fail)?;
            Ok(Db::Sqlite(
                pool,
                WriteGate {
                    turn: Default::default(),
                    wal,
                    path,
                },
            ))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // No JIT: Cuspid's queries are short, and a misestimated one (a table not yet
            // analyzed after a bulk load) crossed `jit_above_cost` and spent 40 ms compiling
            // itself, most of an agenda page's time on the dso-slice.
            let opts = PgConnectOptions::from_str(url)
                .map_err(fail)?
                .options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                // No ping before every query (sqlx's default): it was one more round trip each.
                // A connection that died is dropped when its query fails.
                .test_before_acquire(false)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(fail)?;
            Ok(Db::Pg(pool))
        } else {
            Err(DbError::BadUrl(redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    /// Runs one statement. On SQLite it runs as a transaction of its own, in the writers' line,
    /// so its commit is made durable like any other (`execute` is for writes).
    pub async fn execute(&self, q: Q) -> DbResult<u64> {
        Ok(match self {
            Db::Sqlite(..) => {
                let mut tx = self.begin().await?;
                let n = tx.execute(q).await?;
                tx.commit().await?;
                n
            }
            Db::Pg(p) => q.pg().execute(p).await?.rows_affected(),
        })
    }

    pub async fn fetch_all(&self, q: Q) -> DbResult<Vec<Row>> {
        Ok(match self {
            Db::Sqlite(p, _) => q
                .sqlite()
                .fetch_all(p)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Db::Pg(p) => q
                .pg()
                .fetch_all(p)
                .await?
                .into_iter()
                .map(Row::Pg)
                .collect(),
        })
    }

    pub async fn fetch_optional(&self, q: Q) -> DbResult<Option<Row>> {
        Ok(match self {
            Db::Sqlite(p, _) => q.sqlite().fetch_optional(p).await?.map(Row::Sqlite),
            Db::Pg(p) => q.pg().fetch_optional(p).await?.map(Row::Pg),
        })
    }

    pub async fn fetch_one(&self, q: Q) -> DbResult<Row> {
        Ok(match self {
            Db::Sqlite(p, _) => Row::Sqlite(q.sqlite().fetch_one(p).await?),
            Db::Pg(p) => Row::Pg(q.pg().fetch_one(p).await?),
        })
    }

    /// PostgreSQL only: runs a `COPY … TO STDOUT` built from our own values and hands each
    /// chunk of its output to `f`, which sees the whole stream (a COPY cannot stop early).
    pub async fn pg_copy_out(
        &self,
        statement: &str,
        mut f: impl FnMut(&[u8]) -> DbResult<()>,
    ) -> DbResult<()> {
        use futures::TryStreamExt;
        use sqlx::postgres::PgPoolCopyExt;
        let Db::Pg(p) = self else {
            return Err(DbError::Migration("COPY is PostgreSQL's".into()));
        };
        let mut chunks = p.copy_out_raw(statement).await?;
        while let Some(chunk) = chunks.try_next().await? {
            f(&chunk)?;
        }
        Ok(())
    }

    /// Begins a transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at the
    /// start, so a check-then-write inside it cannot race another writer.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self {
            Db::Sqlite(p, gate) => {
                // One writer at a time in this process, waiting in line (fair, no sleeping):
                // SQLite's own busy handler sleeps in growing steps, which shows as tail
                // latency under load. Other processes are still held off by the file lock.
                // The same 10 s as the busy timeout, so a transaction begun while another of
                // the same task is open fails instead of waiting forever.
                let turn =
                    tokio::time::timeout(Duration::from_secs(10), gate.turn.clone().lock_owned())
                        .await
                        .map_err(|_| DbError::Sqlx(sqlx::Error::PoolTimedOut))?;
                Tx::Sqlite(
                    p.begin_with("BEGIN IMMEDIATE").await?,
                    Turn {
                        _held: turn,
                        wal: gate.wal.clone(),
                    },
                )
            }
            Db::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// Cheap liveness probe for /readyz and `cuspid check`.
    pub async fn ping(&self) -> DbResult<()> {
        self.fetch_one(Q::new("SELECT 1 AS one")).await.map(|_| ())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Pg(p) => p.close().await,
        }
    }

    /// The SQLite database file (`None` on PostgreSQL or in memory).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Db::Sqlite(_, gate) => gate.path.as_deref(),
            Db::Pg(_) => None,
        }
    }

    /// fsyncs made for this process's SQLite commits (`None` on PostgreSQL).
    pub fn wal_fsyncs(&self) -> Option<u64> {
        match self {
            Db::Sqlite(_, gate) => Some(gate.fsyncs()),
            Db::Pg(_) => None,
        }
    }

    /// Pool size and idle connections, for /metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p, _) => (p.size(), p.num_idle()),
            Db::Pg(p) => (p.size(), p.num_idle()),
        }
    }
}

/// A SQLite transaction's write turn, held until it ends, and the WAL it must make durable.
pub struct Turn {
    _held: tokio::sync::OwnedMutexGuard<()>,
    wal: std::sync::Arc<crate::durable::WalSync>,
}

/// A transaction on either database. Dropped without `commit`, it rolls back.
pub enum Tx {
    /// The transaction and this process's write turn, held until it ends.
    Sqlite(sqlx::Transaction<'static, Sqlite>, Turn),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Pg(_) => Backend::Postgres,
        }
    }

    pub async fn execute(&mut self, q: Q) -> DbResult<u64> {
        Ok(match self {
            Tx::Sqlite(t, _) => q.sqlite().execute(&mut **t).await?.rows_affected(),
            Tx::Pg(t) => q.pg().execute(&mut **t).await?.rows_affected(),
        })
    }

    pub async fn fetch_all(&mut self, q: Q) -> DbResult<Vec<Row>> {
        Ok(match self {
            Tx::Sqlite(t, _) => q
                .sqlite()
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Pg(t) => q
                .pg()
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(Row::Pg)
                .collect(),
        })
    }

    pub async fn fetch_optional(&mut self, q: Q) -> DbResult<Option<Row>> {
        Ok(match self {
            Tx::Sqlite(t, _) => q.sqlite().fetch_optional(&mut **t).await?.map(Row::Sqlite),
            Tx::Pg(t) => q.pg().fetch_optional(&mut **t).await?.map(Row::Pg),
        })
    }

    pub async fn fetch_one(&mut self, q: Q) -> DbResult<Row> {
        Ok(match self {
            Tx::Sqlite(t, _) => Row::Sqlite(q.sqlite().fetch_one(&mut **t).await?),
            Tx::Pg(t) => Row::Pg(q.pg().fetch_one(&mut **t).await?),
        })
    }

    /// Runs a script of several statements (migrations only).
    pub async fn execute_script(&mut self, sql: &'static str) -> DbResult<()> {
        match self {
            Tx::Sqlite(t, _) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Pg(t) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **t)
                    .await?;
            }
        }
        Ok(())
    }

    /// Commits. On SQLite it returns once the commit is on disk: the write turn passes to the
    /// next transaction at `COMMIT`, and the wait for the (shared) fsync comes after.
    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t, turn) => {
                t.commit().await?;
                let ticket = turn.wal.ticket();
                let wal = turn.wal.clone();
                drop(turn);
                wal.durable(ticket).await?;
            }
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t, _) => t.rollback().await?,
            Tx::Pg(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

impl crate::Txn {
    /// The organization's next number from a `*_counters` table (prescriptions, cases,
    /// plans): numbers follow each other per organization, taken under the row's lock.
    pub(crate) async fn next_number(
        &mut self,
        table: &'static str,
        org: domain::OrgId,
    ) -> DbResult<i64> {
        self.execute(
            Q::generated(format!(
                "INSERT INTO {table} (org_id, next_number) VALUES ($1, 1) ON CONFLICT (org_id) DO NOTHING"
            ))
            .bind(org),
        )
        .await?;
        self.fetch_one(
            Q::generated(format!(
                "UPDATE {table} SET next_number = next_number + 1 WHERE org_id = $1 \
                 RETURNING next_number - 1 AS n"
            ))
            .bind(org),
        )
        .await?
        .i64("n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://cuspid:secret@db:5432/cuspid"),
            "postgres://cuspid:****@db:5432/cuspid"
        );
        assert_eq!(redact_url("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
