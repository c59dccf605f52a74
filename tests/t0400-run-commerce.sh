#!/bin/sh
# docket run and docket explain over the four example workflows in
# workflows/commerce, against the demo shop (SQLite) and their exec tools.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

S1="--session tenant_id=acme --session principal=alice@example.com --session current_customer_id=CUST-1"
OA="$COMMERCE/order_assistant.yaml"

# check_dot FILE: Graphviz parses it, or without Graphviz, the structure
# holds: one digraph, every edge between declared nodes.
check_dot() {
	if command -v dot >/dev/null 2>&1; then
		dot -Tsvg "$1" >"$1.svg" && grep -q "<svg" "$1.svg"
	else
		python3 - "$1" <<-'PY'
		import re, sys
		t = open(sys.argv[1]).read()
		assert t.startswith("digraph ") and t.rstrip().endswith("}"), t
		assert t.count("{") == t.count("}"), t
		nodes = set(re.findall(r"^\s*(\w+) \[", t, re.M))
		for a, b in re.findall(r"^\s*(\w+) -> (\w+)", t, re.M):
		    assert a in nodes and b in nodes, (a, b)
		PY
	fi
}

test_expect_success 'setup: ledger and demo shop' '
	run_setup
'

test_expect_success 'order assistant: "cancel my order" pauses at the cancellation (exit 20)' '
	run=$(run_json out 20 "$OA" $S1 --session current_cart_id=CART-1 \
		--input order_id=ORD-1001 \
		--input "user_request=Please cancel my order") &&
	echo "$run" >oa.run &&
	jtest out "v[\"status\"] == \"paused\" and v[\"exit_code\"] == 20" &&
	jtest out "v[\"step\"] == \"cancel_order\" and v[\"handle\"] == \"agent-run://\" + v[\"run\"]" &&
	jtest out "len(v[\"pending_proposals\"]) == 1 and v[\"pending_proposals\"][0][\"waiting\"] == \"approval\"" &&
	jtest out "v[\"pending_proposals\"][0][\"handle\"].startswith(\"wrp://p-\")" &&
	run_recs "$run" recs &&
	jtest recs "[r[\"type\"] for r in v] == [\"run.started\", \"run.step\", \"run.step\", \"proposal\", \"run.paused\"]" &&
	jtest recs "v[0][\"body\"][\"workflow\"][\"name\"] == \"commerce.order_assistant_flow\" and len(v[0][\"body\"][\"workflow\"][\"hash\"]) == 64" &&
	jtest recs "v[1][\"body\"][\"output\"][\"row\"][\"status\"] == \"placed\"" &&
	jtest recs "v[2][\"body\"][\"output\"][\"allowed\"] is True and v[2][\"body\"][\"output\"][\"refund_cents\"] == 4999" &&
	jtest recs "len(v[2][\"body\"][\"tool_sha256\"]) == 64" &&
	jtest recs "v[3][\"body\"][\"action\"] == \"shopify.cancel_order\" and v[3][\"body\"][\"requires\"][\"role\"] == \"support_lead\"" &&
	jtest recs "v[3][\"body\"][\"args\"] == {\"order_id\": \"ORD-1001\", \"reason\": \"customer\", \"refund_cents\": 4999}" &&
	ledger_ok
'

test_expect_success 'order assistant: explain shows the status check, the proposal and what is missing' '
	run=$(cat oa.run) &&
	docket explain "agent-run://$run" >ex &&
	grep -q "^agent-run://$run  commerce.order_assistant_flow v1" ex &&
	grep -q "check_order_status .*commerce.check_order_status .*ok" ex &&
	grep -q "propose_cancel_order .*commerce.propose_order_change .*ok" ex &&
	grep -q "cancel_order .*shopify.cancel_order .*proposed" ex &&
	grep -q "gate    rule medium-risk-needs-lead (require)" ex &&
	grep -q "needs   1 support_lead; received 0; still missing" ex &&
	grep -q "^status  paused" ex &&
	grep -q "records hash-checked" ex &&
	grep -q "\"principal\":\"\[redacted\]\"" ex &&
	grep -q "\"email\":\"\[redacted\]\"" ex &&
	! grep -q "alice@example.com" ex
'

