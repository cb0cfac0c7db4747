//! lockwarden on an emulated Cortex-M.
//! Start at `scenario` for the story; the board, the tick clock and the shared table sit in
//! their own modules.
#![no_std]
#![no_main]

#[cfg(all(feature = "board-lm3s6965evb", feature = "board-microbit"))]
compile_error!("enable one board feature, not both");
#[cfg(all(feature = "net", feature = "defmt"))]
compile_error!("the configuration API prints through semihosting text: build it without defmt");

// The critical-section implementation for a single-core Cortex-M lives in cortex-m.
use cortex_m as _;
#[cfg(feature = "defmt")]
use defmt_semihosting as _;

#[macro_use]
mod report;
mod board;
mod clock;
#[cfg(all(feature = "table", not(feature = "net")))]
mod scenario;
#[cfg(feature = "net")]
mod serve;
#[cfg(feature = "table")]
mod shared;

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        report::fail("the core peripherals were taken twice")
    };
    let led = board::lock_led();
    if let Err(stalled) = clock::start(&mut core.SYST, board::CORE_CLOCK_HZ) {
        report::fail(stalled.what())
    }
    say!(
        "mcu-demo on {}, {} ticks per second from SysTick",
        board::NAME,
        clock::TICK_HZ
    );

    #[cfg(feature = "net")]
    serve::run(led);
    #[cfg(all(feature = "table", not(feature = "net")))]
    scenario::run(led);
    #[cfg(not(any(feature = "table", feature = "net")))]
    bare_board(led);

    #[cfg(not(feature = "net"))]
    report::finish()
}

/// The firmware without lockwarden: the same board, clock and output, the baseline of the
/// size report.
#[cfg(not(any(feature = "table", feature = "net")))]
fn bare_board(mut led: board::LedPin) {
    use embedded_hal::digital::{OutputPin, StatefulOutputPin};

    let on = led.set_high().and_then(|()| led.is_set_high());
    report::check("the LED pin reads back high after set_high", on == Ok(true));
    let start = clock::now();
    let waited = clock::wait_until(start.wrapping_add(10));
    report::check("SysTick advanced the clock by 10 ticks", waited.is_ok());
    let off = led.set_low().and_then(|()| led.is_set_high());
    report::check("the LED pin reads back low after set_low", off == Ok(false));
}
