/*
 * Unit tests for the workflow loader, jq wrapper and schema validator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "jqexpr.h"
#include "schema.h"
#include "workflow.h"

static json_t *J(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static void test_jq__eval_object(void **state)
{
	struct dk_jq *e = NULL;
	json_t *in = J("{\"input\":{\"order_id\":\"ORD-1\"},\"n\":2}"), *out;

	(void)state;
	assert_int_equal(dk_jq_compile(&e,
	                               "{order_id: .input.order_id, m: "
	                               "(.n * 21)}",
	                               NULL),
	                 0);
	assert_int_equal(dk_jq_eval(&out, e, in), 0);
	assert_string_equal(json_string_value(json_object_get(out, "order_id")),
	                    "ORD-1");
	assert_int_equal(json_integer_value(json_object_get(out, "m")), 42);
	json_decref(out);
	/* Reusable: a second evaluation gives the same answer. */
	assert_int_equal(dk_jq_eval(&out, e, in), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "m")), 42);
	json_decref(out);
	json_decref(in);
	dk_jq_free(e);
}

static void test_jq__compile_error_located(void **state)
{
	struct dk_jq *e = NULL;
	struct dk_jq_error err;

	(void)state;
	assert_int_equal(dk_jq_compile(&e, ".a and\n(.b ==", &err),
	                 DK_EINVALID);
	assert_null(e);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg,
	                    "syntax error, unexpected end of expression");
	/* Reported without calling libjq, which leaks on this error. */
	assert_int_equal(dk_jq_compile(&e, ".a +\n\"x\\(.b) y", &err),
	                 DK_EINVALID);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "syntax error, unterminated string");
	assert_int_equal(dk_jq_compile(&e, "nosuch(1)", &err), DK_EINVALID);
	assert_string_equal(err.msg, "nosuch/1 is not defined");
}

static void test_jq__bool_and_errors(void **state)
{
	struct dk_jq *e = NULL;
	json_t *in = J("{\"a\":5,\"s\":\"x\"}"), *out = NULL;
	int b = -1;

	(void)state;
	assert_int_equal(dk_jq_compile(&e, ".a > 3", NULL), 0);
	assert_int_equal(dk_jq_eval_bool(&b, e, in), 0);
	assert_int_equal(b, 1);
	dk_jq_free(e);
	assert_int_equal(dk_jq_compile(&e, ".missing", NULL), 0);
	assert_int_equal(dk_jq_eval_bool(&b, e, in), 0);
	assert_int_equal(b, 0); /* null is false */
	dk_jq_free(e);
	assert_int_equal(dk_jq_compile(&e, "empty", NULL), 0);
	assert_int_equal(dk_jq_eval_bool(&b, e, in), 0);
	assert_int_equal(b, 0);
	assert_int_equal(dk_jq_eval(&out, e, in), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "produced no value"));
	dk_jq_free(e);
	assert_int_equal(dk_jq_compile(&e, ".a, .a", NULL), 0);
	assert_int_equal(dk_jq_eval(&out, e, in), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "more than one value"));
	dk_jq_free(e);
	assert_int_equal(dk_jq_compile(&e, ".s + 1", NULL), 0);
	assert_int_equal(dk_jq_eval(&out, e, in), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "cannot be added"));
	assert_int_equal(dk_jq_eval_bool(&b, e, in), DK_EINVALID);
	dk_jq_free(e);
	assert_int_equal(dk_jq_compile(&e, "error(\"boom\")", NULL), 0);
	assert_int_equal(dk_jq_eval(&out, e, in), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "boom"));
	dk_jq_free(e);
	json_decref(in);
}

