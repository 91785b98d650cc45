#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Both migration trees produce the same schema, and every SQL statement of the store
//! prepares on both databases.

use std::sync::Arc;

use domain::SystemClock;
use store::schema;
use test_support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_trees_produce_the_same_schema() {
    let lite = TestDb::sqlite().await;
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let a = schema::introspect(&lite.store.db).await.unwrap();
    let b = schema::introspect(&pg.store.db).await.unwrap();
    assert!(a.contains_key("organizations") && a.contains_key("jobs"));
    assert_eq!(a.len(), b.len(), "{:?} vs {:?}", a.keys(), b.keys());
    let diffs = schema::compare("sqlite", &a, "postgres", &b);
    assert!(diffs.is_empty(), "schema drift:\n{}", diffs.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_table_is_retired_or_kept_with_its_org() {
    let db = TestDb::sqlite().await;
    let s = schema::introspect(&db.store.db).await.unwrap();
    for (name, t) in &s {
        if t.columns.iter().any(|c| c.name == "org_id") {
            assert!(
                store::tenancy::TENANT_TABLES.contains(&name.as_str())
                    || store::tenancy::KEPT_TABLES.contains(&name.as_str()),
                "{name} has org_id but is in neither TENANT_TABLES nor KEPT_TABLES"
            );
        }
    }
}

#[tokio::test]
async fn every_patient_table_follows_a_merge_or_says_why_not() {
    let db = TestDb::sqlite().await;
    let s = schema::introspect(&db.store.db).await.unwrap();
    let mut found = 0;
    for (name, t) in &s {
        if t.columns.iter().any(|c| c.name == "patient_id") {
            found += 1;
            assert!(
                store::patients::merge::PATIENT_LINKS
                    .iter()
                    .any(|(t, _)| t == name)
                    || store::patients::merge::NOT_MOVED.contains(&name.as_str()),
                "{name} has patient_id but is in neither PATIENT_LINKS nor NOT_MOVED: \
                 say what a merge does with its rows"
            );
        }
    }
    assert!(found >= 4, "found {found} tables with patient_id");
}

/// SQL literals of `Q::new("…")` and `Q::fork("…", "…")` in the store's sources.
/// Returns (file, sqlite sql, postgres sql).
fn statements() -> Vec<(String, String, String)> {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut out = Vec::new();
    // Every .rs file under src/, context folders included.
    let mut paths = Vec::new();
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    for path in paths {
        let file = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // schema.rs introspects each database with its own catalog queries, by design.
        if file == "schema.rs" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for (marker, two) in [("Q::new(", false), ("Q::fork(", true)] {
            let mut rest = src.as_str();
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                let Some((first, after)) = literal(rest) else {
                    continue;
                };
                if two {
                    let after = after.trim_start().trim_start_matches(',');
                    let (second, _) = literal(after).unwrap();
                    out.push((file.clone(), first, second));
                } else {
                    out.push((file.clone(), first.clone(), first));
                }
            }
        }
    }
    out
}

/// Parses a Rust string literal at the start of `s` (after whitespace).
fn literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\n')) => {
                    // line continuation: skip leading whitespace of the next line
                    let rest = &body[i + 2..];
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..rest[..skip].chars().count() {
                        chars.next();
                    }
                }
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => out.push(other),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_prepares_on_both_databases() {
    let stmts = statements();
    assert!(stmts.len() > 30, "found only {} statements", stmts.len());
    let lite = TestDb::sqlite_with(Arc::new(SystemClock)).await;
    let pg = TestDb::postgres().await;
    let mut failures = Vec::new();
    for (file, sqlite_sql, pg_sql) in &stmts {
        if let store::Db::Sqlite(p, _) = &lite.store.db
            && let Err(e) = sqlx::Executor::prepare(
                p,
                sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sqlite_sql.clone())),
            )
            .await
        {
            failures.push(format!("[sqlite] {file}: {e}\n    {sqlite_sql}"));
        }
        if let Some(pg) = &pg
            && let store::Db::Pg(p) = &pg.store.db
            && let Err(e) = sqlx::Executor::prepare(
                p,
                sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(pg_sql.clone())),
            )
            .await
        {
            failures.push(format!("[postgres] {file}: {e}\n    {pg_sql}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_scanner_reads_continuations_and_forks() {
    let (s, rest) = literal("  \"SELECT a, \\\n       b FROM t\", x").unwrap();
    assert_eq!(s, "SELECT a, b FROM t");
    assert_eq!(rest, ", x");
    assert!(
        statements().iter().any(|(_, a, b)| a != b),
        "at least one fork found"
    );
}

/// PostgreSQL's JIT stays off on Cuspid's connections (see `Db::connect`): a short query with
/// a bad estimate compiled itself for 40 ms on the dso-slice agenda.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_run_without_jit() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    for _ in 0..3 {
        let row = pg
            .store
            .db
            .fetch_one(store::db::Q::new("SELECT current_setting('jit') AS jit"))
            .await
            .unwrap();
        assert_eq!(row.string("jit").unwrap(), "off");
    }
}
