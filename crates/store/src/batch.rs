//! Multi-row inserts for bulk loads (the generator, imports): one statement per chunk of rows,
//! chunked under both databases' bind-parameter limits, all in the caller's transaction.

use crate::db::{Backend, DbResult, Q, Tx, Val};

/// SQLite allows 32,766 parameters per statement and PostgreSQL 65,535; stay well under both.
const MAX_PARAMS: usize = 30_000;

/// Rows per statement on SQLite.
const SQLITE_ROWS: usize = 100;

/// Rows for one table, added one at a time and written in chunks.
pub struct BatchInsert {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    written: u64,
}

impl BatchInsert {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> BatchInsert {
        BatchInsert {
            table,
            columns,
            rows: Vec::new(),
            written: 0,
        }
    }

    fn rows_per_statement(&self, backend: Backend) -> usize {
        let max_rows = match backend {
            // SQLite binds numbered parameters by looking each one up: many small statements
            // beat a few huge ones (measured in BENCHMARKS.md).
            Backend::Sqlite => SQLITE_ROWS,
            Backend::Postgres => 1000,
        };
        (MAX_PARAMS / self.columns.len().max(1)).clamp(1, max_rows)
    }

    /// Adds a row; writes a chunk when enough rows are waiting.
    pub async fn push(&mut self, tx: &mut Tx, row: Vec<Val>) -> DbResult<()> {
        debug_assert_eq!(row.len(), self.columns.len());
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
