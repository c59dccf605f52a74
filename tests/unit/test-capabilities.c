/* The exec and sql capability runners (lib/proc.c, lib/sqlq.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "proc.h"
#include "sqlq.h"
#include "util.h"

static const char *const path_env[] = { "PATH=/usr/bin:/bin", NULL };

static void test_exec__json_roundtrip(void **state)
{
	const char *argv[] = { "cat", NULL };
	struct dk_exec_opts o = { argv, path_env, NULL, "{\"a\":1}",
		                  7,    5000,     0,    0 };
	struct dk_exec_result r;

	(void)state;
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "{\"a\":1}");
	dk_exec_result_free(&r);
}

static void test_exec__status_and_stderr(void **state)
{
	const char *argv[] = { "sh", "-c", "echo oops >&2; exit 3", NULL };
	struct dk_exec_opts o = { argv, path_env, NULL, NULL, 0, 5000, 0, 0 };
	struct dk_exec_result r;

	(void)state;
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.exited);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.err, "oops\n");
	dk_exec_result_free(&r);
}

static void test_exec__timeout_kills_the_group(void **state)
{
	/* the grandchild holds stdout open; the whole group must die */
	const char *argv[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	struct dk_exec_opts o = { argv, path_env, NULL, NULL, 0, 300, 0, 0 };
	struct dk_exec_result r;

	(void)state;
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.timed_out);
	assert_false(r.exited);
	assert_int_equal(r.signal, SIGKILL);
	assert_true(r.ms < 10000);
	dk_exec_result_free(&r);
}

static void test_exec__stdout_cap(void **state)
{
	const char *argv[] = { "yes", NULL };
	struct dk_exec_opts o = {
		argv, path_env, NULL, NULL, 0, 10000, 4096, 0
	};
	struct dk_exec_result r;

	(void)state;
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.out_overflow);
	assert_int_equal(r.out_len, 4096);
	dk_exec_result_free(&r);
}

static void test_exec__stderr_is_cut_not_refused(void **state)
{
	const char *argv[] = { "sh", "-c", "head -c 100000 /dev/zero >&2",
		               NULL };
	struct dk_exec_opts o = {
		argv, path_env, NULL, NULL, 0, 10000, 0, 1000
	};
	struct dk_exec_result r;

	(void)state;
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.exited);
	assert_true(r.err_truncated);
	assert_int_equal(r.err_len, 1000);
	dk_exec_result_free(&r);
}

static void test_exec__child_ignores_stdin(void **state)
{
	const char *argv[] = { "true", NULL };
	size_t n = 8 * 1024 * 1024;
	char *big = calloc(1, n);
	struct dk_exec_opts o = { argv, path_env, NULL, big, n, 5000, 0, 0 };
	struct dk_exec_result r;

	(void)state;
	/* without SIGPIPE containment this test process would die */
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	dk_exec_result_free(&r);
	free(big);
}

static void test_exec__environment_is_only_what_is_given(void **state)
{
	const char *argv[] = { "/usr/bin/env", NULL };
	const char *env[] = { "ONLY=this", NULL };
	struct dk_exec_opts o = { argv, env, NULL, NULL, 0, 5000, 0, 0 };
	struct dk_exec_result r;

	(void)state;
	setenv("DOCKET_SECRET_CANARY", "s3cr3t", 1);
	assert_int_equal(dk_exec_run(&r, &o), 0);
	assert_string_equal(r.out, "ONLY=this\n");
	dk_exec_result_free(&r);
}

static void test_exec__missing_program(void **state)
{
	const char *argv[] = { "/nonexistent/tool", NULL };
	struct dk_exec_opts o = { argv, path_env, NULL, NULL, 0, 5000, 0, 0 };
	struct dk_exec_result r;
	int rc;

	(void)state;
	rc = dk_exec_run(&r, &o);
	if (rc == 0) {
		/* where posix_spawn cannot report a failed exec (valgrind
		 * runs its vfork as a fork), the child exits 127 instead */
		assert_true(r.exited);
		assert_int_equal(r.status, 127);
		dk_exec_result_free(&r);
		return;
	}
	assert_int_equal(rc, DK_ENOTFOUND);
	assert_non_null(strstr(dk_error_last(), "/nonexistent/tool"));
}

