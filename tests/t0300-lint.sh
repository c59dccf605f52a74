#!/bin/sh
# docket lint: the example workflows, output modes, operands, exit codes.
. "$(dirname "$0")/lib.sh"

EX="$SRC/workflows/commerce"

for w in order_assistant refunds returns order_handoff; do
	test_expect_success "example $w lints clean" "
		docket lint \"$EX/$w.yaml\" >out 2>err &&
		test ! -s err &&
		grep -q '^$EX/$w.yaml: ok (commerce\\.' out
	"
done

test_expect_success 'a directory is searched recursively for *.yaml and *.yml' '
	mkdir -p d/sub d/.hidden &&
	cp "$EX/refunds.yaml" d/a.yaml &&
	cp "$EX/returns.yaml" d/sub/b.yml &&
	cp "$EX/returns.yaml" d/sub/notes.txt &&
	echo "nmae: x" >d/.hidden/c.yaml &&
	docket lint --hash d >out &&
	test $(wc -l <out) = 2 &&
	grep -q "  d/a.yaml$" out &&
	grep -q "  d/sub/b.yml$" out
'

test_expect_success 'the whole workflows/ folder lints clean' '
	docket lint -q "$SRC/workflows" >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success '--json prints the canonical form: compact, sorted, one line' '
	docket lint --json "$EX/order_assistant.yaml" >out &&
	test $(wc -l <out) = 1 &&
	python3 -c "
import json, sys
text = open(\"out\").read().rstrip(\"\\n\")
v = json.loads(text)
assert text == json.dumps(v, sort_keys=True, separators=(\",\", \":\"), ensure_ascii=True), \"not canonical\"
assert v[\"name\"] == \"commerce.order_assistant_flow\"
assert v[\"session\"][\"require\"] == [\"tenant_id\", \"principal\", \"current_customer_id\", \"current_cart_id\"]
assert v[\"budget\"][\"max_input_tokens\"] == 8000 and v[\"budget\"][\"max_output_tokens\"] == 1500
assert sorted(v[\"actions\"]) == [\"sendgrid.send_confirmation_email\", \"shopify.cancel_order\", \"shopify.create_order\"]
assert v[\"approvals\"][0][\"role\"] == \"support_lead\"
"
'

test_expect_success '--hash is the SHA-256 of the --json text' '
	docket lint --json "$EX/refunds.yaml" | tr -d "\n" | sha256sum | cut -d" " -f1 >want &&
	docket lint --hash "$EX/refunds.yaml" | cut -d" " -f1 >got &&
	test_cmp want got
'

test_expect_success 'several files: all are checked, exit 6 if any is invalid' '
	printf "name: x.y\nversion: 1\nsteps: []\n" >bad.yaml &&
	test_expect_code 6 docket lint "$EX/refunds.yaml" bad.yaml "$EX/returns.yaml" >out 2>err &&
	test $(grep -c ": ok (" out) = 2 &&
	grep -q "^bad.yaml:3:8: expected at least one step$" err
'

test_expect_success 'a missing file is reported and fails with 6' '
	test_expect_code 6 docket lint nope.yaml 2>err &&
	grep -q "^docket: lint: nope.yaml: No such file or directory$" err
'

test_expect_success 'no operand is a usage error' '
	test_expect_code 2 docket lint 2>err &&
	grep -q "^usage: docket lint" err
'

test_expect_success 'lint needs no ledger and runs anywhere' '
	DOCKET_LEDGER=/nonexistent docket lint "$EX/returns.yaml" >/dev/null
'

test_expect_success 'docket-lint loads neither libgit2 nor libcurl' '
	readelf -d "$DOCKET_BUILD/libexec/docket/docket-lint" >dyn &&
	grep -q NEEDED dyn &&
	! grep -E "NEEDED.*(libgit2|libcurl)" dyn
'

test_expect_success 'the demo shop builds and the examples query it' '
	sqlite3 shop.db <"$EX/shop.sql" &&
	test "$(sqlite3 shop.db "select count(*) from orders where tenant_id = \"acme\"")" = 7 &&
	test "$(sqlite3 shop.db "select status from orders where id = \"ORD-1001\"")" = placed
'

test_expect_success 'the exec tools read JSON on stdin and write JSON' '
	echo "{\"order\":{\"id\":\"ORD-1\",\"status\":\"shipped\",\"total_cents\":5},\"change\":\"cancel_order\"}" |
		"$EX/tools/order_change.py" >out &&
	python3 -c "import json; v = json.load(open(\"out\")); assert v[\"allowed\"] is False, v" &&
	echo "{\"order\":{\"id\":\"ORD-1\",\"status\":\"placed\",\"total_cents\":5},\"change\":\"change_price\"}" |
		"$EX/tools/order_change.py" >out &&
	python3 -c "import json; v = json.load(open(\"out\")); assert v[\"allowed\"] is False, v" &&
	echo "{\"message\":\"I will call my lawyer, cancel it!!\"}" | "$EX/tools/classify.py" >out &&
	python3 -c "
import json; v = json.load(open(\"out\"))
assert v[\"intent\"] == \"cancel\" and v[\"legal\"] and v[\"angry\"], v
assert v[\"usage\"][\"input_tokens\"] > 0" &&
	echo "not json" | test_expect_code 2 "$EX/tools/classify.py" 2>err &&
	grep -q "invalid JSON" err
'

test_expect_success 'every key of the language is accepted, defaults filled in' '
	docket lint --json "$SRC/tests/workflows/all-keys.yaml" >out &&
	python3 -c "
import json
v = json.load(open(\"out\"))
c = v[\"capabilities\"]
assert c[\"t.rows\"][\"max_rows\"] == 10 and c[\"t.rows\"][\"returns\"] == \"rows\"
assert c[\"t.rows\"][\"ensure\"][0] == {\"check\": \".output.count <= 10\", \"message\": \".output.count <= 10\"}
assert c[\"t.tool\"][\"argv\"] == [\"tools/x.py\", \"--strict\"] and c[\"t.tool\"][\"env\"] == [\"LANG\", \"TZ\"]
assert c[\"t.stock\"][\"max_response_bytes\"] == 4096
a = v[\"actions\"]
assert a[\"pay.refund\"][\"breaker\"] == {\"failures\": 3, \"window_s\": 300, \"open_s\": 120}
assert a[\"pay.refund\"][\"encoding\"] == \"form\" and a[\"pay.refund\"][\"fallback\"] == \"desk.ticket\"
assert a[\"desk.lookup\"][\"retry\"] == {\"max_attempts\": 3, \"base_ms\": 200, \"max_ms\": 5000}
assert a[\"desk.lookup\"][\"risk\"] == \"medium\" and \"idempotency_header\" not in a[\"desk.lookup\"]
assert v[\"approvals\"][1][\"expires_s\"] == 28800 and v[\"approvals\"][1][\"count\"] == 2
assert v[\"approvals\"][2] == {\"name\": \"rest\", \"decision\": \"auto\"}
assert v[\"input\"][\"properties\"][\"kind\"][\"enum\"] == [\"a\", 1, True, None]
assert v[\"input\"][\"properties\"][\"ratio\"][\"minimum\"] == 0.5
assert v[\"budget\"][\"warn_at\"] == 70 and v[\"evidence\"] == \"required\"
assert v[\"providers\"][\"desk\"][\"local_hosts\"] == [\"127.0.0.1\"]
assert v[\"databases\"][\"shop\"][\"writable\"] is True
assert v[\"session\"][\"optional\"] == [\"conversation_id\"]
"
'

test_done
