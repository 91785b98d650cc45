#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Several stateless servers on one PostgreSQL database behave as one: an event committed by
//! one instance reaches the websocket clients of every `cuspid serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use test_support::{TestDb, seed_org};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_cuspid");

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str, dir: &std::path::Path) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--no-demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            url,
            "--data-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .env("CUSPID_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    Server { child, base }
}

async fn next_event(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> serde_json::Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_websocket_clients_of_every_server() {
    let Some(db) = TestDb::postgres_with(std::sync::Arc::new(domain::SystemClock)).await else {
        return;
    };
    let (org, _) = seed_org(&db.store, "multi").await;
    test_support::seed_staff(&db.store, &org).await;
    let dir = db.dir();
    let a = serve(&db.url, &dir.join("a"));
    let b = serve(&db.url, &dir.join("b"));
    // Signed in on server A; the session lives in the database, so server B accepts it too.
    let signed_in = test_support::http()
        .post(format!("http://{}/api/v1/session", a.base))
        .json(&serde_json::json!({
            "email": test_support::staff_email("multi", domain::identity::Role::Admin),
            "password": test_support::STAFF_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let connect = |base: String| {
        let cookie = cookie.clone();
        async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = format!("ws://{base}/ws").into_client_request().unwrap();
            req.headers_mut().insert("cookie", cookie.parse().unwrap());
            tokio_tungstenite::connect_async(req).await.unwrap().0
        }
    };
    // Without a session the socket is refused.
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{}/ws", b.base))
            .await
            .is_err()
    );
    let mut ws_a = connect(a.base.clone()).await;
    let mut ws_b = connect(b.base.clone()).await;
    // Give both servers' listeners time to LISTEN.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Published by another instance on the same database (this test process).
    db.store
        .publish(
            Some(org.id),
            "appointment.moved",
            serde_json::json!({"chair": 2}),
        )
        .await
        .unwrap();
    // An event of another organization must not reach these clients.
    let (other, _) = seed_org(&db.store, "elsewhere").await;
    db.store
        .publish(
            Some(other.id),
            "appointment.moved",
            serde_json::json!({"chair": 99}),
        )
        .await
        .unwrap();
    db.store
        .publish(
            Some(org.id),
            "appointment.moved",
            serde_json::json!({"chair": 3}),
        )
        .await
        .unwrap();
    for ws in [&mut ws_a, &mut ws_b] {
        let first = next_event(ws).await;
        assert_eq!(first["kind"], "appointment.moved");
        assert_eq!(first["payload"]["chair"], 2);
        let second = next_event(ws).await;
        assert_eq!(
            second["payload"]["chair"], 3,
            "the other org's event was skipped"
        );
    }

    // Published through server A by a request (retrying a dead letter on its jobs page):
    // server B's websocket client hears of it.
    let job = db
        .store
        .enqueue(
            store::jobs::NewJob::new("reminder.send", serde_json::json!({}))
                .org(org.id)
                .attempts(1),
        )
        .await
        .unwrap();
    for j in db
        .store
        .claim_jobs("w", 10, Duration::from_secs(60))
        .await
        .unwrap()
    {
        db.store
            .fail_job(&j, "w", "gateway down", Duration::ZERO)
            .await
            .unwrap();
    }
    let r = test_support::http()
        .post(format!("http://{}/admin/jobs/{job}/retry", a.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    for ws in [&mut ws_b, &mut ws_a] {
        let e = next_event(ws).await;
        assert_eq!(e["kind"], "job.retried");
        assert_eq!(e["payload"]["job"], job.to_string());
    }
}
