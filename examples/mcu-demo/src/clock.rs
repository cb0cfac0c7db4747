//! The tick clock: SysTick interrupts count ticks; nothing here counts loop iterations.

use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;
use portable_atomic::{AtomicU32, Ordering};

/// Nominal SysTick rate. Under QEMU the count follows the host's clock, not instructions.
pub const TICK_HZ: u32 = 1_000;

/// Spins allowed for the first tick to arrive before the clock counts as dead.
const FIRST_TICK_SPINS: u32 = 50_000_000;

/// Extra wake-ups a wait tolerates beyond one per tick (none are expected: SysTick is the
/// only enabled interrupt).
#[cfg(not(feature = "net"))]
const WAKE_SLACK: u32 = 16;

/// Ticks since boot; wraps, like the hardware counters lockwarden is built for.
static TICKS: AtomicU32 = AtomicU32::new(0);

/// The clock did not advance when it should have.
#[derive(Debug)]
pub struct Stalled;

impl Stalled {
    /// One line for the report.
    pub const fn what(&self) -> &'static str {
        "SysTick did not advance the clock"
    }
}

#[exception]
fn SysTick() {
    let now = TICKS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    // The handler watches expiry itself: the LED goes dark at the tick the last lock ends,
    // whatever main is doing.
    #[cfg(feature = "table")]
    crate::shared::on_tick(now);
    #[cfg(not(feature = "table"))]
    let _ = now;
}

/// The current tick.
pub fn now() -> u32 {
    TICKS.load(Ordering::Relaxed)
}

/// Starts SysTick at [`TICK_HZ`] from the core clock and waits, bounded, for its first
/// tick: later waits sleep on `wfi`, which would never return without it.
pub fn start(syst: &mut SYST, core_clock_hz: u32) -> Result<(), Stalled> {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(core_clock_hz / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    for _ in 0..FIRST_TICK_SPINS {
        if now() != 0 {
            return Ok(());
        }
        cortex_m::asm::nop();
    }
    Err(Stalled)
}

/// Whether `now` has reached `deadline`, correct across the counter's wrap for deadlines
/// less than half the range away.
pub const fn reached(now: u32, deadline: u32) -> bool {
    (now.wrapping_sub(deadline) as i32) >= 0
}

/// Sleeps until the tick `deadline`, waking once per tick; returns the tick reached.
#[cfg(not(feature = "net"))]
pub fn wait_until(deadline: u32) -> Result<u32, Stalled> {
    let span = deadline.wrapping_sub(now());
    let wakeups = if (span as i32) < 0 { 0 } else { span };
    for _ in 0..=wakeups.saturating_add(WAKE_SLACK) {
        let now = now();
        if reached(now, deadline) {
            return Ok(now);
        }
        cortex_m::asm::wfi();
    }
    Err(Stalled)
}

// defmt stamps each log frame with the tick it was written at.
#[cfg(feature = "defmt")]
defmt::timestamp!("{=u32}", now());
