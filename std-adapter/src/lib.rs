//! The std layer of lockwarden. It will hold the thread-safe manager, the clock, the `http`/axum integration, `lockinfo` parsing and the dav-server lock system.
#![forbid(unsafe_code)]
