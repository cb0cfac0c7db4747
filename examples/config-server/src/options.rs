//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use lockwarden::Policy;
use lockwarden_std::{BodyLimits, TICK_HZ};

use crate::config::StoreLimits;

/// A device-configuration HTTP API that refuses conflicting edits with 423 Locked.
#[derive(Debug, Parser)]
#[command(name = "config-server", version, about)]
pub struct Cli {
    /// What to run; without one, the server.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How the server runs.
    #[command(flatten)]
    pub server: ServerOptions,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reads a password from standard input and prints a users-file line `USER:HASH`
    /// (Argon2id), e.g. `config-server hash-password alice >> users.txt`.
    HashPassword {
        /// The user name (no ':').
        user: String,
    },
}

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServerOptions {
    /// Address to listen on (loopback by default: a device exposes its API on purpose).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory that keeps the configuration across restarts (`config.json`, written
    /// atomically). Without it the embedded defaults are served from memory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Users file (`USER:ARGON2-HASH` lines, see `hash-password`; names of at most 32
    /// bytes): requires HTTP Basic authentication and makes the user the principal of its
    /// locks. Without it, locks are advisory: PROPFIND lockdiscovery shows every lock's
    /// token to anyone (RFC 4918 §6.5 allows it), so locks only keep cooperating clients
    /// apart.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Timeout granted to a lock request that names none, in seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub default_timeout: u64,
    /// Longest timeout granted, in seconds; longer requests are clamped to it.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub max_timeout: u64,
    /// Grant `Timeout: Infinite` as asked (locks that last until released) instead of
    /// the maximum timeout.
    #[arg(long)]
    pub infinite_locks: bool,
    /// Most live locks one authenticated user may hold at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_locks_per_user: u16,
    /// Hide who holds a lock (its owner) from other clients everywhere: 423 answers,
    /// `GET /locks` and PROPFIND lockdiscovery.
    #[arg(long)]
    pub hide_owners: bool,
    /// Seconds a client has to send a request's headers; beyond, the connection is
    /// closed (also an idle keep-alive connection).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's body once its headers arrived; beyond,
    /// 408 and the connection is closed. Bodies are read whole before anything else, so
    /// a slow client delays only itself.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub body_timeout: u64,
    /// Most bytes of the stored configuration document; a write that would make it
    /// larger gets 507.
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    pub max_document_bytes: usize,
    /// Most bytes of one section as served; a write that would make it larger gets 507.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_section_bytes: usize,
    /// Deepest nesting of objects and arrays within a section (the section itself is
    /// level 1); a write with deeper values gets 413.
    #[arg(long, default_value_t = 16, value_name = "LEVELS")]
    pub max_depth: usize,
    /// etcd client URLs, comma-separated: the locks and the configuration are kept there,
    /// shared by every replica started with the same endpoints and prefix (instead of
    /// this process and --data-dir). While etcd cannot be reached, every request gets
    /// 503.
    #[cfg(feature = "etcd")]
    #[arg(long, value_name = "ENDPOINTS")]
    pub etcd: Option<String>,
    /// The etcd key prefix of this fleet's locks and configuration.
    #[cfg(feature = "etcd")]
    #[arg(long, default_value = "/lockwarden/", value_name = "PREFIX")]
    pub etcd_prefix: String,
}

impl ServerOptions {
    /// The lock table's policy these options describe.
    pub fn policy(&self) -> Policy {
        let policy = Policy::new(TICK_HZ)
            .with_max_timeout_secs(self.max_timeout)
            .with_default_timeout_secs(self.default_timeout.min(self.max_timeout))
            .with_max_locks_per_principal(self.max_locks_per_user);
        if self.infinite_locks {
            policy.with_infinite_locks()
        } else {
            policy
        }
    }
}

