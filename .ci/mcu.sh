#!/usr/bin/env bash
# The microcontroller demo: installs what it needs (only what is missing), runs the LED
# driver's host tests, builds each firmware variant, boots each under QEMU and checks its
# exit code and the lines it must print. A deliberately broken variant must exit non-zero.
# The configuration-API firmware is served under QEMU and driven over a host TCP port by
# check-serve.py; a build without its lock layer must fail that check.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo="$root/examples/mcu-demo"
out="$demo/target/ci"
started=$SECONDS

say() { printf 'mcu: %s\n' "$*"; }

# --- tools --------------------------------------------------------------------------------
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

installed_targets="$(rustup target list --installed)"
for target in thumbv7m-none-eabi thumbv6m-none-eabi; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
if ! command -v qemu-system-arm >/dev/null; then
    sudo_if_needed apt-get -o DPkg::Lock::Timeout=600 update
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends qemu-system-arm
fi
# The defmt build is checked through its decoded log, so the decoder is needed (minutes to
# build once; skipped when present).
if ! command -v defmt-print >/dev/null; then
    cargo install defmt-print --locked --version '^1.2'
fi

cd "$demo"

# --- host side ----------------------------------------------------------------------------
# The workspace's default target is thumb; the LED driver's and the lockinfo reader's tests
# run on the host.
cargo fmt --check -p mcu-demo -p lock-indicator -p lockinfo
cargo test --quiet --target x86_64-unknown-linux-gnu -p lock-indicator -p lockinfo
cargo clippy --quiet --target x86_64-unknown-linux-gnu -p lock-indicator -p lockinfo --all-targets \
    -- -D warnings
cargo clippy --quiet --release -- -D warnings
for features in board-lm3s6965evb board-lm3s6965evb,table board-lm3s6965evb,http,defmt; do
    cargo clippy --quiet --release --no-default-features --features "$features" -- -D warnings
done
cargo clippy --quiet --release --target thumbv6m-none-eabi --no-default-features \
    --features board-microbit,http -- -D warnings
# The configuration API and its layers (transport, HTTP parser, JSON) on their own.
for features in net serve-http serve-json serve; do
    cargo clippy --quiet --release --no-default-features --features "$features" -- -D warnings
done

# --- firmware -----------------------------------------------------------------------------
mkdir -p "$out"
failures=0
summary=()

# build NAME TARGET FEATURES: one release build, kept as target/ci/NAME.elf.
build() {
    local name=$1 target=$2 features=$3
    cargo build --quiet --release --target "$target" --no-default-features --features "$features"
    cp "target/$target/release/mcu-demo" "$out/$name.elf"
}

qemu() {
    local machine=$1 elf=$2
    case $machine in
        lm3s6965evb) set -- -cpu cortex-m3 -machine lm3s6965evb ;;
        microbit) set -- -machine microbit ;;
    esac
    timeout 60 qemu-system-arm "$@" -nographic -semihosting-config enable=on,target=native -kernel "$elf"
}

