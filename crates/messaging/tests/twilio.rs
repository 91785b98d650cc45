#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! `TwilioSms` against a local server that speaks the Twilio Messages API: what is sent, and
//! how answers and silences are classified.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use messaging::{SendError, Sms, SmsSender, TwilioSettings, TwilioSms};
use serde_json::{Value, json};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-auth-token";

#[derive(Clone, Debug)]
struct Recorded {
    method: Method,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    form: HashMap<String, String>,
}

#[derive(Clone)]
struct Fake {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    status: StatusCode,
    answer: Value,
}

async fn messages_api(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let form = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    fake.recorded.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_string(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        form,
    });
    (fake.status, Json(fake.answer.clone()))
}

/// A fake Messages API answering every request with `status` and `answer`; returns its base
/// URL and what it received.
async fn fake_twilio(status: StatusCode, answer: Value) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(messages_api).with_state(Fake {
        recorded: recorded.clone(),
        status,
        answer,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), recorded)
}

fn sender(base_url: &str, from: &str) -> TwilioSms {
    TwilioSms::new(TwilioSettings {
        base_url: base_url.to_string(),
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        from: from.into(),
        timeout_secs: 1,
    })
    .unwrap()
}

fn sms() -> Sms {
    Sms {
        to: "+15551234567".into(),
        body: "Cuspid : votre code est 482913 — à bientôt & merci".into(),
    }
}

fn twilio_error(code: i64, message: &str, status: u16) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

#[tokio::test]
async fn posts_the_message_form_and_returns_the_sid() {
    let (base, recorded) = fake_twilio(
        StatusCode::CREATED,
        json!({ "sid": "SM0123456789abcdef0123456789abcdef", "status": "queued" }),
    )
    .await;
    let twilio = sender(&base, "+15550001111");
    assert_eq!(twilio.name(), "twilio");

    let sid = twilio.send(&sms()).await.unwrap();
    assert_eq!(sid, "SM0123456789abcdef0123456789abcdef");

    let recorded = recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    assert_eq!(r.authorization.as_deref(), Some(expected_auth.as_str()));
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.form.get("To").map(String::as_str), Some("+15551234567"));
    assert_eq!(r.form.get("From").map(String::as_str), Some("+15550001111"));
    assert_eq!(r.form.get("Body"), Some(&sms().body));
    assert!(!r.form.contains_key("MessagingServiceSid"));
    assert_eq!(r.form.len(), 3, "{:?}", r.form);
}

#[tokio::test]
async fn a_messaging_service_sends_its_sid_instead_of_from() {
    let (base, recorded) = fake_twilio(StatusCode::CREATED, json!({ "sid": "SMservice" })).await;
    // A trailing slash on the base URL does not double the path's.
    let twilio = sender(&format!("{base}/"), "MG0123456789abcdef0123456789abcdef");

    assert_eq!(twilio.send(&sms()).await.unwrap(), "SMservice");

    let recorded = recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(
        recorded[0]
            .form
            .get("MessagingServiceSid")
            .map(String::as_str),
        Some("MG0123456789abcdef0123456789abcdef")
    );
    assert!(!recorded[0].form.contains_key("From"));
}

#[tokio::test]
async fn an_invalid_number_is_rejected_for_good() {
    let (base, recorded) = fake_twilio(
        StatusCode::BAD_REQUEST,
        twilio_error(
            21211,
            "The 'To' number +15551234567 is not a valid phone number.",
            400,
        ),
    )
    .await;
    let err = sender(&base, "+15550001111")
        .send(&sms())
        .await
        .unwrap_err();
    match &err {
        SendError::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(*code, Some(21211));
            assert!(message.contains("not a valid phone number"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(err.is_permanent());
    assert_eq!(recorded.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn provider_trouble_is_temporary() {
    for (status, answer) in [
        (
            StatusCode::SERVICE_UNAVAILABLE,
            twilio_error(20503, "Service unavailable", 503),
        ),
        (
            StatusCode::TOO_MANY_REQUESTS,
            twilio_error(20429, "Too Many Requests", 429),
        ),
    ] {
        let (base, recorded) = fake_twilio(status, answer).await;
        let err = sender(&base, "+15550001111")
            .send(&sms())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SendError::Temporary(m) if m.contains(status.as_str())),
            "{status}: {err:?}"
        );
        assert!(!err.is_permanent());
        assert_eq!(recorded.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_silent_server_times_out_as_temporary() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });

    let started = Instant::now();
    let err = sender(&format!("http://{addr}"), "+15550001111")
        .send(&sms())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    silent.abort();

    assert!(
        matches!(&err, SendError::Temporary(m) if m.contains("within 1 s")),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_closed_port_is_temporary() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let err = sender(&format!("http://{addr}"), "+15550001111")
        .send(&sms())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Temporary(_)), "{err:?}");
}

#[tokio::test]
async fn a_malformed_recipient_is_refused_before_sending() {
    let (base, recorded) = fake_twilio(StatusCode::CREATED, json!({ "sid": "SMx" })).await;
    let twilio = sender(&base, "+15550001111");
    for to in ["555-123-4567", "+1 555 123 4567", ""] {
        let err = twilio
            .send(&Sms {
                to: to.into(),
                body: "hello".into(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, SendError::Rejected { status: 0, .. }),
            "{to:?}: {err:?}"
        );
        assert!(err.is_permanent());
    }
    let empty_body = twilio
        .send(&Sms {
            to: "+15551234567".into(),
            body: "  ".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(empty_body, SendError::Rejected { status: 0, .. }));
    assert!(recorded.lock().unwrap().is_empty());
}
