#!/bin/sh
# Bad input: each gets a clear error, the documented exit code, and
# nothing is written (the branch and the object store are compared
# before and after where a write could happen).
. "$(dirname "$0")/lib.sh"

ZEROS=0000000000000000000000000000000000000000000000000000000000000000

# state DIR: the branch and the object counts of the repository DIR
state() {
	git -C "$1" for-each-ref &&
	git -C "$1" count-objects -v | grep -v '^size'
}

# obj_file DIR REV: the loose object file of REV in repository DIR
obj_file() {
	_o=$(git -C "$1" rev-parse "$2") &&
	echo "$1/objects/$(echo "$_o" | cut -c1-2)/$(echo "$_o" | cut -c3-)"
}

# loose_copy DIR: a copy of L with every object loose (docket may write
# packs), so that single objects can be damaged
loose_copy() {
	rm -rf "$1" "$1.packs" && cp -R L "$1" &&
	mkdir "$1.packs" &&
	for _p in "$1"/objects/pack/pack-*.pack; do
		[ -f "$_p" ] || continue
		mv "$_p" "${_p%.pack}.idx" "$1.packs/" || return 1
		rm -f "${_p%.pack}".* &&
		git -C "$1" unpack-objects -q <"$1.packs/$(basename "$_p")" ||
			return 1
	done &&
	rm -rf "$1.packs" &&
	git -C "$1" fsck --strict --no-dangling --no-progress
}

# plumb_ledger DIR V: a one-record ledger built with git plumbing alone,
# its genesis record saying format version V.
plumb_ledger() {
	_d=$1 _v=$2
	git init -q --bare "$_d" &&
	git -C "$_d" symbolic-ref HEAD refs/heads/main &&
	_at=2026-01-02T03:04:05Z &&
	make_key admin && _key=$(cut -d" " -f1,2 admin.pub) &&
	printf '{"actor":"tester","at":"%s","body":{"created":"%s","format":"docket-ledger","ledger_id":"0123456789abcdef0123456789abcdef","policy":{"admins_required":1,"principals":[{"key":"%s","name":"admin","roles":["admin"]}],"version":1}},"prev":"%s","seq":0,"type":"genesis","v":%s}\n' \
		"$_at" "$_at" "$_key" "$ZEROS" "$_v" >"$_d.rec" &&
	_hash=$(sha256sum <"$_d.rec" | cut -d" " -f1) &&
	_t=$(git -C "$_d" hash-object -w --stdin <"$_d.rec") &&
	_t=$(printf '100644 blob %s\t00.json\n' "$_t" | git -C "$_d" mktree) &&
	for _i in 1 2 3 4; do
		_t=$(printf '040000 tree %s\t00\n' "$_t" | git -C "$_d" mktree) ||
			return 1
	done &&
	_c=$(printf 'genesis: plumbing\n\nDocket-Seq: 0\nDocket-Record: %s\n' "$_hash" |
		GIT_AUTHOR_DATE="$_at" GIT_COMMITTER_DATE="$_at" \
		GIT_AUTHOR_NAME=tester GIT_COMMITTER_NAME=tester \
		GIT_AUTHOR_EMAIL=docket GIT_COMMITTER_EMAIL=docket \
		TZ=UTC git -C "$_d" commit-tree "$_t") &&
	git -C "$_d" update-ref refs/heads/main "$_c"
}

test_expect_success 'setup' '
	make_ledger L &&
	docket note --ledger L one >/dev/null &&
	docket note --ledger L two >/dev/null
'

# --- no ledger there ---------------------------------------------------

for cmd in "note hi" log "show 0" head; do
	test_expect_success "a path that does not exist: docket $cmd, exit 4" "
		test_expect_code 4 docket $cmd --ledger nope 2>err &&
		cat err &&
		grep -q \"^docket: ${cmd%% *}: no ledger at nope; create one with 'docket init nope'\" err &&
		test ! -e nope
	"
done

test_expect_success 'a path that does not exist: docket verify, exit 4' '
	test_expect_code 4 docket verify --ledger nope 2>err &&
	cat err &&
	grep -q "^docket: verify: no ledger at nope" err &&
	test ! -e nope
