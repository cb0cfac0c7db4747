//! The lock table's whole API, called the way firmware calls it: inputs the optimiser
//! cannot see through, every result used. No `Display` of errors: firmware logs with
//! defmt or not at all.

use core::hint::black_box;

use lockwarden::sync::{CsLockTable, SharedLockTable};
use lockwarden::{
    Access, Depth, Duration, Instant, LockRequest, LockTable, LockToken, Path, Policy,
    RefreshRequest, Timeout, WriteRequest,
};

/// The probes' table: a `static` shared through a critical section, all zeros (so in
/// `.bss`) until [`start`].
pub static TABLE: CsLockTable<{ crate::common::SLOTS }> = CsLockTable::unconfigured();

/// Gives [`TABLE`] its policy and token seed, as a firmware does at start-up.
pub fn start() {
    TABLE.with(|table| {
        table.set_policy(Policy::new(black_box(1000)));
        table.seed_tokens(black_box([7; 16]));
    });
}

/// One round of every table operation at `now`.
#[inline(never)]
pub fn exercise(table: &mut LockTable<{ crate::common::SLOTS }>, now: Instant) {
    let (Ok(net), Ok(wifi)) = (
        Path::<64>::new(black_box("/config/network")),
        Path::<64>::from_bytes(black_box(b"/config/network/wifi")),
    ) else {
        return;
    };
    let exclusive = LockRequest::exclusive(&net, black_box("panel"))
        .depth(Depth::Infinity)
        .principal(black_box("alice"));
    let granted = black_box(table.lock(now, &exclusive));
    let shared = LockRequest::shared(&wifi, black_box("tool"))
        .timeout(Timeout::Finite(Duration(black_box(5_000))));
    keep(table.lock(now, &shared));
    let submitted = match &granted {
        Ok(g) => [g.token],
        Err(_) => [LockToken::from_bytes(black_box([1; 16]))],
    };
    let principal = black_box(Some("alice"));
    keep(table.authorize(
        now,
        &WriteRequest {
            principal,
            ..WriteRequest::resource(&wifi).tokens(&submitted)
        },
    ));
    keep(table.authorize(
        now,
        &WriteRequest {
            principal,
            ..WriteRequest::new(&net, Access::Subtree).tokens(&submitted)
        },
    ));
    if let Ok(g) = &granted {
        keep(table.refresh(
            now,
            &RefreshRequest {
                principal,
                ..RefreshRequest::new(&net, &g.token)
            },
        ));
        keep(table.find(now, &wifi, &g.token).map(|l| l.remaining));
        keep(table.unlock(now, &net, &g.token, principal));
    }
    for lock in table.locks_covering(now, &wifi) {
        keep((lock.root.as_bytes(), lock.owner, lock.remaining));
    }
    keep(table.locks_held_by(now, "alice").count());
    keep(table.len(now));
    keep(table.next_expiry(now));
    keep(table.force_unlock(now, &wifi));
    keep(table.purge(now));
    keep(LockToken::parse(black_box(
        "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b",
    )));
}

/// Uses a result as firmware would, without the optimiser seeing how.
fn keep<T>(value: T) {
    black_box(value);
}
