//! A local server that speaks the part of the Stripe API Cuspid uses, for tests of card payments
//! in any crate: `POST /v1/payment_intents` (created and confirmed at once) and
//! `POST /v1/refunds`, form-encoded, behind a bearer secret key, with Stripe's idempotency.
//!
//! It listens on 127.0.0.1 only. The test PaymentMethod tokens behave as on Stripe's test mode:
//!
//! | token | outcome |
//! |---|---|
//! | `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard`, `pm_card_amex` | succeeds (visa 4242, visa 5556, mastercard 4444, amex 8431) |
//! | `pm_card_chargeDeclined` | 402 `card_error`, `card_declined`, `generic_decline` |
//! | `pm_card_chargeDeclinedInsufficientFunds` | 402 `card_declined`, `insufficient_funds` |
//! | `pm_card_chargeDeclinedExpiredCard` | 402 `expired_card` |
//! | `pm_card_authenticationRequired` | 200, status `requires_action` |
//! | anything else | 400 `invalid_request_error`, `resource_missing` |
//!
//! Idempotency follows Stripe: a key seen again with the same endpoint and parameters replays
//! the stored answer (header `Idempotent-Replayed: true`) without doing anything; with other
//! parameters it is a 400 `idempotency_error`. As on Stripe, an answer is stored only once the
//! endpoint has started work: requests refused for their parameters, their key or by
//! [`FakeStripe::fail_next`] leave nothing behind, so they can be retried with the same key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

/// A running fake Stripe; dropped, it stops.
pub struct FakeStripe {
    base_url: String,
    secret_key: String,
    state: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

/// A PaymentIntent the fake created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeIntent {
    /// `pi_…`.
    pub id: String,
    /// In the currency's minor unit.
    pub amount: i64,
    /// As Stripe stores it: lowercase.
    pub currency: String,
    /// `succeeded`, `requires_action`, `requires_payment_method` (declined) or
    /// `requires_confirmation` (not confirmed).
    pub status: String,
    /// The PaymentMethod token it was created with.
    pub payment_method: Option<String>,
    /// The `description` field, when sent.
    pub description: Option<String>,
    /// The `Idempotency-Key` of the request that created it.
    pub idempotency_key: Option<String>,
    /// `metadata[k]=v` fields, in the order received.
    pub metadata: Vec<(String, String)>,
    /// The charge (`ch_…`), for a succeeded or declined payment.
    pub charge_id: Option<String>,
    /// The test card's network, e.g. `visa`.
    pub brand: Option<String>,
    /// The test card's last four digits.
    pub last4: Option<String>,
    /// How much of it has been refunded.
    pub amount_refunded: i64,
}

/// A refund the fake made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeRefund {
    /// `re_…`.
    pub id: String,
    /// The PaymentIntent refunded (`pi_…`).
    pub payment_intent: String,
    /// In the currency's minor unit.
    pub amount: i64,
    /// The `Idempotency-Key` of the request that created it.
    pub idempotency_key: Option<String>,
}

/// One request as the fake received it, whatever became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeRequest {
    /// E.g. `POST`.
    pub method: String,
    /// E.g. `/v1/payment_intents`.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Stripe-Version` header.
    pub stripe_version: Option<String>,
    /// The form body's fields in order, decoded (`metadata[k]`, `expand[]` as sent).
    pub form: Vec<(String, String)>,
}

/// Starts a fake Stripe on 127.0.0.1 with a fresh random secret key.
pub async fn start() -> FakeStripe {
    let secret_key = format!("sk_test_{}", random_hex(24));
    let state = Arc::new(Mutex::new(Inner {
        secret_key: secret_key.clone(),
        ..Inner::default()
    }));
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("fake Stripe: bind 127.0.0.1:0: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("fake Stripe: local address: {e}"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeStripe {
        base_url: format!("http://{addr}"),
        secret_key,
        state,
        server,
    }
}

impl FakeStripe {
    /// The origin to use as the Stripe base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The only key the fake accepts (`Authorization: Bearer <key>`).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The PaymentIntents created so far, oldest first.
    pub fn intents(&self) -> Vec<FakeIntent> {
        self.lock().intents.clone()
    }

