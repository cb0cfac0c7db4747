//! The outcomes of a lock check and the one table that maps each to its HTTP meaning:
//! status code, problem type, title and WebDAV precondition (PROTOCOL.md, "Which
//! status for which outcome").

use core::fmt;

use crate::text::Text;

use heapless::String;

use super::accept::BodyFormat;
use super::condition::IfError;
use super::headers::{DepthError, DestinationError, LockTokenError, TimeoutError};
use super::method::Method;
use crate::lock::{Conflict, Depth, Scope};
use crate::path::{Path, PathError};
use crate::table::{LockError, RefreshError, UnlockError, WriteError};
use crate::tick::{Duration, Timeout};
use crate::token::LockToken;

/// When a lock expires, in whole seconds from the request, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Expiry {
    /// In this many seconds.
    InSeconds(u32),
    /// Never: the lock lasts until it is released.
    Never,
}

impl Expiry {
    /// A remaining time in ticks, at `tick_hz` ticks per second, in seconds rounded up
    /// (a `Retry-After` that is too short only brings the client back too early).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Duration, Timeout};
    /// use lockwarden::http::Expiry;
    /// assert_eq!(Expiry::from_timeout(Timeout::Finite(Duration(1001)), 1000), Expiry::InSeconds(2));
    /// assert_eq!(Expiry::from_timeout(Timeout::Infinite, 1000), Expiry::Never);
    /// ```
    pub const fn from_timeout(remaining: Timeout, tick_hz: u32) -> Expiry {
        match remaining {
            Timeout::Finite(t) => Expiry::InSeconds(t.as_secs_ceil(tick_hz)),
            Timeout::Infinite => Expiry::Never,
        }
    }

    /// The seconds, or `None` when the lock never expires.
    pub const fn seconds(self) -> Option<u32> {
        match self {
            Expiry::InSeconds(s) => Some(s),
            Expiry::Never => None,
        }
    }
}

/// A lock as an error response shows it: never with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LockDetails<const P: usize = 64, const O: usize = 64> {
    /// The lock root.
    pub root: Path<P>,
    /// Exclusive or shared.
    pub scope: Scope,
    /// Depth 0 or infinity.
    pub depth: Depth,
    /// The owner, as the table keeps it (markup; its text is
    /// [`OwnerText`](super::OwnerText)).
    pub owner: String<O>,
    /// When it expires.
    pub expires: Expiry,
}

impl<const P: usize, const O: usize> LockDetails<P, O> {
    /// The details of a conflict from the table, with its remaining time in seconds.
    #[inline(never)]
    pub fn from_conflict(conflict: &Conflict<P, O>, tick_hz: u32) -> Self {
        LockDetails {
            root: conflict.root.clone(),
            scope: conflict.scope,
            depth: conflict.depth,
            owner: conflict.owner.clone(),
            expires: Expiry::from_timeout(conflict.remaining, tick_hz),
        }
    }
}

/// A lock as its holder sees it after `LOCK`: with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLock<const P: usize = 64, const O: usize = 64> {
    /// The lock root.
    pub root: Path<P>,
    /// Exclusive or shared.
    pub scope: Scope,
    /// Depth 0 or infinity.
    pub depth: Depth,
    /// The owner, as the table keeps it (markup; its text is
    /// [`OwnerText`](super::OwnerText)).
    pub owner: String<O>,
    /// The token, for the `Lock-Token` header and the `lockdiscovery` body.
    pub token: LockToken,
    /// The timeout granted.
    pub timeout: Timeout,
    /// The timeout granted, in seconds rounded up.
    pub expires: Expiry,
}

/// A request header that is missing or malformed (HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HeaderError {
    /// A header the request needs is absent: `Lock-Token` on UNLOCK, `Destination` on
    /// COPY and MOVE, `If` on a LOCK refresh.
    Missing(&'static str),
    /// A malformed `If` header.
    If(IfError),
    /// A malformed `Lock-Token` header.
    LockToken(LockTokenError),
    /// A malformed `Timeout` header.
    Timeout(TimeoutError),
    /// A malformed `Depth` header.
    Depth(DepthError),
    /// A malformed `Destination` header.
    Destination(DestinationError),
}

