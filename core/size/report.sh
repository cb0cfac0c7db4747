#!/usr/bin/env bash
# The core's cost on a microcontroller, and the budgets of DESIGN.md ("Budgets on the
# microcontroller") checked against it. Builds the probe firmwares of this folder for
# thumbv7m and thumbv6m (opt-level "s", fat LTO, one codegen unit, a panic handler that
# prints nothing), prints .text, .rodata, .data and .bss per profile and the difference
# to the empty firmware, the bytes per slot, and the stack of `http::check` and its
# answer measured under QEMU. Exits non-zero when an enforced budget is exceeded.
#
# Flash figures are .text + .rodata without memcpy, memmove and memset (every firmware
# links them anyway); memcmp is counted. The .data image also sits in flash, and is a
# budget of its own (0 bytes).
#
# Usage: core/size/report.sh [--no-stack]     (run from anywhere; needs llvm-tools and,
# for the stack, qemu-system-arm)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
unset CARGO_TARGET_DIR # the probes keep their own target directory

stack=1
[ "${1:-}" = --no-stack ] && stack=0

bin="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
size_tool="$bin/llvm-size"
nm_tool="$bin/llvm-nm"
if [ ! -x "$size_tool" ] || [ ! -x "$nm_tool" ]; then
    echo "size report: needs llvm-size and llvm-nm (rustup component add llvm-tools)" >&2
    exit 2
fi

# Budgets, in bytes. Each is enforced (a breach fails the report) once it holds; the
# others are printed as not yet met.
table_budget=$((6 * 1024))     # the table's whole API, flash
data_budget=0                  # a `static` table's .data
slot_budget=40                 # bytes per slot beyond path and owner bytes (a 166-byte slot and its 2-byte bucket: 40)
http_budget=$((12 * 1024))     # the minimal http profile, flash on top of the table
full_budget=$((20 * 1024))     # the full http profile, flash on top of the table
stack_budget=2048              # http::check and writing its answer
enforced=" data slot stack "         # names of the enforced budgets, space-separated

out=target/report
mkdir -p "$out"

section() {
    "$size_tool" -A "$2" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}
# Bytes of the memory-copying routines every firmware links anyway.
mem_routines() {
    "$nm_tool" -S -C --radix=d "$1" |
        awk 'tolower($3) == "t" && $4 ~ /^(__aeabi_mem(cpy|move|set|clr)[48]?|compiler_builtins::mem::(memcpy|memmove|memset|set_bytes|copy_forward|copy_backward).*|memcpy|memmove|memset)$/ { s += $2 } END { print s + 0 }'
}

build() { # build TARGET BIN FEATURES [SLOTS]: copies the ELF to $out and prints its path
    local target=$1 name=$2 features=$3 slots=${4:-4}
    local elf="$out/$name-$target-$slots.elf"
    LOCKWARDEN_PROBE_SLOTS=$slots cargo build --quiet --release --target "$target" \
        --bin "$name" ${features:+--features "$features"}
    cp "target/$target/release/$name" "$elf"
    echo "$elf"
}

failures=0
verdict() { # verdict NAME VALUE BUDGET
    local name=$1 value=$2 budget=$3
    if [ "$value" -le "$budget" ]; then
        echo "holds"
    elif [[ $enforced == *" $name "* ]]; then
        failures=$((failures + 1))
        echo "EXCEEDED"
    else
        echo "not yet met"
    fi
}

declare -A flash
table_data=()
for target in thumbv7m-none-eabi thumbv6m-none-eabi; do
    printf '\n%s (bytes; flash = .text + .rodata - mem routines)\n' "$target"
    printf '%-10s %7s %7s %6s %6s %6s %7s %7s\n' profile .text .rodata .data .bss mem flash "+empty"
    for probe in "empty|" "table|table" "http|http" "http-full|http-full"; do
        IFS='|' read -r name features <<<"$probe"
        elf=$(build "$target" "$name" "$features")
        text=$(section .text "$elf")
        rodata=$(section .rodata "$elf")
        data=$(section .data "$elf")
        bss=$(section .bss "$elf")
        mem=$(mem_routines "$elf")
        flash[$target.$name]=$((text + rodata - mem))
        printf '%-10s %7d %7d %6d %6d %6d %7d %+7d\n' "$name" "$text" "$rodata" "$data" "$bss" "$mem" \
            "${flash[$target.$name]}" $((flash[$target.$name] - flash[$target.empty]))
        [ "$name" = table ] && table_data[${#table_data[@]}]=$data
    done
done

# Bytes per slot: the table probe's RAM at two capacities.
target=thumbv7m-none-eabi
ram() { echo $(($(section .data "$1") + $(section .bss "$1"))); }
small=$(ram "$(build "$target" table table 4)")
large=$(ram "$(build "$target" table table 20)")
per_slot=$(((large - small) / 16))
slot_overhead=$((per_slot - 64 - 64))

printf '\nbudgets (DESIGN.md, "Budgets on the microcontroller")\n'
row() { printf '  %-60s %7s  budget %6s  %s\n' "$1" "$2" "$3" "$4"; }
for target in thumbv7m-none-eabi thumbv6m-none-eabi; do
    arch=${target%%-*}
    table=$((flash[$target.table] - flash[$target.empty]))
    http=$((flash[$target.http] - flash[$target.table]))
    full=$((flash[$target.http-full] - flash[$target.table]))
    row "$arch: the table's whole API, flash" "$table" "$table_budget" "$(verdict table "$table" "$table_budget")"
    row "$arch: the minimal http profile on top of the table" "$http" "$http_budget" "$(verdict http "$http" "$http_budget")"
    row "$arch: the full http profile on top of the table" "$full" "$full_budget" "$(verdict http-full "$full" "$full_budget")"
done
data=${table_data[0]}
row "a static table's .data (4 slots)" "$data" "$data_budget" "$(verdict data "$data" "$data_budget")"
row "a slot: $per_slot bytes, beyond its 64 + 64 path and owner bytes" "$slot_overhead" "$slot_budget" \
    "$(verdict slot "$slot_overhead" "$slot_budget")"

if [ "$stack" = 1 ]; then
    if ! command -v qemu-system-arm >/dev/null; then
        echo "size report: the stack needs qemu-system-arm (or pass --no-stack)" >&2
        exit 2
    fi
    for machine in "thumbv7m-none-eabi|-cpu cortex-m3 -machine lm3s6965evb" "thumbv6m-none-eabi|-machine microbit"; do
        IFS='|' read -r target args <<<"$machine"
        elf=$(build "$target" stack stack)
        # shellcheck disable=SC2086 # the machine's arguments are words
        log=$(timeout 60 qemu-system-arm $args -nographic -semihosting-config enable=on,target=native \
            -kernel "$elf" 2>/dev/null || true)
        echo "$log" >"$out/stack-$target.log"
        deepest=$(sed -n 's/^http::check and its answer: at most \([0-9]*\) bytes.*/\1/p' <<<"$log")
        if [ -z "$deepest" ]; then
            echo "size report: the stack probe printed no figure on $target:" >&2
            echo "$log" >&2
            failures=$((failures + 1))
            continue
        fi
        row "${target%%-*}: stack of http::check and its answer (QEMU)" "$deepest" "$stack_budget" \
            "$(verdict stack "$deepest" "$stack_budget")"
    done
fi

if [ "$failures" -gt 0 ]; then
    echo "size report: $failures enforced budget(s) exceeded" >&2
    exit 1
fi
