//! The lock table: a fixed number of slots, RFC 4918 conflict rules, tick-based expiry.
//!
//! Layout, chosen so that no check grows with the number of expired or unrelated locks:
//! - every occupied slot sits in a hash chain keyed by its root path, so a check visits
//!   only the chains of the target and its ancestors (one chain when no depth-infinity
//!   lock exists);
//! - occupied slots also form a list ordered by deadline (earliest first), so the live
//!   locks are a suffix of it: walking back from the tail stops at the first expired
//!   lock, and purging pops expired locks from the head in constant time each.

use core::fmt;

use crate::lock::{ActiveLock, Conflict, Depth, LockRequest, RefreshRequest, Scope, WriteRequest};
use crate::path::{FNV_OFFSET, Path, contains, fnv1a, fold};
use crate::policy::Policy;
use crate::tick::{Duration, Instant, Timeout};
use crate::token::{LockToken, TokenMint, Tokens};

/// The longest principal name a table stores, in bytes.
pub const MAX_PRINCIPAL_LEN: usize = 32;

/// How many distinct principals a [`LockTable`] holds locks of at once, unless its `U`
/// says otherwise. A slot names its principal by an index into the table's list of them,
/// so that a slot spends one byte on it rather than the name (the list costs
/// 36 bytes per entry); a lock by one more principal is refused with
/// [`LockError::TooManyPrincipals`] until a lock of another principal goes. A device
/// with a handful of accounts keeps the default; a server gives its table more.
pub const DEFAULT_PRINCIPALS: usize = 8;

/// A slot's principal index for an anonymous lock.
const ANONYMOUS: u8 = 0;

/// The index a request's principal resolves to when the list does not hold it: no slot
/// has it (slots have `ANONYMOUS` or `1..=U`), so the principal holds no
/// lock and may use the anonymous ones only.
const NOT_LISTED: u8 = u8::MAX;

/// Expired locks that each mutating operation purges on its way, so that slots come
/// back and the 2³²-tick horizon (see [`tick`](crate::tick)) is rarely approached.
const PURGE_PER_OPERATION: usize = 2;

/// No slot. A slot's handle is its index plus one, so that the all-zero table is an
/// empty one: a `static` of it lives in `.bss` and takes no flash.
const NONE: u16 = 0;

/// The slot with `handle` (see [`NONE`]).
#[inline]
fn at<T>(slots: &[T], handle: u16) -> Option<&T> {
    slots.get(usize::from(handle).wrapping_sub(1))
}

/// The slot with `handle`, to change.
#[inline]
fn at_mut<T>(slots: &mut [T], handle: u16) -> Option<&mut T> {
    slots.get_mut(usize::from(handle).wrapping_sub(1))
}

/// What `latest` holds when no slot is occupied: a deadline that has always passed.
const NOTHING_LIVE: (Instant, Timeout) = (Instant(0), Timeout::Finite(Duration(0)));

/// Counters of depth-infinity roots, by hash (see `LockTable::infinity_roots`).
const INFINITY_FILTER: usize = 16;

/// Which counter a root with hash `h` goes to: high bits, as the low ones pick buckets.
#[inline]
fn infinity_filter(h: u16) -> usize {
    usize::from(h >> 12)
}

/// What a write does to the resource it targets (RFC 4918 §7.4–§7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Access {
    /// Changes the resource's content or properties (PUT, PROPPATCH).
    Resource,
    /// Adds or removes a member of the collection at the path (the parent of a PUT or
    /// MKCOL that creates, or of a DELETE or MOVE). A depth-0 lock on a collection
    /// protects its membership (§7.5), so this is checked like a write to the collection.
    Membership,
    /// Removes or moves the whole subtree (DELETE or MOVE of a collection): also needs
    /// the tokens of the live locks below the path.
    Subtree,
}

/// A granted or refreshed lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Granted {
    /// The lock's token: the proof of ownership the holder submits with its writes.
    pub token: LockToken,
    /// The timeout granted under the table's policy.
    pub timeout: Timeout,
}

/// Why a lock was not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LockError<const P: usize = 64, const O: usize = 64> {
    /// A live lock conflicts with the request. When its root lies below the requested
    /// path, a depth-infinity request was blocked by a lock inside it (RFC 4918 §9.10).
    Conflict(Conflict<P, O>),
    /// The principal already holds [`Policy::max_locks_per_principal`] live locks.
    QuotaExceeded,
    /// Every slot holds a live lock. `retry_after` is the time until the first one
    /// expires, or `None` when all of them are infinite.
    TableFull {
        /// Ticks until a slot frees.
        retry_after: Option<Duration>,
    },
    /// The table holds live locks of [`DEFAULT_PRINCIPALS`] other principals already. As
    /// for [`LockError::TableFull`], `retry_after` is the time until the first lock
    /// expires, or `None` when all of them are infinite.
    TooManyPrincipals {
        /// Ticks until the first lock expires.
        retry_after: Option<Duration>,
    },
    /// The owner text is longer than the table's owner capacity `O`.
    OwnerTooLong,
    /// The principal is longer than [`MAX_PRINCIPAL_LEN`].
    PrincipalTooLong,
    /// [`LockTable::seed_tokens`] was never called: tokens would be guessable.
    Unseeded,
}

/// Why a write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WriteError<const P: usize = 64, const O: usize = 64> {
    /// A lock covers the write and its token was not submitted (HTTP 423).
    Locked(Conflict<P, O>),
    /// A covering lock's token was submitted by a principal other than the lock's
    /// (HTTP 403).
    Forbidden,
}

/// Why a refresh failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RefreshError {
    /// No live lock with this token covers the path (HTTP 412).
    NoSuchLock,
    /// The lock belongs to another principal (HTTP 403).
    Forbidden,
}

/// Why an unlock failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UnlockError {
    /// No live lock with this token covers the path (HTTP 409).
    NoSuchLock,
    /// The lock belongs to another principal (HTTP 403).
    Forbidden,
}

impl<const P: usize, const O: usize> fmt::Display for LockError<P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Conflict(c) => write!(f, "the lock conflicts with an existing lock: {c}"),
            LockError::QuotaExceeded => {
                f.write_str("the principal holds its maximum number of locks")
            }
            LockError::TableFull {
                retry_after: Some(t),
            } => {
                write!(f, "the lock table is full; a slot frees in {t}")
            }
            LockError::TableFull { retry_after: None } => {
                f.write_str("the lock table is full of locks without a timeout")
            }
            LockError::TooManyPrincipals {
                retry_after: Some(t),
            } => {
                write!(
                    f,
                    "the lock table holds locks of as many principals as it can; a lock expires in {t}"
                )
            }
            LockError::TooManyPrincipals { retry_after: None } => f.write_str(
                "the lock table holds locks without a timeout of as many principals as it can",
            ),
            LockError::OwnerTooLong => {
                f.write_str("the owner text is longer than the table stores")
            }
            LockError::PrincipalTooLong => {
                f.write_str("the principal is longer than the table stores")
            }
            LockError::Unseeded => f.write_str("the token generator was never seeded"),
        }
    }
}

