#!/usr/bin/env bash
# Builds the core's fuzz targets and runs each briefly, when a nightly toolchain and
# cargo-fuzz are installed. Without them it says so and succeeds: the property tests in
# core/tests/http_props.rs then cover the parsers in CI.
#
# Longer runs: cd core/fuzz && cargo +nightly fuzz run if_header -- -max_total_time=600 -dict=if_header.dict
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../core/fuzz"
seconds="${FUZZ_SECONDS:-20}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped, no nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: skipped, cargo-fuzz is not installed (cargo install cargo-fuzz --locked)"
    exit 0
fi

cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
    dict=headers.dict
    [[ $target == if_header ]] && dict=if_header.dict
    log="$(mktemp)"
    if ! cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -dict="$dict" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target failed; the input is in core/fuzz/artifacts/$target/"
        exit 1
    fi
    printf 'fuzz: %-10s %s\n' "$target" "$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)"
    rm -f "$log"
done
