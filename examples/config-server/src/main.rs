//! `cargo run -p config-server`: the device-configuration API on 127.0.0.1:8080.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Parser;
use config_server::options::{Cli, Command};
use config_server::{App, Settings};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::HashPassword { user }) => hash_password(&user),
        None => run(Settings {
            options: cli.server,
            enforcement_disabled: false,
        }),
    }
}

fn hash_password(user: &str) -> ExitCode {
    if let Err(reason) = config_server::auth::check_user_name(user) {
        eprintln!("config-server: {reason}");
        return ExitCode::FAILURE;
    }
    let mut password = String::new();
    if std::io::stdin().lock().read_line(&mut password).is_err() {
        eprintln!("config-server: could not read the password from standard input");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("config-server: the password on standard input is empty");
        return ExitCode::FAILURE;
    }
    match config_server::auth::hash_password(password) {
        Ok(hash) => {
            let _ = writeln!(std::io::stdout(), "{user}:{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("config-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(settings: Settings) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = settings.options.clone();
    let listen = options.listen;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("config-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let app = match App::start(settings).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("config-server: cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("config-server: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = match config_server::shutdown_signal() {
            Ok(shutdown) => shutdown,
            Err(e) => {
                eprintln!("config-server: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().unwrap_or(listen);
        println!("{}", options.startup_line(addr));
        let _ = std::io::stdout().flush();
        match config_server::serve(listener, app, shutdown).await {
            Ok(()) => {
                eprintln!("config-server: shut down");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("config-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
