//! The one-call lock check: a request in, its whole locking outcome out.

use heapless::String;

use super::accept::BodyFormat;
use super::condition::{Evaluation, NamedTokens, ResourceState, scan};
use super::headers::{DepthHeader, lock_token_of, parse_lock_token, parse_timeout, uri_path_of};
use super::method::Method;
use super::outcome::{Expiry, HeaderError, HeldLock, LockInfoError, Outcome, PathSource, Refusal};
use crate::lock::{Depth, LockRequest, RefreshRequest, Scope};
use crate::path::{Path, PathError};
use crate::table::{Access, Granted, LockTable, RefreshError};
use crate::tick::{Instant, Timeout};
use crate::token::LockToken;

/// The `lockinfo` body of a `LOCK` that creates a lock (RFC 4918 §14.11), as the
/// server's XML parser read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockInfo<'a> {
    /// `DAV:exclusive` or `DAV:shared`.
    pub scope: Scope,
    /// The content of `DAV:owner` as markup, kept verbatim (empty when absent), each
    /// namespace prefix it uses declared inside it: `lockdiscovery` returns it as sent
    /// (RFC 4918 §14.17), refusals show its [`OwnerText`](super::OwnerText). An owner
    /// given as plain text is passed as [`XmlText`](super::XmlText).
    pub owner: &'a str,
}

