//! The thread-safe lock manager: the core's [`LockTable`] behind a mutex, with `now` read
//! from a [`Clock`], tokens seeded from the operating system, and a `tracing` event for
//! every lock granted, refused, refreshed, released or expired.
//!
//! Every decision is the table's; this type only supplies time, entropy, sharing and logs.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(feature = "axum")]
use http::request::Parts;
use lockwarden::http::{BodyFormat, Disclosure, Method, Outcome, Request, TimeoutValue};
use lockwarden::{
    Depth, Granted, LockError, LockRequest, LockTable, LockToken, Path, Policy, RefreshError,
    RefreshRequest, Scope, Timeout, UnlockError, WriteError, WriteRequest,
};

use crate::clock::{Clock, MonotonicClock, TICK_HZ};
#[cfg(feature = "axum")]
use crate::gate::WriteGate;
#[cfg(feature = "axum")]
pub use crate::gate::WritePermit;

/// Default number of lock slots of a [`LockManager`].
pub const DEFAULT_LOCKS: usize = 256;
/// Default longest canonical path, in bytes, of a [`LockManager`].
pub const DEFAULT_PATH_LEN: usize = 128;
/// Default longest owner text, in bytes, of a [`LockManager`]: room for an owner given
/// as a `DAV:href` or a short XML fragment (RFC 4918 §14.17).
pub const DEFAULT_OWNER_LEN: usize = 256;
/// How many distinct principals a manager's table holds locks of at once (the core's
/// default, 8, suits a device with a few accounts; a server has more users). A lock by
/// one more is refused with 503 until one of theirs goes.
pub const PRINCIPALS: usize = 64;

/// The table a [`LockManager`] keeps: `N` slots, paths of `P` bytes, owners of `O`
/// bytes, and [`PRINCIPALS`] principals.
pub type Table<const N: usize, const P: usize, const O: usize> = LockTable<N, P, O, PRINCIPALS>;

/// Why a [`LockManager`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ManagerError {
    /// The policy counts time at another rate than the clocks of this crate.
    TickRate {
        /// The policy's `tick_hz`.
        policy: u32,
    },
    /// The operating system gave no randomness for the token seed.
    Entropy(getrandom::Error),
}

impl fmt::Display for ManagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagerError::TickRate { policy } => write!(
                f,
                "the policy counts {policy} ticks per second but the clock counts {TICK_HZ}: build it with Policy::new(TICK_HZ)"
            ),
            ManagerError::Entropy(e) => {
                write!(
                    f,
                    "no randomness from the operating system for the token seed: {e}"
                )
            }
        }
    }
}

impl std::error::Error for ManagerError {}

/// A copy of a live lock, taken at one moment, that outlives the table's mutex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSnapshot<const P: usize = DEFAULT_PATH_LEN> {
    /// The lock root.
    pub root: Path<P>,
    /// Exclusive or shared.
    pub scope: Scope,
    /// Depth 0 or infinity.
    pub depth: Depth,
    /// The owner as the table keeps it: the markup of `DAV:owner` (see
    /// [`LockSnapshot::owner_text`]).
    pub owner: String,
    /// The principal that created the lock, if any.
    pub principal: Option<String>,
    /// The lock's token: show it only to the lock's principal.
    pub token: LockToken,
    /// The timeout granted at creation or the last refresh.
    pub timeout: Timeout,
    /// The time left when the snapshot was taken.
    pub remaining: Timeout,
}

impl<const P: usize> LockSnapshot<P> {
    /// A copy of `lock`.
    pub(crate) fn of(lock: &lockwarden::ActiveLock<'_, P>) -> Self {
        LockSnapshot {
            root: lock.root.clone(),
            scope: lock.scope,
            depth: lock.depth,
            owner: lock.owner.to_owned(),
            principal: lock.principal.map(str::to_owned),
            token: lock.token,
            timeout: lock.timeout,
            remaining: lock.remaining,
        }
    }

    /// The owner as plain text (the core's [`OwnerText`](lockwarden::http::OwnerText)).
    pub fn owner_text(&self) -> String {
        lockwarden::http::OwnerText(&self.owner).to_string()
    }

