#!/bin/sh
# docket run: http capabilities (a read-only GET to the workflow's
# provider) against the fake provider: output recorded, an error status
# is a failed step, a secret header never reaches the ledger.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/workflows/run/lib.sh"

start_provider P

test_expect_success 'setup: ledger and workflow' '
	run_setup &&
	cat >h.yaml <<-EOF
	name: test.run.http
	version: 1
	session:
	  require: [tenant_id]
	input:
	  type: object
	  properties:
	    path: { type: string }
	providers:
	  p:
	    base_url: https://provider.invalid
	    base_url_env: P_URL
	    local_hosts: [127.0.0.1]
	capabilities:
	  t.ping:
	    kind: http
	    description: Ping.
	    provider: p
	    path: /v1/ping
	    risk: low
	  t.echo:
	    kind: http
	    description: Echoes the request, headers included.
	    provider: p
	    path: /v1/echo
	    headers:
	      Authorization: Bearer \${secret:API_KEY}
	    secrets: [API_KEY]
	    risk: low
	  t.get:
	    kind: http
	    description: Any path.
	    provider: p
	    path: "/{path}"
	    input:
	      type: object
	      required: [path]
	      properties:
	        path: { type: string }
	    risk: low
	steps:
	  - key: ping
	    capability: t.ping
	  - key: echo
	    capability: t.echo
	  - key: get
	    capability: t.get
	    when: ".input.path != null"
	    args: "{path: .input.path}"
	EOF
'

test_expect_success 'GETs are recorded with their output; the secret is not' '
	export P_URL=$(provider_url P) API_KEY=sk_test_HTTPSECRET77 &&
	run=$(run_json out 0 h.yaml --session tenant_id=acme) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"output\"] == {\"ok\": True} and v[0][\"body\"][\"kind\"] == \"http\"" &&
	jtest recs "v[1][\"body\"][\"output\"][\"headers\"][\"Authorization\"] != \"Bearer sk_test_HTTPSECRET77\"" &&
	test "$(requests P)" -ge 2 &&
	! git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch | grep -a -q HTTPSECRET &&
	! grep -q HTTPSECRET "$DOCKET_LEDGER/docket/runs/$run.json"
'

test_expect_success 'an error status is a failed step (exit 23)' '
	export P_URL=$(provider_url P) API_KEY=k &&
	run=$(run_json out 23 h.yaml --session tenant_id=acme --input path=v1/nothing) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[-1][\"body\"][\"step\"] == \"get\" and v[-1][\"body\"][\"error\"] == \"GET /{path}: HTTP status 404\""
'

test_expect_success 'a provider that is down is a failed step' '
	export P_URL=http://127.0.0.1:9 API_KEY=k &&
	run=$(run_json out 23 h.yaml --session tenant_id=acme) &&
	run_recs "$run" recs run.step &&
	jtest recs "v[0][\"body\"][\"status\"] == \"failed\" and v[0][\"body\"][\"error\"].startswith(\"GET /v1/ping: \")"
'

test_expect_success 'plain http to a host not in local_hosts is refused' '
	export P_URL=http://example.invalid API_KEY=k &&
	run=$(run_json out 23 h.yaml --session tenant_id=acme) &&
	run_recs "$run" recs run.step &&
	jtest recs "\"plain http to example.invalid is refused\" in v[0][\"body\"][\"error\"]"
'

test_expect_success 'the ledger verifies' '
	ledger_ok
'

test_done
