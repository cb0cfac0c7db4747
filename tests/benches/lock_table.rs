//! Lock-table speed: the workloads W1–W5 and `scale` of the project's benchmark
//! definitions, on lockwarden's table and on dav-server's in-memory lock system
//! (`MemLs`, through its `DavLockSystem` trait), in one criterion run so that every
//! workload has a ratio measured under the same load.
//!
//! Every workload's answer is checked once before it is timed and again inside the timed
//! loop: a wrong answer aborts the run instead of producing a fast number. The one
//! exception is a wrong answer of the peer that is known and documented (MemLs never
//! expires locks, so its W5(b) refuses): it is asserted as it is and recorded as wrong.
//!
//! `LOCKWARDEN_BENCH_OUT=DIR` makes the run write `DIR/answers.json`, which the report
//! generator (`report.py`) prints beside the timings.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode};
use dav_server::davpath::DavPath;
use dav_server::ls::DavLockSystem;
use dav_server::memls::MemLs;
use futures::executor::block_on;
use lockwarden::{
    Access, Depth, LockRequest, LockTable, LockToken, Path, Policy, Timeout, WriteError,
    WriteRequest,
};
use xmltree::{Element, XMLNode};

/// Ticks per second of the benchmark's clock (the std adapter's rate).
const HZ: u32 = 1000;
/// W1–W4: a table with room to spare for the 32 locks of W3.
const SMALL: usize = 64;
/// W5 and `scale`: 1000 locks held.
const LARGE: usize = 1024;
/// The locks held in W5 and `scale`.
const MANY: usize = 1000;
/// The locks held in W3.
const BUSY: usize = 32;

type Table<const N: usize> = LockTable<N, 64, 64>;

/// What a workload's operation answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Lock granted, write check passed, lock released (W1).
    Cycle,
    /// The write may proceed.
    Passes,
    /// The write is refused because a lock covers it.
    Refused,
}

impl Answer {
    fn as_str(self) -> &'static str {
        match self {
            Answer::Cycle => "granted, passes, unlocked",
            Answer::Passes => "passes",
            Answer::Refused => "refused (locked)",
        }
    }
}

/// One checked answer, for the report.
struct Checked {
    workload: &'static str,
    system: &'static str,
    expected: Answer,
    observed: Answer,
    note: &'static str,
}

thread_local! {
    static ANSWERS: RefCell<Vec<Checked>> = const { RefCell::new(Vec::new()) };
}

