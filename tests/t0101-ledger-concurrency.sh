#!/bin/sh
# Concurrency: 8 processes, started together, each appending 50 notes
# (one `docket note` process per note) to one ledger. Every note must be
# there exactly once, seq 0..400 without gaps, on a linear chain that git
# and docket both find sound. Once without and once with fsync.
. "$(dirname "$0")/lib.sh"

CHECK="$SRC/tests/helpers/ledger-check.py"
WRITERS=8
NOTES=50

# writer W: wait at the gate, then append NOTES notes, logging each
# acknowledgement (seq:hash) and each failure.
writer() {
	flock -s gate true || exit 1
	i=1
	while [ $i -le $NOTES ]; do
		if docket note --ledger L "writer $1 note $i" >>"ack.$1" 2>>"err.$1"
		then
			echo "writer $1 note $i" >>acked
		else
			echo "writer $1 note $i failed" >>"err.$1"
		fi
		i=$((i + 1))
	done
}

# Start all writers blocked on an exclusive lock of the file "gate",
# then release them together.
run_writers() {
	rm -f ack.* err.* acked gate
	exec 9>gate
	flock -x 9 || return 1
	w=1
	pids=
	while [ $w -le $WRITERS ]; do
		writer $w 9>&- &
		pids="$pids $!"
		w=$((w + 1))
	done
	flock -u 9
	exec 9>&-
	rc=0
	for p in $pids; do
		wait "$p" || rc=1
	done
	return $rc
}

check_result() {
	total=$((WRITERS * NOTES))
	cat err.* &&
	test "$(cat err.* | wc -c)" = 0 &&
	test "$(wc -l <acked)" = $total &&
	docket log --ledger L -n 100000 --json >log.json &&
	python3 "$CHECK" log.json acked &&
	test "$(docket head --ledger L | cut -d: -f1)" = $total &&
	test "$(git -C L rev-list --count refs/heads/main)" = $((total + 1)) &&
	test -z "$(git -C L rev-list --merges refs/heads/main)" &&
	test -z "$(git -C L rev-list --min-parents=2 --all)" &&
	git -C L fsck --strict --no-dangling --no-progress &&
	docket verify --ledger L &&
	test ! -e L/refs/heads/main.lock &&
	test ! -s L/docket.lock
}

# Every acknowledgement a writer printed is the record now at that seq.
check_acks() {
	cat ack.* | sort -n >acks &&
	test "$(wc -l <acks)" = $((WRITERS * NOTES)) &&
	test "$(cut -d: -f1 acks | sort -un | wc -l)" = $((WRITERS * NOTES)) &&
	python3 -c '
import json, sys
recs = {r["seq"]: r["hash"] for r in json.load(open("log.json"))}
bad = 0
for line in open("acks"):
    seq, h = line.strip().split(":")
    if recs.get(int(seq)) != h:
        print("ack %s:%s does not match the ledger" % (seq, h))
        bad = 1
sys.exit(bad)
'
}

test_expect_success 'setup' '
	make_ledger L
'

test_expect_success "$WRITERS writers x $NOTES notes, no fsync: all there, once, in one chain" '
	export DOCKET_FSYNC=0 &&
	run_writers &&
	check_result &&
	check_acks
'

test_expect_success "$WRITERS writers x $NOTES notes with DOCKET_FSYNC=1" '
	rm -rf L && make_ledger L &&
	export DOCKET_FSYNC=1 &&
	run_writers &&
	check_result &&
	check_acks
'

test_expect_success 'the independent checks agree with docket verify' '
	docket verify --ledger L --json >v.json &&
	python3 -c "
import json
v = json.load(open(\"v.json\"))
assert v[\"ok\"] and v[\"verdict\"] == \"ok\" and v[\"records\"] == 401, v
"
'

# Two `docket init` of one new path at once: one wins, the other is
# refused (exit 8), and the winner's ledger is never removed by the loser.
test_expect_success 'two concurrent inits of one path: one ledger, one refusal, nothing lost' '
	make_key admin &&
	i=0 &&
	while [ $i -lt 25 ]; do
		rm -rf R R.docket-init-* r1 r2 || exit 1
		{ docket init --admin admin --key admin.pub R >o1 2>e1; echo $? >r1; } &
		{ docket init --admin admin --key admin.pub R >o2 2>e2; echo $? >r2; } &
		wait &&
		test "$(cat r1 r2 | sort | tr "\n" " ")" = "0 8 " ||
			{ cat e1 e2; exit 1; }
		cat e1 e2 | grep -q "^docket: init: R .*refusing to overwrite it" ||
			{ cat e1 e2; exit 1; }
		# the one that says it created the ledger created this one
		id=$(cat o1 o2 | sed -n "s/^created ledger \([0-9a-f]*\) in R$/\1/p") &&
		docket head --ledger R --json | grep -q "\"ledger_id\":\"$id\"" ||
			exit 1
		docket verify --ledger R -q || exit 1
		test -z "$(ls -d R.docket-init-* 2>/dev/null)" || exit 1
		i=$((i + 1))
	done
'

test_expect_success 'init into an existing empty directory races safely too' '
	i=0 &&
	while [ $i -lt 10 ]; do
		rm -rf E r1 r2 && mkdir E || exit 1
		{ docket init --admin admin --key admin.pub E >o1 2>e1; echo $? >r1; } &
		{ docket init --admin admin --key admin.pub E >o2 2>e2; echo $? >r2; } &
		wait &&
		test "$(cat r1 r2 | sort | tr "\n" " ")" = "0 8 " &&
		docket verify --ledger E -q || { cat e1 e2; exit 1; }
		i=$((i + 1))
	done
'

test_done