    /// The owner as plain text if `disclosure` lets `viewer` see it
    /// ([`Disclosure::shows_owner`]).
    pub fn owner_for(&self, viewer: Option<&str>, disclosure: Disclosure) -> Option<String> {
        disclosure
            .shows_owner(self.principal.as_deref(), viewer)
            .then(|| self.owner_text())
    }

    /// Whole seconds left, rounded up; `None` for a lock without timeout.
    pub fn remaining_secs(&self) -> Option<u32> {
        lockwarden::http::Expiry::from_timeout(self.remaining, TICK_HZ).seconds()
    }
}

struct Shared<const N: usize, const P: usize, const O: usize> {
    table: Mutex<Table<N, P, O>>,
    /// The table's policy, which never changes: read without the mutex.
    policy: Policy,
    clock: Box<dyn Clock>,
    /// The paths of the writes the lock layer admitted and has not seen end: no lock is
    /// granted on them between a write's check and the end of that write.
    #[cfg(feature = "axum")]
    writes: Arc<WriteGate<P>>,
    /// Whether refusals name the owner of the blocking lock.
    show_owners: AtomicBool,
    /// The tick and the instant of the latest access to the table (taken under its mutex).
    previous: Mutex<(lockwarden::Instant, Instant)>,
    /// Whether every client is a WebDAV client: refusals default to XML.
    webdav_clients: AtomicBool,
}

/// A lock table shared between threads, with time from a [`Clock`].
///
/// Cloning is cheap and gives another handle on the same table. The capacities are those of
/// [`LockTable`]: `N` lock slots, paths of at most `P` bytes, owners of at most `O` bytes.
///
/// The millisecond ticks wrap every 49.7 days, and an expired lock left in the table that
/// long would look live again. Every method therefore removes the expired locks first, and
/// after a silence (measured with [`Instant`]) as long as the longest finite timeout
/// (about 24.8 days) it removes every lock with a finite timeout, which has then expired
/// whatever the ticks say. No purger thread is needed for correctness.
///
/// # Examples
///
/// ```
/// use lockwarden::{LockRequest, Path, Policy};
/// use lockwarden_std::{LockManager, TICK_HZ};
///
/// let manager: LockManager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
/// let path = Path::new("/config/network").unwrap();
/// let granted = manager.lock(&LockRequest::exclusive(&path, "alice's laptop")).unwrap();
/// assert_eq!(manager.locks().len(), 1);
/// manager.unlock(&path, &granted.token, None).unwrap();
/// assert!(manager.is_empty());
/// ```
pub struct LockManager<
    const N: usize = DEFAULT_LOCKS,
    const P: usize = DEFAULT_PATH_LEN,
    const O: usize = DEFAULT_OWNER_LEN,
> {
    shared: Arc<Shared<N, P, O>>,
}

impl<const N: usize, const P: usize, const O: usize> Clone for LockManager<N, P, O> {
    fn clone(&self) -> Self {
        LockManager {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<const N: usize, const P: usize, const O: usize> fmt::Debug for LockManager<N, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockManager")
            .field("capacity", &N)
            .field("live_locks", &self.len())
            .finish_non_exhaustive()
    }
}

impl<const N: usize, const P: usize, const O: usize> LockManager<N, P, O> {
    /// A manager on the host's monotonic clock, its tokens seeded from the operating system.
    ///
    /// The policy must count [`TICK_HZ`] ticks per second (`Policy::new(TICK_HZ)`).
    pub fn new(policy: Policy) -> Result<Self, ManagerError> {
        Self::with_clock(policy, MonotonicClock::new())
    }

    /// A manager on `clock` (a [`ManualClock`](crate::ManualClock) in tests), its tokens
    /// seeded from the operating system.
    pub fn with_clock(policy: Policy, clock: impl Clock) -> Result<Self, ManagerError> {
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(ManagerError::Entropy)?;
        Self::with_clock_and_seed(policy, clock, seed)
    }