/// What the lock check needs to know about a request. Header values are the raw bytes
/// from the wire; the check parses them.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{Method, Request};
/// let req = Request::new(Method::Put, b"/config/network")
///     .header("if", b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)")
///     .header("Content-Type", b"application/json") // not about locks: ignored
///     .principal("alice")
///     .resource(true, Some("\"v7\""));
/// assert!(req.if_header.is_some());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The raw request target: an absolute path, or an absolute URI; a query is ignored.
    pub target: &'a [u8],
    /// The authenticated identity making the request, if any.
    pub principal: Option<&'a str>,
    /// Whether the target exists now. `false` unless the server says otherwise: a write
    /// to a resource that may not exist also needs the lock of its parent collection
    /// (RFC 4918 §7.5), the safe answer when existence is unknown.
    pub exists: bool,
    /// The target's current entity tag (`"x"` or `W/"x"`), for `If` conditions.
    pub etag: Option<&'a str>,
    /// Whether the `Destination` of a COPY or MOVE exists now.
    pub destination_exists: bool,
    /// The destination's current entity tag, for tagged `If` lists that name it.
    pub destination_etag: Option<&'a str>,
    /// The `lockinfo` body of a LOCK; `None` for a LOCK without body (a refresh).
    pub lockinfo: Option<LockInfo<'a>>,
    /// The `If` header.
    pub if_header: Option<&'a [u8]>,
    /// The `Lock-Token` header.
    pub lock_token: Option<&'a [u8]>,
    /// The `Timeout` header.
    pub timeout: Option<&'a [u8]>,
    /// The `Depth` header.
    pub depth: Option<&'a [u8]>,
    /// The `Accept` header.
    pub accept: Option<&'a [u8]>,
    /// The `Destination` header.
    pub destination: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request with no headers, for a target not known to exist (see
    /// [`Request::resource`]), without entity tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{Method, Request};
    /// let req = Request::new(Method::Delete, b"/config/wifi");
    /// assert!(!req.exists && req.if_header.is_none());
    /// ```
    pub const fn new(method: Method, target: &'a [u8]) -> Self {
        Request {
            method,
            target,
            principal: None,
            exists: false,
            etag: None,
            destination_exists: false,
            destination_etag: None,
            lockinfo: None,
            if_header: None,
            lock_token: None,
            timeout: None,
            depth: None,
            accept: None,
            destination: None,
        }
    }

    /// Records a request header if locking needs it (`If`, `Lock-Token`, `Timeout`,
    /// `Depth`, `Accept`, `Destination`; names compared without regard to case) and
    /// ignores the others, so a server can hand over every header in a loop. A repeated
    /// header replaces the earlier value.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{Method, Request};
    /// let req = Request::new(Method::Unlock, b"/a").header("LOCK-TOKEN", b"<urn:x>").header("Host", b"dev");
    /// assert_eq!(req.lock_token, Some(&b"<urn:x>"[..]));
    /// ```
    pub fn header(mut self, name: &str, value: &'a [u8]) -> Self {
        const NAMES: [&str; 6] = [
            "if",
            "lock-token",
            "timeout",
            "depth",
            "accept",
            "destination",
        ];
        let slot = match NAMES.iter().position(|n| name.eq_ignore_ascii_case(n)) {
            Some(0) => &mut self.if_header,
            Some(1) => &mut self.lock_token,
            Some(2) => &mut self.timeout,
            Some(3) => &mut self.depth,
            Some(4) => &mut self.accept,
            Some(_) => &mut self.destination,
            None => return self,
        };
        *slot = Some(value);
        self
    }

    /// The same request by an authenticated principal.
    pub const fn principal(mut self, principal: &'a str) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Whether the target exists, and its entity tag.
    pub const fn resource(mut self, exists: bool, etag: Option<&'a str>) -> Self {
        self.exists = exists;
        self.etag = etag;
        self
    }

    /// Whether the destination of a COPY or MOVE exists, and its entity tag.
    pub const fn destination_resource(mut self, exists: bool, etag: Option<&'a str>) -> Self {
        self.destination_exists = exists;
        self.destination_etag = etag;
        self
    }

    /// The `lockinfo` body of a LOCK that creates a lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Scope;
    /// use lockwarden::http::{Method, Request};
    /// let req = Request::new(Method::Lock, b"/a").lockinfo(Scope::Shared, "panel").resource(false, None);
    /// assert_eq!(req.lockinfo.unwrap().scope, Scope::Shared);
    /// assert!(!req.exists);
    /// ```
    pub const fn lockinfo(mut self, scope: Scope, owner: &'a str) -> Self {
        self.lockinfo = Some(LockInfo { scope, owner });
        self
    }
}

/// Decides the whole locking outcome of a request, in one call.
///
/// - Every method: the `If` header is parsed and evaluated (RFC 4918 §10.4); a false
///   header refuses with 412. An untagged list tests the request's resource, so a token
///   of a depth-0 lock on a collection must come in a list tagged with the collection
///   when a member is created in it (§10.4.4: a token matches a resource in its lock's
///   scope only).
/// - Writes ask the table for the access each needs (RFC 4918 §7, §9):
///   PUT, POST, PATCH, PROPPATCH and unknown methods write the target, and when it does
///   not exist yet also the membership of its parent; MKCOL writes the target and the
///   parent's membership; DELETE the target's subtree and the parent's membership; MOVE
///   the source's subtree and its parent's membership, then the destination's subtree
///   (if it exists) and its parent's membership; COPY the destination side only. The
///   tokens submitted are every lock token the `If` header names.
/// - `LOCK` with a body creates a lock (depth from `Depth`, infinity by default;
///   `Timeout`'s first choice, clamped by the policy, which may grant `Infinite` as its
///   maximum finite timeout); on an unmapped URL it also writes the
///   parent's membership and answers 201. `LOCK` without a body refreshes the lock that
///   the `If` header names. `UNLOCK` releases the lock its `Lock-Token` names.
/// - Reads (GET, HEAD, OPTIONS, PROPFIND, REPORT, SEARCH, TRACE) are allowed once `If`
///   holds.
///
/// The server then serves the request on [`Outcome::Allowed`] and otherwise sends the
/// outcome's status, headers and body (see [`Outcome::headers`],
/// [`Outcome::write_body`], [`Outcome::response_into`]). It must do the check and the
/// write under the same lock of the table, so that no lock is taken in between.
///
/// Stack: `check` and writing its answer need at most 1,568 bytes on a Cortex-M3 and
/// 1,632 on a Cortex-M0, the returned `Outcome` included, painted and measured under
/// QEMU (`core/size/report.sh`, which fails above 2 KiB).
///
/// # Examples
///
/// ```
/// use lockwarden::{LockTable, Policy, Scope, Instant};
/// use lockwarden::http::{check, Disclosure, Method, Outcome, Request};
///
/// let mut table: LockTable<8> = LockTable::new(Policy::new(1000));
/// table.seed_tokens([7; 16]);
///
/// // A WebDAV client locks /config.
/// let lock = Request::new(Method::Lock, b"/config")
///     .header("Timeout", b"Second-60")
///     .lockinfo(Scope::Exclusive, "alice's laptop");
/// let Outcome::Granted { lock: held, .. } = check(&mut table, Instant(0), &lock) else { panic!() };
///
/// // A plain HTTP client without the token is refused with 423 and problem+json.
/// let put = Request::new(Method::Put, b"/config/network");
/// let outcome = check(&mut table, Instant(1000), &put);
/// assert_eq!(outcome.status(), (423, "Locked"));
/// let mut buf = [0u8; 1024];
/// let n = outcome.body_into(&mut buf, Disclosure::default()).unwrap();
/// let body = core::str::from_utf8(&buf[..n]).unwrap();
/// assert!(body.contains("\"expiresInSeconds\":59"));
///
/// // With the token in an If header, the write may proceed.
/// let if_value = format!("(<{}>)", held.token);
/// let put = put.header("If", if_value.as_bytes());
/// assert!(check(&mut table, Instant(1000), &put).is_allowed());
/// ```
pub fn check<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &mut LockTable<N, P, O, U>,
    now: Instant,
    request: &Request<'_>,
) -> Outcome<P, O> {
    let format = BodyFormat::negotiate(request.method, request.accept);
    decide(table, now, request, format)
}

