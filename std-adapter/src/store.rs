//! Where the lock layer finds its locks: the process's own table (a [`LockManager`], the
//! default) or a store that a fleet of servers shares (`etcd::EtcdLockStore`, feature
//! `etcd`). Either way the core's [`lockwarden::http::check`] decides; a store only keeps
//! the locks and makes the decision and its change one atomic step.

use std::future::Future;
use std::pin::Pin;

use lockwarden::http::{Disclosure, Outcome, Request};

use crate::manager::LockManager;

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
