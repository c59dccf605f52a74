#include "redact.h"

#include <stdlib.h>
#include <string.h>

static void redact_in(json_t *v, const char *path)
{
	const char *dot = strchr(path, '.');
	size_t klen = dot ? (size_t)(dot - path) : strlen(path);
	char key[256];

	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) redact_in(e, path);
		return;
	}
	if (!json_is_object(v) || klen == 0 || klen >= sizeof(key))
		return;
	memcpy(key, path, klen);
	key[klen] = '\0';
	if (!json_object_get(v, key))
		return;
	if (!dot)
		json_object_set_new(v, key, json_string(DK_REDACTED_FIELD));
	else
		redact_in(json_object_get(v, key), dot + 1);
}

void dk_redact_path(json_t *root, const char *path)
{
	if (root && path && *path)
		redact_in(root, path);
}

void dk_redact_prefixed(json_t *root, const char *prefix, char *const *paths,
                        size_t n)
{
	size_t i, pl = strlen(prefix);

	for (i = 0; i < n; i++)
		if (!strncmp(paths[i], prefix, pl) && paths[i][pl] == '.')
			dk_redact_path(root, paths[i] + pl + 1);
}

static void add_unique(json_t *acc, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_string(v) || json_string_length(v) < 3)
		return;
	json_array_foreach(acc, i, e) if (json_equal(e, v)) return;
	json_array_append(acc, v);
}

static void collect_in(json_t *acc, const json_t *v, const char *path)
{
	const char *dot = strchr(path, '.');
	size_t klen = dot ? (size_t)(dot - path) : strlen(path);
	char key[256];

	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) collect_in(acc, e, path);
		return;
	}
	if (!json_is_object(v) || klen == 0 || klen >= sizeof(key))
		return;
	memcpy(key, path, klen);
	key[klen] = '\0';
	v = json_object_get(v, key);
	if (!v)
		return;
	if (dot) {
		collect_in(acc, v, dot + 1);
	} else if (json_is_array(v) || json_is_object(v)) {
		/* a whole structure redacted: every string inside it */
		const char *k;
		json_t *e;
		size_t i;

		if (json_is_array(v))
			json_array_foreach(v, i, e) add_unique(acc, e);
		else
			json_object_foreach((json_t *)v, k, e)
			    add_unique(acc, e);
	} else {
		add_unique(acc, (json_t *)v);
	}
}

void dk_redact_collect(json_t *acc, const json_t *root, const char *prefix,
                       char *const *paths, size_t n)
{
	size_t i, pl = strlen(prefix);

	for (i = 0; i < n; i++)
		if (!strncmp(paths[i], prefix, pl) && paths[i][pl] == '.')
			collect_in(acc, root, paths[i] + pl + 1);
}

/*
 * str with every occurrence of each value (of at least 3 bytes) replaced
 * by "[redacted]": a value can hide inside a longer string a later step
 * built ("card 4111... pin 1234"). NULL when nothing was replaced.
 */
static char *redact_string(const char *str, const json_t *values)
{
	size_t i, rl = strlen(DK_REDACTED_FIELD);
	char *cur = NULL;
	const char *src = str;
	json_t *h;

	json_array_foreach(values, i, h)
	{
		const char *needle = json_string_value(h), *p;
		size_t nl = needle ? strlen(needle) : 0, n = 0;
		char *out, *o;

		if (nl < 3 || !strstr(src, needle))
			continue;
		for (p = src; (p = strstr(p, needle)); p += nl)
			n++;
		out = malloc(strlen(src) + n * rl + 1);
		if (!out)
			continue;
		for (o = out, p = src;;) {
			const char *m = strstr(p, needle);
			size_t len = m ? (size_t)(m - p) : strlen(p);

			memcpy(o, p, len);
			o += len;
			if (!m)
				break;
			memcpy(o, DK_REDACTED_FIELD, rl);
			o += rl;
			p = m + nl;
		}
		*o = '\0';
		if (cur) {
			explicit_bzero(cur, strlen(cur));
			free(cur);
		}
		src = cur = out;
	}
	return cur;
}

/* The redacted form of v when v is a string holding a value, else NULL. */
static json_t *redacted_string(const json_t *v, const json_t *values)
{
	char *c;
	json_t *out;

	if (!json_is_string(v) ||
	    !(c = redact_string(json_string_value(v), values)))
		return NULL;
	out = json_string(c);
	explicit_bzero(c, strlen(c));
	free(c);
	return out;
}

void dk_redact_values(json_t *root, const json_t *values)
{
	const char *k;
	json_t *e, *r;
	size_t i;
	void *tmp;

	if (!json_array_size(values))
		return;
	if (json_is_array(root)) {
		json_array_foreach(root, i, e)
		{
			if ((r = redacted_string(e, values)))
				json_array_set_new(root, i, r);
			else
				dk_redact_values(e, values);
		}
	} else if (json_is_object(root)) {
		json_object_foreach_safe(root, tmp, k, e)
		{
			if ((r = redacted_string(e, values)))
				json_object_set_new(root, k, r);
			else
				dk_redact_values(e, values);
		}
	}
}
