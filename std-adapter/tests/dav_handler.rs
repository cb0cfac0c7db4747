//! `DavLocks` behind a real `dav-server` handler: the HTTP answers a WebDAV client sees,
//! next to what dav-server's own `MemLs` answers for the same requests.
#![cfg(feature = "dav-server")]

use std::sync::Arc;
use std::time::Duration;

use dav_server::{DavConfig, DavHandler, memfs::MemFs, memls::MemLs};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use lockwarden::Policy;
use lockwarden::http::{Expiry, Method, Refusal};
use lockwarden_std::dav::DavLocks;
use lockwarden_std::{LockManager, ManualClock, TICK_HZ};

const LOCKINFO: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>"#;

const LOCKDISCOVERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#;

struct Server {
    handler: DavHandler,
    locks: Option<DavLocks>,
    clock: ManualClock,
}

struct Reply {
    status: StatusCode,
    lock_token: Option<String>,
    body: String,
    /// What the table said, where dav-server could not.
    refusal: Option<Refusal<128, 256>>,
}

impl Server {
    fn lockwarden() -> Self {
        let clock = ManualClock::starting_at(lockwarden::Instant(1_000));
        let policy = Policy::new(TICK_HZ).with_max_timeout_secs(3600);
        let manager = LockManager::with_clock(policy, clock.clone()).unwrap();
        let fs = MemFs::new();
        let locks = DavLocks::new(manager).with_filesystem(Arc::new((*fs).clone()));
        let handler = DavHandler::builder()
            .filesystem(fs)
            .locksystem(Box::new(locks.clone()))
            .build_handler();
        Server {
            handler,
            locks: Some(locks),
            clock,
        }
    }

    fn memls() -> Self {
        let handler = DavHandler::builder()
            .filesystem(MemFs::new())
            .locksystem(MemLs::new())
            .build_handler();
        Server {
            handler,
            locks: None,
            clock: ManualClock::new(),
        }
    }

    async fn send(&self, principal: Option<&str>, request: Request<Full<&'static [u8]>>) -> Reply {
        let method = Method::parse(request.method().as_str().as_bytes());
        let locks = self
            .locks
            .as_ref()
            .map(|locks| locks.for_request(method, principal));
        let mut config = DavConfig::new();
        if let Some(user) = principal {
            config = config.principal(user);
        }
        if let Some(locks) = &locks {
            config = config.locksystem(Box::new(locks.clone()));
        }
        let response = self.handler.handle_with(config, request).await;
        let status = response.status();
        let lock_token = response.headers().get("lock-token").map(|v| {
            v.to_str()
                .unwrap()
                .trim_matches(|c| c == '<' || c == '>')
                .to_owned()
        });
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            lock_token,
            body: String::from_utf8_lossy(&body).into_owned(),
            refusal: locks.and_then(|locks| locks.take_refusal()),
        }
    }
}

fn request(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &'static str,
) -> Request<Full<&'static [u8]>> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Full::new(body.as_bytes())).unwrap()
}

fn lock(path: &str, timeout: &str) -> Request<Full<&'static [u8]>> {
    request(
        "LOCK",
        path,
        &[("Timeout", timeout.to_owned()), ("Depth", "0".to_owned())],
        LOCKINFO,
    )
}

fn put(path: &str, token: Option<&str>) -> Request<Full<&'static [u8]>> {
    let headers: Vec<(&str, String)> = token
        .map(|t| ("If", format!("(<{t}>)")))
        .into_iter()
        .collect();
    request("PUT", path, &headers, "content")
}

fn unlock(path: &str, token: &str) -> Request<Full<&'static [u8]>> {
    request("UNLOCK", path, &[("Lock-Token", format!("<{token}>"))], "")
}

fn discover(path: &str) -> Request<Full<&'static [u8]>> {
    request(
        "PROPFIND",
        path,
        &[("Depth", "0".to_owned())],
        LOCKDISCOVERY,
    )
}

