//! With a users file: HTTP Basic authentication, and the user is the lock's principal.

mod common;

use std::sync::OnceLock;

use common::*;
use config_server::options::ServerOptions;
use reqwest::StatusCode;
use serde_json::json;

/// One users file for the whole test binary (hashing is slow on purpose).
fn users_file() -> &'static std::path::Path {
    static FILE: OnceLock<std::path::PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("lw-users-{}.txt", std::process::id()));
        let mut text = String::from("# config-server users\n");
        for (user, password) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
            text.push_str(&format!(
                "{user}:{}\n",
                config_server::auth::hash_password(password).unwrap()
            ));
        }
        std::fs::write(&path, text).unwrap();
        path
    })
}

async fn server(max_locks: u16) -> TestServer {
    TestServer::with_options(ServerOptions {
        users: Some(users_file().to_path_buf()),
        max_locks_per_user: max_locks,
        ..ServerOptions::default()
    })
    .await
}

fn as_user(request: reqwest::RequestBuilder, user: &str) -> reqwest::RequestBuilder {
    request.basic_auth(user, Some(format!("{user}-pw")))
}

async fn lock_as(server: &TestServer, user: &str, section: &str) -> Reply {
    send(
        as_user(
            client().post(server.url(&format!("/config/{section}/lock"))),
            user,
        )
        .json(&json!({"owner": user})),
    )
    .await
}

#[tokio::test]
async fn without_credentials_or_with_wrong_ones_the_answer_is_401_with_a_challenge() {
    let server = server(4).await;
    let none = send(client().get(server.url("/config"))).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Basic realm=")
    );
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    let wrong = send(
        client()
            .get(server.url("/config"))
            .basic_auth("alice", Some("guess")),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let nobody = send(
        client()
            .get(server.url("/config"))
            .basic_auth("mallory", Some("x")),
    )
    .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let garbage = raw(server.addr, b"GET /config HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff!!\r\nConnection: close\r\n\r\n").await;
    assert_eq!(garbage.status, 401);
    let ok = send(as_user(client().get(server.url("/config")), "alice")).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn another_users_token_is_403_for_writes_refresh_and_unlock() {
    let server = server(4).await;
    let token = lock_as(&server, "alice", "wifi").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let if_token = format!("(<{token}>)");
    let write = send(
        as_user(client().put(server.url("/config/wifi")), "bob")
            .header("if", &if_token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "{write:?}");
    let refresh = send(
        as_user(client().post(server.url("/config/wifi/lock")), "bob").header("if", &if_token),
    )
    .await;
    assert_eq!(refresh.status, StatusCode::FORBIDDEN);
    let unlock = send(
        as_user(
            client().request(method("UNLOCK"), server.url("/config/wifi")),
            "bob",
        )
        .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(unlock.status, StatusCode::FORBIDDEN);
    let write = send(
        as_user(client().put(server.url("/config/wifi")), "alice")
            .header("if", &if_token)
            .json(&json!({"ssid": "a"})),
    )
    .await;
    assert_eq!(write.status, StatusCode::OK);
    let unlock = send(
        as_user(client().delete(server.url("/config/wifi/lock")), "alice")
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(unlock.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_user_over_its_quota_gets_403_lock_quota_exceeded_and_others_still_lock() {
    let server = server(2).await;
    for section in ["wifi", "time"] {
        assert_eq!(
            lock_as(&server, "alice", section).await.status,
            StatusCode::OK
        );
    }
    let over = lock_as(&server, "alice", "display").await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert_eq!(
        over.json()["type"],
        "https://lockwarden.dev/problems/lock-quota-exceeded"
    );
    assert_eq!(
        lock_as(&server, "bob", "display").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn get_locks_shows_owner_but_never_the_token_even_to_its_holder() {
    let server = server(4).await;
    let token = lock_as(&server, "alice", "network").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = send(as_user(client().get(server.url("/locks")), "alice")).await;
    assert!(!listing.body.contains(&token));
    assert_eq!(listing.json()["locks"][0]["owner"], "alice");
}

#[tokio::test]
async fn propfind_shows_a_token_to_its_holder_only() {
    let server = server(4).await;
    let token = lock_as(&server, "alice", "display").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_alice = send(
        as_user(
            client().request(method("PROPFIND"), server.url("/config/display")),
            "alice",
        )
        .header("depth", "0"),
    )
    .await;
    assert_eq!(as_alice.status, StatusCode::MULTI_STATUS);
    assert!(as_alice.body.contains(&token), "{}", as_alice.body);
    let as_bob = send(
        as_user(
            client().request(method("PROPFIND"), server.url("/config/display")),
            "bob",
        )
        .header("depth", "0"),
    )
    .await;
    assert_eq!(as_bob.status, StatusCode::MULTI_STATUS);
    assert!(
        as_bob.body.contains("activelock") && !as_bob.body.contains(&token),
        "{}",
        as_bob.body
    );
}

#[tokio::test]
async fn the_settings_page_asks_for_a_password_and_names_the_signed_in_user() {
    let server = server(4).await;
    let page = send(client().get(server.url("/"))).await;
    assert_eq!(
        page.status,
        StatusCode::UNAUTHORIZED,
        "the browser's prompt"
    );
    assert!(
        page.header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let session = send(as_user(client().get(server.url("/session")), "alice")).await;
    assert_eq!(session.json(), json!({"user": "alice"}));
}
