//! Where `now` comes from: the host's monotonic clock, or a clock a test moves by hand.
//!
//! The core table never reads a clock (every operation takes `now`); this module is the
//! one place on std that turns wall-independent time into [`lockwarden::Instant`]s. Ticks are
//! milliseconds ([`TICK_HZ`]) in a `u32` that wraps after about 49.7 days; the core
//! compares ticks with wrapping arithmetic, and the [`LockManager`](crate::LockManager)
//! purges expired locks before the wrap could make them look live again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Ticks per second of every clock in this crate: one tick is a millisecond.
pub const TICK_HZ: u32 = 1000;

/// A source of `now` for the lock table.
///
/// Implementations must be monotonic (modulo the `u32` wrap) and count [`TICK_HZ`] ticks
/// per second.
pub trait Clock: Send + Sync + 'static {
    /// The current tick.
    fn now(&self) -> lockwarden::Instant;
}

/// Milliseconds since the clock was created, from [`std::time::Instant`] (monotonic,
/// unaffected by changes of the wall clock).
///
/// # Examples
///
/// ```
/// use lockwarden_std::{Clock, MonotonicClock};
/// let clock = MonotonicClock::new();
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b.since(a).0 < 1000);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock that reads tick 0 now.
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> lockwarden::Instant {
        // Truncation to 32 bits is the wrap of a free-running counter, which the core expects.
        lockwarden::Instant(self.origin.elapsed().as_millis() as u32)
    }
}

/// A clock that only moves when told to, so tests can cross an expiry (or the `u32`
/// wrap) without sleeping. Clones share the same time.
///
/// # Examples
///
/// ```
/// use lockwarden::Instant;
/// use lockwarden_std::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::starting_at(lockwarden::Instant(u32::MAX));
/// clock.advance(Duration::from_millis(2));
/// assert_eq!(clock.now(), lockwarden::Instant(1));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU32>,
}

impl ManualClock {
    /// A clock at tick 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `tick`.
    pub fn starting_at(tick: lockwarden::Instant) -> Self {
        ManualClock {
            now: Arc::new(AtomicU32::new(tick.0)),
        }
    }

    /// Moves the clock forward by `by`, in whole milliseconds (wrapping like the counter).
    pub fn advance(&self, by: Duration) {
        self.advance_ticks(lockwarden::Duration(by.as_millis() as u32));
    }

    /// Moves the clock forward by `ticks`.
    pub fn advance_ticks(&self, ticks: lockwarden::Duration) {
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.wrapping_add(ticks.0))
            });
    }

    /// Sets the clock to `tick`.
    pub fn set(&self, tick: lockwarden::Instant) {
        self.now.store(tick.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> lockwarden::Instant {
        lockwarden::Instant(self.now.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_counts_milliseconds() {
        let clock = MonotonicClock::new();
        let before = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = clock.now().since(before);
        assert!(elapsed.0 >= 20, "elapsed {elapsed}");
        assert!(elapsed.0 < 5_000, "elapsed {elapsed}");
    }

    #[test]
    fn manual_clock_wraps_like_a_32_bit_counter() {
        let clock = ManualClock::starting_at(lockwarden::Instant(u32::MAX - 9));
        clock.advance(Duration::from_millis(20));
        assert_eq!(clock.now(), lockwarden::Instant(10));
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new();
        let other = clock.clone();
        other.advance_ticks(lockwarden::Duration(7));
        assert_eq!(clock.now(), lockwarden::Instant(7));
        clock.set(lockwarden::Instant(3));
        assert_eq!(other.now(), lockwarden::Instant(3));
    }
}
