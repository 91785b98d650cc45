#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Object storage: put, get, signed link, expired link, tampered link — on the local store
//! (both databases) and against a real S3 server (s3s-fs).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::{FixedClock, Scope};
use store::objects::{ObjectError, ObjectStorage, Placement, Profile};
use test_support::{TestDb, dual_test, local_objects, seed_org, test_epoch};

dual_test!(async fn local_put_get_and_signed_links(db) {
    let objects = local_objects(&db.dir());
    let (org, loc) = seed_org(&db.store, "files").await;
    let (other, _) = seed_org(&db.store, "others").await;
    let scope = Scope::system(org.id);
    let data = Bytes::from_static(b"\x89PNG fake radiograph bytes");
    let obj = objects.put(&db.store, &scope, Some(loc.id), "image/png", data.clone()).await.unwrap();
    assert_eq!(obj.size, data.len() as i64);
    assert_eq!(obj.sha256, hex::encode(ring::digest::digest(&ring::digest::SHA256, &data)));
    assert_eq!(obj.sha256.len(), 64);
    let (rec, back) = objects.get(&db.store, &scope, obj.id).await.unwrap();
    assert_eq!(back, data);
    assert_eq!(rec, obj);
    // another organization cannot see it
    assert!(matches!(objects.get(&db.store, &Scope::system(other.id), obj.id).await, Err(ObjectError::NotFound)));

    let url = objects.signed_url(&db.store, &scope, obj.id, Duration::from_secs(300)).await.unwrap();
    let (path, query) = url.split_once('?').unwrap();
    assert_eq!(path, format!("/files/{}", obj.id));
    let params: HashMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let exp: i64 = params["exp"].parse().unwrap();
    let sig = params["sig"];
    let (_, via_link) = objects.open_link(&db.store, obj.id, exp, sig).await.unwrap();
    assert_eq!(via_link, data);

    // tampered: another expiry, another signature, or another object
    assert!(matches!(objects.open_link(&db.store, obj.id, exp + 3600, sig).await, Err(ObjectError::BadSignature)));
    let mut bad = sig.to_string();
    bad.replace_range(0..1, if bad.starts_with('A') { "B" } else { "A" });
    assert!(matches!(objects.open_link(&db.store, obj.id, exp, &bad).await, Err(ObjectError::BadSignature)));
    let second = objects.put(&db.store, &scope, None, "text/plain", Bytes::from_static(b"x")).await.unwrap();
    assert!(matches!(objects.open_link(&db.store, second.id, exp, sig).await, Err(ObjectError::BadSignature)));
    assert!(matches!(objects.open_link(&db.store, obj.id, exp, "not base64!").await, Err(ObjectError::BadSignature)));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_links_expire() {
    let clock = Arc::new(FixedClock::new(test_epoch()));
    let db = TestDb::sqlite_with(clock.clone()).await;
    let objects = local_objects(&db.dir());
    let (org, _) = seed_org(&db.store, "expiry").await;
    let scope = Scope::system(org.id);
    let obj = objects
        .put(
            &db.store,
            &scope,
            None,
            "text/plain",
            Bytes::from_static(b"hello"),
        )
        .await
        .unwrap();
    let url = objects
        .signed_url(&db.store, &scope, obj.id, Duration::from_secs(60))
        .await
        .unwrap();
    let q: HashMap<&str, &str> = url
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let exp: i64 = q["exp"].parse().unwrap();
    clock.advance(jiff::SignedDuration::from_secs(59));
    objects
        .open_link(&db.store, obj.id, exp, q["sig"])
        .await
        .unwrap();
    clock.advance(jiff::SignedDuration::from_secs(2));
    assert!(matches!(
        objects.open_link(&db.store, obj.id, exp, q["sig"]).await,
        Err(ObjectError::Expired)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_on_disk_is_detected() {
    let db = TestDb::sqlite().await;
    let objects = local_objects(&db.dir());
    let (org, _) = seed_org(&db.store, "rot").await;
    let scope = Scope::system(org.id);
    let obj = objects
        .put(
            &db.store,
            &scope,
            None,
            "text/plain",
            Bytes::from_static(b"original"),
        )
        .await
        .unwrap();
    let path = db.dir().join("objects").join(&obj.key);
    std::fs::write(&path, b"tampered").unwrap();
    assert!(matches!(
        objects.get(&db.store, &scope, obj.id).await,
        Err(ObjectError::Corrupt(_))
    ));
}

/// A running s3s-fs on 127.0.0.1, stopped on drop.
struct S3Server {
    child: std::process::Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs_binary() -> Option<std::path::PathBuf> {
    let mut candidates = vec![];
    if let Ok(home) = std::env::var("CARGO_HOME") {
        candidates.push(std::path::PathBuf::from(home).join("bin/s3s-fs"));
    }
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(std::path::PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    }
    candidates.push("/usr/local/bin/s3s-fs".into());
    candidates.into_iter().find(|p| p.exists())
}

async fn start_s3() -> Option<S3Server> {
    let Some(bin) = s3s_fs_binary() else {
        test_support::missing_peer(
            "s3s-fs (cargo install --locked s3s-fs --version 0.14.1 --features binary)",
        );
        return None;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("cuspid-test")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "cuspidtest",
            "--secret-key",
            "cuspidtestsecret",
        ])
        .arg(root.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = S3Server {
        child,
        port,
        _root: root,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("s3s-fs did not start");
}

fn s3_storage(dir: &std::path::Path, port: u16) -> ObjectStorage {
    let mut profiles = HashMap::new();
    profiles.insert(
        "default".to_string(),
        Profile::Local {
            root: dir.join("objects").display().to_string(),
        },
    );
    profiles.insert(
        "s3-canada".to_string(),
        Profile::S3 {
            bucket: "cuspid-test".into(),
            region: "ca-central-1".into(),
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key_id: "cuspidtest".into(),
            secret_access_key: "cuspidtestsecret".into(),
            allow_http: true,
        },
    );
    ObjectStorage::new(
        dir.to_path_buf(),
        profiles,
        b"test-link-secret-0123456789abcdef",
    )
    .unwrap()
}

dual_test!(system_clock async fn s3_put_get_and_presigned_links(db) {
    let Some(s3) = start_s3().await else { return };
    let objects = s3_storage(&db.dir(), s3.port);
    let (org, loc) = seed_org(&db.store, "quebec").await;
    let scope = Scope::system(org.id);
    // This clinic keeps its files in the Canadian bucket; the rest of the org stays local.
    let to_canada = Placement { profile: "s3-canada".into(), prefix: "qc".into() };
    assert!(db.store.set_placement(&scope, Some(loc.id), &to_canada).await.unwrap());
    let stranger = Scope::system(domain::OrgId::from_uuid(uuid::Uuid::nil()));
    assert!(!db.store.set_placement(&stranger, Some(loc.id), &Placement::default()).await.unwrap(), "another org cannot move this clinic's files");
    let data = Bytes::from(vec![7u8; 100_000]);
    let obj = objects.put(&db.store, &scope, Some(loc.id), "application/dicom", data.clone()).await.unwrap();
    assert_eq!(obj.profile, "s3-canada");
    assert!(obj.key.starts_with(&format!("qc/{}/", org.id)));
    let local = objects.put(&db.store, &scope, None, "text/plain", Bytes::from_static(b"local")).await.unwrap();
    assert_eq!(local.profile, "default");
    let (_, back) = objects.get(&db.store, &scope, obj.id).await.unwrap();
    assert_eq!(back, data);

    let http = test_support::http();
    let url = objects.signed_url(&db.store, &scope, obj.id, Duration::from_secs(300)).await.unwrap();
    assert!(url.starts_with(&format!("http://127.0.0.1:{}/cuspid-test/qc/", s3.port)), "{url}");
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), data);

    let mut tampered = url.clone();
    let i = tampered.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let c = if &tampered[i..i + 1] == "0" { "1" } else { "0" };
    tampered.replace_range(i..i + 1, c);
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);

    let short = objects.signed_url(&db.store, &scope, obj.id, Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(http.get(&short).send().await.unwrap().status(), 403, "expired");
});
