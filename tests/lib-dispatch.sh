# Sourced by the dispatch tests (t061x), after tests/lib.sh and
# tests/lib-provider.sh: a ledger, the test workflow and a fake provider
# that requires the canary API key.
#
#   dispatch_setup [PROVIDER FLAGS...]   ledger L, wf.yaml, provider "pay"
#   new_run ORDER AMOUNT [EMAIL]         start a run; prints its proposal
#   key_of PROPOSAL                      its idempotency key
#   last_run                             the run of the last new_run

PAY_KEY=sk_live_CANARY_k3y_4242
export PAY_KEY

dispatch_setup() {
	make_ledger L &&
	DOCKET_LEDGER=$TRASH/L &&
	export DOCKET_LEDGER &&
	cp "$SRC/tests/workflows/dispatch/${DISPATCH_WF:-refund}.yaml" wf.yaml &&
	start_provider pay --api-key "$PAY_KEY" "$@" &&
	DOCKET_PAY_URL=$(provider_url pay) &&
	export DOCKET_PAY_URL
}

new_run() {
	docket run --json wf.yaml --session tenant_id=t1 \
		--input order_id="$1" --input amount_cents:="$2" \
		${3:+--input email="$3"} >"$TRASH/last-run.json"
	_rc=$?
	[ $_rc = 20 ] || { echo "run exited $_rc" >&2; return 1; }
	jq -r '.pending_proposals[0].id' "$TRASH/last-run.json"
}

last_run() {
	jq -r .run "$TRASH/last-run.json"
}

key_of() {
	docket log --json -n 1000000 --type proposal |
		jq -r --arg p "$1" '.. | objects | select(.proposal? == $p) |
			.idempotency_key' | head -n 1
}

# Every git object of the ledger, for canary checks.
ledger_objects() {
	git -C "$DOCKET_LEDGER" cat-file --batch-all-objects --batch
}
