#!/bin/sh
# docket run: session binding, and what it refuses before a run starts
# (nothing appended): missing session values, malformed or invalid
# input, a workflow that does not lint.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

S1="--session tenant_id=acme --session principal=alice@example.com --session current_customer_id=CUST-1 --session current_cart_id=CART-1"
OA="$COMMERCE/order_assistant.yaml"

# unchanged: the ledger head is what it was
head_is() { test "$(docket head)" = "$1"; }
no_state() { ! ls "$DOCKET_LEDGER/docket/runs/"*.json 2>/dev/null | grep -q .; }

test_expect_success 'setup' '
	run_setup &&
	docket head >head0
'

test_expect_success 'nothing is run or appended for a missing session value (exit 6)' '
	test_expect_code 6 docket run "$OA" --session tenant_id=acme \
		--session principal=p --session current_cart_id=CART-1 \
		--input order_id=ORD-1001 --input user_request=x 2>err &&
	grep -q "session value .current_customer_id. is required by commerce.order_assistant_flow" err &&
	grep -q "give --session current_customer_id=VALUE" err &&
	head_is "$(cat head0)" && no_state
'

test_expect_success 'an empty session value is missing too' '
	test_expect_code 6 docket run "$OA" $S1 --session current_customer_id= \
		--input order_id=ORD-1001 --input user_request=x 2>err &&
	grep -q "current_customer_id" err &&
	head_is "$(cat head0)"
'

test_expect_success 'a malformed --input-file is refused with file:line:col' '
	printf "{\"order_id\": \"ORD-1001\",\n  \"user_request\": }\n" >bad.json &&
	test_expect_code 6 docket run "$OA" $S1 --input-file bad.json 2>err &&
	grep -q "^docket: run: bad.json:2:[0-9]*: " err &&
	test_expect_code 6 docket run "$OA" $S1 --input-file missing.json 2>err &&
	grep -q "^docket: run: --input-file missing.json: No such file or directory" err &&
	echo "[1, 2]" >arr.json &&
	test_expect_code 6 docket run "$OA" $S1 --input-file arr.json 2>err &&
	grep -q "arr.json: expected a JSON object" err &&
	head_is "$(cat head0)" && no_state
'

test_expect_success 'bad KEY=VALUE and KEY:=JSON pairs are refused' '
	test_expect_code 6 docket run "$OA" $S1 --input "order_id:={" 2>err &&
	grep -q "input order_id: invalid JSON" err &&
	test_expect_code 6 docket run "$OA" $S1 --input "=x" 2>err &&
	grep -q "expected KEY=VALUE or KEY:=JSON" err &&
	head_is "$(cat head0)"
'

test_expect_success 'input failing the input schema is refused (exit 6)' '
	test_expect_code 6 docket run "$OA" $S1 --input order_id=1001 \
		--input user_request=x 2>err &&
	grep -q "input refused by commerce.order_assistant_flow" err &&
	test_expect_code 6 docket run "$OA" $S1 --input order_id=ORD-1001 \
		--input user_request=x --input current_customer_id=CUST-2 2>err &&
	grep -q "current_customer_id" err &&
	head_is "$(cat head0)" && no_state
'

test_expect_success 'KEY=VALUE where a number is wanted: refused with a hint at KEY:=' '
	test_expect_code 6 docket run "$COMMERCE/refunds.yaml" $S1 \
		--input order_id=ORD-1002 --input amount_cents=1000 \
		--input message=x 2>err &&
	grep -q "amount_cents: expected integer, got a string" err &&
	grep -q "^hint: --input amount_cents=... gives a string; --input amount_cents:=JSON" err &&
	head_is "$(cat head0)"
'

test_expect_success 'a workflow that does not lint is refused (exit 6)' '
	test_expect_code 6 docket run "$SRC/tests/workflows/invalid/action-method-invalid.yaml" \
		--session tenant_id=acme 2>err &&
	grep -q "is not a valid workflow" err &&
	head_is "$(cat head0)"
