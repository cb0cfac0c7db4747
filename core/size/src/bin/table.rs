//! The lock table's whole API in a `static` shared through a critical section.
#![no_std]
#![no_main]

#[path = "../common.rs"]
mod common;
#[path = "../table_probe.rs"]
mod table_probe;

use core::hint::black_box;

use lockwarden::Instant;
use lockwarden::sync::SharedLockTable;

#[cortex_m_rt::entry]
fn main() -> ! {
    table_probe::start();
    let mut now = 0u32;
    loop {
        now = now.wrapping_add(black_box(1));
        table_probe::TABLE.with(|table| table_probe::exercise(table, Instant(now)));
    }
}
