#!/bin/sh
# docket run: values a workflow redacts (session, input, a step's output)
# never reach the ledger's git objects, also when later steps' args carry
# them, whole or inside a longer string. The private state file keeps
# them (mode 0600) for resume; digests let an operator prove them later.
# tests/workflows/run/redact.yaml.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

R="$RUNWF/redact.yaml"
TOKEN=tok-SESSIONSECRET-123
CARD=4111-CARDSECRET-1111
PIN=PIN-OUTPUTSECRET-42

no_secrets() {
	git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch >objects &&
	test -s objects &&
	! grep -a -q -e SESSIONSECRET -e CARDSECRET -e OUTPUTSECRET objects
}

test_expect_success 'setup' '
	run_setup
'

test_expect_success 'a run carrying secrets through later steps pauses at its action' '
	run=$(run_json out 20 "$R" --session tenant_id=acme \
		--session api_token=$TOKEN --input card_number=$CARD \
		--input "note=see card $CARD") &&
	echo "$run" >run
'

test_expect_success 'no secret in any git object of the ledger' '
	no_secrets &&
	grep -a -q "visible" objects
'

test_expect_success 'each place a secret travelled to reads [redacted]' '
	run_recs "$(cat run)" recs &&
	jtest recs "v[0][\"body\"][\"session\"][\"api_token\"] == \"[redacted]\" and v[0][\"body\"][\"input\"][\"card_number\"] == \"[redacted]\"" &&
	jtest recs "v[0][\"body\"][\"input\"][\"note\"] == \"see card [redacted]\"" &&
	jtest recs "v[1][\"body\"][\"output\"] == {\"pin\": \"[redacted]\", \"public\": \"visible\"}" &&
	jtest recs "v[2][\"body\"][\"args\"][\"sentence\"] == \"card [redacted] pin [redacted]\"" &&
	jtest recs "v[2][\"body\"][\"args\"][\"nested\"] == [{\"deep\": \"[redacted]\"}]" &&
	jtest recs "v[2][\"body\"][\"output\"][\"echo\"][\"pin\"] == \"[redacted]\"" &&
	jtest recs "v[3][\"type\"] == \"proposal\" and set(v[3][\"body\"][\"args\"].values()) == {\"[redacted]\"}"
'

test_expect_success 'explain and log show none of them' '
	docket explain "$(cat run)" >ex &&
	docket explain --json "$(cat run)" >>ex &&
	docket log --json >>ex &&
	grep -q "\[redacted\]" ex &&
	! grep -q -e SESSIONSECRET -e CARDSECRET -e OUTPUTSECRET ex
'

test_expect_success 'the private state file holds the full values, mode 0600' '
	f="$DOCKET_LEDGER/docket/runs/$(cat run).json" &&
	test "$(stat -c %a "$f")" = 600 &&
	test "$(stat -c %a "$DOCKET_LEDGER/docket/runs")" = 700 &&
	grep -q "$TOKEN" "$f" && grep -q "$PIN" "$f" &&
	state_json "$(cat run)" st &&
	jtest st "v[\"pending\"] and list(v[\"pending\"].values())[0][\"text\"] == \"$PIN\""
'

test_expect_success 'the digests prove the full values with the salt' '
	state_json "$(cat run)" st &&
	run_recs "$(cat run)" recs &&
	python3 - st <<-PY
	import hashlib, json, sys
	st = json.load(open(sys.argv[1]))
	recs = json.load(open("recs"))
	def d(v):
	    c = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
	    return hashlib.sha256((st["salt"] + c).encode()).hexdigest()
	assert recs[0]["body"]["session_digest"] == d(st["session"])
	assert recs[0]["body"]["input_digest"] == d(st["input"])
	assert recs[1]["body"]["output_digest"] == d(st["steps"]["get_pin"])
	PY
'

test_expect_success 'a failed step carrying a secret redacts it too' '
	cat >"$TRASH/red2.yaml" <<-EOF &&
	name: test.run.redact_fail
	version: 1
	session:
	  require: [tenant_id, api_token]
	redact: [session.api_token]
	capabilities:
	  t.fail:
	    kind: exec
	    description: Fails.
	    argv: [$RUNWF/tools/tool.sh, fail]
	    risk: low
	steps:
	  - key: f
	    capability: t.fail
	    args: "{t: .session.api_token, s: (\"x\" + .session.api_token)}"
	EOF
	run=$(run_json out 23 "$TRASH/red2.yaml" --session tenant_id=acme \
		--session api_token=$TOKEN) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"args\"] == {\"t\": \"[redacted]\", \"s\": \"x[redacted]\"}" &&
	no_secrets
'

test_expect_success 'the ledger verifies' '
	ledger_ok
'

test_done
