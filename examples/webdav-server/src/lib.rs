//! A WebDAV server: `dav-server` over an in-memory filesystem (or a directory with
//! `--root`) behind lockwarden's protocol layer, on 127.0.0.1.
//!
//! lockwarden answers every locking question before dav-server sees a request: the
//! [`LockLayer`] evaluates `If` and refuses writes that a lock blocks (423, 412, 403,
//! 400 for a malformed header...), and `LOCK` and `UNLOCK` are answered by
//! [`LockManager::respond`] (the `lockinfo` body, `Timeout`, `Depth`, `Lock-Token`).
//! dav-server never parses those: it serves content and properties, and reads
//! `lockdiscovery` from the same table ([`DavLocks::behind_layer`]).
//!
//! With `--user`, every request must authenticate (HTTP Basic) and the user name is the
//! lock principal: only the user who created a lock can use, refresh or release it.

mod auth;
mod properties;
mod propfind;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use clap::{Parser, ValueEnum};
use dav_server::davpath::DavPath;
use dav_server::fs::{DavFileSystem, GuardedFileSystem, OpenOptions};
use dav_server::{DavConfig, DavHandler, localfs::LocalFs, memfs::MemFs, memls::MemLs};
use lockwarden::Policy;
use lockwarden::http::Outcome;
use lockwarden_std::dav::DavLocks;
use lockwarden_std::manager::{DEFAULT_LOCKS, DEFAULT_OWNER_LEN};
use lockwarden_std::{
    BodyLimits, LockLayer, LockManager, Principal, Purger, Resource, ResourceLookup, TICK_HZ,
};

use crate::auth::Users;
use crate::properties::WithProperties;

/// Longest canonical path the lock table holds: file trees have longer names than
/// device configuration sections.
pub const PATH_LEN: usize = 512;

/// The lock table of this server.
pub type Locks = LockManager<DEFAULT_LOCKS, PATH_LEN, DEFAULT_OWNER_LEN>;

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(about = "WebDAV server with lockwarden as its locking authority")]
pub struct Options {
    /// Port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 4918)]
    pub port: u16,
    /// Serve this directory instead of an in-memory filesystem.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Which lock system answers LOCK, UNLOCK and the lock checks of writes.
    #[arg(long, value_enum, default_value_t = LockSystem::Lockwarden)]
    pub lock_system: LockSystem,
    /// Timeout granted to a LOCK that asks for none, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    pub default_timeout: u64,
    /// Longest timeout granted, in seconds; longer requests are clamped.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_timeout: u64,
    /// Grant `Timeout: Infinite` as asked (otherwise it gets the maximum timeout).
    #[arg(long)]
    pub infinite_locks: bool,
    /// Most live locks one authenticated user may hold.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_locks_per_user: u16,
    /// The largest request body (a PUT's file) accepted, in bytes; larger ones get 413.
    /// lockwarden reads each body whole before it checks the request, so that a slow
    /// upload holds up no one else.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The time a whole request body may take to arrive, in seconds; slower ones get 408.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub body_timeout: u64,
    /// Hide who holds a lock (its owner) from other clients: in refusals and in
    /// lockdiscovery.
    #[arg(long)]
    pub hide_owners: bool,
    /// Require HTTP Basic authentication with this user (repeatable); the user name
    /// becomes the lock principal. Without users, lockdiscovery shows every lock's token
    /// to anyone (RFC 4918 §6.5 allows it), so locks only coordinate cooperating clients.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options::parse_from(["webdav-server"])
    }
}

/// Who answers the locking questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockSystem {
    /// lockwarden: its protocol layer in front of dav-server.
    Lockwarden,
    /// dav-server's own in-memory lock system, dav-server parsing every header itself
    /// (never expires locks, ignores principals on UNLOCK): for comparison only.
    Memls,
}

/// The served filesystem, as the handler and the resource lookup share it.
type SharedFs = Arc<dyn DavFileSystem + Send + Sync>;

#[derive(Clone)]
struct App {
    dav: DavHandler,
    /// `None` with `--lock-system memls`.
    locks: Option<(Locks, DavLocks<DEFAULT_LOCKS, PATH_LEN, DEFAULT_OWNER_LEN>)>,
    filesystem: SharedFs,
}