static void test_jq__set(void **state)
{
	const char *srcs[] = {
		".a + 1",
		".a # a comment at the end",
		"\"n=\\(.a) (\\(\"x)\")\"",
		"def f: . * 2; .a | f",
		"1), (2", /* unbalanced: alone, and fails */
		"__dk0",  /* reserved prefix: alone, and fails */
		"[.a, .a]",
	};
	struct dk_jq_set *set = NULL;
	struct dk_jq *e[7] = { 0 };
	struct dk_jq_error je;
	json_t *in = J("{\"a\":3}"), *out;
	size_t i, nfailed = 9;

	(void)state;
	assert_int_equal(dk_jq_set_new(&set), 0);
	for (i = 0; i < 7; i++) {
		int rc = dk_jq_set_add(&e[i], set, srcs[i], &je);
		if (i == 4 || i == 5) {
			assert_int_equal(rc, DK_EINVALID);
			assert_null(e[i]);
		} else {
			assert_int_equal(rc, 0);
		}
	}
	assert_int_equal(dk_jq_set_compile(&nfailed, set), 0);
	assert_int_equal(nfailed, 0);
	dk_jq_set_free(set); /* the expressions keep it alive */
	assert_int_equal(dk_jq_eval(&out, e[0], in), 0);
	assert_int_equal(json_integer_value(out), 4);
	json_decref(out);
	assert_int_equal(dk_jq_eval(&out, e[1], in), 0);
	assert_int_equal(json_integer_value(out), 3);
	json_decref(out);
	assert_int_equal(dk_jq_eval(&out, e[2], in), 0);
	assert_string_equal(json_string_value(out), "n=3 (x)");
	json_decref(out);
	assert_int_equal(dk_jq_eval(&out, e[3], in), 0);
	assert_int_equal(json_integer_value(out), 6);
	json_decref(out);
	assert_int_equal(dk_jq_eval(&out, e[6], in), 0);
	assert_int_equal(json_array_size(out), 2);
	json_decref(out);
	assert_string_equal(dk_jq_source(e[6]), "[.a, .a]");
	for (i = 0; i < 7; i++)
		dk_jq_free(e[i]);

	/* One bad expression: the others still work, the bad one says why. */
	assert_int_equal(dk_jq_set_new(&set), 0);
	assert_int_equal(dk_jq_set_add(&e[0], set, ".a * 10", NULL), 0);
	assert_int_equal(dk_jq_set_add(&e[1], set, ".a |", NULL), 0);
	assert_int_equal(dk_jq_set_compile(&nfailed, set), DK_EINVALID);
	assert_int_equal(nfailed, 1);
	assert_int_equal(dk_jq_failed(e[0], NULL), 0);
	assert_int_equal(dk_jq_failed(e[1], &je), 1);
	assert_string_equal(je.msg,
	                    "syntax error, unexpected end of expression");
	assert_int_equal(dk_jq_eval(&out, e[0], in), 0);
	assert_int_equal(json_integer_value(out), 30);
	json_decref(out);
	dk_jq_free(e[0]);
	dk_jq_free(e[1]);
	dk_jq_set_free(set);
	json_decref(in);
}

/* Sets compile in chunks; expressions on both sides of a boundary work. */
static void test_jq__set_chunks(void **state)
{
	struct dk_jq_set *set = NULL;
	struct dk_jq *e[300];
	struct dk_jq_error je;
	json_t *in = J("{\"a\":1}"), *out;
	char src[64];
	size_t i, nfailed;

	(void)state;
	assert_int_equal(dk_jq_set_new(&set), 0);
	for (i = 0; i < 300; i++) {
		snprintf(src, sizeof(src), i == 200 ? ".a +" : ".a + %zu", i);
		assert_int_equal(dk_jq_set_add(&e[i], set, src, NULL), 0);
	}
	assert_int_equal(dk_jq_set_compile(&nfailed, set), DK_EINVALID);
	assert_int_equal(nfailed, 1);
	assert_int_equal(dk_jq_failed(e[200], &je), 1);
	for (i = 0; i < 300; i++) {
		if (i == 200)
			continue;
		assert_int_equal(dk_jq_failed(e[i], NULL), 0);
		assert_int_equal(dk_jq_eval(&out, e[i], in), 0);
		assert_int_equal(json_integer_value(out), (json_int_t)i + 1);
		json_decref(out);
	}
	for (i = 0; i < 300; i++)
		dk_jq_free(e[i]);
	dk_jq_set_free(set);
	json_decref(in);
}

