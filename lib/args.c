/*
 * KEY=VALUE and KEY:=JSON pairs, and JSON object files, into the objects
 * a run starts from (see args.h).
 */
#include "args.h"
#include "error.h"
#include "util.h"

#include <string.h>

int dk_args_put(json_t *obj, const char *pair)
{
	const char *eq = strchr(pair, '=');
	json_error_t err;
	json_t *v;
	char key[256];
	size_t kl;
	int typed;

	if (!eq || eq == pair)
		return dk_error_set(
		    DK_EINVALID, "%s: expected KEY=VALUE or KEY:=JSON", pair);
	typed = eq[-1] == ':';
	kl = (size_t)(eq - pair) - (size_t)typed;
	if (kl == 0 || kl >= sizeof(key))
		return dk_error_set(DK_EINVALID, "%s: bad key", pair);
	memcpy(key, pair, kl);
	key[kl] = '\0';
	if (!dk_utf8_valid(key, kl))
		return dk_error_set(DK_EINVALID, "%s: key is not UTF-8", pair);
	if (typed) {
		v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
		               &err);
		if (!v)
			return dk_error_set(DK_EINVALID, "%s: invalid JSON: %s",
			                    key, err.text);
	} else {
		if (!dk_utf8_valid(eq + 1, strlen(eq + 1)))
			return dk_error_set(DK_EINVALID, "%s: not UTF-8", key);
		v = json_string(eq + 1);
		if (!v)
			return dk_error_set(DK_ERROR, "%s: out of memory", key);
	}
	if (json_object_set_new(obj, key, v) < 0)
		return dk_error_set(DK_EINVALID, "%s: cannot be set", key);
	return 0;
}

int dk_args_parse_object(json_t **out, const char *name, const char *text,
                         size_t len)
{
	json_error_t err;
	json_t *obj;

	*out = NULL;
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!obj)
		return dk_error_set(DK_EINVALID, "%s:%d:%d: %s", name, err.line,
		                    err.column, err.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return dk_error_set(DK_EINVALID, "%s: expected a JSON object",
		                    name);
	}
	*out = obj;
	return 0;
}
