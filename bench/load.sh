#!/usr/bin/env bash
# Times the import-events load (the sqlite sink) against the sqlite3 shell doing the same load by hand: the
# NDJSON imported as one text column, then INSERT … SELECT json_extract(…) into the same table
# (sql/events.sql), with the same page cache (64 MiB) and write-ahead log. Also times a second load of the same
# file into the same database (a forced re-run: every event is already there).
#
#   bench/load.sh [ROWS]        ROWS defaults to 1,000,000 CLICK events (about 600 MB of NDJSON)
#
# Needs: the sqlite3 shell (apt-get install sqlite3), GNU time at /usr/bin/time (apt-get install time),
# python3. Files go to bench/out/load (or $BENCH_DIR/load), ignored by git.
set -euo pipefail

ROWS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_DIR:-$ROOT/bench/out}/load
NAME=1234_CLICK_20240307_060001

missing=()
command -v sqlite3 >/dev/null || missing+=("the sqlite3 shell (apt-get install sqlite3)")
[ -x /usr/bin/time ] || missing+=("GNU time (apt-get install time)")
if [ ${#missing[@]} -gt 0 ]; then
    printf 'bench/load.sh needs: %s\n' "${missing[@]}" >&2
    exit 2
fi

echo "building transform-bench and load-bench (release)" >&2
(cd "$ROOT" && swift build -c release --product transform-bench >&2 && swift build -c release --product load-bench >&2)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)

mkdir -p "$OUT"
EVENTS=$OUT/events/$NAME.ndjson
if [ ! -f "$EVENTS" ] || [ "$(cat "$OUT/rows" 2>/dev/null)" != "$ROWS" ]; then
    echo "generating $ROWS events" >&2
    python3 "$ROOT/bench/generate_ced_click.py" "$ROWS" "$OUT/$NAME.txt"
    rm -rf "$OUT/events"
    "$BIN/transform-bench" "$OUT/$NAME.txt" "$OUT/events" >&2
    rm -f "$OUT/$NAME.txt"
    echo "$ROWS" >"$OUT/rows"
fi
# The shell's .import splits records on one character: newlines become the ASCII record separator.
tr '\n' '\036' <"$EVENTS" >"$OUT/records.txt"
cat "$EVENTS" >/dev/null

columns="event_id, stream, event_type, channel, account_id, list_id, riid, customer_id, email, event_captured_at,
    event_stored_at, campaign_id, launch_id, source_file, source_line, payload"
keys="_event_id stream event_type channel account_id list_id riid customer_id email event_captured_dt
    event_stored_dt campaign_id launch_id _source_file _line"
values=""
for key in $keys; do values="$values json_extract(line, '\$.$key'),"; done
cat >"$OUT/shell.sql" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -65536;
.read $ROOT/sql/events.sql
CREATE TEMP TABLE raw(line TEXT);
.mode ascii
.import $OUT/records.txt raw
BEGIN;
INSERT INTO responsys_events ($columns)
SELECT $values line FROM raw WHERE true ON CONFLICT (event_id) DO NOTHING;
COMMIT;
SQL

# run LABEL COMMAND… : wall seconds and peak RSS (KB) into $OUT/LABEL.time, output into $OUT/LABEL.out
run() {
    local label=$1
    shift
    echo "running $label" >&2
    /usr/bin/time -f '%e %M' -o "$OUT/$label.time" "$@" >"$OUT/$label.out"
}
rm -f "$OUT"/ours.sqlite* "$OUT"/shell.sqlite*
cat /proc/loadavg >"$OUT/load"
run ours "$BIN/load-bench" "$EVENTS" "$OUT/ours.sqlite"
run ours-again "$BIN/load-bench" "$EVENTS" "$OUT/ours.sqlite"
run shell sqlite3 "$OUT/shell.sqlite" <"$OUT/shell.sql"
run shell-again sqlite3 "$OUT/shell.sqlite" <"$OUT/shell.sql"

count() { sqlite3 "$1" "SELECT count(*) FROM responsys_events"; }
same="$(sqlite3 "$OUT/ours.sqlite" "ATTACH '$OUT/shell.sqlite' AS shell;
    SELECT count(*) FROM (SELECT * FROM main.responsys_events EXCEPT SELECT * FROM shell.responsys_events)")"
seconds() { cut -d' ' -f1 "$OUT/$1.time"; }
megabytes() { echo "$(cut -d' ' -f2 "$OUT/$1.time") / 1024" | bc; }
printf '%s events (%s MB of NDJSON), load average at start: %s\n' "$ROWS" \
    "$(($(stat -c %s "$EVENTS") / 1048576))" "$(cut -d' ' -f1-3 "$OUT/load")"
printf '  %-34s %8s %8s\n' "" "seconds" "peak MB"
printf '  %-34s %8s %8s\n' "responsys-etl sqlite sink" "$(seconds ours)" "$(megabytes ours)"
printf '  %-34s %8s %8s\n' "sqlite3 shell, import + json_extract" "$(seconds shell)" "$(megabytes shell)"
printf '  %-34s %8s %8s\n' "second load, responsys-etl" "$(seconds ours-again)" "$(megabytes ours-again)"
printf '  %-34s %8s %8s\n' "second load, sqlite3 shell" "$(seconds shell-again)" "$(megabytes shell-again)"
printf 'rows: ours %s, shell %s; rows of ours not in the shell'"'"'s table: %s\n' \
    "$(count "$OUT/ours.sqlite")" "$(count "$OUT/shell.sqlite")" "$same"
printf 'ratio ours / shell: %.2f\n' "$(echo "$(seconds ours) / $(seconds shell)" | bc -l)"
