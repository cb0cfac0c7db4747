//! Putting back a lock that another table granted: a shared store (a fleet's etcd) keeps
//! the locks and loads the ones a request can touch into a table, so that the table's
//! rules decide the request as they would in one process.

use super::*;

impl<const N: usize, const P: usize, const O: usize, const U: usize> LockTable<N, P, O, U> {
    /// Puts back `lock` as it was listed (by [`LockTable::locks`] of this or another
    /// table, or from a store that kept its fields), with its token, its granted timeout
    /// and `lock.remaining` left at `now`. No conflict rule is applied: the lock was
    /// granted under them. A lock with no time left, or whose token the table holds
    /// already, is not restored. The lock's principal goes into the table's principal
    /// list: when the list holds [`DEFAULT_PRINCIPALS`] others, the lock is refused with
    /// [`LockError::TooManyPrincipals`] and the table is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant};
    /// let mut granting: LockTable<4> = LockTable::new(Policy::new(1000));
    /// granting.seed_tokens([3; 16]);
    /// let p = Path::new("/config").unwrap();
    /// let g = granting.lock(Instant(0), &LockRequest::exclusive(&p, "me")).unwrap();
    ///
    /// let mut copy: LockTable<4> = LockTable::new(Policy::new(1000));
    /// let listed = granting.locks(Instant(500)).next().unwrap();
    /// copy.restore(Instant(7), &listed).unwrap();
    /// assert_eq!(copy.find(Instant(7), &p, &g.token).unwrap().remaining, listed.remaining);
    /// ```
    pub fn restore(
        &mut self,
        now: Instant,
        lock: &ActiveLock<'_, P>,
    ) -> Result<(), LockError<P, O>> {
        let mut owner = heapless::String::new();
        owner
            .push_str(lock.owner)
            .map_err(|_| LockError::OwnerTooLong)?;
        if lock.principal.is_some_and(|p| p.len() > MAX_PRINCIPAL_LEN) {
            return Err(LockError::PrincipalTooLong);
        }
        // Finite times are clamped to what the table keeps (`Duration::MAX_TIMEOUT`): a
        // store may hand back any value.
        let clamp = |t: Timeout| match t {
            Timeout::Finite(t) => Timeout::Finite(t.min(Duration::MAX_TIMEOUT)),
            Timeout::Infinite => Timeout::Infinite,
        };
        // Granted as long before `now` as the lock has used of its timeout.
        let (granted, timeout) = match (clamp(lock.timeout), clamp(lock.remaining)) {
            (_, Timeout::Finite(Duration(0))) => return Ok(()),
            (Timeout::Finite(t), Timeout::Finite(left)) if left.0 <= t.0 => (
                Instant(now.0.wrapping_sub(t.0 - left.0)),
                Timeout::Finite(t),
            ),
            (_, remaining) => (now, remaining),
        };
        if self.live(now).any(|(_, slot)| slot.token == lock.token) {
            return Ok(());
        }
        let mut principal = self.principal_index(lock.principal);
        if principal == NOT_LISTED {
            principal = self.free_principal(now)?;
        }
        let index = self.allocate(now)?;
        let slot = Slot::new(
            lock.root, owner, lock.token, lock.scope, lock.depth, principal, granted, timeout,
        );
        self.occupy(now, index, slot, lock.principal);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

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
            .timeout(Timeout::Finite(Duration(60_000)));
        table.lock(Instant(0), &lock).unwrap();
        (table, path)
    }

    #[test]
    fn a_restored_lock_refuses_what_the_granting_table_refuses_and_expires_with_its_time_left() {
        let (original, _) = granting();
        let listed = original.locks(Instant(20_000)).next().unwrap();
        let mut copy = Table::new(Policy::new(1000));
        // Another clock: the copy's now is unrelated to the original's.
        copy.restore(Instant(u32::MAX - 5), &listed).unwrap();
        let wifi = Path::new("/config/wifi").unwrap();
        let in_copy = copy.authorize(Instant(u32::MAX - 5), &WriteRequest::resource(&wifi));
        let in_original = original.authorize(Instant(20_000), &WriteRequest::resource(&wifi));
        assert_eq!(in_copy, in_original);
        let lock = copy.locks(Instant(u32::MAX - 5)).next().unwrap();
        assert_eq!(lock.timeout, Timeout::Finite(Duration(60_000)));
        assert_eq!(lock.remaining, Timeout::Finite(Duration(40_000)));
        assert_eq!(lock.principal, Some("alice"));
        assert_eq!(copy.len(Instant(u32::MAX - 5) + Duration(39_999)), 1);
        assert_eq!(copy.len(Instant(u32::MAX - 5) + Duration(40_000)), 0);
    }

