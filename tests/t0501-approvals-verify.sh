#!/bin/sh
# verify checks every approval and policy update: forged signatures, keys
# not in the policy, under-signed policy updates and approvals added by
# editing the ledger are caught; --trust checks the genesis policy.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-approvals.sh"

# forge COPY PRINCIPAL KEY [DECISION]: copy the ledger to COPY and append
# an approval of $P by PRINCIPAL signed with KEY, with no rule checked.
forge() {
	rm -rf "$1" && cp -r L "$1" &&
	at=$(date -u +%Y-%m-%dT%H:%M:%SZ) &&
	printf "docket approval v1\nledger %s\nproposal %s\nproposal-hash %s\ndecision %s\nprincipal %s\nsigned-at %s\n" \
		"$LID" "$P" "$PH" "${4:-approve}" "$2" "$at" >forged.msg &&
	rm -f forged.msg.sig &&
	ssh-keygen -q -Y sign -f "$3" -n docket-approval@docket forged.msg &&
	jq -n --rawfile m forged.msg --rawfile s forged.msg.sig \
		--arg p "$P" --arg r "$R" --arg h "$PH" --arg w "$2" --arg at "$at" \
		--arg d "${4:-approve}" \
		"{proposal: \$p, run: \$r, decision: \$d, principal: \$w,
		  role: \"support_lead\", proposal_hash: \$h, signed_at: \$at,
		  signature: \$s, message: \$m, reason: null}" >forged.json &&
	ledger-append "$1" approval "$2" "$(cat forged.json)" >/dev/null
}

test_expect_success 'setup: a $250 refund with one approval' '
	setup_approvals &&
	test_expect_code 20 run_refund 25000 >run.json &&
	P=$(jq -r ".pending_proposals[0].id" run.json) &&
	R=$(jq -r .run run.json) &&
	docket approve --yes --key lead1 "$P" >/dev/null &&
	LID=$(docket show --json 0 | jq -r .record.body.ledger_id) &&
	PH=$(docket log --json --type proposal | jq -r ".[0].hash") &&
	echo "$P $R $LID $PH" >vars &&
	docket verify -q
'
read P R LID PH <vars 2>/dev/null

test_expect_success 'a correctly signed approval appended raw still verifies' '
	forge OK lead2 lead2 &&
	docket verify -q --ledger OK
'

test_expect_success 'an approval signed with another principal'"'"'s key fails verify' '
	forge F1 lead2 lead1 &&
	test_expect_code 10 docket verify --ledger F1 >out &&
	grep -q "approval signature: key mismatch" out
'

test_expect_success 'an approval signed with a key not in the policy fails verify' '
	ssh-keygen -q -t ed25519 -N "" -C stranger -f stranger &&
	forge F2 lead2 stranger &&
	test_expect_code 10 docket verify --ledger F2 >out &&
	grep -q "key mismatch" out
'

test_expect_success 'a forged (altered) signature fails verify' '
	rm -rf F3 && cp -r L F3 &&
	docket log --json --type approval | jq ".[0].body" >a.json &&
	jq ".principal = \"lead2\"" a.json >b.json &&
	ledger-append F3 approval lead2 "$(cat b.json)" >/dev/null &&
	test_expect_code 10 docket verify --ledger F3 >out &&
	grep -q "signed message does not match" out
'

test_expect_success 'a ledger edited to add an approval by the proposer fails' '
	forge F4 agent agent &&
	test_expect_code 10 docket verify --ledger F4 >out &&
	grep -q "breaks the rules" out
'

test_expect_success 'a proposal.approved without enough approvals fails verify' '
	rm -rf F5 && cp -r L F5 &&
	A=$(docket log --json --type approval | jq -r ".[0].hash") &&
	ledger-append F5 proposal.approved docket \
		"{\"proposal\": \"$P\", \"run\": \"$R\", \"by\": \"approvals\",
		  \"approvals\": [\"$A\"], \"rule\": \"large-refund-two-leads\"}" >/dev/null &&
	test_expect_code 10 docket verify --ledger F5 >out &&
	grep -q "rule requires 2" out
