//! One rule per test.

extern crate std;

use std::string::ToString;

use super::*;

type Table = LockTable<8, 64, 32>;

const HZ: u32 = 1000;

fn table() -> Table {
    let mut t = Table::new(Policy::new(HZ).with_max_locks_per_principal(3));
    t.seed_tokens([0x11; 16]);
    t
}

fn p(s: &str) -> Path<64> {
    Path::new(s).unwrap()
}

fn secs(n: u32) -> Timeout {
    Timeout::Finite(Duration(n * HZ))
}

fn lock_excl(t: &mut Table, now: u32, path: &str) -> Granted {
    let path = p(path);
    t.lock(Instant(now), &LockRequest::exclusive(&path, "owner"))
        .unwrap()
}

fn write(t: &Table, now: u32, path: &str, tokens: &[LockToken]) -> Result<(), WriteError<64, 32>> {
    t.authorize(
        Instant(now),
        &WriteRequest::resource(&p(path)).tokens(tokens),
    )
}

fn is_locked(r: Result<(), WriteError<64, 32>>) -> bool {
    matches!(r, Err(WriteError::Locked(_)))
}

#[test]
fn an_exclusive_lock_conflicts_with_any_lock_on_the_same_resource() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config/net");
    let path = p("/config/net");
    for req in [
        LockRequest::exclusive(&path, "b"),
        LockRequest::shared(&path, "b"),
    ] {
        assert!(matches!(t.lock(Instant(0), &req), Err(LockError::Conflict(c)) if c.root == path));
    }
}

#[test]
fn shared_locks_coexist_but_exclude_an_exclusive_lock() {
    let mut t = table();
    let path = p("/config/net");
    t.lock(Instant(0), &LockRequest::shared(&path, "a"))
        .unwrap();
    t.lock(Instant(0), &LockRequest::shared(&path, "b"))
        .unwrap();
    assert!(matches!(
        t.lock(Instant(0), &LockRequest::exclusive(&path, "c")),
        Err(LockError::Conflict(c)) if c.scope == Scope::Shared
    ));
}

#[test]
fn a_depth_infinity_lock_covers_every_descendant() {
    let mut t = table();
    let config = p("/config");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&config, "a").depth(Depth::Infinity),
        )
        .unwrap();
    assert!(is_locked(write(&t, 0, "/config/net/wifi", &[])));
    assert!(write(&t, 0, "/config/net/wifi", &[g.token]).is_ok());
    assert!(matches!(
        t.lock(Instant(0), &LockRequest::shared(&p("/config/net"), "b")),
        Err(LockError::Conflict(c)) if c.root == config && c.depth == Depth::Infinity
    ));
    assert!(write(&t, 0, "/configuration", &[]).is_ok());
    assert!(write(&t, 0, "/", &[]).is_ok());
}

#[test]
fn a_depth_zero_lock_covers_only_its_root() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config");
    assert!(is_locked(write(&t, 0, "/config", &[])));
    assert!(write(&t, 0, "/config/net", &[]).is_ok());
    assert!(
        t.lock(Instant(0), &LockRequest::exclusive(&p("/config/net"), "b"))
            .is_ok()
    );
}

#[test]
fn a_depth_zero_lock_on_a_collection_protects_its_membership() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config");
    let r = t.authorize(
        Instant(0),
        &WriteRequest::new(&p("/config"), Access::Membership),
    );
    assert!(is_locked(r));
}

#[test]
fn a_new_depth_infinity_lock_conflicts_with_live_locks_below_it() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config/net/wifi");
    let config = p("/config");
    let r = t.lock(
        Instant(0),
        &LockRequest::shared(&config, "b").depth(Depth::Infinity),
    );
    assert!(matches!(r, Err(LockError::Conflict(c)) if c.root == p("/config/net/wifi")));
    // Depth 0 does not reach below.
    assert!(
        t.lock(Instant(0), &LockRequest::shared(&config, "b"))
            .is_ok()
    );
}

