//! The configuration API over Ethernet: smoltcp on the LM3S6965's MAC, a few TCP
//! connections on port 80, each fed to the HTTP layer (`http`) one request at a time.
//!
//! QEMU's user networking gives the board 10.0.2.15 and forwards a host port to its port
//! 80 (`serve.sh`). The main loop polls smoltcp, serves the connections, and sleeps on
//! `wfi` until the next frame or SysTick.
//!
//! Each failure costs its own client only: a connection that the client drops mid-request
//! is closed with its partial request; a request not whole [`IDLE_TICKS`] after its first
//! byte (stalled or trickling) is answered 408; an idle connection, or one whose client
//! does not read its answer, is reset after as long; bytes that are not HTTP are
//! answered 400 and the connection closed. After an answer that closes the connection the
//! client is left to close first (so this side skips TIME-WAIT) for [`LINGER_TICKS`].

#[cfg(feature = "serve-http")]
mod config;
#[cfg(feature = "serve-http")]
mod http;

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use crate::board::{LedPin, ethernet};
use crate::{clock, report};

/// The board's address on QEMU's user network (its DHCP server would hand out the same).
const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
const PORT: u16 = 80;

/// Connections served at once: one slow client cannot keep the others out, and a socket
/// still closing its last connection leaves others listening.
const CONNECTIONS: usize = 4;
/// Each socket's receive window (the request itself collects in `REQUEST_LEN`).
const RX_BUFFER: usize = 1024;
/// Each socket's send window: room for the longest response.
const TX_BUFFER: usize = REPLY_LEN;
/// The longest request (head and body) a connection holds; a longer head is answered 431.
pub const REQUEST_LEN: usize = 2048;
/// The longest response.
pub const REPLY_LEN: usize = 2048;
/// A request that stops arriving for this long is answered 408; an idle connection is
/// closed after it too.
const IDLE_TICKS: u32 = 5 * clock::TICK_HZ;
/// How long a client may keep a connection open after its last answer.
const LINGER_TICKS: u32 = 2 * clock::TICK_HZ;

/// What the HTTP layer made of the bytes received so far.
pub enum Framing {
    /// Not a whole request yet.
    Incomplete,
    /// The head is whole and asks `Expect: 100-continue`; its body is still to come.
    #[cfg(feature = "serve-http")]
    Continue,
    /// A request answered: `consumed` bytes of the buffer were the request, `len` bytes
    /// of the reply buffer are the response.
    Answered {
        consumed: usize,
        len: usize,
        close: bool,
    },
}

/// One TCP connection and the request it is receiving.
struct Connection {
    request: [u8; REQUEST_LEN],
    len: usize,
    /// The tick the current wait began: the first byte of the request being received,
    /// or else the last answer (or the connection's start). A request must arrive whole
    /// within IDLE_TICKS of its first byte, however slowly its bytes trickle in.
    since: u32,
    /// Whether the socket was connected at the last look.
    active: bool,
    /// Close once the response has left.
    closing: bool,
    /// Whether the request being received was sent `100 Continue`.
    continued: bool,
}

impl Connection {
    fn reset(&mut self, now: u32) {
        self.len = 0;
        self.since = now;
        self.closing = false;
        self.continued = false;
    }
}

/// The controller's interrupt line, for the NVIC.
#[derive(Clone, Copy)]
struct EthernetIrq;

// SAFETY: 42 is the LM3S6965's Ethernet controller interrupt, a valid IRQ of this chip.
unsafe impl InterruptNumber for EthernetIrq {
    fn number(self) -> u16 {
        ethernet::IRQ
    }
}

/// Interrupts without a handler of their own: the Ethernet controller's only wakes the
/// main loop. Any other is a bug.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == ethernet::IRQ as i16 {
        ethernet::on_interrupt();
    } else {
        report::fail("an unexpected interrupt fired")
    }
}

/// Counts the ticks past 2^32 too, for smoltcp's 64-bit millisecond clock.
struct Uptime {
    last: u32,
    millis: u64,
}

impl Uptime {
    fn now(&mut self, tick: u32) -> Instant {
        self.millis += u64::from(tick.wrapping_sub(self.last));
        self.last = tick;
        Instant::from_millis(self.millis as i64)
    }
}