'

test_expect_success "another customer's order: no data, the bound customer in the evidence" '
	run=$(run_json out 0 "$OA" $S1 --input order_id=ORD-1003 \
		--input "user_request=where is my order?") &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"output\"] == {\"found\": False, \"row\": None}" &&
	jtest recs "v[0][\"body\"][\"bound\"] == {\"tenant_id\": \"acme\", \"current_customer_id\": \"CUST-1\"}" &&
	docket explain "$run" >ex &&
	grep -q "\"found\":false" ex &&
	grep -q "bound .*\"current_customer_id\":\"CUST-1\"" ex
'

test_expect_success 'the same order for its own customer is found (so the binding decided)' '
	run=$(run_json out 0 "$OA" --session tenant_id=acme --session principal=b \
		--session current_customer_id=CUST-2 --session current_cart_id=CART-2 \
		--input order_id=ORD-1003 --input "user_request=where is it?") &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"output\"][\"found\"] is True and v[0][\"body\"][\"output\"][\"row\"][\"id\"] == \"ORD-1003\"" &&
	jtest recs "v[0][\"body\"][\"bound\"][\"current_customer_id\"] == \"CUST-2\""
'

test_expect_success 'another tenant: the same customer id reads nothing across tenants' '
	run=$(run_json out 0 "$OA" --session tenant_id=acme --session principal=b \
		--session current_customer_id=CUST-9 --session current_cart_id=CART-1 \
		--input order_id=ORD-9001 --input "user_request=where is it?") &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"output\"][\"found\"] is False"
'

test_expect_success 'args naming another customer change nothing: session binds last' '
	run=$(run_json out 0 "$RUNWF/binding.yaml" --session tenant_id=acme \
		--session current_customer_id=CUST-1 \
		--input order_id=ORD-1003 --input who=CUST-2) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"args\"][\"current_customer_id\"] == \"CUST-2\"" &&
	jtest recs "v[0][\"body\"][\"output\"][\"found\"] is False" &&
	jtest recs "v[0][\"body\"][\"bound\"][\"current_customer_id\"] == \"CUST-1\""
'

test_expect_success 'a redacted session value is redacted in the bound evidence too' '
	cat >red.yaml <<-EOF &&
	name: test.run.binding_red
	version: 1
	session:
	  require: [tenant_id, current_customer_id]
	redact: [session.current_customer_id]
	databases:
	  shop:
	    path: shop.db
	    path_env: DOCKET_SHOP_DB
	capabilities:
	  t.orders:
	    kind: sql
	    description: The session customer orders.
	    database: shop
	    query: SELECT id FROM orders WHERE customer_id = :session.current_customer_id ORDER BY id
	    returns: rows
	    risk: low
	steps:
	  - key: orders
	    capability: t.orders
	EOF
	run=$(run_json out 0 red.yaml --session tenant_id=acme \
		--session current_customer_id=CUST-3) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"bound\"] == {\"current_customer_id\": \"[redacted]\"}" &&
	jtest recs "v[0][\"body\"][\"output\"][\"rows\"] == [{\"id\": \"ORD-1004\"}]" &&
	! git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch | grep -a -q "CUST-3"
'

test_expect_success '--session-file gives session values; --session overrides them' '
	echo "{\"tenant_id\": \"acme\", \"principal\": \"p\", \"current_customer_id\": \"CUST-2\", \"current_cart_id\": \"CART-2\"}" >sess.json &&
	run=$(run_json out 0 "$OA" --session-file sess.json \
		--session current_customer_id=CUST-1 \
		--input order_id=ORD-1001 --input "user_request=status?") &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"bound\"][\"current_customer_id\"] == \"CUST-1\" and v[0][\"body\"][\"output\"][\"found\"]"
'

test_expect_success 'the ledger verifies' '
	ledger_ok
'

test_done
