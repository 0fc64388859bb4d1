#!/usr/bin/env bash
# Times the export-users extract + transform (sort the raw source, diff against the delivered state,
# write the request bodies) against DuckDB doing the same anti-joins and changed-row join on the same
# files, in the same run. Prints wall time and peak memory (/usr/bin/time -v) of each.
#
#   bench/diff.sh [PROFILES]       default 5,000,000 profiles (~700 MB of NDJSON per snapshot)
#
# Needs: a release build of diff-bench (built here), python3 with duckdb (`pip install duckdb`).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-5000000}
BUDGET_MB=${BUDGET_MB:-64}
OUT=${BENCH_OUT:-bench/out/diff}
rm -rf "$OUT"
mkdir -p "$OUT/ours" "$OUT/duckdb"

swift build -c release --product diff-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/diff-bench

echo "generating $PROFILES profiles (1% exit, 1% enter, 2% changed, 0.1% duplicate rows)…"
"$BIN" generate "$PROFILES" "$OUT/previous.ndjson" "$OUT/current.ndjson"
ls -l "$OUT/previous.ndjson" "$OUT/current.ndjson" | awk '{printf "  %s %d MB\n", $9, $5 / 1048576}'

measure() { # name, command…
    local name=$1
    shift
    /usr/bin/time -v "$@" 2>"$OUT/$name.time" >"$OUT/$name.out" || { cat "$OUT/$name.time"; exit 1; }
    cat "$OUT/$name.out"
    grep -v -E '^\s' "$OUT/$name.time" || true
    local wall rss
    wall=$(grep 'Elapsed (wall clock)' "$OUT/$name.time" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$OUT/$name.time" | awk '{print $NF}')
    printf '%-8s wall %s  peak %d MB\n' "$name" "$wall" $((rss / 1024)) | tee -a "$OUT/summary.txt"
}

sync
measure ours "$BIN" run "$OUT/previous.ndjson" "$OUT/current.ndjson" "$OUT/ours" "$BUDGET_MB"
measure duckdb python3 bench/diff_duckdb.py "$OUT/previous.ndjson" "$OUT/current.ndjson" "$OUT/duckdb"
echo "--- summary ($PROFILES profiles)"
cat "$OUT/summary.txt"
