//! lockwarden: a lock manager for device configuration APIs.
//!
//! A fixed-capacity [`LockTable`] that implements the locking rules of WebDAV
//! (RFC 4918 §6, §7): exclusive and shared locks, depth 0 and infinity, owners shown to
//! others in conflicts, principals that alone may use their locks, unguessable tokens,
//! and expiry counted in ticks of a free-running counter that may wrap. No heap, no
//! `unsafe`, no clock read: every operation is handed `now`.
//!
//! Features (none by default):
//! - `critical-section`: [`sync::CsLockTable`], a table in a `static` shared with
//!   interrupt handlers;
//! - `spin`: [`sync::SpinLockTable`], a table shared across cores (through
//!   `portable-atomic` on targets without compare-and-swap);
//! - `defmt`: `defmt::Format` on public types, lock events logged at debug level;
//! - `http`: the protocol layer's minimal profile, which turns the table's answers into
//!   HTTP responses with problem+json bodies;
//! - `http-full`: the full profile, adding the WebDAV XML bodies (`DAV:error`,
//!   multistatus, `lockdiscovery`), `Accept` negotiation and the refusals of a server's
//!   edge (body too large, request timeout, incomplete or unexpected body, lock store
//!   unavailable).
//!
//! What each costs in flash, RAM and stack on a Cortex-M, and how it is measured: the
//! crate README, "Size on a microcontroller" (`core/size/report.sh` in the repository).
//!
//! Capacities are const generics: `N` slots of a [`LockTable`], and the bytes of a path
//! (`P`) and of an owner (`O`) that every type holding one carries. `P` and `O` default
//! to 64 everywhere, so `LockTable<16>`, [`Path`], [`LockError`] or `http::Outcome` name
//! the common case; a table of `LockTable<16, 128, 32>` uses `Path<128>` and
//! `LockError<128, 32>`.
//!
//! Time is the firmware's tick counter: [`Instant`] and [`Duration`] count ticks, at the
//! rate given to [`Policy::new`].
//!
//! # Examples
//!
//! ```
//! use lockwarden::{Instant, LockRequest, LockTable, Path, Policy, WriteRequest};
//! let mut table: LockTable<8> = LockTable::new(Policy::new(1000));
//! table.seed_tokens([7; 16]);
//! let net = Path::new("/config/network").unwrap();
//! let g = table.lock(Instant(0), &LockRequest::exclusive(&net, "panel")).unwrap();
//! assert!(table.authorize(Instant(1), &WriteRequest::resource(&net)).is_err());
//! assert!(table.authorize(Instant(1), &WriteRequest::resource(&net).tokens(&[g.token])).is_ok());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A conflict is returned by value because a no-heap crate cannot box it, and it must
// own what a 423 shows (root, owner) so that it outlives the table's mutex.
#![allow(clippy::result_large_err)]

#[macro_use]
mod fmt;
mod text;

#[cfg(feature = "http")]
pub mod http;
pub mod lock;
pub mod path;
pub mod policy;
pub mod sync;
pub mod table;
pub mod tick;
pub mod token;

pub use lock::{ActiveLock, Conflict, Depth, LockRequest, RefreshRequest, Scope, WriteRequest};
pub use path::{Path, PathError};
pub use policy::Policy;
pub use table::{
    Access, DEFAULT_PRINCIPALS, Granted, LockError, LockTable, MAX_PRINCIPAL_LEN, RefreshError,
    UnlockError, WriteError,
};
pub use tick::{Duration, Instant, Timeout};
pub use token::{LockToken, TokenError};

/// The README's example, compiled and run as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExample;

/// The example of the crate's own README (the one crates.io shows), run as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeExample;
