//! Multi-row inserts for bulk loads (the generator, imports): one statement per chunk of rows,
//! chunked under both databases' bind-parameter limits, all in the caller's transaction.

use crate::db::{Backend, DbResult, Q, Tx, Val};

/// SQLite allows 32,766 parameters per statement and PostgreSQL 65,535; stay well under both.
const MAX_PARAMS: usize = 30_000;

/// Rows per statement on SQLite.
const SQLITE_ROWS: usize = 100;

/// About how many bytes of values one statement carries on PostgreSQL. sqlx 0.9 leaves Nagle's
/// algorithm on, and over TLS a message longer than one 16 KiB TLS record goes out in several
/// writes: the last waits for the server's delayed ACK, 40 ms. Statements kept under one record
/// go out in one write (measured in BENCHMARKS.md: 100 audit events per transaction went from
/// about 2,100 to 26,600 events/s over TLS).
const PG_STATEMENT_BYTES: usize = 12 * 1024;

/// Rows for one table, added one at a time and written in chunks.
pub struct BatchInsert {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    written: u64,
    /// Bytes of values pushed so far and their rows (for the size of a PostgreSQL statement).
    seen_bytes: usize,
    seen_rows: usize,
}

impl BatchInsert {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> BatchInsert {
        BatchInsert {
            table,
            columns,
            rows: Vec::new(),
            written: 0,
            seen_bytes: 0,
            seen_rows: 0,
        }
    }

    fn rows_per_statement(&self, backend: Backend) -> usize {
        let max_rows = match backend {
            // SQLite binds numbered parameters by looking each one up: many small statements
            // beat a few huge ones (measured in BENCHMARKS.md).
            Backend::Sqlite => SQLITE_ROWS,
            // Under one TLS record, in a power of two so a few statement texts are reused.
            Backend::Postgres => {
                let per_row = (self.seen_bytes / self.seen_rows.max(1)).max(1);
                let fit = (PG_STATEMENT_BYTES / per_row).max(1);
                (1usize << fit.ilog2()).min(1000)
            }
        };
        (MAX_PARAMS / self.columns.len().max(1)).clamp(1, max_rows)
    }

    /// Adds a row; writes a chunk when enough rows are waiting.
    pub async fn push(&mut self, tx: &mut Tx, row: Vec<Val>) -> DbResult<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        self.seen_bytes += row.iter().map(val_bytes).sum::<usize>();
        self.seen_rows += 1;
        self.rows.push(row);
        if self.rows.len() >= self.rows_per_statement(tx.backend()) {
            self.flush(tx).await?;
        }
        Ok(())
    }

    /// Writes what is waiting.
    pub async fn flush(&mut self, tx: &mut Tx) -> DbResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let ncol = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        let mut n = 1;
        for (i, _) in self.rows.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..ncol {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&n.to_string());
                n += 1;
            }
            sql.push(')');
        }
        let mut q = Q::generated(sql);
        let count = self.rows.len() as u64;
        for row in self.rows.drain(..) {
            for v in row {
                q = q.bind(v);
            }
        }
        tx.execute(q).await?;
        self.written += count;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }
}

/// About what a value takes in PostgreSQL's Bind message (length prefix included).
fn val_bytes(v: &Val) -> usize {
    4 + match v {
        Val::Uuid(x) => x.map_or(0, |_| 16),
        Val::I64(x) => x.map_or(0, |_| 8),
        Val::Bool(x) => x.map_or(0, |_| 1),
        Val::Text(x) => x.as_ref().map_or(0, String::len),
        Val::Bytes(x) => x.as_ref().map_or(0, Vec::len),
    }
}
