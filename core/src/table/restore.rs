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
        if let Some(slot) = at_mut(&mut self.slots, index) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockRequest;

    type Table = LockTable<4, 32, 16>;

    fn granting() -> (Table, Path<32>) {
        let mut table = Table::new(Policy::new(1000));
        table.seed_tokens([9; 16]);
        let path = Path::new("/config").unwrap();
        let lock = LockRequest::exclusive(&path, "alice")
            .depth(Depth::Infinity)
            .principal("alice")
            .timeout(Timeout::Finite(Ticks(60_000)));
        table.lock(Tick(0), &lock).unwrap();
        (table, path)
    }

    #[test]
    fn a_restored_lock_refuses_what_the_granting_table_refuses_and_expires_with_its_time_left() {
        let (original, _) = granting();
        let listed = original.locks(Tick(20_000)).next().unwrap();
        let mut copy = Table::new(Policy::new(1000));
        // Another clock: the copy's now is unrelated to the original's.
        copy.restore(Tick(u32::MAX - 5), &listed).unwrap();
        let wifi = Path::new("/config/wifi").unwrap();
        let in_copy = copy.authorize(Tick(u32::MAX - 5), &wifi, Access::Resource, &[], None);
        let in_original = original.authorize(Tick(20_000), &wifi, Access::Resource, &[], None);
        assert_eq!(in_copy, in_original);
        let lock = copy.locks(Tick(u32::MAX - 5)).next().unwrap();
        assert_eq!(lock.timeout, Timeout::Finite(Ticks(60_000)));
        assert_eq!(lock.remaining, Timeout::Finite(Ticks(40_000)));
        assert_eq!(lock.principal, Some("alice"));
        assert_eq!(copy.len(Tick(u32::MAX - 5) + Ticks(39_999)), 1);
        assert_eq!(copy.len(Tick(u32::MAX - 5) + Ticks(40_000)), 0);
    }

    #[test]
    fn a_lock_without_time_left_or_already_held_is_not_restored() {
        let (original, _) = granting();
        let listed = original.locks(Tick(0)).next().unwrap();
        let mut copy = Table::new(Policy::new(1000));
        let spent = ActiveLock {
            remaining: Timeout::Finite(Ticks(0)),
            ..listed
        };
        copy.restore(Tick(0), &spent).unwrap();
        assert_eq!(copy.len(Tick(0)), 0);
        copy.restore(Tick(0), &listed).unwrap();
        copy.restore(Tick(0), &listed).unwrap();
        assert_eq!(copy.len(Tick(0)), 1);
    }

    #[test]
    fn restoring_into_a_full_table_says_so() {
        let (original, _) = granting();
        let listed = original.locks(Tick(0)).next().unwrap();
        let mut copy: LockTable<1, 32, 16> = LockTable::new(Policy::new(1000));
        copy.restore(Tick(0), &listed).unwrap();
        let other = ActiveLock {
            token: LockToken::from_bytes([1; 16]),
            ..listed
        };
        assert!(matches!(
            copy.restore(Tick(0), &other),
            Err(LockError::TableFull { .. })
        ));
    }
}
