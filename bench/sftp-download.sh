#!/usr/bin/env bash
# Times one SFTP download of a SIZE_MB file on loopback: OpenSSH's `sftp` client versus responsys-etl's SFTP
# module (the sftp-bench executable, release build), against an sshd this script starts on 127.0.0.1.
# Prints both times and the ratio; the goal is ours <= 1.15 x sftp.
#
#   bench/sftp-download.sh [SIZE_MB] [ROUNDS]      (defaults: 1024 MB, 2 rounds; the best of each side counts)
#   SFTP_BENCH_BUFFER=BYTES   read size for our download (default: the module's default)
set -euo pipefail

size_mb="${1:-1024}"
rounds="${2:-2}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/retl-sftp-bench-XXXXXX")"
sshd_pid=""
cleanup() {
    if [ -n "$sshd_pid" ]; then
        pkill -KILL -P "$sshd_pid" 2>/dev/null || true
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

now() { date +%s.%N; }
best_sftp=""
best_ours=""
for round in $(seq "$rounds"); do
    rm -f "$work/got-sftp.bin" "$work/got-ours.bin" "$work/got-ours.bin.part"
    start="$(now)"
    echo "get $work/remote.bin $work/got-sftp.bin" | sftp -q -b - -i "$work/client" -P "$port" \
        -o BatchMode=yes -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes \
        "$user@127.0.0.1" >/dev/null
    sftp_seconds="$(echo "$(now) - $start" | bc -l)"

    start="$(now)"
    line="$("$bench_bin" --host 127.0.0.1 --port "$port" --user "$user" --key "$work/client" \
        --known-hosts "$work/known_hosts" ${SFTP_BENCH_BUFFER:+--buffer "$SFTP_BENCH_BUFFER"} \
        "$work/remote.bin" "$work/got-ours.bin")"
    ours_seconds="$(echo "$(now) - $start" | bc -l)"

    [ "$(sha256sum "$work/got-sftp.bin" | cut -d' ' -f1)" = "$expected" ] || { echo "sftp copy differs" >&2; exit 1; }
    [ "$(sha256sum "$work/got-ours.bin" | cut -d' ' -f1)" = "$expected" ] || { echo "our copy differs" >&2; exit 1; }
    case "$line" in *"sha256=$expected"*) ;; *) echo "our reported digest differs: $line" >&2; exit 1 ;; esac
    printf 'round %d: sftp %.2f s, ours %.2f s\n' "$round" "$sftp_seconds" "$ours_seconds"
    if [ -z "$best_sftp" ] || [ "$(echo "$sftp_seconds < $best_sftp" | bc -l)" = 1 ]; then best_sftp="$sftp_seconds"; fi
    if [ -z "$best_ours" ] || [ "$(echo "$ours_seconds < $best_ours" | bc -l)" = 1 ]; then best_ours="$ours_seconds"; fi
done

ratio="$(echo "$best_ours / $best_sftp" | bc -l)"
printf 'size: %d MB  OpenSSH sftp: %.2f s (%.0f MB/s)  responsys-etl: %.2f s (%.0f MB/s)  ratio: %.2f (goal <= 1.15)\n' \
    "$size_mb" "$best_sftp" "$(echo "$size_mb / $best_sftp" | bc -l)" \
    "$best_ours" "$(echo "$size_mb / $best_ours" | bc -l)" "$ratio"
