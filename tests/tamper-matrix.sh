# The tamper matrix, sourced by t0201 (ledgers as docket writes them) and
# t0204 (the same after git repack -ad): each change is made through git
# itself (tests/tamper.py) and must be caught by both verifiers with the
# same verdict and first bad seq.
test_expect_success 'setup: a ledger of 12 records' '
	make_ledger B &&
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		docket note --ledger B "note number $i" >/dev/null || exit 1
	done &&
	both_say ok none B &&
	jq -e ".records == 12 and .head_seq == 11" p.json
'

test_expect_success 'untouched copy: ok, and the same JSON from both' '
	rm -rf X && cp -r B X && both_say ok none X &&
	git -C X repack -adq && both_say ok none X
'

test_expect_success 'a changed byte in the middle of a record body' '
	tamper_case tampered 5 edit-byte 5 body
'
test_expect_success 'a changed byte in the middle of a record (a field name)' '
	tamper_case tampered 5 edit-byte 5 mid
'
test_expect_success 'a changed first byte of a record' '
	tamper_case tampered 5 edit-byte 5 0
'
test_expect_success 'a changed byte in the genesis record' '
	tamper_case tampered 0 edit-byte 0 body
'
test_expect_success 'a changed first byte of the genesis record' '
	tamper_case tampered 0 edit-byte 0 0
'
test_expect_success 'a changed byte with its trailer fixed: the next prev breaks' '
	tamper_case tampered 6 edit-byte 5 body --fix-trailer
'
test_expect_success 'a changed genesis with its trailer fixed: record 1 breaks' '
	tamper_case tampered 1 edit-byte 0 body --fix-trailer
'
test_expect_success 'a deleted record' '
	tamper_case tampered 4 delete 4
'
test_expect_success 'the last record deleted (same as truncation): not detectable without an anchor' '
	tamper_case ok none delete 11
'
test_expect_success 'two records swapped' '
	tamper_case tampered 3 swap 3 4
'
test_expect_success 'two distant records swapped' '
	tamper_case tampered 2 swap 2 9
'
test_expect_success 'a well-formed record inserted: the next one breaks' '
	tamper_case tampered 7 insert 6
'
test_expect_success 'an extra file slipped into a commit (top level)' '
	tamper_case tampered 7 extra-file 7 extra.txt
'
test_expect_success 'an extra file slipped into a commit (next to the record)' '
	tamper_case tampered 7 extra-file 7 00/00/00/00/07.txt
'
test_expect_success 'an extra file slipped into the genesis commit' '
	tamper_case tampered 0 extra-file 0 00/README
'
test_expect_success 'a merge commit in the chain' '
	tamper_case tampered 5 merge 5
'
test_expect_success 'commit time differs from the record time' '
	tamper_case tampered 8 commit-time 8 1
'
test_expect_success 'changed Docket-Seq trailer' '
	tamper_case tampered 9 trailer 9 Docket-Seq 10
'
test_expect_success 'changed Docket-Record trailer' '
	tamper_case tampered 9 trailer 9 Docket-Record \
		0000000000000000000000000000000000000000000000000000000000000000
'
test_expect_success 'commit subject names another type' '
	tamper_case tampered 4 subject 4 "genesis: hello"
'
test_expect_success 'a record of a newer format version in the chain' '
	tamper_case tampered 3 set-field 3 v 2
'
test_expect_success 'a record with v 0' '
	tamper_case tampered 3 set-field 3 v 0
'
test_expect_success 'a record time that is not YYYY-MM-DDTHH:MM:SSZ' '
	tamper_case tampered 3 set-field 3 at "\"2026-11-21T20:53:13+00:00\""
'
test_expect_success 'a record time on a day that does not exist' '
	tamper_case tampered 3 set-field 3 at "\"2026-02-30T10:00:00Z\""
'
test_expect_success 'an invalid record type' '
	tamper_case tampered 3 set-field 3 type "\"Note\""
'
test_expect_success 'seq as a string' '
	tamper_case tampered 3 set-field 3 seq "\"3\""
'
test_expect_success 'seq as a boolean' '
	tamper_case tampered 1 set-field 1 seq true
'
test_expect_success 'a second genesis record' '
	tamper_case tampered 2 set-field 2 type "\"genesis\""
'
test_expect_success 'a ledger of a newer format (genesis v 2) is refused: exit 4' '
	rm -rf X && cp -r B X && $TAMPER X set-field 0 v 2 &&
	test_expect_code 4 docket verify --ledger X 2>err &&
	grep -q "format 2" err &&
	test_expect_code 4 $VERIFY_PY X 2>err &&
	grep -q "format 2" err
'

test_expect_success 'setup: anchors saved by an auditor' '
	docket head --ledger B --json | jq -r .anchor >head.anchor &&
	echo "3:$(docket show --ledger B --json 3 | jq -r .hash)" >mid.anchor &&
	grep -q "^11:" head.anchor
'

test_expect_success 'anchors on the untouched ledger hold' '
	both_say ok none B --anchor "$(cat head.anchor)" \
		--anchor "$(cat mid.anchor)" &&
	jq -e ".anchors_checked == 2" p.json
'

test_expect_success 'history rewritten after an anchor: ok without it, caught with it' '
	ANCHORS= && tamper_case ok none rewrite-from 9 &&
	ANCHORS="--anchor $(cat head.anchor)" &&
	tamper_case tampered 11 rewrite-from 9
'
test_expect_success 'whole history rewritten below a middle anchor' '
	ANCHORS="--anchor $(cat mid.anchor)" &&
	tamper_case tampered 3 rewrite-from 1
'
test_expect_success 'branch truncated below an anchor' '
	ANCHORS= && tamper_case ok none truncate 8 &&
	ANCHORS="--anchor $(cat head.anchor)" &&
	tamper_case tampered 11 truncate 8 &&
	ANCHORS="--anchor $(cat mid.anchor)" &&
	tamper_case tampered 3 truncate 2
'
test_expect_success 'an anchor with the wrong hash' '
	both_say tampered 4 B --anchor \
		4:0000000000000000000000000000000000000000000000000000000000000000
'
