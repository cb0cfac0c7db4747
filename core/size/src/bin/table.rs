//! The lock table's whole API in a `static` shared through a critical section.
#![no_std]
#![no_main]

#[path = "../common.rs"]
mod common;
#[path = "../table_probe.rs"]
mod table_probe;

use core::hint::black_box;

use lockwarden::sync::{CsLockTable, SharedLockTable};
use lockwarden::{Instant, Policy};

static TABLE: CsLockTable<{ common::SLOTS }> = CsLockTable::unconfigured();

#[cortex_m_rt::entry]
fn main() -> ! {
    TABLE.with(|table| {
        table.set_policy(Policy::new(black_box(1000)));
        table.seed_tokens(black_box([7; 16]));
    });
    let mut now = 0u32;
    loop {
        now = now.wrapping_add(black_box(1));
        TABLE.with(|table| table_probe::exercise(table, Instant(now)));
    }
}
