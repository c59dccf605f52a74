#!/bin/sh
# I/O errors: the N-th write, fsync, fdatasync, rename, renameat2, link, unlink or openat of an append fails
# with ENOSPC, then EIO (strace fault injection), for N = 1, 2, ... until
# the append succeeds. Every failed run exits non-zero with a message and
# prints no success; the ledger verifies; the next append succeeds.
DOCKET_FSYNC=1
. "$(dirname "$0")/lib.sh"
skip_under_valgrind 'fault points are counted system calls, and valgrind makes its own'

if ! command -v strace >/dev/null 2>&1; then
	test_skip 'no strace' 'I/O error sweeps'
	test_done
fi

test_expect_success 'setup' '
	make_ledger L &&
	docket note --ledger L first >/dev/null
'

# sweep SYSCALL ERRNO: fail the Nth call of SYSCALL, for every N up to
# the number of such calls a clean append makes (counted first, plus a
# margin). A run either fails cleanly (non-zero, a message, nothing on
# stdout) or, when a fallback absorbed the error, succeeds and prints its
# record; after each, the ledger verifies. Prints what it saw.
sweep() {
	ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
	strace -f -qq -o probe -e trace="$1" \
		docket note --ledger L "probe-$1-$2" >/dev/null || return 1
	calls=$(grep -c "$1(" probe)
	n=1 failed=0 absorbed=0
	# openat: from the first file of the ledger on (before it, the
	# loader and libraries open theirs, which no command can survive)
	if [ "$1" = openat ]; then
		n=$(grep "openat(" probe | grep -n "/L/\|/L\"" | head -n 1 | cut -d: -f1)
	fi
	while [ $n -le $((calls + 2)) ]; do
		rc=0
		# LeakSanitizer cannot run under ptrace
		ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
		strace -f -qq -o /dev/null -e trace="$1" \
			-e inject="$1":error="$2":when=$n \
			docket note --ledger L "io-$1-$2-$n" >out 2>err || rc=$?
		if [ $rc = 0 ]; then
			grep -q "^[0-9]*:[0-9a-f]\{64\}$" out || {
				echo "$1 $2 #$n: succeeded without a record" >&2
				return 1
			}
			[ $n -le "$calls" ] && absorbed=$((absorbed + 1))
			:
		elif [ $rc -gt 128 ]; then
			echo "$1 $2 #$n: died with $rc" >&2
			return 1
		elif [ -s out ]; then
			echo "$1 $2 #$n: failed but printed: $(cat out)" >&2
			return 1
		elif ! grep -q "^docket: note: " err; then
			echo "$1 $2 #$n: no message: $(cat err)" >&2
			return 1
		else
			failed=$((failed + 1))
		fi
		docket verify --ledger L -q || {
			echo "$1 $2 #$n: ledger does not verify" >&2
			return 1
		}
		n=$((n + 1))
	done
	echo "$calls calls: $failed failed cleanly, $absorbed absorbed"
}

for sc in write fsync fdatasync rename renameat2 link unlink openat; do
	for e in ENOSPC EIO; do
		test_expect_success "$e at every $sc of an append" '
			sweep '"$sc"' '"$e"' &&
			docket note --ledger L "after-'"$sc-$e"'" >/dev/null &&
			docket verify --ledger L -q &&
			git -C L fsck --strict --no-dangling >/dev/null
		'
	done
done

test_expect_success 'a failed append is not in the ledger; a later one is' '
	docket log --ledger L -n 10000 --json >log.json &&
	grep -q "\"after-write-ENOSPC\"" log.json
'

test_done