impl HeaderError {
    /// The name of the header at fault.
    pub const fn header(&self) -> &'static str {
        match self {
            HeaderError::Missing(name) => name,
            HeaderError::If(_) => "If",
            HeaderError::LockToken(_) => "Lock-Token",
            HeaderError::Timeout(_) => "Timeout",
            HeaderError::Depth(_) => "Depth",
            HeaderError::Destination(_) => "Destination",
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl HeaderError {
    /// Writes the explanation that `Display` shows, without `core::fmt`'s machinery.
    pub(crate) fn write_text(&self, f: &mut dyn Text) -> fmt::Result {
        match self {
            HeaderError::Missing(name) => {
                f.write_str(name)?;
                f.write_str(" header: required by this request")
            }
            HeaderError::If(e) => e.write_text(f),
            HeaderError::LockToken(e) => f.write_str(e.message()),
            HeaderError::Timeout(e) => f.write_str(e.message()),
            HeaderError::Depth(e) => f.write_str(e.message()),
            HeaderError::Destination(e) => f.write_str(e.message()),
        }
    }
}

impl core::error::Error for HeaderError {}

/// What is wrong with a `LOCK` request's `lockinfo` body (RFC 4918 §14.11), found by
/// whoever parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LockInfoError {
    /// The body is not well-formed XML, or not a `DAV:lockinfo` element.
    Malformed,
    /// `DAV:lockscope` is missing or names neither `exclusive` nor `shared`.
    LockScope,
    /// `DAV:locktype` is missing or is not `write`.
    LockType,
    /// `DAV:owner` is longer than the table can hold.
    OwnerTooLong,
}

impl fmt::Display for LockInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl LockInfoError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        match self {
            LockInfoError::Malformed => "lockinfo body: not a well-formed DAV:lockinfo element",
            LockInfoError::LockScope => "lockinfo body: lockscope must be exclusive or shared",
            LockInfoError::LockType => "lockinfo body: locktype must be write",
            LockInfoError::OwnerTooLong => "lockinfo body: owner is longer than the table can hold",
        }
    }
}

impl core::error::Error for LockInfoError {}

/// Where a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PathSource {
    /// The request target.
    Request,
    /// The `Destination` header.
    Destination,
}

/// Why a request may not proceed: every error outcome of PROTOCOL.md.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Refusal<const P: usize = 64, const O: usize = 64> {
    /// 423: a lock blocks the write and its token was not submitted.
    Locked {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: Path<P>,
        /// The blocking lock.
        lock: LockDetails<P, O>,
    },
    /// 423: a `LOCK` conflicts with an existing lock on or above the path.
    LockConflict {
        /// The path to lock.
        path: Path<P>,
        /// The conflicting lock.
        lock: LockDetails<P, O>,
    },
    /// 207: a depth-infinity `LOCK` is blocked by a lock below the path (RFC 4918
    /// §9.10.9): 423 for the member, 424 for the request's root.
    LockBlockedBelow {
        /// The path to lock.
        path: Path<P>,
        /// The lock below it.
        lock: LockDetails<P, O>,
    },
    /// 412: the `If` header evaluates false.
    PreconditionFailed,
    /// 412: a refresh names no lock that covers the request URL.
    NoLockToRefresh,
    /// 409: `UNLOCK` names a token that is not a lock on the request URL.
    UnlockTokenMismatch,
    /// 403: a valid token was presented by another principal than the lock's.
    Forbidden,
    /// 403: the principal holds its maximum number of locks.
    QuotaExceeded,
    /// 403: the principal's name is longer than the table stores, so it cannot hold
    /// locks.
    PrincipalTooLong,
    /// 503: every slot holds a live lock.
    TableFull {
        /// Until the earliest lock expires; `Never` when all are infinite.
        retry_after: Expiry,
    },
    /// 503: the table holds live locks of as many principals as it can
    /// ([`DEFAULT_PRINCIPALS`](crate::DEFAULT_PRINCIPALS)), and this one is not among them.
    TooManyPrincipals {
        /// Until the earliest lock expires; `Never` when all are infinite.
        retry_after: Expiry,
    },
    /// 400: a header is missing or malformed.
    BadHeader(HeaderError),
    /// 400: the `lockinfo` body is malformed.
    BadLockInfo(LockInfoError),
    /// 414 for [`PathError::TooLong`], 400 otherwise: a path has no canonical form.
    BadPath {
        /// Which path.
        source: PathSource,
        /// Why.
        error: PathError,
    },
    /// 500: the table was never seeded, so it cannot issue tokens.
    Unseeded,
    /// 413: the request body is larger than the server accepts.
    #[cfg(feature = "http-full")]
    BodyTooLarge {
        /// The largest body accepted, in bytes.
        limit: u32,
    },
    /// 408: the request did not arrive within the server's time limit; the server
    /// closes the connection (RFC 9110 §15.5.9).
    #[cfg(feature = "http-full")]
    RequestTimeout {
        /// The time limit, in seconds.
        limit_secs: u32,
    },
    /// 400: the request body ended before it was complete (the connection closed, or
    /// its chunked framing was broken).
    #[cfg(feature = "http-full")]
    IncompleteBody,
    /// 415: a body on a method that takes none, such as `UNLOCK` (RFC 4918 §8.4: a
    /// body the server would ignore is refused).
    #[cfg(feature = "http-full")]
    UnexpectedBody {
        /// The request's method.
        method: Method,
    },
    /// 503: the shared lock store (a fleet's etcd) cannot be reached, so no lock can be
    /// checked: the request fails closed.
    #[cfg(feature = "http-full")]
    StoreUnavailable {
        /// When to try again, in seconds.
        retry_after_secs: u32,
    },
}

