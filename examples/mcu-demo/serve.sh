#!/usr/bin/env bash
# Builds the configuration-API firmware (feature `serve`) and runs it under QEMU in the
# foreground: the board's Ethernet on QEMU's user network, host 127.0.0.1:PORT forwarded
# to its port 80. Ctrl-C (or SIGTERM) stops it; SECONDS_LIMIT, if given, stops it after
# that many seconds. SERVE_FEATURES builds one of the layered variants instead (net,
# serve-http, serve-json: see Cargo.toml).
# Usage: examples/mcu-demo/serve.sh PORT [SECONDS_LIMIT]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

port=${1:?usage: serve.sh PORT [SECONDS_LIMIT]}
limit=${2:-0}
case $port in '' | *[!0-9]*) echo "serve.sh: PORT must be a number" >&2; exit 2 ;; esac
case $limit in '' | *[!0-9]*) echo "serve.sh: SECONDS_LIMIT must be a number" >&2; exit 2 ;; esac

cargo build --quiet --release --no-default-features --features "${SERVE_FEATURES:-serve}"
elf=${CARGO_TARGET_DIR:-target}/thumbv7m-none-eabi/release/mcu-demo

# timeout 0 never fires; `exec` leaves QEMU as this process, so a signal to it stops QEMU.
# No -nographic: it puts the terminal in raw mode, where Ctrl-C no longer reaches QEMU.
# Semihosting writes the firmware's lines to stdout all the same.
exec timeout --foreground "$limit" qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb \
    -display none -monitor none -serial null -semihosting-config enable=on,target=native \
    -nic "user,model=stellaris,hostfwd=tcp:127.0.0.1:$port-:80" \
    -kernel "$elf"
