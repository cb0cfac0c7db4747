//! HTTP/1.1 on a connection: httparse reads the request head, `Content-Length` frames the
//! body, and the request is routed to the configuration. With the `http` feature every
//! request goes through lockwarden's one-call check first; the check's refusals (423, 412,
//! 409, 400 for a bad `If`, `Timeout`, `Depth`, `Lock-Token` or `lockinfo`) are written
//! as the core composes them.
//!
//! Framing errors close the connection after their answer: 400 for bytes that are not
//! HTTP, 431 for a head longer than the request buffer, 413 for a body longer than
//! [`MAX_BODY`], 501 for a chunked body, 417 for an expectation other than
//! `100-continue` (which is met: the connection sends `100 Continue` before the body). The next client finds the firmware serving.

use core::fmt::{self, Write};

use httparse::Status;

use super::config::{self, Rejected, Section};
use super::{Framing, REQUEST_LEN};

/// Headers read per request.
const MAX_HEADERS: usize = 24;
/// The longest request body.
pub const MAX_BODY: usize = 512;
/// The methods served, for `Allow`.
#[cfg(feature = "http")]
const ALLOW: &str = "GET, HEAD, PUT, LOCK, UNLOCK, OPTIONS";
#[cfg(not(feature = "http"))]
const ALLOW: &str = "GET, HEAD, PUT, OPTIONS";

/// A response being written into the reply buffer.
struct Reply<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflowed: bool,
}

impl<'b> Reply<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Reply {
            buf,
            len: 0,
            overflowed: false,
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len = end;
            }
            None => self.overflowed = true,
        }
    }

    /// The length written, or `None` when something did not fit.
    fn written(&self) -> Option<usize> {
        (!self.overflowed).then_some(self.len)
    }

    /// The response's length; a response that did not fit becomes a bare 500.
    fn finish(self) -> usize {
        match self.written() {
            Some(len) => len,
            None => self.failed(),
        }
    }

    /// Replaces whatever was written with a bare 500 that closes the connection.
    fn failed(self) -> usize {
        const FAILED: &[u8] =
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        match self.buf.get_mut(..FAILED.len()) {
            Some(room) => {
                room.copy_from_slice(FAILED);
                FAILED.len()
            }
            None => 0,
        }
    }
}

impl Write for Reply<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        if self.overflowed {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// What a request is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resource {
    /// `/config`: every section (read only; a lock on it covers them all).
    All,
    Section(Section),
}

impl Resource {
    /// The resource at a request target's path; `None` for anything else. Exact names
    /// only: an alias (`//`, `%6e`, a trailing slash) is not found rather than served
    /// past a lock.
    fn of(target: &str) -> Option<Resource> {
        let path = target.split('?').next().unwrap_or_default();
        if path == "/config" {
            return Some(Resource::All);
        }
        let name = path.strip_prefix("/config/")?;
        Section::ALL
            .into_iter()
            .find(|section| section.name() == name)
            .map(Resource::Section)
    }

    /// The entity tag: the section's version, or the sum of all of them.
    fn version(self) -> u32 {
        match self {
            Resource::Section(section) => config::version(section),
            Resource::All => Section::ALL.into_iter().fold(0u32, |sum, section| {
                sum.wrapping_add(config::version(section))
            }),
        }
    }
}

/// An entity tag, `"<version>"`, as text.
struct ETag {
    text: [u8; 12],
    len: usize,
}

