#!/bin/sh
# The retry loop of lib/http: the same Idempotency-Key and a byte-identical
# body on every attempt, so each fault ends in exactly one side effect.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

start_provider P
U=$(provider_url P)
J='Content-Type: application/json'
B='{"amount":2500,"charge":"ch_42"}'
R="--retry 6 --base-ms 50 --cap-ms 400"
refund() { http-tool --allow-plain-local -H "$J" -d "$B" $R "$@" POST "$U/v1/refunds"; }

# All attempts for KEY carried the same body, byte for byte.
same_body() {
	test "$(grep '"event":"request"' P.log | grep "\"key\":\"$1\"" |
		sed 's/.*"body_sha256":"\([0-9a-f]*\)".*/\1/' | sort -u | wc -l)" = 1
}

test_expect_success 'response dropped, then replayed: one side effect' '
	provider_fault P "{\"fault\":\"drop\",\"path\":\"/v1/refunds\"}" &&
	refund -k k-drop >out 2>err &&
	grep -q "^verdict=success$" out &&
	grep -q "^attempts=2$" out &&
	grep -q "^replayed=1$" out &&
	grep -q "^attempt 1: status 0 verdict retry neterr network" err &&
	test "$(effects P k-drop)" = 1 &&
	test "$(requests P k-drop)" = 2 &&
	same_body k-drop
'

test_expect_success '500, 500, then success: one side effect' '
	provider_fault P "{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"times\":2}" &&
	refund -k k-500 >out 2>err &&
	grep -q "^verdict=success$" out &&
	grep -q "^attempts=3$" out &&
	grep -q "^replayed=0$" out &&
	test "$(grep -c "status 500 verdict retry" err)" = 2 &&
	test "$(effects P k-500)" = 1 &&
	test "$(requests P k-500)" = 3 &&
	same_body k-500
'

test_expect_success '429 with Retry-After: waits at least that long, one effect' '
	provider_fault P "{\"fault\":\"429\",\"retry_after\":1,\"path\":\"/v1/refunds\"}" &&
	refund -k k-429 >out 2>err &&
	grep -q "^verdict=success$" out &&
	grep -q "^attempts=2$" out &&
	wait=$(sed -n "s/^attempt 1: status 429.* wait \([0-9]*\) ms$/\1/p" err) &&
	test "$wait" -ge 1000 &&
	test "$(effects P k-429)" = 1 &&
	same_body k-429
'

test_expect_success '409 in flight: the second sender waits, gets the replay' '
	provider_fault P "{\"fault\":\"delay\",\"seconds\":1.5,\"path\":\"/v1/refunds\"}" &&
	{ refund -k k-409 >first 2>first.err & } &&
	wait_log P "\"event\":\"begin\",\"key\":\"k-409\"" &&
	http-tool --allow-plain-local -H "$J" -d "$B" --retry 20 \
		--base-ms 200 --cap-ms 400 -k k-409 POST $U/v1/refunds \
		>out 2>err &&
	grep -q "^attempt 1: status 409 verdict retry" err &&
	grep -q "^verdict=success$" out &&
	grep -q "^replayed=1$" out &&
	wait_log P "\"key\":\"k-409\",\"kind\":\"refund\"" &&
	until grep -q "^verdict=" first; do sleep 0.1; done &&
	grep -q "^verdict=success$" first &&
	test "$(effects P k-409)" = 1 &&
	same_body k-409
'

test_expect_success 'a reply past the timeout: retried until replayed, one effect' '
	provider_fault P "{\"fault\":\"delay\",\"seconds\":1,\"path\":\"/v1/refunds\"}" &&
	http-tool --allow-plain-local -H "$J" -d "$B" --timeout 400 \
		--retry 20 --base-ms 200 --cap-ms 400 -k k-slow \
		POST $U/v1/refunds >out 2>err &&
	grep -q "^attempt 1: status 0 verdict retry neterr timeout" err &&
	grep -q "^verdict=success$" out &&
	grep -q "^replayed=1$" out &&
	test "$(effects P k-slow)" = 1 &&
	same_body k-slow
'

test_expect_success 'reset before processing, then success: one effect' '
	provider_fault P "{\"fault\":\"reset\",\"path\":\"/v1/refunds\"}" &&
	refund -k k-reset >out 2>err &&
	grep -q "^attempts=2$" out &&
	grep -q "^replayed=0$" out &&
	test "$(effects P k-reset)" = 1
