#!/usr/bin/env bash
# Times `gpg --decrypt` against PGPDecryptor (through the pgp-bench executable) on the same file and key.
#
#   bench/decrypt.sh [SIZE_MB]      (default 300; BUILD=debug to skip the release build; RUNS=3)
#
# The plaintext is base64 text (compressible like a CSV export, not trivially); the message is made by
# the gpg CLI with its default compression for an ed25519/cv25519 key without passphrase. Both sides
# use the same GnuPG home, whose agent is already running; each side runs RUNS times, alternating, and
# the best time of each is compared. Goal: ours ≤ 1.15 × gpg. PGPDecryptor's time covers the
# decryption call only (key import excluded, output fsync included); gpg's covers its whole process.
# On a shared, loaded machine the figures swing by ±50 % from run to run: compare several runs.
set -euo pipefail

SIZE_MB="${1:-300}"
RUNS="${RUNS:-3}"
BUILD="${BUILD:-release}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

swift build --package-path "$ROOT" -c "$BUILD" --product pgp-bench >&2
BENCH="$(swift build --package-path "$ROOT" -c "$BUILD" --show-bin-path)/pgp-bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/retl-bench-XXXXXX")"
SENDER="$WORK/sender"
RECEIVER="$WORK/receiver"
cleanup() {
    gpgconf --homedir "$SENDER" --kill gpg-agent 2>/dev/null || true
    gpgconf --homedir "$RECEIVER" --kill gpg-agent 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -m 700 "$SENDER"
printf 'auto-key-locate local\nno-auto-key-retrieve\n' >"$SENDER/gpg.conf"

gpg_sender() { gpg --homedir "$SENDER" --batch --yes --no-tty --pinentry-mode loopback --passphrase '' "$@"; }
gpg_sender --quick-gen-key 'Bench <bench@example.invalid>' future-default default never 2>/dev/null
FPR="$(gpg --homedir "$SENDER" --with-colons --list-keys bench@example.invalid | awk -F: '/^fpr/ { print $10; exit }')"
gpg_sender --armor --output "$WORK/key.asc" --export-secret-keys "$FPR"

echo "making ${SIZE_MB} MB of plaintext and encrypting it with gpg…" >&2
head -c $((SIZE_MB * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 120 >"$WORK/plain.csv"
gpg_sender --trust-model always --recipient "$FPR" --output "$WORK/message.gpg" --encrypt "$WORK/plain.csv"
ls -l "$WORK/plain.csv" "$WORK/message.gpg" >&2

# First run imports the key into the receiver home (and starts its agent); not timed.
"$BENCH" "$RECEIVER" "$WORK/key.asc" "$WORK/message.gpg" "$WORK/ours.csv" >/dev/null
cmp "$WORK/plain.csv" "$WORK/ours.csv"

best_gpg=""
best_ours=""
for ((i = 1; i <= RUNS; i++)); do
    rm -f "$WORK/gpg.csv" "$WORK/ours.csv"
    start=$(date +%s.%N)
    gpg --homedir "$RECEIVER" --batch --quiet --yes --output "$WORK/gpg.csv" --decrypt "$WORK/message.gpg"
    end=$(date +%s.%N)
    t_gpg=$(echo "$end - $start" | bc -l)
    # PGPDecryptor fsyncs its output before renaming it; this is what the same costs after gpg.
    sync "$WORK/gpg.csv"
    t_sync=$(echo "$(date +%s.%N) - $end" | bc -l)

    t_ours=$("$BENCH" "$RECEIVER" "$WORK/key.asc" "$WORK/message.gpg" "$WORK/ours.csv" | awk '{ print $1 }')
    cmp "$WORK/gpg.csv" "$WORK/ours.csv"
    printf 'run %d: gpg --decrypt %.3f s (+ fsync %.3f s), PGPDecryptor %.3f s, ratio %.3f\n' \
        "$i" "$t_gpg" "$t_sync" "$t_ours" "$(echo "$t_ours / $t_gpg" | bc -l)"
    if [[ -z "$best_gpg" ]] || (($(echo "$t_gpg < $best_gpg" | bc -l))); then best_gpg=$t_gpg; fi
    if [[ -z "$best_ours" ]] || (($(echo "$t_ours < $best_ours" | bc -l))); then best_ours=$t_ours; fi
done

ratio=$(echo "$best_ours / $best_gpg" | bc -l)
printf 'size %d MB  best gpg --decrypt %.3f s  best PGPDecryptor %.3f s  ratio %.3f (goal <= 1.15)\n' \
    "$SIZE_MB" "$best_gpg" "$best_ours" "$ratio"
