//! The LM3S6965's Ethernet controller as a smoltcp [`Device`]: whole frames through the
//! MAC's 2 KiB FIFOs, one 32-bit word at a time (LM3S6965 data sheet, chapter 15; QEMU's
//! `stellaris_enet` model behaves the same way for everything used here).
//!
//! Received frames come out of `MACDATA` prefixed by a 16-bit length that counts itself
//! and the 4-byte FCS; frames to send go in prefixed by the length of the payload after
//! the 14-byte Ethernet header, and leave when `MACTR` is written. Polled: the interrupt
//! only wakes the main loop (see `wake_on_receive`).

use core::ptr;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

const BASE: usize = 0x4004_8000;
/// Raw interrupt status (read) and acknowledge (write).
const MACRIS: *mut u32 = BASE as *mut u32;
const MACIM: *mut u32 = (BASE + 0x04) as *mut u32;
const MACRCTL: *mut u32 = (BASE + 0x08) as *mut u32;
const MACTCTL: *mut u32 = (BASE + 0x0C) as *mut u32;
const MACDATA: *mut u32 = (BASE + 0x10) as *mut u32;
const MACIA0: *mut u32 = (BASE + 0x14) as *mut u32;
const MACIA1: *mut u32 = (BASE + 0x18) as *mut u32;
/// Number of frames waiting in the receive FIFO.
const MACNP: *mut u32 = (BASE + 0x34) as *mut u32;
/// Transmission request: write 1 to send the frame in the FIFO; reads 1 until it is sent.
const MACTR: *mut u32 = (BASE + 0x38) as *mut u32;

const RCTL_RXEN: u32 = 1 << 0;
const RCTL_BADCRC: u32 = 1 << 3;
const RCTL_RSTFIFO: u32 = 1 << 4;
const TCTL_TXEN: u32 = 1 << 0;
const TCTL_PADEN: u32 = 1 << 1;
const TCTL_CRC: u32 = 1 << 2;
const TCTL_DUPLEX: u32 = 1 << 4;
const INT_RX: u32 = 1 << 0;
const INT_ALL: u32 = 0x7F;

/// Run-mode clock gating (RCGC2): bit 28 the MAC, bit 30 the PHY.
const SYSCTL_RCGC2: *mut u32 = 0x400F_E108 as *mut u32;
const RCGC2_ETHERNET: u32 = (1 << 28) | (1 << 30);

/// The controller's interrupt line (NVIC IRQ 42).
pub const IRQ: u16 = 42;

/// An Ethernet frame without FCS, as smoltcp sees it.
const MAX_FRAME: usize = 1514;
/// Polls for a sent frame allowed before the transmitter counts as stuck.
const TX_SPINS: u32 = 100_000;

/// Reads a register of the controller.
fn read(register: *mut u32) -> u32 {
    // SAFETY: every register passed here is one of the controller's documented registers
    // above; the controller belongs to the one `Ethernet` value, made once by `take`.
    unsafe { ptr::read_volatile(register) }
}

/// Writes a register of the controller.
fn write(register: *mut u32, value: u32) {
    // SAFETY: as in `read`.
    unsafe { ptr::write_volatile(register, value) }
}

/// The Ethernet controller with a buffer for one received and one outgoing frame.
pub struct Ethernet {
    rx: [u8; MAX_FRAME],
    tx: [u8; MAX_FRAME],
    /// Frames dropped: too long or too short for an Ethernet frame.
    pub dropped: u32,
    /// Frames the transmitter did not take in time.
    pub stuck: u32,
}

impl Ethernet {
    /// Clocks the controller, empties its receive FIFO and enables receive and transmit
    /// (padding short frames and appending the FCS in hardware). Main calls it once.
    pub fn start() -> Self {
        // SAFETY: the system-control clock-gating register; main is the only writer, once.
        unsafe {
            ptr::write_volatile(
                SYSCTL_RCGC2,
                ptr::read_volatile(SYSCTL_RCGC2) | RCGC2_ETHERNET,
            );
        }
        write(MACIM, 0);
        write(MACRIS, INT_ALL);
        write(MACRCTL, RCTL_RSTFIFO);
        write(MACRCTL, RCTL_RXEN | RCTL_BADCRC);
        write(MACTCTL, TCTL_TXEN | TCTL_PADEN | TCTL_CRC | TCTL_DUPLEX);
        Ethernet {
            rx: [0; MAX_FRAME],
            tx: [0; MAX_FRAME],
            dropped: 0,
            stuck: 0,
        }
    }