impl<const P: usize, const O: usize> fmt::Display for WriteError<P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Locked(c) => write!(f, "the write needs a lock token: {c}"),
            WriteError::Forbidden => {
                f.write_str("the submitted lock token belongs to another principal")
            }
        }
    }
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefreshError::NoSuchLock => "no live lock with this token covers the resource",
            RefreshError::Forbidden => "the lock belongs to another principal",
        })
    }
}

impl fmt::Display for UnlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnlockError::NoSuchLock => "no live lock with this token covers the resource",
            UnlockError::Forbidden => "the lock belongs to another principal",
        })
    }
}

impl<const P: usize, const O: usize> core::error::Error for LockError<P, O> {}
impl<const P: usize, const O: usize> core::error::Error for WriteError<P, O> {}
impl core::error::Error for RefreshError {}
impl core::error::Error for UnlockError {}

/// A `u32` kept as two `u16` halves, so that a slot needs an alignment of 2 only and
/// has no padding: the tick of a grant and a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U32Halves([u16; 2]);

impl U32Halves {
    #[inline]
    const fn new(v: u32) -> Self {
        U32Halves([v as u16, (v >> 16) as u16])
    }

    #[inline]
    const fn get(self) -> u32 {
        self.0[0] as u32 | (self.0[1] as u32) << 16
    }
}

/// What a slot's timeout holds for [`Timeout::Infinite`]. No finite timeout equals it:
/// [`Policy::grant`] grants at most [`Duration::MAX_TIMEOUT`] (2³¹ − 1), and a slot's
/// timeout is set through [`Slot::set_times`] only, which clamps a finite one to it (a
/// restored lock's timeout comes from outside the table).
const INFINITE: u32 = u32::MAX;

const _: () = assert!(Duration::MAX_TIMEOUT.0 < INFINITE);

/// [`Slot::flags`]: the lock is shared (else exclusive).
const SHARED: u8 = 1;
/// [`Slot::flags`]: the lock has depth infinity (else 0).
const INFINITY: u8 = 2;

/// One lock. 166 bytes with paths and owners of 64 bytes, alignment 2: the 128 bytes of
/// path and owner, then 38 (path length and hash 4, owner length 2, token 16, grant tick
/// and timeout 8, links 6, principal and flags 2); the table adds 2 per slot for its
/// hash buckets.
#[derive(Clone)]
struct Slot<const P: usize, const O: usize> {
    path: Path<P>,
    owner: heapless::String<O, u16>,
    token: LockToken,
    /// The tick of the grant or of the last refresh.
    granted: U32Halves,
    /// The timeout granted, in ticks; [`INFINITE`] for [`Timeout::Infinite`].
    timeout: U32Halves,
    /// Deadline order (earliest first); `next` also links the free list.
    prev: u16,
    next: u16,
    /// The next slot in the same hash bucket.
    chain: u16,
    /// [`ANONYMOUS`], or the principal list's entry `principal - 1`.
    principal: u8,
    /// [`SHARED`] and [`INFINITY`]: the scope and the depth.
    flags: u8,
}

impl<const P: usize, const O: usize> Slot<P, O> {
    const EMPTY: Self = Slot {
        path: Path::zeroed(),
        owner: heapless::String::new(),
        token: LockToken::from_bytes([0; 16]),
        granted: U32Halves([0; 2]),
        timeout: U32Halves([0; 2]),
        prev: NONE,
        next: NONE,
        chain: NONE,
        principal: ANONYMOUS,
        flags: 0,
    };

    /// An occupied slot: the lock on `path`, not yet linked.
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: &Path<P>,
        owner: heapless::String<O, u16>,
        token: LockToken,
        scope: Scope,
        depth: Depth,
        principal: u8,
        granted: Instant,
        timeout: Timeout,
    ) -> Self {
        let mut slot = Slot {
            path: path.clone(),
            owner,
            token,
            principal,
            flags: match scope {
                Scope::Shared => SHARED,
                Scope::Exclusive => 0,
            } | match depth {
                Depth::Infinity => INFINITY,
                Depth::Zero => 0,
            },
            ..Slot::EMPTY
        };
        slot.set_times(granted, timeout);
        slot
    }

    #[inline]
    fn scope(&self) -> Scope {
        if self.flags & SHARED != 0 {
            Scope::Shared
        } else {
            Scope::Exclusive
        }
    }

    #[inline]
    fn depth(&self) -> Depth {
        if self.flags & INFINITY != 0 {
            Depth::Infinity
        } else {
            Depth::Zero
        }
    }

    #[inline]
    fn granted(&self) -> Instant {
        Instant(self.granted.get())
    }

    #[inline]
    fn timeout(&self) -> Timeout {
        match self.timeout.get() {
            INFINITE => Timeout::Infinite,
            t => Timeout::Finite(Duration(t)),
        }
    }

    /// Sets the grant tick and the timeout; a finite timeout is clamped to
    /// [`Duration::MAX_TIMEOUT`], so that it never reads as [`INFINITE`].
    #[inline]
    fn set_times(&mut self, granted: Instant, timeout: Timeout) {
        self.granted = U32Halves::new(granted.0);
        self.timeout = U32Halves::new(match timeout {
            Timeout::Infinite => INFINITE,
            Timeout::Finite(t) => t.0.min(Duration::MAX_TIMEOUT.0),
        });
    }

    #[inline]
    fn remaining(&self, now: Instant) -> Option<Timeout> {
        match self.timeout() {
            Timeout::Infinite => Some(Timeout::Infinite),
            Timeout::Finite(t) => {
                let elapsed = now.since(self.granted());
                (elapsed.0 < t.0).then(|| Timeout::Finite(Duration(t.0 - elapsed.0)))
            }
        }
    }

    #[inline]
    fn is_live(&self, now: Instant) -> bool {
        is_live(self.granted(), self.timeout(), now)
    }

    /// Whether a request by the principal with index `principal` (see
    /// [`LockTable::principal_index`]) may use this lock: a lock created by a principal
    /// is that principal's alone; an anonymous lock is whoever has its token.
    #[inline]
    fn held_by(&self, principal: u8) -> bool {
        self.principal == ANONYMOUS || self.principal == principal
    }

    fn conflict(&self, now: Instant) -> Conflict<P, O> {
        let mut owner = heapless::String::new();
        // The owner fits: both strings have capacity `O`.
        let _ = owner.push_str(self.owner.as_str());
        Conflict {
            root: self.path.clone(),
            scope: self.scope(),
            depth: self.depth(),
            owner,
            remaining: self.remaining(now).unwrap_or(Timeout::Finite(Duration(0))),
        }
    }
}