#[test]
fn shared_locks_below_do_not_block_a_shared_depth_infinity_lock() {
    let mut t = table();
    t.lock(Instant(0), &LockRequest::shared(&p("/config/net"), "a"))
        .unwrap();
    let config = p("/config");
    assert!(
        t.lock(
            Instant(0),
            &LockRequest::shared(&config, "b").depth(Depth::Infinity)
        )
        .is_ok()
    );
}

#[test]
fn a_write_needs_the_token_of_the_covering_lock() {
    let mut t = table();
    let g = lock_excl(&mut t, 0, "/config/net");
    let other = lock_excl(&mut t, 0, "/config/time");
    assert!(is_locked(write(&t, 0, "/config/net", &[])));
    assert!(is_locked(write(&t, 0, "/config/net", &[other.token])));
    assert!(write(&t, 0, "/config/net", &[other.token, g.token]).is_ok());
}

#[test]
fn one_token_of_a_set_of_shared_locks_is_enough() {
    let mut t = table();
    let net = p("/config/net");
    let a = t.lock(Instant(0), &LockRequest::shared(&net, "a")).unwrap();
    t.lock(Instant(0), &LockRequest::shared(&net, "b")).unwrap();
    assert!(is_locked(write(&t, 0, "/config/net", &[])));
    assert!(write(&t, 0, "/config/net", &[a.token]).is_ok());
}

#[test]
fn a_subtree_write_needs_the_tokens_of_the_locks_inside_it() {
    let mut t = table();
    let wifi = lock_excl(&mut t, 0, "/config/net/wifi");
    let time = lock_excl(&mut t, 0, "/config/time");
    let config = p("/config");
    let del = |tokens: &[LockToken]| {
        t.authorize(
            Instant(0),
            &WriteRequest::new(&config, Access::Subtree).tokens(tokens),
        )
    };
    assert!(is_locked(del(&[])));
    assert!(is_locked(del(&[wifi.token])));
    assert!(del(&[wifi.token, time.token]).is_ok());
    // A plain write to the collection does not reach into it.
    assert!(
        t.authorize(Instant(0), &WriteRequest::resource(&config))
            .is_ok()
    );
}

#[test]
fn a_locked_resource_cannot_be_reached_through_another_spelling() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config/network");
    for alias in [
        "/config//network",
        "/config/network/",
        "/config/./network",
        "/config%2Fnetwork",
        "/config/x/../network",
        "/%63onfig/network",
    ] {
        assert!(is_locked(write(&t, 0, alias, &[])), "{alias}");
    }
}

#[test]
fn a_lock_with_a_principal_serves_that_principal_only() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").principal("alice"),
        )
        .unwrap();
    let now = Instant(1);
    assert_eq!(
        t.authorize(
            now,
            &WriteRequest::resource(&net)
                .tokens(&[g.token])
                .principal("bob")
        ),
        Err(WriteError::Forbidden)
    );
    assert_eq!(
        t.authorize(now, &WriteRequest::resource(&net).tokens(&[g.token])),
        Err(WriteError::Forbidden)
    );
    assert_eq!(
        t.authorize(
            now,
            &WriteRequest::resource(&net)
                .tokens(&[g.token])
                .principal("alice")
        ),
        Ok(())
    );
    assert_eq!(
        t.refresh(now, &RefreshRequest::new(&net, &g.token).principal("bob")),
        Err(RefreshError::Forbidden)
    );
    assert_eq!(
        t.unlock(now, &net, &g.token, Some("bob")),
        Err(UnlockError::Forbidden)
    );
    assert!(
        t.refresh(now, &RefreshRequest::new(&net, &g.token).principal("alice"))
            .is_ok()
    );
    assert_eq!(t.unlock(now, &net, &g.token, Some("alice")), Ok(()));
}

