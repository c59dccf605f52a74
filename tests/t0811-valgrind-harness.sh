#!/bin/sh
# `make valgrind`: the harness itself. Under DOCKET_VALGRIND, a program
# that leaks is reported (so a clean run means something); outside it,
# nothing to do.
. "$(dirname "$0")/lib.sh"

if [ -z "${DOCKET_VALGRIND:-}" ]; then
	test_skip 'only under make valgrind' 'the valgrind harness sees a leak'
	test_done
fi

test_expect_success 'the valgrind harness sees a definite leak' '
	vg-leak >out 2>err;
	test $? = 125 &&
	log=$(find "$VG_LOGS" -name "*.log" -size +0 | head -n 1) &&
	test -n "$log" &&
	grep -q "definitely lost" "$log" &&
	grep -q "vg-leak.c" "$log" &&
	rm -f "$log"
'

test_expect_success 'a docket command runs under memcheck' '
	n0=$(find "$VG_LOGS" -name "*.log" | wc -l) &&
	docket note -h >out &&
	test "$(find "$VG_LOGS" -name "*.log" | wc -l)" -gt "$n0"
'

test_done
