#!/usr/bin/env bash
# Prints the flash (.text + .rodata) and RAM (.data + .bss) of the firmware without
# lockwarden, with the lock table, and with the table and the `http` layer, so the cost of
# each is visible; then the configuration API (feature `serve`) built up one layer at a
# time: transport, HTTP parser, JSON, lockwarden. Release profile: opt-level "s", fat LTO, one codegen unit (Cargo.toml).
# Usage: examples/mcu-demo/size-report.sh   (run from anywhere)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

size_tool="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-size"
if [ ! -x "$size_tool" ]; then
    size_tool="$(command -v arm-none-eabi-size || true)"
fi
if [ -z "$size_tool" ]; then
    echo "size-report: needs llvm-size (rustup component add llvm-tools) or arm-none-eabi-size" >&2
    exit 1
fi

out=target/size-report
mkdir -p "$out"

# name|target|features|what it is
variants=(
    "bare|thumbv7m-none-eabi|board-lm3s6965evb|board, SysTick, LED, semihosting text; no lockwarden"
    "table|thumbv7m-none-eabi|board-lm3s6965evb,table|+ lock table (critical-section) and the scenario"
    "table+http|thumbv7m-none-eabi|board-lm3s6965evb,http|+ the http layer composing the 423"
    "table+http+defmt|thumbv7m-none-eabi|board-lm3s6965evb,http,defmt|same, output through defmt instead of core::fmt"
    "m0 table+http|thumbv6m-none-eabi|board-microbit,http|Cortex-M0, spin through portable-atomic"
    "net|thumbv7m-none-eabi|net|bare + Ethernet driver + smoltcp TCP, one fixed answer"
    "net+httparse|thumbv7m-none-eabi|serve-http|+ httparse, routing, sections stored as sent"
    "net+http+json|thumbv7m-none-eabi|serve-json|+ serde-json-core: sections typed and checked"
    "serve|thumbv7m-none-eabi|serve|+ lockwarden: check, 423/412/409/400, LOCK/UNLOCK, lockinfo"
)

# section NAME ELF: the size of one section in bytes (0 when absent).
section() {
    "$size_tool" -A "$2" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}

printf '%-17s %7s %7s %7s %7s %7s %6s %6s %6s  %s\n' \
    variant vectors .text .rodata flash "+flash" .data .bss RAM "what it adds"
base_flash=""
for variant in "${variants[@]}"; do
    IFS='|' read -r name target features what <<<"$variant"
    cargo build --quiet --release --target "$target" --no-default-features --features "$features"
    elf="$out/${name//[^a-z0-9+]/_}.elf"
    cp "target/$target/release/mcu-demo" "$elf"
    vectors=$(section .vector_table "$elf")
    text=$(section .text "$elf")
    rodata=$(section .rodata "$elf")
    data=$(section .data "$elf")
    bss=$(section .bss "$elf")
    flash=$((text + rodata))
    ram=$((data + bss))
    base_flash=${base_flash:-$flash}
    printf '%-17s %7d %7d %7d %7d %+7d %6d %6d %6d  %s\n' \
        "$name" "$vectors" "$text" "$rodata" "$flash" $((flash - base_flash)) "$data" "$bss" "$ram" "$what"
done
echo "bytes; flash = .text + .rodata, +flash = against bare (the vector table and the .data"
echo "image also sit in flash);"
echo "RAM = .data + .bss, without the stack. ELFs kept in examples/mcu-demo/$out/."