test_expect_success 'order assistant: explain --json and --format dot' '
	run=$(cat oa.run) &&
	docket explain --json "$run" >ej &&
	jtest ej "v[\"run\"] == \"$(cat oa.run)\" and v[\"status\"] == \"paused\"" &&
	jtest ej "[(s[\"step\"], s[\"status\"]) for s in v[\"steps\"]] == [(\"check_order_status\", \"ok\"), (\"propose_cancel_order\", \"ok\"), (\"cancel_order\", \"proposed\")]" &&
	jtest ej "all(s[\"evidence\"].startswith(\"evidence://\") for s in v[\"steps\"][:2])" &&
	jtest ej "v[\"steps\"][0][\"bound\"] == {\"current_customer_id\": \"CUST-1\", \"tenant_id\": \"acme\"}" &&
	jtest ej "v[\"proposals\"][0][\"state\"] == \"pending\" and v[\"proposals\"][0][\"approvals\"] == []" &&
	jtest ej "v[\"records\"] == 5 and v[\"records_hash_checked\"] >= 5" &&
	docket explain --format dot "$run" >g.dot &&
	check_dot g.dot &&
	grep -q "check_order_status" g.dot &&
	grep -q "cancel_order" g.dot
'

test_expect_success 'handles: evidence:// shows; all three explain the run' '
	run=$(cat oa.run) &&
	docket explain --json "$run" >ej &&
	ev=$(python3 -c "import json; print(json.load(open(\"ej\"))[\"steps\"][0][\"evidence\"])") &&
	prop=$(python3 -c "import json; print(json.load(open(\"ej\"))[\"proposals\"][0][\"proposal\"])") &&
	docket show --json "$ev" >sh &&
	jtest sh "v[\"record\"][\"type\"] == \"run.step\" and v[\"record\"][\"body\"][\"step\"] == \"check_order_status\"" &&
	docket explain "wrp://$prop" >ep &&
	grep -q "^agent-run://$run " ep &&
	docket explain "$ev" >ee &&
	grep -q "^agent-run://$run " ee
'

test_expect_success 'order assistant: a question that is no cancellation completes' '
	run=$(run_json out 0 "$OA" $S1 --session current_cart_id=CART-1 \
		--input order_id=ORD-1002 --input "user_request=where is it?") &&
	run_recs "$run" recs run.step &&
	jtest recs "[r[\"body\"][\"status\"] for r in v] == [\"ok\", \"skipped\", \"skipped\", \"skipped\"]" &&
	jtest recs "v[1][\"body\"][\"when_value\"] is False" &&
	docket explain "$run" >ex &&
	grep -q "^status  completed" ex &&
	grep -q "propose_cancel_order .*skipped" ex
'

test_expect_success 'order assistant: a shipped order cannot be cancelled, nothing proposed' '
	run=$(run_json out 0 "$OA" $S1 --session current_cart_id=CART-1 \
		--input order_id=ORD-1005 --input "user_request=cancel it") &&
	run_recs "$run" recs &&
	jtest recs "not [r for r in v if r[\"type\"] == \"proposal\"]" &&
	jtest recs "v[2][\"body\"][\"output\"][\"allowed\"] is False" &&
	jtest recs "v[-1][\"type\"] == \"run.finished\" and v[-1][\"body\"][\"status\"] == \"completed\""
'

test_expect_success 'refunds: a small refund is auto-approved and waits for dispatch' '
	run=$(run_json out 20 "$COMMERCE/refunds.yaml" $S1 \
		--input order_id=ORD-1002 --input amount_cents:=1000 \
		--input "message=I want my money back") &&
	jtest out "v[\"pending_proposals\"][0][\"waiting\"] == \"dispatch\"" &&
	run_recs "$run" recs &&
	jtest recs "[r[\"type\"] for r in v] == [\"run.started\", \"run.step\", \"run.step\", \"proposal\", \"proposal.approved\", \"run.paused\"]" &&
	jtest recs "v[4][\"body\"][\"by\"] == \"auto\" and v[3][\"body\"][\"requires\"] is None" &&
	jtest recs "v[0][\"body\"][\"input\"][\"message\"] == \"[redacted]\"" &&
	jtest recs "v[1][\"body\"][\"usage\"][\"input_tokens\"] > 0" &&
	docket explain "$run" >ex &&
	grep -q "refund .*stripe.refund" ex &&
	grep -q "waiting for dispatch" ex
