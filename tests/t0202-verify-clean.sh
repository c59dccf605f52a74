#!/bin/sh
# No false alarms: untouched ledgers of 1, 2, 10, 100 and 1,000 records
# verify with both docket and ledger/verify.py (the same JSON), loose and
# packed, and git fsck --strict agrees they are sound. Progress goes to
# stderr only when stderr is a terminal.
. "$(dirname "$0")/lib.sh"

VERIFY_PY="python3 $SRC/ledger/verify.py"

# clean_ledger DIR N: a ledger of N records (genesis + N-1 notes)
clean_ledger() {
	make_ledger "$1" &&
	if [ "$2" -gt 1 ]; then
		dk-append-notes "$1" $(($2 - 1)) >/dev/null
	fi
}

# both_ok DIR N
both_ok() {
	docket verify --ledger "$1" --json >c.json &&
	$VERIFY_PY --json "$1" >p.json &&
	# docket alone checks approval signatures and says how many
	jq -c "del(.signatures, .signature_ms)" c.json >c.cmp &&
	jq -c . p.json >p.cmp &&
	test_cmp c.cmp p.cmp &&
	jq -e ".ok and .verdict == \"ok\" and .records == $2 and
		.head_seq == $(($2 - 1))" c.json >/dev/null &&
	docket head --ledger "$1" --json >head.json &&
	test "$(jq -r .hash head.json)" = "$(jq -r .head_hash c.json)" &&
	test "$(jq -r .commit head.json)" = "$(jq -r .head_commit c.json)" &&
	docket verify --ledger "$1" --anchor "$(jq -r .anchor head.json)" \
		>/dev/null &&
	$VERIFY_PY --anchor "$(jq -r .anchor head.json)" "$1" >/dev/null
}

for n in 1 2 10 100 1000; do
	test_expect_success "a ledger of $n records verifies (loose)" "
		clean_ledger L$n $n &&
		git -C L$n fsck --strict --no-dangling &&
		both_ok L$n $n
	"
	test_expect_success "a ledger of $n records verifies (packed by git gc)" "
		git -C L$n gc -q --prune=now &&
		test -z \"\$(find L$n/objects -type f -path '*/objects/??/*')\" &&
		git -C L$n fsck --strict --no-dangling &&
		both_ok L$n $n
	"
done

test_expect_success 'a non-bare clone verifies the same' '
	git clone -q L100 clone &&
	git -C clone update-ref refs/heads/main origin/main &&
	$VERIFY_PY --json clone >p.json &&
	jq -e ".ok and .records == 100" p.json &&
	docket verify --ledger clone --json >c.json &&
	jq -c "del(.signatures, .signature_ms)" c.json >c.cmp &&
	jq -c . p.json >p.cmp &&
	test_cmp c.cmp p.cmp
'

test_expect_success 'refs other than main are ignored' '
	git -C L10 update-ref refs/heads/other refs/heads/main~3 &&
	git -C L10 tag junk refs/heads/main~5 &&
	both_ok L10 10
'

test_expect_success 'git replace refs and the caller'"'"'s GIT_DIR change nothing' '
	rm -rf R && cp -r L10 R &&
	b5=$(git -C R rev-parse main:00/00/00/00/05.json) &&
	b6=$(git -C R rev-parse main:00/00/00/00/06.json) &&
	git -C R replace -f $b5 $b6 &&
	test "$(git -C R cat-file blob $b5 | jq .seq)" = 6 &&
	both_ok R 10 &&
	GIT_DIR=$PWD/L1 GIT_OBJECT_DIRECTORY=$PWD/L1/objects both_ok R 10
'

test_expect_success 'appending after a repack still verifies' '
	docket note --ledger L100 "after gc" >/dev/null &&
	both_ok L100 101
'

test_expect_success 'no progress on stderr when it is not a terminal' '
	docket verify --ledger L1000 >out 2>err &&
	test ! -s err &&
	grep -q "^ok: 1000 records" out
'

test_expect_success 'progress on stderr when it is a terminal' '
	script -qec "docket verify --ledger L1000" /dev/null >tty.out &&
	grep -q "verifying: 1000/1000 records" tty.out &&
	script -qec "docket verify -q --ledger L1000" /dev/null >tty.out &&
	! grep -q "verifying" tty.out
'

test_done