/// An entry of a table's principal list: a name, and how many occupied slots (live or
/// expired but not yet purged) name it. An entry whose count is zero is free, whatever
/// its name; the all-zero entry is a free one.
#[derive(Clone)]
struct PrincipalEntry {
    name: heapless::String<MAX_PRINCIPAL_LEN, u8>,
    slots: u16,
}

impl PrincipalEntry {
    const FREE: Self = PrincipalEntry {
        name: heapless::String::new(),
        slots: 0,
    };
}

/// A fixed-capacity lock table: `N` slots, paths of up to `P` bytes, owners of up to
/// `O` bytes. It never allocates and never reads a clock.
///
/// # Examples
///
/// ```
/// use lockwarden::{Duration, Instant, LockRequest, LockTable, Path, Policy, Timeout, WriteError, WriteRequest};
///
/// static POLICY: Policy = Policy::new(1000);
/// let mut table: LockTable<16> = LockTable::new(POLICY);
/// table.seed_tokens([0x5a; 16]); // from the device's entropy source
///
/// let net: Path<64> = Path::new("/config/network").unwrap();
/// let lock = LockRequest::exclusive(&net, "alice's laptop").timeout(Timeout::Finite(Duration(60_000)));
/// let granted = table.lock(Instant(0), &lock).unwrap();
///
/// // Another client's write is refused; the holder's passes.
/// assert!(matches!(table.authorize(Instant(10), &WriteRequest::resource(&net)), Err(WriteError::Locked(_))));
/// assert!(table.authorize(Instant(10), &WriteRequest::resource(&net).tokens(&[granted.token])).is_ok());
///
/// // After the timeout the lock blocks nothing.
/// assert!(table.authorize(Instant(60_000), &WriteRequest::resource(&net)).is_ok());
/// ```
pub struct LockTable<
    const N: usize,
    const P: usize = 64,
    const O: usize = 64,
    const U: usize = DEFAULT_PRINCIPALS,
> {
    policy: Policy,
    mint: TokenMint,
    slots: [Slot<P, O>; N],
    buckets: [u16; N],
    /// The principals of the occupied slots; a slot names its principal by index.
    principals: [PrincipalEntry; U],
    /// Deadline list: `head` expires first.
    head: u16,
    tail: u16,
    /// Recycled slots, linked through `next`.
    free: u16,
    /// Slots `fresh..N` have never been used.
    fresh: u16,
    /// Occupied slots (live or expired but not yet purged) holding depth-infinity locks,
    /// counted by a few bits of their root's hash: an ancestor whose count is zero holds
    /// no depth-infinity lock, and a check skips its hash chain; while all are zero, a
    /// check looks up the target path alone.
    infinity_roots: [u16; INFINITY_FILTER],
    /// The grant time and timeout of the tail (the latest deadline): while it has
    /// passed, no lock is live and a check touches no slot, however many expired locks
    /// wait to be purged.
    latest: (Instant, Timeout),
}

impl<const N: usize, const P: usize, const O: usize, const U: usize> LockTable<N, P, O, U> {
    const CAPACITY_FITS: () = assert!(
        N >= 1 && N < u16::MAX as usize,
        "a lock table holds between 1 and 65534 slots"
    );
    const OWNER_FITS: () = assert!(O <= u16::MAX as usize, "an owner holds at most 65535 bytes");
    const PRINCIPALS_FIT: () = assert!(
        U < NOT_LISTED as usize,
        "a lock table lists at most 254 principals"
    );

    /// An empty table under `policy`. `const`, so the table can live in a `static`.
    /// Call [`LockTable::seed_tokens`] before the first lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockTable, Policy};
    /// static TABLE_POLICY: Policy = Policy::new(1000);
    /// let table: LockTable<8, 32, 32> = LockTable::new(TABLE_POLICY);
    /// assert_eq!(table.capacity(), 8);
    /// ```
    pub const fn new(policy: Policy) -> Self {
        let () = Self::CAPACITY_FITS;
        let () = Self::OWNER_FITS;
        let () = Self::PRINCIPALS_FIT;
        LockTable {
            policy,
            mint: TokenMint::unseeded(),
            slots: [const { Slot::EMPTY }; N],
            buckets: [NONE; N],
            principals: [const { PrincipalEntry::FREE }; U],
            head: NONE,
            tail: NONE,
            free: NONE,
            fresh: 0,
            infinity_roots: [0; INFINITY_FILTER],
            latest: NOTHING_LIVE,
        }
    }

    /// An empty table whose every byte is zero, policy included: a `static` of it lives
    /// in `.bss` and costs no flash for its image, where [`LockTable::new`] puts the
    /// policy's non-zero bytes, and so the whole table, in `.data`. Give it its policy
    /// with [`LockTable::set_policy`] and its seed with [`LockTable::seed_tokens`] at
    /// start-up, before the first lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<8> = LockTable::unconfigured();
    /// table.set_policy(Policy::new(1000));
    /// table.seed_tokens([7; 16]);
    /// let p = Path::new("/config").unwrap();
    /// assert!(table.lock(Instant(0), &LockRequest::exclusive(&p, "me")).is_ok());
    /// ```
    pub const fn unconfigured() -> Self {
        Self::new(Policy::ZERO)
    }

    /// Replaces the table's policy; locks already granted keep their timeouts.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockTable, Policy};
    /// let mut table: LockTable<4> = LockTable::unconfigured();
    /// table.set_policy(Policy::new(32_768));
    /// assert_eq!(table.policy().tick_hz, 32_768);
    /// ```
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// Keys the token generator with 16 bytes of the device's entropy (a hardware RNG,
    /// ADC noise, a provisioned secret mixed with a boot counter). Tokens stay unique
    /// whatever the seed; the seed makes them unguessable.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockError, LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// let p = Path::new("/a").unwrap();
    /// assert_eq!(table.lock(Instant(0), &LockRequest::exclusive(&p, "me")), Err(LockError::Unseeded));
    /// table.seed_tokens([1; 16]);
    /// assert!(table.lock(Instant(0), &LockRequest::exclusive(&p, "me")).is_ok());
    /// ```
    pub fn seed_tokens(&mut self, seed: [u8; 16]) {
        self.mint.seed(seed);
    }