#[test]
fn an_anonymous_lock_serves_whoever_holds_its_token() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(Instant(0), &LockRequest::exclusive(&net, "a"))
        .unwrap();
    assert_eq!(
        t.authorize(
            Instant(0),
            &WriteRequest::resource(&net)
                .tokens(&[g.token])
                .principal("bob")
        ),
        Ok(())
    );
}

#[test]
fn an_expired_lock_blocks_nothing_even_before_it_is_purged() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").timeout(secs(10)),
        )
        .unwrap();
    assert!(is_locked(write(&t, 9_999, "/config/net", &[])));
    assert!(write(&t, 10_000, "/config/net", &[]).is_ok());
    assert!(t.find(Instant(10_000), &net, &g.token).is_none());
    assert!(
        t.lock(Instant(10_000), &LockRequest::exclusive(&net, "b"))
            .is_ok()
    );
}

#[test]
fn expiry_is_correct_across_the_counter_wrap() {
    let mut t = table();
    let net = p("/config/net");
    let start = u32::MAX - 5_000;
    t.lock(
        Instant(start),
        &LockRequest::exclusive(&net, "a").timeout(Timeout::Finite(Duration(10_000))),
    )
    .unwrap();
    assert!(is_locked(write(&t, start, "/config/net", &[])));
    assert!(is_locked(write(&t, 4_998, "/config/net", &[])));
    assert!(write(&t, 4_999, "/config/net", &[]).is_ok());
    assert_eq!(t.len(Instant(4_998)), 1);
    assert_eq!(t.len(Instant(4_999)), 0);
    t.check_invariants();
    t.check_order(Instant(4_998));
}

#[test]
fn the_deadline_order_holds_across_the_wrap() {
    let mut t = table();
    let start = u32::MAX - 50;
    for (i, timeout) in [100u32, 30, 70, 10, 200].into_iter().enumerate() {
        let path = p(&std::format!("/s{i}"));
        let req = LockRequest::exclusive(&path, "a").timeout(secs(timeout));
        t.lock(Instant(start.wrapping_add(i as u32)), &req).unwrap();
        t.check_order(Instant(start.wrapping_add(i as u32)));
    }
    t.check_invariants();
    assert_eq!(
        t.next_expiry(Instant(start.wrapping_add(10))),
        Some(Duration(9_993))
    );
}

#[test]
fn a_full_table_answers_the_time_until_a_slot_frees() {
    let mut t = Table::new(Policy::new(HZ).with_max_locks_per_principal(100));
    t.seed_tokens([2; 16]);
    for i in 0..8u32 {
        let path = p(&std::format!("/s{i}"));
        t.lock(
            Instant(i),
            &LockRequest::exclusive(&path, "a").timeout(secs(10 + i)),
        )
        .unwrap();
    }
    let extra = p("/extra");
    let r = t.lock(Instant(100), &LockRequest::exclusive(&extra, "a"));
    assert_eq!(
        r,
        Err(LockError::TableFull {
            retry_after: Some(Duration(10_000 - 100))
        })
    );
    // When the first lock expires, its slot is taken without a purge.
    assert!(
        t.lock(Instant(10_000), &LockRequest::exclusive(&extra, "a"))
            .is_ok()
    );
    t.check_invariants();
}

#[test]
fn a_table_full_of_infinite_locks_gives_no_retry_time() {
    let mut t: LockTable<2, 16, 8> = LockTable::new(Policy::new(HZ).with_infinite_locks());
    t.seed_tokens([2; 16]);
    for path in ["/a", "/b"] {
        let path = Path::new(path).unwrap();
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&path, "x").timeout(Timeout::Infinite),
        )
        .unwrap();
    }
    let c = Path::new("/c").unwrap();
    assert_eq!(
        t.lock(Instant(0), &LockRequest::exclusive(&c, "x")),
        Err(LockError::TableFull { retry_after: None })
    );
    assert_eq!(t.next_expiry(Instant(0)), None);
}

