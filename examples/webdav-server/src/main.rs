//! A WebDAV server: `dav-server` over an in-memory filesystem (or a directory with
//! `--root`), with lockwarden as its lock system, on 127.0.0.1.
//!
//! ```text
//! cargo run -p webdav-server -- --port 4918
//! cargo run -p webdav-server -- --root /srv/dav --user alice:secret --user bob:hunter2
//! cargo run -p webdav-server -- --lock-system memls     # dav-server's own, for comparison
//! ```
//!
//! With `--user`, every request must authenticate (HTTP Basic) and the user name is the
//! lock principal: only the user who created a lock can use, refresh or release it.
//! The first line on standard output is `listening on http://127.0.0.1:PORT/` (with
//! `--port 0` the system picks a free port). SIGINT or SIGTERM stops the server after
//! the requests in flight.

mod auth;
mod properties;
mod propfind;
mod request_target;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clap::{Parser, ValueEnum};
use dav_server::fs::{DavFileSystem, GuardedFileSystem};
use dav_server::{DavConfig, DavHandler, localfs::LocalFs, memfs::MemFs, memls::MemLs};
use lockwarden::Policy;
use lockwarden::http::{BodyFormat, Method};
use lockwarden_std::dav::DavLocks;
use lockwarden_std::manager::{DEFAULT_LOCKS, DEFAULT_OWNER_LEN};
use lockwarden_std::{LockManager, LockRejection, TICK_HZ};

use crate::auth::Users;
use crate::properties::WithProperties;

/// Longest canonical path the lock table holds: file trees have longer names than
/// device configuration sections.
const PATH_LEN: usize = 512;

/// The lock system of this server.
type Locks = DavLocks<DEFAULT_LOCKS, PATH_LEN, DEFAULT_OWNER_LEN>;

#[derive(Debug, Parser)]
#[command(about = "WebDAV server with lockwarden as its lock system")]
struct Options {
    /// Port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 4918)]
    port: u16,
    /// Serve this directory instead of an in-memory filesystem.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Which lock system answers LOCK, UNLOCK and the lock checks of writes.
    #[arg(long, value_enum, default_value_t = LockSystem::Lockwarden)]
    lock_system: LockSystem,
    /// Timeout granted to a LOCK that asks for none, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    default_timeout: u64,
    /// Longest timeout granted, in seconds; longer requests are clamped.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    max_timeout: u64,
    /// Most live locks one authenticated user may hold.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_locks_per_user: u16,
    /// Require HTTP Basic authentication with this user (repeatable); the user name
    /// becomes the lock principal.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LockSystem {
    /// lockwarden's lock table.
    Lockwarden,
    /// dav-server's in-memory lock system (never expires locks, ignores principals on
    /// UNLOCK).
    Memls,
}

#[derive(Clone)]
struct App {
    dav: DavHandler,
    locks: Option<Locks>,
    users: Arc<Users>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = Options::parse();
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("webdav-server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let users = Users::parse(&options.users)?;
    // dav-server turns `Timeout: Infinite` into its own cap before the lock system sees
    // it, so honouring infinite locks is not a choice this server can offer.
    let policy = Policy::new(TICK_HZ)
        .with_default_timeout_secs(options.default_timeout)
        .with_max_timeout_secs(options.max_timeout)
        .with_max_locks_per_principal(options.max_locks_per_user);
    // Built on the main thread: the table is a fixed-size value, larger than a worker
    // thread's stack likes.
    let manager: LockManager<DEFAULT_LOCKS, PATH_LEN, DEFAULT_OWNER_LEN> =
        LockManager::new(policy)?;
    let _purger = manager.spawn_purger(Duration::from_secs(60))?;
    // One filesystem (clones share it): the handler serves it, and the lock system asks it
    // whether a write creates a member.
    let (filesystem, served): (
        Arc<dyn DavFileSystem + Send + Sync>,
        Box<dyn GuardedFileSystem<()>>,
    ) = match &options.root {
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
    let locks = match options.lock_system {
        LockSystem::Lockwarden => {
            Some(DavLocks::new(manager).with_filesystem(Arc::clone(&filesystem)))
        }
        LockSystem::Memls => None,
    };

    let mut builder = DavHandler::builder().filesystem(served);
    builder = match &locks {
        Some(locks) => builder.locksystem(Box::new(locks.clone())),
        None => builder.locksystem(MemLs::new()),
    };
    let app = App {
        dav: builder.build_handler(),
        locks,
        users: Arc::new(users),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(app, &options))
}

async fn serve(app: App, options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)))
            .await?;
    let address = listener.local_addr()?;
    let filesystem = match &options.root {
        Some(dir) => dir.display().to_string(),
        None => "an in-memory filesystem".to_owned(),
    };
    tracing::info!(
        lock_system = ?options.lock_system,
        "serving {filesystem} on http://{address}/"
    );
    println!("listening on http://{address}/");
    let router = Router::new().fallback(handle).with_state(app);
    axum::serve(request_target::GuardedListener(listener), router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn handle(State(app): State<App>, request: Request) -> Response {
    let principal = match app.users.authenticate(request.headers()) {
        Ok(principal) => principal,
        Err(unauthorized) => return unauthorized.into_response(),
    };
    let method = Method::parse(request.method().as_str().as_bytes());
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .map(|v| v.as_bytes().to_vec());
    let (request, propfind) = match propfind::Expectation::of(request).await {
        Ok(split) => split,
        Err(response) => return response,
    };
    let locks = app
        .locks
        .as_ref()
        .map(|locks| locks.for_request(method, principal.as_deref()));
    let mut config = DavConfig::new();
    if let Some(user) = &principal {
        config = config.principal(user.as_str());
    }
    if let Some(locks) = &locks {
        config = config.locksystem(Box::new(locks.clone()));
    }
    let response = app.dav.handle_with(config, request).await;
    // dav-server can only answer a refusal of the lock system with a bare 423 (or 409,
    // 412): answer with the table's reason instead (403, 503, 414, 207...), with the
    // headers and body of the protocol layer.
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if let Some(refusal) = locks.and_then(|locks| locks.take_refusal())
        && refused
    {
        let format = BodyFormat::negotiate(method, accept.as_deref());
        return LockRejection::new(refusal, format).into_response();
    }
    match propfind {
        Some(expected) => expected.complete(response).await,
        None => response.into_response(),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