/// The server's routes and the background purge of its lock table (keep it alive as long
/// as the router).
pub fn router(options: &Options) -> Result<(Router, Purger), Box<dyn std::error::Error>> {
    let users = Arc::new(Users::parse(&options.users)?);
    let mut policy = Policy::new(TICK_HZ)
        .with_default_timeout_secs(options.default_timeout)
        .with_max_timeout_secs(options.max_timeout)
        .with_max_locks_per_principal(options.max_locks_per_user);
    if options.infinite_locks {
        policy = policy.with_infinite_locks();
    }
    let manager: Locks = LockManager::new(policy)?;
    manager.set_webdav_clients(true);
    if options.hide_owners {
        manager.set_disclosure(lockwarden::http::Disclosure { owner: false });
    }
    let purger = manager.spawn_purger(Duration::from_secs(60))?;
    // One filesystem (clones share it): the handler serves it, and the lock layer asks it
    // whether a resource exists and for its entity tag.
    let (filesystem, served): (SharedFs, Box<dyn GuardedFileSystem<()>>) = match &options.root {
        Some(dir) => {
            // LocalFs keeps no dead properties: kept in memory beside it.
            let fs = WithProperties::new(*LocalFs::new(dir, false, false, false));
            (Arc::new(fs.clone()), Box::new(fs))
        }
        None => {
            let fs = MemFs::new();
            (Arc::new((*fs).clone()), fs)
        }
    };
    let builder = DavHandler::builder().filesystem(served);
    let router = match options.lock_system {
        LockSystem::Lockwarden => {
            let dav_locks = DavLocks::behind_layer(manager.clone());
            // File uploads are larger and slower than the layer's defaults, which are
            // sized for configuration documents.
            let limits = BodyLimits {
                max_bytes: options.max_body_bytes,
                timeout: Duration::from_secs(options.body_timeout),
            };
            let app = App {
                dav: builder
                    .locksystem(Box::new(dav_locks.clone()))
                    .build_handler(),
                locks: Some((manager.clone(), dav_locks)),
                filesystem: Arc::clone(&filesystem),
            };
            Router::new().fallback(handle).with_state(app).layer(
                LockLayer::new(manager)
                    .with_resources(FilesystemLookup(filesystem))
                    .body_limits(limits),
            )
        }
        LockSystem::Memls => {
            let app = App {
                dav: builder.locksystem(MemLs::new()).build_handler(),
                locks: None,
                filesystem,
            };
            Router::new().fallback(handle).with_state(app)
        }
    };
    // Outside the lock layer: it reads the principal this puts on the request.
    let router = router.layer(middleware::from_fn_with_state(users, authenticate));
    Ok((router, purger))
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// HTTP Basic authentication; the user becomes the request's [`Principal`].
async fn authenticate(
    State(users): State<Arc<Users>>,
    mut request: Request,
    next: Next,
) -> Response {
    match users.authenticate(request.headers()) {
        Ok(Some(user)) => {
            request.extensions_mut().insert(Principal(user));
        }
        Ok(None) => {}
        Err(unauthorized) => return unauthorized.into_response(),
    }
    next.run(request).await
}

async fn handle(State(app): State<App>, request: Request) -> Response {
    let principal = request
        .extensions()
        .get::<Principal>()
        .map(|p| p.as_str().to_owned());
    let mut config = DavConfig::new();
    if let Some(user) = &principal {
        config = config.principal(user.as_str());
    }
    let request = match &app.locks {
        Some((manager, dav_locks)) => {
            if matches!(request.method().as_str(), "LOCK" | "UNLOCK") {
                return lock_or_unlock(&app, manager, request).await;
            }
            // The layer has judged the request: dav-server must not parse `If` (or the
            // other lock headers) again, and its lock system allows what is left.
            config = config.locksystem(Box::new(match &principal {
                Some(user) => dav_locks.for_principal(user.as_str()),
                None => dav_locks.clone(),
            }));
            without_lock_headers(request)
        }
        None => request,
    };
    let (request, propfind) = match propfind::Expectation::of(request).await {
        Ok(split) => split,
        Err(response) => return response,
    };
    let response = app.dav.handle_with(config, request).await;
    match propfind {
        Some(expected) => expected.complete(response).await,
        None => response.into_response(),
    }
}

/// `LOCK` and `UNLOCK`, answered by lockwarden alone. A lock on an unmapped URL creates
/// an empty resource there (RFC 4918 §9.10.4).
async fn lock_or_unlock(app: &App, manager: &Locks, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let lookup = FilesystemLookup(Arc::clone(&app.filesystem));
    let resources = lockwarden_std::Resources::of::<PATH_LEN>(&parts, &lookup);
    let principal = parts.extensions.get::<Principal>().map(|p| p.0.clone());
    let target = parts.uri.path().to_owned();
    let answer = manager
        .respond(Request::from_parts(parts, body), &resources)
        .await;
    if let Outcome::Granted {
        lock,
        created: true,
    } = &answer.outcome
        && !create_empty(&app.filesystem, &target).await
    {
        // The resource could not be created (its collection does not exist): neither
        // may its lock stay (RFC 4918 §9.10.4: 409 when the parent is missing).
        let _ = manager.unlock(&lock.root, &lock.token, principal.as_deref());
        return (
            StatusCode::CONFLICT,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "the collection of the resource to lock does not exist\n",
        )
            .into_response();
    }
    answer.into_response()
}

/// Creates an empty file at `path`; false when that fails.
async fn create_empty(fs: &SharedFs, path: &str) -> bool {
    let Ok(path) = DavPath::new(path) else {
        return false;
    };
    let options = OpenOptions {
        read: false,
        write: true,
        append: false,
        truncate: false,
        create: true,
        create_new: false,
        size: None,
        checksum: None,
    };
    fs.open(&path, options).await.is_ok()
}

/// The request without the headers lockwarden has already answered.
fn without_lock_headers(mut request: Request) -> Request {
    for name in ["if", "lock-token", "timeout"] {
        request.headers_mut().remove(name);
    }
    request
}

/// Whether a resource exists in the served filesystem, and its entity tag as dav-server
/// shows it, for the lock layer.
#[derive(Clone)]
struct FilesystemLookup(SharedFs);

impl ResourceLookup for FilesystemLookup {
    fn resource(&self, path: &str) -> Resource {
        let Ok(path) = DavPath::new(&percent_encoded(path)) else {
            return Resource::missing();
        };
        // MemFs answers at once; LocalFs works in place on the runtime's thread.
        match futures::executor::block_on(self.0.metadata(&path)) {
            Ok(meta) => Resource::existing(meta.etag().map(|tag| format!("\"{tag}\""))),
            Err(_) => Resource::missing(),
        }
    }
}

/// A canonical (decoded) path as a URL path dav-server parses back to it.
fn percent_encoded(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