#[test]
fn one_principal_cannot_hold_more_than_its_quota() {
    let mut t = table();
    for i in 0..3 {
        let path = p(&std::format!("/s{i}"));
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&path, "a").principal("alice"),
        )
        .unwrap();
    }
    let more = p("/more");
    assert_eq!(
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&more, "a").principal("alice")
        ),
        Err(LockError::QuotaExceeded)
    );
    assert!(
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&more, "b").principal("bob")
        )
        .is_ok()
    );
    assert_eq!(t.locks_held_by(Instant(0), "alice").count(), 3);
}

#[test]
fn expired_locks_do_not_count_against_the_quota() {
    let mut t = table();
    for i in 0..3 {
        let path = p(&std::format!("/s{i}"));
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&path, "a")
                .principal("alice")
                .timeout(secs(1)),
        )
        .unwrap();
    }
    let more = p("/more");
    assert!(
        t.lock(
            Instant(HZ),
            &LockRequest::exclusive(&more, "a").principal("alice")
        )
        .is_ok()
    );
}

#[test]
fn requested_timeouts_are_clamped_by_the_policy() {
    let mut t: Table = LockTable::new(Policy::new(HZ).with_max_timeout_secs(60));
    t.seed_tokens([1; 16]);
    let (a, b, c) = (p("/a"), p("/b"), p("/c"));
    let long = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&a, "x").timeout(secs(1_000_000)),
        )
        .unwrap();
    assert_eq!(long.timeout, secs(60));
    let inf = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&b, "x").timeout(Timeout::Infinite),
        )
        .unwrap();
    assert_eq!(inf.timeout, secs(60));
    let default = t
        .lock(Instant(0), &LockRequest::exclusive(&c, "x"))
        .unwrap();
    assert_eq!(default.timeout, secs(60));
}

#[test]
fn a_refresh_restarts_the_timeout_from_now() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").timeout(secs(10)),
        )
        .unwrap();
    let r = t
        .refresh(
            Instant(9_000),
            &RefreshRequest::new(&p("/config/net/"), &g.token).timeout(secs(10)),
        )
        .unwrap();
    assert_eq!(r.token, g.token);
    assert!(is_locked(write(&t, 18_999, "/config/net", &[])));
    assert!(write(&t, 19_000, "/config/net", &[]).is_ok());
    assert_eq!(
        t.refresh(Instant(19_000), &RefreshRequest::new(&net, &g.token)),
        Err(RefreshError::NoSuchLock)
    );
    t.check_invariants();
}

#[test]
fn a_refresh_without_a_timeout_keeps_the_granted_timeout() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").timeout(secs(600)),
        )
        .unwrap();
    // Not the policy's default (180 s): the lock's own 600 s, counted from the refresh.
    let r = t
        .refresh(Instant(5_000), &RefreshRequest::new(&net, &g.token))
        .unwrap();
    assert_eq!(r.timeout, secs(600));
    assert!(is_locked(write(&t, 604_999, "/config/net", &[])));
    assert!(write(&t, 605_000, "/config/net", &[]).is_ok());
    t.check_invariants();
}

#[test]
fn a_lock_asked_for_zero_seconds_is_granted_one_second_not_born_expired() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").timeout(Timeout::Finite(Duration(0))),
        )
        .unwrap();
    assert_eq!(g.timeout, secs(1));
    assert!(is_locked(write(&t, 999, "/config/net", &[])));
    let r = t
        .refresh(
            Instant(500),
            &RefreshRequest::new(&net, &g.token).timeout(Timeout::Finite(Duration(0))),
        )
        .unwrap();
    assert_eq!(r.timeout, secs(1));
    assert!(is_locked(write(&t, 1_499, "/config/net", &[])));
}

