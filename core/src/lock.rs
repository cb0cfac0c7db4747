//! What a lock is: its scope, its depth, and the views of it that the table hands out.

use core::fmt;

use crate::path::Path;
use crate::table::Access;
use crate::tick::Timeout;
use crate::token::LockToken;

/// Exclusive or shared (RFC 4918 §6.1).
///
/// An exclusive lock conflicts with every other lock on the resources it covers; a
/// shared lock conflicts only with exclusive ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// Only the holder may write.
    Exclusive,
    /// Every holder of a shared lock may write.
    Shared,
}

impl Scope {
    /// Whether a lock of this scope and one of `other` may cover the same resource.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Scope;
    /// assert!(Scope::Shared.compatible_with(Scope::Shared));
    /// assert!(!Scope::Shared.compatible_with(Scope::Exclusive));
    /// ```
    #[inline]
    pub const fn compatible_with(self, other: Scope) -> bool {
        matches!((self, other), (Scope::Shared, Scope::Shared))
    }

    /// The WebDAV name: `exclusive` or `shared`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockwarden::Scope::Shared.as_str(), "shared");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Exclusive => "exclusive",
            Scope::Shared => "shared",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a lock reaches (RFC 4918 §6.1, §9.10.3): the root only, or the root and
/// every descendant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Depth {
    /// The lock root only (for a collection: its properties and its membership).
    Zero,
    /// The lock root and everything below it.
    Infinity,
}

impl Depth {
    /// The WebDAV name: `0` or `infinity`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockwarden::Depth::Infinity.as_str(), "infinity");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Depth::Zero => "0",
            Depth::Infinity => "infinity",
        }
    }
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a new lock.
///
/// # Examples
///
/// ```
/// use lockwarden::{Depth, LockRequest, Path, Scope};
/// let path: Path<64> = Path::new("/config/network").unwrap();
/// let req = LockRequest::exclusive(&path, "alice's laptop").depth(Depth::Infinity);
/// assert_eq!(req.scope, Scope::Exclusive);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LockRequest<'a, const P: usize = 64> {
    /// The lock root.
    pub path: &'a Path<P>,
    /// Exclusive or shared.
    pub scope: Scope,
    /// Depth 0 or infinity.
    pub depth: Depth,
    /// Who holds the lock, as the client described itself; kept verbatim and shown to
    /// others in conflicts.
    pub owner: &'a str,
    /// The authenticated identity that creates the lock; only it may use, refresh or
    /// release the lock. `None` for anonymous clients.
    pub principal: Option<&'a str>,
    /// The timeout asked for; `None` takes the policy's default.
    pub timeout: Option<Timeout>,
}

impl<'a, const P: usize> LockRequest<'a, P> {
    /// An exclusive, depth-0, anonymous request with the default timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Depth, LockRequest, Path};
    /// let path: Path<16> = Path::new("/a").unwrap();
    /// assert_eq!(LockRequest::exclusive(&path, "me").depth, Depth::Zero);
    /// ```
    pub const fn exclusive(path: &'a Path<P>, owner: &'a str) -> Self {
        LockRequest {
            path,
            scope: Scope::Exclusive,
            depth: Depth::Zero,
            owner,
            principal: None,
            timeout: None,
        }
    }

    /// A shared, depth-0, anonymous request with the default timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, Path, Scope};
    /// let path: Path<16> = Path::new("/a").unwrap();
    /// assert_eq!(LockRequest::shared(&path, "me").scope, Scope::Shared);
    /// ```
    pub const fn shared(path: &'a Path<P>, owner: &'a str) -> Self {
        LockRequest {
            scope: Scope::Shared,
            ..Self::exclusive(path, owner)
        }
    }

    /// The same request with another depth.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Depth, LockRequest, Path};
    /// let path: Path<16> = Path::new("/a").unwrap();
    /// let req = LockRequest::exclusive(&path, "me").depth(Depth::Infinity);
    /// assert_eq!(req.depth, Depth::Infinity);
    /// ```
    pub const fn depth(self, depth: Depth) -> Self {
        LockRequest { depth, ..self }
    }

