#!/bin/sh
# Run libFuzzer targets: tools/fuzz.sh BUILDDIR SECONDS NAME...
#
# Each target starts from tests/fuzz/corpus/NAME (the checked-in seeds
# and regression inputs) plus BUILDDIR/corpus/NAME (what earlier runs
# found), runs SECONDS, then merges the inputs that add coverage back
# into tests/fuzz/corpus/NAME (libFuzzer -merge=1 keeps only those).
# Crashes land in BUILDDIR/crashes/NAME/ and make the script fail.
# Environment: FUZZ_JOBS (parallel targets, default: number of CPUs),
# FUZZ_MERGE=0 to leave tests/fuzz/corpus alone.
set -u
build=$1 secs=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
log=$build/fuzz-logs
mkdir -p "$log"

run_one() {
	name=$1
	bin=$build/fuzz-$name
	work=$build/corpus/$name
	crashes=$build/crashes/$name
	seeds=$src/tests/fuzz/corpus/$name
	mkdir -p "$work" "$crashes" "$seeds"
	dict=
	[ -f "$src/tests/fuzz/$name.dict" ] &&
		dict=-dict=$src/tests/fuzz/$name.dict
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:malloc_context_size=30} \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 $dict \
		-artifact_prefix="$crashes/" "$work" "$seeds" \
		>"$log/$name.log" 2>&1
	rc=$?
	if [ "${FUZZ_MERGE:-1}" = 1 ]; then
		# shellcheck disable=SC2086
		"$bin" -merge=1 -max_len=65536 $dict "$seeds" "$work" \
			>"$log/$name.merge.log" 2>&1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$log/$name.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log/$name.log" | tail -1)
	n=$(ls "$seeds" | wc -l)
	found=$(ls "$crashes" | wc -l)
	printf '%-10s %4ss  %10s execs  %-10s corpus %4d  crashes %d  rc %d\n' \
		"$name" "$secs" "${execs:-?}" "${cov:-cov: ?}" "$n" "$found" "$rc" \
		>"$log/$name.summary"
	cat "$log/$name.summary"
	return $rc
}

fail=0
while [ $# -gt 0 ]; do
	pids=""
	i=0
	while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
		run_one "$1" &
		pids="$pids $!"
		shift
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || fail=1
	done
done
if [ "$fail" != 0 ]; then
	echo "fuzz: a target failed; see $log and $build/crashes" >&2
	exit 1
fi
echo "fuzz: logs in $log"
