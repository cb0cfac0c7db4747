//! The baseline: an empty `#[entry]` loop, built like the probes.
#![no_std]
#![no_main]

#[path = "../common.rs"]
mod common;

#[cortex_m_rt::entry]
fn main() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}