    /// The same request made by an authenticated principal.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, Path};
    /// let path: Path<16> = Path::new("/a").unwrap();
    /// assert_eq!(LockRequest::exclusive(&path, "me").principal("alice").principal, Some("alice"));
    /// ```
    pub const fn principal(self, principal: &'a str) -> Self {
        LockRequest {
            principal: Some(principal),
            ..self
        }
    }

    /// The same request asking for a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, Path, Duration, Timeout};
    /// let path: Path<16> = Path::new("/a").unwrap();
    /// let req = LockRequest::exclusive(&path, "me").timeout(Timeout::Finite(Duration(10)));
    /// assert_eq!(req.timeout, Some(Timeout::Finite(Duration(10))));
    /// ```
    pub const fn timeout(self, timeout: Timeout) -> Self {
        LockRequest {
            timeout: Some(timeout),
            ..self
        }
    }
}

/// A write to check against the locks (RFC 4918 §7): the path it touches, what it does
/// there, the lock tokens it submits and who makes it. Built like a [`LockRequest`];
/// [`LockTable::authorize`](crate::LockTable::authorize) decides it.
///
/// # Examples
///
/// ```
/// use lockwarden::{Access, LockToken, Path, WriteRequest};
/// let path: Path<64> = Path::new("/config/network").unwrap();
/// let tokens = [LockToken::from_bytes([1; 16])];
/// let write = WriteRequest::resource(&path).tokens(&tokens).principal("alice");
/// assert_eq!((write.access, write.principal), (Access::Resource, Some("alice")));
/// // An identity held in an `Option` goes in by field.
/// let who: Option<&str> = None;
/// let write = WriteRequest { principal: who, ..WriteRequest::new(&path, Access::Subtree) };
/// assert!(write.tokens.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a, const P: usize = 64> {
    /// The path written.
    pub path: &'a Path<P>,
    /// What the write does there.
    pub access: Access,
    /// The lock tokens submitted with it (for HTTP, every token its `If` header names).
    pub tokens: &'a [LockToken],
    /// The authenticated identity making the write; `None` for anonymous clients.
    pub principal: Option<&'a str>,
}

impl<'a, const P: usize> WriteRequest<'a, P> {
    /// A write of `access` to `path`, anonymous and without tokens.
    pub const fn new(path: &'a Path<P>, access: Access) -> Self {
        WriteRequest {
            path,
            access,
            tokens: &[],
            principal: None,
        }
    }

    /// A write of the resource at `path` (PUT, PROPPATCH): [`Access::Resource`].
    pub const fn resource(path: &'a Path<P>) -> Self {
        Self::new(path, Access::Resource)
    }

    /// The same write submitting `tokens`.
    pub const fn tokens(self, tokens: &'a [LockToken]) -> Self {
        WriteRequest { tokens, ..self }
    }

    /// The same write made by an authenticated principal.
    pub const fn principal(self, principal: &'a str) -> Self {
        WriteRequest {
            principal: Some(principal),
            ..self
        }
    }
}

/// A refresh of a lock (RFC 4918 §9.10.2): the path of the request, the lock's token,
/// who asks, and the timeout wanted. Built like a [`LockRequest`];
/// [`LockTable::refresh`](crate::LockTable::refresh) performs it.
///
/// # Examples
///
/// ```
/// use lockwarden::{Duration, LockToken, Path, RefreshRequest, Timeout};
/// let path: Path<64> = Path::new("/config/network").unwrap();
/// let token = LockToken::from_bytes([1; 16]);
/// let refresh = RefreshRequest::new(&path, &token).principal("alice");
/// assert_eq!(refresh.timeout, None); // keeps the timeout granted
/// let refresh = refresh.timeout(Timeout::Finite(Duration(60_000)));
/// assert_eq!(refresh.timeout, Some(Timeout::Finite(Duration(60_000))));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest<'a, const P: usize = 64> {
    /// The path of the request: the lock's root or a path it covers.
    pub path: &'a Path<P>,
    /// The lock's token.
    pub token: &'a LockToken,
    /// The authenticated identity asking; `None` for anonymous clients.
    pub principal: Option<&'a str>,
    /// The new timeout; `None` keeps the one granted (RFC 4918 §9.10.2).
    pub timeout: Option<Timeout>,
}

