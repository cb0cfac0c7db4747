//! The manager on a manual clock: expiry, refresh, principals, quota, a full table, and
//! sharing between threads.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use lockwarden::{
    Depth, LockError, LockRequest, Path, Policy, RefreshError, RefreshRequest, Timeout,
    UnlockError, WriteError, WriteRequest,
};
use lockwarden_std::{Clock, LockManager, ManagerError, ManualClock, MonotonicClock, TICK_HZ};

type Manager = LockManager<8, 64, 64>;

fn manager(policy: Policy) -> (Manager, ManualClock) {
    let clock = ManualClock::new();
    let manager = Manager::with_clock(policy, clock.clone()).unwrap();
    (manager, clock)
}

fn path(p: &str) -> Path<64> {
    Path::new(p).unwrap()
}

fn secs(s: u32) -> Timeout {
    Timeout::Finite(lockwarden::Duration(s * TICK_HZ))
}

#[test]
fn a_lock_stops_blocking_once_the_clock_passes_its_timeout() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    let wifi = path("/config/wifi");
    manager
        .lock(&LockRequest::exclusive(&wifi, "alice").timeout(secs(10)))
        .unwrap();
    clock.advance(Duration::from_millis(9_999));
    assert!(matches!(
        manager.authorize(&WriteRequest::resource(&wifi)),
        Err(WriteError::Locked(_))
    ));
    clock.advance(Duration::from_millis(1));
    assert_eq!(manager.authorize(&WriteRequest::resource(&wifi)), Ok(()));
    assert!(manager.is_empty());
    assert_eq!(manager.next_expiry(), None);
}

#[test]
fn expiry_is_measured_across_the_wrap_of_the_millisecond_counter() {
    let clock = ManualClock::starting_at(lockwarden::Instant(u32::MAX - 500));
    let manager = Manager::with_clock(Policy::new(TICK_HZ), clock.clone()).unwrap();
    let wifi = path("/config/wifi");
    manager
        .lock(&LockRequest::exclusive(&wifi, "alice").timeout(secs(1)))
        .unwrap();
    clock.advance(Duration::from_millis(900));
    assert_eq!(clock.now(), lockwarden::Instant(399));
    assert_eq!(manager.len(), 1);
    assert_eq!(
        manager.locks()[0].remaining,
        Timeout::Finite(lockwarden::Duration(100))
    );
    clock.advance(Duration::from_millis(100));
    assert_eq!(manager.len(), 0);
}

#[test]
fn an_expired_lock_stays_expired_when_only_reads_follow_and_the_counter_wraps_around_it() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    let wifi = path("/config/wifi");
    manager
        .lock(&LockRequest::exclusive(&wifi, "alice").timeout(secs(1)))
        .unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(manager.locks().is_empty());
    // 2³² + 100 ticks after the grant, the ticks alone would make the lock 100 ms old.
    clock.advance_ticks(lockwarden::Duration(u32::MAX - 2_000 + 101));
    assert_eq!(clock.now(), lockwarden::Instant(100));
    assert!(manager.locks().is_empty());
    assert!(manager.locks_covering(&wifi).is_empty());
    assert_eq!(manager.authorize(&WriteRequest::resource(&wifi)), Ok(()));
    assert!(manager.is_empty());
}

#[test]
fn refresh_restarts_the_timeout_from_now() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    let wifi = path("/config/wifi");
    let granted = manager
        .lock(&LockRequest::exclusive(&wifi, "alice").timeout(secs(10)))
        .unwrap();
    clock.advance(Duration::from_secs(8));
    let refreshed = manager
        .refresh(&RefreshRequest::new(&wifi, &granted.token).timeout(secs(10)))
        .unwrap();
    assert_eq!(refreshed.token, granted.token);
    clock.advance(Duration::from_secs(8));
    assert_eq!(manager.locks()[0].remaining_secs(), Some(2));
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        manager.refresh(&RefreshRequest::new(&wifi, &granted.token)),
        Err(RefreshError::NoSuchLock)
    );
}

#[test]
fn requested_timeouts_are_clamped_by_the_policy() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ).with_max_timeout_secs(60));
    let wifi = path("/config/wifi");
    let granted = manager
        .lock(&LockRequest::exclusive(&wifi, "alice").timeout(secs(3600)))
        .unwrap();
    assert_eq!(granted.timeout, secs(60));
    assert_eq!(manager.next_expiry(), Some(Duration::from_secs(60)));
}

