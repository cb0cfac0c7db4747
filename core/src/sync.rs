//! Sharing one table between main code and interrupt handlers, or across cores.
//!
//! Both wrappers own their table and hand it out for the length of a closure, and both
//! have a `const fn new`, so a table can be a `static`. One type generic over the mutex
//! kind (embassy-sync's `Mutex<R: RawMutex, T>`) needs an `unsafe impl Sync` for the
//! cell inside; this crate forbids `unsafe`, so each kind wraps the ecosystem's own safe
//! mutex instead, and [`SharedLockTable`] lets code be generic over the kind.

#[cfg(any(feature = "critical-section", feature = "spin"))]
use crate::{LockTable, Policy};

/// A lock table that code can reach through a shared reference.
///
/// # Examples
///
/// ```
/// use lockwarden::sync::SharedLockTable;
/// use lockwarden::{Path, Instant};
///
/// fn locked_count<const N: usize, const P: usize, const O: usize, const U: usize>(
///     table: &impl SharedLockTable<N, P, O, U>,
///     now: Instant,
/// ) -> usize {
///     table.with(|t| t.len(now))
/// }
/// # #[cfg(feature = "spin")] {
/// let table: lockwarden::sync::SpinLockTable<4> = lockwarden::sync::SpinLockTable::new(lockwarden::Policy::new(1000));
/// assert_eq!(locked_count(&table, Instant(0)), 0);
/// # }
/// ```
pub trait SharedLockTable<
    const N: usize,
    const P: usize = 64,
    const O: usize = 64,
    const U: usize = { crate::table::DEFAULT_PRINCIPALS },
>
{
    /// Runs `f` with exclusive access to the table.
    fn with<R>(&self, f: impl FnOnce(&mut crate::LockTable<N, P, O, U>) -> R) -> R;
}

/// A table for a `static` shared between main code and interrupt handlers on one core
/// (feature `critical-section`).
///
/// # Examples
///
/// ```
/// use lockwarden::sync::{CsLockTable, SharedLockTable};
/// use lockwarden::{LockRequest, Path, Policy, Instant};
///
/// static LOCKS: CsLockTable<8> = CsLockTable::new(Policy::new(1000));
///
/// LOCKS.with(|t| t.seed_tokens([9; 16]));
/// let net = Path::new("/config/network").unwrap();
/// let granted = LOCKS.with(|t| t.lock(Instant(0), &LockRequest::exclusive(&net, "panel")));
/// assert!(granted.is_ok());
/// ```
#[cfg(feature = "critical-section")]
pub struct CsLockTable<
    const N: usize,
    const P: usize = 64,
    const O: usize = 64,
    const U: usize = { crate::table::DEFAULT_PRINCIPALS },
> {
    table: critical_section::Mutex<core::cell::RefCell<LockTable<N, P, O, U>>>,
}

#[cfg(feature = "critical-section")]
impl<const N: usize, const P: usize, const O: usize, const U: usize> CsLockTable<N, P, O, U> {
    /// A shared [`LockTable::unconfigured`]: all zeros, so a `static` of it lives in
    /// `.bss`. Set its policy and seed through `with` at start-up.
    pub const fn unconfigured() -> Self {
        CsLockTable {
            table: critical_section::Mutex::new(
                core::cell::RefCell::new(LockTable::unconfigured()),
            ),
        }
    }

    /// An empty table under `policy`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::sync::CsLockTable;
    /// use lockwarden::Policy;
    /// static LOCKS: CsLockTable<4, 32, 16> = CsLockTable::new(Policy::new(100));
    /// ```
    pub const fn new(policy: Policy) -> Self {
        CsLockTable {
            table: critical_section::Mutex::new(core::cell::RefCell::new(LockTable::new(policy))),
        }
    }
}

#[cfg(feature = "critical-section")]
impl<const N: usize, const P: usize, const O: usize, const U: usize> SharedLockTable<N, P, O, U>
    for CsLockTable<N, P, O, U>
{
    /// Runs `f` inside a critical section.
    ///
    /// Calling `with` again from inside `f` is a programming error that panics (the
    /// table is already borrowed); keep `f` short, interrupts wait for it.
    fn with<R>(&self, f: impl FnOnce(&mut LockTable<N, P, O, U>) -> R) -> R {
        critical_section::with(|cs| f(&mut self.table.borrow_ref_mut(cs)))
    }
}

/// A table shared across cores behind a spin lock (feature `spin`). On targets without
/// compare-and-swap (`thumbv6m-none-eabi`) the atomics come from `portable-atomic`,
/// whose `critical-section` feature (or `--cfg portable_atomic_unsafe_assume_single_core`)
/// the application chooses.
///
/// # Examples
///
/// ```
/// use lockwarden::sync::{SharedLockTable, SpinLockTable};
/// use lockwarden::{Policy, Instant};
///
/// static LOCKS: SpinLockTable<8> = SpinLockTable::new(Policy::new(1000));
/// assert!(LOCKS.with(|t| t.is_empty(Instant(0))));
/// ```
#[cfg(feature = "spin")]
pub struct SpinLockTable<
    const N: usize,
    const P: usize = 64,
    const O: usize = 64,
    const U: usize = { crate::table::DEFAULT_PRINCIPALS },
> {
    table: spin::Mutex<LockTable<N, P, O, U>>,
}

#[cfg(feature = "spin")]
impl<const N: usize, const P: usize, const O: usize, const U: usize> SpinLockTable<N, P, O, U> {
    /// A shared [`LockTable::unconfigured`]: all zeros, so a `static` of it lives in
    /// `.bss`. Set its policy and seed through `with` at start-up.
    pub const fn unconfigured() -> Self {
        SpinLockTable {
            table: spin::Mutex::new(LockTable::unconfigured()),
        }
    }

    /// An empty table under `policy`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::sync::SpinLockTable;
    /// use lockwarden::Policy;
    /// static LOCKS: SpinLockTable<4, 32, 16> = SpinLockTable::new(Policy::new(100));
    /// ```
    pub const fn new(policy: Policy) -> Self {
        SpinLockTable {
            table: spin::Mutex::new(LockTable::new(policy)),
        }
    }

    /// Runs `f` if no other core holds the table, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::sync::SpinLockTable;
    /// use lockwarden::{Policy, Instant};
    /// let table: SpinLockTable<4> = SpinLockTable::new(Policy::new(100));
    /// assert_eq!(table.try_with(|t| t.len(Instant(0))), Some(0));
    /// ```
    pub fn try_with<R>(&self, f: impl FnOnce(&mut LockTable<N, P, O, U>) -> R) -> Option<R> {
        self.table.try_lock().map(|mut t| f(&mut t))
    }
}

#[cfg(feature = "spin")]
impl<const N: usize, const P: usize, const O: usize, const U: usize> SharedLockTable<N, P, O, U>
    for SpinLockTable<N, P, O, U>
{
    /// Runs `f` while holding the spin lock. Calling `with` again from inside `f`
    /// deadlocks; use [`SpinLockTable::try_with`] where that could happen.
    fn with<R>(&self, f: impl FnOnce(&mut LockTable<N, P, O, U>) -> R) -> R {
        f(&mut self.table.lock())
    }
}