/// Serves forever.
pub fn run(led: LedPin) -> ! {
    let seed = boot_seed();
    #[cfg(feature = "http")]
    {
        use lockwarden::sync::SharedLockTable;
        crate::shared::install_led(led);
        crate::shared::TABLE.with(|table| table.seed_tokens(seed));
    }
    #[cfg(not(feature = "http"))]
    let _ = led;

    let mut device = ethernet::Ethernet::start();
    let mac = device.mac_address();
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    let [a, b, c, d, e, f, g, h, ..] = seed;
    config.random_seed = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
    let mut uptime = Uptime {
        last: clock::now(),
        millis: 0,
    };
    let mut iface = Interface::new(config, &mut device, uptime.now(clock::now()));
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(ADDRESS), 24));
    });
    if iface.routes_mut().add_default_ipv4_route(GATEWAY).is_err() {
        report::fail("the default route fits the route table");
    }

    let Some(storage) = cortex_m::singleton!(: [SocketStorage<'static>; CONNECTIONS] =
        [SocketStorage::EMPTY; CONNECTIONS])
    else {
        report::fail("the socket storage is taken once")
    };
    let Some(rx_buffers) = cortex_m::singleton!(: [[u8; RX_BUFFER]; CONNECTIONS] =
        [[0; RX_BUFFER]; CONNECTIONS])
    else {
        report::fail("the receive buffers are taken once")
    };
    let Some(tx_buffers) = cortex_m::singleton!(: [[u8; TX_BUFFER]; CONNECTIONS] =
        [[0; TX_BUFFER]; CONNECTIONS])
    else {
        report::fail("the send buffers are taken once")
    };
    let Some(connections) = cortex_m::singleton!(: [Connection; CONNECTIONS] =
        [const { Connection {
            request: [0; REQUEST_LEN],
            len: 0,
            since: 0,
            active: false,
            closing: false,
            continued: false,
        } }; CONNECTIONS])
    else {
        report::fail("the connections are taken once")
    };
    let Some(reply) = cortex_m::singleton!(: [u8; REPLY_LEN] = [0; REPLY_LEN]) else {
        report::fail("the reply buffer is taken once")
    };

    let mut sockets = SocketSet::new(&mut storage[..]);
    let mut handles = [None; CONNECTIONS];
    for ((handle, rx), tx) in handles
        .iter_mut()
        .zip(rx_buffers.iter_mut())
        .zip(tx_buffers.iter_mut())
    {
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut rx[..]),
            tcp::SocketBuffer::new(&mut tx[..]),
        );
        // A client that vanishes without a word is noticed and its socket reused.
        socket.set_timeout(Some(Duration::from_secs(10)));
        socket.set_keep_alive(Some(Duration::from_secs(5)));
        *handle = Some(sockets.add(socket));
    }
    let handles = handles.map(|handle| match handle {
        Some(handle) => handle,
        None => report::fail("every connection has a socket"),
    });

    // SAFETY: the handler (DefaultHandler above) only masks the controller's interrupt.
    unsafe { NVIC::unmask(EthernetIrq) };
    say!(
        "mcu-demo serving http://{}:{}/config on lm3s6965evb (MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x})",
        ADDRESS,
        PORT,
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5]
    );

    loop {
        let tick = clock::now();
        iface.poll(uptime.now(tick), &mut device, &mut sockets);
        let mut answered = false;
        for (connection, handle) in connections.iter_mut().zip(handles) {
            answered |= serve(connection, sockets.get_mut(handle), tick, &mut reply[..]);
        }
        if answered {
            // Send the responses now rather than at the next wake-up.
            iface.poll(uptime.now(clock::now()), &mut device, &mut sockets);
            continue;
        }
        // Sleep until the next frame or tick; a frame that came in meanwhile keeps us up.
        cortex_m::interrupt::free(|_| {
            device.wake_on_receive();
            if !device.frame_waiting() {
                cortex_m::asm::wfi();
            }
        });
    }
}

/// The token key and smoltcp's seed (its initial sequence numbers). QEMU's lm3s6965evb
/// has no random number generator, so this mixes the SysTick phase, which varies from run
/// to run under an emulator; a real device takes these bytes from its TRNG.
fn boot_seed() -> [u8; 16] {
    let mut seed = *b"lockwarden serve";
    for chunk in seed.chunks_exact_mut(4) {
        let phase = cortex_m::peripheral::SYST::get_current().to_le_bytes();
        for (byte, noise) in chunk.iter_mut().zip(phase) {
            *byte ^= noise;
        }
        cortex_m::asm::delay(97);
    }
    seed
}

