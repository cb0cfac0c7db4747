//! lockwarden: a lock manager for device configuration APIs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod fmt;

pub mod lock;
pub mod path;
pub mod policy;
pub mod sync;
pub mod table;
pub mod tick;
pub mod token;

pub use lock::{ActiveLock, Conflict, Depth, LockRequest, Scope};
pub use path::{Path, PathError};
pub use policy::Policy;
pub use table::{
    Access, Granted, LockError, LockTable, MAX_PRINCIPAL_LEN, RefreshError, UnlockError, WriteError,
};
pub use tick::{Tick, Ticks, Timeout};
pub use token::{LockToken, TokenError};