#[test]
fn only_the_locking_principal_may_use_refresh_or_release_its_lock() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ));
    let wifi = path("/config/wifi");
    let granted = manager
        .lock(&LockRequest::exclusive(&wifi, "alice's laptop").principal("alice"))
        .unwrap();
    let token = [granted.token];
    assert_eq!(
        manager.authorize(
            &WriteRequest::resource(&wifi)
                .tokens(&token)
                .principal("bob")
        ),
        Err(WriteError::Forbidden)
    );
    assert_eq!(
        manager.refresh(&RefreshRequest::new(&wifi, &granted.token).principal("bob")),
        Err(RefreshError::Forbidden)
    );
    assert_eq!(
        manager.unlock(&wifi, &granted.token, Some("bob")),
        Err(UnlockError::Forbidden)
    );
    assert_eq!(
        manager.authorize(
            &WriteRequest::resource(&wifi)
                .tokens(&token)
                .principal("alice")
        ),
        Ok(())
    );
    assert_eq!(manager.locks_held_by("alice").len(), 1);
    assert!(manager.locks_held_by("bob").is_empty());
    manager
        .unlock(&wifi, &granted.token, Some("alice"))
        .unwrap();
    assert!(manager.is_empty());
}

#[test]
fn a_principal_cannot_hold_more_locks_than_its_quota() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ).with_max_locks_per_principal(2));
    for section in ["/a", "/b"] {
        manager
            .lock(&LockRequest::exclusive(&path(section), "x").principal("mallory"))
            .unwrap();
    }
    assert_eq!(
        manager.lock(&LockRequest::exclusive(&path("/c"), "x").principal("mallory")),
        Err(LockError::QuotaExceeded)
    );
    // Another principal is not affected.
    manager
        .lock(&LockRequest::exclusive(&path("/c"), "x").principal("alice"))
        .unwrap();
}

#[test]
fn a_full_table_says_when_a_slot_frees() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    for i in 0..8 {
        let p = path(&format!("/s{i}"));
        manager
            .lock(&LockRequest::exclusive(&p, "x").timeout(secs(30 + i)))
            .unwrap();
    }
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        manager.lock(&LockRequest::exclusive(&path("/s9"), "x")),
        Err(LockError::TableFull {
            retry_after: Some(lockwarden::Duration(20_000))
        })
    );
    clock.advance(Duration::from_secs(20));
    manager
        .lock(&LockRequest::exclusive(&path("/s9"), "x"))
        .unwrap();
}

#[test]
fn locks_covering_lists_the_locks_of_ancestors_with_depth_infinity() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ));
    manager
        .lock(&LockRequest::shared(&path("/config"), "alice").depth(Depth::Infinity))
        .unwrap();
    manager
        .lock(&LockRequest::shared(&path("/config/wifi"), "bob"))
        .unwrap();
    manager
        .lock(&LockRequest::exclusive(&path("/other"), "carol"))
        .unwrap();
    let mut owners: Vec<_> = manager
        .locks_covering(&path("/config/wifi"))
        .into_iter()
        .map(|l| l.owner)
        .collect();
    owners.sort();
    assert_eq!(owners, ["alice", "bob"]);
    assert_eq!(manager.locks().len(), 3);
}

#[test]
fn find_returns_only_a_live_lock_that_covers_the_path() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    let granted = manager
        .lock(&LockRequest::exclusive(&path("/config"), "alice").timeout(secs(5)))
        .unwrap();
    assert_eq!(
        manager
            .find(&path("/config"), &granted.token)
            .unwrap()
            .owner,
        "alice"
    );
    assert!(
        manager
            .find(&path("/config/wifi"), &granted.token)
            .is_none()
    );
    clock.advance(Duration::from_secs(5));
    assert!(manager.find(&path("/config"), &granted.token).is_none());
}

#[test]
fn force_unlock_releases_whoever_holds_the_lock() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ));
    manager
        .lock(&LockRequest::shared(&path("/config"), "a").principal("alice"))
        .unwrap();
    manager
        .lock(&LockRequest::shared(&path("/config"), "b").principal("bob"))
        .unwrap();
    assert_eq!(manager.force_unlock(&path("/config")), 2);
    assert!(manager.is_empty());
}