    /// The MAC address the controller was given (by the boot ROM on a board, by QEMU's
    /// `-nic` here).
    pub fn mac_address(&self) -> [u8; 6] {
        let low = read(MACIA0).to_le_bytes();
        let high = read(MACIA1).to_le_bytes();
        [low[0], low[1], low[2], low[3], high[0], high[1]]
    }

    /// Whether a frame is waiting in the receive FIFO.
    pub fn frame_waiting(&self) -> bool {
        read(MACNP) & 0x3F != 0
    }

    /// Lets the next received frame raise the controller's interrupt, which wakes a `wfi`.
    /// The handler masks it again (see `on_interrupt`), so it fires once per wake-up.
    pub fn wake_on_receive(&self) {
        write(MACRIS, INT_ALL);
        write(MACIM, INT_RX);
    }

    /// Takes the next frame out of the FIFO into `rx`; `None` when it was not a frame
    /// smoltcp can use (it is drained all the same).
    fn read_frame(&mut self) -> Option<usize> {
        let first = read(MACDATA);
        // The length counts the two length bytes and the four FCS bytes.
        let total = (first & 0xFFFF) as usize;
        let words = total.div_ceil(4).max(1);
        let len = total.saturating_sub(6);
        let usable = (14..=MAX_FRAME).contains(&len);
        let [_, _, b0, b1] = first.to_le_bytes();
        if let Some(head) = self.rx.get_mut(..2) {
            head.copy_from_slice(&[b0, b1]);
        }
        for i in 1..words {
            let word = read(MACDATA).to_le_bytes();
            let at = 2 + (i - 1) * 4;
            for (k, byte) in word.into_iter().enumerate() {
                if let Some(slot) = self.rx.get_mut(at + k) {
                    *slot = byte;
                }
            }
        }
        if usable {
            Some(len)
        } else {
            self.dropped = self.dropped.wrapping_add(1);
            None
        }
    }
}

/// Called from the controller's interrupt: masks it, so the main loop that it woke polls
/// the FIFO and unmasks it before sleeping again.
pub fn on_interrupt() {
    write(MACIM, 0);
}

/// One received frame, lent to smoltcp.
pub struct RxFrame<'a>(&'a [u8]);

impl RxToken for RxFrame<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Room for one frame to send.
pub struct TxFrame<'a> {
    buf: &'a mut [u8; MAX_FRAME],
    stuck: &'a mut u32,
}

impl TxToken for TxFrame<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.clamp(14, MAX_FRAME);
        let frame = &mut self.buf[..len];
        let result = f(frame);
        // The previous frame must have left the FIFO before this one goes in.
        let mut spins = 0;
        while read(MACTR) & 1 != 0 {
            spins += 1;
            if spins == TX_SPINS {
                *self.stuck = self.stuck.wrapping_add(1);
                return result;
            }
        }
        let payload = (len - 14) as u32;
        write(
            MACDATA,
            payload | u32::from(frame[0]) << 16 | u32::from(frame[1]) << 24,
        );
        for chunk in frame[2..].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            write(MACDATA, u32::from_le_bytes(word));
        }
        write(MACTR, 1);
        result
    }
}

impl Device for Ethernet {
    type RxToken<'a> = RxFrame<'a>;
    type TxToken<'a> = TxFrame<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxFrame<'_>, TxFrame<'_>)> {
        while self.frame_waiting() {
            if let Some(len) = self.read_frame() {
                let tx = TxFrame {
                    buf: &mut self.tx,
                    stuck: &mut self.stuck,
                };
                return Some((RxFrame(&self.rx[..len]), tx));
            }
        }
        None
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxFrame<'_>> {
        Some(TxFrame {
            buf: &mut self.tx,
            stuck: &mut self.stuck,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps.max_burst_size = Some(1);
        caps
    }
}
