//! What every probe shares: a panic handler that prints nothing (so no formatting code
//! is linked on its behalf) and the number of slots of the probes' tables.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

/// Slots of the probes' tables: `LOCKWARDEN_PROBE_SLOTS` at build time, 4 by default
/// (the report builds the table probe at two capacities to find the bytes per slot).
#[allow(dead_code)]
pub const SLOTS: usize = match option_env!("LOCKWARDEN_PROBE_SLOTS") {
    Some(text) => parse(text.as_bytes()),
    None => 4,
};

#[allow(dead_code)]
const fn parse(digits: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < digits.len() {
        n = n * 10 + (digits[i] - b'0') as usize;
        i += 1;
    }
    n
}