impl ETag {
    fn of(version: u32) -> Self {
        let mut etag = ETag {
            text: [0; 12],
            len: 0,
        };
        let mut w = Reply::new(&mut etag.text);
        let _ = write!(w, "\"{version}\"");
        // Ten digits and two quotes always fit.
        etag.len = w.written().unwrap_or(0);
        etag
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.text.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

/// Answers the request at the start of `received`, once it is all there.
pub fn respond(received: &[u8], now: u32, out: &mut [u8]) -> Framing {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(received) {
        Ok(Status::Complete(head)) => head,
        Ok(Status::Partial) if received.len() < REQUEST_LEN => return Framing::Incomplete,
        Ok(Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return fail(
                out,
                received,
                431,
                "Request Header Fields Too Large",
                "the request head is longer than the firmware reads",
            );
        }
        Err(_) => return fail(out, received, 400, "Bad Request", "not an HTTP/1.1 request"),
    };

    let mut body_len = None;
    let mut close = request.version == Some(0);
    let mut expects_continue = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            // Two lengths that disagree would frame the next request differently for
            // this server and for a proxy in front of it (RFC 9112 §6.3).
            match (parse_length(header.value), body_len) {
                (Some(len), None) => body_len = Some(len),
                (Some(len), Some(earlier)) if len == earlier => {}
                _ => {
                    return fail(
                        out,
                        received,
                        400,
                        "Bad Request",
                        "Content-Length: one number",
                    );
                }
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return fail(
                out,
                received,
                501,
                "Not Implemented",
                "chunked bodies are not accepted; send Content-Length",
            );
        } else if header.name.eq_ignore_ascii_case("expect") {
            if !header.value.eq_ignore_ascii_case(b"100-continue") {
                return fail(
                    out,
                    received,
                    417,
                    "Expectation Failed",
                    "the only expectation met is 100-continue",
                );
            }
            expects_continue = true;
        } else if header.name.eq_ignore_ascii_case("connection")
            && header.value.eq_ignore_ascii_case(b"close")
        {
            close = true;
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY {
        return too_large(out, received, &request);
    }
    let end = head + body_len;
    let Some(body) = received.get(head..end) else {
        // The head fits; the body is still on its way.
        return if expects_continue {
            Framing::Continue
        } else {
            Framing::Incomplete
        };
    };

    let method = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let len = match Resource::of(target) {
        None => problem(
            out,
            404,
            "Not Found",
            "the configuration lives at /config/{network,wifi,display}",
            close,
        ),
        Some(resource) => serve(&request, method, target, resource, body, now, out, close),
    };
    Framing::Answered {
        consumed: end,
        len,
        close,
    }
}

/// A `Content-Length` value: digits only.
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0, |n, digit| n * 10 + usize::from(digit - b'0')),
    )
}

/// Answers a request that cannot be framed and closes the connection: the rest of the
/// buffer is dropped with it.
fn fail(out: &mut [u8], received: &[u8], status: u16, reason: &str, detail: &str) -> Framing {
    Framing::Answered {
        consumed: received.len(),
        len: problem(out, status, reason, detail, true),
        close: true,
    }
}

/// A problem+json answer (RFC 9457) for what is not about locks: `about:blank`, whose
/// title is the reason phrase.
fn problem(out: &mut [u8], status: u16, reason: &str, detail: &str, close: bool) -> usize {
    typed_problem(out, (status, reason), None, detail, close)
}

/// A problem+json answer; `kind` is the problem type under the project's base URI and
/// its title, `None` for `about:blank`. The detail is static text without quotes.
fn typed_problem(
    out: &mut [u8],
    (status, reason): (u16, &str),
    kind: Option<(&str, &str)>,
    detail: &str,
    close: bool,
) -> usize {
    let mut body = [0u8; 320];
    let mut b = Reply::new(&mut body);
    let _ = match kind {
        Some((name, title)) => write!(
            b,
            "{{\"type\":\"https://lockwarden.dev/problems/{name}\",\"title\":\"{title}\","
        ),
        None => write!(b, "{{\"type\":\"about:blank\",\"title\":\"{reason}\","),
    };
    let _ = write!(b, "\"status\":{status},\"detail\":\"{detail}\"}}");
    let Some(len) = b.written() else {
        return Reply::new(out).failed();
    };
    let mut w = Reply::new(out);
    let _ = write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\n"
    );
    if status == 405 {
        let _ = write!(w, "Allow: {ALLOW}\r\n");
    }
    finish(w, close, body.get(..len).unwrap_or_default(), false)
}

/// Ends the head with `Connection` and `Content-Length`, then the body (none for HEAD).
fn finish(mut w: Reply<'_>, close: bool, body: &[u8], head_only: bool) -> usize {
    if close {
        let _ = w.write_str("Connection: close\r\n");
    }
    let _ = write!(w, "Content-Length: {}\r\n\r\n", body.len());
    if !head_only {
        w.bytes(body);
    }
    w.finish()
}

/// The 413 for a body over [`MAX_BODY`].
fn too_large(out: &mut [u8], received: &[u8], request: &httparse::Request<'_, '_>) -> Framing {
    #[cfg(feature = "http")]
    {
        let refusal = Refusal::BodyTooLarge {
            limit: MAX_BODY as u32,
        };
        let method = request.method.unwrap_or_default().as_bytes();
        let accept = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("accept"))
            .map(|h| h.value);
        Framing::Answered {
            consumed: received.len(),
            len: refused(out, refusal, Some((method, accept)), true),
            close: true,
        }
    }
    #[cfg(not(feature = "http"))]
    let _ = request;
    #[cfg(not(feature = "http"))]
    fail(
        out,
        received,
        413,
        "Content Too Large",
        "the body is longer than 512 bytes",
    )
}

