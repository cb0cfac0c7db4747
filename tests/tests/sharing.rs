//! The core's sharing wrappers on the host: a critical-section table in a `static`
//! used from several threads (standing in for main code and interrupt handlers), and a
//! spin-lock table shared across threads (standing in for cores).

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use lockwarden::sync::{CsLockTable, SharedLockTable, SpinLockTable};
use lockwarden::{Instant, LockError, LockRequest, Path, Policy, WriteError, WriteRequest};

static CS_TABLE: CsLockTable<64, 32, 16> =
    CsLockTable::new(Policy::new(1000).with_max_locks_per_principal(64));
static SPIN_TABLE: SpinLockTable<64, 32, 16> =
    SpinLockTable::new(Policy::new(1000).with_max_locks_per_principal(64));

/// Threads race to lock the same few paths; exactly one lock per path is ever granted,
/// and every writer without the token is refused while it is held.
fn exactly_one_winner_per_path(
    table: &'static (impl SharedLockTable<64, 32, 16> + Sync),
    seed: u8,
) {
    table.with(|t| t.seed_tokens([seed; 16]));
    let granted = AtomicU32::new(0);
    let refused = AtomicU32::new(0);
    thread::scope(|s| {
        for worker in 0..8 {
            let (granted, refused) = (&granted, &refused);
            s.spawn(move || {
                for round in 0..200u32 {
                    let path: Path<32> = Path::new(&format!("/config/s{}", round % 16)).unwrap();
                    let owner = format!("w{worker}");
                    let req = LockRequest::exclusive(&path, &owner);
                    match table.with(|t| t.lock(Instant(0), &req)) {
                        Ok(_) => {
                            granted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(LockError::Conflict(c)) => {
                            assert_eq!(c.root, path);
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("unexpected refusal: {e}"),
                    }
                    let write =
                        table.with(|t| t.authorize(Instant(0), &WriteRequest::resource(&path)));
                    assert!(matches!(write, Err(WriteError::Locked(_))));
                }
            });
        }
    });
    assert_eq!(granted.load(Ordering::Relaxed), 16);
    assert_eq!(refused.load(Ordering::Relaxed), 8 * 200 - 16);
    assert_eq!(table.with(|t| t.len(Instant(0))), 16);
}

#[test]
fn a_critical_section_table_in_a_static_grants_each_path_once_across_threads() {
    exactly_one_winner_per_path(&CS_TABLE, 1);
}

#[test]
fn a_spin_table_grants_each_path_once_across_threads() {
    exactly_one_winner_per_path(&SPIN_TABLE, 2);
}

#[test]
fn try_with_refuses_while_another_thread_holds_the_spin_table() {
    static TABLE: SpinLockTable<4> = SpinLockTable::new(Policy::new(1000));
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        TABLE.with(|_| {
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    });
    held_rx.recv().unwrap();
    assert_eq!(TABLE.try_with(|t| t.len(Instant(0))), None);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(TABLE.try_with(|t| t.len(Instant(0))), Some(0));
}
