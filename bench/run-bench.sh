#!/bin/sh
# Per-step overhead of `docket run`: workflows of 20 trivial sql steps
# (SELECT 1) and of 20 trivial exec steps (/bin/echo '{}'), on ledgers of
# 1k and 100k records (bench/gen-ledger.py; cached in
# $DOCKET_BUILD/bench-cache), with DOCKET_FSYNC=0 and with fsync on.
# Prints figures, asserts nothing.
#
#   per step    (time of a 20-step run - time of a 1-step run) / 19
#   load        the same difference for `docket lint` (parsing the
#               workflow), already inside "per step"
#   direct      the same tool call made directly, per call: the sqlite3
#               CLI (a process per query, so an upper bound for the
#               in-process query docket makes) or running /bin/echo
#   overhead    per step - direct (exec) or per step - in-process query
#               time (sql: duration_ms of the steps, summed / 20)
#
#   BENCH_REPS=7        runs per figure (the best is kept: on a shared
#                       machine the minimum is the least disturbed figure)
#   BENCH_RUN_SIZES="1000 100000"
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
B=$DOCKET_BUILD
CACHE=$B/bench-cache
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docket-run-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
REPS=${BENCH_REPS:-7}
SIZES=${BENCH_RUN_SIZES:-1000 100000}
PATH=$B/bin:$PATH
export DOCKET_ACTOR=bench NO_COLOR=1
unset DOCKET_LEDGER
mkdir -p "$CACHE"

[ -f "$CACHE/admin.pub" ] || ssh-keygen -q -t ed25519 -N '' -f "$CACHE/admin" -C bench
gen() {
	if [ ! -d "$CACHE/gen-$1" ]; then
		echo "# generating a $1-record ledger (git fast-import; cached)" >&2
		python3 "$SRC/bench/gen-ledger.py" "$1" "$CACHE/gen-$1.tmp" \
			"$CACHE/admin.pub" && mv "$CACHE/gen-$1.tmp" "$CACHE/gen-$1"
	fi
}

# the workflows: KIND N
cd "$WORK" || exit 1
sqlite3 bench.db "CREATE TABLE t (x)"
python3 - <<'PY'
for kind in ("sql", "exec"):
    for n in (1, 20):
        out = ["name: bench.%s%d" % (kind, n), "version: 1",
               "session:", "  require: [tenant_id]"]
        if kind == "sql":
            out += ["databases:", "  db:", "    path: bench.db",
                    "capabilities:", "  b.one:", "    kind: sql",
                    "    description: A trivial query.",
                    "    database: db", "    query: SELECT 1 AS one",
                    "    returns: row", "    risk: low"]
        else:
            out += ["capabilities:", "  b.one:", "    kind: exec",
                    "    description: A trivial tool.",
                    "    argv: [/bin/echo, '{}']", "    risk: low"]
        out.append("steps:")
        for i in range(n):
            out += ["  - key: s%d" % (i + 1), "    capability: b.one"]
        open("%s%d.yaml" % (kind, n), "w").write("\n".join(out) + "\n")
PY

now_ns() { date +%s%N; }
# best wall ms of REPS runs of a command
med() {
	i=0
	while [ $i -lt "$REPS" ]; do
		t0=$(now_ns)
		"$@" >/dev/null 2>&1 </dev/null
		t1=$(now_ns)
		echo "$t0 $t1" | awk '{printf "%.3f\n", ($2 - $1) / 1e6}'
		i=$((i + 1))
	done | sort -n | head -n 1
}
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

direct_sql() {
	i=0
	while [ $i -lt 20 ]; do
		sqlite3 -readonly bench.db "SELECT 1 AS one" >/dev/null
		i=$((i + 1))
	done
}
direct_exec() {
	i=0
	while [ $i -lt 20 ]; do
		/bin/echo '{}' >/dev/null
		i=$((i + 1))
	done
}
# the tool time docket measured itself in the last run, ms per step
inproc_ms() {
	docket log --json -n 25 --type run.step |
	python3 -c "import json,sys; v=json.load(sys.stdin)[:20]; print('%.2f' % (sum(r['body'].get('duration_ms', 0) for r in v) / 20.0))"
}

printf "%-6s %-8s %-6s %9s %9s %9s %9s %9s\n" kind records fsync "run20 ms" "per step" "load" "direct" "overhead"
for size in $SIZES; do
	gen "$size"
	rm -rf L
	cp -r "$CACHE/gen-$size" L
	export DOCKET_LEDGER="$WORK/L"
	for fs in 0 1; do
		export DOCKET_FSYNC=$fs
		for kind in sql exec; do
			docket run "$kind"20.yaml --session tenant_id=b >/dev/null # warm
			r20=$(med docket run "$kind"20.yaml --session tenant_id=b)
			inp=$(inproc_ms)
			r1=$(med docket run "$kind"1.yaml --session tenant_id=b)
			l20=$(med docket lint "$kind"20.yaml)
			l1=$(med docket lint "$kind"1.yaml)
			d=$(med direct_"$kind")
			per=$(calc "($r20 - $r1) / 19")
			load=$(calc "($l20 - $l1) / 19")
			dper=$(calc "$d / 20")
			if [ "$kind" = sql ]; then
				over=$(calc "$per - $inp")
			else
				over=$(calc "$per - $dper")
			fi
			printf "%-6s %-8s %-6s %9s %9s %9s %9s %9s\n" "$kind" \
				"$size" "$([ $fs = 1 ] && echo on || echo off)" \
				"$r20" "$per" "$load" "$dper" "$over"
		done
	done
done
echo "# direct: sql = sqlite3 CLI per query (process start included);"
echo "#         docket's in-process query time is subtracted instead."
