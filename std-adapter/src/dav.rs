//! lockwarden as the lock system of the [`dav_server`] crate (feature `dav-server`).
//!
//! [`DavLocks`] implements [`DavLockSystem`] on a [`LockManager`], so a `dav-server`
//! handler gets lockwarden's semantics: shared and exclusive locks, depth 0 and infinity,
//! timeouts granted under the table's [`Policy`](lockwarden::Policy) (default, maximum,
//! what `Infinite` becomes), expiry that needs no sweep, tokens that cannot be guessed,
//! and principals: a lock created by an authenticated principal can only be used,
//! refreshed or released by that principal.
//!
//! Where `dav-server`'s own [`MemLs`](dav_server::memls::MemLs) differs: it never expires a
//! lock (the timeout is only displayed), its `unlock` and `refresh` accept any principal,
//! and an `If` state token that names no lock evaluates true when the resource is
//! unlocked (RFC 4918 §10.4.8 asks for false).
//!
//! # Principals
//!
//! The trait's `unlock` and `refresh` are not told who asks, so a [`DavLocks`] carries the
//! principal of the request: hand `dav-server` a handle bound with
//! [`DavLocks::for_principal`] in the per-request `DavConfig`, next to the same
//! `DavConfig::principal`.
//!
//! ```
//! use dav_server::{DavConfig, DavHandler, memfs::MemFs};
//! use lockwarden::Policy;
//! use lockwarden_std::{LockManager, TICK_HZ, dav::DavLocks};
//!
//! let locks: DavLocks = DavLocks::new(LockManager::new(Policy::new(TICK_HZ)).unwrap());
//! let handler = DavHandler::builder()
//!     .filesystem(MemFs::new())
//!     .locksystem(Box::new(locks.clone()))
//!     .build_handler();
//! // For a request authenticated as "alice":
//! let config: DavConfig<()> =
//!     DavConfig::new().principal("alice").locksystem(Box::new(locks.for_principal("alice")));
//! # let _ = (handler, config);
//! ```
//!
//! # What the trait cannot say
//!
//! Every refusal of [`DavLockSystem::lock`] and [`DavLockSystem::check`] becomes a bare
//! `423 Locked` in `dav-server`, every refusal of `unlock` a `409` and of `refresh` a
//! `412`: a token presented by another principal (403 in lockwarden), a principal over
//! its lock quota (403), a full table (503 with `Retry-After`), a path too long for the
//! table (414) and a depth-infinity `LOCK` blocked below (207) cannot be told apart, and
//! none carries the headers and body of PROTOCOL.md. A handle made with
//! [`DavLocks::for_request`] keeps the core's [`Refusal`] of its request, for the server
//! to answer with [`LockRejection`](crate::LockRejection) in place of `dav-server`'s
//! answer.
//!
//! A server avoids all of this by answering the lock questions itself, before
//! `dav-server`: a [`LockLayer`](crate::LockLayer) in front of the handler, `LOCK` and
//! `UNLOCK` answered by [`LockManager::respond`], and [`DavLocks::behind_layer`] as the
//! handler's lock system (the `webdav-server` example does).

use std::fmt;
use std::future;
use std::io::Cursor;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use dav_server::davpath::DavPath;
use dav_server::fs::DavFileSystem;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use lockwarden::http::{Method, PathSource, Refusal, may_see_token};
use lockwarden::{
    Access, ActiveLock, Conflict, Depth, LockRequest, LockToken, Path, PathError, RefreshRequest,
    Scope, Timeout, WriteRequest,
};
use xmltree::{Element, EmitterConfig, XMLNode};

use crate::manager::{DEFAULT_LOCKS, DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN, LockManager};

