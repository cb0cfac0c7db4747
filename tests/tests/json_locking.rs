//! Locking for clients that do not speak WebDAV: `POST`/`DELETE` on a section's `lock`
//! resource, with the same semantics as `LOCK`/`UNLOCK`.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn post_lock_returns_token_and_expiry_and_blocks_other_writers() {
    let server = TestServer::start().await;
    let reply = json_lock(
        &server,
        "wifi",
        json!({"owner": "mobile app", "timeoutSeconds": 60}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let lock = reply.json();
    let token = lock["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("urn:uuid:"));
    assert_eq!(
        reply.header("lock-token"),
        Some(format!("<{token}>").as_str())
    );
    assert_eq!(lock["path"], "/config/wifi");
    assert_eq!(lock["owner"], "mobile app");
    assert_eq!(lock["timeoutSeconds"], 60);
    assert!(lock["expiresInSeconds"].as_u64().unwrap() <= 60);
    let blocked = send(
        client()
            .put(server.url("/config/wifi"))
            .json(&json!({"ssid": "x"})),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::LOCKED);
    assert_eq!(blocked.json()["owner"], "mobile app");
    let ok = send(
        client()
            .put(server.url("/config/wifi"))
            .header("if", format!("(<{token}>)"))
            .json(&json!({"ssid": "x"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn json_and_webdav_locks_are_one_table() {
    let server = TestServer::start().await;
    let token = json_lock(&server, "display", json!({"owner": "app"}))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let dav = send(
        client()
            .request(method("LOCK"), server.url("/config/display"))
            .body(lockinfo("exclusive", "dav")),
    )
    .await;
    assert_eq!(dav.status, StatusCode::LOCKED);
    let conflict = json_lock(&server, "display", json!({"owner": "other app"})).await;
    assert_eq!(conflict.status, StatusCode::LOCKED);
    assert_eq!(
        conflict.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(conflict.json()["lockRoot"], "/config/display");
    // A JSON lock can be released with UNLOCK, and the other way round.
    let unlock = send(
        client()
            .request(method("UNLOCK"), server.url("/config/display"))
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(unlock.status, StatusCode::NO_CONTENT);
    let dav_token = dav_lock(&server, "/config/display", "dav", &[]).await;
    let delete = send(
        client()
            .delete(server.url("/config/display/lock"))
            .header("if", format!("(<{dav_token}>)")),
    )
    .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([])
    );
}

#[tokio::test]
async fn delete_lock_needs_a_token_that_locks_the_section() {
    let server = TestServer::start().await;
    let token = json_lock(&server, "time", json!({"owner": "a"}))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let none = send(client().delete(server.url("/config/time/lock"))).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    let other = send(
        client()
            .delete(server.url("/config/wifi/lock"))
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.json()["status"], 409);
    let ok = send(
        client()
            .delete(server.url("/config/time/lock"))
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn post_lock_with_the_token_in_if_refreshes_it() {
    let server = TestServer::start().await;
    let token = json_lock(&server, "time", json!({"owner": "a", "timeoutSeconds": 1}))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = send(
        client()
            .post(server.url("/config/time/lock"))
            .header("if", format!("(<{token}>)"))
            .json(&json!({"timeoutSeconds": 30})),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    assert_eq!(refreshed.json()["token"], token.as_str());
    assert_eq!(refreshed.json()["timeoutSeconds"], 30);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        send(client().put(server.url("/config/time")).json(&json!({})))
            .await
            .status,
        StatusCode::LOCKED
    );
    let stale = send(
        client()
            .post(server.url("/config/time/lock"))
            .header("if", format!("(<{}>)", unknown_token())),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        stale.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn a_json_lock_on_config_covers_every_section() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .post(server.url("/config/lock"))
            .json(&json!({"owner": "bulk edit", "depth": "infinity"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    for section in ["network", "wifi"] {
        let blocked = send(
            client()
                .patch(server.url(&format!("/config/{section}")))
                .json(&json!({"x": 1})),
        )
        .await;
        assert_eq!(blocked.status, StatusCode::LOCKED);
        assert_eq!(blocked.json()["lockRoot"], "/config");
        let ok = send(
            client()
                .patch(server.url(&format!("/config/{section}")))
                .header("if", format!("(<{token}>)"))
                .json(&json!({"x": 1})),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn bad_json_lock_requests_are_400_and_unknown_sections_404() {
    let server = TestServer::start().await;
    let malformed = send(
        client()
            .post(server.url("/config/wifi/lock"))
            .header("content-type", "application/json")
            .body("{owner"),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let wrong_scope = json_lock(&server, "wifi", json!({"owner": "a", "scope": "sideways"})).await;
    assert_eq!(wrong_scope.status, StatusCode::BAD_REQUEST);
    let unknown = json_lock(&server, "nope", json!({"owner": "a"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let huge = json_lock(&server, "wifi", json!({"owner": "o".repeat(10_000)})).await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST, "{huge:?}");
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([])
    );
}