impl<'a, const P: usize> RefreshRequest<'a, P> {
    /// An anonymous refresh of the lock with `token` covering `path`, keeping its
    /// timeout.
    pub const fn new(path: &'a Path<P>, token: &'a LockToken) -> Self {
        RefreshRequest {
            path,
            token,
            principal: None,
            timeout: None,
        }
    }

    /// The same refresh asked by an authenticated principal.
    pub const fn principal(self, principal: &'a str) -> Self {
        RefreshRequest {
            principal: Some(principal),
            ..self
        }
    }

    /// The same refresh asking for a new timeout.
    pub const fn timeout(self, timeout: Timeout) -> Self {
        RefreshRequest {
            timeout: Some(timeout),
            ..self
        }
    }
}

/// A live lock as the table shows it, borrowed from the table.
#[derive(Debug, Clone, Copy)]
pub struct ActiveLock<'t, const P: usize = 64> {
    /// The lock root.
    pub root: &'t Path<P>,
    /// Exclusive or shared.
    pub scope: Scope,
    /// Depth 0 or infinity.
    pub depth: Depth,
    /// The owner text, verbatim.
    pub owner: &'t str,
    /// The principal that created the lock, if any.
    pub principal: Option<&'t str>,
    /// The lock's token. Show it only to the lock's own principal (RFC 4918 §6.5: a
    /// token is not a secret by design, but here it is the proof of ownership).
    pub token: LockToken,
    /// The timeout that was granted (at creation or the last refresh).
    pub timeout: Timeout,
    /// The time left at the `now` of the query.
    pub remaining: Timeout,
}

impl<const P: usize> ActiveLock<'_, P> {
    /// Whether this lock covers `path`: it is the root, or the lock has depth infinity
    /// and the root is an ancestor of `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use lockwarden::*;
    /// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    /// table.seed_tokens([7; 16]);
    /// let root = Path::new("/config").unwrap();
    /// table.lock(Instant(0), &LockRequest::exclusive(&root, "me").depth(Depth::Infinity)).unwrap();
    /// let lock = table.locks(Instant(0)).next().unwrap();
    /// assert!(lock.covers(&Path::new("/config/wifi").unwrap()));
    /// ```
    pub fn covers(&self, path: &Path<P>) -> bool {
        covers(self.root.as_bytes(), self.depth, path.as_bytes())
    }
}

/// Whether a lock with this root and depth covers `path` (RFC 4918 §6.1, §7.5).
#[inline]
pub(crate) fn covers(root: &[u8], depth: Depth, path: &[u8]) -> bool {
    match depth {
        Depth::Zero => root == path,
        Depth::Infinity => crate::path::contains(root, path),
    }
}

/// A lock that blocks a request: what a `423 Locked` needs to say, and never its token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conflict<const P: usize = 64, const O: usize = 64> {
    /// The root of the blocking lock.
    pub root: Path<P>,
    /// Its scope.
    pub scope: Scope,
    /// Its depth.
    pub depth: Depth,
    /// Its owner text, verbatim.
    pub owner: heapless::String<O>,
    /// The time until it expires, at the `now` of the request.
    pub remaining: Timeout,
}

impl<const P: usize, const O: usize> fmt::Display for Conflict<P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "locked by the {} lock on {} (depth {}) held by \"{}\"",
            self.scope, self.root, self.depth, self.owner
        )?;
        match self.remaining {
            Timeout::Finite(t) => write!(f, ", expiring in {t}"),
            Timeout::Infinite => f.write_str(", with no timeout"),
        }
    }
}