static char dbpath[256];

static int make_db(void **state)
{
	sqlite3 *db;
	const char *sql =
	    "CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id TEXT, "
	    "total_cents INT, note BLOB, share REAL);"
	    "INSERT INTO orders VALUES ('ORD-1', 'c1', 1000, x'00ff', 0.5);"
	    "INSERT INTO orders VALUES ('ORD-2', 'c2', 2500, NULL, NULL);";

	(void)state;
	snprintf(dbpath, sizeof(dbpath), "/tmp/docket-test-%d.db",
	         (int)getpid());
	unlink(dbpath);
	if (sqlite3_open(dbpath, &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_close(db);
	return 0;
}

static int drop_db(void **state)
{
	(void)state;
	unlink(dbpath);
	return 0;
}

static void test_sql__bound_parameters(void **state)
{
	json_t *rows = NULL,
	       *p = json_pack("{s:s, s:s}", "id", "ORD-1", "customer", "c1");

	(void)state;
	assert_int_equal(dk_sql_query(&rows, dbpath,
	                              "SELECT id, total_cents, note, share "
	                              "FROM orders WHERE id = :id AND "
	                              "customer_id = :customer",
	                              p, NULL),
	                 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(rows, 0), "total_cents")),
	                 1000);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(rows, 0), "note")),
	    "00ff");
	json_decref(rows);
	/* another customer's order: no rows, not an error */
	json_object_set_new(p, "customer", json_string("c2"));
	assert_int_equal(dk_sql_query(&rows, dbpath,
	                              "SELECT id FROM orders WHERE id = :id "
	                              "AND customer_id = :customer",
	                              p, NULL),
	                 0);
	assert_int_equal(json_array_size(rows), 0);
	json_decref(rows);
	json_decref(p);
}

static void test_sql__errors(void **state)
{
	json_t *rows = NULL, *p = json_object();
	struct dk_sql_opts one = { 0, 0, 1 };
	struct dk_sql_opts quick = { 0, 200, 0 };

	(void)state;
	assert_int_equal(dk_sql_query(&rows, dbpath,
	                              "SELECT * FROM orders WHERE id = :id", p,
	                              NULL),
	                 DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), ":id has no value"));
	assert_int_equal(dk_sql_query(&rows, dbpath,
	                              "SELECT 1; DELETE FROM orders", p, NULL),
	                 DK_EINVALID);
	assert_int_equal(
	    dk_sql_query(&rows, dbpath, "DELETE FROM orders", p, NULL),
	    DK_EREFUSED);
	assert_int_equal(
	    dk_sql_query(&rows, dbpath, "SELECT * FROM orders", p, &one),
	    DK_EFULL);
	assert_int_equal(dk_sql_query(&rows, dbpath, "SELEKT 1", p, NULL),
	                 DK_EINVALID);
	assert_int_equal(
	    dk_sql_query(&rows, dbpath,
	                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
	                 "SELECT x + 1 FROM c) SELECT count(*) FROM c",
	                 p, &quick),
	    DK_ETIMEOUT);
	assert_int_equal(
	    dk_sql_query(&rows, "/nonexistent.db", "SELECT 1", p, NULL),
	    DK_ENOTFOUND);
	assert_null(rows);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec__json_roundtrip),
		cmocka_unit_test(test_exec__status_and_stderr),
		cmocka_unit_test(test_exec__timeout_kills_the_group),
		cmocka_unit_test(test_exec__stdout_cap),
		cmocka_unit_test(test_exec__stderr_is_cut_not_refused),
		cmocka_unit_test(test_exec__child_ignores_stdin),
		cmocka_unit_test(test_exec__environment_is_only_what_is_given),
		cmocka_unit_test(test_exec__missing_program),
		cmocka_unit_test_setup_teardown(test_sql__bound_parameters,
		                                make_db, drop_db),
		cmocka_unit_test_setup_teardown(test_sql__errors, make_db,
		                                drop_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
