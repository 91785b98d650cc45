//! Configuration: one typed struct, read from `cuspid.toml`, then `CUSPID_*` environment
//! variables, then command-line flags (each later source wins). Secrets are redacted in
//! `Debug` and never logged.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use store::objects::Profile;

/// A string that never shows in `Debug` or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("[redacted]")
        }
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to serve on.
    pub listen: String,
    /// Holds the SQLite database and the local object store.
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL; empty means SQLite in the data directory.
    pub database_url: Secret,
    /// Create the demo clinic on first start against an empty database.
    pub demo: bool,
    /// Password of the demo users (the identity issue); generated when empty.
    pub demo_password: Secret,
    /// "json" (default) or "pretty".
    pub log_format: String,
    /// tracing filter, e.g. "info" or "cuspid=debug,info".
    pub log_level: String,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub jobs: JobsConfig,
    pub security: SecurityConfig,
    pub sms: SmsConfig,
    pub email: EmailConfig,
    pub cards: CardsConfig,
}

/// How card payments are taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardsConfig {
    /// "manual" (the default: a stand-alone terminal; the desk types its authorization code)
    /// or "stripe" (the Stripe PaymentIntents API, or any service that speaks it).
    pub provider: String,
    pub stripe_base_url: String,
    /// Also read from `CUSPID_STRIPE_SECRET_KEY`.
    pub stripe_secret_key: Secret,
}

impl Default for CardsConfig {
    fn default() -> Self {
        CardsConfig {
            provider: "manual".into(),
            stripe_base_url: messaging::STRIPE_BASE_URL.into(),
            stripe_secret_key: Secret::default(),
        }
    }
}

/// How email (password reset links, reminders) leaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// "dev" (the default: emails are written to the server log) or "smtp".
    pub provider: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// "starttls" (default), "wrapper" (implicit TLS, port 465) or "none" (a local relay only).
    pub smtp_tls: String,
    pub smtp_username: String,
    /// Also read from `CUSPID_SMTP_PASSWORD`.
    pub smtp_password: Secret,
    /// The sender, e.g. `Maple Street Dental <noreply@maplestreet.example>`.
    pub from: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            provider: "dev".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            from: "Cuspid <noreply@cuspid.invalid>".into(),
        }
    }
}

