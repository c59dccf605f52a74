#!/bin/sh
# I/O errors: the N-th write, fsync, fdatasync, rename, renameat2, link or unlink of an append fails
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

# sweep SYSCALL ERRNO: prints the number of failing runs
sweep() {
	n=1
	while [ $n -le 80 ]; do
		rc=0
		# LeakSanitizer cannot run under ptrace
		ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
		strace -f -qq -o /dev/null -e trace="$1" \
			-e inject="$1":error="$2":when=$n \
			docket note --ledger L "io-$1-$2-$n" >out 2>err || rc=$?
		if [ $rc = 0 ]; then
			echo $((n - 1))
			return 0
		fi
		if [ $rc -gt 128 ]; then
			echo "$1 $2 #$n: died with $rc" >&2
			return 1
		fi
		if [ -s out ]; then
			echo "$1 $2 #$n: failed but printed: $(cat out)" >&2
			return 1
		fi
		grep -q "^docket: note: " err || {
			echo "$1 $2 #$n: no message: $(cat err)" >&2
			return 1
		}
		docket verify --ledger L -q || {
			echo "$1 $2 #$n: ledger does not verify" >&2
			return 1
		}
		n=$((n + 1))
	done
	echo "$1 $2: still failing after 80 faults" >&2
	return 1
}

for sc in write fsync fdatasync rename renameat2 link unlink; do
	for e in ENOSPC EIO; do
		test_expect_success "$e at every $sc of an append" '
			fails=$(sweep '"$sc"' '"$e"') &&
			echo "$fails failing runs" &&
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
