#![allow(clippy::panic)] // test harness: a failed set-up must fail the test loudly
//! Test harness: fresh databases on SQLite and PostgreSQL, a `TestApp` around the real router,
//! a headless Chromium driven over WebDriver, and a local Stripe-compatible server
//! ([`stripe::start`]) for card payments.
//!
//! PostgreSQL tests use `CUSPID_TEST_PG_URL` (e.g. `postgres://postgres@127.0.0.1/postgres`):
//! each test gets a fresh database created from a migrated template. Without the variable they
//! skip loudly, and under `CI=true` they fail.

pub mod browser;
pub mod stripe;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use domain::{Clock, FixedClock, OrgId, Scope, SystemClock};
use jiff::Timestamp;
use store::objects::{ObjectStorage, Profile};
use store::{Backend, Db, PoolSettings, Store};
use tower::ServiceExt;
use web::{AppState, WebConfig};

pub use browser::Browser;

/// The instant tests start at: a Monday, 09:00 in New York.
pub fn test_epoch() -> Timestamp {
    Timestamp::from_str("2026-03-02T14:00:00Z").unwrap_or(Timestamp::UNIX_EPOCH)
}

/// True when running in CI, where a missing peer is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reports a missing peer: a loud skip locally, a failure in CI.
pub fn missing_peer(what: &str) {
    if in_ci() {
        panic!("{what} is required under CI=true but is not available");
    }
    // Straight to the terminal: the test harness captures `eprintln!` of passing tests, and a
    // skip must be seen.
    use std::io::Write;
    let _ = std::io::stderr().write_all(
        format!("\n=== SKIPPED: {what} is not available (set it up or run under .ci/run) ===\n")
            .as_bytes(),
    );
}

/// A fresh database of either kind; dropped, it goes away.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.store.db.backend()
    }

    /// A scratch directory for this test (the SQLite file lives there too).
    /// The database as it lies on disk: the SQLite file and its WAL, or a `pg_dump`.
    pub fn raw_dump(&self) -> Vec<u8> {
        match self.backend() {
            Backend::Sqlite => {
                let mut bytes = Vec::new();
                for name in ["test.db", "test.db-wal"] {
                    if let Ok(b) = std::fs::read(self.dir().join(name)) {
                        bytes.extend(b);
                    }
                }
                bytes
            }
            Backend::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg(&self.url)
                    .output()
                    .unwrap_or_else(|e| panic!("pg_dump: {e}"));
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_else(std::env::temp_dir)
    }

    pub async fn sqlite() -> TestDb {
        Self::sqlite_with(Arc::new(FixedClock::new(test_epoch()))).await
    }

    pub async fn sqlite_with(clock: Arc<dyn Clock>) -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let db = Db::connect(&url, &PoolSettings::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::new(db, clock).with_master_key(test_master_key());
        store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        TestDb {
            store,
            url,
            dir: Some(dir),
            pg: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (after a loud skip) when none is configured.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_with(Arc::new(FixedClock::new(test_epoch()))).await
    }

    pub async fn postgres_with(clock: Arc<dyn Clock>) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("CUSPID_TEST_PG_URL") else {
            missing_peer("PostgreSQL (CUSPID_TEST_PG_URL)");
            return None;
        };
        let name = pg::fresh_database(&admin_url).await;
        let url = pg::with_database(&admin_url, &name);
        let db = Db::connect(
            &url,
            &PoolSettings {
                max_connections: 8,
                ..PoolSettings::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::new(db, clock).with_master_key(test_master_key());
        store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        Some(TestDb {
            store,
            url,
            dir: tempfile::tempdir().ok(),
            pg: Some((admin_url, name)),
        })
    }

    /// Same as `sqlite_with` / `postgres_with` by kind.
    pub async fn open(kind: Backend, clock: Arc<dyn Clock>) -> Option<TestDb> {
        match kind {
            Backend::Sqlite => Some(Self::sqlite_with(clock).await),
            Backend::Postgres => Self::postgres_with(clock).await,
        }
    }

    /// A second connection pool on the same database (a second server).
    pub async fn second_store(&self) -> Store {
        let db = Db::connect(
            &self.url,
            &PoolSettings {
                max_connections: 8,
                ..PoolSettings::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        Store::new(db, Arc::new(SystemClock)).with_master_key(test_master_key())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let db = self.store.db.clone();
            // A fresh runtime on a plain thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        // WITH (FORCE) ends any connection still open; do not wait on them.
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), db.close())
                            .await;
                        pg::drop_database(&admin, &name).await;
                    });
                }
            })
            .join();
        }
    }
}

