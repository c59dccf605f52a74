#!/bin/sh
# docket dispatch: dry run, exactly one send, the run continues to its
# confirmation mail, and proposals that are not approved are never sent.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

dispatch_setup || exit 1

test_expect_success 'a small refund pauses its run, auto-approved, waiting for dispatch' '
	P=$(new_run ORD-1 1200 alice@example.com) &&
	echo "$P" >p1 &&
	jq -e ".pending_proposals[0].waiting == \"dispatch\"" last-run.json &&
	last_run >r1
'

test_expect_success '--dry-run prints the exact request with the secret masked, appends and sends nothing' '
	docket head --json >before &&
	docket dispatch --dry-run "$(cat p1)" >out &&
	grep "^POST $DOCKET_PAY_URL/v1/refunds$" out &&
	grep "^Authorization: Bearer \[REDACTED\]$" out &&
	grep "^Idempotency-Key: $(key_of "$(cat p1)")$" out &&
	grep "^amount=1200&metadata%5Border_id%5D=ORD-1$" out &&
	! grep "$PAY_KEY" out &&
	docket head --json >after &&
	test_cmp before after &&
	test "$(requests pay)" = 0
'

test_expect_success '--dry-run --ready lists it too, as JSON' '
	docket dispatch --dry-run --ready --json >out &&
	jq -e ".dispatches | length == 1" out &&
	jq -e ".dispatches[0].status == \"dry-run\"" out &&
	jq -e ".dispatches[0].request | test(\"REDACTED\")" out
'

test_expect_success 'dispatch sends it once and the run continues through the confirmation mail' '
	docket dispatch "$(cat p1)" >out &&
	grep "pay.refund: succeeded HTTP 200" out &&
	grep "pay.mail: succeeded HTTP 202" out &&
	grep "continued: completed" out &&
	test "$(effects pay "$(key_of "$(cat p1)")")" = 1 &&
	test "$(effects pay)" = 2 &&
	docket verify >/dev/null &&
	git -C L fsck --strict 2>&1 >/dev/null
'

