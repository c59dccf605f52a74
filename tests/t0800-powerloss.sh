#!/bin/sh
# Power loss: an append is cut at each of its crash points by
# tests/powerloss (an LD_PRELOAD shim that discards every write and every
# directory change not yet made durable by fsync, then kills the process).
# Afterwards the ledger verifies, no acknowledged record is missing, and
# the next append succeeds. With fsync off, the same harness must find an
# acknowledged record lost: proof that it can see damage.
DOCKET_FSYNC=1
. "$(dirname "$0")/lib.sh"
skip_under_valgrind 'the power-loss shim is an LD_PRELOAD library, which valgrind does not combine with'

SHIM=$DOCKET_BUILD/tests/powerloss.so
# ASan wants to be first among preloaded libraries; ours may come after
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"

# cut_at N [fsync]: copy L0 to L, append "cut-N" with the power cut at its
# N-th crash point; print "ack" if the append reported success.
BASE=L0
cut_at() {
	rm -rf L bk && cp -a $BASE L && mkdir bk &&
	out=$(DOCKET_FSYNC=${2:-1} LD_PRELOAD=$SHIM POWERLOSS_AT=$1 \
		POWERLOSS_ROOT=$TRASH/L POWERLOSS_BACKUPS=$TRASH/bk \
		docket note --ledger L "cut-$1" 2>/dev/null)
	case "$out" in
	[0-9]*:*) echo ack ;;
	*) echo lost ;;
	esac
}

present() {
	docket log --ledger L -n 1000 --json | grep -q "\"text\":\"cut-$1\""
}

test_expect_success 'setup: a ledger, and the crash points of one append' '
	make_ledger L0 &&
	for i in 1 2 3; do docket note --ledger L0 "n$i" >/dev/null || exit 1; done &&
	cp -a L0 C && mkdir bk &&
	LD_PRELOAD=$SHIM POWERLOSS_AT=0 POWERLOSS_ROOT=$TRASH/C \
		POWERLOSS_BACKUPS=$TRASH/bk POWERLOSS_LOG=$TRASH/points \
		docket note --ledger C counted >/dev/null &&
	n=$(wc -l <points) && test "$n" -ge 10 &&
	grep -q " fsync .*/objects/pack$" points &&
	grep -q " rename .*/refs/heads/main$" points &&
	echo "$n" >npoints &&
	# the branch move is durable once refs/heads is fsynced
	sed -n "s/^\([0-9]*\) fsync .*\/refs\/heads$/\1/p" points >durable &&
	test -s durable
'

line_of() { grep -n -m1 -- "$1" points | cut -d: -f1; }

test_expect_success 'fsync accounting: 5 per append, objects durable before the branch moves' '
	# pack, index, their directory, refs/heads: fsync; the new ref id,
	# written over the spare lock file in place: fdatasync
	test "$(grep -c " fsync " points)" = 4 &&
	test "$(grep -c " fdatasync " points)" = 1 &&
	pack=$(line_of " rename .*\.pack$") && idx=$(line_of " rename .*\.idx$") &&
	odir=$(line_of " fsync .*/objects/pack$") &&
	lsync=$(line_of " fdatasync .*/refs/heads/.docket-spare.lock$") &&
	lock=$(line_of " rename .*/refs/heads/main.lock$") &&
	ref=$(line_of " rename .*/refs/heads/main$") &&
	rdir=$(line_of " fsync .*/refs/heads$") &&
	# each pack file fsynced before it gets its name
	test "$(sed -n "$((pack - 1))p" points | cut -d" " -f2)" = fsync &&
	test "$(sed -n "$((idx - 1))p" points | cut -d" " -f2)" = fsync &&
	test "$pack" -lt "$idx" && test "$idx" -lt "$odir" &&
	test "$odir" -lt "$lsync" && test "$lsync" -lt "$lock" &&
	test "$lock" -lt "$ref" && test "$ref" -lt "$rdir"
'

test_expect_success 'a cut before the branch is durable leaves no record, after it the whole record' '
	n=$(cat npoints) && d=$(cat durable) && i=1 &&
	while [ $i -le "$n" ]; do
		cut_at $i >/dev/null
		if [ $i -le "$d" ]; then
			! present $i || { echo "point $i: record present"; exit 1; }
		else
			present $i || { echo "point $i: record missing"; exit 1; }
		fi
		i=$((i + 1))
	done
'

# cut_all BASE: cut an append to BASE at each of its crash points
cut_all() {
	BASE=$1 &&
	rm -rf C bk points && cp -a $BASE C && mkdir bk &&
	LD_PRELOAD=$SHIM POWERLOSS_AT=0 POWERLOSS_ROOT=$TRASH/C \
		POWERLOSS_BACKUPS=$TRASH/bk POWERLOSS_LOG=$TRASH/points \
		docket note --ledger C counted >/dev/null &&
	n=$(wc -l <points) && i=1 && acked=0 &&
	while [ $i -le "$n" ]; do
		r=$(cut_at $i) &&
		docket verify --ledger L -q ||
			{ echo "point $i: verify failed"; return 1; }
		git -C L fsck --strict --no-dangling >/dev/null 2>&1 ||
			{ echo "point $i: git fsck failed"; return 1; }
		test -z "$(find L/docket/spare -type f -links +1 2>/dev/null)" ||
			{ echo "point $i: a spare is linked twice"; return 1; }
		if [ "$r" = ack ]; then
			acked=$((acked + 1))
			present $i || { echo "point $i: acknowledged record lost"; return 1; }
		fi
		docket note --ledger L "after-$i" >/dev/null &&
			docket verify --ledger L -q ||
			{ echo "point $i: next append failed"; return 1; }
		i=$((i + 1))
	done &&
	echo "$BASE: $n crash points, $acked acknowledged before the cut"
}

test_expect_success 'a cut at every crash point: ledger verifies, nothing acknowledged is lost' '
	cut_all L0 &&
	test "$n" = "$(cat npoints)"
'

test_expect_success 'a cut after the append reported success loses nothing' '
	test "$(cut_at exit)" = ack && present exit &&
	docket verify --ledger L -q
'

# The spare pool (lib/pack.c): an append that writes its pack and index
# over spare files, and one whose merge moves packs into the pool.
test_expect_success 'setup: ledgers whose next append uses spares, or merges' '
	cp -a L0 S0 && i=4 &&
	while [ $i -le 20 ]; do
		docket note --ledger S0 "n$i" >/dev/null || exit 1
		i=$((i + 1))
	done &&
	test -n "$(ls S0/docket/spare)" &&
	cp -a S0 M0 &&
	while [ $i -le 31 ]; do
		docket note --ledger M0 "n$i" >/dev/null || exit 1
		i=$((i + 1))
	done
'

test_expect_success 'an append over spares, cut at every crash point' '
	cut_all S0 &&
	grep -q " write .*/docket/spare/" points
'

test_expect_success 'an append whose merge fills the pool, cut at every crash point' '
	cut_all M0 &&
	grep -q " rename .*/docket/spare/" points
'

test_expect_success 'positive control: with fsync off the harness finds the loss' '
	BASE=L0 &&
	test "$(cut_at exit 0)" = ack &&
	! present exit
'

test_done
