//! Who is asking: HTTP Basic authentication (RFC 7617) against a users file of Argon2
//! password hashes. The authenticated user name is the principal of the locks it takes.
//!
//! Verifying an Argon2 hash is slow on purpose, too slow to repeat on every request, so
//! a successful verification is remembered under an HMAC of the credentials keyed with a
//! secret drawn at start: the cache holds neither passwords nor anything from which a
//! password could be tested offline, and it dies with the process.
//!
//! A password guesser learns nothing from the time of an answer (a name that is not in the
//! users file is verified against a dummy hash made with the same parameters) and gets a
//! few tries per client address and window (then 429), counted before any hashing, so it
//! can neither guess without end nor keep other users' logins waiting for the hasher.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

/// The realm named in `WWW-Authenticate`.
pub const REALM: &str = "config-server";
/// How many verifications remembered before the cache starts over.
const CACHE_LIMIT: usize = 4096;
/// How many slow verifications may run at once; more wait, so that a flood of wrong
/// passwords cannot take every core.
const CONCURRENT_VERIFICATIONS: usize = 2;
/// Logins a client address may fail within [`FAILED_LOGIN_WINDOW`] before it gets 429.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// The window over which failed logins are counted, from a client's first failure.
pub const FAILED_LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Client addresses whose failed logins are remembered at once: a flood of addresses
/// cannot grow the table beyond this.
pub const MAX_TRACKED_CLIENTS: usize = 4096;