    /// The table's policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockTable, Policy};
    /// let table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// assert_eq!(table.policy().tick_hz, 1000);
    /// ```
    pub const fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The number of slots.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockTable, Policy};
    /// assert_eq!(LockTable::<4>::new(Policy::new(1)).capacity(), 4);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Grants a lock, or says which rule refuses it.
    ///
    /// Conflicts follow RFC 4918 §6.1 and §9.10: an exclusive lock conflicts with every
    /// live lock that covers the path, a shared one only with exclusive ones, and a
    /// depth-infinity request also with live locks below the path. Checks run in this
    /// order: owner and principal lengths, the seed, conflicts, the principal's quota,
    /// room for the principal in the principal list (see [`DEFAULT_PRINCIPALS`]), a free
    /// slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockError, LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/config").unwrap();
    /// table.lock(Instant(0), &LockRequest::shared(&p, "a")).unwrap();
    /// table.lock(Instant(0), &LockRequest::shared(&p, "b")).unwrap();
    /// let refused = table.lock(Instant(0), &LockRequest::exclusive(&p, "c"));
    /// assert!(matches!(refused, Err(LockError::Conflict(c)) if c.owner == "a" || c.owner == "b"));
    /// ```
    pub fn lock(
        &mut self,
        now: Instant,
        req: &LockRequest<'_, P>,
    ) -> Result<Granted, LockError<P, O>> {
        let mut owner = heapless::String::new();
        owner
            .push_str(req.owner)
            .map_err(|_| LockError::OwnerTooLong)?;
        if req.principal.is_some_and(|p| p.len() > MAX_PRINCIPAL_LEN) {
            return Err(LockError::PrincipalTooLong);
        }
        if !self.mint.is_seeded() {
            return Err(LockError::Unseeded);
        }
        self.purge_up_to(now, PURGE_PER_OPERATION);

        let target = req.path.as_bytes();
        let mut conflict = NONE;
        self.for_each_covering(now, req.path, &mut |i, slot| {
            if !req.scope.compatible_with(slot.scope()) {
                conflict = i;
                return false;
            }
            true
        });
        if conflict == NONE && req.depth == Depth::Infinity {
            conflict = self
                .live(now)
                .find(|(_, slot)| {
                    slot.path.as_bytes().len() > target.len()
                        && contains(target, slot.path.as_bytes())
                        && !req.scope.compatible_with(slot.scope())
                })
                .map_or(NONE, |(i, _)| i);
        }
        if let Some(slot) = self.slot(conflict) {
            let conflict = slot.conflict(now);
            debug!(
                "lock refused on {}: conflict with {}",
                req.path, conflict.root
            );
            return Err(LockError::Conflict(conflict));
        }
        let mut principal = self.principal_index(req.principal);
        if principal != ANONYMOUS && principal != NOT_LISTED {
            let held = self
                .live(now)
                .filter(|(_, slot)| slot.principal == principal)
                .count();
            if held >= usize::from(self.policy.max_locks_per_principal) {
                return Err(LockError::QuotaExceeded);
            }
        }
        if principal == NOT_LISTED {
            principal = self.free_principal(now)?;
        }
        let index = self.allocate(now)?;
        let timeout = self.policy.grant(req.timeout);
        let token = self.mint.next();
        let slot = Slot::new(
            req.path, owner, token, req.scope, req.depth, principal, now, timeout,
        );
        self.occupy(now, index, slot, req.principal);
        debug!("lock granted on {}", req.path);
        Ok(Granted { token, timeout })
    }

    /// Restarts the timer of the live lock with `token` that covers `path`, counted from
    /// `now`: with `timeout` when one is asked (under the policy), otherwise with the
    /// timeout the lock was granted (RFC 4918 §6.6, §9.10.2: a refresh resets the timeout
    /// unless the client asks for a new one).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Duration, Instant, LockRequest, LockTable, Path, Policy, RefreshRequest, Timeout};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/config").unwrap();
    /// let lock = LockRequest::exclusive(&p, "me").timeout(Timeout::Finite(Duration(100)));
    /// let g = table.lock(Instant(0), &lock).unwrap();
    /// table.refresh(Instant(90), &RefreshRequest::new(&p, &g.token).timeout(Timeout::Finite(Duration(1000)))).unwrap();
    /// assert_eq!(table.find(Instant(150), &p, &g.token).unwrap().remaining, Timeout::Finite(Duration(940)));
    /// // Without a timeout, the lock keeps the one it was granted.
    /// let again = table.refresh(Instant(500), &RefreshRequest::new(&p, &g.token)).unwrap();
    /// assert_eq!(again.timeout, Timeout::Finite(Duration(1000)));
    /// ```
    pub fn refresh(
        &mut self,
        now: Instant,
        request: &RefreshRequest<'_, P>,
    ) -> Result<Granted, RefreshError> {
        let RefreshRequest {
            path,
            token,
            principal,
            timeout,
        } = *request;
        self.purge_up_to(now, PURGE_PER_OPERATION);
        let index = self.find_index(now, path, token);
        let principal = self.principal_index(principal);
        let policy = self.policy;
        let Some(slot) = at_mut(&mut self.slots, index) else {
            return Err(RefreshError::NoSuchLock);
        };
        if !slot.held_by(principal) {
            return Err(RefreshError::Forbidden);
        }
        let timeout = match timeout {
            None => slot.timeout(),
            asked => policy.grant(asked),
        };
        slot.set_times(now, timeout);
        self.unlink_deadline(index);
        self.insert_by_deadline(now, index);
        debug!("lock refreshed on {}", path);
        Ok(Granted {
            token: *token,
            timeout,
        })
    }

    /// Releases the live lock with `token`; `path` must lie within the lock
    /// (RFC 4918 §9.11).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant, UnlockError};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/config").unwrap();
    /// let g = table.lock(Instant(0), &LockRequest::exclusive(&p, "me").principal("alice")).unwrap();
    /// assert_eq!(table.unlock(Instant(1), &p, &g.token, Some("bob")), Err(UnlockError::Forbidden));
    /// assert_eq!(table.unlock(Instant(1), &p, &g.token, Some("alice")), Ok(()));
    /// assert_eq!(table.unlock(Instant(1), &p, &g.token, Some("alice")), Err(UnlockError::NoSuchLock));
    /// ```
    pub fn unlock(
        &mut self,
        now: Instant,
        path: &Path<P>,
        token: &LockToken,
        principal: Option<&str>,
    ) -> Result<(), UnlockError> {
        self.purge_up_to(now, PURGE_PER_OPERATION);
        let index = self.find_index(now, path, token);
        let principal = self.principal_index(principal);
        let Some(slot) = self.slot(index) else {
            return Err(UnlockError::NoSuchLock);
        };
        if !slot.held_by(principal) {
            return Err(UnlockError::Forbidden);
        }
        self.remove(index);
        debug!("lock released on {}", path);
        Ok(())
    }

    /// Decides whether a write may proceed (RFC 4918 §7): every live lock that covers
    /// the write needs its token among `submitted`, submitted by the lock's principal.
    ///
    /// Precisely, each relevant lock must be *satisfied*: its own token was submitted,
    /// or it is shared and a shared lock covering the same resource was satisfied by
    /// its token (one token of a set of shared locks is enough). The relevant locks are
    /// those covering `path`, and for [`Access::Subtree`] also the live locks below it,
    /// whose resource is their own root. A token submitted by another principal than
    /// its lock's is refused as [`WriteError::Forbidden`] before anything else.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Access, Depth, Instant, LockRequest, LockTable, Path, Policy, WriteError, WriteRequest};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let config = Path::new("/config").unwrap();
    /// let wifi = Path::new("/config/wifi").unwrap();
    /// let g = table.lock(Instant(0), &LockRequest::exclusive(&wifi, "me").principal("alice")).unwrap();
    /// // Deleting the collection needs the token of the lock inside it.
    /// assert!(matches!(table.authorize(Instant(0), &WriteRequest::new(&config, Access::Subtree)), Err(WriteError::Locked(_))));
    /// assert_eq!(table.authorize(Instant(0), &WriteRequest::new(&config, Access::Subtree).tokens(&[g.token]).principal("alice")), Ok(()));
    /// assert_eq!(table.authorize(Instant(0), &WriteRequest::resource(&wifi).tokens(&[g.token]).principal("bob")), Err(WriteError::Forbidden));
    /// // A sibling is not covered.
    /// assert_eq!(table.authorize(Instant(0), &WriteRequest::resource(&Path::new("/config/time").unwrap())), Ok(()));
    /// ```
    pub fn authorize(
        &self,
        now: Instant,
        write: &WriteRequest<'_, P>,
    ) -> Result<(), WriteError<P, O>> {
        self.authorize_submitted(now, write.path, write.access, write.tokens, write.principal)
    }

    /// [`LockTable::authorize`] with the submitted tokens as any set: the protocol
    /// layer reads them from the `If` header as they are asked for. Generic rather than
    /// `dyn`: a call per covering lock cost W1 about 4 % on a host, and a firmware
    /// rarely links both copies (the size probe does: about 700 bytes).
    pub(crate) fn authorize_submitted<T: Tokens + ?Sized>(
        &self,
        now: Instant,
        path: &Path<P>,
        access: Access,
        submitted: &T,
        principal: Option<&str>,
    ) -> Result<(), WriteError<P, O>> {
        let target = path.as_bytes();
        let principal = self.principal_index(principal);
        let mut forbidden = false;
        let mut exclusive_blocker = NONE;
        let mut shared_blocker = NONE;
        let mut shared_satisfied = false;
        self.for_each_covering(now, path, &mut |i, slot| {
            match submission(slot, submitted, principal) {
                Submission::WrongPrincipal => {
                    forbidden = true;
                    return false;
                }
                Submission::Valid => shared_satisfied |= slot.scope() == Scope::Shared,
                Submission::Missing if slot.scope() == Scope::Exclusive => exclusive_blocker = i,
                Submission::Missing => shared_blocker = i,
            }
            true
        });
        if forbidden {
            return Err(WriteError::Forbidden);
        }
        let mut blocker = if exclusive_blocker != NONE {
            exclusive_blocker
        } else if !shared_satisfied {
            shared_blocker
        } else {
            NONE
        };
        if access == Access::Subtree {
            let mut below = self.live(now).filter(|&(_, slot)| {
                slot.path.as_bytes().len() > target.len() && contains(target, slot.path.as_bytes())
            });
            if below.clone().any(|(_, slot)| {
                submission(slot, submitted, principal) == Submission::WrongPrincipal
            }) {
                return Err(WriteError::Forbidden);
            }
            if blocker == NONE {
                blocker = below
                    .find(|&(_, slot)| {
                        submission(slot, submitted, principal) == Submission::Missing
                            && !(slot.scope() == Scope::Shared
                                && self.shared_satisfied(now, &slot.path, submitted, principal))
                    })
                    .map_or(NONE, |(i, _)| i);
            }
        }
        match self.slot(blocker) {
            None => Ok(()),
            Some(slot) => Err(WriteError::Locked(slot.conflict(now))),
        }
    }

    /// The live lock with `token` that covers `path`: what an `If` header's state token
    /// matches (RFC 4918 §10.4.4).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Depth, LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let config = Path::new("/config").unwrap();
    /// let g = table.lock(Instant(0), &LockRequest::exclusive(&config, "me").depth(Depth::Infinity)).unwrap();
    /// assert!(table.find(Instant(0), &Path::new("/config/wifi").unwrap(), &g.token).is_some());
    /// assert!(table.find(Instant(0), &Path::new("/other").unwrap(), &g.token).is_none());
    /// ```
    pub fn find(
        &self,
        now: Instant,
        path: &Path<P>,
        token: &LockToken,
    ) -> Option<ActiveLock<'_, P>> {
        self.slot(self.find_index(now, path, token))
            .map(|s| self.view(s, now))
    }

    /// The live locks, latest deadline first.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&p, "me")).unwrap();
    /// assert_eq!(table.locks(Instant(0)).map(|l| l.owner).next(), Some("me"));
    /// ```
    pub fn locks(&self, now: Instant) -> impl Iterator<Item = ActiveLock<'_, P>> + '_ {
        self.live(now).map(move |(_, slot)| self.view(slot, now))
    }

    /// The live locks that cover `path` (what `lockdiscovery` on `path` shows).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Depth, LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let config = Path::new("/config").unwrap();
    /// table.lock(Instant(0), &LockRequest::shared(&config, "me").depth(Depth::Infinity)).unwrap();
    /// assert_eq!(table.locks_covering(Instant(0), &Path::new("/config/x").unwrap()).count(), 1);
    /// ```
    pub fn locks_covering<'a>(
        &'a self,
        now: Instant,
        path: &'a Path<P>,
    ) -> impl Iterator<Item = ActiveLock<'a, P>> + 'a {
        self.locks(now).filter(move |l| l.covers(path))
    }

    /// The live locks created by `principal`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&p, "me").principal("alice")).unwrap();
    /// assert_eq!(table.locks_held_by(Instant(0), "alice").count(), 1);
    /// assert_eq!(table.locks_held_by(Instant(0), "bob").count(), 0);
    /// ```
    pub fn locks_held_by<'a>(
        &'a self,
        now: Instant,
        principal: &'a str,
    ) -> impl Iterator<Item = ActiveLock<'a, P>> + 'a {
        // Not listed: `NOT_LISTED`, which no slot has.
        let principal = self.principal_index(Some(principal));
        self.live(now)
            .filter(move |(_, slot)| slot.principal == principal)
            .map(move |(_, slot)| self.view(slot, now))
    }

    /// The number of live locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant, Duration, Timeout};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&p, "me").timeout(Timeout::Finite(Duration(5_000)))).unwrap();
    /// assert_eq!(table.len(Instant(4_999)), 1);
    /// assert_eq!(table.len(Instant(5_000)), 0);
    /// ```
    pub fn len(&self, now: Instant) -> usize {
        self.live(now).count()
    }

    /// Whether no lock is live.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockTable, Policy, Instant};
    /// assert!(LockTable::<4>::new(Policy::new(1)).is_empty(Instant(0)));
    /// ```
    pub fn is_empty(&self, now: Instant) -> bool {
        self.live(now).next().is_none()
    }

    /// Removes every lock rooted at `path`, whoever holds it (administration: a device
    /// owner clearing a stuck lock). Returns how many live locks were removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::shared(&p, "x").principal("alice")).unwrap();
    /// table.lock(Instant(0), &LockRequest::shared(&p, "y")).unwrap();
    /// assert_eq!(table.force_unlock(Instant(1), &p), 2);
    /// assert!(table.is_empty(Instant(1)));
    /// ```
    pub fn force_unlock(&mut self, now: Instant, path: &Path<P>) -> usize {
        let mut removed = 0;
        loop {
            let h = path.hash();
            let mut found = NONE;
            self.for_each_in_bucket(h, |i, slot| {
                if slot.path == *path {
                    found = i;
                    return false;
                }
                true
            });
            let Some(slot) = self.slot(found) else { break };
            if slot.is_live(now) {
                removed += 1;
            }
            self.remove(found);
        }
        removed
    }

    /// Removes the expired locks; returns how many. Not needed for correctness (an
    /// expired lock blocks nothing), only to bound the wrap horizon described in
    /// [`tick`](crate::tick).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant, Duration, Timeout};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&p, "me").timeout(Timeout::Finite(Duration(5_000)))).unwrap();
    /// assert_eq!(table.purge(Instant(5_000)), 1);
    /// ```
    pub fn purge(&mut self, now: Instant) -> usize {
        self.purge_up_to(now, usize::MAX)
    }

    /// Purges expired locks and returns the time until the next live lock expires, or
    /// `None` when no lock has a finite timeout: firmware can sleep that long.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant, Duration, Timeout};
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([3; 16]);
    /// assert_eq!(table.next_expiry(Instant(0)), None);
    /// let p = Path::new("/a").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&p, "me").timeout(Timeout::Finite(Duration(5_000)))).unwrap();
    /// assert_eq!(table.next_expiry(Instant(2_000)), Some(Duration(3_000)));
    /// ```
    pub fn next_expiry(&mut self, now: Instant) -> Option<Duration> {
        self.purge(now);
        self.slot(self.head)
            .and_then(|s| s.remaining(now))
            .and_then(Timeout::ticks)
    }

    // ---- internals ----

    #[inline]
    fn slot(&self, index: u16) -> Option<&Slot<P, O>> {
        at(&self.slots, index)
    }

    #[inline]
    fn bucket(h: u16) -> usize {
        // `N >= 1` by the capacity assertion.
        usize::from(h) % N
    }

    /// The view of an occupied slot that the table hands out.
    fn view<'a>(&'a self, slot: &'a Slot<P, O>, now: Instant) -> ActiveLock<'a, P> {
        ActiveLock {
            root: &slot.path,
            scope: slot.scope(),
            depth: slot.depth(),
            owner: slot.owner.as_str(),
            principal: self.principal_name(slot.principal),
            token: slot.token,
            timeout: slot.timeout(),
            remaining: slot.remaining(now).unwrap_or(Timeout::Finite(Duration(0))),
        }
    }

    /// The index that slots of `principal` have: [`ANONYMOUS`] for `None`, the listed
    /// entry's index plus one, or [`NOT_LISTED`]. A search of at most
    /// [`DEFAULT_PRINCIPALS`] entries: each operation resolves its principal once, then
    /// compares a byte per slot.
    fn principal_index(&self, principal: Option<&str>) -> u8 {
        let Some(name) = principal else {
            return ANONYMOUS;
        };
        let mut index = 0;
        for entry in &self.principals {
            index += 1;
            if entry.slots != 0 && entry.name.as_str() == name {
                return index;
            }
        }
        NOT_LISTED
    }

    /// The name of the principal with `index` (see [`Slot::principal`]).
    #[inline]
    fn principal_name(&self, index: u8) -> Option<&str> {
        at(&self.principals, u16::from(index)).map(|e| e.name.as_str())
    }

    /// A free entry of the principal list, for a principal that it does not hold. When
    /// every entry is in use, expired locks are purged, earliest first, until one frees
    /// (an expired lock blocks nothing, its principal included); only live locks then
    /// refuse the request.
    fn free_principal(&mut self, now: Instant) -> Result<u8, LockError<P, O>> {
        loop {
            if let Some(k) = self.principals.iter().position(|e| e.slots == 0) {
                // `k < DEFAULT_PRINCIPALS < u8::MAX`.
                return Ok(k as u8 + 1);
            }
            if self.purge_up_to(now, 1) == 0 {
                break;
            }
        }
        Err(LockError::TooManyPrincipals {
            retry_after: self
                .slot(self.head)
                .and_then(|s| s.remaining(now))
                .and_then(Timeout::ticks),
        })
    }

    /// Puts the lock `slot` by `name` (the principal of `slot.principal`) into the
    /// allocated slot `index` and links it everywhere.
    fn occupy(&mut self, now: Instant, index: u16, slot: Slot<P, O>, name: Option<&str>) {
        let (hash, depth, principal) = (slot.path.hash(), slot.depth(), slot.principal);
        if let Some(at) = at_mut(&mut self.slots, index) {
            *at = slot;
        }
        if let (Some(entry), Some(name)) =
            (at_mut(&mut self.principals, u16::from(principal)), name)
        {
            if entry.slots == 0 {
                entry.name.clear();
                // The name fits: its length was checked against `MAX_PRINCIPAL_LEN`.
                let _ = entry.name.push_str(name);
            }
            entry.slots += 1;
        }
        self.link_bucket(index, hash);
        self.insert_by_deadline(now, index);
        if depth == Depth::Infinity
            && let Some(n) = self.infinity_roots.get_mut(infinity_filter(hash))
        {
            *n += 1;
        }
    }

    /// Calls `f` on every occupied slot in the bucket of `h` whose hash is `h`, until
    /// `f` returns false.
    #[inline]
    fn for_each_in_bucket(&self, h: u16, mut f: impl FnMut(u16, &Slot<P, O>) -> bool) {
        let mut i = self.buckets.get(Self::bucket(h)).copied().unwrap_or(NONE);
        while let Some(slot) = self.slot(i) {
            if slot.path.hash() == h && !f(i, slot) {
                return;
            }
            i = slot.chain;
        }
    }

    /// Calls `f` on every live lock that covers `target` — rooted at it, or rooted at
    /// an ancestor with depth infinity — until `f` returns false. Visits only the hash
    /// chains of `target` and, while depth-infinity locks exist, of its ancestors.
    /// One copy for every caller (a `dyn` closure, not a generic one): the walk is the
    /// table's largest loop, and each generic copy cost about 300 bytes of flash.
    fn for_each_covering(
        &self,
        now: Instant,
        path: &Path<P>,
        f: &mut dyn FnMut(u16, &Slot<P, O>) -> bool,
    ) {
        if !self.any_live(now) {
            return;
        }
        let target = path.as_bytes();
        let mut visit = |prefix: &[u8], h: u16, exact: bool| -> bool {
            let mut go_on = true;
            if !exact && self.infinity_roots.get(infinity_filter(h)) == Some(&0) {
                return true;
            }
            self.for_each_in_bucket(h, |i, slot| {
                if slot.path.as_bytes() == prefix
                    && (exact || slot.depth() == Depth::Infinity)
                    && slot.is_live(now)
                {
                    go_on = f(i, slot);
                }
                go_on
            });
            go_on
        };
        if self.infinity_roots == [0; INFINITY_FILTER] {
            visit(target, path.hash(), true);
            return;
        }
        // FNV is a running hash: its state at each '/' is the hash of that ancestor.
        let mut h = fnv1a(FNV_OFFSET, b'/');
        if !visit(b"/", fold(h), target.len() == 1) || target.len() == 1 {
            return;
        }
        for (i, &b) in target.iter().enumerate().skip(1) {
            if b == b'/' && !visit(target.get(..i).unwrap_or_default(), fold(h), false) {
                return;
            }
            h = fnv1a(h, b);
        }
        visit(target, path.hash(), true);
    }

    /// The index of the live lock with `token` covering `target`, or `NONE`.
    fn find_index(&self, now: Instant, target: &Path<P>, token: &LockToken) -> u16 {
        let mut found = NONE;
        self.for_each_covering(now, target, &mut |i, slot| {
            if slot.token == *token {
                found = i;
                return false;
            }
            true
        });
        found
    }

    /// Whether a shared lock covering `resource` was satisfied by its own token.
    fn shared_satisfied<T: Tokens + ?Sized>(
        &self,
        now: Instant,
        resource: &Path<P>,
        submitted: &T,
        principal: u8,
    ) -> bool {
        let mut satisfied = false;
        self.for_each_covering(now, resource, &mut |_, slot| {
            satisfied = slot.scope() == Scope::Shared
                && submission(slot, submitted, principal) == Submission::Valid;
            !satisfied
        });
        satisfied
    }

    /// The live slots, latest deadline first.
    fn live(&self, now: Instant) -> Live<'_, N, P, O, U> {
        Live {
            table: self,
            at: if self.any_live(now) { self.tail } else { NONE },
            now,
        }
    }

    /// Whether any lock is live: whether the latest deadline is still ahead.
    #[inline]
    fn any_live(&self, now: Instant) -> bool {
        is_live(self.latest.0, self.latest.1, now)
    }

    /// Keeps `latest` in step with the tail of the deadline list.
    fn note_tail(&mut self) {
        self.latest = self
            .slot(self.tail)
            .map_or(NOTHING_LIVE, |s| (s.granted(), s.timeout()));
    }

    fn allocate(&mut self, now: Instant) -> Result<u16, LockError<P, O>> {
        if let Some(slot) = self.slot(self.free) {
            let index = self.free;
            self.free = slot.next;
            return Ok(index);
        }
        if usize::from(self.fresh) < N {
            self.fresh += 1;
            return Ok(self.fresh);
        }
        // The table is full of occupied slots: the head expires first.
        match self.slot(self.head).map(|s| s.remaining(now)) {
            Some(None) => {
                let index = self.head;
                self.remove(index);
                self.allocate(now)
            }
            Some(Some(remaining)) => Err(LockError::TableFull {
                retry_after: remaining.ticks(),
            }),
            None => Err(LockError::TableFull { retry_after: None }),
        }
    }

    fn purge_up_to(&mut self, now: Instant, max: usize) -> usize {
        let mut purged = 0;
        while purged < max {
            match self.slot(self.head) {
                Some(slot) if !slot.is_live(now) => {
                    debug!("lock expired on {}", slot.path);
                    self.remove(self.head);
                    purged += 1;
                }
                _ => break,
            }
        }
        purged
    }

    fn link_bucket(&mut self, index: u16, h: u16) {
        let b = Self::bucket(h);
        let Some(head) = self.buckets.get_mut(b) else {
            return;
        };
        let old = *head;
        *head = index;
        if let Some(slot) = at_mut(&mut self.slots, index) {
            slot.chain = old;
        }
    }

    fn unlink_bucket(&mut self, index: u16) {
        let Some(slot) = self.slot(index) else { return };
        let (b, after) = (Self::bucket(slot.path.hash()), slot.chain);
        let Some(&first) = self.buckets.get(b) else {
            return;
        };
        if first == index {
            if let Some(head) = self.buckets.get_mut(b) {
                *head = after;
            }
            return;
        }
        let mut i = first;
        while let Some(slot) = self.slot(i) {
            if slot.chain == index {
                if let Some(s) = at_mut(&mut self.slots, i) {
                    s.chain = after;
                }
                return;
            }
            i = slot.chain;
        }
    }

    /// Links `index` into the deadline list. New deadlines are nearly always the
    /// latest, so the walk back from the tail is short.
    fn insert_by_deadline(&mut self, now: Instant, index: u16) {
        let Some(new) = self.slot(index).and_then(|s| s.remaining(now)) else {
            return;
        };
        let mut before = self.tail;
        while let Some(slot) = self.slot(before) {
            // An expired lock's deadline has passed; a live one is compared by the time
            // left, which cannot be confused by the wrap.
            match slot.remaining(now) {
                Some(left) if left > new => before = slot.prev,
                _ => break,
            }
        }
        let after = match self.slot(before) {
            Some(slot) => slot.next,
            None => self.head,
        };
        if let Some(slot) = at_mut(&mut self.slots, index) {
            slot.prev = before;
            slot.next = after;
        }
        match at_mut(&mut self.slots, before) {
            Some(slot) => slot.next = index,
            None => self.head = index,
        }
        match at_mut(&mut self.slots, after) {
            Some(slot) => slot.prev = index,
            None => self.tail = index,
        }
        self.note_tail();
    }

    fn unlink_deadline(&mut self, index: u16) {
        let Some(slot) = self.slot(index) else { return };
        let (prev, next) = (slot.prev, slot.next);
        match at_mut(&mut self.slots, prev) {
            Some(slot) => slot.next = next,
            None => self.head = next,
        }
        match at_mut(&mut self.slots, next) {
            Some(slot) => slot.prev = prev,
            None => self.tail = prev,
        }
        self.note_tail();
    }

    fn remove(&mut self, index: u16) {
        let Some(slot) = self.slot(index) else { return };
        let (depth, hash, principal) = (slot.depth(), slot.path.hash(), slot.principal);
        if depth == Depth::Infinity
            && let Some(n) = self.infinity_roots.get_mut(infinity_filter(hash))
        {
            *n = n.saturating_sub(1);
        }
        if let Some(entry) = at_mut(&mut self.principals, u16::from(principal)) {
            entry.slots = entry.slots.saturating_sub(1);
        }
        self.unlink_bucket(index);
        self.unlink_deadline(index);
        let free = self.free;
        if let Some(slot) = at_mut(&mut self.slots, index) {
            *slot = Slot {
                next: free,
                ..Slot::EMPTY
            };
        }
        self.free = index;
    }

    /// Checks the structure's invariants; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        extern crate std;
        use std::vec::Vec;
        // The deadline list links back and forth, covers every occupied slot once, and
        // the live locks are a suffix.
        let mut seen = Vec::new();
        let (mut i, mut prev) = (self.head, NONE);
        while let Some(slot) = self.slot(i) {
            assert_eq!(slot.prev, prev);
            assert!(!seen.contains(&i));
            seen.push(i);
            prev = i;
            i = slot.next;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(
            self.latest,
            self.slot(self.tail)
                .map_or(NOTHING_LIVE, |s| (s.granted(), s.timeout()))
        );
        let mut free = Vec::new();
        let mut f = self.free;
        while let Some(slot) = self.slot(f) {
            free.push(f);
            f = slot.next;
        }
        assert_eq!(seen.len() + free.len(), usize::from(self.fresh));
        // Every occupied slot is in the chain of its hash, and only there.
        for &i in &seen {
            let slot = &self.slots[usize::from(i) - 1];
            assert_eq!(slot.path.hash(), crate::path::hash(slot.path.as_bytes()));
            let mut found = 0;
            let mut c = self.buckets[Self::bucket(slot.path.hash())];
            while let Some(s) = self.slot(c) {
                if c == i {
                    found += 1;
                }
                c = s.chain;
            }
            assert_eq!(found, 1);
        }
        let chained: usize = (0..N)
            .map(|b| {
                let mut n = 0;
                let mut c = self.buckets[b];
                while let Some(s) = self.slot(c) {
                    n += 1;
                    c = s.chain;
                }
                n
            })
            .sum();
        assert_eq!(chained, seen.len());
        let mut roots = [0u16; INFINITY_FILTER];
        for &i in &seen {
            let slot = &self.slots[usize::from(i) - 1];
            if slot.depth() == Depth::Infinity {
                roots[infinity_filter(slot.path.hash())] += 1;
            }
        }
        assert_eq!(roots, self.infinity_roots);
        // Each principal entry counts the occupied slots that name it; no two entries
        // in use share a name.
        let mut counts = [0u16; DEFAULT_PRINCIPALS];
        for &i in &seen {
            let slot = &self.slots[usize::from(i) - 1];
            assert!(usize::from(slot.principal) <= DEFAULT_PRINCIPALS);
            if slot.principal != ANONYMOUS {
                counts[usize::from(slot.principal) - 1] += 1;
            }
        }
        for (k, entry) in self.principals.iter().enumerate() {
            assert_eq!(entry.slots, counts[k], "principal entry {k}");
            if entry.slots != 0 {
                assert!(
                    !self.principals[k + 1..]
                        .iter()
                        .any(|e| e.slots != 0 && e.name == entry.name),
                    "two entries share a principal"
                );
            }
        }
        for &i in &free {
            assert_eq!(self.slots[usize::from(i) - 1].principal, ANONYMOUS);
        }
    }

    /// Checks that deadlines are ordered at `now`; for tests.
    #[cfg(test)]
    pub(crate) fn check_order(&self, now: Instant) {
        let mut i = self.head;
        let mut last: Option<Option<Timeout>> = None;
        while let Some(slot) = self.slot(i) {
            let r = slot.remaining(now);
            if let Some(prev) = last {
                // None (expired) sorts first; then by time left.
                assert!(prev <= r || prev.is_none(), "deadline order broken");
                assert!(
                    !(prev.is_some() && r.is_none()),
                    "an expired lock after a live one"
                );
            }
            last = Some(r);
            i = slot.next;
        }
    }
}

