//! The lock layer on an axum router, driven with `tower::ServiceExt::oneshot`: every row
//! of PROTOCOL.md's table that a router sees, with the full 423 of PROTOCOL.md.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::StatusCode;
use http_body_util::BodyExt;
use lockwarden::Policy;
use lockwarden::http::{Method, Request as CheckRequest};
use lockwarden_std::{
    LockLayer, LockManager, ManualClock, Principal, Resource, Resources, TICK_HZ,
};
use tower::ServiceExt;

type Manager = LockManager<8, 64, 64>;

#[derive(Clone)]
struct App {
    manager: Manager,
    writes: Arc<AtomicUsize>,
}

/// LOCK and UNLOCK answered by the manager; every other method "stores" and counts.
async fn handler(State(app): State<App>, request: Request) -> Response {
    match request.method().as_str() {
        "LOCK" | "UNLOCK" => {
            let resources = Resources::target(Resource::existing(None));
            app.manager
                .respond(request, &resources)
                .await
                .into_response()
        }
        "GET" => "section".into_response(),
        _ => {
            app.writes.fetch_add(1, Ordering::SeqCst);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// A stand-in for an authentication layer: `X-User: alice` authenticates alice.
async fn authenticate(mut request: Request, next: Next) -> Response {
    if let Some(user) = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
    {
        let user = user.to_owned();
        request.extensions_mut().insert(Principal(user));
    }
    next.run(request).await
}

struct Fixture {
    router: Router,
    clock: ManualClock,
    manager: Manager,
    writes: Arc<AtomicUsize>,
}

fn fixture(policy: Policy) -> Fixture {
    let clock = ManualClock::new();
    let manager = Manager::with_clock(policy, clock.clone()).unwrap();
    let writes = Arc::new(AtomicUsize::new(0));
    let app = App {
        manager: manager.clone(),
        writes: Arc::clone(&writes),
    };
    let router = Router::new()
        .route("/{*path}", any(handler))
        .with_state(app)
        .layer(LockLayer::new(manager.clone()))
        .layer(middleware::from_fn(authenticate));
    Fixture {
        router,
        clock,
        manager,
        writes,
    }
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Fixture {
    async fn send(&self, request: http::Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// Takes a lock and returns its `Lock-Token` header value, `<urn:uuid:…>`.
    async fn lock(&self, path: &str, depth: &str, owner: &str, user: Option<&str>) -> String {
        let mut request = http::Request::builder()
            .method("LOCK")
            .uri(path)
            .header("Depth", depth)
            .header("Timeout", "Second-100");
        if let Some(user) = user {
            request = request.header("X-User", user);
        }
        let reply = self
            .send(
                request
                    .body(Body::from(lockinfo("exclusive", owner)))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.headers["lock-token"].to_str().unwrap().to_owned()
    }
}

fn lockinfo(scope: &str, owner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"#
    )
}

fn put(path: &str) -> http::request::Builder {
    http::Request::builder().method("PUT").uri(path)
}

#[tokio::test]
async fn a_write_under_a_lock_without_its_token_gets_the_full_423_of_the_protocol() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "infinity", "alice's laptop", None).await;
    f.clock.advance(Duration::from_secs(5));

    let reply = f
        .send(put("/config/network").body(Body::from("{}")).unwrap())
        .await;

    assert_eq!(reply.status, StatusCode::LOCKED);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.headers["vary"], "Accept");
    assert_eq!(reply.headers["retry-after"], "95");
    assert!(reply.headers.get("lock-token").is_none());
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "type": "https://lockwarden.dev/problems/resource-locked",
            "title": "Resource is locked",
            "status": 423,
            "detail": "PUT /config/network needs the token of the exclusive lock on /config (depth infinity). Send it as If: (<token>), or retry after the lock is released or expires.",
            "lockRoot": "/config",
            "lockScope": "exclusive",
            "lockDepth": "infinity",
            "owner": "alice's laptop",
            "expiresInSeconds": 95
        })
    );
    let uuid = token
        .trim_matches(|c| c == '<' || c == '>')
        .trim_start_matches("urn:uuid:");
    assert!(!reply.body.contains(uuid), "the 423 leaks the token");
    assert_eq!(f.writes.load(Ordering::SeqCst), 0, "the handler ran");
}

