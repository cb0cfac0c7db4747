#!/usr/bin/env bash
# The library crates as crates.io would take them: a dry run of publishing `lockwarden` and
# `lockwarden-std` together (packaged and built from their .crate files; the adapter's
# dependency on the core is resolved from the core's package, so this works before the
# core is on crates.io), then the `rust-version` the workspace declares, installed
# (idempotently) and building both crates with every feature and with none.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n=== %s\n' "$*"; }

step "cargo publish --dry-run -p lockwarden -p lockwarden-std"
# The verification builds the adapter against the core's package through a local overlay
# registry named after this checkout's path; cargo keeps what it once unpacked from such a
# registry and does not unpack the same name and version again, so a checkout at a path
# used before would be verified against an old core. Drop those unpacked copies first
# (overlay registries are the `-<hash>` ones; crates.io's is left alone).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rm -rf "$cargo_home"/registry/src/-*/lockwarden-* "$cargo_home"/registry/cache/-*/lockwarden-*
# --allow-dirty: the check is of the tree as it is, committed or not.
cargo publish --dry-run --allow-dirty -p lockwarden -p lockwarden-std

msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
if [[ -z $msrv ]]; then
    echo "no rust-version in the workspace Cargo.toml" >&2
    exit 1
fi
step "rust-version $msrv"
rustup run "$msrv" rustc --version >/dev/null 2>&1 ||
    rustup toolchain install "$msrv" --profile minimal
cargo +"$msrv" check -p lockwarden -p lockwarden-std --all-features
cargo +"$msrv" check -p lockwarden -p lockwarden-std --no-default-features