test_expect_success 'the records: intent before result, same key, request hash, recorded fields' '
	docket log --json -n 1000000 >log &&
	P=$(cat p1) &&
	jq -e --arg p "$P" "[.[] | select(.body.proposal == \$p) | .type |
			select(startswith(\"proposal\") or startswith(\"dispatch\"))] | reverse |
		. == [\"proposal\", \"proposal.approved\", \"dispatch.intent\", \"dispatch.result\"]" log &&
	jq -e --arg p "$P" ".[] | select(.type == \"dispatch.result\" and .body.proposal == \$p) |
		.body.outcome == \"succeeded\" and .body.status == 200 and .body.attempts == 1
		and (.body.recorded.id | startswith(\"re_\")) and .body.recorded.amount == 1200
		and (.body.response_sha256 | length) == 64" log &&
	I=$(jq -r --arg p "$P" ".[] | select(.type == \"dispatch.intent\" and .body.proposal == \$p) | .body.request_hash" log) &&
	R=$(jq -r --arg p "$P" ".[] | select(.type == \"dispatch.result\" and .body.proposal == \$p) | .body.request_hash" log) &&
	test "$I" = "$R" && test ${#I} = 64
'

test_expect_success 'explain shows the dispatch, its result and the continuation' '
	docket explain "$(cat r1)" >ex &&
	grep "dispatch intent attempt 1" ex &&
	grep "result attempt 1 succeeded" ex &&
	grep "resumed at .* from refund" ex &&
	grep "^status  completed" ex
'

test_expect_success 'a dispatched proposal is never sent again' '
	docket dispatch "$(cat p1)" >out &&
	grep "already done (succeeded)" out &&
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	test "$(requests pay "$(key_of "$(cat p1)")")" = 1
'

test_expect_success 'a proposal waiting for approval is never sent (exit 7)' '
	P=$(new_run ORD-2 9000) &&
	echo "$P" >p2 &&
	jq -e ".pending_proposals[0].waiting == \"approval\"" last-run.json &&
	test_expect_code 7 docket dispatch "$P" >out 2>err &&
	grep "is pending: only approved proposals are sent" err &&
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	test "$(requests pay "$(key_of "$P")")" = 0
'

test_expect_success 'an expired proposal is never sent' '
	NOW=$(( $(date +%s) + 3 * 86400 )) &&
	DOCKET_TEST_NOW=$NOW test_expect_code 7 docket dispatch "$(cat p2)" 2>err &&
	grep "is expired" err &&
	test "$(requests pay "$(key_of "$(cat p2)")")" = 0
'

test_expect_success 'a rejected proposal is never sent' '
	P=$(new_run ORD-rej 9100) && echo "$P" >p3 &&
	ledger-append L proposal.rejected \
		"{\"proposal\":\"$P\",\"run\":\"$(last_run)\",\"by\":\"lead\"}" &&
	test_expect_code 7 docket dispatch "$P" 2>err &&
	grep "is rejected: only approved proposals are sent" err &&
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	test "$(requests pay "$(key_of "$P")")" = 0
'

test_expect_success 'a proposal recorded as expired is never sent' '
	P=$(new_run ORD-exp 9200) &&
	ledger-append L proposal.expired \
		"{\"proposal\":\"$P\",\"run\":\"$(last_run)\"}" &&
	test_expect_code 7 docket dispatch "$P" 2>err &&
	grep "is expired" err &&
	test "$(requests pay "$(key_of "$P")")" = 0
'

test_expect_success 'a proposal approved by approvers (proposal.approved by approvals) is sent by --ready' '
	P=$(new_run ORD-lead 9300) &&
	ledger-append L proposal.approved \
		"{\"proposal\":\"$P\",\"run\":\"$(last_run)\",\"by\":\"approvals\"}" &&
	docket dispatch --ready >out &&
	grep "wrp://$P pay.refund: succeeded" out &&
	test "$(effects pay "$(key_of "$P")")" = 1 &&
	docket explain --json "$(last_run)" | jq -e ".status == \"completed\""
'

test_expect_success 'a denied action gets no proposal and nothing is sent' '
	before=$(requests pay) &&
	test_expect_code 7 docket run wf.yaml --session tenant_id=t1 \
		--input order_id=ORD-3 --input amount_cents:=0 >out &&
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	test "$(requests pay)" = "$before"
'

test_expect_success 'a workflow changed since the run is refused, nothing sent; restored, it goes' '
	P=$(new_run ORD-wfchange 1500) &&
	cp wf.yaml wf.orig &&
	sed "s/template: \"refund_sent\"/template: \"refund_done\"/" wf.orig >wf.yaml &&
	! cmp -s wf.orig wf.yaml &&
	test_expect_code 1 docket dispatch "$P" >out 2>err &&
	grep "dispatch with the definition that ran" err &&
	test "$(requests pay "$(key_of "$P")")" = 0 &&
	cp wf.orig wf.yaml &&
	docket dispatch "$P" >out &&
	grep "pay.refund: succeeded" out
'

test_expect_success 'an unknown proposal is an error' '
	test_must_fail docket dispatch p-0000000000000000000000000000 2>err &&
	grep "no proposal" err
'

test_expect_success 'usage errors' '
	test_expect_code 2 docket dispatch 2>err &&
	test_expect_code 2 docket dispatch --ready "$(cat p1)" 2>err &&
	test_expect_code 2 docket dispatch --ready --max-in-flight 0 2>err
'

test_expect_success 'a provider echoing the key back: it is masked in what is recorded and printed' '
	P=$(new_run ORD-echo 1300) &&
	provider_fault pay "{\"fault\":\"echo\",\"path\":\"/v1/refunds\",\"nth\":[1]}" &&
	docket dispatch --json "$P" >echo.out 2>echo.err &&
	jq -e ".dispatches[0].outcome == \"succeeded\"" echo.out &&
	grep "\"event\":\"request\".*\"fault\":\"echo\"" pay.log
'

test_expect_success 'a wrong key echoed in the provider error message: refused, masked everywhere' '
	P=$(new_run ORD-wrongkey 1400) &&
	PAY_KEY=sk_live_OTHER_CANARY_77 test_expect_code 1 \
		docket dispatch "$P" >wrong.out 2>wrong.err &&
	grep "pay.refund: refused HTTP 401" wrong.out &&
	grep "Invalid API Key provided: \[REDACTED\]" wrong.out &&
	docket log --json -n 5 --type dispatch.result >wrong.log &&
	grep "Invalid API Key provided: \[REDACTED\]" wrong.log &&
	ledger_objects >objects2 &&
	! grep -a "sk_live_OTHER_CANARY_77" objects2 wrong.out wrong.err wrong.log
'

test_expect_success 'the canary key is nowhere: ledger objects, stdout, stderr' '
	ledger_objects >objects &&
	! grep -a "$PAY_KEY" objects &&
	! grep "$PAY_KEY" echo.out echo.err wrong.out wrong.err &&
	! grep -a "alice@example.com" objects &&
	! grep -r "$PAY_KEY" out err ex log
'

test_done