/// `?` for the stages of the check, which answer with the whole [`Outcome`] rather
/// than a `Result`: a refusal ends the check. Each stage writes its outcome straight
/// into the caller's, so no second outcome-sized value is on the stack (RAM is the
/// scarce thing on a microcontroller; an outcome is a few hundred bytes).
macro_rules! attempt {
    ($result:expr, $format:expr) => {
        match $result {
            Ok(value) => value,
            Err(refusal) => {
                return Outcome::Refused {
                    refusal: Refusal::from(refusal),
                    format: $format,
                };
            }
        }
    };
}

struct TableState<'t, 'r, const N: usize, const P: usize, const O: usize, const U: usize> {
    table: &'t LockTable<N, P, O, U>,
    now: Instant,
    target: &'r Path<P>,
    etag: Option<&'r str>,
    destination: Option<&'r Path<P>>,
    destination_etag: Option<&'r str>,
}

impl<const N: usize, const P: usize, const O: usize, const U: usize> ResourceState<P>
    for TableState<'_, '_, N, P, O, U>
{
    fn has_lock(&self, path: &Path<P>, token: &LockToken) -> bool {
        self.table.find(self.now, path, token).is_some()
    }

    fn etag(&self, path: &Path<P>) -> Option<&str> {
        if path == self.target {
            self.etag
        } else if self.destination == Some(path) {
            self.destination_etag
        } else {
            None
        }
    }
}

/// A refusal about the request's own text (a header or a path), which needs no lock to
/// explain: small, so that the stages that find one keep small frames.
enum Malformed {
    Header(HeaderError),
    Path(PathSource, PathError),
}

impl<const P: usize, const O: usize> From<Malformed> for Refusal<P, O> {
    fn from(malformed: Malformed) -> Self {
        match malformed {
            Malformed::Header(e) => Refusal::BadHeader(e),
            Malformed::Path(source, error) => Refusal::BadPath { source, error },
        }
    }
}

/// The canonical path of a request target or `Destination`, into `path`: written in
/// place, so that no `Result` holding a path takes the caller's stack.
#[inline(never)]
fn canonical<const P: usize>(
    raw: &[u8],
    source: PathSource,
    path: &mut Path<P>,
) -> Result<(), Malformed> {
    let raw = match source {
        PathSource::Request => {
            uri_path_of(raw).map_err(|_| Malformed::Path(source, PathError::NotAbsolute))?
        }
        PathSource::Destination => {
            uri_path_of(raw).map_err(|e| Malformed::Header(HeaderError::Destination(e)))?
        }
    };
    *path = Path::new(raw).map_err(|error| Malformed::Path(source, error))?;
    Ok(())
}