#[test]
fn a_refresh_or_unlock_needs_a_path_within_the_lock() {
    let mut t = table();
    let config = p("/config");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&config, "a").depth(Depth::Infinity),
        )
        .unwrap();
    assert_eq!(
        t.unlock(Instant(0), &p("/other"), &g.token, None),
        Err(UnlockError::NoSuchLock)
    );
    assert!(
        t.refresh(
            Instant(0),
            &RefreshRequest::new(&p("/config/net"), &g.token)
        )
        .is_ok()
    );
    assert_eq!(
        t.unlock(Instant(0), &p("/config/net/wifi"), &g.token, None),
        Ok(())
    );
    // A depth-0 lock covers its root only.
    let g = lock_excl(&mut t, 0, "/config");
    assert_eq!(
        t.unlock(Instant(0), &p("/config/net"), &g.token, None),
        Err(UnlockError::NoSuchLock)
    );
}

#[test]
fn a_made_up_token_matches_nothing() {
    let mut t = table();
    lock_excl(&mut t, 0, "/config/net");
    let fake = LockToken::from_bytes([0x42; 16]);
    let net = p("/config/net");
    assert!(t.find(Instant(0), &net, &fake).is_none());
    assert!(is_locked(write(&t, 0, "/config/net", &[fake])));
    assert_eq!(
        t.unlock(Instant(0), &net, &fake, None),
        Err(UnlockError::NoSuchLock)
    );
}

#[test]
fn a_conflict_says_who_holds_the_lock_and_never_its_token() {
    let mut t = table();
    let net = p("/config/net");
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&net, "alice's laptop").timeout(secs(90)),
        )
        .unwrap();
    let Err(WriteError::Locked(c)) = write(&t, 5_000, "/config/net", &[]) else {
        panic!("not locked")
    };
    assert_eq!(c.owner, "alice's laptop");
    assert_eq!(c.remaining, secs(85));
    let shown = std::format!("{c} {c:?}");
    assert!(!shown.contains(&g.token.to_string()[9..]), "{shown}");
}

#[test]
fn overlong_owner_and_principal_are_refused() {
    let mut t = table();
    let net = p("/n");
    let long = "x".repeat(33);
    assert_eq!(
        t.lock(Instant(0), &LockRequest::exclusive(&net, &long)),
        Err(LockError::OwnerTooLong)
    );
    assert_eq!(
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&net, "a").principal(&long)
        ),
        Err(LockError::PrincipalTooLong)
    );
}

#[test]
fn next_expiry_is_the_earliest_deadline_of_a_live_lock() {
    let mut t = table();
    let (a, b) = (p("/a"), p("/b"));
    t.lock(
        Instant(0),
        &LockRequest::exclusive(&a, "x").timeout(secs(30)),
    )
    .unwrap();
    t.lock(
        Instant(0),
        &LockRequest::exclusive(&b, "x").timeout(secs(10)),
    )
    .unwrap();
    assert_eq!(t.next_expiry(Instant(1_000)), Some(Duration(9_000)));
    assert_eq!(t.next_expiry(Instant(10_000)), Some(Duration(20_000)));
    assert_eq!(t.next_expiry(Instant(30_000)), None);
}

#[test]
fn force_unlock_removes_every_lock_at_the_path() {
    let mut t = table();
    let net = p("/config/net");
    t.lock(
        Instant(0),
        &LockRequest::shared(&net, "a").principal("alice"),
    )
    .unwrap();
    t.lock(Instant(0), &LockRequest::shared(&net, "b").principal("bob"))
        .unwrap();
    lock_excl(&mut t, 0, "/config/time");
    assert_eq!(t.force_unlock(Instant(0), &net), 2);
    assert_eq!(t.len(Instant(0)), 1);
    t.check_invariants();
}

