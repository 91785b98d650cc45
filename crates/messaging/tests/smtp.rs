#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! `SmtpMailer` against a real SMTP server: aiosmtpd (Python), started by the test on
//! 127.0.0.1 with a handler that decodes each message with Python's `email` package and saves
//! it as JSON. Without aiosmtpd the tests skip loudly, and fail under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use messaging::{Email, Mailer, SendError, SmtpMailer, SmtpSettings, Tls};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Saves each message as `<n>.json` in the folder given as first argument; refuses recipients
/// whose address starts with `bounce`; prints the port it listens on.
const SERVER: &str = r#"
import asyncio, email, email.policy, json, os, sys
from aiosmtpd.smtp import SMTP

OUT = sys.argv[1]

class Saver:
    def __init__(self):
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)

        def body(kind):
            part = msg.get_body(preferencelist=(kind,))
            return None if part is None else part.get_content()

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "message_id": msg["message-id"] and str(msg["message-id"]),
            "date": msg["date"] and str(msg["date"]),
            "content_type": msg.get_content_type(),
            "text": body("plain"),
            "html": body("html"),
            "raw": raw.decode("utf-8", "replace"),
        }
        tmp = os.path.join(OUT, ".%d.tmp" % self.count)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(OUT, "%d.json" % self.count))
        return "250 2.0.0 Ok: queued as test-%d" % self.count

async def main():
    handler = Saver()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

/// A running aiosmtpd; killed when dropped.
struct SmtpPeer {
    child: Child,
    port: u16,
    out: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl SmtpPeer {
    /// Starts the server, or reports the missing peer and returns `None`.
    async fn start() -> Option<SmtpPeer> {
        let has_aiosmtpd = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !has_aiosmtpd {
            test_support::missing_peer("aiosmtpd (python3 -m pip install aiosmtpd)");
            return None;
        }

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("received");
        std::fs::create_dir(&out).unwrap();
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SERVER).unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();

        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut peer = SmtpPeer {
            child,
            port: 0,
            out,
            dir,
        };
        let first_line = tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).lines().next_line(),
        )
        .await;
        peer.port = match first_line {
            Ok(Ok(Some(line))) => line
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("port {line:?}: {e}; {}", peer.log())),
            other => panic!("aiosmtpd did not start ({other:?}): {}", peer.log()),
        };
        Some(peer)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn mailer(&self) -> SmtpMailer {
        SmtpMailer::new(SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: Tls::None,
            username: None,
            password: None,
            from: "Cuspid <noreply@clinic.example>".into(),
            timeout_secs: 5,
        })
        .unwrap()
    }

    /// The `n`th message received (from 1), waiting a little for it.
    async fn received(&self, n: usize) -> Value {
        let path = self.out.join(format!("{n}.json"));
        for _ in 0..100 {
            if let Some(v) = read_json(&path) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("message {n} never arrived; server log: {}", self.log());
    }

    fn count(&self) -> usize {
        std::fs::read_dir(&self.out)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    }
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn reset_email(to: &str) -> Email {
    Email {
        to: to.into(),
        to_name: Some("Zoé Lefèvre".into()),
        subject: "Réinitialisation du mot de passe".into(),
        text: "Bonjour Zoé,\n\nPour réinitialiser votre mot de passe, suivez ce lien : \
               https://clinic.example/reset/abc123\n\nÀ bientôt,\nLe cabinet"
            .into(),
        html: Some(
            "<p>Bonjour Zoé,</p><p><a href=\"https://clinic.example/reset/abc123\">\
             Réinitialiser le mot de passe</a></p><p>À bientôt</p>"
                .into(),
        ),
    }
}

#[tokio::test]
async fn sends_a_french_email_with_html_through_real_smtp() {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    let mailer = peer.mailer();
    assert_eq!(mailer.name(), "smtp");

    let id = mailer
        .send(&reset_email("patient@example.org"))
        .await
        .unwrap_or_else(|e| panic!("{e}; server log: {}", peer.log()));
    assert!(
        id.starts_with('<') && id.ends_with("@clinic.example>"),
        "{id}"
    );

    let got = peer.received(1).await;
    assert_eq!(got["mail_from"], "noreply@clinic.example");
    assert_eq!(got["rcpt_tos"], serde_json::json!(["patient@example.org"]));
    assert_eq!(got["from"], "Cuspid <noreply@clinic.example>");
    assert_eq!(got["to"], "Zoé Lefèvre <patient@example.org>");
    assert_eq!(got["subject"], "Réinitialisation du mot de passe");
    assert_eq!(got["message_id"], id.as_str());
    assert!(got["date"].as_str().is_some_and(|d| !d.is_empty()), "{got}");
    assert_eq!(got["content_type"], "multipart/alternative");

    let text = got["text"].as_str().unwrap();
    assert!(
        text.contains("Pour réinitialiser votre mot de passe"),
        "{text}"
    );
    assert!(text.contains("À bientôt"), "{text}");
    assert!(
        text.contains("https://clinic.example/reset/abc123"),
        "{text}"
    );
    let html = got["html"].as_str().unwrap();
    assert!(
        html.contains("<a href=\"https://clinic.example/reset/abc123\">"),
        "{html}"
    );
    assert!(html.contains("Réinitialiser le mot de passe"), "{html}");

    // On the wire the accents are MIME-encoded, not raw 8-bit headers.
    let raw = got["raw"].as_str().unwrap();
    let subject_line = raw
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("subject:"))
        .unwrap();
    assert!(subject_line.is_ascii(), "{subject_line}");
    assert!(
        subject_line.to_ascii_lowercase().contains("=?utf-8?"),
        "{subject_line}"
    );
}

#[tokio::test]
async fn a_text_only_email_is_plain_text() {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    let email = Email {
        html: None,
        to_name: None,
        ..reset_email("dr.martin@example.org")
    };
    peer.mailer().send(&email).await.unwrap();

    let got = peer.received(1).await;
    assert_eq!(
        got["rcpt_tos"],
        serde_json::json!(["dr.martin@example.org"])
    );
    assert_eq!(got["to"], "dr.martin@example.org");
    assert_eq!(got["content_type"], "text/plain");
    assert!(got["html"].is_null(), "{got}");
    assert!(
        got["text"].as_str().unwrap().contains("réinitialiser"),
        "{got}"
    );
}

#[tokio::test]
async fn a_refused_recipient_is_permanent() {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    let err = peer
        .mailer()
        .send(&reset_email("bounce@example.org"))
        .await
        .unwrap_err();
    match &err {
        SendError::Rejected { status, .. } => assert_eq!(*status, 550, "{err}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(err.is_permanent());
    assert_eq!(peer.count(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_temporary() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mailer = SmtpMailer::new(SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        username: None,
        password: None,
        from: "noreply@clinic.example".into(),
        timeout_secs: 2,
    })
    .unwrap();
    let err = mailer
        .send(&reset_email("patient@example.org"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Temporary(_)), "{err:?}");
    assert!(!err.is_permanent());
}