mod pg {
    use sqlx::Connection;

    pub fn with_database(url: &str, name: &str) -> String {
        match url::Url::parse(url) {
            Ok(mut u) => {
                u.set_path(&format!("/{name}"));
                u.to_string()
            }
            Err(e) => panic!("CUSPID_TEST_PG_URL is not a URL: {e}"),
        }
    }

    fn template_name() -> String {
        let mut all = String::new();
        for m in store::migrate::MIGRATIONS {
            all.push_str(m.postgres);
        }
        let d = ring::digest::digest(&ring::digest::SHA256, all.as_bytes());
        format!("cuspid_tpl_{}", hex::encode(&d.as_ref()[..6]))
    }

    fn random_suffix() -> String {
        let mut b = [0u8; 6];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
        hex::encode(b)
    }

    async fn admin(url: &str) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to CUSPID_TEST_PG_URL: {e}"))
    }

    async fn exists(conn: &mut sqlx::PgConnection, name: &str) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(0)
            > 0
    }

    /// Creates a database from the migrated template (building the template once).
    pub async fn fresh_database(admin_url: &str) -> String {
        let tpl = template_name();
        let mut conn = admin(admin_url).await;
        if !exists(&mut conn, &tpl).await {
            let build = format!("{tpl}_b{}", random_suffix());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {build}")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("create template: {e}"));
            {
                let url = with_database(admin_url, &build);
                let db = store::Db::connect(&url, &store::PoolSettings::default())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                store::migrate::migrate(&db, 0)
                    .await
                    .unwrap_or_else(|e| panic!("migrate template: {e}"));
                db.close().await;
            }
            // Atomic publication: whoever renames first wins; the others drop their copy.
            let renamed = sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {build} RENAME TO {tpl}"
            )))
            .execute(&mut conn)
            .await;
            if renamed.is_err() {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {build} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        }
        let name = format!("cuspid_t_{}", random_suffix());
        for attempt in 0..50 {
            let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} TEMPLATE {tpl}"
            )))
            .execute(&mut conn)
            .await;
            match r {
                Ok(_) => return name,
                // "source database is being accessed by other users": another test is copying it.
                Err(e) if attempt < 49 => {
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(20 + attempt * 10)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        name
    }

    pub async fn drop_database(admin_url: &str, name: &str) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// Runs the same test body on SQLite and on PostgreSQL:
///
/// ```ignore
/// test_support::dual_test!(async fn creates_an_org(db) { … });
/// ```
/// expands to a module with two tests, `sqlite` and `postgres`. `db` is a [`TestDb`] with a
/// fixed clock. Use `dual_test!(system_clock async fn …)` for the real clock, and
/// `dual_test!(fixed_clock async fn name(db, clock) …)` to move the fixed clock.
#[macro_export]
macro_rules! dual_test {
    (fixed_clock async fn $name:ident($db:ident, $clock:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $clock = std::sync::Arc::new(domain::FixedClock::new($crate::test_epoch()));
                let $db = $crate::TestDb::sqlite_with($clock.clone()).await;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $clock = std::sync::Arc::new(domain::FixedClock::new($crate::test_epoch()));
                let Some($db) = $crate::TestDb::postgres_with($clock.clone()).await else {
                    return;
                };
                $body
            }
        }
    };
    (system_clock async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db =
                    $crate::TestDb::sqlite_with(std::sync::Arc::new(domain::SystemClock)).await;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($db) =
                    $crate::TestDb::postgres_with(std::sync::Arc::new(domain::SystemClock)).await
                else {
                    return;
                };
                $body
            }
        }
    };
    (async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::TestDb::sqlite().await;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($db) = $crate::TestDb::postgres().await else {
                    return;
                };
                $body
            }
        }
    };
}

