//! `DavLocks` as a `dav-server` lock system: each trait method, expiry on a clock the
//! test moves, and principals.
#![cfg(feature = "dav-server")]

use std::io::Cursor;
use std::time::Duration;

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem};
use lockwarden::http::{Expiry, Method, Refusal};
use lockwarden::{LockToken, Policy};
use lockwarden_std::dav::DavLocks;
use lockwarden_std::{LockManager, ManualClock, TICK_HZ};
use xmltree::Element;

const SHARED: bool = true;
const EXCLUSIVE: bool = false;
const DEEP: bool = true;
const SHALLOW: bool = false;

fn policy() -> Policy {
    Policy::new(TICK_HZ)
        .with_default_timeout_secs(180)
        .with_max_timeout_secs(3600)
}

fn locks_with(policy: Policy) -> (DavLocks, ManualClock) {
    let clock = ManualClock::starting_at(lockwarden::Instant(u32::MAX - 5_000));
    let manager = LockManager::with_clock_and_seed(policy, clock.clone(), [42; 16]).unwrap();
    (DavLocks::new(manager), clock)
}

fn locks() -> (DavLocks, ManualClock) {
    locks_with(policy())
}

fn p(path: &str) -> DavPath {
    DavPath::new(path).unwrap()
}

fn owner(text: &str) -> Element {
    Element::parse(Cursor::new(format!(
        r#"<D:owner xmlns:D="DAV:">{text}</D:owner>"#
    )))
    .unwrap()
}

async fn lock(
    ls: &DavLocks,
    path: &str,
    shared: bool,
    deep: bool,
    timeout: Option<u64>,
) -> Result<DavLock, DavLock> {
    let owner = owner("tester");
    ls.lock(
        &p(path),
        ls.principal(),
        Some(&owner),
        timeout.map(Duration::from_secs),
        shared,
        deep,
    )
    .await
}

/// A write check as dav-server makes it for PUT/PROPPATCH (`deep` false) or
/// DELETE/MOVE/COPY (`deep` true).
async fn write(ls: &DavLocks, path: &str, deep: bool, tokens: &[&str]) -> bool {
    let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
    ls.check(&p(path), ls.principal(), false, deep, &tokens)
        .await
        .is_ok()
}

/// How dav-server evaluates one state token of an `If` header.
async fn if_token(ls: &DavLocks, path: &str, token: &str) -> bool {
    ls.check(&p(path), None, true, false, &[token.to_owned()])
        .await
        .is_ok()
}

#[tokio::test]
async fn lock_returns_an_unguessable_urn_uuid_token_and_the_granted_lock() {
    let (ls, _) = locks();
    let lock = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, Some(60))
        .await
        .unwrap();
    assert!(lock.token.starts_with("urn:uuid:"), "{}", lock.token);
    assert!(LockToken::parse(&lock.token).is_ok());
    assert_eq!(lock.path.as_url_string(), "/doc");
    assert_eq!(lock.timeout, Some(Duration::from_secs(60)));
    assert!(!lock.shared && !lock.deep);
    assert_eq!(
        lock.owner.as_deref().and_then(|o| o.get_text()).as_deref(),
        Some("tester")
    );
    let second = self::lock(&ls, "/other", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert_ne!(lock.token, second.token);
}

#[tokio::test]
async fn timeouts_are_granted_under_the_policy() {
    let (ls, _) = locks();
    let default = lock(&ls, "/a", SHARED, SHALLOW, None).await.unwrap();
    assert_eq!(default.timeout, Some(Duration::from_secs(180)));
    let clamped = lock(&ls, "/b", SHARED, SHALLOW, Some(86_400))
        .await
        .unwrap();
    assert_eq!(clamped.timeout, Some(Duration::from_secs(3600)));
    let zero = lock(&ls, "/c", SHARED, SHALLOW, Some(0)).await.unwrap();
    assert_eq!(
        zero.timeout,
        Some(Duration::from_secs(1)),
        "a lock expired at birth protects nothing"
    );
}

#[tokio::test]
async fn an_exclusive_lock_conflicts_with_any_other_lock() {
    let (ls, _) = locks();
    lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.unwrap();
    let refused = lock(&ls, "/doc", SHARED, SHALLOW, None).await.unwrap_err();
    assert_eq!(refused.path.as_url_string(), "/doc");
    assert!(
        refused.token.is_empty(),
        "a conflict never carries the token"
    );
    assert!(lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.is_err());
}

