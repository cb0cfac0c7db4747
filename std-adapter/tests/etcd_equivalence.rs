//! The etcd lock store against the in-memory manager, on a real etcd process: the same
//! random requests get the same answers, conflicting locks are granted once however
//! many servers race for them, and a store that cannot reach etcd fails closed.
#![cfg(feature = "etcd")]

mod etcd;

use std::sync::Arc;
use std::time::Duration;

use lockwarden::http::{Method, Outcome, Request};
use lockwarden::{LockToken, Policy, Scope};
use lockwarden_std::etcd::EtcdLockStore;
use lockwarden_std::{LockManager, TICK_HZ};

use etcd::EtcdCluster;

/// Few slots, so that a full table is among the answers compared.
const SLOTS: usize = 8;
type Manager = LockManager<SLOTS, 128, 256>;
type Store = EtcdLockStore<SLOTS, 128, 256>;
type Answer = Outcome<128, 256>;

const PATHS: &[&str] = &["/", "/a", "/a/b", "/a/b/c", "/a/c", "/b"];
const PRINCIPALS: &[Option<&str>] = &[None, Some("alice"), Some("bob")];

fn policy() -> Policy {
    Policy::new(TICK_HZ)
        .with_default_timeout_secs(3600)
        .with_max_timeout_secs(7200)
        .with_max_locks_per_principal(3)
}

async fn store(cluster: &EtcdCluster, prefix: &str) -> Store {
    EtcdLockStore::connect(
        &cluster.endpoints(),
        prefix,
        policy(),
        Duration::from_secs(2),
    )
    .await
    .expect("connected to etcd")
}

/// A small deterministic generator, so that a failing sequence can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A lock granted on both sides: its token in memory and in etcd.
#[derive(Clone, Copy)]
struct Held {
    memory: LockToken,
    etcd: LockToken,
}

/// One random request, as header values owned by the caller.
struct Step {
    method: Method,
    path: &'static str,
    principal: Option<&'static str>,
    exists: bool,
    lockinfo: Option<(Scope, String)>,
    depth: Option<&'static str>,
    timeout: Option<&'static str>,
    /// Indices into the held locks, and whether to name them in `If` or `Lock-Token`.
    tokens: Vec<usize>,
    destination: Option<&'static str>,
}

fn random_step(rng: &mut Rng, held: usize) -> Step {
    let mut tokens = Vec::new();
    if held > 0 {
        for _ in 0..rng.below(3) {
            tokens.push(rng.below(held));
        }
    }
    let path = *rng.pick(PATHS);
    let principal = *rng.pick(PRINCIPALS);
    let mut step = Step {
        method: Method::Put,
        path,
        principal,
        exists: rng.below(4) != 0,
        lockinfo: None,
        depth: None,
        timeout: None,
        tokens,
        destination: None,
    };
    match rng.below(10) {
        0..=3 => {
            step.method = Method::Lock;
            let scope = if rng.below(2) == 0 {
                Scope::Exclusive
            } else {
                Scope::Shared
            };
            step.lockinfo = Some((scope, format!("owner-{}", rng.below(100))));
            step.depth = *rng.pick(&[None, Some("0"), Some("infinity")]);
            step.timeout = *rng.pick(&[None, Some("Second-1800"), Some("Infinite")]);
            step.tokens.truncate(1);
        }
        4 => {
            // A refresh: LOCK without body, the token in If.
            step.method = Method::Lock;
            step.timeout = *rng.pick(&[None, Some("Second-2000")]);
            step.tokens.truncate(1);
        }
        5 => {
            step.method = Method::Unlock;
            step.tokens.truncate(1);
        }
        6 => step.method = Method::Delete,
        7 => {
            step.method = Method::Move;
            step.destination = Some(*rng.pick(PATHS));
        }
        _ => {}
    }
    step
}