#[tokio::test]
async fn a_lock_on_an_unmapped_url_creates_it_and_blocks_writes_without_its_token() {
    let server = Server::lockwarden();
    let locked = server.send(None, lock("/doc", "Second-60")).await;
    assert_eq!(locked.status, StatusCode::CREATED);
    let token = locked.lock_token.unwrap();
    assert!(token.starts_with("urn:uuid:"));
    assert!(locked.body.contains("Second-60"), "{}", locked.body);

    assert_eq!(
        server.send(None, put("/doc", None)).await.status,
        StatusCode::LOCKED
    );
    assert!(
        server
            .send(None, put("/doc", Some(&token)))
            .await
            .status
            .is_success()
    );
    assert_eq!(
        server.send(None, unlock("/doc", &token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        server
            .send(None, put("/doc", None))
            .await
            .status
            .is_success()
    );
}

#[tokio::test]
async fn a_requested_timeout_is_clamped_by_the_policy() {
    let server = Server::lockwarden();
    // dav-server itself caps an exclusive lock at 600 s before asking; the policy's
    // maximum applies to what it asks.
    let locked = server
        .send(
            None,
            request(
                "LOCK",
                "/doc",
                &[("Timeout", "Second-500".into())],
                LOCKINFO,
            ),
        )
        .await;
    assert!(locked.body.contains("Second-500"), "{}", locked.body);
    let server = {
        let clock = ManualClock::new();
        let manager = LockManager::with_clock(
            Policy::new(TICK_HZ).with_max_timeout_secs(120),
            clock.clone(),
        )
        .unwrap();
        let locks = DavLocks::new(manager);
        let handler = DavHandler::builder()
            .filesystem(MemFs::new())
            .locksystem(Box::new(locks.clone()))
            .build_handler();
        Server {
            handler,
            locks: Some(locks),
            clock,
        }
    };
    let locked = server
        .send(
            None,
            request("LOCK", "/doc", &[("Timeout", "Infinite".into())], LOCKINFO),
        )
        .await;
    assert!(locked.body.contains("Second-120"), "{}", locked.body);
}

#[tokio::test]
async fn an_expired_lock_no_longer_blocks_writes_nor_shows_in_lockdiscovery() {
    let server = Server::lockwarden();
    let token = server
        .send(None, lock("/doc", "Second-10"))
        .await
        .lock_token
        .unwrap();
    server.clock.advance(Duration::from_secs(9));
    assert_eq!(
        server.send(None, put("/doc", None)).await.status,
        StatusCode::LOCKED
    );
    let shown = server.send(None, discover("/doc")).await;
    assert!(
        shown.body.contains(&token) && shown.body.contains("Second-1<"),
        "{}",
        shown.body
    );

    server.clock.advance(Duration::from_secs(1));
    assert!(
        server
            .send(None, put("/doc", None))
            .await
            .status
            .is_success()
    );
    let shown = server.send(None, discover("/doc")).await;
    assert!(!shown.body.contains("activelock"), "{}", shown.body);
    assert_eq!(
        server.send(None, unlock("/doc", &token)).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn memls_never_expires_a_lock() {
    let server = Server::memls();
    let token = server
        .send(None, lock("/doc", "Second-1"))
        .await
        .lock_token
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        server.send(None, put("/doc", None)).await.status,
        StatusCode::LOCKED
    );
    assert_eq!(
        server.send(None, unlock("/doc", &token)).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn only_the_principal_that_created_a_lock_can_release_it() {
    let server = Server::lockwarden();
    let token = server
        .send(Some("alice"), lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    assert_eq!(
        server
            .send(Some("bob"), unlock("/doc", &token))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        server.send(None, unlock("/doc", &token)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        server
            .send(Some("bob"), put("/doc", Some(&token)))
            .await
            .status,
        StatusCode::LOCKED
    );
    assert!(
        server
            .send(Some("alice"), put("/doc", Some(&token)))
            .await
            .status
            .is_success()
    );
    assert_eq!(
        server
            .send(Some("alice"), unlock("/doc", &token))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn memls_lets_any_principal_release_a_lock() {
    let server = Server::memls();
    let token = server
        .send(Some("alice"), lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    assert_eq!(
        server
            .send(Some("bob"), unlock("/doc", &token))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_refresh_by_another_principal_is_refused() {
    let server = Server::lockwarden();
    let token = server
        .send(Some("alice"), lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    let refresh = |user| {
        server.send(
            Some(user),
            request(
                "LOCK",
                "/doc",
                &[
                    ("If", format!("(<{token}>)")),
                    ("Timeout", "Second-30".into()),
                ],
                "",
            ),
        )
    };
    assert_eq!(refresh("bob").await.status, StatusCode::PRECONDITION_FAILED);
    let refreshed = refresh("alice").await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert!(refreshed.body.contains("Second-30"), "{}", refreshed.body);
}

#[tokio::test]
async fn an_if_header_naming_no_lock_fails_even_on_an_unlocked_resource() {
    let server = Server::lockwarden();
    assert!(
        server
            .send(None, put("/doc", None))
            .await
            .status
            .is_success()
    );
    let unknown = "urn:uuid:6f1c4e2a-0d8b-4a6e-9c57-2b1f0e9d3a11";
    assert_eq!(
        server.send(None, put("/doc", Some(unknown))).await.status,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn deleting_a_locked_collection_needs_its_token_and_removes_the_lock() {
    let server = Server::lockwarden();
    assert_eq!(
        server
            .send(None, request("MKCOL", "/coll/", &[], ""))
            .await
            .status,
        StatusCode::CREATED
    );
    let locked = server
        .send(
            None,
            request("LOCK", "/coll/", &[("Depth", "infinity".into())], LOCKINFO),
        )
        .await;
    assert_eq!(locked.status, StatusCode::OK);
    let token = locked.lock_token.unwrap();
    assert_eq!(
        server.send(None, put("/coll/member", None)).await.status,
        StatusCode::LOCKED
    );
    assert_eq!(
        server
            .send(None, request("DELETE", "/coll/", &[], ""))
            .await
            .status,
        StatusCode::LOCKED
    );
    let deleted = server
        .send(
            None,
            request("DELETE", "/coll/", &[("If", format!("(<{token}>)"))], ""),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    // The lock went with its resource: the URL can be locked afresh.
    assert_eq!(
        server.send(None, lock("/coll", "Second-60")).await.status,
        StatusCode::CREATED
    );
    assert!(
        server
            .locks
            .as_ref()
            .unwrap()
            .manager()
            .locks()
            .iter()
            .all(|l| l.token.to_string() != token)
    );
}

#[tokio::test]
async fn moving_a_locked_resource_needs_its_token_and_leaves_the_lock_behind() {
    let server = Server::lockwarden();
    let token = server
        .send(None, lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    let mv = |headers: Vec<(&'static str, String)>| {
        let mut all = vec![("Destination", "http://localhost/moved".to_owned())];
        all.extend(headers);
        request("MOVE", "/doc", &all, "")
    };
    assert_eq!(
        server.send(None, mv(vec![])).await.status,
        StatusCode::LOCKED
    );
    let moved = server
        .send(None, mv(vec![("If", format!("(<{token}>)"))]))
        .await;
    assert_eq!(moved.status, StatusCode::CREATED);
    assert!(
        server
            .send(None, put("/moved", None))
            .await
            .status
            .is_success(),
        "locks do not follow a MOVE"
    );
    assert!(server.locks.as_ref().unwrap().manager().is_empty());
}

#[tokio::test]
async fn a_token_of_another_principal_is_kept_as_forbidden_where_dav_server_says_409() {
    let server = Server::lockwarden();
    let token = server
        .send(Some("alice"), lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    let refused = server.send(Some("bob"), unlock("/doc", &token)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let refusal = refused.refusal.unwrap();
    assert_eq!(refusal, Refusal::Forbidden);
    assert_eq!(refusal.meaning().status, 403);
    let refused = server.send(Some("bob"), put("/doc", Some(&token))).await;
    assert_eq!(
        (refused.status, refused.refusal),
        (StatusCode::LOCKED, Some(Refusal::Forbidden))
    );
}

#[tokio::test]
async fn a_blocked_write_keeps_the_blocking_lock_without_its_token() {
    let server = Server::lockwarden();
    let token = server
        .send(None, lock("/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    server.clock.advance(Duration::from_millis(20_500));
    let refused = server.send(None, put("/doc", None)).await;
    let Some(Refusal::Locked { method, path, lock }) = refused.refusal else {
        panic!("{:?}", refused.refusal)
    };
    assert_eq!((method, path.as_str()), (Method::Put, "/doc"));
    assert_eq!(lock.root.as_str(), "/doc");
    assert_eq!(lock.owner.as_str(), "tester", "the owner element's text");
    assert_eq!(lock.expires, Expiry::InSeconds(40));
    assert!(!format!("{lock:?}").contains(&token[9..]));
}

#[tokio::test]
async fn a_principal_over_its_quota_is_kept_as_quota_exceeded() {
    let clock = ManualClock::new();
    let policy = Policy::new(TICK_HZ).with_max_locks_per_principal(1);
    let locks = DavLocks::new(LockManager::with_clock(policy, clock.clone()).unwrap());
    let handler = DavHandler::builder()
        .filesystem(MemFs::new())
        .locksystem(Box::new(locks.clone()))
        .build_handler();
    let server = Server {
        handler,
        locks: Some(locks),
        clock,
    };
    assert_eq!(
        server
            .send(Some("alice"), lock("/a", "Second-60"))
            .await
            .status,
        StatusCode::CREATED
    );
    let refused = server.send(Some("alice"), lock("/b", "Second-60")).await;
    assert_eq!(
        (refused.status, refused.refusal),
        (StatusCode::LOCKED, Some(Refusal::QuotaExceeded))
    );
    assert_eq!(
        server
            .send(Some("bob"), lock("/b", "Second-60"))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_depth_infinity_lock_blocked_below_is_kept_for_a_207() {
    let server = Server::lockwarden();
    assert_eq!(
        server
            .send(None, request("MKCOL", "/coll/", &[], ""))
            .await
            .status,
        StatusCode::CREATED
    );
    server
        .send(None, lock("/coll/doc", "Second-60"))
        .await
        .lock_token
        .unwrap();
    let refused = server
        .send(
            None,
            request("LOCK", "/coll/", &[("Depth", "infinity".into())], LOCKINFO),
        )
        .await;
    assert_eq!(refused.status, StatusCode::LOCKED);
    let Some(refusal @ Refusal::LockBlockedBelow { .. }) = refused.refusal else {
        panic!("{:?}", refused.refusal)
    };
    assert_eq!(refusal.meaning().status, 207);
    assert_eq!(refusal.lock().unwrap().root.as_str(), "/coll/doc");
}

#[tokio::test]
async fn a_false_if_header_is_dav_servers_412_not_a_refusal_of_the_table() {
    let server = Server::lockwarden();
    let unknown = "urn:uuid:6f1c4e2a-0d8b-4a6e-9c57-2b1f0e9d3a11";
    let refused = server.send(None, put("/doc", Some(unknown))).await;
    assert_eq!(
        (refused.status, refused.refusal),
        (StatusCode::PRECONDITION_FAILED, None)
    );
}

#[tokio::test]
async fn a_new_member_of_a_collection_under_a_depth_zero_lock_needs_its_token() {
    let server = Server::lockwarden();
    assert_eq!(
        server
            .send(None, request("MKCOL", "/coll/", &[], ""))
            .await
            .status,
        StatusCode::CREATED
    );
    let token = server
        .send(None, lock("/coll/", "Second-60"))
        .await
        .lock_token
        .unwrap();
    let refused = server.send(None, put("/coll/new", None)).await;
    assert_eq!(refused.status, StatusCode::LOCKED);
    let Some(Refusal::Locked { lock, .. }) = refused.refusal else {
        panic!("{:?}", refused.refusal)
    };
    assert_eq!(lock.root.as_str(), "/coll");
    assert_eq!(
        server
            .send(None, request("MKCOL", "/coll/sub/", &[], ""))
            .await
            .status,
        StatusCode::LOCKED
    );

    // The collection's token, tagged with the collection (RFC 4918 §10.4.2).
    let tagged = format!("<http://localhost/coll/> (<{token}>)");
    let created = server
        .send(None, request("PUT", "/coll/new", &[("If", tagged)], "x"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    // A depth-0 lock protects the membership, not the members' content.
    assert!(
        server
            .send(None, put("/coll/new", None))
            .await
            .status
            .is_success()
    );
}
