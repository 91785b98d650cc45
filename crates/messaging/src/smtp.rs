//! Email over SMTP with lettre.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::{BoxFuture, Email, Mailer, SendError};

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain text: only for a relay on the same host or a test server.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (implicit TLS, usually port 465).
    Wrapper,
}

fn default_timeout_secs() -> u64 {
    30
}

/// Where and as whom to send email.
#[derive(Clone, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub tls: Tls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender, e.g. `Cuspid <noreply@clinic.example>`.
    pub from: String,
    /// The limit for connecting and for each exchange with the server.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// A [`Mailer`] that hands each email to an SMTP server (one connection per email).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of generated `Message-ID`s: the sender's.
    id_domain: String,
}

impl SmtpMailer {
    /// Checks the settings and prepares the transport; connects only when sending.
    pub fn new(settings: SmtpSettings) -> Result<SmtpMailer, SendError> {
        let host = settings.host.trim().to_string();
        if host.is_empty() {
            return Err(SendError::Config("the SMTP host is empty".into()));
        }
        let from: Mailbox = settings.from.parse().map_err(|e| {
            SendError::Config(format!(
                "the sender {:?} is not a mailbox: {e}",
                settings.from
            ))
        })?;
        let tls = match settings.tls {
            Tls::None => LettreTls::None,
            Tls::StartTls => LettreTls::Required(tls_parameters(&host)?),
            Tls::Wrapper => LettreTls::Wrapper(tls_parameters(&host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(settings.timeout_secs.max(1))));
        match (settings.username, settings.password) {
            (Some(user), Some(password)) => {
                if settings.tls == Tls::None {
                    tracing::warn!(host = %host, "SMTP credentials will cross the network unencrypted");
                }
                builder = builder.credentials(Credentials::new(user, password));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(SendError::Config(
                    "an SMTP username is set without a password".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(SendError::Config(
                    "an SMTP password is set without a username".into(),
                ));
            }
        }
        let id_domain = from.email.domain().to_string();
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
            id_domain,
        })
    }

    /// The message to send and its `Message-ID`.
    fn message(&self, email: &Email) -> Result<(Message, String), SendError> {
        let address: Address = email.to.trim().parse().map_err(|e| {
            SendError::refused_locally(format!("invalid recipient address {:?}: {e}", email.to))
        })?;
        let name = email
            .to_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let id = format!("<{}@{}>", uuid::Uuid::now_v7().simple(), self.id_domain);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(email.subject.as_str())
            .message_id(Some(id.clone()));
        let message = match &email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        }
        .map_err(|e| SendError::refused_locally(format!("cannot build the email: {e}")))?;
        Ok((message, id))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, SendError> {
    TlsParameters::new(host.to_string())
        .map_err(|e| SendError::Config(format!("SMTP TLS set-up for {host}: {e}")))
}

/// SMTP 5xx replies are permanent; everything else (4xx, network, TLS, timeouts) may pass later.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Rejected {
            status: e.status().map(u16::from).unwrap_or(0),
            code: None,
            message: e.to_string(),
        }
    } else if e.is_timeout() {
        SendError::Temporary(format!("SMTP server timed out: {e}"))
    } else {
        SendError::Temporary(format!("SMTP: {e}"))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let (message, id) = self.message(email)?;
            match self.transport.send(message).await {
                Ok(response) => {
                    tracing::debug!(
                        message_id = %id,
                        reply = %response.message().collect::<Vec<_>>().join(" "),
                        "email handed to the SMTP server"
                    );
                    Ok(id)
                }
                Err(e) => {
                    let err = classify(&e);
                    tracing::warn!(message_id = %id, error = %err, "email not sent");
                    Err(err)
                }
            }
        })
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: Tls::None,
            username: None,
            password: None,
            from: "Cuspid <noreply@clinic.example>".into(),
            timeout_secs: 5,
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(SmtpMailer::new(settings()).is_ok());
        let bad_from = SmtpSettings {
            from: "not an address".into(),
            ..settings()
        };
        assert!(matches!(
            SmtpMailer::new(bad_from),
            Err(SendError::Config(_))
        ));
        let no_host = SmtpSettings {
            host: " ".into(),
            ..settings()
        };
        assert!(matches!(
            SmtpMailer::new(no_host),
            Err(SendError::Config(_))
        ));
        let half_credentials = SmtpSettings {
            username: Some("user".into()),
            ..settings()
        };
        assert!(matches!(
            SmtpMailer::new(half_credentials),
            Err(SendError::Config(_))
        ));
        let starttls = SmtpSettings {
            tls: Tls::StartTls,
            host: "smtp.clinic.example".into(),
            ..settings()
        };
        assert!(SmtpMailer::new(starttls).is_ok());
    }

    #[test]
    fn password_is_not_in_debug() {
        let s = SmtpSettings {
            username: Some("user".into()),
            password: Some("hunter2-secret".into()),
            ..settings()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn tls_names_in_config() {
        #[derive(Deserialize)]
        struct T {
            tls: Tls,
        }
        let parse = |s: &str| serde_json::from_str::<T>(s).map(|t| t.tls).ok();
        assert_eq!(parse(r#"{"tls":"none"}"#), Some(Tls::None));
        assert_eq!(parse(r#"{"tls":"starttls"}"#), Some(Tls::StartTls));
        assert_eq!(parse(r#"{"tls":"wrapper"}"#), Some(Tls::Wrapper));
        assert_eq!(parse(r#"{"tls":"ssl"}"#), None);
    }

    #[test]
    fn message_has_id_on_sender_domain() {
        let mailer = SmtpMailer::new(settings()).unwrap();
        let email = Email {
            to: "patient@example.org".into(),
            to_name: Some("Zoé".into()),
            subject: "Rappel".into(),
            text: "Bonjour".into(),
            html: None,
        };
        let (message, id) = mailer.message(&email).unwrap();
        assert!(
            id.starts_with('<') && id.ends_with("@clinic.example>"),
            "{id}"
        );
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(raw.contains(&format!("Message-ID: {id}")), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );

        let invalid = Email {
            to: "nobody".into(),
            ..email
        };
        let err = mailer.message(&invalid).map(|_| ()).unwrap_err();
        assert!(
            matches!(err, SendError::Rejected { status: 0, .. }),
            "{err}"
        );
    }
}
