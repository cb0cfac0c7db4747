//! WebDAV locking on the configuration (RFC 4918): LOCK, UNLOCK, PROPFIND and the
//! outcomes of PROTOCOL.md's table, over a real socket.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn dav_error_condition(xml: &str) -> (String, Vec<String>) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("bad XML ({e}): {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "error");
    assert_eq!(root.tag_name().namespace(), Some("DAV:"));
    let condition = root.first_element_child().expect("a precondition element");
    let hrefs = condition
        .descendants()
        .filter(|n| n.tag_name().name() == "href")
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect();
    (condition.tag_name().name().to_owned(), hrefs)
}

#[tokio::test]
async fn lock_on_an_existing_section_is_granted_with_200_token_and_lockdiscovery() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .header("timeout", "Second-60")
            .body(lockinfo("exclusive", "alice's laptop")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let token = lock_token(&reply);
    assert!(token.starts_with("urn:uuid:"));
    let doc = roxmltree::Document::parse(&reply.body).expect("XML body");
    let text = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name && n.tag_name().namespace() == Some("DAV:"))
    };
    assert!(text("lockdiscovery").is_some() && text("activelock").is_some());
    assert!(text("exclusive").is_some() && text("write").is_some());
    assert_eq!(text("timeout").unwrap().text(), Some("Second-60"));
    assert!(
        reply.body.contains(&token),
        "the holder gets its token in lockdiscovery"
    );
    assert!(reply.body.contains("alice&apos;s laptop") || reply.body.contains("alice's laptop"));
    let root = text("lockroot").unwrap();
    assert!(root.descendants().any(|n| n.text() == Some("/config/wifi")));
}

