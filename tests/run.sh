#!/bin/sh
# Run every unit test (build/tests/test-*) and CLI test (tests/t*.sh),
# two at a time, and end with one line: "N passed, N failed, N skipped".
# Usage: tests/run.sh [PATTERN]   (a shell glob on test names)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
export DOCKET_BUILD
OUT="$DOCKET_BUILD/test-results"
pat=${1:-*}
JOBS=${TEST_JOBS:-2}

list() {
	for t in "$DOCKET_BUILD"/tests/test-*; do
		[ -x "$t" ] || continue
		case "$(basename "$t")" in $pat) echo "$t" ;; esac
	done
	for t in "$SRC"/tests/t[0-9]*.sh; do
		[ -f "$t" ] || continue
		case "$(basename "$t" .sh)" in $pat) echo "$t" ;; esac
	done
}

run_one() {
	t=$1
	name=$(basename "$t" .sh)
	case "$t" in
	*.sh) sh "$t" >"$OUT/$name.out" 2>&1 ;;
	*)
		if [ -n "${DOCKET_VALGRIND:-}" ]; then
			valgrind -q --error-exitcode=125 --leak-check=full \
				--show-leak-kinds=definite \
				--errors-for-leak-kinds=definite \
				--suppressions="$SRC/tests/valgrind.supp" \
				"$t" >"$OUT/$name.out" 2>&1
		else
			"$t" >"$OUT/$name.out" 2>&1
		fi ;;
	esac
	echo $? >"$OUT/$name.rc"
}

if [ "${1:-}" = "--one" ]; then
	run_one "$2"
	exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"

start=$(date +%s)
list | xargs -P "$JOBS" -I{} sh "$0" --one {}

passed=0 failed=0 skipped=0
for rcf in "$OUT"/*.rc; do
	[ -f "$rcf" ] || continue
	name=$(basename "$rcf" .rc)
	out="$OUT/$name.out"
	rc=$(cat "$rcf")
	p=0 f=0 s=0
	if line=$(grep '^RESULT ' "$out" | tail -n 1) && [ -n "$line" ]; then
		p=$(echo "$line" | sed 's/.*passed=\([0-9]*\).*/\1/')
		f=$(echo "$line" | sed 's/.*failed=\([0-9]*\).*/\1/')
		s=$(echo "$line" | sed 's/.*skipped=\([0-9]*\).*/\1/')
	elif grep -q 'PASSED  \]' "$out"; then
		# cmocka
		p=$(grep 'PASSED  \]' "$out" | tail -n 1 | sed 's/.*\] *\([0-9]*\).*/\1/')
		f=$(grep 'FAILED  \] [0-9]' "$out" | tail -n 1 | sed 's/.*\] *\([0-9]*\).*/\1/')
		s=$(grep 'SKIPPED \] [0-9]' "$out" | tail -n 1 | sed 's/.*\] *\([0-9]*\).*/\1/')
		f=${f:-0} s=${s:-0}
	fi
	# a script that died before its tally counts as one failure
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$f" != 0 ]; then
		echo "--- FAIL: $name (exit $rc)"
		grep -v '^ok ' "$out" | tail -n 60
	else
		echo "ok: $name ($p passed${s:+, $s skipped})"
	fi
done
echo "# $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
