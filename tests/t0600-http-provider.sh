#!/bin/sh
# The fake provider (tests/fake-provider.py) behaves like a real one:
# resources with ids, Idempotency-Key as Stripe documents it, one logged
# side effect per resource. Driven through lib/http (http-tool).
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

start_provider P
U=$(provider_url P)
J='Content-Type: application/json'
ht() { http-tool --allow-plain-local "$@"; }

test_expect_success 'a refund is created with an id, one side effect' '
	ht -H "$J" -k r1 -d "{\"amount\":500}" POST $U/v1/refunds >out &&
	grep -q "^status=200$" out &&
	grep -q "^verdict=success$" out &&
	grep -q "^replayed=0$" out &&
	grep -q "\"id\": \"re_" out &&
	test "$(effects P r1)" = 1
'

test_expect_success 'the same key and body replays the saved response' '
	ht -H "$J" -k r1 -d "{\"amount\":500}" POST $U/v1/refunds >out2 &&
	grep -q "^replayed=1$" out2 &&
	grep -q "^Idempotent-Replayed: true" out2 &&
	sed -n "/^body:/,\$p" out >b1 && sed -n "/^body:/,\$p" out2 >b2 &&
	test_cmp b1 b2 &&
	test "$(effects P r1)" = 1
'

test_expect_success 'the same key with another body is an idempotency error' '
	test_expect_code 4 ht --retry 5 --base-ms 10 -H "$J" -k r1 \
		-d "{\"amount\":501}" POST $U/v1/refunds >out 2>err &&
	grep -q "^status=400$" out &&
	grep -q "^verdict=idempotency-error$" out &&
	grep -q "^attempts=1$" out &&
	grep -q "\"type\": \"idempotency_error\"" out &&
	test "$(effects P r1)" = 1
'

test_expect_success 'the same key on another endpoint is an idempotency error' '
	test_expect_code 4 ht -H "$J" -k r1 -d "{\"amount\":500}" \
		POST $U/v1/tickets >out &&
	test "$(effects P r1)" = 1
'

test_expect_success 'requests without a key each perform a side effect' '
	before=$(effects P) &&
	ht -H "$J" -d "{\"amount\":7}" POST $U/v1/refunds >/dev/null &&
	ht -H "$J" -d "{\"amount\":7}" POST $U/v1/refunds >/dev/null &&
	test "$(effects P)" = $((before + 2))
'

test_expect_success 'a validation error is final and not saved under the key' '
	test_expect_code 3 ht --retry 4 --base-ms 10 -H "$J" -k v1 \
		-d "{\"amount\":-1}" POST $U/v1/refunds >out &&
	grep -q "^verdict=provider-refused$" out &&
	grep -q "^attempts=1$" out &&
	test "$(effects P v1)" = 0 &&
	ht -H "$J" -k v1 -d "{\"amount\":1}" POST $U/v1/refunds >out &&
	grep -q "^status=200$" out &&
	test "$(effects P v1)" = 1
'

test_expect_success 'form-encoded bodies work too (as Stripe takes them)' '
	ht -k f1 -d "amount=300&charge=ch_1" POST $U/v1/refunds >out &&
	grep -q "\"charge\": \"ch_1\"" out &&
	test "$(effects P f1)" = 1
'

test_expect_success 'mail send answers 202 with a message id header' '
	ht -H "$J" -k m1 -d "{\"to\":\"a@example.com\"}" \
		--show-header X-Message-Id POST $U/v3/mail/send >out &&
	grep -q "^status=202$" out &&
	grep -q "^header:X-Message-Id=msg_" out &&
	test "$(effects P m1)" = 1
'

test_expect_success 'an order is cancelled once' '
	ht -H "$J" -k c1 -d "{\"reason\":\"customer\"}" \
		POST $U/v1/orders/1001/cancel >out &&
	grep -q "\"id\": \"1001\"" out &&
	ht -H "$J" -k c1 -d "{\"reason\":\"customer\"}" \
		POST $U/v1/orders/1001/cancel >out &&
	grep -q "^replayed=1$" out &&
	test "$(effects P c1)" = 1
'

test_expect_success 'an unknown endpoint is 404, provider-refused' '
	test_expect_code 3 ht POST $U/v1/nothing >out &&
	grep -q "^status=404$" out
'

test_expect_success 'the control endpoint rejects a bad fault rule' '
	provider_ctl P POST /__faults "{\"fault\":\"explode\"}" >out &&
	grep -q "unknown fault" out &&
	provider_ctl P GET /__faults >out &&
	grep -q "\"rules\": \[\]" out
'

test_expect_success 'every request and side effect is logged as JSON lines' '
	python3 -c "
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
eff = [e for e in ev if e[\"event\"] == \"effect\"]
assert len(eff) == len({e[\"id\"] for e in eff}), \"duplicate ids\"
assert all(\"n\" in e for e in ev if e[\"event\"] == \"request\")
" P.log &&
	provider_ctl P GET /__effects >eff &&
	grep -q "\"count\": $(effects P)," eff
'

test_expect_success '--mismatch-status 422 answers a reused key with 422' '
	start_provider Q --mismatch-status 422 &&
	V=$(provider_url Q) &&
	ht -H "$J" -k x -d "{\"amount\":1}" POST $V/v1/refunds >/dev/null &&
	test_expect_code 4 ht -H "$J" -k x -d "{\"amount\":2}" \
		POST $V/v1/refunds >out &&
	grep -q "^status=422$" out &&
	stop_provider Q
'

test_expect_success 'the provider stops by itself after --max-seconds' '
	python3 "$SRC/tests/fake-provider.py" --port-file m.port --log m.log \
		--max-seconds 0.5 &&
	grep -q "\"event\":\"max_seconds\"" m.log &&
	grep -q "\"event\":\"stop\"" m.log
'

test_expect_success 'the provider stops cleanly on SIGTERM and /__shutdown' '
	python3 "$SRC/tests/fake-provider.py" --port-file s.port --log s.log \
		--max-seconds 30 & pid=$! &&
	while [ ! -s s.port ]; do sleep 0.05; done &&
	kill -TERM $pid && wait $pid &&
	grep -q "\"event\":\"stop\"" s.log &&
	provider_ctl P POST /__shutdown >out &&
	grep -q stopping out &&
	wait_log P "\"event\":\"stop\""
'

test_done
