#!/bin/sh
# docket propose, approve and status: tiered approvals signed with real
# SSH keys, refusals with reasons, deny, expiry with the test clock.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-approvals.sh"

pending_id() { jq -r '.pending_proposals[0].id' "$1"; }

test_expect_success 'setup: 4 principals, ledger, shop' '
	setup_approvals
'

test_expect_success 'a medium-risk cancellation is approved by one support lead' '
	test_expect_code 20 docket run --json "$TRASH/wf/order_assistant.yaml" \
		--session tenant_id=acme --session principal=svc \
		--session current_customer_id=CUST-1 --session current_cart_id=CART-1 \
		--input order_id=ORD-1001 --input "user_request=please cancel" >run.json &&
	P=$(pending_id run.json) &&
	docket status --json >st.json &&
	jq -e --arg p "$P" ".pending[] | select(.proposal == \$p) |
		.requires.role == \"support_lead\" and .requires.count == 1 and
		.received == 0 and .proposer == \"agent\"" st.json &&
	docket approve --yes --key lead1 --json "$P" >ap.json &&
	jq -e ".state == \"approved\" and .received == 1 and .required == 1" ap.json &&
	docket log --json -n 1 >last.json &&
	jq -e ".[0].type == \"proposal.approved\" and .[0].body.by == \"approvals\"
		and (.[0].body.approvals | length) == 1" last.json &&
	docket status --json >st.json &&
	jq -e --arg p "$P" "[.awaiting_dispatch[] | select(.proposal == \$p)] | length == 1" st.json &&
	jq -e --arg p "$P" ".paused_runs[] | select(.proposal == \$p) | .waiting == \"dispatch\"" st.json
'

test_expect_success '$250 refund: one lead leaves it pending' '
	test_expect_code 20 run_refund 25000 >run.json &&
	pending_id run.json >P250 &&
	docket approve --yes --key lead1 --json "$(cat P250)" >ap.json &&
	jq -e ".state == \"pending\" and .received == 1 and .required == 2" ap.json &&
	docket status >st.txt &&
	grep "$(cat P250)" st.txt | grep -q "1/2 support_lead"
'

test_expect_success 'the same lead twice is refused, nothing appended' '
	docket head >before &&
	test_expect_code 7 docket approve --yes --key lead1 "$(cat P250)" 2>err &&
	grep -q "lead1.* already voted" err &&
	docket head >after && test_cmp before after
'

test_expect_success 'the proposer is refused (even with the role)' '
	docket head >before &&
	test_expect_code 7 docket approve --yes --key agent "$(cat P250)" 2>err &&
	grep -q "lacks the role" err &&
	sed "s/\"agent\"\\]/\"agent\", \"support_lead\"]/" policy.json >p2.json &&
	docket init --policy p2.json L2 >/dev/null &&
	(export DOCKET_LEDGER=L2 &&
	 test_expect_code 20 run_refund 25000 >run2.json &&
	 test_expect_code 7 docket approve --yes --key agent \
		"$(pending_id run2.json)" 2>err2) &&
	grep -q "agent.* proposed .* may not approve" err2 &&
	docket head >after && test_cmp before after
'

test_expect_success 'a key that is not the principal'"'"'s is refused' '
	ssh-keygen -q -t ed25519 -N "" -C stranger -f stranger &&
	test_expect_code 7 docket approve --yes --key stranger --as lead2 \
		"$(cat P250)" 2>err &&
	grep -q "key mismatch" err &&
	test_expect_code 7 docket approve --yes --key stranger "$(cat P250)" 2>err &&
	grep -q "not in the policy" err
'

test_expect_success 'a second distinct lead approves it' '
	docket approve --yes --key lead2 --reason "checked" --json \
		"$(cat P250)" >ap.json &&
	jq -e ".state == \"approved\" and .received == 2" ap.json &&
	test_expect_code 7 docket approve --yes --key lead2 "$(cat P250)" 2>err &&
	grep -q "already approved" err
'

test_expect_success 'a deny rejects the proposal' '
	test_expect_code 20 run_refund 5000 >run.json &&
	P=$(pending_id run.json) &&
	docket approve --yes --deny --key lead2 --reason "duplicate" --json \
		"$P" >ap.json &&
	echo "$P" >PDENIED &&
	jq -e ".state == \"rejected\"" ap.json &&
	docket log --json -n 1 >last.json &&
	jq -e ".[0].type == \"proposal.rejected\" and .[0].body.by == \"lead2\"
		and .[0].body.reason == \"duplicate\"" last.json &&
	test_expect_code 7 docket approve --yes --key lead1 "$P" 2>err &&
	grep -q "already rejected" err
'

test_expect_success 'expiry with the test clock: recorded when touched' '
	test_expect_code 20 run_refund 6000 >run.json &&
	P=$(pending_id run.json) &&
	export DOCKET_TEST_NOW=$(( $(date +%s) + 9 * 3600 )) &&
	docket status --json >st.json &&
	jq -e --arg p "$P" ".pending[] | select(.proposal == \$p) | .expired" st.json &&
	test_expect_code 7 docket approve --yes --key lead1 "$P" 2>err &&
	grep -q "already expired" err &&
	docket log --json -n 1 >last.json &&
	jq -e ".[0].type == \"proposal.expired\"" last.json &&
	unset DOCKET_TEST_NOW