/// Why a users file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// It could not be read.
    #[error("cannot read the users file {0}: {1}")]
    Io(String, std::io::Error),
    /// A line is not `name:$argon2…` with a valid hash.
    #[error("users file line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file names nobody.
    #[error("the users file names no user")]
    Empty,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Basic` header, or one that cannot be decoded.
    Missing,
    /// Unknown user or wrong password.
    Invalid,
    /// The client's address failed [`MAX_FAILED_LOGINS`] logins in the current window;
    /// its credentials were not checked.
    TooManyFailures {
        /// How long until the window ends.
        retry_after: Duration,
    },
}

/// Whether `name` can be a user: non-empty, without `:` (RFC 7617 §2) or control
/// characters, and short enough to be the principal of a lock.
pub fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
        return Err("a user name must be non-empty, without ':' or control characters".into());
    }
    if name.len() > lockwarden::MAX_PRINCIPAL_LEN {
        return Err(format!(
            "the user name is {} bytes long; a lock's principal holds at most {}",
            name.len(),
            lockwarden::MAX_PRINCIPAL_LEN
        ));
    }
    Ok(())
}

/// The users allowed in, and the verifications already made.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, String>,
    /// What a name that is not in the file is verified against: a hash of a random
    /// password with the parameters of the file's first hash, so that it takes as long.
    dummy_hash: String,
    cache_key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Arc<str>>>,
    verifications: Semaphore,
    hashes_verified: AtomicU64,
    failures: Mutex<FailedLogins>,
}

impl Users {
    /// Reads a users file: one `name:PHC-hash` per line; blank lines and `#` comments
    /// are skipped. Every hash is checked now, so that a typo fails at start.
    pub fn load(path: &Path) -> Result<Users, UsersFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsersFileError::Io(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    /// Parses the text of a users file (see [`Users::load`]).
    pub fn parse(text: &str) -> Result<Users, UsersFileError> {
        let mut hashes = HashMap::new();
        let mut dummy_hash = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| UsersFileError::BadLine {
                line: i + 1,
                reason: reason.into(),
            };
            let (name, hash) = line
                .split_once(':')
                .ok_or_else(|| bad("expected name:hash"))?;
            check_user_name(name).map_err(|reason| bad(&reason))?;
            let parsed =
                PasswordHash::new(hash).map_err(|e| bad(&format!("not a password hash: {e}")))?;
            Params::try_from(&parsed)
                .map_err(|e| bad(&format!("not an Argon2 password hash: {e}")))?;
            if hashes.insert(name.to_owned(), hash.to_owned()).is_some() {
                return Err(bad("this user is named twice"));
            }
            if dummy_hash.is_none() {
                dummy_hash = Some(hash_like(hash).map_err(|e| {
                    bad(&format!(
                        "cannot hash with the parameters of this line: {e}"
                    ))
                })?);
            }
        }
        let Some(dummy_hash) = dummy_hash else {
            return Err(UsersFileError::Empty);
        };
        let mut cache_key = [0u8; 32];
        getrandom::fill(&mut cache_key).map_err(no_randomness)?;
        Ok(Users {
            hashes,
            dummy_hash,
            cache_key,
            verified: Mutex::new(HashMap::new()),
            verifications: Semaphore::new(CONCURRENT_VERIFICATIONS),
            hashes_verified: AtomicU64::new(0),
            failures: Mutex::new(FailedLogins::default()),
        })
    }

    /// The user named by a valid `Authorization` header value, sent from `client` (the
    /// peer's address; `None` when the server does not know it, and then every such
    /// request counts as one client).
    pub async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        client: Option<IpAddr>,
    ) -> Result<Arc<str>, AuthError> {
        let (user, password) = authorization
            .and_then(decode_basic)
            .ok_or(AuthError::Missing)?;
        let mac = self.mac(&user, &password);
        if let Some(name) = self.remembered(&mac) {
            return Ok(name);
        }
        let client = client_key(client);
        self.failed_logins()
            .attempt(client, Instant::now())
            .map_err(|retry_after| AuthError::TooManyFailures { retry_after })?;
        let (hash, known) = match self.hashes.get(&user) {
            Some(hash) => (hash.clone(), true),
            None => (self.dummy_hash.clone(), false),
        };
        if !(self.verify(password, hash).await && known) {
            return Err(AuthError::Invalid);
        }
        self.failed_logins().succeeded(client);
        let name: Arc<str> = user.into();
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(mac, name.clone());
        }
        Ok(name)
    }

    /// How many passwords were verified against a hash (the slow path), for metrics.
    pub fn hashes_verified(&self) -> u64 {
        self.hashes_verified.load(Ordering::Relaxed)
    }

    /// Verifies `password` against `hash`, at most [`CONCURRENT_VERIFICATIONS`] at once.
    async fn verify(&self, password: String, hash: String) -> bool {
        let Ok(_permit) = self.verifications.acquire().await else {
            return false;
        };
        self.hashes_verified.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false)
    }

    fn failed_logins(&self) -> std::sync::MutexGuard<'_, FailedLogins> {
        // The table is consistent between its methods, none of which panics.
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remembered(&self, mac: &[u8; 32]) -> Option<Arc<str>> {
        self.verified.lock().ok()?.get(mac).cloned()
    }

    fn mac(&self, user: &str, password: &str) -> [u8; 32] {
        // The key has a fixed, valid length, so construction cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.cache_key) else {
            return [0; 32];
        };
        // The user name cannot hold ':' (RFC 7617 §2), so the separator keeps pairs apart.
        mac.update(user.as_bytes());
        mac.update(b":");
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// `(user, password)` from `Basic base64(user:password)` (RFC 7617 §2).
fn decode_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An Argon2id hash of `password` with a fresh random salt, in PHC string form, for a
/// users file line `name:hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes(), &random_salt()?)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of a random password with the algorithm, version and parameters of `model`.
fn hash_like(model: &str) -> Result<String, String> {
    let model = PasswordHash::new(model).map_err(|e| e.to_string())?;
    let params = Params::try_from(&model).map_err(|e| e.to_string())?;
    let mut password = [0u8; 32];
    getrandom::fill(&mut password).map_err(|e| format!("no random password: {e}"))?;
    Argon2::default()
        .hash_password_customized(
            &password,
            Some(model.algorithm),
            model.version,
            params,
            &random_salt()?,
        )
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn random_salt() -> Result<SaltString, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    SaltString::encode_b64(&salt).map_err(|e| e.to_string())
}

fn no_randomness(e: getrandom::Error) -> UsersFileError {
    UsersFileError::Io(
        "the system's random source".into(),
        std::io::Error::other(e.to_string()),
    )
}

/// What failed logins are counted by: an IPv4 address, or the /64 network of an IPv6 one
/// (one host commonly holds a whole /64); `None` for every client of unknown address.
fn client_key(address: Option<IpAddr>) -> Option<IpAddr> {
    match address.map(|a| a.to_canonical()) {
        Some(IpAddr::V6(v6)) => Some(IpAddr::V6(Ipv6Addr::from_bits(
            v6.to_bits() & !u128::from(u64::MAX),
        ))),
        other => other,
    }
}