/// How an outcome reads in HTTP. Every row of PROTOCOL.md's table is a value of this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'static str,
    /// The problem type's last segment, under `https://lockwarden.dev/problems/`.
    pub problem: &'static str,
    /// The problem's title (stable for the type, RFC 9457 §3.1.3).
    pub title: &'static str,
    /// The WebDAV precondition element (RFC 4918 §16), if there is one.
    pub precondition: Option<&'static str>,
}

/// The base of the problem type URIs.
pub const PROBLEM_BASE: &str = "https://lockwarden.dev/problems/";

#[inline(never)]
const fn meaning(
    status: u16,
    reason: &'static str,
    problem: &'static str,
    title: &'static str,
    precondition: Option<&'static str>,
) -> Meaning {
    Meaning {
        status,
        reason,
        problem,
        title,
        precondition,
    }
}

impl<const P: usize, const O: usize> Refusal<P, O> {
    /// The refusal of a `LOCK` on `path` that the table refused with `error`: the one
    /// mapping from [`LockError`] to HTTP. A conflict with a lock strictly below `path`
    /// blocks a depth-infinity request (207, RFC 4918 §9.10.9); times are in seconds at
    /// `tick_hz`, rounded up.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockError, Path, Duration};
    /// use lockwarden::http::{Expiry, Refusal};
    /// let path: Path<64> = Path::new("/config").unwrap();
    /// let full = LockError::<64, 64>::TableFull { retry_after: Some(Duration(1500)) };
    /// let refusal = Refusal::of_lock(full, &path, 1000);
    /// assert_eq!(refusal, Refusal::TableFull { retry_after: Expiry::InSeconds(2) });
    /// assert_eq!(refusal.meaning().status, 503);
    /// ```
    #[inline(never)]
    pub fn of_lock(error: LockError<P, O>, path: &Path<P>, tick_hz: u32) -> Self {
        // Until the earliest lock expires.
        let wait = |t: Option<Duration>| {
            Expiry::from_timeout(t.map_or(Timeout::Infinite, Timeout::Finite), tick_hz)
        };
        match error {
            LockError::Conflict(conflict) => {
                let lock = LockDetails::from_conflict(&conflict, tick_hz);
                let path = path.clone();
                if conflict.root != path && path.contains(&conflict.root) {
                    Refusal::LockBlockedBelow { path, lock }
                } else {
                    Refusal::LockConflict { path, lock }
                }
            }
            LockError::QuotaExceeded => Refusal::QuotaExceeded,
            LockError::TableFull { retry_after } => Refusal::TableFull {
                retry_after: wait(retry_after),
            },
            LockError::TooManyPrincipals { retry_after } => Refusal::TooManyPrincipals {
                retry_after: wait(retry_after),
            },
            LockError::OwnerTooLong => Refusal::BadLockInfo(LockInfoError::OwnerTooLong),
            LockError::PrincipalTooLong => Refusal::PrincipalTooLong,
            LockError::Unseeded => Refusal::Unseeded,
        }
    }

