//! Puts the board's memory map where cortex-m-rt's `link.x` looks for `memory.x`, and adds
//! the linker scripts. This is a binary crate, so the link search path reaches no one else.
//! The maps live in `memory/`, not beside Cargo.toml: the linker searches its working
//! directory first, and a `memory.x` there would shadow the chosen board's.

use std::{env, fs, path::PathBuf};

fn main() {
    let lm3s = env::var_os("CARGO_FEATURE_BOARD_LM3S6965EVB").is_some();
    let microbit = env::var_os("CARGO_FEATURE_BOARD_MICROBIT").is_some();
    let memory = match (lm3s, microbit) {
        (true, false) => "memory/lm3s6965evb.x",
        (false, true) => "memory/microbit.x",
        _ => panic!("enable exactly one of the features board-lm3s6965evb, board-microbit"),
    };

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(memory, out.join("memory.x")).expect("copy the board's memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");

    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
