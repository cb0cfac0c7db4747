//! The locks of a fleet of servers in etcd (feature `etcd`): every replica answers `LOCK`,
//! `UNLOCK`, refreshes and write checks against the same locks, decided by the same core
//! rules as a single process.
//!
//! # How a request is decided
//!
//! 1. One range read of the store's lock keys (`{prefix}locks/{token}`) at etcd revision
//!    `R`; the time left of each finite lock is read from its etcd lease.
//! 2. The locks go into a fresh in-memory [`LockTable`] with [`LockTable::restore`], and
//!    the core's [`lockwarden::http::check`] decides the request on it. No rule is
//!    re-derived here.
//! 3. What the check changed (a lock granted, refreshed or released) is written in one
//!    etcd transaction, guarded by: no lock key modified or created after `R`; each key
//!    changed or deleted still at the revision read; a new token's key absent (so tokens
//!    are unique across replicas: a collision fails the transaction). When the guard fails
//!    (another replica changed a lock meanwhile), the read, check and commit start again.
//!
//! A request that changes nothing is decided at revision `R`, which etcd's linearizable
//! read makes the latest at some instant during the request.
//!
//! # Time
//!
//! A finite lock is attached to an etcd lease of its timeout in whole seconds, rounded
//! up, plus one: the lease starts before the transaction that grants the lock, and the
//! extra second keeps the lock from ending before its timeout counted from the grant.
//! etcd enforces a minimum lease time (2 s by default) and extends leases when its
//! leader changes. **etcd's leader clock decides expiry**: a lock ends when its lease
//! does, which is never earlier than its timeout, and may be later (by up to two seconds
//! of rounding, the minimum lease time, or a leader change). The remaining time a
//! replica shows (`Retry-After`, lockdiscovery) is the lease's, plus the second etcd's
//! truncation may hide, at most the granted timeout; it is enforced for as long as the
//! lease lasts. A lock with `Timeout: Infinite` has no lease.
//!
//! # Failure
//!
//! When etcd cannot be reached (or every attempt lost the race to other replicas), the
//! answer is `503` with `Retry-After` and the `lock-store-unavailable` problem type:
//! locks fail closed, a request is never allowed because the locks could not be read.
//! A read without an `If` header consults no lock and is decided without etcd.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, GetOptions, KeyValue, PutOptions, Txn, TxnOp,
    TxnOpResponse,
};
use lockwarden::http::{BodyFormat, Disclosure, Outcome, Refusal, Request};
use lockwarden::{ActiveLock, Depth, LockTable, LockToken, Path, Policy, Scope, Timeout};
use serde_json::{Value, json};

use crate::clock::TICK_HZ;
use crate::manager::{DEFAULT_LOCKS, DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN, LockSnapshot, Table};
use crate::store::{CheckFuture, LockStore};

/// The tick the snapshot tables are read at: any value does, as time there is relative.
const NOW: lockwarden::Instant = lockwarden::Instant(0);
/// Read, check and commit attempts before a request that keeps losing the race to other
/// replicas is answered 503.
const ATTEMPTS: u32 = 24;
/// Requests to a member that cannot be reached, tried again on the next member, before a
/// request is answered 503.
const MEMBER_FAILURES: u32 = 8;
const MEMBER_FAILURE_PAUSE: Duration = Duration::from_millis(20);
/// The `Retry-After` of a 503 when etcd cannot be reached, in seconds.
const RETRY_AFTER_SECS: u32 = 2;

/// A write made in the transaction of its lock check: given the value of its key read
/// with the locks (at the same revision; `None` when absent), its own guards and its
/// operations, or `None` when the application refuses the write after all (it keeps
/// its reason).
pub type GuardedWrite<'a> =
    dyn FnMut(Option<&KeyValue>) -> Option<(Vec<Compare>, Vec<TxnOp>)> + Send + 'a;

