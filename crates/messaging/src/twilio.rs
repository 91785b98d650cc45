//! SMS through the Twilio Messages API (or any service that speaks its shape).

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;

use crate::mask_phone;
use crate::{BoxFuture, SendError, Sms, SmsSender};
use domain::kernel::phone::is_e164;

/// Twilio's API origin.
pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

fn default_base_url() -> String {
    TWILIO_BASE_URL.to_string()
}

fn default_timeout_secs() -> u64 {
    15
}

/// The account to send from.
#[derive(Clone, Deserialize)]
pub struct TwilioSettings {
    /// The API origin, [`TWILIO_BASE_URL`] unless testing or using a compatible service.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// `AC…`; also the basic-auth user.
    pub account_sid: String,
    /// The basic-auth password.
    pub auth_token: String,
    /// The sending number in E.164 form, or a messaging service sid `MG…`.
    pub from: String,
    /// The limit for a whole request, connecting included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl TwilioSettings {
    /// Settings for Twilio itself with the default timeout.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        from: impl Into<String>,
    ) -> Self {
        TwilioSettings {
            base_url: default_base_url(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            from: from.into(),
            timeout_secs: default_timeout_secs(),
        }
    }
}

impl fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// An [`SmsSender`] that posts to `{base}/2010-04-01/Accounts/{sid}/Messages.json`.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    /// `From`, or `MessagingServiceSid` for a messaging service.
    from_field: &'static str,
    from: String,
    timeout_secs: u64,
}

/// Twilio's answer to a created message.
#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
}

/// Twilio's error body: `{"code": 21211, "message": "…", "status": 400, "more_info": "…"}`.
#[derive(Deserialize)]
struct ApiError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioSms {
    /// Checks the settings and prepares the HTTP client.
    pub fn new(settings: TwilioSettings) -> Result<TwilioSms, SendError> {
        let sid = settings.account_sid.trim().to_string();
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SendError::Config(
                "the Twilio account sid must be letters and digits (AC…)".into(),
            ));
        }
        if settings.auth_token.is_empty() {
            return Err(SendError::Config("the Twilio auth token is empty".into()));
        }
        let from = settings.from.trim().to_string();
        let from_field = if from.starts_with("MG") {
            "MessagingServiceSid"
        } else if is_e164(&from) {
            "From"
        } else {
            return Err(SendError::Config(
                "the SMS sender must be an E.164 number (+15551234567) or a messaging service sid (MG…)"
                    .into(),
            ));
        };
        let base = url::Url::parse(settings.base_url.trim())
            .map_err(|e| SendError::Config(format!("the Twilio base URL: {e}")))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(SendError::Config(
                "the Twilio base URL must be http or https".into(),
            ));
        }
        let url = format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json",
            base.as_str().trim_end_matches('/')
        );

        // reqwest is built without a default crypto provider: the process's is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("cuspid-messaging/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Config(format!("the HTTP client: {e}")))?;

        Ok(TwilioSms {
            client,
            url,
            account_sid: sid,
            auth_token: settings.auth_token,
            from_field,
            from,
            timeout_secs: settings.timeout_secs.max(1),
        })
    }

    fn transport_error(&self, e: &reqwest::Error) -> SendError {
        if e.is_timeout() {
            SendError::Temporary(format!(
                "no answer from the SMS provider within {} s",
                self.timeout_secs
            ))
        } else if e.is_connect() {
            SendError::Temporary(format!("cannot reach the SMS provider: {e}"))
        } else {
            SendError::Temporary(format!("SMS provider: {e}"))
        }
    }

    async fn post(&self, sms: &Sms) -> Result<String, SendError> {
        if !is_e164(&sms.to) {
            return Err(SendError::refused_locally(format!(
                "the recipient {} is not an E.164 number",
                mask_phone(&sms.to)
            )));
        }
        if sms.body.trim().is_empty() {
            return Err(SendError::refused_locally("the SMS body is empty".into()));
        }
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("To", &sms.to)
            .append_pair(self.from_field, &self.from)
            .append_pair("Body", &sms.body)
            .finish();
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;

        if status.is_success() {
            let sid = serde_json::from_str::<Created>(&body)
                .ok()
                .and_then(|c| c.sid)
                .unwrap_or_default();
            if sid.is_empty() {
                // Accepted all the same: sending again could text the patient twice.
                tracing::warn!(%status, "the SMS provider accepted a message without giving its sid");
            }
            return Ok(sid);
        }

        let (code, message) = match serde_json::from_str::<ApiError>(&body) {
            Ok(e) => (e.code, e.message),
            Err(_) => (None, None),
        };
        let message = message.unwrap_or_else(|| {
            let text: String = body.chars().take(200).collect();
            if text.trim().is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("no reason given")
                    .to_string()
            } else {
                text
            }
        });
        // 4xx is about this message, except "too many requests" and "request timeout";
        // 5xx (and anything unexpected) is the provider's trouble.
        let retry_later = !status.is_client_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if retry_later {
            Err(SendError::Temporary(format!(
                "the SMS provider answered {status}: {message}"
            )))
        } else {
            Err(SendError::Rejected {
                status: status.as_u16(),
                code,
                message,
            })
        }
    }
}

impl SmsSender for TwilioSms {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let result = self.post(sms).await;
            match &result {
                Ok(sid) => tracing::info!(to = %mask_phone(&sms.to), sid = %sid, "SMS sent"),
                Err(e) => tracing::warn!(to = %mask_phone(&sms.to), error = %e, "SMS not sent"),
            }
            result
        })
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let ok = TwilioSettings::new("AC123", "token", "+15550001111");
        assert_eq!(ok.base_url, TWILIO_BASE_URL);
        let sms = TwilioSms::new(ok.clone()).unwrap();
        assert_eq!(
            sms.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        assert_eq!(sms.from_field, "From");

        let service = TwilioSms::new(TwilioSettings {
            from: "MG0123".into(),
            base_url: "http://127.0.0.1:9/".into(),
            ..ok.clone()
        })
        .unwrap();
        assert_eq!(service.from_field, "MessagingServiceSid");
        assert_eq!(
            service.url,
            "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Messages.json"
        );

        for bad in [
            TwilioSettings {
                account_sid: "AC1/../x".into(),
                ..ok.clone()
            },
            TwilioSettings {
                auth_token: String::new(),
                ..ok.clone()
            },
            TwilioSettings {
                from: "Cuspid".into(),
                ..ok.clone()
            },
            TwilioSettings {
                base_url: "ftp://example.com".into(),
                ..ok.clone()
            },
        ] {
            assert!(matches!(TwilioSms::new(bad), Err(SendError::Config(_))));
        }
    }

    #[test]
    fn token_is_not_in_debug() {
        let s = TwilioSettings::new("AC123", "very-secret-token", "+15550001111");
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("AC123"), "{shown}");
    }
}