#[test]
fn mutating_operations_purge_expired_locks_on_their_way() {
    let mut t = table();
    for i in 0..4 {
        let path = p(&std::format!("/s{i}"));
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&path, "x").timeout(secs(1)),
        )
        .unwrap();
    }
    lock_excl(&mut t, HZ, "/fresh");
    // Two purged by the lock above; two remain for `purge`.
    assert_eq!(t.purge(Instant(HZ)), 2);
    t.check_invariants();
}

#[test]
fn the_root_can_be_locked_and_covers_everything_at_depth_infinity() {
    let mut t = table();
    let root = Path::root();
    let g = t
        .lock(
            Instant(0),
            &LockRequest::exclusive(&root, "admin").depth(Depth::Infinity),
        )
        .unwrap();
    assert!(is_locked(write(&t, 0, "/", &[])));
    assert!(is_locked(write(&t, 0, "/any/thing", &[])));
    assert!(write(&t, 0, "/any/thing", &[g.token]).is_ok());
}

// ---- the principal list ----

const NAMES: [&str; 10] = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];

/// A table with room for more locks than principals.
type Wide = LockTable<16, 64, 32>;

fn wide() -> Wide {
    let mut t = Wide::new(Policy::new(HZ).with_max_locks_per_principal(4));
    t.seed_tokens([0x22; 16]);
    t
}

fn lock_as(
    t: &mut Wide,
    now: u32,
    path: &str,
    who: &str,
    timeout: Timeout,
) -> Result<Granted, LockError<64, 32>> {
    let path = p(path);
    t.lock(
        Instant(now),
        &LockRequest::exclusive(&path, who)
            .principal(who)
            .timeout(timeout),
    )
}

#[test]
fn the_slot_spends_at_most_38_bytes_beyond_its_path_and_owner_bytes() {
    // A layout guard: 64 + 64 path and owner bytes, 166 in all (the table adds 2 per
    // slot for its buckets).
    assert!(core::mem::size_of::<Slot<64, 64>>() <= 166);
    assert_eq!(core::mem::align_of::<Slot<64, 64>>(), 2);
    assert_eq!(core::mem::size_of::<Path<64>>(), 68);
}

#[test]
fn a_principal_beyond_the_list_is_refused_with_the_time_until_a_lock_expires() {
    let mut t = wide();
    for (i, who) in NAMES.iter().take(DEFAULT_PRINCIPALS).enumerate() {
        lock_as(&mut t, 0, &std::format!("/r{i}"), who, secs(10 + i as u32)).unwrap();
    }
    // A listed principal may still lock; a new one may not.
    lock_as(&mut t, 0, "/more", "p3", secs(5)).unwrap();
    assert_eq!(
        lock_as(&mut t, 1000, "/other", "p8", secs(5)),
        Err(LockError::TooManyPrincipals {
            retry_after: Some(Duration(4000))
        })
    );
    // Anonymous locks need no entry.
    let anon = p("/anon");
    t.lock(Instant(1000), &LockRequest::exclusive(&anon, "x"))
        .unwrap();
    t.check_invariants();
}

#[test]
fn principal_entries_are_reused_after_unlock_purge_and_expiry() {
    let mut t = wide();
    let mut granted = std::vec::Vec::new();
    for (i, who) in NAMES.iter().take(DEFAULT_PRINCIPALS).enumerate() {
        granted.push(lock_as(&mut t, 0, &std::format!("/r{i}"), who, secs(10 + i as u32)).unwrap());
    }
    // Unlock: p0's only lock goes, its entry frees.
    t.unlock(Instant(0), &p("/r0"), &granted[0].token, Some("p0"))
        .unwrap();
    lock_as(&mut t, 0, "/s8", "p8", secs(100)).unwrap();
    assert!(matches!(
        lock_as(&mut t, 0, "/s9", "p9", secs(100)),
        Err(LockError::TooManyPrincipals { .. })
    ));
    // Expiry, before any purge: p1's lock (11 s) has expired at 11 s.
    lock_as(&mut t, 11_000, "/s9", "p9", secs(100)).unwrap();
    assert_eq!(t.locks_held_by(Instant(11_000), "p1").count(), 0);
    // Purge: p2 (12 s) and p3 (13 s) expire, a purge frees both entries.
    t.purge(Instant(13_000));
    lock_as(&mut t, 13_000, "/s0", "p0", secs(100)).unwrap();
    lock_as(&mut t, 13_000, "/s1", "p1", secs(100)).unwrap();
    // force_unlock frees an entry too.
    assert_eq!(t.force_unlock(Instant(13_000), &p("/r4")), 1);
    lock_as(&mut t, 13_000, "/s2", "p2", secs(100)).unwrap();
    t.check_invariants();
    for who in ["p0", "p1", "p2", "p8", "p9"] {
        assert_eq!(t.locks_held_by(Instant(13_000), who).count(), 1, "{who}");
        assert!(
            t.locks_held_by(Instant(13_000), who)
                .all(|l| l.principal == Some(who))
        );
    }
}

