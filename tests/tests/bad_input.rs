//! Hostile and broken requests: each gets a clear 4xx (or 503 for a full table), the
//! server keeps serving, and no configuration is lost.

mod common;

use common::*;
use config_server::options::ServerOptions;
use reqwest::StatusCode;
use serde_json::json;

fn put_raw(path: &str, extra: impl AsRef<[u8]>) -> Vec<u8> {
    let body = r#"{"ssid": "alias"}"#;
    let mut request = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(extra.as_ref());
    request.extend_from_slice(format!("Connection: close\r\n\r\n{body}").as_bytes());
    request
}

#[tokio::test]
async fn every_alias_of_a_locked_section_is_locked_too() {
    let server = TestServer::start().await;
    let before = send(client().get(server.url("/config/wifi"))).await.body;
    let token = dav_lock(&server, "/config/wifi", "holder", &[]).await;
    for alias in [
        "/config/wifi",
        "//config/wifi",
        "/config//wifi",
        "/config/./wifi",
        "/config/wifi/",
        "/config/x/../wifi",
        "/config/%77ifi",
        "/config%2Fwifi",
        "/%63onfig/wifi",
    ] {
        let reply = raw(server.addr, &put_raw(alias, "")).await;
        assert_eq!(reply.status, 423, "PUT {alias}: {reply:?}");
        assert!(
            reply.body.contains("\"lockRoot\":\"/config/wifi\""),
            "{alias}: {}",
            reply.body
        );
    }
    assert_eq!(
        send(client().get(server.url("/config/wifi"))).await.body,
        before
    );
    // The token works through an alias too: it is the same resource.
    let ok = raw(
        server.addr,
        &put_raw("/config//wifi/", format!("If: (<{token}>)\r\n")),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}

#[tokio::test]
async fn paths_without_a_canonical_form_are_400_and_overlong_ones_414() {
    let server = TestServer::start().await;
    for bad in ["/config/%zz", "/config/%00", "/../config", "/config/%FF%FE"] {
        let reply = raw(
            server.addr,
            format!("GET {bad} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
    }
    let long = format!("/config/{}", "a".repeat(400));
    let reply = raw(
        server.addr,
        format!("PUT {long} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 414, "{reply:?}");
    assert_eq!(
        send(client().get(server.url("/config"))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn xml_with_entities_or_a_dtd_is_refused_and_takes_no_lock() {
    let server = TestServer::start().await;
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&lol3;</D:owner></D:lockinfo>"#;
    let external = r#"<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&xxe;</D:owner></D:lockinfo>"#;
    let undeclared = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&foo;</D:owner></D:lockinfo>"#;
    for body in [laughs, external, undeclared] {
        let reply = send(
            client()
                .request(method("LOCK"), server.url("/config/wifi"))
                .body(body),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
        assert!(!reply.body.contains("root:"), "no file was read");
    }
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([])
    );
}

#[tokio::test]
async fn huge_owner_text_is_refused_without_a_lock() {
    let server = TestServer::start().await;
    for size in [1_000, 20_000, 100_000] {
        let reply = send(
            client()
                .request(method("LOCK"), server.url("/config/wifi"))
                .body(lockinfo("exclusive", &"o".repeat(size))),
        )
        .await;
        assert!(
            reply.status == 400 || reply.status == 413,
            "{size}: {}",
            reply.status
        );
    }
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([])
    );
    dav_lock(&server, "/config/wifi", "a normal owner", &[]).await;
}

#[tokio::test]
async fn malformed_headers_never_break_the_server() {
    let server = TestServer::start().await;
    let requests: Vec<Vec<u8>> = vec![
        put_raw("/config/wifi", b"If: \xff\xfe(<\r\n"),
        put_raw("/config/wifi", format!("If: {}\r\n", "(<urn:uuid:0>)".repeat(200))),
        put_raw("/config/wifi", "If-Match: \x01\r\n"),
        b"LOCK /config/wifi HTTP/1.1\r\nHost: x\r\nTimeout: Second-18446744073709551616000\r\nDepth: \xff\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        b"UNLOCK /config/wifi HTTP/1.1\r\nHost: x\r\nLock-Token: <\r\nConnection: close\r\n\r\n".to_vec(),
    ];
    for request in requests {
        let reply = raw(server.addr, &request).await;
        assert!(
            (400..500).contains(&reply.status),
            "{:?}: {reply:?}",
            String::from_utf8_lossy(&request)
        );
    }
    let doc = send(client().get(server.url("/config/wifi"))).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["ssid"], "workshop", "nothing was written");
}

#[tokio::test]
async fn a_lock_flood_fills_the_table_then_503_with_retry_after_and_the_server_serves_on() {
    let server = TestServer::start().await;
    let body = lockinfo("shared", "flood");
    let mut granted = 0;
    let full = loop {
        let reply = send(
            client()
                .request(method("LOCK"), server.url("/config/time"))
                .header("timeout", "Second-40")
                .body(body.clone()),
        )
        .await;
        if reply.status != StatusCode::OK {
            break reply;
        }
        granted += 1;
        assert!(granted <= 10_000, "the table never filled");
    };
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE, "{full:?}");
    let retry: u32 = full
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=40).contains(&retry), "{retry}");
    let problem = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("accept", "application/problem+json")
            .body(body.clone()),
    )
    .await;
    assert_eq!(
        problem.json()["type"],
        "https://lockwarden.dev/problems/lock-table-full"
    );
    // Reads still work, unlocked sections can still be written, nothing was lost.
    assert_eq!(
        send(client().get(server.url("/config"))).await.status,
        StatusCode::OK
    );
    let write = send(
        client()
            .patch(server.url("/config/wifi"))
            .json(&json!({"channel": 3})),
    )
    .await;
    assert_eq!(write.status, StatusCode::OK);
    assert_eq!(
        send(client().get(server.url("/config/time"))).await.json()["timezone"],
        "Europe/Berlin"
    );
    println!("table full after {granted} locks");
}

#[tokio::test]
async fn a_lock_flood_from_one_user_stops_at_its_quota() {
    let users = std::env::temp_dir().join(format!("lw-flood-users-{}.txt", std::process::id()));
    std::fs::write(
        &users,
        format!(
            "mallory:{}\n",
            config_server::auth::hash_password("m").unwrap()
        ),
    )
    .unwrap();
    let server = TestServer::with_options(ServerOptions {
        users: Some(users.clone()),
        max_locks_per_user: 8,
        ..ServerOptions::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        let reply = send(
            client()
                .request(method("LOCK"), server.url("/config/network"))
                .basic_auth("mallory", Some("m"))
                .header("accept", "application/problem+json")
                .body(lockinfo("shared", &format!("flood {i}"))),
        )
        .await;
        statuses.push(reply.status.as_u16());
        if reply.status == StatusCode::FORBIDDEN {
            assert_eq!(
                reply.json()["type"],
                "https://lockwarden.dev/problems/lock-quota-exceeded"
            );
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 8);
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 32);
    let read = send(
        client()
            .get(server.url("/config/network"))
            .basic_auth("mallory", Some("m")),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    std::fs::remove_file(users).unwrap();
}

#[tokio::test]
async fn locks_on_new_names_cannot_grow_the_configuration_without_bound() {
    let server = TestServer::start().await;
    let mut created = 0;
    let refused = loop {
        let reply = send(
            client()
                .request(
                    method("LOCK"),
                    server.url(&format!("/config/extra-{created}")),
                )
                .header("accept", "application/problem+json")
                .body(lockinfo("exclusive", "grower")),
        )
        .await;
        if reply.status != StatusCode::CREATED {
            break reply;
        }
        let token = lock_token(&reply);
        let unlock = send(
            client()
                .request(
                    method("UNLOCK"),
                    server.url(&format!("/config/extra-{created}")),
                )
                .header("lock-token", format!("<{token}>")),
        )
        .await;
        assert_eq!(unlock.status, StatusCode::NO_CONTENT);
        created += 1;
        assert!(created <= 1000, "sections are never refused");
    };
    assert_eq!(
        refused.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{refused:?}"
    );
    assert_eq!(
        refused.json()["type"],
        "https://lockwarden.dev/problems/too-many-sections"
    );
    let doc = send(client().get(server.url("/config"))).await.json();
    assert_eq!(
        doc.as_object().unwrap().len(),
        config_server::config::MAX_SECTIONS
    );
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([]),
        "the refused lock was released"
    );
    assert_eq!(doc["wifi"]["ssid"], "workshop");
}
