//! The std layer of lockwarden: a thread-safe [`LockManager`] over the core's lock table
//! with time from a [`Clock`] and tokens seeded by the operating system; conversions
//! between `http` requests and responses and the core's lock check ([`request`],
//! [`response`]); lock enforcement for axum in one line (`LockLayer`); and the parsing of
//! `LOCK` request bodies ([`lockinfo`]).
//!
//! Every locking rule lives in the core crate `lockwarden`; this crate supplies what a
//! host has (a clock, randomness, threads, an XML parser, an HTTP stack) and calls it.
//!
//! # Features
//!
//! - `axum` (default): `LockLayer`, `LockManager::respond` and `LockManager::check_lock`,
//!   and `IntoResponse` for [`LockResponse`] and [`LockRejection`]. With
//!   `default-features = false` the crate is the manager, its clocks, `lockinfo` parsing
//!   and the `http` crate conversions, without axum, tower or tokio.
//! - `dav-server`: `dav::DavLocks`, lockwarden as the lock system of the dav-server crate.
//! - `etcd`: `etcd::EtcdLockStore`, the locks of a fleet of servers in etcd, for
//!   `LockLayer::store`. Its build needs `protoc`.
//!
//! ```
//! # #[cfg(feature = "axum")] {
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
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Some docs link to the axum integration, which is not there without its feature.
#![cfg_attr(not(feature = "axum"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "axum")]
pub mod body;
pub mod clock;
#[cfg(feature = "dav-server")]
pub mod dav;
#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "axum")]
mod gate;
#[cfg(feature = "axum")]
pub mod layer;
pub mod lockinfo;
pub mod manager;
pub mod request;
pub mod response;
#[cfg(feature = "axum")]
pub mod store;

/// The example of the crate's README, compiled and run as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

#[cfg(feature = "axum")]
pub use body::{BodyError, BodyLimits};
pub use clock::{Clock, ManualClock, MonotonicClock, TICK_HZ};
#[cfg(feature = "axum")]
pub use layer::{LockLayer, LockService};
#[cfg(feature = "axum")]
pub use manager::WritePermit;
pub use manager::{LockManager, LockSnapshot, ManagerError, PRINCIPALS, Purger, Table};
pub use request::{Principal, Resource, ResourceLookup, Resources};
pub use response::{LockRejection, LockResponse};
#[cfg(feature = "axum")]
pub use store::LockStore;
