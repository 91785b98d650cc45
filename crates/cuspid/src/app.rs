//! Start-up and the commands that open the database: serve, migrate, check, demo, write-burst.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Clock, SystemClock};
use store::audit::AuditSigner;
use store::jobs::{JobRunner, RunnerSettings};
use store::objects::ObjectStorage;
use store::{Db, PoolSettings, Store};
use tokio::sync::watch;
use web::{AppState, WebConfig};

use crate::config::Config;
use crate::demo;

pub fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&cfg.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if cfg.log_format == "pretty" {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// Opens the database (creating the data directory for SQLite). Does not migrate.
pub async fn connect(cfg: &Config) -> Result<Db, String> {
    if cfg.database_url.is_empty() {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                cfg.data_dir.display()
            )
        })?;
    }
    let settings = PoolSettings {
        max_connections: cfg.database.max_connections,
        acquire_timeout: Duration::from_secs(cfg.database.acquire_timeout_secs),
    };
    Db::connect(&cfg.effective_database_url(), &settings)
        .await
        .map_err(|e| e.to_string())
}

/// The audit checkpoint key: configured, or generated once into the data directory.
pub fn audit_signer(cfg: &Config) -> Result<AuditSigner, String> {
    let hex_seed = if cfg.security.audit_signing_key.is_empty() {
        String::from_utf8(secret_file(cfg, "audit-signing-key")?)
            .map_err(|_| "the audit signing key file is not text".to_string())?
    } else {
        cfg.security.audit_signing_key.expose().to_string()
    };
    let seed = hex::decode(hex_seed.trim())
        .map_err(|_| "security.audit_signing_key: not hexadecimal".to_string())?;
    AuditSigner::from_seed(&seed, cfg.security.audit_checkpoint_every)
}

/// The field-encryption master key: configured, or generated once into the data directory.
pub fn master_key(cfg: &Config) -> Result<store::crypto::MasterKey, String> {
    let hex_key = if cfg.security.master_key.is_empty() {
        String::from_utf8(secret_file(cfg, "master-key")?)
            .map_err(|_| "the master key file is not text".to_string())?
    } else {
        cfg.security.master_key.expose().to_string()
    };
    let bytes = hex::decode(hex_key.trim())
        .map_err(|_| "security.master_key: not hexadecimal".to_string())?;
    store::crypto::MasterKey::from_bytes(&bytes)
}

/// Opens and migrates: the store every command works on.
pub async fn open_store(cfg: &Config) -> Result<Store, String> {
    let db = connect(cfg).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Store::new(db, clock)
        .with_audit_signer(audit_signer(cfg)?)
        .with_master_key(master_key(cfg)?);
    let report = store.migrate().await.map_err(|e| e.to_string())?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, version = report.version, "database migrated");
    }
    Ok(store)
}

/// The secret that signs local download links: configured, or generated once into the data
/// directory (readable by the owner only).
fn link_secret(cfg: &Config) -> Result<Vec<u8>, String> {
    if !cfg.storage.link_secret.is_empty() {
        return Ok(cfg.storage.link_secret.expose().as_bytes().to_vec());
    }
    secret_file(cfg, "link-secret")
}

/// A 32-byte random secret kept as hex in `<data_dir>/<name>` (mode 0600), made on first use.
fn secret_file(cfg: &Config, name: &str) -> Result<Vec<u8>, String> {
    let path = cfg.data_dir.join(name);
    if let Ok(s) = std::fs::read(&path)
        && s.len() >= 32
    {
        return Ok(s);
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", cfg.data_dir.display()))?;
    let mut secret = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| "no system randomness for the link secret".to_string())?;
    let text = hex::encode(secret);
    let mut f = std::fs::OpenOptions::new();
    f.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
    f.open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(text.into_bytes())
}

pub fn open_objects(cfg: &Config) -> Result<ObjectStorage, String> {
    let profiles: HashMap<_, _> = cfg.storage.profiles.clone();
    ObjectStorage::new(cfg.data_dir.clone(), profiles, &link_secret(cfg)?)
        .map_err(|e| e.to_string())
}

fn runner_settings(cfg: &Config) -> RunnerSettings {
    RunnerSettings {
        poll_interval: Duration::from_millis(cfg.jobs.poll_interval_ms),
        batch: cfg.jobs.batch,
        lease: Duration::from_secs(cfg.jobs.lease_secs),
        base_backoff: Duration::from_millis(cfg.jobs.base_backoff_ms),
        max_backoff: Duration::from_secs(cfg.jobs.max_backoff_secs),
    }
}

