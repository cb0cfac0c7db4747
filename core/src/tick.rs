//! Time as the table sees it: ticks of a free-running counter that may wrap.
//!
//! The table never reads a clock; every operation is handed `now`. Ticks are 32 bits
//! wide so that a hardware counter (SysTick-driven, a timer peripheral, a millisecond
//! count) can be used directly. All comparisons are made on *elapsed* ticks with
//! wrapping arithmetic, so they stay correct when the counter wraps past `u32::MAX`.
//!
//! The limits that follow from a 32-bit counter:
//! - a finite timeout is at most [`Duration::MAX_TIMEOUT`] (2³¹ − 1 ticks; requests are
//!   clamped to it), and
//! - an expired lock must be purged before 2³² ticks have passed since it was granted,
//!   or its elapsed time wraps and it would look fresh. Every mutating operation purges
//!   a few expired locks, [`LockTable::next_expiry`](crate::LockTable::next_expiry) and
//!   [`LockTable::purge`](crate::LockTable::purge) purge all of them: calling either at
//!   least once per 2³¹ ticks (24 days at 1 kHz) is enough.

use core::fmt;

/// A point in time: the value of the tick counter. Named like embassy-time's and
/// smoltcp's `Instant`, but counting the ticks of whatever counter the firmware feeds
/// the table; beside `std::time`, write it `lockwarden::Instant`.
///
/// # Examples
///
/// ```
/// use lockwarden::{Instant, Duration};
/// let before_wrap = Instant(u32::MAX - 1);
/// let after_wrap = before_wrap + Duration(5);
/// assert_eq!(after_wrap, Instant(3));
/// assert_eq!(after_wrap.since(before_wrap), Duration(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(pub u32);

/// A span of time in ticks (see [`Instant`]).
///
/// # Examples
///
/// ```
/// use lockwarden::Duration;
/// assert_eq!(Duration::from_secs(60, 1000), Duration(60_000));
/// assert_eq!(Duration(1500).as_secs_ceil(1000), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration(pub u32);

impl Instant {
    /// The ticks that have passed from `earlier` to `self`, across a wrap of the counter.
    ///
    /// Meaningful only when less than 2³² ticks separate the two.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Instant, Duration};
    /// assert_eq!(Instant(2).since(Instant(u32::MAX)), Duration(3));
    /// ```
    #[inline]
    pub const fn since(self, earlier: Instant) -> Duration {
        Duration(self.0.wrapping_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    #[inline]
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.wrapping_add(rhs.0))
    }
}

impl Duration {
    /// The longest finite timeout: half the counter range, so that a remaining time is
    /// never confused with a wrapped elapsed time.
    pub const MAX_TIMEOUT: Duration = Duration(i32::MAX as u32);

    /// `secs` seconds at `hz` ticks per second, saturating at `u32::MAX` ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Duration;
    /// assert_eq!(Duration::from_secs(u64::MAX, 1000), Duration(u32::MAX));
    /// ```
    #[inline]
    pub const fn from_secs(secs: u64, hz: u32) -> Duration {
        let ticks = (secs as u128) * (hz as u128);
        if ticks > u32::MAX as u128 {
            Duration(u32::MAX)
        } else {
            Duration(ticks as u32)
        }
    }

    /// Whole seconds at `hz` ticks per second, rounded up (a `Retry-After` that is too
    /// short only makes the client come back too early). A zero `hz` gives 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Duration;
    /// assert_eq!(Duration(1).as_secs_ceil(1000), 1);
    /// assert_eq!(Duration(0).as_secs_ceil(1000), 0);
    /// ```
    #[inline]
    pub const fn as_secs_ceil(self, hz: u32) -> u32 {
        if hz == 0 {
            return 0;
        }
        self.0.div_ceil(hz)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ticks", self.0)
    }
}

/// How long a lock lasts: a number of ticks, or until it is released.
///
/// # Examples
///
/// ```
/// use lockwarden::{Timeout, Duration};
/// assert!(Timeout::Infinite > Timeout::Finite(Duration(u32::MAX)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Timeout {
    /// Expires after this many ticks.
    Finite(Duration),
    /// Never expires; lasts until it is released.
    Infinite,
}

impl Timeout {
    /// The finite number of ticks, or `None` for [`Timeout::Infinite`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Timeout, Duration};
    /// assert_eq!(Timeout::Finite(Duration(5)).ticks(), Some(Duration(5)));
    /// assert_eq!(Timeout::Infinite.ticks(), None);
    /// ```
    #[inline]
    pub const fn ticks(self) -> Option<Duration> {
        match self {
            Timeout::Finite(t) => Some(t),
            Timeout::Infinite => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_is_correct_across_the_wrap() {
        let t0 = Instant(u32::MAX - 10);
        let t1 = t0 + Duration(20);
        assert_eq!(t1, Instant(9));
        assert_eq!(t1.since(t0), Duration(20));
    }

    #[test]
    fn seconds_conversion_saturates_and_rounds_up() {
        assert_eq!(
            Duration::from_secs(5_000_000, 1_000_000),
            Duration(u32::MAX)
        );
        assert_eq!(Duration(1001).as_secs_ceil(1000), 2);
        assert_eq!(Duration(u32::MAX).as_secs_ceil(1), u32::MAX);
        assert_eq!(Duration(7).as_secs_ceil(0), 0);
    }
}
