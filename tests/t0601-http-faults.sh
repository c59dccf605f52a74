#!/bin/sh
# lib/http classifies each fault the provider can inject (one attempt each,
# no retries): what is retryable, what is final, and what was performed.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

start_provider P
U=$(provider_url P)
J='Content-Type: application/json'
ht() { http-tool --allow-plain-local "$@"; }
refund() { ht -H "$J" -d '{"amount":100}' "$@" POST "$U/v1/refunds"; }

test_expect_success 'success: 2xx is success' '
	refund -k ok1 >out &&
	grep -q "^verdict=success$" out
'

test_expect_success 'connection refused: retryable, nothing reached the provider' '
	start_provider DEAD &&
	D=$(provider_url DEAD) &&
	stop_provider DEAD &&
	test_expect_code 5 ht -H "$J" -k cr1 -d "{\"amount\":1}" \
		POST $D/v1/refunds >out 2>err &&
	grep -q "^status=0$" out &&
	grep -q "^neterr=connect$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "Couldn.t connect" err
'

test_expect_success 'connection reset before processing: retryable, no effect' '
	provider_fault P "{\"fault\":\"reset\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k rs1 >out 2>err &&
	grep -q "^neterr=network$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "reset" err &&
	test "$(effects P rs1)" = 0
'

test_expect_success 'processed but the response dropped: retryable, one effect' '
	provider_fault P "{\"fault\":\"drop\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k dr1 >out &&
	grep -q "^neterr=network$" out &&
	grep -q "^verdict=retry$" out &&
	test "$(effects P dr1)" = 1
'

test_expect_success 'a reply after the client timeout: timeout, retryable' '
	provider_fault P "{\"fault\":\"delay\",\"seconds\":1.5,\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k to1 --timeout 300 >out 2>err &&
	grep -q "^neterr=timeout$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "timed out" err &&
	wait_log P "\"key\":\"to1\",\"kind\":\"refund\""
'

test_expect_success '500: retryable, nothing performed' '
	provider_fault P "{\"fault\":\"500\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k s500 >out &&
	grep -q "^status=500$" out &&
	grep -q "^verdict=retry$" out &&
	test "$(effects P s500)" = 0
'

test_expect_success '503: retryable' '
	provider_fault P "{\"fault\":\"status\",\"status\":503,\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k s503 >out &&
	grep -q "^status=503$" out &&
	grep -q "^verdict=retry$" out
'

test_expect_success '429 with Retry-After: retryable, Retry-After read' '
	provider_fault P "{\"fault\":\"429\",\"retry_after\":7,\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k s429 >out &&
	grep -q "^status=429$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "^retry-after-ms=7000$" out
'

test_expect_success '400: final, provider refused' '
	provider_fault P "{\"fault\":\"400\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 3 refund -k s400 >out &&
	grep -q "^status=400$" out &&
	grep -q "^verdict=provider-refused$" out &&
	test "$(effects P s400)" = 0
'

test_expect_success '401: final, provider refused' '
	provider_fault P "{\"fault\":\"status\",\"status\":401,\"path\":\"/v1/refunds\"}" &&
	test_expect_code 3 refund -k s401 >out &&
	grep -q "^verdict=provider-refused$" out
'

test_expect_success '409 while the key is in flight: retryable' '
	provider_fault P "{\"fault\":\"delay\",\"seconds\":2,\"path\":\"/v1/refunds\"}" &&
	{ refund -k if1 >first & } &&
	wait_log P "\"event\":\"begin\",\"key\":\"if1\"" &&
	test_expect_code 5 refund -k if1 >out &&
	grep -q "^status=409$" out &&
	grep -q "^verdict=retry$" out &&
	grep -q "idempotency_key_in_use" out &&
	wait_log P "\"key\":\"if1\",\"kind\":\"refund\"" &&
	test "$(effects P if1)" = 1
'

test_expect_success 'a redirect is not followed and is a failure' '
	before=$(grep -c "\"path\":\"/v1/refunds\"" P.log) &&
	test_expect_code 6 ht -H "$J" -k rd1 -d "{\"amount\":1}" \
		POST $U/redirect >out &&
	grep -q "^status=302$" out &&
	grep -q "^verdict=failed$" out &&
	grep -q "^Location: /v1/refunds" out &&
	test "$(grep -c "\"path\":\"/v1/refunds\"" P.log)" = "$before" &&
	test "$(effects P rd1)" = 0
'

test_expect_success 'a response over the cap is refused (Content-Length)' '
	test_expect_code 6 ht --max-body 1000 GET "$U/v1/large?bytes=5000" \
		>out 2>err &&
	grep -q "^neterr=too-large$" out &&
	grep -q "larger than 1000 bytes" err &&
	! grep -q xxxx out
'

test_expect_success 'a response over the cap is refused (chunked)' '
	test_expect_code 6 ht --max-body 1000 \
		GET "$U/v1/large?bytes=5000&chunked=1" >out 2>err &&
	grep -q "^neterr=too-large$" out &&
	! grep -q xxxx out
'

test_expect_success 'a response at the cap is accepted whole' '
	ht --max-body 5000 GET "$U/v1/large?bytes=5000&chunked=1" >out &&
	test "$(sed -n "/^body:/,\$p" out | tail -n 1 | tr -d "\n" | wc -c)" = 5000
'

test_expect_success 'the default cap (1 MiB) applies without --max-body' '
	test_expect_code 6 ht GET "$U/v1/large?bytes=1048577" >out &&
	grep -q "^neterr=too-large$" out &&
	ht GET "$U/v1/large?bytes=1048576" >out &&
	grep -q "^verdict=success$" out
'

test_expect_success 'Retry-After as an HTTP date is read too' '
	provider_fault P "{\"fault\":\"429\",\"retry_after\":\"Thu, 01 Jan 1970 00:00:00 GMT\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k s429d >out &&
	grep -q "^retry-after-ms=0$" out &&
	provider_fault P "{\"fault\":\"429\",\"retry_after\":\"Fri, 01 Jan 2100 00:00:00 GMT\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 refund -k s429e >out &&
	grep -q "^retry-after-ms=86400000$" out
'

test_expect_success 'faults can be given on the command line (--fault)' '
	start_provider F --fault 500:/v1/refunds:1,3 --fault drop:/v1/refunds:2 &&
	V=$(provider_url F) &&
	test_expect_code 5 ht -H "$J" -k f1 -d "{\"amount\":1}" POST $V/v1/refunds >out &&
	grep -q "^status=500$" out &&
	test_expect_code 5 ht -H "$J" -k f1 -d "{\"amount\":1}" POST $V/v1/refunds >out &&
	grep -q "^neterr=network$" out &&
	test_expect_code 5 ht -H "$J" -k f1 -d "{\"amount\":1}" POST $V/v1/refunds >out &&
	grep -q "^status=500$" out &&
	ht -H "$J" -k f1 -d "{\"amount\":1}" POST $V/v1/refunds >out &&
	grep -q "^replayed=1$" out &&
	test "$(effects F f1)" = 1 &&
	stop_provider F
'

test_done
