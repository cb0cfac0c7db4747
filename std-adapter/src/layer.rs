//! Lock enforcement for axum (or any tower stack) in one line, and the answers to WebDAV
//! `LOCK` and `UNLOCK` for handlers.
//!
//! ```
//! use axum::{Router, routing::put};
//! use lockwarden::Policy;
//! use lockwarden_std::{LockLayer, LockManager, TICK_HZ};
//!
//! let manager: LockManager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
//! let app: Router = Router::new()
//!     .route("/config/{section}", put(|| async { "stored" }))
//!     .layer(LockLayer::new(manager.clone()));
//! ```
//!
//! Every request but `LOCK` and `UNLOCK` goes through the core's check
//! ([`LockManager::check`]): the `If` header is evaluated, and writes need the tokens of the
//! locks that cover them. A refused request gets the core's response (423, 412, 403...)
//! and never reaches the handler. `LOCK` and `UNLOCK` pass through to the handler, which
//! answers them with [`LockManager::respond`]. The principal is the [`Principal`]
//! extension an authentication layer put on the request, so that layer goes outside this
//! one (`.layer(LockLayer::new(m)).layer(auth)`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::Request;
use http::request::Parts;
use lockwarden::Path;
use lockwarden::http::{Method, uri_path_of};
use tower::{Layer, Service};

use crate::body::{BodyLimits, read_body};
#[cfg(doc)]
use crate::lockinfo::LockInfoLimits;
use crate::manager::{
    DEFAULT_LOCKS, DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN, LockManager, WritePermit,
};
use crate::request::{
    AssumeMissing, ResourceLookup, Resources, SharedLookup, check_request, method_of,
};
use crate::response::LockResponse;
use crate::store::LockStore;

#[cfg(doc)]
use crate::request::Principal;

/// A tower layer that checks every request against a [`LockManager`].
pub struct LockLayer<
    const N: usize = DEFAULT_LOCKS,
    const P: usize = DEFAULT_PATH_LEN,
    const O: usize = DEFAULT_OWNER_LEN,
> {
    manager: LockManager<N, P, O>,
    lookup: SharedLookup,
    body_limits: BodyLimits,
    store: Option<SharedStore<P, O>>,
}

impl<const N: usize, const P: usize, const O: usize> Clone for LockLayer<N, P, O> {
    fn clone(&self) -> Self {
        LockLayer {
            manager: self.manager.clone(),
            lookup: Arc::clone(&self.lookup),
            body_limits: self.body_limits,
            store: self.store.clone(),
        }
    }
}

impl<const N: usize, const P: usize, const O: usize> std::fmt::Debug for LockLayer<N, P, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockLayer")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl<const N: usize, const P: usize, const O: usize> LockLayer<N, P, O> {
    /// Enforcement by `manager`, taking no resource to exist ([`AssumeMissing`]: a write
    /// then also needs the lock of its parent collection, RFC 4918 §7.5) until
    /// [`LockLayer::with_resources`] says which do.
    ///
    /// [`AssumeMissing`]: crate::request::AssumeMissing
    pub fn new(manager: LockManager<N, P, O>) -> Self {
        LockLayer {
            manager,
            lookup: Arc::new(AssumeMissing),
            body_limits: BodyLimits::DEFAULT,
            store: None,
        }
    }

    /// How much of each request body the layer reads, and for how long, before the lock
    /// check ([`BodyLimits::DEFAULT`] unless set). Bodies are read whole first so that a
    /// client that sends its body slowly delays no one else; beyond the limits the
    /// request gets 413 or 408 and never reaches the handler.
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.body_limits = limits;
        self
    }

    /// Tells the check which resources exist and their entity tags: a write that creates
    /// a resource also needs the lock of its parent collection, and `If` conditions on
    /// entity tags are evaluated against them.
    pub fn with_resources(mut self, lookup: impl ResourceLookup) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }

    /// Decides every request on `store` (such as a fleet's
    /// [`EtcdLockStore`](crate::etcd::EtcdLockStore)) instead of the manager's table.
    /// The manager's write gate is then not used: a write that must not race a lock
    /// is made by the handler in the store's transaction (see
    /// `EtcdLockStore::check_and_write`).
    pub fn store(mut self, store: Arc<dyn LockStore<P, O>>) -> Self {
        self.store = Some(store);
        self
    }
}

impl<S, const N: usize, const P: usize, const O: usize> Layer<S> for LockLayer<N, P, O> {
    type Service = LockService<S, N, P, O>;

    fn layer(&self, inner: S) -> Self::Service {
        LockService {
            inner,
            manager: self.manager.clone(),
            lookup: Arc::clone(&self.lookup),
            body_limits: self.body_limits,
            store: self.store.clone(),
        }
    }
}

