//! Schema introspection, so a test can prove both migration trees produce the same tables,
//! columns, indexes and foreign keys.

use std::collections::BTreeMap;

use crate::db::{Db, DbResult, Q};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    /// Normalized type family: uuid, text, int, bool, bytes, real.
    pub ty: String,
    pub not_null: bool,
    pub primary_key: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub column: String,
    pub ref_table: String,
    pub ref_column: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Overlap guards by name: PostgreSQL's exclusion constraints (their GiST indexes are not
    /// listed as indexes), SQLite's triggers named `…_no_overlap` that do the same.
    pub guards: Vec<String>,
}

/// Tables by name.
pub type Schema = BTreeMap<String, Table>;

/// Maps a declared type on either database to one family.
pub fn normalize_type(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    match t.as_str() {
        "blob" | "uuid" => "uuid",
        "bytea" => "bytes",
        "text" | "character varying" | "varchar" => "text",
        "bigint" | "integer" | "int8" | "int" => "int",
        "boolean" | "bool" => "bool",
        "double precision" | "real" | "float8" => "real",
        _ => return t,
    }
    .to_string()
}

/// The differences between two schemas, as sentences. Empty means identical.
pub fn compare(left_name: &str, left: &Schema, right_name: &str, right: &Schema) -> Vec<String> {
    let mut diffs = Vec::new();
    let names: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for name in names {
        match (left.get(name), right.get(name)) {
            (Some(_), None) => diffs.push(format!("table {name} only in {left_name}")),
            (None, Some(_)) => diffs.push(format!("table {name} only in {right_name}")),
            (Some(a), Some(b)) => {
                let mut ac = a.columns.clone();
                let mut bc = b.columns.clone();
                ac.sort();
                bc.sort();
                for c in &ac {
                    match bc.iter().find(|x| x.name == c.name) {
                        None => diffs.push(format!("column {name}.{} only in {left_name}", c.name)),
                        Some(x) if x != c => diffs.push(format!(
                            "column {name}.{} differs: {left_name} {c:?}, {right_name} {x:?}",
                            c.name
                        )),
                        _ => {}
                    }
                }
                for c in &bc {
                    if !ac.iter().any(|x| x.name == c.name) {
                        diffs.push(format!("column {name}.{} only in {right_name}", c.name));
                    }
                }
                let mut ai = a.indexes.clone();
                let mut bi = b.indexes.clone();
                ai.sort();
                bi.sort();
                if ai != bi {
                    diffs.push(format!(
                        "indexes of {name} differ: {left_name} {ai:?}, {right_name} {bi:?}"
                    ));
                }
                let mut af = a.foreign_keys.clone();
                let mut bf = b.foreign_keys.clone();
                af.sort();
                bf.sort();
                if af != bf {
                    diffs.push(format!(
                        "foreign keys of {name} differ: {left_name} {af:?}, {right_name} {bf:?}"
                    ));
                }
                let mut ag = a.guards.clone();
                let mut bg = b.guards.clone();
                ag.sort();
                bg.sort();
                if ag != bg {
                    diffs.push(format!(
                        "overlap guards of {name} differ: {left_name} {ag:?}, {right_name} {bg:?}"
                    ));
                }
            }
            (None, None) => {}
        }
    }
    diffs
}

/// Reads the schema of the connected database (our tables only).
pub async fn introspect(db: &Db) -> DbResult<Schema> {
    match db {
        Db::Sqlite(..) => introspect_sqlite(db).await,
        Db::Pg(_) => introspect_pg(db).await,
    }
}

