#!/bin/sh
# docket run: usage reported by capabilities counts against the budget;
# crossing 80% (warn), 90% (degrade) and 100% (stop) is recorded once
# each, and reaching the limit stops the run before its next step (exit
# 22). tests/workflows/run/budget.yaml: five steps, limit 1000 input
# tokens, step uN reports .input.tokens[N-1].
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

B="$RUNWF/budget.yaml"

test_expect_success 'setup' '
	run_setup
'

test_expect_success 'under 80%: no budget record, completed' '
	run=$(run_json out 0 "$B" --session tenant_id=acme \
		--input "tokens:=[100, 100, 100, 100, 100]") &&
	run_recs "$run" recs run.budget &&
	jtest recs "v == []" &&
	run_recs "$run" recs run.finished &&
	jtest recs "v[0][\"body\"][\"usage\"][\"input_tokens\"] == 500"
'

test_expect_success '80%, 90%, 100% crossed one by one: stopped before u5 (exit 22)' '
	run=$(run_json out 22 "$B" --session tenant_id=acme \
		--input "tokens:=[500, 300, 100, 100, 7]") &&
	jtest out "v[\"status\"] == \"budget_stopped\" and v[\"exit_code\"] == 22 and v[\"step\"] == \"u4\"" &&
	jtest out "\"stopped before u5\" in v[\"reason\"]" &&
	run_recs "$run" recs &&
	jtest recs "[(r[\"type\"], r[\"body\"].get(\"step\") or r[\"body\"].get(\"level\")) for r in v] == [(\"run.started\", None), (\"run.step\", \"u1\"), (\"run.step\", \"u2\"), (\"run.budget\", \"warn\"), (\"run.step\", \"u3\"), (\"run.budget\", \"degrade\"), (\"run.step\", \"u4\"), (\"run.budget\", \"stop\"), (\"run.finished\", \"u4\")]" &&
	jtest recs "[(r[\"body\"][\"pct\"], r[\"body\"][\"threshold_pct\"], r[\"body\"][\"after_step\"]) for r in v if r[\"type\"] == \"run.budget\"] == [(80, 80, \"u2\"), (90, 90, \"u3\"), (100, 100, \"u4\")]" &&
	jtest recs "v[3][\"body\"][\"limits\"][\"input_tokens\"] == 1000 and v[3][\"body\"][\"usage\"][\"input_tokens\"] == 800" &&
	jtest recs "v[-1][\"body\"][\"status\"] == \"budget_stopped\" and v[-1][\"body\"][\"usage\"][\"input_tokens\"] == 1000" &&
	jtest recs "v[2][\"body\"][\"usage\"] == {\"input_tokens\": 300, \"output_tokens\": 1}" &&
	docket explain "$run" >ex &&
	grep -q "^budget  warn at 80% after u2" ex &&
	grep -q "^budget  stop at 100% after u4" ex &&
	grep -q "input_tokens 1000/1000" ex &&
	grep -q "^status  budget_stopped" ex &&
	! grep -q "^  u5 " ex
'

test_expect_success 'one step crossing all three thresholds records all three, then stops' '
	run=$(run_json out 22 "$B" --session tenant_id=acme \
		--input "tokens:=[10, 2000, 1, 1, 1]") &&
	run_recs "$run" recs run.budget &&
	jtest recs "[(r[\"body\"][\"level\"], r[\"body\"][\"after_step\"], r[\"body\"][\"pct\"]) for r in v] == [(\"warn\", \"u2\", 201), (\"degrade\", \"u2\", 201), (\"stop\", \"u2\", 201)]" &&
	run_recs "$run" recs run.step &&
	jtest recs "len(v) == 2"
'

test_expect_success 'reaching 100% at the last step: recorded, the run completes' '
	run=$(run_json out 0 "$B" --session tenant_id=acme \
		--input "tokens:=[0, 0, 0, 0, 1000]") &&
	run_recs "$run" recs run.budget &&
	jtest recs "[r[\"body\"][\"level\"] for r in v] == [\"warn\", \"degrade\", \"stop\"]"
'

test_expect_success 'a budget-stopped run cannot be resumed' '
	run=$(run_json out 22 "$B" --session tenant_id=acme \
		--input "tokens:=[1000, 0, 0, 0, 0]") &&
	test_must_fail docket run --resume "$run" 2>err &&
	grep -q "already finished (budget_stopped)" err
'

test_expect_success 'cost in cents counts too (order_handoff: 5 cents, 1 per classify)' '
	cat >cost.yaml <<-EOF &&
	name: test.run.cost
	version: 1
	session:
	  require: [tenant_id]
	capabilities:
	  t.classify:
	    kind: exec
	    description: The demo classifier, 1 cent a call.
	    argv: [$COMMERCE/tools/classify.py]
	    risk: low
	budget:
	  max_cost_cents: 2
	steps:
	  - key: c1
	    capability: t.classify
	    args: "{message: \"hi\"}"
	  - key: c2
	    capability: t.classify
	    args: "{message: \"hi\"}"
	  - key: c3
	    capability: t.classify
	    args: "{message: \"hi\"}"
	EOF
	run=$(run_json out 22 cost.yaml --session tenant_id=acme) &&
	run_recs "$run" recs run.budget &&
	jtest recs "[(r[\"body\"][\"level\"], r[\"body\"][\"after_step\"]) for r in v] == [(\"warn\", \"c2\"), (\"degrade\", \"c2\"), (\"stop\", \"c2\")]" &&
	jtest recs "v[0][\"body\"][\"usage\"][\"cost_cents\"] == 2"
'

test_expect_success 'the ledger verifies' '
	ledger_ok
'

test_done