/// The answer without what legitimately differs between two stores: tokens, and the
/// remaining seconds (compared separately, within a tolerance).
fn describe(answer: &Answer) -> String {
    match answer {
        Outcome::Allowed => "allowed".into(),
        Outcome::Granted { lock, created } => format!(
            "granted {} {} {} {:?} {:?} created={created}",
            lock.root, lock.scope, lock.depth, lock.owner, lock.timeout
        ),
        Outcome::Refreshed { lock } => {
            format!("refreshed {} {:?}", lock.root, lock.timeout)
        }
        Outcome::Unlocked => "unlocked".into(),
        Outcome::Refused { refusal, format } => {
            let meaning = refusal.meaning();
            let lock = refusal
                .lock()
                .map(|l| format!(" {} {} {} {:?}", l.root, l.scope, l.depth, l.owner))
                .unwrap_or_default();
            format!(
                "refused {} {} {format:?}{lock}",
                meaning.status, meaning.problem
            )
        }
        other => format!("{other:?}"),
    }
}

fn retry_after(answer: &Answer) -> Option<u32> {
    match answer {
        Outcome::Refused { refusal, .. } => refusal.retry_after(),
        _ => None,
    }
}

fn token_of(answer: &Answer) -> Option<LockToken> {
    match answer {
        Outcome::Granted { lock, .. } => Some(lock.token),
        _ => None,
    }
}

/// Runs `step` on one side, with that side's tokens.
fn request<'a>(step: &'a Step, if_value: &'a str, lock_token: &'a str) -> Request<'a> {
    let mut request = Request::new(step.method, step.path.as_bytes()).resource(step.exists, None);
    if let Some(p) = step.principal {
        request = request.principal(p);
    }
    if let Some((scope, owner)) = &step.lockinfo {
        request = request.lockinfo(*scope, owner);
    }
    if let Some(depth) = step.depth {
        request = request.header("Depth", depth.as_bytes());
    }
    if let Some(timeout) = step.timeout {
        request = request.header("Timeout", timeout.as_bytes());
    }
    if let Some(destination) = step.destination {
        request = request.header("Destination", destination.as_bytes());
    }
    if !if_value.is_empty() {
        request = request.header("If", if_value.as_bytes());
    }
    if !lock_token.is_empty() {
        request = request.header("Lock-Token", lock_token.as_bytes());
    }
    request
}

