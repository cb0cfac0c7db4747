//! Two device-config clients and one lock, told by the table and checked step by step.
//!
//! A locks `/config/network` (depth infinity) for a few dozen ticks; B's write to
//! `/config/network/wifi` is refused with 423; A writes with its token and refreshes; the
//! lock then expires by SysTick ticks with no unlock, after which B's write goes through;
//! B locks, and unlocks. The LED is checked against the table at every step.

use lock_indicator::Change;
use lockwarden::sync::SharedLockTable;
use lockwarden::{
    Depth, Duration, Instant, LockRequest, LockToken, Path, RefreshError, RefreshRequest, Timeout,
    UnlockError,
};
#[cfg(not(feature = "http"))]
use lockwarden::{WriteError, WriteRequest};

use crate::board::LedPin;
use crate::report::{check, fail};
use crate::shared::{self, PATH_LEN, TABLE};
use crate::{clock, report};

/// How long A asks to hold its lock: one second, the shortest lock the policy grants.
const LOCK_TICKS: u32 = 1_000;
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
    let now = Instant(clock::now());
    let request = LockRequest::exclusive(&network, CLIENT_A)
        .depth(Depth::Infinity)
        .timeout(Timeout::Finite(Duration(LOCK_TICKS)));
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
        "A's lock is granted for the 1000 ticks it asked",
        a.timeout == Timeout::Finite(Duration(LOCK_TICKS)),
    );
    led_shows_the_table("the LED is on while A's lock is held", true);

    // B writes below the locked collection without a token.
    let now = Instant(clock::now());
    say!("tick {}: B writes {} without a token", now.0, wifi);
    let refused = put(now, &wifi, None, Show::Refusal);
    #[cfg(not(feature = "wrong-expectation"))]
    check(
        "B's write to /config/network/wifi is refused with 423 Locked",
        refused
            == WriteAnswer::Locked {
                root: network.clone(),
            },
    );
    #[cfg(feature = "wrong-expectation")]
    check(
        "B's write to /config/network/wifi is accepted while A holds the lock (wrong on purpose)",
        refused == WriteAnswer::Allowed,
    );

    // A writes with its token.
    let now = Instant(clock::now());
    let allowed = put(now, &wifi, Some(&a.token), Show::Refusal);
    check(
        "A's write to /config/network/wifi with its token is allowed",
        allowed == WriteAnswer::Allowed,
    );

    // A refreshes a little later: the lock now ends LOCK_TICKS after the refresh.
    let refresh_at = wait_for(clock::now().wrapping_add(BEFORE_REFRESH));
    let refreshed = TABLE.with(|table| {
        table.refresh(
            refresh_at,
            &RefreshRequest::new(&network, &a.token).timeout(Timeout::Finite(Duration(LOCK_TICKS))),
        )
    });
    let expires_at = refresh_at.0.wrapping_add(LOCK_TICKS);
    say!(
        "tick {}: A refreshes its lock, which now expires at tick {}",
        refresh_at.0,
        expires_at
    );
    check(
        "A's refresh restarts its 1000 ticks",
        refreshed.map(|r| r.timeout) == Ok(Timeout::Finite(Duration(LOCK_TICKS))),
    );

    // Just before the expiry the lock still stands (the table is asked about that tick).
    let last_locked_tick = Instant(expires_at.wrapping_sub(1));
    wait_for(last_locked_tick.0);
    let still_refused = put(last_locked_tick, &wifi, None, Show::Nothing);
    check(
        "one tick before the expiry B's write is still refused",
        still_refused
            == WriteAnswer::Locked {
                root: network.clone(),
            },
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

    let now = Instant(clock::now());
    let accepted = put(now, &wifi, None, Show::Refusal);
    say!(
        "tick {}: B writes {} without a token: {}",
        now.0,
        wifi,
        accepted.as_str()
    );
    check(
        "after the expiry B's write succeeds",
        accepted == WriteAnswer::Allowed,
    );
    let late = TABLE.with(|table| table.refresh(now, &RefreshRequest::new(&network, &a.token)));
    check(
        "A's refresh after the expiry finds no lock (412)",
        late == Err(RefreshError::NoSuchLock),
    );

    // B takes the wifi settings alone (depth 0, the policy's default timeout), then lets go.
    let now = Instant(clock::now());
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

    let now = Instant(clock::now());
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
        TABLE.with(|table| table.len(Instant(clock::now()))) == 0,
    );
}

