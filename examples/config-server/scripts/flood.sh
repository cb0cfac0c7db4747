#!/usr/bin/env bash
# A flood of anonymous 60 KB PATCHes against a release config-server with a data
# directory: prints how many were stored and refused, the latency of each kind (median
# and 90th percentile), the stored document's size and the server's resident memory.
# Usage: examples/config-server/scripts/flood.sh [WRITES] [PORT]
set -euo pipefail
writes=${1:-300}
port=${2:-18080}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
cargo build --quiet --release -p config-server
bin="${CARGO_TARGET_DIR:-$root/target}/release/config-server"
data="$(mktemp -d)"
"$bin" --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/config" && break; sleep 0.1; done
filler=$(head -c 45000 /dev/urandom | base64 -w0 | head -c 60000)
sections=(network wifi display time firmware-update logging)
times="$(mktemp)"
for i in $(seq 0 $((writes - 1))); do
    section=${sections[$((i % ${#sections[@]}))]}
    printf '{"k%d": "%s"}' "$i" "$filler" |
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X PATCH \
            -H 'Content-Type: application/merge-patch+json' --data-binary @- \
            "http://127.0.0.1:$port/config/$section" >>"$times"
done
summary() {
    local code=$1
    awk -v c="$code" '$1 == c { print $2 * 1000 }' "$times" | sort -n | awk -v c="$code" '
        { v[NR] = $1 }
        END {
            if (!NR) exit
            p90 = int(NR * 0.9); if (p90 < 1) p90 = 1
            printf "  %s: %d writes, latency median %.1f ms, p90 %.1f ms\n", c, NR, v[int((NR + 1) / 2)], v[p90]
        }'
}
echo "$writes PATCHes of 60 KB, anonymous, durable (--data-dir):"
for code in $(awk '{print $1}' "$times" | sort -u); do summary "$code"; done
echo "  stored document: $(stat -c %s "$data/config.json") bytes"
echo "  server resident memory: $(awk '/VmRSS/ {print $2, $3}' "/proc/$server/status")"
rm -f "$times"
