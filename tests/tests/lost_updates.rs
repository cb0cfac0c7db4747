//! The reason locks exist: 32 clients incrementing one counter, each cycle
//! lock → GET → PUT(counter + 1) → unlock, retrying while the section is locked.
//! With enforcement the counter equals the cycles completed; without it, updates are
//! lost.

mod common;

use std::time::{Duration, Instant};

use common::*;
use config_server::Settings;
use reqwest::StatusCode;
use serde_json::json;

const CLIENTS: usize = 32;
const CYCLES: usize = 50;
const SECTION: &str = "firmware-update";

struct Tally {
    completed: usize,
    refused: usize,
    counter: u64,
    elapsed: Duration,
}

/// The two runs share two cores; one at a time keeps each run's figures its own.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(settings: Settings) -> Tally {
    let _alone = ONE_RUN_AT_A_TIME.lock().await;
    let server = TestServer::with_settings(settings).await;
    let base = server.url("");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let base = base.clone();
        clients.push(tokio::spawn(async move {
            let http = client();
            let (mut completed, mut refused) = (0usize, 0usize);
            let mut backoff = 1u64;
            let mut jitter = 0x9e37_79b9_7f4a_7c15u64 ^ (c as u64 + 1);
            let mut cycle = 0;
            while cycle < CYCLES && Instant::now() < deadline {
                let lock = http
                    .post(format!("{base}/config/{SECTION}/lock"))
                    .json(&json!({"owner": format!("client {c}"), "timeoutSeconds": 30}))
                    .send()
                    .await
                    .expect("lock request");
                if lock.status() == StatusCode::LOCKED {
                    refused += 1;
                    // Exponential backoff with jitter (xorshift), then retry the same cycle.
                    jitter ^= jitter << 13;
                    jitter ^= jitter >> 7;
                    jitter ^= jitter << 17;
                    tokio::time::sleep(Duration::from_micros(1000 + jitter % (1000 * backoff)))
                        .await;
                    backoff = (backoff * 2).min(32);
                    continue;
                }
                backoff = 1;
                assert_eq!(lock.status(), StatusCode::OK);
                let token = lock.json::<serde_json::Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let current: serde_json::Value = http
                    .get(format!("{base}/config/{SECTION}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let counter = current["counter"].as_u64().unwrap_or(0);
                let put = http
                    .put(format!("{base}/config/{SECTION}"))
                    .header("if", format!("(<{token}>)"))
                    .json(&json!({"counter": counter + 1}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    put.status(),
                    StatusCode::OK,
                    "a write with the token succeeds"
                );
                let unlock = http
                    .delete(format!("{base}/config/{SECTION}/lock"))
                    .header("lock-token", format!("<{token}>"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(unlock.status(), StatusCode::NO_CONTENT);
                completed += 1;
                cycle += 1;
            }
            (completed, refused)
        }));
    }
    let (mut completed, mut refused) = (0, 0);
    for c in clients {
        let (done, r) = c.await.expect("client task");
        completed += done;
        refused += r;
    }
    let elapsed = started.elapsed();
    let doc = send(client().get(server.url(&format!("/config/{SECTION}"))))
        .await
        .json();
    Tally {
        completed,
        refused,
        counter: doc["counter"].as_u64().unwrap_or(0),
        elapsed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_lock_enforcement_no_update_is_lost() {
    let tally = run(Settings::default()).await;
    println!(
        "enforced: {} clients x {} cycles: completed {}, counter {}, 423 retries {}, {:?}",
        CLIENTS, CYCLES, tally.completed, tally.counter, tally.refused, tally.elapsed
    );
    assert_eq!(
        tally.completed,
        CLIENTS * CYCLES,
        "every cycle completes within the time bound"
    );
    assert_eq!(tally.counter, tally.completed as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_lock_enforcement_updates_are_lost() {
    let tally = run(Settings {
        enforcement_disabled: true,
        ..Settings::default()
    })
    .await;
    println!(
        "not enforced: {} clients x {} cycles: completed {}, counter {}, lost {}, {:?}",
        CLIENTS,
        CYCLES,
        tally.completed,
        tally.counter,
        tally.completed as u64 - tally.counter,
        tally.elapsed
    );
    assert_eq!(tally.completed, CLIENTS * CYCLES);
    assert_eq!(tally.refused, 0, "without enforcement no lock is refused");
    assert!(
        tally.counter < tally.completed as u64,
        "concurrent read-modify-write loses updates"
    );
}
