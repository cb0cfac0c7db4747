//! The lock LED against a mock pin: lit exactly while the table holds a live lock, and the
//! pin written only when that changes.

use std::io::ErrorKind;

use embedded_hal_mock::eh1::{
    MockError,
    digital::{Mock, State, Transaction},
};
use lock_indicator::{Change, LockLed, follow_table};
use lockwarden::{Depth, Duration, Instant, LockRequest, LockTable, Path, Policy, Timeout};

type Table = LockTable<4, 64, 32>;

fn table() -> Table {
    // One tick per second: the policy grants at least a second, and these locks last a
    // few ticks.
    let mut table = Table::new(Policy::new(1));
    table.seed_tokens(*b"lock-led-tests!!");
    table
}

fn path(text: &str) -> Path<64> {
    Path::new(text).expect("a valid test path")
}

#[test]
fn first_update_writes_the_pin_even_when_nothing_is_locked() {
    let mut led = LockLed::new(Mock::new(&[Transaction::set(State::Low)]));
    assert_eq!(led.is_lit(), None);
    assert_eq!(
        follow_table(&mut led, &table(), Instant(0)),
        Ok(Change::Darkened)
    );
    assert_eq!(led.is_lit(), Some(false));
    led.release().done();
}

#[test]
fn led_lights_when_a_lock_is_taken_and_is_not_rewritten_while_it_holds() {
    let mut table = table();
    let network = path("/config/network");
    let mut led = LockLed::new(Mock::new(&[
        Transaction::set(State::Low),
        Transaction::set(State::High),
    ]));
    assert_eq!(
        follow_table(&mut led, &table, Instant(0)),
        Ok(Change::Darkened)
    );

    let request = LockRequest::exclusive(&network, "A").timeout(Timeout::Finite(Duration(50)));
    assert!(table.lock(Instant(1), &request).is_ok());
    assert_eq!(follow_table(&mut led, &table, Instant(1)), Ok(Change::Lit));
    for now in 2..50 {
        assert_eq!(
            follow_table(&mut led, &table, Instant(now)),
            Ok(Change::Unchanged)
        );
    }
    led.release().done();
}

#[test]
fn led_goes_dark_at_the_tick_the_lock_expires_without_an_unlock() {
    let mut table = table();
    let network = path("/config/network");
    let request = LockRequest::exclusive(&network, "A").timeout(Timeout::Finite(Duration(10)));
    assert!(table.lock(Instant(100), &request).is_ok());

    let mut led = LockLed::new(Mock::new(&[
        Transaction::set(State::High),
        Transaction::set(State::Low),
    ]));
    assert_eq!(
        follow_table(&mut led, &table, Instant(100)),
        Ok(Change::Lit)
    );
    assert_eq!(
        follow_table(&mut led, &table, Instant(109)),
        Ok(Change::Unchanged)
    );
    assert_eq!(
        follow_table(&mut led, &table, Instant(110)),
        Ok(Change::Darkened)
    );
    led.release().done();
}

#[test]
fn led_goes_dark_across_the_tick_counter_wrap() {
    let mut table = table();
    let network = path("/config/network");
    let request = LockRequest::exclusive(&network, "A").timeout(Timeout::Finite(Duration(10)));
    let start = Instant(u32::MAX - 4);
    assert!(table.lock(start, &request).is_ok());

    let mut led = LockLed::new(Mock::new(&[
        Transaction::set(State::High),
        Transaction::set(State::Low),
    ]));
    assert_eq!(follow_table(&mut led, &table, start), Ok(Change::Lit));
    assert_eq!(
        follow_table(&mut led, &table, Instant(4)),
        Ok(Change::Unchanged)
    );
    assert_eq!(
        follow_table(&mut led, &table, Instant(5)),
        Ok(Change::Darkened)
    );
    led.release().done();
}

#[test]
fn led_stays_lit_until_the_last_of_several_locks_is_released() {
    let mut table = table();
    let wifi = path("/config/network/wifi");
    let display = path("/config/display");
    let a = table.lock(Instant(0), &LockRequest::exclusive(&wifi, "A"));
    let b = table.lock(
        Instant(0),
        &LockRequest::shared(&display, "B").depth(Depth::Zero),
    );
    let (Ok(a), Ok(b)) = (a, b) else {
        panic!("both locks are granted")
    };

    let mut led = LockLed::new(Mock::new(&[
        Transaction::set(State::High),
        Transaction::set(State::Low),
    ]));
    assert_eq!(follow_table(&mut led, &table, Instant(1)), Ok(Change::Lit));
    assert_eq!(table.unlock(Instant(2), &wifi, &a.token, None), Ok(()));
    assert_eq!(
        follow_table(&mut led, &table, Instant(2)),
        Ok(Change::Unchanged)
    );
    assert_eq!(table.unlock(Instant(3), &display, &b.token, None), Ok(()));
    assert_eq!(
        follow_table(&mut led, &table, Instant(3)),
        Ok(Change::Darkened)
    );
    led.release().done();
}

#[test]
fn a_failed_pin_write_is_retried_on_the_next_update() {
    let error = MockError::Io(ErrorKind::NotConnected);
    let mut led = LockLed::new(Mock::new(&[
        Transaction::set(State::High).with_error(error.clone()),
        Transaction::set(State::High),
    ]));
    assert_eq!(led.show(true), Err(error));
    assert_eq!(led.is_lit(), None);
    assert_eq!(led.show(true), Ok(Change::Lit));
    led.release().done();
}