/// Checks a workload's answer before timing it. A wrong answer aborts, unless it is the
/// peer's documented defect `known_wrong`, which must then be exactly what is observed.
fn check_answer(
    workload: &'static str,
    system: &'static str,
    expected: Answer,
    observed: Answer,
    known_wrong: Option<(Answer, &'static str)>,
) {
    let note = match known_wrong {
        None => {
            assert_eq!(
                observed, expected,
                "{workload} on {system}: wrong answer, the benchmark is void"
            );
            ""
        }
        Some((wrong, why)) => {
            assert_eq!(
                observed, wrong,
                "{workload} on {system}: the peer's documented answer changed"
            );
            why
        }
    };
    ANSWERS.with(|a| {
        a.borrow_mut().push(Checked {
            workload,
            system,
            expected,
            observed,
            note,
        })
    });
}

fn write_answers() {
    let Some(dir) = std::env::var_os("LOCKWARDEN_BENCH_OUT") else {
        return;
    };
    let rows: Vec<String> = ANSWERS.with(|a| {
        a.borrow()
            .iter()
            .map(|c| {
                format!(
                    "  {{\"workload\": \"{}\", \"system\": \"{}\", \"expected\": \"{}\", \"observed\": \"{}\", \"note\": \"{}\"}}",
                    c.workload,
                    c.system,
                    c.expected.as_str(),
                    c.observed.as_str(),
                    c.note
                )
            })
            .collect()
    });
    let path = std::path::Path::new(&dir).join("answers.json");
    std::fs::create_dir_all(&dir).expect("the output directory can be created");
    std::fs::write(&path, format!("[\n{}\n]\n", rows.join(",\n")))
        .expect("answers.json can be written");
}

/// lockwarden's side: the core table, with time passed in.
mod warden {
    use super::*;

    pub fn path(text: &str) -> Path<64> {
        Path::new(text).expect("benchmark paths are canonical")
    }

    pub fn secs(s: u64) -> Timeout {
        Timeout::Finite(lockwarden::Duration::from_secs(s, HZ))
    }

    /// An empty, seeded table on the heap (the large one does not belong on the stack).
    pub fn table<const N: usize>() -> Box<Table<N>> {
        let mut table = Box::new(Table::<N>::new(Policy::new(HZ)));
        table.seed_tokens(*b"lockwarden-bench");
        table
    }

    /// Takes an exclusive lock for owner "a".
    pub fn lock<const N: usize>(
        table: &mut Table<N>,
        now: lockwarden::Instant,
        path: &Path<64>,
        depth: Depth,
        timeout: Timeout,
    ) -> LockToken {
        let request = LockRequest::exclusive(path, "a")
            .depth(depth)
            .timeout(timeout);
        table
            .lock(now, &request)
            .expect("the setup's lock is granted")
            .token
    }

    /// A write check: what a PUT asks before writing.
    #[inline]
    pub fn write<const N: usize>(
        table: &Table<N>,
        now: lockwarden::Instant,
        path: &Path<64>,
        access: Access,
        tokens: &[LockToken],
    ) -> Answer {
        match table.authorize(now, &WriteRequest::new(path, access).tokens(tokens)) {
            Ok(()) => Answer::Passes,
            Err(WriteError::Locked(_)) => Answer::Refused,
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }

    /// A table holding `count` depth-0 locks `/config/{prefix}0…`, granted at `now`.
    pub fn held<const N: usize>(
        count: usize,
        prefix: &str,
        now: lockwarden::Instant,
        timeout: Timeout,
    ) -> (Box<Table<N>>, Vec<LockToken>) {
        let mut table = table::<N>();
        let tokens = (0..count)
            .map(|i| {
                let p = path(&format!("/config/{prefix}{i}"));
                lock(&mut table, now, &p, Depth::Zero, timeout)
            })
            .collect();
        (table, tokens)
    }

    /// A table holding depth-0 locks on `paths`, granted at `now`, built without touching
    /// the heap (the paths are made beforehand), so that the setup leaves the allocator
    /// and caches as a device's would be.
    pub fn locked<const N: usize>(
        paths: &[Path<64>],
        now: lockwarden::Instant,
        timeout: Timeout,
    ) -> Box<Table<N>> {
        let mut table = table::<N>();
        for p in paths {
            lock(&mut table, now, p, Depth::Zero, timeout);
        }
        table
    }
}

/// The peer's side: dav-server's MemLs, whose futures are ready at once.
mod peer {
    use super::*;

    pub fn path(text: &str) -> DavPath {
        DavPath::new(text).expect("benchmark paths are valid")
    }

    /// The owner "a", as a `DAV:owner` element (what dav-server stores for a LOCK body).
    pub fn owner() -> Element {
        let mut owner = Element::new("owner");
        owner.children.push(XMLNode::Text("a".to_owned()));
        owner
    }

    pub fn lock(
        ls: &MemLs,
        path: &DavPath,
        owner: &Element,
        deep: bool,
        timeout: Duration,
    ) -> String {
        block_on(ls.lock(path, None, Some(owner), Some(timeout), false, deep))
            .expect("the setup's lock is granted")
            .token
    }

    /// A write check as dav-server's PUT handler asks it; `deep` for a DELETE of a
    /// collection.
    #[inline]
    pub fn write(ls: &MemLs, path: &DavPath, deep: bool, tokens: &[String]) -> Answer {
        match block_on(ls.check(path, None, false, deep, tokens)) {
            Ok(()) => Answer::Passes,
            Err(_) => Answer::Refused,
        }
    }

    /// A lock system holding depth-0 locks on `paths` (made beforehand).
    pub fn locked(paths: &[DavPath], timeout: Duration) -> Box<MemLs> {
        let ls = MemLs::new();
        let owner = owner();
        for p in paths {
            lock(&ls, p, &owner, false, timeout);
        }
        ls
    }

    pub fn held(count: usize, prefix: &str, timeout: Duration) -> (Box<MemLs>, Vec<String>) {
        let ls = MemLs::new();
        let owner = owner();
        let tokens = (0..count)
            .map(|i| {
                lock(
                    &ls,
                    &path(&format!("/config/{prefix}{i}")),
                    &owner,
                    false,
                    timeout,
                )
            })
            .collect();
        (ls, tokens)
    }
}

const WARDEN: &str = "lockwarden";
const MEMLS: &str = "memls";

fn w1_uncontended_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("W1");
    let now = lockwarden::Instant(1_000);
    let net = warden::path("/config/net");
    let request = LockRequest::exclusive(&net, "a").timeout(warden::secs(60));
    let mut table = warden::table::<SMALL>();
    let cycle = |table: &mut Table<SMALL>| {
        let token = table.lock(now, black_box(&request)).map(|g| g.token);
        let token = token.expect("W1: the lock is granted");
        assert_eq!(
            warden::write(table, now, black_box(&net), Access::Resource, &[token]),
            Answer::Passes
        );
        table
            .unlock(now, black_box(&net), &token, None)
            .expect("W1: the lock is released");
        Answer::Cycle
    };
    check_answer("W1", WARDEN, Answer::Cycle, cycle(&mut table), None);
    group.bench_function(WARDEN, |b| b.iter(|| cycle(&mut table)));

    let ls = MemLs::new();
    let dnet = peer::path("/config/net");
    let owner = peer::owner();
    let cycle = |ls: &MemLs| {
        let lock = block_on(ls.lock(
            black_box(&dnet),
            None,
            Some(&owner),
            Some(Duration::from_secs(60)),
            false,
            false,
        ));
        let token = lock.expect("W1: the lock is granted").token;
        assert_eq!(
            peer::write(ls, black_box(&dnet), false, std::slice::from_ref(&token)),
            Answer::Passes
        );
        block_on(ls.unlock(black_box(&dnet), &token)).expect("W1: the lock is released");
        Answer::Cycle
    };
    check_answer("W1", MEMLS, Answer::Cycle, cycle(&ls), None);
    group.bench_function(MEMLS, |b| b.iter(|| cycle(&ls)));
    group.finish();
}

fn w2_conflict_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("W2");
    let now = lockwarden::Instant(1_000);
    let net = warden::path("/config/net");
    let mut table = warden::table::<SMALL>();
    warden::lock(&mut table, now, &net, Depth::Zero, warden::secs(60));
    let check = || {
        warden::write(
            &table,
            now,
            black_box(&net),
            Access::Resource,
            black_box(&[]),
        )
    };
    check_answer("W2", WARDEN, Answer::Refused, check(), None);
    group.bench_function(WARDEN, |b| b.iter(|| assert_eq!(check(), Answer::Refused)));

    let ls = MemLs::new();
    let dnet = peer::path("/config/net");
    peer::lock(&ls, &dnet, &peer::owner(), false, Duration::from_secs(60));
    let check = || peer::write(&ls, black_box(&dnet), false, black_box(&[]));
    check_answer("W2", MEMLS, Answer::Refused, check(), None);
    group.bench_function(MEMLS, |b| b.iter(|| assert_eq!(check(), Answer::Refused)));
    group.finish();
}