#[tokio::test]
async fn lock_on_an_unmapped_section_creates_it_and_answers_201() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/sensors"))
            .body(lockinfo("exclusive", "x")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let token = lock_token(&reply);
    let get = send(client().get(server.url("/config/sensors"))).await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.json(), json!({}));
    let put = send(
        client()
            .put(server.url("/config/sensors"))
            .header("if", format!("(<{token}>)"))
            .json(&json!({"rate": 5})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
}

#[tokio::test]
async fn a_write_without_the_token_gets_the_full_423_problem() {
    let server = TestServer::start().await;
    let token = dav_lock(
        &server,
        "/config/network",
        "alice's laptop",
        &[("timeout", "Second-95")],
    )
    .await;
    let reply = send(
        client()
            .put(server.url("/config/network"))
            .json(&json!({"mtu": 9000})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(
        reply
            .header("vary")
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept")
    );
    let retry: u32 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("delay-seconds");
    assert!((90..=95).contains(&retry), "{retry}");
    assert!(reply.header("lock-token").is_none());
    assert!(
        !reply.body.contains(&token),
        "a 423 never carries the token"
    );
    let problem = reply.json();
    assert_eq!(
        problem["type"],
        "https://lockwarden.dev/problems/resource-locked"
    );
    assert_eq!(problem["title"], "Resource is locked");
    assert_eq!(problem["status"], 423);
    assert_eq!(problem["lockRoot"], "/config/network");
    assert_eq!(problem["lockScope"], "exclusive");
    assert_eq!(problem["lockDepth"], "infinity");
    assert_eq!(problem["owner"], "alice's laptop");
    assert!(problem["expiresInSeconds"].as_u64().unwrap() <= 95);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("If: (<token>)") || detail.contains("If:"),
        "{detail}"
    );
    // Nothing changed.
    assert_eq!(
        send(client().get(server.url("/config/network")))
            .await
            .json()["mtu"],
        1500
    );
}

#[tokio::test]
async fn a_423_for_a_webdav_client_is_a_dav_error_with_the_lock_root() {
    let server = TestServer::start().await;
    dav_lock(&server, "/config", "ops", &[("depth", "infinity")]).await;
    let reply = send(
        client()
            .put(server.url("/config/display"))
            .header("accept", "application/xml")
            .json(&json!({"brightness": 1})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/xml")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let (condition, hrefs) = dav_error_condition(&reply.body);
    assert_eq!(condition, "lock-token-submitted");
    assert_eq!(hrefs, vec!["/config".to_owned()]);
}

#[tokio::test]
async fn an_if_header_that_holds_but_names_no_token_still_gets_423() {
    let server = TestServer::start().await;
    dav_lock(&server, "/config/wifi", "a", &[]).await;
    let etag = send(client().get(server.url("/config/wifi")))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let reply = send(
        client()
            .put(server.url("/config/wifi"))
            .header("if", format!("([{etag}])"))
            .json(&json!({"ssid": "x"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::LOCKED, "{reply:?}");
    assert_eq!(reply.json()["lockRoot"], "/config/wifi");
}

#[tokio::test]
async fn the_write_with_the_token_succeeds_and_honours_if_etags() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/wifi", "a", &[]).await;
    let ok = send(
        client()
            .put(server.url("/config/wifi"))
            .header("if", format!("(<{token}>)"))
            .json(&json!({"ssid": "x"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let etag = ok.header("etag").unwrap().to_owned();
    let with_etag = send(
        client()
            .patch(server.url("/config/wifi"))
            .header("if", format!("(<{token}> [{etag}])"))
            .json(&json!({"channel": 1})),
    )
    .await;
    assert_eq!(with_etag.status, StatusCode::OK, "{with_etag:?}");
    let stale = send(
        client()
            .patch(server.url("/config/wifi"))
            .header("if", format!("(<{token}> [{etag}])"))
            .json(&json!({"channel": 2})),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "the etag changed: {stale:?}"
    );
    assert_eq!(stale.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn an_if_header_naming_an_unknown_or_expired_token_is_412() {
    let server = TestServer::start().await;
    let unknown = send(
        client()
            .put(server.url("/config/time"))
            .header("if", format!("(<{}>)", unknown_token()))
            .json(&json!({})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::PRECONDITION_FAILED);
    let token = dav_lock(&server, "/config/time", "a", &[("timeout", "Second-1")]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = send(
        client()
            .put(server.url("/config/time"))
            .header("if", format!("(<{token}>)"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(expired.status, StatusCode::PRECONDITION_FAILED);
    // Without any If, the expired lock blocks nothing.
    let plain = send(
        client()
            .put(server.url("/config/time"))
            .json(&json!({"tz": "UTC"})),
    )
    .await;
    assert_eq!(plain.status, StatusCode::OK);
}

#[tokio::test]
async fn a_conflicting_lock_gets_423_no_conflicting_lock() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config", "ops", &[("depth", "infinity")]).await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .body(lockinfo("shared", "b")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/xml"),
        "LOCK is a WebDAV method"
    );
    let (condition, hrefs) = dav_error_condition(&reply.body);
    assert_eq!(condition, "no-conflicting-lock");
    assert_eq!(hrefs, vec!["/config".to_owned()]);
    assert!(!reply.body.contains(&token));
    let json = send(
        client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .header("accept", "application/problem+json")
            .body(lockinfo("exclusive", "b")),
    )
    .await;
    assert_eq!(json.status, StatusCode::LOCKED);
    assert_eq!(json.json()["lockRoot"], "/config");
}

#[tokio::test]
async fn shared_locks_coexist_and_each_token_may_write() {
    let server = TestServer::start().await;
    let mut tokens = Vec::new();
    for owner in ["a", "b"] {
        let reply = send(
            client()
                .request(method("LOCK"), server.url("/config/display"))
                .body(lockinfo("shared", owner)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        tokens.push(lock_token(&reply));
    }
    for token in &tokens {
        let put = send(
            client()
                .patch(server.url("/config/display"))
                .header("if", format!("(<{token}>)"))
                .json(&json!({"theme": token})),
        )
        .await;
        assert_eq!(put.status, StatusCode::OK);
    }
    let exclusive = send(
        client()
            .request(method("LOCK"), server.url("/config/display"))
            .body(lockinfo("exclusive", "c")),
    )
    .await;
    assert_eq!(exclusive.status, StatusCode::LOCKED);
}

#[tokio::test]
async fn a_depth_infinity_lock_blocked_below_answers_207_with_423_and_424() {
    let server = TestServer::start().await;
    dav_lock(&server, "/config/wifi", "holder", &[]).await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config"))
            .header("depth", "infinity")
            .body(lockinfo("exclusive", "ops")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{reply:?}");
    let doc = roxmltree::Document::parse(&reply.body).expect("multistatus XML");
    let mut statuses = Vec::new();
    for response in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "response")
    {
        let href = response
            .descendants()
            .find(|n| n.tag_name().name() == "href")
            .and_then(|n| n.text())
            .unwrap_or("");
        let status = response
            .descendants()
            .find(|n| n.tag_name().name() == "status")
            .and_then(|n| n.text())
            .unwrap_or("");
        statuses.push((href.to_owned(), status.to_owned()));
    }
    assert!(
        statuses
            .iter()
            .any(|(h, s)| h == "/config/wifi" && s.contains("423")),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|(h, s)| h == "/config" && s.contains("424")),
        "{statuses:?}"
    );
    assert!(reply.header("lock-token").is_none());
}

#[tokio::test]
async fn unlock_releases_with_204_and_then_writes_need_no_token() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/wifi", "a", &[]).await;
    let unlock = send(
        client()
            .request(method("UNLOCK"), server.url("/config/wifi"))
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(unlock.status, StatusCode::NO_CONTENT);
    let put = send(
        client()
            .put(server.url("/config/wifi"))
            .json(&json!({"ssid": "free"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
}

#[tokio::test]
async fn unlock_without_lock_token_is_400_and_with_a_foreign_token_409() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/wifi", "a", &[]).await;
    let missing = send(client().request(method("UNLOCK"), server.url("/config/wifi"))).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.body.contains("Lock-Token"), "{}", missing.body);
    let elsewhere = send(
        client()
            .request(method("UNLOCK"), server.url("/config/time"))
            .header("lock-token", format!("<{token}>")),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT);
    let (condition, _) = dav_error_condition(&elsewhere.body);
    assert_eq!(condition, "lock-token-matches-request-uri");
    let unknown = send(
        client()
            .request(method("UNLOCK"), server.url("/config/wifi"))
            .header("lock-token", format!("<{}>", unknown_token())),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::CONFLICT);
    // The lock is still there.
    assert_eq!(
        send(client().put(server.url("/config/wifi")).json(&json!({})))
            .await
            .status,
        StatusCode::LOCKED
    );
}

#[tokio::test]
async fn refresh_extends_a_lock_and_a_refresh_naming_no_lock_is_412() {
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/time", "a", &[("timeout", "Second-1")]).await;
    let refresh = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("if", format!("(<{token}>)"))
            .header("timeout", "Second-30"),
    )
    .await;
    assert_eq!(refresh.status, StatusCode::OK, "{refresh:?}");
    assert!(refresh.body.contains("Second-30"));
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let blocked = send(client().put(server.url("/config/time")).json(&json!({}))).await;
    assert_eq!(
        blocked.status,
        StatusCode::LOCKED,
        "the refreshed lock outlives its first timeout"
    );
    let nothing = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("if", format!("(<{}>)", unknown_token())),
    )
    .await;
    assert_eq!(nothing.status, StatusCode::PRECONDITION_FAILED);
    let (condition, _) = dav_error_condition(&nothing.body);
    assert_eq!(condition, "lock-token-matches-request-uri");
}

#[tokio::test]
async fn a_lock_expires_by_itself() {
    let server = TestServer::start().await;
    dav_lock(&server, "/config/display", "a", &[("timeout", "Second-1")]).await;
    assert_eq!(
        send(client().put(server.url("/config/display")).json(&json!({})))
            .await
            .status,
        StatusCode::LOCKED
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        send(client().put(server.url("/config/display")).json(&json!({})))
            .await
            .status,
        StatusCode::OK
    );
    let locks = send(client().get(server.url("/locks"))).await.json();
    assert_eq!(locks["locks"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn timeouts_are_clamped_to_the_maximum() {
    let server = TestServer::with_options(config_server::options::ServerOptions {
        max_timeout: 120,
        ..Default::default()
    })
    .await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .header("timeout", "Second-99999999999999")
            .body(lockinfo("exclusive", "a")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("Second-120"), "{}", reply.body);
    let infinite = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("timeout", "Infinite")
            .body(lockinfo("exclusive", "a")),
    )
    .await;
    assert!(infinite.body.contains("Second-120"), "{}", infinite.body);
}

#[tokio::test]
async fn propfind_shows_lockdiscovery_on_the_section_and_on_config() {
    let server = TestServer::start().await;
    dav_lock(&server, "/config/wifi", "alice", &[]).await;
    let reply = send(
        client()
            .request(method("PROPFIND"), server.url("/config/wifi"))
            .header("depth", "0"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    let doc = roxmltree::Document::parse(&reply.body).expect("XML");
    let active: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "activelock")
        .collect();
    assert_eq!(active.len(), 1);
    assert!(reply.body.contains("alice"));
    let listing = send(
        client()
            .request(method("PROPFIND"), server.url("/config"))
            .header("depth", "1"),
    )
    .await;
    assert_eq!(listing.status, StatusCode::MULTI_STATUS);
    let doc = roxmltree::Document::parse(&listing.body).expect("XML");
    let hrefs: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "response")
        .filter_map(|r| {
            r.descendants()
                .find(|n| n.tag_name().name() == "href")
                .and_then(|n| n.text())
        })
        .collect();
    assert!(
        hrefs.contains(&"/config")
            && hrefs.contains(&"/config/wifi")
            && hrefs.contains(&"/config/network"),
        "{hrefs:?}"
    );
    assert_eq!(
        doc.descendants()
            .filter(|n| n.tag_name().name() == "activelock")
            .count(),
        1
    );
}

#[tokio::test]
async fn get_locks_lists_live_locks_without_tokens() {
    let server = TestServer::start().await;
    let token = dav_lock(
        &server,
        "/config/wifi",
        "alice",
        &[("timeout", "Second-60")],
    )
    .await;
    let reply = send(client().get(server.url("/locks"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.body.contains(&token));
    let locks = reply.json();
    let lock = &locks["locks"][0];
    assert_eq!(lock["path"], "/config/wifi");
    assert_eq!(lock["scope"], "exclusive");
    assert_eq!(lock["depth"], "infinity");
    assert_eq!(lock["owner"], "alice");
    let remaining = lock["secondsRemaining"].as_u64().unwrap();
    assert!((58..=60).contains(&remaining), "{remaining}");
}

#[tokio::test]
async fn malformed_lock_headers_and_bodies_are_400_naming_the_culprit() {
    let server = TestServer::start().await;
    /// The culprit named in the answer, the headers, the body.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case> = vec![
        (
            "Timeout",
            vec![("timeout", "Second-")],
            lockinfo("exclusive", "a"),
        ),
        ("Depth", vec![("depth", "2")], lockinfo("exclusive", "a")),
        (
            "lockinfo",
            vec![],
            "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope>".to_owned(),
        ),
        (
            "lockscope",
            vec![],
            r#"<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>"#
                .to_owned(),
        ),
    ];
    for (culprit, headers, body) in cases {
        let mut request = client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .body(body);
        for (n, v) in headers {
            request = request.header(n, v);
        }
        let reply = send(request.header("accept", "application/problem+json")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{culprit}: {reply:?}"
        );
        assert!(
            reply.body.to_lowercase().contains(&culprit.to_lowercase()),
            "{culprit}: {}",
            reply.body
        );
    }
    let bad_if = send(
        client()
            .put(server.url("/config/wifi"))
            .header("if", "(<urn:uuid:x")
            .json(&json!({})),
    )
    .await;
    assert_eq!(bad_if.status, StatusCode::BAD_REQUEST);
    assert!(bad_if.body.contains("If"), "{}", bad_if.body);
    let bad_token = send(
        client()
            .request(method("UNLOCK"), server.url("/config/wifi"))
            .header("lock-token", "urn:uuid:no-brackets"),
    )
    .await;
    assert_eq!(bad_token.status, StatusCode::BAD_REQUEST);
    assert!(bad_token.body.contains("Lock-Token"), "{}", bad_token.body);
    // None of it took a lock.
    assert_eq!(
        send(client().get(server.url("/locks"))).await.json()["locks"],
        json!([])
    );
}

#[tokio::test]
async fn a_deployment_can_hide_who_holds_a_lock() {
    let server = TestServer::with_options(config_server::options::ServerOptions {
        hide_owners: true,
        ..Default::default()
    })
    .await;
    dav_lock(&server, "/config/wifi", "alice's laptop", &[]).await;
    let reply = send(client().put(server.url("/config/wifi")).json(&json!({}))).await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert!(reply.json().get("owner").is_none(), "{}", reply.body);
    assert!(!reply.body.contains("alice"));
    // One setting for every writer: the lock list and lockdiscovery too.
    let list = send(client().get(server.url("/locks"))).await;
    assert_eq!(list.json()["locks"].as_array().unwrap().len(), 1);
    assert!(!list.body.contains("alice"), "{}", list.body);
    let propfind = send(
        client()
            .request(method("PROPFIND"), server.url("/config/wifi"))
            .header("depth", "0"),
    )
    .await;
    assert!(propfind.body.contains("activelock"), "{}", propfind.body);
    assert!(!propfind.body.contains("alice"), "{}", propfind.body);
    assert!(!propfind.body.contains("owner>"), "{}", propfind.body);
}

#[tokio::test]
async fn a_refresh_without_timeout_keeps_the_locks_granted_timeout() {
    // RFC 4918 §6.6, §9.10.2: not the policy's default of 180 s.
    let server = TestServer::start().await;
    let token = dav_lock(&server, "/config/time", "a", &[("timeout", "Second-3000")]).await;
    let refresh = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("if", format!("(<{token}>)")),
    )
    .await;
    assert_eq!(refresh.status, StatusCode::OK, "{refresh:?}");
    assert!(
        refresh.body.contains("<D:timeout>Second-3000</D:timeout>"),
        "{}",
        refresh.body
    );
}

#[tokio::test]
async fn timeout_second_0_grants_a_lock_of_one_second_that_blocks_writes() {
    let server = TestServer::start().await;
    let reply = send(
        client()
            .request(method("LOCK"), server.url("/config/time"))
            .header("timeout", "Second-0")
            .body(lockinfo("exclusive", "a")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(
        reply.body.contains("<D:timeout>Second-1</D:timeout>"),
        "{}",
        reply.body
    );
    let blocked = send(client().put(server.url("/config/time")).json(&json!({}))).await;
    assert_eq!(
        blocked.status,
        StatusCode::LOCKED,
        "a lock is never born expired"
    );
}

#[tokio::test]
async fn a_mixed_content_owner_comes_back_intact_and_shows_as_text_elsewhere() {
    // RFC 4918 §14.17: lockdiscovery returns the owner as sent, markup and all.
    let server = TestServer::start().await;
    let owner = r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name>"#;
    let lock = send(
        client()
            .request(method("LOCK"), server.url("/config/wifi"))
            .body(lockinfo("exclusive", owner)),
    )
    .await;
    assert_eq!(lock.status, StatusCode::OK, "{lock:?}");
    assert!(
        lock.body.contains(&format!("<D:owner>{owner}</D:owner>")),
        "{}",
        lock.body
    );
    let propfind = send(
        client()
            .request(method("PROPFIND"), server.url("/config/wifi"))
            .header("depth", "0"),
    )
    .await;
    let doc = roxmltree::Document::parse(&propfind.body).expect("well-formed lockdiscovery");
    let name = doc
        .descendants()
        .find(|n| n.has_tag_name(("urn:x", "name")))
        .expect("the owner's element");
    assert_eq!(name.text(), Some("Alice & Co"));
    let refused = send(client().put(server.url("/config/wifi")).json(&json!({}))).await;
    assert_eq!(refused.json()["owner"], "Alice & Co");
    let list = send(client().get(server.url("/locks"))).await.json();
    assert_eq!(list["locks"][0]["owner"], "Alice & Co");
}

#[tokio::test]
async fn a_json_owner_is_text_and_comes_back_as_text() {
    let server = TestServer::start().await;
    let reply = json_lock(&server, "wifi", json!({"owner": "<b>Bob</b> & Co"})).await;
    assert_eq!(reply.json()["owner"], "<b>Bob</b> & Co");
    let propfind = send(
        client()
            .request(method("PROPFIND"), server.url("/config/wifi"))
            .header("depth", "0"),
    )
    .await;
    let doc = roxmltree::Document::parse(&propfind.body).expect("well-formed lockdiscovery");
    let owner = doc
        .descendants()
        .find(|n| n.has_tag_name(("DAV:", "owner")))
        .unwrap();
    assert_eq!(owner.text(), Some("<b>Bob</b> & Co"));
}

#[tokio::test]
async fn an_if_header_is_evaluated_on_reads_too_and_a_bad_propfind_depth_is_400() {
    let server = TestServer::start().await;
    let get = send(
        client()
            .get(server.url("/config/wifi"))
            .header("if", format!("(<{}>)", unknown_token())),
    )
    .await;
    assert_eq!(
        get.status,
        StatusCode::PRECONDITION_FAILED,
        "RFC 4918 §10.4 applies to every method"
    );
    let etag = send(client().get(server.url("/config/wifi")))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let matching = send(
        client()
            .get(server.url("/config/wifi"))
            .header("if", format!("([{etag}])")),
    )
    .await;
    assert_eq!(matching.status, StatusCode::OK);
    let depth = send(
        client()
            .request(method("PROPFIND"), server.url("/config"))
            .header("depth", "2"),
    )
    .await;
    assert_eq!(depth.status, StatusCode::BAD_REQUEST);
    assert!(depth.body.contains("Depth"), "{}", depth.body);
}