/// The SMS provider the configuration names.
pub fn sms_sender(cfg: &Config) -> Result<Arc<dyn messaging::SmsSender>, String> {
    Ok(match cfg.sms.provider.as_str() {
        "twilio" => {
            let mut t = messaging::TwilioSettings::new(
                &cfg.sms.twilio_account_sid,
                cfg.sms.twilio_auth_token.expose(),
                &cfg.sms.twilio_from,
            );
            t.base_url = cfg.sms.twilio_base_url.clone();
            Arc::new(
                messaging::TwilioSms::new(t)
                    .map_err(|e| format!("sms: cannot set up the twilio provider: {e}"))?,
            )
        }
        _ => Arc::new(messaging::DevSms::new(100)),
    })
}

/// The mail transport the configuration names.
pub fn mailer(cfg: &Config) -> Result<Arc<dyn messaging::Mailer>, String> {
    Ok(match cfg.email.provider.as_str() {
        "smtp" => {
            let e = &cfg.email;
            let settings = messaging::SmtpSettings {
                host: e.smtp_host.clone(),
                port: e.smtp_port,
                tls: match e.smtp_tls.as_str() {
                    "none" => messaging::Tls::None,
                    "wrapper" => messaging::Tls::Wrapper,
                    _ => messaging::Tls::StartTls,
                },
                username: (!e.smtp_username.is_empty()).then(|| e.smtp_username.clone()),
                password: (!e.smtp_password.is_empty())
                    .then(|| e.smtp_password.expose().to_string()),
                from: e.from.clone(),
                timeout_secs: 30,
            };
            Arc::new(
                messaging::SmtpMailer::new(settings)
                    .map_err(|err| format!("email: cannot set up SMTP: {err}"))?,
            )
        }
        _ => Arc::new(messaging::DevMailer::new(100)),
    })
}

/// What the job handlers send with.
pub struct Senders {
    pub sms: Arc<dyn messaging::SmsSender>,
    pub mail: Arc<dyn messaging::Mailer>,
    pub cards: Arc<dyn messaging::CardGateway>,
    pub public_url: String,
}

/// The job handlers of the whole application.
pub fn job_runner(
    store: Store,
    objects: Arc<store::objects::ObjectStorage>,
    settings: RunnerSettings,
    senders: Senders,
) -> JobRunner {
    JobRunner::new(store, settings)
        .handle("events.prune", prune_events)
        .handle(
            store::plans::EXAM_ROUTE,
            web::clinical::plans::ExamRouter { objects },
        )
        .handle(
            store::phone::SMS_SIGN_IN_CODE,
            web::phone::SignInCodeSender { sms: senders.sms },
        )
        .handle(
            store::reset::EMAIL_PASSWORD_RESET,
            web::reset::PasswordResetMailer {
                mail: senders.mail.clone(),
                public_url: senders.public_url.clone(),
            },
        )
        .handle(
            web::autopay::PLAN_AUTOPAY,
            web::autopay::PlanAutopay {
                cards: senders.cards.clone(),
            },
        )
        .handle(
            web::statements::STATEMENT_EMAIL,
            web::statements::StatementMailer {
                mail: senders.mail.clone(),
            },
        )
        .handle(
            web::audit_page::ANOMALY_SCAN,
            web::audit_page::AnomalyScan {
                mail: senders.mail,
                public_url: senders.public_url,
            },
        )
}

