//! Keeps a lock from being granted between a write's lock check and the end of that
//! write, path by path.
//!
//! The lock layer checks a write against the table, then the handler performs it. A
//! lock granted in between would be ignored by that write, so a write registers the
//! paths it touches before its check and holds them until it is done, and a `LOCK`
//! waits for the writes on related paths (the same path, an ancestor or a descendant)
//! and is decided while no new one can register. Writes on unrelated paths never wait
//! for a `LOCK`, nor a `LOCK` for them; and since the layer reads a request's body
//! before it registers anything, no one waits for another client's network.
//!
//! A write also waits while a `LOCK` on a related path is waiting, so that a stream of
//! writes cannot hold a `LOCK` back forever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use lockwarden::Path;
use tokio::sync::Notify;

/// The paths of the writes in progress and of the `LOCK`s waiting for them.
#[derive(Default)]
pub(crate) struct WriteGate<const P: usize> {
    state: Mutex<GateState<P>>,
    /// Woken whenever a write ends or a waiting `LOCK` has been decided.
    changed: Notify,
}

struct GateState<const P: usize> {
    writes: Vec<(u64, Vec<Path<P>>)>,
    waiting_locks: Vec<(u64, Path<P>)>,
    next: u64,
}

impl<const P: usize> Default for GateState<P> {
    fn default() -> Self {
        GateState {
            writes: Vec::new(),
            waiting_locks: Vec::new(),
            next: 0,
        }
    }
}

/// Whether a write to one path and a lock on the other can affect each other: one
/// contains the other (a lock covers its descendants; a write to a collection, such as
/// a `DELETE` or `MOVE`, changes what lies below it).
fn related<const P: usize>(a: &Path<P>, b: &Path<P>) -> bool {
    a.contains(b) || b.contains(a)
}

impl<const P: usize> WriteGate<P> {
    fn state(&self) -> MutexGuard<'_, GateState<P>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a write to `paths`, once no `LOCK` on a related path is waiting.
    pub(crate) async fn admit(self: &Arc<Self>, paths: Vec<Path<P>>) -> WritePermit {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.state();
                let held_back = state
                    .waiting_locks
                    .iter()
                    .any(|(_, lock)| paths.iter().any(|p| related(p, lock)));
                if !held_back {
                    let id = state.next;
                    state.next += 1;
                    state.writes.push((id, paths));
                    let gate: Arc<dyn Release> = Arc::clone(self) as Arc<dyn Release>;
                    return WritePermit {
                        inner: Arc::new(PermitInner {
                            gate: Arc::downgrade(&gate),
                            id,
                            released: AtomicBool::new(false),
                        }),
                    };
                }
            }
            changed.await;
        }
    }

    /// Runs `decide` (the lock check of a `LOCK` on `path`) once no write on a related
    /// path is in progress, while no new one can start.
    pub(crate) async fn for_lock<R>(&self, path: &Path<P>, decide: impl FnOnce() -> R) -> R {
        let mut registered = None;
        let answer = loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.state();
                let busy = state
                    .writes
                    .iter()
                    .any(|(_, paths)| paths.iter().any(|p| related(p, path)));
                if !busy {
                    if let Some(id) = registered {
                        state.waiting_locks.retain(|(w, _)| *w != id);
                    }
                    break decide();
                }
                if registered.is_none() {
                    let id = state.next;
                    state.next += 1;
                    state.waiting_locks.push((id, path.clone()));
                    registered = Some(id);
                }
            }
            changed.await;
        };
        if registered.is_some() {
            // Writes held back behind this LOCK may go on.
            self.changed.notify_waiters();
        }
        answer
    }

    /// Whether any write is in progress or any `LOCK` waits (for tests and debugging).
    #[cfg(test)]
    fn is_idle(&self) -> bool {
        let state = self.state();
        state.writes.is_empty() && state.waiting_locks.is_empty()
    }
}

/// Ends a write's registration; object-safe so that a permit need not know `P`.
trait Release: Send + Sync {
    fn release(&self, id: u64);
}

impl<const P: usize> Release for WriteGate<P> {
    fn release(&self, id: u64) {
        self.state().writes.retain(|(w, _)| *w != id);
        self.changed.notify_waiters();
    }
}

/// The permit of a write admitted by the lock layer: while it is held, no lock is
/// granted on a path the write touches. It is also put in the request's extensions, so
/// that a handler that takes a lock can release it first. Dropping the last clone
/// releases it.
#[derive(Clone)]
pub struct WritePermit {
    inner: Arc<PermitInner>,
}

struct PermitInner {
    gate: Weak<dyn Release>,
    id: u64,
    released: AtomicBool,
}

impl std::fmt::Debug for WritePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePermit")
            .field("released", &self.inner.released.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl WritePermit {
    /// Ends the permit: locks on the write's paths may be granted again.
    pub fn release(&self) {
        self.inner.release();
    }

    /// Whether this permit was issued by `gate`.
    pub(crate) fn is_of<const P: usize>(&self, gate: &Arc<WriteGate<P>>) -> bool {
        std::ptr::addr_eq(self.inner.gate.as_ptr(), Arc::as_ptr(gate))
    }
}

impl PermitInner {
    fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel)
            && let Some(gate) = self.gate.upgrade()
        {
            gate.release(self.id);
        }
    }
}

impl Drop for PermitInner {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn path(s: &str) -> Path<64> {
        Path::new(s).unwrap()
    }

    #[tokio::test]
    async fn a_lock_waits_for_a_write_on_its_path_and_not_for_others() {
        let gate: Arc<WriteGate<64>> = Arc::default();
        let write = gate.admit(vec![path("/config/network")]).await;
        // Unrelated: decided at once.
        assert_eq!(gate.for_lock(&path("/config/wifi"), || 1).await, 1);
        // Related (same path, ancestor): waits until the write ends.
        let waiting = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.for_lock(&path("/config"), || 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(write);
        assert_eq!(waiting.await.unwrap(), 2);
        assert!(gate.is_idle());
    }

    #[tokio::test]
    async fn a_write_waits_behind_a_waiting_lock_on_a_related_path() {
        let gate: Arc<WriteGate<64>> = Arc::default();
        let first = gate.admit(vec![path("/config/network")]).await;
        let lock = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.for_lock(&path("/config/network"), || ()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.admit(vec![path("/config/network")]).await })
        };
        // A write elsewhere is not held back.
        let elsewhere = gate.admit(vec![path("/config/display")]).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!lock.is_finished() && !second.is_finished());
        first.release();
        lock.await.unwrap();
        let second = second.await.unwrap();
        drop((second, elsewhere));
        assert!(gate.is_idle());
    }

    #[tokio::test]
    async fn a_released_permit_is_released_once_even_when_cloned() {
        let gate: Arc<WriteGate<64>> = Arc::default();
        let permit = gate.admit(vec![path("/a")]).await;
        let clone = permit.clone();
        assert!(permit.is_of(&gate));
        permit.release();
        assert!(gate.is_idle());
        let other = gate.admit(vec![path("/a")]).await;
        drop(clone);
        // The clone's drop does not end the other write.
        assert!(!gate.is_idle());
        drop(other);
        assert!(gate.is_idle());
    }
}
