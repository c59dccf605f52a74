/*
 * The example workflows against the demo shop: every sql capability's
 * rewritten query prepares and runs on workflows/commerce/shop.sql, and
 * the session bindings keep customers to their own orders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "util.h"
#include "workflow.h"

static char src_dir[4096];

/* The source tree: $DOCKET_SRC, else upwards from $DOCKET_BUILD or cwd. */
static int find_src(void)
{
	const char *env = getenv("DOCKET_SRC");
	char probe[4200];

	if (env) {
		snprintf(src_dir, sizeof(src_dir), "%s", env);
		return 0;
	}
	env = getenv("DOCKET_BUILD");
	if (!env || !realpath(env, src_dir))
		if (!getcwd(src_dir, sizeof(src_dir)))
			return -1;
	for (;;) {
		char *slash;
		snprintf(probe, sizeof(probe), "%s/workflows/commerce/shop.sql",
		         src_dir);
		if (access(probe, R_OK) == 0)
			return 0;
		if (!(slash = strrchr(src_dir, '/')) || slash == src_dir)
			return -1;
		*slash = 0;
	}
}

static sqlite3 *shop(void)
{
	char path[4200], *sql = NULL, *err = NULL;
	size_t len;
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/workflows/commerce/shop.sql", src_dir);
	assert_int_equal(dk_read_file(&sql, &len, path, 1 << 20), 0);
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("shop.sql: %s", err);
	free(sql);
	return db;
}

static struct dk_workflow *load(const char *name)
{
	char path[4200];
	struct dk_workflow *wf = NULL;

	snprintf(path, sizeof(path), "%s/workflows/commerce/%s.yaml", src_dir,
	         name);
	assert_int_equal(dk_workflow_load(&wf, path, NULL), 0);
	return wf;
}

/*
 * Run capability cap with the session and args (JSON objects) as the
 * executor will: parameter i from session or args. Returns the rows as a
 * JSON array of objects.
 */
