//! The table and the protocol layer's full profile (feature `http-full`).
#![no_std]
#![no_main]

include!("../http_main.rs");