/// The service [`LockLayer`] wraps around a router or handler.
pub struct LockService<
    S,
    const N: usize = DEFAULT_LOCKS,
    const P: usize = DEFAULT_PATH_LEN,
    const O: usize = DEFAULT_OWNER_LEN,
> {
    inner: S,
    manager: LockManager<N, P, O>,
    lookup: SharedLookup,
    body_limits: BodyLimits,
    store: Option<SharedStore<P, O>>,
}

impl<S: Clone, const N: usize, const P: usize, const O: usize> Clone for LockService<S, N, P, O> {
    fn clone(&self) -> Self {
        LockService {
            inner: self.inner.clone(),
            manager: self.manager.clone(),
            lookup: Arc::clone(&self.lookup),
            body_limits: self.body_limits,
            store: self.store.clone(),
        }
    }
}

impl<S, const N: usize, const P: usize, const O: usize> std::fmt::Debug
    for LockService<S, N, P, O>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockService")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl<S, B, const N: usize, const P: usize, const O: usize> Service<Request<B>>
    for LockService<S, N, P, O>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let manager = self.manager.clone();
        let lookup = Arc::clone(&self.lookup);
        let limits = self.body_limits;
        let store = self.store.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // The whole body first, bounded: nothing below waits on this client's network.
            let body = match read_body(&parts, Body::new(body), limits).await {
                Ok(bytes) => Body::from(bytes),
                Err(error) => {
                    let accept = parts
                        .headers
                        .get(http::header::ACCEPT)
                        .map(|v| v.as_bytes());
                    let outcome = manager.in_clients_format(error.outcome::<P, O>(&parts), accept);
                    return Ok(LockResponse::new(outcome, manager.disclosure()).into_response());
                }
            };
            let method = method_of(&parts.method);
            if matches!(method, Method::Lock | Method::Unlock) {
                return inner.call(Request::from_parts(parts, body)).await;
            }
            // A write already admitted by an outer layer of the same manager holds a
            // permit: a second one could wait behind a LOCK that waits for the first.
            let admitted = parts
                .extensions
                .get::<WritePermit>()
                .is_some_and(|p| manager.issued(p));
            let permit = if method.is_read() || admitted || store.is_some() {
                None
            } else {
                Some(manager.write_permit(touched_paths::<P>(&parts)).await)
            };
            let resources = Resources::of::<P>(&parts, &*lookup);
            let outcome = match &store {
                Some(store) => store.check(&check_request(&parts, &resources, None)).await,
                None => manager.check(&check_request(&parts, &resources, None)),
            };
            if !outcome.is_allowed() {
                let disclosure = store
                    .as_ref()
                    .map_or_else(|| manager.disclosure(), |s| s.disclosure());
                return Ok(LockResponse::new(outcome, disclosure).into_response());
            }
            if let Some(permit) = &permit {
                parts.extensions.insert(permit.clone());
            }
            let response = inner.call(Request::from_parts(parts, body)).await;
            // The write is done: locks on its paths may be granted again.
            if let Some(permit) = permit {
                permit.release();
            }
            response
        })
    }
}

/// A store shared by the clones of a layer.
type SharedStore<const P: usize, const O: usize> = Arc<dyn LockStore<P, O>>;

/// The paths a write changes: its target and, for COPY and MOVE, its destination. A path
/// without a canonical form is left out: the check refuses the request anyway.
fn touched_paths<const P: usize>(parts: &Parts) -> Vec<Path<P>> {
    let destination = parts
        .headers
        .get("destination")
        .and_then(|v| uri_path_of(v.as_bytes()).ok());
    [Some(parts.uri.path()), destination]
        .into_iter()
        .flatten()
        .filter_map(|raw| Path::new(raw).ok())
        .collect()
}

impl<const N: usize, const P: usize, const O: usize> LockManager<N, P, O> {
    /// Answers a WebDAV `LOCK` (create, RFC 4918 §9.10, or refresh with an empty body,
    /// §9.10.2) or `UNLOCK` (§9.11): reads and parses the `lockinfo` body (bounded by
    /// [`LockInfoLimits::DEFAULT`]), and lets the core decide. `resources` says whether the
    /// target exists: a `LOCK` that creates it answers 201, and the handler must then
    /// create an empty resource there (§9.10.4); look at [`LockResponse::outcome`].
    ///
    /// Any other method is checked like a request through the lock layer.
    pub async fn respond(
        &self,
        request: Request<Body>,
        resources: &Resources,
    ) -> LockResponse<P, O> {
        let (parts, body) = request.into_parts();
        // A write permit an outer layer put in the request is released first, so that a
        // LOCK answered here does not wait for itself.
        if let Some(permit) = parts
            .extensions
            .get::<WritePermit>()
            .filter(|p| self.issued(p))
        {
            permit.release();
        }
        crate::store::respond(self, Request::from_parts(parts, body), resources).await
    }
}
