//! Several replicas of the server, one store (feature `etcd`, `--etcd ENDPOINTS`): the
//! locks and the configuration document live in etcd under a prefix, so a lock granted
//! by one replica blocks a write arriving at another.
//!
//! - Keys: `{prefix}locks/{token}` (see `lockwarden_std::etcd`), `{prefix}config` (the
//!   whole document, as the file store keeps it).
//! - Every request first reads the document (one etcd read), so every replica serves the
//!   same bytes and ETags. When etcd cannot be reached every request, reads included,
//!   gets 503 `lock-store-unavailable`: no replica serves a copy that may be stale.
//! - A write (`PUT`, `PATCH`) is checked against the locks and stored in one etcd
//!   transaction, guarded by the revision of every lock read and of the document read:
//!   no write lands after its lock expired, was released or was taken over, and no
//!   concurrent change is overwritten.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use etcd_client::{Compare, CompareOp, KeyValue, Txn, TxnOp};
use lockwarden::Policy;
use lockwarden::http::{BodyFormat, Method, Outcome, Refusal, Request};
use lockwarden_std::etcd::{EtcdLockStore, StoreError};

use crate::commit::Changes;
use crate::config::ConfigDocument;
use crate::locking::LockOutcome;
use crate::problem::Problem;

/// How long one etcd request may take before the store counts as unreachable.
const ETCD_TIMEOUT: Duration = Duration::from_secs(2);
/// The `Retry-After` of a 503 while etcd cannot be reached, in seconds.
const RETRY_AFTER_SECS: u32 = 2;

/// The shared store of a fleet of replicas.
#[derive(Debug)]
pub struct Fleet {
    pub(crate) store: Arc<EtcdLockStore>,
    document_key: String,
    /// The etcd revision of the document this replica holds, to skip re-parsing it.
    synced: AtomicI64,
}

impl Fleet {
    /// Connects to etcd at `endpoints` (comma-separated client URLs) and, when the store
    /// has no document yet under `prefix`, puts `initial` there.
    pub async fn connect(
        endpoints: &str,
        prefix: &str,
        policy: Policy,
        initial: &ConfigDocument,
    ) -> Result<Fleet, StoreError> {
        let endpoints: Vec<&str> = endpoints
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        let store = EtcdLockStore::connect(&endpoints, prefix, policy, ETCD_TIMEOUT).await?;
        let document_key = format!("{prefix}config");
        // The first replica to start stores the initial document; the others use it.
        store
            .client()
            .kv_client()
            .txn(
                Txn::new()
                    .when([Compare::create_revision(
                        document_key.as_str(),
                        CompareOp::Equal,
                        0,
                    )])
                    .and_then([TxnOp::put(document_key.as_str(), initial.to_json(), None)]),
            )
            .await?;
        Ok(Fleet {
            store: Arc::new(store),
            document_key,
            synced: AtomicI64::new(0),
        })
    }

    /// Reads the document from etcd into `changes`, if it changed since the last read.
    pub async fn sync(&self, changes: &Changes) -> Result<(), StoreError> {
        let mut tries = 0;
        let response = loop {
            match self
                .store
                .client()
                .kv_client()
                .get(self.document_key.as_str(), None)
                .await
            {
                Ok(response) => break response,
                // A read may go to the next member.
                Err(_) if tries < 3 => {
                    tries += 1;
                    self.store.fail_over();
                }
                Err(e) => return Err(e.into()),
            }
        };
        let Some(kv) = response.kvs().first() else {
            return Err(StoreError::Corrupt {
                key: self.document_key.clone(),
            });
        };
        self.adopt(kv, changes)
    }

    fn adopt(&self, kv: &KeyValue, changes: &Changes) -> Result<(), StoreError> {
        if self.synced.load(Ordering::Acquire) == kv.mod_revision() {
            return Ok(());
        }
        let document = ConfigDocument::from_json(kv.value()).map_err(|_| StoreError::Corrupt {
            key: self.document_key.clone(),
        })?;
        changes.adopt(document);
        self.synced.store(kv.mod_revision(), Ordering::Release);
        Ok(())
    }