/// Events are the outbox for live delivery, not an archive (the audit log is): a week is kept.
fn prune_events<'a>(
    store: &'a Store,
    _job: &'a store::jobs::Job,
) -> futures::future::BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let before = store
            .now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * 7))
            .map_err(|e| e.to_string())?;
        store
            .prune_events(before)
            .await
            .map_err(|e| e.to_string())?;
        let next = store
            .now()
            .checked_add(jiff::SignedDuration::from_hours(24))
            .map_err(|e| e.to_string())?;
        store
            .ensure_scheduled(
                store::jobs::NewJob::new("events.prune", serde_json::json!({})).at(next),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

pub async fn serve(cfg: Config) -> Result<(), String> {
    let started = Instant::now();
    init_logging(&cfg);
    let store = open_store(&cfg).await?;
    let objects = Arc::new(open_objects(&cfg)?);
    let mut demo_note = None;
    if cfg.demo && store.count_orgs().await.map_err(|e| e.to_string())? == 0 {
        // `None`: another server on the same database created it first.
        let password = demo_password(&cfg, &store);
        if demo::create(&store, &password.0).await?.is_some() {
            demo_note = Some(password);
        }
    }
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let tls = match (&cfg.http.tls_cert, &cfg.http.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(|e| {
                        format!(
                            "http.tls_cert / http.tls_key ({} / {}): {e}",
                            cert.display(),
                            key.display()
                        )
                    })?,
            )
        }
        _ => None,
    };
    let web_cfg = WebConfig {
        max_body_bytes: cfg.http.max_body_bytes,
        tls: tls.is_some(),
        trusted_origins: cfg.http.trusted_origins.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..WebConfig::default()
    };
    let cards = card_gateway(&cfg)?;
    let state = AppState::new(store.clone(), objects, web_cfg, web::metrics_handle())
        .with_cards(cards.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for kind in [
        "events.prune",
        web::audit_page::ANOMALY_SCAN,
        web::autopay::PLAN_AUTOPAY,
    ] {
        store
            .ensure_scheduled(store::jobs::NewJob::new(kind, serde_json::json!({})))
            .await
            .map_err(|e| e.to_string())?;
    }
    if cfg.jobs.enabled {
        let senders = Senders {
            sms: sms_sender(&cfg)?,
            mail: mailer(&cfg)?,
            cards,
            public_url: cfg.http.public_url.clone(),
        };
        let runner = job_runner(
            store.clone(),
            state.objects.clone(),
            runner_settings(&cfg),
            senders,
        );
        tasks.push(tokio::spawn(runner.run(stop_rx.clone())));
    }
    tasks.push(tokio::spawn(store::events::relay_remote_events(
        store.clone(),
        stop_rx.clone(),
    )));
    let app = web::router(state.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "Cuspid {} serving {scheme}://{addr}/ on {} ({})",
        env!("CARGO_PKG_VERSION"),
        store.db.backend().name(),
        store::db::redact_url(&cfg.effective_database_url()),
    );
    if let Some((password, generated)) = &demo_note {
        println!("Demo clinic created: open {scheme}://{addr}/login");
        println!(
            "  sign in as admin@{d}, dentist@{d}, hygienist@{d}, assistant@{d}, receptionist@{d}, coordinator@{d} or billing@{d}",
            d = demo::EMAIL_DOMAIN
        );
        println!(
            "  or by phone: +1 802 555 0101 (admin) to 0107 (billing), in that order; with the dev SMS provider the codes appear in this log"
        );
        if *generated {
            println!(
                "  password (generated, shown once; set CUSPID_DEMO_PASSWORD to choose it): {password}"
            );
        } else {
            println!("  password: the one in CUSPID_DEMO_PASSWORD / --demo-password");
        }
    }
    tracing::info!(%addr, startup_ms = started.elapsed().as_millis() as u64, "listening");
    let grace = Duration::from_secs(cfg.http.shutdown_grace_secs);
    let shutdown_state = state.clone();
    let (signalled_tx, mut signalled_rx) = watch::channel(false);
    let on_signal = async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        shutdown_state.begin_shutdown();
        let _ = stop_tx.send(true);
        let _ = signalled_tx.send(true);
    };
    let served = match tls {
        None => {
            let server = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(on_signal);
            // In-flight requests get `grace` to finish; a client that never lets go does not
            // keep the process alive.
            let forced = async move {
                let _ = signalled_rx.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            };
            tokio::select! {
                r = server => r.map_err(|e| e.to_string()),
                _ = forced => {
                    tracing::warn!("grace period over: closing remaining connections");
                    Ok(())
                }
            }
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                on_signal.await;
                h.graceful_shutdown(Some(grace));
            });
            let std_listener = listener
                .into_std()
                .map_err(|e| format!("cannot use the listening socket: {e}"))?;
            axum_server::from_tcp_rustls(std_listener, tls)
                .map_err(|e| format!("cannot serve TLS: {e}"))?
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
                .map_err(|e| e.to_string())
        }
    };
    // Let the job runner give its jobs back; do not hang forever on it.
    let _ = tokio::time::timeout(grace, futures::future::join_all(tasks)).await;
    store.db.close().await;
    served.map_err(|e| format!("server error: {e}"))
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

