//! The protocol layer the way a firmware HTTP server calls it: a request's method,
//! target and headers in, `http::check`, the response written into the server's buffer.
//! The requests cover every header the profile parses and every answer it writes.

use core::hint::black_box;

use lockwarden::http::{Disclosure, Method, Request, check};
use lockwarden::{LockTable, Scope, Tick};

/// The table type of the probes.
pub type Table = LockTable<{ crate::common::SLOTS }>;

/// How many requests [`request`] knows.
pub const REQUESTS: usize = if cfg!(feature = "http-full") { 8 } else { 6 };

/// Request `i` of the probe: headers as a server would hand them over.
pub fn request(i: usize) -> Request<'static> {
    let h = |name: &'static str, value: &'static [u8]| (name, black_box(value));
    let (method, target, headers, lockinfo): (&[u8], &[u8], [(&str, &[u8]); 3], bool) = match i {
        // LOCK: creates, with Timeout and Depth.
        0 => (
            b"LOCK",
            b"/config/network",
            [h("Timeout", b"Second-60"), h("Depth", b"infinity"), h("X", b"")],
            true,
        ),
        // A write without the token: 423 with problem+json.
        1 => (
            b"PUT",
            b"/config/network/wifi",
            [h("If", b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)"), h("X", b""), h("X", b"")],
            false,
        ),
        // A conflicting LOCK: 423.
        2 => (
            b"LOCK",
            b"/config",
            [h("Depth", b"0"), h("Timeout", b"Infinite, Second-4100000000"), h("X", b"")],
            true,
        ),
        // A refresh naming an unknown lock: 412.
        3 => (
            b"LOCK",
            b"/config/network",
            [h("If", b"</config/network> (<urn:uuid:00000000-0000-4000-8000-000000000000>)"), h("Timeout", b"Second-30"), h("X", b"")],
            false,
        ),
        // UNLOCK with a Lock-Token that names nothing: 409.
        4 => (
            b"UNLOCK",
            b"/config/network",
            [h("Lock-Token", b"<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>"), h("X", b""), h("X", b"")],
            false,
        ),
        // A malformed header: 400.
        5 => (
            b"PUT",
            b"/config/time",
            [h("If", b"(<urn:uuid:6f1d4c2a> [\"etag\"]"), h("X", b""), h("X", b"")],
            false,
        ),
        // The full profile: XML answers through Accept, and COPY/MOVE destinations.
        6 => (
            b"PUT",
            b"/config/network/wifi",
            [h("Accept", b"application/xml"), h("X", b""), h("X", b"")],
            false,
        ),
        _ => (
            b"MOVE",
            b"/config/time",
            [h("Destination", b"http://device.local/config/network/old"), h("Overwrite", b"T"), h("X", b"")],
            false,
        ),
    };
    let mut request = Request::new(Method::parse(black_box(method)), black_box(target));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if lockinfo {
        request = request.lockinfo(Scope::Exclusive, black_box("<D:href>panel</D:href>"));
    }
    request.principal(black_box("alice")).resource(black_box(true), black_box(None))
}

/// Checks `request` and writes its answer into `buf`; the length written, or 0.
#[inline(never)]
pub fn answer(table: &mut Table, now: Tick, request: &Request<'_>, buf: &mut [u8]) -> usize {
    let outcome = check(table, now, request);
    outcome
        .response_into(buf, Disclosure { owner: black_box(true) })
        .unwrap_or(0)
}

/// What the full profile adds beyond answering: the lockdiscovery property of PROPFIND.
#[cfg(feature = "http-full")]
#[allow(dead_code)] // the stack probe answers requests only
#[inline(never)]
pub fn discovery(table: &Table, now: Tick, buf: &mut [u8]) -> usize {
    use lockwarden::Path;
    use lockwarden::http::{SliceWriter, write_lockdiscovery};
    let Ok(path) = Path::<64>::new(black_box("/config/network/wifi")) else {
        return 0;
    };
    let hz = table.policy().tick_hz;
    let mut w = SliceWriter::new(buf);
    let locks = table.locks_covering(now, &path);
    match write_lockdiscovery(&mut w, locks, hz, black_box(Some("alice")), Disclosure::default()) {
        Ok(()) => w.len(),
        Err(_) => 0,
    }
}
