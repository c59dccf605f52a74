#!/bin/sh
# docket run --resume after a crash: the exec tool of step k+1 SIGKILLs
# docket-run (tests/workflows/run/tools/tool.sh, marker file kill-at),
# for every k; --resume completes the run, no step runs twice (each step
# appends its number to $RUN_DIR/effects), the ledger verifies.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/workflows/run/lib.sh"

CHAIN="$RUNWF/chain.yaml"

# the id of the newest run.started
last_run() {
	docket log --json --type run.started -n 1 |
	python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"body\"][\"run\"])"
}

test_expect_success 'setup' '
	run_setup
'

test_expect_success 'without a crash: five steps, five side effects' '
	rm -f effects &&
	run=$(run_json out 0 "$CHAIN" --session tenant_id=acme) &&
	printf "1\n2\n3\n4\n5\n" >want &&
	test_cmp want effects
'

for k in 0 1 2 3 4; do
	test_expect_success "SIGKILL after step $k, then --resume completes the run" '
		rm -f effects &&
		echo $(('$k' + 1)) >kill-at &&
		docket run "$CHAIN" --session tenant_id=acme >out 2>&1
		test $? = 137 &&
		test ! -f kill-at &&
		run=$(last_run) &&
		run_recs "$run" recs &&
		jtest recs "[r[\"type\"] for r in v].count(\"run.step\") == '$k'" &&
		jtest recs "v[-1][\"type\"] in (\"run.started\", \"run.step\", \"run.budget\")" &&
		test_expect_code 0 docket run --resume "$run" --json >res &&
		jtest res "v[\"status\"] == \"completed\" and v[\"steps_recorded\"] == 5" &&
		printf "1\n2\n3\n4\n5\n" >want &&
		test_cmp want effects &&
		run_recs "$run" recs &&
		jtest recs "[r[\"body\"][\"step\"] for r in v if r[\"type\"] == \"run.step\"] == [\"s1\", \"s2\", \"s3\", \"s4\", \"s5\"]" &&
		jtest recs "[r[\"body\"][\"output\"][\"n\"] for r in v if r[\"type\"] == \"run.step\"] == [1, 2, 3, 4, 5]" &&
		jtest recs "[r[\"body\"][\"from_index\"] for r in v if r[\"type\"] == \"run.resumed\"] == ['$k']" &&
		jtest recs "[r[\"body\"][\"level\"] for r in v if r[\"type\"] == \"run.budget\"] == [\"warn\"]" &&
		jtest recs "v[-1][\"type\"] == \"run.finished\" and v[-1][\"body\"][\"usage\"][\"input_tokens\"] == 850" &&
		ledger_ok
	'
done

test_expect_success 'explain shows the resumption and a completed run' '
	run=$(last_run) &&
	docket explain "$run" >ex &&
	grep -q "resumed" ex &&
	grep -q "^status  completed" ex &&
	grep -q "input_tokens 850/1000" ex
'

test_expect_success '--resume of a finished run is refused, nothing appended' '
	run=$(last_run) &&
	docket head >h0 &&
	test_must_fail docket run --resume "agent-run://$run" 2>err &&
	grep -q "already finished (completed)" err &&
	docket head >h1 && test_cmp h0 h1
'

test_expect_success '--resume of a paused run is refused' '
	run=$(run_json out 20 "$RUNWF/faults.yaml" --session tenant_id=acme \
		--session current_customer_id=CUST-1 --input mode=approve) &&
	test_must_fail docket run --resume "$run" 2>err &&
	grep -q "is paused for approval of wrp://p-" err
'

test_expect_success '--resume of an unknown run is refused' '
	test_must_fail docket run --resume run-0000000000000000 2>err &&
	grep -q "no run run-0000000000000000" err
'

test_expect_success '--resume with a changed workflow is refused; the original resumes' '
	mkdir wf && cp "$CHAIN" wf/ && cp -r "$RUNWF/tools" wf/ &&
	rm -f effects && echo 3 >kill-at &&
	docket run wf/chain.yaml --session tenant_id=acme >out 2>&1
	test $? = 137 &&
	run=$(last_run) &&
	cp wf/chain.yaml chain.orig &&
	sed -i "s/tokens: 50/tokens: 60/" wf/chain.yaml &&
	docket head >h0 &&
	test_must_fail docket run --resume "$run" 2>err &&
	grep -q "started with workflow .*resume with the definition that ran" err &&
	docket head >h1 && test_cmp h0 h1 &&
	cp chain.orig wf/chain.yaml &&
	docket run --resume "$run" wf/chain.yaml >out &&
	printf "1\n2\n3\n4\n5\n" >want && test_cmp want effects
