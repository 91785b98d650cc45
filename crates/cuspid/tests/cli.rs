#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The `cuspid` binary as an operator runs it: start-up, bad input, shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cuspid");

fn cuspid(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("CUSPID_DATABASE_URL")
        .env_remove("CUSPID_CONFIG")
        .env("CUSPID_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn");
    c
}

/// A running `cuspid serve` on an ephemeral port; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The demo password the server generated and printed, if it did.
    pub generated_password: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Server {
    /// Signs in over the JSON API; the `cookie` header value for later requests.
    pub async fn sign_in(&self, http: &reqwest::Client, email: &str, password: &str) -> String {
        let r = http
            .post(format!("{}/api/v1/session", self.base))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign-in of {email}");
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(dir: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = cuspid(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let generated_password = std::sync::Arc::new(std::sync::Mutex::new(None));
    let generated = generated_password.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(pw) = line
                .split("shown once; set CUSPID_DEMO_PASSWORD to choose it): ")
                .nth(1)
            {
                *generated.lock().unwrap() = Some(pw.trim().to_string());
            }
            if let Some(rest) = line.split("serving ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_string();
                let _ = tx.send(url);
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server announced its address");
    // The demo lines follow the address line.
    std::thread::sleep(Duration::from_millis(100));
    Server {
        child,
        base,
        generated_password,
    }
}

#[test]
fn malformed_configuration_names_the_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cuspid.toml"),
        "listen = \"127.0.0.1:8080\"\n[database]\nmax_conections = 4\n",
    )
    .unwrap();
    let out = cuspid(dir.path()).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cuspid.toml") && err.contains("max_conections"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    std::fs::write(dir.path().join("cuspid.toml"), "listen = \"everywhere\"\n").unwrap();
    let out = cuspid(dir.path()).arg("check").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: configuration: listen:"), "{err}");

    let out = cuspid(dir.path())
        .args(["--config", "missing.toml", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://cuspid:secret@127.0.0.1:1/cuspid",
        "mysql://x@y/z",
    ] {
        let out = cuspid(dir.path())
            .args(["migrate", "--database-url", url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("secret"), "password not echoed: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"));
    }
}

#[test]
fn a_database_migrated_by_a_newer_cuspid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = cuspid(dir.path())
        .arg("migrate")
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", data.join("cuspid.db").display())).await.unwrap();
        sqlx::query("INSERT INTO cuspid_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)")
            .execute(&mut c).await.unwrap();
    });
    for cmd in ["migrate", "serve", "check"] {
        let out = cuspid(dir.path())
            .arg(cmd)
            .arg("--data-dir")
            .arg(&data)
            .args(if cmd == "serve" {
                &["--listen", "127.0.0.1:0"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap();
        assert!(!out.status.success(), "{cmd} must refuse");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("newer than this Cuspid knows"), "{cmd}: {err}");
    }
}

#[test]
fn serve_answers_quickly_creates_the_demo_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut server = serve(dir.path(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = test_support::http();
        let mut first_ok = None;
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await
                && r.status() == 200
            {
                first_ok = Some(started.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(first_ok.is_some(), "healthz answered");
        let password = server
            .generated_password
            .lock()
            .unwrap()
            .clone()
            .expect("a generated demo password was printed");
        let cookie = server
            .sign_in(&http, "admin@demo.cuspid.test", &password)
            .await;
        let page = http
            .get(format!("{}/dashboard", server.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        assert!(
            body.contains("Maple Street Dental")
                && body.contains("Clinique dentaire Saint-Laurent"),
            "demo clinic"
        );
        let ready = http
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    });
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server stopped after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful exit: {status:?}");

    // A second start on the same data keeps the demo (no duplicate) and `demo --reset` recreates it.
    let out = cuspid(dir.path())
        .args(["demo", "--reset", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cuspid(dir.path())
        .args(["demo", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("exists"));
    let out = cuspid(dir.path())
        .args(["check", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("database: ok (SQLite, schema version"),
        "{text}"
    );
}

#[test]
fn no_demo_leaves_an_empty_database_and_pages_ask_for_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--no-demo"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let body = test_support::http()
            .get(format!("{}/dashboard", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains("<h1 id=\"login-title\">Sign in</h1>"),
            "{body}"
        );
    });
}

#[test]
fn print_default_configuration_is_valid_toml_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = cuspid(dir.path())
        .args(["config", "print-default"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(dir.path().join("cuspid.toml"), &out.stdout).unwrap();
    let out = cuspid(dir.path())
        .args([
            "config",
            "show",
            "--database-url",
            "postgres://u:hunter2@h/db",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen: \"127.0.0.1:8080\""), "{text}");
    assert!(!text.contains("hunter2"), "secret redacted");
}

#[test]
fn generate_is_deterministic_and_refuses_to_run_twice() {
    let run = |dir: &std::path::Path| {
        let out = cuspid(dir)
            .args([
                "generate",
                "--preset",
                "dso-slice",
                "--seed",
                "7",
                "--patients",
                "500",
                "--data-dir",
            ])
            .arg(dir.join("data"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (ok_a, out_a, err_a) = run(a.path());
    let (ok_b, out_b, err_b) = run(b.path());
    assert!(ok_a && ok_b, "{err_a}");
    // Ten years of appointments, as many as 500 patients make (about 2.5 visits a year).
    let appointments = |err: &str| -> u64 {
        err.split("appointments done: ")
            .nth(1)
            .unwrap_or_else(|| panic!("no appointments line in {err}"))
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let n = appointments(&err_a);
    assert!(
        (8_000..=16_000).contains(&n),
        "{n} appointments for 500 patients over ten years"
    );
    assert_eq!(n, appointments(&err_b), "same seed, same agenda");
    // About three procedures charted a completed visit (nine in ten are completed).
    let procedures = |err: &str| -> u64 {
        err.split(" busy rows and ")
            .nth(1)
            .unwrap_or_else(|| panic!("no procedures in {err}"))
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let e = procedures(&err_a);
    let per_visit = e as f64 / n as f64;
    assert!(
        (2.2..=3.2).contains(&per_visit),
        "{e} procedures for {n} appointments"
    );
    assert_eq!(e, procedures(&err_b), "same seed, same procedures");
    // They are in the database, and each charted patient's chart version counts them.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", a.path().join("data").join("cuspid.db").display()))
            .await
            .unwrap();
        let (rows, versions, bad): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM chart_entries), (SELECT SUM(version) FROM charts),              (SELECT COUNT(*) FROM chart_entries WHERE status <> 'completed' OR completed_at < recorded_at)",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!((rows as u64, versions as u64, bad), (e, e, 0));
    });
    assert!(out_a.contains("(200 clinics, 500 patients)"), "{out_a}");
    let org = |s: &str| {
        s.split("organization ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(org(&out_a), org(&out_b), "same seed, same ids");
    let (again, _, err) = run(a.path());
    assert!(!again);
    assert!(err.contains("already holds"), "{err}");
}

#[test]
fn serves_https_with_hsts_when_given_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("ca.pem"),
    );
    // A throw-away CA and a server certificate for 127.0.0.1 signed by it.
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "1",
                "-subj",
                "/CN=Cuspid test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ],
    ];
    for args in steps {
        let made = Command::new("openssl")
            .args(&args)
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            test_support::missing_peer("the openssl command (to make a test certificate)");
            return;
        }
    }
    std::fs::write(
        dir.path().join("cuspid.toml"),
        format!(
            "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .unwrap();
    let server = serve(dir.path(), &[]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _ = test_support::http();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let r = client
            .get(format!("{}/login", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let hsts = r
            .headers()
            .get("strict-transport-security")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(hsts.starts_with("max-age="), "{hsts}");
    });
    // A key that does not exist is named, and nothing starts.
    std::fs::write(
        dir.path().join("cuspid.toml"),
        "[http]\ntls_cert = \"nope.pem\"\ntls_key = \"nope.key\"\n",
    )
    .unwrap();
    let out = cuspid(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.pem"));
}

#[test]
fn audit_verify_passes_an_intact_chain_and_names_the_first_broken_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        dir.path().join("cuspid.toml"),
        "[security]\naudit_checkpoint_every = 2\n",
    )
    .unwrap();
    let out = cuspid(dir.path())
        .args(["demo", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |key: Option<&str>| {
        let mut c = cuspid(dir.path());
        c.args(["audit", "verify", "--data-dir"]).arg(&data);
        if let Some(k) = key {
            c.env("CUSPID_AUDIT_SIGNING_KEY", k);
        }
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, text) = verify(None);
    assert!(ok, "{text}");
    // The demo's organization and locations, its staff and their profiles, and each demo
    // patient's registration and history: one checkpoint every two events.
    let events: u64 = text
        .split("intact, ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(events > 500, "{text}");
    assert!(
        text.contains(&format!(
            "intact, {events} events, {} signed checkpoints",
            events / 2
        )),
        "{text}"
    );
    // The demo's books balance (`cuspid ledger verify`).
    let out = cuspid(dir.path())
        .args(["ledger", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let postings: u64 = text
        .split("balanced, ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(postings > 80, "{text}");
    // Another key cannot vouch for these checkpoints.
    let (ok, text) = verify(Some(&"ab".repeat(32)));
    assert!(!ok);
    assert!(
        text.contains("BROKEN at event 2") && text.contains("signature"),
        "{text}"
    );
    // Someone with the database file edits event 3.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!(
            "sqlite:{}",
            data.join("cuspid.db").display()
        ))
        .await
        .unwrap();
        // The demo's prescriptions went through the checks: none needed an override.
        let (n, warned): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(warnings), 0) FROM prescriptions")
                .fetch_one(&mut c)
                .await
                .unwrap();
        assert!(n >= 10, "{n} demo prescriptions");
        assert_eq!(warned, 0);
        // And perio charts, through the store's range checks.
        let (exams,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM perio_exams")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert!(exams >= 20, "{exams} demo perio exams");
        sqlx::query("DROP TRIGGER audit_events_no_update")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_events SET actor = 'nobody' WHERE seq = 3")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let (ok, text) = verify(None);
    assert!(!ok);
    assert!(
        text.contains("BROKEN at event 3") && text.contains("edited"),
        "{text}"
    );
}

#[test]
fn every_demo_staff_role_can_sign_in_with_the_demo_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--demo-password", "demo clinic password"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = test_support::http();
        for (role, landing) in [
            ("admin", "/dashboard"),
            ("dentist", "/dashboard"),
            ("hygienist", "/appointments"),
            ("assistant", "/inventory"),
            ("receptionist", "/dashboard"),
            ("coordinator", "/appointments"),
            ("billing", "/patients"),
        ] {
            let r = http
                .post(format!("{}/api/v1/session", server.base))
                .json(&serde_json::json!({ "email": format!("{role}@demo.cuspid.test"), "password": "demo clinic password" }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{role}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["roles"][0], role);
            assert_eq!(body["landing_page"], landing, "{role}");
        }
    });
    drop(server);
    // A demo password that breaks the password rules is refused with a clear message.
    let other = tempfile::tempdir().unwrap();
    let out = cuspid(other.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo-password",
            "short",
            "--data-dir",
        ])
        .arg(other.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("demo password is not acceptable"));
}

#[test]
fn keys_rotate_gives_each_organization_a_new_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = cuspid(dir.path())
        .args(["demo", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = |extra: &[&str]| {
        cuspid(dir.path())
            .args(["keys", "rotate", "--data-dir"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        text.contains("new data key") && text.contains("rotation complete"),
        "{text}"
    );
    let key = |t: &str| {
        t.split("new data key ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let second = String::from_utf8_lossy(&run(&[]).stdout).to_string();
    assert_ne!(key(&text), key(&second), "each run rotates again");
    let bad = run(&["--batch", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--batch must be at least 1"));
}

#[test]
fn keys_rewrap_moves_the_data_keys_to_a_new_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(
        cuspid(dir.path())
            .args(["demo", "--data-dir"])
            .arg(&data)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        cuspid(dir.path())
            .args(["keys", "rotate", "--data-dir"])
            .arg(&data)
            .status()
            .unwrap()
            .success()
    );
    let old = std::fs::read_to_string(data.join("master-key")).unwrap();
    let new_key = "ab".repeat(32);
    let out = cuspid(dir.path())
        .args(["keys", "rewrap", "--data-dir"])
        .arg(&data)
        .env("CUSPID_NEW_MASTER_KEY", &new_key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-wrapped 2 data keys"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(data.join("master-key")).unwrap(),
        new_key
    );
    assert_eq!(
        std::fs::read_to_string(data.join("master-key.previous")).unwrap(),
        old
    );
    // The keys open with the new master key: another rotation works.
    let again = cuspid(dir.path())
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // With the old one they do not, and the message says so.
    std::fs::write(data.join("master-key"), &old).unwrap();
    let wrong = cuspid(dir.path())
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("master key"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}
