//! The lock LED: an [`embedded_hal::digital::OutputPin`] that is lit exactly while a
//! lockwarden table holds a live lock.
//!
//! The driver is generic over the pin, so the firmware drives a GPIO register and the host
//! tests drive `embedded-hal-mock`. It writes the pin only when the state changes: a
//! handler that runs on every tick must not toggle a GPIO on every tick.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use embedded_hal::digital::OutputPin;
use lockwarden::{Instant, LockTable};

/// What an update did to the LED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Change {
    /// The LED went on.
    Lit,
    /// The LED went off.
    Darkened,
    /// The LED already showed the state; the pin was not written.
    Unchanged,
}

/// An LED that shows whether a lock is held.
#[derive(Debug)]
pub struct LockLed<P> {
    pin: P,
    /// `None` until the pin has been written once: the state of a pin after reset is the
    /// board's business, so the first update always writes it.
    lit: Option<bool>,
}

impl<P: OutputPin> LockLed<P> {
    /// Takes the pin; it is written on the first [`show`](Self::show).
    ///
    /// # Examples
    /// ```
    /// use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
    /// use lock_indicator::{Change, LockLed};
    ///
    /// let mut led = LockLed::new(Mock::new(&[Transaction::set(State::Low)]));
    /// assert_eq!(led.show(false), Ok(Change::Darkened));
    /// led.release().done();
    /// ```
    pub const fn new(pin: P) -> Self {
        LockLed { pin, lit: None }
    }

    /// Lights the LED when `held`, darkens it otherwise, writing the pin only on a change.
    ///
    /// On a pin error the LED's state counts as unknown, so the next call writes again.
    ///
    /// # Examples
    /// ```
    /// use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
    /// use lock_indicator::{Change, LockLed};
    ///
    /// let mut led = LockLed::new(Mock::new(&[Transaction::set(State::High)]));
    /// assert_eq!(led.show(true), Ok(Change::Lit));
    /// assert_eq!(led.show(true), Ok(Change::Unchanged));
    /// led.release().done();
    /// ```
    pub fn show(&mut self, held: bool) -> Result<Change, P::Error> {
        if self.lit == Some(held) {
            return Ok(Change::Unchanged);
        }
        self.lit = None;
        if held {
            self.pin.set_high()?;
        } else {
            self.pin.set_low()?;
        }
        self.lit = Some(held);
        Ok(if held { Change::Lit } else { Change::Darkened })
    }

    /// Whether the LED was last set on (`None` before the first successful write).
    pub const fn is_lit(&self) -> Option<bool> {
        self.lit
    }

    /// The pin, for reading back its state (`StatefulOutputPin`).
    pub fn pin_mut(&mut self) -> &mut P {
        &mut self.pin
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }
}

/// Makes the LED show whether `table` holds a live lock at `now`.
///
/// A lock that has expired no longer counts, whether or not it was unlocked or purged, so
/// calling this on every tick turns the LED off at the tick the last lock expires.
///
/// # Examples
/// ```
/// use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
/// use lock_indicator::{follow_table, Change, LockLed};
/// use lockwarden::{LockRequest, LockTable, Path, Policy, Instant, Duration, Timeout};
///
/// let mut table: LockTable<4> = LockTable::new(Policy::new(100));
/// table.seed_tokens([7; 16]);
/// let path: Path<64> = Path::new("/config/network").unwrap();
/// let request = LockRequest::exclusive(&path, "A").timeout(Timeout::Finite(Duration(150)));
/// table.lock(Instant(0), &request).unwrap();
///
/// let pin = Mock::new(&[Transaction::set(State::High), Transaction::set(State::Low)]);
/// let mut led = LockLed::new(pin);
/// assert_eq!(follow_table(&mut led, &table, Instant(149)), Ok(Change::Lit));
/// assert_eq!(follow_table(&mut led, &table, Instant(150)), Ok(Change::Darkened));
/// led.release().done();
/// ```
pub fn follow_table<Pin, const N: usize, const P: usize, const O: usize>(
    led: &mut LockLed<Pin>,
    table: &LockTable<N, P, O>,
    now: Instant,
) -> Result<Change, Pin::Error>
where
    Pin: OutputPin,
{
    led.show(table.len(now) > 0)
}
