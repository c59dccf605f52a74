#!/bin/sh
# HTTP round trips per second through lib/http against the fake provider,
# the baseline for the per-dispatch ledger overhead. Printed, not asserted.
# Usage: bench/http.sh [N]   (after `make bench` or `make build/bench/http-bench`)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
N=${1:-500}
dir=$(mktemp -d "${TMPDIR:-/tmp}/docket-bench-http.XXXXXX")
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
python3 "$SRC/tests/fake-provider.py" --port-file "$dir/port" \
	--max-seconds 300 &
pid=$!
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.1
"$DOCKET_BUILD/bench/http-bench" "http://127.0.0.1:$(cat "$dir/port")" "$N"
