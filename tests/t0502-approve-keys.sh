#!/bin/sh
# docket approve with keys held by ssh-agent, the confirmation prompt on a
# terminal, roles changed by a policy update, and the expiry boundary.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-approvals.sh"

pending_id() { jq -r '.pending_proposals[0].id' "$1"; }

test_expect_success 'setup: 4 principals; lead2 has a passphrase' '
	setup_approvals &&
	ssh-keygen -q -p -P "" -N "sekrit pass" -f lead2 &&
	printf "#!/bin/sh\necho \"sekrit pass\"\n" >askpass && chmod +x askpass
'

test_expect_success 'an encrypted key with no agent or terminal fails clearly' '
	test_expect_code 20 run_refund 5000 >run.json &&
	pending_id run.json >P &&
	docket head >before &&
	test_must_fail docket approve --yes --key lead2 "$(cat P)" </dev/null 2>err &&
	grep -q "passphrase" err &&
	docket head >after && test_cmp before after
'

test_expect_success 'a key held by ssh-agent signs through ssh-keygen' '
	eval "$(ssh-agent -s)" >/dev/null &&
	SSH_ASKPASS="$TRASH/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		setsid -w ssh-add lead2 </dev/null 2>/dev/null &&
	docket approve --yes --key lead2.pub --json "$(cat P)" >ap.json
	rc=$?
	ssh-agent -k >/dev/null
	test $rc = 0 &&
	jq -e ".state == \"approved\" and .principal == \"lead2\"" ap.json &&
	docket verify -q
'

test_expect_success 'on a terminal approve shows the proposal and asks' '
	test_expect_code 20 run_refund 6000 >run.json &&
	pending_id run.json >P2 &&
	docket head >before &&
	echo n | script -qec "docket approve --key lead1 $(cat P2)" /dev/null >out 2>&1;
	grep -q "stripe.refund" out && grep -q "sign? \[y/N\]" out &&
	grep -q "rule saw .*amount_cents.*6000" out &&
	grep -q "nothing signed" out &&
	docket head >after && test_cmp before after &&
	echo y | script -qec "docket approve --key lead1 $(cat P2)" /dev/null >out 2>&1 &&
	grep -q "approved by lead1" out
'

test_expect_success 'a principal without the role may not deny either' '
	test_expect_code 20 run_refund 7000 >run.json &&
	pending_id run.json >P3 &&
	test_expect_code 7 docket approve --yes --deny --key admin "$(cat P3)" 2>err &&
	grep -q "lacks the role .support_lead." err
'

test_expect_success 'a role removed by a policy update no longer approves' '
	jq ".version = 2 | (.principals[] | select(.name == \"lead1\") | .roles) = [\"agent\"]" \
		policy.json >p2.json &&
	docket policy update --key admin p2.json >/dev/null &&
	test_expect_code 7 docket approve --yes --key lead1 "$(cat P3)" 2>err &&
	grep -q "lead1.* lacks the role" err &&
	docket verify -q
'

test_expect_success 'at the expiry second the vote is refused and expiry recorded' '
	exp=$(docket log --json --type proposal | jq -r ".[0].body.expires_at") &&
	DOCKET_TEST_NOW=$(date -u -d "$exp" +%s) &&
	export DOCKET_TEST_NOW &&
	test_expect_code 7 docket approve --yes --key agent "$(cat P3)" 2>err &&
	grep -q "expired" err &&
	docket log --json -n 1 | jq -e ".[0].type == \"proposal.expired\"" &&
	unset DOCKET_TEST_NOW &&
	docket verify -q
'

# Start `docket approve --key KEY P` on a terminal, stopped at its
# confirmation prompt; answer later with: echo y >&7; wait.
approve_at_prompt() {
	rm -f fifo && mkfifo fifo &&
	{ script -qec "docket approve --key $1 $2" /dev/null <fifo >prompt.out 2>&1 & } &&
	exec 7>fifo &&
	i=0 && while ! grep -q "sign?" prompt.out 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 200 ] || return 1; sleep 0.05
	done
}

test_expect_success 'a policy change while signing is re-checked at append' '
	make_key lead3 &&
	jq --arg k "$(cat lead3.pub)" ".version = 3 |
	    (.principals[] | select(.name == \"lead1\") | .roles) = [\"support_lead\"] |
	    .principals += [{name: \"lead3\", roles: [\"support_lead\"], key: \$k}]" \
		p2.json >p3.json &&
	docket policy update --key admin p3.json >/dev/null &&
	test_expect_code 20 run_refund 8100 >run.json &&
	P5=$(pending_id run.json) &&
	approve_at_prompt lead1 "$P5" &&
	jq ".version = 4 | (.principals[] | select(.name == \"lead1\") | .roles) = [\"agent\"]" \
		p3.json >p4.json &&
	docket policy update --key admin p4.json >/dev/null &&
	echo y >&7 && exec 7>&- && wait &&
	grep -q "lead1.* lacks the role" prompt.out &&
	docket log --json -n 1 | jq -e ".[0].type == \"policy.update\"" &&
	docket verify -q
'

test_expect_success 'a vote signed while another approver decided it is refused' '
	jq ".version = 5" p3.json >p5.json &&
	docket policy update --key admin p5.json >/dev/null &&
	test_expect_code 20 run_refund 8200 >run.json &&
	P6=$(pending_id run.json) &&
	approve_at_prompt lead1 "$P6" &&
	docket approve --yes --key lead3 --json "$P6" >ap.json &&
	jq -e ".state == \"approved\"" ap.json &&
	echo y >&7 && exec 7>&- && wait &&
	grep -q "already approved" prompt.out &&
	test "$(docket log --json --type approval | jq --arg p "$P6" "[.[] | select(.body.proposal == \$p)] | length")" = 1 &&
	docket verify -q
'

test_expect_success 'an approval racing the expiry is re-checked when appended' '
	test_expect_code 20 run_refund 8000 >run.json &&
	P4=$(pending_id run.json) &&
	approve_at_prompt lead1 "$P4" &&
	exp=$(docket log --json --type proposal | jq -r ".[0].body.expires_at") &&
	(DOCKET_TEST_NOW=$(date -u -d "$exp" +%s) && export DOCKET_TEST_NOW &&
	 test_expect_code 7 docket approve --yes --key agent "$P4" 2>err) &&
	grep -q "expired" err &&
	echo y >&7 && exec 7>&- && wait &&
	grep -q "already expired" prompt.out &&
	docket log --json -n 1 | jq -e ".[0].type == \"proposal.expired\"" &&
	docket verify -q
'

test_done