'

test_expect_success 'connection refused, then listening again: one effect' '
	provider_ctl P POST /__refuse "{\"seconds\":1.5}" >/dev/null &&
	wait_log P "\"event\":\"not_listening\"" &&
	http-tool --allow-plain-local -H "$J" -d "$B" --retry 30 \
		--base-ms 100 --cap-ms 300 -k k-refused POST $U/v1/refunds \
		>out 2>err &&
	grep -q "^attempt 1: status 0 verdict retry neterr connect" err &&
	grep -q "^verdict=success$" out &&
	test "$(effects P k-refused)" = 1 &&
	test "$(requests P k-refused)" = 1
'

test_expect_success 'nth rules: the 1st and 3rd attempt fail, the 2nd is dropped' '
	provider_fault P "{\"rules\":[{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"nth\":[1,3]},{\"fault\":\"drop\",\"path\":\"/v1/refunds\",\"nth\":[2]}]}" &&
	refund -k k-mix >out 2>err &&
	grep -q "^attempts=4$" out &&
	grep -q "^replayed=1$" out &&
	test "$(effects P k-mix)" = 1 &&
	same_body k-mix &&
	provider_ctl P DELETE /__faults >/dev/null
'

test_expect_success 'attempts are bounded: gives up after --retry, no effect' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"503\",\"path\":\"/v1/refunds\",\"times\":50}" &&
	test_expect_code 5 refund -k k-exhaust >out 2>err &&
	grep -q "^attempts=6$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "gave up after 6 attempts" err &&
	test "$(effects P k-exhaust)" = 0 &&
	provider_ctl P DELETE /__faults >/dev/null
'

test_expect_success 'a Retry-After past the deadline gives up at once' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"429\",\"retry_after\":30,\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k k-late --deadline-ms 3000 >out 2>err &&
	grep -q "^attempts=1$" out &&
	! grep -q " wait " err
'

test_expect_success 'the total deadline bounds timeouts and waits' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"delay\",\"seconds\":2,\"path\":\"/v1/refunds\",\"times\":1}" &&
	test_expect_code 5 http-tool --allow-plain-local -H "$J" -d "$B" \
		--timeout 5000 --deadline-ms 600 --retry 9 -k k-deadline \
		POST $U/v1/refunds >out 2>err &&
	grep -q "^neterr=timeout$" out &&
	wait_log P "\"key\":\"k-deadline\",\"kind\":\"refund\""
'

test_expect_success 'no retry on 400, 404 or an idempotency error' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"400\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 3 refund -k k-400 >out &&
	grep -q "^attempts=1$" out &&
	test_expect_code 3 http-tool --allow-plain-local $R POST $U/v1/nope >out &&
	grep -q "^attempts=1$" out &&
	refund -k k-idem >/dev/null &&
	test_expect_code 4 http-tool --allow-plain-local -H "$J" $R -k k-idem \
		-d "{\"amount\":1}" POST $U/v1/refunds >out &&
	grep -q "^attempts=1$" out &&
	test "$(effects P k-idem)" = 1
'

test_expect_success 'a kept-alive connection (--reuse): still one side effect' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"rules\":[{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"nth\":[1]},{\"fault\":\"drop\",\"path\":\"/v1/refunds\",\"nth\":[2]}]}" &&
	refund --reuse -k k-reuse >out 2>err &&
	grep -q "^verdict=success$" out &&
	grep -q "^replayed=1$" out &&
	test "$(effects P k-reuse)" = 1 &&
	same_body k-reuse
'

test_expect_success 'a provider that starts late (--refuse-for): one effect' '
	start_provider LATE --refuse-for 1.5 &&
	http-tool --allow-plain-local -H "$J" -d "$B" --retry 30 \
		--base-ms 100 --cap-ms 300 -k k-late-start \
		POST "$(provider_url LATE)/v1/refunds" >out 2>err &&
	grep -q "^attempt 1: status 0 verdict retry neterr connect" err &&
	grep -q "^verdict=success$" out &&
	test "$(effects LATE k-late-start)" = 1 &&
	stop_provider LATE
'

test_done
