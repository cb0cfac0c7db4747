//! The `Lock-Token` parser is total and returns what lies between the brackets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwarden::http::{lock_token_of, parse_lock_token};

fuzz_target!(|data: &[u8]| {
    if let Ok(uri) = parse_lock_token(data) {
        let text = std::str::from_utf8(data).expect("an accepted header is ASCII");
        let trimmed = text.trim_matches([' ', '\t']);
        assert_eq!(&trimmed[1..trimmed.len() - 1], uri);
        if let Some(token) = lock_token_of(uri) {
            assert!(uri.eq_ignore_ascii_case(&token.to_string()));
        }
    }
});
