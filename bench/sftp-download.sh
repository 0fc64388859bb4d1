#!/usr/bin/env bash
# Times one SFTP download of a SIZE_MB file on loopback: OpenSSH's `sftp` client versus responsys-etl's SFTP
# module (the sftp-bench executable, release build), against an sshd this script starts on 127.0.0.1.
# Prints both times and the ratio; the goal is ours <= 1.15 x sftp.
#
#   bench/sftp-download.sh [SIZE_MB] [ROUNDS]      (defaults: 1024 MB, 2 rounds; the best of each side counts)
#   SFTP_BENCH_BUFFER=BYTES   read size for our download (default: the module's default)
#   SFTP_BENCH_CONNECTIONS=N  connections for our ranged download of a large file (default 2, as the extract stage)
#   SFTP_BENCH_SEQUENTIAL=1   also time our download over one connection (the sequential path), each round
#
# Beside them it times two floors: bench/libssh2-floor.c (libssh2 alone, reading into memory: no disk, no hash,
# no Swift) and, when libssh-dev is installed, bench/libssh-floor.c (the same on the other C SSH library).
#
# Measured 2026-12-04 (2 cores, load ~1, best of 3, 1024 MB): sftp 2.76 s, ours 4.81 s (1.74), libssh2 alone
# 3.47 s (1.26), libssh alone 2.68 s (0.97). libssh2 alone already misses the goal: it decrypts one 16-byte
# block per cipher call (every release up to its August 2026 main branch), and sshd shares the two cores.
# Cipher and MAC choice made no difference (FLOOR_CIPHER / FLOOR_MAC on the floor programs).
set -euo pipefail