    /// A manager on `clock` with a caller-chosen token seed (for reproducible tests; a
    /// predictable seed makes tokens guessable).
    pub fn with_clock_and_seed(
        policy: Policy,
        clock: impl Clock,
        seed: [u8; 16],
    ) -> Result<Self, ManagerError> {
        if policy.tick_hz != TICK_HZ {
            return Err(ManagerError::TickRate {
                policy: policy.tick_hz,
            });
        }
        let mut table = LockTable::new(policy);
        table.seed_tokens(seed);
        let now = clock.now();
        Ok(LockManager {
            shared: Arc::new(Shared {
                table: Mutex::new(table),
                policy,
                clock: Box::new(clock),
                #[cfg(feature = "axum")]
                writes: Arc::default(),
                show_owners: AtomicBool::new(true),
                previous: Mutex::new((now, Instant::now())),
                webdav_clients: AtomicBool::new(false),
            }),
        })
    }

    /// The current tick of the manager's clock.
    pub fn now(&self) -> lockwarden::Instant {
        self.shared.clock.now()
    }

    /// The table's policy. Takes no lock, so it may be called inside [`LockManager::with`].
    pub fn policy(&self) -> Policy {
        self.shared.policy
    }

    /// What other clients see of a lock (by default, its owner): obeyed by refusals,
    /// [`LockManager::lockdiscovery`], dav-server's lockdiscovery and lock lists
    /// ([`LockSnapshot::owner_for`]).
    pub fn disclosure(&self) -> Disclosure {
        Disclosure {
            owner: self.shared.show_owners.load(Ordering::Relaxed),
        }
    }

    /// Sets what other clients see of a lock, for a deployment that must hide who holds
    /// a lock.
    pub fn set_disclosure(&self, disclosure: Disclosure) {
        self.shared
            .show_owners
            .store(disclosure.owner, Ordering::Relaxed);
    }

    /// Says that every client of this server is a WebDAV client (a WebDAV file server):
    /// refusals then carry the `DAV:error` XML body unless `Accept` asks for
    /// problem+json, whatever the method (PROTOCOL.md, "The 423 response").
    pub fn set_webdav_clients(&self, webdav_clients: bool) {
        self.shared
            .webdav_clients
            .store(webdav_clients, Ordering::Relaxed);
    }

    /// `outcome` with a refusal's body in the format this server's clients get when
    /// `accept` (the request's `Accept` header) names none: XML for WebDAV clients (see
    /// [`LockManager::set_webdav_clients`]), otherwise as the core negotiated it.
    pub(crate) fn in_clients_format(
        &self,
        mut outcome: Outcome<P, O>,
        accept: Option<&[u8]>,
    ) -> Outcome<P, O> {
        if let Outcome::Refused { format, .. } = &mut outcome
            && self.shared.webdav_clients.load(Ordering::Relaxed)
        {
            *format = BodyFormat::negotiate_from(BodyFormat::DavXml, accept);
        }
        outcome
    }

    /// The whole locking outcome of an HTTP request, decided by the core
    /// ([`lockwarden::http::check`]) with the current tick: allowed, a lock granted,
    /// refreshed or released, or a refusal. Build `request` with
    /// [`check_request`](crate::request::check_request).
    ///
    /// A request that creates a lock should go through [`LockManager::check_lock`]
    /// instead, which first lets the writes admitted by the lock layer finish.
    pub fn check(&self, request: &Request<'_>) -> Outcome<P, O> {
        let (mut table, now) = self.table();
        let outcome = lockwarden::http::check(&mut *table, now, request);
        drop(table);
        let outcome = self.in_clients_format(outcome, request.accept);
        report(request, &outcome);
        outcome
    }

    /// Like [`LockManager::check`], once the writes that the lock layer admitted on
    /// paths related to the request's (the same, above or below) have finished, so that a
    /// lock is never granted while a write it would have refused is still in progress
    /// (the core's check and the write must not be separated by a grant). Writes
    /// elsewhere do not delay it. `parts` are those of the request being answered: a
    /// write permit the layer put in them is released first, so a handler behind the
    /// layer does not wait for itself.
    #[cfg(feature = "axum")]
    pub async fn check_lock(&self, parts: &Parts, request: &Request<'_>) -> Outcome<P, O> {
        if let Some(permit) = parts
            .extensions
            .get::<WritePermit>()
            .filter(|p| self.issued(p))
        {
            permit.release();
        }
        match Path::<P>::from_bytes(request.target) {
            Ok(path) => {
                self.shared
                    .writes
                    .for_lock(&path, || self.check(request))
                    .await
            }
            // No canonical path: the check refuses it without touching the table.
            Err(_) => self.check(request),
        }
    }

