//! The board: its name, its core clock and the lock LED as an embedded-hal pin.

#[cfg(feature = "board-lm3s6965evb")]
mod lm3s6965evb;
#[cfg(feature = "board-lm3s6965evb")]
pub use lm3s6965evb::{CORE_CLOCK_HZ, LedPin, NAME, lock_led};

#[cfg(feature = "board-microbit")]
mod microbit;
#[cfg(feature = "board-microbit")]
pub use microbit::{CORE_CLOCK_HZ, LedPin, NAME, lock_led};

#[cfg(feature = "net")]
pub mod ethernet;
