//! config-server: a device-configuration HTTP API that refuses conflicting edits with
//! `423 Locked`.
//!
//! The configuration is a JSON document of sections (`/config/network`, `/config/wifi`,
//! ...). Clients read them with ETags, replace them with `PUT` and merge into them with
//! `PATCH` (RFC 7396). Before editing, a client takes a lock, either the WebDAV way
//! (`LOCK`/`UNLOCK`, RFC 4918) or the JSON way (`POST`/`DELETE` on
//! `/config/{section}/lock`), and sends the token with its writes as `If: (<token>)`.
//! Every locking decision is made by the lockwarden lock table.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use config_server::{App, Settings};
//! let app = App::open(Settings::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! config_server::serve(listener, app, config_server::shutdown_signal()?).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod commit;
pub mod config;
#[cfg(feature = "etcd")]
pub mod fleet;
mod locking;
pub mod options;
pub mod problem;
mod routes;
mod settings_page;
pub mod storage;

use std::future::Future;
use std::sync::Arc;

use lockwarden_std::LockManager;
use tokio::net::TcpListener;

use crate::auth::{Users, UsersFileError};
use crate::commit::Changes;
use crate::config::{ConfigDocument, DocumentError, RenderedDocument};
use crate::options::ServerOptions;
use crate::storage::{Storage, StorageError};

/// How an [`App`] is built.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The command-line options.
    pub options: ServerOptions,
    /// Test switch, `true` only to demonstrate what locks prevent: writes are then not
    /// checked against locks, and JSON lock requests are granted as shared locks, so
    /// that they never exclude each other. The binary never sets it.
    pub enforcement_disabled: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory or its document could not be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The embedded default document is broken (a build defect).
    #[error("the embedded default configuration is invalid: {0}")]
    EmbeddedDefault(#[from] DocumentError),
    /// The users file could not be used.
    #[error(transparent)]
    Users(#[from] UsersFileError),
    /// The lock table could not be set up.
    #[error("lock table: {0}")]
    Locks(#[from] lockwarden_std::ManagerError),
    /// The thread that expires locks could not be started.
    #[error("cannot start the lock expiry thread: {0}")]
    Purger(std::io::Error),
    /// The fleet's etcd store could not be used.
    #[cfg(feature = "etcd")]
    #[error("etcd: {0}")]
    Etcd(#[from] lockwarden_std::etcd::StoreError),
}

/// The server's state: the configuration, its storage, the lock table and the users.
#[derive(Debug)]
pub struct App {
    // The configuration and its durable changes. (Locks against writes are the lock
    // layer's business: it holds new locks back until an admitted write is stored.)
    changes: Changes,
    locks: LockManager,
    users: Option<Users>,
    enforce_locks: bool,
    /// Bounds on the stored document.
    store_limits: crate::config::StoreLimits,
    /// The time limit on request headers.
    header_timeout: std::time::Duration,
    /// How much of a request body is read, and for how long.
    body_limits: lockwarden_std::BodyLimits,
    // Removes locks as they expire, so that each expiry is logged when it happens.
    _purger: lockwarden_std::Purger,
    /// With `--etcd`: the store of the locks and the document, shared with other replicas.
    #[cfg(feature = "etcd")]
    fleet: Option<fleet::Fleet>,
}

impl App {
    /// Loads the configuration (from the data directory, or the embedded defaults), the
    /// users file, and sets up an empty lock table.
    pub fn open(settings: Settings) -> Result<Arc<App>, StartupError> {
        Self::build(settings).map(Arc::new)
    }

    /// Like [`App::open`], and with `--etcd` connects to etcd (feature `etcd`): the
    /// locks and the document are then the fleet's (see [`fleet`]).
    pub async fn start(settings: Settings) -> Result<Arc<App>, StartupError> {
        #[cfg(feature = "etcd")]
        if let Some(endpoints) = settings.options.etcd.clone() {
            let prefix = settings.options.etcd_prefix.clone();
            let policy = settings.options.policy();
            let hide_owners = settings.options.hide_owners;
            let mut app = Self::build(settings)?;
            let fleet =
                fleet::Fleet::connect(&endpoints, &prefix, policy, app.document().document())
                    .await?;
            if hide_owners {
                fleet
                    .store
                    .set_disclosure(lockwarden::http::Disclosure { owner: false });
            }
            fleet.sync(&app.changes).await?;
            app.fleet = Some(fleet);
            return Ok(Arc::new(app));
        }
        Self::open(settings)
    }

    fn build(settings: Settings) -> Result<App, StartupError> {
        let options = &settings.options;
        let (storage, document) = match &options.data_dir {
            Some(dir) => Storage::open(dir)?,
            None => (Storage::in_memory(), ConfigDocument::embedded_default()?),
        };
        let users = options.users.as_deref().map(Users::load).transpose()?;
        let locks = LockManager::new(options.policy())?;
        if options.hide_owners {
            locks.set_disclosure(lockwarden::http::Disclosure { owner: false });
        }
        let purger = locks
            .spawn_purger(std::time::Duration::from_secs(60))
            .map_err(StartupError::Purger)?;
        Ok(App {
            changes: Changes::new(storage, document),
            locks,
            users,
            enforce_locks: !settings.enforcement_disabled,
            store_limits: options.store_limits(),
            header_timeout: std::time::Duration::from_secs(options.header_timeout),
            body_limits: options.body_limits(),
            _purger: purger,
            #[cfg(feature = "etcd")]
            fleet: None,
        })
    }

    /// The configuration as last stored.
    pub fn document(&self) -> Arc<RenderedDocument> {
        self.changes.current()
    }

    /// The lock table.
    pub fn locks(&self) -> &LockManager {
        &self.locks
    }

    /// What refusals show of other clients' locks.
    pub(crate) fn disclosure(&self) -> lockwarden::http::Disclosure {
        #[cfg(feature = "etcd")]
        if let Some(fleet) = &self.fleet {
            use lockwarden_std::LockStore;
            return fleet.store.disclosure();
        }
        self.locks.disclosure()
    }
}

/// The HTTP routes of the server.
pub fn router(app: Arc<App>) -> axum::Router {
    routes::router(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight
/// finish.
///
/// Each connection is served by hyper with a time limit on request headers (hyper
/// closes the connection without an answer: no request was parsed, so none is owed);
/// the time limit on bodies is the lock layer's (408). Handlers see the client's
/// address as axum's `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let header_timeout = app.header_timeout;
    let router = router(app);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                request
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%remote, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed
/// when this is called, not when the future is first polled, so that a signal that
/// arrives right after startup is not lost (the default action would kill the process).
/// Must be called inside a Tokio runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
