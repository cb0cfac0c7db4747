//! lockwarden: a lock manager for device configuration APIs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod lock;
pub mod path;
pub mod policy;
pub mod tick;
pub mod token;

pub use lock::{ActiveLock, Conflict, Depth, LockRequest, Scope};
pub use path::{Path, PathError};
pub use policy::Policy;
pub use tick::{Tick, Ticks, Timeout};
pub use token::{LockToken, TokenError};
