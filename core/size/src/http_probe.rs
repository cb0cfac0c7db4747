//! The protocol layer the way a firmware HTTP server calls it: a request's method,
//! target and headers in, `http::check`, the response written into the server's buffer.
//! The requests cover every header the profile parses and every answer it writes.

use core::hint::black_box;

use lockwarden::http::{Disclosure, Method, Request, check};
use lockwarden::{Instant, LockTable, Scope};

/// The table type of the probes.
pub type Table = LockTable<{ crate::common::SLOTS }>;

/// How many requests [`request`] knows.
pub const REQUESTS: usize = if cfg!(feature = "http-full") { 8 } else { 6 };

/// One request as a firmware's HTTP parser hands it over: method, target, headers
/// (name and value), and whether it carries a lockinfo body.
type Spec = (
    &'static [u8],
    &'static [u8],
    [(&'static str, &'static [u8]); 2],
    bool,
);

/// The requests, as data: a firmware checks the requests it parsed in one place, so the
/// probe calls the builder from one loop rather than once per header of each request.
static REQUESTS_SPECS: [Spec; 8] = [
    // LOCK: creates, with Timeout and Depth.
    (
        b"LOCK",
        b"/config/network",
        [("Timeout", b"Second-60"), ("Depth", b"infinity")],
        true,
    ),
    // A write naming an unknown token: 412 with problem+json.
    (
        b"PUT",
        b"/config/network/wifi",
        [
            ("If", b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)"),
            ("X", b""),
        ],
        false,
    ),
    // A conflicting LOCK: 423.
    (
        b"LOCK",
        b"/config",
        [("Depth", b"0"), ("Timeout", b"Infinite, Second-4100000000")],
        true,
    ),
    // A refresh naming an unknown lock: 412.
    (
        b"LOCK",
        b"/config/network",
        [
            (
                "If",
                b"</config/network> (<urn:uuid:00000000-0000-4000-8000-000000000000>)",
            ),
            ("Timeout", b"Second-30"),
        ],
        false,
    ),
    // UNLOCK with a Lock-Token that names nothing: 409.
    (
        b"UNLOCK",
        b"/config/network",
        [
            (
                "Lock-Token",
                b"<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>",
            ),
            ("X", b""),
        ],
        false,
    ),
    // A malformed header: 400.
    (
        b"PUT",
        b"/config/time",
        [("If", b"(<urn:uuid:6f1d4c2a> [\"etag\"]"), ("X", b"")],
        false,
    ),
    // The full profile: XML answers through Accept, and COPY/MOVE destinations.
    (
        b"PUT",
        b"/config/network/wifi",
        [("Accept", b"application/xml"), ("X", b"")],
        false,
    ),
    (
        b"MOVE",
        b"/config/time",
        [
            ("Destination", b"http://device.local/config/network/old"),
            ("Overwrite", b"T"),
        ],
        false,
    ),
];

/// Request `i` of the probe: headers as a server would hand them over.
pub fn request(i: usize) -> Request<'static> {
    let (method, target, headers, lockinfo) = black_box(&REQUESTS_SPECS)[i % REQUESTS_SPECS.len()];
    let mut request = Request::new(Method::parse(method), target);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if lockinfo {
        request = request.lockinfo(Scope::Exclusive, black_box("<D:href>panel</D:href>"));
    }
    request
        .principal(black_box("alice"))
        .resource(black_box(true), black_box(None))
}

/// Checks `request` and writes its answer into `buf`; the length written, or 0.
#[inline(never)]
pub fn answer(table: &mut Table, now: Instant, request: &Request<'_>, buf: &mut [u8]) -> usize {
    let outcome = check(table, now, request);
    outcome
        .response_into(
            buf,
            Disclosure {
                owner: black_box(true),
            },
        )
        .unwrap_or(0)
}

/// What the full profile adds beyond answering: the lockdiscovery property of PROPFIND.
#[cfg(feature = "http-full")]
#[allow(dead_code)] // the stack probe answers requests only
#[inline(never)]
pub fn discovery(table: &Table, now: Instant, buf: &mut [u8]) -> usize {
    use lockwarden::Path;
    use lockwarden::http::{SliceWriter, write_lockdiscovery};
    let Ok(path) = Path::<64>::new(black_box("/config/network/wifi")) else {
        return 0;
    };
    let hz = table.policy().tick_hz;
    let mut w = SliceWriter::new(buf);
    let locks = table.locks_covering(now, &path);
    match write_lockdiscovery(
        &mut w,
        locks,
        hz,
        black_box(Some("alice")),
        Disclosure::default(),
    ) {
        Ok(()) => w.len(),
        Err(_) => 0,
    }
}
