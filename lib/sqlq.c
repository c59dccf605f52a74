#include "sqlq.h"
#include "error.h"
#include "util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct deadline {
	double end;
};

static int progress(void *p)
{
	return dk_mono_ms() > ((struct deadline *)p)->end;
}

static int bind_value(sqlite3_stmt *st, int i, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return sqlite3_bind_null(st, i);
	case JSON_TRUE:
	case JSON_FALSE:
		return sqlite3_bind_int(st, i, json_is_true(v));
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, i, json_integer_value(v));
	case JSON_REAL:
		return sqlite3_bind_double(st, i, json_real_value(v));
	case JSON_STRING:
		return sqlite3_bind_text(st, i, json_string_value(v),
		                         (int)json_string_length(v),
		                         SQLITE_TRANSIENT);
	default:
		return SQLITE_MISMATCH;
	}
}

static json_t *column_value(sqlite3_stmt *st, int c)
{
	switch (sqlite3_column_type(st, c)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, c));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, c));
	case SQLITE_TEXT:
		return json_stringn((const char *)sqlite3_column_text(st, c),
		                    (size_t)sqlite3_column_bytes(st, c));
	case SQLITE_BLOB: {
		const unsigned char *b = sqlite3_column_blob(st, c);
		size_t n = (size_t)sqlite3_column_bytes(st, c);
		char *hex = malloc(2 * n + 1);
		json_t *v;

		if (!hex)
			return NULL;
		dk_hex(hex, b ? b : (const unsigned char *)"", n);
		v = json_string(hex);
		free(hex);
		return v;
	}
	default:
		return json_null();
	}
}

int dk_sql_query(json_t **rows, const char *dbpath, const char *sql,
                 json_t *params, const struct dk_sql_opts *opts)
{
	static const struct dk_sql_opts defaults = { 0, 0, 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct deadline dl;
	json_t *out = NULL;
	const char *tail = NULL;
	size_t max_rows;
	int rc = DK_ERROR, i, n, step;

	*rows = NULL;
	if (!opts)
		opts = &defaults;
	max_rows = opts->max_rows ? opts->max_rows : 1000;
	dl.end = dk_mono_ms() +
	         (double)(opts->timeout_ms > 0 ? opts->timeout_ms : 5000);
	if (sqlite3_open_v2(dbpath, &db,
	                    (opts->writable ? SQLITE_OPEN_READWRITE
	                                    : SQLITE_OPEN_READONLY) |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		rc =
		    dk_error_set(DK_ENOTFOUND, "cannot open database %s: %s",
		                 dbpath, db ? sqlite3_errmsg(db) : "no memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 2000);
	sqlite3_progress_handler(db, 1000, progress, &dl);
	if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK) {
		rc = dk_error_set(DK_EINVALID, "bad query: %s",
		                  sqlite3_errmsg(db));
		goto out;
	}
	if (tail && tail[strspn(tail, " \t\r\n;")]) {
		rc = dk_error_set(DK_EINVALID,
		                  "a query must be one SQL statement");
		goto out;
	}
	n = sqlite3_bind_parameter_count(st);
	for (i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		json_t *v;

		if (!name) {
			rc = dk_error_set(DK_EINVALID,
			                  "positional parameter ? %d: use "
			                  "named parameters (:name)",
			                  i);
			goto out;
		}
		if (json_is_array(params) && name[0] == '?')
			v = json_array_get(
			    params, (size_t)strtoul(name + 1, NULL, 10) - 1);
		else
			v = json_object_get(params, name + 1);
		if (!v) {
			rc = dk_error_set(DK_EINVALID,
			                  "query parameter %s has no value",
			                  name);
			goto out;
		}
		if (bind_value(st, i, v) != SQLITE_OK) {
			rc = dk_error_set(
			    DK_EINVALID,
			    "query parameter %s: cannot bind a "
			    "JSON %s",
			    name, json_is_object(v) ? "object" : "array");
			goto out;
		}
	}
	out = json_array();
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		int c, nc = sqlite3_column_count(st);

		if (json_array_size(out) >= max_rows) {
			json_decref(row);
			rc = dk_error_set(DK_EFULL,
			                  "query returned more than %zu rows",
			                  max_rows);
			goto out;
		}
		for (c = 0; c < nc; c++)
			json_object_set_new(row, sqlite3_column_name(st, c),
			                    column_value(st, c));
		json_array_append_new(out, row);
	}
	if (step == SQLITE_INTERRUPT) {
		rc = dk_error_set(DK_ETIMEOUT, "query ran past its timeout");
		goto out;
	}
	if (step != SQLITE_DONE) {
		rc =
		    dk_error_set(step == SQLITE_READONLY ? DK_EREFUSED : DK_EIO,
		                 "query failed: %s", sqlite3_errmsg(db));
		goto out;
	}
	*rows = out;
	out = NULL;
	rc = 0;
out:
	json_decref(out);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
