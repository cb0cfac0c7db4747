#!/usr/bin/env python3
"""Turns the output of .ci/bench.sh into BENCHMARKS.md, and checks wrk results.

    report.py write OUT_DIR REPORT      write the report from OUT_DIR (target/bench/MODE)
    report.py check-wrk RESULT LABEL    fail unless a wrk run saw only expected statuses

Every figure in the report is read from the benchmark output: criterion's estimates
(median of each benchmark, per round), the answers and footprint the benchmark binaries
wrote, wrk's JSON lines from tests/benches/http.lua, the load averages and the machine
description that bench.sh recorded. Ratios are taken within one round, where both
systems ran under the same load, and the report gives the median over rounds.
"""

import json
import pathlib
import statistics
import sys

# Workloads of ../shared/BENCHMARKS.md, in report order: id, what is timed, goal.
SPEED = [
    ("W1", "uncontended cycle: lock, write check with the token, unlock", 15),
    ("W2", "conflict check: write check without token on a locked resource", 10),
    ("W3a", "busy table (32 locks): the holder's write check", 5),
    ("W3b", "busy table (32 locks): write check beside the locks", 5),
    ("W4a", "depth-infinity lock on /config: write below it without token", 5),
    ("W4b", "depth-infinity lock on /config: write below it with the token", 5),
    ("W5a", "1000 expired locks, first write check beside them", None),
    ("W5b", "1000 expired locks, first DELETE check of /config", None),
    ("scale-a", "W3a with 1000 locks in 1024 slots", None),
    ("scale-b", "W3b with 1000 locks in 1024 slots", None),
]
SYSTEMS = ("lockwarden", "memls")
# "W5 costs the same as with no expired locks": the report calls a ratio of at most this
# to the same first check on an empty table "the same" (single first operations on a
# freshly built table are noisy at the scale of a few cache misses).
SAME_COST = 1.25
SCALE_LIMIT = 2.0
HTTP = [
    ("H1", "GET /config/network", "200"),
    ("H2", "PUT /config/display without token, locked by another client", "423"),
    ("H3", "PUT /config/display with the lock's If token (durable write)", "200 or 204"),
]
# Reference rates of Apache httpd 2.4 + mod_dav_fs on this kind of machine, from
# ../shared/BENCHMARKS.md (not measured here): the HTTP goal is H2 at 4x its rate.
APACHE = {"H1": 20_000, "H2": 14_000, "H3": 2_400}


def fail(message):
    print(f"report: {message}", file=sys.stderr)
    sys.exit(1)


def check_wrk(path, label):
    result = json.loads(pathlib.Path(path).read_text())
    errors = result["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    print(
        f"  {label}: {result['requests_per_sec']:.0f} requests/s, p50 {result['p50_us'] / 1000:.2f} ms,"
        f" p99 {result['p99_us'] / 1000:.2f} ms, statuses {result['statuses']}"
    )
    if result["requests"] == 0:
        fail(f"{label}: no request completed")
    if result["unexpected"]:
        fail(f"{label}: {result['unexpected']} responses with an unexpected status {result['statuses']}")
    if socket_errors:
        fail(f"{label}: socket errors {errors}")


def read_meta(out):
    meta = {}
    for line in (out / "meta.txt").read_text().splitlines():
        key, _, value = line.partition(": ")
        meta[key] = value
    return meta


def median_ns(out, group, system, round_no):
    path = out / "criterion" / group / system / f"round{round_no}" / "estimates.json"
    if not path.exists():
        fail(f"missing criterion estimate {path}")
    return json.loads(path.read_text())["median"]["point_estimate"]


def ns(value):
    if value >= 10_000:
        return f"{value / 1000:,.1f} µs"
    return f"{value:,.1f} ns"


def ratio(value):
    return f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def load_of(path):
    return path.read_text().strip() if path.exists() else "?"


