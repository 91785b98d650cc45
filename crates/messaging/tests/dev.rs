#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The development senders remember what they were asked to send.

use std::sync::Arc;

use messaging::{DevMailer, DevSms, Email, Mailer, Sms, SmsSender};

fn sms(to: &str, body: &str) -> Sms {
    Sms {
        to: to.into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn dev_sms_returns_the_last_message_for_a_number() {
    let dev = DevSms::new(3);
    assert_eq!(dev.last_to("+15551234567"), None);

    let a = dev
        .send(&sms("+15551234567", "Your code is 111111"))
        .await
        .unwrap();
    let b = dev
        .send(&sms("+33612345678", "Votre code : 222222"))
        .await
        .unwrap();
    let c = dev
        .send(&sms("+15551234567", "Your code is 333333"))
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_ne!(b, c);
    assert_eq!(dev.name(), "dev");

    assert_eq!(
        dev.last_to("+15551234567").as_deref(),
        Some("Your code is 333333")
    );
    assert_eq!(
        dev.last_to("+33612345678").as_deref(),
        Some("Votre code : 222222")
    );
    assert_eq!(dev.last_to("+4915112345678"), None);

    // Only the last three are kept: the first French message falls out after three more.
    for i in 0..3 {
        dev.send(&sms("+4915112345678", &format!("n{i}")))
            .await
            .unwrap();
    }
    assert_eq!(dev.last_to("+33612345678"), None);
    let kept: Vec<String> = dev.messages().into_iter().map(|s| s.body).collect();
    assert_eq!(kept, ["n0", "n1", "n2"]);
}

#[tokio::test]
async fn dev_sms_works_behind_the_trait_object() {
    let dev = Arc::new(DevSms::default());
    let sender: Arc<dyn SmsSender> = dev.clone();
    let id = sender
        .send(&sms("+15550001111", "Reminder: cleaning tomorrow 9:00"))
        .await
        .unwrap();
    assert!(id.starts_with("dev-sms-"), "{id}");
    assert_eq!(
        dev.last_to("+15550001111").as_deref(),
        Some("Reminder: cleaning tomorrow 9:00")
    );
}

#[tokio::test]
async fn dev_mailer_returns_the_last_email_for_an_address() {
    let dev = DevMailer::default();
    let mailer: &dyn Mailer = &dev;
    let email = Email {
        to: "Patient@Example.org".into(),
        to_name: Some("Zoé".into()),
        subject: "Réinitialisation du mot de passe".into(),
        text: "Lien : https://clinic.example/reset/abc".into(),
        html: None,
    };
    let id = mailer.send(&email).await.unwrap();
    assert!(id.starts_with("dev-email-"), "{id}");
    assert_eq!(mailer.name(), "dev");

    let got = dev.last_to("patient@example.org").unwrap();
    assert_eq!(got, email);
    assert_eq!(dev.last_to("other@example.org"), None);
    assert_eq!(dev.messages().len(), 1);
}
