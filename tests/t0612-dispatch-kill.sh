#!/bin/sh
# SIGKILL of `docket dispatch` at each of its write, fsync and rename
# calls (strace fault injection): after each, the ledger verifies, and
# `docket dispatch --ready` finishes the work (refund, continued run,
# confirmation mail) with exactly one side effect per proposal.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

if ! strace -f -o /dev/null true 2>/dev/null; then
	test_skip 'strace cannot trace here' 'kills at each write/fsync/rename'
	test_done
fi
# real barriers, so there are fsync calls to die at
DOCKET_FSYNC=file
export DOCKET_FSYNC
dispatch_setup || exit 1
DISPATCH="$DOCKET_BUILD/libexec/docket/docket-dispatch"

SYSCALLS="write,pwrite64,fsync,fdatasync,rename,renameat,renameat2"

test_expect_success 'count the calls of one whole dispatch (refund, continuation, mail)' '
	P=$(new_run ORD-count 1200) &&
	strace -f -qq -o trace -e trace=$SYSCALLS "$DISPATCH" "$P" >out &&
	grep "continued: completed" out &&
	for s in write fsync rename; do
		n=$(grep -c "^[0-9]* *$s(" trace || :)
		echo "$s $n"
	done >counts &&
	cat counts &&
	test "$(awk "\$1 == \"rename\" {print \$2}" counts)" -gt 0 &&
	test "$(awk "\$1 == \"fsync\" {print \$2}" counts)" -gt 0
'

# kill_at SYSCALL N: a fresh run, dispatch killed at the Nth SYSCALL,
# then the checks and the recovery.
kill_at() {
	P=$(new_run "ORD-$1-$2" 1200) || return 1
	strace -f -qq -o /dev/null -e trace=$1 \
		-e inject=$1:signal=KILL:when=$2 "$DISPATCH" "$P" \
		>/dev/null 2>&1
	docket verify >/dev/null || { echo "verify failed after $1 #$2"; return 1; }
	docket dispatch --ready >/dev/null 2>"rec.err" || {
		echo "recovery after $1 #$2 failed"; cat rec.err; return 1; }
	K=$(key_of "$P")
	test "$(effects pay "$K")" = 1 || { echo "$1 #$2: $(effects pay "$K") refunds"; return 1; }
	docket explain --json "$(last_run)" | jq -e ".status == \"completed\"" >/dev/null ||
		{ echo "$1 #$2: run not completed"; return 1; }
}

for s in write fsync rename; do
	test_expect_success "SIGKILL at each $s, then --ready: one side effect each, runs completed" '
		n=$(awk "\$1 == \"'$s'\" {print \$2}" counts) &&
		i=1 && killed=0 &&
		while [ $i -le $n ]; do
			kill_at '$s' $i || exit 1
			i=$((i + 1))
		done &&
		echo "killed at $n points"
	'
done

test_expect_success 'no key was performed twice; every run sent exactly one refund and one mail' '
	grep "\"event\":\"effect\"" pay.log | jq -r .key | sort | uniq -d >dups &&
	test ! -s dups &&
	runs=$(docket log --json --type run.started | jq length) &&
	test "$(effects pay)" = $((runs * 2)) &&
	docket verify >/dev/null &&
	git -C L fsck --strict 2>/dev/null
'

test_done
