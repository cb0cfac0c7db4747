//! Two device-config clients and one lock, told by the table and checked step by step.
//!
//! A locks `/config/network` (depth infinity) for a few dozen ticks; B's write to
//! `/config/network/wifi` is refused with 423; A writes with its token and refreshes; the
//! lock then expires by SysTick ticks with no unlock, after which B's write goes through;
//! B locks, and unlocks. The LED is checked against the table at every step.

use lock_indicator::Change;
use lockwarden::{
    Access, Depth, LockRequest, Path, RefreshError, Tick, Ticks, Timeout, UnlockError, WriteError,
};

use crate::board::LedPin;
use crate::report::{check, fail};
use crate::shared::{self, OWNER_LEN, PATH_LEN, TABLE};
use crate::{clock, report};
use lockwarden::sync::SharedLockTable;

/// How long A asks to hold its lock.
const LOCK_TICKS: u32 = 40;
/// Ticks between A's lock and its refresh.
const BEFORE_REFRESH: u32 = 10;
const CLIENT_A: &str = "client A (network tool)";
const CLIENT_B: &str = "client B (dashboard)";

type DemoPath = Path<PATH_LEN>;

/// Runs the scenario; a failed check ends the run with exit code 1.
pub fn run(led: LedPin) {
    shared::install_led(led);
    TABLE.with(|table| table.seed_tokens(token_seed()));
    led_shows_the_table("the LED is off before any lock", false);

    let network = path("/config/network");
    let wifi = path("/config/network/wifi");

    // A takes the section for LOCK_TICKS ticks.
    let now = Tick(clock::now());
    let request = LockRequest::exclusive(&network, CLIENT_A)
        .depth(Depth::Infinity)
        .timeout(Timeout::Finite(Ticks(LOCK_TICKS)));
    let granted = TABLE.with(|table| table.lock(now, &request));
    shared::sync_led();
    let a = match granted {
        Ok(granted) => granted,
        Err(error) => {
            say!("tick {}: A's lock refused: {}", now.0, error);
            fail("A's lock on /config/network is granted")
        }
    };
    say!(
        "tick {}: A locks {} (exclusive, depth infinity), token {}",
        now.0,
        network,
        a.token
    );
    check(
        "A's lock is granted for the 40 ticks it asked",
        a.timeout == Timeout::Finite(Ticks(LOCK_TICKS)),
    );
    led_shows_the_table("the LED is on while A's lock is held", true);

    // B writes below the locked collection without a token.
    let now = Tick(clock::now());
    let refused = TABLE.with(|table| table.authorize(now, &wifi, Access::Resource, &[], None));
    if let Err(WriteError::Locked(conflict)) = &refused {
        say!("tick {}: B writes {} without a token: refused", now.0, wifi);
        show_refusal(conflict);
    }
    #[cfg(not(feature = "wrong-expectation"))]
    check(
        "B's write to /config/network/wifi is refused with 423 Locked",
        matches!(refused, Err(WriteError::Locked(ref c)) if c.root == network),
    );
    #[cfg(feature = "wrong-expectation")]
    check(
        "B's write to /config/network/wifi is accepted while A holds the lock (wrong on purpose)",
        refused.is_ok(),
    );

    // A writes with its token.
    let now = Tick(clock::now());
    let allowed =
        TABLE.with(|table| table.authorize(now, &wifi, Access::Resource, &[a.token], None));
    check(
        "A's write to /config/network/wifi with its token is allowed",
        allowed.is_ok(),
    );

    // A refreshes a little later: the lock now ends LOCK_TICKS after the refresh.
    let refresh_at = wait_for(clock::now().wrapping_add(BEFORE_REFRESH));
    let refreshed = TABLE.with(|table| {
        table.refresh(
            refresh_at,
            &network,
            &a.token,
            None,
            Some(Timeout::Finite(Ticks(LOCK_TICKS))),
        )
    });
    let expires_at = refresh_at.0.wrapping_add(LOCK_TICKS);
    say!(
        "tick {}: A refreshes its lock, which now expires at tick {}",
        refresh_at.0,
        expires_at
    );
    check(
        "A's refresh restarts its 40 ticks",
        refreshed.map(|r| r.timeout) == Ok(Timeout::Finite(Ticks(LOCK_TICKS))),
    );

    // Just before the expiry the lock still stands (the table is asked about that tick).
    let last_locked_tick = Tick(expires_at.wrapping_sub(1));
    wait_for(last_locked_tick.0);
    let still_refused =
        TABLE.with(|table| table.authorize(last_locked_tick, &wifi, Access::Resource, &[], None));
    check(
        "one tick before the expiry B's write is still refused",
        matches!(still_refused, Err(WriteError::Locked(_))),
    );

    // Nobody unlocks: the ticks alone end the lock.
    wait_for(expires_at);
    let seen = shared::led_state();
    let went_dark_at = match seen.last_change {
        Some((Change::Darkened, at)) => Some(at),
        _ => None,
    };
    if let Some(at) = went_dark_at {
        say!(
            "tick {}: A's lock expired with no unlock; the LED went off at tick {}",
            seen.now,
            at
        );
    }
    check(
        "the lock expires by SysTick ticks and the LED goes off at that tick",
        !seen.held
            && !seen.lit
            && went_dark_at
                .is_some_and(|at| clock::reached(at, expires_at) && clock::reached(seen.now, at)),
    );

    let now = Tick(clock::now());
    let accepted = TABLE.with(|table| table.authorize(now, &wifi, Access::Resource, &[], None));
    say!(
        "tick {}: B writes {} without a token: {}",
        now.0,
        wifi,
        if accepted.is_ok() {
            "accepted"
        } else {
            "refused"
        }
    );
    check("after the expiry B's write succeeds", accepted.is_ok());
    let late = TABLE.with(|table| table.refresh(now, &network, &a.token, None, None));
    check(
        "A's refresh after the expiry finds no lock (412)",
        late == Err(RefreshError::NoSuchLock),
    );

    // B takes the wifi settings alone (depth 0, the policy's default timeout), then lets go.
    let now = Tick(clock::now());
    let request = LockRequest::exclusive(&wifi, CLIENT_B).depth(Depth::Zero);
    let granted = TABLE.with(|table| table.lock(now, &request));
    shared::sync_led();
    let Ok(b) = granted else {
        fail("B's lock on /config/network/wifi is granted")
    };
    say!(
        "tick {}: B locks {} (exclusive, depth 0), token {}",
        now.0,
        wifi,
        b.token
    );
    led_shows_the_table("the LED is on while B's lock is held", true);

    let now = Tick(clock::now());
    let unlocked = TABLE.with(|table| table.unlock(now, &wifi, &b.token, None));
    shared::sync_led();
    say!("tick {}: B unlocks {}", now.0, wifi);
    check("B's unlock with its token succeeds", unlocked.is_ok());
    led_shows_the_table("the LED is off once B unlocks", false);
    let again = TABLE.with(|table| table.unlock(now, &wifi, &b.token, None));
    check(
        "a second unlock finds no lock (409)",
        again == Err(UnlockError::NoSuchLock),
    );

    report::check(
        "the table is empty at the end",
        TABLE.with(|table| table.len(Tick(clock::now()))) == 0,
    );
}

