#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The patient commands of the binary as an operator runs them, on both databases: the demo's
//! patients, `generate` of searchable patients, and `import patients` of a CSV with bad rows.

use std::collections::HashMap;
use std::process::{Command, Output};

use domain::patients::search::{DateOrder, edit_distance};
use domain::{OrgId, Scope};
use store::{Q, Store};
use test_support::{TestDb, dual_test};

const BIN: &str = env!("CARGO_BIN_EXE_cuspid");

/// Runs the binary on the test's database (`--database-url`), with a data directory of the
/// test's own for the generated keys.
fn run(db: &TestDb, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(db.dir())
        .env_remove("CUSPID_CONFIG")
        .env_remove("CUSPID_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .args(["--database-url", &db.url, "--data-dir"])
        .arg(db.dir().join("data"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn count(store: &Store, sql: &'static str, org: OrgId) -> i64 {
    store
        .db
        .fetch_one(Q::generated(sql.to_string()).bind(org))
        .await
        .unwrap()
        .i64("n")
        .unwrap()
}

async fn org_of(store: &Store, slug: &str) -> OrgId {
    store.org_by_slug(slug).await.unwrap().unwrap().id
}

fn verify_audit(db: &TestDb) {
    let out = run(db, &["audit", "verify"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("intact") && !stdout.contains("BROKEN"),
        "{stdout}"
    );
}

async fn check_demo(db: &TestDb) {
    let org = org_of(&db.store, "demo").await;
    let s = &db.store;
    let patients = count(
        s,
        "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1",
        org,
    )
    .await;
    assert!((480..=520).contains(&patients), "{patients} patients");
    let families = count(
        s,
        "SELECT COUNT(*) AS n FROM families WHERE org_id = $1",
        org,
    )
    .await;
    assert!(
        families * 3 / 2 < patients && families * 3 > patients,
        "{families} families"
    );
    let big = count(
        s,
        "SELECT COUNT(*) AS n FROM (SELECT family_id FROM patients WHERE org_id = $1 GROUP BY family_id HAVING COUNT(*) >= 4) f",
        org,
    )
    .await;
    assert!(big > 10, "{big} families of 4 or 5");
    // Every family has its guarantor: a member, or a named person who is not a patient.
    let orphans = count(
        s,
        "SELECT COUNT(*) AS n FROM families f WHERE f.org_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM patients p WHERE p.id = f.guarantor_patient_id AND p.family_id = f.id) AND f.guarantor_name = ''",
        org,
    )
    .await;
    assert_eq!(orphans, 0);
    let outside = count(
        s,
        "SELECT COUNT(*) AS n FROM families WHERE org_id = $1 AND guarantor_patient_id IS NULL",
        org,
    )
    .await;
    assert!(
        (3..=25).contains(&outside),
        "{outside} non-patient guarantors"
    );
    let with_history = count(
        s,
        "SELECT COUNT(DISTINCT patient_id) AS n FROM medical_histories WHERE org_id = $1",
        org,
    )
    .await;
    assert!(
        with_history * 100 / patients >= 25 && with_history * 100 / patients <= 45,
        "{with_history} histories"
    );
    let reviewed = count(
        s,
        "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1 AND history_reviewed_at IS NOT NULL",
        org,
    )
    .await;
    assert!(
        reviewed > 0 && reviewed < with_history,
        "{reviewed} reviewed"
    );
    for status in ["inactive", "archived"] {
        let n =
            s.db.fetch_one(
                Q::new("SELECT COUNT(*) AS n FROM patients WHERE org_id = $1 AND status = $2")
                    .bind(org)
                    .bind(status),
            )
            .await
            .unwrap()
            .i64("n")
            .unwrap();
        assert!((1..=15).contains(&n), "{n} {status}");
    }
    let french = count(
        s,
        "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1 AND language = 'fr'",
        org,
    )
    .await;
    assert!(french > patients / 4, "{french} French-speaking");
    let rows = s
        .db
        .fetch_all(
            Q::new("SELECT given_name, family_name, given_key, family_key, birth_date FROM patients WHERE org_id = $1")
                .bind(org),
        )
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| {
            let name = r.string("family_name").unwrap() + &r.string("given_name").unwrap();
            name.chars().any(|c| "éèêçôÉ".contains(c))
        }),
        "accented names"
    );
    // The near-duplicates: same birth date, names a slip apart.
    let mut by_birth: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in &rows {
        by_birth
            .entry(r.string("birth_date").unwrap())
            .or_default()
            .push((
                r.string("given_key").unwrap(),
                r.string("family_key").unwrap(),
            ));
    }
    let near = by_birth
        .values()
        .flat_map(|v| {
            v.iter().enumerate().flat_map(move |(i, a)| {
                v[i + 1..]
                    .iter()
                    .filter(move |b| a.1 == b.1 && edit_distance(&a.0, &b.0) == 1)
            })
        })
        .count();
    assert!(near >= 3, "{near} near-duplicates");
}

dual_test!(
    async fn demo_creates_patients_in_families_with_histories_and_a_sound_audit_chain(db) {
        let started = std::time::Instant::now();
        let out = run(&db, &["demo"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        eprintln!(
            "demo on {}: {:.2} s",
            db.backend().name(),
            started.elapsed().as_secs_f64()
        );
        check_demo(&db).await;
        verify_audit(&db);
        // The reset retires the organization, patients included, and makes it again.
        let out = run(&db, &["demo", "--reset"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        let orgs = db
            .store
            .db
            .fetch_one(Q::new("SELECT COUNT(*) AS n FROM organizations WHERE slug = 'demo'"))
            .await
            .unwrap()
            .i64("n")
            .unwrap();
        assert_eq!(orgs, 1);
        let all = db
            .store
            .db
            .fetch_one(Q::new("SELECT COUNT(*) AS n FROM patients"))
            .await
            .unwrap()
            .i64("n")
            .unwrap();
        let org = org_of(&db.store, "demo").await;
        let now = count(
            &db.store,
            "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1",
            org,
        )
        .await;
        assert_eq!(all, now, "the retired demo's patients are gone");
        check_demo(&db).await;
        verify_audit(&db);
    }
);

/// A slip that keeps the phonetic key: the first vowel after the first letter swapped.
fn misspell(name: &str) -> String {
    let mut done = false;
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let swap = match c {
                'a' => 'e',
                'e' => 'a',
                'i' => 'y',
                'y' => 'i',
                'o' => 'u',
                'u' => 'o',
                _ => return c,
            };
            if i == 0 || done {
                c
            } else {
                done = true;
                swap
            }
        })
        .collect()
}

dual_test!(
    async fn generated_patients_are_found_by_a_misspelled_name_and_a_phone_suffix(db) {
        let started = std::time::Instant::now();
        let out = run(
            &db,
            &[
                "generate",
                "--preset",
                "practice",
                "--patients",
                "3000",
                "--seed",
                "9",
            ],
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("(1 clinics, 3000 patients)"), "{stdout}");
        assert!(stderr.contains("patients: 3000/3000"), "{stderr}");
        eprintln!(
            "generate 3,000 on {}: {:.2} s",
            db.backend().name(),
            started.elapsed().as_secs_f64()
        );
        let s = &db.store;
        let org = org_of(s, "gen-practice-9").await;
        // The procedure history: every charted patient's chart reads back whole, its version
        // the number of its entries.
        let entries = count(s, "SELECT COUNT(*) AS n FROM chart_entries WHERE org_id = $1", org).await;
        assert!(entries > 10_000, "{entries} procedures");
        assert_eq!(
            count(s, "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS n FROM charts WHERE org_id = $1", org).await,
            entries
        );
        let row = s
            .db
            .fetch_one(Q::new("SELECT patient_id, version FROM charts WHERE org_id = $1 ORDER BY version DESC LIMIT 1").bind(org))
            .await
            .unwrap();
        let patient = domain::PatientId::from_uuid(row.uuid("patient_id").unwrap());
        let chart = s
            .chart(&domain::Scope::system(org), &store::patients::Actor::system("test"), patient)
            .await
            .unwrap();
        assert_eq!(chart.entries.len() as i64, row.i64("version").unwrap());
        assert_eq!(chart.version, row.i64("version").unwrap());
        assert!(!domain::clinical::chart::odontogram(&chart.marks()).is_empty());
        assert_eq!(
            count(s, "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1", org).await,
            3000
        );
        assert_eq!(
            count(
                s,
                "SELECT COUNT(DISTINCT chart_number) AS n FROM patients WHERE org_id = $1 AND chart_number BETWEEN 1 AND 3000",
                org
            )
            .await,
            3000
        );
        assert_eq!(
            count(
                s,
                "SELECT next_chart_number AS n FROM patient_settings WHERE org_id = $1",
                org
            )
            .await,
            3001
        );
        let families = count(s, "SELECT COUNT(*) AS n FROM families WHERE org_id = $1", org).await;
        assert!(families > 1000 && families < 2000, "{families} families");
        let two = count(
            s,
            "SELECT COUNT(*) AS n FROM (SELECT patient_id FROM patient_phones WHERE org_id = $1 GROUP BY patient_id HAVING COUNT(*) = 2) t",
            org,
        )
        .await;
        assert!((1500..=2100).contains(&two), "{two} with two phones");
        assert_eq!(
            count(
                s,
                "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = $1 AND action = 'patient.generated'",
                org
            )
            .await,
            1
        );
        verify_audit(&db);

        let scope = Scope::system(org);
        // Several generated patients, each found by a misspelling of their name and by the
        // end of their phone number.
        let rows = s
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.id, p.given_name, p.family_name, ph.number FROM patients p \
                     JOIN patient_phones ph ON ph.patient_id = p.id AND ph.position = 0 \
                     WHERE p.org_id = $1 ORDER BY p.chart_number LIMIT 5",
                )
                .bind(org),
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 5);
        for r in &rows {
            let id = r.uuid("id").unwrap();
            let given = r.string("given_name").unwrap();
            let family = r.string("family_name").unwrap();
            let typed = format!("{given} {}", misspell(&family));
            assert_ne!(typed, format!("{given} {family}"));
            let hits = s
                .find_patients(&scope, &typed, DateOrder::MonthFirst, 50)
                .await
                .unwrap();
            assert!(
                hits.iter().any(|h| h.patient.id.as_uuid() == id),
                "{typed:?} finds {given} {family}"
            );
            let number = r.string("number").unwrap();
            let suffix = &number[number.len() - 7..];
            let hits = s
                .find_patients(&scope, suffix, DateOrder::MonthFirst, 50)
                .await
                .unwrap();
            assert!(
                hits.iter().any(|h| h.patient.id.as_uuid() == id),
                "{suffix} finds {number}"
            );
        }
        // Registration carries on after the generated chart numbers.
        let loc = s.locations(&scope).await.unwrap()[0].id;
        let p = test_support::seed_patient(
            s,
            org,
            loc,
            test_support::patient_input("Zoé", "Tremblay", "1980-02-03"),
        )
        .await;
        assert_eq!(p.chart_number, 3001);
    }
);

const CSV: &str = "\
external_id,family_name,given_name,birth_date,sex,phone_mobile,email,guarantor_external_id
A1,Tremblay,Zoé,1984-03-27,F,514 555 0101,zoe@example.com,A1
A2,Tremblay,Léo,2015-06-01,M,,,A1
A3,,Marc,1970-01-01,M,,,
A4,Gagnon,Luc,1980-02-30,M,,,
A5,Roy,Anne,1990-05-05,F,,not-an-email,
A6,Côté,Émile,2099-01-01,M,,,
A7,Smith,John,1955-12-12,M,802 555 0199,,A99
A8,Nguyen,Mai,2001-09-09,F,,mai@example.org,
";

async fn patients_in(db: &TestDb, org: OrgId) -> i64 {
    count(
        &db.store,
        "SELECT COUNT(*) AS n FROM patients WHERE org_id = $1",
        org,
    )
    .await
}

dual_test!(
    async fn import_reports_bad_rows_by_line_and_a_rerun_creates_nothing(db) {
        let (org, _) = test_support::seed_org(&db.store, "imp").await;
        let file = db.dir().join("patients.csv");
        std::fs::write(&file, CSV).unwrap();
        let file = file.to_str().unwrap().to_string();
        let import = |extra: &[&str]| {
            let mut args = vec!["import", "patients", file.as_str(), "--org", "imp"];
            args.extend_from_slice(extra);
            run(&db, &args)
        };

        // A dry run reports and writes nothing.
        let audit_before = count(
            &db.store,
            "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = $1",
            org.id,
        )
        .await;
        let out = import(&["--dry-run"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("dry run: nothing was written"), "{stdout}");
        assert!(stdout.contains("created: 4 would be created"), "{stdout}");
        assert_eq!(patients_in(&db, org.id).await, 0);
        assert_eq!(
            count(
                &db.store,
                "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = $1",
                org.id
            )
            .await,
            audit_before
        );

        let out = import(&[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        for expected in [
            "rows:    8\n",
            "created: 4 created\n",
            "failed:  4 with errors\n",
            "line 4: family_name: is required\n",
            "line 5: birth_date: ",
            "line 6: email: ",
            "line 7: birth_date: 2099-01-01 is in the future\n",
            "line 8: guarantor_external_id: guarantor A99 is neither in the file nor in Cuspid",
            "(warning)\n",
            "the import ran, but 4 row(s) were not imported",
        ] {
            assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
        }
        assert_eq!(patients_in(&db, org.id).await, 4);
        // Léo joined Zoé's family.
        let families = count(
            &db.store,
            "SELECT COUNT(DISTINCT family_id) AS n FROM patients WHERE org_id = $1",
            org.id,
        )
        .await;
        assert_eq!(families, 3);

        // Run again: everything good is already there.
        let out = import(&[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("created: 0 created\n"), "{stdout}");
        assert!(stdout.contains("skipped: 4 "), "{stdout}");
        assert_eq!(patients_in(&db, org.id).await, 4);

        // Usage errors exit 2, a refused file or mapping 1; neither writes.
        let out = run(
            &db,
            &["import", "patients", file.as_str(), "--org", "nope"],
        );
        assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
        assert!(text(&out).1.contains("no organization \"nope\""));
        let out = import(&["--location", "Elsewhere"]);
        assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
        assert!(text(&out).1.contains("imp main office"), "{:?}", text(&out));
        let bad = db.dir().join("bad.csv");
        std::fs::write(&bad, "Name,Born\nZoé,1984-03-27\n").unwrap();
        let out = run(
            &db,
            &["import", "patients", bad.to_str().unwrap(), "--org", "imp"],
        );
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        assert!(text(&out).1.contains("mapping"), "{:?}", text(&out));
        let out = import(&["--preset", "opendental"]);
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        let out = run(
            &db,
            &["import", "patients", "/nonexistent.csv", "--org", "imp"],
        );
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        assert_eq!(patients_in(&db, org.id).await, 4);
    }
);