    /// The refunds made so far, oldest first.
    pub fn refunds(&self) -> Vec<FakeRefund> {
        self.lock().refunds.clone()
    }

    /// How many requests reached the fake, whatever their outcome.
    pub fn requests(&self) -> usize {
        self.lock().received.len()
    }

    /// Every request that reached the fake, oldest first.
    pub fn received(&self) -> Vec<FakeRequest> {
        self.lock().received.clone()
    }

    /// Answers the next `n` requests with a 500 `api_error` before looking at them (as a
    /// failure in front of Stripe's API would): nothing is created or stored for their keys.
    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Random lowercase hex from the system's generator.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .unwrap_or_else(|_| panic!("fake Stripe: the system random generator failed"));
    hex::encode(buf)
}

/// How one test token behaves.
enum TestCard {
    Succeeds {
        brand: &'static str,
        last4: &'static str,
    },
    Declines {
        code: &'static str,
        decline_code: &'static str,
        message: &'static str,
        last4: &'static str,
    },
    NeedsAuthentication,
}

fn test_card(token: &str) -> Option<TestCard> {
    Some(match token {
        "pm_card_visa" => TestCard::Succeeds {
            brand: "visa",
            last4: "4242",
        },
        "pm_card_visa_debit" => TestCard::Succeeds {
            brand: "visa",
            last4: "5556",
        },
        "pm_card_mastercard" => TestCard::Succeeds {
            brand: "mastercard",
            last4: "4444",
        },
        "pm_card_amex" => TestCard::Succeeds {
            brand: "amex",
            last4: "8431",
        },
        "pm_card_chargeDeclined" => TestCard::Declines {
            code: "card_declined",
            decline_code: "generic_decline",
            message: "Your card was declined.",
            last4: "0002",
        },
        "pm_card_chargeDeclinedInsufficientFunds" => TestCard::Declines {
            code: "card_declined",
            decline_code: "insufficient_funds",
            message: "Your card has insufficient funds.",
            last4: "9995",
        },
        "pm_card_chargeDeclinedExpiredCard" => TestCard::Declines {
            code: "expired_card",
            decline_code: "expired_card",
            message: "Your card has expired.",
            last4: "0069",
        },
        "pm_card_authenticationRequired" => TestCard::NeedsAuthentication,
        _ => return None,
    })
}

/// Stripe's smallest charge per currency (in the minor unit); 1 for the others.
fn minimum_amount(currency: &str) -> i64 {
    match currency {
        "usd" | "eur" | "cad" | "aud" | "nzd" | "chf" | "sgd" | "jpy" => 50,
        "gbp" => 30,
        _ => 1,
    }
}

#[derive(Default)]
struct Inner {
    secret_key: String,
    received: Vec<FakeRequest>,
    intents: Vec<FakeIntent>,
    refunds: Vec<FakeRefund>,
    /// Idempotency key → what the first request asked and was answered.
    idempotency: HashMap<String, Stored>,
    fail_next: usize,
    next_request: u64,
}

struct Stored {
    endpoint: String,
    params: Vec<(String, String)>,
    status: StatusCode,
    body: Value,
}

/// An endpoint's answer; `executed` when the endpoint started work, so that the answer is kept
/// for its idempotency key.
struct Outcome {
    status: StatusCode,
    body: Value,
    executed: bool,
}

impl Outcome {
    fn ok(body: Value) -> Outcome {
        Outcome {
            status: StatusCode::OK,
            body,
            executed: true,
        }
    }
}

/// Stripe's error body; `doc_url` as Stripe forms it from the code.
fn error_body(kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Value {
    let mut error = Map::new();
    error.insert("type".into(), json!(kind));
    error.insert("message".into(), json!(message));
    if let Some(code) = code {
        error.insert("code".into(), json!(code));
        error.insert(
            "doc_url".into(),
            json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            )),
        );
    }
    if let Some(param) = param {
        error.insert("param".into(), json!(param));
    }
    json!({ "error": Value::Object(error) })
}

