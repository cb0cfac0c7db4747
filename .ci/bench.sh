#!/usr/bin/env bash
# The benchmarks (workloads W1–W5, mem, scale, H1–H3): lock-table speed against
# dav-server's MemLs in one criterion run, footprint and allocation counts, and HTTP load
# on config-server with wrk. Every benchmark checks its answers; a wrong answer or an
# unexpected HTTP status fails the script.
#
#   bash .ci/bench.sh           full run: 3 rounds of criterion, wrk -t2 -c32 -d10s twice
#                               per workload, the firmware size report; writes BENCHMARKS.md
#   bash .ci/bench.sh --quick   short timings, 2-second wrk runs, one round (CI); writes
#                               target/bench/quick/BENCHMARKS.md only
#
# Loopback only; every run is bounded in time. BENCH_ROUNDS overrides the full run's rounds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

mode=full
case "${1:-}" in
    --quick) mode=quick ;;
    "") ;;
    *) echo "usage: bash .ci/bench.sh [--quick]" >&2; exit 2 ;;
esac

if [[ $mode == quick ]]; then
    rounds=1
    criterion_args=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10)
    wrk_seconds=2
else
    rounds=${BENCH_ROUNDS:-3}
    criterion_args=(--warm-up-time 2 --measurement-time 5)
    wrk_seconds=10
fi
wrk_args=(-t2 -c32 "-d${wrk_seconds}s" --timeout 5s)

out=$root/target/bench/$mode
rm -rf "$out"
mkdir -p "$out/http"
started=$SECONDS
note() { printf '\n--- %s (at %ss, load %s)\n' "$*" "$((SECONDS - started))" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

if ! command -v wrk >/dev/null; then
    note "installing wrk"
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y wrk
fi

bench=(cargo bench -p lockwarden-tests --bench lock_table --bench footprint)
note "building the benchmarks and config-server (release)"
"${bench[@]}" --no-run --quiet
cargo build --release --quiet -p config-server

{
    echo "mode: $mode"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "cores: $(nproc)"
    echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "rustc: $(rustc -V)"
    echo "wrk-version: $(wrk -v 2>&1 | head -n1)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- core std-adapter examples/config-server tests 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "rounds: $rounds"
    echo "command: bash .ci/bench.sh${1:+ $1}"
    echo "criterion: CRITERION_HOME=$out/criterion ${bench[*]} -- --save-baseline roundN ${criterion_args[*]}"
    echo "wrk-command: wrk ${wrk_args[*]} -s tests/benches/http.lua http://127.0.0.1:PORT/..."
} >"$out/meta.txt"

for round in $(seq 1 "$rounds"); do
    dir=$out/round-$round
    mkdir -p "$dir"
    note "lock-table benchmarks, round $round of $rounds"
    cut -d' ' -f1-3 /proc/loadavg >"$dir/load-before"
    t0=$SECONDS
    CRITERION_HOME=$out/criterion LOCKWARDEN_BENCH_OUT=$dir \
        "${bench[@]}" --quiet -- --save-baseline "round$round" "${criterion_args[@]}" \
        >"$dir/bench.log" 2>&1 || { tail -n 60 "$dir/bench.log"; exit 1; }
    echo $((SECONDS - t0)) >"$dir/seconds"
    cut -d' ' -f1-3 /proc/loadavg >"$dir/load-after"
    grep -E '^[A-Za-z0-9-]+/(lockwarden|memls) +time:' "$dir/bench.log" || true
done
[[ -s $out/round-1/footprint.json ]] || { echo "bench: the footprint benchmark wrote nothing" >&2; exit 1; }

# ---- HTTP: config-server in release, on a free loopback port, with a durable data dir
data=$out/data
mkdir -p "$data"
# What one durable write costs on this disk (config-server's storage does the same: write,
# fsync, rename, fsync the directory): the context for H3.
python3 - "$data" >"$out/http/durable-write.json" <<'PY'
import json, os, statistics, sys, time
d, times = sys.argv[1], []
for _ in range(30):
    start = time.perf_counter()
    with open(os.path.join(d, "probe.tmp"), "wb") as f:
        f.write(b"x" * 1024)
        f.flush()
        os.fsync(f.fileno())
    os.rename(os.path.join(d, "probe.tmp"), os.path.join(d, "probe"))
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    times.append(time.perf_counter() - start)
os.remove(os.path.join(d, "probe"))
print(json.dumps({"median_ms": statistics.median(times) * 1000, "samples": len(times)}))
PY
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
note "HTTP load on $base"
target/release/config-server --listen "127.0.0.1:$port" --data-dir "$data" \
    >"$out/http/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$base/config/display" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$out/http/server.log"; exit 1; }
    sleep 0.1
done
curl -fsS -o /dev/null "$base/config/display"

# H2 and H3 write to /config/display, locked by another client for the whole run.
section=$(curl -fsS "$base/config/display")
lockinfo='<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>benchmark holder</D:owner></D:lockinfo>'
token=$(curl -fsS -o /dev/null -D - -X LOCK -H 'Timeout: Second-3600' \
    -H 'Content-Type: application/xml' --data "$lockinfo" "$base/config/display" |
    tr -d '\r' | sed -n 's/^[Ll]ock-[Tt]oken: *<\(.*\)>$/\1/p')
[[ $token == urn:uuid:* ]] || { echo "bench: LOCK on /config/display gave no token" >&2; exit 1; }
# The 423 carries the lock's details (PROTOCOL.md): check one before loading it.
status=$(curl -sS -o "$out/http/H2-body" -D "$out/http/H2-headers" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/json' --data "$section" "$base/config/display")
[[ $status == 423 ]] || { echo "bench: H2 answered $status, not 423" >&2; exit 1; }
grep -q '/config/display' "$out/http/H2-body" || { echo "bench: the 423 body names no lock root" >&2; exit 1; }
status=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "If: (<$token>)" \
    -H 'Content-Type: application/json' --data "$section" "$base/config/display")
[[ $status == 200 || $status == 204 ]] || { echo "bench: H3 answered $status" >&2; exit 1; }

# workload method url expected-statuses [If]
run_wrk() {
    local id=$1 method=$2 url=$3 expect=$4 if_header=${5:-} body=""
    [[ $method == PUT ]] && body=$section
    for run in 1 2; do
        local result=$out/http/$id-$run.json
        cut -d' ' -f1-3 /proc/loadavg >"$out/http/$id-$run.load"
        BENCH_METHOD=$method BENCH_BODY=$body \
            BENCH_IF=$if_header BENCH_EXPECT=$expect BENCH_RESULT=$result \
            timeout $((wrk_seconds + 30)) wrk "${wrk_args[@]}" -s tests/benches/http.lua "$url" \
            >"$out/http/$id-$run.log" 2>&1 || { cat "$out/http/$id-$run.log"; exit 1; }
        python3 tests/benches/report.py check-wrk "$result" "$id run $run"
    done
}
run_wrk H1 GET "$base/config/network" 200
run_wrk H2 PUT "$base/config/display" 423
run_wrk H3 PUT "$base/config/display" 200,204 "(<$token>)"
curl -fsS -o /dev/null -X UNLOCK -H "Lock-Token: <$token>" "$base/config/display"
kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT

if [[ $mode == full ]]; then
    note "firmware size report"
    bash examples/mcu-demo/size-report.sh >"$out/size-report.txt" 2>&1 ||
        echo "(the size report failed; see $out/size-report.txt)"
fi

report=$out/BENCHMARKS.md
[[ $mode == full ]] && report=$root/BENCHMARKS.md
python3 tests/benches/report.py write "$out" "$report"
note "done: $report"
