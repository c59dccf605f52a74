#!/bin/sh
# The spare pool (lib/pack.c, docs/design.md "Cost of a branch move"): a
# merge moves the small packs it made redundant into GITDIR/docket/spare
# instead of unlinking them, and later appends write their pack and index
# over those files. Shown here: the pool is used and bounded, git never
# sees it, a reader that still holds an old pack keeps reading it intact
# (a file someone has open is never written over), files that are not
# plain spares are left alone, and without file leases the pool is simply
# not used.
. "$(dirname "$0")/lib.sh"

# notes N LEDGER: append N notes
notes() {
	_i=1
	while [ $_i -le "$1" ]; do
		docket note --ledger "$2" "n$_i" >/dev/null || return 1
		_i=$((_i + 1))
	done
}

# inodes of the files in LEDGER's pool, one per line
pool_inodes() {
	find "$1/docket/spare" -type f -printf '%i\n' 2>/dev/null | sort
}

# pack_inodes LEDGER: inodes of the pack files git reads
pack_inodes() {
	find "$1/objects/pack" -type f -printf '%i\n' | sort
}

sound() {
	docket verify --ledger "$1" -q &&
	git -C "$1" fsck --strict --no-dangling --no-progress >/dev/null 2>&1
}

test_expect_success 'a merge fills the pool; git does not see it' '
	make_ledger L &&
	notes 40 L &&
	ls L/docket/spare >pool &&
	test -s pool &&
	! grep -v "^[0-9][0-9][0-9][0-9]-pack-[0-9a-f]\{40\}\.\(pack\|idx\)$" pool &&
	test -z "$(find L/docket/spare -type f ! -perm 0600)" &&
	git -C L count-objects -v >count &&
	grep -q "^garbage: 0$" count &&
	sound L
'

test_expect_success 'appends write over spares: pool files become packs' '
	pool_inodes L >before &&
	notes 10 L &&
	pack_inodes L >after &&
	comm -12 before after >reused &&
	test -s reused &&
	sound L
'

test_expect_success 'the pool stays bounded: at most 64 files of at most 64 KiB' '
	notes 200 L &&
	test "$(ls L/docket/spare | wc -l)" -le 64 &&
	test -z "$(find L/docket/spare -type f -size +64k)" &&
	test "$(ls L/objects/pack | wc -l)" -le 64 &&
	sound L &&
	test "$(docket log --ledger L -n 1000 --type note --json |
		python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 250
'

# git cat-file --batch maps the packs it reads and keeps them until it
# exits; its answers must not change while docket merges and recycles.
test_expect_success 'a reader holding old packs reads them intact' '
	make_ledger R &&
	notes 20 R &&
	git -C R rev-list --objects --all | cut -d" " -f1 >ids &&
	test "$(wc -l <ids)" -gt 60 &&
	mkfifo in &&
	{ git -C R cat-file --batch <in >batch.out & echo $! >reader.pid; } &&
	exec 9>in &&
	cat ids >&9 && echo 0000000000000000000000000000000000000001 >&9 &&
	n=0 && until grep -q "^0\{39\}1 missing$" batch.out; do
		n=$((n + 1)) && test $n -lt 500 || exit 1; sleep 0.02
	done &&
	cp batch.out first.out &&
	notes 80 R &&
	# the premise: the reader holds files that are now in the pool
	grep "/docket/spare/" /proc/$(cat reader.pid)/maps >held &&
	test -s held &&
	cat ids >&9 && echo 0000000000000000000000000000000000000002 >&9 &&
	n=0 && until grep -q "^0\{39\}2 missing$" batch.out; do
		n=$((n + 1)) && test $n -lt 500 || exit 1; sleep 0.02
	done &&
	exec 9>&- && wait "$(cat reader.pid)" &&
	sed "/^0\{39\}1 missing$/,\$d" batch.out >part1 &&
	sed "1,/^0\{39\}1 missing$/d; /^0\{39\}2 missing$/,\$d" batch.out >part2 &&
	head -c 200 part1 | grep -q " commit " &&
	cmp part1 part2 &&
	sound R
'

test_expect_success 'spares that are not plain docket files are left alone' '
	ls L/docket/spare | head -n 3 >three &&
	test "$(wc -l <three)" = 3 &&
	a=$(sed -n 1p three) && b=$(sed -n 2p three) && c=$(sed -n 3p three) &&
	# linked twice (as a crash repaired by fsck could leave it)
	ln "L/docket/spare/$a" twice && cp twice twice.copy &&
	# someone else s
	chown nobody "L/docket/spare/$b" && cp "L/docket/spare/$b" other.copy &&
	# a symbolic link to a file outside
	rm "L/docket/spare/$c" && echo precious >outside &&
	ln -s "$TRASH/outside" "L/docket/spare/$c" &&
	notes 40 L &&
	cmp twice twice.copy &&
	test ! -e "L/docket/spare/$a" &&
	cmp "L/docket/spare/$b" other.copy &&
	test "$(cat outside)" = precious &&
	sound L
'

if command -v strace >/dev/null 2>&1 &&
	strace -qq -o /dev/null -e inject=getpid:error=EPERM:when=1 true 2>/dev/null &&
	[ -z "${DOCKET_VALGRIND:-}" ]; then
	test_expect_success 'without file leases no spare is written over' '
		pool_inodes L >before &&
		test -s before &&
		i=1 && while [ $i -le 20 ]; do
			ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
			strace -f -qq -o /dev/null -e trace=fcntl \
				-e inject=fcntl:error=EINVAL \
				docket note --ledger L "no lease $i" >/dev/null || exit 1
			i=$((i + 1))
		done &&
		pack_inodes L >after &&
		test -z "$(comm -12 before after)" &&
		sound L
	'
else
	test_skip 'strace with syscall injection is needed' \
		'without file leases no spare is written over'
fi

test_done