#[inline(never)]
fn decide<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &mut LockTable<N, P, O, U>,
    now: Instant,
    req: &Request<'_>,
    format: BodyFormat,
) -> Outcome<P, O> {
    // `OPTIONS *` (RFC 9110 §7.1) names the server, which no lock covers.
    if req.target == b"*" && req.method.is_read() {
        return Outcome::Allowed;
    }
    let mut path = Path::zeroed();
    attempt!(
        canonical(req.target, PathSource::Request, &mut path),
        format
    );
    let mut destination_path = Path::zeroed();
    let destination = match (req.method, req.destination) {
        (Method::Copy | Method::Move, None) => {
            let missing = Err(Malformed::Header(HeaderError::Missing("Destination")));
            attempt!(missing, format)
        }
        (Method::Copy | Method::Move, Some(raw)) => {
            let source = PathSource::Destination;
            attempt!(canonical(raw, source, &mut destination_path), format);
            Some(&destination_path)
        }
        _ => None,
    };
    let if_holds = attempt!(evaluate_if(table, now, req, &path, destination), format);
    let stage = Stage {
        req,
        now,
        path: &path,
        submitted: NamedTokens(req.if_header),
        format,
    };
    match req.method {
        Method::Lock => match req.lockinfo {
            Some(info) => create_lock(table, &stage, info, if_holds),
            None => refresh_lock(table, &stage, if_holds),
        },
        _ if !if_holds => stage.refused(Refusal::PreconditionFailed),
        Method::Unlock => unlock(table, &stage),
        _ => write(table, &stage, destination),
    }
}

/// What the stages after the `If` header share: the request, when it is checked, its
/// canonical path, the tokens it submits and the body format of its answer.
struct Stage<'r, 'a, const P: usize> {
    req: &'r Request<'a>,
    now: Instant,
    path: &'r Path<P>,
    /// The tokens the `If` header names (RFC 4918 §10.4.1).
    submitted: NamedTokens<'a>,
    format: BodyFormat,
}

impl<const P: usize> Stage<'_, '_, P> {
    fn refused<const O: usize>(&self, refusal: Refusal<P, O>) -> Outcome<P, O> {
        Outcome::Refused {
            refusal,
            format: self.format,
        }
    }

    /// Asks the table for one access of the request to `target`. On a refusal, writes
    /// it into `answer` and returns false: no refusal-sized `Result` on the stack.
    #[inline(never)]
    fn authorize<const N: usize, const O: usize, const U: usize>(
        &self,
        table: &LockTable<N, P, O, U>,
        target: &Path<P>,
        access: Access,
        answer: &mut Outcome<P, O>,
    ) -> bool {
        let hz = table.policy().tick_hz;
        let principal = self.req.principal;
        match table.authorize_submitted(self.now, target, access, &self.submitted, principal) {
            Ok(()) => true,
            Err(e) => {
                *answer = self.refused(Refusal::of_write(e, self.req.method, self.path, hz));
                false
            }
        }
    }
}

/// Whether the `If` header holds (true without one). The header is evaluated as it is read (RFC 4918 §10.4.3: a
/// list holds when all its conditions hold, the header when any list holds; untagged
/// lists test the request's resource, tagged ones their tag's), so that no parsed header
/// takes the stack while the table is asked.
#[inline(never)]
fn evaluate_if<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &LockTable<N, P, O, U>,
    now: Instant,
    req: &Request<'_>,
    path: &Path<P>,
    destination: Option<&Path<P>>,
) -> Result<bool, Malformed> {
    let Some(raw) = req.if_header else {
        return Ok(true);
    };
    let state = TableState {
        table,
        now,
        target: path,
        etag: req.etag,
        destination,
        destination_etag: req.destination_etag,
    };
    let mut evaluation = Evaluation::new(path, &state);
    let scanned = scan(raw, &mut |event| evaluation.on(event));
    scanned
        .and(evaluation.result())
        .map_err(|e| Malformed::Header(HeaderError::If(e)))
}

