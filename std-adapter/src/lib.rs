//! The std layer of lockwarden: a thread-safe [`LockManager`] over the core's lock table
//! with time from a [`Clock`] and tokens seeded by the operating system; conversions
//! between `http` requests and responses and the core's lock check ([`request`],
//! [`response`]); lock enforcement for axum in one line ([`LockLayer`]); and the parsing of
//! `LOCK` request bodies ([`lockinfo`]).
//!
//! Every locking rule lives in the core crate `lockwarden`; this crate supplies what a
//! host has (a clock, randomness, threads, an XML parser, an HTTP stack) and calls it.
//!
//! ```
//! use axum::{Router, extract::{Request, State}, response::IntoResponse, routing::any};
//! use lockwarden::Policy;
//! use lockwarden_std::{LockLayer, LockManager, Resource, Resources, TICK_HZ};
//!
//! // LOCK and UNLOCK are answered by the manager; other writes are served once the
//! // layer has checked them against the locks.
//! async fn config(State(locks): State<LockManager>, request: Request) -> axum::response::Response {
//!     match request.method().as_str() {
//!         "LOCK" | "UNLOCK" => {
//!             let target = Resources::target(Resource::existing(None));
//!             locks.respond(request, &target).await.into_response()
//!         }
//!         _ => "stored".into_response(),
//!     }
//! }
//!
//! let locks: LockManager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
//! let app: Router = Router::new()
//!     .route("/config/{*section}", any(config))
//!     .with_state(locks.clone())
//!     .layer(LockLayer::new(locks));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod body;
pub mod clock;
#[cfg(feature = "dav-server")]
pub mod dav;
mod gate;
pub mod layer;
pub mod lockinfo;
pub mod manager;
pub mod request;
pub mod response;

pub use body::{BodyError, BodyLimits};
pub use clock::{Clock, ManualClock, MonotonicClock, TICK_HZ};
pub use layer::{LockLayer, LockService};
pub use manager::{LockManager, LockSnapshot, ManagerError, Purger, WritePermit};
pub use request::{Principal, Resource, ResourceLookup, Resources};
pub use response::{LockRejection, LockResponse};