/// W3 with `count` locks held in a table of `N` slots: (a) the holder's write to one of
/// them, (b) a write beside them. `scale` is the same with 1000 locks.
fn busy_table<const N: usize>(c: &mut Criterion, name: &'static str, count: usize) {
    let now = lockwarden::Instant(1_000);
    let (table, tokens) = warden::held::<N>(count, "s", now, warden::secs(60));
    let (ls, dtokens) = peer::held(count, "s", Duration::from_secs(60));
    let s17 = warden::path("/config/s17");
    let other = warden::path("/config/other");
    let (d17, dother) = (peer::path("/config/s17"), peer::path("/config/other"));
    // Leaked once per run: the answer records keep 'static workload names.
    let a: &'static str = format!("{name}a").leak();
    let b: &'static str = format!("{name}b").leak();

    let mut group = c.benchmark_group(a);
    let token = [tokens[17]];
    let check = || {
        warden::write(
            &table,
            now,
            black_box(&s17),
            Access::Resource,
            black_box(&token),
        )
    };
    check_answer(a, WARDEN, Answer::Passes, check(), None);
    group.bench_function(WARDEN, |b| b.iter(|| assert_eq!(check(), Answer::Passes)));
    let dtoken = [dtokens[17].clone()];
    let check = || peer::write(&ls, black_box(&d17), false, black_box(&dtoken));
    check_answer(a, MEMLS, Answer::Passes, check(), None);
    group.bench_function(MEMLS, |b| b.iter(|| assert_eq!(check(), Answer::Passes)));
    group.finish();

    let mut group = c.benchmark_group(b);
    let check = || {
        warden::write(
            &table,
            now,
            black_box(&other),
            Access::Resource,
            black_box(&[]),
        )
    };
    check_answer(b, WARDEN, Answer::Passes, check(), None);
    group.bench_function(WARDEN, |b| b.iter(|| assert_eq!(check(), Answer::Passes)));
    let check = || peer::write(&ls, black_box(&dother), false, black_box(&[]));
    check_answer(b, MEMLS, Answer::Passes, check(), None);
    group.bench_function(MEMLS, |b| b.iter(|| assert_eq!(check(), Answer::Passes)));
    group.finish();
}

