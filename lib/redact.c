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

static int is_redacted_value(const json_t *v, const json_t *values)
{
	size_t i;
	json_t *e;

	json_array_foreach(values, i, e) if (json_equal(e, v)) return 1;
	return 0;
}

void dk_redact_values(json_t *root, const json_t *values)
{
	const char *k;
	json_t *e;
	size_t i;
	void *tmp;

	if (!json_array_size(values))
		return;
	if (json_is_array(root)) {
		json_array_foreach(root, i, e)
		{
			if (json_is_string(e) && is_redacted_value(e, values))
				json_array_set_new(
				    root, i, json_string(DK_REDACTED_FIELD));
			else
				dk_redact_values(e, values);
		}
	} else if (json_is_object(root)) {
		json_object_foreach_safe(root, tmp, k, e)
		{
			if (json_is_string(e) && is_redacted_value(e, values))
				json_object_set_new(
				    root, k, json_string(DK_REDACTED_FIELD));
			else
				dk_redact_values(e, values);
		}
	}
}
