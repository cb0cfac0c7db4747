//! What main and the SysTick handler share: the lock table, in a `static`, and the lock LED.

use core::cell::RefCell;

use critical_section::Mutex;
#[cfg(not(feature = "net"))]
use embedded_hal::digital::StatefulOutputPin;
use lock_indicator::{Change, LockLed, follow_table};
use lockwarden::sync::SharedLockTable;
use lockwarden::{Instant, LockTable, Policy};

use crate::{board::LedPin, clock};

/// Lock slots: the demo needs two at once; a few spare show that capacity is a constant.
pub const SLOTS: usize = 4;
/// Longest canonical path, in bytes.
pub const PATH_LEN: usize = 64;
/// Longest owner text, in bytes.
#[cfg(not(feature = "net"))]
pub const OWNER_LEN: usize = 32;
/// Longest owner, in bytes: the API's clients send markup such as
/// `<D:href xmlns:D="DAV:">mailto:…</D:href>`.
#[cfg(feature = "net")]
pub const OWNER_LEN: usize = 64;

/// The Cortex-M3 shares the table through a critical section, so the SysTick handler can
/// use it too.
#[cfg(feature = "board-lm3s6965evb")]
pub type SharedTable = lockwarden::sync::CsLockTable<SLOTS, PATH_LEN, OWNER_LEN>;
/// The Cortex-M0 has no compare-and-swap: `spin` works there through portable-atomic (its
/// `critical-section` feature, chosen by this application).
#[cfg(feature = "board-microbit")]
pub type SharedTable = lockwarden::sync::SpinLockTable<SLOTS, PATH_LEN, OWNER_LEN>;

/// Seconds are counted in SysTick ticks; a device-config client gets at most a minute.
#[cfg(not(feature = "net"))]
pub const POLICY: Policy = Policy::new(clock::TICK_HZ)
    .with_default_timeout_secs(1)
    .with_max_timeout_secs(60)
    .with_max_locks_per_principal(2);

/// The configuration API: a LOCK without `Timeout` holds for a minute, none for more than
/// ten.
#[cfg(feature = "net")]
pub const POLICY: Policy = Policy::new(clock::TICK_HZ)
    .with_default_timeout_secs(60)
    .with_max_timeout_secs(600)
    .with_max_locks_per_principal(2);

/// The lock table: `const fn new`, so it needs no initialisation code and no heap.
pub static TABLE: SharedTable = SharedTable::new(POLICY);

/// The lock LED and the last change it made, with the tick it happened at.
struct Indicator {
    led: LockLed<LedPin>,
    last_change: Option<(Change, u32)>,
}

static INDICATOR: Mutex<RefCell<Option<Indicator>>> = Mutex::new(RefCell::new(None));

/// Hands the pin to the shared indicator, which shows the table from now on.
pub fn install_led(pin: LedPin) {
    critical_section::with(|cs| {
        INDICATOR.borrow_ref_mut(cs).replace(Indicator {
            led: LockLed::new(pin),
            last_change: None,
        });
    });
    sync_led();
}

/// Brings the LED in line with the table at tick `now`. The SysTick handler calls it on
/// every tick.
pub fn on_tick(now: u32) {
    // Main holds the critical section whenever it holds the table: the handler never finds
    // it busy.
    #[cfg(feature = "board-lm3s6965evb")]
    TABLE.with(|table| show_table(table, now));
    // A handler that spun on a lock held by the code it preempted would spin forever: when
    // main holds the table, this tick is skipped and the next one catches up.
    #[cfg(feature = "board-microbit")]
    let _ = TABLE.try_with(|table| show_table(table, now));
}

fn show_table(table: &LockTable<SLOTS, PATH_LEN, OWNER_LEN>, now: u32) {
    critical_section::with(|cs| {
        if let Some(indicator) = INDICATOR.borrow_ref_mut(cs).as_mut() {
            match follow_table(&mut indicator.led, table, Instant(now)) {
                Ok(Change::Unchanged) => {}
                Ok(change) => indicator.last_change = Some((change, now)),
                Err(infallible) => match infallible {},
            }
        }
    })
}

/// Brings the LED in line with the table at the current tick; main calls it right after it
/// changes the table, so the LED does not lag by a tick. Inside the critical section no
/// tick can fall between reading the clock and reading the table.
pub fn sync_led() {
    critical_section::with(|_| TABLE.with(|table| show_table(table, clock::now())))
}

/// The LED and the table seen at one instant.
#[cfg(not(feature = "net"))]
pub struct LedState {
    /// The tick of the observation.
    pub now: u32,
    /// The pin, read back from the GPIO register.
    pub lit: bool,
    /// Whether the table holds a live lock at `now`.
    pub held: bool,
    /// The LED's last change and its tick.
    pub last_change: Option<(Change, u32)>,
}

/// Reads the LED and the table together, inside one critical section, so no tick can fall
/// between the two readings.
#[cfg(not(feature = "net"))]
pub fn led_state() -> LedState {
    critical_section::with(|cs| {
        let now = clock::now();
        let held = TABLE.with(|table| table.len(Instant(now)) > 0);
        let mut indicator = INDICATOR.borrow_ref_mut(cs);
        let (lit, last_change) = match indicator.as_mut() {
            Some(indicator) => {
                let lit = match indicator.led.pin_mut().is_set_high() {
                    Ok(lit) => lit,
                    Err(infallible) => match infallible {},
                };
                (lit, indicator.last_change)
            }
            None => (false, None),
        };
        LedState {
            now,
            lit,
            held,
            last_change,
        }
    })
}
