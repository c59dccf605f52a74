#!/bin/sh
# Crash safety: `docket note` (DOCKET_FSYNC=1) is killed with SIGKILL at
# each of its write/fsync/syncfs/rename/link/unlink/openat system calls
# in turn (strace syscall fault injection), N = 1, 2, ... until an append
# gets through without being killed. After every kill: the ledger
# verifies (docket verify, git fsck --strict), every acknowledged note is
# there exactly once, the killed one is there at most once, and the next
# append succeeds (recovering the branch lock the dead writer left).
# Every attempt starts from a copy of the same ledger, so that the Nth
# call is the same call in every attempt (how many files an append opens
# depends on the ledger's state, e.g. its number of packs).
. "$(dirname "$0")/lib.sh"
skip_under_valgrind 'kill points are counted system calls, and valgrind makes its own'

# LeakSanitizer cannot run under ptrace: no leak checks under strace
STRACE_ASAN="$ASAN_OPTIONS:detect_leaks=0"

CHECK="$SRC/tests/helpers/ledger-check.py"

if ! command -v strace >/dev/null 2>&1 ||
	! strace -qq -o /dev/null -e inject=getpid:error=EPERM:when=1 true \
		2>/dev/null; then
	test_skip 'strace with syscall injection (and ptrace) is needed' \
		'crash sweep'
	test_done
fi

export DOCKET_FSYNC=1
# a dead writer's lock is recovered at once; a live one would be waited
# on, and no live one exists here: keep a bug from hanging the script
export DOCKET_LOCK_TIMEOUT=5000
: >points
: >stale

# Everything that must hold after a kill; $1 is the killed note's text.
check_ledger() {
	docket verify --ledger L -q ||
		{ echo "verify failed after: $1"; docket verify --ledger L; return 1; }
	git -C L fsck --strict --no-dangling --no-progress >fsck.out 2>&1 ||
		{ echo "fsck failed after: $1"; cat fsck.out; return 1; }
	docket log --ledger L -n 1000000 --json >log.json &&
	python3 "$CHECK" log.json acked maybe
}

# L, acked and maybe as they were after setup ($BASE: which ledger)
BASE=base
fresh_copy() {
	rm -rf L && cp -a $BASE L && cp acked.$BASE acked && : >maybe
}

# sweep SYSCALL [FIRST]: kill at the FIRST (default 1st), next, ... call
# of SYSCALL.
sweep() {
	_s=$1
	_n=${2:-1}
	while [ $_n -le 400 ]; do
		fresh_copy || return 1
		_text="crash $_s ${DOCKET_FSYNC} $_n"
		ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o trace.out -e trace="$_s" \
			-e inject="$_s":signal=KILL:when=$_n \
			docket note --ledger L "$_text" >out 2>err
		_rc=$?
		if [ $_rc = 0 ]; then
			# not killed: acknowledged; the sweep of this call is done
			echo "$_text" >>acked
			grep -q "^[0-9]*:[0-9a-f]\{64\}$" out &&
			check_ledger "$_text" || return 1
			echo "# $_s: $((_n - 1)) crash points" >&2
			return 0
		fi
		if [ $_rc != 137 ]; then
			echo "$_text" >>maybe
			echo "docket note under strace exited $_rc (not killed)"
			cat err
			return 1
		fi
		test ! -s out || { echo "killed, yet it printed:"; cat out; return 1; }
		echo "$_text" >>maybe
		_call=$(grep -v '^[0-9]* *+++' trace.out | tail -n 1)
		case "$_s:$_call" in
		openat:*O_CREAT*) echo "$_s $_n $_call" >>points ;;
		openat:*) ;;
		*) echo "$_s $_n $_call" >>points ;;
		esac
		if [ -e L/refs/heads/main.lock ]; then
			echo "$_s $_n" >>stale
			grep -q "^ref [0-9]* [0-9a-f]\{40\}\( [0-9a-f]\{40\}\)\{0,1\}$" L/docket.lock || {
				echo "main.lock left without an intent in docket.lock"
				return 1
			}
		fi
		check_ledger "$_text" || return 1
		# the next append succeeds, and removes a dead writer's lock
		docket note --ledger L "after $_text" >out ||
			{ echo "append after the kill at $_s $_n failed"; return 1; }
		echo "after $_text" >>acked
		test ! -e L/refs/heads/main.lock ||
			{ echo "stale main.lock still there"; return 1; }
		check_ledger "after $_text" || return 1
		_n=$((_n + 1))
	done
	echo "$_s: still killed after 400 calls"
	return 1
}

test_expect_success 'setup: a ledger with some notes' '
	make_ledger base &&
	: >acked.base &&
	for i in 1 2 3; do
		docket note --ledger base "before $i" >/dev/null || exit 1
		echo "before $i" >>acked.base
	done &&
	fresh_copy &&
	check_ledger none
'

for sc in write pwrite64 ftruncate fsync fdatasync syncfs rename renameat2 \
	link unlink; do
	test_expect_success "killed at each $sc: verifies, loses nothing acknowledged" "
		sweep $sc
	"
