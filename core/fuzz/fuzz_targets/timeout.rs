//! The `Timeout` parser is total and clamps instead of wrapping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwarden::http::{TimeType, parse_timeout};

fuzz_target!(|data: &[u8]| {
    if let Ok(choice) = parse_timeout(data) {
        // The first usable choice is the first element that is Second-N or Infinite.
        let text = String::from_utf8_lossy(data).to_ascii_lowercase();
        let first = text
            .split(',')
            .map(|e| e.trim_matches([' ', '\t']))
            .find(|e| *e == "infinite" || e.starts_with("second-"))
            .expect("a usable choice exists");
        match choice {
            TimeType::Infinite => assert_eq!(first, "infinite"),
            TimeType::Seconds(s) => {
                let digits = &first["second-".len()..];
                match digits.parse::<u64>() {
                    Ok(n) if n <= u64::from(u32::MAX) => assert_eq!(u64::from(s), n),
                    _ => assert_eq!(s, u32::MAX),
                }
            }
        }
        let _ = choice.to_timeout(u32::MAX);
    }
});