'

test_expect_success 'refunds: over the order total is refused by a deny rule (exit 7)' '
	run=$(run_json out 7 "$COMMERCE/refunds.yaml" $S1 \
		--input order_id=ORD-1002 --input amount_cents:=20000 \
		--input "message=refund please") &&
	jtest out "v[\"status\"] == \"refused\" and v[\"step\"] == \"refund\"" &&
	run_recs "$run" recs run.step &&
	jtest recs "v[-1][\"body\"][\"status\"] == \"refused\" and v[-1][\"body\"][\"rule\"] == \"refund-over-order-total\"" &&
	docket explain "$run" >ex &&
	grep -q "^status  refused" ex
'

test_expect_success 'refunds: above the limit escalates after the first step (exit 21)' '
	run=$(run_json out 21 "$COMMERCE/refunds.yaml" $S1 \
		--input order_id=ORD-1002 --input amount_cents:=60000 \
		--input "message=refund please") &&
	run_recs "$run" recs &&
	jtest recs "[r[\"type\"] for r in v] == [\"run.started\", \"run.step\", \"run.escalated\", \"run.finished\"]" &&
	jtest recs "v[2][\"body\"][\"condition\"] == \"amount-over-limit\" and v[2][\"body\"][\"action\"] == \"zendesk.create_ticket\"" &&
	jtest recs "v[3][\"body\"][\"status\"] == \"escalated\"" &&
	docket explain --json "$run" >ej &&
	jtest ej "v[\"status\"] == \"escalated\""
'

test_expect_success 'returns: an eligible, confirmed return is auto-approved' '
	run=$(run_json out 20 "$COMMERCE/returns.yaml" $S1 \
		--input order_id=ORD-1002 --input confirmed:=true \
		--input reason=damaged) &&
	run_recs "$run" recs &&
	jtest recs "v[2][\"body\"][\"output\"][\"row\"][\"eligible\"] == 1" &&
	jtest recs "[r for r in v if r[\"type\"] == \"proposal\"][0][\"body\"][\"rule\"][\"name\"] == \"eligible-return-auto\"" &&
	jtest out "v[\"pending_proposals\"][0][\"waiting\"] == \"dispatch\""
'

test_expect_success 'returns: outside the window nothing is created; the skip says why' '
	run=$(run_json out 0 "$COMMERCE/returns.yaml" $S1 \
		--input order_id=ORD-1006 --input confirmed:=true) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[1][\"body\"][\"output\"][\"row\"][\"eligible\"] == 0" &&
	jtest recs "v[2][\"body\"][\"status\"] == \"skipped\" and v[2][\"body\"][\"when_value\"] is False" &&
	docket explain "$run" >ex &&
	grep -q "create_return .*skipped" ex
'

test_expect_success 'order handoff: a status question completes with usage counted' '
	run=$(run_json out 0 "$COMMERCE/order_handoff.yaml" $S1 \
		--input order_id=ORD-1001 --input "message=where is my order") &&
	run_recs "$run" recs &&
	jtest recs "v[-1][\"type\"] == \"run.finished\" and v[-1][\"body\"][\"usage\"][\"input_tokens\"] > 200" &&
	jtest recs "v[1][\"body\"][\"output\"][\"intent\"] == \"status\"" &&
	docket explain "$run" >ex &&
	grep -q "^budget  input_tokens [1-9][0-9]*/6000" ex
'

test_expect_success 'order handoff: a cancellation pauses for a lead' '
	run=$(run_json out 20 "$COMMERCE/order_handoff.yaml" $S1 \
		--input order_id=ORD-1001 --input "message=please cancel it") &&
	jtest out "v[\"step\"] == \"cancel_order\"" &&
	docket explain --format dot "$run" >g.dot &&
	check_dot g.dot
'

test_expect_success 'order handoff: an angry legal message escalates (exit 21)' '
	run=$(run_json out 21 "$COMMERCE/order_handoff.yaml" $S1 \
		--input order_id=ORD-1001 \
		--input "message=unacceptable, my lawyer will call") &&
	run_recs "$run" recs run.escalated &&
	jtest recs "v[0][\"body\"][\"condition\"] == \"angry-or-legal\""
'

test_expect_success 'the ledger verifies after all of it' '
	ledger_ok
'

test_done
