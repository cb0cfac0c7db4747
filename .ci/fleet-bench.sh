#!/usr/bin/env bash
# config-server on etcd beside config-server in memory, in one run: one write check (a PUT
# refused with 423), one LOCK+UNLOCK, and the HTTP workloads H1–H3 of .ci/bench.sh with
# wrk; the etcd round trips of each operation counted from etcd's own metrics, and the
# ratios. Every status is checked (tests/benches/http.lua). Prints a Markdown table.
#
#   bash .ci/fleet-bench.sh [SECONDS]   wrk seconds per workload (default 5)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
seconds=${1:-5}
bash .ci/etcd.sh --install-only
command -v wrk >/dev/null || {
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y wrk
}
cargo build --release --quiet -p config-server --features etcd
server_bin=${CARGO_TARGET_DIR:-$root/target}/release/config-server

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

client_port=$(free_port)
peer_port=$(free_port)
etcd_url=http://127.0.0.1:$client_port
etcd --data-dir "$work/etcd" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$etcd_url" put /bench/ready 1 >/dev/null 2>&1 && break
    sleep 0.1
done

memory_port=$(free_port)
fleet_port=$(free_port)
mkdir -p "$work/data"
"$server_bin" --listen "127.0.0.1:$memory_port" --data-dir "$work/data" >"$work/memory.log" 2>&1 &
pids+=($!)
"$server_bin" --listen "127.0.0.1:$fleet_port" --etcd "$etcd_url" >"$work/fleet.log" 2>&1 &
pids+=($!)
for port in "$memory_port" "$fleet_port"; do
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/config/display" 2>/dev/null && break
        sleep 0.1
    done
done

# Sequential operations on each server; for the etcd one, etcd's gRPC calls per operation.
python3 - "$memory_port" "$fleet_port" "$etcd_url" >"$work/sequential.json" <<'PY'
import http.client, json, re, statistics, sys, time, urllib.request

memory, fleet, etcd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
N = 200

def rpcs():
    text = urllib.request.urlopen(etcd + "/metrics").read().decode()
    return sum(float(m) for m in re.findall(r'^grpc_server_handled_total\{[^}]*grpc_service="etcdserverpb\.(?:KV|Lease)"[^}]*\} (\S+)', text, re.M))

def run(port, counted):
    c = http.client.HTTPConnection("127.0.0.1", port)
    def req(method, path, headers={}, body=None):
        start = time.perf_counter()
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        r.read()
        return r, time.perf_counter() - start
    times = {"lock": [], "unlock": [], "check": [], "write": []}
    calls = {k: 0.0 for k in times}
    lockinfo = b'<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>bench</D:owner></D:lockinfo>'
    for i in range(N):
        before = rpcs() if counted else 0
        r, t = req("LOCK", "/config/display", {"Content-Type": "application/xml", "Timeout": "Second-60"}, lockinfo)
        assert r.status == 200, r.status
        token = r.getheader("Lock-Token")
        times["lock"].append(t)
        mid = rpcs() if counted else 0
        r, t = req("PUT", "/config/display", {"Content-Type": "application/json"}, b'{"i": 0}')
        assert r.status == 423, r.status
        times["check"].append(t)
        mid2 = rpcs() if counted else 0
        r, t = req("PUT", "/config/display", {"Content-Type": "application/json", "If": "(%s)" % token}, b'{"i": %d}' % i)
        assert r.status == 200, r.status
        times["write"].append(t)
        mid3 = rpcs() if counted else 0
        r, t = req("UNLOCK", "/config/display", {"Lock-Token": token})
        assert r.status == 204, r.status
        times["unlock"].append(t)
        after = rpcs() if counted else 0
        if counted:
            calls["lock"] += mid - before
            calls["check"] += mid2 - mid
            calls["write"] += mid3 - mid2
            calls["unlock"] += after - mid3
    return {k: {"median_ms": statistics.median(v) * 1000, "etcd_calls": calls[k] / N} for k, v in times.items()}

print(json.dumps({"memory": run(memory, False), "etcd": run(fleet, True)}))
PY

# wrk: H1 GET, H2 PUT refused by another client's lock, H3 PUT with the lock's token.
wrk_run() {
    local port=$1 id=$2 method=$3 expect=$4 if_header=${5:-} body=""
    local section
    section=$(curl -fsS "http://127.0.0.1:$port/config/display")
    [[ $method == PUT ]] && body=$section
    local url=http://127.0.0.1:$port/config/display
    [[ $id == H1 ]] && url=http://127.0.0.1:$port/config/network
    BENCH_METHOD=$method BENCH_BODY=$body BENCH_IF=$if_header BENCH_EXPECT=$expect \
        BENCH_RESULT=$work/$port-$id.json \
        wrk -t2 -c16 "-d${seconds}s" --timeout 5s -s tests/benches/http.lua "$url" >/dev/null
    python3 tests/benches/report.py check-wrk "$work/$port-$id.json" "$id on port $port"
}
lockinfo='<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>benchmark holder</D:owner></D:lockinfo>'
for port in "$memory_port" "$fleet_port"; do
    token=$(curl -fsS -o /dev/null -D - -X LOCK -H 'Timeout: Second-3600' \
        -H 'Content-Type: application/xml' --data "$lockinfo" "http://127.0.0.1:$port/config/display" |
        tr -d '\r' | sed -n 's/^[Ll]ock-[Tt]oken: *<\(.*\)>$/\1/p')
    [[ $token == urn:uuid:* ]] || { echo "fleet-bench: no lock on port $port" >&2; exit 1; }
    wrk_run "$port" H1 GET 200
    wrk_run "$port" H2 PUT 423
    wrk_run "$port" H3 PUT 200 "(<$token>)"
    curl -fsS -o /dev/null -X UNLOCK -H "Lock-Token: <$token>" "http://127.0.0.1:$port/config/display"
done

python3 - "$work" "$memory_port" "$fleet_port" "$seconds" <<'PY'
import json, sys
work, memory, fleet, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
seq = json.load(open(f"{work}/sequential.json"))
load = open("/proc/loadavg").read().split()[:3]
print(f"config-server (release) in memory (durable --data-dir) and on a 1-member etcd on loopback; load {' '.join(load)}\n")
print("| operation (one client, sequential) | in memory | on etcd | ratio | etcd calls |")
print("|---|---|---|---|---|")
names = {"lock": "LOCK (granted)", "check": "write check (PUT, 423)", "write": "PUT with the token (checked and stored)", "unlock": "UNLOCK"}
for key, name in names.items():
    m, e = seq["memory"][key]["median_ms"], seq["etcd"][key]
    print(f"| {name} | {m:.2f} ms | {e['median_ms']:.2f} ms | {e['median_ms'] / m:.1f}x | {e['etcd_calls']:.1f} |")
print(f"\n| workload (wrk -t2 -c16, {seconds} s) | in memory | on etcd | ratio |")
print("|---|---|---|---|")
names = {"H1": "H1 GET /config/network", "H2": "H2 PUT refused (423)", "H3": "H3 PUT with the token"}
for key, name in names.items():
    m = json.load(open(f"{work}/{memory}-{key}.json"))["requests_per_sec"]
    e = json.load(open(f"{work}/{fleet}-{key}.json"))["requests_per_sec"]
    print(f"| {name} | {m:,.0f}/s | {e:,.0f}/s | {m / e:.1f}x |")
PY