/// A [`DavLockSystem`] on a lockwarden [`LockManager`], bound to the principal of the
/// request it serves (none by default).
///
/// Clones share the table. `N`, `P` and `O` are the manager's capacities: lock slots, the
/// longest canonical path and the longest owner (the `DAV:owner` element, kept as XML).
#[derive(Clone)]
pub struct DavLocks<
    const N: usize = DEFAULT_LOCKS,
    const P: usize = DEFAULT_PATH_LEN,
    const O: usize = DEFAULT_OWNER_LEN,
> {
    manager: LockManager<N, P, O>,
    principal: Option<String>,
    request: Option<RequestNote<P, O>>,
    filesystem: Option<Arc<dyn DavFileSystem + Send + Sync>>,
    /// lockwarden's protocol layer answered every locking question before dav-server
    /// saw the request (see [`DavLocks::behind_layer`]).
    behind_layer: bool,
}

/// The request a handle serves, and the refusal it met.
#[derive(Clone)]
struct RequestNote<const P: usize, const O: usize> {
    method: Method,
    refusal: Arc<Mutex<Option<Refusal<P, O>>>>,
}

impl<const N: usize, const P: usize, const O: usize> fmt::Debug for DavLocks<N, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DavLocks")
            .field("manager", &self.manager)
            .field("principal", &self.principal)
            .field("method", &self.request.as_ref().map(|r| r.method))
            .finish()
    }
}

impl<const N: usize, const P: usize, const O: usize> DavLocks<N, P, O> {
    /// A lock system on `manager`, for anonymous requests.
    pub fn new(manager: LockManager<N, P, O>) -> Self {
        DavLocks {
            manager,
            principal: None,
            request: None,
            filesystem: None,
            behind_layer: false,
        }
    }

    /// A lock system for a dav-server that sits behind lockwarden's own protocol layer
    /// (a [`LockLayer`](crate::LockLayer) for every request, and
    /// [`LockManager::respond`] for `LOCK` and `UNLOCK`), which has parsed `If`,
    /// `Lock-Token`, `Timeout`, `Depth` and `lockinfo`, judged the request and refused
    /// it when it had to, before dav-server sees it. dav-server then only serves content
    /// and properties: `check` allows what the layer let through (strip the `If` header
    /// first, so that dav-server never parses it), `discover` reads `lockdiscovery` from
    /// the table, `delete` drops the locks of a removed resource, and `lock`, `unlock`
    /// and `refresh` refuse (dav-server never gets those requests).
    pub fn behind_layer(manager: LockManager<N, P, O>) -> Self {
        DavLocks {
            behind_layer: true,
            ..Self::new(manager)
        }
    }

    /// The same lock system, asking `filesystem` (the one the handler serves) whether a
    /// written resource exists: dav-server checks a PUT or MKCOL as a write to the
    /// resource alone, so without it a new member of a collection under a depth-0 lock
    /// gets in without that lock's token (RFC 4918 §7.5).
    pub fn with_filesystem(mut self, filesystem: Arc<dyn DavFileSystem + Send + Sync>) -> Self {
        self.filesystem = Some(filesystem);
        self
    }

    /// A handle on the same table for requests authenticated as `principal`: the locks it
    /// creates belong to `principal`, and only `principal` can use, refresh or release
    /// them.
    pub fn for_principal(&self, principal: impl Into<String>) -> Self {
        DavLocks {
            manager: self.manager.clone(),
            filesystem: self.filesystem.clone(),
            principal: Some(principal.into()),
            request: None,
            behind_layer: self.behind_layer,
        }
    }

    /// A handle for one request (`method`, by `principal` or anonymous) that keeps why
    /// the table refused it, for [`DavLocks::take_refusal`].
    pub fn for_request(&self, method: Method, principal: Option<&str>) -> Self {
        DavLocks {
            manager: self.manager.clone(),
            filesystem: self.filesystem.clone(),
            behind_layer: self.behind_layer,
            principal: principal.map(str::to_owned),
            request: Some(RequestNote {
                method,
                refusal: Arc::new(Mutex::new(None)),
            }),
        }
    }