'

test_expect_success 'a run started from a relative path resumes from another directory' '
	rm -f effects && echo 4 >kill-at &&
	docket run wf/chain.yaml --session tenant_id=acme >out 2>&1
	test $? = 137 &&
	run=$(last_run) &&
	mkdir -p elsewhere &&
	(cd elsewhere && docket run --resume "$run" >../out) &&
	printf "1\n2\n3\n4\n5\n" >want && test_cmp want effects
'

test_expect_success 'the private state file is 0600 and holds what resume needs' '
	run=$(last_run) &&
	f="$DOCKET_LEDGER/docket/runs/$run.json" &&
	test "$(stat -c %a "$f")" = 600 &&
	state_json "$run" st &&
	jtest st "set([\"run\", \"salt\", \"session\", \"input\", \"steps\", \"workflow_hash\"]) <= set(v)" &&
	jtest st "[v[\"steps\"][k][\"n\"] for k in (\"s1\", \"s2\", \"s3\", \"s4\", \"s5\")] == [1, 2, 3, 4, 5]" &&
	head -n 1 "$f" >first && jtest first "\"salt\" in v and v[\"steps\"] == {}" &&
	tail -n 1 "$f" >last && jtest last "\"salt\" not in v and list(v[\"steps\"]) == [\"s5\"]"
'

test_expect_success 'a state line cut short by a crash is ignored; that step runs again' '
	rm -f effects && echo 4 >kill-at &&
	docket run "$CHAIN" --session tenant_id=acme >out 2>&1
	test $? = 137 &&
	run=$(last_run) &&
	printf "{\"steps\":{\"s4\":{\"n\":99" >>"$DOCKET_LEDGER/docket/runs/$run.json" &&
	docket run --resume "$run" >out &&
	printf "1\n2\n3\n4\n5\n" >want && test_cmp want effects &&
	run_recs "$run" recs run.step &&
	jtest recs "[r[\"body\"][\"output\"][\"n\"] for r in v] == [1, 2, 3, 4, 5]"
'

test_expect_success 'a state file written whole, without the journal, still resumes' '
	rm -f effects && echo 3 >kill-at &&
	docket run "$CHAIN" --session tenant_id=acme >out 2>&1
	test $? = 137 &&
	run=$(last_run) &&
	state_json "$run" st &&
	printf "%s" "$(cat st)" >"$DOCKET_LEDGER/docket/runs/$run.json" &&
	docket run --resume "$run" >out &&
	printf "1\n2\n3\n4\n5\n" >want && test_cmp want effects &&
	state_json "$run" st && jtest st "v[\"steps\"][\"s5\"][\"n\"] == 5"
'

test_expect_success 'resume without the state file is refused with a reason' '
	rm -f effects && echo 2 >kill-at &&
	docket run "$CHAIN" --session tenant_id=acme >out 2>&1
	test $? = 137 &&
	run=$(last_run) &&
	mv "$DOCKET_LEDGER/docket/runs/$run.json" saved.json &&
	test_must_fail docket run --resume "$run" 2>err &&
	grep -q "private state .* is missing or unreadable" err &&
	mv saved.json "$DOCKET_LEDGER/docket/runs/$run.json" &&
	docket run --resume "$run" >out &&
	printf "1\n2\n3\n4\n5\n" >want && test_cmp want effects &&
	ledger_ok
'

test_expect_success '--resume takes no --session or --input' '
	run=$(last_run) &&
	test_expect_code 2 docket run --resume "$run" --input x=y 2>err &&
	grep -q "give no --session or --input" err
'

test_expect_success '--resume of a run another process is running is refused (exit 5)' '
	cat >wait.yaml <<-EOF &&
	name: test.run.wait
	version: 1
	session:
	  require: [tenant_id]
	capabilities:
	  t.wait:
	    kind: exec
	    description: Waits for the file go.
	    argv: [$RUNWF/tools/tool.sh, wait]
	    env: [RUN_DIR]
	    timeout_ms: 40000
	    risk: low
	steps:
	  - key: w
	    capability: t.wait
	EOF
	rm -f effects go &&
	{ docket run wait.yaml --session tenant_id=acme >bg.out 2>&1; echo $? >bg.rc; } &
	i=0 &&
	while ! grep -q wait effects 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done &&
	run=$(last_run) &&
	test_expect_code 5 docket run --resume "$run" 2>err &&
	grep -q "run $run is being run by another process" err &&
	touch go && wait &&
	test "$(cat bg.rc)" = 0 &&
	test "$(cat effects)" = wait &&
	run_recs "$run" recs run.step && jtest recs "len(v) == 1" &&
	ledger_ok
'

test_done