    /// A permit for a write to `paths` admitted by a lock check; held until the write is
    /// done.
    #[cfg(feature = "axum")]
    pub(crate) async fn write_permit(&self, paths: Vec<Path<P>>) -> WritePermit {
        self.shared.writes.admit(paths).await
    }

    /// Whether `permit` was issued by this manager.
    #[cfg(feature = "axum")]
    pub(crate) fn issued(&self, permit: &WritePermit) -> bool {
        permit.is_of(&self.shared.writes)
    }

    /// Runs `f` on the table (its expired locks removed) with the current tick, under the
    /// mutex: for the operations that borrow from the table (such as the core's one-call
    /// request check). Keep `f` short, and call no other method of this manager from it but
    /// [`LockManager::now`], [`LockManager::policy`] and [`LockManager::disclosure`]: the
    /// others take the same mutex, which is not reentrant.
    pub fn with<R>(&self, f: impl FnOnce(&mut Table<N, P, O>, lockwarden::Instant) -> R) -> R {
        let (mut table, now) = self.table();
        f(&mut table, now)
    }

    /// Creates a lock (RFC 4918 §9.10); see [`LockTable::lock`].
    ///
    /// This does not wait for writes the [`LockLayer`](crate::LockLayer) admitted; a lock
    /// requested over HTTP goes through [`LockManager::check_lock`], which does.
    pub fn lock(&self, request: &LockRequest<'_, P>) -> Result<Granted, LockError<P, O>> {
        let (mut table, now) = self.table();
        let outcome = table.lock(now, request);
        match &outcome {
            Ok(granted) => tracing::info!(
                target: "lockwarden",
                path = request.path.as_str(),
                scope = request.scope.as_str(),
                depth = request.depth.as_str(),
                owner = %lockwarden::http::OwnerText(request.owner),
                principal = request.principal,
                timeout = %TimeoutValue(granted.timeout, TICK_HZ),
                "lock granted"
            ),
            Err(error) => tracing::info!(
                target: "lockwarden",
                path = request.path.as_str(),
                scope = request.scope.as_str(),
                depth = request.depth.as_str(),
                principal = request.principal,
                reason = %error,
                "lock refused"
            ),
        }
        outcome
    }

    /// Refreshes the lock named by `request` (RFC 4918 §9.10.2); see
    /// [`LockTable::refresh`].
    pub fn refresh(&self, request: &RefreshRequest<'_, P>) -> Result<Granted, RefreshError> {
        let (mut table, now) = self.table();
        let outcome = table.refresh(now, request);
        let (path, principal) = (request.path.as_str(), request.principal);
        match &outcome {
            Ok(granted) => tracing::info!(
                target: "lockwarden",
                path,
                principal,
                timeout = %TimeoutValue(granted.timeout, TICK_HZ),
                "lock refreshed"
            ),
            Err(error) => tracing::info!(
                target: "lockwarden",
                path,
                principal,
                reason = %error,
                "lock refresh refused"
            ),
        }
        outcome
    }

    /// Releases the lock with `token`; `path` must lie within it (RFC 4918 §9.11); see
    /// [`LockTable::unlock`].
    pub fn unlock(
        &self,
        path: &Path<P>,
        token: &LockToken,
        principal: Option<&str>,
    ) -> Result<(), UnlockError> {
        let (mut table, now) = self.table();
        let outcome = table.unlock(now, path, token, principal);
        match &outcome {
            Ok(()) => tracing::info!(
                target: "lockwarden",
                path = path.as_str(),
                principal,
                "lock released"
            ),
            Err(error) => tracing::info!(
                target: "lockwarden",
                path = path.as_str(),
                principal,
                reason = %error,
                "unlock refused"
            ),
        }
        outcome
    }