    /// The refusal of a `method` on `path` that the table refused with `error` (423 with
    /// the blocking lock, or 403): the one mapping from [`WriteError`] to HTTP.
    #[inline(never)]
    pub fn of_write(error: WriteError<P, O>, method: Method, path: &Path<P>, tick_hz: u32) -> Self {
        match error {
            WriteError::Locked(conflict) => Refusal::Locked {
                method,
                path: path.clone(),
                lock: LockDetails::from_conflict(&conflict, tick_hz),
            },
            WriteError::Forbidden => Refusal::Forbidden,
        }
    }

    /// The status, problem type, title and precondition: the one place that maps
    /// outcomes to HTTP.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Refusal;
    /// assert_eq!(Refusal::<64, 64>::PreconditionFailed.meaning().status, 412);
    /// assert_eq!(Refusal::<64, 64>::Forbidden.meaning().status, 403);
    /// ```
    #[inline(never)]
    pub const fn meaning(&self) -> Meaning {
        const LOCKED: &str = "Locked";
        const BAD: &str = "Bad Request";
        const FORBIDDEN: &str = "Forbidden";
        const PRECONDITION: &str = "Precondition Failed";
        const UNAVAILABLE: &str = "Service Unavailable";
        match self {
            Refusal::Locked { .. } => meaning(
                423,
                LOCKED,
                "resource-locked",
                "Resource is locked",
                Some("lock-token-submitted"),
            ),
            Refusal::LockConflict { .. } => meaning(
                423,
                LOCKED,
                "lock-conflict",
                "Resource is already locked",
                Some("no-conflicting-lock"),
            ),
            // A multistatus body is XML: the minimal profile answers 423 instead.
            Refusal::LockBlockedBelow { .. } if !cfg!(feature = "http-full") => meaning(
                423,
                LOCKED,
                "lock-conflict",
                "Resource is already locked",
                Some("no-conflicting-lock"),
            ),
            Refusal::LockBlockedBelow { .. } => meaning(
                207,
                "Multi-Status",
                "lock-conflict",
                "Resource is already locked",
                Some("no-conflicting-lock"),
            ),
            Refusal::PreconditionFailed => meaning(
                412,
                PRECONDITION,
                "precondition-failed",
                "If header evaluated false",
                None,
            ),
            Refusal::NoLockToRefresh => meaning(
                412,
                PRECONDITION,
                "no-lock-to-refresh",
                "No lock to refresh",
                Some("lock-token-matches-request-uri"),
            ),
            Refusal::UnlockTokenMismatch => meaning(
                409,
                "Conflict",
                "lock-token-mismatch",
                "Lock token does not match the request URL",
                Some("lock-token-matches-request-uri"),
            ),
            Refusal::Forbidden => meaning(
                403,
                FORBIDDEN,
                "lock-held-by-another-principal",
                "Lock belongs to another principal",
                None,
            ),
            Refusal::QuotaExceeded => meaning(
                403,
                FORBIDDEN,
                "lock-quota-exceeded",
                "Lock quota exceeded",
                None,
            ),
            Refusal::PrincipalTooLong => meaning(
                403,
                FORBIDDEN,
                "principal-too-long",
                "Principal name too long to hold locks",
                None,
            ),
            Refusal::TableFull { .. } => meaning(
                503,
                UNAVAILABLE,
                "lock-table-full",
                "Lock table is full",
                None,
            ),
            Refusal::TooManyPrincipals { .. } => meaning(
                503,
                UNAVAILABLE,
                "lock-principals-full",
                "Lock table holds locks of too many principals",
                None,
            ),
            Refusal::BadHeader(_) => meaning(
                400,
                BAD,
                "malformed-header",
                "Malformed request header",
                None,
            ),
            Refusal::BadLockInfo(_) => meaning(
                400,
                BAD,
                "malformed-lockinfo",
                "Malformed lockinfo body",
                None,
            ),
            Refusal::BadPath {
                error: PathError::TooLong,
                ..
            } => meaning(
                414,
                "URI Too Long",
                "path-too-long",
                "Path too long for the lock table",
                None,
            ),
            Refusal::BadPath { .. } => meaning(400, BAD, "malformed-path", "Malformed path", None),
            Refusal::Unseeded => meaning(
                500,
                "Internal Server Error",
                "lock-table-unseeded",
                "Lock table has no token seed",
                None,
            ),
            #[cfg(feature = "http-full")]
            Refusal::BodyTooLarge { .. } => meaning(
                413,
                "Content Too Large",
                "body-too-large",
                "Request body too large",
                None,
            ),
            #[cfg(feature = "http-full")]
            Refusal::RequestTimeout { .. } => meaning(
                408,
                "Request Timeout",
                "request-timeout",
                "Request not received in time",
                None,
            ),
            #[cfg(feature = "http-full")]
            Refusal::IncompleteBody => {
                meaning(400, BAD, "incomplete-body", "Request body incomplete", None)
            }
            #[cfg(feature = "http-full")]
            Refusal::UnexpectedBody { .. } => meaning(
                415,
                "Unsupported Media Type",
                "unexpected-body",
                "Request body not allowed",
                None,
            ),
            #[cfg(feature = "http-full")]
            Refusal::StoreUnavailable { .. } => meaning(
                503,
                UNAVAILABLE,
                "lock-store-unavailable",
                "Lock store unavailable",
                None,
            ),
        }
    }