#[tokio::test]
async fn a_webdav_client_gets_the_423_as_a_dav_error_with_the_lock_root() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config", "infinity", "alice", None).await;
    let reply = f
        .send(
            http::Request::builder()
                .method("PROPPATCH")
                .uri("/config/wifi")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert_eq!(
        reply.headers["content-type"],
        "application/xml; charset=\"utf-8\""
    );
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let error = doc.root_element();
    assert_eq!(error.tag_name().namespace(), Some("DAV:"));
    assert_eq!(error.tag_name().name(), "error");
    let condition = error.first_element_child().unwrap();
    assert_eq!(condition.tag_name().name(), "lock-token-submitted");
    assert_eq!(
        condition.first_element_child().unwrap().text(),
        Some("/config")
    );
}

#[tokio::test]
async fn an_explicit_accept_header_chooses_the_body_format() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config", "0", "alice", None).await;
    let reply = f
        .send(
            put("/config")
                .header("Accept", "application/xml")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert!(reply.body.contains("<D:lock-token-submitted>"));
}

#[tokio::test]
async fn a_write_that_submits_the_token_reaches_the_handler() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "infinity", "alice", None).await;
    let reply = f
        .send(
            put("/config/network")
                .header("If", format!("({token})"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(f.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_token_fails_the_precondition_with_412() {
    let f = fixture(Policy::new(TICK_HZ));
    let reply = f
        .send(
            put("/config/network")
                .header("If", "(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(f.writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_expired_token_fails_the_precondition_and_the_lock_no_longer_blocks() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "0", "alice", None).await;
    f.clock.advance(Duration::from_secs(100));
    let with_old_token = f
        .send(
            put("/config")
                .header("If", format!("({token})"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(with_old_token.status, StatusCode::PRECONDITION_FAILED);
    let without = f.send(put("/config").body(Body::empty()).unwrap()).await;
    assert_eq!(without.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_malformed_if_header_is_a_400_that_names_it() {
    let f = fixture(Policy::new(TICK_HZ));
    let reply = f
        .send(
            put("/config")
                .header("If", "(<urn:uuid:x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("If header"),
        "{body}"
    );
}

#[tokio::test]
async fn another_principals_token_is_forbidden() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "0", "alice", Some("alice")).await;
    let as_bob = f
        .send(
            put("/config")
                .header("X-User", "bob")
                .header("If", format!("({token})"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(as_bob.status, StatusCode::FORBIDDEN);
    let as_alice = f
        .send(
            put("/config")
                .header("X-User", "alice")
                .header("If", format!("({token})"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(as_alice.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn reads_are_not_blocked_by_locks() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config", "infinity", "alice", None).await;
    let reply = f
        .send(
            http::Request::get("/config/wifi")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "section");
}

#[tokio::test]
async fn aliases_of_a_locked_path_are_blocked_too() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config/network", "0", "alice", None).await;
    for alias in [
        "/config//network",
        "/config/./network",
        "/config/network/",
        "/config/%6eetwork",
        "/config/x/../network",
    ] {
        let reply = f.send(put(alias).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::LOCKED, "{alias}");
    }
    assert_eq!(f.writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_conflicting_lock_gets_423_no_conflicting_lock() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config", "infinity", "alice", None).await;
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config/wifi")
                .body(Body::from(lockinfo("shared", "bob")))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert!(
        reply
            .body
            .contains("<D:no-conflicting-lock><D:href>/config</D:href>"),
        "{}",
        reply.body
    );
    assert_eq!(reply.headers["retry-after"], "100");
}

#[tokio::test]
async fn a_depth_infinity_lock_blocked_below_answers_207() {
    let f = fixture(Policy::new(TICK_HZ));
    f.lock("/config/wifi", "0", "alice", None).await;
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config")
                .header("Depth", "infinity")
                .body(Body::from(lockinfo("exclusive", "bob")))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert!(reply.body.contains("423"), "{}", reply.body);
    assert!(reply.body.contains("424"), "{}", reply.body);
}

#[tokio::test]
async fn a_granted_lock_answers_with_its_token_and_lockdiscovery() {
    let f = fixture(Policy::new(TICK_HZ));
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config")
                .header("Timeout", "Second-60")
                .body(Body::from(lockinfo(
                    "exclusive",
                    "<D:href>mailto:alice@example.com</D:href>",
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.headers["lock-token"].to_str().unwrap();
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.contains(&"Second-60"), "{texts:?}");
    assert!(
        texts.contains(&token.trim_matches(|c| c == '<' || c == '>')),
        "{texts:?}"
    );
    // The owner comes back as the markup that was sent (RFC 4918 §14.17).
    let owner = doc
        .descendants()
        .find(|n| n.has_tag_name(("DAV:", "owner")))
        .unwrap();
    let href = owner.first_element_child().unwrap();
    assert!(href.has_tag_name(("DAV:", "href")));
    assert_eq!(href.text(), Some("mailto:alice@example.com"));
}

#[tokio::test]
async fn a_lock_on_an_unmapped_url_answers_201() {
    let f = fixture(Policy::new(TICK_HZ));
    let request = http::Request::builder()
        .method("LOCK")
        .uri("/config/new")
        .body(Body::from(lockinfo("exclusive", "alice")))
        .unwrap();
    let response = f
        .manager
        .respond(request, &Resources::target(Resource::missing()))
        .await;
    assert!(matches!(
        response.outcome,
        lockwarden::http::Outcome::Granted { created: true, .. }
    ));
    assert_eq!(response.to_http().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_lockinfo_with_an_entity_is_a_400() {
    let f = fixture(Policy::new(TICK_HZ));
    let body = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:lockinfo xmlns:D="DAV:"><D:owner>&e;</D:owner></D:lockinfo>"#;
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("malformed-lockinfo") || reply.body.contains("lockinfo"),
        "{}",
        reply.body
    );
    assert!(f.manager.is_empty());
}

#[tokio::test]
async fn a_lockinfo_over_the_size_limit_is_a_413_that_names_the_limit() {
    let f = fixture(Policy::new(TICK_HZ));
    let body = lockinfo("exclusive", &"x".repeat(20_000));
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let limit = lockwarden_std::lockinfo::LockInfoLimits::DEFAULT.max_bytes;
    assert!(
        reply.body.contains(&format!("limited to {limit} bytes")),
        "{}",
        reply.body
    );
    assert!(f.manager.is_empty());
}

#[tokio::test]
async fn an_owner_longer_than_the_table_holds_is_a_400() {
    let f = fixture(Policy::new(TICK_HZ));
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/config")
                .body(Body::from(lockinfo("exclusive", &"o".repeat(65))))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(f.manager.is_empty());
}

#[tokio::test]
async fn a_refresh_extends_the_lock_and_an_unknown_one_fails_with_412() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "0", "alice", None).await;
    f.clock.advance(Duration::from_secs(90));
    let refresh = |if_value: String| {
        http::Request::builder()
            .method("LOCK")
            .uri("/config")
            .header("If", if_value)
            .header("Timeout", "Second-100")
            .body(Body::empty())
            .unwrap()
    };
    let reply = f.send(refresh(format!("({token})"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("Second-100"));
    f.clock.advance(Duration::from_secs(90));
    assert_eq!(
        f.manager.len(),
        1,
        "the refresh did not restart the timeout"
    );

    let unknown = f
        .send(refresh(
            "(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)".into(),
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::PRECONDITION_FAILED);
    assert!(
        unknown.body.contains("lock-token-matches-request-uri"),
        "{}",
        unknown.body
    );
}

#[tokio::test]
async fn unlock_needs_a_lock_token_that_names_a_lock_on_the_url() {
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "0", "alice", None).await;
    let unlock = |value: Option<&str>| {
        let mut request = http::Request::builder().method("UNLOCK").uri("/config");
        if let Some(value) = value {
            request = request.header("Lock-Token", value);
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(f.send(unlock(None)).await.status, StatusCode::BAD_REQUEST);
    let wrong = f
        .send(unlock(Some(
            "<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>",
        )))
        .await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert_eq!(
        f.send(unlock(Some(&token))).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        f.send(put("/config").body(Body::empty()).unwrap())
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_principal_over_its_quota_gets_403_lock_quota_exceeded() {
    let f = fixture(Policy::new(TICK_HZ).with_max_locks_per_principal(1));
    f.lock("/a", "0", "m", Some("mallory")).await;
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/b")
                .header("X-User", "mallory")
                .header("Accept", "application/problem+json")
                .body(Body::from(lockinfo("exclusive", "m")))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply
            .body
            .contains("https://lockwarden.dev/problems/lock-quota-exceeded"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_full_table_answers_503_with_retry_after() {
    let f = fixture(Policy::new(TICK_HZ));
    for i in 0..8 {
        f.lock(&format!("/s{i}"), "0", "x", None).await;
    }
    f.clock.advance(Duration::from_millis(40_500));
    let reply = f
        .send(
            http::Request::builder()
                .method("LOCK")
                .uri("/s9")
                .header("Accept", "application/json")
                .body(Body::from(lockinfo("exclusive", "x")))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "60");
    assert!(reply.body.contains("lock-table-full"), "{}", reply.body);
}

#[tokio::test]
async fn an_overlong_path_is_414() {
    let f = fixture(Policy::new(TICK_HZ));
    let path = format!("/{}", "a".repeat(100));
    let reply = f.send(put(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::URI_TOO_LONG);
}

#[tokio::test]
async fn no_lock_is_granted_while_an_admitted_write_is_in_progress() {
    let clock = ManualClock::new();
    let manager = Manager::with_clock(Policy::new(TICK_HZ), clock).unwrap();
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let finish = Arc::new(tokio::sync::Mutex::new(Some(finish_rx)));
    let slow_put = any(move || {
        let entered = Arc::clone(&entered);
        let finish = Arc::clone(&finish);
        async move {
            if let Some(tx) = entered.lock().unwrap().take() {
                let _ = tx.send(());
            }
            if let Some(rx) = finish.lock().await.take() {
                let _ = rx.await;
            }
            StatusCode::NO_CONTENT
        }
    });
    let router: Router = Router::new()
        .route("/config", slow_put)
        .layer(LockLayer::new(manager.clone()));

    let write = tokio::spawn(router.oneshot(put("/config").body(Body::empty()).unwrap()));
    entered_rx.await.unwrap();
    let locker = manager.clone();
    let lock = tokio::spawn(async move {
        let request = http::Request::builder()
            .method("LOCK")
            .uri("/config")
            .body(Body::from(lockinfo("exclusive", "late")))
            .unwrap();
        locker
            .respond(request, &Resources::target(Resource::existing(None)))
            .await
            .outcome
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !lock.is_finished(),
        "a lock was granted during an admitted write"
    );
    assert!(manager.is_empty());
    finish_tx.send(()).unwrap();
    assert_eq!(
        write.await.unwrap().unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), lock)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, lockwarden::http::Outcome::Granted { .. }));
}

#[tokio::test]
async fn a_handler_behind_the_layer_can_take_a_lock_without_waiting_for_itself() {
    let clock = ManualClock::new();
    let manager = Manager::with_clock(Policy::new(TICK_HZ), clock).unwrap();
    let locker = manager.clone();
    // A JSON way of locking: POST /config/lock takes an exclusive lock on /config.
    let take_lock = any(move |request: Request| {
        let manager = locker.clone();
        async move {
            let (parts, _body) = request.into_parts();
            let check = CheckRequest::new(Method::Lock, b"/config")
                .lockinfo(lockwarden::Scope::Exclusive, "json client")
                .resource(true, None);
            let outcome = manager.check_lock(&parts, &check).await;
            lockwarden_std::LockResponse::new(outcome, manager.disclosure()).into_response()
        }
    });
    let router: Router = Router::new()
        .route("/config/lock", take_lock)
        .layer(LockLayer::new(manager.clone()));
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        router.oneshot(
            http::Request::post("/config/lock")
                .body(Body::empty())
                .unwrap(),
        ),
    )
    .await
    .expect("the handler waited for its own write permit")
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(manager.len(), 1);
}

#[tokio::test]
async fn a_write_through_two_layers_of_one_manager_does_not_wait_behind_a_waiting_lock() {
    let manager = Manager::with_clock(Policy::new(TICK_HZ), ManualClock::new()).unwrap();
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let go = Arc::new(tokio::sync::Mutex::new(Some(go_rx)));
    // Holds the request between the outer and the inner layer until told to go on.
    let pause = middleware::from_fn(move |request: Request, next: Next| {
        let entered = Arc::clone(&entered);
        let go = Arc::clone(&go);
        async move {
            if let Some(tx) = entered.lock().unwrap().take() {
                let _ = tx.send(());
            }
            if let Some(rx) = go.lock().await.take() {
                let _ = rx.await;
            }
            next.run(request).await
        }
    });
    let router: Router = Router::new()
        .route("/config", any(|| async { StatusCode::NO_CONTENT }))
        .layer(LockLayer::new(manager.clone()))
        .layer(pause)
        .layer(LockLayer::new(manager.clone()));

    let write = tokio::spawn(router.oneshot(put("/config").body(Body::empty()).unwrap()));
    entered_rx.await.unwrap();
    let locker = manager.clone();
    let lock = tokio::spawn(async move {
        let request = http::Request::builder()
            .method("LOCK")
            .uri("/config")
            .body(Body::from(lockinfo("exclusive", "late")))
            .unwrap();
        locker
            .respond(request, &Resources::target(Resource::existing(None)))
            .await
            .outcome
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    go_tx.send(()).unwrap();
    let written = tokio::time::timeout(Duration::from_secs(5), write)
        .await
        .expect("the inner layer waited behind the LOCK that waits for the outer one")
        .unwrap()
        .unwrap();
    assert_eq!(written.status(), StatusCode::NO_CONTENT);
    let outcome = tokio::time::timeout(Duration::from_secs(5), lock)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, lockwarden::http::Outcome::Granted { .. }));
}

#[tokio::test]
async fn the_default_lookup_checks_a_put_as_creating_a_member_of_a_locked_collection() {
    // RFC 4918 §7.5: `LockLayer::new` does not assume the target exists.
    let f = fixture(Policy::new(TICK_HZ));
    let token = f.lock("/config", "0", "panel", None).await;
    let put = |if_header: Option<String>| {
        let mut request = http::Request::put("/config/new");
        if let Some(value) = if_header {
            request = request.header("If", value);
        }
        request.body(Body::from("x")).unwrap()
    };
    let refused = f.send(put(None)).await;
    assert_eq!(refused.status, StatusCode::LOCKED, "{}", refused.body);
    assert!(
        refused.body.contains("\"lockRoot\":\"/config\""),
        "{}",
        refused.body
    );
    let with_token = f.send(put(Some(format!("</config> ({token})")))).await;
    assert!(with_token.status.is_success(), "{}", with_token.body);
}
