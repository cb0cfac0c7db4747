//! config-server's settings page in a real browser (Debian's Chromium, driven over
//! WebDriver by chromedriver): two people, A and B, edit the same device.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them); runs with
//! `cargo test -p lockwarden-tests --features browser --test settings_page`. Screenshots of
//! the page go to `target/screenshots/` (or `$LOCKWARDEN_SCREENSHOTS`).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use config_server::options::ServerOptions;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Long enough for each step below, short enough that a lapsed lock ends within the test.
const LOCK_SECONDS: u64 = 4;

/// A chromedriver on a free loopback port; stopped when dropped.
struct Driver {
    process: Child,
    url: String,
    profiles: Vec<PathBuf>,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
        )
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts (install Debian's chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver answers"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver {
            process,
            url,
            profiles: Vec::new(),
        }
    }

    /// A new browser with its own empty profile, as the machine's network allows it.
    async fn browser(&mut self, name: &str) -> Client {
        let profile =
            std::env::temp_dir().join(format!("lw-browser-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        self.profiles.push(profile.clone());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=800,1100",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        for profile in &self.profiles {
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

/// Waits until the text of `selector` satisfies `ok`, and returns it.
async fn text_until(
    browser: &Client,
    selector: &str,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> String {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(element) = browser.find(Locator::Css(selector)).await
            && let Ok(text) = element.text().await
        {
            if ok(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{selector}: waited for {what}; last text: {last:?}");
}

async fn click(browser: &Client, selector: &str) {
    browser
        .wait()
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = std::env::var_os("LOCKWARDEN_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

const NETWORK: &str = r#"li[data-name="network"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_edit_the_same_device_and_each_is_told_why_in_words() {
    let server = TestServer::with_options(ServerOptions {
        max_timeout: LOCK_SECONDS,
        ..ServerOptions::default()
    })
    .await;
    let mut driver = Driver::start().await;
    let a = driver.browser("a").await;
    let b = driver.browser("b").await;
    a.goto(&server.url("/")).await.expect("A opens the page");
    b.goto(&server.url("/")).await.expect("B opens the page");

    // A names itself once and edits network.
    let owner = a.find(Locator::Id("owner")).await.expect("owner field");
    owner.send_keys("alice's laptop").await.expect("typed");
    click(&a, &format!("{NETWORK} button.edit")).await;
    text_until(&a, "#editor-title", "the editor", |t| {
        t == "Editing network"
    })
    .await;

    // B is told who holds it and for how long, and cannot edit it.
    let locked = text_until(&b, &format!("{NETWORK} .lock"), "the lock", |t| {
        t.starts_with("Locked by alice's laptop — ") && t.ends_with(" s left")
    })
    .await;
    let edit_b = b
        .find(Locator::Css(&format!("{NETWORK} button.edit")))
        .await
        .expect("B's edit button");
    assert!(!edit_b.is_enabled().await.expect("state"), "{locked}");
    // Had B's page asked anyway, the 423 is put in words.
    b.execute("startEditing('network')", vec![])
        .await
        .expect("script");
    text_until(&b, "#status", "the refusal in words", |t| {
        t.starts_with("Cannot edit network: alice's laptop is editing it (locked — ")
    })
    .await;
    b.execute(
        "document.querySelector('li[data-name=\"network\"]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("script");
    screenshot(&b, "settings-locked.png").await;
    screenshot(&a, "settings-editing.png").await;

    // A saves; B sees the new value without reloading, and the section free again.
    let editor = a.find(Locator::Id("editor-text")).await.expect("editor");
    editor.clear().await.expect("cleared");
    editor
        .send_keys(r#"{"hostname": "bench-7", "dhcp": true}"#)
        .await
        .expect("typed");
    click(&a, "#save").await;
    text_until(&a, "#status", "the save", |t| t == "Saved network.").await;
    text_until(&b, &format!("{NETWORK} pre"), "the new value", |t| {
        t.contains("bench-7")
    })
    .await;
    text_until(&b, &format!("{NETWORK} .lock"), "the lock released", |t| {
        t == "Free to edit."
    })
    .await;
    let stored = send(client().get(server.url("/config/network")))
        .await
        .json();
    assert_eq!(stored, json!({"hostname": "bench-7", "dhcp": true}));

    // A edits again, then walks away: the lock lapses, B can edit as soon as it ends.
    click(&a, &format!("{NETWORK} button.edit")).await;
    text_until(&a, "#editor-title", "the editor", |t| {
        t == "Editing network"
    })
    .await;
    let editor = a.find(Locator::Id("editor-text")).await.expect("editor");
    editor.clear().await.expect("cleared");
    editor
        .send_keys(r#"{"hostname": "stale"}"#)
        .await
        .expect("typed");
    text_until(&b, &format!("{NETWORK} .lock"), "A's lock", |t| {
        t.starts_with("Locked by alice's laptop")
    })
    .await;
    text_until(
        &b,
        &format!("{NETWORK} button.edit"),
        "the offer to edit",
        |t| t == "Edit network",
    )
    .await;
    click(&b, &format!("{NETWORK} button.edit")).await;
    text_until(&b, "#editor-title", "B's editor", |t| {
        t == "Editing network"
    })
    .await;

    // A's stale save is refused, and A is told why.
    click(&a, "#save").await;
    let message = text_until(&a, "#editor-message", "the refusal", |t| {
        t.starts_with("Not saved: ")
    })
    .await;
    assert!(
        message.contains("your lock has expired"),
        "A is told that its lock expired: {message}"
    );
    let stored = send(client().get(server.url("/config/network")))
        .await
        .json();
    assert_eq!(
        stored["hostname"], "bench-7",
        "the stale save changed nothing"
    );

    a.close().await.expect("A closes");
    b.close().await.expect("B closes");
}
