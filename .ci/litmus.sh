#!/usr/bin/env bash
# Runs the litmus WebDAV compliance suites (basic, copymove, props, locks, http) against
# examples/webdav-server, first with lockwarden as the lock system, then with dav-server's
# own in-memory lock system (for comparison only), and prints both results side by side.
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

run_litmus lockwarden
run_litmus memls --lock-system memls

summarize "$out/lockwarden.txt" >"$out/lockwarden.summary"
summarize "$out/memls.txt" >"$out/memls.summary"

echo
echo "litmus $(litmus --version 2>/dev/null | head -n 1 | sed 's/^litmus //') against webdav-server ($profile); full output in $out/"
printf '%-9s | %-44s | %-44s\n' suite "lockwarden: pass/fail/warn" "memls (dav-server's own): pass/fail/warn"
printf '%s\n' "----------+----------------------------------------------+---------------------------------------------"
for suite in $suites; do
    lw=$(awk -v s="$suite" '$1 == s { printf "%s/%s/%s", $2, $3, $4 }' "$out/lockwarden.summary")
    ml=$(awk -v s="$suite" '$1 == s { printf "%s/%s/%s", $2, $3, $4 }' "$out/memls.summary")
    printf '%-9s | %-44s | %-44s\n' "$suite" "${lw:-not run}" "${ml:-not run}"
    lwf=$(awk -v s="$suite" '$1 == s { if ($5 != "-") printf "failed: %s ", $5; if ($6 != "-") printf "warned: %s", $6 }' "$out/lockwarden.summary")
    mlf=$(awk -v s="$suite" '$1 == s { if ($5 != "-") printf "failed: %s ", $5; if ($6 != "-") printf "warned: %s", $6 }' "$out/memls.summary")
    if [ -n "$lwf$mlf" ]; then
        printf '%-9s | %-44s | %-44s\n' "" "$lwf" "$mlf"
    fi
done
totals() {
    awk '{ p += $2; f += $3; w += $4 } END { printf "%d passed, %d failed, %d warnings", p, f, w }' "$1"
}
echo "lockwarden: $(totals "$out/lockwarden.summary")"
echo "memls:      $(totals "$out/memls.summary")"

# The verdict: the locks suite with lockwarden, no failure and no warning.
case " $suites " in
*" locks "*)
    locks_line=$(awk '$1 == "locks"' "$out/lockwarden.summary")
    if [ -z "$locks_line" ]; then
        echo "litmus.sh: the locks suite did not run with lockwarden" >&2
        exit 1
    fi
    read -r _ l_passed l_failed l_warnings _ _ <<<"$locks_line"
    if [ "$l_failed" != 0 ] || [ "$l_warnings" != 0 ] || [ "$l_passed" = 0 ]; then
        echo "litmus.sh: locks suite with lockwarden: $l_passed passed, $l_failed failed, $l_warnings warnings" >&2
        exit 1
    fi
    ;;
esac
echo "litmus.sh: locks suite with lockwarden passes with no warnings"