async fn introspect_sqlite(db: &Db) -> DbResult<Schema> {
    let mut schema = Schema::new();
    let tables = db
        .fetch_all(Q::new(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        ))
        .await?;
    for t in &tables {
        let name = t.string("name")?;
        let mut table = Table::default();
        for c in db
            .fetch_all(
                Q::new("SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info($1)")
                    .bind(name.as_str()),
            )
            .await?
        {
            let pk = c.i64("pk")? > 0;
            table.columns.push(Column {
                name: c.string("name")?,
                ty: normalize_type(&c.string("type")?),
                not_null: c.i64("nn")? == 1 || pk,
                primary_key: pk,
            });
        }
        for i in db
            .fetch_all(
                Q::new("SELECT name, \"unique\" AS u, origin FROM pragma_index_list($1)")
                    .bind(name.as_str()),
            )
            .await?
        {
            if i.string("origin")? == "pk" {
                continue;
            }
            let iname = i.string("name")?;
            let cols = db
                .fetch_all(
                    Q::new("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                        .bind(iname.as_str()),
                )
                .await?
                .iter()
                .map(|r| r.string("name"))
                .collect::<DbResult<Vec<_>>>()?;
            table.indexes.push(Index {
                name: iname,
                unique: i.i64("u")? == 1,
                columns: cols,
            });
        }
        for g in db
            .fetch_all(
                Q::new(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1 AND name LIKE '%_no_overlap'",
                )
                .bind(name.as_str()),
            )
            .await?
        {
            table.guards.push(g.string("name")?);
        }
        for f in db
            .fetch_all(Q::new("SELECT \"from\" AS col, \"table\" AS rt, \"to\" AS rc FROM pragma_foreign_key_list($1)").bind(name.as_str()))
            .await?
        {
            table.foreign_keys.push(ForeignKey {
                column: f.string("col")?,
                ref_table: f.string("rt")?,
                ref_column: f.string("rc")?,
            });
        }
        schema.insert(name, table);
    }
    Ok(schema)
}

async fn introspect_pg(db: &Db) -> DbResult<Schema> {
    let mut schema = Schema::new();
    let tables = db
        .fetch_all(Q::new(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
        ))
        .await?;
    for t in &tables {
        let name = t.string("name")?;
        let mut table = Table::default();
        let pk_cols: Vec<String> = db
            .fetch_all(
                Q::new(
                    "SELECT a.attname::text AS col FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND i.indisprimary",
                )
                .bind(name.as_str()),
            )
            .await?
            .iter()
            .map(|r| r.string("col"))
            .collect::<DbResult<_>>()?;
        for c in db
            .fetch_all(
                Q::new(
                    "SELECT column_name::text AS name, data_type::text AS ty, is_nullable::text AS nullable \
                     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                )
                .bind(name.as_str()),
            )
            .await?
        {
            let cname = c.string("name")?;
            let pk = pk_cols.contains(&cname);
            table.columns.push(Column {
                ty: normalize_type(&c.string("ty")?),
                not_null: c.string("nullable")? == "NO" || pk,
                primary_key: pk,
                name: cname,
            });
        }
        for i in db
            .fetch_all(
                Q::new(
                    "SELECT c.relname::text AS name, i.indisunique AS u, \
                     array_to_string(ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS cols \
                     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND NOT i.indisprimary \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')",
                )
                .bind(name.as_str()),
            )
            .await?
        {
            table.indexes.push(Index {
                name: i.string("name")?,
                unique: i.bool("u")?,
                columns: i.string("cols")?.split(',').map(str::to_string).collect(),
            });
        }
        for g in db
            .fetch_all(
                Q::new(
                    "SELECT conname::text AS name FROM pg_constraint \
                     WHERE conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND contype = 'x'",
                )
                .bind(name.as_str()),
            )
            .await?
        {
            table.guards.push(g.string("name")?);
        }
        for f in db
            .fetch_all(
                Q::new(
                    "SELECT kcu.column_name::text AS col, ccu.table_name::text AS rt, ccu.column_name::text AS rc \
                     FROM information_schema.table_constraints tc \
                     JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema \
                     JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema \
                     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = $1",
                )
                .bind(name.as_str()),
            )
            .await?
        {
            table.foreign_keys.push(ForeignKey {
                column: f.string("col")?,
                ref_table: f.string("rt")?,
                ref_column: f.string("rc")?,
            });
        }
        schema.insert(name, table);
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[(&str, &str, bool)]) -> Table {
        Table {
            columns: cols
                .iter()
                .map(|(n, t, nn)| Column {
                    name: n.to_string(),
                    ty: normalize_type(t),
                    not_null: *nn,
                    primary_key: *n == "id",
                })
                .collect(),
            indexes: vec![Index {
                name: "t_name".into(),
                unique: true,
                columns: vec!["name".into()],
            }],
            foreign_keys: vec![],
            guards: vec![],
        }
    }

    #[test]
    fn identical_schemas_have_no_difference() {
        let a: Schema = [(
            "t".to_string(),
            table(&[("id", "BLOB", true), ("name", "TEXT", true)]),
        )]
        .into();
        let b: Schema = [(
            "t".to_string(),
            table(&[("id", "uuid", true), ("name", "text", true)]),
        )]
        .into();
        assert!(compare("sqlite", &a, "postgres", &b).is_empty());
    }

    #[test]
    fn a_different_column_is_reported() {
        // The fixture: one tree declares `name` as BIGINT, the other as TEXT, and one has an
        // extra nullable column.
        let a: Schema = [(
            "t".to_string(),
            table(&[("id", "BLOB", true), ("name", "BIGINT", true)]),
        )]
        .into();
        let b: Schema = [(
            "t".to_string(),
            table(&[
                ("id", "uuid", true),
                ("name", "text", true),
                ("note", "text", false),
            ]),
        )]
        .into();
        let diffs = compare("sqlite", &a, "postgres", &b);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].starts_with("column t.name differs"));
        assert_eq!(diffs[1], "column t.note only in postgres");
        let mut c = b.clone();
        c.get_mut("t").unwrap().indexes[0].unique = false;
        assert!(compare("x", &b, "y", &c)[0].starts_with("indexes of t differ"));
        let mut g = b.clone();
        g.get_mut("t").unwrap().guards.push("t_no_overlap".into());
        assert!(compare("x", &b, "y", &g)[0].starts_with("overlap guards of t differ"));
        let mut d = b.clone();
        d.insert("extra".into(), Table::default());
        assert_eq!(compare("x", &b, "y", &d), vec!["table extra only in y"]);
    }
}
