//! The stack that `http::check` and writing its answer need, measured on the target:
//! the stack below the caller is painted with a pattern, one request is checked and
//! answered, and the deepest word no longer holding the pattern gives the depth. Run
//! under QEMU by `report.sh`; prints one line per request and the maximum, and exits
//! non-zero when the maximum exceeds the budget.
#![no_std]
#![no_main]

#[path = "../common.rs"]
mod common;
#[path = "../http_probe.rs"]
mod http_probe;

use core::hint::black_box;

use lockwarden::{Instant, Policy};

const PAINT: u32 = 0x5afe_c0de;
/// Bytes below the caller painted before each request (more than the budget, so an
/// overrun is seen rather than missed).
const PAINTED: usize = 10 * 1024;
/// Keeps the painting function's own frame out of the painted range.
const MARGIN: usize = 256;
const BUDGET: usize = 2048;

#[cortex_m_rt::entry]
fn main() -> ! {
    let mut table: http_probe::Table = lockwarden::LockTable::new(Policy::new(1000));
    table.seed_tokens(black_box([7; 16]));
    let mut buf = [0u8; 1024];
    let mut deepest = 0;
    for i in 0..http_probe::REQUESTS {
        // The request is the server's, built before: what is measured is the check, the
        // outcome it returns and the writing of the answer.
        let request = http_probe::request(black_box(i));
        let top = cortex_m::register::msp::read() as usize;
        paint(top - PAINTED, top - MARGIN);
        let n = http_probe::answer(&mut table, Instant(10), &request, &mut buf);
        let used = top - lowest_touched(top - PAINTED, top - MARGIN);
        deepest = deepest.max(used);
        semihosting::println!(
            "request {}: {} bytes of stack, {} bytes of answer",
            i,
            used,
            n
        );
    }
    semihosting::println!(
        "http::check and its answer: at most {} bytes of stack (budget {})",
        deepest,
        BUDGET
    );
    semihosting::process::exit(if deepest <= BUDGET { 0 } else { 1 })
}

#[inline(never)]
fn paint(from: usize, to: usize) {
    let mut at = from & !3;
    while at < to {
        // SAFETY: `from..to` lies in the stack's free space below the caller's frame, in
        // RAM that nothing else uses while the probe runs.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

#[inline(never)]
fn lowest_touched(from: usize, to: usize) -> usize {
    let mut at = from & !3;
    while at < to {
        // SAFETY: as in `paint`.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PAINT {
            return at;
        }
        at += 4;
    }
    to
}
