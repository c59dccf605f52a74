#!/bin/sh
# The dispatcher, the command table, help and exit codes.
. "$(dirname "$0")/lib.sh"

test_expect_success 'docket -h lists the commands and exit codes' '
	docket -h >out &&
	grep -q "^    init " out &&
	grep -q "^    verify " out &&
	grep -q "10  verify: the ledger was altered" out
'

test_expect_success 'docket with no command prints usage and exits 2' '
	test_expect_code 2 docket 2>err &&
	grep -q "^usage: docket" err
'

test_expect_success 'every command accepts -h and prints its synopsis' '
	for c in $(docket -h | sed -n "/^commands:/,/^$/p" | awk "NR>1 && NF {print \$1}"); do
		docket $c -h >out || { echo "$c -h failed"; exit 1; }
		grep -q "^usage: docket $c" out || { echo "$c: no usage"; exit 1; }
	done
'

test_expect_success 'an unknown command suggests the nearest one' '
	test_expect_code 2 docket verfy 2>err &&
	grep -q "did you mean .verify." err
'

test_expect_success 'an unknown option is a usage error' '
	make_ledger &&
	test_expect_code 2 docket log --ledger L --bogus 2>err &&
	grep -q "unknown option" err
'

test_expect_success 'the dispatcher loads neither libgit2 nor libcurl' '
	! readelf -d "$DOCKET_BUILD/bin/docket" | grep -E "libgit2|libcurl"
'

test_expect_success 'docket --version and --exec-path' '
	docket --version | grep -q "^docket " &&
	test -x "$(docket --exec-path)/docket-verify"
'

test_expect_success 'docket help COMMAND prints the usage' '
	docket help verify | grep -q "^usage: docket verify"
'

test_done
