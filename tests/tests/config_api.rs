//! The configuration API without locks: sections, ETags, replace, merge, bad bodies.

mod common;

use common::{TestServer, client, send};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn get_config_lists_every_section_with_a_strong_etag() {
    let server = TestServer::start().await;
    let reply = send(client().get(server.url("/config"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let etag = reply.header("etag").expect("etag");
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let doc = reply.json();
    for name in ["network", "wifi", "display", "time", "firmware-update"] {
        assert!(doc[name].is_object(), "{name} missing");
    }
}

#[tokio::test]
async fn get_with_the_current_etag_in_if_none_match_answers_304() {
    let server = TestServer::start().await;
    let first = send(client().get(server.url("/config/wifi"))).await;
    let etag = first.header("etag").unwrap().to_owned();
    let again = send(
        client()
            .get(server.url("/config/wifi"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn put_replaces_a_section_and_changes_its_etag_only() {
    let server = TestServer::start().await;
    let before_wifi = send(client().get(server.url("/config/wifi"))).await;
    let before_display = send(client().get(server.url("/config/display"))).await;
    let put = send(
        client()
            .put(server.url("/config/wifi"))
            .json(&json!({"ssid": "lab", "enabled": false})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.json(), json!({"ssid": "lab", "enabled": false}));
    assert_ne!(put.header("etag"), before_wifi.header("etag"));
    let after = send(client().get(server.url("/config/wifi"))).await;
    assert_eq!(after.json(), json!({"ssid": "lab", "enabled": false}));
    assert_eq!(after.header("etag"), put.header("etag"));
    let display = send(client().get(server.url("/config/display"))).await;
    assert_eq!(display.header("etag"), before_display.header("etag"));
}

#[tokio::test]
async fn patch_merges_per_rfc_7396() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .patch(server.url("/config/network"))
            .header("content-type", "application/merge-patch+json")
            .body(r#"{"mtu": null, "ipv4": {"gateway": "10.0.0.1"}, "hostname": "bench-7"}"#),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let network = reply.json();
    assert!(network.get("mtu").is_none());
    assert_eq!(network["ipv4"]["gateway"], "10.0.0.1");
    assert_eq!(network["ipv4"]["netmask"], "255.255.255.0");
    assert_eq!(network["hostname"], "bench-7");
}

#[tokio::test]
async fn if_match_with_a_stale_etag_is_refused_with_412_and_nothing_changes() {
    let server = TestServer::start().await;
    let etag = send(client().get(server.url("/config/time")))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let ok = send(
        client()
            .patch(server.url("/config/time"))
            .header("if-match", &etag)
            .json(&json!({"format24h": false})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let stale = send(
        client()
            .patch(server.url("/config/time"))
            .header("if-match", &etag)
            .json(&json!({"format24h": true})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        stale.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(stale.json()["status"], 412);
    let now = send(client().get(server.url("/config/time"))).await;
    assert_eq!(now.json()["format24h"], false);
    let star = send(
        client()
            .put(server.url("/config/time"))
            .header("if-match", "*")
            .json(&json!({"x": 1})),
    )
    .await;
    assert_eq!(star.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .put(server.url("/config/wifi"))
            .header("content-type", "application/json")
            .body("{\"ssid\": "),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let problem = reply.json();
    assert_eq!(
        problem["type"],
        "https://lockwarden.dev/problems/malformed-json"
    );
    assert_eq!(problem["status"], 400);
}

#[tokio::test]
async fn a_section_that_is_not_an_object_is_a_422_problem() {
    let server = TestServer::start().await;
    for body in ["[1, 2]", "\"text\"", "42", "null"] {
        let put = send(
            client()
                .put(server.url("/config/wifi"))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY, "PUT {body}");
        assert_eq!(put.json()["status"], 422);
    }
    let patch = send(
        client()
            .patch(server.url("/config/wifi"))
            .header("content-type", "application/merge-patch+json")
            .body("[1]"),
    )
    .await;
    assert_eq!(patch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        send(client().get(server.url("/config/wifi")))
            .await
            .json()
            .is_object()
    );
}

#[tokio::test]
async fn unknown_sections_and_paths_are_404_problems() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("GET", "/config/nope"),
        ("PUT", "/config/nope"),
        ("PATCH", "/config/nope"),
        ("GET", "/elsewhere"),
    ] {
        let reply = send(
            client()
                .request(method.parse().unwrap(), server.url(path))
                .json(&json!({})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }
}

#[tokio::test]
async fn unsupported_methods_and_patch_formats_are_refused_with_what_is_allowed() {
    let server = TestServer::start().await;
    let delete = send(client().delete(server.url("/config/wifi"))).await;
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(delete.header("allow").unwrap().contains("PATCH"));
    let xml = send(
        client()
            .patch(server.url("/config/wifi"))
            .header("content-type", "application/xml")
            .body("<a/>"),
    )
    .await;
    assert_eq!(xml.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        xml.header("accept-patch"),
        Some("application/merge-patch+json")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(200_000));
    let reply = send(
        client()
            .put(server.url("/config/wifi"))
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        send(client().get(server.url("/config/wifi"))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn options_announce_webdav_locking() {
    let server = TestServer::start().await;
    let reply = send(client().request(reqwest::Method::OPTIONS, server.url("/config/wifi"))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header("dav"), Some("1, 2"));
    assert!(reply.header("allow").unwrap().contains("LOCK"));
}

#[tokio::test]
async fn an_unsupported_method_on_a_locked_section_is_405_not_423() {
    let server = TestServer::start().await;
    let lock = send(
        client()
            .post(server.url("/config/wifi/lock"))
            .json(&json!({"owner": "a"})),
    )
    .await;
    assert_eq!(lock.status, StatusCode::OK);
    let delete = send(client().delete(server.url("/config/wifi"))).await;
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    let mkcol = send(client().request(
        reqwest::Method::from_bytes(b"MKCOL").unwrap(),
        server.url("/config/wifi"),
    ))
    .await;
    assert_eq!(mkcol.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_page_is_served_with_a_policy_that_forbids_inline_code() {
    let server = TestServer::start().await;
    let page = send(client().get(server.url("/"))).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
    assert!(!page.body.contains("<script>"), "no inline script");
    for asset in ["/ui/app.js", "/ui/app.css"] {
        assert_eq!(
            send(client().get(server.url(asset))).await.status,
            200,
            "{asset}"
        );
    }
    let session = send(client().get(server.url("/session"))).await.json();
    assert_eq!(session, serde_json::json!({"user": null}));
}
