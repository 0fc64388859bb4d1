#!/usr/bin/env bash
# The demo of the main job, end to end on embedded defaults. Filled in as the workflows land.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build --show-bin-path)"
echo "responsys-etl demo: the workflows are not built yet; this demo runs what exists:"
"$BIN/responsys-etl" --help
"$BIN/responsys-etl" version