pub async fn migrate_only(cfg: Config) -> Result<(), String> {
    let db = connect(&cfg).await?;
    let store = Store::new(db, Arc::new(SystemClock));
    let report = store.migrate().await.map_err(|e| e.to_string())?;
    if report.applied.is_empty() {
        println!("database is up to date (schema version {})", report.version);
    } else {
        println!(
            "applied migrations {:?}; schema version {}",
            report.applied, report.version
        );
    }
    Ok(())
}

pub async fn check(cfg: Config) -> Result<(), String> {
    println!("configuration: ok");
    let db = connect(&cfg).await?;
    db.ping().await.map_err(|e| format!("database: {e}"))?;
    let applied = store::migrate::applied(&db)
        .await
        .map_err(|e| e.to_string())?;
    store::migrate::check_compatible(db.backend(), &applied).map_err(|e| e.to_string())?;
    let version = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    println!(
        "database: ok ({}, schema version {version} of {})",
        db.backend().name(),
        store::migrate::latest_version()
    );
    let objects = open_objects(&cfg)?;
    objects.ping().await.map_err(|e| format!("storage: {e}"))?;
    println!(
        "storage: ok (profiles: {})",
        objects.profile_names().join(", ")
    );
    Ok(())
}

/// The demo users' password: configured, or generated (and then printed once).
fn demo_password(cfg: &Config, store: &Store) -> (String, bool) {
    if cfg.demo_password.is_empty() {
        let mut b = [0u8; 12];
        store.fill_random(&mut b);
        (hex::encode(b), true)
    } else {
        (cfg.demo_password.expose().to_string(), false)
    }
}

pub async fn demo_command(cfg: Config, reset: bool) -> Result<(), String> {
    let store = open_store(&cfg).await?;
    let (password, generated) = demo_password(&cfg, &store);
    let shown = if generated {
        format!("demo password (generated, shown once): {password}")
    } else {
        "demo password: the configured one".to_string()
    };
    if reset {
        demo::reset(&store, &open_objects(&cfg)?, &password).await?;
        println!("demo clinic recreated; {shown}");
    } else if store
        .org_by_slug(demo::SLUG)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        println!("the demo clinic exists; use --reset to recreate it");
    } else {
        demo::create(&store, &password).await?;
        println!("demo clinic created; {shown}");
    }
    Ok(())
}