/// Moves one connection forward; returns whether it answered a request.
fn serve(
    connection: &mut Connection,
    socket: &mut tcp::Socket<'_>,
    now: u32,
    reply: &mut [u8],
) -> bool {
    match socket.state() {
        tcp::State::Closed => {
            connection.active = false;
            connection.reset(now);
            if socket.listen(PORT).is_err() {
                report::fail("a closed socket listens again");
            }
            return false;
        }
        tcp::State::Listen | tcp::State::SynReceived => {
            connection.active = false;
            return false;
        }
        _ => {}
    }
    if !connection.active {
        // A new client: nothing of the last one's request is left.
        connection.active = true;
        connection.reset(now);
    }

    if socket.can_recv()
        && !connection.closing
        && let Some(room) = connection.request.get_mut(connection.len..)
        && let Ok(n) = socket.recv_slice(room)
        && n > 0
    {
        if connection.len == 0 {
            connection.since = now;
        }
        connection.len += n;
    }

    let mut answered = false;
    // One response in flight at a time: the next request waits until it is acknowledged.
    if !connection.closing && socket.send_queue() == 0 && connection.len > 0 {
        let received = connection.request.get(..connection.len).unwrap_or_default();
        match respond(received, now, reply) {
            Framing::Incomplete => {}
            // RFC 9110 §10.1.1: the client waits (a while) for this before its body.
            #[cfg(feature = "serve-http")]
            Framing::Continue => {
                if !connection.continued {
                    let _ = socket.send_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    connection.continued = true;
                    answered = true;
                }
            }
            Framing::Answered {
                consumed,
                len,
                close,
            } => {
                answered = true;
                let out = reply.get(..len).unwrap_or_default();
                if socket.send_slice(out) != Ok(out.len()) {
                    // The send window is empty, so only an oversized reply gets here.
                    socket.abort();
                    connection.reset(now);
                    return true;
                }
                let consumed = consumed.min(connection.len);
                connection.request.copy_within(consumed..connection.len, 0);
                connection.len -= consumed;
                connection.since = now;
                connection.closing = close;
                connection.continued = false;
            }
        }
    }

    if connection.closing {
        // The last answer is on its way. The client was told `Connection: close` and
        // closes first, which spares this side TIME-WAIT; whatever it still sends is
        // dropped. One that keeps the connection open is reset after LINGER_TICKS.
        while socket.can_recv() && socket.recv(|bytes| (bytes.len(), ())).is_ok() {}
        if socket.send_queue() == 0 && !socket.may_recv() {
            socket.close();
        } else if clock::reached(now, connection.since.wrapping_add(LINGER_TICKS)) {
            socket.abort();
        }
    } else if !socket.may_recv() {
        // The client closed its side: whatever it sent of a request is dropped with it.
        socket.close();
        connection.reset(now);
    } else if clock::reached(now, connection.since.wrapping_add(IDLE_TICKS)) {
        if socket.send_queue() > 0 {
            // The client does not take its answer: it cannot hold the socket either.
            socket.abort();
        } else if connection.len > 0 {
            let len = timed_out(reply);
            let _ = socket.send_slice(reply.get(..len).unwrap_or_default());
            answered = true;
            connection.closing = true;
            connection.len = 0;
            connection.since = now;
        } else {
            // An idle connection between requests: nothing to answer, the socket is freed.
            socket.abort();
        }
    }
    answered
}

/// Answers the request at the start of `received`, if it is complete.
fn respond(received: &[u8], now: u32, reply: &mut [u8]) -> Framing {
    #[cfg(feature = "serve-http")]
    {
        http::respond(received, now, reply)
    }
    #[cfg(not(feature = "serve-http"))]
    {
        fixed_reply(received, now, reply)
    }
}

/// The transport alone (the size report's baseline): every request head, whatever it
/// says, is answered with the same small response.
#[cfg(not(feature = "serve-http"))]
fn fixed_reply(received: &[u8], _now: u32, reply: &mut [u8]) -> Framing {
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nmcu-demo ok";
    match received.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => {
            let len = RESPONSE.len().min(reply.len());
            reply[..len].copy_from_slice(&RESPONSE[..len]);
            Framing::Answered {
                consumed: end + 4,
                len,
                close: false,
            }
        }
        None if received.len() >= REQUEST_LEN => Framing::Answered {
            consumed: received.len(),
            len: 0,
            close: true,
        },
        None => Framing::Incomplete,
    }
}

/// The 408 for a request that stopped arriving.
fn timed_out(reply: &mut [u8]) -> usize {
    #[cfg(feature = "serve-http")]
    {
        http::timed_out(reply, IDLE_TICKS / clock::TICK_HZ)
    }
    #[cfg(not(feature = "serve-http"))]
    {
        let _ = reply;
        0
    }
}
