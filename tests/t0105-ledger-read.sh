#!/bin/sh
# Reading the ledger: docket log (-n, --type, --json), docket show (seq,
# hash, hash prefix, evidence://, --json, --raw), docket head (text and
# --json, usable as docket verify --anchor).
. "$(dirname "$0")/lib.sh"

# 2026-01-02T03:04:05Z: fixed, so the expected output can be written out
export DOCKET_TEST_NOW=1767323045
AT=2026-01-02T03:04:05Z
SQ="'"

# json_get EXPR FILE: print a Python expression over the JSON in FILE (j)
json_get() {
	python3 -c "import json,sys; j = json.load(open(sys.argv[1])); print($1)" "$2"
}

test_expect_success 'setup: genesis and 24 records of two types' '
	make_ledger L &&
	i=1 &&
	while [ $i -le 24 ]; do
		if [ $((i % 3)) = 0 ]; then
			docket note --ledger L --run "run-$i" "note $i" >>acks || exit 1
		else
			docket note --ledger L "note $i" >>acks || exit 1
		fi
		i=$((i + 1))
	done &&
	test "$(wc -l <acks)" = 24
'

test_expect_success 'log: newest first, 20 by default, one line each' '
	docket log --ledger L >out &&
	test "$(wc -l <out)" = 20 &&
	head -n 1 out | grep -q "^ *24 [0-9a-f]\{12\} $AT  note  *tester  *note 24$" &&
	tail -n 1 out | grep -q "^ *5 [0-9a-f]\{12\} $AT  note  *tester  *note 5$" &&
	awk "{print \$1}" out >seqs &&
	seq 24 -1 5 >expect &&
	test_cmp expect seqs
'

test_expect_success 'log: the short hash is the record hash' '
	docket log --ledger L -n 1 >out &&
	h=$(sed -n 24p acks | cut -d: -f2) &&
	grep -q " $(echo "$h" | cut -c1-12) " out
'