static void test_jq__sandbox(void **state)
{
	struct dk_jq_error err;
	const char *ok[] = {
		".env",
		"{env: 1}",
		"{env}",
		". as {env: $e} | $e",
		"\"env input $ENV\"",
		"# env\n.a",
		"input_line_number",
		".a.stderr",
		"$__loc__",
	};
	const char *bad[] = {
		"$ENV.HOME",        "env.HOME",       "[input]",
		"inputs",           "input_filename", "import \"a\" as a; .",
		"include \"a\"; .", "stderr",         ".a | debug",
		"\"\\(env.X)\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		assert_int_equal(dk_jq_check_sandbox(ok[i], &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(dk_jq_check_sandbox(bad[i], &err),
		                 DK_EINVALID);
	assert_int_equal(dk_jq_check_sandbox(".a |\n$ENV", &err), DK_EINVALID);
	assert_int_equal(err.line, 2);
}

static void expect_invalid(const char *schema, const char *value,
                           const char *msg)
{
	json_t *s = J(schema), *v = J(value);

	assert_int_equal(dk_schema_validate(s, v), DK_EINVALID);
	assert_string_equal(dk_error_last(), msg);
	json_decref(s);
	json_decref(v);
}

static void expect_valid(const char *schema, const char *value)
{
	json_t *s = J(schema), *v = J(value);

	assert_int_equal(dk_schema_validate(s, v), 0);
	json_decref(s);
	json_decref(v);
}

static void test_schema__keywords(void **state)
{
	const char *order =
	    "{\"type\":\"object\",\"required\":[\"id\",\"amount\"],"
	    "\"additionalProperties\":false,\"properties\":{"
	    "\"id\":{\"type\":\"string\",\"pattern\":\"^ORD-[0-9]+$\","
	    "\"maxLength\":10},"
	    "\"amount\":{\"type\":\"integer\",\"minimum\":1,"
	    "\"maximum\":100},"
	    "\"kind\":{\"enum\":[\"a\",\"b\"]},"
	    "\"tags\":{\"type\":\"array\",\"maxItems\":2,"
	    "\"items\":{\"type\":\"string\",\"minLength\":1}},"
	    "\"note\":{\"type\":[\"string\",\"null\"]}}}";

	(void)state;
	expect_valid(order, "{\"id\":\"ORD-1\",\"amount\":5}");
	expect_valid(order, "{\"id\":\"ORD-1\",\"amount\":5,\"kind\":\"b\","
	                    "\"tags\":[\"x\"],\"note\":null}");
	expect_invalid(order, "{\"id\":\"ORD-1\"}",
	               "$: missing required property \"amount\"");
	expect_invalid(order, "{\"id\":\"X-1\",\"amount\":5}",
	               "$.id: expected a string matching ^ORD-[0-9]+$");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":500}",
	               "$.amount: expected at most 100, got 500");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":0}",
	               "$.amount: expected at least 1, got 0");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":\"5\"}",
	               "$.amount: expected integer, got a string");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":5,\"x\":1}",
	               "$: unexpected property \"x\"");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":5,\"kind\":\"c\"}",
	               "$.kind: expected one of [\"a\",\"b\"]");
	expect_invalid(order,
	               "{\"id\":\"ORD-1\",\"amount\":5,\"tags\":[\"a\",\"\"]}",
	               "$.tags[1]: expected at least 1 characters");
	expect_invalid(order,
	               "{\"id\":\"ORD-1\",\"amount\":5,\"tags\":[\"a\",\"b\","
	               "\"c\"]}",
	               "$.tags: expected at most 2 items");
	expect_invalid(order, "{\"id\":\"ORD-1234567\",\"amount\":5}",
	               "$.id: expected at most 10 characters");
	expect_invalid(order, "{\"id\":\"ORD-1\",\"amount\":5,\"note\":3}",
	               "$.note: expected string or null, got an integer");
	/* maxLength counts characters, not bytes. */
	expect_valid("{\"maxLength\":4}", "\"caf\\u00e9\"");
	expect_valid("{}", "[1, {\"a\": null}]");
}

