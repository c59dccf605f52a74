#!/bin/sh
# docket dispatch under each provider fault: exactly one side effect per
# approved proposal, the ledger verifies, and a later --ready finishes the
# work without a second side effect.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

dispatch_setup || exit 1

# fault_case NAME RULE_JSON: a new run, the fault installed, one dispatch.
fault_case() {
	P=$(new_run "ORD-$1" 1500) || return 1
	echo "$P" >"p.$1"
	provider_ctl pay DELETE /__faults >/dev/null &&
	provider_fault pay "$2" &&
	docket dispatch "$P" >"out.$1" 2>"err.$1"
	echo $? >"rc.$1"
	provider_ctl pay DELETE /__faults >/dev/null
}

# once NAME: one refund side effect for the case, the ledger verifies,
# --ready afterwards sends nothing new for it.
once() {
	K=$(key_of "$(cat "p.$1")") &&
	test "$(effects pay "$K")" = 1 &&
	docket verify >/dev/null &&
	docket dispatch --ready >/dev/null &&
	test "$(effects pay "$K")" = 1
}

result() {
	docket log --json -n 1000000 --type dispatch.result |
		jq -r --arg p "$(cat "p.$1")" ".[] | select(.body.proposal == \$p) | .body.$2" |
		head -n 1
}

test_expect_success 'reset before processing: retried, one refund' '
	fault_case reset "{\"fault\":\"reset\",\"path\":\"/v1/refunds\",\"nth\":[1]}" &&
	test "$(cat rc.reset)" = 0 && once reset &&
	test "$(result reset attempts)" = 2
'

test_expect_success 'processed but the response dropped: the retry gets the saved response' '
	fault_case drop "{\"fault\":\"drop\",\"path\":\"/v1/refunds\",\"nth\":[1]}" &&
	test "$(cat rc.drop)" = 0 && once drop &&
	test "$(result drop replayed)" = true
'

test_expect_success 'a reply after the client timeout: 409 while in flight, then the replay' '
	fault_case slow "{\"fault\":\"delay\",\"path\":\"/v1/refunds\",\"nth\":[1],\"seconds\":3}" &&
	test "$(cat rc.slow)" = 0 && once slow &&
	test "$(result slow attempts)" -ge 2
'

test_expect_success '500 twice, then success' '
	fault_case five "{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"times\":2}" &&
	test "$(cat rc.five)" = 0 && once five &&
	test "$(result five attempts)" = 3
'

test_expect_success '429 with Retry-After is honoured, then success' '
	fault_case rate "{\"fault\":\"status\",\"status\":429,\"retry_after\":1,\"path\":\"/v1/refunds\",\"nth\":[1]}" &&
	test "$(cat rc.rate)" = 0 && once rate &&
	test "$(result rate attempts)" = 2 &&
	test "$(result rate duration_ms)" -ge 900
'

test_expect_success 'connection refused for a second: retried until it listens' '
	P=$(new_run ORD-refused 1500) && echo "$P" >p.refused &&
	provider_ctl pay POST /__refuse "{\"seconds\": 1}" >/dev/null &&
	docket dispatch "$P" >out.refused &&
	once refused
'

test_expect_success '400: recorded as refused, not retried, the run fails, never resent' '
	fault_case bad "{\"fault\":\"400\",\"path\":\"/v1/refunds\",\"nth\":[1]}" &&
	test "$(cat rc.bad)" = 1 &&
	grep "pay.refund: refused HTTP 400" out.bad &&
	K=$(key_of "$(cat p.bad)") &&
	test "$(requests pay "$K")" = 1 &&
	test "$(effects pay "$K")" = 0 &&
	test "$(result bad outcome)" = refused &&
	docket dispatch --ready >/dev/null &&
	test "$(requests pay "$K")" = 1 &&
	docket explain --json "$(last_run)" | jq -e ".status == \"failed\""
'

test_expect_success 'still failing after every attempt: retryable, the run stays paused; --ready later sends the same key once' '
	fault_case down "{\"fault\":\"503\",\"path\":\"/v1/refunds\",\"times\":50}" ;
	test "$(cat rc.down)" = 1 &&
	test "$(result down outcome)" = retryable &&
	K=$(key_of "$(cat p.down)") &&
	test "$(effects pay "$K")" = 0 &&
	docket explain --json "$(last_run)" | jq -e ".status == \"paused\"" &&
	docket dispatch --ready >out &&
	grep "pay.refund: succeeded" out &&
	test "$(effects pay "$K")" = 1 &&
	docket log --json -n 1000000 --type dispatch.intent |
		jq -e --arg p "$(cat p.down)" "[.[] | select(.body.proposal == \$p) |
			.body.idempotency_key] | length == 2 and .[0] == .[1]" &&
	once down
'

test_expect_success 'same key, other body at the provider: idempotency error recorded, escalated, never a new key' '
	P=$(new_run ORD-idem 1500) && echo "$P" >p.idem &&
	K=$(key_of "$P") &&
	curl -sS --noproxy "*" -H "Authorization: Bearer $PAY_KEY" \
		-H "Idempotency-Key: $K" -d amount=7 \
		"$DOCKET_PAY_URL/v1/refunds" >/dev/null &&
	test_expect_code 1 docket dispatch "$P" >out &&
	grep "idempotency_error" out &&
	test "$(result idem outcome)" = idempotency_error &&
	docket explain --json "$(last_run)" | jq -e ".status == \"escalated\"" &&
	docket dispatch --ready >/dev/null &&
	test "$(requests pay "$K")" = 2 &&
	docket log --json -n 1000000 --type dispatch.intent |
		jq -e --arg p "$P" "[.[] | select(.body.proposal == \$p)] | length == 1"
'

test_expect_success 'every run reached its end; the ledger and git agree' '
	docket verify >/dev/null &&
	git -C L fsck --strict 2>/dev/null &&
	ledger_objects >objects && ! grep -a "$PAY_KEY" objects &&
	! cat out.* err.* | grep "$PAY_KEY"
'

test_done