test_expect_success 'log -n N and --max-count N' '
	docket log --ledger L -n 3 >out &&
	test "$(awk "{print \$1}" out | tr "\n" " ")" = "24 23 22 " &&
	docket log --ledger L --max-count 1 >out &&
	test "$(wc -l <out)" = 1 &&
	docket log --ledger L -n 0 >out &&
	test ! -s out &&
	docket log --ledger L -n 0 --json >out &&
	test "$(python3 -c "import json,sys; print(json.load(sys.stdin))" <out)" = "[]" &&
	docket log --ledger L -n 2 --json >out &&
	test "$(python3 -c "import json,sys; print([r[\"seq\"] for r in json.load(sys.stdin)])" <out)" = "[24, 23]" &&
	docket log --ledger L -n 1000 >out &&
	test "$(wc -l <out)" = 25 &&
	tail -n 1 out | grep -q "^ *0 [0-9a-f]\{12\} $AT  genesis "
'

test_expect_success 'log -n: not a number, or negative: exit 2' '
	test_expect_code 2 docket log --ledger L -n x 2>err &&
	grep -q "max-count expects a non-negative integer" err &&
	test_expect_code 2 docket log --ledger L -n -1 2>err
'

test_expect_success 'log --type: only that type; -n counts what is shown' '
	docket log --ledger L --type genesis >out &&
	test "$(wc -l <out)" = 1 &&
	grep -q "^ *0 .* genesis " out &&
	docket log --ledger L --type note -n 100 >out &&
	test "$(wc -l <out)" = 24 &&
	! grep -q genesis out &&
	docket log --ledger L --type genesis -n 1 >out &&
	test "$(wc -l <out)" = 1 &&
	docket log --ledger L --type nosuchtype >out &&
	test ! -s out
'

test_expect_success 'log --json: an array of records, newest first, with hashes' '
	docket log --ledger L --json -n 2 >out.json &&
	test "$(json_get "len(j)" out.json)" = 2 &&
	test "$(json_get "j[0][\"seq\"]" out.json)" = 24 &&
	test "$(json_get "sorted(j[0])" out.json)" = \
		"[${SQ}actor${SQ}, ${SQ}at${SQ}, ${SQ}body${SQ}, ${SQ}hash${SQ}, ${SQ}seq${SQ}, ${SQ}type${SQ}]" &&
	test "$(json_get "j[0][\"body\"]" out.json)" = \
		"{${SQ}run${SQ}: ${SQ}run-24${SQ}, ${SQ}text${SQ}: ${SQ}note 24${SQ}}" &&
	test "$(json_get "j[1][\"body\"]" out.json)" = "{${SQ}text${SQ}: ${SQ}note 23${SQ}}" &&
	test "$(json_get "j[0][\"hash\"]" out.json)" = "$(sed -n 24p acks | cut -d: -f2)" &&
	test "$(json_get "j[0][\"at\"]" out.json)" = "$AT" &&
	test "$(json_get "j[0][\"actor\"]" out.json)" = tester &&
	docket log --ledger L --json --type genesis >g.json &&
	test "$(json_get "[r[\"seq\"] for r in j]" g.json)" = "[0]" &&
	test "$(json_get "j[0][\"body\"][\"format\"]" g.json)" = docket-ledger &&
	docket log --ledger L --json --type nosuchtype >e.json &&
	test "$(json_get "j" e.json)" = "[]"
'

test_expect_success 'log --json: every record, with its run when it has one' '
	docket log --ledger L --json -n 100 >all.json &&
	test "$(json_get "len(j)" all.json)" = 25 &&
	test "$(json_get "[r[\"body\"][\"run\"] for r in j if \"run\" in r[\"body\"]]" all.json)" = \
		"[${SQ}run-24${SQ}, ${SQ}run-21${SQ}, ${SQ}run-18${SQ}, ${SQ}run-15${SQ}, ${SQ}run-12${SQ}, ${SQ}run-9${SQ}, ${SQ}run-6${SQ}, ${SQ}run-3${SQ}]"
'

test_expect_success 'show SEQ: the record, pretty' '
	h=$(sed -n 3p acks | cut -d: -f2) &&
	prev=$(sed -n 2p acks | cut -d: -f2) &&
	docket show --ledger L 3 >out &&
	cat >expect <<-EOF &&
	record 3  evidence://$h
	type    note
	at      $AT
	actor   tester
	prev    $prev
	body    {
	  "run": "run-3",
	  "text": "note 3"
	}
	EOF
	test_cmp expect out
'

test_expect_success 'show HASH, a hash prefix, evidence://HASH and evidence://PREFIX: the same record' '
	h=$(sed -n 7p acks | cut -d: -f2) &&
	docket show --ledger L 7 >by-seq &&
	docket show --ledger L "$h" >by-hash &&
	# up to 10 digits alone are a seq: the shortest bare prefix that
	# cannot be one (one with a letter, or 11 characters long)
	n=8 &&
	while [ $n -lt 11 ] && echo "$h" | cut -c1-$n | grep -q "^[0-9]*$"; do
		n=$((n + 1))
	done &&
	docket show --ledger L "$(echo "$h" | cut -c1-$n)" >by-prefix8 &&
	docket show --ledger L "$(echo "$h" | cut -c1-20)" >by-prefix20 &&
	docket show --ledger L "evidence://$h" >by-handle &&
	docket show --ledger L "evidence://$(echo "$h" | cut -c1-10)" >by-handle-prefix &&
	head -n 1 by-seq | grep -q "^record 7  evidence://$h$" &&
	for f in by-hash by-prefix8 by-prefix20 by-handle by-handle-prefix; do
		test_cmp by-seq $f || exit 1
	done
'

test_expect_success 'show: up to 10 digits are a seq, even with leading zeros; evidence:// makes them a hash' '
	docket show --ledger L 0000000012 >a &&
	docket show --ledger L 12 >b &&
	test_cmp a b &&
	head -n 1 a | grep -q "^record 12 " &&
	test_expect_code 3 docket show --ledger L evidence://0000000012 2>err &&
	grep -q "no record with hash 0000000012" err
'

test_expect_success 'show the genesis record, by seq and by hash' '
	g=$(docket log --ledger L --type genesis --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"hash\"])") &&
	docket show --ledger L 0 >a &&
	docket show --ledger L "$g" >b &&
	test_cmp a b &&
	grep -q "^type    genesis$" a &&
	grep -q "^prev    0\{64\}$" a &&
	grep -q "\"format\": \"docket-ledger\"" a
'

test_expect_success 'show --json: seq, hash and the whole record' '
	h=$(sed -n 9p acks | cut -d: -f2) &&
	prev=$(sed -n 8p acks | cut -d: -f2) &&
	docket show --ledger L --json 9 >s.json &&
	test "$(json_get "sorted(j)" s.json)" = "[${SQ}hash${SQ}, ${SQ}record${SQ}, ${SQ}seq${SQ}]" &&
	test "$(json_get "j[\"seq\"]" s.json)" = 9 &&
	test "$(json_get "j[\"hash\"]" s.json)" = "$h" &&
	test "$(json_get "j[\"record\"][\"prev\"]" s.json)" = "$prev" &&
	test "$(json_get "j[\"record\"][\"seq\"]" s.json)" = 9 &&
	test "$(json_get "j[\"record\"][\"v\"]" s.json)" = 1 &&
	test "$(json_get "j[\"record\"][\"body\"][\"run\"]" s.json)" = run-9 &&
	docket show --ledger L --json "evidence://$h" >t.json &&
	test_cmp s.json t.json
'

test_expect_success 'show --raw: the exact record bytes, whose SHA-256 is the hash' '
	for s in 0 1 9 24; do
		h=$(docket show --ledger L --json $s | python3 -c "import json,sys; print(json.load(sys.stdin)[\"hash\"])") &&
		docket show --ledger L --raw $s >raw &&
		test "$(sha256sum <raw | cut -d" " -f1)" = "$h" &&
		p=$(printf "%010d" $s | sed "s|\(..\)\(..\)\(..\)\(..\)\(..\)|\1/\2/\3/\4/\5.json|") &&
		git -C L cat-file blob "main:$p" >blob &&
		cmp raw blob &&
		test "$(tail -c 1 raw | od -An -c | tr -d " ")" = "\\n" &&
		test "$(wc -l <raw)" = 1 || exit 1
	done &&
	docket show --ledger L --raw "evidence://$h" >raw2 &&
	cmp raw raw2
'

test_expect_success 'head: SEQ:HASH COMMIT of the newest record' '
	docket head --ledger L >out &&
	h=$(sed -n 24p acks | cut -d: -f2) &&
	echo "24:$h $(git -C L rev-parse refs/heads/main)" >expect &&
	test_cmp expect out &&
	test "$(docket show --ledger L --raw 24 | sha256sum | cut -d" " -f1)" = "$h"
'

test_expect_success 'head --json: seq, hash, commit, ledger_id and anchor' '
	docket head --ledger L --json >h.json &&
	h=$(sed -n 24p acks | cut -d: -f2) &&
	test "$(json_get "j[\"seq\"]" h.json)" = 24 &&
	test "$(json_get "j[\"hash\"]" h.json)" = "$h" &&
	test "$(json_get "j[\"commit\"]" h.json)" = "$(git -C L rev-parse refs/heads/main)" &&
	test "$(json_get "j[\"anchor\"]" h.json)" = "24:$h" &&
	test "$(json_get "j[\"ledger_id\"]" h.json)" = \
		"$(docket show --ledger L --json 0 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"record\"][\"body\"][\"ledger_id\"])")"
'

test_expect_success 'head after an append moves by one' '
	docket note --ledger L "one more" >ack &&
	docket head --ledger L | cut -d" " -f1 >out &&
	test_cmp ack out
'

test_expect_success 'head output is a verify anchor, and stays one as the ledger grows' '
	docket head --ledger L | cut -d" " -f1 >anchor &&
	docket head --ledger L --json >h.json &&
	docket verify --ledger L --anchor "$(cat anchor)" &&
	docket verify --ledger L --anchor "$(json_get "j[\"anchor\"]" h.json)" &&
	docket note --ledger L "later" >/dev/null &&
	docket verify --ledger L --anchor "$(cat anchor)" --json >v.json &&
	test "$(json_get "j[\"anchors_checked\"]" v.json)" = 1 &&
	test "$(json_get "j[\"ok\"]" v.json)" = True
'

test_expect_success 'an anchor the ledger no longer reaches fails verify (exit 10)' '
	cp -R L cut &&
	git -C cut update-ref refs/heads/main refs/heads/main~2 &&
	test_expect_code 10 docket verify --ledger cut --anchor "$(cat anchor)" >out &&
	cat out &&
	grep -q "^TAMPERED" out &&
	docket verify --ledger cut
'

test_expect_success 'a malformed anchor is a usage error' '
	test_expect_code 2 docket verify --ledger L --anchor 24 2>err &&
	grep -q "expected SEQ:HASH as printed by .docket head." err
'

test_done