/// How text messages (sign-in codes, reminders) leave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// "dev" (the default: codes are written to the server log, for the demo and development)
    /// or "twilio" (the Twilio Messages API, or any service that speaks it).
    pub provider: String,
    pub twilio_base_url: String,
    pub twilio_account_sid: String,
    /// Also read from `CUSPID_TWILIO_AUTH_TOKEN`.
    pub twilio_auth_token: Secret,
    /// The sending number (E.164) or a messaging service id (`MG…`).
    pub twilio_from: String,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: "dev".into(),
            twilio_base_url: messaging::TWILIO_BASE_URL.into(),
            twilio_account_sid: String::new(),
            twilio_auth_token: Secret::default(),
            twilio_from: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Ed25519 seed (64 hex characters) that signs audit checkpoints; also read from
    /// `CUSPID_AUDIT_SIGNING_KEY`. Keep it away from the database and its backups: a key next to
    /// the data lets whoever steals both rewrite the log. When empty, one is generated into the
    /// data directory (fine for a single office; configure it for a group).
    pub audit_signing_key: Secret,
    /// A signed checkpoint every this many events of an organization.
    pub audit_checkpoint_every: i64,
    /// Master key (64 hex characters) wrapping each organization's field-encryption key; also
    /// read from `CUSPID_MASTER_KEY`. Never stored in the database. When empty, one is generated
    /// into the data directory (fine for a single office; configure it for a group, and back it
    /// up apart from the database: without it the encrypted fields cannot be read).
    pub master_key: Secret,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            audit_signing_key: Secret::default(),
            audit_checkpoint_every: 1000,
            master_key: Secret::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body on ordinary routes, in bytes (uploads set their own).
    pub max_body_bytes: usize,
    /// Other origins allowed to send unsafe requests (a reverse proxy's public origin).
    pub trusted_origins: Vec<String>,
    /// PEM certificate chain and private key: serve HTTPS directly (HSTS is then sent).
    /// Leave both unset behind a TLS-terminating proxy.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// The address people reach Cuspid at, used in emailed links (never taken from a request's
    /// `Host`, which a client controls).
    pub public_url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Signs local download links; several servers must share it. Generated into the data
    /// directory when empty.
    pub link_secret: Secret,
    /// Named profiles; `default` is used unless an organization or location names another.
    pub profiles: HashMap<String, Profile>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run the job runner in this process.
    pub enabled: bool,
    pub poll_interval_ms: u64,
    pub batch: i64,
    pub lease_secs: u64,
    pub base_backoff_ms: u64,
    pub max_backoff_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("cuspid-data"),
            database_url: Secret::default(),
            demo: true,
            demo_password: Secret::default(),
            log_format: "json".into(),
            log_level: "info".into(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            storage: StorageConfig::default(),
            jobs: JobsConfig::default(),
            security: SecurityConfig::default(),
            sms: SmsConfig::default(),
            cards: CardsConfig::default(),
            email: EmailConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 16,
            acquire_timeout_secs: 10,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 2 * 1024 * 1024,
            trusted_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
            shutdown_grace_secs: 20,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        let mut profiles = HashMap::new();
        profiles.insert(
            "default".to_string(),
            Profile::Local {
                root: "objects".into(),
            },
        );
        StorageConfig {
            link_secret: Secret::default(),
            profiles,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            enabled: true,
            poll_interval_ms: 500,
            batch: 16,
            lease_secs: 300,
            base_backoff_ms: 5_000,
            max_backoff_secs: 3_600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

/// Values that came from flags or the environment (clap reads both; flags win).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub no_demo: bool,
    pub demo_password: Option<String>,
    pub log_format: Option<String>,
}

impl Config {
    /// Reads the file if it exists (it must exist when named explicitly), then applies
    /// overrides, then validates.
    pub fn load(file: Option<&Path>, explicit: bool, o: &Overrides) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                Config::parse(&text, &path.display().to_string())?
            }
            Some(path) if explicit => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    reason: "no such file".into(),
                });
            }
            _ => Config::default(),
        };
        if let Some(v) = &o.listen {
            cfg.listen = v.clone();
        }
        if let Some(v) = &o.data_dir {
            cfg.data_dir = v.clone();
        }
        if let Some(v) = &o.database_url {
            cfg.database_url = Secret(v.clone());
        }
        if o.no_demo {
            cfg.demo = false;
        }
        if let Some(v) = &o.demo_password {
            cfg.demo_password = Secret(v.clone());
        }
        if let Some(v) = &o.log_format {
            cfg.log_format = v.clone();
        }
        if let Ok(v) = std::env::var("CUSPID_AUDIT_SIGNING_KEY") {
            cfg.security.audit_signing_key = Secret(v);
        }
        if let Ok(v) = std::env::var("CUSPID_MASTER_KEY") {
            cfg.security.master_key = Secret(v);
        }
        if let Ok(v) = std::env::var("CUSPID_SMTP_PASSWORD") {
            cfg.email.smtp_password = Secret(v);
        }
        if let Ok(v) = std::env::var("CUSPID_TWILIO_AUTH_TOKEN") {
            cfg.sms.twilio_auth_token = Secret(v);
        }
        if let Ok(v) = std::env::var("CUSPID_STRIPE_SECRET_KEY") {
            cfg.cards.stripe_secret_key = Secret(v);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            reason: e
                .to_string()
                .replace('\n', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason,
            })
        };
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "listen",
                format!(
                    "{:?} is not an address:port such as 127.0.0.1:8080",
                    self.listen
                ),
            );
        }
        match (self.email.provider.as_str(), self.email.smtp_tls.as_str()) {
            ("dev", _) => {}
            ("smtp", "starttls" | "wrapper" | "none") if !self.email.smtp_host.is_empty() => {}
            ("smtp", "starttls" | "wrapper" | "none") => {
                return bad("email.smtp_host", "the smtp provider needs a host".into());
            }
            ("smtp", other) => {
                return bad(
                    "email.smtp_tls",
                    format!("{other:?}: use \"starttls\", \"wrapper\" or \"none\""),
                );
            }
            (other, _) => {
                return bad(
                    "email.provider",
                    format!("{other:?} is not a provider: use \"dev\" or \"smtp\""),
                );
            }
        }
        match self.sms.provider.as_str() {
            "dev" => {}
            "twilio" => {
                if self.sms.twilio_account_sid.is_empty()
                    || self.sms.twilio_auth_token.is_empty()
                    || self.sms.twilio_from.is_empty()
                {
                    return bad(
                        "sms",
                        "the twilio provider needs twilio_account_sid, twilio_auth_token (or CUSPID_TWILIO_AUTH_TOKEN) and twilio_from".into(),
                    );
                }
            }
            other => {
                return bad(
                    "sms.provider",
                    format!("{other:?} is not a provider: use \"dev\" or \"twilio\""),
                );
            }
        }
        match self.cards.provider.as_str() {
            "manual" => {}
            "stripe" => {
                if self.cards.stripe_secret_key.is_empty() {
                    return bad(
                        "cards",
                        "the stripe provider needs stripe_secret_key (or CUSPID_STRIPE_SECRET_KEY)"
                            .into(),
                    );
                }
            }
            other => {
                return bad(
                    "cards.provider",
                    format!("{other:?} is not a provider: use \"manual\" or \"stripe\""),
                );
            }
        }
        let url = self.database_url.expose();
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !url.is_empty() && !known.iter().any(|p| url.starts_with(p)) {
            return bad(
                "database_url",
                "must start with postgres://, postgresql:// or sqlite:".into(),
            );
        }
        if !["json", "pretty"].contains(&self.log_format.as_str()) {
            return bad(
                "log_format",
                format!("{:?} is not \"json\" or \"pretty\"", self.log_format),
            );
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1".into());
        }
        if self.http.max_body_bytes < 1024 {
            return bad("http.max_body_bytes", "must be at least 1024".into());
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return bad(
                "http.tls_cert",
                "http.tls_cert and http.tls_key go together".into(),
            );
        }
        if !self.storage.link_secret.is_empty() && self.storage.link_secret.expose().len() < 32 {
            return bad(
                "storage.link_secret",
                "must be at least 32 characters".into(),
            );
        }
        let key = self.security.audit_signing_key.expose();
        if !key.is_empty() && (key.len() != 64 || hex::decode(key).is_err()) {
            return bad(
                "security.audit_signing_key",
                "must be 64 hexadecimal characters (a 32-byte Ed25519 seed)".into(),
            );
        }
        let key = self.security.master_key.expose();
        if !key.is_empty() && (key.len() != 64 || hex::decode(key).is_err()) {
            return bad(
                "security.master_key",
                "must be 64 hexadecimal characters (32 bytes)".into(),
            );
        }
        if self.security.audit_checkpoint_every < 1 {
            return bad(
                "security.audit_checkpoint_every",
                "must be at least 1".into(),
            );
        }
        if self.jobs.lease_secs < 10 {
            return bad("jobs.lease_secs", "must be at least 10".into());
        }
        if self.jobs.batch < 1 {
            return bad("jobs.batch", "must be at least 1".into());
        }
        Ok(())
    }

    /// The database URL to open: the configured one, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite:{}", self.data_dir.join("cuspid.db").display())
        } else {
            self.database_url.expose().to_string()
        }
    }

    /// The defaults as a commented TOML file.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# Cuspid configuration. Every key is optional; these are the defaults.\n\
             # Order of precedence: this file, then CUSPID_* environment variables, then flags.\n\
             # database_url = \"postgres://cuspid@127.0.0.1/cuspid\" runs on PostgreSQL.\n\
             # An S3 profile: [storage.profiles.ca] kind = \"s3\", bucket, region, endpoint,\n\
             # access_key_id, secret_access_key, allow_http.\n\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let text = Config::default_toml();
        let back = Config::parse(&text, "default").unwrap();
        assert_eq!(back, Config::default());
    }

    #[test]
    fn unknown_key_and_bad_value_are_named() {
        let e = Config::parse("listn = \"x\"", "cuspid.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cuspid.toml") && e.contains("listn"), "{e}");
        let e = Config::parse("[database]\nmax_connections = \"many\"", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_connections"), "{e}");
        let mut c = Config {
            listen: "localhost".into(),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("listen:"), "{e}");
        c = Config::default();
        c.database_url = Secret("mysql://x".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("database_url:")
        );
    }

    #[test]
    fn precedence_file_then_overrides_and_secrets_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cuspid.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndatabase_url = \"postgres://u:pw@h/db\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), true, &Overrides::default()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("pw@"), "{dbg}");
        let o = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            no_demo: true,
            ..Overrides::default()
        };
        let c = Config::load(Some(&path), true, &o).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
        assert!(!c.demo);
        assert!(Config::load(Some(&dir.path().join("nope.toml")), true, &o).is_err());
        assert!(Config::load(Some(&dir.path().join("nope.toml")), false, &o).is_ok());
    }
}
