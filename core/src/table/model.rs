//! The table against a reference model.
//!
//! The model states the rules as plainly as possible: a `Vec` of locks, a clock that
//! never wraps, every question answered by a scan. Random operation sequences (with
//! clock advances across the 32-bit wrap) run against both; every answer is compared
//! and the table's invariants are checked after every step.
//!
//! CI runs 10,000 sequences. For a million:
//! `LOCKWARDEN_MODEL_CASES=1000000 cargo test -p lockwarden --release table::model`

extern crate std;

use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;

/// More slots than the principal list has entries, so that the list can be full.
const N: usize = 10;
type Table = LockTable<N, 16, 8>;
type TPath = Path<16>;

const PATHS: &[&str] = &[
    "/", "/a", "/a/b", "/a/b/c", "/a/c", "/b", "/b/a", "/ab", "/c", "/d", "/e", "/c/a",
];
const OWNERS: &[&str] = &["x", "y", "12345678", "123456789"];
/// The first three come often (quotas, another principal's lock); the others, more than
/// [`DEFAULT_PRINCIPALS`] in all, fill the principal list now and then.
const PRINCIPALS: &[Option<&str>] = &[
    None,
    Some("alice"),
    Some("bob"),
    Some("p3"),
    Some("p4"),
    Some("p5"),
    Some("p6"),
    Some("p7"),
    Some("p8"),
    Some("p9"),
    Some("p10"),
];
const FREQUENT: usize = 3;

