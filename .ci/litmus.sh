#!/usr/bin/env bash
# Runs the litmus WebDAV compliance suites (basic, copymove, props, locks, http) against
# examples/webdav-server, with lockwarden as the lock system (over the in-memory
# filesystem, then over a directory), then with dav-server's own in-memory lock system
# (for comparison only), and prints the results side by side.
#
# Fails when any test of the locks suite fails or warns with lockwarden.
#
#   .ci/litmus.sh              debug build
#   PROFILE=release .ci/litmus.sh
#   TESTS="locks" .ci/litmus.sh  (the suites to run; litmus's own variable)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
profile=${PROFILE:-debug}
suites=${TESTS:-basic copymove props locks http}
target_dir=${CARGO_TARGET_DIR:-$root/target}
out="$target_dir/litmus"
mkdir -p "$out"

if ! command -v litmus >/dev/null 2>&1; then
    echo "litmus.sh: installing litmus"
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y litmus \
        || { $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update \
             && $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y litmus; }
fi

cargo_flags=(-p webdav-server)
if [ "$profile" = release ]; then cargo_flags+=(--release); fi
cargo build "${cargo_flags[@]}"
server="$target_dir/$profile/webdav-server"

server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        # Graceful shutdown first; bounded.
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
trap stop_server EXIT INT TERM

# run_litmus NAME [server args...]: starts the server on a free port, runs litmus into
# $out/NAME.txt, stops the server.
run_litmus() {
    local name=$1
    shift
    "$server" --port 0 "$@" >"$out/$name.server.out" 2>"$out/$name.server.log" &
    server_pid=$!
    local url=""
    for _ in $(seq 1 100); do
        url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$out/$name.server.out" | head -n 1)
        [ -n "$url" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        echo "litmus.sh: webdav-server ($name) did not start; its log:" >&2
        cat "$out/$name.server.log" >&2
        exit 1
    fi
    # litmus writes debug.log and child.log into its working directory.
    mkdir -p "$out/$name.work"
    (cd "$out/$name.work" && TESTS="$suites" timeout 600 litmus -k "$url") \
        >"$out/$name.txt" 2>&1 || true
    stop_server
}

# summarize FILE: one line per suite: "suite passed failed warnings failing-tests warning-tests"
summarize() {
    awk -v suites="$suites" '
        function flush_suite() {
            if (suite != "") {
                printf "%s %s %s %s %s %s\n", suite, (passed == "" ? 0 : passed), \
                    (failed == "" ? 0 : failed), warnings, \
                    (fails == "" ? "-" : fails), (warns == "" ? "-" : warns)
            }
        }
        /^-> running `/ {
            flush_suite()
            suite = $0; sub(/^-> running `/, "", suite); sub(/'"'"'.*$/, "", suite)
            passed = ""; failed = ""; warnings = 0; fails = ""; warns = ""; current = ""
            next
        }
        {
            line = $0
            # The last "N. name...." on the line is the test being run.
            while (match(line, /[0-9]+\. [A-Za-z0-9_]+/)) {
                t = substr(line, RSTART, RLENGTH); sub(/^[0-9]+\. /, "", t); current = t
                line = substr(line, RSTART + RLENGTH)
            }
        }
        /WARNING:/ {
            warnings++
            if (index(" " warns " ", " " current " ") == 0) warns = (warns == "" ? current : warns "," current)
        }
        /FAIL/ && current != "" {
            if (index(" " fails " ", " " current " ") == 0) fails = (fails == "" ? current : fails "," current)
        }
        /^<- summary for `/ {
            if (match($0, /[0-9]+ passed/)) { passed = substr($0, RSTART, RLENGTH); sub(/ passed/, "", passed) }
            if (match($0, /[0-9]+ failed/)) { failed = substr($0, RSTART, RLENGTH); sub(/ failed/, "", failed) }
        }
        END { flush_suite() }
    ' "$1"
}

# The runs: lockwarden over the in-memory filesystem (the default), lockwarden over a
# directory (--root), and dav-server's own lock system (for comparison only).
runs=(lockwarden lockwarden-root memls)
root_dir="$out/root"
rm -rf "$root_dir"
mkdir -p "$root_dir"
run_litmus lockwarden
run_litmus lockwarden-root --root "$root_dir"
run_litmus memls --lock-system memls
for run in "${runs[@]}"; do
    summarize "$out/$run.txt" >"$out/$run.summary"
done

cell() { # cell RUN SUITE: pass/fail/warn
    awk -v s="$2" '$1 == s { printf "%s/%s/%s", $2, $3, $4 }' "$out/$1.summary"
}
names() { # names RUN SUITE: the failing and warning tests
    awk -v s="$2" '$1 == s { if ($5 != "-") printf "failed: %s ", $5; if ($6 != "-") printf "warned: %s", $6 }' "$out/$1.summary"
}
echo
echo "litmus $(litmus --version 2>/dev/null | head -n 1 | sed 's/^litmus //') against webdav-server ($profile); full output in $out/"
echo "pass/fail/warn per suite:"
printf '%-9s | %-30s | %-30s | %-30s\n' suite "lockwarden (memory fs)" "lockwarden (--root dir)" "memls (dav-server's own)"
printf '%s\n' "----------+--------------------------------+--------------------------------+-------------------------------"
for suite in $suites; do
    printf '%-9s | %-30s | %-30s | %-30s\n' "$suite" \
        "$(cell lockwarden "$suite")" "$(cell lockwarden-root "$suite")" "$(cell memls "$suite")"
    detail="$(names lockwarden "$suite")$(names lockwarden-root "$suite")$(names memls "$suite")"
    if [ -n "$detail" ]; then
        printf '%-9s | %-30s | %-30s | %-30s\n' "" \
            "$(names lockwarden "$suite")" "$(names lockwarden-root "$suite")" "$(names memls "$suite")"
    fi
done
totals() {
    awk '{ p += $2; f += $3; w += $4 } END { printf "%d passed, %d failed, %d warnings", p, f, w }' "$1"
}
for run in "${runs[@]}"; do
    printf '%-16s %s\n' "$run:" "$(totals "$out/$run.summary")"
done

# The verdict: the locks suite with lockwarden, no failure and no warning, on both
# filesystems.
case " $suites " in
*" locks "*)
    for run in lockwarden lockwarden-root; do
        locks_line=$(awk '$1 == "locks"' "$out/$run.summary")
        if [ -z "$locks_line" ]; then
            echo "litmus.sh: the locks suite did not run ($run)" >&2
            exit 1
        fi
        read -r _ l_passed l_failed l_warnings _ _ <<<"$locks_line"
        if [ "$l_failed" != 0 ] || [ "$l_warnings" != 0 ] || [ "$l_passed" = 0 ]; then
            echo "litmus.sh: locks suite ($run): $l_passed passed, $l_failed failed, $l_warnings warnings" >&2
            exit 1
        fi
    done
    echo "litmus.sh: locks suite with lockwarden passes with no warnings"
    ;;
esac
