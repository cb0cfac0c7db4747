//! Putting back a lock that another table granted: a shared store (a fleet's etcd) keeps
//! the locks and loads the ones a request can touch into a table, so that the table's
//! rules decide the request as they would in one process.

use super::*;

impl<const N: usize, const P: usize, const O: usize> LockTable<N, P, O> {
    /// Puts back `lock` as it was listed (by [`LockTable::locks`] of this or another
    /// table, or from a store that kept its fields), with its token, its granted timeout
    /// and `lock.remaining` left at `now`. No conflict rule is applied: the lock was
    /// granted under them. A lock with no time left, or whose token the table holds
    /// already, is not restored.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Tick};
    /// let mut granting: LockTable<4> = LockTable::new(Policy::new(1000));
    /// granting.seed_tokens([3; 16]);
    /// let p = Path::new("/config").unwrap();
    /// let g = granting.lock(Tick(0), &LockRequest::exclusive(&p, "me")).unwrap();
    ///
    /// let mut copy: LockTable<4> = LockTable::new(Policy::new(1000));
    /// let listed = granting.locks(Tick(500)).next().unwrap();
    /// copy.restore(Tick(7), &listed).unwrap();
    /// assert_eq!(copy.find(Tick(7), &p, &g.token).unwrap().remaining, listed.remaining);
    /// ```
    pub fn restore(&mut self, now: Tick, lock: &ActiveLock<'_, P>) -> Result<(), LockError<P, O>> {
        let mut owner = heapless::String::new();
        owner
            .push_str(lock.owner)
            .map_err(|_| LockError::OwnerTooLong)?;
        let principal = match lock.principal {
            None => None,
            Some(p) => {
                let mut s = heapless::String::new();
                s.push_str(p).map_err(|_| LockError::PrincipalTooLong)?;
                Some(s)
            }
        };
        // Granted as long before `now` as the lock has used of its timeout.
        let (granted, timeout) = match (lock.timeout, lock.remaining) {
            (_, Timeout::Finite(Ticks(0))) => return Ok(()),
            (Timeout::Finite(t), Timeout::Finite(left)) if left.0 <= t.0 => {
                (Tick(now.0.wrapping_sub(t.0 - left.0)), lock.timeout)
            }
            (_, remaining) => (now, remaining),
        };
        if self.live(now).any(|(_, slot)| slot.token == lock.token) {
            return Ok(());
        }
        let index = self.allocate(now)?;
        if let Some(slot) = self.slots.get_mut(usize::from(index)) {
            *slot = Slot {
                path: lock.root.clone(),
                owner,
                principal,
                token: lock.token,
                granted,
                timeout,
                scope: lock.scope,
                depth: lock.depth,
                ..Slot::EMPTY
            };
        }
        self.link_bucket(index, lock.root.hash());
        self.insert_by_deadline(now, index);
        if lock.depth == Depth::Infinity
            && let Some(n) = self
                .infinity_roots
                .get_mut(infinity_filter(lock.root.hash()))
        {
            *n += 1;
        }
        Ok(())
    }
}
