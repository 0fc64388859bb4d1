#!/usr/bin/env bash
# responsys-etl entry points. Each command is idempotent and works on a fresh Debian 12 machine.
#   ./run.sh setup   install the Debian packages that are missing, then build
#   ./run.sh demo    run the main job end to end on sample data, with local sshd and fake-responsys
#   ./run.sh test    build, check formatting, run every test (tests start their own sshd and fake server)
set -euo pipefail
cd "$(dirname "$0")"

# Libraries the code links, and the real peers the tests and the demo start on 127.0.0.1.
PACKAGES=(
    libssh2-1-dev libgpgme-dev libarchive-dev libcurl4-openssl-dev zlib1g-dev libsqlite3-dev
    pkg-config ca-certificates gnupg gpg-agent openssh-server openssh-client sqlite3 python3 procps
)

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

build() {
    log "building"
    swift build "$@" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
    return "${PIPESTATUS[0]}"
}

setup() {
    install_packages
    build
}

run_tests() {
    setup
    log "checking format (swift format lint)"
    swift format lint --strict --recursive Package.swift Sources Tests
    log "running tests (full log: .build/test.log)"
    # Tests start their own sshd and fake-responsys on 127.0.0.1; they find the built executables here.
    local status=0
    RETL_BIN_DIR="$(swift build --show-bin-path)" swift test >.build/test.log 2>&1 || status=$?
    # Failures first (byte patterns, so any locale matches them), then the summary line.
    grep -E '✘|error:|Fatal error' .build/test.log | head -60 >&2 || true
    grep -E 'Test run with [0-9]+ tests?' .build/test.log >&2 || tail -40 .build/test.log >&2
    if [ "$status" -ne 0 ]; then
        log "tests failed (exit $status)"
        return "$status"
    fi
    log "all tests passed"
}

case "${1:-}" in
setup) setup ;;
demo)
    setup
    exec bash demo/demo.sh
    ;;
test) run_tests ;;
*)
    echo "usage: ./run.sh setup|demo|test" >&2
    exit 2
    ;;
esac
