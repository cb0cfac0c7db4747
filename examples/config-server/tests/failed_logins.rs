//! Failed logins over a real socket: a client address that keeps guessing gets 429 with
//! `Retry-After` before its guesses are hashed, while other addresses log in as usual.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use config_server::auth::{FAILED_LOGIN_WINDOW, MAX_FAILED_LOGINS};
use config_server::options::ServerOptions;
use config_server::{App, Settings};
use reqwest::StatusCode;
use serde_json::Value;

fn users_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("lw-login-users-{}.txt", std::process::id()));
    let hash = config_server::auth::hash_password("alice-pw").unwrap();
    std::fs::write(&path, format!("alice:{hash}\n")).unwrap();
    path
}

/// The server with the peer address of each connection in its requests' extensions.
async fn start() -> SocketAddr {
    let app = App::open(Settings {
        options: ServerOptions {
            users: Some(users_file()),
            ..ServerOptions::default()
        },
        enforcement_disabled: false,
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server's own accept loop, which tells handlers the client's address.
    tokio::spawn(config_server::serve(listener, app, std::future::pending()));
    addr
}

/// A client whose connections come from `local` (any address of 127.0.0.0/8 is loopback).
fn client_from(local: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(local))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_guessing_address_gets_429_with_retry_after_and_other_addresses_still_log_in() {
    let addr = start().await;
    let url = format!("http://{addr}/config");
    let guesser = client_from([127, 0, 0, 1]);
    for _ in 0..MAX_FAILED_LOGINS {
        let reply = guesser
            .get(&url)
            .basic_auth("alice", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    // From now on even the right password is not checked from this address.
    let refused = guesser
        .get(&url)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=FAILED_LOGIN_WINDOW.as_secs()).contains(&retry_after));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(
        body["type"],
        "https://lockwarden.dev/problems/too-many-failed-logins"
    );
    // An unknown user from the same address is refused the same way.
    let unknown = guesser
        .get(&url)
        .basic_auth("mallory", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::TOO_MANY_REQUESTS);

    let other = client_from([127, 0, 0, 2]);
    let reply = other
        .get(&url)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}
