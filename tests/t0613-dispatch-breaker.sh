#!/bin/sh
# The circuit breaker of an action: it opens after the configured
# failures (computed from dispatch.result records, so every process
# agrees), records skips, runs the fallback once, leaves proposals whose
# earlier send is unresolved alone, and closes after its open time.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

dispatch_setup || exit 1

outcome() {
	docket log --json -n 1000000 --type dispatch.result |
		jq -r --arg p "$1" "[.[] | select(.body.proposal == \$p)][0].body.outcome"
}

test_expect_success 'two dispatches fail after all their attempts: retryable' '
	provider_fault pay "{\"fault\":\"503\",\"path\":\"/v1/refunds\",\"times\":1000}" &&
	A=$(new_run ORD-a 1000) && echo "$A" >pa &&
	B=$(new_run ORD-b 1000) && echo "$B" >pb &&
	test_expect_code 1 docket dispatch "$A" >out &&
	test_expect_code 1 docket dispatch "$B" >out &&
	test "$(outcome "$A")" = retryable &&
	test "$(outcome "$B")" = retryable
'

test_expect_success 'the breaker is open: a new proposal is skipped, the fallback ticket sent' '
	C=$(new_run ORD-c 1000) && echo "$C" >pc &&
	last_run >rc &&
	n=$(requests pay) &&
	test_expect_code 1 docket dispatch "$C" >out &&
	grep "circuit breaker of pay.refund is open until" out &&
	grep "fallback pay.ticket: succeeded" out &&
	test "$(outcome "$C")" = skipped &&
	test "$(requests pay "$(key_of "$C")")" = 0 &&
	test "$(effects pay "$(key_of "$C")-fallback")" = 1 &&
	docket log --json -n 1000000 --type dispatch.fallback_result |
		jq -e ".[0].body.outcome == \"succeeded\" and .[0].body.fallback_for == \"pay.refund\"
		       and (.[0].body.recorded.id | startswith(\"tk_\"))" &&
	docket explain --json "$(cat rc)" | jq -e ".status == \"escalated\""
'

test_expect_success 'the skip and the fallback are final: --ready sends neither again' '
	docket dispatch --ready >out ;
	test "$(effects pay "$(key_of "$(cat pc)")-fallback")" = 1 &&
	test "$(requests pay "$(key_of "$(cat pc)")")" = 0
'

test_expect_success 'proposals with an unresolved earlier send wait (deferred), nothing sent' '
	a=$(requests pay "$(key_of "$(cat pa)")") &&
	docket dispatch --ready >out &&
	grep "pay.refund: deferred" out &&
	test "$(requests pay "$(key_of "$(cat pa)")")" = "$a"
'

test_expect_success 'after its open time the breaker closes: the waiting proposals go out with their keys, once' '
	provider_ctl pay DELETE /__faults >/dev/null &&
	DOCKET_TEST_NOW=$(( $(date +%s) + 61 )) docket dispatch --ready >out &&
	test "$(grep -c "pay.refund: succeeded" out)" = 2 &&
	test "$(effects pay "$(key_of "$(cat pa)")")" = 1 &&
	test "$(effects pay "$(key_of "$(cat pb)")")" = 1 &&
	D=$(new_run ORD-d 1000) &&
	DOCKET_TEST_NOW=$(( $(date +%s) + 62 )) docket dispatch "$D" >out &&
	grep "pay.refund: succeeded" out &&
	grep "continued: completed" out
'

test_expect_success 'the ledger verifies' '
	docket verify >/dev/null &&
	ledger_objects >objects && ! grep -a "$PAY_KEY" objects
'

test_done