    #[test]
    fn a_lock_without_time_left_or_already_held_is_not_restored() {
        let (original, _) = granting();
        let listed = original.locks(Instant(0)).next().unwrap();
        let mut copy = Table::new(Policy::new(1000));
        let spent = ActiveLock {
            remaining: Timeout::Finite(Duration(0)),
            ..listed
        };
        copy.restore(Instant(0), &spent).unwrap();
        assert_eq!(copy.len(Instant(0)), 0);
        copy.restore(Instant(0), &listed).unwrap();
        copy.restore(Instant(0), &listed).unwrap();
        assert_eq!(copy.len(Instant(0)), 1);
    }

    #[test]
    fn restoring_into_a_full_table_says_so() {
        let (original, _) = granting();
        let listed = original.locks(Instant(0)).next().unwrap();
        let mut copy: LockTable<1, 32, 16> = LockTable::new(Policy::new(1000));
        copy.restore(Instant(0), &listed).unwrap();
        let other = ActiveLock {
            token: LockToken::from_bytes([1; 16]),
            ..listed
        };
        assert!(matches!(
            copy.restore(Instant(0), &other),
            Err(LockError::TableFull { .. })
        ));
    }

    #[test]
    fn restored_locks_keep_their_principals_until_the_list_is_full() {
        let mut original: LockTable<16, 32, 16> = LockTable::new(Policy::new(1000));
        original.seed_tokens([5; 16]);
        for (i, who) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let path = Path::new(&std::format!("/r{i}")).unwrap();
            let lock = LockRequest::exclusive(&path, "o").principal(who);
            original.lock(Instant(0), &lock).unwrap();
        }
        let path = Path::new("/anon").unwrap();
        original
            .lock(Instant(0), &LockRequest::exclusive(&path, "o"))
            .unwrap();
        let mut copy: LockTable<16, 32, 16> = LockTable::new(Policy::new(1000));
        for lock in original.locks(Instant(1)) {
            copy.restore(Instant(1), &lock).unwrap();
            let back = copy.find(Instant(1), lock.root, &lock.token).unwrap();
            assert_eq!(back.principal, lock.principal);
            assert_eq!(back.remaining, lock.remaining);
            copy.check_invariants();
        }
        let listed = original
            .locks(Instant(1))
            .find(|l| l.principal == Some("h"))
            .unwrap();
        // A ninth principal does not fit; the copy is unchanged.
        let ninth = ActiveLock {
            token: LockToken::from_bytes([0xdd; 16]),
            principal: Some("i"),
            ..listed
        };
        assert_eq!(
            copy.restore(Instant(1), &ninth),
            Err(LockError::TooManyPrincipals {
                retry_after: Some(Duration(179_999))
            })
        );
        assert_eq!(copy.len(Instant(1)), 9);
        copy.check_invariants();
        // Another lock of a listed principal is restored.
        let again = ActiveLock {
            token: LockToken::from_bytes([0xee; 16]),
            ..listed
        };
        copy.restore(Instant(1), &again).unwrap();
        assert_eq!(copy.locks_held_by(Instant(1), "h").count(), 2);
        copy.check_invariants();
    }

    #[test]
    fn a_restored_timeout_is_kept_below_the_infinite_mark() {
        let (original, _) = granting();
        let listed = original.locks(Instant(0)).next().unwrap();
        let mut copy = Table::new(Policy::new(1000));
        let odd = ActiveLock {
            timeout: Timeout::Finite(Duration(u32::MAX)),
            remaining: Timeout::Finite(Duration(u32::MAX - 10)),
            ..listed
        };
        copy.restore(Instant(0), &odd).unwrap();
        let back = copy.locks(Instant(0)).next().unwrap();
        assert_eq!(back.timeout, Timeout::Finite(Duration::MAX_TIMEOUT));
        assert_eq!(back.remaining, Timeout::Finite(Duration::MAX_TIMEOUT));
        assert_eq!(copy.next_expiry(Instant(0)), Some(Duration::MAX_TIMEOUT));
    }
}