/// Failed logins per client, counted over a window from the client's first failure. An
/// attempt counts as failed from the moment it is let through to the hasher until it
/// succeeds, so that parallel attempts cannot pass the limit together.
#[derive(Debug, Default)]
struct FailedLogins {
    clients: HashMap<Option<IpAddr>, Failures>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

impl FailedLogins {
    /// Lets an attempt from `client` through at `now`, or says how long until its window
    /// ends.
    fn attempt(&mut self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        if !self.clients.contains_key(&client) && self.clients.len() >= MAX_TRACKED_CLIENTS {
            self.make_room(now);
        }
        let failures = self.clients.entry(client).or_insert(Failures {
            since: now,
            count: 0,
        });
        let age = now.saturating_duration_since(failures.since);
        if age >= FAILED_LOGIN_WINDOW {
            *failures = Failures {
                since: now,
                count: 0,
            };
        } else if failures.count >= MAX_FAILED_LOGINS {
            return Err(FAILED_LOGIN_WINDOW - age);
        }
        failures.count += 1;
        Ok(())
    }

    /// The attempt let through last was a success: it does not count.
    fn succeeded(&mut self, client: Option<IpAddr>) {
        if let Some(failures) = self.clients.get_mut(&client) {
            failures.count = failures.count.saturating_sub(1);
        }
    }