static const char *wf_text =
    "name: t.flow\n"
    "version: 3\n"
    "session: { require: [tenant_id, customer_id] }\n"
    "roles: [lead]\n"
    "databases: { shop: { path: db/shop.db, path_env: T_SHOP_DB } }\n"
    "providers:\n"
    "  pay:\n"
    "    base_url: http://127.0.0.1:8080/api\n"
    "    base_url_env: T_PAY_URL\n"
    "    local_hosts: [127.0.0.1]\n"
    "capabilities:\n"
    "  t.find:\n"
    "    kind: sql\n"
    "    database: shop\n"
    "    input: { type: object, properties: { id: { type: string } } }\n"
    "    query: \"SELECT ':x' AS s, id FROM o WHERE id = :id AND c = "
    ":session.customer_id AND t = :session.tenant_id AND id2 = :args.id\"\n"
    "    returns: row\n"
    "  t.tool:\n"
    "    kind: exec\n"
    "    argv: [tools/x.py, --fast]\n"
    "    env: [LANG]\n"
    "    risk: high\n"
    "actions:\n"
    "  pay.refund:\n"
    "    method: POST\n"
    "    path: /refunds/{id}\n"
    "    input: { type: object, properties: { id: { type: string }, "
    "amount: { type: integer } } }\n"
    "    secrets: [PAY_KEY]\n"
    "    headers: { Authorization: 'Bearer ${secret:PAY_KEY}' }\n"
    "    idempotency_header: Idempotency-Key\n"
    "    body: '{amount: .args.amount}'\n"
    "    breaker: { failures: 3, window: 2m, open_for: 90s }\n"
    "    fallback: pay.ticket\n"
    "    risk: high\n"
    "  pay.ticket:\n"
    "    method: POST\n"
    "    path: /tickets\n"
    "    idempotency_header: Idempotency-Key\n"
    "approvals:\n"
    "  - { name: deny-big, when: '.args.amount > 100000', decision: deny }\n"
    "  - { name: two, when: '.args.amount > 10000', role: lead, count: 2, "
    "expires: 2h }\n"
    "  - { name: high, risk_at_least: high, role: lead }\n"
    "  - { name: auto, decision: auto }\n"
    "escalate:\n"
    "  action: pay.ticket\n"
    "  conditions: [ { name: big, when: '.input.amount > 5', reason: r } ]\n"
    "budget: { max_input_tokens: 100, warn_at: 50 }\n"
    "steps:\n"
    "  - { key: find, capability: t.find, args: '{id: .input.id}' }\n"
    "  - key: pay\n"
    "    action: pay.refund\n"
    "    when: .steps.find.found\n"
    "    args: '{id: .input.id, amount: 5}'\n";

