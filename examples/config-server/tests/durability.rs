//! The real binary as a child process: killed with SIGKILL in the middle of a stream of
//! writes, restarted on the same data directory, it has every write it acknowledged.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_config-server");

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free port and reads the address from its startup line.
fn start(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn config-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("startup line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in startup line {line:?}"))
        .to_owned();
    assert!(
        line.contains("curl"),
        "the startup line offers a curl command: {line:?}"
    );
    Running { child, base }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lw-durability-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stored(dir: &Path) -> Value {
    let bytes = std::fs::read(dir.join("config.json")).expect("stored document");
    serde_json::from_slice(&bytes).expect("the stored document parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_acknowledged_writes_loses_none_of_them() {
    let dir = scratch("kill");
    let data_dir = dir.to_str().unwrap().to_owned();
    let mut server = start(&["--data-dir", &data_dir]);
    let client = reqwest::Client::new();
    let sections = ["network", "wifi", "display", "time"];
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for section in sections {
        let (client, base, stop) = (client.clone(), server.base.clone(), Arc::clone(&stop));
        writers.push(tokio::spawn(async move {
            // Each acknowledged PATCH adds one key; the stored section must hold them all.
            let mut acknowledged = Vec::new();
            for i in 0..10_000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("w{i}");
                let sent = client
                    .patch(format!("{base}/config/{section}"))
                    .header("content-type", "application/merge-patch+json")
                    .body(format!("{{\"{key}\": {i}}}"))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => acknowledged.push(key),
                    Ok(r) => panic!("write refused: {}", r.status()),
                    Err(_) => break, // the server died under us
                }
            }
            (section, acknowledged)
        }));
    }
    // Let writes flow, then kill mid-stream.
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut results = Vec::new();
    for writer in writers {
        let (section, acknowledged) = writer.await.expect("writer");
        total += acknowledged.len();
        results.push((section, acknowledged));
    }
    assert!(
        total >= 8,
        "too few writes acknowledged before the kill to mean anything: {total}"
    );

    // The file on disk parses and holds every acknowledged key...
    let on_disk = stored(&dir);
    for (section, acknowledged) in &results {
        for key in acknowledged {
            assert!(
                on_disk[section].get(key).is_some(),
                "{section}.{key} was acknowledged but lost"
            );
        }
    }
    // ...and the restarted server serves it.
    let again = start(&["--data-dir", &data_dir]);
    let served: Value = client
        .get(format!("{}/config", again.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, on_disk);
    println!(
        "durability: {total} acknowledged writes in {:?} before SIGKILL, all {total} present after restart",
        started.elapsed()
    );
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_stored_document_stops_the_start_with_a_clear_error_and_is_kept() {
    let dir = scratch("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), b"{\"wifi\": [").unwrap();
    let output = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .expect("run config-server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config.json") && stderr.contains("not a valid configuration"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("config.json")).unwrap(),
        b"{\"wifi\": ["
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_shuts_the_server_down_cleanly() {
    let mut server = start(&[]);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    assert!(status.expect("kill").success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hash_password_prints_a_users_file_line() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["hash-password", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(line.starts_with("alice:$argon2id$"), "{line}");
    let users = config_server::auth::Users::parse(&line).expect("a valid users file");
    drop(users);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_do_not_survive_a_restart_and_an_old_token_gets_412() {
    let dir = scratch("restart-lock");
    let data_dir = dir.to_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let mut first = start(&["--data-dir", &data_dir]);
    let lock: Value = client
        .post(format!("{}/config/wifi/lock", first.base))
        .json(&serde_json::json!({"owner": "before restart"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = lock["token"].as_str().expect("token").to_owned();
    let written = client
        .patch(format!("{}/config/wifi", first.base))
        .header("if", format!("(<{token}>)"))
        .json(&serde_json::json!({"ssid": "kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = start(&["--data-dir", &data_dir]);
    let stale = client
        .patch(format!("{}/config/wifi", second.base))
        .header("if", format!("(<{token}>)"))
        .json(&serde_json::json!({"ssid": "stale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        412,
        "a token from before the restart names no lock"
    );
    let locks: Value = client
        .get(format!("{}/locks", second.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(locks["locks"], serde_json::json!([]));
    let section: Value = client
        .get(format!("{}/config/wifi", second.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(section["ssid"], "kept");
    drop(second);
    std::fs::remove_dir_all(&dir).unwrap();
}
