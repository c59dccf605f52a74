# Sourced by tests/tNNNN-*.sh: a small git-style test harness.
#
#   test_expect_success 'what it shows' 'commands && more commands'
#   test_expect_failure ... (known breakage; counted as skipped)
#   test_must_fail CMD...        CMD exits non-zero, but not by a signal
#   test_expect_code N CMD...    CMD exits with N
#   test_cmp EXPECTED ACTUAL     files equal (diff shown otherwise)
#   test_skip 'why' 'what'       skip one case
#   test_done                    print the tally; exit non-zero on failure
#
# DOCKET_TEST_VERBOSE=1 also shows what passing cases printed.
#
# Each script runs in its own trash directory ($TRASH), with HOME there,
# the build's bin/ first on PATH, and DOCKET_FSYNC=0 unless it sets it.
#
# With DOCKET_VALGRIND=1 (make valgrind) every docket command and test
# helper of the build runs under memcheck; a script whose programs made
# valgrind report anything gets one more failing case.
# Scripts that cannot run under valgrind (syscall counting, LD_PRELOAD
# shims, kill timing) call skip_under_valgrind first.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
TEST_NAME=$(basename "$0" .sh)
PATH="$DOCKET_BUILD/bin:$DOCKET_BUILD/tests:$PATH"
export PATH SRC DOCKET_BUILD
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/docket-$TEST_NAME.XXXXXX")
export HOME="$TRASH"
export DOCKET_ACTOR=tester
export DOCKET_FSYNC="${DOCKET_FSYNC-0}"
export NO_COLOR=1
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.com
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.com
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="abort_on_error=1:print_stacktrace=1"
unset DOCKET_LEDGER DOCKET_TEST_NOW
cd "$TRASH" || exit 1

if [ -n "${DOCKET_VALGRIND:-}" ]; then
	# the commands (through DOCKET_EXEC_PATH) and the test helpers run
	# under memcheck; the dispatcher itself (libc only) runs as is
	VG_LOGS=$DOCKET_BUILD/valgrind/$TEST_NAME
	rm -rf "$VG_LOGS"
	mkdir -p "$VG_LOGS" "$TRASH/.valgrind-bin" "$TRASH/.valgrind-libexec"
	for _b in "$DOCKET_BUILD"/libexec/docket/* "$DOCKET_BUILD"/tests/*; do
		[ -f "$_b" ] && [ -x "$_b" ] || continue
		case "$_b" in
		*/libexec/*) _w=$TRASH/.valgrind-libexec/${_b##*/} ;;
		*) _w=$TRASH/.valgrind-bin/${_b##*/} ;;
		esac
		cat >"$_w" <<-EOF
		#!/bin/sh
		exec valgrind -q --error-exitcode=125 --leak-check=full \\
			--show-leak-kinds=definite --errors-for-leak-kinds=definite \\
			--suppressions="$SRC/tests/valgrind.supp" \\
			--log-file="$VG_LOGS/%p.log" "$_b" "\$@"
		EOF
		chmod +x "$_w"
	done
	PATH="$TRASH/.valgrind-bin:$PATH"
	DOCKET_EXEC_PATH=$TRASH/.valgrind-libexec
	export DOCKET_EXEC_PATH
fi

# Under valgrind, skip the whole script (it says why).
skip_under_valgrind() {
	[ -n "${DOCKET_VALGRIND:-}" ] || return 0
	say "ok 1 # skip under valgrind: $1"
	say "RESULT passed=0 failed=0 skipped=1"
	exit 0
}

test_count=0
test_passed=0
test_failed=0
test_skipped=0

_test_cleanup() {
	if [ "$test_failed" = 0 ] && [ -z "${DOCKET_KEEP_TRASH:-}" ]; then
		rm -rf "$TRASH"
	else
		echo "# trash kept: $TRASH"
	fi
}
trap _test_cleanup EXIT

say() { printf '%s\n' "$*"; }

test_expect_success() {
	test_count=$((test_count + 1))
	_desc=$1
	_out=$(cd "$TRASH" && (eval "$2") 2>&1)
	_rc=$?
	if [ $_rc = 0 ]; then
		test_passed=$((test_passed + 1))
		say "ok $test_count - $_desc"
		# DOCKET_TEST_VERBOSE=1: what passing cases printed (figures)
		[ -z "${DOCKET_TEST_VERBOSE:-}" ] || [ -z "$_out" ] ||
			say "$_out" | sed 's/^/#   /'
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $_desc (exit $_rc)"
		say "$2" | sed 's/^/#	/'
		say "# output:"
		say "$_out" | tail -n 40 | sed 's/^/#   /'
	fi
}

test_expect_failure() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	say "ok $test_count - $1 # TODO known breakage"
}

test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	say "ok $test_count # skip $2 ($1)"
}

test_must_fail() {
	"$@"
	_rc=$?
	if [ $_rc = 0 ]; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	fi
	if [ $_rc -gt 128 ] || [ $_rc = 127 ] || [ $_rc = 126 ]; then
		echo "test_must_fail: command died or was not run ($_rc): $*" >&2
		return 1
	fi
	return 0
}

test_expect_code() {
	_want=$1
	shift
	"$@"
	_rc=$?
	if [ $_rc != "$_want" ]; then
		echo "test_expect_code: wanted $_want, got $_rc: $*" >&2
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2"
}

# Make an ed25519 key pair NAME and NAME.pub in the current directory.
make_key() {
	[ -f "$1" ] || ssh-keygen -q -t ed25519 -N '' -C "$1@test" -f "$1"
}

# A fresh ledger at $1 (default L) with admin "admin".
make_ledger() {
	_l=${1:-L}
	make_key admin &&
	docket init --admin admin --key admin.pub "$_l" >/dev/null
}

test_done() {
	if [ -n "${DOCKET_VALGRIND:-}" ]; then
		test_count=$((test_count + 1))
		if find "$VG_LOGS" -name '*.log' -size +0 | grep -q .; then
			test_failed=$((test_failed + 1))
			say "not ok $test_count - valgrind reported errors:"
			find "$VG_LOGS" -name '*.log' -size +0 -exec cat {} + |
				sed 's/^/#   /' | head -n 200
		else
			test_passed=$((test_passed + 1))
			say "ok $test_count - valgrind: no errors, no definite leaks"
		fi
	fi
	say "# $TEST_NAME: passed $test_passed failed $test_failed skipped $test_skipped"
	say "RESULT passed=$test_passed failed=$test_failed skipped=$test_skipped"
	[ "$test_failed" = 0 ]
	exit $?
}