    /// Checks `request` against the locks and, when they allow it, applies `edit` to the
    /// document and stores it, all in one etcd transaction (retried from the read when
    /// another replica changed a lock or the document meanwhile). The outcome is the
    /// lock check's; `Ok(answer)` is `edit`'s when it was stored.
    pub async fn edit<T>(
        &self,
        request: &Request<'_>,
        mut edit: impl FnMut(&mut ConfigDocument) -> Result<T, Problem> + Send,
    ) -> (LockOutcome, Result<Option<T>, Problem>)
    where
        T: Send,
    {
        let key = self.document_key.clone();
        let mut answer: Result<Option<T>, Problem> = Ok(None);
        let mut write = |kv: Option<&KeyValue>| {
            let Some(kv) = kv else {
                answer = Err(Problem::storage_failed(
                    "the configuration is missing in etcd",
                ));
                return None;
            };
            let mut document = match ConfigDocument::from_json(kv.value()) {
                Ok(document) => document,
                Err(e) => {
                    answer = Err(Problem::storage_failed(e));
                    return None;
                }
            };
            match edit(&mut document) {
                Ok(value) => answer = Ok(Some(value)),
                Err(problem) => {
                    answer = Err(problem);
                    return None;
                }
            }
            let guard = Compare::mod_revision(key.as_str(), CompareOp::Equal, kv.mod_revision());
            let put = TxnOp::put(key.as_str(), document.to_json(), None);
            Some((vec![guard], vec![put]))
        };
        let decided = self
            .store
            .check_and_write(request, &self.document_key, &mut write)
            .await;
        match decided {
            Ok((outcome, Some(_))) => (outcome, answer),
            Ok((outcome, None)) => match answer {
                // Refused by the locks, or by the edit itself.
                Ok(_) => (outcome, Ok(None)),
                Err(problem) => (outcome, Err(problem)),
            },
            Err(error) => {
                tracing::warn!(%error, "lock store unavailable");
                (unavailable(request), Ok(None))
            }
        }
    }
}

/// The 503 of a request that the store cannot decide now.
pub(crate) fn unavailable(request: &Request<'_>) -> LockOutcome {
    Outcome::Refused {
        refusal: Refusal::StoreUnavailable {
            retry_after_secs: RETRY_AFTER_SECS,
        },
        format: BodyFormat::negotiate(request.method, request.accept),
    }
}

/// Reads the document from etcd before the request is served; 503 when etcd cannot be
/// reached.
pub(crate) async fn sync_document(
    axum::extract::State(app): axum::extract::State<Arc<crate::App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(fleet) = &app.fleet
        && let Err(error) = fleet.sync(&app.changes).await
    {
        tracing::warn!(%error, "configuration store unavailable");
        let method = Method::parse(request.method().as_str().as_bytes());
        let accept = request
            .headers()
            .get(axum::http::header::ACCEPT)
            .map(|v| v.as_bytes());
        let outcome = unavailable(&Request {
            accept,
            ..Request::new(method, b"/")
        });
        return lockwarden_std::LockResponse::new(outcome, Default::default()).into_response();
    }
    next.run(request).await
}

/// The 503 of a request that needed etcd, which cannot be reached.
pub(crate) fn unavailable_response(
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    error: &StoreError,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::warn!(%error, "lock store unavailable");
    let method = Method::parse(method.as_str().as_bytes());
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .map(|v| v.as_bytes());
    let outcome = unavailable(&Request {
        accept,
        ..Request::new(method, b"/")
    });
    lockwarden_std::LockResponse::new(outcome, Default::default()).into_response()
}

impl Fleet {
    /// Creates the empty section `name` that a granted `LOCK` on its unmapped URL
    /// created (RFC 4918 §7.3). When it cannot be stored, the lock is released again.
    pub(crate) async fn create_section(
        &self,
        app: &crate::App,
        name: &str,
        granted: &LockOutcome,
        principal: Option<&lockwarden_std::Principal>,
    ) -> Result<(), Problem> {
        let created = self.try_create_section(app, name).await;
        if created.is_err()
            && let Outcome::Granted { lock, .. } = granted
        {
            let token = format!("<{}>", lock.token);
            let path = lock.root.as_str().to_owned();
            let mut unlock = Request::new(Method::Unlock, path.as_bytes())
                .header("Lock-Token", token.as_bytes());
            if let Some(principal) = principal {
                unlock = unlock.principal(principal.as_str());
            }
            let _ = self.store.check(&unlock).await;
        }
        created
    }

    async fn try_create_section(&self, app: &crate::App, name: &str) -> Result<(), Problem> {
        for _ in 0..16 {
            let mut kv = self.store.client().kv_client();
            let response = kv
                .get(self.document_key.as_str(), None)
                .await
                .map_err(Problem::storage_failed)?;
            let Some(current) = response.kvs().first() else {
                return Err(Problem::storage_failed(
                    "the configuration is missing in etcd",
                ));
            };
            let mut document =
                ConfigDocument::from_json(current.value()).map_err(Problem::storage_failed)?;
            match document.create_empty(name, &app.store_limits) {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(e) => return Err(Problem::edit_refused(name, &e)),
            }
            let txn = Txn::new()
                .when([Compare::mod_revision(
                    self.document_key.as_str(),
                    CompareOp::Equal,
                    current.mod_revision(),
                )])
                .and_then([TxnOp::put(
                    self.document_key.as_str(),
                    document.to_json(),
                    None,
                )]);
            if kv
                .txn(txn)
                .await
                .map_err(Problem::storage_failed)?
                .succeeded()
            {
                return Ok(());
            }
        }
        Err(Problem::storage_failed(
            "the configuration kept changing on other replicas",
        ))
    }
}