    /// Why the table refused this request, as the core's protocol layer states it (status,
    /// headers and body: see [`Refusal::meaning`]). Only handles made with
    /// [`DavLocks::for_request`] keep one. An `If` state token that names no lock is not a
    /// refusal of the table: dav-server answers that 412 itself.
    pub fn take_refusal(&self) -> Option<Refusal<P, O>> {
        let note = self.request.as_ref()?;
        note.refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The principal this handle acts for.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The manager behind this lock system.
    pub fn manager(&self) -> &LockManager<N, P, O> {
        &self.manager
    }

    fn note(&self, refusal: Refusal<P, O>) {
        if let Some(note) = &self.request {
            *note.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(refusal);
        }
    }

    fn note_path_error(&self, error: PathError) {
        self.note(Refusal::BadPath {
            source: PathSource::Request,
            error,
        });
    }

    /// The policy's ticks per second (read outside the table's mutex, so this may be
    /// called from inside `LockManager::with`).
    fn tick_hz(&self) -> u32 {
        self.manager.policy().tick_hz
    }

    fn lock_now(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> Result<DavLock, DavLock> {
        let principal = principal.or(self.principal.as_deref());
        let refused = || refused_lock(path, principal, owner, timeout, shared, deep);
        let target = match lock_path::<P>(path) {
            Ok(target) => target,
            Err(error) => {
                tracing::info!(target: "lockwarden::dav", path = %path, %error, "lock refused");
                self.note_path_error(error);
                return Err(refused());
            }
        };
        let owner_xml = owner.map(owner_markup).unwrap_or_default();
        let request = LockRequest {
            path: &target,
            scope: if shared {
                Scope::Shared
            } else {
                Scope::Exclusive
            },
            depth: if deep { Depth::Infinity } else { Depth::Zero },
            owner: &owner_xml,
            principal,
            timeout: timeout.map(|d| self.requested(d)),
        };
        match self.manager.lock(&request) {
            Ok(granted) => Ok(DavLock {
                token: granted.token.to_string(),
                path: Box::new(path.clone()),
                principal: principal.map(str::to_owned),
                owner: owner.map(|o| Box::new(o.clone())),
                timeout_at: self.deadline(granted.timeout),
                timeout: self.duration(granted.timeout),
                shared,
                deep,
            }),
            // The manager logged the reason; the trait can only answer with a lock, which
            // dav-server turns into 423: the core's refusal is kept for the server.
            Err(error) => {
                let conflict = match &error {
                    lockwarden::LockError::Conflict(conflict) => Some(conflict.clone()),
                    _ => None,
                };
                self.note(Refusal::of_lock(error, &target, self.tick_hz()));
                Err(match conflict {
                    Some(conflict) => self.conflicting(path, &conflict),
                    None => refused(),
                })
            }
        }
    }

    fn unlock_now(&self, path: &DavPath, token: &str) -> Result<(), ()> {
        let target = lock_path::<P>(path).map_err(|e| self.note_path_error(e))?;
        // A URI that is not one of our tokens names no lock here (RFC 4918 §9.11.1: 409).
        let token = LockToken::parse(token).map_err(|_| self.note(Refusal::UnlockTokenMismatch))?;
        self.manager
            .unlock(&target, &token, self.principal())
            .map_err(|error| self.note(error.into()))
    }

    fn refresh_now(
        &self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> Result<DavLock, ()> {
        let target = lock_path::<P>(path).map_err(|e| self.note_path_error(e))?;
        let token = LockToken::parse(token).map_err(|_| self.note(Refusal::NoLockToRefresh))?;
        // dav-server passes no timeout both for a refresh without `Timeout` and for
        // `Timeout: Infinite`: the table then keeps the lock's granted timeout.
        self.manager
            .refresh(&RefreshRequest {
                principal: self.principal(),
                timeout: timeout.map(|d| self.requested(d)),
                ..RefreshRequest::new(&target, &token)
            })
            .map_err(|error| self.note(error.into()))?;
        self.manager
            .with(|table, now| {
                table
                    .find(now, &target, &token)
                    .map(|lock| self.dav_lock(path, &target, &lock))
            })
            .ok_or_else(|| self.note(Refusal::NoLockToRefresh))
    }

    fn check_now(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        creates: bool,
        submitted_tokens: &[String],
    ) -> Result<(), DavLock> {
        let target = match lock_path::<P>(path) {
            Ok(target) => target,
            // A name the table cannot hold cannot be shown to be unlocked: refuse the write.
            Err(error) => {
                if !ignore_principal {
                    self.note_path_error(error);
                }
                return Err(self.unnamed(path));
            }
        };
        if ignore_principal {
            // dav-server evaluates each state token of an `If` header this way. The
            // condition is true only when the token names a live lock that covers the
            // resource (RFC 4918 §10.4.8), whoever asks.
            return match state_tokens_match(&self.manager, &target, submitted_tokens) {
                true => Ok(()),
                false => Err(self.unnamed(path)),
            };
        }
        let principal = principal.or(self.principal.as_deref());
        let submitted: Vec<LockToken> = submitted_tokens
            .iter()
            .filter_map(|t| LockToken::parse(t).ok())
            .collect();
        // dav-server asks `deep` for DELETE, MOVE (source) and COPY/MOVE (destination):
        // the whole subtree goes or is replaced, and the parent collection loses or gains
        // a member (RFC 4918 §7.5, §9.6.1, §9.9.2). A new resource is a new member.
        let membership = || target.parent().map(|p| (p, Access::Membership));
        let checks = match (deep, creates) {
            (true, _) => [Some((target.clone(), Access::Subtree)), membership()],
            (false, true) => [Some((target.clone(), Access::Resource)), membership()],
            (false, false) => [Some((target.clone(), Access::Resource)), None],
        };
        for (checked, access) in checks.into_iter().flatten() {
            if let Err(error) = self.manager.authorize(&WriteRequest {
                principal,
                ..WriteRequest::new(&checked, access).tokens(&submitted)
            }) {
                // dav-server has only 423 to say that a lock blocks the write; the
                // core's refusal (423 with the lock, or 403) is kept for the server.
                let shown = match &error {
                    lockwarden::WriteError::Locked(conflict) => self.conflicting(path, conflict),
                    _ => self.unnamed(path),
                };
                if let Some(note) = &self.request {
                    self.note(Refusal::of_write(
                        error,
                        note.method,
                        &target,
                        self.tick_hz(),
                    ));
                }
                return Err(shown);
            }
        }
        Ok(())
    }

    fn discover_now(&self, path: &DavPath) -> Vec<DavLock> {
        let Ok(target) = lock_path::<P>(path) else {
            return Vec::new();
        };
        let disclosure = self.manager.disclosure();
        self.manager.with(|table, now| {
            table
                .locks_covering(now, &target)
                .map(|lock| {
                    let mut shown = self.dav_lock(path, &target, &lock);
                    // The token is the proof of ownership, the owner the deployment may
                    // hide: the core says who may see each.
                    if !may_see_token(&lock, self.principal()) {
                        shown.token.clear();
                    }
                    if !disclosure.shows_owner(lock.principal, self.principal()) {
                        shown.owner = None;
                    }
                    shown
                })
                .collect()
        })
    }

    fn delete_now(&self, path: &DavPath) -> Result<(), ()> {
        let target = lock_path::<P>(path).map_err(drop)?;
        // The resource and everything below it is gone: so are the locks rooted there
        // (RFC 4918 §7.7: a lock does not survive its resource; §9.9.1 for MOVE).
        let roots: Vec<Path<P>> = self
            .manager
            .locks()
            .into_iter()
            .map(|lock| lock.root)
            .filter(|root| target.contains(root))
            .collect();
        for root in &roots {
            self.manager.force_unlock(root);
        }
        Ok(())
    }

    /// The lock as `dav-server` shows it: the root as a URL path under the request's
    /// prefix, the remaining time as the timeout.
    fn dav_lock(&self, request: &DavPath, target: &Path<P>, lock: &ActiveLock<'_, P>) -> DavLock {
        DavLock {
            token: lock.token.to_string(),
            path: Box::new(dav_path_of(lock.root, request, target)),
            principal: lock.principal.map(str::to_owned),
            owner: owner_element(lock.owner).map(Box::new),
            timeout_at: self.deadline(lock.remaining),
            timeout: self.duration(lock.remaining),
            shared: lock.scope == Scope::Shared,
            deep: lock.depth == Depth::Infinity,
        }
    }

    /// A blocking lock as the trait wants it. `dav-server` only looks at whether there is
    /// one; the token is never part of a conflict.
    fn conflicting(&self, request: &DavPath, conflict: &Conflict<P, O>) -> DavLock {
        let target = lock_path::<P>(request).ok();
        DavLock {
            token: String::new(),
            path: Box::new(match &target {
                Some(target) => dav_path_of(&conflict.root, request, target),
                None => request.clone(),
            }),
            principal: None,
            owner: None,
            timeout_at: self.deadline(conflict.remaining),
            timeout: self.duration(conflict.remaining),
            shared: conflict.scope == Scope::Shared,
            deep: conflict.depth == Depth::Infinity,
        }
    }

    /// A refusal that no single lock explains.
    fn unnamed(&self, request: &DavPath) -> DavLock {
        DavLock {
            token: String::new(),
            path: Box::new(request.clone()),
            principal: None,
            owner: None,
            timeout_at: None,
            timeout: None,
            shared: false,
            deep: false,
        }
    }

    /// A requested timeout in whole seconds, as WebDAV counts them (RFC 4918 §10.7); the
    /// policy clamps it.
    fn requested(&self, timeout: Duration) -> Timeout {
        Timeout::Finite(lockwarden::Duration::from_secs(
            timeout.as_secs(),
            self.tick_hz(),
        ))
    }

    fn duration(&self, timeout: Timeout) -> Option<Duration> {
        timeout
            .ticks()
            .map(|t| Duration::from_secs(u64::from(t.as_secs_ceil(self.tick_hz()))))
    }

    fn deadline(&self, remaining: Timeout) -> Option<SystemTime> {
        self.duration(remaining)
            .and_then(|d| SystemTime::now().checked_add(d))
    }
}

impl<const N: usize, const P: usize, const O: usize> DavLockSystem for DavLocks<N, P, O> {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        if self.behind_layer {
            let refused = refused_lock(path, principal, owner, timeout, shared, deep);
            return Box::pin(future::ready(Err(refused)));
        }
        Box::pin(future::ready(
            self.lock_now(path, principal, owner, timeout, shared, deep),
        ))
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        if self.behind_layer {
            return Box::pin(future::ready(Err(())));
        }
        Box::pin(future::ready(self.unlock_now(path, token)))
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        if self.behind_layer {
            return Box::pin(future::ready(Err(())));
        }
        Box::pin(future::ready(self.refresh_now(path, token, timeout)))
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        if self.behind_layer {
            // The layer judged this request with the table before dav-server got it.
            return Box::pin(future::ready(Ok(())));
        }
        let path = path.clone();
        let principal = principal.map(str::to_owned);
        let submitted_tokens = submitted_tokens.to_vec();
        Box::pin(async move {
            // A write to a resource that does not exist yet creates a member of its
            // collection (PUT, MKCOL): with a filesystem to ask, that is checked too.
            let creates = match (&self.filesystem, deep || ignore_principal) {
                (Some(fs), false) => fs.metadata(&path).await.is_err(),
                _ => false,
            };
            self.check_now(
                &path,
                principal.as_deref(),
                ignore_principal,
                deep,
                creates,
                &submitted_tokens,
            )
        })
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        Box::pin(future::ready(self.discover_now(path)))
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        Box::pin(future::ready(self.delete_now(path)))
    }
}

/// The canonical lockwarden path of a `dav-server` path (without the handler's prefix).
///
/// `dav-server` hands over decoded bytes; they are percent-encoded again so that the
/// core's canonicalisation sees every byte as data, never as an escape.
///
/// # Examples
///
/// ```
/// use dav_server::davpath::DavPath;
/// use lockwarden_std::dav::lock_path;
/// let dav = DavPath::new("/docs/a%20b/").unwrap();
/// assert_eq!(lock_path::<64>(&dav).unwrap().as_str(), "/docs/a b");
/// ```
pub fn lock_path<const P: usize>(path: &DavPath) -> Result<Path<P>, PathError> {
    Path::new(&path.as_url_string())
}

/// The URL path of a lock root, for a request on `request` (whose canonical path is
/// `target`): the request path itself, or the ancestor collection the root names (with
/// its trailing slash, as collections are shown), under the same prefix.
fn dav_path_of<const P: usize>(root: &Path<P>, request: &DavPath, target: &Path<P>) -> DavPath {
    if root.as_bytes() == target.as_bytes() {
        return request.clone();
    }
    let mut ancestor = request.clone();
    while lock_path::<P>(&ancestor).is_ok_and(|p| p.as_bytes() != root.as_bytes()) {
        let parent = ancestor.parent();
        if parent == ancestor {
            break;
        }
        ancestor = parent;
    }
    match lock_path::<P>(&ancestor) {
        Ok(p) if p.as_bytes() == root.as_bytes() => ancestor,
        // The root lies below the request (a depth-infinity LOCK blocked by a lock inside
        // it): dav-server does not show that lock, the request path stands in.
        _ => request.clone(),
    }
}

/// Whether every submitted state token names a live lock that covers `target`.
fn state_tokens_match<const N: usize, const P: usize, const O: usize>(
    manager: &LockManager<N, P, O>,
    target: &Path<P>,
    submitted: &[String],
) -> bool {
    !submitted.is_empty()
        && submitted
            .iter()
            .all(|t| LockToken::parse(t).is_ok_and(|token| manager.find(target, &token).is_some()))
}

/// The content of the `DAV:owner` element that dav-server hands over, as the markup the
/// table keeps (RFC 4918 §14.17): the one conversion from dav-server's owner. Each child
/// element declares the namespaces it uses, as xmltree writes it.
pub fn owner_markup(owner: &Element) -> String {
    let config = EmitterConfig::new()
        .write_document_declaration(false)
        .perform_indent(false);
    let mut out = String::new();
    for node in &owner.children {
        match node {
            XMLNode::Element(child) => {
                let mut bytes = Vec::new();
                if child.write_with_config(&mut bytes, config.clone()).is_ok() {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            XMLNode::Text(text) => out.push_str(&lockwarden::http::XmlText(text).to_string()),
            XMLNode::CData(text) => out.push_str(&format!("<![CDATA[{text}]]>")),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// The `DAV:owner` element dav-server shows in lockdiscovery, from the markup the table
/// keeps.
fn owner_element(markup: &str) -> Option<Element> {
    if markup.is_empty() {
        return None;
    }
    let wrapped = format!("<D:owner xmlns:D=\"DAV:\">{markup}</D:owner>");
    Element::parse(Cursor::new(wrapped.as_bytes())).ok()
}

/// The lock dav-server's trait hands back with a refusal: what was asked, without a
/// token.
fn refused_lock(
    path: &DavPath,
    principal: Option<&str>,
    owner: Option<&Element>,
    timeout: Option<Duration>,
    shared: bool,
    deep: bool,
) -> DavLock {
    DavLock {
        token: String::new(),
        path: Box::new(path.clone()),
        principal: principal.map(str::to_owned),
        owner: owner.map(|o| Box::new(o.clone())),
        timeout_at: None,
        timeout,
        shared,
        deep,
    }
}