/// A request refused for its parameters (nothing stored for its key).
fn invalid(status: StatusCode, code: Option<&str>, param: Option<&str>, message: &str) -> Outcome {
    Outcome {
        status,
        body: error_body("invalid_request_error", code, param, message),
        executed: false,
    }
}

fn missing(param: &str) -> Outcome {
    invalid(
        StatusCode::BAD_REQUEST,
        Some("parameter_missing"),
        Some(param),
        &format!("Missing required param: {param}."),
    )
}

fn parse_amount(param: &str, value: &str) -> Result<i64, Outcome> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(invalid(
            StatusCode::BAD_REQUEST,
            Some("parameter_invalid_integer"),
            Some(param),
            "This value must be greater than or equal to 1.",
        )),
        Err(_) => Err(invalid(
            StatusCode::BAD_REQUEST,
            Some("parameter_invalid_integer"),
            Some(param),
            &format!("Invalid integer: {value}"),
        )),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Shows a key as Stripe does in its errors: its prefix, stars and its last four characters.
fn masked(key: &str) -> String {
    let prefix: String = key.chars().take(8).collect();
    let count = key.chars().count();
    let last4: String = key.chars().skip(count.saturating_sub(4)).collect();
    format!("{prefix}****{last4}")
}

async fn handle(
    State(state): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = state.lock().unwrap_or_else(PoisonError::into_inner);
    inner.next_request += 1;
    let request_id = format!("req_{:014}", inner.next_request);
    let idempotency_key = header(&headers, "idempotency-key");
    let (status, body, replayed) = inner.answer(&method, uri.path(), &headers, &body);
    drop(inner);

    let mut response = (status, axum::Json(body)).into_response();
    let out = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        out.insert("request-id", v);
    }
    if let Some(v) = idempotency_key.and_then(|k| HeaderValue::from_str(&k).ok()) {
        out.insert("idempotency-key", v);
    }
    if replayed {
        out.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if status.is_server_error() {
        out.insert("stripe-should-retry", HeaderValue::from_static("true"));
    }
    response
}

impl Inner {
    /// The answer to one request: status, body, and whether it is a replay.
    fn answer(
        &mut self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (StatusCode, Value, bool) {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let idempotency_key = header(headers, "idempotency-key");
        let content_type = header(headers, "content-type");
        let authorization = header(headers, "authorization");
        self.received.push(FakeRequest {
            method: method.to_string(),
            path: path.to_string(),
            authorization: authorization.clone(),
            content_type: content_type.clone(),
            idempotency_key: idempotency_key.clone(),
            stripe_version: header(headers, "stripe-version"),
            form: form.clone(),
        });

        if self.fail_next > 0 {
            self.fail_next -= 1;
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body(
                    "api_error",
                    None,
                    None,
                    "An unknown error occurred while processing your request.",
                ),
                false,
            );
        }

        match authorization.as_deref().map(|a| a.strip_prefix("Bearer ")) {
            None | Some(None) => {
                return (
                    StatusCode::UNAUTHORIZED,
                    error_body(
                        "invalid_request_error",
                        None,
                        None,
                        "You did not provide an API key. You need to provide your API key in \
                         the Authorization header, using Bearer auth (e.g. 'Authorization: \
                         Bearer YOUR_SECRET_KEY').",
                    ),
                    false,
                );
            }
            Some(Some(key)) if key.trim() != self.secret_key => {
                return (
                    StatusCode::UNAUTHORIZED,
                    error_body(
                        "invalid_request_error",
                        None,
                        None,
                        &format!("Invalid API Key provided: {}", masked(key.trim())),
                    ),
                    false,
                );
            }
            Some(Some(_)) => {}
        }

        let endpoint = format!("{method} {path}");
        type Endpoint = fn(&mut Inner, &[(String, String)], Option<&str>) -> Outcome;
        let run: Endpoint = match path {
            "/v1/payment_intents" if method == Method::POST => Inner::create_intent,
            "/v1/refunds" if method == Method::POST => Inner::create_refund,
            _ => {
                return (
                    StatusCode::NOT_FOUND,
                    error_body(
                        "invalid_request_error",
                        None,
                        None,
                        &format!(
                            "Unrecognized request URL ({method}: {path}). Please see \
                             https://stripe.com/docs or we can help at \
                             https://support.stripe.com/."
                        ),
                    ),
                    false,
                );
            }
        };
        if !body.is_empty()
            && !content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        {
            let o = invalid(
                StatusCode::BAD_REQUEST,
                None,
                None,
                "Stripe expects a form-encoded body (application/x-www-form-urlencoded).",
            );
            return (o.status, o.body, false);
        }

        let mut params = form.clone();
        params.sort();
        if let Some(key) = idempotency_key.as_deref()
            && let Some(stored) = self.idempotency.get(key)
        {
            if stored.endpoint != endpoint || stored.params != params {
                return (
                    StatusCode::BAD_REQUEST,
                    error_body(
                        "idempotency_error",
                        None,
                        None,
                        &format!(
                            "Keys for idempotent requests can only be used with the same \
                             parameters they were first used with. Try using a key other \
                             than '{key}' if you meant to execute a different request."
                        ),
                    ),
                    false,
                );
            }
            return (stored.status, stored.body.clone(), true);
        }

        let outcome = run(self, &form, idempotency_key.as_deref());
        if outcome.executed
            && let Some(key) = idempotency_key
        {
            self.idempotency.insert(
                key,
                Stored {
                    endpoint,
                    params,
                    status: outcome.status,
                    body: outcome.body.clone(),
                },
            );
        }
        (outcome.status, outcome.body, false)
    }

