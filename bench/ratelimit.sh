#!/usr/bin/env bash
# Rate limiter benchmark: fake-responsys with 300 ms latency and a limit of 600 calls a minute, and the
# Responsys client merging as fast as its limiter allows. Prints calls/min achieved against the limit and
# how many API_LIMIT_EXCEEDED answers the fake gave (the target: >= 95% of the limit, zero throttled).
#
#   bench/ratelimit.sh [SECONDS]      default 60; a shorter run is fine while developing
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
limit=600
latency_ms=300

swift build --product fake-responsys >/dev/null
swift build --product ratelimit-bench >/dev/null
bin="$(swift build --show-bin-path)"

work="$(mktemp -d)"
export RETL_BENCH_PASSWORD="bench-$RANDOM-$RANDOM"
"$bin/fake-responsys" --port 0 --user "bench:$RETL_BENCH_PASSWORD" --list BENCH_LIST \
    --journal "$work/journal.ndjson" --latency-ms "$latency_ms" --limit-per-minute "$limit" >"$work/port" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(head -n1 "$work/port")"

echo "fake-responsys on 127.0.0.1:$port: latency ${latency_ms} ms, limit ${limit}/min; running ${seconds} s"
"$bin/ratelimit-bench" --base-url "http://127.0.0.1:$port" --user bench --password-env RETL_BENCH_PASSWORD \
    --list BENCH_LIST --limit "$limit" --seconds "$seconds" --in-flight 8
stats="$(curl -s "http://127.0.0.1:$port/_fake/stats")"
python3 - "$stats" "$limit" <<'PY'
import json, sys
stats, limit = json.loads(sys.argv[1]), int(sys.argv[2])
print(f"fake: API_LIMIT_EXCEEDED answers: {stats['throttled']}; "
      f"most merges in one 60 s window: {stats['maxInWindow'].get('mergeListMembers', 0)} (limit {limit})")
PY
