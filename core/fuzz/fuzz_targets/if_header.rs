//! The `If` parser is total, and what it accepts prints back to an equal header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwarden::http::{IfHeader, ResourceState};
use lockwarden::{LockToken, Path};

struct Everything;

impl ResourceState<64> for Everything {
    fn has_lock(&self, _: &Path<64>, token: &LockToken) -> bool {
        token.as_bytes()[0] & 1 == 1
    }
    fn etag(&self, _: &Path<64>) -> Option<&str> {
        Some("\"a\"")
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = IfHeader::parse(data) {
        let printed = header.to_string();
        let again = IfHeader::parse(printed.as_bytes()).expect("a printed header parses");
        assert_eq!(again, header);
        assert!(header.lists().count() <= lockwarden::http::MAX_LISTS);
        let _ = header.submitted_tokens();
        let _ = header.evaluate(&Path::<64>::new("/config/a").unwrap(), &Everything);
    }
});
