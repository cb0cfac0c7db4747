//! The table and the protocol layer's minimal profile (feature `http`).
#![no_std]
#![no_main]

include!("../http_main.rs");
