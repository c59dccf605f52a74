#ifndef DK_SQLQ_H
#define DK_SQLQ_H

#include <jansson.h>

/*
 * A `sql` capability's query against an SQLite database. Parameters are
 * bound from `params`: numbered ones (?1, ?2, as the workflow loader
 * writes them) from a JSON array, named ones (:name, @name, $name) from a
 * JSON object. Every parameter in the query must have a value. Rows come back
 * as an array of objects; the array is a new reference owned by the caller.
 */

struct dk_sql_opts {
	int writable;    /* open read-write (default: read-only) */
	long timeout_ms; /* <= 0: 5000 */
	size_t max_rows; /* 0: 1000; more is an error */
};

int dk_sql_query(json_t **rows, const char *dbpath, const char *sql,
                 json_t *params, const struct dk_sql_opts *opts);

#endif
