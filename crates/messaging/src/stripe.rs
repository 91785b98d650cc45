//! Card payments through the Stripe API (PaymentIntents confirmed at once, and Refunds), or any
//! service that speaks its shape.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;

use crate::BoxFuture;
use crate::card::{
    CardCharge, CardError, CardGateway, CardReceipt, CardRefund, check_amount,
    check_amount_and_currency,
};

/// Stripe's API origin.
pub const STRIPE_BASE_URL: &str = "https://api.stripe.com";

/// The Stripe API version every request asks for (`Stripe-Version`), so that the answers keep
/// the shape parsed here whatever the account's default version is.
pub const STRIPE_API_VERSION: &str = "2024-06-20";

/// The message for a key the gateway does not accept; the key itself is never shown.
const REFUSED_KEY: &str = "the card gateway refused Cuspid's key";

/// Stripe's limits on idempotency keys and metadata.
const MAX_IDEMPOTENCY_KEY: usize = 255;
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY: usize = 40;
const MAX_METADATA_VALUE: usize = 500;
const MAX_TOKEN: usize = 255;

fn default_base_url() -> String {
    STRIPE_BASE_URL.to_string()
}

fn default_timeout_secs() -> u64 {
    20
}

/// The Stripe account to charge with.
#[derive(Clone, Deserialize)]
pub struct StripeSettings {
    /// The API origin, [`STRIPE_BASE_URL`] unless testing or using a compatible service.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The secret (`sk_…`) or restricted (`rk_…`) key, sent as a bearer token.
    pub secret_key: String,
    /// The limit for a whole request, connecting included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl StripeSettings {
    /// Settings for Stripe itself with the default timeout.
    pub fn new(secret_key: impl Into<String>) -> Self {
        StripeSettings {
            base_url: default_base_url(),
            secret_key: secret_key.into(),
            timeout_secs: default_timeout_secs(),
        }
    }
}

impl fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeSettings")
            .field("base_url", &self.base_url)
            .field("secret_key", &"<redacted>")
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// A [`CardGateway`] that confirms a PaymentIntent at once (`POST {base}/v1/payment_intents`)
/// and refunds through `POST {base}/v1/refunds`.
///
/// Payments that need the cardholder to authenticate come back as
/// [`CardError::RequiresAction`]; redirects are refused (`allow_redirects=never`).
pub struct StripeGateway {
    client: reqwest::Client,
    intents_url: String,
    refunds_url: String,
    secret_key: String,
    timeout_secs: u64,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeGateway")
            .field("intents_url", &self.intents_url)
            .field("refunds_url", &self.refunds_url)
            .field("secret_key", &"<redacted>")
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// A PaymentIntent, as far as Cuspid reads it.
#[derive(Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    latest_charge: Option<Expandable<Charge>>,
}

/// A field Stripe sends as an id, or as the object when asked to expand it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expandable<T> {
    Id(String),
    Object(T),
}

#[derive(Deserialize)]
struct Charge {
    id: String,
    payment_method_details: Option<PaymentMethodDetails>,
}

#[derive(Deserialize)]
struct PaymentMethodDetails {
    card: Option<CardDetails>,
}

#[derive(Deserialize)]
struct CardDetails {
    brand: Option<String>,
    last4: Option<String>,
}

#[derive(Deserialize)]
struct Refund {
    id: String,
    amount: i64,
    status: Option<String>,
}

/// Stripe's error body: `{"error": {"type": …, "code": …, "decline_code": …, "message": …,
/// "payment_intent": {…}}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
    payment_intent: Option<IntentRef>,
}

#[derive(Deserialize)]
struct IntentRef {
    id: Option<String>,
    status: Option<String>,
}

