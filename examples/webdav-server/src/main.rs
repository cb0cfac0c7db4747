//! A WebDAV server: `dav-server` over an in-memory filesystem (or a directory with
//! `--root`) behind lockwarden's protocol layer, on 127.0.0.1.
//!
//! ```text
//! cargo run -p webdav-server -- --port 4918
//! cargo run -p webdav-server -- --root /srv/dav --user alice:secret --user bob:hunter2
//! cargo run -p webdav-server -- --lock-system memls     # dav-server's own, for comparison
//! ```
//!
//! The first line on standard output is `listening on http://127.0.0.1:PORT/` (with
//! `--port 0` the system picks a free port). SIGINT or SIGTERM stops the server after
//! the requests in flight.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use webdav_server::Options;

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
    // Built on the main thread: the lock table is a fixed-size value, larger than a
    // worker thread's stack likes.
    let (router, _purger) = webdav_server::router(&options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
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
        if options.users.is_empty() && options.lock_system == webdav_server::LockSystem::Lockwarden {
            tracing::warn!(
                "no --user: lockdiscovery shows every lock's token to anyone, so locks only coordinate cooperating clients"
            );
        }
        println!("listening on http://{address}/");
        webdav_server::serve(listener, router, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
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