    /// Whether `write` may proceed; see [`LockTable::authorize`].
    pub fn authorize(&self, write: &WriteRequest<'_, P>) -> Result<(), WriteError<P, O>> {
        let (table, now) = self.table();
        let outcome = table.authorize(now, write);
        if let Err(error) = &outcome {
            tracing::debug!(
                target: "lockwarden",
                path = write.path.as_str(),
                principal = write.principal,
                reason = %error,
                "write refused"
            );
        }
        outcome
    }

    /// The live lock with `token` that covers `path`, if any (to evaluate an `If` state
    /// token); see [`LockTable::find`].
    pub fn find(&self, path: &Path<P>, token: &LockToken) -> Option<LockSnapshot<P>> {
        let (table, now) = self.table();
        table.find(now, path, token).as_ref().map(LockSnapshot::of)
    }

    /// Every live lock.
    pub fn locks(&self) -> Vec<LockSnapshot<P>> {
        let (table, now) = self.table();
        table.locks(now).map(|l| LockSnapshot::of(&l)).collect()
    }

    /// The live locks that cover `path` (its `lockdiscovery`, RFC 4918 §15.8).
    pub fn locks_covering(&self, path: &Path<P>) -> Vec<LockSnapshot<P>> {
        let (table, now) = self.table();
        table
            .locks_covering(now, path)
            .map(|l| LockSnapshot::of(&l))
            .collect()
    }

    /// The live locks created by `principal`.
    pub fn locks_held_by(&self, principal: &str) -> Vec<LockSnapshot<P>> {
        let (table, now) = self.table();
        table
            .locks_held_by(now, principal)
            .map(|l| LockSnapshot::of(&l))
            .collect()
    }

    /// The `DAV:lockdiscovery` property of `path` for a PROPFIND (RFC 4918 §15.8): every
    /// live lock that covers it, each token shown only to whom the core allows
    /// ([`may_see_token`](lockwarden::http::may_see_token): a lock's own principal, or
    /// everyone for an anonymous lock), each owner only as the manager's
    /// [`Disclosure`] allows.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, Path, Policy};
    /// use lockwarden_std::{LockManager, TICK_HZ};
    ///
    /// let manager: LockManager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
    /// let path = Path::new("/config").unwrap();
    /// manager.lock(&LockRequest::exclusive(&path, "alice").principal("alice")).unwrap();
    /// let xml = manager.lockdiscovery(&path, Some("bob"));
    /// assert!(xml.contains("<D:activelock>"));
    /// assert!(!xml.contains("urn:uuid:"));
    /// assert!(manager.lockdiscovery(&path, Some("alice")).contains("urn:uuid:"));
    /// ```
    pub fn lockdiscovery(&self, path: &Path<P>, viewer: Option<&str>) -> String {
        let (table, now) = self.table();
        let mut xml = String::new();
        // Writing into a String cannot fail.
        let _ = lockwarden::http::write_lockdiscovery(
            &mut xml,
            table.locks_covering(now, path),
            TICK_HZ,
            viewer,
            self.disclosure(),
        );
        xml
    }

    /// Releases every lock rooted at `path`, whoever holds it (an administrator's action);
    /// returns how many were released.
    pub fn force_unlock(&self, path: &Path<P>) -> usize {
        let (mut table, now) = self.table();
        let released = table.force_unlock(now, path);
        if released > 0 {
            tracing::warn!(target: "lockwarden", path = path.as_str(), released, "locks force-released");
        }
        released
    }

    /// Removes expired locks now; returns how many.
    ///
    /// Not needed for correctness: every method purges the expired locks first (see
    /// [`LockManager`] on the wrap of the clock); this one only says how many there were.
    pub fn purge(&self) -> usize {
        self.purged_table().2
    }

    /// The time until the earliest live lock expires, if any lock has a timeout.
    pub fn next_expiry(&self) -> Option<Duration> {
        let (mut table, now) = self.table();
        table.next_expiry(now).map(duration_of)
    }

    /// The number of live locks.
    pub fn len(&self) -> usize {
        let (table, now) = self.table();
        table.len(now)
    }

