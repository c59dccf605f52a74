#!/bin/sh
# The canonical form and workflow_hash: stable across key order, comments,
# flow or block style and quoting; changed by any change in meaning.
. "$(dirname "$0")/lib.sh"

BASE="$SRC/tests/workflows/base.yaml"

test_expect_success 'setup: the same workflow, reordered and restyled' '
	cat >same.yaml <<-\EOF_
	# Keys in another order, comments everywhere, flow style, other quotes.
	steps:   # the flow
	  - { key: lookup, args: "{order_id: .input.order_id}", capability: shop.lookup }
	  - when: .steps.lookup.found
	    action: "stripe.refund"
	    args: >-
	      {amount_cents: .steps.lookup.row.total_cents}
	    key: refund
	budget: { max_cost_cents: 10 }
	approvals:
	  - { role: support_lead, when: ".args.amount_cents > 1000", name: lead }
	  - decision: "auto"   # everything else
	    name: rest
	actions:
	  stripe.refund:
	    body: "{amount: .args.amount_cents}"
	    headers: { Authorization: "Bearer ${secret:STRIPE_KEY}" }
	    secrets: [ "STRIPE_KEY" ]
	    idempotency_header: "Idempotency-Key"
	    path: "/v1/refunds"
	    method: POST
	capabilities:
	  shop.lookup:
	    returns: row
	    query: "SELECT id, total_cents FROM orders\n WHERE id = :order_id\n   AND customer_id = :session.current_customer_id\n"
	    input:
	      properties: { order_id: { maxLength: 32, type: string } }
	      type: object
	    database: shop
	    kind: sql
	providers: { stripe: { base_url: "https://api.stripe.com" } }
	databases: { shop: { path: shop.db } }
	roles: [ support_lead ]
	session: { require: [tenant_id, current_customer_id] }
	version: 1
	name: test.corpus
	EOF_
	docket lint same.yaml >/dev/null
'

test_expect_success 'reordering, comments and style do not change the hash' '
	docket lint --hash "$BASE" | cut -d" " -f1 >want &&
	docket lint --hash same.yaml | cut -d" " -f1 >got &&
	test_cmp want got &&
	docket lint --json "$BASE" >want.json &&
	docket lint --json same.yaml >got.json &&
	test_cmp want.json got.json
'

test_expect_success 'defaults are written out, so omitting one equals writing it' '
	sed "s/^budget:/evidence: required\ncheckpoint: every_step\nbudget:/" "$BASE" >explicit.yaml &&
	sed -i "s/^  max_cost_cents: 10/  max_cost_cents: 10\n  warn_at: 80\n  degrade_at: 90\n  stop_at: 100/" explicit.yaml &&
	grep -q "warn_at: 80" explicit.yaml &&
	docket lint --hash "$BASE" | cut -d" " -f1 >want &&
	docket lint --hash explicit.yaml | cut -d" " -f1 >got &&
	test_cmp want got &&
	grep -q "\"warn_at\":80" want.json &&
	grep -q "\"max_attempts\":3" want.json
'

test_expect_success 'any change in meaning changes the hash' '
	docket lint --hash "$BASE" | cut -d" " -f1 >h0 &&
	for change in "s/amount_cents > 1000/amount_cents > 1001/" \
		      "s/max_cost_cents: 10/max_cost_cents: 11/" \
		      "s/^version: 1/version: 2/" \
		      "s/maxLength: 32/maxLength: 33/"; do
		sed "$change" "$BASE" >changed.yaml &&
		! cmp -s changed.yaml "$BASE" &&
		docket lint --hash changed.yaml | cut -d" " -f1 >h1 &&
		! cmp -s h0 h1 || { echo "same hash after $change"; exit 1; }
	done
'

test_expect_success 'reordering steps changes the hash (order is meaning)' '
	python3 - "$BASE" >swapped.yaml <<-\EOF_
	import sys
	text = open(sys.argv[1]).read()
	head, steps = text.split("steps:\n")
	a, b = steps.split("  - key: refund\n")
	b = "  - key: refund\n" + b
	b = b.replace("    when: \x27.steps.lookup.found\x27\n", "")
	b = b.replace(".steps.lookup.row.total_cents", "1")
	sys.stdout.write(head + "steps:\n" + b + a)
	EOF_
	docket lint --hash swapped.yaml | cut -d" " -f1 >h1 &&
	docket lint --hash "$BASE" | cut -d" " -f1 >h0 &&
	! cmp -s h0 h1
'

test_done
