//! The whole lock check is total: arbitrary headers against a table with locks, and
//! every outcome renders into a buffer without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwarden::http::{Disclosure, Method, Request, check};
use lockwarden::{Depth, LockRequest, LockTable, Path, Policy, Scope, Instant};

const METHODS: [&[u8]; 8] = [
    b"PUT",
    b"DELETE",
    b"MOVE",
    b"COPY",
    b"LOCK",
    b"UNLOCK",
    b"PROPFIND",
    b"MKCOL",
];

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let mut next = || parts.next().unwrap_or(&[]);
    let selector = next();
    let method = METHODS[usize::from(selector.first().copied().unwrap_or(0)) % METHODS.len()];
    let target = next();
    let mut table: LockTable<4, 32, 16> = LockTable::new(Policy::new(10));
    table.seed_tokens([1; 16]);
    let root = Path::new("/a").unwrap();
    let _ = table.lock(
        Instant(0),
        &LockRequest::shared(&root, "o").depth(Depth::Infinity),
    );
    let mut req = Request::new(Method::parse(method), target)
        .header("If", next())
        .header("Timeout", next())
        .header("Depth", next())
        .header("Lock-Token", next())
        .header("Accept", next())
        .header("Destination", next())
        .resource(
            selector.get(1).is_some_and(|b| b & 1 == 1),
            std::str::from_utf8(next()).ok(),
        );
    if selector.get(1).is_some_and(|b| b & 2 == 2) {
        req = req.lockinfo(Scope::Exclusive, std::str::from_utf8(next()).unwrap_or("x"));
    }
    let outcome = check(&mut table, Instant(5), &req);
    let mut buf = [0u8; 2048];
    let _ = outcome.response_into(&mut buf, Disclosure::default());
});