/// The 408 for a request that stopped arriving.
pub fn timed_out(out: &mut [u8], limit_secs: u32) -> usize {
    #[cfg(feature = "http")]
    {
        refused(out, Refusal::RequestTimeout { limit_secs }, None, true)
    }
    #[cfg(not(feature = "http"))]
    {
        let _ = limit_secs;
        problem(
            out,
            408,
            "Request Timeout",
            "the request did not arrive in time",
            true,
        )
    }
}

/// Serves a request for a known resource.
#[allow(clippy::too_many_arguments)]
fn serve(
    request: &httparse::Request<'_, '_>,
    method: &str,
    target: &str,
    resource: Resource,
    body: &[u8],
    now: u32,
    out: &mut [u8],
    close: bool,
) -> usize {
    let head_only = method == "HEAD";
    match method {
        "GET" | "HEAD" | "PUT" | "OPTIONS" => {}
        #[cfg(feature = "http")]
        "LOCK" | "UNLOCK" => {}
        _ => return problem(out, 405, "Method Not Allowed", "see Allow", close),
    }
    if method == "PUT" && resource == Resource::All {
        return problem(
            out,
            405,
            "Method Not Allowed",
            "PUT one section at a time: /config/{network,wifi,display}",
            close,
        );
    }

    #[cfg(feature = "http")]
    let write = match locking::decide(request, method, target, resource, body, now, out, close) {
        locking::Decision::Answered(len) => return len,
        locking::Decision::Allowed(write) => write,
    };
    #[cfg(not(feature = "http"))]
    let write = {
        let _ = (request, target, now);
        (method == "PUT").then(|| match resource {
            Resource::Section(section) => config::replace(section, body),
            Resource::All => Err(Rejected::TooLarge),
        })
    };

    match method {
        "OPTIONS" => {
            let mut w = Reply::new(out);
            let _ = write!(
                w,
                "HTTP/1.1 204 No Content\r\nAllow: {ALLOW}\r\nDAV: 1, 2\r\n"
            );
            finish(w, close, b"", false)
        }
        "PUT" => match write {
            Some(Ok(version)) => {
                let mut w = Reply::new(out);
                let _ = write!(
                    w,
                    "HTTP/1.1 204 No Content\r\nETag: {}\r\n",
                    ETag::of(version).as_str()
                );
                finish(w, close, b"", false)
            }
            Some(Err(Rejected::Invalid(why))) => problem(out, 400, "Bad Request", why, close),
            // PROTOCOL.md: a document over the store's limit is 507, naming the limit.
            Some(Err(Rejected::TooLarge)) => typed_problem(
                out,
                (507, "Insufficient Storage"),
                Some(("store-full", "Configuration store full")),
                "the section was not changed: stored, it would exceed the 192 bytes each section holds",
                close,
            ),
            None => problem(
                out,
                500,
                "Internal Server Error",
                "the write was not performed",
                close,
            ),
        },
        _ => get(resource, out, close, head_only),
    }
}

/// The JSON of a section, or of all of them.
fn get(resource: Resource, out: &mut [u8], close: bool, head_only: bool) -> usize {
    let mut body = [0u8; 4 * config::DOCUMENT_LEN];
    let mut b = Reply::new(&mut body);
    match resource {
        Resource::Section(section) => config::read(section, |json, _| b.bytes(json)),
        Resource::All => {
            for (i, section) in Section::ALL.into_iter().enumerate() {
                b.bytes(if i == 0 { b"{\"" } else { b",\"" });
                b.bytes(section.name().as_bytes());
                b.bytes(b"\":");
                config::read(section, |json, _| b.bytes(json));
            }
            b.bytes(b"}");
        }
    }
    let Some(len) = b.written() else {
        return Reply::new(out).failed();
    };
    let mut w = Reply::new(out);
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: {}\r\nCache-Control: no-cache\r\n",
        ETag::of(resource.version()).as_str()
    );
    finish(w, close, body.get(..len).unwrap_or_default(), head_only)
}

#[cfg(feature = "http")]
use lockwarden::http::Refusal;