pub async fn write_burst(cfg: Config, count: u64) -> Result<(), String> {
    let store = open_store(&cfg).await?;
    let mut out = std::io::stdout().lock();
    for n in 0..count {
        let id = store
            .publish(None, "durability.probe", serde_json::json!({ "n": n }))
            .await
            .map_err(|e| e.to_string())?;
        // Printed only after the commit returned: an acknowledged write.
        writeln!(out, "{id}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `cuspid audit verify`: walks every organization's chain (or one), prints a line each, and
/// fails naming the first broken event.
/// `cuspid keys rewrap`: every data key re-wrapped under a new master key.
pub async fn keys_rewrap(cfg: Config, new_hex: &str) -> Result<(), String> {
    let bytes = hex::decode(new_hex.trim())
        .map_err(|_| "the new master key is not hexadecimal".to_string())?;
    let new = store::crypto::MasterKey::from_bytes(&bytes)?;
    let store = open_store(&cfg).await?;
    let n = store
        .rewrap_data_keys(&new)
        .await
        .map_err(|e| e.to_string())?;
    println!("re-wrapped {n} data keys under master key {}", new.id());
    if cfg.security.master_key.is_empty() {
        let path = cfg.data_dir.join("master-key");
        let previous = cfg.data_dir.join("master-key.previous");
        std::fs::copy(&path, &previous)
            .map_err(|e| format!("cannot keep {}: {e}", previous.display()))?;
        let tmp = cfg.data_dir.join("master-key.new");
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        f.open(&tmp)
            .and_then(|mut file| file.write_all(hex::encode(&bytes).as_bytes()))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "{} now holds the new key; the old one is in {} (keep it with backups taken before today, then delete it)",
            path.display(),
            previous.display()
        );
    } else {
        println!(
            "now set security.master_key (or CUSPID_MASTER_KEY) to the new key on every server and restart them"
        );
    }
    Ok(())
}

/// `cuspid keys rotate`: per organization, a new data key (unless a rotation it started is
/// still unfinished) and every value re-encrypted in batches, with a progress bar.
pub async fn keys_rotate(cfg: Config, org: Option<String>, batch: i64) -> Result<(), String> {
    if batch < 1 {
        return Err("--batch must be at least 1".into());
    }
    let store = open_store(&cfg).await?;
    let orgs = match org {
        Some(o) => vec![
            o.parse()
                .map_err(|_| format!("--org: {o:?} is not an organization id"))?,
        ],
        None => store.orgs_to_rotate().await.map_err(|e| e.to_string())?,
    };
    for org in orgs {
        let left = store
            .values_to_reencrypt(org)
            .await
            .map_err(|e| e.to_string())?;
        if left > 0 {
            println!("org {org}: resuming an unfinished rotation ({left} values left)");
        } else {
            let key = store
                .rotate_data_key(org)
                .await
                .map_err(|e| e.to_string())?;
            println!("org {org}: new data key {key}");
        }
        let total = store
            .values_to_reencrypt(org)
            .await
            .map_err(|e| e.to_string())?;
        let bar = indicatif::ProgressBar::new(total.max(0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "  {bar:40} {pos}/{len} values re-encrypted ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        loop {
            let n = store
                .reencrypt_batch(org, batch)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            bar.inc(n);
            // One line per batch when the output is not a terminal (logs, tests).
            if bar.is_hidden() {
                println!("  re-encrypted {} of {total}", bar.position());
            }
        }
        bar.finish_and_clear();
        let left = store
            .values_to_reencrypt(org)
            .await
            .map_err(|e| e.to_string())?;
        if left > 0 {
            return Err(format!(
                "org {org}: {left} values could not be re-encrypted; run the command again"
            ));
        }
        println!("org {org}: rotation complete, {total} values re-encrypted");
    }
    Ok(())
}

/// `cuspid ledger verify`: every organization's books (or one's).
pub async fn ledger_verify(cfg: Config, org: Option<String>) -> Result<(), String> {
    let store = open_store(&cfg).await?;
    let orgs = match org {
        Some(o) => vec![
            o.parse()
                .map_err(|_| format!("--org: {o:?} is not an organization id"))?,
        ],
        None => store.org_ids().await.map_err(|e| e.to_string())?,
    };
    let mut failures = 0;
    for org in orgs {
        let started = Instant::now();
        let r = store.verify_ledger(org).await.map_err(|e| e.to_string())?;
        if r.faults.is_empty() {
            println!(
                "org {org}: balanced, {} postings, {} lines ({:.2} s)",
                r.postings,
                r.lines,
                started.elapsed().as_secs_f64()
            );
        } else {
            failures += 1;
            println!("org {org}: {} fault(s)", r.faults.len());
            for f in &r.faults {
                println!("  {f}");
            }
        }
    }
    if failures > 0 {
        Err(format!(
            "{failures} organization(s) with books that do not balance"
        ))
    } else {
        Ok(())
    }
}

pub async fn audit_verify(cfg: Config, org: Option<String>) -> Result<(), String> {
    let store = open_store(&cfg).await?;
    let public_key = store.audit_signer.as_ref().map(|s| s.public_key());
    let orgs = match org {
        Some(o) => vec![
            o.parse()
                .map_err(|_| format!("--org: {o:?} is not an organization id"))?,
        ],
        None => store.audited_orgs().await.map_err(|e| e.to_string())?,
    };
    let mut failures = 0;
    for org in orgs {
        let started = Instant::now();
        let r = store
            .verify_audit(org, public_key.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        match r.broken {
            None => println!(
                "org {org}: intact, {} events, {} signed checkpoints ({:.2} s)",
                r.events,
                r.checkpoints,
                started.elapsed().as_secs_f64()
            ),
            Some(b) => {
                failures += 1;
                println!(
                    "org {org}: BROKEN at event {}{}: {}",
                    b.seq,
                    b.id.map(|i| format!(" ({i})")).unwrap_or_default(),
                    b.reason
                );
            }
        }
    }
    if failures > 0 {
        Err(format!("{failures} audit chain(s) broken"))
    } else {
        Ok(())
    }
}

/// The card gateway the configuration names.
fn card_gateway(cfg: &Config) -> Result<Arc<dyn messaging::CardGateway>, String> {
    Ok(match cfg.cards.provider.as_str() {
        "stripe" => Arc::new(
            messaging::StripeGateway::new(messaging::StripeSettings {
                base_url: cfg.cards.stripe_base_url.clone(),
                ..messaging::StripeSettings::new(cfg.cards.stripe_secret_key.expose())
            })
            .map_err(|e| format!("cards: {e}"))?,
        ),
        _ => Arc::new(messaging::ManualTerminal),
    })
}
