//! The rules a deployment chooses: timeouts, what `Infinite` means, quotas.

use crate::tick::{Duration, Timeout};

/// Timeouts and quotas of a lock table.
///
/// All durations are in ticks; `tick_hz` says how many ticks make a second, so that the
/// protocol layer can speak seconds (`Timeout: Second-60`, `Retry-After`).
///
/// # Examples
///
/// ```
/// use lockwarden::{Policy, Duration, Timeout};
/// let policy = Policy::new(1000).with_max_timeout_secs(600).with_max_locks_per_principal(4);
/// assert_eq!(policy.grant(Some(Timeout::Finite(Duration(10_000_000)))), Timeout::Finite(Duration(600_000)));
/// assert_eq!(policy.grant(Some(Timeout::Infinite)), Timeout::Finite(Duration(600_000)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy {
    /// Ticks per second.
    pub tick_hz: u32,
    /// Granted when a request names no timeout.
    pub default_timeout: Duration,
    /// The longest finite timeout granted; longer requests are clamped to it. At most
    /// [`Duration::MAX_TIMEOUT`].
    pub max_timeout: Duration,
    /// What a request for `Infinite` is granted: [`Timeout::Infinite`] to honour it, or a
    /// finite timeout (clamped to `max_timeout`). A device should not let a client that
    /// vanished hold a setting forever, so [`Policy::new`] grants `max_timeout`.
    pub infinite: Timeout,
    /// The most live locks one principal may hold, so that one client cannot fill the
    /// table for everyone. Anonymous locks are not counted.
    pub max_locks_per_principal: u16,
}

impl Policy {
    /// Every field zero: the policy of [`LockTable::unconfigured`](crate::LockTable::unconfigured)
    /// until [`LockTable::set_policy`](crate::LockTable::set_policy) replaces it. Not a
    /// policy to lock under (a lock would last one tick, and principals may hold none).
    pub const ZERO: Policy = Policy {
        tick_hz: 0,
        default_timeout: Duration(0),
        max_timeout: Duration(0),
        infinite: Timeout::Finite(Duration(0)),
        max_locks_per_principal: 0,
    };

    /// Defaults: 180 s default timeout, 3600 s maximum (both clamped to what 31 bits of
    /// ticks can express), `Infinite` granted as the maximum, 16 locks per principal.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Duration};
    /// assert_eq!(Policy::new(1000).default_timeout, Duration(180_000));
    /// // At 1 MHz, an hour does not fit in 31 bits: the maximum is clamped.
    /// assert_eq!(Policy::new(1_000_000).max_timeout, Duration::MAX_TIMEOUT);
    /// ```
    pub const fn new(tick_hz: u32) -> Self {
        let max = clamp_timeout(Duration::from_secs(3600, tick_hz));
        Policy {
            tick_hz,
            default_timeout: clamp_timeout(Duration::from_secs(180, tick_hz)),
            max_timeout: max,
            infinite: Timeout::Finite(max),
            max_locks_per_principal: 16,
        }
    }

    /// With this default timeout, in seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Duration};
    /// assert_eq!(Policy::new(10).with_default_timeout_secs(6).default_timeout, Duration(60));
    /// ```
    pub const fn with_default_timeout_secs(mut self, secs: u64) -> Self {
        self.default_timeout = clamp_timeout(Duration::from_secs(secs, self.tick_hz));
        self
    }

    /// With this maximum timeout, in seconds; `Infinite` is then granted as it too,
    /// unless [`Policy::with_infinite_locks`] follows.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Duration};
    /// assert_eq!(Policy::new(10).with_max_timeout_secs(6).max_timeout, Duration(60));
    /// ```
    pub const fn with_max_timeout_secs(mut self, secs: u64) -> Self {
        self.max_timeout = clamp_timeout(Duration::from_secs(secs, self.tick_hz));
        if let Timeout::Finite(_) = self.infinite {
            self.infinite = Timeout::Finite(self.max_timeout);
        }
        self
    }

    /// Grants `Infinite` as asked: such locks last until released.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Timeout};
    /// assert_eq!(Policy::new(10).with_infinite_locks().grant(Some(Timeout::Infinite)), Timeout::Infinite);
    /// ```
    pub const fn with_infinite_locks(mut self) -> Self {
        self.infinite = Timeout::Infinite;
        self
    }

    /// With this quota of live locks per principal.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Policy;
    /// assert_eq!(Policy::new(10).with_max_locks_per_principal(2).max_locks_per_principal, 2);
    /// ```
    pub const fn with_max_locks_per_principal(mut self, max: u16) -> Self {
        self.max_locks_per_principal = max;
        self
    }

    /// The timeout granted for a request: the default when none is asked, finite
    /// requests clamped to `max_timeout`, `Infinite` as the policy says; and never less
    /// than [`Policy::min_timeout`], one second, so that no lock is born expired
    /// (`Timeout: Second-0` is granted as `Second-1`).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Duration, Timeout};
    /// let p = Policy::new(1000);
    /// assert_eq!(p.grant(None), Timeout::Finite(p.default_timeout));
    /// assert_eq!(p.grant(Some(Timeout::Finite(Duration(0)))), Timeout::Finite(Duration(1000)));
    /// assert_eq!(p.grant(Some(Timeout::Finite(Duration(400)))), Timeout::Finite(Duration(1000)));
    /// ```
    pub const fn grant(&self, requested: Option<Timeout>) -> Timeout {
        let max = clamp_timeout(self.max_timeout);
        let ticks = match requested {
            None => self.default_timeout,
            Some(Timeout::Finite(t)) => t,
            Some(Timeout::Infinite) => match self.infinite {
                Timeout::Infinite => return Timeout::Infinite,
                Timeout::Finite(t) => t,
            },
        };
        let ticks = if ticks.0 > max.0 { max } else { ticks };
        // A lock that expires before its holder can use the token protects nothing; the
        // minimum wins over a smaller maximum.
        let min = self.min_timeout();
        Timeout::Finite(if ticks.0 < min.0 { min } else { ticks })
    }

    /// The shortest timeout granted: one second (at least one tick).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Policy, Duration};
    /// assert_eq!(Policy::new(32_768).min_timeout(), Duration(32_768));
    /// assert_eq!(Policy::new(0).min_timeout(), Duration(1));
    /// ```
    pub const fn min_timeout(&self) -> Duration {
        clamp_timeout(Duration(if self.tick_hz == 0 { 1 } else { self.tick_hz }))
    }
}

const fn clamp_timeout(t: Duration) -> Duration {
    if t.0 > Duration::MAX_TIMEOUT.0 {
        Duration::MAX_TIMEOUT
    } else {
        t
    }
}