/// A refusal the server found itself (413, 408, a bad `lockinfo`), written by the core.
#[cfg(feature = "http")]
/// The body's format follows the request's method and `Accept` (PROTOCOL.md); a request
/// whose head never arrived whole (408) has neither, and gets problem+json.
fn refused(
    out: &mut [u8],
    refusal: Refusal<{ crate::shared::PATH_LEN }, { crate::shared::OWNER_LEN }>,
    request: Option<(&[u8], Option<&[u8]>)>,
    close: bool,
) -> usize {
    use lockwarden::http::{BodyFormat, Method, Outcome};
    let (method, accept) = request.unwrap_or((b"GET", None));
    let format = BodyFormat::negotiate(Method::parse(method), accept);
    locking::write_outcome(out, &Outcome::Refused { refusal, format }, close)
}

/// The lock check in front of every request.
#[cfg(feature = "http")]
mod locking {
    use core::fmt::Write;

    use lockwarden::Instant;
    use lockwarden::http::{Disclosure, Method, Outcome, Refusal, Request, check};
    use lockwarden::sync::SharedLockTable;

    use super::{ETag, Reply, Resource, config, refused};
    use crate::shared::{self, OWNER_LEN, PATH_LEN, TABLE};

    /// Who holds a lock is shown in refusals (PROTOCOL.md).
    const DISCLOSURE: Disclosure = Disclosure { owner: true };

    pub enum Decision {
        /// The response is written.
        Answered(usize),
        /// Serve the request; a PUT was already performed, with this result.
        Allowed(Option<Result<u32, config::Rejected>>),
    }

    /// Asks the table about the request and, for an allowed PUT, writes the section
    /// under the same lock of the table, so that no lock is taken in between.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        request: &httparse::Request<'_, '_>,
        method: &str,
        target: &str,
        resource: Resource,
        body: &[u8],
        now: u32,
        out: &mut [u8],
        close: bool,
    ) -> Decision {
        let etag = ETag::of(resource.version());
        // The owner as markup that stands alone: it comes back in lockdiscovery.
        let mut owner = [0u8; OWNER_LEN];
        let method_kind = Method::parse(method.as_bytes());
        let mut lock_request =
            Request::new(method_kind, target.as_bytes()).resource(true, Some(etag.as_str()));
        let mut accept = None;
        for header in request.headers.iter() {
            lock_request = lock_request.header(header.name, header.value);
            if header.name.eq_ignore_ascii_case("accept") {
                accept = Some(header.value);
            }
        }
        match (method_kind, body.is_empty()) {
            // A LOCK without a body is a refresh.
            (Method::Lock, false) => match lockinfo::parse(body)
                .and_then(|info| Ok((info.scope, info.owner_markup(&mut owner)?)))
            {
                Ok((scope, owner)) => lock_request = lock_request.lockinfo(scope, owner),
                Err(error) => {
                    let request = Some((method.as_bytes(), accept));
                    let refusal = Refusal::BadLockInfo(error);
                    return Decision::Answered(refused(out, refusal, request, close));
                }
            },
            // RFC 4918 §8.4: a body the server would ignore is refused.
            (Method::Unlock, false) => {
                let refusal = Refusal::UnexpectedBody {
                    method: method_kind,
                };
                let request = Some((method.as_bytes(), accept));
                return Decision::Answered(refused(out, refusal, request, close));
            }
            _ => {}
        }

        let (outcome, written) = TABLE.with(|table| {
            let outcome = check(table, Instant(now), &lock_request);
            let written = match (outcome.is_allowed(), method_kind, resource) {
                (true, Method::Put, Resource::Section(section)) => {
                    Some(config::replace(section, body))
                }
                _ => None,
            };
            (outcome, written)
        });
        if matches!(method_kind, Method::Lock | Method::Unlock) {
            shared::sync_led();
        }
        if outcome.is_allowed() {
            return Decision::Allowed(written);
        }
        Decision::Answered(write_outcome(out, &outcome, close))
    }

    /// Writes the core's outcome: its status, its headers, `Connection` when this is the
    /// last response, `Content-Length`, its body.
    pub fn write_outcome(
        out: &mut [u8],
        outcome: &Outcome<PATH_LEN, OWNER_LEN>,
        close: bool,
    ) -> usize {
        let mut w = Reply::new(out);
        let (status, reason) = outcome.status();
        let _ = write!(w, "HTTP/1.1 {status} {reason}\r\n");
        let mut says_close = false;
        for header in outcome.headers() {
            says_close |= header.name == "Connection";
            let _ = write!(w, "{}: {}\r\n", header.name, header.value);
        }
        if close && !says_close {
            let _ = w.write_str("Connection: close\r\n");
        }
        let _ = write!(
            w,
            "Content-Length: {}\r\n\r\n",
            outcome.body_len(DISCLOSURE)
        );
        let _ = outcome.write_body(&mut w, DISCLOSURE);
        w.finish()
    }
}