#[test]
fn two_principals_never_share_an_index() {
    let mut t = wide();
    let a = lock_as(&mut t, 0, "/a", "alice", secs(10)).unwrap();
    let b = lock_as(&mut t, 0, "/b", "bob", secs(100)).unwrap();
    // alice's entry frees when her lock expires, and carol takes it.
    let c = lock_as(&mut t, 10_000, "/c", "carol", secs(100)).unwrap();
    assert!(t.find(Instant(10_000), &p("/a"), &a.token).is_none());
    let idx = |t: &Wide, who| t.principal_index(Some(who));
    assert_ne!(idx(&t, "bob"), idx(&t, "carol"));
    assert_eq!(idx(&t, "alice"), NOT_LISTED);
    // alice comes back: another entry than carol's, and neither may use the other's lock.
    let a = lock_as(&mut t, 10_000, "/a", "alice", secs(100)).unwrap();
    assert_ne!(idx(&t, "alice"), idx(&t, "carol"));
    let res = |t: &Wide, path, tok, who| {
        t.authorize(
            Instant(10_000),
            &WriteRequest::resource(&p(path))
                .tokens(&[tok])
                .principal(who),
        )
    };
    assert_eq!(res(&t, "/c", c.token, "alice"), Err(WriteError::Forbidden));
    assert_eq!(res(&t, "/a", a.token, "carol"), Err(WriteError::Forbidden));
    assert_eq!(res(&t, "/b", b.token, "bob"), Ok(()));
    assert_eq!(res(&t, "/a", a.token, "alice"), Ok(()));
    assert_eq!(res(&t, "/c", c.token, "carol"), Ok(()));
    let view = t.find(Instant(10_000), &p("/c"), &c.token).unwrap();
    assert_eq!(view.principal, Some("carol"));
    t.check_invariants();
}

#[test]
fn an_unlisted_principal_holds_nothing_but_may_use_anonymous_locks() {
    let mut t = wide();
    let mine = lock_as(&mut t, 0, "/mine", "alice", secs(100)).unwrap();
    let open = p("/open");
    let anon = t
        .lock(Instant(0), &LockRequest::exclusive(&open, "x"))
        .unwrap();
    let w = |t: &Wide, path, tok, who| {
        t.authorize(
            Instant(1),
            &WriteRequest {
                principal: who,
                ..WriteRequest::resource(&p(path)).tokens(&[tok])
            },
        )
    };
    for who in [None, Some("alice"), Some("stranger")] {
        assert_eq!(w(&t, "/open", anon.token, who), Ok(()), "{who:?}");
    }
    assert_eq!(
        w(&t, "/mine", mine.token, Some("stranger")),
        Err(WriteError::Forbidden)
    );
    assert_eq!(w(&t, "/mine", mine.token, None), Err(WriteError::Forbidden));
    assert_eq!(
        t.refresh(
            Instant(1),
            &RefreshRequest::new(&p("/mine"), &mine.token).principal("stranger")
        ),
        Err(RefreshError::Forbidden)
    );
    assert_eq!(
        t.unlock(Instant(1), &p("/mine"), &mine.token, Some("stranger")),
        Err(UnlockError::Forbidden)
    );
    assert_eq!(t.locks_held_by(Instant(1), "stranger").count(), 0);
    assert_eq!(t.locks_held_by(Instant(1), "alice").count(), 1);
    assert_eq!(
        t.refresh(
            Instant(1),
            &RefreshRequest::new(&p("/open"), &anon.token).principal("stranger")
        )
        .map(|g| g.token),
        Ok(anon.token)
    );
    assert_eq!(
        t.unlock(Instant(1), &p("/open"), &anon.token, Some("stranger")),
        Ok(())
    );
}