'

test_expect_success 'a directory that is not a git repository: exit 4, left empty' '
	mkdir plain &&
	test_expect_code 4 docket note --ledger plain hi 2>err &&
	grep -q "^docket: note: plain is not a docket ledger (not a git repository)" err &&
	test -z "$(ls -A plain)"
'

test_expect_success 'an empty git repository: exit 4, nothing written' '
	git init -q --bare empty.git &&
	state empty.git >before &&
	test_expect_code 4 docket note --ledger empty.git hi 2>err &&
	grep -q "empty.git is not a docket ledger (no refs/heads/main branch)" err &&
	state empty.git >after &&
	test_cmp before after &&
	test ! -e empty.git/docket.lock
'

test_expect_success 'a git repository with ordinary history on main: exit 4, nothing written' '
	git init -q -b main work &&
	echo hello >work/file &&
	git -C work add file &&
	git -C work commit -q -m "not a ledger" &&
	state work >before &&
	test_expect_code 4 docket note --ledger work hi 2>err &&
	cat err &&
	grep -q "^docket: note: work is not a docket ledger" err &&
	test_expect_code 4 docket log --ledger work 2>err &&
	grep -q "work is not a docket ledger" err &&
	state work >after &&
	test_cmp before after
'

# --- format versions ----------------------------------------------------

test_expect_success 'a ledger built with git plumbing (format 1) is accepted' '
	plumb_ledger v1 1 &&
	docket verify --ledger v1 &&
	docket log --ledger v1 >out &&
	grep -q "genesis" out &&
	docket note --ledger v1 "on a plumbed ledger" >/dev/null &&
	docket verify --ledger v1
'

test_expect_success 'a ledger of a newer format (genesis v 2): exit 4, says to upgrade, nothing written' '
	plumb_ledger v2 2 &&
	state v2 >before &&
	test_expect_code 4 docket note --ledger v2 hi 2>err &&
	cat err &&
	grep -q "^docket: note: v2 uses ledger format 2; this docket reads format 1: upgrade docket" err &&
	for c in log head verify "show 0"; do
		test_expect_code 4 docket $c --ledger v2 2>err || exit 1
		grep -q "upgrade docket" err || exit 1
	done &&
	state v2 >after &&
	test_cmp before after
'

# --- unreadable objects -------------------------------------------------

test_expect_success 'a corrupt record object: clear errors, verify says unreadable (11), nothing written' '
	loose_copy bad &&
	f=$(obj_file bad main:00/00/00/00/02.json) &&
	test -f "$f" &&
	chmod u+w "$f" &&
	printf "garbage" >"$f" &&
	state bad >before &&
	test_must_fail docket note --ledger bad three 2>err &&
	cat err &&
	grep -q "^docket: note: cannot read record blob: " err &&
	test_must_fail docket log --ledger bad 2>err &&
	grep -q "^docket: log: cannot read record blob" err &&
	test_expect_code 11 docket verify --ledger bad >out 2>err &&
	cat out err &&
	grep -q "^UNREADABLE at record 2 " out &&
	grep -q "could not be read" err &&
	state bad >after &&
	test_cmp before after
'

test_expect_success 'a missing record object: the same, and verify --json names it' '
	loose_copy bad &&
	f=$(obj_file bad main:00/00/00/00/02.json) &&
	test -f "$f" && rm -f "$f" &&
	state bad >before &&
	test_must_fail docket note --ledger bad three 2>err &&
	grep -q "cannot read record blob: object not found" err &&
	test_expect_code 11 docket verify --ledger bad --json >out &&
	python3 -c "
