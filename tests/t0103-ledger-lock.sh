#!/bin/sh
# The append lock: a live holder of GITDIR/docket.lock is waited on, then
# refused after DOCKET_LOCK_TIMEOUT (exit 5) with nothing appended; a
# refs/heads/main.lock left by a docket writer that died is recognised
# from the intent in docket.lock and removed; any other main.lock is
# waited on and then refused, naming the file, and never removed.
. "$(dirname "$0")/lib.sh"
skip_under_valgrind 'stale-lock cases kill at counted system calls, and lock waits are timed'

# LeakSanitizer cannot run under ptrace: no leak checks under strace
STRACE_ASAN="$ASAN_OPTIONS:detect_leaks=0"

export DOCKET_FSYNC=1

state() {
	git -C L rev-parse refs/heads/main &&
	git -C L count-objects -v | grep -v '^size'
}

# hold_lock: hold docket.lock (util-linux flock) until "release" is written
# to; holder.pid names it, and it holds the lock when this returns.
hold_lock() {
	rm -f held release && mkfifo release &&
	{ flock L/docket.lock sh -c ': >held; read x <release; echo released >>order' & } &&
	echo $! >holder.pid &&
	wait_file held
}

release_lock() {
	echo go >release
	# (dash may have reaped it already: its status is of no interest)
	wait "$(cat holder.pid)" 2>/dev/null
	return 0
}

# wait_file F: wait (up to 30 s) for file F to appear
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 1500 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	test -e "$1"
}

test_expect_success 'setup' '
	make_ledger L &&
	docket note --ledger L first >/dev/null
'

if ! command -v flock >/dev/null 2>&1; then
	test_skip 'util-linux flock is needed' 'live lock holder'
else
	test_expect_success 'a live lock holder: refused after DOCKET_LOCK_TIMEOUT, exit 5, nothing appended' '
		state >before &&
		hold_lock &&
		DOCKET_LOCK_TIMEOUT=200 docket note --ledger L blocked >out 2>err
		rc=$?
		release_lock &&
		test $rc = 5 &&
		cat err &&
		grep -q "^docket: note: ledger is locked by another docket process" err &&
		grep -q "DOCKET_LOCK_TIMEOUT" err &&
		test ! -s out &&
		state >after &&
		test_cmp before after &&
		! docket log --ledger L --json | grep -q blocked
	'

	test_expect_success 'a live lock holder is waited on; the append goes in after it lets go' '
		rm -f order rc done &&
		hold_lock &&
		{ docket note --ledger L waited >out 2>err; echo $? >rc; echo noted >>order; : >done; } &
		noter=$! &&
		sleep 0.3 &&
		# still waiting, nothing appended while the lock is held
		kill -0 $noter &&
		test ! -e rc &&
		test "$(docket head --ledger L | cut -d: -f1)" = 1 &&
		release_lock &&
		wait_file done &&
		test "$(cat rc)" = 0 &&
		printf "released\nnoted\n" >expect &&
		test_cmp expect order &&
		grep -q "^2:" out &&
		docket show --ledger L 2 --json | grep -q "\"text\": *\"waited\""
	'
fi

if ! command -v strace >/dev/null 2>&1 ||
	! strace -qq -o /dev/null -e inject=getpid:error=EPERM:when=1 true \
		2>/dev/null; then
	test_skip 'strace with syscall injection is needed' 'stale lock'
	test_done
fi

# nth SYSCALL PATTERN: which call of SYSCALL, in a clean traced append
# (which appends a probe note), is the first one matching PATTERN
nth() {
	ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o probe.out -e trace="$1" \
		docket note --ledger L "probe $1" >/dev/null &&
	grep -v "+++" probe.out | grep -n "$2" | head -n 1 | cut -d: -f1
}

# kill_at SYSCALL N TEXT: docket note TEXT, killed at the Nth SYSCALL
kill_at() {
	ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o trace.out -e trace="$1" \
		-e inject="$1":signal=KILL:when="$2" \
		docket note --ledger L "$3" >out 2>err
	test $? = 137
}

