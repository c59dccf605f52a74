#!/bin/sh
# docket dispatch throughput against the fake provider: dispatches per
# second with 1, 4 and 16 requests in flight (`--ready --max-in-flight K
# --no-continue`, one process for N proposals), next to the bare lib/http
# keyed POST round trip measured in the same run; the difference is the
# ledger's cost per dispatch (an intent and a result record, each a
# durable append, plus reading the proposal's state). Printed, not
# asserted. Usage: bench/dispatch.sh [N]   (default 50 proposals per K)
# DOCKET_FSYNC=0 in the environment measures without durability barriers.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
N=${1:-50}
W=$(mktemp -d "${TMPDIR:-/tmp}/docket-bench-dispatch.XXXXXX")
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$W"' EXIT
PATH=$DOCKET_BUILD/bin:$DOCKET_BUILD/bench:$PATH
export DOCKET_ACTOR=bench NO_COLOR=1 PAY_KEY=bench-key
cd "$W" || exit 1
python3 "$SRC/tests/fake-provider.py" --port-file port --log plog \
	--max-seconds 900 &
pid=$!
i=0
while [ ! -s port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
DOCKET_PAY_URL=http://127.0.0.1:$(cat port)
export DOCKET_PAY_URL
ssh-keygen -q -t ed25519 -N '' -f admin
docket init --admin admin --key admin.pub L >/dev/null
DOCKET_LEDGER=$W/L
export DOCKET_LEDGER
cp "$SRC/tests/workflows/dispatch/kill.yaml" wf.yaml

now_ns() { date +%s%N; }
echo "# docket dispatch, $N proposals per line, fsync ${DOCKET_FSYNC:-on}"
[ -x "$DOCKET_BUILD/bench/http-bench" ] &&
	http-bench "$DOCKET_PAY_URL" 1000 | grep "send_all" >http.txt
for k in 1 4 16; do
	i=1
	while [ $i -le "$N" ]; do
		DOCKET_FSYNC=0 docket run wf.yaml --session tenant_id=t \
			--input order_id="O-$k-$i" --input amount_cents:=$i \
			>/dev/null 2>&1
		i=$((i + 1))
	done
	t0=$(now_ns)
	docket dispatch --ready --no-continue --max-in-flight $k >out 2>&1
	t1=$(now_ns)
	ok=$(grep -c "succeeded" out)
	bare=$(grep "send_all, $k in flight" http.txt 2>/dev/null |
		awk '{for (f = 1; f <= NF; f++) if ($f == "ms/req") print $(f - 1)}')
	echo "$t0 $t1 $N $ok ${bare:-0} $k" | awk '{
		s = ($2 - $1) / 1e9; per = s * 1000 / $3;
		printf "dispatch --ready, %2d in flight   %4d ok   %7.1f dispatches/s   %7.2f ms/dispatch   bare HTTP %6.3f ms   ledger+process overhead %7.2f ms/dispatch\n",
			$6, $4, $3 / s, per, $5, per - $5 }'
done
# one process per proposal, the way a CI job might call it
i=1
while [ $i -le 20 ]; do
	DOCKET_FSYNC=0 docket run wf.yaml --session tenant_id=t \
		--input order_id="O-p-$i" --input amount_cents:=$i >/dev/null 2>&1
	i=$((i + 1))
done
docket log --json -n 20 --type proposal | jq -r '.[].body.proposal' >props
t0=$(now_ns)
for p in $(cat props); do docket dispatch --no-continue "$p" >/dev/null 2>&1; done
t1=$(now_ns)
echo "$t0 $t1 $(wc -l <props)" | awk '{ printf "dispatch PROPOSAL, one process each  %7.2f ms/dispatch (process start, workflow load, ledger scan included)\n", ($2 - $1) / 1e6 / $3 }'