    fn create_intent(&mut self, form: &[(String, String)], key: Option<&str>) -> Outcome {
        let mut amount = None;
        let mut currency = None;
        let mut payment_method = None;
        let mut confirm = false;
        let mut description = None;
        let mut return_url = None;
        let mut automatic = false;
        let mut allow_redirects = "always".to_string();
        let mut expand_charge = false;
        let mut metadata = Vec::new();
        for (name, value) in form {
            match name.as_str() {
                "amount" => amount = Some(value.clone()),
                "currency" => currency = Some(value.clone()),
                "payment_method" => payment_method = Some(value.clone()),
                "confirm" => confirm = value == "true",
                "description" => description = Some(value.clone()),
                "return_url" => return_url = Some(value.clone()),
                "automatic_payment_methods[enabled]" => automatic = value == "true",
                "automatic_payment_methods[allow_redirects]" => {
                    if value != "always" && value != "never" {
                        return invalid(
                            StatusCode::BAD_REQUEST,
                            None,
                            Some("automatic_payment_methods[allow_redirects]"),
                            &format!(
                                "Invalid automatic_payment_methods[allow_redirects]: must be \
                                 one of always or never (got {value})"
                            ),
                        );
                    }
                    allow_redirects = value.clone();
                }
                "expand[]" => {
                    if value != "latest_charge" {
                        return invalid(
                            StatusCode::BAD_REQUEST,
                            None,
                            Some("expand"),
                            &format!("This property cannot be expanded ({value})."),
                        );
                    }
                    expand_charge = true;
                }
                other => {
                    if let Some(k) = other
                        .strip_prefix("metadata[")
                        .and_then(|r| r.strip_suffix(']'))
                    {
                        metadata.push((k.to_string(), value.clone()));
                    } else {
                        return invalid(
                            StatusCode::BAD_REQUEST,
                            Some("parameter_unknown"),
                            Some(other),
                            &format!("Received unknown parameter: {other}"),
                        );
                    }
                }
            }
        }

        let Some(amount) = amount else {
            return missing("amount");
        };
        let amount = match parse_amount("amount", &amount) {
            Ok(a) => a,
            Err(o) => return o,
        };
        let Some(currency) = currency else {
            return missing("currency");
        };
        let currency = currency.to_ascii_lowercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return invalid(
                StatusCode::BAD_REQUEST,
                None,
                Some("currency"),
                &format!("Invalid currency: {currency}."),
            );
        }
        if amount < minimum_amount(&currency) {
            return invalid(
                StatusCode::BAD_REQUEST,
                Some("amount_too_small"),
                Some("amount"),
                &format!(
                    "Amount must be at least {} {currency}",
                    minimum_amount(&currency)
                ),
            );
        }
        if metadata.len() > 50 {
            return invalid(
                StatusCode::BAD_REQUEST,
                None,
                Some("metadata"),
                "You can specify up to 50 keys.",
            );
        }
        for (k, v) in &metadata {
            if k.is_empty() || k.chars().count() > 40 || v.chars().count() > 500 {
                return invalid(
                    StatusCode::BAD_REQUEST,
                    None,
                    Some("metadata"),
                    "Metadata keys can be at most 40 characters and values at most 500.",
                );
            }
        }
        if confirm && payment_method.is_none() {
            return missing("payment_method");
        }
        if confirm && automatic && allow_redirects != "never" && return_url.is_none() {
            return invalid(
                StatusCode::BAD_REQUEST,
                None,
                Some("return_url"),
                "This PaymentIntent is configured to accept payment methods enabled in your \
                 Dashboard. Because some of these payment methods might redirect your customer \
                 off of your page, you must provide a `return_url`. If you don't want to accept \
                 redirect-based payment methods, set `automatic_payment_methods[enabled]` to \
                 `true` and `automatic_payment_methods[allow_redirects]` to `never`.",
            );
        }
        let card = match &payment_method {
            Some(pm) => match test_card(pm) {
                Some(card) => Some(card),
                None => {
                    return invalid(
                        StatusCode::BAD_REQUEST,
                        Some("resource_missing"),
                        Some("payment_method"),
                        &format!("No such PaymentMethod: '{pm}'"),
                    );
                }
            },
            None => None,
        };