/// The `If` and `Lock-Token` values of `step` with the tokens of one side.
fn token_headers(step: &Step, tokens: &[LockToken]) -> (String, String) {
    let named: Vec<LockToken> = step.tokens.iter().map(|&i| tokens[i]).collect();
    let if_value = match step.method {
        Method::Unlock => String::new(),
        _ if named.is_empty() => String::new(),
        _ => named
            .iter()
            .map(|t| format!("(<{t}>)"))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let lock_token = match (step.method, named.first()) {
        (Method::Unlock, Some(t)) => format!("<{t}>"),
        _ => String::new(),
    };
    (if_value, lock_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_get_the_same_answers_in_memory_and_on_etcd() {
    let cluster = EtcdCluster::start(1);
    // More with LOCKWARDEN_ETCD_SEQUENCES=200.
    let sequences: u64 = std::env::var("LOCKWARDEN_ETCD_SEQUENCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let mut compared = 0;
    let mut statuses = std::collections::BTreeSet::new();
    for seed in 1..=sequences {
        let memory = Manager::new(policy()).unwrap();
        let store = store(&cluster, &format!("/equivalence/{seed}/")).await;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut held: Vec<Held> = Vec::new();
        for step_no in 0..60 {
            let step = random_step(&mut rng, held.len());
            let memory_tokens: Vec<LockToken> = held.iter().map(|h| h.memory).collect();
            let etcd_tokens: Vec<LockToken> = held.iter().map(|h| h.etcd).collect();
            let (m_if, m_token) = token_headers(&step, &memory_tokens);
            let (e_if, e_token) = token_headers(&step, &etcd_tokens);
            let in_memory = memory.check(&request(&step, &m_if, &m_token));
            let on_etcd = store.check(&request(&step, &e_if, &e_token)).await;
            let context = format!(
                "seed {seed}, step {step_no}: {} {} by {:?}, If {m_if:?}, Lock-Token {m_token:?}",
                step.method, step.path, step.principal
            );
            assert_eq!(describe(&in_memory), describe(&on_etcd), "{context}");
            statuses.insert(in_memory.status().0);
            match (retry_after(&in_memory), retry_after(&on_etcd)) {
                (Some(a), Some(b)) => assert!(a.abs_diff(b) <= 2, "{context}: {a} s vs {b} s"),
                (a, b) => assert_eq!(a, b, "{context}"),
            }
            if let (Some(m), Some(e)) = (token_of(&in_memory), token_of(&on_etcd)) {
                held.push(Held { memory: m, etcd: e });
            }
            compared += 1;
        }
        // The same locks are left on both sides.
        let mut left_in_memory: Vec<String> = memory
            .locks()
            .iter()
            .map(|l| format!("{} {} {} {}", l.root, l.scope, l.depth, l.owner))
            .collect();
        let mut left_on_etcd: Vec<String> = store
            .locks()
            .await
            .unwrap()
            .iter()
            .map(|l| format!("{} {} {} {}", l.root, l.scope, l.depth, l.owner))
            .collect();
        left_in_memory.sort();
        left_on_etcd.sort();
        assert_eq!(left_in_memory, left_on_etcd, "seed {seed}: locks left");
    }
    assert_eq!(compared, sequences * 60);
    // The sequences reach grants, refreshes, releases and the main refusals.
    for status in [200, 201, 204, 403, 409, 412, 423] {
        assert!(statuses.contains(&status), "no {status} among {statuses:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_servers_racing_for_one_exclusive_lock_exactly_one_gets_it() {
    let cluster = EtcdCluster::start(1);
    // Each task is a server of its own, with its own connection.
    let mut servers = Vec::new();
    for _ in 0..8 {
        servers.push(Arc::new(store(&cluster, "/race/").await));
    }
    for round in 0..5 {
        let path: &'static str = Box::leak(format!("/section{round}").into_boxed_str());
        let tasks: Vec<_> = servers
            .iter()
            .map(|server| {
                let server = Arc::clone(server);
                tokio::spawn(async move {
                    let request = Request::new(Method::Lock, path.as_bytes())
                        .lockinfo(Scope::Exclusive, "racer")
                        .header("Depth", b"0");
                    server.check(&request).await
                })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Outcome::Granted { .. } => granted += 1,
                Outcome::Refused { refusal, .. } => {
                    assert_eq!(refusal.meaning().status, 423, "round {round}: {refusal:?}")
                }
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(granted, 1, "round {round}");
    }
    let locks = servers[0].locks().await.unwrap();
    assert_eq!(locks.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_granted_by_one_server_blocks_a_write_on_another_and_its_token_unlocks_there() {
    let cluster = EtcdCluster::start(1);
    let a = store(&cluster, "/two-servers/").await;
    let b = store(&cluster, "/two-servers/").await;
    let lock = Request::new(Method::Lock, b"/config")
        .lockinfo(Scope::Exclusive, "alice's laptop")
        .principal("alice");
    let Outcome::Granted { lock: held, .. } = a.check(&lock).await else {
        panic!("not granted")
    };
    let put = Request::new(Method::Put, b"/config/wifi");
    assert_eq!(b.check(&put).await.status().0, 423);
    let if_value = format!("(<{}>)", held.token);
    let with_token = put.header("If", if_value.as_bytes());
    assert_eq!(b.check(&with_token.principal("bob")).await.status().0, 403);
    assert!(b.check(&with_token.principal("alice")).await.is_allowed());
    let lock_token = format!("<{}>", held.token);
    let unlock =
        Request::new(Method::Unlock, b"/config").header("Lock-Token", lock_token.as_bytes());
    assert_eq!(b.check(&unlock.principal("bob")).await.status().0, 403);
    assert!(matches!(
        b.check(&unlock.principal("alice")).await,
        Outcome::Unlocked
    ));
    assert!(a.check(&put).await.is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lock_taken_on_one_server_stops_blocking_on_another_once_its_lease_ends() {
    let cluster = EtcdCluster::start(1);
    let a = store(&cluster, "/expiry/").await;
    let b = store(&cluster, "/expiry/").await;
    let lock = Request::new(Method::Lock, b"/config/time")
        .lockinfo(Scope::Exclusive, "brief")
        .header("Timeout", b"Second-2");
    assert!(matches!(a.check(&lock).await, Outcome::Granted { .. }));
    let put = Request::new(Method::Put, b"/config/time");
    let refused = b.check(&put).await;
    assert_eq!(refused.status().0, 423);
    // Never early: the lease lasts at least the timeout.
    let retry = retry_after(&refused).unwrap();
    assert!((2..=3).contains(&retry), "Retry-After {retry}");
    let started = std::time::Instant::now();
    loop {
        if b.check(&put).await.is_allowed() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lock never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "ended early"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_etcd_locks_and_writes_fail_closed_with_503_and_reads_without_if_are_served() {
    let mut cluster = EtcdCluster::start(1);
    let store = store(&cluster, "/closed/").await;
    let lock = Request::new(Method::Lock, b"/config").lockinfo(Scope::Exclusive, "x");
    assert!(matches!(store.check(&lock).await, Outcome::Granted { .. }));
    cluster.kill(0);
    for request in [
        lock,
        Request::new(Method::Put, b"/config/wifi"),
        Request::new(Method::Unlock, b"/config").header(
            "Lock-Token",
            b"<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>",
        ),
        Request::new(Method::Get, b"/config")
            .header("If", b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)"),
    ] {
        let outcome = store.check(&request).await;
        let Outcome::Refused { refusal, .. } = &outcome else {
            panic!("{} answered {outcome:?}", request.method)
        };
        let meaning = refusal.meaning();
        assert_eq!(
            (meaning.status, meaning.problem),
            (503, "lock-store-unavailable")
        );
        assert!(refusal.retry_after().is_some_and(|s| s > 0));
    }
    assert!(
        store
            .check(&Request::new(Method::Get, b"/config"))
            .await
            .is_allowed()
    );
    // Back up: the lock granted before is still there.
    cluster.restart(0);
    let put = Request::new(Method::Put, b"/config/wifi");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = store.check(&put).await.status().0;
        if status == 423 {
            break;
        }
        assert_eq!(status, 503);
        assert!(std::time::Instant::now() < deadline, "etcd never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_keeps_deciding_when_one_member_of_three_is_killed() {
    let mut cluster = EtcdCluster::start(3);
    let store = store(&cluster, "/member-killed/").await;
    let lock = Request::new(Method::Lock, b"/config").lockinfo(Scope::Exclusive, "x");
    let Outcome::Granted { lock: held, .. } = store.check(&lock).await else {
        panic!("not granted")
    };
    for member in 0..3 {
        cluster.kill(member);
        let started = std::time::Instant::now();
        let mut answers = Vec::new();
        for _ in 0..20 {
            answers.push(
                store
                    .check(&Request::new(Method::Put, b"/config/x"))
                    .await
                    .status()
                    .0,
            );
        }
        eprintln!(
            "member {member} killed: {answers:?} in {:?}",
            started.elapsed()
        );
        assert!(
            answers.iter().filter(|&&s| s == 423).count() >= 15,
            "{answers:?}"
        );
        cluster.restart(member);
    }
    let token = format!("<{}>", held.token);
    let unlock = Request::new(Method::Unlock, b"/config").header("Lock-Token", token.as_bytes());
    assert!(matches!(store.check(&unlock).await, Outcome::Unlocked));
}
