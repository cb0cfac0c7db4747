//! From the core's outcome of a lock check to an `http` response, and to axum's.
//!
//! The status, the headers and the body are all the core's ([`Outcome::status`],
//! [`Outcome::headers`], [`Outcome::write_body`]); this module only moves them into
//! `http` types.

#[cfg(feature = "axum")]
use axum::response::IntoResponse;
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};
use lockwarden::http::{BodyFormat, Disclosure, Outcome, Refusal};

use crate::manager::{DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN};

/// The `http` response for an outcome: its status, headers and body bytes.
///
/// [`Outcome::Allowed`] gives an empty 200: a server serves the request instead.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{BodyFormat, Disclosure, Outcome, Refusal};
/// use lockwarden_std::response::http_response;
///
/// let outcome: Outcome<64, 64> =
///     Outcome::Refused { refusal: Refusal::PreconditionFailed, format: BodyFormat::ProblemJson };
/// let response = http_response(&outcome, Disclosure::default());
/// assert_eq!(response.status(), 412);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// assert!(String::from_utf8_lossy(response.body()).contains("\"status\":412"));
/// ```
pub fn http_response<const P: usize, const O: usize>(
    outcome: &Outcome<P, O>,
    disclosure: Disclosure,
) -> Response<Vec<u8>> {
    let mut body = String::with_capacity(outcome.body_len(disclosure));
    // Writing into a String cannot fail.
    let _ = outcome.write_body(&mut body, disclosure);
    let mut response = Response::new(body.into_bytes());
    let (status, _reason) = outcome.status();
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for header in outcome.headers() {
        // The core's header names and values are plain ASCII tokens.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_str(header.value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    response
}

/// The answer to a lock check, as an axum response; keeps the outcome so that the handler
/// can look at it first (a `LOCK` that answers 201 asks the server to create the resource).
#[derive(Debug, Clone)]
pub struct LockResponse<const P: usize = DEFAULT_PATH_LEN, const O: usize = DEFAULT_OWNER_LEN> {
    /// The core's outcome.
    pub outcome: Outcome<P, O>,
    /// What refusals show of other clients' locks.
    pub disclosure: Disclosure,
}

impl<const P: usize, const O: usize> LockResponse<P, O> {
    /// The response for `outcome`.
    pub fn new(outcome: Outcome<P, O>, disclosure: Disclosure) -> Self {
        LockResponse {
            outcome,
            disclosure,
        }
    }

    /// The `http` response, with the body as bytes.
    pub fn to_http(&self) -> Response<Vec<u8>> {
        http_response(&self.outcome, self.disclosure)
    }
}

#[cfg(feature = "axum")]
impl<const P: usize, const O: usize> IntoResponse for LockResponse<P, O> {
    fn into_response(self) -> axum::response::Response {
        self.to_http().map(axum::body::Body::from)
    }
}

/// A request refused by a lock check: 423, 412, 409, 403, 400, 414 or 503, with the
/// headers and body of PROTOCOL.md. Handlers can return it as an error.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{BodyFormat, Refusal};
/// use lockwarden_std::LockRejection;
///
/// let rejection: LockRejection<64, 64> =
///     LockRejection::new(Refusal::UnlockTokenMismatch, BodyFormat::DavXml);
/// let response = rejection.to_http();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers()["content-type"], "application/xml; charset=\"utf-8\"");
/// ```
#[derive(Debug, Clone)]
pub struct LockRejection<const P: usize = DEFAULT_PATH_LEN, const O: usize = DEFAULT_OWNER_LEN> {
    /// Why.
    pub refusal: Refusal<P, O>,
    /// The body format the client gets.
    pub format: BodyFormat,
    /// What the body shows of other clients' locks.
    pub disclosure: Disclosure,
}

impl<const P: usize, const O: usize> LockRejection<P, O> {
    /// A rejection in `format`, naming the owner of a blocking lock.
    pub fn new(refusal: Refusal<P, O>, format: BodyFormat) -> Self {
        LockRejection {
            refusal,
            format,
            disclosure: Disclosure::default(),
        }
    }

    /// The rejection of a refused outcome; `None` for any other outcome.
    pub fn from_outcome(outcome: Outcome<P, O>, disclosure: Disclosure) -> Option<Self> {
        match outcome {
            Outcome::Refused { refusal, format } => Some(LockRejection {
                refusal,
                format,
                disclosure,
            }),
            _ => None,
        }
    }

    /// The `http` response, with the body as bytes.
    pub fn to_http(&self) -> Response<Vec<u8>> {
        let outcome = Outcome::Refused {
            refusal: self.refusal.clone(),
            format: self.format,
        };
        http_response(&outcome, self.disclosure)
    }
}

#[cfg(feature = "axum")]
impl<const P: usize, const O: usize> IntoResponse for LockRejection<P, O> {
    fn into_response(self) -> axum::response::Response {
        self.to_http().map(axum::body::Body::from)
    }
}

impl<const P: usize, const O: usize> std::fmt::Display for LockRejection<P, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meaning = self.refusal.meaning();
        write!(f, "{} {}: ", meaning.status, meaning.title)?;
        self.refusal.write_detail(f)
    }
}

impl<const P: usize, const O: usize> std::error::Error for LockRejection<P, O> {}
