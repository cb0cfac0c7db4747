//! HTTP Basic authentication (RFC 7617) against the users given on the command line. The
//! authenticated user name is the lock principal.

use std::collections::HashMap;
use std::fmt;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use headers::HeaderMapExt;
use headers::authorization::{Authorization, Basic};
use lockwarden::MAX_PRINCIPAL_LEN;

/// The users allowed in; empty means no authentication and anonymous locks.
#[derive(Debug, Default)]
pub struct Users {
    passwords: HashMap<String, String>,
}

/// A `--user` value that cannot be used.
#[derive(Debug)]
pub struct BadUser(String);

impl fmt::Display for BadUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadUser {}

impl Users {
    /// Parses `NAME:PASSWORD` entries.
    pub fn parse(entries: &[String]) -> Result<Self, BadUser> {
        let mut passwords = HashMap::new();
        for entry in entries {
            let Some((name, password)) = entry.split_once(':') else {
                return Err(BadUser(format!("--user {entry:?} is not NAME:PASSWORD")));
            };
            if name.is_empty() || name.len() > MAX_PRINCIPAL_LEN {
                return Err(BadUser(format!(
                    "--user name {name:?} must have 1 to {MAX_PRINCIPAL_LEN} bytes (a lock principal)"
                )));
            }
            passwords.insert(name.to_owned(), password.to_owned());
        }
        Ok(Users { passwords })
    }

    /// The principal of a request: `None` when no users are configured, the user name
    /// when the credentials match, otherwise [`Unauthorized`].
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Option<String>, Unauthorized> {
        if self.passwords.is_empty() {
            return Ok(None);
        }
        let Some(Authorization(basic)) = headers.typed_get::<Authorization<Basic>>() else {
            return Err(Unauthorized);
        };
        match self.passwords.get(basic.username()) {
            Some(password) if same(password.as_bytes(), basic.password().as_bytes()) => {
                Ok(Some(basic.username().to_owned()))
            }
            _ => Err(Unauthorized),
        }
    }
}

/// Compares without stopping at the first difference, so the time taken does not tell
/// how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request without valid credentials: answered `401` with a Basic challenge.
#[derive(Debug)]
pub struct Unauthorized;

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::UNAUTHORIZED, "authentication required\n").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"webdav\""),
        );
        response
    }
}