/// What a write met.
#[derive(Debug, PartialEq, Eq)]
enum WriteAnswer {
    /// No lock stands in the way.
    Allowed,
    /// 423: the lock rooted here blocks it.
    Locked { root: DemoPath },
    /// Anything else (a scenario that gets it has gone wrong).
    Refused,
}

impl WriteAnswer {
    const fn as_str(&self) -> &'static str {
        match self {
            WriteAnswer::Allowed => "allowed",
            WriteAnswer::Locked { .. } => "refused (423 Locked)",
            WriteAnswer::Refused => "refused",
        }
    }
}

/// Whether a refusal is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    Refusal,
    Nothing,
}

/// A client writes `target` (an HTTP `PUT` from a config tool), submitting `token` in an
/// `If` header when it has one. The core's protocol layer decides in one call and
/// composes the refusal: status line, headers and problem+json body.
#[cfg(feature = "http")]
fn put(now: Instant, target: &DemoPath, token: Option<&LockToken>, show: Show) -> WriteAnswer {
    use core::fmt::Write;
    use lockwarden::http::{Disclosure, Method, Outcome, Refusal, Request, SliceWriter, check};

    let mut if_buf = [0u8; 64];
    let mut if_value = SliceWriter::new(&mut if_buf);
    let mut request = Request::new(Method::Put, target.as_str().as_bytes())
        .header("Accept", b"application/json")
        .resource(true, None);
    if let Some(token) = token {
        if write!(if_value, "(<{token}>)").is_err() {
            fail("the If header fits its buffer");
        }
        request = request.header("If", if_value.as_bytes());
    }
    let outcome = TABLE.with(|table| check(table, now, &request));

    if show == Show::Refusal && !outcome.is_allowed() {
        let mut response = [0u8; 1024];
        match outcome.response_into(&mut response, Disclosure::default()) {
            Ok(len) => print_response(response.get(..len).unwrap_or_default()),
            Err(_) => fail("the response fits its 1024-byte buffer"),
        }
    }
    match outcome {
        Outcome::Allowed => WriteAnswer::Allowed,
        Outcome::Refused {
            refusal: Refusal::Locked { lock, .. },
            ..
        } => WriteAnswer::Locked { root: lock.root },
        _ => WriteAnswer::Refused,
    }
}

/// Prints a response line by line, as it goes out on the wire.
#[cfg(feature = "http")]
fn print_response(bytes: &[u8]) {
    let Ok(text) = core::str::from_utf8(bytes) else {
        fail("the response is UTF-8")
    };
    for line in text.split("\r\n") {
        say!("    {}", line);
    }
}

/// A client writes `target`, submitting `token` when it has one. Without the protocol
/// layer the table answers, and a refusal shows the conflict.
#[cfg(not(feature = "http"))]
fn put(now: Instant, target: &DemoPath, token: Option<&LockToken>, show: Show) -> WriteAnswer {
    let submitted = token.map(core::slice::from_ref).unwrap_or_default();
    match TABLE
        .with(|table| table.authorize(now, &WriteRequest::resource(target).tokens(submitted)))
    {
        Ok(()) => WriteAnswer::Allowed,
        Err(WriteError::Locked(conflict)) => {
            if show == Show::Refusal {
                say!("    {}", conflict);
            }
            WriteAnswer::Locked {
                root: conflict.root,
            }
        }
        Err(_) => WriteAnswer::Refused,
    }
}

/// Checks that the LED is lit exactly when the table holds a live lock, and that a lock is
/// (or is not) held at this step of the story.
fn led_shows_the_table(expectation: &str, locked: bool) {
    let seen = shared::led_state();
    check(expectation, seen.lit == seen.held && seen.held == locked);
}

/// Sleeps until `tick`; a clock that stops ends the run.
fn wait_for(tick: u32) -> Instant {
    match clock::wait_until(tick) {
        Ok(now) => Instant(now),
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