        let mut intent = FakeIntent {
            id: format!("pi_{}", random_hex(12)),
            amount,
            currency,
            status: "requires_payment_method".into(),
            payment_method: payment_method.clone(),
            description,
            idempotency_key: key.map(str::to_string),
            metadata,
            charge_id: None,
            brand: None,
            last4: None,
            amount_refunded: 0,
        };
        let outcome = match (confirm, card) {
            (false, _) => {
                if payment_method.is_some() {
                    intent.status = "requires_confirmation".into();
                }
                Outcome::ok(intent_json(&intent, expand_charge))
            }
            (true, None) => return missing("payment_method"),
            (true, Some(TestCard::Succeeds { brand, last4 })) => {
                intent.status = "succeeded".into();
                intent.charge_id = Some(format!("ch_{}", random_hex(12)));
                intent.brand = Some(brand.into());
                intent.last4 = Some(last4.into());
                Outcome::ok(intent_json(&intent, expand_charge))
            }
            (true, Some(TestCard::NeedsAuthentication)) => {
                intent.status = "requires_action".into();
                intent.brand = Some("visa".into());
                intent.last4 = Some("3184".into());
                Outcome::ok(intent_json(&intent, expand_charge))
            }
            (
                true,
                Some(TestCard::Declines {
                    code,
                    decline_code,
                    message,
                    last4,
                }),
            ) => {
                let charge = format!("ch_{}", random_hex(12));
                intent.charge_id = Some(charge.clone());
                intent.brand = Some("visa".into());
                intent.last4 = Some(last4.into());
                let mut pi = intent_json(&intent, false);
                let last_error = json!({
                    "type": "card_error", "code": code, "decline_code": decline_code,
                    "message": message, "charge": charge,
                });
                if let Some(o) = pi.as_object_mut() {
                    o.insert("last_payment_error".into(), last_error);
                }
                let mut body = error_body("card_error", Some(code), None, message);
                if let Some(e) = body.get_mut("error").and_then(Value::as_object_mut) {
                    e.insert("decline_code".into(), json!(decline_code));
                    e.insert("charge".into(), json!(charge));
                    e.insert("payment_intent".into(), pi);
                }
                Outcome {
                    status: StatusCode::PAYMENT_REQUIRED,
                    body,
                    executed: true,
                }
            }
        };
        self.intents.push(intent);
        outcome
    }

    fn create_refund(&mut self, form: &[(String, String)], key: Option<&str>) -> Outcome {
        let mut payment_intent = None;
        let mut amount = None;
        for (name, value) in form {
            match name.as_str() {
                "payment_intent" => payment_intent = Some(value.clone()),
                "amount" => amount = Some(value.clone()),
                "reason" => {}
                other if other.starts_with("metadata[") && other.ends_with(']') => {}
                other => {
                    return invalid(
                        StatusCode::BAD_REQUEST,
                        Some("parameter_unknown"),
                        Some(other),
                        &format!("Received unknown parameter: {other}"),
                    );
                }
            }
        }
        let Some(pi) = payment_intent else {
            return missing("payment_intent");
        };
        let amount = match amount.as_deref().map(|a| parse_amount("amount", a)) {
            Some(Ok(a)) => Some(a),
            Some(Err(o)) => return o,
            None => None,
        };
        let Some(intent) = self.intents.iter_mut().find(|i| i.id == pi) else {
            return invalid(
                StatusCode::NOT_FOUND,
                Some("resource_missing"),
                Some("payment_intent"),
                &format!("No such payment_intent: '{pi}'"),
            );
        };
        let charge = match (&intent.charge_id, intent.status.as_str()) {
            (Some(charge), "succeeded") => charge.clone(),
            _ => {
                return invalid(
                    StatusCode::BAD_REQUEST,
                    None,
                    Some("payment_intent"),
                    &format!(
                        "This PaymentIntent ({pi}) does not have a successful charge to refund."
                    ),
                );
            }
        };
        let remaining = intent.amount - intent.amount_refunded;
        let business_error = |code: &str, message: String| Outcome {
            status: StatusCode::BAD_REQUEST,
            body: error_body(
                "invalid_request_error",
                Some(code),
                Some("amount"),
                &message,
            ),
            executed: true,
        };
        if remaining == 0 {
            return business_error(
                "charge_already_refunded",
                format!("Charge {charge} has already been refunded."),
            );
        }
        let amount = amount.unwrap_or(remaining);
        if amount > remaining {
            return business_error(
                "charge_exceeds_source_limit",
                format!(
                    "Refund amount ({amount} {cur}) is greater than unrefunded amount on charge \
                     ({remaining} {cur})",
                    cur = intent.currency
                ),
            );
        }
        intent.amount_refunded += amount;
        let refund = FakeRefund {
            id: format!("re_{}", random_hex(12)),
            payment_intent: pi.clone(),
            amount,
            idempotency_key: key.map(str::to_string),
        };
        let body = json!({
            "id": refund.id,
            "object": "refund",
            "amount": amount,
            "currency": intent.currency,
            "charge": charge,
            "payment_intent": pi,
            "status": "succeeded",
            "reason": null,
            "metadata": {},
        });
        self.refunds.push(refund);
        Outcome::ok(body)
    }
}

