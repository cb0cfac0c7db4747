//! Who is asking: HTTP Basic authentication (RFC 7617) against a users file of Argon2
//! password hashes. The authenticated user name is the principal of the locks it takes.
//!
//! Verifying an Argon2 hash is slow on purpose, too slow to repeat on every request, so
//! a successful verification is remembered under an HMAC of the credentials keyed with a
//! secret drawn at start: the cache holds neither passwords nor anything from which a
//! password could be tested offline, and it dies with the process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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
}

/// The users allowed in, and the verifications already made.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, String>,
    cache_key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Arc<str>>>,
    verifications: Semaphore,
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
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                return Err(bad("the user name is empty or has control characters"));
            }
            PasswordHash::new(hash).map_err(|e| bad(&format!("not a password hash: {e}")))?;
            if hashes.insert(name.to_owned(), hash.to_owned()).is_some() {
                return Err(bad("this user is named twice"));
            }
        }
        if hashes.is_empty() {
            return Err(UsersFileError::Empty);
        }
        let mut cache_key = [0u8; 32];
        getrandom::fill(&mut cache_key).map_err(|e| {
            UsersFileError::Io(
                "the system's random source".into(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(Users {
            hashes,
            cache_key,
            verified: Mutex::new(HashMap::new()),
            verifications: Semaphore::new(CONCURRENT_VERIFICATIONS),
        })
    }

    /// The user named by a valid `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Arc<str>, AuthError> {
        let (user, password) = authorization
            .and_then(decode_basic)
            .ok_or(AuthError::Missing)?;
        let mac = self.mac(&user, &password);
        if let Some(name) = self.remembered(&mac) {
            return Ok(name);
        }
        let hash = self.hashes.get(&user).ok_or(AuthError::Invalid)?.clone();
        let _permit = self
            .verifications
            .acquire()
            .await
            .map_err(|_| AuthError::Invalid)?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(AuthError::Invalid);
        }
        let name: Arc<str> = user.into();
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(mac, name.clone());
        }
        Ok(name)
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
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
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
                .authenticate(Some(&basic("alice", "s3cret")))
                .await
                .unwrap(),
            "alice"
        );
        // A second time is answered from the cache, with the same result.
        assert_eq!(
            &*users
                .authenticate(Some(&basic("alice", "s3cret")))
                .await
                .unwrap(),
            "alice"
        );
        assert_eq!(
            users.authenticate(Some(&basic("alice", "wrong"))).await,
            Err(AuthError::Invalid)
        );
        assert_eq!(
            users.authenticate(Some(&basic("bob", "s3cret"))).await,
            Err(AuthError::Invalid)
        );
        assert_eq!(users.authenticate(None).await, Err(AuthError::Missing));
        assert_eq!(
            users.authenticate(Some(b"Bearer x")).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            users.authenticate(Some(b"Basic !!!")).await,
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

    #[test]
    fn the_cache_key_differs_between_processes() {
        let line = format!("a:{}\n", hash_password("x").unwrap());
        let one = Users::parse(&line).unwrap();
        let two = Users::parse(&line).unwrap();
        assert_ne!(one.mac("a", "x"), two.mac("a", "x"));
        assert_ne!(one.mac("a", "x"), one.mac("a", "y"));
    }
}
