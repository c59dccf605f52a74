#!/bin/sh
# make demo: the order assistant's "cancel my order" flow, end to end, on
# a fresh local ledger, with no external service: the demo shop on SQLite,
# a fake Shopify/SendGrid on 127.0.0.1, SSH keys made on the spot.
#
#   DEMO_DIR   where the demo keeps its ledger and keys (default
#              ./demo-ledger; replaced on each run, kept afterwards)
#   DEMO_FAST  1: no pauses between steps (CI)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${DOCKET_BUILD:=$SRC/build}"
PATH=$DOCKET_BUILD/bin:$PATH
DIR=${DEMO_DIR:-$SRC/demo-ledger}
WF=$SRC/workflows/commerce/order_assistant.yaml
export DOCKET_LEDGER="$DIR/ledger" DOCKET_FSYNC=${DOCKET_FSYNC:-1}
export DOCKET_SHOP_DB="$DIR/shop.db"
# the provider's secrets: read by name at dispatch, never recorded
export SHOPIFY_ACCESS_TOKEN=shpat_demo_not_a_real_token
export SENDGRID_API_KEY=SG.demo_not_a_real_key

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$(printf '\033[1m') D=$(printf '\033[2m') R=$(printf '\033[0m')
else
	B= D= R=
fi
step() {
	printf '\n%s== %s%s\n' "$B" "$*" "$R"
	[ -n "${DEMO_FAST:-}" ] || sleep 1
}
run() {
	printf '%s$ %s%s\n' "$D" "$*" "$R"
	"$@"
}
# run a command that stops with a documented non-zero code
run_expect() {
	want=$1
	shift
	printf '%s$ %s%s\n' "$D" "$*" "$R"
	rc=0
	"$@" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "demo: expected exit $want, got $rc" >&2
		exit 1
	fi
	printf '%s(exit %s)%s\n' "$D" "$rc" "$R"
}

pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || :; }
trap cleanup EXIT

rm -rf "$DIR"
mkdir -p "$DIR/keys"

step "three people, three SSH keys (made now with ssh-keygen)"
for who in admin ci-bot lead-ana; do
	ssh-keygen -q -t ed25519 -N '' -C "$who@demo" -f "$DIR/keys/$who" </dev/null
done
ls "$DIR/keys"

step "a ledger whose policy names them: admin, an agent, a support lead"
cat >"$DIR/policy.json" <<EOF
{"version": 1, "admins_required": 1, "principals": [
 {"name": "admin", "roles": ["admin"], "key": "$(cat "$DIR/keys/admin.pub")"},
 {"name": "ci-bot", "roles": ["agent"], "key": "$(cat "$DIR/keys/ci-bot.pub")"},
 {"name": "lead-ana", "roles": ["support_lead"], "key": "$(cat "$DIR/keys/lead-ana.pub")"}]}
EOF
run docket init --policy "$DIR/policy.json" "$DOCKET_LEDGER"

step "the demo shop (SQLite) and a fake Shopify and SendGrid on 127.0.0.1"
sqlite3 "$DOCKET_SHOP_DB" <"$SRC/workflows/commerce/shop.sql"
python3 "$SRC/tests/fake-provider.py" --port-file "$DIR/provider.port" \
	--log "$DIR/provider.log" --max-seconds 300 2>"$DIR/provider.err" &
pid=$!
i=0
while [ ! -s "$DIR/provider.port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: the fake provider did not start" >&2; exit 1; }
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$DIR/provider.port")"
export DOCKET_SHOPIFY_URL="$url" DOCKET_SENDGRID_URL="$url"
echo "provider: $url"
run docket lint "$WF"

step "a customer asks to cancel ORD-1001: the CI bot runs the order assistant"
DOCKET_ACTOR=ci-bot run_expect 20 docket run --json "$WF" \
	--session tenant_id=acme --session principal=ci-bot \
	--session current_customer_id=CUST-1 --session current_cart_id=CART-1 \
	--input order_id=ORD-1001 --input user_request='Can you cancel my order?' |
	tee "$DIR/run.json"
RUN=$(sed -n 's/.*"run":"\([^"]*\)".*/\1/p' "$DIR/run.json")
P=$(sed -n 's/.*"pending_proposals":\[{"handle":"[^"]*","id":"\([^"]*\)".*/\1/p' "$DIR/run.json")
echo "the run checked the order (evidence), proposed the cancellation and paused (exit 20)"

step "what is waiting for whom"
run docket status

step "support lead Ana approves with her own key (signed, in the ledger)"
DOCKET_ACTOR=lead-ana run docket approve --yes --key "$DIR/keys/lead-ana" "wrp://$P"

step "dispatch: the cancellation is sent exactly once, then the run goes on to the email"
run docket dispatch --ready
echo "side effects the provider performed:"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "effect":
        print("  %s (Idempotency-Key %s)" % (e["kind"], e["key"]))
' "$DIR/provider.log"
echo "a second dispatch finds nothing left to send:"
run docket dispatch --ready

step "the run's timeline, each record hash-checked as it is read"
run docket explain "agent-run://$RUN"

step "an auditor saves the head and verifies: chain, signatures, policy"
anchor=$(docket head | cut -d' ' -f1)
echo "saved anchor: $anchor"
run docket verify --anchor "$anchor"
run python3 "$SRC/ledger/verify.py" "$DOCKET_LEDGER"
run git -C "$DOCKET_LEDGER" fsck --strict --no-dangling
echo "secrets in the ledger's objects: $(git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch | grep -c -a -e "$SHOPIFY_ACCESS_TOKEN" -e "$SENDGRID_API_KEY" || :)"

step "tamper with one record in a copy, through git plumbing (a careful forger
      also fixes the commit trailer)"
git clone -q --bare "$DOCKET_LEDGER" "$DIR/tampered"
python3 "$SRC/tests/tamper.py" "$DIR/tampered" edit-byte 2 body --fix-trailer >/dev/null
printf '%s$ docket verify --ledger %s%s\n' "$D" "$DIR/tampered" "$R"
rc=0
docket verify --ledger "$DIR/tampered" || rc=$?
if [ $rc = 0 ]; then
	echo "demo: the tampered copy verified; this is a bug" >&2
	exit 1
fi
echo "(exit $rc: 10 means tampered; docket names the first bad record)"

step "done"
cat <<MSG
The ledger is kept in $DOCKET_LEDGER. Try:
  export DOCKET_LEDGER=$DOCKET_LEDGER
  docket log
  docket explain agent-run://$RUN --format dot
  docket show 1
  docket verify --json
  git -C \$DOCKET_LEDGER log --stat
MSG