'

test_expect_success 'docket propose: same code path, rules, contract, allow-list' '
	R=$(jq -r .run run.json) &&
	docket propose --json "$R" stripe.refund --reason "goodwill" \
		--args "{\"payment_intent\": \"pi_2001\", \"amount_cents\": 2000, \"order_id\": \"ORD-2001\"}" >pr.json &&
	jq -e ".state == \"approved\" and .rule == \"small-refund-auto\"" pr.json &&
	echo "{\"payment_intent\": \"pi_2001\", \"amount_cents\": 20000, \"order_id\": \"ORD-2001\"}" >args.json &&
	docket propose --json "$R" stripe.refund --args @args.json >pr2.json &&
	jq -e ".state == \"pending\" and .rule == \"large-refund-two-leads\"" pr2.json &&
	docket show --json "$(jq -r .seq pr2.json)" >rec.json &&
	jq -e ".record.body.proposer == \"agent\" and .record.body.requires.count == 2 and
		.record.body.step == null and
		.record.body.rule.saw[\".args.amount_cents\"] == 20000 and (.record.body.idempotency_key | startswith(\"docket-\"))" rec.json &&
	docket propose --json "$R" stripe.refund --args @args.json >pr3.json &&
	test "$(jq -r .proposal pr3.json)" != "$(jq -r .proposal pr2.json)" &&
	docket approve --yes --deny --key lead1 "$(jq -r .proposal pr3.json)" >/dev/null &&
	docket head >before &&
	test_expect_code 7 docket propose "$R" stripe.refund \
		--args "{\"payment_intent\": \"pi_2001\", \"amount_cents\": 90000, \"order_id\": \"ORD-2001\"}" 2>err &&
	grep -q "refund-over-order-total" err &&
	test_expect_code 7 docket propose "$R" shopify.cancel_order --args "{}" 2>err &&
	grep -q "not an action of workflow" err &&
	test_expect_code 6 docket propose "$R" stripe.refund --args "{\"amount_cents\": 5}" 2>err &&
	grep -q "arguments refused" err &&
	docket head >after && test_cmp before after
'

test_expect_success 'unknown proposal, and no TTY without --yes' '
	test_expect_code 3 docket approve --yes --key lead1 p-doesnotexist 2>err &&
	grep -q "no proposal" err &&
	test_expect_code 2 docket approve --key lead1 "$(jq -r .proposal pr2.json)" </dev/null 2>err &&
	grep -q -- "--yes" err
'

test_expect_success 'two leads approving at once: one decision, both votes valid' '
	P=$(jq -r .proposal pr2.json) &&
	{ docket approve --yes --key lead1 "$P" >o1 2>e1 & } &&
	docket approve --yes --key lead2 "$P" >o2 2>e2 &&
	wait &&
	docket log --json --type proposal.approved >dec.json &&
	test "$(jq --arg p "$P" "[.[] | select(.body.proposal == \$p)] | length" dec.json)" = 1 &&
	docket verify -q
'

test_expect_success 'the status index keeps only work in progress' '
	jq -e --arg p "$(cat PDENIED)" ".proposals[\$p] == null" \
		L/docket/index/status.json &&
	jq -e "[.runs[] | select(.state == \"paused\")] | length >= 1" \
		L/docket/index/status.json &&
	docket run --json "$TRASH/wf/refunds.yaml" --session tenant_id=acme \
		--session principal=svc --session current_customer_id=CUST-1 \
		--input order_id=ORD-9999 --input amount_cents:=100 \
		--input message=hi >done.json &&
	jq -e ".status == \"completed\"" done.json &&
	docket status >/dev/null &&
	jq -e --arg r "$(jq -r .run done.json)" ".runs[\$r] == null" \
		L/docket/index/status.json
'

test_expect_success 'the status index is rebuilt when missing or stale' '
	docket status --json >a.json &&
	rm -f L/docket/index/status.json &&
	docket status --json >b.json && test_cmp a.json b.json &&
	echo "{\"v\": 1, \"ledger_id\": \"x\"}" >L/docket/index/status.json &&
	docket status --json >c.json && test_cmp a.json c.json
'

test_expect_success 'docket signatures are accepted by ssh-keygen -Y verify' '
	docket log --json --type approval >ap.json &&
	jq -j ".[0].body.message" ap.json >msg &&
	jq -j ".[0].body.signature" ap.json >msg.sig &&
	who=$(jq -r ".[0].body.principal" ap.json) &&
	echo "$who $(cat $who.pub)" >allowed &&
	ssh-keygen -Y verify -f allowed -I "$who" -n docket-approval@docket \
		-s msg.sig <msg &&
	printf "x" >>msg &&
	test_expect_code 255 ssh-keygen -Y verify -f allowed -I "$who" \
		-n docket-approval@docket -s msg.sig <msg
'

test_expect_success 'the ledger verifies and git fsck is clean' '
	docket verify --json >v.json &&
	jq -e ".ok and .signatures >= 5" v.json &&
	git --git-dir=L fsck --strict 2>&1 >/dev/null | (! grep -v "^Checking")
'

test_done