import json
v = json.load(open(\"out\"))
assert v[\"verdict\"] == \"unreadable\" and v[\"first_bad\"][\"seq\"] == 2, v
" &&
	state bad >after &&
	test_cmp before after
'

test_expect_success 'a corrupt genesis object: a clear error naming the genesis record, nothing written' '
	loose_copy bad &&
	f=$(obj_file bad main:00/00/00/00/00.json) &&
	test -f "$f" &&
	chmod u+w "$f" &&
	printf "garbage" >"$f" &&
	state bad >before &&
	for c in "note x" log head; do
		test_must_fail docket $c --ledger bad 2>err || exit 1
		grep -q "cannot read its genesis record: cannot read record blob" err ||
			{ cat err; exit 1; }
	done &&
	state bad >after &&
	test_cmp before after
'

test_expect_success 'verify says unreadable (11) at record 0 when the genesis object is damaged' '
	test_expect_code 11 docket verify --ledger bad >out &&
	grep -q "^UNREADABLE at record 0 " out
'

test_expect_success 'a missing tree object: clear error, nothing written' '
	loose_copy bad &&
	f=$(obj_file bad main:00/00/00/00) &&
	test -f "$f" && rm -f "$f" &&
	state bad >before &&
	test_must_fail docket note --ledger bad x 2>err &&
	cat err &&
	grep -q "object not found" err &&
	state bad >after &&
	test_cmp before after
'

test_expect_success 'a pack holding a record removed (as docket writes them): verify says unreadable' '
	rm -rf bad && cp -R L bad &&
	blob=$(git -C bad rev-parse main:00/00/00/00/01.json) &&
	gone= &&
	for idx in bad/objects/pack/pack-*.idx; do
		[ -f "$idx" ] || continue
		if git show-index <"$idx" | grep -q " $blob"; then
			rm -f "${idx%.idx}.pack" "$idx" && gone=pack
		fi
	done &&
	if [ -z "$gone" ]; then
		rm -f "$(obj_file bad "$blob")" && gone=loose
	fi &&
	test_expect_code 11 docket verify --ledger bad >out &&
	cat out &&
	grep -q "^UNREADABLE.*not found" out
'

# --- show: things that are not there -------------------------------------

test_expect_success 'show: a seq past the head, exit 3' '
	test_expect_code 3 docket show --ledger L 3 2>err &&
	grep -q "^docket: show: no record 3 (the head is 2)" err &&
	test_expect_code 3 docket show --ledger L 9999999999 2>err
'

test_expect_success 'show: a hash, a prefix or a handle that matches nothing, exit 3' '
	test_expect_code 3 docket show --ledger L $ZEROS 2>err &&
	grep -q "^docket: show: no record with hash $ZEROS" err &&
	test_expect_code 3 docket show --ledger L deadbeef 2>err &&
	grep -q "no record with hash deadbeef" err &&
	test_expect_code 3 docket show --ledger L evidence://$ZEROS 2>err &&
	grep -q "no record with hash" err
'

test_expect_success 'show: something that is not a seq, hash or handle, exit 6' '
	test_expect_code 6 docket show --ledger L zzz 2>err &&
	grep -q "is not a seq, a record hash or a handle" err &&
	test_expect_code 6 docket show --ledger L evidence://xyz 2>err &&
	grep -q "evidence handle needs 8 to 64 lowercase hex digits" err &&
	test_expect_code 6 docket show --ledger L abc 2>err &&
	test_expect_code 2 docket show --ledger L 2>err &&
	grep -q "expected one SEQ, HASH or HANDLE" err
'

# --- init -----------------------------------------------------------------

test_expect_success 'init over an existing ledger: exit 8, nothing changed' '
	(cd L && find . -type f | sort | xargs sha256sum) >before &&
	test_expect_code 8 docket init --admin admin --key admin.pub L 2>err &&
	grep -q "^docket: init: L already exists and is not an empty directory; refusing to overwrite it" err &&
	test_expect_code 8 docket init --admin admin --key admin.pub --ledger L 2>err &&
	(cd L && find . -type f | sort | xargs sha256sum) >after &&
	test_cmp before after
'

test_expect_success 'init into a non-empty directory or over a file: exit 8, untouched' '
	mkdir full && echo keep >full/data &&
	test_expect_code 8 docket init --admin admin --key admin.pub full 2>err &&
	grep -q "full already exists" err &&
	test "$(ls -A full)" = data &&
	test "$(cat full/data)" = keep &&
	echo keep >afile &&
	test_expect_code 8 docket init --admin admin --key admin.pub afile 2>err &&
	test "$(cat afile)" = keep
'

test_expect_success 'init into an empty directory works' '
	mkdir emptydir &&
	docket init --admin admin --key admin.pub emptydir >/dev/null &&
	docket verify --ledger emptydir
'

test_expect_success 'init with a key file that is not an SSH public key: exit 6, nothing created' '
	echo "not a key" >junk.pub &&
	test_expect_code 6 docket init --admin admin --key junk.pub new 2>err &&
	grep -q "^docket: init: junk.pub: not an SSH public key" err &&
	test_expect_code 6 docket init --admin admin --key admin new 2>err &&
	grep -q "^docket: init: admin: not an SSH public key" err &&
	: >empty.pub &&
	test_must_fail docket init --admin admin --key empty.pub new 2>err &&
	grep -q "empty.pub" err &&
	test ! -e new
'

test_expect_success 'init with a key file that does not exist: exit 3, nothing created' '
	test_expect_code 3 docket init --admin admin --key missing.pub new 2>err &&
	grep -q "^docket: init: missing.pub: No such file or directory" err &&
	test ! -e new
'

test_expect_success 'init without --key, or without any admin: exit 2, nothing created' '
	test_expect_code 2 docket init --admin admin new 2>err &&
	grep -q "each --admin NAME needs its --key FILE.pub (1 admins, 0 keys)" err &&
	test_expect_code 2 docket init new 2>err &&
	grep -q "a ledger needs a policy with at least one admin" err &&
	test ! -e new
'

# --- note -------------------------------------------------------------

test_expect_success 'note with empty text, bad UTF-8 or two operands: refused, nothing written' '
	state L >before &&
	test_expect_code 6 docket note --ledger L "" 2>err &&
	grep -q "^docket: note: the note must be non-empty UTF-8 text" err &&
	test_expect_code 6 docket note --ledger L "$(printf "bad\377")" 2>err &&
	test_expect_code 2 docket note --ledger L one two 2>err &&
	grep -q "expected one TEXT operand" err &&
	test_expect_code 2 docket note --ledger L 2>err &&
	state L >after &&
	test_cmp before after
'

# --- discovery: --ledger, then DOCKET_LEDGER, then ./.docket upward ----

test_expect_success 'discovery: ./.docket, also from a subdirectory' '
	mkdir -p proj/sub/deep &&
	(cd proj && docket init --admin admin --key ../admin.pub >out) &&
	grep -q "in .docket" proj/out &&
	(cd proj && docket note "in proj" >/dev/null) &&
	(cd proj/sub/deep && docket note "from deep" >/dev/null) &&
	docket log --ledger proj/.docket --json >log.json &&
	grep -q "in proj" log.json &&
	grep -q "from deep" log.json
'

test_expect_success 'discovery: DOCKET_LEDGER wins over ./.docket' '
	(cd proj/sub && DOCKET_LEDGER="$TRASH/L" docket note "to L by env" >/dev/null) &&
	docket log --ledger L --json | grep -q "to L by env" &&
	! docket log --ledger proj/.docket --json | grep -q "to L by env"
'

test_expect_success 'discovery: --ledger wins over DOCKET_LEDGER and ./.docket' '
	(cd proj/sub && DOCKET_LEDGER="$TRASH/L" docket note --ledger "$TRASH/v1" "to v1 by option" >/dev/null) &&
	docket log --ledger v1 --json | grep -q "to v1 by option" &&
	! docket log --ledger L --json | grep -q "to v1 by option" &&
	! docket log --ledger proj/.docket --json | grep -q "to v1 by option"
'

test_expect_success 'discovery: DOCKET_LEDGER naming nothing is an error, not a fall-back' '
	(cd proj && test_expect_code 4 env DOCKET_LEDGER="$TRASH/nowhere" docket log 2>../err) &&
	grep -q "no ledger at $TRASH/nowhere" err
'

test_expect_success 'discovery: with nothing found, the error says how to make a ledger' '
	mkdir -p lonely &&
	(cd lonely && test_expect_code 4 docket log 2>../err) &&
	cat err &&
	grep -q "^docket: log: no ledger at .docket; create one with .docket init .docket. or name one with --ledger or DOCKET_LEDGER" err
'

test_done