size_mb="${1:-1024}"
rounds="${2:-2}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/retl-sftp-bench-XXXXXX")"
sshd_pid=""
cleanup() {
    if [ -n "$sshd_pid" ]; then
        for child in $(ps -o pid= --ppid "$sshd_pid"); do kill -KILL "$child" 2>/dev/null || true; done
        kill "$sshd_pid" 2>/dev/null || true
        wait "$sshd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "building sftp-bench (release)..." >&2
(cd "$here" && swift build -c release --product sftp-bench >/dev/null)
bench_bin="$(cd "$here" && swift build -c release --show-bin-path)/sftp-bench"

# Keys made now; the server runs as the current user with its own config.
ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$work/client"
cp "$work/client.pub" "$work/authorized_keys"
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd; fi

user="$(id -un)"
for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    cat >"$work/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_ed25519
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
CONFIG
    /usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" &
    sshd_pid=$!
    for _ in $(seq 50); do
        grep -q "Server listening" "$work/sshd.log" 2>/dev/null && break
        kill -0 "$sshd_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "Server listening" "$work/sshd.log" 2>/dev/null && break
    sshd_pid=""
done
[ -n "$sshd_pid" ] || { echo "sshd did not start: $(cat "$work/sshd.log")" >&2; exit 1; }
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_ed25519.pub")" >"$work/known_hosts"

echo "making a ${size_mb} MB file..." >&2
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/remote.bin"
expected="$(sha256sum "$work/remote.bin" | cut -d' ' -f1)"

# The floor: a C program on libssh2 alone that reads the file into memory and throws it away (no disk, no
# hash, no Swift), over as many connections as ours. No libssh2 client can be faster than it here.
cc -O2 -o "$work/libssh2-floor" "$here/bench/libssh2-floor.c" -lssh2 -lpthread
# For comparison between libraries: the same floor on libssh (Debian's libssh-dev, not used by responsys-etl),
# one connection with 64 requests in flight, when that package is installed.
libssh_floor=""
if pkg-config --exists libssh 2>/dev/null; then
    cc -O2 -o "$work/libssh-floor" "$here/bench/libssh-floor.c" $(pkg-config --cflags --libs libssh)
    libssh_floor="$work/libssh-floor"
fi
connections="${SFTP_BENCH_CONNECTIONS:-2}"
size_bytes="$((size_mb * 1024 * 1024))"

# `timed NAME COMMAND...` runs COMMAND (stdout to NAME.out) and leaves "wall user system" seconds in NAME.time;
# user and system include the children (ssh under sftp).
TIMEFORMAT='%R %U %S'
timed() {
    local name="$1"
    shift
    { time "$@" >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time" || {
        echo "$name failed: $(cat "$work/$name.err")" >&2
        exit 1
    }
}
wall() { cut -d' ' -f1 "$work/$1.time"; }
cpu() { echo "$(cut -d' ' -f2 "$work/$1.time") + $(cut -d' ' -f3 "$work/$1.time")" | bc -l; }
# `better NAME` keeps NAME's time (and CPU) when it is the best so far, in best_NAME and best_NAME_cpu.
better() {
    local best="best_$1"
    if [ -z "${!best:-}" ] || [ "$(echo "$(wall "$1") < ${!best}" | bc -l)" = 1 ]; then
        printf -v "$best" '%s' "$(wall "$1")"
        printf -v "${best}_cpu" '%s' "$(cpu "$1")"
    fi
}
run_sftp() {
    echo "get $work/remote.bin $work/got-sftp.bin" | sftp -q -b - -i "$work/client" -P "$port" \
        -o BatchMode=yes -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes "$user@127.0.0.1"
}
# Ours ends with fsync (the file is durable when it is renamed); sftp does not, so sftp + sync is timed too.
run_sftp_synced() { run_sftp && sync "$work/got-sftp.bin"; }
run_ours() {
    "$bench_bin" --host 127.0.0.1 --port "$port" --user "$user" --key "$work/client" \
        --known-hosts "$work/known_hosts" ${SFTP_BENCH_BUFFER:+--buffer "$SFTP_BENCH_BUFFER"} \
        --connections "$1" "$work/remote.bin" "$work/got-ours.bin"
}
run_floor() { "$work/libssh2-floor" 127.0.0.1 "$port" "$user" "$work/client" "$work/remote.bin" "$size_bytes" "$1"; }
check_copy() {
    [ "$(sha256sum "$work/$1" | cut -d' ' -f1)" = "$expected" ] || { echo "$1 differs from the remote file" >&2; exit 1; }
}

for round in $(seq "$rounds"); do
    rm -f "$work"/got-*
    timed sftp run_sftp
    check_copy got-sftp.bin
    rm -f "$work/got-sftp.bin"
    timed synced run_sftp_synced
    check_copy got-sftp.bin
    rm -f "$work/got-sftp.bin"
    timed ours run_ours "$connections"
    check_copy got-ours.bin
    grep -q "sha256=$expected" "$work/ours.out" || { echo "our reported digest differs: $(cat "$work/ours.out")" >&2; exit 1; }
    rm -f "$work/got-ours.bin"
    timed floor run_floor "$connections"
    line="$(printf 'round %d: sftp %.2f s (cpu %.2f s; %.2f s with sync), ours %.2f s (cpu %.2f s), libssh2 alone %.2f s (cpu %.2f s)' \
        "$round" "$(wall sftp)" "$(cpu sftp)" "$(wall synced)" "$(wall ours)" "$(cpu ours)" "$(wall floor)" "$(cpu floor)")"
    better sftp
    better synced
    better ours
    better floor
    if [ -n "$libssh_floor" ]; then
        timed libssh "$libssh_floor" 127.0.0.1 "$port" "$user" "$work/client" "$work/remote.bin" "$size_bytes"
        line="$line$(printf ', libssh alone %.2f s (cpu %.2f s)' "$(wall libssh)" "$(cpu libssh)")"
        better libssh
    fi
    if [ -n "${SFTP_BENCH_SEQUENTIAL:-}" ]; then
        timed sequential run_ours 1
        check_copy got-ours.bin
        rm -f "$work/got-ours.bin"
        line="$line$(printf ', ours over 1 connection %.2f s' "$(wall sequential)")"
        better sequential
    fi
    echo "$line"
done

ratio() { echo "$1 / $2" | bc -l; }
printf 'size: %d MB, best of %d rounds, %d connection(s) for ours and the floor\n' "$size_mb" "$rounds" "$connections"
printf '  OpenSSH sftp    %6.2f s  %4.0f MB/s  client cpu %5.2f s   (with sync %.2f s)\n' \
    "$best_sftp" "$(ratio "$size_mb" "$best_sftp")" "$best_sftp_cpu" "$best_synced"
printf '  responsys-etl   %6.2f s  %4.0f MB/s  client cpu %5.2f s\n' \
    "$best_ours" "$(ratio "$size_mb" "$best_ours")" "$best_ours_cpu"
printf '  libssh2 alone   %6.2f s  %4.0f MB/s  client cpu %5.2f s   (reads into memory: no disk, no hash)\n' \
    "$best_floor" "$(ratio "$size_mb" "$best_floor")" "$best_floor_cpu"
if [ -n "${best_libssh:-}" ]; then
    printf '  libssh alone    %6.2f s  %4.0f MB/s  client cpu %5.2f s   (1 connection, %s)\n' \
        "$best_libssh" "$(ratio "$size_mb" "$best_libssh")" "$best_libssh_cpu" "$(sed 's/.*cipher=//' "$work/libssh.out")"
else
    echo "  libssh alone    skipped (install libssh-dev to compare the other SSH library)"
fi
printf 'ratio: %.2f (goal <= 1.15); against sftp + sync: %.2f\n' \
    "$(ratio "$best_ours" "$best_sftp")" "$(ratio "$best_ours" "$best_synced")"
printf 'floor: libssh2 alone / sftp = %.2f; ours / libssh2 alone = %.2f\n' \
    "$(ratio "$best_floor" "$best_sftp")" "$(ratio "$best_ours" "$best_floor")"
if [ -n "${best_sequential:-}" ]; then
    printf 'over 1 connection: %.2f s, ratio %.2f\n' "$best_sequential" "$(ratio "$best_sequential" "$best_sftp")"
fi