/// Why the etcd store could not answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// etcd could not be reached, or refused the operation.
    Etcd(etcd_client::Error),
    /// A lock key holds a value this version cannot read.
    Corrupt {
        /// The key.
        key: String,
    },
    /// Every attempt found that another replica had changed the locks meanwhile.
    Contended,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Etcd(e) => write!(f, "etcd: {e}"),
            StoreError::Corrupt { key } => write!(f, "the lock at {key} cannot be read"),
            StoreError::Contended => f.write_str(
                "other servers kept changing the locks during every attempt of this request",
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<etcd_client::Error> for StoreError {
    fn from(e: etcd_client::Error) -> Self {
        StoreError::Etcd(e)
    }
}

/// Locks kept in etcd under a key prefix, shared by every server that uses the same
/// endpoints and prefix. Capacities as for [`LockTable`]: at most `N` live locks in the
/// store, of at most [`PRINCIPALS`](crate::PRINCIPALS) principals, paths of `P` bytes, owners
/// of `O` bytes (a store that holds more, written by servers with larger capacities,
/// reads as corrupt).
///
/// Cloning is cheap: clones share the connection.
pub struct EtcdLockStore<
    const N: usize = DEFAULT_LOCKS,
    const P: usize = DEFAULT_PATH_LEN,
    const O: usize = DEFAULT_OWNER_LEN,
> {
    members: std::sync::Arc<Members>,
    locks_prefix: String,
    policy: Policy,
    show_owners: std::sync::Arc<AtomicBool>,
}

impl<const N: usize, const P: usize, const O: usize> Clone for EtcdLockStore<N, P, O> {
    fn clone(&self) -> Self {
        EtcdLockStore {
            members: std::sync::Arc::clone(&self.members),
            locks_prefix: self.locks_prefix.clone(),
            policy: self.policy,
            show_owners: std::sync::Arc::clone(&self.show_owners),
        }
    }
}

impl<const N: usize, const P: usize, const O: usize> fmt::Debug for EtcdLockStore<N, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdLockStore")
            .field("locks_prefix", &self.locks_prefix)
            .finish_non_exhaustive()
    }
}

/// A client per etcd member, and the one in use: requests go to one member until it
/// cannot be reached (each member forwards writes to the leader).
struct Members {
    clients: Vec<Client>,
    preferred: AtomicUsize,
}

/// A lock as read from etcd.
struct StoredLock<const P: usize> {
    key: String,
    mod_revision: i64,
    lease: i64,
    root: Path<P>,
    scope: Scope,
    depth: Depth,
    owner: String,
    principal: Option<String>,
    token: LockToken,
    timeout: Timeout,
    remaining: Timeout,
}

impl<const P: usize> StoredLock<P> {
    fn view(&self) -> ActiveLock<'_, P> {
        ActiveLock {
            root: &self.root,
            scope: self.scope,
            depth: self.depth,
            owner: &self.owner,
            principal: self.principal.as_deref(),
            token: self.token,
            timeout: self.timeout,
            remaining: self.remaining,
        }
    }
}

/// The locks read at one etcd revision.
struct Snapshot<const P: usize> {
    revision: i64,
    locks: Vec<StoredLock<P>>,
}

impl<const N: usize, const P: usize, const O: usize> EtcdLockStore<N, P, O> {
    /// Connects to the etcd cluster at `endpoints` (client URLs such as
    /// `http://127.0.0.1:2379`) and keeps the locks under `prefix` (such as
    /// `/lockwarden/`), granted under `policy` (which must count [`TICK_HZ`] ticks per
    /// second). Each etcd request is given `timeout`; beyond it the store counts as
    /// unreachable.
    pub async fn connect(
        endpoints: &[impl AsRef<str>],
        prefix: &str,
        policy: Policy,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let options = ConnectOptions::new()
            .with_timeout(timeout)
            .with_connect_timeout(timeout);
        let mut clients = Vec::new();
        for endpoint in endpoints {
            clients.push(Client::connect([endpoint.as_ref()], Some(options.clone())).await?);
        }
        if clients.is_empty() {
            return Err(StoreError::Etcd(etcd_client::Error::InvalidArgs(
                "no etcd endpoint".into(),
            )));
        }
        Ok(EtcdLockStore {
            members: std::sync::Arc::new(Members {
                clients,
                preferred: AtomicUsize::new(0),
            }),
            locks_prefix: format!("{prefix}locks/"),
            policy,
            show_owners: std::sync::Arc::new(AtomicBool::new(true)),
        })
    }

