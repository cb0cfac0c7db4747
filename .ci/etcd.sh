#!/usr/bin/env bash
# The etcd store: installs etcd and protoc (Debian: etcd-server, etcd-client,
# protobuf-compiler, libprotobuf-dev) unless they are there, then runs the tests that start
# real etcd processes on loopback, and prints the test runner's summary lines.
#
#   bash .ci/etcd.sh                  install, then test
#   bash .ci/etcd.sh --install-only   install only (before anything builds the `etcd`
#                                     feature, such as clippy or docs with --all-features)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for package in etcd-server etcd-client protobuf-compiler libprotobuf-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi
[ "${1:-}" = "--install-only" ] && exit 0

mkdir -p target
run() {
    local log="target/ci-etcd-$1.log"
    shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 150 "$log"
        exit 1
    fi
    grep -E '^(test |test result|     Running|fleet: |member [0-9])' "$log"
}
# --nocapture: the tests print what they measured (updates acknowledged, lost, killed).
run std cargo test -p lockwarden-std --features etcd --test etcd_equivalence -- --nocapture
run fleet cargo test -p config-server --features etcd --test fleet -- --nocapture