    /// Forgets the clients whose window has ended; if every one is still in its window,
    /// the one with the fewest failures, so that a client at the limit stays there.
    fn make_room(&mut self, now: Instant) {
        self.clients
            .retain(|_, f| now.saturating_duration_since(f.since) < FAILED_LOGIN_WINDOW);
        if self.clients.len() < MAX_TRACKED_CLIENTS {
            return;
        }
        let fewest = self
            .clients
            .iter()
            .min_by_key(|(_, f)| (f.count, f.since))
            .map(|(client, _)| *client);
        if let Some(client) = fewest {
            self.clients.remove(&client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {enc}").into_bytes()
    }

    #[tokio::test]
    async fn a_hashed_password_authenticates_its_user_only() {
        let users = Users::parse(&format!(
            "# team\nalice:{}\n",
            hash_password("s3cret").unwrap()
        ))
        .unwrap();
        assert_eq!(
            &*users
                .authenticate(Some(&basic("alice", "s3cret")), None)
                .await
                .unwrap(),
            "alice"
        );
        // A second time is answered from the cache, with the same result.
        assert_eq!(
            &*users
                .authenticate(Some(&basic("alice", "s3cret")), None)
                .await
                .unwrap(),
            "alice"
        );
        assert_eq!(
            users
                .authenticate(Some(&basic("alice", "wrong")), None)
                .await,
            Err(AuthError::Invalid)
        );
        assert_eq!(
            users
                .authenticate(Some(&basic("bob", "s3cret")), None)
                .await,
            Err(AuthError::Invalid)
        );
        assert_eq!(
            users.authenticate(None, None).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            users.authenticate(Some(b"Bearer x"), None).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            users.authenticate(Some(b"Basic !!!"), None).await,
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn a_users_file_with_a_bad_hash_is_refused_with_its_line() {
        let err = Users::parse("\nalice:not-a-hash\n").unwrap_err();
        assert!(
            matches!(err, UsersFileError::BadLine { line: 2, .. }),
            "{err}"
        );
        assert!(matches!(
            Users::parse("# nobody\n"),
            Err(UsersFileError::Empty)
        ));
        assert!(matches!(
            Users::parse("alice\n"),
            Err(UsersFileError::BadLine { line: 1, .. })
        ));
    }

    #[tokio::test]
    async fn a_name_not_in_the_file_is_verified_against_a_hash_with_the_files_parameters() {
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let salt = random_salt().unwrap();
        let alice = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        let users = Users::parse(&format!("alice:{alice}\n")).unwrap();
        let (real, dummy) = (
            PasswordHash::new(&alice).unwrap(),
            PasswordHash::new(&users.dummy_hash).unwrap(),
        );
        assert_eq!(
            (
                dummy.algorithm,
                dummy.version,
                Params::try_from(&dummy).unwrap()
            ),
            (
                real.algorithm,
                real.version,
                Params::try_from(&real).unwrap()
            )
        );
        assert_ne!(dummy.hash, real.hash);

        let before = users.hashes_verified();
        assert_eq!(
            users
                .authenticate(Some(&basic("bob", "s3cret")), None)
                .await,
            Err(AuthError::Invalid)
        );
        assert_eq!(users.hashes_verified(), before + 1);
        assert_eq!(
            users
                .authenticate(Some(&basic("alice", "wrong")), None)
                .await,
            Err(AuthError::Invalid)
        );
        assert_eq!(users.hashes_verified(), before + 2);
    }

    #[tokio::test]
    async fn a_client_that_failed_too_often_is_refused_before_any_hashing() {
        let users = Users::parse(&format!("alice:{}\n", hash_password("s3cret").unwrap())).unwrap();
        let guesser = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..MAX_FAILED_LOGINS {
            assert_eq!(
                users
                    .authenticate(Some(&basic("alice", "guess")), guesser)
                    .await,
                Err(AuthError::Invalid)
            );
        }
        let hashed = users.hashes_verified();
        let refused = users
            .authenticate(Some(&basic("alice", "s3cret")), guesser)
            .await;
        let Err(AuthError::TooManyFailures { retry_after }) = refused else {
            panic!("{refused:?}")
        };
        assert!(retry_after > Duration::ZERO && retry_after <= FAILED_LOGIN_WINDOW);
        assert_eq!(users.hashes_verified(), hashed);
        // Another client is not held back, and a success does not count as a failure.
        let other = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..MAX_FAILED_LOGINS + 2 {
            let user = users
                .authenticate(Some(&basic("alice", "s3cret")), other)
                .await;
            assert_eq!(user.as_deref(), Ok("alice"));
        }
    }

    #[test]
    fn failed_logins_are_counted_per_client_over_a_window() {
        let mut failed = FailedLogins::default();
        let start = Instant::now();
        let (a, b) = (Some(IpAddr::from([192, 0, 2, 1])), None);
        for _ in 0..MAX_FAILED_LOGINS {
            assert_eq!(failed.attempt(a, start), Ok(()));
        }
        let later = start + Duration::from_secs(20);
        assert_eq!(
            failed.attempt(a, later),
            Err(FAILED_LOGIN_WINDOW - Duration::from_secs(20))
        );
        assert_eq!(failed.attempt(b, later), Ok(()));
        assert_eq!(failed.attempt(a, start + FAILED_LOGIN_WINDOW), Ok(()));
        // Attempts that succeed do not count.
        let c = Some(IpAddr::from([192, 0, 2, 3]));
        for _ in 0..2 * MAX_FAILED_LOGINS {
            assert_eq!(failed.attempt(c, start), Ok(()));
            failed.succeeded(c);
        }
    }

    #[test]
    fn a_flood_of_addresses_neither_grows_the_table_nor_frees_a_blocked_client() {
        let mut failed = FailedLogins::default();
        let now = Instant::now();
        let blocked = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..MAX_FAILED_LOGINS {
            failed.attempt(blocked, now).unwrap();
        }
        for i in 0..(2 * MAX_TRACKED_CLIENTS as u32) {
            let flood = Some(IpAddr::from((10 << 24 | i).to_be_bytes()));
            assert_eq!(failed.attempt(flood, now), Ok(()));
            assert!(failed.clients.len() <= MAX_TRACKED_CLIENTS);
        }
        assert!(failed.attempt(blocked, now).is_err());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_network() {
        let key = |a: &str| client_key(Some(a.parse().unwrap()));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(client_key(None), None);
    }

    #[test]
    fn a_user_name_longer_than_a_lock_principal_is_refused_with_its_line() {
        let hash = hash_password("x").unwrap();
        let longest = "a".repeat(lockwarden::MAX_PRINCIPAL_LEN);
        assert!(Users::parse(&format!("{longest}:{hash}\n")).is_ok());
        let err = Users::parse(&format!("# team\nbob:{hash}\n{longest}b:{hash}\n")).unwrap_err();
        assert!(
            matches!(&err, UsersFileError::BadLine { line: 3, reason } if reason.contains("at most 32")),
            "{err}"
        );
    }

    #[test]
    fn the_cache_key_differs_between_processes() {
        let line = format!("a:{}\n", hash_password("x").unwrap());
        let one = Users::parse(&line).unwrap();
        let two = Users::parse(&line).unwrap();
        assert_ne!(one.mac("a", "x"), two.mac("a", "x"));
        assert_ne!(one.mac("a", "x"), one.mac("a", "y"));
    }
}
