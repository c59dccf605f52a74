#!/bin/sh
# Two `docket dispatch --ready` started at once on one ledger send each
# action once; a proposal being dispatched by another process is left to
# it (busy).
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

dispatch_setup || exit 1

test_expect_success 'a proposal in flight in another process is reported busy, not sent' '
	P=$(new_run ORD-busy 1000) &&
	provider_fault pay "{\"fault\":\"delay\",\"path\":\"/v1/refunds\",\"nth\":[1],\"seconds\":1}" ||
		exit 1
	docket dispatch "$P" >out1 2>&1 &
	wait_log pay "\"event\":\"begin\"" &&
	docket dispatch "$P" >out2 &&
	grep "^wrp://$P: busy" out2 &&
	grep "another process is dispatching" out2 &&
	wait &&
	grep "pay.refund: succeeded" out1 &&
	test "$(requests pay "$(key_of "$P")")" = 1
'

test_expect_success 'twelve runs waiting for dispatch' '
	i=1 &&
	while [ $i -le 12 ]; do
		new_run "ORD-$i" $((1000 + i)) >>props || exit 1
		i=$((i + 1))
	done &&
	test "$(wc -l <props)" = 12
'

test_expect_success 'two --ready at once: every refund and mail sent once, every run completed' '
	provider_fault pay "{\"fault\":\"delay\",\"path\":\"/v1/refunds\",\"times\":6,\"seconds\":0.3}" ||
		exit 1
	docket dispatch --ready --max-in-flight 2 >a.out 2>a.err &
	docket dispatch --ready --max-in-flight 3 >b.out 2>b.err &
	wait &&
	for P in $(cat props); do
		K=$(key_of "$P") &&
		test "$(effects pay "$K")" = 1 &&
		test "$(requests pay "$K")" = 1 || { echo "$P sent twice"; exit 1; }
	done &&
	grep "\"event\":\"effect\"" pay.log | jq -r .key | sort | uniq -d >dups &&
	test ! -s dups &&
	test "$(effects pay)" = 26 &&
	docket log --json -n 1000000 --type run.started | jq -r ".[].body.run" >runs &&
	for R in $(cat runs); do
		docket explain --json "$R" | jq -e ".status == \"completed\"" >/dev/null ||
			{ echo "$R not completed"; exit 1; }
	done &&
	docket verify >/dev/null
'

test_expect_success 'one intent per proposal: no process sent a proposal another had claimed' '
	docket log --json -n 1000000 --type dispatch.intent |
		jq -e "[.[].body.proposal] | length == (unique | length)"
'

test_expect_success 'a rejection recorded between reading the state and the intent: the intent is refused, nothing sent' '
	P=$(new_run ORD-cas 1000) && R=$(last_run) || exit 1
	rm -f trace
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace -e trace=flock \
		-e inject=flock:delay_enter=4000000:when=2 \
		"$DOCKET_BUILD/libexec/docket/docket-dispatch" "$P" >cas.out 2>cas.err &
	pid=$!
	i=0
	while [ ! -f "L/docket/dispatch/$P.lock" ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	sleep 1
	ledger-append L proposal.rejected "{\"proposal\":\"$P\",\"run\":\"$R\"}" >/dev/null &&
	wait $pid
	test $? = 7 &&
	grep "wrp://$P pay.refund: changed" cas.out &&
	grep "changed while it was being dispatched (record [0-9]*, proposal.rejected)" cas.out &&
	test "$(requests pay "$(key_of "$P")")" = 0 &&
	docket log --json -n 1000000 --type dispatch.intent |
		jq -e --arg p "$P" "[.[] | select(.body.proposal == \$p)] | length == 0"
'

test_done
