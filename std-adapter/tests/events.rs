//! The manager's `tracing` events: granted, refused, refreshed, released, expired (by a
//! request's purge and by the purger thread), and never a token.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use lockwarden::{LockRequest, Path, Policy, RefreshRequest, Timeout};
use lockwarden_std::{LockManager, ManualClock, TICK_HZ};

type Manager = LockManager<8, 64, 64>;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every event of every thread, as formatted lines (one subscriber for the whole binary).
fn log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_thread_names(true)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

/// The captured lines that mention `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    let bytes = log().0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

fn setup() -> (Manager, ManualClock) {
    log();
    let clock = ManualClock::new();
    (
        Manager::with_clock(Policy::new(TICK_HZ), clock.clone()).unwrap(),
        clock,
    )
}

#[test]
fn granting_refreshing_and_releasing_a_lock_are_logged_without_its_token() {
    let (manager, _clock) = setup();
    let p: Path<64> = Path::new("/events/lifecycle").unwrap();
    let granted = manager
        .lock(&LockRequest::exclusive(&p, "alice's laptop").principal("alice"))
        .unwrap();
    manager
        .refresh(&RefreshRequest::new(&p, &granted.token).principal("alice"))
        .unwrap();
    manager.unlock(&p, &granted.token, Some("alice")).unwrap();

    let lines = lines_with("/events/lifecycle");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("lock granted") && l.contains("alice's laptop"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("lock refreshed") && l.contains("Second-180"))
    );
    assert!(lines.iter().any(|l| l.contains("lock released")));
    let token = granted.token.to_string();
    assert!(
        lines.iter().all(|l| !l.contains(&token[9..])),
        "a token was logged: {lines:?}"
    );
}

#[test]
fn refused_locks_and_unlocks_are_logged_with_the_reason() {
    let (manager, _clock) = setup();
    let p: Path<64> = Path::new("/events/refused").unwrap();
    let granted = manager
        .lock(&LockRequest::exclusive(&p, "alice").principal("alice"))
        .unwrap();
    manager
        .lock(&LockRequest::exclusive(&p, "bob"))
        .unwrap_err();
    manager.unlock(&p, &granted.token, Some("bob")).unwrap_err();

    let lines = lines_with("/events/refused");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("lock refused") && l.contains("conflicts"))
    );
    assert!(lines.iter().any(|l| l.contains("unlock refused")));
}

#[test]
fn locks_removed_by_a_purge_are_logged_as_expired() {
    let (manager, clock) = setup();
    let p: Path<64> = Path::new("/events/expired-on-request").unwrap();
    manager
        .lock(
            &LockRequest::exclusive(&p, "x").timeout(Timeout::Finite(lockwarden::Duration(1_000))),
        )
        .unwrap();
    let before = lines_with("locks expired").len();
    clock.advance(Duration::from_millis(1_000));
    // The next operation purges before it looks at the table.
    manager.lock(&LockRequest::exclusive(&p, "y")).unwrap();
    assert!(lines_with("locks expired").len() > before);
}

#[test]
fn the_purger_thread_logs_expiry_without_any_request() {
    let (manager, clock) = setup();
    let p: Path<64> = Path::new("/events/expired-by-purger").unwrap();
    manager
        .lock(
            &LockRequest::exclusive(&p, "x").timeout(Timeout::Finite(lockwarden::Duration(1_000))),
        )
        .unwrap();
    let purger = manager.spawn_purger(Duration::from_millis(5)).unwrap();
    clock.advance(Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(5);
    // The purger is the only thing that touches this manager now: any call here would
    // purge too, and hide whether the thread did it.
    let purged = loop {
        if lines_with("locks expired")
            .iter()
            .any(|l| l.contains("lockwarden-purger"))
        {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(purger);
    assert!(purged, "no expiry event from the purger thread");
}