/// A PaymentIntent as Stripe shows it; `latest_charge` an object when expanded.
fn intent_json(i: &FakeIntent, expand_charge: bool) -> Value {
    let metadata: Map<String, Value> = i
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let succeeded = i.status == "succeeded";
    let latest_charge = match &i.charge_id {
        None => Value::Null,
        Some(id) if !expand_charge => json!(id),
        Some(id) => json!({
            "id": id,
            "object": "charge",
            "amount": i.amount,
            "amount_captured": if succeeded { i.amount } else { 0 },
            "amount_refunded": i.amount_refunded,
            "currency": i.currency,
            "paid": succeeded,
            "refunded": succeeded && i.amount_refunded == i.amount,
            "status": if succeeded { "succeeded" } else { "failed" },
            "payment_intent": i.id,
            "payment_method": i.payment_method,
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": i.brand,
                    "last4": i.last4,
                    "exp_month": 12,
                    "exp_year": 2034,
                    "funding": "credit",
                    "country": "US",
                },
            },
        }),
    };
    let next_action = if i.status == "requires_action" {
        json!({ "type": "use_stripe_sdk", "use_stripe_sdk": {} })
    } else {
        Value::Null
    };
    json!({
        "id": i.id,
        "object": "payment_intent",
        "amount": i.amount,
        "amount_received": if succeeded { i.amount } else { 0 },
        "currency": i.currency,
        "status": i.status,
        "description": i.description,
        "metadata": Value::Object(metadata),
        "payment_method": i.payment_method,
        "latest_charge": latest_charge,
        "next_action": next_action,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "livemode": false,
    })
}