fn w4_depth_infinity(c: &mut Criterion) {
    let now = lockwarden::Instant(1_000);
    let config = warden::path("/config");
    let wifi = warden::path("/config/net/wifi");
    let mut table = warden::table::<SMALL>();
    let token = [warden::lock(
        &mut table,
        now,
        &config,
        Depth::Infinity,
        warden::secs(60),
    )];
    let ls = MemLs::new();
    let (dconfig, dwifi) = (peer::path("/config"), peer::path("/config/net/wifi"));
    let dtoken = [peer::lock(
        &ls,
        &dconfig,
        &peer::owner(),
        true,
        Duration::from_secs(60),
    )];

    for (workload, tokens, expected) in [
        ("W4a", &[][..], Answer::Refused),
        ("W4b", &token[..], Answer::Passes),
    ] {
        let mut group = c.benchmark_group(workload);
        let check = || {
            warden::write(
                &table,
                now,
                black_box(&wifi),
                Access::Resource,
                black_box(tokens),
            )
        };
        check_answer(workload, WARDEN, expected, check(), None);
        group.bench_function(WARDEN, |b| b.iter(|| assert_eq!(check(), expected)));
        let dtokens = if tokens.is_empty() {
            &[][..]
        } else {
            &dtoken[..]
        };
        let check = || peer::write(&ls, black_box(&dwifi), false, black_box(dtokens));
        check_answer(workload, MEMLS, expected, check(), None);
        group.bench_function(MEMLS, |b| b.iter(|| assert_eq!(check(), expected)));
        group.finish();
    }
}

/// A W5 case: its name, the target on each side, the access (and MemLs's `deep`), and
/// MemLs's documented wrong answer, if any.
type Expiry<'p> = (
    &'static str,
    &'p Path<64>,
    &'p DavPath,
    Access,
    bool,
    Option<(Answer, &'static str)>,
);