impl StripeGateway {
    /// Checks the settings and prepares the HTTP client; a bad setting is
    /// [`CardError::Invalid`].
    pub fn new(settings: StripeSettings) -> Result<StripeGateway, CardError> {
        let key = settings.secret_key.trim().to_string();
        if key.is_empty() {
            return Err(CardError::Invalid("the Stripe secret key is empty".into()));
        }
        if !(key.starts_with("sk_") || key.starts_with("rk_"))
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(CardError::Invalid(
                "the Stripe key must be a secret key (sk_…) or a restricted key (rk_…)".into(),
            ));
        }
        let base = url::Url::parse(settings.base_url.trim())
            .map_err(|e| CardError::Invalid(format!("the Stripe base URL: {e}")))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(CardError::Invalid(
                "the Stripe base URL must be http or https".into(),
            ));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(CardError::Invalid(
                "the Stripe base URL must not carry credentials".into(),
            ));
        }
        let origin = base.as_str().trim_end_matches('/').to_string();

        // reqwest is built without a default crypto provider: the process's is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout_secs = settings.timeout_secs.max(1);
        let timeout = Duration::from_secs(timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("cuspid-messaging/", env!("CARGO_PKG_VERSION")))
            // A payment is never re-sent to another address behind the caller's back.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CardError::Invalid(format!("the HTTP client: {e}")))?;

        Ok(StripeGateway {
            client,
            intents_url: format!("{origin}/v1/payment_intents"),
            refunds_url: format!("{origin}/v1/refunds"),
            secret_key: key,
            timeout_secs,
        })
    }

    fn transport_error(&self, e: &reqwest::Error) -> CardError {
        if e.is_timeout() {
            CardError::Unavailable(format!(
                "no answer from the card gateway within {} s",
                self.timeout_secs
            ))
        } else if e.is_connect() {
            CardError::Unavailable(format!("cannot reach the card gateway: {e}"))
        } else {
            CardError::Unavailable(format!("card gateway: {e}"))
        }
    }

    /// Posts `form` to `url` with the key and `idempotency_key`; returns the status and body.
    async fn post(
        &self,
        url: &str,
        idempotency_key: &str,
        form: String,
    ) -> Result<(StatusCode, String), CardError> {
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .header("Stripe-Version", STRIPE_API_VERSION)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        // A body lost after a success is not a failure of the payment: retrying with the same
        // key replays the gateway's answer.
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;
        Ok((status, body))
    }

    async fn create_intent(&self, c: &CardCharge) -> Result<CardReceipt, CardError> {
        let currency = check_amount_and_currency(c.amount_minor, &c.currency)?;
        check_token(&c.payment_method)?;
        check_idempotency_key(&c.idempotency_key)?;
        check_metadata(&c.metadata)?;

        let (status, body) = self
            .post(
                &self.intents_url,
                &c.idempotency_key,
                intent_form(c, &currency),
            )
            .await?;
        if !status.is_success() {
            return Err(classify_error(status, &body));
        }

        let Ok(intent) = serde_json::from_str::<PaymentIntent>(&body) else {
            return Err(CardError::Unavailable(format!(
                "the card gateway answered {status} in a form Cuspid cannot read; trying again \
                 with the same key is safe"
            )));
        };
        match intent.status.as_str() {
            "succeeded" => {
                let (charge_id, card) = match intent.latest_charge {
                    Some(Expandable::Object(charge)) => (
                        Some(charge.id),
                        charge.payment_method_details.and_then(|d| d.card),
                    ),
                    Some(Expandable::Id(id)) => (Some(id), None),
                    None => (None, None),
                };
                let (brand, last4) = match card {
                    Some(card) => (card.brand, card.last4),
                    None => (None, None),
                };
                Ok(CardReceipt {
                    gateway_id: intent.id,
                    charge_id,
                    amount_minor: intent.amount,
                    currency: intent.currency.to_ascii_lowercase(),
                    brand,
                    last4,
                })
            }
            "requires_action" => Err(CardError::RequiresAction {
                gateway_id: intent.id,
            }),
            other => Err(CardError::Invalid(format!(
                "the card gateway left the payment {} in status {}",
                redact_keys(&intent.id),
                redact_keys(other)
            ))),
        }
    }

    async fn create_refund(
        &self,
        gateway_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<CardRefund, CardError> {
        check_amount(amount_minor)?;
        let gateway_id = gateway_id.trim();
        if !gateway_id.starts_with("pi_")
            || gateway_id.len() > MAX_TOKEN
            || !gateway_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(CardError::Invalid(
                "only a Stripe payment (pi_…) can be refunded through Stripe".into(),
            ));
        }
        check_idempotency_key(idempotency_key)?;

        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payment_intent", gateway_id)
            .append_pair("amount", &amount_minor.to_string())
            .finish();
        let (status, body) = self.post(&self.refunds_url, idempotency_key, form).await?;
        if !status.is_success() {
            return Err(classify_error(status, &body));
        }
        let Ok(refund) = serde_json::from_str::<Refund>(&body) else {
            return Err(CardError::Unavailable(format!(
                "the card gateway answered {status} in a form Cuspid cannot read; trying again \
                 with the same key is safe"
            )));
        };
        match refund.status.as_deref() {
            Some(s @ ("failed" | "canceled")) => Err(CardError::Invalid(format!(
                "the card gateway reports the refund {s}"
            ))),
            _ => Ok(CardRefund {
                gateway_id: refund.id,
                amount_minor: refund.amount,
            }),
        }
    }
}