#[test]
fn purge_counts_the_locks_it_removes() {
    let (manager, clock) = manager(Policy::new(TICK_HZ));
    for i in 0..3 {
        manager
            .lock(&LockRequest::exclusive(&path(&format!("/s{i}")), "x").timeout(secs(1)))
            .unwrap();
    }
    manager
        .lock(&LockRequest::exclusive(&path("/long"), "x").timeout(secs(100)))
        .unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(manager.purge(), 3);
    assert_eq!(manager.purge(), 0);
    assert_eq!(manager.len(), 1);
}

#[test]
fn a_policy_counting_another_tick_rate_is_refused() {
    let error = Manager::with_clock(Policy::new(32_768), ManualClock::new()).unwrap_err();
    assert!(matches!(error, ManagerError::TickRate { policy: 32_768 }));
    assert!(error.to_string().contains("Policy::new(TICK_HZ)"));
}

#[test]
fn tokens_differ_between_managers_seeded_by_the_os() {
    let a: Manager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
    let b: Manager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
    let p = path("/x");
    let ta = a.lock(&LockRequest::exclusive(&p, "x")).unwrap().token;
    let tb = b.lock(&LockRequest::exclusive(&p, "x")).unwrap().token;
    assert_ne!(ta, tb);
}

#[test]
fn the_same_seed_gives_the_same_tokens() {
    let a =
        Manager::with_clock_and_seed(Policy::new(TICK_HZ), ManualClock::new(), [9; 16]).unwrap();
    let b =
        Manager::with_clock_and_seed(Policy::new(TICK_HZ), ManualClock::new(), [9; 16]).unwrap();
    let p = path("/x");
    assert_eq!(
        a.lock(&LockRequest::exclusive(&p, "x")).unwrap().token,
        b.lock(&LockRequest::exclusive(&p, "x")).unwrap().token
    );
}

#[test]
fn one_of_many_threads_racing_for_an_exclusive_lock_wins() {
    let manager: LockManager =
        LockManager::with_clock(Policy::new(TICK_HZ), MonotonicClock::new()).unwrap();
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let manager = manager.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let p = Path::new("/config/wifi").unwrap();
                let owner = format!("client {i}");
                barrier.wait();
                manager.lock(&LockRequest::exclusive(&p, &owner)).is_ok()
            })
        })
        .collect();
    let winners = handles.into_iter().map(|h| h.join().unwrap());
    assert_eq!(winners.filter(|won| *won).count(), 1);
    assert_eq!(manager.len(), 1);
}

#[test]
fn the_policy_clock_and_disclosure_can_be_read_inside_with() {
    let (manager, _clock) = manager(Policy::new(TICK_HZ).with_max_timeout_secs(60));
    let (done, result) = std::sync::mpsc::channel();
    let reader = manager.clone();
    // On another thread, so that a deadlock fails the test instead of hanging it.
    std::thread::spawn(move || {
        let read = reader.with(|_table, now| {
            (
                reader.now() == now,
                reader.disclosure().owner,
                reader.policy().max_timeout,
            )
        });
        let _ = done.send(read);
    });
    let read = result
        .recv_timeout(Duration::from_secs(5))
        .expect("reading inside `with` deadlocked");
    assert_eq!(read, (true, true, lockwarden::Duration(60_000)));
}

#[test]
fn a_server_holds_locks_of_as_many_principals_as_it_lists() {
    // The core's default list of 8 suits a device; a manager lists PRINCIPALS.
    let manager: LockManager<256, 64, 64> =
        LockManager::with_clock(Policy::new(TICK_HZ), ManualClock::new()).unwrap();
    let names: Vec<String> = (0..lockwarden_std::PRINCIPALS)
        .map(|i| format!("user{i}"))
        .collect();
    let paths: Vec<Path<64>> = (0..names.len())
        .map(|i| path(&format!("/config/user{i}")))
        .collect();
    for (name, p) in names.iter().zip(&paths) {
        let granted = manager.lock(&LockRequest::exclusive(p, "o").principal(name));
        assert!(granted.is_ok(), "{name}: {granted:?}");
    }
    // One more principal waits for one of theirs to go.
    let extra = path("/config/extra");
    assert!(matches!(
        manager.lock(&LockRequest::exclusive(&extra, "o").principal("one-more")),
        Err(LockError::TooManyPrincipals { .. })
    ));
    assert!(manager.force_unlock(&paths[0]) == 1);
    assert!(
        manager
            .lock(&LockRequest::exclusive(&extra, "o").principal("one-more"))
            .is_ok()
    );
}
