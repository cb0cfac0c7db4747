//! Output and verdicts. Text goes out through semihosting; with the `defmt` feature every
//! line is a defmt frame instead (decoded on the host by `defmt-print`), so the two never
//! mix on the same stream. The exit code is the verdict: 0 when every check held, 1 when
//! one failed, 101 on a panic (semihosting's panic handler).

#[cfg(not(feature = "net"))]
use portable_atomic::{AtomicU32, Ordering};

/// Prints one line. Format strings use only `{}`, which core::fmt and defmt both read.
macro_rules! say {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::println!($($arg)*);
        #[cfg(not(feature = "defmt"))]
        semihosting::println!($($arg)*);
    }};
}

#[cfg(not(feature = "net"))]
static CHECKS_PASSED: AtomicU32 = AtomicU32::new(0);

/// States one expectation of the demo; a false one ends the run with exit code 1.
#[cfg(not(feature = "net"))]
pub fn check(expectation: &str, holds: bool) {
    if holds {
        CHECKS_PASSED.fetch_add(1, Ordering::Relaxed);
        say!("ok   {}", expectation);
    } else {
        fail(expectation)
    }
}

/// Ends the run with exit code 1.
pub fn fail(what: &str) -> ! {
    say!("FAIL {}", what);
    semihosting::process::exit(1)
}

/// Ends the run with exit code 0.
#[cfg(not(feature = "net"))]
pub fn finish() -> ! {
    say!(
        "mcu-demo: all {} checks passed",
        CHECKS_PASSED.load(Ordering::Relaxed)
    );
    semihosting::process::exit(0)
}