    /// The blocking lock, for the refusals that have one.
    pub const fn lock(&self) -> Option<&LockDetails<P, O>> {
        match self {
            Refusal::Locked { lock, .. }
            | Refusal::LockConflict { lock, .. }
            | Refusal::LockBlockedBelow { lock, .. } => Some(lock),
            _ => None,
        }
    }

    /// How long the client should wait before retrying (`Retry-After`): the blocking
    /// lock's remaining time, or the table's earliest expiry. `None` for infinite locks
    /// and for refusals that waiting does not cure.
    pub const fn retry_after(&self) -> Option<u32> {
        match self {
            Refusal::TableFull { retry_after } | Refusal::TooManyPrincipals { retry_after } => {
                retry_after.seconds()
            }
            #[cfg(feature = "http-full")]
            Refusal::StoreUnavailable { retry_after_secs } => Some(*retry_after_secs),
            _ => match self.lock() {
                Some(lock) => lock.expires.seconds(),
                None => None,
            },
        }
    }
}

/// A refused refresh: 403 for another principal's lock, otherwise 412.
impl<const P: usize, const O: usize> From<RefreshError> for Refusal<P, O> {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Forbidden => Refusal::Forbidden,
            RefreshError::NoSuchLock => Refusal::NoLockToRefresh,
        }
    }
}

/// A refused unlock: 403 for another principal's lock, otherwise 409.
impl<const P: usize, const O: usize> From<UnlockError> for Refusal<P, O> {
    fn from(error: UnlockError) -> Self {
        match error {
            UnlockError::Forbidden => Refusal::Forbidden,
            UnlockError::NoSuchLock => Refusal::UnlockTokenMismatch,
        }
    }
}

/// The whole outcome of a lock check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<const P: usize = 64, const O: usize = 64> {
    /// No lock stands in the way: serve the request.
    Allowed,
    /// `LOCK` granted: 201 when the URL was unmapped (the server must now create an
    /// empty resource there, RFC 4918 §9.10.4), 200 otherwise.
    Granted {
        /// The new lock.
        lock: HeldLock<P, O>,
        /// Whether the resource did not exist before.
        created: bool,
    },
    /// `LOCK` without a body refreshed a lock: 200.
    Refreshed {
        /// The refreshed lock.
        lock: HeldLock<P, O>,
    },
    /// `UNLOCK` released the lock: 204.
    Unlocked,
    /// The request is refused.
    Refused {
        /// Why.
        refusal: Refusal<P, O>,
        /// The body format the client gets.
        format: BodyFormat,
    },
}

impl<const P: usize, const O: usize> Outcome<P, O> {
    /// The status code and reason phrase.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Outcome;
    /// assert_eq!(Outcome::<64, 64>::Unlocked.status(), (204, "No Content"));
    /// ```
    pub const fn status(&self) -> (u16, &'static str) {
        match self {
            Outcome::Allowed => (200, "OK"),
            Outcome::Granted { created: true, .. } => (201, "Created"),
            Outcome::Granted { created: false, .. } | Outcome::Refreshed { .. } => (200, "OK"),
            Outcome::Unlocked => (204, "No Content"),
            Outcome::Refused { refusal, .. } => {
                let m = refusal.meaning();
                (m.status, m.reason)
            }
        }
    }

    /// Whether the server should go on and serve the request itself.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Outcome::Allowed)
    }

    /// The refusal, if the request is refused.
    pub const fn refusal(&self) -> Option<&Refusal<P, O>> {
        match self {
            Outcome::Refused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}
