//! Footprint: bytes per held lock (`mem` of the project's benchmark definitions) and heap
//! allocations per operation, for lockwarden and for dav-server's `MemLs`.
//!
//! A counting global allocator sees every heap allocation of this process; it lives in
//! this binary only, so the timed benchmarks (`lock_table`) run on the plain allocator.
//! lockwarden's table has a fixed capacity, so its bytes per lock are the `size_of` of a
//! slot whether the slot is used or not; the allocator confirms that locking allocates
//! nothing. Byte counts are the sizes requested from the allocator (its own per-block
//! overhead comes on top, for MemLs only).
//!
//! Prints a summary; with `LOCKWARDEN_BENCH_OUT=DIR` also writes `DIR/footprint.json` for
//! the report generator. Criterion's command-line options are accepted and ignored, so one
//! `cargo bench` command runs both benchmark binaries.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

use dav_server::davpath::DavPath;
use dav_server::ls::DavLockSystem;
use dav_server::memls::MemLs;
use futures::executor::block_on;
use lockwarden::{Depth, LockRequest, LockTable, Path, Policy, Timeout, WriteError, WriteRequest};
use lockwarden_std::{LockManager, TICK_HZ};
use xmltree::{Element, XMLNode};

/// Counts allocations and the bytes live on the heap.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with this layout (the caller's contract).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A reallocation may move the block: it counts as an allocation.
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations made and heap bytes gained while `f` runs.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, isize) {
    let (a0, b0) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        LIVE_BYTES.load(Ordering::Relaxed),
    );
    let r = f();
    let (a1, b1) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        LIVE_BYTES.load(Ordering::Relaxed),
    );
    (r, a1 - a0, b1 - b0)
}

const HZ: u32 = 1000;
/// Locks added for `mem`.
const MORE: usize = 1000;
/// Operations averaged per allocation count.
const ROUNDS: usize = 1000;

fn owner() -> Element {
    let mut owner = Element::new("owner");
    owner.children.push(XMLNode::Text("a".to_owned()));
    owner
}

fn sixty() -> Timeout {
    Timeout::Finite(lockwarden::Duration::from_secs(60, HZ))
}

/// `size_of` of the table for a few capacities, as JSON rows and text.
fn table_sizes(json: &mut Vec<String>, text: &mut String) {
    macro_rules! sizes {
        ($($n:literal),*) => {[$(($n, size_of::<LockTable<$n, 64, 64>>())),*]};
    }
    let rows = sizes!(1, 8, 32, 64, 256, 1024);
    let per_slot = (rows[5].1 - rows[0].1) / (1024 - 1);
    let manager_slot =
        (size_of::<LockTable<1024, 128, 256>>() - size_of::<LockTable<1, 128, 256>>()) / 1023;
    writeln!(text, "size_of LockTable<N, 64, 64>:").ok();
    for (n, bytes) in rows {
        writeln!(text, "  N = {n:5}: {bytes:7} bytes").ok();
        json.push(format!(
            "{{\"kind\": \"table_size\", \"slots\": {n}, \"path\": 64, \"owner\": 64, \"bytes\": {bytes}}}"
        ));
    }
    writeln!(
        text,
        "  bytes per slot: {per_slot} (P = 64, O = 64); {manager_slot} with the std manager's P = 128, O = 256"
    )
    .ok();
    json.push(format!(
        "{{\"kind\": \"slot_size\", \"path\": 64, \"owner\": 64, \"bytes\": {per_slot}}}"
    ));
    json.push(format!(
        "{{\"kind\": \"slot_size\", \"path\": 128, \"owner\": 256, \"bytes\": {manager_slot}}}"
    ));
}

/// `mem`: a table (or lock system) with one lock, then 1000 more depth-0 locks.
fn bytes_per_lock(json: &mut Vec<String>, text: &mut String) {
    let now = lockwarden::Instant(1_000);
    let paths: Vec<Path<64>> = (0..=MORE)
        .map(|i| Path::new(&format!("/config/m{i}")).expect("canonical"))
        .collect();
    let mut table = Box::new(LockTable::<1024, 64, 64>::new(Policy::new(HZ)));
    table.seed_tokens(*b"lockwarden-bench");
    table
        .lock(
            now,
            &LockRequest::exclusive(&paths[0], "a").timeout(sixty()),
        )
        .expect("granted");
    let ((), allocations, bytes) = measure(|| {
        for p in &paths[1..] {
            let request = LockRequest::exclusive(p, "a")
                .depth(Depth::Zero)
                .timeout(sixty());
            table.lock(now, &request).expect("mem: the lock is granted");
        }
    });
    assert_eq!(table.len(now), MORE + 1, "mem: every lock is held");
    let slot = (size_of::<LockTable<1024, 64, 64>>() - size_of::<LockTable<1, 64, 64>>()) / 1023;
    writeln!(
        text,
        "mem lockwarden: {allocations} allocations and {bytes} heap bytes for {MORE} locks; {slot} bytes per slot, fixed"
    )
    .ok();
    json.push(format!(
        "{{\"kind\": \"mem\", \"system\": \"lockwarden\", \"locks\": {MORE}, \"allocations\": {allocations}, \"heap_bytes\": {bytes}, \"bytes_per_lock\": {slot}}}"
    ));

    let dpaths: Vec<DavPath> = (0..=MORE)
        .map(|i| DavPath::new(&format!("/config/m{i}")).expect("valid"))
        .collect();
    let owner = owner();
    let ls = MemLs::new();
    let lock = |ls: &MemLs, p: &DavPath| {
        block_on(ls.lock(
            p,
            None,
            Some(&owner),
            Some(Duration::from_secs(60)),
            false,
            false,
        ))
        .expect("mem: the lock is granted")
    };
    drop(lock(&ls, &dpaths[0]));
    let ((), allocations, bytes) = measure(|| {
        for p in &dpaths[1..] {
            // The caller gets the lock back and, like a server, drops it after replying.
            drop(lock(&ls, p));
        }
    });
    let held = block_on(ls.discover(&DavPath::new("/config/m17").expect("valid")));
    assert_eq!(held.len(), 1, "mem: MemLs holds the lock");
    let per_lock = bytes as f64 / MORE as f64;
    writeln!(
        text,
        "mem memls: {allocations} allocations and {bytes} heap bytes for {MORE} locks: {per_lock:.0} bytes per lock"
    )
    .ok();
    json.push(format!(
        "{{\"kind\": \"mem\", \"system\": \"memls\", \"locks\": {MORE}, \"allocations\": {allocations}, \"heap_bytes\": {bytes}, \"bytes_per_lock\": {per_lock:.1}}}"
    ));
}

