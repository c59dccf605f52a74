# Shared setup for the approval tests: 4 principals with real ssh-keygen
# keys (admin; support leads lead1 and lead2; an agent), a ledger whose
# genesis policy names them, and the demo shop with a $400 order.
setup_approvals() {
	for k in admin lead1 lead2 agent; do make_key $k || return 1; done
	{
		printf '{"version": 1, "admins_required": 1, "principals": ['
		printf '{"name": "admin", "roles": ["admin"], "key": "%s"},' "$(cat admin.pub)"
		printf '{"name": "lead1", "roles": ["support_lead"], "key": "%s"},' "$(cat lead1.pub)"
		printf '{"name": "lead2", "roles": ["support_lead"], "key": "%s"},' "$(cat lead2.pub)"
		printf '{"name": "agent", "roles": ["agent"], "key": "%s"}]}\n' "$(cat agent.pub)"
	} >policy.json &&
	docket init --policy policy.json L >/dev/null &&
	sqlite3 shop.db <"$SRC/workflows/commerce/shop.sql" &&
	sqlite3 shop.db "INSERT INTO orders (id, tenant_id, customer_id, status,
		total_cents, payment_id, placed_at) VALUES ('ORD-2001', 'acme',
		'CUST-1', 'delivered', 40000, 'pi_2001', '2026-11-01')" &&
	ln -s "$SRC/workflows/commerce" wf
}
export DOCKET_LEDGER=L DOCKET_SHOP_DB=shop.db DOCKET_ACTOR=agent

# run_refund AMOUNT_CENTS: start a refunds run for ORD-2001; prints the
# JSON result (exit 20: paused at the refund step).
run_refund() {
	docket run --json "$TRASH/wf/refunds.yaml" --session tenant_id=acme \
		--session principal=svc --session current_customer_id=CUST-1 \
		--input order_id=ORD-2001 --input amount_cents:=$1 \
		--input message=please
}
