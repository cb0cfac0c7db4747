//! The HTTP/WebDAV protocol layer (feature `http`): what an HTTP server needs to speak
//! locking correctly, without `std` and without a heap.
//!
//! - Parsing request headers on borrowed bytes: [`IfHeader`] (RFC 4918 §10.4),
//!   [`parse_lock_token`] (§10.5), [`parse_timeout`] (§10.7), [`DepthHeader`] (§10.2),
//!   [`uri_path_of`] for `Destination` (§10.3). Every parser is total.
//! - Deciding: [`check`] takes a [`Request`] and the table and returns the whole
//!   [`Outcome`]: allowed, a lock granted, refreshed or released, or a [`Refusal`].
//! - Composing: [`Refusal::meaning`] is the one mapping from outcome to status code,
//!   problem type and WebDAV precondition; [`Outcome::headers`],
//!   [`Outcome::write_body`] and [`Outcome::response_into`] write the response into a
//!   caller's buffer or [`core::fmt::Write`]; [`write_lockdiscovery`] writes the
//!   `lockdiscovery` property for PROPFIND.
//!
//! A firmware server adds locking with one call per request:
//!
//! ```
//! use lockwarden::{LockTable, Policy, Instant};
//! use lockwarden::http::{check, Disclosure, Method, Request};
//!
//! let mut table: LockTable<8> = LockTable::new(Policy::new(1000));
//! table.seed_tokens([7; 16]);
//! let headers: [(&str, &[u8]); 1] = [("Accept", b"application/json")];
//! let mut request = Request::new(Method::parse(b"PUT"), b"/config/wifi");
//! for (name, value) in headers {
//!     request = request.header(name, value);
//! }
//! let outcome = check(&mut table, Instant(0), &request);
//! if !outcome.is_allowed() {
//!     let mut buf = [0u8; 1024];
//!     let n = outcome.response_into(&mut buf, Disclosure::default()).unwrap();
//!     // send &buf[..n]
//! #   let _ = n;
//! }
//! ```

// The stages of the check and the parsers stay functions of their own (`inline(never)`):
// inlined into one they cost 7 KB more flash and 900 B more stack on a Cortex-M.
mod accept;
mod check;
mod condition;
mod headers;
mod method;
mod outcome;
mod owner;
mod render;
mod write;

pub use accept::{BodyFormat, XML_CONTENT_TYPE};
pub use check::{LockInfo, Request, check};
pub use condition::{
    Condition, EntityTag, IfError, IfErrorKind, IfHeader, List, MAX_CODED_URL, MAX_CONDITIONS,
    MAX_LISTS, ResourceState, Subject,
};
pub use headers::{
    DepthError, DepthHeader, DestinationError, LockTokenError, OverwriteError, TimeType,
    TimeoutError, lock_token_of, parse_lock_token, parse_overwrite, parse_timeout, uri_path_of,
};
pub use method::Method;
pub use outcome::{
    Expiry, HeaderError, HeldLock, LockDetails, LockInfoError, Meaning, Outcome, PROBLEM_BASE,
    PathSource, Refusal,
};
pub use owner::OwnerText;
#[cfg(feature = "http-full")]
pub use owner::XmlText;
#[cfg(feature = "http-full")]
pub use render::write_lockdiscovery;
pub use render::{Disclosure, Header, HeaderValue, TimeoutValue, may_see_token};
pub use write::{BufferTooSmall, ByteCounter, SliceWriter};
