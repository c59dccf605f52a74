#!/bin/sh
# I/O errors in approve (t0805: dispatch): the N-th write, fsync,
# fdatasync, rename, renameat2 or openat of `docket approve` fails
# with ENOSPC, then EIO (strace fault injection), for every N up to the
# number of such calls a clean run makes. Every attempt starts from a
# copy of the same ledger. A run either fails cleanly (exit below 128, a
# "docket: CMD:" message, no success printed) or absorbs the error in a
# fallback and succeeds; either way the ledger verifies, and the same
# command with the fault gone succeeds (or finds the vote recorded).
DOCKET_FSYNC=1
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-io-errors.sh"
. "$SRC/tests/lib-approvals.sh"
test_expect_success 'setup: a refund proposal awaiting a support lead' '
	setup_approvals &&
	run_refund 30000 >run.json; test $? = 20 &&
	jq -r ".pending_proposals[0].id" run.json >P &&
	test -s P &&
	cp -a L L.base
'

for sc in write fsync fdatasync rename renameat2 openat; do
	for e in ENOSPC EIO; do
		test_expect_success "approve: $e at every $sc" '
			sweep approve '"$sc"' '"$e"' --yes --key lead1 "$(cat P)" &&
			docket log --json -n 3 | jq -e "any(.[]; .type == \"approval\")" >/dev/null
		'
	done
done

test_done
