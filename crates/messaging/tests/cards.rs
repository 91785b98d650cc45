#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! `StripeGateway` against the local Stripe-compatible server of `test_support::stripe`: what
//! is sent, how answers are classified, idempotent retries; and `ManualTerminal`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use messaging::{
    CardCharge, CardError, CardGateway, ManualTerminal, STRIPE_API_VERSION, StripeGateway,
    StripeSettings,
};
use test_support::stripe::{self, FakeStripe};

fn gateway(fake: &FakeStripe) -> StripeGateway {
    gateway_at(fake.base_url(), fake.secret_key())
}

fn gateway_at(base_url: &str, key: &str) -> StripeGateway {
    StripeGateway::new(StripeSettings {
        base_url: base_url.to_string(),
        secret_key: key.to_string(),
        timeout_secs: 1,
    })
    .unwrap()
}

fn charge(payment_method: &str, key: &str) -> CardCharge {
    CardCharge {
        amount_minor: 12_500,
        currency: "USD".into(),
        payment_method: payment_method.into(),
        description: "Crown, tooth 14 — Dr. Rivera".into(),
        idempotency_key: key.into(),
        metadata: vec![
            ("posting".into(), "0190-abc".into()),
            ("patient".into(), "Zoë O'Brien & co".into()),
        ],
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn a_visa_charge_succeeds_with_brand_last4_and_the_stripe_form() {
    let fake = stripe::start().await;
    let stripe: Arc<dyn CardGateway> = Arc::new(gateway(&fake));
    assert_eq!(stripe.name(), "stripe");

    let receipt = stripe
        .charge(&charge("pm_card_visa", "pay-visa-1"))
        .await
        .unwrap();
    assert!(receipt.gateway_id.starts_with("pi_"), "{receipt:?}");
    assert!(
        receipt.charge_id.as_deref().unwrap().starts_with("ch_"),
        "{receipt:?}"
    );
    assert_eq!(receipt.amount_minor, 12_500);
    assert_eq!(receipt.currency, "usd");
    assert_eq!(receipt.brand.as_deref(), Some("visa"));
    assert_eq!(receipt.last4.as_deref(), Some("4242"));

    let received = fake.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/payment_intents");
    assert_eq!(
        r.authorization.as_deref(),
        Some(format!("Bearer {}", fake.secret_key()).as_str())
    );
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.idempotency_key.as_deref(), Some("pay-visa-1"));
    assert_eq!(r.stripe_version.as_deref(), Some(STRIPE_API_VERSION));

    let mut form = r.form.clone();
    form.sort();
    let expected = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        form,
        expected(&[
            ("amount", "12500"),
            ("currency", "usd"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
            ("description", "Crown, tooth 14 — Dr. Rivera"),
            ("metadata[posting]", "0190-abc"),
            ("metadata[patient]", "Zoë O'Brien & co"),
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("expand[]", "latest_charge"),
        ])
    );

    let intents = fake.intents();
    assert_eq!(intents.len(), 1);
    let i = &intents[0];
    assert_eq!(i.id, receipt.gateway_id);
    assert_eq!(i.charge_id, receipt.charge_id);
    assert_eq!(i.amount, 12_500);
    assert_eq!(i.currency, "usd");
    assert_eq!(i.status, "succeeded");
    assert_eq!(i.idempotency_key.as_deref(), Some("pay-visa-1"));
    assert_eq!(
        i.metadata,
        vec![
            ("posting".to_string(), "0190-abc".to_string()),
            ("patient".to_string(), "Zoë O'Brien & co".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_mastercard_reports_its_brand_and_an_empty_description_is_not_sent() {
    let fake = stripe::start().await;
    let receipt = gateway(&fake)
        .charge(&CardCharge {
            description: "  ".into(),
            metadata: vec![],
            currency: "eur".into(),
            ..charge("pm_card_mastercard", "pay-mc-1")
        })
        .await
        .unwrap();
    assert_eq!(receipt.brand.as_deref(), Some("mastercard"));
    assert_eq!(receipt.last4.as_deref(), Some("4444"));
    assert_eq!(receipt.currency, "eur");
    let form = &fake.received()[0].form;
    assert!(field(form, "description").is_empty(), "{form:?}");
    assert!(
        !form.iter().any(|(k, _)| k.starts_with("metadata")),
        "{form:?}"
    );
    assert_eq!(field(form, "currency"), ["eur"]);
}

#[tokio::test]
async fn declined_cards_are_declined_with_their_codes() {
    let fake = stripe::start().await;
    let stripe = gateway(&fake);
    for (token, decline_code, text) in [
        (
            "pm_card_chargeDeclined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ] {
        let err = stripe
            .charge(&charge(token, &format!("pay-{token}")))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            CardError::Declined {
                code: "card_declined".into(),
                decline_code: Some(decline_code.into()),
                message: text.into(),
            }
        );
        assert!(!err.is_retryable());
        assert_eq!(err.to_string(), format!("the card was declined: {text}"));
    }
    let expired = stripe
        .charge(&charge("pm_card_chargeDeclinedExpiredCard", "pay-expired"))
        .await
        .unwrap_err();
    assert!(
        matches!(&expired, CardError::Declined { code, .. } if code == "expired_card"),
        "{expired:?}"
    );

    // Stripe keeps a declined intent, and replays the decline for its key.
    let intents = fake.intents();
    assert_eq!(intents.len(), 3);
    assert!(
        intents
            .iter()
            .all(|i| i.status == "requires_payment_method"),
        "{intents:?}"
    );
    let again = stripe
        .charge(&charge(
            "pm_card_chargeDeclined",
            "pay-pm_card_chargeDeclined",
        ))
        .await
        .unwrap_err();
    assert!(matches!(again, CardError::Declined { .. }), "{again:?}");
    assert_eq!(fake.intents().len(), 3);
}

#[tokio::test]
async fn authentication_required_is_requires_action() {
    let fake = stripe::start().await;
    let err = gateway(&fake)
        .charge(&charge("pm_card_authenticationRequired", "pay-3ds"))
        .await
        .unwrap_err();
    let intents = fake.intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].status, "requires_action");
    assert_eq!(
        err,
        CardError::RequiresAction {
            gateway_id: intents[0].id.clone()
        }
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_unknown_token_is_invalid() {
    let fake = stripe::start().await;
    let err = gateway(&fake)
        .charge(&charge("pm_card_doesNotExist", "pay-unknown"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CardError::Invalid(m) if m.contains("No such PaymentMethod")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(fake.intents().is_empty());
}

#[tokio::test]
async fn a_wrong_key_is_invalid_and_never_shown() {
    let fake = stripe::start().await;
    let wrong = "sk_test_wrongkey0123456789";
    let stripe = gateway_at(fake.base_url(), wrong);
    let err = stripe
        .charge(&charge("pm_card_visa", "pay-bad-key"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CardError::Invalid("the card gateway refused Cuspid's key".into())
    );
    assert!(!err.is_retryable());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("sk_test"), "{shown}");
    assert!(!shown.contains("6789"), "{shown}");

    let refund = stripe
        .refund("pi_123", 100, "refund-bad-key")
        .await
        .unwrap_err();
    assert_eq!(refund, err);
    assert_eq!(fake.requests(), 2);
    assert!(fake.intents().is_empty());
}

#[tokio::test]
async fn a_server_error_is_unavailable_and_the_same_key_then_succeeds_once() {
    let fake = stripe::start().await;
    let stripe = gateway(&fake);
    let c = charge("pm_card_visa", "pay-retry-1");

    fake.fail_next(1);
    let err = stripe.charge(&c).await.unwrap_err();
    assert!(
        matches!(&err, CardError::Unavailable(m) if m.contains("500")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(fake.intents().is_empty());

    let first = stripe.charge(&c).await.unwrap();
    // A retry after a lost answer replays the payment instead of charging again.
    let replayed = stripe.charge(&c).await.unwrap();
    assert_eq!(replayed, first);

    assert_eq!(fake.requests(), 3);
    let intents = fake.intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].id, first.gateway_id);
    assert_eq!(intents[0].idempotency_key.as_deref(), Some("pay-retry-1"));
}

#[tokio::test]
async fn the_same_key_for_a_different_amount_is_invalid() {
    let fake = stripe::start().await;
    let stripe = gateway(&fake);
    stripe
        .charge(&charge("pm_card_visa", "pay-reused"))
        .await
        .unwrap();
    let err = stripe
        .charge(&CardCharge {
            amount_minor: 9_900,
            ..charge("pm_card_visa", "pay-reused")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CardError::Invalid(m) if m.contains("idempotency key")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(fake.intents().len(), 1);
    assert_eq!(fake.intents()[0].amount, 12_500);
}

#[tokio::test]
async fn a_partial_refund_goes_through_and_too_large_a_refund_is_invalid() {
    let fake = stripe::start().await;
    let stripe = gateway(&fake);
    let paid = stripe
        .charge(&charge("pm_card_visa", "pay-refund-1"))
        .await
        .unwrap();

    let refund = stripe
        .refund(&paid.gateway_id, 5_000, "refund-1")
        .await
        .unwrap();
    assert!(refund.gateway_id.starts_with("re_"), "{refund:?}");
    assert_eq!(refund.amount_minor, 5_000);
    // The same key again is the same refund.
    assert_eq!(
        stripe
            .refund(&paid.gateway_id, 5_000, "refund-1")
            .await
            .unwrap(),
        refund
    );

    let r = fake.received().pop().unwrap();
    assert_eq!(r.path, "/v1/refunds");
    assert_eq!(r.idempotency_key.as_deref(), Some("refund-1"));
    let mut form = r.form;
    form.sort();
    assert_eq!(
        form,
        vec![
            ("amount".to_string(), "5000".to_string()),
            ("payment_intent".to_string(), paid.gateway_id.clone()),
        ]
    );

    let err = stripe
        .refund(&paid.gateway_id, 8_000, "refund-2")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CardError::Invalid(m) if m.contains("greater than")),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    let rest = stripe
        .refund(&paid.gateway_id, 7_500, "refund-3")
        .await
        .unwrap();
    assert_eq!(rest.amount_minor, 7_500);

    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[0].id, refund.gateway_id);
    assert_eq!(refunds[0].payment_intent, paid.gateway_id);
    assert_eq!(refunds[0].idempotency_key.as_deref(), Some("refund-1"));
    assert_eq!(fake.intents()[0].amount_refunded, 12_500);

    let unknown = stripe
        .refund("pi_doesnotexist", 100, "refund-4")
        .await
        .unwrap_err();
    assert!(matches!(unknown, CardError::Invalid(_)), "{unknown:?}");
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    let fake = stripe::start().await;
    let stripe = gateway(&fake);
    let base = charge("pm_card_visa", "pay-local");
    for bad in [
        CardCharge {
            amount_minor: 0,
            ..base.clone()
        },
        CardCharge {
            amount_minor: -500,
            ..base.clone()
        },
        CardCharge {
            currency: "US".into(),
            ..base.clone()
        },
        CardCharge {
            currency: "u$d".into(),
            ..base.clone()
        },
        CardCharge {
            payment_method: "4242 4242 4242 4242".into(),
            ..base.clone()
        },
        CardCharge {
            payment_method: String::new(),
            ..base.clone()
        },
        CardCharge {
            idempotency_key: String::new(),
            ..base.clone()
        },
        CardCharge {
            metadata: vec![("a[b]".into(), "c".into())],
            ..base.clone()
        },
    ] {
        let err = stripe.charge(&bad).await.unwrap_err();
        assert!(matches!(err, CardError::Invalid(_)), "{bad:?}: {err:?}");
        assert!(!err.to_string().contains("4242"), "{err}");
    }
    for (id, amount, key) in [
        ("pi_123", 0, "k"),
        ("pi_123", -1, "k"),
        ("pi_123", 100, ""),
        ("ch_123", 100, "k"),
        ("", 100, "k"),
    ] {
        let err = stripe.refund(id, amount, key).await.unwrap_err();
        assert!(
            matches!(err, CardError::Invalid(_)),
            "{id} {amount}: {err:?}"
        );
    }
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let err = gateway_at(&format!("http://{addr}"), "sk_test_x")
        .charge(&charge("pm_card_visa", "pay-closed"))
        .await
        .unwrap_err();
    assert!(matches!(err, CardError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_silent_gateway_times_out_as_unavailable() {
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
    let err = gateway_at(&format!("http://{addr}"), "sk_test_x")
        .charge(&charge("pm_card_visa", "pay-silent"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    silent.abort();

    assert!(
        matches!(&err, CardError::Unavailable(m) if m.contains("within 1 s")),
        "{err:?}"
    );
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn the_manual_terminal_records_authorization_codes() {
    let terminal: Arc<dyn CardGateway> = Arc::new(ManualTerminal);
    assert_eq!(terminal.name(), "manual");

    let receipt = terminal
        .charge(&CardCharge {
            payment_method: "A1B2-C3".into(),
            ..charge("", "pay-terminal")
        })
        .await
        .unwrap();
    assert_eq!(receipt.gateway_id, "manual:A1B2-C3");
    assert_eq!(receipt.charge_id, None);
    assert_eq!(receipt.amount_minor, 12_500);
    assert_eq!(receipt.currency, "usd");
    assert_eq!(receipt.brand, None);
    assert_eq!(receipt.last4, None);

    let refund = terminal
        .refund(&receipt.gateway_id, 2_500, "refund-terminal")
        .await
        .unwrap();
    assert_eq!(refund.gateway_id, "manual-refund:A1B2-C3");
    assert_eq!(refund.amount_minor, 2_500);
}

#[tokio::test]
async fn the_manual_terminal_refuses_bad_codes_and_amounts() {
    let terminal = ManualTerminal;
    let base = CardCharge {
        payment_method: "123456".into(),
        ..charge("", "pay-terminal")
    };
    for bad in [
        CardCharge {
            payment_method: String::new(),
            ..base.clone()
        },
        CardCharge {
            payment_method: "12 34".into(),
            ..base.clone()
        },
        CardCharge {
            payment_method: "A".repeat(33),
            ..base.clone()
        },
        CardCharge {
            payment_method: "pm_card_visa".into(),
            ..base.clone()
        },
        CardCharge {
            amount_minor: 0,
            ..base.clone()
        },
        CardCharge {
            currency: "US".into(),
            ..base.clone()
        },
    ] {
        let err = terminal.charge(&bad).await.unwrap_err();
        assert!(matches!(err, CardError::Invalid(_)), "{bad:?}: {err:?}");
    }
    assert!(terminal.charge(&base).await.is_ok());
    assert!(
        terminal
            .charge(&CardCharge {
                payment_method: "A".repeat(32),
                ..base.clone()
            })
            .await
            .is_ok()
    );

    for (id, amount) in [
        ("manual:123456", 0),
        ("pi_123", 100),
        ("manual:", 100),
        ("manual:12 34", 100),
    ] {
        let err = terminal.refund(id, amount, "k").await.unwrap_err();
        assert!(
            matches!(err, CardError::Invalid(_)),
            "{id} {amount}: {err:?}"
        );
    }
}

#[test]
fn settings_debug_hides_the_key() {
    let settings = StripeSettings::new("sk_live_51AbCdEfGhIjKlMnOp");
    let shown = format!("{settings:?}");
    assert!(!shown.contains("51AbCdEfGhIjKlMnOp"), "{shown}");
    assert!(shown.contains("api.stripe.com"), "{shown}");
    assert_eq!(settings.timeout_secs, 20);
    let gateway = StripeGateway::new(settings).unwrap();
    let shown = format!("{gateway:?}");
    assert!(!shown.contains("51AbCdEfGhIjKlMnOp"), "{shown}");
}
