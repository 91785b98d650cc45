//! Outgoing email and SMS, and card payments, for Cuspid.
//!
//! - Email goes through a [`Mailer`]: [`SmtpMailer`] (lettre over tokio, plain, STARTTLS or
//!   implicit TLS through rustls with ring) or [`DevMailer`], which only logs and remembers.
//! - SMS goes through an [`SmsSender`]: [`TwilioSms`] (the Twilio Messages API, or any service
//!   that speaks its shape) or [`DevSms`], which only logs and remembers.
//!
//! Every send returns the provider's identifier of the message, or a [`SendError`] that says
//! whether trying again later can help ([`SendError::is_permanent`]): the job outbox retries
//! temporary failures and gives up on permanent ones.
//!
//! Phone numbers are stored and sent in E.164 form ([`normalize_phone`]) and shown or logged
//! masked ([`mask_phone`]).
//!
//! Card payments go through a [`CardGateway`]: [`StripeGateway`] (Stripe's PaymentIntents and
//! Refunds, or any service that speaks their shape) or [`ManualTerminal`], which records the
//! authorization code of a stand-alone terminal. A charge carries a token from the browser's
//! card form, never a card number, and an idempotency key: a [`CardError`] says whether trying
//! again with the same key can help ([`CardError::is_retryable`]).

mod card;
mod dev;
mod smtp;
mod stripe;
mod twilio;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use card::{CardCharge, CardError, CardGateway, CardReceipt, CardRefund, ManualTerminal};
pub use dev::{DevMailer, DevSms};
pub use domain::kernel::phone::{PhoneError, mask_phone, normalize_phone};
pub use smtp::{SmtpMailer, SmtpSettings, Tls};
pub use stripe::{STRIPE_API_VERSION, STRIPE_BASE_URL, StripeGateway, StripeSettings};
pub use twilio::{TWILIO_BASE_URL, TwilioSettings, TwilioSms};

/// A boxed future that can cross threads: what the sender traits return, so that they stay
/// object-safe (`Arc<dyn Mailer>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One email to one recipient: a plain-text body, and optionally an HTML alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address, e.g. `patient@example.org`.
    pub to: String,
    /// The recipient's display name, if known.
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// One text message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    /// The recipient in E.164 form, e.g. `+15551234567` (see [`normalize_phone`]).
    pub to: String,
    pub body: String,
}

/// Sends email.
pub trait Mailer: Send + Sync {
    /// Sends `email`; returns the message's identifier (for SMTP, its `Message-ID`).
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendError>>;
    /// A short name for logs and the admin screens, e.g. `smtp`.
    fn name(&self) -> &'static str;
}

/// Sends text messages.
pub trait SmsSender: Send + Sync {
    /// Sends `sms`; returns the provider's message identifier (for Twilio, the `SM…` sid).
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<String, SendError>>;
    /// A short name for logs and the admin screens, e.g. `twilio`.
    fn name(&self) -> &'static str;
}

/// Why a message was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The provider could not be reached, timed out, or answered "later" (HTTP 5xx, 408, 429;
    /// SMTP 4xx): the same message may go through on a later try.
    Temporary(String),
    /// The provider refused this message (HTTP 4xx, SMTP 5xx), or it was refused before being
    /// sent (`status` 0: an invalid recipient, an empty body): trying again will not help.
    Rejected {
        /// The HTTP status or SMTP reply code; 0 when refused locally.
        status: u16,
        /// The provider's own error code, e.g. Twilio's 21211 for an invalid `To`.
        code: Option<i64>,
        message: String,
    },
    /// The sender itself is misconfigured (settings, credentials, TLS set-up).
    Config(String),
}

impl SendError {
    /// True when trying the same message again cannot help: it was rejected, or the sender is
    /// misconfigured. Temporary failures are worth retrying.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, SendError::Temporary(_))
    }

    pub(crate) fn refused_locally(message: String) -> SendError {
        SendError::Rejected {
            status: 0,
            code: None,
            message,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Temporary(m) => write!(f, "temporary failure: {m}"),
            SendError::Rejected {
                status: 0, message, ..
            } => write!(f, "refused before sending: {message}"),
            SendError::Rejected {
                status,
                code: Some(code),
                message,
            } => write!(f, "rejected (status {status}, code {code}): {message}"),
            SendError::Rejected {
                status,
                code: None,
                message,
            } => write!(f, "rejected (status {status}): {message}"),
            SendError::Config(m) => write!(f, "messaging is misconfigured: {m}"),
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence_and_display() {
        let t = SendError::Temporary("connection refused".into());
        assert!(!t.is_permanent());
        assert_eq!(t.to_string(), "temporary failure: connection refused");

        let r = SendError::Rejected {
            status: 400,
            code: Some(21211),
            message: "invalid 'To'".into(),
        };
        assert!(r.is_permanent());
        assert_eq!(
            r.to_string(),
            "rejected (status 400, code 21211): invalid 'To'"
        );

        let local = SendError::refused_locally("empty body".into());
        assert!(local.is_permanent());
        assert_eq!(local.to_string(), "refused before sending: empty body");

        assert!(SendError::Config("no host".into()).is_permanent());
    }
}
