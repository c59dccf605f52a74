#!/bin/sh
# The tamper matrix: every change is made through git itself (so git
# stays consistent) and must be caught by BOTH `docket verify` and the
# independent ledger/verify.py, with the same verdict, the same first bad
# record and the same exit code (t0204 repeats the matrix after `git
# repack -ad`); then damaged objects and refs.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/tamper-lib.sh"
. "$SRC/tests/tamper-matrix.sh"

test_expect_success 'a malformed anchor is a usage error (exit 2) in both' '
	test_expect_code 2 docket verify --ledger B --anchor 3:abc 2>err &&
	grep -q "bad anchor" err &&
	test_expect_code 2 $VERIFY_PY --anchor 3:abc B 2>err &&
	grep -q "bad anchor" err
'

test_expect_success 'a corrupted loose object: unreadable (exit 11) in both' '
	rm -rf X && cp -r B X && $TAMPER X corrupt-loose 6 &&
	test_must_fail git -C X fsck --strict &&
	both_say unreadable 6 X &&
	test_expect_code 11 docket verify --ledger X >out 2>err &&
	grep -q "^UNREADABLE at record 6" out &&
	grep -q "could not be read" err
'
test_expect_success 'a loose object whose content does not hash to its name: tampered' '
	rm -rf X && cp -r B X && $TAMPER X mismatch-loose 6 &&
	test_must_fail git -C X fsck --strict &&
	both_say tampered 6 X
'
test_expect_success 'a missing object: unreadable' '
	rm -rf X && cp -r B X && $TAMPER X remove-object 7 &&
	test_must_fail git -C X fsck --strict &&
	both_say unreadable 7 X
'
test_expect_success 'a record damaged inside a pack: unreadable' '
	rm -rf X && cp -r B X && git -C X repack -adq &&
	$TAMPER X corrupt-pack 8 &&
	test_must_fail git -C X fsck --strict &&
	both_say unreadable 8 X
'
test_expect_success 'a record damaged inside one of the small append packs' '
	rm -rf X && cp -r B X &&
	$TAMPER X corrupt-pack 9 &&
	both_say unreadable 9 X
'
test_expect_success 'an exploded (all loose) ledger verifies' '
	rm -rf X && cp -r B X && $TAMPER X explode &&
	test -z "$(find X/objects/pack -name "*.pack")" &&
	git -C X fsck --strict --no-dangling &&
	both_say ok none X
'
test_expect_success 'no refs/heads/main: tampered, no record named' '
	rm -rf X && cp -r B X && git -C X update-ref -d refs/heads/main &&
	both_say tampered none X
'
test_expect_success 'refs/heads/main names a blob: tampered, no record named' '
	rm -rf X && cp -r B X &&
	b=$(git -C X rev-parse main:00/00/00/00/03.json) &&
	git -C X pack-refs --all && rm -f X/packed-refs &&
	echo $b >X/refs/heads/main &&
	both_say tampered none X
'
test_expect_success 'refs/heads/main is garbage: unreadable' '
	rm -rf X && cp -r B X &&
	git -C X pack-refs --all && rm -f X/packed-refs &&
	echo garbage >X/refs/heads/main &&
	both_say unreadable none X
'
test_expect_success 'a shallow clone (history cut by git): unreadable' '
	rm -rf S && git clone -q --bare --depth 5 "file://$PWD/B" S &&
	both_say unreadable none S
'
test_expect_success 'text output names the first bad record in both' '
	rm -rf X && cp -r B X && $TAMPER X delete 4 &&
	test_expect_code 10 docket verify --ledger X >c.txt 2>/dev/null &&
	test_expect_code 10 $VERIFY_PY X >p.txt 2>/dev/null &&
	grep "^TAMPERED at record 4 (commit [0-9a-f]\{12\}): record says seq 5" c.txt &&
	grep "^TAMPERED at record 4 (commit [0-9a-f]\{12\}): record says seq 5" p.txt
'
test_expect_success 'not a ledger: exit 4 in both' '
	mkdir plain &&
	test_expect_code 4 docket verify --ledger plain 2>err &&
	grep -q "not a docket ledger" err &&
	test_expect_code 4 $VERIFY_PY plain 2>err &&
	grep -q "no ledger" err &&
	test_expect_code 4 $VERIFY_PY does-not-exist
'

test_done
