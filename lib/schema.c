/*
 * Validation against docket's JSON Schema subset (schema.h).
 */
#include "schema.h"
#include "error.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

const char *const dk_schema_keywords[] = {
	"type",        "properties", "required", "additionalProperties",
	"items",       "enum",       "minimum",  "maximum",
	"minLength",   "maxLength",  "maxItems", "pattern",
	"description",
};
const size_t dk_schema_nkeywords =
    sizeof(dk_schema_keywords) / sizeof(dk_schema_keywords[0]);

int dk_schema_is_keyword(const char *key)
{
	size_t i;

	for (i = 0; i < dk_schema_nkeywords; i++)
		if (!strcmp(dk_schema_keywords[i], key))
			return 1;
	return 0;
}

static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int type_is(const char *t, const json_t *v)
{
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v) ||
		       (json_is_real(v) &&
		        json_real_value(v) ==
		            (double)(long long)json_real_value(v));
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	return 0;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int fail(const char *path, const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	return dk_error_set(DK_EINVALID, "%s: %s", path, msg);
}

static int validate(const json_t *s, const json_t *v, const char *path);

static int check_type(const json_t *s, const json_t *v, const char *path)
{
	const json_t *t = json_object_get(s, "type");
	size_t i;
	char want[128] = "";

	if (!t)
		return 0;
	if (json_is_string(t)) {
		if (type_is(json_string_value(t), v))
			return 0;
		snprintf(want, sizeof(want), "%s", json_string_value(t));
	} else {
		json_t *x;
		json_array_foreach(t, i, x)
		{
			if (type_is(json_string_value(x), v))
				return 0;
			size_t l = strlen(want);
			snprintf(want + l, sizeof(want) - l, "%s%s",
			         i ? " or " : "", json_string_value(x));
		}
	}
	return fail(path, "expected %s, got %s", want, kind(v));
}

static int check_object(const json_t *s, const json_t *v, const char *path)
{
	const json_t *props = json_object_get(s, "properties");
	const json_t *req = json_object_get(s, "required");
	const json_t *addl = json_object_get(s, "additionalProperties");
	const char *k;
	json_t *x;
	size_t i;
	char sub[1024];
	int rc;

	json_array_foreach(req, i, x)
	{
		if (!json_object_get(v, json_string_value(x)))
			return fail(path, "missing required property \"%s\"%s",
			            json_string_value(x), "");
	}
	json_object_foreach((json_t *)v, k, x)
	{
		const json_t *ps = props ? json_object_get(props, k) : NULL;
		snprintf(sub, sizeof(sub), "%s.%s", path, k);
		if (ps) {
			if ((rc = validate(ps, x, sub)) < 0)
				return rc;
		} else if (json_is_false(addl)) {
			return fail(path, "unexpected property \"%s\"%s", k,
			            "");
		}
	}
	return 0;
}

static int check_string(const json_t *s, const json_t *v, const char *path)
{
	const json_t *mx = json_object_get(s, "maxLength");
	const json_t *mn = json_object_get(s, "minLength");
	const json_t *pat = json_object_get(s, "pattern");
	const char *str = json_string_value(v);
	size_t len = utf8_len(str);
	char n[32];

	if (mx && len > (size_t)json_integer_value(mx)) {
		snprintf(n, sizeof(n), "%lld",
		         (long long)json_integer_value(mx));
		return fail(path, "expected at most %s characters%s", n, "");
	}
	if (mn && len < (size_t)json_integer_value(mn)) {
		snprintf(n, sizeof(n), "%lld",
		         (long long)json_integer_value(mn));
		return fail(path, "expected at least %s characters%s", n, "");
	}
	if (pat) {
		regex_t re;
		int m;
		if (regcomp(&re, json_string_value(pat),
		            REG_EXTENDED | REG_NOSUB))
			return fail(path, "invalid pattern %s%s",
			            json_string_value(pat), "");
		m = regexec(&re, str, 0, NULL, 0);
		regfree(&re);
		if (m)
			return fail(path, "expected a string matching %s%s",
			            json_string_value(pat), "");
	}
	return 0;
}

static int check_number(const json_t *s, const json_t *v, const char *path)
{
	const json_t *mn = json_object_get(s, "minimum");
	const json_t *mx = json_object_get(s, "maximum");
	double d = json_number_value(v);
	char a[64], b[64];

	snprintf(b, sizeof(b), "%.17g", d);
	if (mn && d < json_number_value(mn)) {
		snprintf(a, sizeof(a), "%.17g", json_number_value(mn));
		return fail(path, "expected at least %s, got %s", a, b);
	}
	if (mx && d > json_number_value(mx)) {
		snprintf(a, sizeof(a), "%.17g", json_number_value(mx));
		return fail(path, "expected at most %s, got %s", a, b);
	}
	return 0;
}

static int validate(const json_t *s, const json_t *v, const char *path)
{
	const json_t *en = json_object_get(s, "enum");
	int rc;

	if ((rc = check_type(s, v, path)) < 0)
		return rc;
	if (en) {
		size_t i;
		json_t *x;
		int found = 0;
		json_array_foreach(en, i, x) if (json_equal(x, (json_t *)v))
		    found = 1;
		if (!found) {
			char *d =
			    json_dumps(en, JSON_COMPACT | JSON_ENCODE_ANY);
			rc = fail(path, "expected one of %s%s", d ? d : "[]",
			          "");
			free(d);
			return rc;
		}
	}
	if (json_is_object(v))
		return check_object(s, v, path);
	if (json_is_string(v))
		return check_string(s, v, path);
	if (json_is_number(v))
		return check_number(s, v, path);
	if (json_is_array(v)) {
		const json_t *items = json_object_get(s, "items");
		const json_t *mi = json_object_get(s, "maxItems");
		size_t i;
		json_t *x;
		char sub[1024];
		if (mi && json_array_size(v) > (size_t)json_integer_value(mi)) {
			snprintf(sub, sizeof(sub), "%lld",
			         (long long)json_integer_value(mi));
			return fail(path, "expected at most %s items%s", sub,
			            "");
		}
		if (items)
			json_array_foreach(v, i, x)
			{
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
				if ((rc = validate(items, x, sub)) < 0)
					return rc;
			}
	}
	return 0;
}

int dk_schema_validate(const json_t *schema, const json_t *value)
{
	if (!schema)
		return 0;
	return validate(schema, value, "$");
}
