//! A slow or hostile client costs only its own connection: bodies are read whole, within
//! limits of size and time, before anything that serialises requests; headers have a
//! time limit too. Everything here goes over real sockets.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use config_server::options::ServerOptions;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TRICKLED_LENGTH: usize = 1000;

/// A `PUT` whose headers promise [`TRICKLED_LENGTH`] bytes, whose body then arrives one
/// byte per second. Counts the bytes sent.
async fn trickling_put(
    server: &TestServer,
    path: &str,
) -> (tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\nContent-Length: {TRICKLED_LENGTH}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let task = tokio::spawn(async move {
        for _ in 0..TRICKLED_LENGTH {
            if stream.write_all(b" ").await.is_err() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    (task, sent)
}

fn options() -> ServerOptions {
    ServerOptions {
        // Far longer than the other requests of the test need.
        body_timeout: 120,
        ..ServerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_a_body_delays_no_other_request() {
    let server = TestServer::with_options(options()).await;
    let (trickle, sent) = trickling_put(&server, "/config/network").await;
    // Let the server take the trickling request in.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Bounded, so that a server that makes them wait fails the test instead of hanging
    // it; the proof of not waiting is the trickled body's state below, not this bound.
    tokio::time::timeout(Duration::from_secs(60), others_while_trickling(&server))
        .await
        .expect("the other requests were answered");
    let sent_meanwhile = sent.load(Ordering::SeqCst);
    assert!(
        sent_meanwhile < TRICKLED_LENGTH && !trickle.is_finished(),
        "every answer came while the trickled body was incomplete ({sent_meanwhile} bytes sent)"
    );
    trickle.abort();
}

async fn others_while_trickling(server: &TestServer) {
    // Other sections: LOCK, a write with the token, UNLOCK, a plain write, a read.
    let token = dav_lock(server, "/config/wifi", "bob", &[]).await;
    let put = send(
        client()
            .put(server.url("/config/wifi"))
            .header("If", format!("(<{token}>)"))
            .json(&json!({"ssid": "lab"})),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let unlock = send(
        client()
            .request(method("UNLOCK"), server.url("/config/wifi"))
            .header("Lock-Token", format!("<{token}>")),
    )
    .await;
    assert_eq!(unlock.status, 204, "{unlock:?}");
    let put = send(
        client()
            .put(server.url("/config/display"))
            .json(&json!({"brightness": 40})),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let json = json_lock(server, "time", json!({"owner": "carol"})).await;
    assert_eq!(json.status, 200, "{json:?}");

    // The trickled section itself: a read, and a LOCK, which is granted because the slow
    // write has not been admitted yet (its body is incomplete).
    let get = send(client().get(server.url("/config/network"))).await;
    assert_eq!(get.status, 200, "{get:?}");
    let network_token = dav_lock(server, "/config/network", "dave", &[]).await;
    assert!(
        server
            .app
            .locks()
            .locks()
            .iter()
            .any(|l| l.root.as_str() == "/config/network"),
        "the LOCK on the trickled section was granted: {network_token}"
    );
}

#[tokio::test]
async fn a_body_not_received_in_time_is_a_408_and_the_connection_is_closed() {
    let server = TestServer::with_options(ServerOptions {
        body_timeout: 1,
        ..ServerOptions::default()
    })
    .await;
    let before = send(client().get(server.url("/config/network"))).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(
            b"PUT /config/network HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mtu\":",
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    // The server answers and closes: reading to the end terminates.
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    let after = send(client().get(server.url("/config/network"))).await;
    assert_eq!(before.body, after.body, "nothing was changed");
}

#[tokio::test]
async fn headers_not_received_in_time_close_the_connection_and_the_server_keeps_serving() {
    let server = TestServer::with_options(ServerOptions {
        header_timeout: 1,
        ..ServerOptions::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /config/network HTTP/1.1\r\nHost: dev")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    // Closed without an answer (no request was parsed), or reset.
    assert!(read.is_err() || answer.is_empty(), "{answer:?}");
    let get = send(client().get(server.url("/config/network"))).await;
    assert_eq!(get.status, 200);
}

#[tokio::test]
async fn a_body_declared_larger_than_the_limit_is_a_413_before_it_is_sent() {
    let server = TestServer::start().await;
    // Only the head: the server answers without waiting for the body.
    let reply = raw(
        server.addr,
        b"PUT /config/network HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("body-too-large"), "{}", reply.body);
    assert!(reply.body.contains("65536 bytes"), "{}", reply.body);
}

#[tokio::test]
async fn unlock_with_a_body_is_a_415_and_the_lock_stays() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/network", "alice", &[]).await;
    let reply = send(
        client()
            .request(method("UNLOCK"), server.url("/config/network"))
            .header("Lock-Token", format!("<{token}>"))
            .body("<D:unlock xmlns:D=\"DAV:\"/>"),
    )
    .await;
    assert_eq!(reply.status, 415, "{reply:?}");
    assert_eq!(server.app.locks().locks().len(), 1);
}

#[tokio::test]
async fn lock_below_a_section_is_a_409_and_creates_nothing() {
    let server = TestServer::start().await;
    let before = send(client().get(server.url("/config"))).await;
    for path in [
        "/config/nosuch/child",
        "/config/network/child",
        "/config/a/b/c",
    ] {
        let reply = send(
            client()
                .request(method("LOCK"), server.url(path))
                .body(lockinfo("exclusive", "alice")),
        )
        .await;
        assert_eq!(reply.status, 409, "LOCK {path}: {reply:?}");
        let reply = send(client().put(server.url(path)).json(&json!({}))).await;
        assert_eq!(reply.status, 409, "PUT {path}: {reply:?}");
    }
    assert!(server.app.locks().is_empty(), "no lock slot was used");
    let after = send(client().get(server.url("/config"))).await;
    assert_eq!(before.body, after.body, "no section was created");
}

#[tokio::test]
async fn answers_that_carry_a_lock_token_are_not_stored_by_caches() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/network"))
            .body(lockinfo("exclusive", "alice")),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = lock_token(&reply);
    let refresh = send(
        client()
            .request(method("LOCK"), server.url("/config/network"))
            .header("If", format!("(<{token}>)")),
    )
    .await;
    assert_eq!(refresh.status, 200);
    assert_eq!(refresh.header("cache-control"), Some("no-store"));
    let json = json_lock(&server, "wifi", json!({"owner": "bob"})).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.header("cache-control"), Some("no-store"));
}
