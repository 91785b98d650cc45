//! Headless Chromium over WebDriver (chromedriver), for tests that look at pages as a person
//! would. Screenshots go to `target/screenshots/`. Console errors are read through
//! chromedriver's log endpoint so a test can assert there are none.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or("")))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (after a loud skip) if they are not
    /// installed, a failure under CI.
    pub async fn start() -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (
            find(&[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]),
            find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]),
        ) else {
            crate::missing_peer("Chromium and chromedriver");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
        };
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver: {e}"));
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps: serde_json::Map<String, Value> = match caps {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = String::new();
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver: child,
                        _profile: profile,
                    });
                }
                Err(e) => {
                    last_err = e.to_string();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("cannot start a WebDriver session: {last_err}");
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Types into the field with this id (cleared first).
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"));
        let _ = el.clear().await;
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }

    /// Clicks the first element matching the CSS selector (found again if the page replaced
    /// it between finding and clicking, as live pages do).
    pub async fn click(&self, css: &str) {
        let mut tries = 0;
        loop {
            let el = self
                .client
                .find(fantoccini::Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
            match el.click().await {
                Ok(()) => return,
                Err(e) if tries < 5 && e.to_string().contains("stale element") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Clicks a button that submits a form the ordinary way and waits until the browser shows
    /// the page that came back. Without the wait, the next step could read the old page (its
    /// alert, say) or type into a field that is about to be replaced.
    pub async fn submit(&self, css: &str) {
        self.client
            .execute("window.__cuspidPageBeforeSubmit = true;", vec![])
            .await
            .unwrap_or_else(|e| panic!("mark the page: {e}"));
        self.click(css).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // Errors while the next document loads are expected: ask again.
            let fresh = self
                .client
                .execute(
                    "return window.__cuspidPageBeforeSubmit === undefined \
                     && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(fresh, Ok(Value::Bool(true))) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "submitting with {css}: no new page within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching the CSS selector and returns its text (found again if
    /// the page replaced it between finding and reading).
    pub async fn text_of(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            let el = self
                .client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(fantoccini::Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
            match el.text().await {
                Ok(text) => return text,
                Err(e) if tries < 5 && e.to_string().contains("stale element") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("text of {css}: {e}"),
            }
        }
    }

    /// Waits up to 15 s until `script` (a JS expression) is true; otherwise saves the
    /// screenshot `shot` and fails, naming `what`.
    pub async fn wait_js(&self, script: &str, what: &str, shot: &str) {
        for _ in 0..150 {
            let v = self
                .client
                .execute(&format!("return !!({script});"), vec![])
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if v == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(shot).await;
        panic!("never: {what} ({script})");
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("current url: {e}"));
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Signs in through the `/login` form and waits for the shell to show the user.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.submit("button[type=submit]").await;
        self.text_of(".user-name").await;
    }

    /// Saves a PNG screenshot as `target/screenshots/{name}.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write screenshot: {e}"));
        path
    }

    /// Browser console entries at level SEVERE since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|e| panic!("browser log: {e}"));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}
