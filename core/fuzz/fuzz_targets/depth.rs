//! The `Depth` parser is total and accepts exactly 0, 1 and infinity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwarden::http::DepthHeader;

fuzz_target!(|data: &[u8]| {
    let parsed = DepthHeader::parse(data);
    let text = String::from_utf8_lossy(data);
    let trimmed = text.trim_matches([' ', '\t']);
    let expected = matches!(trimmed, "0" | "1") || trimmed.eq_ignore_ascii_case("infinity");
    assert_eq!(
        parsed.is_ok(),
        expected && std::str::from_utf8(data).is_ok()
    );
    if let Ok(depth) = parsed {
        let _ = depth.lock_depth();
    }
});