/// W5: the first write check on a fresh table whose 1000 locks have all expired, against
/// the same first check on a fresh empty table ("-none"): the goal is equal cost.
/// (a) a depth-0 write beside the expired locks; (b) a DELETE of `/config`, the
/// collection that holds them all.
fn w5_expiry(c: &mut Criterion) {
    let t0 = lockwarden::Instant(1_000);
    let later = lockwarden::Instant(t0.0 + 2 * HZ);
    let other = warden::path("/config/other");
    let config = warden::path("/config");
    let (dother, dconfig) = (peer::path("/config/other"), peer::path("/config"));
    let paths: Vec<Path<64>> = (0..MANY)
        .map(|i| warden::path(&format!("/config/e{i}")))
        .collect();
    let dpaths: Vec<DavPath> = (0..MANY)
        .map(|i| peer::path(&format!("/config/e{i}")))
        .collect();
    let expired = |count: usize| warden::locked::<LARGE>(&paths[..count], t0, warden::secs(1));
    // MemLs reads the system clock and takes a `Duration`: 1 ms locks and a 2 ms sleep
    // are its W5 (its answer would be the same after any sleep: it never expires locks).
    let dexpired = || {
        let ls = peer::locked(&dpaths, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(2));
        ls
    };

    // The clock reads around one timed operation, alone: the floor under every W5 figure.
    let mut group = c.benchmark_group("clock");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("empty", |b| {
        b.iter_batched_ref(|| (), |()| (), BatchSize::PerIteration)
    });
    group.finish();

    let cases: [Expiry; 2] = [
        ("W5a", &other, &dother, Access::Resource, false, None),
        (
            "W5b",
            &config,
            &dconfig,
            Access::Subtree,
            true,
            Some((
                Answer::Refused,
                "wrong: MemLs never expires locks, so the expired locks below /config still block the DELETE",
            )),
        ),
    ];
    for (workload, target, dtarget, access, deep, known_wrong) in cases {
        // 1000 expired locks, none, and (lockwarden only) 100: whether the cost grows
        // with the number of expired locks.
        for (suffix, count) in [("", MANY), ("-none", 0), ("-100", 100)] {
            let with_expired = count > 0;
            let name: &'static str = format!("{workload}{suffix}").leak();
            let mut group = c.benchmark_group(name);
            // Building a table per sample is slow next to the check: sample flat.
            group.sampling_mode(SamplingMode::Flat);
            let build = || expired(count);
            check_answer(
                name,
                WARDEN,
                Answer::Passes,
                warden::write(&build(), later, target, access, &[]),
                None,
            );
            group.bench_function(WARDEN, |b| {
                b.iter_batched_ref(
                    build,
                    |table| {
                        let answer = warden::write(table, later, black_box(target), access, &[]);
                        assert_eq!(answer, Answer::Passes);
                    },
                    BatchSize::PerIteration,
                )
            });

            if count != MANY && with_expired {
                group.finish();
                continue;
            }
            let dbuild = || {
                if with_expired {
                    dexpired()
                } else {
                    MemLs::new()
                }
            };
            let peer_wrong = if with_expired { known_wrong } else { None };
            let peer_expected = peer_wrong.map_or(Answer::Passes, |(wrong, _)| wrong);
            check_answer(
                name,
                MEMLS,
                Answer::Passes,
                peer::write(&dbuild(), dtarget, deep, &[]),
                peer_wrong,
            );
            group.bench_function(MEMLS, |b| {
                b.iter_batched_ref(
                    dbuild,
                    |ls| {
                        let answer = peer::write(ls, black_box(dtarget), deep, &[]);
                        assert_eq!(answer, peer_expected);
                    },
                    BatchSize::PerIteration,
                )
            });
            group.finish();
        }
    }
}

fn main() {
    let mut c = Criterion::default().without_plots().configure_from_args();
    w1_uncontended_cycle(&mut c);
    w2_conflict_check(&mut c);
    busy_table::<SMALL>(&mut c, "W3", BUSY);
    w4_depth_infinity(&mut c);
    w5_expiry(&mut c);
    busy_table::<LARGE>(&mut c, "scale-", MANY);
    c.final_summary();
    write_answers();
}
