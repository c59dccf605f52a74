#!/bin/sh
# The escalation action of a run (run.escalated {action, args}) is
# dispatched too: `--ready` turns it into a proposal approved by the
# escalation, with its full arguments evaluated again from the run's
# private state, and sends it once.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

DISPATCH_WF=escalate
dispatch_setup || exit 1

test_expect_success 'a large refund escalates with a ticket action' '
	test_expect_code 21 docket run --json wf.yaml --session tenant_id=t1 \
		--input order_id=ORD-big --input amount_cents:=90000 \
		--input email=bob@example.com >run.json &&
	jq -r .run run.json >r &&
	docket log --json -n 100 --type run.escalated |
		jq -e ".[0].body.action == \"pay.ticket\" and .[0].body.args.email == \"[redacted]\""
'

test_expect_success '--dry-run --ready proposes and sends nothing' '
	docket head --json >before &&
	docket dispatch --dry-run --ready >out &&
	docket head --json >after &&
	test_cmp before after &&
	test "$(requests pay)" = 0
'

test_expect_success '--ready proposes the escalation action and sends it once, with the full arguments' '
	docket dispatch --ready >out &&
	grep "pay.ticket: succeeded HTTP 201" out &&
	test "$(effects pay)" = 1 &&
	grep "\"event\":\"effect\"" pay.log | grep "bob@example.com" &&
	grep "\"event\":\"effect\"" pay.log | grep "escalated: amount-over-limit" &&
	docket log --json -n 100 --type proposal |
		jq -e ".[0].body.step == \"escalate\" and .[0].body.escalation == \"amount-over-limit\"
		       and .[0].body.args.email == \"[redacted]\"" &&
	docket log --json -n 100 --type proposal.approved |
		jq -e ".[0].body.by == \"escalation\""
'

test_expect_success 'it is not proposed or sent again' '
	docket dispatch --ready >out &&
	grep "nothing to dispatch" out &&
	test "$(effects pay)" = 1 &&
	test "$(docket log --json -n 100 --type proposal | jq length)" = 1
'

test_expect_success 'explain shows the escalation proposal and its dispatch; the email never reaches the ledger' '
	docket explain "$(cat r)" >ex &&
	grep "escalate .*pay.ticket .*proposed" ex &&
	grep "result attempt 1 succeeded" ex &&
	ledger_objects >objects &&
	! grep -a "bob@example.com" objects &&
	! grep -a "$PAY_KEY" objects &&
	docket verify >/dev/null
'

test_done