impl CardGateway for StripeGateway {
    fn charge<'a>(&'a self, c: &'a CardCharge) -> BoxFuture<'a, Result<CardReceipt, CardError>> {
        Box::pin(async move {
            let result = self.create_intent(c).await;
            match &result {
                Ok(r) => tracing::info!(
                    gateway_id = %r.gateway_id,
                    amount_minor = r.amount_minor,
                    currency = %r.currency,
                    brand = r.brand.as_deref().unwrap_or(""),
                    "card payment taken"
                ),
                Err(e) => tracing::warn!(
                    amount_minor = c.amount_minor,
                    retryable = e.is_retryable(),
                    error = %e,
                    "card payment not taken"
                ),
            }
            result
        })
    }

    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount_minor: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardRefund, CardError>> {
        Box::pin(async move {
            let result = self
                .create_refund(gateway_id, amount_minor, idempotency_key)
                .await;
            match &result {
                Ok(r) => tracing::info!(
                    payment = %gateway_id,
                    refund = %r.gateway_id,
                    amount_minor = r.amount_minor,
                    "card refund made"
                ),
                Err(e) => tracing::warn!(
                    payment = %gateway_id,
                    amount_minor,
                    retryable = e.is_retryable(),
                    error = %e,
                    "card refund not made"
                ),
            }
            result
        })
    }

    fn name(&self) -> &'static str {
        "stripe"
    }
}

/// The form of a PaymentIntent created and confirmed at once (`currency` already lowercase).
fn intent_form(c: &CardCharge, currency: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("amount", &c.amount_minor.to_string())
        .append_pair("currency", currency)
        .append_pair("payment_method", c.payment_method.trim())
        .append_pair("confirm", "true")
        .append_pair("automatic_payment_methods[enabled]", "true")
        .append_pair("automatic_payment_methods[allow_redirects]", "never")
        .append_pair("expand[]", "latest_charge");
    if !c.description.trim().is_empty() {
        form.append_pair("description", c.description.trim());
    }
    for (key, value) in &c.metadata {
        form.append_pair(&format!("metadata[{key}]"), value);
    }
    form.finish()
}

/// A PaymentMethod token looks like `pm_…` (letters, an underscore, then letters, digits and
/// underscores). Anything else, a card number above all, is refused without being repeated.
fn check_token(token: &str) -> Result<(), CardError> {
    let token = token.trim();
    let prefix_len = token.bytes().take_while(u8::is_ascii_lowercase).count();
    let well_formed = prefix_len > 0
        && token.len() <= MAX_TOKEN
        && token.as_bytes().get(prefix_len) == Some(&b'_')
        && token.len() > prefix_len + 1
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(CardError::Invalid(
            "the card must come from the card form as a token (pm_…); card numbers are never \
             accepted"
                .into(),
        ))
    }
}

