#!/bin/sh
# make demo's script, run as CI runs it (no pauses), and its output
# checked: the run pauses, the lead's signed approval, exactly one cancel
# and one mail, the completed timeline, both verifiers, no secret in the
# ledger, and the tampered copy caught.
. "$(dirname "$0")/lib.sh"

test_expect_success 'the demo runs end to end' '
	DEMO_FAST=1 DEMO_DIR="$TRASH/demo" sh "$SRC/tools/demo.sh" >out 2>err ||
		{ cat out err; exit 1; }
'

test_expect_success 'the run paused for a support lead (exit 20)' '
	grep -q "(exit 20)" out &&
	grep -q "waiting for approval" out
'

test_expect_success 'dispatch performed exactly one cancel and one mail' '
	test "$(grep -c "^  order_cancel (Idempotency-Key docket-" out)" = 1 &&
	test "$(grep -c "^  mail (Idempotency-Key docket-" out)" = 1 &&
	test "$(grep -c "\"event\": *\"effect\"" demo/provider.log)" = 2
'

test_expect_success 'explain: the gate, the verified vote, the dispatches, completed' '
	grep -q "gate    rule medium-risk-needs-lead" out &&
	grep -q "approve by lead-ana (support_lead) .*signature verified" out &&
	grep -q "result attempt 1 succeeded" out &&
	grep -q "^status  completed" out &&
	grep -q "records hash-checked against the chain" out
'

test_expect_success 'both verifiers pass, and no secret reached the ledger' '
	test "$(grep -c "^ok: 20 records" out)" = 2 &&
	grep -q "secrets in the ledger.s objects: 0" out
'

test_expect_success 'the tampered copy is caught, naming the record' '
	grep -q "^TAMPERED at record 3" out &&
	grep -q "(exit 10: 10 means tampered" out
'

test_expect_success 'the demo ledger is kept and verifies again' '
	docket verify --ledger demo/ledger -q
'

test_done