# run NAME MACHINE DECODE EXPECTED_EXIT LINE...: boots target/ci/NAME.elf, keeps its output
# in target/ci/NAME.log, and checks the exit code and that each LINE (an extended regular
# expression) matches a whole line of the output.
run() {
    local name=$1 machine=$2 decode=$3 expected=$4
    shift 4
    local elf="$out/$name.elf" log="$out/$name.log" t0=$SECONDS code=0 verdict=ok missing=()
    if [ "$decode" = defmt ]; then
        # pipefail keeps QEMU's exit code through the decoder.
        (set -o pipefail; qemu "$machine" "$elf" 2>"$out/$name.stderr" | defmt-print -e "$elf" >"$log") || code=$?
    else
        qemu "$machine" "$elf" >"$log" 2>"$out/$name.stderr" || code=$?
    fi
    for line in "$@"; do
        grep -Eqx -- "$line" "$log" || missing+=("$line")
    done
    if [ "$code" -eq 124 ]; then verdict="TIMED OUT"; fi
    if [ "$code" -ne "$expected" ] || [ ${#missing[@]} -gt 0 ]; then
        [ "$verdict" = ok ] && verdict=FAILED
        failures=$((failures + 1))
        say "$name: exit $code (expected $expected); output:"
        sed 's/^/    /' "$log" "$out/$name.stderr"
        for line in "${missing[@]}"; do say "$name: no line matches: $line"; done
    fi
    summary+=("$(printf '%-18s %-12s exit %3d (expected %d)  %2ds  %s' \
        "$name" "$machine" "$code" "$expected" $((SECONDS - t0)) "$verdict")")
}

# The lines every passing run prints, text or decoded defmt.
story=(
    'ok   the LED is on while A.s lock is held'
    'ok   B.s write to /config/network/wifi is refused with 423 Locked'
    'ok   A.s write to /config/network/wifi with its token is allowed'
    'ok   A.s refresh restarts its 1000 ticks'
    'tick [0-9]+: A.s lock expired with no unlock; the LED went off at tick [0-9]+'
    'ok   the lock expires by SysTick ticks and the LED goes off at that tick'
    'ok   after the expiry B.s write succeeds'
    'ok   B.s unlock with its token succeeds'
    'mcu-demo: all [0-9]+ checks passed'
)
# The 423 that B is shown, as composed by the core's protocol layer.
response=(
    '    HTTP/1.1 423 Locked'
    '    Content-Type: application/problem\+json'
    '    Cache-Control: no-store'
    '    Retry-After: [0-9]+'
    '    \{"type":"https://lockwarden.dev/problems/resource-locked",.*"lockRoot":"/config/network",.*"owner":"client A \(network tool\)".*\}'
)
# Without the protocol layer, B is shown the table's conflict.
conflict=(
    '    locked by the exclusive lock on /config/network \(depth infinity\) held by "client A \(network tool\)", expiring in [0-9]+ ticks'
)
# The core's own lock events, logged through defmt and stamped with the tick.
events=(
    '[0-9]+ DEBUG lock granted on /config/network'
    '[0-9]+ DEBUG lock refreshed on /config/network'
    '[0-9]+ DEBUG lock expired on /config/network'
    '[0-9]+ DEBUG lock released on /config/network/wifi'
)

build bare thumbv7m-none-eabi board-lm3s6965evb
build table thumbv7m-none-eabi board-lm3s6965evb,table
build http thumbv7m-none-eabi board-lm3s6965evb,http
build defmt thumbv7m-none-eabi board-lm3s6965evb,http,defmt
build microbit-spin thumbv6m-none-eabi board-microbit,http
build wrong thumbv7m-none-eabi board-lm3s6965evb,http,wrong-expectation

run bare lm3s6965evb text 0 'mcu-demo: all 3 checks passed'
run table lm3s6965evb text 0 "${story[@]}" "${conflict[@]}"
run http lm3s6965evb text 0 "${story[@]}" "${response[@]}"
run defmt lm3s6965evb defmt 0 "${story[@]}" "${response[@]}" "${events[@]}"
run microbit-spin microbit text 0 "mcu-demo on microbit \(Cortex-M0\).*" "${story[@]}" "${response[@]}"
# A dead or lying demo must not pass: the broken expectation ends the run with exit 1.
run wrong lm3s6965evb text 1 \
    'FAIL B.s write to /config/network/wifi is accepted while A holds the lock \(wrong on purpose\)'

# serve NAME FEATURES PARTS EXPECTED_EXIT LINE...: the configuration API under QEMU, driven
# over a host port by check-serve.py (HTTP exchanges, malformed requests, expiry by ticks);
# each LINE (an extended regular expression) must match a whole line of its report.
serve() {
    local name=$1 features=$2 parts=$3 expected=$4 t0=$SECONDS code=0 verdict=ok missing=()
    shift 4
    timeout 600 python3 "$demo/check-serve.py" --features "$features" --parts "$parts" \
        --keep-log "$out/$name.qemu.log" >"$out/$name.log" 2>&1 || code=$?
    for line in "$@"; do
        grep -Eqx -- "$line" "$out/$name.log" || missing+=("$line")
    done
    if [ "$code" -ne "$expected" ] || [ ${#missing[@]} -gt 0 ]; then
        verdict=FAILED
        failures=$((failures + 1))
        say "$name: exit $code (expected $expected); output:"
        sed 's/^/    /' "$out/$name.log" "$out/$name.qemu.log"
        for line in "${missing[@]}"; do say "$name: no line matches: $line"; done
    fi
    summary+=("$(printf '%-18s %-12s exit %3d (expected %d)  %2ds  %s' \
        "$name" "lm3s6965evb" "$code" "$expected" $((SECONDS - t0)) "$verdict")")
}
serve serve "board-lm3s6965evb,serve" story,webdav,malformed,parallel,rate 0 'serve: [0-9]+ passed, 0 failed'
grep -E '^(rate|serve):' "$out/serve.log" | sed 's/^/mcu: /' || true
# Without the lock layer the same exchanges must fail, and fail on the locks: the firmware
# serves, but grants no lock and refuses no write.
serve serve-no-locks "board-lm3s6965evb,serve-json" story 1 \
    'ok   the firmware answers on 127\.0\.0\.1:[0-9]+' \
    "FAIL A.s LOCK is granted \(200\) with a Lock-Token" \
    "FAIL B.s PUT without the token is refused with 423 Locked"

for line in "${summary[@]}"; do say "$line"; done
if [ "$failures" -gt 0 ]; then
    say "$failures run(s) failed ($((SECONDS - started))s)"
    exit 1
fi
say "all ${#summary[@]} runs as expected ($((SECONDS - started))s)"
