#!/bin/sh
# The order assistant end to end through dispatch: a cancellation request
# pauses at the order cancel (it needs a support lead); once approved, one
# dispatch cancels the order, continues the run to the confirmation mail,
# sends it, and the run completes. The workflow is the demo's
# (workflows/commerce/order_assistant.yaml) with one change: the fake
# provider serves /v1/orders/ID/cancel, not Shopify's .../cancel.json.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

for k in admin lead; do make_key $k || exit 1; done
printf '{"version": 1, "admins_required": 1, "principals": [%s, %s]}\n' \
	"{\"name\": \"admin\", \"roles\": [\"admin\"], \"key\": \"$(cat admin.pub)\"}" \
	"{\"name\": \"lead\", \"roles\": [\"support_lead\"], \"key\": \"$(cat lead.pub)\"}" \
	>policy.json
docket init --policy policy.json L >/dev/null || exit 1
DOCKET_LEDGER=$TRASH/L
export DOCKET_LEDGER
cp -R "$SRC/workflows/commerce" commerce
sed -e 's|path: /orders/{order_id}/cancel.json|path: /v1/orders/{order_id}/cancel|' \
	"$SRC/workflows/commerce/order_assistant.yaml" >commerce/order_assistant.yaml
sqlite3 shop.db <"$SRC/workflows/commerce/shop.sql"
DOCKET_SHOP_DB=$TRASH/shop.db
SHOPIFY_ACCESS_TOKEN=shpat_CANARY_0a1b2c3d
SENDGRID_API_KEY=SG.CANARY_9z8y7x
export DOCKET_SHOP_DB SHOPIFY_ACCESS_TOKEN SENDGRID_API_KEY
start_provider shop
DOCKET_SHOPIFY_URL=$(provider_url shop)
DOCKET_SENDGRID_URL=$(provider_url shop)
export DOCKET_SHOPIFY_URL DOCKET_SENDGRID_URL

test_expect_success 'a cancellation request pauses at the cancel, waiting for approval' '
	test_expect_code 20 docket run --json "$TRASH/commerce/order_assistant.yaml" \
		--session tenant_id=acme --session principal=agent-7 \
		--session current_customer_id=CUST-1 --session current_cart_id=CART-1 \
		--input order_id=ORD-1001 --input user_request="please cancel my order" \
		>run.json &&
	jq -r .run run.json >r &&
	jq -r ".pending_proposals[0].id" run.json >p &&
	jq -e ".pending_proposals[0].waiting == \"approval\"" run.json &&
	test_expect_code 7 docket dispatch "$(cat p)" 2>err &&
	test "$(requests shop)" = 0
'

test_expect_success 'approved, one dispatch cancels, continues, mails, completes' '
	docket approve --yes --key lead "$(cat p)" >/dev/null &&
	docket status --json | jq -e ".awaiting_dispatch | length == 1" &&
	docket dispatch "$(cat p)" >out &&
	grep "shopify.cancel_order: succeeded HTTP 200" out &&
	grep "sendgrid.send_confirmation_email: succeeded HTTP 202" out &&
	grep "continued: completed" out &&
	test "$(effects shop)" = 2 &&
	grep "\"event\":\"effect\"" shop.log | grep "\"kind\":\"order_cancel\"" | grep ORD-1001 &&
	grep "\"event\":\"effect\"" shop.log | grep "\"kind\":\"mail\"" | grep "alice@example.com"
'

test_expect_success 'explain: the cancel, its result, the resumed run, the mail' '
	docket explain "$(cat r)" >ex &&
	grep "cancel_order .*shopify.cancel_order .*ok" ex &&
	grep "send_confirmation .*sendgrid.send_confirmation_email .*ok" ex &&
	grep "{\"message_id\":\"msg_" ex &&
	grep "^status  completed" ex &&
	grep "votes   approve by lead (support_lead) .*signature verified" ex
'

test_expect_success 'the customer email and the tokens never reach the ledger' '
	ledger_objects >objects &&
	! grep -a "alice@example.com" objects &&
	! grep -a "$SHOPIFY_ACCESS_TOKEN" objects &&
	! grep -a "$SENDGRID_API_KEY" objects &&
	docket verify >/dev/null
'

test_expect_success 'show resolves run and proposal handles to their records' '
	docket show "agent-run://$(cat r)" >s1 &&
	grep -q "^type    run.started" s1 &&
	docket show --json "wrp://$(cat p)" | jq -e ".record.type == \"proposal\"" &&
	test_expect_code 3 docket show wrp://p-0000000000000000 2>err &&
	grep -q "no proposal" err
'

test_done
