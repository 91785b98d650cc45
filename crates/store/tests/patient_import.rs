#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! CSV import on both databases: a 10,000-row Open Dental export with 3 % bad rows. Good rows
//! go in, every bad row is reported with its line and reason, families are linked through
//! the guarantor column, and running the same file again adds nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use domain::Scope;
use domain::patients::import::{generic, open_dental};
use domain::patients::search::DateOrder;
use store::patients::Actor;
use store::patients::import::ImportOptions;
use test_support::{dual_test, seed_org};

/// An Open Dental export: `rows` patients in families of up to four (the first of each
/// family is the guarantor); every 33rd row is broken in one of three ways. Returns the CSV
/// and the (line, reason) of each broken row.
fn export(rows: usize) -> (String, Vec<(u64, &'static str)>) {
    let mut csv = String::from(
        "PatNum,LName,FName,Birthdate,Gender,WirelessPhone,Email,Guarantor,PatStatus,SSN\n",
    );
    let family_names = [
        "Tremblay", "Gagnon", "Roy", "Côté", "Smith", "Johnson", "O'Brien", "Nguyen",
    ];
    let given = [
        "Zoé", "Luc", "Anne", "Marc", "Léa", "John", "Mary", "Ali", "Chen", "Sara",
    ];
    let mut bad = Vec::new();
    let mut guarantor = 0;
    for i in 0..rows {
        let pat = 1000 + i;
        if i % 4 == 0 {
            guarantor = pat;
        }
        let line = (i + 2) as u64;
        let mut birth = format!("{:02}/{:02}/{}", 1 + i % 12, 1 + i % 28, 1940 + i % 80);
        let mut phone = format!("(802) 555-{:04}", i % 10_000);
        let mut email = format!("p{i}@example.com");
        if i % 33 == 5 {
            match (i / 33) % 3 {
                0 => {
                    birth = "13/45/1980".into();
                    bad.push((line, "birth_date"));
                }
                1 => {
                    phone = "555-CALL-NOW".into();
                    bad.push((line, "phone"));
                }
                _ => {
                    email = "not-an-email".into();
                    bad.push((line, "email"));
                }
            }
        }
        csv.push_str(&format!(
            "{pat},\"{}\",{},{birth},{},{phone},{email},{guarantor},0,\n",
            family_names[(i / 4) % family_names.len()],
            given[i % given.len()],
            i % 2,
        ));
    }
    (csv, bad)
}

dual_test!(fixed_clock async fn ten_thousand_rows_three_percent_bad_and_a_rerun_adds_nothing(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "imp").await;
    let scope = Scope::system(org.id);
    let actor = Actor::system("import");
    let (csv, bad) = export(10_000);
    assert!(bad.len() >= 300, "3 % bad: {}", bad.len());
    let opts = |dry_run| ImportOptions { location_id: loc.id, mapping: open_dental(), dry_run, file_name: "od.csv".into(), run: None };
    let calls = AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        assert!(done <= total);
        calls.fetch_add(1, Ordering::Relaxed);
    };

    // A dry run reports everything and writes nothing.
    let dry = store.import_patients(&scope, &actor, csv.as_bytes(), &opts(true), &progress).await.unwrap();
    assert_eq!(dry.total_rows, 10_000);
    assert_eq!(dry.failed as usize, bad.len());
    assert_eq!(dry.created as usize, 10_000 - bad.len());
    assert!(store.find_patients(&scope, "tremblay", DateOrder::MonthFirst, 5).await.unwrap().is_empty());

    let report = store.import_patients(&scope, &actor, csv.as_bytes(), &opts(false), &progress).await.unwrap();
    assert_eq!(report.created as usize, 10_000 - bad.len());
    assert_eq!(report.failed as usize, bad.len());
    assert_eq!(report.skipped, 0);
    assert!(calls.load(Ordering::Relaxed) >= 20, "progress after each chunk");
    // Every bad row, by line and field.
    let errors: Vec<(u64, String)> = report.errors.iter().filter(|e| !e.warning).map(|e| (e.line, e.field.clone())).collect();
    for (line, field) in &bad {
        assert!(errors.contains(&(*line, field.to_string())), "line {line} ({field}) not reported: {:?}", &errors[..3]);
    }
    let count = || async {
        store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM patients")).await.unwrap().i64("n").unwrap()
    };
    assert_eq!(count().await as usize, 10_000 - bad.len());
    // Families follow the guarantor column (the guarantor's own row may be a bad one: then a
    // warning, and a family of their own).
    let fams = store
        .db
        .fetch_one(store::Q::new("SELECT COUNT(DISTINCT family_id) AS n FROM patients"))
        .await
        .unwrap()
        .i64("n")
        .unwrap();
    // Expected: a good row's family is its guarantor's when that row is good, else its own.
    let bad_lines: std::collections::HashSet<u64> = bad.iter().map(|b| b.0).collect();
    let is_bad = |i: usize| bad_lines.contains(&((i + 2) as u64));
    let mut families = std::collections::HashSet::new();
    let mut orphans = 0;
    for i in (0..10_000).filter(|i| !is_bad(*i)) {
        let g = i - i % 4;
        if is_bad(g) {
            families.insert(i);
            orphans += 1;
        } else {
            families.insert(g);
        }
    }
    assert_eq!(fams as usize, families.len());
    assert_eq!(report.errors.iter().filter(|e| e.warning && e.field == "guarantor_external_id").count(), orphans);
    assert!(orphans > 0, "the file has orphans to warn about");

    // The same file again: nothing new, every good row skipped.
    let again = store.import_patients(&scope, &actor, csv.as_bytes(), &opts(false), &progress).await.unwrap();
    assert_eq!(again.created, 0);
    assert_eq!(again.skipped as usize, 10_000 - bad.len());
    assert_eq!(count().await as usize, 10_000 - bad.len());
    assert!(store.verify_audit(org.id, None).await.unwrap().broken.is_none());
});

dual_test!(fixed_clock async fn a_file_without_ids_is_idempotent_by_name_and_birth_date(db, clock) {
    let _ = clock;
    let store = &db.store;
    let (org, loc) = seed_org(store, "noid").await;
    let scope = Scope::system(org.id);
    let csv = "family_name;given_name;birth_date;phone_mobile\nCôté;Hélène;1992-07-08;514 555 0103\nCote;Helene;1992-07-08;\nRoy;;1980-01-01;\n";
    let opts = ImportOptions { location_id: loc.id, mapping: generic(), dry_run: false, file_name: "x.csv".into(), run: None };
    let r = store.import_patients(&scope, &Actor::system("import"), csv.as_bytes(), &opts, &|_, _| {}).await.unwrap();
    assert_eq!((r.created, r.skipped, r.failed), (1, 1, 1), "{r:?}");
    assert_eq!(r.errors[0].line, 4);
    assert_eq!(r.errors[0].field, "given_name");
    let r = store.import_patients(&scope, &Actor::system("import"), csv.as_bytes(), &opts, &|_, _| {}).await.unwrap();
    assert_eq!((r.created, r.skipped), (0, 2));
    // A mapping that misses a required column is refused before anything is read.
    let bad = ImportOptions { mapping: open_dental(), ..opts };
    let err = store.import_patients(&scope, &Actor::system("import"), csv.as_bytes(), &bad, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("LName"), "{err}");
});