/// Allocations per lock, write check (passing and refused) and unlock: the std adapter's
/// manager against MemLs, each averaged over `ROUNDS` operations.
fn allocations_per_operation(json: &mut Vec<String>, text: &mut String) {
    writeln!(text, "allocations per operation (averaged over {ROUNDS}):").ok();
    let mut row = |system: &str, operation: &str, allocations: usize| {
        let per_op = allocations as f64 / ROUNDS as f64;
        writeln!(text, "  {system:10} {operation:14} {per_op:6.2}").ok();
        json.push(format!(
            "{{\"kind\": \"allocations\", \"system\": \"{system}\", \"operation\": \"{operation}\", \"per_operation\": {per_op}}}"
        ));
    };

    let manager: LockManager = LockManager::new(Policy::new(TICK_HZ)).expect("the manager starts");
    let net = Path::new("/config/net").expect("canonical");
    let other = Path::new("/config/other").expect("canonical");
    let held = manager
        .lock(&LockRequest::exclusive(&other, "b").timeout(sixty()))
        .expect("granted");
    let (mut locks, mut checks, mut refusals, mut unlocks) = (0, 0, 0, 0);
    for _ in 0..ROUNDS {
        let request = LockRequest::exclusive(&net, "a").timeout(sixty());
        // Each closure reduces its outcome to what is checked: the errors are large.
        let (granted, n, _) = measure(|| manager.lock(black_box(&request)).ok());
        locks += n;
        let token = granted.expect("the lock is granted").token;
        let (passes, n, _) = measure(|| {
            manager
                .authorize(&WriteRequest::resource(black_box(&net)).tokens(&[token]))
                .is_ok()
        });
        checks += n;
        assert!(passes, "the holder's write passes");
        let (refused, n, _) = measure(|| {
            let outcome = manager.authorize(&WriteRequest::resource(black_box(&other)));
            matches!(outcome, Err(WriteError::Locked(_)))
        });
        refusals += n;
        assert!(refused, "refused");
        let (outcome, n, _) = measure(|| manager.unlock(black_box(&net), &token, None));
        unlocks += n;
        assert_eq!(outcome, Ok(()), "the lock is released");
    }
    manager.unlock(&other, &held.token, None).expect("released");
    row("lockwarden", "lock", locks);
    row("lockwarden", "check passes", checks);
    row("lockwarden", "check refused", refusals);
    row("lockwarden", "unlock", unlocks);

    let ls = MemLs::new();
    let owner = owner();
    let sixty = Some(Duration::from_secs(60));
    let (dnet, dother) = (
        DavPath::new("/config/net").expect("valid"),
        DavPath::new("/config/other").expect("valid"),
    );
    let dheld =
        block_on(ls.lock(&dother, None, Some(&owner), sixty, false, false)).expect("granted");
    let (mut locks, mut checks, mut refusals, mut unlocks) = (0, 0, 0, 0);
    for _ in 0..ROUNDS {
        let (lock, n, _) = measure(|| {
            block_on(ls.lock(black_box(&dnet), None, Some(&owner), sixty, false, false))
        });
        locks += n;
        // The token goes back to the client; a server keeps no copy of the lock.
        let token = [lock.expect("the lock is granted").token];
        let (outcome, n, _) =
            measure(|| block_on(ls.check(black_box(&dnet), None, false, false, &token)));
        checks += n;
        assert!(outcome.is_ok(), "the holder's write passes");
        let (outcome, n, _) =
            measure(|| block_on(ls.check(black_box(&dother), None, false, false, &[])).is_err());
        refusals += n;
        assert!(outcome, "refused");
        let (outcome, n, _) = measure(|| block_on(ls.unlock(black_box(&dnet), &token[0])));
        unlocks += n;
        assert!(outcome.is_ok(), "the lock is released");
    }
    block_on(ls.unlock(&dother, &dheld.token)).expect("released");
    row("memls", "lock", locks);
    row("memls", "check passes", checks);
    row("memls", "check refused", refusals);
    row("memls", "unlock", unlocks);
}

fn main() {
    let mut json = Vec::new();
    let mut text = String::new();
    table_sizes(&mut json, &mut text);
    bytes_per_lock(&mut json, &mut text);
    allocations_per_operation(&mut json, &mut text);
    print!("{text}");
    if let Some(dir) = std::env::var_os("LOCKWARDEN_BENCH_OUT") {
        std::fs::create_dir_all(&dir).expect("the output directory can be created");
        let path = std::path::Path::new(&dir).join("footprint.json");
        std::fs::write(&path, format!("[\n  {}\n]\n", json.join(",\n  ")))
            .expect("footprint.json can be written");
    }
}
