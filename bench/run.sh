#!/bin/sh
# docket benchmarks. Prints figures and ratios against baselines measured
# in the same run; asserts nothing. Generated ledgers are cached in
# $DOCKET_BUILD/bench-cache (delete it to regenerate).
#
#   BENCH_SIZES="1000 100000 1000000"   ledger sizes for the append figures
#   BENCH_APPENDS=2000                   appends per in-process measurement
#   BENCH_PROCS=200                      processes per per-process figure
#   BENCH_HTTP=1000                      requests per HTTP figure
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
B=$DOCKET_BUILD
CACHE=$B/bench-cache
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docket-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SIZES=${BENCH_SIZES:-1000 100000 1000000}
APPENDS=${BENCH_APPENDS:-2000}
PROCS=${BENCH_PROCS:-200}
PATH=$B/bin:$B/bench:$PATH
export DOCKET_ACTOR=bench NO_COLOR=1
unset DOCKET_LEDGER
mkdir -p "$CACHE"

now_ns() { date +%s%N; }
# ms per run of a command, over N runs
per_run() {
	n=$1
	shift
	t0=$(now_ns)
	i=0
	while [ $i -lt "$n" ]; do
		"$@" >/dev/null 2>&1 </dev/null
		i=$((i + 1))
	done
	t1=$(now_ns)
	echo "$t0 $t1 $n" | awk '{printf "%.3f", ($2 - $1) / 1e6 / $3}'
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2fx", $1 / $2; else print "-" }'; }
secs() { echo "$1 $2" | awk '{printf "%.3f", ($2 - $1) / 1e9}'; }

[ -f "$CACHE/admin.pub" ] || ssh-keygen -q -t ed25519 -N '' -f "$CACHE/admin" -C bench
gen() {
	if [ ! -d "$CACHE/gen-$1" ]; then
		echo "# generating a $1-record ledger (git fast-import; cached)" >&2
		python3 "$SRC/bench/gen-ledger.py" "$1" "$CACHE/gen-$1.tmp" \
			"$CACHE/admin.pub" && mv "$CACHE/gen-$1.tmp" "$CACHE/gen-$1"
	fi
}

echo "== process start-up (ms per run, $PROCS runs)"
floor=$(per_run "$PROCS" floor-libgit2)
true_ms=$(per_run "$PROCS" /bin/true)
help_ms=$(per_run "$PROCS" docket -h)
echo "  /bin/true                      $true_ms"
echo "  git_libgit2_init() floor       $floor"
echo "  docket -h                      $help_ms   (target < 3 ms)"
if [ -x "$B/libexec/docket/docket-lint" ]; then
	echo "  docket lint -h                 $(per_run "$PROCS" docket lint -h)"
fi

echo
echo "== appends (fsync on unless noted)"
printf '  %-10s %-12s %-12s %-14s %-14s %s\n' size "in-proc/s" "nofsync/s" \
	"proc ms" "proc-floor ms" "proc nofsync ms"
for n in $SIZES; do
	gen "$n" || continue
	rm -rf "$WORK/L"
	cp -a "$CACHE/gen-$n" "$WORK/L"
	# let the copy's writeback finish before anything is timed
	sync
	on=$(append-bench "$WORK/L" $((APPENDS / 4)) | awk '{print $6}')
	off=$(DOCKET_FSYNC=0 append-bench "$WORK/L" "$APPENDS" | awk '{print $6}')
	p_on=$(DOCKET_LEDGER=$WORK/L per_run "$PROCS" docket note "bench")
	p_off=$(DOCKET_LEDGER=$WORK/L DOCKET_FSYNC=0 per_run "$PROCS" docket note "bench")
	over=$(echo "$p_on $floor" | awk '{printf "%.3f", $1 - $2}')
	printf '  %-10s %-12s %-12s %-14s %-14s %s\n' "$n" "$on" "$off" \
		"$p_on" "$over" "$p_off"
	DOCKET_LEDGER=$WORK/L docket verify -q || echo "  !! verify failed after appends"
	eval "rate_$n=$off"
done
if command -v perf >/dev/null 2>&1 &&
	perf stat -e instructions:u true >/dev/null 2>&1; then
	# instruction counts do not depend on what else the machine is doing
	ins() {
		perf stat -x, -e instructions:u,instructions:k -r 20 "$@" 2>&1 >/dev/null |
			awk -F, '/instructions/ {s += $1} END {printf "%.2f", s / 1e6}'
	}
	gen 1000
	rm -rf "$WORK/I" && cp -a "$CACHE/gen-1000" "$WORK/I"
	fi_floor=$(ins floor-libgit2)
	fi_note=$(DOCKET_LEDGER=$WORK/I DOCKET_FSYNC=0 ins "$B/libexec/docket/docket-note" x)
	echo "  instructions per process (user+kernel, millions): floor $fi_floor, docket-note $fi_note, above the floor $(echo "$fi_note $fi_floor" | awk '{printf "%.2f", $1 - $2}')"
fi
if [ -n "${rate_1000:-}" ] && [ -n "${rate_1000000:-}" ]; then
	echo "  per-append cost at 1M vs 1k (no fsync): $(ratio "$rate_1000" "$rate_1000000")  (target within 1.20x)"
fi

echo
echo "== baseline: git plumbing in a shell loop (hash-object, mktree, commit-tree, update-ref)"
gen 1000
rm -rf "$WORK/P"
cp -a "$CACHE/gen-1000" "$WORK/P"
t0=$(now_ns)
sh "$SRC/bench/plumbing-append.sh" "$WORK/P" 100
t1=$(now_ns)
pl=$(echo "$t0 $t1" | awk '{printf "%.0f", 100 / (($2 - $1) / 1e9)}')
echo "  git plumbing                   $pl records/s"
DOCKET_LEDGER=$WORK/P docket verify -q && echo "  (the plumbing ledger verifies)"
[ -n "${rate_1000:-}" ] && echo "  docket in-process (no fsync) vs plumbing: $(ratio "$rate_1000" "$pl")"

echo
[ -n "${BENCH_SKIP_VERIFY:-}" ] && exit 0
echo "== verify throughput (100k records)"
gen 100000
if [ ! -d "$CACHE/written-100k" ]; then
	echo "# writing a 100k-record ledger with docket (cached)" >&2
	rm -rf "$CACHE/written-100k.tmp"
	docket init --admin admin --key "$CACHE/admin.pub" "$CACHE/written-100k.tmp" >/dev/null &&
		DOCKET_FSYNC=0 append-bench "$CACHE/written-100k.tmp" 99999 >/dev/null &&
		mv "$CACHE/written-100k.tmp" "$CACHE/written-100k"
fi
for kind in written-100k gen-100000; do
	L=$CACHE/$kind
	label=$kind
	[ "$kind" = gen-100000 ] && label="packed (deltas)"
	[ "$kind" = written-100k ] && label="as docket writes it"
	mb=$(git -C "$L" count-objects -v | awk '/size-pack/ {printf "%.0f", $2 / 1024}')
	echo "  -- $label, $mb MB of packs"
	# warm the page cache first: every reader below then starts equal
	cat "$L"/objects/pack/* >/dev/null
	t0=$(now_ns); DOCKET_LEDGER=$L docket verify -q; rc=$?; t1=$(now_ns)
	dv=$(secs "$t0" "$t1")
	t0=$(now_ns); git -C "$L" cat-file --batch-all-objects --batch >/dev/null; t1=$(now_ns)
	cf=$(secs "$t0" "$t1")
	t0=$(now_ns); git -C "$L" fsck --strict >/dev/null 2>&1; t1=$(now_ns)
	fk=$(secs "$t0" "$t1")
	wk=$(walk-bench "$L" | awk '{print $6}')
	bytes=$(walk-bench "$L" | awk '{print $4}')
	rps=$(echo "$dv" | awk '{printf "%.0f", 100000 / $1}')
	mbs=$(echo "$dv $bytes" | awk '{printf "%.1f", $2 / 1e6 / $1}')
	echo "     docket verify              ${dv}s  ($rps records/s, $mbs MB/s of records; exit $rc)"
	if [ -f "$SRC/ledger/verify.py" ]; then
		t0=$(now_ns); python3 "$SRC/ledger/verify.py" "$L" >/dev/null 2>&1; t1=$(now_ns)
		echo "     ledger/verify.py           $(secs "$t0" "$t1")s"
	fi
	echo "     git cat-file --batch-all   ${cf}s   docket verify vs it: $(ratio "$dv" "$cf")"
	echo "     git fsck --strict          ${fk}s"
	echo "     libgit2 walk + sha256      ${wk}s"
done

echo
echo "== HTTP round trips through lib/http (fake provider on 127.0.0.1; the baseline for dispatch)"
DOCKET_BUILD=$B "$SRC/bench/http.sh" "${BENCH_HTTP:-1000}" | sed 's/^/  /'

echo
echo "== docket run: per-step overhead (bench/run-bench.sh; target < 2 ms a step with fsync off, flat in ledger size)"
DOCKET_BUILD=$B BENCH_RUN_SIZES="${BENCH_RUN_SIZES:-1000 100000}" sh "$SRC/bench/run-bench.sh" | sed 's/^/  /'

echo
echo "== approvals: docket status and approve latency, signatures per second (bench/approvals.sh)"
DOCKET_BUILD=$B BENCH_SIZES="${BENCH_APPROVAL_SIZES:-1000 100000 1000000}" \
	sh "$SRC/bench/approvals.sh" | sed 's/^/  /'

echo
echo "== dispatch throughput against the fake provider (bench/dispatch.sh)"
DOCKET_BUILD=$B sh "$SRC/bench/dispatch.sh" "${BENCH_DISPATCH:-50}" | sed 's/^/  /'
