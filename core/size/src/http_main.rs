// The body of the `http` and `http-full` probes: each request checked and answered into
// the server's buffer; with the full profile, lockdiscovery written too.

#[path = "common.rs"]
mod common;
#[path = "table_probe.rs"]
mod table_probe;
#[path = "http_probe.rs"]
mod http_probe;

use core::hint::black_box;

use lockwarden::sync::SharedLockTable;
use lockwarden::Instant;

#[cortex_m_rt::entry]
fn main() -> ! {
    table_probe::start();
    let mut buf = [0u8; 1024];
    let mut now = 0u32;
    loop {
        now = now.wrapping_add(black_box(1));
        table_probe::TABLE.with(|table| {
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