/// What B is told when its write is refused.
fn show_refusal(conflict: &lockwarden::Conflict<PATH_LEN, OWNER_LEN>) {
    say!("{}", conflict);
}

/// Checks that the LED is lit exactly when the table holds a live lock, and that a lock is
/// (or is not) held at this step of the story.
fn led_shows_the_table(expectation: &str, locked: bool) {
    let seen = shared::led_state();
    check(expectation, seen.lit == seen.held && seen.held == locked);
}

/// Sleeps until `tick`; a clock that stops ends the run.
fn wait_for(tick: u32) -> Tick {
    match clock::wait_until(tick) {
        Ok(now) => Tick(now),
        Err(stalled) => fail(stalled.what()),
    }
}

fn path(text: &str) -> DemoPath {
    match Path::new(text) {
        Ok(path) => path,
        Err(_) => fail("the demo's paths are canonical"),
    }
}

/// The token key. QEMU's lm3s6965evb has no random number generator, so the demo mixes the
/// SysTick phase at boot, which varies from run to run under an emulator; a real device
/// takes these bytes from its TRNG.
fn token_seed() -> [u8; 16] {
    let mut seed = *b"lockwarden mcu\0\0";
    for chunk in seed.chunks_exact_mut(4) {
        let phase = cortex_m::peripheral::SYST::get_current().to_le_bytes();
        for (byte, noise) in chunk.iter_mut().zip(phase) {
            *byte ^= noise;
        }
        cortex_m::asm::delay(97);
    }
    seed
}
