#!/usr/bin/env bash
# Times the import-events transform against DuckDB and Miller on the same CED-like CLICK file.
#
#   bench/transform.sh [ROWS]        ROWS defaults to 5,000,000 (about 1 GB of CSV)
#
# Needs: python3 with the duckdb package (pip install duckdb), Miller (apt-get install miller),
# GNU time at /usr/bin/time (apt-get install time). Files go to bench/out/ (or $BENCH_DIR), which is
# ignored by git; the generated input is kept between runs of the same size.
#
# What each tool does with the file:
#   ours     CSV → normalized NDJSON events (typed numbers, ISO timestamps, event ids, provenance),
#            published with fsync + rename and a SHA-256 of the output, plus rejects.ndjson
#   duckdb   COPY (SELECT * FROM read_csv(file, all_varchar=true)) TO out (FORMAT json)
#   miller   mlr --icsv --ojsonl cat   (run with GOMEMLIMIT=2GiB: without it Miller's heap grows with the file)
set -euo pipefail

ROWS=${1:-5000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_DIR:-$ROOT/bench/out}
NAME=1234_CLICK_20240307_060001.txt
INPUT=$OUT/$NAME

missing=()
python3 -c 'import duckdb' 2>/dev/null || missing+=("the duckdb Python package (pip install duckdb)")
command -v mlr >/dev/null || missing+=("Miller (apt-get install miller)")
[ -x /usr/bin/time ] || missing+=("GNU time (apt-get install time)")
if [ ${#missing[@]} -gt 0 ]; then
    printf 'bench/transform.sh needs: %s\n' "${missing[@]}" >&2
    exit 2
fi

mkdir -p "$OUT"
if [ ! -f "$INPUT" ] || [ "$(cat "$OUT/rows" 2>/dev/null)" != "$ROWS" ]; then
    echo "generating $ROWS rows into $INPUT" >&2
    python3 "$ROOT/bench/generate_ced_click.py" "$ROWS" "$INPUT.part"
    mv "$INPUT.part" "$INPUT"
    echo "$ROWS" > "$OUT/rows"
fi
BYTES=$(stat -c %s "$INPUT")

echo "building transform-bench (release)" >&2
(cd "$ROOT" && swift build -c release --product transform-bench >&2)
BENCH=$(cd "$ROOT" && swift build -c release --product transform-bench --show-bin-path)/transform-bench

# Read the input once so every tool starts with it in the page cache.
cat "$INPUT" > /dev/null
cat /proc/loadavg > "$OUT/load"

# run LABEL COMMAND… : wall seconds and peak RSS (KB) into $OUT/LABEL.time
run() {
    local label=$1
    shift
    rm -rf "${OUT:?}/$label" && mkdir -p "$OUT/$label"
    echo "running $label" >&2
    /usr/bin/time -f '%e %M %U %S' -o "$OUT/$label.time" "$@"
}

run ours "$BENCH" "$INPUT" "$OUT/ours" > "$OUT/ours.log"
run duckdb python3 -c "import duckdb, sys; duckdb.sql(\"SET enable_progress_bar = false\"); duckdb.sql(\"COPY (SELECT * FROM read_csv('\" + sys.argv[1] + \"', all_varchar=true)) TO '\" + sys.argv[2] + \"' (FORMAT json)\")" \
    "$INPUT" "$OUT/duckdb/out.json"
run miller env GOMEMLIMIT=2GiB sh -c 'mlr --icsv --ojsonl cat "$1" > "$2"' sh "$INPUT" "$OUT/miller/out.ndjson"

python3 - "$OUT" "$BYTES" "$ROWS" <<'PY'
import os, sys
out, size, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def result(label):
    seconds, kb, user, system = open(os.path.join(out, label + ".time")).read().split()[-4:]
    folder = os.path.join(out, label)
    produced = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    return float(seconds), int(kb) / 1024, produced, float(user) + float(system)
ours = result("ours")
print(f"input: {rows:,} rows, {size / 1e6:,.0f} MB ({open(os.path.join(out, 'ours.log')).read().strip()})")
print(f"load average before the runs: {open(os.path.join(out, 'load')).read().split()[0]} (2 cores shared)")
print(f"{'tool':8} {'seconds':>8} {'cpu s':>7} {'MB/s in':>8} {'peak MB':>8} {'output MB':>10}  throughput vs ours")
for label in ["ours", "duckdb", "miller"]:
    seconds, peak, produced, cpu = result(label)
    ratio = seconds / ours[0]
    print(f"{label:8} {seconds:8.2f} {cpu:7.2f} {size / 1e6 / seconds:8.1f} {peak:8.1f} {produced / 1e6:10.0f}  "
          + ("-" if label == "ours" else f"ours is {ratio:.2f}x {label}"))
duck = result("duckdb")
print(f"goal: >= 2x DuckDB throughput: {duck[0] / ours[0]:.2f}x -> {'met' if duck[0] / ours[0] >= 2 else 'NOT met'}")
print(f"goal: peak memory < 64 MB: {ours[1]:.1f} MB -> {'met' if ours[1] < 64 else 'NOT met'}")
PY

# The outputs are gigabytes; keep only the input (reused by the next run of the same size).
rm -rf "${OUT:?}/ours" "${OUT:?}/duckdb" "${OUT:?}/miller"