impl<const N: usize, const P: usize, const O: usize, const U: usize> fmt::Debug
    for LockTable<N, P, O, U>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockTable")
            .field("capacity", &N)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Whether a lock granted at `granted` for `timeout` is live at `now`: elapsed ticks
/// are counted with wrapping arithmetic, so this holds across the counter's wrap.
#[inline]
fn is_live(granted: Instant, timeout: Timeout, now: Instant) -> bool {
    match timeout {
        Timeout::Infinite => true,
        Timeout::Finite(t) => now.since(granted).0 < t.0,
    }
}

/// The live slots from the tail back; stops at the first expired one.
#[derive(Clone)]
struct Live<'t, const N: usize, const P: usize, const O: usize, const U: usize> {
    table: &'t LockTable<N, P, O, U>,
    at: u16,
    now: Instant,
}

impl<'t, const N: usize, const P: usize, const O: usize, const U: usize> Iterator
    for Live<'t, N, P, O, U>
{
    type Item = (u16, &'t Slot<P, O>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let slot = self.table.slot(self.at)?;
        if !slot.is_live(self.now) {
            self.at = NONE;
            return None;
        }
        let index = self.at;
        self.at = slot.prev;
        Some((index, slot))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Submission {
    Missing,
    Valid,
    WrongPrincipal,
}

#[inline]
fn submission<const P: usize, const O: usize, T: Tokens + ?Sized>(
    slot: &Slot<P, O>,
    submitted: &T,
    principal: u8,
) -> Submission {
    if !submitted.contains(&slot.token) {
        Submission::Missing
    } else if !slot.held_by(principal) {
        Submission::WrongPrincipal
    } else {
        Submission::Valid
    }
}

mod restore;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;
