#!/bin/sh
# Concurrency under maintenance: 8 appenders and a reader while `git gc`
# and `git pack-refs --all` run in a loop on the same ledger. Every record is
# present once, the chain is linear, and git and docket both verify.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
	make_ledger L
'
export DOCKET_LEDGER=$TRASH/L

test_expect_success '8 appenders x 50 notes while git gc and pack-refs loop' '
	( while [ ! -f stop ]; do
		git -C L gc -q >/dev/null 2>&1
		git -C L pack-refs --all >/dev/null 2>&1
		echo x >>maint-rounds
	done ) &
	m=$! &&
	# a reader too: a record, the newest ones, the head
	{ ( while [ ! -f stop ]; do
		for c in "show 0" "log -n 3" "head"; do
			docket $c >/dev/null 2>rerr ||
				echo "$c: $(cat rerr)" >>rfails
		done
		echo x >>read-rounds
	done ) & } &&
	r=$! && pids= &&
	for w in 1 2 3 4 5 6 7 8; do
		( for i in $(seq 1 50); do
			docket note "w$w-$i" >/dev/null 2>err.$w.$i ||
				{ echo "w$w-$i: $(cat err.$w.$i)" >>fails; }
		done ) &
		pids="$pids $!"
	done &&
	wait $pids && touch stop && wait "$m" "$r" &&
	{ test ! -s fails || { cat fails; false; }; } &&
	{ test ! -s rfails || { cat rfails; false; }; } &&
	test "$(wc -l <read-rounds)" -ge 1 &&
	test "$(wc -l <maint-rounds)" -ge 1
'

test_expect_success 'every note present exactly once, seq 0..400, linear' '
	docket log -n 1000 --json >log.json &&
	python3 -c "
import json, sys
recs = json.load(open(\"log.json\"))
notes = [r[\"body\"][\"text\"] for r in recs if r[\"type\"] == \"note\"]
assert len(notes) == 400 and len(set(notes)) == 400, (len(notes), len(set(notes)))
seqs = sorted(r[\"seq\"] for r in recs)
assert seqs == list(range(401)), seqs[:5]
" &&
	test "$(git -C L rev-list --count main)" = 401 &&
	test -z "$(git -C L rev-list --merges main)"
'

test_expect_success 'docket verify and git fsck --strict are clean' '
	docket verify -q &&
	git -C L fsck --strict --no-dangling
'

test_expect_success 'appends keep working after a final gc' '
	git -C L gc -q && docket note "after gc" >/dev/null && docket verify -q
'

test_done
