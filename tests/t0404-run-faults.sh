#!/bin/sh
# docket run: a tool that misbehaves is a failed step (exit 23) with a
# clear error, recorded; escalation (exit 21); a denied action (exit 7).
# tests/workflows/run/faults.yaml: step "first", then the step the input's
# mode selects.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

F="$RUNWF/faults.yaml"
S="--session tenant_id=acme --session current_customer_id=CUST-1"

# fault MODE CODE: run in MODE, wanting exit CODE; the last run.step in
# "step", the run.finished in "fin".
fault() {
	run=$(run_json out "$2" "$F" $S --input mode="$1") &&
	echo "$run" >run &&
	run_recs "$run" recs run.step &&
	python3 -c "import json; json.dump(json.load(open(\"recs\"))[-1], open(\"step\", \"w\"))" &&
	run_recs "$run" fin run.finished
}

test_expect_success 'setup' '
	run_setup
'

test_expect_success 'mode none: every fault step skipped, completed' '
	fault none 0 &&
	jtest recs "[r[\"body\"][\"status\"] for r in v] == [\"ok\"] + [\"skipped\"] * 8"
'

test_expect_success 'a tool printing invalid JSON: failed step, exit 23' '
	fault badjson 23 &&
	jtest step "v[\"body\"][\"step\"] == \"badjson\" and v[\"body\"][\"status\"] == \"failed\"" &&
	jtest step "v[\"body\"][\"error\"].startswith(\"tool printed invalid JSON\") and \"line 1\" in v[\"body\"][\"error\"]" &&
	jtest fin "v[0][\"body\"][\"status\"] == \"failed\" and v[0][\"body\"][\"step\"] == \"badjson\"" &&
	jtest out "v[\"status\"] == \"failed\" and v[\"exit_code\"] == 23"
'

test_expect_success 'a tool hanging past its timeout is killed with its group: failed step' '
	fault hang 23 &&
	jtest step "v[\"body\"][\"error\"] == \"tool ran past its timeout of 300 ms and was killed\"" &&
	! pgrep -f "sleep 60" -s 0 >/dev/null
'

test_expect_success 'a tool printing 100 MB is cut off at the cap: failed step' '
	fault big 23 &&
	jtest step "v[\"body\"][\"error\"] == \"tool printed more than 1048576 bytes and was killed\"" &&
	test $(git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch-check | awk "{ if (\$3 > m) m = \$3 } END { print m }") -lt 100000
'

test_expect_success 'output under the tool cap but over the record size: failed step' '
	cat >fat.yaml <<-EOF &&
	name: test.run.fat
	version: 1
	session:
	  require: [tenant_id]
	capabilities:
	  t.fat:
	    kind: exec
	    description: Prints 5 MB of valid JSON.
	    argv: [$RUNWF/tools/tool.sh, fat]
	    max_output_bytes: 8000000
	    risk: low
	steps:
	  - key: fat
	    capability: t.fat
	EOF
	run=$(run_json out 23 fat.yaml --session tenant_id=acme) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"status\"] == \"failed\" and \"too large for the ledger\" in v[0][\"body\"][\"error\"]" &&
	jtest recs "\"output\" not in v[0][\"body\"]" &&
	run_recs "$run" fin run.finished &&
	jtest fin "v[0][\"body\"][\"status\"] == \"failed\""
'

test_expect_success 'a tool exiting non-zero: failed step with its stderr' '
	fault fail 23 &&
	jtest step "v[\"body\"][\"error\"] == \"tool exited with status 3\"" &&
	jtest step "\"something broke\" in v[\"body\"][\"stderr\"] and v[\"body\"][\"exit_status\"] == 3" &&
	jtest step "len(v[\"body\"][\"tool_sha256\"]) == 64 and \"duration_ms\" in v[\"body\"]" &&
	docket explain "$run" >ex &&
	grep -q "stderr  \"tool.sh: something broke" ex
'

test_expect_success 'args failing the capability input schema: failed step, tool not run' '
	fault badargs 23 &&
	jtest step "v[\"body\"][\"error\"].startswith(\"arguments refused by t.echo\") and \"expected integer\" in v[\"body\"][\"error\"]" &&
	jtest step "v[\"body\"][\"args\"] == {\"n\": \"not a number\"} and \"output\" not in v[\"body\"]"
'

test_expect_success 'output failing the output schema: failed step' '
	fault contract 23 &&
	jtest step "\"output refused by the contract of t.contract\" in v[\"body\"][\"error\"]" &&
	jtest step "v[\"body\"][\"output\"] == {\"echo\": {}}"
'

test_expect_success 'a failed ensure assertion: failed step with its message' '
	fault ensure 23 &&
	jtest step "v[\"body\"][\"error\"] == \"ensure failed: n must be one\""
'

test_expect_success 'explain shows the failed step and its error' '
	docket explain "$(cat run)" >ex &&
	grep -q "ensure .*t.ensure .*failed" ex &&
	grep -q "error   ensure failed: n must be one" ex &&
	grep -q "^status  failed" ex
'

test_expect_success 'a failed run cannot be resumed' '
	test_must_fail docket run --resume "$(cat run)" 2>err &&
	grep -q "already finished (failed)" err
'

test_expect_success 'an escalate condition ends the run as escalated (exit 21)' '
	fault escalate 21 &&
	run_recs "$run" esc run.escalated &&
	jtest esc "v[0][\"body\"][\"condition\"] == \"asked-to-escalate\" and v[0][\"body\"][\"after_step\"] == \"first\"" &&
	jtest esc "v[0][\"body\"][\"action\"] == \"shop.ticket\" and v[0][\"body\"][\"args\"] == {\"reason\": \"escalated: asked-to-escalate\"}" &&
	jtest fin "v[0][\"body\"][\"status\"] == \"escalated\"" &&
	jtest recs "len(v) == 1"
'

test_expect_success 'a denied action is refused by its rule (exit 7)' '
	fault deny 7 &&
	jtest step "v[\"body\"][\"status\"] == \"refused\" and v[\"body\"][\"rule\"] == \"no-touching-in-deny-mode\"" &&
	jtest step "\"this mode is never allowed\" in v[\"body\"][\"error\"]" &&
	jtest fin "v[0][\"body\"][\"status\"] == \"refused\"" &&
	run_recs "$run" p proposal && jtest p "v == []"
'

test_expect_success 'an action needing approval pauses (exit 20) with a pending proposal' '
	fault approve 20 &&
	jtest out "v[\"pending_proposals\"][0][\"waiting\"] == \"approval\"" &&
	run_recs "$run" p proposal &&
	jtest p "v[0][\"body\"][\"requires\"] == {\"role\": \"support_lead\", \"count\": 1, \"allow_proposer\": False}"
'

test_expect_success 'human output: the status, the reason and the explain hint' '
	test_expect_code 23 docket run "$F" $S --input mode=badjson >human &&
	grep -q "^agent-run://run-[0-9a-f]* failed (2 steps recorded)" human &&
	grep -q "^  badjson: tool printed invalid JSON" human &&
	grep -q "^  docket explain agent-run://run-" human
'

test_expect_success 'the ledger verifies' '
	ledger_ok
'

test_done
