//! Our own migrator over two migration trees with identical version numbers.
//!
//! No advisory locks (CockroachDB, YugabyteDB and Citus do not all have them): a lock row taken
//! with `SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite. Each migration runs
//! in the same transaction as its bookkeeping row. A database migrated by a newer Cuspid makes
//! this binary refuse to run rather than write to a schema it does not know.

use crate::db::{Backend, Db, DbError, DbResult, Q};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    pub fn checksum(&self, backend: Backend) -> String {
        hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            self.sql(backend).as_bytes(),
        ))
    }
}

macro_rules! migration {
    ($version:literal, $file:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, "_", $name, ".sql")),
            postgres: include_str!(concat!(
                "../migrations/postgres/",
                $file,
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

/// Every migration, in order. File names are `NNNN_name.sql` in both trees.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001", "foundation"),
    migration!(2, "0002", "audit"),
    migration!(3, "0003", "identity"),
    migration!(4, "0004", "keys"),
    migration!(5, "0005", "mfa"),
    migration!(6, "0006", "phone_sign_in"),
    migration!(7, "0007", "password_resets"),
    migration!(8, "0008", "providers"),
    migration!(9, "0009", "api_tokens"),
    migration!(10, "0010", "org_security"),
    migration!(11, "0011", "custom_roles"),
    migration!(12, "0012", "patients"),
    migration!(13, "0013", "break_glass"),
    migration!(14, "0014", "patient_search_indexes"),
    migration!(15, "0015", "scheduling"),
    migration!(16, "0016", "location_staff_index"),
    migration!(17, "0017", "schedule_versions"),
    migration!(18, "0018", "busy_spans_index"),
    migration!(19, "0019", "clinical"),
    migration!(20, "0020", "prescriptions"),
    migration!(21, "0021", "treatment_cases"),
    migration!(22, "0022", "treatment_plans"),
    migration!(23, "0023", "plan_documents"),
    migration!(24, "0024", "ledger"),
    migration!(25, "0025", "fee_schedules"),
    migration!(26, "0026", "payment_plans"),
    migration!(27, "0027", "invoices"),
    migration!(28, "0028", "plan_autopay"),
];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS cuspid_migrations (
    version BIGINT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";
const LOCK_TABLE: &str = "CREATE TABLE IF NOT EXISTS cuspid_locks (
    name TEXT NOT NULL PRIMARY KEY,
    taken_at BIGINT
)";

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    pub version: i64,
}

async fn create_bookkeeping(db: &Db) -> DbResult<()> {
    // Two servers starting at once on a fresh PostgreSQL can both try CREATE TABLE IF NOT
    // EXISTS; the loser gets a unique violation on the catalog. Retrying settles it.
    for attempt in 0..5 {
        let r = async {
            db.execute(Q::new(BOOKKEEPING)).await?;
            db.execute(Q::new(LOCK_TABLE)).await?;
            db.execute(Q::new(
                "INSERT INTO cuspid_locks (name, taken_at) VALUES ('migrate', NULL) ON CONFLICT DO NOTHING",
            ))
            .await
        }
        .await;
        match r {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 4 && matches!(e, DbError::Sqlx(sqlx::Error::Database(_))) => {
                tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The versions already applied, with their checksums.
pub async fn applied(db: &Db) -> DbResult<Vec<(i64, String)>> {
    create_bookkeeping(db).await?;
    let rows = db
        .fetch_all(Q::new(
            "SELECT version, checksum FROM cuspid_migrations ORDER BY version",
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.i64("version")?, r.string("checksum")?)))
        .collect()
}

/// Refuses a database migrated by a newer binary, or whose applied migrations were edited.
pub fn check_compatible(backend: Backend, applied: &[(i64, String)]) -> DbResult<()> {
    let newest = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    if newest > latest_version() {
        return Err(DbError::Migration(format!(
            "the database is at schema version {newest}, newer than this Cuspid knows ({}); \
             refusing to start so that nothing is written to a schema it does not understand — \
             run a newer Cuspid",
            latest_version()
        )));
    }
    for (version, sum) in applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version)
            && m.checksum(backend) != *sum
        {
            return Err(DbError::Migration(format!(
                "migration {version} ({}) differs from the one applied to this database",
                m.name
            )));
        }
    }
    Ok(())
}

/// Brings the schema up to date. Safe to run from several servers at once.
pub async fn migrate(db: &Db, now_us: i64) -> DbResult<MigrationReport> {
    create_bookkeeping(db).await?;
    let mut tx = db.begin().await?;
    tx.fetch_one(Q::fork(
        "SELECT name FROM cuspid_locks WHERE name = 'migrate'",
        "SELECT name FROM cuspid_locks WHERE name = 'migrate' FOR UPDATE",
    ))
    .await?;
    let rows = tx
        .fetch_all(Q::new(
            "SELECT version, checksum FROM cuspid_migrations ORDER BY version",
        ))
        .await?;
    let done: Vec<(i64, String)> = rows
        .iter()
        .map(|r| Ok((r.i64("version")?, r.string("checksum")?)))
        .collect::<DbResult<_>>()?;
    check_compatible(db.backend(), &done)?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if done.iter().any(|(v, _)| *v == m.version) {
            continue;
        }
        tx.execute_script(m.sql(db.backend())).await.map_err(|e| {
            DbError::Migration(format!("migration {} ({}): {e}", m.version, m.name))
        })?;
        tx.execute(
            Q::new(
                "INSERT INTO cuspid_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(m.checksum(db.backend()))
            .bind(now_us),
        )
        .await?;
        applied.push(m.version);
    }
    tx.execute(Q::new("UPDATE cuspid_locks SET taken_at = $1 WHERE name = 'migrate'").bind(now_us))
        .await?;
    tx.commit().await?;
    Ok(MigrationReport {
        applied,
        version: latest_version(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_trees_hold_the_same_versions_in_order() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "versions strictly increase");
            last = m.version;
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
        for tree in ["sqlite", "postgres"] {
            let dir = format!("{}/migrations/{tree}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let expected: Vec<String> = MIGRATIONS
                .iter()
                .map(|m| format!("{:04}_{}.sql", m.version, m.name))
                .collect();
            assert_eq!(files, expected, "{tree} tree matches MIGRATIONS");
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let future = vec![(latest_version() + 1, "x".to_string())];
        let err = check_compatible(Backend::Sqlite, &future).unwrap_err();
        assert!(err.to_string().contains("newer than this Cuspid knows"));
        let edited = vec![(1, "not-the-checksum".to_string())];
        assert!(check_compatible(Backend::Postgres, &edited).is_err());
        let fine = vec![(1, MIGRATIONS[0].checksum(Backend::Sqlite))];
        check_compatible(Backend::Sqlite, &fine).unwrap();
    }
}
