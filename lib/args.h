#ifndef DK_ARGS_H
#define DK_ARGS_H

#include <jansson.h>
#include <stddef.h>

/*
 * The run's input and session objects, as `docket run` builds them from
 * the command line before any jq expression sees them: KEY=VALUE sets a
 * string (it must be UTF-8), KEY:=JSON a typed value (any JSON text,
 * duplicate keys refused). Keys are 1 to 255 bytes. A later pair
 * replaces an earlier one with the same key.
 *
 * 0, or DK_EINVALID with a message that starts with the pair or its key
 * ("order_id: invalid JSON: ..."); obj is unchanged on failure.
 */
int dk_args_put(json_t *obj, const char *pair);

/*
 * Parse an --input-file/--session-file text: one JSON object, duplicate
 * keys refused; name (the file) starts messages. 0 with *out set, or
 * DK_EINVALID with "NAME:LINE:COLUMN: why".
 */
int dk_args_parse_object(json_t **out, const char *name, const char *text,
                         size_t len);

#endif