    /// An etcd client on the member the store talks to now, for the application's own
    /// keys (such as the configuration that guarded writes change). After a failure to
    /// reach it, call [`EtcdLockStore::fail_over`].
    pub fn client(&self) -> Client {
        self.member().1
    }

    /// The member in use and its client.
    fn member(&self) -> (usize, Client) {
        let members = &self.members;
        let index = members.preferred.load(Ordering::Relaxed) % members.clients.len();
        (index, members.clients[index].clone())
    }

    /// Moves on to the next member after `client()` could not reach the current one.
    pub fn fail_over(&self) {
        let (index, _) = self.member();
        self.fail_over_from(index);
    }

    fn fail_over_from(&self, index: usize) {
        // Once per failure seen, however many requests saw it.
        let next = (index + 1) % self.members.clients.len();
        let _ = self.members.preferred.compare_exchange(
            index,
            next,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The policy locks are granted under.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Sets what refusals show of other clients' locks.
    pub fn set_disclosure(&self, disclosure: Disclosure) {
        self.show_owners.store(disclosure.owner, Ordering::Relaxed);
    }

    /// The whole locking outcome of `request`, decided by the core on the locks in etcd,
    /// and its change committed to etcd (see the [module](self) documentation). When
    /// etcd cannot be reached the outcome is a 503 refusal
    /// ([`Refusal::StoreUnavailable`]).
    pub async fn check(&self, request: &Request<'_>) -> Outcome<P, O> {
        match self.decide(request, None).await {
            Ok((outcome, _)) => outcome,
            Err(error) => {
                tracing::warn!(target: "lockwarden", %error, "lock store unavailable");
                unavailable(request)
            }
        }
    }

    /// Like [`EtcdLockStore::check`] for a write, which, when the locks allow it, is made
    /// in the same etcd transaction as the check: `key` is read with the locks, and
    /// `write` gives the guards and the operations of the write from its value. The
    /// transaction succeeds only if no lock changed since that read and the write's own
    /// guards hold, so no write slips in after its lock expired, was released or was
    /// taken over; otherwise the read, check and write start again. Returns the outcome
    /// and, when the write was made, the etcd transaction's answer.
    pub async fn check_and_write(
        &self,
        request: &Request<'_>,
        key: &str,
        write: &mut GuardedWrite<'_>,
    ) -> Result<(Outcome<P, O>, Option<etcd_client::TxnResponse>), StoreError> {
        self.decide(request, Some((key, write))).await
    }

    /// Every live lock, read now.
    pub async fn locks(&self) -> Result<Vec<LockSnapshot<P>>, StoreError> {
        let (snapshot, _) = self.read(None).await?;
        Ok(snapshot
            .locks
            .iter()
            .map(|l| LockSnapshot::of(&l.view()))
            .collect())
    }

    /// The `DAV:lockdiscovery` property of `path` (RFC 4918 §15.8) as `viewer` may see
    /// it: tokens and owners shown as the core allows under the store's disclosure.
    pub async fn lockdiscovery(
        &self,
        path: &Path<P>,
        viewer: Option<&str>,
    ) -> Result<String, StoreError> {
        let (snapshot, _) = self.read(None).await?;
        let table = self.table_of(&snapshot)?;
        let mut xml = String::new();
        let _ = lockwarden::http::write_lockdiscovery(
            &mut xml,
            table.locks_covering(NOW, path),
            TICK_HZ,
            viewer,
            LockStore::disclosure(self),
        );
        Ok(xml)
    }

    async fn decide(
        &self,
        request: &Request<'_>,
        mut write: Option<(&str, &mut GuardedWrite<'_>)>,
    ) -> Result<(Outcome<P, O>, Option<etcd_client::TxnResponse>), StoreError> {
        if request.method.is_read() && request.if_header.is_none() {
            // Such a request consults no lock: the core decides it on an empty table.
            let mut empty = Box::new(LockTable::<N, P, O>::new(self.policy));
            return Ok((lockwarden::http::check(&mut empty, NOW, request), None));
        }
        // Failures to reach a member: the next attempt may go to another.
        let mut failures = 0;
        let mut attempt = 0;
        while attempt < ATTEMPTS {
            if attempt > 0 {
                // Let the replica that won the race finish; spread the retries.
                let jitter = u64::from(random_u32() % 8);
                tokio::time::sleep(Duration::from_millis(2 + jitter * u64::from(attempt))).await;
            }
            attempt += 1;
            let (member, _) = self.member();
            let (snapshot, value) = match self.read(write.as_ref().map(|(key, _)| *key)).await {
                Ok(read) => read,
                // Reading again, on the next member, is harmless.
                Err(StoreError::Etcd(_)) if failures < MEMBER_FAILURES => {
                    self.fail_over_from(member);
                    failures += 1;
                    attempt -= 1;
                    tokio::time::sleep(MEMBER_FAILURE_PAUSE).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut table = self.table_of(&snapshot)?;
            let mut seed = [0u8; 16];
            // Without entropy the table refuses to grant (Unseeded), which is an answer.
            if getrandom::fill(&mut seed).is_ok() {
                table.seed_tokens(seed);
            }
            let outcome = lockwarden::http::check(&mut table, NOW, request);
            let mut guards = vec![
                Compare::mod_revision(
                    self.locks_prefix.as_str(),
                    CompareOp::Less,
                    snapshot.revision + 1,
                )
                .with_prefix(),
            ];
            let mut ops = Vec::new();
            let mut new_leases = Vec::new();
            let mut old_leases = Vec::new();
            let refreshed = match &outcome {
                Outcome::Refreshed { lock } => Some(lock.token),
                _ => None,
            };
            let after: Vec<LockSnapshot<P>> =
                table.locks(NOW).map(|l| LockSnapshot::of(&l)).collect();
            for stored in &snapshot.locks {
                if !after.iter().any(|l| l.token == stored.token) {
                    guards.push(Compare::mod_revision(
                        stored.key.as_str(),
                        CompareOp::Equal,
                        stored.mod_revision,
                    ));
                    ops.push(TxnOp::delete(stored.key.as_str(), None));
                    old_leases.push(stored.lease);
                }
            }
            let mut lease_failed = false;
            for lock in &after {
                let existing = snapshot.locks.iter().find(|s| s.token == lock.token);
                let key = match existing {
                    None => {
                        let key = format!("{}{}", self.locks_prefix, lock.token);
                        guards.push(Compare::create_revision(key.as_str(), CompareOp::Equal, 0));
                        key
                    }
                    Some(stored) if refreshed == Some(lock.token) => {
                        guards.push(Compare::mod_revision(
                            stored.key.as_str(),
                            CompareOp::Equal,
                            stored.mod_revision,
                        ));
                        old_leases.push(stored.lease);
                        stored.key.clone()
                    }
                    Some(_) => continue,
                };
                let mut options = PutOptions::new();
                if let Some(ticks) = lock.timeout.ticks() {
                    // One second more: the lease starts before the grant is committed.
                    let secs = i64::from(ticks.as_secs_ceil(TICK_HZ)) + 1;
                    let lease = match self.client().lease_client().grant(secs, None).await {
                        Ok(lease) => lease.id(),
                        Err(e) => {
                            self.revoke(&new_leases).await;
                            if failures < MEMBER_FAILURES {
                                // A lease granted unanswered only expires unused.
                                self.fail_over_from(member);
                                failures += 1;
                                attempt -= 1;
                                lease_failed = true;
                                break;
                            }
                            return Err(e.into());
                        }
                    };
                    new_leases.push(lease);
                    options = options.with_lease(lease);
                }
                ops.push(TxnOp::put(key, encode(lock), Some(options)));
            }
            if lease_failed {
                tokio::time::sleep(MEMBER_FAILURE_PAUSE).await;
                continue;
            }
            let allowed = outcome.is_allowed();
            if let (true, Some((_, write))) = (allowed, write.as_mut()) {
                let Some((write_guards, write_ops)) = write(value.as_ref()) else {
                    // The application refused the write: nothing of this attempt stays.
                    self.revoke(&new_leases).await;
                    return Ok((outcome, None));
                };
                guards.extend(write_guards);
                ops.extend(write_ops);
            }
            if ops.is_empty() {
                return Ok((outcome, None));
            }
            let committed = self
                .client()
                .kv_client()
                .txn(Txn::new().when(guards).and_then(ops))
                .await;
            let committed = match committed {
                Ok(response) => response,
                Err(e) => {
                    self.revoke(&new_leases).await;
                    // Only a transaction that never left this process may be tried again:
                    // any other may have been applied.
                    if never_sent(&e) && failures < MEMBER_FAILURES {
                        self.fail_over_from(member);
                        failures += 1;
                        attempt -= 1;
                        tokio::time::sleep(MEMBER_FAILURE_PAUSE).await;
                        continue;
                    }
                    return Err(e.into());
                }
            };
            if committed.succeeded() {
                // The keys left these leases when they were deleted or put again.
                self.revoke(&old_leases).await;
                return Ok((outcome, allowed.then_some(committed)));
            }
            self.revoke(&new_leases).await;
        }
        Err(StoreError::Contended)
    }

    /// Revokes leases no key needs any more; a failure leaves them to expire.
    async fn revoke(&self, leases: &[i64]) {
        for &lease in leases.iter().filter(|&&l| l != 0) {
            let _ = self.client().lease_client().revoke(lease).await;
        }
    }

    /// One range read of the lock keys (and of `extra`, at the same revision), and the
    /// time left of each lease.
    async fn read(
        &self,
        extra: Option<&str>,
    ) -> Result<(Snapshot<P>, Option<KeyValue>), StoreError> {
        let locks = TxnOp::get(
            self.locks_prefix.as_str(),
            Some(GetOptions::new().with_prefix()),
        );
        let mut reads = vec![locks];
        reads.extend(extra.map(|key| TxnOp::get(key, None)));
        let answer = self
            .client()
            .kv_client()
            .txn(Txn::new().and_then(reads))
            .await?;
        let revision = answer.header().map_or(0, |h| h.revision());
        let mut gets = answer.op_responses().into_iter().filter_map(|r| match r {
            TxnOpResponse::Get(get) => Some(get),
            _ => None,
        });
        let Some(response) = gets.next() else {
            return Err(StoreError::Corrupt {
                key: self.locks_prefix.clone(),
            });
        };
        let value = gets.next().and_then(|get| get.kvs().first().cloned());
        let mut locks = Vec::with_capacity(response.kvs().len());
        // In the order they were granted, so that the table lists them (and picks which
        // conflict to report) as the table that granted them would.
        let mut kvs: Vec<_> = response.kvs().iter().collect();
        kvs.sort_by_key(|kv| kv.create_revision());
        for kv in kvs {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let Some(mut lock) = decode::<P>(kv.value()) else {
                return Err(StoreError::Corrupt { key });
            };
            if kv.lease() != 0 {
                let ttl = self
                    .client()
                    .lease_client()
                    .time_to_live(kv.lease(), None)
                    .await?
                    .ttl();
                if ttl < 0 {
                    // The lease has expired; etcd is deleting the key.
                    continue;
                }
                // etcd truncates the seconds left: the lease may live one more.
                let left = lockwarden::Duration::from_secs(ttl as u64 + 1, TICK_HZ);
                lock.remaining = match lock.timeout {
                    Timeout::Finite(t) => Timeout::Finite(lockwarden::Duration(left.0.min(t.0))),
                    Timeout::Infinite => Timeout::Finite(left),
                };
            }
            lock.key = key;
            lock.mod_revision = kv.mod_revision();
            lock.lease = kv.lease();
            locks.push(lock);
        }
        // Leases tell whole seconds. Of locks with the same seconds left, the one granted
        // or refreshed later (a higher revision) expires later, as in the table that
        // granted them: a millisecond less for each such later one keeps that order.
        let seconds: Vec<(Timeout, i64)> = locks
            .iter()
            .map(|l| (l.remaining, l.mod_revision))
            .collect();
        for lock in &mut locks {
            if let Timeout::Finite(left) = lock.remaining {
                let later = seconds
                    .iter()
                    .filter(|&&(r, m)| r == lock.remaining && m > lock.mod_revision)
                    .count();
                let later = u32::try_from(later).unwrap_or(u32::MAX);
                lock.remaining =
                    Timeout::Finite(lockwarden::Duration(left.0.saturating_sub(later).max(1)));
            }
        }
        Ok((Snapshot { revision, locks }, value))
    }

    /// A table holding the snapshot's locks, for the core to decide on.
    fn table_of(&self, snapshot: &Snapshot<P>) -> Result<Box<Table<N, P, O>>, StoreError> {
        let mut table = Box::new(LockTable::new(self.policy));
        for lock in &snapshot.locks {
            table
                .restore(NOW, &lock.view())
                .map_err(|_| StoreError::Corrupt {
                    key: lock.key.clone(),
                })?;
        }
        Ok(table)
    }
}

impl<const N: usize, const P: usize, const O: usize> LockStore<P, O> for EtcdLockStore<N, P, O> {
    fn check<'a>(&'a self, request: &'a Request<'a>) -> CheckFuture<'a, P, O> {
        Box::pin(EtcdLockStore::check(self, request))
    }

    fn disclosure(&self) -> Disclosure {
        Disclosure {
            owner: self.show_owners.load(Ordering::Relaxed),
        }
    }
}

/// The 503 a request gets while the store cannot decide it.
fn unavailable<const P: usize, const O: usize>(request: &Request<'_>) -> Outcome<P, O> {
    Outcome::Refused {
        refusal: Refusal::StoreUnavailable {
            retry_after_secs: RETRY_AFTER_SECS,
        },
        format: BodyFormat::negotiate(request.method, request.accept),
    }
}

/// Whether a request failed before any member could have received it (no connection).
fn never_sent(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::GRpcStatus(status) => {
            status.code() == tonic::Code::Unavailable && status.message() == "tcp connect error"
        }
        _ => false,
    }
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// The stored form of a lock: JSON, its timeout in ticks (`null` for infinite).
fn encode<const P: usize>(lock: &LockSnapshot<P>) -> String {
    json!({
        "root": lock.root.as_str(),
        "scope": lock.scope.as_str(),
        "depth": lock.depth.as_str(),
        "owner": lock.owner,
        "principal": lock.principal,
        "token": lock.token.to_string(),
        "timeoutTicks": lock.timeout.ticks().map(|t| t.0),
    })
    .to_string()
}

fn decode<const P: usize>(bytes: &[u8]) -> Option<StoredLock<P>> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let root = Path::new(value.get("root")?.as_str()?).ok()?;
    let scope = match value.get("scope")?.as_str()? {
        "exclusive" => Scope::Exclusive,
        "shared" => Scope::Shared,
        _ => return None,
    };
    let depth = match value.get("depth")?.as_str()? {
        "0" => Depth::Zero,
        "infinity" => Depth::Infinity,
        _ => return None,
    };
    let timeout = match value.get("timeoutTicks")? {
        Value::Null => Timeout::Infinite,
        ticks => Timeout::Finite(lockwarden::Duration(u32::try_from(ticks.as_u64()?).ok()?)),
    };
    Some(StoredLock {
        key: String::new(),
        mod_revision: 0,
        lease: 0,
        root,
        scope,
        depth,
        owner: value.get("owner")?.as_str()?.to_owned(),
        principal: match value.get("principal")? {
            Value::Null => None,
            p => Some(p.as_str()?.to_owned()),
        },
        token: LockToken::parse(value.get("token")?.as_str()?).ok()?,
        timeout,
        remaining: timeout,
    })
}