fn check_idempotency_key(key: &str) -> Result<(), CardError> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(CardError::Invalid(format!(
            "the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(())
}

fn check_metadata(metadata: &[(String, String)]) -> Result<(), CardError> {
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(CardError::Invalid(format!(
            "a card payment carries at most {MAX_METADATA_KEYS} metadata entries"
        )));
    }
    for (i, (key, value)) in metadata.iter().enumerate() {
        if key.is_empty()
            || key.chars().count() > MAX_METADATA_KEY
            || key.contains(['[', ']'])
            || key.chars().any(char::is_control)
        {
            return Err(CardError::Invalid(format!(
                "the metadata key {key:?} must be 1 to {MAX_METADATA_KEY} characters without \
                 brackets"
            )));
        }
        if value.chars().count() > MAX_METADATA_VALUE {
            return Err(CardError::Invalid(format!(
                "the metadata value for {key:?} is longer than {MAX_METADATA_VALUE} characters"
            )));
        }
        if metadata[..i].iter().any(|(k, _)| k == key) {
            return Err(CardError::Invalid(format!(
                "the metadata key {key:?} is given twice"
            )));
        }
    }
    Ok(())
}

/// Classifies a non-success answer from the gateway.
fn classify_error(status: StatusCode, body: &str) -> CardError {
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return CardError::Invalid(REFUSED_KEY.into());
    }
    let error = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let message = error
        .as_ref()
        .and_then(|e| e.message.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| {
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
    let message = redact_keys(&message);

    // "Later": the gateway's trouble, too many requests, or (409) another request with the same
    // key still running.
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::CONFLICT
        || status.is_server_error()
    {
        return CardError::Unavailable(format!("the card gateway answered {status}: {message}"));
    }
    // A redirect or another odd answer: the base URL does not lead to the API.
    if !status.is_client_error() {
        return CardError::Invalid(format!(
            "the card gateway answered {status}; check its base URL"
        ));
    }
    let Some(error) = error else {
        return if status == StatusCode::PAYMENT_REQUIRED {
            CardError::Declined {
                code: "card_declined".into(),
                decline_code: None,
                message,
            }
        } else {
            CardError::Invalid(format!("the card gateway answered {status}: {message}"))
        };
    };
    if let Some(IntentRef {
        id: Some(id),
        status: Some(intent_status),
    }) = &error.payment_intent
        && intent_status == "requires_action"
    {
        return CardError::RequiresAction {
            gateway_id: id.clone(),
        };
    }
    let kind = error.kind.as_deref().unwrap_or("");
    if status == StatusCode::PAYMENT_REQUIRED || kind == "card_error" {
        return CardError::Declined {
            code: error.code.unwrap_or_else(|| "card_declined".into()),
            decline_code: error.decline_code,
            message,
        };
    }
    if kind == "idempotency_error" {
        return CardError::Invalid(format!(
            "this idempotency key was already used for a different request: {message}"
        ));
    }
    CardError::Invalid(message)
}

/// Replaces anything that looks like a Stripe secret or restricted key (even masked, as in
/// "sk_test_****1234") with `[redacted]`.
fn redact_keys(text: &str) -> String {
    fn flush(word: &mut String, out: &mut String) {
        if word.starts_with("sk_") || word.starts_with("rk_") {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '*' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
            out.push(ch);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stripe_error(kind: &str, code: Option<&str>, message: &str) -> String {
        json!({ "error": { "type": kind, "code": code, "message": message } }).to_string()
    }

    #[test]
    fn settings_are_checked() {
        let ok = StripeSettings::new("sk_test_abc123");
        assert_eq!(ok.base_url, STRIPE_BASE_URL);
        assert_eq!(ok.timeout_secs, 20);
        let gateway = StripeGateway::new(ok.clone()).unwrap();
        assert_eq!(
            gateway.intents_url,
            "https://api.stripe.com/v1/payment_intents"
        );
        assert_eq!(gateway.refunds_url, "https://api.stripe.com/v1/refunds");

        let local = StripeGateway::new(StripeSettings {
            base_url: "http://127.0.0.1:9/".into(),
            ..ok.clone()
        })
        .unwrap();
        assert_eq!(local.intents_url, "http://127.0.0.1:9/v1/payment_intents");
        assert!(StripeGateway::new(StripeSettings::new("rk_live_x")).is_ok());

        for bad in [
            StripeSettings::new(""),
            StripeSettings::new("pk_test_publishable"),
            StripeSettings::new("sk_test_has space"),
            StripeSettings {
                base_url: "ftp://example.com".into(),
                ..ok.clone()
            },
            StripeSettings {
                base_url: "https://user:pass@example.com".into(),
                ..ok.clone()
            },
        ] {
            let err = StripeGateway::new(bad).unwrap_err();
            assert!(matches!(err, CardError::Invalid(_)), "{err:?}");
            assert!(!err.to_string().contains("sk_test_has"), "{err}");
        }
    }

    #[test]
    fn key_is_not_in_debug() {
        let s = StripeSettings::new("sk_test_very_secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("very_secret"), "{shown}");
        let g = StripeGateway::new(s).unwrap();
        let shown = format!("{g:?}");
        assert!(!shown.contains("very_secret"), "{shown}");
    }

    #[test]
    fn errors_are_classified() {
        let key = CardError::Invalid(REFUSED_KEY.into());
        let invalid_key = stripe_error(
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_****abcd",
        );
        assert_eq!(classify_error(StatusCode::UNAUTHORIZED, &invalid_key), key);
        assert_eq!(classify_error(StatusCode::FORBIDDEN, ""), key);

        for status in [
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::CONFLICT,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            let e = classify_error(status, "<html>busy</html>");
            assert!(
                matches!(&e, CardError::Unavailable(m) if m.contains(status.as_str())),
                "{status}: {e:?}"
            );
        }

        let declined = json!({ "error": {
            "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
            "payment_intent": { "id": "pi_1", "status": "requires_payment_method" },
        }})
        .to_string();
        assert_eq!(
            classify_error(StatusCode::PAYMENT_REQUIRED, &declined),
            CardError::Declined {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Your card has insufficient funds.".into(),
            }
        );
        assert!(matches!(
            classify_error(StatusCode::PAYMENT_REQUIRED, "not json"),
            CardError::Declined { .. }
        ));

        let needs_action = json!({ "error": {
            "type": "card_error", "code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
            "payment_intent": { "id": "pi_2", "status": "requires_action" },
        }})
        .to_string();
        assert_eq!(
            classify_error(StatusCode::PAYMENT_REQUIRED, &needs_action),
            CardError::RequiresAction {
                gateway_id: "pi_2".into()
            }
        );

        let reused = stripe_error("idempotency_error", None, "Keys for idempotent requests…");
        assert!(matches!(
            classify_error(StatusCode::BAD_REQUEST, &reused),
            CardError::Invalid(m) if m.contains("idempotency key")
        ));
        let missing = stripe_error(
            "invalid_request_error",
            Some("resource_missing"),
            "No such PaymentMethod: 'pm_nope'",
        );
        assert_eq!(
            classify_error(StatusCode::BAD_REQUEST, &missing),
            CardError::Invalid("No such PaymentMethod: 'pm_nope'".into())
        );
        assert!(matches!(
            classify_error(StatusCode::NOT_FOUND, ""),
            CardError::Invalid(m) if m.contains("404")
        ));
        assert!(matches!(
            classify_error(StatusCode::MOVED_PERMANENTLY, ""),
            CardError::Invalid(m) if m.contains("301")
        ));
    }

    #[test]
    fn keys_are_redacted_from_messages() {
        assert_eq!(
            redact_keys("Invalid API Key provided: sk_test_****abcd."),
            "Invalid API Key provided: [redacted]."
        );
        assert_eq!(
            redact_keys("key rk_live_123 and ask_me"),
            "key [redacted] and ask_me"
        );
        assert_eq!(
            redact_keys("No such PaymentMethod: 'pm_x'"),
            "No such PaymentMethod: 'pm_x'"
        );
    }

    #[test]
    fn tokens_keys_and_metadata_are_checked() {
        for ok in ["pm_card_visa", "pm_1Abc", "tok_visa"] {
            assert!(check_token(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "4242424242424242",
            "4242 4242 4242 4242",
            "pm_",
            "_x",
            "PM_x",
            "pm_a-b",
        ] {
            let err = check_token(bad).unwrap_err();
            assert!(!err.to_string().contains("4242"), "{err}");
        }
        assert!(check_idempotency_key("posting-0190-abc").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("has space").is_err());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());

        let m = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert!(check_metadata(&[m("posting", "1"), m("patient", "2")]).is_ok());
        assert!(check_metadata(&[m("a[b]", "1")]).is_err());
        assert!(check_metadata(&[m("", "1")]).is_err());
        assert!(check_metadata(&[m("a", "1"), m("a", "2")]).is_err());
        assert!(check_metadata(&[m(&"k".repeat(41), "1")]).is_err());
        assert!(check_metadata(&[m("k", &"v".repeat(501))]).is_err());
        let many: Vec<_> = (0..51).map(|i| m(&format!("k{i}"), "v")).collect();
        assert!(check_metadata(&many).is_err());
    }
}
