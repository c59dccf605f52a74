#!/bin/sh
# SIGKILL of `docket dispatch` at random times, 200 times (each on a fresh
# run whose refund it is dispatching, often mid-request or mid-append):
# the ledger verifies, later dispatches pick the work up, and in the end
# every run completed with exactly one refund and one mail.
# DOCKET_RANDOM_KILLS=N changes the number of kills.
. "$(dirname "$0")/lib.sh"
skip_under_valgrind 'random kills are timed against the real program, not valgrind'
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

PROVIDER_MAX_SECONDS=400
DISPATCH_WF=kill
dispatch_setup || exit 1
N=${DOCKET_RANDOM_KILLS:-200}
DISPATCH="$DOCKET_BUILD/libexec/docket/docket-dispatch"

# Some requests are slow, some responses lost, so kills land everywhere.
provider_fault pay '{"fault":"delay","path":"/v1/refunds","nth":[3,7,11,19,23,31,47],"seconds":0.2}'
provider_fault pay '{"fault":"drop","path":"/v1/refunds","nth":[5,13,29,41]}'

test_expect_success "$N dispatches killed at random times; the ledger verifies every 20" '
	i=1 &&
	while [ $i -le $N ]; do
		P=$(new_run "ORD-$i" 1200) || exit 1
		echo "$P" >>props
		# every fifth kill lands on a --ready that also finishes older work
		if [ $((i % 5)) = 0 ]; then
			"$DISPATCH" --ready >/dev/null 2>&1 &
		else
			"$DISPATCH" "$P" >/dev/null 2>&1 &
		fi
		pid=$!
		sleep "0.$(awk -v s=$i "BEGIN { srand(s); printf \"%03d\", rand() * 250 }")"
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null
		if [ $((i % 20)) = 0 ]; then
			docket verify >/dev/null || { echo "verify failed after $i"; exit 1; }
		fi
		i=$((i + 1))
	done
'

test_expect_success 'later dispatches finish everything, one side effect per proposal' '
	docket dispatch --ready --max-in-flight 8 >out 2>err ;
	docket dispatch --ready >out 2>err &&
	grep "nothing to dispatch" out &&
	for P in $(cat props); do
		test "$(effects pay "$(key_of "$P")")" = 1 ||
			{ echo "$P: $(effects pay "$(key_of "$P")") refunds"; exit 1; }
	done &&
	grep "\"event\":\"effect\"" pay.log | jq -r .key | sort | uniq -d >dups &&
	test ! -s dups &&
	test "$(effects pay)" = $((N * 2))
'

test_expect_success 'every run completed; the ledger and git verify' '
	docket log --json -n 1000000 --type run.finished |
		jq -e "length == $N and all(.[]; .body.status == \"completed\")" &&
	docket verify >/dev/null &&
	git -C L fsck --strict 2>/dev/null
'

test_done