/// Calls `need` with each access a write needs, in the order they are checked, and
/// stops at the first it refuses (`need` returns false). A visitor rather than a list,
/// so that at most one parent path is on the stack at a time.
#[inline(never)]
fn write_accesses<const P: usize>(
    req: &Request<'_>,
    path: &Path<P>,
    destination: Option<&Path<P>>,
    need: &mut dyn FnMut(&Path<P>, Access) -> bool,
) -> bool {
    let membership_of_parent = |p: &Path<P>, need: &mut dyn FnMut(&Path<P>, Access) -> bool| {
        p.parent()
            .is_none_or(|parent| need(&parent, Access::Membership))
    };
    match req.method {
        Method::Get
        | Method::Head
        | Method::Options
        | Method::Propfind
        | Method::OtherRead
        | Method::Lock
        | Method::Unlock => true,
        Method::Delete => need(path, Access::Subtree) && membership_of_parent(path, need),
        Method::Mkcol => need(path, Access::Resource) && membership_of_parent(path, need),
        Method::Move | Method::Copy => {
            let source = req.method != Method::Move
                || (need(path, Access::Subtree) && membership_of_parent(path, need));
            source
                && destination.is_none_or(|dest| {
                    (!req.destination_exists || need(dest, Access::Subtree))
                        && membership_of_parent(dest, need)
                })
        }
        Method::Put | Method::Post | Method::Patch | Method::Proppatch | Method::Other => {
            need(path, Access::Resource) && (req.exists || membership_of_parent(path, need))
        }
    }
}

/// A write (any method but LOCK and UNLOCK): allowed when the table grants every access
/// it needs.
#[inline(never)]
fn write<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &LockTable<N, P, O, U>,
    stage: &Stage<'_, '_, P>,
    destination: Option<&Path<P>>,
) -> Outcome<P, O> {
    let mut answer = Outcome::Allowed;
    write_accesses(stage.req, stage.path, destination, &mut |target, access| {
        stage.authorize(table, target, access, &mut answer)
    });
    answer
}

/// The outcome of a granted lock (`created`: whether its resource was unmapped) or,
/// with `created` `None`, of a refreshed one: the lock as the client will see it.
#[inline(never)]
fn held<const P: usize, const O: usize>(
    lock: &LockRequest<'_, P>,
    granted: Granted,
    tick_hz: u32,
    created: Option<bool>,
    format: BodyFormat,
) -> Outcome<P, O> {
    let mut owner = String::new();
    if owner.push_str(lock.owner).is_err() {
        // Only when the table stores longer owners than the outcome holds.
        return Outcome::Refused {
            refusal: Refusal::BadLockInfo(LockInfoError::OwnerTooLong),
            format,
        };
    }
    let lock = HeldLock {
        root: lock.path.clone(),
        scope: lock.scope,
        depth: lock.depth,
        owner,
        token: granted.token,
        timeout: granted.timeout,
        expires: Expiry::from_timeout(granted.timeout, tick_hz),
    };
    match created {
        Some(created) => Outcome::Granted { lock, created },
        None => Outcome::Refreshed { lock },
    }
}

#[inline(never)]
fn requested_timeout(req: &Request<'_>, tick_hz: u32) -> Result<Option<Timeout>, Malformed> {
    match req.timeout {
        None => Ok(None),
        Some(raw) => parse_timeout(raw)
            .map(|t| Some(t.to_timeout(tick_hz)))
            .map_err(|e| Malformed::Header(HeaderError::Timeout(e))),
    }
}