#[tokio::test]
async fn shared_locks_coexist_and_block_an_exclusive_one() {
    let (ls, _) = locks();
    lock(&ls, "/doc", SHARED, SHALLOW, None).await.unwrap();
    lock(&ls, "/doc", SHARED, SHALLOW, None).await.unwrap();
    let refused = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap_err();
    assert!(refused.shared);
    assert_eq!(ls.discover(&p("/doc")).await.len(), 2);
}

#[tokio::test]
async fn a_depth_infinity_lock_covers_descendants_and_a_depth_zero_lock_does_not() {
    let (ls, _) = locks();
    let deep = lock(&ls, "/tree/", EXCLUSIVE, DEEP, None).await.unwrap();
    assert!(!write(&ls, "/tree/a/b", SHALLOW, &[]).await);
    assert!(write(&ls, "/tree/a/b", SHALLOW, &[&deep.token]).await);
    assert!(lock(&ls, "/tree/a", SHARED, SHALLOW, None).await.is_err());

    lock(&ls, "/flat/", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert!(write(&ls, "/flat/member", SHALLOW, &[]).await);
    assert!(!write(&ls, "/flat", SHALLOW, &[]).await);
}

#[tokio::test]
async fn a_depth_infinity_lock_is_refused_over_a_lock_below_it() {
    let (ls, _) = locks();
    lock(&ls, "/tree/leaf", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(lock(&ls, "/tree/", SHARED, DEEP, None).await.is_err());
    assert!(lock(&ls, "/tree/", SHARED, SHALLOW, None).await.is_ok());
}

#[tokio::test]
async fn a_write_needs_the_token_of_every_covering_lock() {
    let (ls, _) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert!(!write(&ls, "/doc", SHALLOW, &[]).await);
    assert!(
        !write(
            &ls,
            "/doc",
            SHALLOW,
            &["urn:uuid:00000000-0000-0000-0000-000000000000"]
        )
        .await
    );
    assert!(!write(&ls, "/doc", SHALLOW, &["opaquelocktoken:not-a-uuid"]).await);
    assert!(write(&ls, "/doc", SHALLOW, &["DAV:no-lock", &held.token]).await);
    assert!(write(&ls, "/elsewhere", SHALLOW, &[]).await);
}

#[tokio::test]
async fn one_token_of_a_set_of_shared_locks_is_enough() {
    let (ls, _) = locks();
    let first = lock(&ls, "/doc", SHARED, SHALLOW, None).await.unwrap();
    lock(&ls, "/doc", SHARED, SHALLOW, None).await.unwrap();
    assert!(!write(&ls, "/doc", SHALLOW, &[]).await);
    assert!(write(&ls, "/doc", SHALLOW, &[&first.token]).await);
}

#[tokio::test]
async fn deleting_a_collection_needs_the_tokens_of_the_locks_inside_it() {
    let (ls, _) = locks();
    let inner = lock(&ls, "/coll/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(
        write(&ls, "/coll/", SHALLOW, &[]).await,
        "the collection itself is not locked"
    );
    assert!(!write(&ls, "/coll/", DEEP, &[]).await);
    assert!(write(&ls, "/coll/", DEEP, &[&inner.token]).await);
}

#[tokio::test]
async fn removing_a_member_needs_the_token_of_a_depth_zero_lock_on_its_collection() {
    let (ls, _) = locks();
    let coll = lock(&ls, "/coll/", EXCLUSIVE, SHALLOW, None).await.unwrap();
    // RFC 4918 §7.5: the membership of a locked collection is protected.
    assert!(!write(&ls, "/coll/doc", DEEP, &[]).await);
    assert!(write(&ls, "/coll/doc", DEEP, &[&coll.token]).await);
}

#[tokio::test]
async fn an_if_state_token_is_true_only_for_a_live_lock_that_covers_the_resource() {
    let (ls, clock) = locks();
    let held = lock(&ls, "/tree/", SHARED, DEEP, Some(10)).await.unwrap();
    assert!(if_token(&ls, "/tree/", &held.token).await);
    assert!(if_token(&ls, "/tree/x/y", &held.token).await);
    // A token that names no lock on the resource: false, even where nothing is locked.
    assert!(!if_token(&ls, "/unlocked", &held.token).await);
    assert!(
        !if_token(
            &ls,
            "/unlocked",
            "urn:uuid:00000000-0000-0000-0000-000000000000"
        )
        .await
    );
    assert!(!if_token(&ls, "/tree/", &format!("{}x", held.token)).await);
    assert!(!if_token(&ls, "/tree/", "DAV:no-lock").await);
    clock.advance(Duration::from_secs(10));
    assert!(
        !if_token(&ls, "/tree/", &held.token).await,
        "an expired lock matches nothing"
    );
}

#[tokio::test]
async fn unlock_releases_the_lock_named_by_its_token() {
    let (ls, _) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert_eq!(
        ls.unlock(&p("/doc"), "opaquelocktoken:foobar").await,
        Err(())
    );
    assert_eq!(
        ls.unlock(&p("/other"), &held.token).await,
        Err(()),
        "the path must lie within the lock"
    );
    assert_eq!(ls.unlock(&p("/doc"), &held.token).await, Ok(()));
    assert_eq!(ls.unlock(&p("/doc"), &held.token).await, Err(()));
    assert!(write(&ls, "/doc", SHALLOW, &[]).await);
}

#[tokio::test]
async fn unlock_through_a_member_of_a_depth_infinity_lock_releases_it() {
    let (ls, _) = locks();
    let held = lock(&ls, "/tree/", EXCLUSIVE, DEEP, None).await.unwrap();
    assert_eq!(ls.unlock(&p("/tree/a/b"), &held.token).await, Ok(()));
    assert!(ls.discover(&p("/tree/")).await.is_empty());
}

#[tokio::test]
async fn only_the_creating_principal_can_unlock() {
    let (ls, _) = locks();
    let alice = ls.for_principal("alice");
    let bob = ls.for_principal("bob");
    let held = lock(&alice, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert_eq!(held.principal.as_deref(), Some("alice"));
    assert_eq!(bob.unlock(&p("/doc"), &held.token).await, Err(()));
    assert_eq!(
        ls.unlock(&p("/doc"), &held.token).await,
        Err(()),
        "nor an anonymous client"
    );
    assert_eq!(ls.discover(&p("/doc")).await.len(), 1);
    assert_eq!(alice.unlock(&p("/doc"), &held.token).await, Ok(()));
}

#[tokio::test]
async fn only_the_creating_principal_can_use_a_token() {
    let (ls, _) = locks();
    let alice = ls.for_principal("alice");
    let bob = ls.for_principal("bob");
    let held = lock(&alice, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(write(&alice, "/doc", SHALLOW, &[&held.token]).await);
    assert!(!write(&bob, "/doc", SHALLOW, &[&held.token]).await);
    assert!(!write(&ls, "/doc", SHALLOW, &[&held.token]).await);
}

#[tokio::test]
async fn an_anonymous_lock_can_be_used_by_whoever_has_its_token() {
    let (ls, _) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert!(write(&ls.for_principal("carol"), "/doc", SHALLOW, &[&held.token]).await);
}

#[tokio::test]
async fn refresh_restarts_the_timeout_under_the_policy() {
    let (ls, clock) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, Some(100))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(90));
    let refreshed = ls
        .refresh(&p("/doc"), &held.token, Some(Duration::from_secs(100)))
        .await
        .unwrap();
    assert_eq!(refreshed.timeout, Some(Duration::from_secs(100)));
    assert_eq!(refreshed.token, held.token);
    clock.advance(Duration::from_secs(90));
    assert!(
        !write(&ls, "/doc", SHALLOW, &[]).await,
        "refreshed at 90 s, still locked at 180 s"
    );
    let clamped = ls
        .refresh(
            &p("/doc"),
            &held.token,
            Some(Duration::from_secs(1_000_000)),
        )
        .await
        .unwrap();
    assert_eq!(clamped.timeout, Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn refresh_without_a_timeout_keeps_the_granted_one() {
    let (ls, clock) = locks();
    let held = lock(&ls, "/doc", SHARED, SHALLOW, Some(500)).await.unwrap();
    clock.advance(Duration::from_secs(400));
    let refreshed = ls.refresh(&p("/doc"), &held.token, None).await.unwrap();
    assert_eq!(refreshed.timeout, Some(Duration::from_secs(500)));
}

#[tokio::test]
async fn refresh_through_a_member_shows_the_collection_as_lock_root() {
    let (ls, _) = locks();
    let held = lock(&ls, "/coll/", EXCLUSIVE, DEEP, None).await.unwrap();
    let refreshed = ls
        .refresh(&p("/coll/doc.txt"), &held.token, None)
        .await
        .unwrap();
    assert_eq!(refreshed.path.as_url_string(), "/coll/");
    assert!(refreshed.deep);
}

#[tokio::test]
async fn refresh_is_refused_for_an_unknown_token_and_for_another_principal() {
    let (ls, _) = locks();
    let alice = ls.for_principal("alice");
    let held = lock(&alice, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(
        alice
            .refresh(
                &p("/doc"),
                "urn:uuid:00000000-0000-0000-0000-000000000000",
                None
            )
            .await
            .is_err()
    );
    assert!(
        alice
            .refresh(&p("/other"), &held.token, None)
            .await
            .is_err()
    );
    assert!(
        ls.for_principal("bob")
            .refresh(&p("/doc"), &held.token, None)
            .await
            .is_err()
    );
    assert!(alice.refresh(&p("/doc"), &held.token, None).await.is_ok());
}

#[tokio::test]
async fn a_lock_expires_when_its_timeout_has_passed() {
    let (ls, clock) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, DEEP, Some(30)).await.unwrap();
    clock.advance(Duration::from_millis(29_999));
    assert!(!write(&ls, "/doc", SHALLOW, &[]).await);
    assert_eq!(
        ls.discover(&p("/doc")).await[0].timeout,
        Some(Duration::from_secs(1))
    );
    // The clock started just below the u32 wrap: expiry holds across it.
    clock.advance(Duration::from_millis(1));
    assert!(write(&ls, "/doc", SHALLOW, &[]).await);
    assert!(ls.discover(&p("/doc")).await.is_empty());
    assert!(ls.refresh(&p("/doc"), &held.token, None).await.is_err());
    assert_eq!(ls.unlock(&p("/doc"), &held.token).await, Err(()));
    assert!(lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.is_ok());
}

#[tokio::test]
async fn discovery_shows_every_covering_lock_with_its_root_owner_and_remaining_time() {
    let (ls, clock) = locks();
    let deep = lock(&ls, "/a/", SHARED, DEEP, Some(100)).await.unwrap();
    let flat = lock(&ls, "/a/b/c", SHARED, SHALLOW, Some(200))
        .await
        .unwrap();
    lock(&ls, "/a/b/sibling", SHARED, SHALLOW, None)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(40));
    let mut found = ls.discover(&p("/a/b/c")).await;
    found.sort_by_key(|l| l.path.as_url_string());
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].token, deep.token);
    assert_eq!(
        found[0].path.as_url_string(),
        "/a/",
        "an ancestor root is shown as a collection"
    );
    assert!(found[0].deep && found[0].shared);
    assert_eq!(found[0].timeout, Some(Duration::from_secs(60)));
    assert_eq!(found[1].token, flat.token);
    assert_eq!(found[1].path.as_url_string(), "/a/b/c");
    assert_eq!(found[1].timeout, Some(Duration::from_secs(160)));
    assert_eq!(
        found[1]
            .owner
            .as_deref()
            .and_then(|o| o.get_text())
            .as_deref(),
        Some("tester")
    );
}

#[tokio::test]
async fn discovery_hides_the_token_of_another_principals_lock() {
    let (ls, _) = locks();
    let alice = ls.for_principal("alice");
    let held = lock(&alice, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert_eq!(alice.discover(&p("/doc")).await[0].token, held.token);
    let seen_by_bob = ls.for_principal("bob").discover(&p("/doc")).await;
    assert_eq!(seen_by_bob.len(), 1);
    assert!(seen_by_bob[0].token.is_empty());
    assert!(ls.discover(&p("/doc")).await[0].token.is_empty());
}

#[tokio::test]
async fn the_owner_element_comes_back_unchanged() {
    let (ls, _) = locks();
    let owner = Element::parse(Cursor::new(
        r#"<D:owner xmlns:D="DAV:"><D:href>mailto:alice@example.com</D:href></D:owner>"#,
    ))
    .unwrap();
    ls.lock(&p("/doc"), None, Some(&owner), None, false, false)
        .await
        .unwrap();
    let found = ls.discover(&p("/doc")).await;
    let shown = found[0].owner.as_deref().unwrap();
    assert_eq!(shown.name, "owner");
    assert_eq!(shown.namespace.as_deref(), Some("DAV:"));
    let href = shown.get_child("href").unwrap();
    assert_eq!(href.get_text().as_deref(), Some("mailto:alice@example.com"));
}

#[tokio::test]
async fn delete_removes_the_locks_at_and_below_the_path_only() {
    let (ls, _) = locks();
    lock(&ls, "/coll/", SHARED, SHALLOW, None).await.unwrap();
    lock(&ls, "/coll/a/b", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    lock(&ls, "/collection-next-door", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert_eq!(ls.delete(&p("/coll/")).await, Ok(()));
    assert!(ls.discover(&p("/coll/")).await.is_empty());
    assert!(ls.discover(&p("/coll/a/b")).await.is_empty());
    assert_eq!(ls.discover(&p("/collection-next-door")).await.len(), 1);
    assert!(
        lock(&ls, "/coll/a/b", EXCLUSIVE, SHALLOW, None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn spellings_of_one_resource_reach_one_lock() {
    let (ls, _) = locks();
    lock(&ls, "/dir/a%20b", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(!write(&ls, "/dir//a b/", SHALLOW, &[]).await);
    assert!(!write(&ls, "/dir/./x/../a%20b", SHALLOW, &[]).await);
    // A decoded '%' is data, never an escape.
    lock(&ls, "/pct%2541", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    assert!(write(&ls, "/pctA", SHALLOW, &[]).await);
    assert!(!write(&ls, "/pct%2541", SHALLOW, &[]).await);
}

#[tokio::test]
async fn a_path_longer_than_the_table_holds_is_refused_rather_than_unchecked() {
    let (ls, _) = locks();
    let long = format!("/{}", "x".repeat(400));
    assert!(lock(&ls, &long, EXCLUSIVE, SHALLOW, None).await.is_err());
    assert!(!write(&ls, &long, SHALLOW, &[]).await);
}

#[tokio::test]
async fn the_principal_quota_bounds_the_locks_one_principal_holds() {
    let (ls, _) = locks_with(policy().with_max_locks_per_principal(2));
    let alice = ls.for_principal("alice");
    lock(&alice, "/1", EXCLUSIVE, SHALLOW, None).await.unwrap();
    lock(&alice, "/2", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert!(lock(&alice, "/3", EXCLUSIVE, SHALLOW, None).await.is_err());
    assert!(
        lock(&ls.for_principal("bob"), "/3", EXCLUSIVE, SHALLOW, None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_full_table_is_kept_as_a_refusal_with_the_time_until_a_slot_frees() {
    let clock = ManualClock::new();
    let manager: LockManager<2, 64, 256> =
        LockManager::with_clock_and_seed(policy(), clock.clone(), [9; 16]).unwrap();
    let ls = DavLocks::new(manager);
    let owner = owner("tester");
    for (path, secs) in [("/a", 50), ("/b", 80)] {
        ls.lock(
            &p(path),
            None,
            Some(&owner),
            Some(Duration::from_secs(secs)),
            false,
            false,
        )
        .await
        .unwrap();
    }
    clock.advance(Duration::from_secs(10));
    let request = ls.for_request(Method::Lock, None);
    let refused = request
        .lock(&p("/c"), None, Some(&owner), None, false, false)
        .await;
    assert!(refused.is_err());
    let refusal = request.take_refusal().unwrap();
    assert_eq!(
        refusal,
        Refusal::TableFull {
            retry_after: Expiry::InSeconds(40)
        }
    );
    assert_eq!(refusal.meaning().status, 503);
    assert_eq!(request.take_refusal(), None, "taken once");
}

#[tokio::test]
async fn a_handle_without_a_request_keeps_no_refusal() {
    let (ls, _) = locks();
    lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.unwrap();
    assert!(lock(&ls, "/doc", EXCLUSIVE, SHALLOW, None).await.is_err());
    assert_eq!(ls.take_refusal(), None);
    let request = ls.for_request(Method::Lock, None);
    assert!(
        lock(&request, "/doc", EXCLUSIVE, SHALLOW, None)
            .await
            .is_err()
    );
    assert!(matches!(
        request.take_refusal(),
        Some(Refusal::LockConflict { .. })
    ));
}

#[tokio::test]
async fn a_lock_asked_for_zero_seconds_is_granted_one_second_not_born_expired() {
    let (ls, clock) = locks();
    let held = lock(&ls, "/doc", EXCLUSIVE, SHALLOW, Some(0))
        .await
        .unwrap();
    assert_eq!(held.timeout, Some(Duration::from_secs(1)));
    assert!(!write(&ls, "/doc", SHALLOW, &[]).await);
    clock.advance(Duration::from_millis(999));
    assert!(!write(&ls, "/doc", SHALLOW, &[]).await);
    clock.advance(Duration::from_millis(1));
    assert!(write(&ls, "/doc", SHALLOW, &[]).await);
}

#[tokio::test]
async fn a_mixed_content_owner_comes_back_intact_and_its_text_reaches_refusals() {
    let (ls, _) = locks();
    let owner = owner(r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name> (desk 4)"#);
    ls.lock(&p("/doc"), None, Some(&owner), None, false, false)
        .await
        .unwrap();
    let found = ls.discover(&p("/doc")).await;
    let shown = found[0].owner.as_deref().unwrap();
    let name = shown.get_child(("name", "urn:x")).unwrap();
    assert_eq!(name.get_text().as_deref(), Some("Alice & Co"));
    let put = ls.for_request(Method::Put, None);
    assert!(!write(&put, "/doc", SHALLOW, &[]).await);
    let Some(Refusal::Locked { lock, .. }) = put.take_refusal() else {
        panic!("no refusal kept")
    };
    assert_eq!(
        lockwarden::http::OwnerText(&lock.owner).to_string(),
        "Alice & Co (desk 4)"
    );
}

#[tokio::test]
async fn hidden_owners_are_hidden_from_dav_server_lockdiscovery() {
    let (ls, _) = locks();
    let alice = ls.for_principal("alice");
    lock(&alice, "/doc", EXCLUSIVE, SHALLOW, None)
        .await
        .unwrap();
    lock(&ls, "/other", EXCLUSIVE, SHALLOW, None).await.unwrap();
    ls.manager()
        .set_disclosure(lockwarden::http::Disclosure { owner: false });
    assert!(
        ls.for_principal("bob").discover(&p("/doc")).await[0]
            .owner
            .is_none()
    );
    assert!(ls.discover(&p("/other")).await[0].owner.is_none());
    // A lock's own principal still sees the owner it gave.
    assert!(alice.discover(&p("/doc")).await[0].owner.is_some());
}

#[tokio::test]
async fn the_dav_path_and_the_http_check_refuse_a_full_table_alike_rounding_up() {
    // One mapping from table errors to refusals, in the core: the same Retry-After.
    let clock = ManualClock::new();
    let manager: LockManager<1, 64, 256> =
        LockManager::with_clock_and_seed(policy(), clock.clone(), [9; 16]).unwrap();
    let ls = DavLocks::new(manager.clone());
    let owner = owner("tester");
    let secs = |s| Some(Duration::from_secs(s));
    ls.lock(&p("/a"), None, Some(&owner), secs(50), false, false)
        .await
        .unwrap();
    clock.advance(Duration::from_millis(10_500));
    let dav = ls.for_request(Method::Lock, None);
    let refused = dav.lock(&p("/c"), None, Some(&owner), None, false, false);
    assert!(refused.await.is_err());
    let from_dav = dav.take_refusal().unwrap();
    let http = lockwarden::http::Request::new(Method::Lock, b"/c")
        .lockinfo(lockwarden::Scope::Exclusive, "tester")
        .resource(true, None);
    let from_http = manager.check(&http).refusal().cloned().unwrap();
    assert_eq!(from_dav, from_http);
    assert_eq!(
        from_dav,
        Refusal::TableFull {
            retry_after: Expiry::InSeconds(40)
        }
    );
}
