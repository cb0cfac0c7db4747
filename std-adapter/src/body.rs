//! Request bodies read whole, bounded in size and in time, before anything that
//! serialises requests (the write gate, the lock table) sees the request: a slow or an
//! oversized upload stalls and costs only its own connection.

use std::time::Duration;

use axum::body::{Body, Bytes};
use http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use lockwarden::http::{BodyFormat, Outcome, Refusal};

use crate::request::method_of;

/// How much of a request body a server reads, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The largest body accepted, in bytes (413 beyond).
    pub max_bytes: usize,
    /// The time the whole body may take to arrive, from the end of the headers (408
    /// beyond, and the connection is closed).
    pub timeout: Duration,
}

impl BodyLimits {
    /// 64 KiB within 10 seconds: a configuration section or a `lockinfo` body, sent by a
    /// client on a slow link.
    pub const DEFAULT: BodyLimits = BodyLimits {
        max_bytes: 64 * 1024,
        timeout: Duration::from_secs(10),
    };
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits::DEFAULT
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// Larger than [`BodyLimits::max_bytes`], by its `Content-Length` or as it arrived.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Not complete within [`BodyLimits::timeout`].
    TimedOut {
        /// The limit.
        limit: Duration,
    },
    /// The connection failed or the framing was broken before the body was complete.
    Broken,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            BodyError::TimedOut { limit } => write!(
                f,
                "the request body did not arrive within {} seconds",
                limit.as_secs()
            ),
            BodyError::Broken => f.write_str("the request body ended before it was complete"),
        }
    }
}

impl std::error::Error for BodyError {}

impl BodyError {
    /// The protocol layer's refusal: 413, 408 (which closes the connection) or 400.
    pub fn refusal<const P: usize, const O: usize>(&self) -> Refusal<P, O> {
        match *self {
            BodyError::TooLarge { limit } => Refusal::BodyTooLarge {
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
            },
            BodyError::TimedOut { limit } => Refusal::RequestTimeout {
                limit_secs: u32::try_from(limit.as_secs()).unwrap_or(u32::MAX),
            },
            BodyError::Broken => Refusal::IncompleteBody,
        }
    }

    /// The refusal as an outcome, in the body format `parts` negotiates.
    pub fn outcome<const P: usize, const O: usize>(&self, parts: &Parts) -> Outcome<P, O> {
        let accept = parts
            .headers
            .get(http::header::ACCEPT)
            .map(|v| v.as_bytes());
        Outcome::Refused {
            refusal: self.refusal(),
            format: BodyFormat::negotiate(method_of(&parts.method), accept),
        }
    }
}

/// Reads the whole body of the request with `parts`, within `limits`. A declared
/// `Content-Length` above the limit is refused before a byte is read.
pub async fn read_body(parts: &Parts, body: Body, limits: BodyLimits) -> Result<Bytes, BodyError> {
    let too_large = BodyError::TooLarge {
        limit: limits.max_bytes,
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return Err(too_large);
    }
    if http_body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    match tokio::time::timeout(
        limits.timeout,
        Limited::new(body, limits.max_bytes).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large),
        Ok(Err(_)) => Err(BodyError::Broken),
        Err(_) => Err(BodyError::TimedOut {
            limit: limits.timeout,
        }),
    }
}