static void test_workflow__load_structure(void **state)
{
	struct dk_workflow *wf = NULL;
	struct dk_diags d = DK_DIAGS_INIT;
	const struct dk_capability *c;
	const struct dk_action *a;
	char *s = NULL;

	(void)state;
	assert_int_equal(dk_workflow_load_buffer(&wf, "flows/t.yaml", wf_text,
	                                         strlen(wf_text), &d),
	                 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(wf->name, "t.flow");
	assert_int_equal(wf->version, 3);
	assert_string_equal(wf->dir, "flows");
	assert_int_equal(wf->session_require.n, 2);
	assert_int_equal(strlen(wf->workflow_hash), 64);

	c = dk_workflow_capability(wf, "t.find");
	assert_non_null(c);
	assert_int_equal(c->kind, DK_CAP_SQL);
	assert_int_equal(c->sql.returns, DK_SQL_ROW);
	assert_ptr_equal(c->sql.db, &wf->databases[0]);
	/* Strings are left alone; :args.id and :id are the same parameter. */
	assert_string_equal(c->sql.sql,
	                    "SELECT ':x' AS s, id FROM o WHERE id = ?1 AND c "
	                    "= ?2 AND t = ?3 AND id2 = ?1");
	assert_int_equal(c->sql.nparams, 3);
	assert_string_equal(c->sql.params[1].name, "customer_id");
	assert_int_equal(c->sql.params[1].from_session, 1);
	assert_int_equal(c->sql.params[0].from_session, 0);

	c = dk_workflow_capability(wf, "t.tool");
	assert_int_equal(c->kind, DK_CAP_EXEC);
	assert_int_equal(c->risk, DK_RISK_HIGH);
	assert_int_equal(c->exec.timeout_ms, DK_EXEC_TIMEOUT_MS);
	assert_int_equal(dk_exec_path(&s, wf, c), 0);
	assert_string_equal(s, "flows/tools/x.py");
	free(s);

	a = dk_workflow_action(wf, "pay.refund");
	assert_non_null(a);
	assert_string_equal(a->provider->name, "pay");
	assert_ptr_equal(a->fallback, dk_workflow_action(wf, "pay.ticket"));
	assert_int_equal(a->breaker.failures, 3);
	assert_int_equal(a->breaker.window_s, 120);
	assert_int_equal(a->breaker.open_s, 90);
	assert_int_equal(a->retry.max_attempts, DK_RETRY_MAX_ATTEMPTS);
	assert_non_null(a->body);
	assert_int_equal(wf->napprovals, 4);
	assert_int_equal(wf->approvals[1].count, 2);
	assert_int_equal(wf->approvals[1].expires_s, 7200);
	assert_int_equal(wf->approvals[0].decision, DK_DECISION_DENY);
	assert_ptr_equal(wf->escalate.action,
	                 dk_workflow_action(wf, "pay.ticket"));
	assert_int_equal(wf->budget.max_input_tokens, 100);
	assert_int_equal(wf->budget.warn_pct, 50);
	assert_int_equal(wf->budget.degrade_pct, 90);
	assert_int_equal(wf->nsteps, 2);
	assert_ptr_equal(wf->steps[1].action, a);
	assert_null(wf->steps[1].capability);
	assert_ptr_equal(dk_workflow_step(wf, "find")->capability,
	                 dk_workflow_capability(wf, "t.find"));
	dk_workflow_free(wf);
	dk_diags_clear(&d);
}

static const char *env_secret(const char *name, void *data)
{
	(void)data;
	return !strcmp(name, "PAY_KEY") ? "s3cret" : NULL;
}

static void test_workflow__helpers(void **state)
{
	struct dk_workflow *wf = NULL;
	const struct dk_approval_rule *r;
	json_t *ctx, *args;
	char *s = NULL;

	(void)state;
	assert_int_equal(dk_workflow_load_buffer(&wf, "t.yaml", wf_text,
	                                         strlen(wf_text), NULL),
	                 0);
	unsetenv("T_PAY_URL");
	assert_string_equal(dk_provider_base_url(&wf->providers[0]),
	                    "http://127.0.0.1:8080/api");
	setenv("T_PAY_URL", "http://127.0.0.1:9999", 1);
	assert_string_equal(dk_provider_base_url(&wf->providers[0]),
	                    "http://127.0.0.1:9999");
	unsetenv("T_PAY_URL");
	assert_int_equal(
	    dk_provider_host_is_local(&wf->providers[0], "127.0.0.1"), 1);
	assert_int_equal(
	    dk_provider_host_is_local(&wf->providers[0], "example.com"), 0);

	assert_int_equal(dk_database_path(&s, wf, &wf->databases[0]), 0);
	assert_string_equal(s, "./db/shop.db");
	free(s);
	setenv("T_SHOP_DB", "/tmp/other.db", 1);
	assert_int_equal(dk_database_path(&s, wf, &wf->databases[0]), 0);
	assert_string_equal(s, "/tmp/other.db");
	free(s);
	unsetenv("T_SHOP_DB");

	args = J("{\"id\":\"a b/c\",\"n\":7}");
	assert_int_equal(dk_workflow_expand_path(&s, "/r/{id}/x/{n}", args), 0);
	assert_string_equal(s, "/r/a%20b%2Fc/x/7");
	free(s);
	assert_int_equal(dk_workflow_expand_path(&s, "/r/{nope}", args),
	                 DK_EINVALID);
	json_decref(args);

	assert_int_equal(dk_workflow_expand_header(
	                     &s, "Bearer ${secret:PAY_KEY}", env_secret, NULL),
	                 0);
	assert_string_equal(s, "Bearer s3cret");
	free(s);
	assert_int_equal(
	    dk_workflow_expand_header(&s, "${secret:OTHER}", env_secret, NULL),
	    DK_ENOTFOUND);

	ctx = J("{\"action\":\"pay.refund\",\"risk\":\"high\","
	        "\"args\":{\"amount\":200000}}");
	assert_int_equal(dk_workflow_match_approval(&r, wf, ctx), 0);
	assert_string_equal(r->name, "deny-big");
	json_decref(ctx);
	ctx = J("{\"action\":\"pay.refund\",\"risk\":\"high\","
	        "\"args\":{\"amount\":20000}}");
	assert_int_equal(dk_workflow_match_approval(&r, wf, ctx), 0);
	assert_string_equal(r->name, "two");
	json_decref(ctx);
	ctx = J("{\"action\":\"pay.refund\",\"risk\":\"high\","
	        "\"args\":{\"amount\":20}}");
	assert_int_equal(dk_workflow_match_approval(&r, wf, ctx), 0);
	assert_string_equal(r->name, "high");
	json_decref(ctx);
	ctx = J("{\"action\":\"pay.ticket\",\"risk\":\"low\","
	        "\"args\":{\"amount\":20}}");
	assert_int_equal(dk_workflow_match_approval(&r, wf, ctx), 0);
	assert_string_equal(r->name, "auto");
	json_decref(ctx);
	ctx = J("{\"action\":\"pay.ticket\",\"risk\":\"low\","
	        "\"args\":{\"amount\":\"x\"}}");
	/* "x" > 10000 is true in jq (strings sort after numbers). */
	assert_int_equal(dk_workflow_match_approval(&r, wf, ctx), 0);
	assert_string_equal(r->name, "deny-big");
	json_decref(ctx);
	dk_workflow_free(wf);
}

static void test_workflow__errors_collected(void **state)
{
	const char *text = "name: a.b\n"
	                   "version: 1\n"
	                   "stpes: []\n"
	                   "capabilities:\n"
	                   "  c.d: { kind: exec, argv: [x], timout_ms: 5 }\n";
	struct dk_workflow *wf = NULL;
	struct dk_diags d = DK_DIAGS_INIT;

	(void)state;
	assert_int_equal(
	    dk_workflow_load_buffer(&wf, "x.yaml", text, strlen(text), &d),
	    DK_EINVALID);
	assert_null(wf);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].line, 1);
	assert_string_equal(d.v[0].msg,
	                    "missing required key \"steps\" in the workflow");
	assert_int_equal(d.v[1].line, 3);
	assert_string_equal(d.v[1].msg, "unknown key \"stpes\" in the "
	                                "workflow; did you mean \"steps\"?");
	assert_int_equal(d.v[2].line, 5);
	assert_int_equal(d.v[2].col, 33);
	assert_string_equal(d.v[2].msg,
	                    "unknown key \"timout_ms\" in capability \"c.d\"; "
	                    "did you mean \"timeout_ms\"?");
	assert_string_equal(dk_error_last(),
	                    "x.yaml:1:1: missing required key \"steps\" in "
	                    "the workflow");
	dk_diags_clear(&d);
	dk_diags_clear(NULL);
	dk_workflow_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jq__eval_object),
		cmocka_unit_test(test_jq__compile_error_located),
		cmocka_unit_test(test_jq__bool_and_errors),
		cmocka_unit_test(test_jq__set),
		cmocka_unit_test(test_jq__set_chunks),
		cmocka_unit_test(test_jq__sandbox),
		cmocka_unit_test(test_schema__keywords),
		cmocka_unit_test(test_workflow__load_structure),
		cmocka_unit_test(test_workflow__helpers),
		cmocka_unit_test(test_workflow__errors_collected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