done

# The dozens of opens that load libraries and read the ledger before the
# first file is created (docket.lock) cannot leave anything behind: start
# the openat sweep a little before that first O_CREAT.
test_expect_success 'killed at each openat from the first O_CREAT on' '
	fresh_copy &&
	ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o trace.out -e trace=openat \
		docket note --ledger L "openat probe" >/dev/null &&
	first=$(grep -v "+++" trace.out | grep -n "O_CREAT" | head -n 1 | cut -d: -f1) &&
	test -n "$first" &&
	grep -v "+++" trace.out | sed -n "${first}p" | grep -q "docket.lock" &&
	creates=$(grep -c "O_CREAT" trace.out) &&
	start=$((first > 3 ? first - 3 : 1)) &&
	sweep openat $start &&
	test "$(grep -c "^openat .*O_CREAT" points)" -ge "$creates"
'

test_expect_success 'killed at each fsync with DOCKET_FSYNC=file' '
	export DOCKET_FSYNC=file &&
	sweep fsync &&
	test "$(grep -c "^fsync " points)" -ge 3
'

test_expect_success 'the sweep killed inside the branch update and recovered' '
	cat points | cut -c1-150 &&
	echo "$(wc -l <points) crash points; stale branch locks: $(wc -l <stale)" &&
	grep -Eq "^(syncfs|fsync|fdatasync) " points &&
	grep -q "^renameat2 .*RENAME_NOREPLACE" points &&
	grep -q "^renameat2 .*RENAME_EXCHANGE" points &&
	grep -q "^renameat2 " stale &&
	grep -q "^rename " stale &&
	test "$(wc -l <points)" -ge 15
'

# A killed `docket init` leaves either a whole ledger at its path or
# nothing there (the ledger is built beside it and renamed into place), so
# running init again just works.
test_expect_success 'docket init killed at each write/rename/link/fsync/syncfs: a whole ledger or none' '
	for s in write rename link fsync syncfs; do
		n=1
		while [ $n -le 100 ]; do
			rm -rf I I.docket-init-* &&
			ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o /dev/null -e trace=$s \
				-e inject=$s:signal=KILL:when=$n \
				docket init --admin admin --key admin.pub I >out 2>err
			rc=$?
			if [ $rc = 0 ]; then
				docket verify --ledger I -q || exit 1
				echo "# init: $s: $((n - 1)) crash points" >&2
				break
			fi
			test $rc = 137 || { echo "init exited $rc"; cat err; exit 1; }
			echo "init $s $n" >>init-points
			if [ -e I ]; then
				docket verify --ledger I -q ||
					{ echo "killed init at $s $n left a broken I"; exit 1; }
			else
				docket init --admin admin --key admin.pub I >/dev/null ||
					{ echo "init after the kill at $s $n failed"; exit 1; }
				docket verify --ledger I -q || exit 1
			fi
			n=$((n + 1))
		done
		test $n -le 100 || exit 1
	done &&
	test "$(wc -l <init-points)" -ge 20
'

# The spare pool (lib/pack.c): an append writes its pack and index over
# files a merge left in GITDIR/docket/spare, and a merge moves the packs
# it made redundant there. Sweep the calls of both kinds of append.
test_expect_success 'setup: a ledger whose pool holds spares, one about to merge' '
	cp -a base spares && cp acked.base acked.spares &&
	i=4 && while [ $i -le 20 ]; do
		docket note --ledger spares "before $i" >/dev/null || exit 1
		echo "before $i" >>acked.spares
		i=$((i + 1))
	done &&
	test -n "$(ls spares/docket/spare)" &&
	cp -a spares merging && cp acked.spares acked.merging &&
	while [ $i -le 31 ]; do
		docket note --ledger merging "before $i" >/dev/null || exit 1
		echo "before $i" >>acked.merging
		i=$((i + 1))
	done
'

# nothing in the pool may also be a pack: a spare is written over
pool_clean() {
	test -z "$(find L/docket/spare -type f -links +1 2>/dev/null)" || {
		echo "a spare is linked twice"; return 1; }
	for f in L/docket/spare/*; do
		[ -e "$f" ] || continue
		i=$(stat -c %i "$f")
		test -z "$(find L/objects -inum "$i")" ||
			{ echo "spare $f is also a pack file"; return 1; }
	done
}

for sc in write ftruncate fsync rename fcntl; do
	test_expect_success "an append over spares killed at each $sc" "
		BASE=spares && sweep $sc && pool_clean
	"
done

for sc in rename chmod write fsync; do
	test_expect_success "an append that merges into the pool killed at each $sc" "
		BASE=merging && sweep $sc && pool_clean
	"
done

test_expect_success 'the ledger is sound at the end, with no stale lock' '
	check_ledger none &&
	test ! -e L/refs/heads/main.lock &&
	test "$(git -C L rev-list --count refs/heads/main)" = \
		"$(($(docket head --ledger L --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"seq\"])") + 1))"
'

test_done