'

test_expect_success 'policy update: under-signed is refused, nothing appended' '
	make_key admin2 &&
	jq ".version = 2 | .admins_required = 2 |
	    .principals += [{name: \"admin2\", roles: [\"admin\"],
	                     key: \"$(cat admin2.pub)\"}]" policy.json >p2.json &&
	docket policy update --key admin p2.json >out &&
	grep -q "version 2" out &&
	jq ".version = 3" p2.json >p3.json &&
	docket head >before &&
	test_expect_code 7 docket policy update --key admin p3.json 2>err &&
	grep -q "signed by 1 admin; policy version 2 requires 2" err &&
	test_expect_code 7 docket policy update --key lead1 p3.json 2>err &&
	grep -q "lead1.* is not an admin of policy version 2" err &&
	docket head >after && test_cmp before after &&
	docket policy sign --key admin2 p3.json >admin2.sig &&
	docket policy update --key admin --signature admin2.sig p3.json &&
	docket policy show --json | jq -e ".policy.version == 3" &&
	test_expect_code 7 docket policy update --key admin --key admin2 p2.json 2>err &&
	grep -q "does not move forward" err &&
	docket verify -q
'

test_expect_success 'an under-signed policy update slipped in fails verify' '
	rm -rf F6 && cp -r L F6 &&
	jq ".version = 4" p3.json >p4.json &&
	docket policy sign --key admin p4.json >one.sig &&
	docket log --json --type policy.update | jq ".[0].body" >pu.json &&
	jq --rawfile s one.sig --slurpfile p p4.json \
		".policy = \$p[0] | .version = 4 |
		 .signatures = [{principal: \"admin\", signature: \$s}]" pu.json >bad.json &&
	ledger-append F6 policy.update admin "$(cat bad.json)" >/dev/null &&
	test_expect_code 10 docket verify --ledger F6 >out &&
	grep -q "policy update" out
'

test_expect_success 'verify --trust checks the genesis policy' '
	for k in admin lead1 lead2 agent; do echo "$k $(cat $k.pub)"; done >trust &&
	docket verify --trust trust >out && grep -q "^ok" out &&
	grep -v lead2 trust >trust2 &&
	test_expect_code 10 docket verify --trust trust2 >out &&
	grep -q "key for .lead2. .* is not trusted" out
'

test_expect_success 'after policy updates, approvals check against the policy in force' '
	docket approve --yes --key lead2 --json "$P" >ap.json &&
	jq -e ".state == \"approved\"" ap.json &&
	docket verify -q
'

test_expect_success 'verify: only approved proposals are dispatched, and once' '
	test_expect_code 20 run_refund 5000 >run2.json &&
	P2=$(jq -r ".pending_proposals[0].id" run2.json) &&
	rm -rf D1 && cp -r L D1 &&
	ledger-append D1 dispatch.intent docket "{\"proposal\": \"$P2\", \"run\": \"x\"}" >/dev/null &&
	test_expect_code 10 docket verify --ledger D1 >out &&
	grep -q "not approved before it" out &&
	rm -rf D2 && cp -r L D2 &&
	ledger-append D2 dispatch.intent docket "{\"proposal\": \"$P\", \"run\": \"$R\"}" >/dev/null &&
	ledger-append D2 dispatch.result docket "{\"proposal\": \"$P\", \"run\": \"$R\", \"outcome\": \"succeeded\"}" >/dev/null &&
	docket verify -q --ledger D2 &&
	ledger-append D2 dispatch.intent docket "{\"proposal\": \"$P\", \"run\": \"$R\"}" >/dev/null &&
	test_expect_code 10 docket verify --ledger D2 >out &&
	grep -q "double dispatch" out
'

test_done
