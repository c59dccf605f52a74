#!/bin/sh
# make demo: play docket's flow end to end on a fresh local ledger.
# DEMO_DIR names the folder (default ./demo-ledger; replaced each run).
# DEMO_FAST=1 skips the pauses (CI).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
PATH=$DOCKET_BUILD/bin:$PATH
DIR=${DEMO_DIR:-$SRC/demo-ledger}
export DOCKET_LEDGER=$DIR/ledger
export NO_COLOR=${NO_COLOR:-}

step() {
	printf '\n\033[1m== %s\033[0m\n' "$*"
	[ -n "${DEMO_FAST:-}" ] || sleep 1
}
run() {
	printf '$ %s\n' "$*"
	"$@"
}

rm -rf "$DIR"
mkdir -p "$DIR/keys"
step "demo keys for an admin, generated on the spot (ssh-keygen)"
ssh-keygen -q -t ed25519 -N '' -C "admin@demo" -f "$DIR/keys/admin"
echo "$DIR/keys/admin.pub"

step "a new ledger: a git repository whose first record fixes its id and policy"
run docket init --admin admin --key "$DIR/keys/admin.pub" "$DOCKET_LEDGER"

step "records are appended as hash-chained JSON, one git commit each"
DOCKET_ACTOR=ci-bot run docket note "customer asked to cancel ORD-1001"
DOCKET_ACTOR=lead-ana run docket note "checked ORD-1001: unfulfilled, cancel allowed"
run docket log

step "one record, with its evidence handle"
run docket show 1

step "an auditor saves the head, then verifies with docket and with git"
anchor=$(docket head | cut -d' ' -f1)
echo "saved anchor: $anchor"
run docket verify --anchor "$anchor"
run git -C "$DOCKET_LEDGER" log --oneline
run git -C "$DOCKET_LEDGER" fsck --strict
if [ -f "$SRC/ledger/verify.py" ]; then
	run python3 "$SRC/ledger/verify.py" "$DOCKET_LEDGER"
fi

step "tamper with one record in a copy: rewrite it through git plumbing"
git clone -q --bare "$DOCKET_LEDGER" "$DIR/tampered"
(
	export GIT_DIR="$DIR/tampered"
	path=00/00/00/00/01.json
	git cat-file blob "main:$path" | sed 's/ORD-1001/ORD-1002/' >"$DIR/rec"
	blob=$(git hash-object -w "$DIR/rec")
	old=$(git cat-file blob "main:$path" | sha256sum | cut -c1-64)
	new=$(sha256sum <"$DIR/rec" | cut -c1-64)
	# rebuild every commit from record 1 on, so git itself is consistent
	git rev-list --reverse main | tail -n +2 >"$DIR/commits"
	parent=$(git rev-list --max-parents=0 main)
	while read -r c; do
		idx=$(mktemp)
		GIT_INDEX_FILE=$idx git read-tree "$c"
		GIT_INDEX_FILE=$idx git update-index --cacheinfo "100644,$blob,$path" 2>/dev/null || true
		tree=$(GIT_INDEX_FILE=$idx git write-tree)
		rm -f "$idx"
		# a careful forger also fixes the commit's Docket-Record trailer
		parent=$(git cat-file commit "$c" | sed '1,/^$/d' |
			sed "s/^Docket-Record: $old\$/Docket-Record: $new/" |
			GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=docket \
			GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=docket \
			GIT_AUTHOR_DATE="$(git log -1 --format=%at "$c") +0000" \
			GIT_COMMITTER_DATE="$(git log -1 --format=%ct "$c") +0000" \
			git commit-tree "$tree" -p "$parent")
	done <"$DIR/commits"
	git update-ref refs/heads/main "$parent"
)
printf '$ docket verify --ledger %s\n' "$DIR/tampered"
rc=0
docket verify --ledger "$DIR/tampered" || rc=$?
if [ $rc = 0 ]; then
	echo "demo: the tampered copy verified; this is a bug" >&2
	exit 1
fi
echo "(exit $rc: 10 means tampered; the next record's prev no longer matches)"

step "done"
cat <<MSG
The ledger is kept in $DOCKET_LEDGER. Try:
  export DOCKET_LEDGER=$DOCKET_LEDGER
  docket log
  docket show 2
  docket verify --json
  git -C \$DOCKET_LEDGER log --stat
MSG
