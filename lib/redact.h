#ifndef DK_REDACT_H
#define DK_REDACT_H

#include <jansson.h>

/* What a redacted field holds in the ledger. Secrets inside text are
 * replaced by dk_redact() (lib/http.h) instead. */
#define DK_REDACTED_FIELD "[redacted]"

/*
 * Replace the value at a dotted path with "[redacted]" in place. The path
 * is relative to root ("row.email"); where it meets an array it applies
 * to every element ("rows.email"). Missing paths are ignored.
 */
void dk_redact_path(json_t *root, const char *path);

/*
 * For each path in paths that starts with prefix + ".", redact the rest
 * of it in root: dk_redact_prefixed(output, "output", paths, n) applies
 * "output.row.email" to output as "row.email".
 */
void dk_redact_prefixed(json_t *root, const char *prefix, char *const *paths,
                        size_t n);

/* Append to acc (an array) the scalar values dk_redact_prefixed would
 * redact, so they can be scrubbed wherever else they appear. */
void dk_redact_collect(json_t *acc, const json_t *root, const char *prefix,
                       char *const *paths, size_t n);

/* Replace, anywhere in root, every occurrence of a string in values (of
 * at least 3 bytes), also inside longer strings, with "[redacted]". */
void dk_redact_values(json_t *root, const json_t *values);

#endif
