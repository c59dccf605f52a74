#ifndef DK_SQLQ_H
#define DK_SQLQ_H

#include <jansson.h>

/*
 * A `sql` capability's query against an SQLite database. Named parameters
 * (:name, @name or $name) are bound from `params`, a JSON object; a dotted
 * name such as :session.customer_id is not valid SQLite, so callers bind
 * session values under plain names they choose. Every parameter in the
 * query must have a value. Rows come back as an array of objects; the
 * array is a new reference owned by the caller.
 */

struct dk_sql_opts {
	int writable;    /* open read-write (default: read-only) */
	long timeout_ms; /* <= 0: 5000 */
	size_t max_rows; /* 0: 1000; more is an error */
};

int dk_sql_query(json_t **rows, const char *dbpath, const char *sql,
                 json_t *params, const struct dk_sql_opts *opts);

#endif
