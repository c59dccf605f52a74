# Sourced by t0612, t0614, t0615, t0620 after setting KILL_SYSCALL: SIGKILL of
# `docket dispatch` at each call of that syscall (strace fault injection)
# during one whole dispatch (the refund, the continued run, its
# confirmation mail). After each kill the ledger verifies and the next
# run starts; then one `docket dispatch --ready` finishes every
# interrupted dispatch with exactly one side effect per proposal.
skip_under_valgrind 'kill points are counted system calls, and valgrind makes its own'
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

if ! strace -f -o /dev/null true 2>/dev/null; then
	test_skip 'strace cannot trace here' "kills at each $KILL_SYSCALL"
	test_done
fi
PROVIDER_MAX_SECONDS=300
DISPATCH_WF=kill
dispatch_setup || exit 1
DISPATCH="$DOCKET_BUILD/libexec/docket/docket-dispatch"

# The killed dispatch runs with real durability barriers.
test_expect_success "count the ${KILL_SYSCALL} calls of one whole dispatch" '
	P=$(new_run ORD-count 1200) &&
	DOCKET_FSYNC=1 ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace -e trace=$KILL_SYSCALL \
		"$DISPATCH" "$P" >out &&
	grep "continued: completed" out &&
	grep -c "^[0-9]* *$KILL_SYSCALL(" trace >count &&
	test "$(cat count)" -gt 0
'

# The number of calls varies a little (pack maintenance every few
# appends): kill at call 1, 2, ... until a dispatch runs past the last.
test_expect_success "SIGKILL at each ${KILL_SYSCALL}: the ledger verifies after each" '
	n=$(cat count) && i=1 &&
	while :; do
		P=$(new_run "ORD-$i" 1200) || exit 1
		echo "$P" >>killed
		DOCKET_FSYNC=1 ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=$KILL_SYSCALL \
			-e inject=$KILL_SYSCALL:signal=KILL:when=$i \
			"$DISPATCH" "$P" >/dev/null 2>&1
		rc=$?
		docket verify >/dev/null || { echo "#$i: verify failed"; exit 1; }
		if [ $rc -lt 128 ]; then
			[ $i -gt $((n / 2)) ] || { echo "#$i: not killed"; exit 1; }
			break
		fi
		i=$((i + 1))
	done &&
	echo "killed at $((i - 1)) points (one dispatch makes about $n calls)"
'

test_expect_success 'one --ready finishes the work: one refund and one mail per run, runs completed' '
	docket dispatch --ready >out 2>err &&
	for P in $(cat killed); do
		test "$(effects pay "$(key_of "$P")")" = 1 ||
			{ echo "$P: $(effects pay "$(key_of "$P")") refunds"; exit 1; }
	done &&
	docket log --json -n 1000000 --type run.started | jq -r ".[].body.run" >runs &&
	for R in $(cat runs); do
		docket explain --json "$R" | jq -e ".status == \"completed\"" >/dev/null ||
			{ echo "$R not completed"; exit 1; }
	done &&
	grep "\"event\":\"effect\"" pay.log | jq -r .key | sort | uniq -d >dups &&
	test ! -s dups &&
	test "$(effects pay)" = $(( $(wc -l <runs) * 2 )) &&
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	docket verify >/dev/null &&
	git -C L fsck --strict 2>/dev/null
'

test_done
