// The body of the `http` and `http-full` probes: each request checked and answered into
// the server's buffer; with the full profile, lockdiscovery written too.

#[path = "common.rs"]
mod common;
#[path = "table_probe.rs"]
mod table_probe;
#[path = "http_probe.rs"]
mod http_probe;

use core::hint::black_box;

use lockwarden::sync::{CsLockTable, SharedLockTable};
use lockwarden::{Policy, Instant};

static TABLE: CsLockTable<{ common::SLOTS }> = CsLockTable::unconfigured();

#[cortex_m_rt::entry]
fn main() -> ! {
    TABLE.with(|table| {
        table.set_policy(Policy::new(black_box(1000)));
        table.seed_tokens(black_box([7; 16]));
    });
    let mut buf = [0u8; 1024];
    let mut now = 0u32;
    loop {
        now = now.wrapping_add(black_box(1));
        TABLE.with(|table| {
            // The whole table API too, so that the difference to the table probe is the
            // protocol layer alone.
            table_probe::exercise(table, Instant(now));
            for i in 0..http_probe::REQUESTS {
                let request = http_probe::request(i);
                let n = http_probe::answer(table, Instant(now), &request, &mut buf);
                black_box(buf.get(..n));
            }
            #[cfg(feature = "http-full")]
            {
                let n = http_probe::discovery(table, Instant(now), &mut buf);
                black_box(buf.get(..n));
            }
        });
    }
}