# The branch moves as move_branch_exchange (lib/ledger.c) says: the new
# id is written over refs/heads/.docket-spare.lock, which becomes
# main.lock (renameat2 RENAME_NOREPLACE), is swapped with main
# (RENAME_EXCHANGE), and goes back to the spare name.
test_expect_success 'killed before the exchange: the lock and its intent are left' '
	N=$(nth renameat2 "RENAME_EXCHANGE") &&
	test -n "$N" &&
	head=$(git -C L rev-parse refs/heads/main) &&
	kill_at renameat2 "$N" "killed at rename" &&
	tail -n 2 trace.out | grep -q "renameat2(.*refs/heads/main.lock.*RENAME_EXCHANGE" &&
	test -f L/refs/heads/main.lock &&
	# docket.lock names the commit main.lock was about to point at,
	# and the one the branch pointed at
	read word pid commit old <L/docket.lock &&
	test "$word" = ref &&
	test "$commit" = "$(cat L/refs/heads/main.lock)" &&
	test "$old" = "$head" &&
	git -C L cat-file -e "$commit^{commit}" &&
	test "$(git -C L rev-parse refs/heads/main)" = "$head"
'

test_expect_success 'the next append recognises the dead writer and recovers its lock' '
	seq=$(docket head --ledger L | cut -d: -f1) &&
	DOCKET_LOCK_TIMEOUT=200 docket note --ledger L "after the crash" >out &&
	grep -q "^$((seq + 1)):" out &&
	test ! -e L/refs/heads/main.lock &&
	test ! -s L/docket.lock &&
	docket log --ledger L --json >log.json &&
	grep -q "after the crash" log.json &&
	! grep -q "killed at rename" log.json &&
	docket verify --ledger L &&
	git -C L fsck --strict --no-dangling
'

test_expect_success 'killed before taking the lock: nothing is left to recover' '
	N=$(nth renameat2 "RENAME_NOREPLACE") &&
	test -n "$N" &&
	head=$(git -C L rev-parse refs/heads/main) &&
	kill_at renameat2 "$N" "killed at the lock" &&
	tail -n 2 trace.out | grep -q "renameat2(.*RENAME_NOREPLACE" &&
	test ! -e L/refs/heads/main.lock &&
	test -f L/refs/heads/.docket-spare.lock &&
	test "$(git -C L rev-parse refs/heads/main)" = "$head" &&
	docket note --ledger L "after the lock" &&
	test ! -e L/refs/heads/main.lock &&
	docket verify --ledger L
'

test_expect_success 'killed after the exchange: the lock holds the old id, and is recovered' '
	N=$(nth rename "refs/heads/main.lock\", .*docket-spare") &&
	test -n "$N" &&
	old=$(git -C L rev-parse refs/heads/main) &&
	kill_at rename "$N" "killed after the exchange" &&
	tail -n 2 trace.out | grep -q "rename(.*refs/heads/main.lock" &&
	# the branch moved; the lock file holds where it was
	test "$(cat L/refs/heads/main.lock)" = "$old" &&
	test "$(git -C L rev-parse refs/heads/main)" != "$old" &&
	DOCKET_LOCK_TIMEOUT=200 docket note --ledger L "after the exchange" &&
	test ! -e L/refs/heads/main.lock &&
	docket log --ledger L --json >log.json &&
	grep -q "killed after the exchange" log.json &&
	grep -q "after the exchange" log.json &&
	docket verify --ledger L &&
	git -C L fsck --strict --no-dangling
'

test_expect_success 'a main.lock that does not match the intent is waited on, refused and kept' '
	N=$(nth renameat2 "RENAME_EXCHANGE") &&
	kill_at renameat2 "$N" "killed again" &&
	test -f L/refs/heads/main.lock &&
	# someone else (a git process) now owns the branch lock
	git -C L rev-parse refs/heads/main~1 >L/refs/heads/main.lock &&
	cp L/refs/heads/main.lock lock.before &&
	head=$(git -C L rev-parse refs/heads/main) &&
	test_expect_code 5 env DOCKET_LOCK_TIMEOUT=300 \
		docket note --ledger L "must wait" 2>err &&
	cat err &&
	grep -q "refs/heads/main.lock" err &&
	grep -q "^docket: note: .*main.lock exists" err &&
	test_cmp lock.before L/refs/heads/main.lock &&
	test "$(git -C L rev-parse refs/heads/main)" = "$head" &&
	! docket log --ledger L --json | grep -q "must wait"
'

test_expect_success 'a hand-made main.lock with no intent at all is not removed either' '
	: >L/docket.lock &&
	test_expect_code 5 env DOCKET_LOCK_TIMEOUT=200 \
		docket note --ledger L "must wait too" 2>err &&
	grep -q "main.lock exists" err &&
	test_cmp lock.before L/refs/heads/main.lock
'

test_expect_success 'once that lock is gone, appends go through again' '
	rm L/refs/heads/main.lock &&
	docket note --ledger L "lock removed" >/dev/null &&
	docket verify --ledger L &&
	git -C L fsck --strict --no-dangling
'

test_done