static json_t *run_sql(sqlite3 *db, const struct dk_capability *c,
                       const char *session, const char *args)
{
	json_t *s = json_loads(session, 0, NULL),
	       *a = json_loads(args, 0, NULL);
	json_t *rows = json_array();
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	assert_int_equal(c->kind, DK_CAP_SQL);
	if (sqlite3_prepare_v2(db, c->sql.sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", c->name, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_bind_parameter_count(st), (int)c->sql.nparams);
	for (i = 0; i < c->sql.nparams; i++) {
		json_t *v =
		    json_object_get(c->sql.params[i].from_session ? s : a,
		                    c->sql.params[i].name);
		if (json_is_string(v))
			sqlite3_bind_text(st, (int)i + 1, json_string_value(v),
			                  -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, (int)i + 1);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		int k;
		for (k = 0; k < sqlite3_column_count(st); k++) {
			const char *col = sqlite3_column_name(st, k);
			switch (sqlite3_column_type(st, k)) {
			case SQLITE_INTEGER:
				json_object_set_new(
				    row, col,
				    json_integer(sqlite3_column_int64(st, k)));
				break;
			case SQLITE_NULL:
				json_object_set_new(row, col, json_null());
				break;
			default:
				json_object_set_new(
				    row, col,
				    json_string(
				        (const char *)sqlite3_column_text(st,
				                                          k)));
			}
		}
		json_array_append_new(rows, row);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	json_decref(s);
	json_decref(a);
	return rows;
}

#define ALICE                                                                  \
	"{\"tenant_id\":\"acme\",\"principal\":\"agent\","                     \
	"\"current_customer_id\":\"CUST-1\",\"current_cart_id\":\"CART-1\"}"

static const char *str(json_t *rows, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(rows, i), k));
}

static json_int_t num(json_t *rows, size_t i, const char *k)
{
	return json_integer_value(json_object_get(json_array_get(rows, i), k));
}

static void test_examples__order_assistant(void **state)
{
	struct dk_workflow *wf = load("order_assistant");
	sqlite3 *db = shop();
	json_t *r;

	(void)state;
	r = run_sql(db,
	            dk_workflow_capability(wf, "commerce.check_order_status"),
	            ALICE, "{\"order_id\":\"ORD-1001\"}");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(str(r, 0, "status"), "placed");
	assert_int_equal(num(r, 0, "total_cents"), 4999);
	json_decref(r);
	/* Bob's order is invisible to Alice, whatever the input says. */
	r = run_sql(db,
	            dk_workflow_capability(wf, "commerce.check_order_status"),
	            ALICE, "{\"order_id\":\"ORD-1003\"}");
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	r = run_sql(
	    db, dk_workflow_capability(wf, "commerce.answer_product_question"),
	    ALICE, "{\"query\":\"mug\"}");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(str(r, 0, "sku"), "SKU-MUG");
	json_decref(r);
	r = run_sql(db,
	            dk_workflow_capability(wf, "commerce.recommend_products"),
	            ALICE, "{}");
	assert_true(json_array_size(r) >= 1);
	for (size_t i = 0; i < json_array_size(r); i++) {
		assert_string_not_equal(str(r, i, "sku"), "SKU-TEE");
		assert_string_not_equal(str(r, i, "sku"), "SKU-GLOBE");
	}
	json_decref(r);
	sqlite3_close(db);
	dk_workflow_free(wf);
}

static void test_examples__returns_eligibility(void **state)
{
	struct dk_workflow *wf = load("returns");
	const struct dk_capability *c =
	    dk_workflow_capability(wf, "commerce.check_return_eligibility");
	sqlite3 *db = shop();
	json_t *r;

	(void)state;
	r = run_sql(db, c, ALICE, "{\"order_id\":\"ORD-1002\"}");
	assert_int_equal(num(r, 0, "eligible"), 1);
	json_decref(r);
	r = run_sql(db, c, ALICE, "{\"order_id\":\"ORD-1006\"}");
	assert_int_equal(num(r, 0, "eligible"), 0); /* outside the window */
	json_decref(r);
	r = run_sql(db, c, ALICE, "{\"order_id\":\"ORD-1001\"}");
	assert_int_equal(num(r, 0, "eligible"), 0); /* not delivered */
	json_decref(r);
	r = run_sql(
	    db, c,
	    "{\"tenant_id\":\"acme\",\"current_customer_id\":\"CUST-2\"}",
	    "{\"order_id\":\"ORD-1003\"}");
	assert_int_equal(num(r, 0, "has_final_sale"), 1);
	assert_int_equal(num(r, 0, "eligible"), 0);
	json_decref(r);
	sqlite3_close(db);
	dk_workflow_free(wf);
}

static void test_examples__refunds_and_handoff(void **state)
{
	struct dk_workflow *wf = load("refunds");
	sqlite3 *db = shop();
	json_t *r;

	(void)state;
	r = run_sql(
	    db, dk_workflow_capability(wf, "commerce.lookup_order"),
	    "{\"tenant_id\":\"acme\",\"current_customer_id\":\"CUST-3\"}",
	    "{\"order_id\":\"ORD-1004\"}");
	assert_int_equal(num(r, 0, "fraud_suspected"), 1);
	assert_int_equal(num(r, 0, "total_cents"), 25000);
	json_decref(r);
	r = run_sql(db, dk_workflow_capability(wf, "commerce.lookup_order"),
	            ALICE, "{\"order_id\":\"ORD-1002\"}");
	assert_int_equal(num(r, 0, "fraud_suspected"), 0);
	assert_string_equal(str(r, 0, "payment_id"), "pi_1002");
	json_decref(r);
	/* Another tenant's order is not found even with its customer id. */
	r = run_sql(
	    db, dk_workflow_capability(wf, "commerce.lookup_order"),
	    "{\"tenant_id\":\"acme\",\"current_customer_id\":\"CUST-9\"}",
	    "{\"order_id\":\"ORD-9001\"}");
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	dk_workflow_free(wf);

	wf = load("order_handoff");
	r = run_sql(db, dk_workflow_capability(wf, "commerce.order_status"),
	            ALICE, "{\"order_id\":\"ORD-1005\"}");
	assert_string_equal(str(r, 0, "status"), "shipped");
	json_decref(r);
	assert_true(wf->budget.max_cost_cents > 0);
	sqlite3_close(db);
	dk_workflow_free(wf);
}

static void test_examples__load_twice_same_hash(void **state)
{
	const char *names[] = { "order_assistant", "refunds", "returns",
		                "order_handoff" };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct dk_workflow *a = load(names[i]), *b = load(names[i]);
		char h[65];
		assert_string_equal(a->workflow_hash, b->workflow_hash);
		dk_sha256_hex(h, a->canonical_text, strlen(a->canonical_text));
		assert_string_equal(h, a->workflow_hash);
		dk_workflow_free(a);
		dk_workflow_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples__order_assistant),
		cmocka_unit_test(test_examples__returns_eligibility),
		cmocka_unit_test(test_examples__refunds_and_handoff),
		cmocka_unit_test(test_examples__load_twice_same_hash),
	};

	if (find_src() < 0) {
		fprintf(stderr,
		        "cannot find the source tree (set DOCKET_SRC)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
