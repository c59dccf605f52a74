#!/bin/sh
# I/O errors in dispatch (t0804: approve): the N-th write, fsync,
# fdatasync, rename, renameat2 or openat of `docket dispatch` fails
# with ENOSPC, then EIO (strace fault injection), for every N up to the
# number of such calls a clean run makes. Every attempt starts from a
# copy of the same ledger. A run either fails cleanly (exit below 128, a
# "docket: CMD:" message, no success printed) or absorbs the error in a
# fallback and succeeds; either way the ledger verifies, and the same
# command with the fault gone succeeds. Dispatch never sends a refund
# twice, whatever failed (the provider counts side effects per key).
DOCKET_FSYNC=1
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-io-errors.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"
PROVIDER_MAX_SECONDS=600
dispatch_setup || exit 1

test_expect_success 'setup: an approved refund' '
	P=$(new_run ORD-io 1500) && echo "$P" >P &&
	cp -a L L.base
'

for sc in write fsync fdatasync rename renameat2 openat; do
	for e in ENOSPC EIO; do
		test_expect_success "dispatch: $e at every $sc; one refund in all" '
			sweep dispatch '"$sc"' '"$e"' "$(cat P)" &&
			test "$(effects pay "$(key_of "$(cat P)")")" = 1
		'
	done
done

test_done