#[inline(never)]
fn create_lock<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &mut LockTable<N, P, O, U>,
    stage: &Stage<'_, '_, P>,
    info: LockInfo<'_>,
    if_holds: bool,
) -> Outcome<P, O> {
    let (req, path, format) = (stage.req, stage.path, stage.format);
    let hz = table.policy().tick_hz;
    // RFC 4918 §9.10.3: no Depth header means infinity.
    let depth = match req.depth {
        None => Depth::Infinity,
        Some(raw) => attempt!(
            DepthHeader::parse(raw)
                .and_then(DepthHeader::lock_depth)
                .map_err(|e| Malformed::Header(HeaderError::Depth(e))),
            format
        ),
    };
    let timeout = attempt!(requested_timeout(req, hz), format);
    if !if_holds {
        return stage.refused(Refusal::PreconditionFailed);
    }
    // Locking an unmapped URL creates a member of its parent (§9.10.4, §7.3).
    if !req.exists
        && let Some(parent) = path.parent()
    {
        let mut answer = Outcome::Allowed;
        if !stage.authorize(table, &parent, Access::Membership, &mut answer) {
            return answer;
        }
    }
    let lock = LockRequest {
        path,
        scope: info.scope,
        depth,
        owner: info.owner,
        principal: req.principal,
        timeout,
    };
    match table.lock(stage.now, &lock) {
        Ok(granted) => held(&lock, granted, hz, Some(!req.exists), format),
        Err(e) => stage.refused(Refusal::of_lock(e, path, hz)),
    }
}

#[inline(never)]
fn refresh_lock<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &mut LockTable<N, P, O, U>,
    stage: &Stage<'_, '_, P>,
    if_holds: bool,
) -> Outcome<P, O> {
    let (req, path, now) = (stage.req, stage.path, stage.now);
    let hz = table.policy().tick_hz;
    // RFC 4918 §9.10.2: a refresh names its lock in the If header.
    if req.if_header.is_none() {
        return stage.refused(Refusal::BadHeader(HeaderError::Missing("If")));
    }
    let timeout = attempt!(requested_timeout(req, hz), stage.format);
    let names_a_lock = stage
        .submitted
        .any(&mut |t| table.find(now, path, t).is_some());
    if !names_a_lock {
        return stage.refused(Refusal::NoLockToRefresh);
    }
    if !if_holds {
        return stage.refused(Refusal::PreconditionFailed);
    }
    let mut forbidden = false;
    let mut refreshed = None;
    stage.submitted.any(&mut |token| {
        let refresh = RefreshRequest {
            principal: req.principal,
            timeout,
            ..RefreshRequest::new(path, token)
        };
        match table.refresh(now, &refresh) {
            Ok(granted) => refreshed = Some(granted),
            Err(RefreshError::Forbidden) => forbidden = true,
            Err(RefreshError::NoSuchLock) => {}
        }
        refreshed.is_some()
    });
    if let Some(granted) = refreshed {
        let Some(lock) = table.find(now, path, &granted.token) else {
            return stage.refused(Refusal::NoLockToRefresh);
        };
        let lock = LockRequest {
            path: lock.root,
            scope: lock.scope,
            depth: lock.depth,
            owner: lock.owner,
            principal: None,
            timeout: None,
        };
        return held(&lock, granted, hz, None, stage.format);
    }
    stage.refused(Refusal::from(if forbidden {
        RefreshError::Forbidden
    } else {
        RefreshError::NoSuchLock
    }))
}

#[inline(never)]
fn unlock<const N: usize, const P: usize, const O: usize, const U: usize>(
    table: &mut LockTable<N, P, O, U>,
    stage: &Stage<'_, '_, P>,
) -> Outcome<P, O> {
    let req = stage.req;
    let released = req
        .lock_token
        .ok_or(Refusal::BadHeader(HeaderError::Missing("Lock-Token")))
        .and_then(|raw| {
            parse_lock_token(raw).map_err(|e| Refusal::BadHeader(HeaderError::LockToken(e)))
        })
        // A URI that is not one of this server's tokens names no lock here (§9.11.1).
        .and_then(|uri| lock_token_of(uri).ok_or(Refusal::UnlockTokenMismatch))
        .and_then(|token| {
            table
                .unlock(stage.now, stage.path, &token, req.principal)
                .map_err(Refusal::from)
        });
    match released {
        Ok(()) => Outcome::Unlocked,
        Err(refusal) => stage.refused(refusal),
    }
}
