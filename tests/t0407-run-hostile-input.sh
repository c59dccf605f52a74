#!/bin/sh
# Hostile input files to `docket run`: a 50 MB file, 2049-deep JSON,
# invalid UTF-8, a NUL in a string. Each is refused with exit 6 and a
# clear message, nothing is appended, and the refusal costs little
# memory (peak RSS checked through getrusage, not time).
. "$(dirname "$0")/lib.sh"

WF=$SRC/workflows/commerce/order_assistant.yaml

test_expect_success 'setup' '
	make_ledger L &&
	python3 -c "
import sys
open(\"big.json\", \"w\").write(\"{\\\"order_id\\\": \\\"\" + \"A\" * (50 << 20) + \"\\\"}\")
open(\"deep.json\", \"w\").write(\"{\\\"a\\\":\" + \"[\" * 2049 + \"]\" * 2049 + \"}\")
open(\"bad-utf8.json\", \"wb\").write(b\"{\\\"order_id\\\": \\\"\\xff\\xfe\\\"}\")
open(\"nul.json\", \"w\").write(\"{\\\"order_id\\\": \\\"a\\\\u0000b\\\"}\")
" &&
	git -C L rev-parse main >head.before
'

# refuse FILE PATTERN: exit 6, the message, nothing appended, RSS < 32 MB
refuse() {
	python3 - "$1" "$WF" <<'PY' >rss
import resource, subprocess, sys
rc = subprocess.run(["docket", "run", "--ledger", "L", sys.argv[2],
    "--session", "tenant_id=acme", "--session", "principal=ci",
    "--session", "current_customer_id=CUST-1",
    "--session", "current_cart_id=CART-1", "--input-file", sys.argv[1]],
    stderr=open("err", "w"), stdout=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
	read rc kb <rss &&
	test "$rc" = 6 || { echo "exit $rc: $(cat err)"; return 1; }
	grep -q "$2" err || { echo "message: $(cat err)"; return 1; }
	# (memcheck's own memory is counted under valgrind: no bound there)
	[ -n "${DOCKET_VALGRIND:-}" ] || test "$kb" -lt 32768 ||
		{ echo "peak RSS $kb KB"; return 1; }
	test "$(git -C L rev-parse main)" = "$(cat head.before)"
}

test_expect_success 'a 50 MB input file is refused before it is read' '
	refuse big.json "larger than"
'

test_expect_success '2049-deep JSON is refused' '
	refuse deep.json "deep.json:1:"
'

test_expect_success 'invalid UTF-8 is refused' '
	refuse bad-utf8.json "bad-utf8.json:1:"
'

test_expect_success 'a NUL inside a string is refused' '
	refuse nul.json "nul.json:1:"
'

test_done
