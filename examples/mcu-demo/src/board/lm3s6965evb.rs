//! TI Stellaris LM3S6965 evaluation board (QEMU `lm3s6965evb`): the user LED is on PF0.

use core::convert::Infallible;
use core::ptr;
use embedded_hal::digital::{ErrorType, OutputPin, StatefulOutputPin};

/// Shown in the banner.
pub const NAME: &str = "lm3s6965evb (Cortex-M3)";
/// The reset clock: the 12 MHz main oscillator.
pub const CORE_CLOCK_HZ: u32 = 12_000_000;

/// Run-mode clock gating of the GPIO ports (RCGC2); bit 5 is port F.
const SYSCTL_RCGC2: *mut u32 = 0x400F_E108 as *mut u32;
const RCGC2_GPIOF: u32 = 1 << 5;
const GPIOF_BASE: usize = 0x4002_5000;
const GPIO_DIR: *mut u32 = (GPIOF_BASE + 0x400) as *mut u32;
const GPIO_DEN: *mut u32 = (GPIOF_BASE + 0x51C) as *mut u32;
const PF0: u32 = 1 << 0;
/// GPIODATA masks each access with address bits 9:2, so this address touches PF0 alone:
/// no read-modify-write, nothing to race with.
const PF0_DATA: *mut u32 = (GPIOF_BASE + ((PF0 as usize) << 2)) as *mut u32;

/// The lock LED, PF0 as a push-pull output.
#[derive(Debug)]
pub struct LedPin(());

/// Configures PF0 as a digital output, off. Main calls it once, before anything else
/// touches port F.
pub fn lock_led() -> LedPin {
    // SAFETY: these are the documented system-control and port F registers of the
    // LM3S6965, accessed by address; main is the only code that writes them, once, here.
    unsafe {
        ptr::write_volatile(SYSCTL_RCGC2, ptr::read_volatile(SYSCTL_RCGC2) | RCGC2_GPIOF);
        ptr::write_volatile(GPIO_DIR, ptr::read_volatile(GPIO_DIR) | PF0);
        ptr::write_volatile(GPIO_DEN, ptr::read_volatile(GPIO_DEN) | PF0);
        ptr::write_volatile(PF0_DATA, 0);
    }
    LedPin(())
}

impl ErrorType for LedPin {
    type Error = Infallible;
}

impl OutputPin for LedPin {
    fn set_high(&mut self) -> Result<(), Infallible> {
        // SAFETY: the masked data address of PF0, which this pin owns.
        unsafe { ptr::write_volatile(PF0_DATA, PF0) };
        Ok(())
    }

    fn set_low(&mut self) -> Result<(), Infallible> {
        // SAFETY: as in set_high.
        unsafe { ptr::write_volatile(PF0_DATA, 0) };
        Ok(())
    }
}

impl StatefulOutputPin for LedPin {
    /// Reads the port's data register back: the pin's state, not a copy in RAM.
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        // SAFETY: as in set_high; reading the masked data register has no side effect.
        Ok(unsafe { ptr::read_volatile(PF0_DATA) } & PF0 != 0)
    }

    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        self.is_set_high().map(|high| !high)
    }
}