std::thread_local! {
    /// Lock requests this thread's runs refused for a full principal list.
    static LIST_FULL: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// The counter starts close to its wrap so that most sequences cross it.
const START: u32 = u32::MAX - 300;

#[derive(Debug, Clone)]
struct ModelLock {
    path: String,
    scope: Scope,
    depth: Depth,
    owner: String,
    principal: Option<String>,
    token: LockToken,
    granted: u64,
    timeout: Timeout,
}

impl ModelLock {
    fn live(&self, t: u64) -> bool {
        match self.timeout {
            Timeout::Infinite => true,
            Timeout::Finite(d) => t - self.granted < u64::from(d.0),
        }
    }
    fn remaining(&self, t: u64) -> Timeout {
        match self.timeout {
            Timeout::Infinite => Timeout::Infinite,
            Timeout::Finite(d) => {
                Timeout::Finite(Duration((self.granted + u64::from(d.0) - t) as u32))
            }
        }
    }
    fn covers(&self, path: &str) -> bool {
        self.path == path || (self.depth == Depth::Infinity && is_ancestor(&self.path, path))
    }
    fn usable_by(&self, principal: Option<&str>) -> bool {
        self.principal.is_none() || self.principal.as_deref() == principal
    }
}

/// Strict ancestor.
fn is_ancestor(a: &str, b: &str) -> bool {
    a != b && (a == "/" || b.starts_with(&std::format!("{a}/")))
}

struct Model {
    policy: Policy,
    locks: Vec<ModelLock>,
}

impl Model {
    fn live(&self, t: u64) -> impl Iterator<Item = &ModelLock> {
        self.locks.iter().filter(move |l| l.live(t))
    }

    fn find(&self, t: u64, path: &str, token: &LockToken) -> Option<&ModelLock> {
        self.live(t).find(|l| l.token == *token && l.covers(path))
    }

    /// The rule of `LockTable::authorize`, said plainly.
    fn write_outcome(
        &self,
        t: u64,
        path: &str,
        access: Access,
        tokens: &[LockToken],
        principal: Option<&str>,
    ) -> (bool, Vec<ModelLock>) {
        let submitted = |l: &ModelLock| tokens.contains(&l.token);
        let valid = |l: &ModelLock| submitted(l) && l.usable_by(principal);
        // Each relevant lock with the resource it protects.
        let mut relevant: Vec<(&ModelLock, &str)> = self
            .live(t)
            .filter(|l| l.covers(path))
            .map(|l| (l, path))
            .collect();
        if access == Access::Subtree {
            relevant.extend(
                self.live(t)
                    .filter(|l| is_ancestor(path, &l.path))
                    .map(|l| (l, l.path.as_str())),
            );
        }
        let forbidden = relevant
            .iter()
            .any(|(l, _)| submitted(l) && !l.usable_by(principal));
        let blockers = relevant
            .iter()
            .filter(|(l, resource)| {
                // Satisfied: its own token, or (shared) a valid shared lock on the resource.
                let satisfied = valid(l)
                    || (l.scope == Scope::Shared
                        && self
                            .live(t)
                            .any(|o| o.scope == Scope::Shared && o.covers(resource) && valid(o)));
                !satisfied
            })
            .map(|(l, _)| (*l).clone())
            .collect();
        (forbidden, blockers)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Lock {
        path: usize,
        shared: bool,
        infinity: bool,
        owner: usize,
        principal: usize,
        timeout: Option<u32>,
    },
    /// A shared lock on `path` by each principal in turn.
    Crowd {
        path: usize,
        timeout: Option<u32>,
    },
    Refresh {
        lock: usize,
        path: usize,
        principal: usize,
        timeout: Option<u32>,
    },
    Unlock {
        lock: usize,
        path: usize,
        principal: usize,
    },
    Write {
        path: usize,
        access: usize,
        locks: Vec<usize>,
        principal: usize,
    },
    Find {
        lock: usize,
        path: usize,
    },
    Covering {
        path: usize,
    },
    Advance {
        ticks: u32,
    },
    NextExpiry,
    Purge,
    ForceUnlock {
        path: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    let principal = prop_oneof![3 => 0..FREQUENT, 2 => FREQUENT..PRINCIPALS.len()];
    let timeout = prop_oneof![Just(None), (0u32..120).prop_map(Some), Just(Some(u32::MAX))];
    let lock = 0usize..40;
    prop_oneof![
        6 => (path.clone(), any::<bool>(), any::<bool>(), 0..OWNERS.len(), principal.clone(), timeout.clone())
            .prop_map(|(path, shared, infinity, owner, principal, timeout)| Op::Lock { path, shared, infinity, owner, principal, timeout }),
        1 => (path.clone(), timeout.clone()).prop_map(|(path, timeout)| Op::Crowd { path, timeout }),
        2 => (lock.clone(), path.clone(), principal.clone(), timeout)
            .prop_map(|(lock, path, principal, timeout)| Op::Refresh { lock, path, principal, timeout }),
        2 => (lock.clone(), path.clone(), principal.clone())
            .prop_map(|(lock, path, principal)| Op::Unlock { lock, path, principal }),
        6 => (path.clone(), 0usize..3, proptest::collection::vec(lock.clone(), 0..3), principal)
            .prop_map(|(path, access, locks, principal)| Op::Write { path, access, locks, principal }),
        2 => (lock, path.clone()).prop_map(|(lock, path)| Op::Find { lock, path }),
        1 => path.clone().prop_map(|path| Op::Covering { path }),
        4 => prop_oneof![8 => 0u32..40, 2 => 40u32..200, 1 => (1u32 << 29)..(1u32 << 30)]
            .prop_map(|ticks| Op::Advance { ticks }),
        1 => Just(Op::NextExpiry),
        1 => Just(Op::Purge),
        1 => path.prop_map(|path| Op::ForceUnlock { path }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (any::<bool>(), 1u16..4).prop_map(|(infinite, quota)| {
        let p = Policy {
            tick_hz: 1,
            default_timeout: Duration(50),
            max_timeout: Duration(100),
            infinite: Timeout::Finite(Duration(100)),
            max_locks_per_principal: quota,
        };
        if infinite { p.with_infinite_locks() } else { p }
    })
}

fn in_set<const P: usize, const O: usize>(c: &Conflict<P, O>, set: &[ModelLock]) -> bool {
    set.iter().any(|l| {
        l.path == c.root.as_str()
            && l.scope == c.scope
            && l.depth == c.depth
            && l.owner == c.owner.as_str()
    })
}

/// One `LOCK`, on the table and on the model.
#[allow(clippy::too_many_arguments)]
fn lock_step(
    table: &mut Table,
    model: &mut Model,
    issued: &mut Vec<LockToken>,
    t: u64,
    now: Instant,
    path: usize,
    shared: bool,
    infinity: bool,
    owner: usize,
    principal: usize,
    timeout: Option<u32>,
) -> Result<(), TestCaseError> {
    let path_s = PATHS[path];
    let path = TPath::new(path_s).unwrap();
    let scope = if shared {
        Scope::Shared
    } else {
        Scope::Exclusive
    };
    let depth = if infinity {
        Depth::Infinity
    } else {
        Depth::Zero
    };
    let principal = PRINCIPALS[principal];
    let timeout = timeout.map(|s| {
        if s == u32::MAX {
            Timeout::Infinite
        } else {
            Timeout::Finite(Duration(s))
        }
    });
    let req = LockRequest {
        path: &path,
        scope,
        depth,
        owner: OWNERS[owner],
        principal,
        timeout,
    };
    let got = table.lock(now, &req);

    let incompatible = |l: &&ModelLock| !scope.compatible_with(l.scope);
    let covering: Vec<ModelLock> = model
        .live(t)
        .filter(|l| l.covers(path_s))
        .filter(incompatible)
        .cloned()
        .collect();
    let below: Vec<ModelLock> = model
        .live(t)
        .filter(|l| depth == Depth::Infinity && is_ancestor(path_s, &l.path))
        .filter(incompatible)
        .cloned()
        .collect();
    let live = model.live(t).count();
    if OWNERS[owner].len() > 8 {
        prop_assert_eq!(got, Err(LockError::OwnerTooLong));
    } else if !covering.is_empty() {
        prop_assert!(
            matches!(&got, Err(LockError::Conflict(c)) if in_set(c, &covering)),
            "{:?}",
            got
        );
    } else if !below.is_empty() {
        prop_assert!(
            matches!(&got, Err(LockError::Conflict(c)) if in_set(c, &below)),
            "{:?}",
            got
        );
    } else if principal.is_some_and(|p| {
        model
            .live(t)
            .filter(|l| l.principal.as_deref() == Some(p))
            .count()
            >= usize::from(model.policy.max_locks_per_principal)
    }) {
        prop_assert_eq!(got, Err(LockError::QuotaExceeded));
    } else if principal.is_some_and(|p| {
        let mut listed: Vec<&str> = model
            .live(t)
            .filter_map(|l| l.principal.as_deref())
            .collect();
        listed.sort_unstable();
        listed.dedup();
        !listed.contains(&p) && listed.len() >= DEFAULT_PRINCIPALS
    }) {
        LIST_FULL.with(|n| n.set(n.get() + 1));
        let retry = model.live(t).filter_map(|l| l.remaining(t).ticks()).min();
        prop_assert_eq!(
            got,
            Err(LockError::TooManyPrincipals { retry_after: retry })
        );
    } else if live >= N {
        let retry = model.live(t).filter_map(|l| l.remaining(t).ticks()).min();
        prop_assert_eq!(got, Err(LockError::TableFull { retry_after: retry }));
    } else {
        let granted = got.map_err(|e| TestCaseError::fail(std::format!("refused: {e:?}")))?;
        prop_assert_eq!(granted.timeout, model.policy.grant(timeout));
        prop_assert!(!issued.contains(&granted.token), "token reused");
        issued.push(granted.token);
        model.locks.push(ModelLock {
            path: path_s.into(),
            scope,
            depth,
            owner: OWNERS[owner].into(),
            principal: principal.map(String::from),
            token: granted.token,
            granted: t,
            timeout: granted.timeout,
        });
    }
    Ok(())
}

fn run(policy: Policy, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut table = Table::new(policy);
    table.seed_tokens([0xc3; 16]);
    let mut model = Model {
        policy,
        locks: Vec::new(),
    };
    let mut issued: Vec<LockToken> = Vec::new();
    let mut t: u64 = 0;
    let mut since_full_purge: u64 = 0;
    let token_of = |issued: &Vec<LockToken>, i: usize| {
        issued
            .get(i)
            .copied()
            .unwrap_or(LockToken::from_bytes([i as u8; 16]))
    };

    for op in ops {
        let now = Instant(START.wrapping_add(t as u32));
        match op {
            Op::Lock {
                path,
                shared,
                infinity,
                owner,
                principal,
                timeout,
            } => lock_step(
                &mut table,
                &mut model,
                &mut issued,
                t,
                now,
                *path,
                *shared,
                *infinity,
                *owner,
                *principal,
                *timeout,
            )?,
            Op::Crowd { path, timeout } => {
                // Every principal in turn asks for a shared lock: the list fills.
                for principal in 1..PRINCIPALS.len() {
                    lock_step(
                        &mut table,
                        &mut model,
                        &mut issued,
                        t,
                        now,
                        *path,
                        true,
                        false,
                        0,
                        principal,
                        *timeout,
                    )?;
                }
            }
            Op::Refresh {
                lock,
                path,
                principal,
                timeout,
            } => {
                let token = token_of(&issued, *lock);
                let principal = PRINCIPALS[*principal];
                let timeout = timeout.map(|s| {
                    if s == u32::MAX {
                        Timeout::Infinite
                    } else {
                        Timeout::Finite(Duration(s))
                    }
                });
                let got = table.refresh(
                    now,
                    &RefreshRequest {
                        principal,
                        timeout,
                        ..RefreshRequest::new(&TPath::new(PATHS[*path]).unwrap(), &token)
                    },
                );
                match model
                    .find(t, PATHS[*path], &token)
                    .map(|l| l.usable_by(principal))
                {
                    None => prop_assert_eq!(got, Err(RefreshError::NoSuchLock)),
                    Some(false) => prop_assert_eq!(got, Err(RefreshError::Forbidden)),
                    Some(true) => {
                        let kept = model.find(t, PATHS[*path], &token).unwrap().timeout;
                        let granted = match timeout {
                            None => kept,
                            Some(_) => model.policy.grant(timeout),
                        };
                        prop_assert_eq!(
                            got,
                            Ok(Granted {
                                token,
                                timeout: granted
                            })
                        );
                        let l = model.locks.iter_mut().find(|l| l.token == token).unwrap();
                        l.granted = t;
                        l.timeout = granted;
                    }
                }
            }
            Op::Unlock {
                lock,
                path,
                principal,
            } => {
                let token = token_of(&issued, *lock);
                let principal = PRINCIPALS[*principal];
                let got = table.unlock(now, &TPath::new(PATHS[*path]).unwrap(), &token, principal);
                match model
                    .find(t, PATHS[*path], &token)
                    .map(|l| l.usable_by(principal))
                {
                    None => prop_assert_eq!(got, Err(UnlockError::NoSuchLock)),
                    Some(false) => prop_assert_eq!(got, Err(UnlockError::Forbidden)),
                    Some(true) => {
                        prop_assert_eq!(got, Ok(()));
                        model.locks.retain(|l| l.token != token);
                    }
                }
            }
            Op::Write {
                path,
                access,
                locks,
                principal,
            } => {
                let access = [Access::Resource, Access::Membership, Access::Subtree][*access];
                let tokens: Vec<LockToken> = locks.iter().map(|&i| token_of(&issued, i)).collect();
                let principal = PRINCIPALS[*principal];
                let got = table.authorize(
                    now,
                    &WriteRequest {
                        principal,
                        ..WriteRequest::new(&TPath::new(PATHS[*path]).unwrap(), access)
                            .tokens(&tokens)
                    },
                );
                let (forbidden, blockers) =
                    model.write_outcome(t, PATHS[*path], access, &tokens, principal);
                if forbidden {
                    prop_assert_eq!(got, Err(WriteError::Forbidden));
                } else if blockers.is_empty() {
                    prop_assert_eq!(got, Ok(()));
                } else {
                    prop_assert!(
                        matches!(&got, Err(WriteError::Locked(c)) if in_set(c, &blockers)),
                        "{:?} vs {:?}",
                        got,
                        blockers
                    );
                    if let Err(WriteError::Locked(c)) = &got {
                        let l = blockers.iter().find(|l| l.path == c.root.as_str()).unwrap();
                        if l.scope == Scope::Exclusive {
                            prop_assert_eq!(c.remaining, l.remaining(t));
                        }
                    }
                }
            }
            Op::Find { lock, path } => {
                let token = token_of(&issued, *lock);
                let got = table.find(now, &TPath::new(PATHS[*path]).unwrap(), &token);
                let want = model.find(t, PATHS[*path], &token);
                prop_assert_eq!(got.is_some(), want.is_some());
                if let (Some(g), Some(w)) = (got, want) {
                    prop_assert_eq!(g.root.as_str(), w.path.as_str());
                    prop_assert_eq!(g.remaining, w.remaining(t));
                    prop_assert_eq!(g.principal, w.principal.as_deref());
                }
            }
            Op::Covering { path } => {
                let path_t = TPath::new(PATHS[*path]).unwrap();
                let mut got: Vec<[u8; 16]> = table
                    .locks_covering(now, &path_t)
                    .map(|l| *l.token.as_bytes())
                    .collect();
                let mut want: Vec<[u8; 16]> = model
                    .live(t)
                    .filter(|l| l.covers(PATHS[*path]))
                    .map(|l| *l.token.as_bytes())
                    .collect();
                got.sort();
                want.sort();
                prop_assert_eq!(got, want);
                prop_assert_eq!(table.len(now), model.live(t).count());
            }
            Op::Advance { ticks } => {
                // The documented contract: purge at least once per 2^31 ticks.
                if since_full_purge + u64::from(*ticks) >= 1 << 31 {
                    table.purge(now);
                    since_full_purge = 0;
                }
                t += u64::from(*ticks);
                since_full_purge += u64::from(*ticks);
            }
            Op::NextExpiry => {
                let want = model.live(t).filter_map(|l| l.remaining(t).ticks()).min();
                prop_assert_eq!(table.next_expiry(now), want);
                since_full_purge = 0;
            }
            Op::Purge => {
                table.purge(now);
                since_full_purge = 0;
                prop_assert_eq!(table.len(now), model.live(t).count());
            }
            Op::ForceUnlock { path } => {
                let want = model.live(t).filter(|l| l.path == PATHS[*path]).count();
                prop_assert_eq!(
                    table.force_unlock(now, &TPath::new(PATHS[*path]).unwrap()),
                    want
                );
                model.locks.retain(|l| l.path != PATHS[*path]);
            }
        }
        model.locks.retain(|l| l.live(t));
        table.check_invariants();
        table.check_order(Instant(START.wrapping_add(t as u32)));
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("LOCKWARDEN_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn the_table_answers_as_the_reference_model(policy in policy(), ops in proptest::collection::vec(op(), 1..80)) {
        run(policy, &ops)?;
    }
}

#[test]
fn the_generated_sequences_fill_the_principal_list() {
    // The list-full rule is compared above only when a sequence gets there: make sure a
    // fixed sample of sequences does.
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig::with_cases(1_000),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let sequences = (policy(), proptest::collection::vec(op(), 1..80));
    runner
        .run(&sequences, |(policy, ops)| run(policy, &ops))
        .unwrap();
    let refused = LIST_FULL.with(core::cell::Cell::get);
    std::println!("lock requests refused for a full principal list in 1,000 sequences: {refused}");
    assert!(refused > 0);
}