def write(out, report_path):
    meta = read_meta(out)
    rounds = sorted(
        int(p.name.split("-")[1]) for p in out.glob("round-*") if (p / "answers.json").exists()
    )
    if not rounds:
        fail(f"no completed round in {out}")
    groups = [w for w, _, _ in SPEED] + ["W3a", "W3b", "W5a-none", "W5b-none"]
    times = {
        (g, s): [median_ns(out, g, s, r) for r in rounds] for g in set(groups) for s in SYSTEMS
    }
    med = {key: statistics.median(values) for key, values in times.items()}

    def round_ratios(num, den):
        return [n / d for n, d in zip(times[num], times[den])]

    answers = json.loads((out / f"round-{rounds[0]}" / "answers.json").read_text())
    wrong = {(a["workload"], a["system"]): a for a in answers if a["expected"] != a["observed"]}
    footprint = json.loads((out / f"round-{rounds[0]}" / "footprint.json").read_text())

    lines = []
    emit = lines.append
    emit("# lockwarden benchmarks")
    emit("")
    emit(
        "Written by `tests/benches/report.py` from the output of `bash .ci/bench.sh`"
        f" ({meta.get('mode', '?')} mode); do not edit by hand. The workloads are those of the"
        " project's benchmark definitions (W1–W5, mem, scale, H1–H3); the peer is the"
        " `dav-server` crate's in-memory lock system (`memls::MemLs`, version 0.11, through its"
        " `DavLockSystem` trait, driven by `futures::executor::block_on`) measured in the same"
        " criterion run. Every benchmark checks its answer; a wrong answer aborts the run,"
        " except the peer's known wrong answer, which is reported below."
    )
    emit("")
    emit("## Machine and run")
    emit("")
    emit("| | |")
    emit("|---|---|")
    for key in ("date", "cpu", "cores", "memory", "kernel", "rustc", "wrk-version", "commit"):
        if key in meta:
            emit(f"| {key} | {meta[key]} |")
    emit(f"| rounds | {len(rounds)} (criterion medians; ratios taken within each round) |")
    for r in rounds:
        d = out / f"round-{r}"
        emit(
            f"| round {r} | load average {load_of(d / 'load-before')} before,"
            f" {load_of(d / 'load-after')} after; {load_of(d / 'seconds')} s |"
        )
    emit("")
    emit("Commands:")
    emit("")
    emit("```")
    for key in ("command", "criterion", "wrk-command"):
        if key in meta:
            emit(meta[key])
    emit("```")
    emit("")

    # ---- speed
    emit("## Lock-table speed against MemLs")
    emit("")
    emit(
        "Median time per operation (median over rounds of criterion's median); *speed-up* is"
        " MemLs's time divided by lockwarden's, taken in each round (listed) and then the"
        " median. Tables: `LockTable<64, 64, 64>` for W1–W4, `LockTable<1024, 64, 64>` for W5"
        " and scale."
    )
    emit("")
    emit("| workload | timed | lockwarden | MemLs | speed-up | per round | goal | |")
    emit("|---|---|---:|---:|---:|---|---|---|")
    missed = []
    for workload, what, goal in SPEED:
        w, m = med[(workload, "lockwarden")], med[(workload, "memls")]
        rr = round_ratios((workload, "memls"), (workload, "lockwarden"))
        speedup = statistics.median(rr)
        per_round = " ".join(ratio(x) for x in rr)
        if (workload, "memls") in wrong:
            speedup_text = "— (MemLs answers wrong)"
            per_round = "—"
        else:
            speedup_text = ratio(speedup)
        if goal is not None:
            goal_text = f"≥ {goal}× faster"
            met = speedup >= goal
        elif workload.startswith("W5"):
            own = statistics.median(round_ratios((workload, "lockwarden"), (f"{workload}-none", "lockwarden")))
            goal_text = f"same cost as no expired locks: {ratio(own)} (≤ {SAME_COST}×)"
            met = own <= SAME_COST
        else:
            base = "W3" + workload[-1]
            own = statistics.median(round_ratios((workload, "lockwarden"), (base, "lockwarden")))
            goal_text = f"≤ {SCALE_LIMIT:.0f}× the 32-lock case: {ratio(own)}"
            met = own <= SCALE_LIMIT
        if not met:
            missed.append(workload)
        emit(
            f"| {workload} | {what} | {ns(w)} | {ns(m)} | {speedup_text} | {per_round} |"
            f" {goal_text} | {'met' if met else '**missed**'} |"
        )
    emit("")
    emit(
        "Goals missed: " + (", ".join(missed) if missed else "none") + "."
        f" W5 and scale compare lockwarden with itself (the goal), MemLs's own figures are"
        " below."
    )
    emit("")

    emit("### W5: expiry (each sample is the first operation on a freshly built table)")
    emit("")
    emit(
        "`-none` is the same first check on a fresh table without locks. Timed one operation"
        " at a time (criterion `iter_batched_ref`, `BatchSize::PerIteration`), so each figure"
        " includes the clock reads around it. lockwarden's locks expired by the clock passed"
        " in (1 s timeouts, checked at t0 + 2 s); MemLs reads the system clock, so its locks"
        " got 1 ms timeouts and the setup slept 2 ms (the sleep also leaves its caches cold)."
    )
    emit("")
    emit("| system | workload | 1000 expired | none | ratio | per round |")
    emit("|---|---|---:|---:|---:|---|")
    for s in SYSTEMS:
        for w in ("W5a", "W5b"):
            rr = round_ratios((w, s), (f"{w}-none", s))
            emit(
                f"| {s} | {w} | {ns(med[(w, s)])} | {ns(med[(f'{w}-none', s)])} |"
                f" {ratio(statistics.median(rr))} | {' '.join(ratio(x) for x in rr)} |"
            )
    hundred = {
        w: [out / "criterion" / f"{w}-100" / "lockwarden" / f"round{r}" / "estimates.json" for r in rounds]
        for w in ("W5a", "W5b")
    }
    if all(p.exists() for paths in hundred.values() for p in paths):
        emit("")
        emit("Whether the cost grows with the number of expired locks (lockwarden, same first check):")
        emit("")
        emit("| workload | none | 100 expired | 1000 expired |")
        emit("|---|---:|---:|---:|")
        for w, paths in hundred.items():
            h = statistics.median(json.loads(p.read_text())["median"]["point_estimate"] for p in paths)
            emit(f"| {w} | {ns(med[(f'{w}-none', 'lockwarden')])} | {ns(h)} | {ns(med[(w, 'lockwarden')])} |")
    emit("")
    clock = [out / "criterion" / "clock" / "empty" / f"round{r}" / "estimates.json" for r in rounds]
    if all(p.exists() for p in clock):
        floor = [json.loads(p.read_text())["median"]["point_estimate"] for p in clock]
        adjusted = {
            w: statistics.median(
                (a - f) / (n - f)
                for a, n, f in zip(times[(w, "lockwarden")], times[(f"{w}-none", "lockwarden")], floor)
            )
            for w in ("W5a", "W5b")
        }
        emit(
            f"An empty routine timed the same way (the clock reads alone) takes"
            f" {ns(statistics.median(floor))}; it is in both columns, so the ratios understate"
            f" the difference: without it, lockwarden's W5a is {ratio(adjusted['W5a'])} and W5b"
            f" {ratio(adjusted['W5b'])} the cost of the empty table."
        )
        emit("")
    for (workload, system), a in sorted(wrong.items()):
        emit(
            f"- {workload} on {system}: expected *{a['expected']}*, answered *{a['observed']}*:"
            f" {a['note']}."
        )
    emit("")

    emit("### scale: 1000 locks held against 32")
    emit("")
    emit("| system | W3a (32 locks) | scale-a (1000) | ratio | W3b (32 locks) | scale-b (1000) | ratio |")
    emit("|---|---:|---:|---:|---:|---:|---:|")
    for s in SYSTEMS:
        cells = []
        for w, base in (("scale-a", "W3a"), ("scale-b", "W3b")):
            r = statistics.median(round_ratios((w, s), (base, s)))
            cells += [ns(med[(base, s)]), ns(med[(w, s)]), ratio(r)]
        emit(f"| {s} | " + " | ".join(cells) + " |")
    emit("")

    emit("### Answers checked")
    emit("")
    emit("| workload | expected | lockwarden | MemLs |")
    emit("|---|---|---|---|")
    by = {(a["workload"], a["system"]): a for a in answers}
    for workload in dict.fromkeys(a["workload"] for a in answers):
        exp = by[(workload, "lockwarden")]["expected"]
        cells = []
        for s in SYSTEMS:
            a = by.get((workload, s))
            if a is None:
                cells.append("—")
            elif a["observed"] == a["expected"]:
                cells.append("as expected")
            else:
                cells.append(f"**{a['observed']}** (wrong)")
        emit(f"| {workload} | {exp} | " + " | ".join(cells) + " |")
    emit("")

    # ---- footprint
    emit("## Footprint")
    emit("")
    mem = {f["system"]: f for f in footprint if f["kind"] == "mem"}
    slots = [f for f in footprint if f["kind"] == "slot_size"]
    emit("`mem`: a table (or lock system) with one lock, then 1000 more depth-0 locks.")
    emit("")
    emit("| system | bytes per held lock | heap allocations for 1000 locks | heap bytes for 1000 locks |")
    emit("|---|---:|---:|---:|")
    lw, ml = mem["lockwarden"], mem["memls"]
    emit(
        f"| lockwarden | {lw['bytes_per_lock']} (one slot, fixed capacity) | {lw['allocations']} |"
        f" {lw['heap_bytes']} |"
    )
    emit(
        f"| MemLs | {ml['bytes_per_lock']:.0f} (requested sizes, allocator overhead not counted) |"
        f" {ml['allocations']} | {ml['heap_bytes']} |"
    )
    emit("")
    emit(
        "lockwarden's table is sized at compile time: every slot costs its bytes whether it"
        " holds a lock or not. `size_of::<LockTable<N, 64, 64>>()`:"
    )
    emit("")
    emit("| slots N | bytes |")
    emit("|---:|---:|")
    for f in footprint:
        if f["kind"] == "table_size":
            emit(f"| {f['slots']} | {f['bytes']:,} |")
    emit("")
    emit(
        "Bytes per slot: "
        + "; ".join(f"{f['bytes']} with paths of {f['path']} and owners of {f['owner']} bytes" for f in slots)
        + " (the std adapter's default)."
    )
    emit("")
    emit("Heap allocations per operation (counting global allocator; lockwarden through the std")
    emit("adapter's `LockManager`, no tracing subscriber installed):")
    emit("")
    allocs = {(f["system"], f["operation"]): f["per_operation"] for f in footprint if f["kind"] == "allocations"}
    operations = list(dict.fromkeys(op for _, op in allocs))
    emit("| operation | lockwarden | MemLs |")
    emit("|---|---:|---:|")
    for op in operations:
        emit(f"| {op} | {round(allocs.get(('lockwarden', op), 0), 2):g} | {round(allocs.get(('memls', op), 0), 2):g} |")
    w1 = {s: sum(allocs.get((s, op), 0) for op in ("lock", "check passes", "unlock")) for s in SYSTEMS}
    emit(f"| W1 (lock + check + unlock) | {round(w1['lockwarden'], 2):g} | {round(w1['memls'], 2):g} |")
    emit("")
    check_allocs = allocs.get(("lockwarden", "check passes"), 0) + allocs.get(("lockwarden", "check refused"), 0)
    emit(f"Goal: the check path allocates nothing — {'met' if check_allocs == 0 else '**missed**'}.")
    emit("")
    size_report = out / "size-report.txt"
    if size_report.exists():
        emit("### On the microcontroller")
        emit("")
        emit("`examples/mcu-demo/size-report.sh` (firmware built with and without the table and the")
        emit("`http` layer; release profile `opt-level = \"s\"`, LTO, one codegen unit):")
        emit("")
        emit("```")
        emit(size_report.read_text().rstrip())
        emit("```")
        emit("")

    # ---- HTTP
    emit("## HTTP load on config-server")
    emit("")
    emit(
        "`config-server` built in release mode, on a loopback port, with a data directory"
        " (each accepted PUT is written durably); `/config/display` is locked by another"
        " client for H2 and H3. wrk runs on the same 2-core machine as the server. Every"
        " response's status is counted (tests/benches/http.lua); any unexpected status fails"
        " the run."
    )
    emit("")
    emit("| id | request | expected | run | requests/s | p50 | p99 | statuses | load before |")
    emit("|---|---|---|---:|---:|---:|---:|---|---|")
    rates = {}
    for hid, what, expected in HTTP:
        for run in (1, 2):
            path = out / "http" / f"{hid}-{run}.json"
            if not path.exists():
                continue
            r = json.loads(path.read_text())
            rates.setdefault(hid, []).append(r["requests_per_sec"])
            statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items()))
            emit(
                f"| {hid} | {what} | {expected} | {run} | {r['requests_per_sec']:,.0f} |"
                f" {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms | {statuses} |"
                f" {load_of(out / 'http' / f'{hid}-{run}.load')} |"
            )
    emit("")
    if rates:
        emit(
            "Against the reference figures for Apache httpd 2.4 with mod_dav_fs on this kind of"
            " machine (from the benchmark definitions, not measured in this run):"
        )
        emit("")
        emit("| id | config-server (median of runs) | Apache reference | ratio |")
        emit("|---|---:|---:|---:|")
        for hid, _, _ in HTTP:
            if hid in rates:
                rate = statistics.median(rates[hid])
                emit(f"| {hid} | {rate:,.0f}/s | {APACHE[hid]:,}/s | {ratio(rate / APACHE[hid])} |")
        emit("")
        durable = out / "http" / "durable-write.json"
        if durable.exists() and "H3" in rates:
            ms = json.loads(durable.read_text())["median_ms"]
            emit(
                f"For H3: one durable write on this disk (1 KiB written, fsync, rename, fsync of"
                f" the directory, as config-server's storage does) took {ms:.2f} ms (median of 30,"
                f" just before the HTTP runs), so writes stored one after another would top out"
                f" near {1000 / ms:,.0f}/s; config-server reached"
                f" {statistics.median(rates['H3']):,.0f}/s."
            )
            emit("")
        if "H2" in rates:
            h2 = statistics.median(rates["H2"]) / APACHE["H2"]
            emit(
                f"Goal: H2 (the 423 with its full body and headers) at 4× the conventional server's"
                f" rate: {ratio(h2)} — {'met' if h2 >= 4 else '**missed**'} (against the reference figure)."
            )
            emit("")
            # The table's share of an H2 request: the W2 check against the wall time a
            # request takes on one of the machine's cores (server and wrk share them).
            cores = int(meta.get("cores", "2") or 2)
            per_request_ns = cores * 1e9 / statistics.median(rates["H2"])
            w2 = med[("W2", "lockwarden")]
            emit(
                f"The lock check itself (W2, {ns(w2)}) is {100 * w2 / per_request_ns:.2f} % of the"
                f" {per_request_ns / 1000:,.1f} µs of core time an H2 request takes here ({cores}"
                " cores / rate, shared by server and load generator): the rest is the HTTP stack,"
                " the 423's body and headers, and wrk."
            )
            emit("")
    pathlib.Path(report_path).write_text("\n".join(lines).rstrip() + "\n")


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "write":
        write(pathlib.Path(args[1]), args[2])
    elif len(args) == 3 and args[0] == "check-wrk":
        check_wrk(args[1], args[2])
    else:
        fail(__doc__.strip())


if __name__ == "__main__":
    main()
