//! BBC micro:bit v1, nRF51822 (QEMU `microbit`): the lock LED is the top-left LED of the
//! matrix, row 1 (P0.13) driven high while column 1 (P0.04) sinks.

use core::convert::Infallible;
use core::ptr;
use embedded_hal::digital::{ErrorType, OutputPin, StatefulOutputPin};

/// Shown in the banner.
pub const NAME: &str = "microbit (Cortex-M0)";
/// The nRF51's 16 MHz core clock.
pub const CORE_CLOCK_HZ: u32 = 16_000_000;

const GPIO_BASE: usize = 0x5000_0000;
const GPIO_OUT: *mut u32 = (GPIO_BASE + 0x504) as *mut u32;
const GPIO_OUTSET: *mut u32 = (GPIO_BASE + 0x508) as *mut u32;
const GPIO_OUTCLR: *mut u32 = (GPIO_BASE + 0x50C) as *mut u32;
const GPIO_DIRSET: *mut u32 = (GPIO_BASE + 0x518) as *mut u32;
const ROW1: u32 = 1 << 13;
const COL1: u32 = 1 << 4;

/// The lock LED: row 1 of the matrix, with column 1 held low.
#[derive(Debug)]
pub struct LedPin(());

/// Makes row 1 and column 1 outputs, both low (LED off). Main calls it once.
pub fn lock_led() -> LedPin {
    // SAFETY: the nRF51 GPIO set/clear registers, by address; main is the only writer.
    // OUTSET/OUTCLR/DIRSET change only the bits written, so no read-modify-write.
    unsafe {
        ptr::write_volatile(GPIO_OUTCLR, ROW1 | COL1);
        ptr::write_volatile(GPIO_DIRSET, ROW1 | COL1);
    }
    LedPin(())
}

impl ErrorType for LedPin {
    type Error = Infallible;
}

impl OutputPin for LedPin {
    fn set_high(&mut self) -> Result<(), Infallible> {
        // SAFETY: OUTSET touches row 1 only, which this pin owns.
        unsafe { ptr::write_volatile(GPIO_OUTSET, ROW1) };
        Ok(())
    }

    fn set_low(&mut self) -> Result<(), Infallible> {
        // SAFETY: OUTCLR touches row 1 only.
        unsafe { ptr::write_volatile(GPIO_OUTCLR, ROW1) };
        Ok(())
    }
}

impl StatefulOutputPin for LedPin {
    /// Reads the port's output register back.
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        // SAFETY: reading OUT has no side effect.
        Ok(unsafe { ptr::read_volatile(GPIO_OUT) } & ROW1 != 0)
    }

    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        self.is_set_high().map(|high| !high)
    }
}
