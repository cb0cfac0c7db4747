//! Where the lock layer finds its locks: the process's own table (a [`LockManager`], the
//! default) or a store that a fleet of servers shares (`etcd::EtcdLockStore`, feature
//! `etcd`). Either way the core's [`lockwarden::http::check`] decides; a store only keeps
//! the locks and makes the decision and its change one atomic step.

use std::future::Future;
use std::pin::Pin;

use lockwarden::http::{BodyFormat, Disclosure, Method, Outcome, Refusal, Request};

use crate::body::{BodyLimits, read_body};
use crate::lockinfo::{LockBody, LockInfoLimits, parse_lock_body};
use crate::manager::LockManager;
use crate::request::{Resources, check_request, method_of};
use crate::response::LockResponse;

/// The future of a [`LockStore::check`].
pub type CheckFuture<'a, const P: usize, const O: usize> =
    Pin<Box<dyn Future<Output = Outcome<P, O>> + Send + 'a>>;

/// A place where locks live, answering the core's lock check for a request.
pub trait LockStore<const P: usize, const O: usize>: Send + Sync + 'static {
    /// The whole locking outcome of `request` (see [`lockwarden::http::check`]), its
    /// change to the locks (a lock granted, refreshed or released) made before the future
    /// completes. A store that cannot decide answers a refusal (fail closed), never
    /// [`Outcome::Allowed`].
    fn check<'a>(&'a self, request: &'a Request<'a>) -> CheckFuture<'a, P, O>;

    /// What refusals show of other clients' locks.
    fn disclosure(&self) -> Disclosure;
}

impl<const N: usize, const P: usize, const O: usize> LockStore<P, O> for LockManager<N, P, O> {
    fn check<'a>(&'a self, request: &'a Request<'a>) -> CheckFuture<'a, P, O> {
        Box::pin(async move {
            if request.lockinfo.is_some() {
                // A new lock waits for the writes the layer admitted on related paths.
                let (parts, ()) = http::Request::new(()).into_parts();
                self.check_lock(&parts, request).await
            } else {
                LockManager::check(self, request)
            }
        })
    }

    fn disclosure(&self) -> Disclosure {
        LockManager::disclosure(self)
    }
}

/// Answers a WebDAV `LOCK` or `UNLOCK` on `store`, as [`LockManager::respond`] does on
/// the manager's table: reads and parses the `lockinfo` body (bounded), and lets the
/// core decide.
pub async fn respond<const P: usize, const O: usize>(
    store: &dyn LockStore<P, O>,
    request: http::Request<axum::body::Body>,
    resources: &Resources,
) -> LockResponse<P, O> {
    let (parts, body) = request.into_parts();
    let method = method_of(&parts.method);
    let accept = parts
        .headers
        .get(http::header::ACCEPT)
        .map(|v| v.as_bytes());
    let limits = BodyLimits {
        max_bytes: LockInfoLimits::DEFAULT.max_bytes,
        ..BodyLimits::DEFAULT
    };
    let bytes = match read_body(&parts, body, limits).await {
        Ok(bytes) => bytes,
        Err(error) => return LockResponse::new(error.outcome(&parts), store.disclosure()),
    };
    let refused = |refusal| Outcome::Refused {
        refusal,
        format: BodyFormat::negotiate(method, accept),
    };
    if method == Method::Unlock && !bytes.is_empty() {
        // RFC 4918 §9.11 defines no body for UNLOCK (§8.4).
        let outcome = refused(Refusal::UnexpectedBody { method });
        return LockResponse::new(outcome, store.disclosure());
    }
    let lock_body = match method {
        Method::Lock => match parse_lock_body(&bytes) {
            Ok(lock_body) => Some(lock_body),
            Err(error) => {
                tracing::info!(
                    target: "lockwarden",
                    path = parts.uri.path(),
                    status = 400,
                    reason = %error,
                    "lock refused"
                );
                let outcome = refused(Refusal::BadLockInfo(error.kind()));
                return LockResponse::new(outcome, store.disclosure());
            }
        },
        _ => None,
    };
    let lockinfo = match &lock_body {
        Some(LockBody::Create(info)) => Some(info),
        Some(LockBody::Refresh) | None => None,
    };
    let request = check_request(&parts, resources, lockinfo);
    let outcome = store.check(&request).await;
    LockResponse::new(outcome, store.disclosure())
}
