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

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::Request;
use lockwarden::http::{BodyFormat, Method, Outcome, Refusal};
use tower::{Layer, Service};

use crate::lockinfo::{LockBody, LockInfoLimits, parse_lock_body};
use crate::manager::{
    DEFAULT_LOCKS, DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN, LockManager, WritePermit,
};
use crate::request::{
    AssumeMissing, ResourceLookup, Resources, SharedLookup, check_request, method_of,
};
use crate::response::LockResponse;

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
}

impl<const N: usize, const P: usize, const O: usize> Clone for LockLayer<N, P, O> {
    fn clone(&self) -> Self {
        LockLayer {
            manager: self.manager.clone(),
            lookup: Arc::clone(&self.lookup),
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
        }
    }

    /// Tells the check which resources exist and their entity tags: a write that creates
    /// a resource also needs the lock of its parent collection, and `If` conditions on
    /// entity tags are evaluated against them.
    pub fn with_resources(mut self, lookup: impl ResourceLookup) -> Self {
        self.lookup = Arc::new(lookup);
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
}

impl<S: Clone, const N: usize, const P: usize, const O: usize> Clone for LockService<S, N, P, O> {
    fn clone(&self) -> Self {
        LockService {
            inner: self.inner.clone(),
            manager: self.manager.clone(),
            lookup: Arc::clone(&self.lookup),
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
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
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
        let method = method_of(request.method());
        if matches!(method, Method::Lock | Method::Unlock) {
            return Box::pin(inner.call(request));
        }
        let manager = self.manager.clone();
        let lookup = Arc::clone(&self.lookup);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // A write already admitted by an outer layer of the same manager holds a
            // permit: a second one could wait behind a LOCK that waits for the first.
            let admitted = parts
                .extensions
                .get::<WritePermit>()
                .is_some_and(|p| manager.issued(p));
            let permit = if method.is_read() || admitted {
                None
            } else {
                Some(manager.write_permit().await)
            };
            let resources = Resources::of::<P>(&parts, &*lookup);
            let outcome = manager.check(&check_request(&parts, &resources, None));
            if !outcome.is_allowed() {
                return Ok(LockResponse::new(outcome, manager.disclosure()).into_response());
            }
            if let Some(permit) = &permit {
                parts.extensions.insert(permit.clone());
            }
            let response = inner.call(Request::from_parts(parts, body)).await;
            // The write is done: locks may be granted again.
            if let Some(permit) = permit {
                permit.release();
            }
            response
        })
    }
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
        let method = method_of(&parts.method);
        let lock_body = if method == Method::Lock {
            let limits = LockInfoLimits::DEFAULT;
            // One byte more than the limit, so that an overlong body is told apart.
            let parsed = match axum::body::to_bytes(body, limits.max_bytes + 1).await {
                Ok(bytes) => parse_lock_body(&bytes),
                Err(_) => Err(crate::lockinfo::LockInfoError::TooLarge {
                    limit: limits.max_bytes,
                }),
            };
            match parsed {
                Ok(lock_body) => Some(lock_body),
                Err(error) => {
                    tracing::info!(
                        target: "lockwarden",
                        path = parts.uri.path(),
                        status = 400,
                        reason = %error,
                        "lock refused"
                    );
                    let accept = parts
                        .headers
                        .get(http::header::ACCEPT)
                        .map(|v| v.as_bytes());
                    let outcome = Outcome::Refused {
                        refusal: Refusal::BadLockInfo(error.kind()),
                        format: BodyFormat::negotiate(method, accept),
                    };
                    return LockResponse::new(outcome, self.disclosure());
                }
            }
        } else {
            None
        };
        let lockinfo = match &lock_body {
            Some(LockBody::Create(info)) => Some(info),
            Some(LockBody::Refresh) | None => None,
        };
        let request = check_request(&parts, resources, lockinfo);
        let outcome = if lockinfo.is_some() {
            self.check_lock(&parts, &request).await
        } else {
            self.check(&request)
        };
        LockResponse::new(outcome, self.disclosure())
    }
}