    /// Whether no lock is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a thread that removes expired locks as they expire (waking at the earliest
    /// expiry, at least every `max_interval`), so that their `expired` events are logged
    /// when they happen. The thread stops when the returned [`Purger`] is dropped or every
    /// handle on the manager is gone.
    pub fn spawn_purger(&self, max_interval: Duration) -> std::io::Result<Purger> {
        let weak: Weak<Shared<N, P, O>> = Arc::downgrade(&self.shared);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lockwarden-purger".into())
            .spawn(move || {
                loop {
                    let wait = match weak.upgrade() {
                        Some(shared) => LockManager { shared }.next_expiry(),
                        None => return,
                    };
                    // One tick past the expiry, so the lock is expired when we look again.
                    let wait = wait
                        .map(|d| d + Duration::from_millis(1))
                        .map_or(max_interval, |d| d.min(max_interval));
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        Ok(Purger {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The table under its mutex, its expired locks removed, and the tick the operation
    /// is made at.
    fn table(&self) -> (MutexGuard<'_, Table<N, P, O>>, lockwarden::Instant) {
        let (table, now, _) = self.purged_table();
        (table, now)
    }

    /// The table under its mutex, its expired locks removed, the tick the operation is made
    /// at, and how many locks were removed. Every method goes through here, so that the
    /// core's limit (an expired lock is purged before its elapsed time wraps, see
    /// [`lockwarden::Instant`]) holds without a purger thread.
    fn purged_table(&self) -> (MutexGuard<'_, Table<N, P, O>>, lockwarden::Instant, usize) {
        // The core never panics, so a poisoned mutex can only come from a caller's closure in
        // `with`; the table itself is consistent between its operations.
        let mut table = self
            .shared
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.now();
        let mut previous = self
            .shared
            .previous
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (previous_tick, previous_instant) = *previous;
        let purged = purge_expired(&mut table, now, previous_tick, previous_instant.elapsed());
        *previous = (now, Instant::now());
        (table, now, purged)
    }
}

/// The background purge started by [`LockManager::spawn_purger`]; dropping it stops the
/// thread.
#[derive(Debug)]
pub struct Purger {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Purger {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Logs what a lock check did.
fn report<const P: usize, const O: usize>(request: &Request<'_>, outcome: &Outcome<P, O>) {
    let principal = request.principal;
    let path = String::from_utf8_lossy(request.target);
    match outcome {
        Outcome::Allowed => {}
        Outcome::Granted { lock, created } => tracing::info!(
            target: "lockwarden",
            path = lock.root.as_str(),
            scope = lock.scope.as_str(),
            depth = lock.depth.as_str(),
            owner = %lockwarden::http::OwnerText(&lock.owner),
            principal,
            timeout = %TimeoutValue(lock.timeout, TICK_HZ),
            created,
            "lock granted"
        ),
        Outcome::Refreshed { lock } => tracing::info!(
            target: "lockwarden",
            path = lock.root.as_str(),
            principal,
            timeout = %TimeoutValue(lock.timeout, TICK_HZ),
            "lock refreshed"
        ),
        Outcome::Unlocked => {
            tracing::info!(target: "lockwarden", path = %path, principal, "lock released")
        }
        Outcome::Refused { refusal, .. } => {
            let status = refusal.meaning().status;
            let mut reason = String::new();
            let _ = refusal.write_detail(&mut reason);
            match request.method {
                Method::Lock => tracing::info!(
                    target: "lockwarden", path = %path, principal, status, reason, "lock refused"
                ),
                Method::Unlock => tracing::info!(
                    target: "lockwarden", path = %path, principal, status, reason, "unlock refused"
                ),
                method => tracing::debug!(
                    target: "lockwarden",
                    method = method.as_str(),
                    path = %path,
                    principal,
                    status,
                    reason,
                    "request refused"
                ),
            }
        }
        _ => {}
    }
}

/// Removes the locks expired at `now`, the previous operation having been at tick
/// `previous`, `silence` ago in real time. Ticks count milliseconds, and the previous
/// operation left only locks live at `previous` (or granted then); but after a silence of 2³² ticks or more, `now` cannot
/// tell how many times the counter wrapped. A silence at least as long as the longest
/// finite timeout means every lock with one has expired, which is decided at the tick
/// where that is sure without a wrap (the previous one plus that timeout).
fn purge_expired<const N: usize, const P: usize, const O: usize>(
    table: &mut Table<N, P, O>,
    now: lockwarden::Instant,
    previous: lockwarden::Instant,
    silence: Duration,
) -> usize {
    let mut purged = 0;
    if silence >= duration_of(lockwarden::Duration::MAX_TIMEOUT) {
        purged += purge_and_report(table, previous + lockwarden::Duration::MAX_TIMEOUT);
    }
    purged + purge_and_report(table, now)
}

fn purge_and_report<const N: usize, const P: usize, const O: usize>(
    table: &mut Table<N, P, O>,
    now: lockwarden::Instant,
) -> usize {
    let expired = table.purge(now);
    if expired > 0 {
        tracing::info!(target: "lockwarden", expired, "locks expired");
    }
    expired
}

fn duration_of(ticks: lockwarden::Duration) -> Duration {
    Duration::from_millis(u64::from(ticks.0) * 1000 / u64::from(TICK_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockwarden::LockRequest;

    const WRAP: u64 = 1 << 32;

    fn table_with_a_one_second_lock_at_tick_0() -> Table<4, 32, 32> {
        let policy = Policy::new(TICK_HZ)
            .with_max_timeout_secs(u64::MAX)
            .with_infinite_locks();
        let mut table = LockTable::new(policy);
        table.seed_tokens([1; 16]);
        let path = Path::new("/config").unwrap();
        let one_second = Timeout::Finite(lockwarden::Duration(TICK_HZ));
        table
            .lock(
                lockwarden::Instant(0),
                &LockRequest::exclusive(&path, "a").timeout(one_second),
            )
            .unwrap();
        table
    }

    #[test]
    fn after_a_silence_of_a_whole_wrap_a_finite_lock_is_expired_though_its_ticks_look_fresh() {
        let mut table = table_with_a_one_second_lock_at_tick_0();
        let infinite = Path::new("/forever").unwrap();
        table
            .lock(
                lockwarden::Instant(0),
                &LockRequest::exclusive(&infinite, "b").timeout(Timeout::Infinite),
            )
            .unwrap();
        let longest = Path::new("/longest").unwrap();
        table
            .lock(
                lockwarden::Instant(0),
                &LockRequest::exclusive(&longest, "c")
                    .timeout(Timeout::Finite(lockwarden::Duration::MAX_TIMEOUT)),
            )
            .unwrap();
        // 2³² + 10 ms later the ticks read 10: both finite locks would look 10 ms old.
        let now = lockwarden::Instant(10);
        let silence = Duration::from_millis(WRAP + 10);
        assert_eq!(
            purge_expired(&mut table, now, lockwarden::Instant(0), silence),
            2
        );
        assert_eq!(table.len(now), 1);
        assert_eq!(
            table
                .locks(now)
                .next()
                .map(|l| l.root.as_str() == "/forever"),
            Some(true)
        );
    }

    #[test]
    fn without_a_long_silence_only_the_ticks_decide() {
        // The same table read 10 ms after the grant: the lock is live and stays.
        let mut table = table_with_a_one_second_lock_at_tick_0();
        let purged = purge_expired(
            &mut table,
            lockwarden::Instant(10),
            lockwarden::Instant(0),
            Duration::from_millis(10),
        );
        assert_eq!(purged, 0);
        assert_eq!(table.len(lockwarden::Instant(10)), 1);
        // A silence just short of the longest timeout is not enough to call it expired.
        let short = duration_of(lockwarden::Duration(
            lockwarden::Duration::MAX_TIMEOUT.0 - 1,
        ));
        assert_eq!(
            purge_expired(
                &mut table,
                lockwarden::Instant(10),
                lockwarden::Instant(0),
                short
            ),
            0
        );
        assert_eq!(table.len(lockwarden::Instant(10)), 1);
    }
}