impl ServerOptions {
    /// The bounds on the stored document these options describe.
    pub fn store_limits(&self) -> StoreLimits {
        StoreLimits {
            document_bytes: self.max_document_bytes,
            section_bytes: self.max_section_bytes,
            depth: self.max_depth,
        }
    }

    /// How much of a request body is read, and for how long.
    pub fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: crate::routes::BODY_LIMIT,
            timeout: Duration::from_secs(self.body_timeout),
        }
    }

    /// The line printed once the server listens on `addr`: where, where the configuration
    /// is kept, a first command, and without users, that locks are only advisory.
    pub fn startup_line(&self, addr: SocketAddr) -> String {
        let credentials = if self.users.is_some() {
            " -u USER:PASSWORD"
        } else {
            ""
        };
        let storage = match &self.data_dir {
            Some(dir) => format!("stored in {}", dir.display()),
            None => "in memory (use --data-dir DIR to keep changes)".to_owned(),
        };
        #[cfg(feature = "etcd")]
        let storage = match &self.etcd {
            Some(endpoints) => format!(
                "and locks shared in etcd at {endpoints} under {}",
                self.etcd_prefix
            ),
            None => storage,
        };
        let mut line = format!(
            "config-server listening on http://{addr} (configuration {storage}); try: curl{credentials} http://{addr}/config/network"
        );
        if self.users.is_none() {
            line.push_str(
                "; without --users locks are advisory: lockdiscovery shows every lock's token to anyone, so locks only keep cooperating clients apart",
            );
        }
        line
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        // The defaults of the command line, so that code and `--help` cannot disagree.
        Cli::parse_from(["config-server"]).server
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockwarden::Timeout;

    #[test]
    fn no_arguments_serve_on_loopback_8080_in_memory() {
        let cli = Cli::parse_from(["config-server"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.server.listen.to_string(), "127.0.0.1:8080");
        assert!(cli.server.data_dir.is_none() && cli.server.users.is_none());
    }

    #[test]
    fn without_users_the_help_and_the_startup_line_say_that_locks_are_advisory() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("locks are advisory"), "{help}");
        assert!(help.contains("shows every lock's"), "{help}");

        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let open = ServerOptions::default().startup_line(addr);
        assert!(open.starts_with("config-server listening on http://127.0.0.1:8080 "));
        assert!(open.contains("locks are advisory"), "{open}");
        assert!(open.contains("token to anyone"), "{open}");
        let with_users = Cli::parse_from(["config-server", "--users", "users.txt"])
            .server
            .startup_line(addr);
        assert!(!with_users.contains("advisory"), "{with_users}");
        assert!(with_users.contains("curl -u USER:PASSWORD"), "{with_users}");
    }

    #[test]
    fn timeout_options_become_the_table_policy() {
        let cli = Cli::parse_from([
            "config-server",
            "--default-timeout",
            "30",
            "--max-timeout",
            "60",
            "--max-locks-per-user",
            "2",
        ]);
        let p = cli.server.policy();
        assert_eq!(
            p.default_timeout,
            lockwarden::Duration::from_secs(30, TICK_HZ)
        );
        assert_eq!(p.max_timeout, lockwarden::Duration::from_secs(60, TICK_HZ));
        assert_eq!(p.max_locks_per_principal, 2);
        assert_eq!(
            p.grant(Some(Timeout::Infinite)),
            Timeout::Finite(p.max_timeout)
        );
        let infinite = Cli::parse_from(["config-server", "--infinite-locks"])
            .server
            .policy();
        assert_eq!(infinite.grant(Some(Timeout::Infinite)), Timeout::Infinite);
    }

    #[test]
    fn a_default_timeout_above_the_maximum_is_clamped_to_it() {
        let cli = Cli::parse_from([
            "config-server",
            "--default-timeout",
            "90",
            "--max-timeout",
            "60",
        ]);
        assert_eq!(
            cli.server.policy().default_timeout,
            lockwarden::Duration::from_secs(60, TICK_HZ)
        );
    }
}
