//! Replicas of config-server sharing one etcd cluster, all real processes on loopback:
//! clients spread over the replicas increment a counter under a lock, while an etcd
//! member and then a replica are killed; no acknowledged update is lost. And with etcd
//! stopped entirely every replica answers 503, and keeps every lock and write once etcd
//! is back.
#![cfg(feature = "etcd")]

#[path = "../../../std-adapter/tests/etcd/mod.rs"]
mod etcd;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd::EtcdCluster;
use serde_json::{Value, json};

/// The section the clients increment.
const SECTION: &str = "display";
/// The lock timeout the clients ask for: how long a lock outlives a dead client.
const LOCK_SECS: u64 = 3;

struct Replica {
    url: String,
    process: Option<Child>,
}

impl Replica {
    fn start(endpoints: &[String], prefix: &str) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let process = Command::new(env!("CARGO_BIN_EXE_config-server"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--etcd", &endpoints.join(",")])
            .args(["--etcd-prefix", prefix])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("config-server starts");
        let url = format!("http://127.0.0.1:{port}");
        let replica = Replica {
            url,
            process: Some(process),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "replica on {port} never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        replica
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// What the clients achieved, for the checks at the end.
#[derive(Default)]
struct Tally {
    /// Values acknowledged by a 200 to a PUT: each one exactly once if no update is lost.
    acknowledged: Vec<u64>,
    /// When each acknowledgement arrived.
    acknowledged_at: Vec<Instant>,
    /// PUTs whose fate is unknown (the connection broke, or 503): stored or not.
    ambiguous: usize,
    /// Answers other than those the protocol gives this workload.
    unexpected: Vec<String>,
}

async fn counter(client: &reqwest::Client, url: &str) -> Result<u64, String> {
    let response = client
        .get(format!("{url}/config/{SECTION}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("GET {}", response.status()));
    }
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    Ok(body.get("counter").and_then(Value::as_u64).unwrap_or(0))
}

/// One client: `updates` times lock → GET → PUT(counter + 1) → unlock, retrying on 423
/// and 503. A client whose replica dies stops there, its lock left to expire.
async fn run_client(
    id: usize,
    url: String,
    updates: usize,
    replica_alive: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    tally: Arc<Mutex<Tally>>,
) {
    let client = http();
    let mut done = 0;
    let mut seed = 0x9e37_79b9_u64 ^ ((id as u64 + 1) * 0x1000_0001);
    while done < updates {
        if !replica_alive.load(Ordering::Relaxed) {
            return;
        }
        // A waiting client comes back after 20 to 200 ms, at random.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pause = Duration::from_millis(20 + seed % 180);
        let lock = client
            .post(format!("{url}/config/{SECTION}/lock"))
            .json(&json!({ "owner": format!("client {id}"), "timeoutSeconds": LOCK_SECS }))
            .send()
            .await;
        let token = match lock {
            Ok(r) if r.status() == 200 => r
                .headers()
                .get("lock-token")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim_matches(['<', '>']).to_owned())
                .unwrap(),
            Ok(r) if r.status() == 423 || r.status() == 503 => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Ok(r) => {
                tally
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("LOCK {}", r.status()));
                return;
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let value = match counter(&client, &url).await {
            Ok(value) => value,
            Err(_) => {
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let put = client
            .put(format!("{url}/config/{SECTION}"))
            .header("If", format!("(<{token}>)"))
            .json(&json!({ "counter": value + 1, "by": id }))
            .send()
            .await;
        match put {
            Ok(r) if r.status() == 200 => {
                let mut tally = tally.lock().unwrap();
                tally.acknowledged.push(value + 1);
                tally.acknowledged_at.push(Instant::now());
                drop(tally);
                acked.fetch_add(1, Ordering::Relaxed);
                done += 1;
            }
            // The lock expired or the store was unreachable: the update may have been
            // stored (503 after etcd applied it) or not.
            Ok(r) if r.status() == 503 => tally.lock().unwrap().ambiguous += 1,
            Ok(r) if r.status() == 412 || r.status() == 423 => {}
            Ok(r) => {
                tally
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("PUT {}", r.status()));
                return;
            }
            Err(_) => tally.lock().unwrap().ambiguous += 1,
        }
        let _ = client
            .delete(format!("{url}/config/{SECTION}/lock"))
            .header("Lock-Token", format!("<{token}>"))
            .send()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_on_three_replicas_lose_no_update_while_an_etcd_member_and_a_replica_die()
 {
    let mut cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints();
    let mut replicas: Vec<Replica> = (0..3)
        .map(|_| Replica::start(&endpoints, "/fleet/"))
        .collect();
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let alive: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(true))).collect();
    let acked = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let updates = 1;
    let started = Instant::now();
    let clients: Vec<_> = (0..32)
        .map(|id| {
            tokio::spawn(run_client(
                id,
                urls[id % 3].clone(),
                updates,
                Arc::clone(&alive[id % 3]),
                Arc::clone(&acked),
                Arc::clone(&tally),
            ))
        })
        .collect();
    // A third of the way: SIGKILL an etcd member. Two thirds: SIGKILL replica 2.
    let total = 32 * updates;
    while acked.load(Ordering::Relaxed) < total / 3 {
        assert!(started.elapsed() < Duration::from_secs(90), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill(0);
    let member_killed_at = acked.load(Ordering::Relaxed);
    let member_killed_after = started.elapsed();
    while acked.load(Ordering::Relaxed) < 2 * total / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress after an etcd member died ({} updates)",
            acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A client of replica 2 takes the lock, and the replica dies under it: the lock
    // stays until its lease ends, then the others go on.
    let holder = http();
    let held_at = loop {
        let lock = holder
            .post(format!("{}/config/{SECTION}/lock", urls[2]))
            .json(&json!({ "owner": "doomed", "timeoutSeconds": LOCK_SECS }))
            .send()
            .await
            .unwrap();
        if lock.status() == 200 {
            break Instant::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{}",
            lock.status()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    alive[2].store(false, Ordering::Relaxed);
    replicas[2].kill();
    let replica_killed_at = acked.load(Ordering::Relaxed);
    let replica_killed_after = started.elapsed();
    for client in clients {
        tokio::time::timeout(Duration::from_secs(120), client)
            .await
            .expect("every client finishes")
            .unwrap();
    }
    let elapsed = started.elapsed();

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    assert!(tally.unexpected.is_empty(), "{:?}", tally.unexpected);
    let client = http();
    let final_value = counter(&client, &urls[0]).await.unwrap();
    let acknowledged: BTreeSet<u64> = tally.acknowledged.iter().copied().collect();
    // Two clients holding the lock at once would both write the same value.
    assert_eq!(
        acknowledged.len(),
        tally.acknowledged.len(),
        "a value was written twice"
    );
    // Every acknowledged update is in the counter, and nothing else but the ambiguous.
    let acked_count = tally.acknowledged.len() as u64;
    assert!(
        final_value >= acked_count && final_value <= acked_count + tally.ambiguous as u64,
        "counter {final_value}, {acked_count} acknowledged, {} ambiguous",
        tally.ambiguous
    );
    assert!(acknowledged.iter().all(|&v| v <= final_value));
    // The clients of the surviving replicas all finished.
    let survivors = (0..32).filter(|id| id % 3 != 2).count() as u64;
    assert!(acked_count >= survivors * updates as u64);
    // Nobody wrote while the dead replica's lock lasted (a write acknowledged just after
    // the grant was made before it), and the others wrote once it expired.
    let during_lock = tally
        .acknowledged_at
        .iter()
        .filter(|&&at| {
            at > held_at + Duration::from_millis(500)
                && at < held_at + Duration::from_secs(LOCK_SECS)
        })
        .count();
    assert_eq!(
        during_lock, 0,
        "writes while the dead replica's lock lasted"
    );
    let after_lock = tally
        .acknowledged_at
        .iter()
        .filter(|&&at| at > held_at)
        .count();
    assert!(
        after_lock > 0,
        "no write after the dead replica's lock expired"
    );
    // The locks the dead replica's clients held expired.
    let locks: Value = client
        .get(format!("{}/locks", urls[1]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(LOCK_SECS + 3);
    let mut left = locks["locks"].as_array().map_or(0, Vec::len);
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let locks: Value = client
            .get(format!("{}/locks", urls[1]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        left = locks["locks"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(left, 0, "locks left behind");
    eprintln!(
        "fleet: {acked_count} updates acknowledged, 0 lost, {} ambiguous, counter {final_value}, \
         etcd member killed after {member_killed_at} ({:.1} s), replica killed after \
         {replica_killed_at} ({:.1} s), {:.1} s",
        tally.ambiguous,
        member_killed_after.as_secs_f64(),
        replica_killed_after.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_etcd_down_every_replica_answers_503_and_after_a_restart_locks_and_writes_are_there() {
    let mut cluster = EtcdCluster::start(1);
    let endpoints = cluster.endpoints();
    let a = Replica::start(&endpoints, "/down/");
    let b = Replica::start(&endpoints, "/down/");
    let client = http();
    let lock = client
        .post(format!("{}/config/wifi/lock", a.url))
        .json(&json!({ "owner": "alice", "timeoutSeconds": 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), 200);
    let token = lock.headers()["lock-token"].to_str().unwrap().to_owned();
    let put = client
        .put(format!("{}/config/wifi", b.url))
        .header("If", format!("({token})"))
        .json(&json!({ "ssid": "fleet" }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    // Without the token, another replica refuses.
    let refused = client
        .put(format!("{}/config/wifi", a.url))
        .json(&json!({ "ssid": "intruder" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 423);

    cluster.kill(0);
    for url in [&a.url, &b.url] {
        let answers = [
            client.get(format!("{url}/config/wifi")).send().await,
            client
                .put(format!("{url}/config/wifi"))
                .header("If", format!("({token})"))
                .json(&json!({ "ssid": "while down" }))
                .send()
                .await,
            client
                .post(format!("{url}/config/network/lock"))
                .json(&json!({}))
                .send()
                .await,
            client
                .delete(format!("{url}/config/wifi/lock"))
                .header("Lock-Token", &token)
                .send()
                .await,
            client.get(format!("{url}/locks")).send().await,
        ];
        for answer in answers {
            let answer = answer.unwrap();
            assert_eq!(answer.status(), 503, "{url}");
            assert!(answer.headers().contains_key("retry-after"));
            let body: Value = answer.json().await.unwrap();
            assert_eq!(
                body["type"],
                "https://lockwarden.dev/problems/lock-store-unavailable"
            );
        }
    }

    cluster.restart(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let section = loop {
        let answer = client.get(format!("{}/config/wifi", b.url)).send().await;
        match answer {
            Ok(r) if r.status() == 200 => break r.json::<Value>().await.unwrap(),
            _ => {
                assert!(Instant::now() < deadline, "etcd never came back");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(section, json!({ "ssid": "fleet" }));
    let still_locked = client
        .put(format!("{}/config/wifi", a.url))
        .json(&json!({ "ssid": "intruder" }))
        .send()
        .await
        .unwrap();
    assert_eq!(still_locked.status(), 423);
}