#[test]
fn the_quota_counts_the_principals_own_locks_only() {
    let mut t = wide();
    for i in 0..4 {
        lock_as(&mut t, 0, &std::format!("/a{i}"), "alice", secs(100)).unwrap();
    }
    assert_eq!(
        lock_as(&mut t, 0, "/a4", "alice", secs(100)),
        Err(LockError::QuotaExceeded)
    );
    lock_as(&mut t, 0, "/b0", "bob", secs(100)).unwrap();
    assert_eq!(t.locks_held_by(Instant(0), "alice").count(), 4);
    assert_eq!(t.locks_held_by(Instant(0), "bob").count(), 1);
}

#[test]
fn a_finite_timeout_never_reads_as_infinite() {
    let mut slot = Slot::<8, 8>::EMPTY;
    for t in [
        0,
        1,
        Duration::MAX_TIMEOUT.0,
        Duration::MAX_TIMEOUT.0 + 1,
        u32::MAX - 1,
        u32::MAX,
    ] {
        slot.set_times(Instant(u32::MAX), Timeout::Finite(Duration(t)));
        assert_eq!(
            slot.timeout(),
            Timeout::Finite(Duration(t.min(Duration::MAX_TIMEOUT.0)))
        );
        assert_eq!(slot.granted(), Instant(u32::MAX));
    }
    slot.set_times(Instant(7), Timeout::Infinite);
    assert_eq!(slot.timeout(), Timeout::Infinite);
}

#[test]
fn scope_and_depth_share_a_byte_and_read_back() {
    let path = p("/x");
    for scope in [Scope::Exclusive, Scope::Shared] {
        for depth in [Depth::Zero, Depth::Infinity] {
            let slot = Slot::<64, 32>::new(
                &path,
                heapless::String::new(),
                LockToken::from_bytes([1; 16]),
                scope,
                depth,
                ANONYMOUS,
                Instant(0),
                secs(1),
            );
            assert_eq!((slot.scope(), slot.depth()), (scope, depth));
        }
    }
}

#[test]
fn a_table_lists_as_many_principals_as_its_u_says() {
    let mut t: LockTable<4, 64, 64, 2> = LockTable::new(Policy::new(1000));
    t.seed_tokens([1; 16]);
    let (a, b, c) = (p("/a"), p("/b"), p("/c"));
    assert!(
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&a, "o").principal("ann")
        )
        .is_ok()
    );
    assert!(
        t.lock(
            Instant(0),
            &LockRequest::exclusive(&b, "o").principal("bob")
        )
        .is_ok()
    );
    assert!(matches!(
        t.lock(Instant(0), &LockRequest::exclusive(&c, "o").principal("cy")),
        Err(LockError::TooManyPrincipals { .. })
    ));
    // Anonymous locks and the listed principals' further locks need no entry.
    assert!(t.lock(Instant(0), &LockRequest::exclusive(&c, "o")).is_ok());
    assert_eq!(
        core::mem::size_of::<LockTable<4, 64, 64, 2>>() + 6 * 36,
        core::mem::size_of::<LockTable<4, 64, 64>>()
    );
}