/// A response read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The real application over a test database, called in-process.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub router: axum::Router,
}

impl TestApp {
    /// An app with the demo-like tenancy seeded by the caller (or none).
    pub async fn new(db: TestDb) -> TestApp {
        Self::with_config(db, WebConfig::default()).await
    }

    pub async fn with_config(db: TestDb, config: WebConfig) -> TestApp {
        Self::with_state(db, config, |s| s).await
    }

    /// An app whose state `f` finishes (a card gateway, for one).
    pub async fn with_state(
        db: TestDb,
        config: WebConfig,
        f: impl FnOnce(AppState) -> AppState,
    ) -> TestApp {
        let objects = Arc::new(local_objects(&db.dir()));
        let state = f(AppState::new(
            db.store.clone(),
            objects,
            config,
            web::metrics_handle(),
        ));
        let router = web::router(state.clone());
        TestApp { db, state, router }
    }

    pub async fn request(&self, req: Request<Body>) -> TestResponse {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(
            Request::get(path)
                .body(Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut b = Request::get(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.request(b.body(Body::empty()).unwrap_or_else(|e| panic!("{e}")))
            .await
    }

    /// Signs in over the JSON API; returns the `cookie` header value for later requests.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({ "email": email, "password": password }).to_string();
        let r = self
            .request(
                Request::post("/api/v1/session")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "sign-in of {email}: {}", r.body);
        r.header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie for {email}"))
            .to_string()
    }

    /// Signs in as the [`seed_staff`] user of `role` in the organization `slug`.
    pub async fn sign_in_as(&self, slug: &str, role: domain::identity::Role) -> String {
        self.sign_in(&staff_email(slug, role), STAFF_PASSWORD).await
    }

    /// A GET carrying a session cookie.
    pub async fn get_as(&self, path: &str, cookie: &str) -> TestResponse {
        self.get_with(path, &[("cookie", cookie)]).await
    }

    /// Serves the app on 127.0.0.1 with an ephemeral port; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let router = self.router.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{addr}")
    }
}

/// Local object storage under `dir`, with a fixed test link secret.
pub fn local_objects(dir: &std::path::Path) -> ObjectStorage {
    let mut profiles = std::collections::HashMap::new();
    profiles.insert(
        "default".to_string(),
        Profile::Local {
            root: dir.join("objects").display().to_string(),
        },
    );
    ObjectStorage::new(
        dir.to_path_buf(),
        profiles,
        b"test-link-secret-0123456789abcdef",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Creates an organization with one location and returns its system scope.
pub async fn seed_org(store: &Store, slug: &str) -> (domain::Organization, domain::Location) {
    use domain::*;
    let org = Organization {
        id: OrgId::from_uuid(store.new_uuid()),
        name: format!("Clinic {slug}"),
        slug: slug.to_string(),
    };
    let loc = Location {
        id: LocationId::from_uuid(store.new_uuid()),
        org_id: org.id,
        name: format!("{slug} main office"),
        time_zone: "America/New_York".into(),
        currency: Currency::USD,
        locale: "en".into(),
        address: Address {
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            country: "US".into(),
            ..Address::default()
        },
        opening_hours: OpeningHours::weekdays(&[(
            jiff::civil::time(8, 0, 0, 0),
            jiff::civil::time(17, 0, 0, 0),
        )]),
    };
    let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
    tx.create_org(store, &org)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.create_location(store, &Scope::system(org.id), &loc)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    (org, loc)
}

/// The master key of test stores (fixed, so a second store on the same database reads the
/// first one's encrypted fields).
pub fn test_master_key() -> store::crypto::MasterKey {
    store::crypto::MasterKey::from_bytes(&[0x5a; 32]).unwrap_or_else(|e| panic!("{e}"))
}

/// The password of every user [`seed_staff`] creates.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

/// One user per default staff role in `org`: `<role>@<slug>.test` (see [`staff_email`]), all
/// with [`STAFF_PASSWORD`] (hashed once).
pub async fn seed_staff(store: &Store, org: &domain::Organization) {
    use domain::identity::Role;
    let hash = store::identity::hash_password(STAFF_PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
    for role in Role::STAFF {
        let user = store::identity::NewUser {
            email: staff_email(&org.slug, *role),
            name: format!("{} of {}", role.code(), org.slug),
            phone: None,
            password: None,
            roles: vec![*role],
            locations: Vec::new(),
        };
        tx.create_user_prehashed(store, &Scope::system(org.id), &user, hash.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
}

/// The email [`seed_staff`] gives a role's user in an organization.
pub fn staff_email(slug: &str, role: domain::identity::Role) -> String {
    format!("{}@{slug}.test", role.code())
}

/// An HTTP client for tests (rustls with the process's one crypto provider, ring).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A registration input: names and birth date, the rest empty.
pub fn patient_input(given: &str, family: &str, birth: &str) -> domain::patients::PatientInput {
    domain::patients::PatientInput {
        given_name: given.into(),
        family_name: family.into(),
        birth_date: birth.into(),
        ..Default::default()
    }
}

/// Registers a patient at `location` in a family of their own, as the system.
pub async fn seed_patient(
    store: &Store,
    org: OrgId,
    location: domain::LocationId,
    input: domain::patients::PatientInput,
) -> store::patients::Patient {
    store
        .register_patient(
            &Scope::system(org),
            &store::patients::Actor::system("test"),
            store::patients::NewPatient {
                location_id: location,
                restricted: false,
                input,
                family: store::patients::FamilyChoice::Own,
                status: domain::patients::PatientStatus::Active,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A provider (a dentist or a hygienist with a provider profile) in `org`, who cannot sign in.
pub async fn seed_provider(
    store: &Store,
    org: OrgId,
    name: &str,
    role: domain::identity::Role,
    colour: &str,
) -> domain::UserId {
    let scope = Scope::system(org);
    let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let user = store::identity::NewUser {
        email: format!(
            "{slug}-{}@providers.test",
            &store.new_uuid().simple().to_string()[20..]
        ),
        name: name.into(),
        phone: None,
        password: None,
        roles: vec![role],
        locations: Vec::new(),
    };
    let id = tx
        .create_user_prehashed(store, &scope, &user, "!no-password".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.add_provider_profile(
        store,
        &scope,
        id,
        &domain::identity::provider::ProviderProfile {
            licence_number: "L-1".into(),
            npi: String::new(),
            specialty: if role == domain::identity::Role::Hygienist {
                "dental_hygiene".into()
            } else {
                "general_dentistry".into()
            },
            color: colour.into(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    id
}

/// A prescription for `patient` of the catalog's `medicine` (by name) with its default order,
/// written by a new provider; `reason` answers the checks' warnings (a patient without a
/// medical history gets one). Returns its id.
pub async fn seed_prescription(
    store: &Store,
    org: OrgId,
    patient: domain::PatientId,
    medicine: &str,
    reason: &str,
) -> uuid::Uuid {
    let scope = Scope::system(org);
    let dentist = seed_provider(
        store,
        org,
        "Dr Rx",
        domain::identity::Role::Dentist,
        "#224466",
    )
    .await;
    let m = store
        .medicines(&scope)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|m| m.medicine.name == medicine)
        .unwrap_or_else(|| panic!("{medicine} is not in the catalog"));
    store
        .prescribe(
            &scope,
            &store::patients::Actor {
                id: Some(dentist),
                name: "dr-rx".into(),
                ..Default::default()
            },
            patient,
            &store::prescriptions::NewPrescription {
                medicine_id: Some(m.id),
                order: domain::clinical::rx::Order {
                    dose: m.medicine.dose.clone(),
                    route: m.medicine.route.clone(),
                    frequency: m.medicine.frequency.clone(),
                    duration_days: m.medicine.duration_days,
                    quantity: m.medicine.quantity,
                    refills: 0,
                    instructions: m.medicine.directions.clone(),
                },
                visit_id: None,
                override_reason: reason.into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}
