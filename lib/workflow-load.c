/*
 * The workflow loader: a yamltree to a checked struct dk_workflow and its
 * canonical JSON form (workflow.h, docs/workflow-language.md).
 *
 * Every check reports a located diagnostic and carries on, so one pass
 * finds all the problems in a file. Each section builds its part of the
 * canonical JSON as it goes: typed values, defaults filled in, mappings
 * as objects (sorted when printed), sequences in order.
 */
#include "workflow.h"
#include "error.h"
#include "schema.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending_jq {
	struct dk_jq *e;
	const struct dk_ynode *n;
	char *what;
};

struct ld {
	struct dk_diags *d;
	const char *buf;
	size_t len;
	struct dk_workflow *wf;
	size_t errors;
	/* Every jq expression is compiled in one set, at the end. */
	struct dk_jq_set *jqset;
	struct pending_jq *pending;
	size_t npending, cappending;
};

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static void err(struct ld *l, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void err(struct ld *l, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	l->errors++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		dk_diags_add(l->d, line, col, "%s", msg);
	free(msg);
}

#define ERRN(l, n, ...) err((l), (n)->line, (n)->col, __VA_ARGS__)

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		abort(); /* out of memory while loading a <= 1 MiB file */
	return p;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}

/* ---- names ------------------------------------------------------- */

/* identifier: [a-z][a-z0-9_]* */
static int is_ident(const char *s)
{
	if (!*s || !islower((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* dotted name: identifier(.identifier)* */
static int is_dotted(const char *s)
{
	char buf[256];
	const char *p;

	if (strlen(s) >= sizeof(buf))
		return 0;
	for (;;) {
		p = strchr(s, '.');
		size_t n = p ? (size_t)(p - s) : strlen(s);
		memcpy(buf, s, n);
		buf[n] = 0;
		if (!is_ident(buf))
			return 0;
		if (!p)
			return 1;
		s = p + 1;
	}
}

/* environment variable: [A-Z_][A-Z0-9_]* */
static int is_envname(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* ---- generic checks --------------------------------------------- */

static int want_map(struct ld *l, const struct dk_ynode *n, const char *what)
{
	if (n->type == DK_YMAP)
		return 1;
	ERRN(l, n, "expected a mapping for %s, got %s", what,
	     dk_ynode_describe(n));
	return 0;
}

static int want_seq(struct ld *l, const struct dk_ynode *n, const char *what)
{
	if (n->type == DK_YSEQ)
		return 1;
	ERRN(l, n, "expected a sequence for %s, got %s", what,
	     dk_ynode_describe(n));
	return 0;
}

static void check_keys(struct ld *l, const struct dk_ynode *map,
                       const char *what, const char *const *keys, size_t n)
{
	size_t i, j;

	for (i = 0; i < map->n; i++) {
		const struct dk_ynode *k = map->keys[i];
		const char *near;
		int ok = 0;

		if (!k->line)
			continue; /* an invalid key, already reported */
		for (j = 0; j < n && !ok; j++)
			ok = !strcmp(keys[j], k->str);
		if (ok)
			continue;
		near =
		    l->d->n < DK_DIAGS_MAX ? dk_nearest(k->str, keys, n) : NULL;
		if (near) {
			ERRN(l, k,
			     "unknown key \"%s\" in %s; did you mean \"%s\"?",
			     k->str, what, near);
		} else {
			char list[512] = "";
			for (j = 0; j < n; j++) {
				size_t len = strlen(list);
				snprintf(list + len, sizeof(list) - len, "%s%s",
				         j ? ", " : "", keys[j]);
			}
			ERRN(l, k,
			     "unknown key \"%s\" in %s (expected one of: %s)",
			     k->str, what, list);
		}
	}
}

static const struct dk_ynode *need(struct ld *l, const struct dk_ynode *map,
                                   const char *key, const char *what)
{
	const struct dk_ynode *v = dk_ynode_get(map, key);

	if (!v)
		ERRN(l, map, "missing required key \"%s\" in %s", key, what);
	return v;
}

static int is_null(const struct dk_ynode *n)
{
	return n->type == DK_YSCALAR && n->plain &&
	       (!*n->str || !strcmp(n->str, "~") || !strcmp(n->str, "null"));
}

/* A non-empty string; returns a borrowed pointer or NULL (reported). */
static const char *get_str(struct ld *l, const struct dk_ynode *n,
                           const char *what)
{
	if (n->type != DK_YSCALAR || is_null(n)) {
		ERRN(l, n, "expected a string for %s, got %s", what,
		     dk_ynode_describe(n));
		return NULL;
	}
	if (!*n->str) {
		ERRN(l, n, "expected a non-empty string for %s", what);
		return NULL;
	}
	return n->str;
}

static int get_int(struct ld *l, const struct dk_ynode *n, const char *what,
                   int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (n->type == DK_YSCALAR && n->plain && *n->str) {
		errno = 0;
		v = strtoll(n->str, &end, 10);
		if (!*end && !errno && v >= min && v <= max) {
			*out = v;
			return 0;
		}
	}
	ERRN(l, n, "expected an integer from %lld to %lld for %s, got %s%s%s%s",
	     (long long)min, (long long)max, what, dk_ynode_describe(n),
	     n->type == DK_YSCALAR ? " \"" : "",
	     n->type == DK_YSCALAR ? n->str : "",
	     n->type == DK_YSCALAR ? "\"" : "");
	return -1;
}

static int get_int32(struct ld *l, const struct dk_ynode *n, const char *what,
                     int min, int max, int *out)
{
	int64_t v;

	if (get_int(l, n, what, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int get_bool(struct ld *l, const struct dk_ynode *n, const char *what,
                    int *out)
{
	if (n->type == DK_YSCALAR && n->plain &&
	    (!strcmp(n->str, "true") || !strcmp(n->str, "false"))) {
		*out = !strcmp(n->str, "true");
		return 0;
	}
	ERRN(l, n, "expected true or false for %s, got %s", what,
	     dk_ynode_describe(n));
	return -1;
}

static int get_enum(struct ld *l, const struct dk_ynode *n, const char *what,
                    const char *const *vals, size_t nv, int *out)
{
	size_t i;
	const char *near;
	char list[256] = "";

	if (n->type == DK_YSCALAR) {
		for (i = 0; i < nv; i++)
			if (!strcmp(n->str, vals[i])) {
				*out = (int)i;
				return 0;
			}
	}
	for (i = 0; i < nv; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
		         vals[i]);
	}
	near = n->type == DK_YSCALAR ? dk_nearest(n->str, vals, nv) : NULL;
	if (near)
		ERRN(l, n,
		     "expected one of %s for %s, got \"%s\"; did you mean "
		     "\"%s\"?",
		     list, what, n->str, near);
	else if (n->type == DK_YSCALAR)
		ERRN(l, n, "expected one of %s for %s, got \"%s\"", list, what,
		     n->str);
	else
		ERRN(l, n, "expected one of %s for %s, got %s", list, what,
		     dk_ynode_describe(n));
	return -1;
}

/* "90s", "30m", "24h", "7d" or plain seconds. */
static int get_duration(struct ld *l, const struct dk_ynode *n,
                        const char *what, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (n->type == DK_YSCALAR && *n->str &&
	    isdigit((unsigned char)*n->str)) {
		errno = 0;
		v = strtoll(n->str, &end, 10);
		if (!errno && v > 0) {
			if (*end == 's')
				end++;
			else if (*end == 'm')
				mul = 60, end++;
			else if (*end == 'h')
				mul = 3600, end++;
			else if (*end == 'd')
				mul = 86400, end++;
			if (!*end && v <= 366LL * 86400 / mul) {
				*out = v * mul;
				return 0;
			}
		}
	}
	ERRN(l, n,
	     "expected a duration such as 90s, 30m, 24h or 7d (at most "
	     "366d) for %s",
	     what);
	return -1;
}

/* A JSON value for a scalar: plain scalars are typed as YAML's core. */
static json_t *scalar_json(const struct dk_ynode *n)
{
	char *end;

	if (!n->plain)
		return json_string(n->str);
	if (is_null(n))
		return json_null();
	if (!strcmp(n->str, "true"))
		return json_true();
	if (!strcmp(n->str, "false"))
		return json_false();
	if (*n->str) {
		long long v;
		double d;
		errno = 0;
		v = strtoll(n->str, &end, 10);
		if (!*end && !errno)
			return json_integer(v);
		d = strtod(n->str, &end);
		if (!*end && !errno &&
		    (isdigit((unsigned char)*n->str) || *n->str == '-' ||
		     *n->str == '.'))
			return json_real(d);
	}
	return json_string(n->str);
}

/*
 * A list of strings; each checked with valid (may be NULL). json_out,
 * when not NULL, receives the list as a JSON array.
 */
static void get_strv(struct ld *l, const struct dk_ynode *n, const char *what,
                     int (*valid)(const char *), const char *valid_what,
                     struct dk_strv *out, json_t **json_out)
{
	size_t i, j;
	json_t *arr = json_array();

	if (json_out)
		*json_out = arr;
	if (!want_seq(l, n, what)) {
		if (!json_out)
			json_decref(arr);
		return;
	}
	out->v = xcalloc(n->n, sizeof(char *));
	for (i = 0; i < n->n; i++) {
		const char *s = get_str(l, n->items[i], what);
		if (!s)
			continue;
		if (valid && !valid(s)) {
			ERRN(l, n->items[i], "expected %s in %s, got \"%s\"",
			     valid_what, what, s);
			continue;
		}
		for (j = 0; j < out->n; j++)
			if (!strcmp(out->v[j], s))
				break;
		if (j < out->n) {
			ERRN(l, n->items[i], "\"%s\" is listed twice in %s", s,
			     what);
			continue;
		}
		out->v[out->n++] = xstrdup(s);
		json_array_append_new(arr, json_string(s));
	}
	if (!json_out)
		json_decref(arr);
}

/* A list of strings, duplicates allowed (argv). */
static void get_strv_any(struct ld *l, const struct dk_ynode *n,
                         const char *what, struct dk_strv *out,
                         json_t **json_out)
{
	size_t i;

	*json_out = json_array();
	if (!want_seq(l, n, what))
		return;
	out->v = xcalloc(n->n, sizeof(char *));
	for (i = 0; i < n->n; i++) {
		const char *s =
		    n->items[i]->type == DK_YSCALAR && !is_null(n->items[i])
		        ? n->items[i]->str
		        : NULL;
		if (!s) {
			ERRN(l, n->items[i], "expected a string in %s, got %s",
			     what, dk_ynode_describe(n->items[i]));
			continue;
		}
		out->v[out->n++] = xstrdup(s);
		json_array_append_new(*json_out, json_string(s));
	}
}

static int strv_has(const struct dk_strv *v, const char *s)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return 1;
	return 0;
}

/* Column of the first non-blank character of a 1-based line of buf. */
static int line_indent(struct ld *l, int line)
{
	const char *p = l->buf, *end = l->buf + l->len;
	int c = 1;

	while (line > 1 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 1;
		p = nl + 1;
		line--;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++, c++;
	return c;
}

static void jq_error(struct ld *l, const struct dk_ynode *n, const char *what,
                     const struct dk_jq_error *je)
{
	int line = n->line, col = n->col;

	if (n->block && je->line > 0) {
		line = n->line + je->line;
		col = line_indent(l, line);
	}
	err(l, line, col, "invalid jq in %s: %s", what, je->msg);
}

static struct dk_jq *get_jq(struct ld *l, const struct dk_ynode *n,
                            const char *what, json_t **json_out)
{
	struct dk_jq *e = NULL;
	struct dk_jq_error je;
	const char *s = get_str(l, n, what);
	struct pending_jq *p;

	if (!s)
		return NULL;
	if (dk_jq_check_sandbox(s, &je) < 0 ||
	    dk_jq_set_add(&e, l->jqset, s, &je) < 0) {
		jq_error(l, n, what, &je);
		return NULL;
	}
	if (l->npending == l->cappending) {
		size_t cap = l->cappending ? l->cappending * 2 : 16;
		p = realloc(l->pending, cap * sizeof(*p));
		if (!p)
			abort();
		l->pending = p;
		l->cappending = cap;
	}
	p = &l->pending[l->npending++];
	p->e = e;
	p->n = n;
	p->what = xstrdup(what);
	if (json_out)
		*json_out = json_string(s);
	return e;
}

/* Compile every expression at once; report the ones that fail. */
static void compile_jq(struct ld *l)
{
	size_t nfailed = 0, i;
	struct dk_jq_error je;

	if (dk_jq_set_compile(&nfailed, l->jqset) < 0 && !nfailed)
		err(l, 1, 1, "%s", dk_error_last());
	for (i = 0; i < l->npending; i++) {
		if (dk_jq_failed(l->pending[i].e, &je))
			jq_error(l, l->pending[i].n, l->pending[i].what, &je);
		free(l->pending[i].what);
	}
	free(l->pending);
	l->pending = NULL;
	l->npending = 0;
}

static void put(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set_new(o, k, v);
}

static struct dk_loc loc_of(const struct dk_ynode *n)
{
	struct dk_loc loc = { n->line, n->col };
	return loc;
}

/* ---- schemas ---------------------------------------------------- */

static const char *const schema_types[] = {
	"object", "array", "string", "integer", "number", "boolean", "null",
};

static json_t *get_schema(struct ld *l, const struct dk_ynode *n,
                          const char *what);

static json_t *schema_keyword(struct ld *l, const char *k,
                              const struct dk_ynode *v, const char *what)
{
	size_t i;
	int t;
	int64_t iv;
	char sub[300];

	if (!strcmp(k, "type")) {
		if (v->type == DK_YSEQ) {
			json_t *a = json_array();
			for (i = 0; i < v->n; i++)
				if (!get_enum(l, v->items[i], "a schema type",
				              schema_types, N_(schema_types),
				              &t))
					json_array_append_new(
					    a, json_string(schema_types[t]));
			return a;
		}
		if (get_enum(l, v, "a schema type", schema_types,
		             N_(schema_types), &t) < 0)
			return NULL;
		return json_string(schema_types[t]);
	}
	if (!strcmp(k, "properties")) {
		json_t *o = json_object();
		if (!want_map(l, v, "schema properties"))
			return o;
		for (i = 0; i < v->n; i++) {
			snprintf(sub, sizeof(sub), "property \"%s\" of %s",
			         v->keys[i]->str, what);
			put(o, v->keys[i]->str,
			    get_schema(l, v->items[i], sub));
		}
		return o;
	}
	if (!strcmp(k, "items"))
		return get_schema(l, v, what);
	if (!strcmp(k, "required")) {
		struct dk_strv sv = { 0 };
		json_t *a = NULL;
		get_strv(l, v, "schema required", NULL, NULL, &sv, &a);
		for (i = 0; i < sv.n; i++)
			free(sv.v[i]);
		free(sv.v);
		return a;
	}
	if (!strcmp(k, "additionalProperties")) {
		if (get_bool(l, v, "additionalProperties", &t) < 0)
			return NULL;
		return json_boolean(t);
	}
	if (!strcmp(k, "enum")) {
		json_t *a = json_array();
		if (!want_seq(l, v, "enum"))
			return a;
		for (i = 0; i < v->n; i++) {
			if (v->items[i]->type != DK_YSCALAR) {
				ERRN(l, v->items[i],
				     "expected a scalar in enum, got %s",
				     dk_ynode_describe(v->items[i]));
				continue;
			}
			json_array_append_new(a, scalar_json(v->items[i]));
		}
		return a;
	}
	if (!strcmp(k, "minimum") || !strcmp(k, "maximum")) {
		json_t *x = v->type == DK_YSCALAR ? scalar_json(v) : NULL;
		if (!x || !json_is_number(x)) {
			ERRN(l, v, "expected a number for %s, got %s", k,
			     dk_ynode_describe(v));
			json_decref(x);
			return NULL;
		}
		return x;
	}
	if (!strcmp(k, "minLength") || !strcmp(k, "maxLength") ||
	    !strcmp(k, "maxItems")) {
		if (get_int(l, v, k, 0, 1 << 30, &iv) < 0)
			return NULL;
		return json_integer(iv);
	}
	if (!strcmp(k, "pattern")) {
		const char *s = get_str(l, v, "pattern");
		regex_t re;
		int rc;
		if (!s)
			return NULL;
		if ((rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB))) {
			char msg[128];
			regerror(rc, &re, msg, sizeof(msg));
			ERRN(l, v,
			     "expected a POSIX extended regular "
			     "expression for pattern: %s",
			     msg);
			return NULL;
		}
		regfree(&re);
		return json_string(s);
	}
	if (!strcmp(k, "description")) {
		const char *s = get_str(l, v, "description");
		return s ? json_string(s) : NULL;
	}
	return NULL;
}

static json_t *get_schema(struct ld *l, const struct dk_ynode *n,
                          const char *what)
{
	json_t *o = json_object(), *props, *req;
	size_t i;

	if (!want_map(l, n, what))
		return o;
	check_keys(l, n, "a schema", dk_schema_keywords, dk_schema_nkeywords);
	for (i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str;
		if (dk_schema_is_keyword(k))
			put(o, k, schema_keyword(l, k, n->items[i], what));
	}
	props = json_object_get(o, "properties");
	req = json_object_get(o, "required");
	if (props && req &&
	    json_is_false(json_object_get(o, "additionalProperties"))) {
		const struct dk_ynode *rn = dk_ynode_get(n, "required");
		size_t j;
		json_t *x;
		json_array_foreach(req, j, x)
		{
			if (!json_object_get(props, json_string_value(x)))
				ERRN(l, rn->items[j],
				     "required property \"%s\" is not in "
				     "properties, and additionalProperties "
				     "is false",
				     json_string_value(x));
		}
	}
	return o;
}

/* An optional schema; {} when absent. */
static json_t *opt_schema(struct ld *l, const struct dk_ynode *map,
                          const char *key, const char *what)
{
	const struct dk_ynode *n = dk_ynode_get(map, key);

	return n ? get_schema(l, n, what) : json_object();
}

/* Is name a property of an object schema, or could it be (no list)? */
static int schema_allows(const json_t *schema, const char *name)
{
	const json_t *props = json_object_get(schema, "properties");

	if (!props)
		return !json_is_false(
		    json_object_get(schema, "additionalProperties"));
	return json_object_get(props, name) != NULL;
}

/* ---- providers and databases ------------------------------------ */

/* Host of an http(s) URL into host (lowercase); scheme "http"/"https". */
static int url_host(const char *url, int *https, char *host, size_t hostsz)
{
	const char *p, *e;
	size_t n;

	if (!strncmp(url, "https://", 8))
		*https = 1, p = url + 8;
	else if (!strncmp(url, "http://", 7))
		*https = 0, p = url + 7;
	else
		return -1;
	if (*p == '[') {
		e = strchr(p, ']');
		if (!e)
			return -1;
		p++;
	} else {
		e = p + strcspn(p, ":/?#");
	}
	n = (size_t)(e - p);
	if (!n || n >= hostsz || memchr(p, '@', n))
		return -1;
	for (size_t i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[n] = 0;
	return 0;
}

static int is_hostname(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-:", *s))
			return 0;
	return 1;
}

static const char *const provider_keys[] = {
	"base_url",
	"base_url_env",
	"local_hosts",
	"description",
};

static json_t *load_providers(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_object();
	size_t i;

	if (!want_map(l, n, "providers"))
		return out;
	wf->providers = xcalloc(n->n, sizeof(*wf->providers));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *m = n->items[i], *v;
		struct dk_provider *p = &wf->providers[wf->nproviders++];
		json_t *o = json_object(), *a = NULL;
		char what[300], host[256];
		const char *s;
		int https;

		p->name = xstrdup(n->keys[i]->str);
		p->loc = loc_of(n->keys[i]);
		snprintf(what, sizeof(what), "provider \"%s\"", p->name);
		if (!is_ident(p->name))
			ERRN(l, n->keys[i],
			     "expected a lowercase identifier as provider "
			     "name, got \"%s\"",
			     p->name);
		put(out, p->name, o);
		if (!want_map(l, m, what))
			continue;
		check_keys(l, m, what, provider_keys, N_(provider_keys));
		if ((v = dk_ynode_get(m, "local_hosts"))) {
			get_strv(l, v, "local_hosts", is_hostname,
			         "a host name or address", &p->local_hosts, &a);
			put(o, "local_hosts", a);
		} else {
			put(o, "local_hosts", json_array());
		}
		if ((v = dk_ynode_get(m, "base_url_env")) &&
		    (s = get_str(l, v, "base_url_env"))) {
			if (!is_envname(s))
				ERRN(l, v,
				     "expected an environment variable "
				     "name (A-Z, 0-9, _) for "
				     "base_url_env, got \"%s\"",
				     s);
			p->base_url_env = xstrdup(s);
			put(o, "base_url_env", json_string(s));
		}
		if ((v = dk_ynode_get(m, "description")) &&
		    (s = get_str(l, v, "description")))
			put(o, "description", json_string(s));
		if (!(v = need(l, m, "base_url", what)) ||
		    !(s = get_str(l, v, "base_url")))
			continue;
		p->base_url = xstrdup(s);
		put(o, "base_url", json_string(s));
		if (url_host(s, &https, host, sizeof(host)) < 0) {
			ERRN(l, v,
			     "expected an http:// or https:// URL with "
			     "a host for base_url, got \"%s\"",
			     s);
		} else if (!https && !strv_has(&p->local_hosts, host)) {
			ERRN(l, v,
			     "plain http is only allowed to hosts in "
			     "local_hosts; use https or add \"%s\" to "
			     "local_hosts",
			     host);
		}
		if (strchr(s, '?') || strchr(s, '#'))
			ERRN(l, v,
			     "expected a base_url without query or "
			     "fragment");
	}
	return out;
}

static const char *const database_keys[] = {
	"path",
	"path_env",
	"writable",
	"description",
};

static json_t *load_databases(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_object();
	size_t i;

	if (!want_map(l, n, "databases"))
		return out;
	wf->databases = xcalloc(n->n, sizeof(*wf->databases));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *m = n->items[i], *v;
		struct dk_database *db = &wf->databases[wf->ndatabases++];
		json_t *o = json_object();
		char what[300];
		const char *s;

		db->name = xstrdup(n->keys[i]->str);
		db->loc = loc_of(n->keys[i]);
		snprintf(what, sizeof(what), "database \"%s\"", db->name);
		if (!is_ident(db->name))
			ERRN(l, n->keys[i],
			     "expected a lowercase identifier as database "
			     "name, got \"%s\"",
			     db->name);
		put(out, db->name, o);
		if (!want_map(l, m, what))
			continue;
		check_keys(l, m, what, database_keys, N_(database_keys));
		if ((v = need(l, m, "path", what)) &&
		    (s = get_str(l, v, "path"))) {
			db->path = xstrdup(s);
			put(o, "path", json_string(s));
		}
		if ((v = dk_ynode_get(m, "path_env")) &&
		    (s = get_str(l, v, "path_env"))) {
			if (!is_envname(s))
				ERRN(l, v,
				     "expected an environment variable "
				     "name (A-Z, 0-9, _) for path_env, "
				     "got \"%s\"",
				     s);
			db->path_env = xstrdup(s);
			put(o, "path_env", json_string(s));
		}
		if ((v = dk_ynode_get(m, "writable")))
			get_bool(l, v, "writable", &db->writable);
		put(o, "writable", json_boolean(db->writable));
		if ((v = dk_ynode_get(m, "description")) &&
		    (s = get_str(l, v, "description")))
			put(o, "description", json_string(s));
	}
	return out;
}

static const struct dk_provider *find_provider(const struct dk_workflow *wf,
                                               const char *name)
{
	size_t i;

	for (i = 0; i < wf->nproviders; i++)
		if (!strcmp(wf->providers[i].name, name))
			return &wf->providers[i];
	return NULL;
}

static const char **names_of(const void *base, size_t n, size_t stride)
{
	const char **v = xcalloc(n, sizeof(char *));
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = *(char *const *)((const char *)base + i * stride);
	return v;
}

/* Report "X \"name\" is not defined in SECTION; did you mean ...". */
static void undefined(struct ld *l, const struct dk_ynode *n,
                      const char *prefix, const char *name, const char *section,
                      const void *base, size_t cnt, size_t stride)
{
	const char **names;
	const char *near;

	if (l->d->n >= DK_DIAGS_MAX) {
		/* Only counted from now on: skip the costly suggestion. */
		ERRN(l, n, "%s \"%s\" is not defined", prefix, name);
		return;
	}
	names = names_of(base, cnt, stride);
	near = dk_nearest(name, names, cnt);

	if (near)
		ERRN(l, n,
		     "%s \"%s\", which is not defined in %s; did you "
		     "mean \"%s\"?",
		     prefix, name, section, near);
	else
		ERRN(l, n, "%s \"%s\", which is not defined in %s", prefix,
		     name, section);
	free(names);
}

static const struct dk_provider *
ref_provider(struct ld *l, const struct dk_ynode *n, const char *who)
{
	const char *s = get_str(l, n, "provider");
	const struct dk_provider *p;
	char prefix[300];

	if (!s)
		return NULL;
	if ((p = find_provider(l->wf, s)))
		return p;
	snprintf(prefix, sizeof(prefix), "%s uses provider", who);
	undefined(l, n, prefix, s, "providers", l->wf->providers,
	          l->wf->nproviders, sizeof(struct dk_provider));
	return NULL;
}

/* ---- templates ---------------------------------------------------- */

/* Check "/a/{name}/b": placeholders are identifiers allowed by schema. */
static void check_path(struct ld *l, const struct dk_ynode *n, const char *s,
                       const json_t *schema, const char *who)
{
	const char *p = s;

	if (*s != '/') {
		ERRN(l, n,
		     "expected a path starting with \"/\" for %s, got "
		     "\"%s\"",
		     who, s);
		return;
	}
	while ((p = strpbrk(p, "{}"))) {
		const char *e;
		char name[128];
		size_t len;

		if (*p == '}' || !(e = strchr(p, '}'))) {
			ERRN(l, n, "unbalanced braces in the path of %s", who);
			return;
		}
		len = (size_t)(e - p - 1);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p + 1, len);
		name[len] = 0;
		if (!is_ident(name))
			ERRN(l, n,
			     "expected {field} with a lowercase "
			     "identifier in the path of %s, got {%s}",
			     who, name);
		else if (!schema_allows(schema, name))
			ERRN(l, n,
			     "path placeholder {%s} of %s is not a "
			     "property of its input schema",
			     name, who);
		p = e + 1;
	}
}

static int is_token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

static json_t *load_headers(struct ld *l, const struct dk_ynode *n,
                            const struct dk_strv *secrets, const char *who,
                            struct dk_header **out, size_t *nout)
{
	json_t *o = json_object();
	size_t i;

	if (!want_map(l, n, "headers"))
		return o;
	*out = xcalloc(n->n, sizeof(**out));
	for (i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str, *v, *p;
		const struct dk_ynode *vn = n->items[i];
		struct dk_header *h;

		for (p = k; *p && is_token_char(*p); p++)
			;
		if (*p)
			ERRN(l, n->keys[i],
			     "expected an HTTP header name, "
			     "got \"%s\"",
			     k);
		if (!(v = get_str(l, vn, "a header value")))
			continue;
		if (strpbrk(v, "\r\n")) {
			ERRN(l, vn,
			     "header values cannot contain line "
			     "breaks");
			continue;
		}
		for (p = v; (p = strstr(p, "${"));) {
			const char *e = strchr(p, '}');
			char name[128];
			size_t len;
			if (!e || strncmp(p, "${secret:", 9)) {
				ERRN(l, vn,
				     "expected ${secret:NAME} in header "
				     "\"%s\" of %s",
				     k, who);
				break;
			}
			len = (size_t)(e - p - 9);
			if (len >= sizeof(name))
				len = sizeof(name) - 1;
			memcpy(name, p + 9, len);
			name[len] = 0;
			if (!strv_has(secrets, name))
				ERRN(l, vn,
				     "header \"%s\" of %s uses secret "
				     "\"%s\", which is not listed in "
				     "its secrets",
				     k, who, name);
			p = e + 1;
		}
		h = &(*out)[(*nout)++];
		h->name = xstrdup(k);
		h->value = xstrdup(v);
		put(o, k, json_string(v));
	}
	return o;
}

/* ---- SQL ------------------------------------------------------------ */

static int add_param(struct dk_capability *c, const char *name, int sess)
{
	size_t i;

	for (i = 0; i < c->sql.nparams; i++)
		if (c->sql.params[i].from_session == sess &&
		    !strcmp(c->sql.params[i].name, name))
			return (int)i + 1;
	c->sql.params = realloc(c->sql.params,
	                        (c->sql.nparams + 1) * sizeof(*c->sql.params));
	if (!c->sql.params)
		abort();
	c->sql.params[c->sql.nparams].name = xstrdup(name);
	c->sql.params[c->sql.nparams].from_session = sess;
	return (int)++c->sql.nparams;
}

/*
 * Rewrite :name, :args.name and :session.name to ?N, skipping strings,
 * quoted identifiers and comments; refuse other parameter forms and a
 * second statement.
 */
static void rewrite_sql(struct ld *l, const struct dk_ynode *n,
                        struct dk_capability *c)
{
	const char *q = c->sql.query, *p = q;
	size_t cap = strlen(q) * 3 + 16, o = 0;
	char *out = xcalloc(cap, 1);
	int ended = 0;

	while (*p) {
		char ch = *p;
		if (ended && !isspace((unsigned char)ch) && ch != ';') {
			ERRN(l, n,
			     "expected a single SQL statement in the "
			     "query of capability \"%s\"",
			     c->name);
			break;
		}
		if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
			char close = ch == '[' ? ']' : ch;
			const char *e = p + 1;
			while (*e && *e != close)
				e++;
			if (*e)
				e++;
			memcpy(out + o, p, (size_t)(e - p));
			o += (size_t)(e - p);
			p = e;
			continue;
		}
		if (ch == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				out[o++] = *p++;
			continue;
		}
		if (ch == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			e = e ? e + 2 : p + strlen(p);
			memcpy(out + o, p, (size_t)(e - p));
			o += (size_t)(e - p);
			p = e;
			continue;
		}
		if (ch == ';') {
			ended = 1;
			p++;
			continue;
		}
		if (ch == '?' || ch == '@' || ch == '$') {
			ERRN(l, n,
			     "expected :name parameters in the query of "
			     "capability \"%s\", found \"%c\"",
			     c->name, ch);
			break;
		}
		if (ch == ':' &&
		    (isalpha((unsigned char)p[1]) || p[1] == '_')) {
			char a[128], b[128];
			const char *e = p + 1;
			size_t len;
			int sess = 0, idx;
			char num[16];

			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			len = (size_t)(e - p - 1);
			snprintf(a, sizeof(a), "%.*s", (int)len, p + 1);
			if (*e == '.' &&
			    (!strcmp(a, "session") || !strcmp(a, "args"))) {
				const char *f = e + 1;
				while (isalnum((unsigned char)*f) || *f == '_')
					f++;
				snprintf(b, sizeof(b), "%.*s", (int)(f - e - 1),
				         e + 1);
				sess = !strcmp(a, "session");
				memcpy(a, b, sizeof(a));
				e = f;
			}
			if (!*a) {
				ERRN(l, n,
				     "expected a name after :%s. in the "
				     "query of capability \"%s\"",
				     sess ? "session" : "args", c->name);
			} else if (sess &&
			           !strv_has(&l->wf->session_require, a) &&
			           !strv_has(&l->wf->session_optional, a)) {
				ERRN(l, n,
				     "query of capability \"%s\" binds "
				     ":session.%s, which is not in "
				     "session.require or "
				     "session.optional",
				     c->name, a);
			} else if (!sess && !schema_allows(c->input, a)) {
				ERRN(l, n,
				     "query of capability \"%s\" binds "
				     ":%s, which is not a property of "
				     "its input schema",
				     c->name, a);
			}
			idx = add_param(c, a, sess);
			snprintf(num, sizeof(num), "?%d", idx);
			memcpy(out + o, num, strlen(num));
			o += strlen(num);
			p = e;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = 0;
	c->sql.sql = out;
}

/* ---- capabilities ------------------------------------------------- */

static const char *const risk_names[] = { "low", "medium", "high", "critical" };
static const char *const kind_names[] = { "sql", "exec", "http" };

static const char *const cap_common_keys[] = {
	"kind", "description", "input", "output", "ensure", "risk", "redact",
};
static const char *const cap_sql_keys[] = { "database", "query", "returns",
	                                    "max_rows" };
static const char *const cap_exec_keys[] = { "argv", "env", "timeout_ms",
	                                     "max_output_bytes" };
static const char *const cap_http_keys[] = {
	"provider",
	"path",
	"headers",
	"secrets",
	"timeout_ms",
	"connect_timeout_ms",
	"max_response_bytes",
};

static int is_redact_path(const char *s, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *rest;

	if (!strncmp(s, a, la) && s[la] == '.')
		rest = s + la + 1;
	else if (!strncmp(s, b, lb) && s[lb] == '.')
		rest = s + lb + 1;
	else
		return 0;
	if (!*rest || rest[strlen(rest) - 1] == '.' || strstr(rest, ".."))
		return 0;
	for (; *rest; rest++)
		if (!isalnum((unsigned char)*rest) && !strchr("_-.", *rest))
			return 0;
	return 1;
}

static int redact_cap(const char *s)
{
	return is_redact_path(s, "args", "output");
}
static int redact_action(const char *s)
{
	return is_redact_path(s, "args", "response");
}
static int redact_top(const char *s)
{
	return is_redact_path(s, "session", "input");
}

static json_t *load_ensure(struct ld *l, const struct dk_ynode *n,
                           struct dk_capability *c)
{
	json_t *arr = json_array();
	size_t i;

	if (!want_seq(l, n, "ensure"))
		return arr;
	c->ensure = xcalloc(n->n, sizeof(*c->ensure));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *it = n->items[i], *ex = it, *msg = NULL;
		struct dk_check *ck;
		json_t *o = json_object(), *src = NULL;
		char what[300];

		json_array_append_new(arr, o);
		snprintf(what, sizeof(what), "ensure of capability \"%s\"",
		         c->name);
		if (it->type == DK_YMAP) {
			static const char *const k[] = { "check", "message" };
			check_keys(l, it, "an ensure entry", k, N_(k));
			ex = need(l, it, "check", "an ensure entry");
			msg = dk_ynode_get(it, "message");
		}
		if (!ex)
			continue;
		ck = &c->ensure[c->nensure];
		ck->loc = loc_of(ex);
		if (!(ck->expr = get_jq(l, ex, what, &src)))
			continue;
		c->nensure++;
		put(o, "check", src);
		if (msg && get_str(l, msg, "message"))
			ck->message = xstrdup(msg->str);
		else
			ck->message = xstrdup(dk_jq_source(ck->expr));
		put(o, "message", json_string(ck->message));
	}
	return arr;
}

static void load_cap_sql(struct ld *l, const struct dk_ynode *m,
                         struct dk_capability *c, json_t *o, const char *what)
{
	const struct dk_ynode *v;
	const char *s;
	int t;
	static const char *const ret[] = { "rows", "row" };

	if ((v = need(l, m, "database", what)) &&
	    (s = get_str(l, v, "database"))) {
		size_t i;
		for (i = 0; i < l->wf->ndatabases; i++)
			if (!strcmp(l->wf->databases[i].name, s))
				c->sql.db = &l->wf->databases[i];
		if (!c->sql.db) {
			char prefix[300];
			snprintf(prefix, sizeof(prefix),
			         "capability \"%s\" uses database", c->name);
			undefined(l, v, prefix, s, "databases",
			          l->wf->databases, l->wf->ndatabases,
			          sizeof(struct dk_database));
		}
		put(o, "database", json_string(s));
	}
	if ((v = need(l, m, "query", what)) && (s = get_str(l, v, "query"))) {
		c->sql.query = xstrdup(s);
		put(o, "query", json_string(s));
		rewrite_sql(l, v, c);
	}
	c->sql.returns = DK_SQL_ROWS;
	if ((v = dk_ynode_get(m, "returns")) &&
	    !get_enum(l, v, "returns", ret, N_(ret), &t))
		c->sql.returns = (enum dk_sql_returns)t;
	put(o, "returns", json_string(ret[c->sql.returns]));
	c->sql.max_rows = DK_SQL_MAX_ROWS;
	if ((v = dk_ynode_get(m, "max_rows")))
		get_int32(l, v, "max_rows", 1, 100000, &c->sql.max_rows);
	put(o, "max_rows", json_integer(c->sql.max_rows));
}

static void load_cap_exec(struct ld *l, const struct dk_ynode *m,
                          struct dk_capability *c, json_t *o, const char *what)
{
	const struct dk_ynode *v;
	json_t *a = NULL;
	int64_t iv;

	if ((v = need(l, m, "argv", what))) {
		get_strv_any(l, v, "argv", &c->exec.argv, &a);
		put(o, "argv", a);
		if (v->type == DK_YSEQ && !v->n)
			ERRN(l, v, "expected at least the program in argv");
	}
	a = NULL;
	if ((v = dk_ynode_get(m, "env")))
		get_strv(l, v, "env", is_envname,
		         "an environment variable name (A-Z, 0-9, _)",
		         &c->exec.env, &a);
	put(o, "env", a ? a : json_array());
	c->exec.timeout_ms = DK_EXEC_TIMEOUT_MS;
	if ((v = dk_ynode_get(m, "timeout_ms")))
		get_int32(l, v, "timeout_ms", 1, 3600000, &c->exec.timeout_ms);
	put(o, "timeout_ms", json_integer(c->exec.timeout_ms));
	c->exec.max_output = DK_EXEC_MAX_OUTPUT;
	if ((v = dk_ynode_get(m, "max_output_bytes")) &&
	    !get_int(l, v, "max_output_bytes", 1, 64 << 20, &iv))
		c->exec.max_output = (size_t)iv;
	put(o, "max_output_bytes",
	    json_integer((json_int_t)c->exec.max_output));
}

static void load_cap_http(struct ld *l, const struct dk_ynode *m,
                          struct dk_capability *c, json_t *o, const char *what)
{
	const struct dk_ynode *v;
	const char *s;
	json_t *a = NULL;
	int64_t iv;
	char who[300];

	snprintf(who, sizeof(who), "capability \"%s\"", c->name);
	if ((v = need(l, m, "provider", what))) {
		c->http.provider = ref_provider(l, v, who);
		put(o, "provider", json_string(v->str));
	}
	if ((v = dk_ynode_get(m, "secrets")))
		get_strv(l, v, "secrets", is_envname,
		         "an environment variable name (A-Z, 0-9, _)",
		         &c->http.secrets, &a);
	put(o, "secrets", a ? a : json_array());
	if ((v = need(l, m, "path", what)) && (s = get_str(l, v, "path"))) {
		c->http.path = xstrdup(s);
		check_path(l, v, s, c->input, who);
		put(o, "path", json_string(s));
	}
	if ((v = dk_ynode_get(m, "headers")))
		put(o, "headers",
		    load_headers(l, v, &c->http.secrets, who, &c->http.headers,
		                 &c->http.nheaders));
	else
		put(o, "headers", json_object());
	c->http.connect_timeout_ms = DK_HTTP_CONNECT_TIMEOUT_MS;
	c->http.timeout_ms = DK_HTTP_TIMEOUT_MS;
	if ((v = dk_ynode_get(m, "connect_timeout_ms")))
		get_int32(l, v, "connect_timeout_ms", 1, 600000,
		          &c->http.connect_timeout_ms);
	if ((v = dk_ynode_get(m, "timeout_ms")))
		get_int32(l, v, "timeout_ms", 1, 3600000, &c->http.timeout_ms);
	put(o, "connect_timeout_ms", json_integer(c->http.connect_timeout_ms));
	put(o, "timeout_ms", json_integer(c->http.timeout_ms));
	c->http.max_response = DK_HTTP_MAX_RESPONSE;
	if ((v = dk_ynode_get(m, "max_response_bytes")) &&
	    !get_int(l, v, "max_response_bytes", 1, 64 << 20, &iv))
		c->http.max_response = (size_t)iv;
	put(o, "max_response_bytes",
	    json_integer((json_int_t)c->http.max_response));
}

static void cap_keys(struct ld *l, const struct dk_ynode *m, int kind,
                     const char *what)
{
	const char *keys[32];
	size_t n = 0, i;

	for (i = 0; i < N_(cap_common_keys); i++)
		keys[n++] = cap_common_keys[i];
	if (kind < 0 || kind == DK_CAP_SQL)
		for (i = 0; i < N_(cap_sql_keys); i++)
			keys[n++] = cap_sql_keys[i];
	if (kind < 0 || kind == DK_CAP_EXEC)
		for (i = 0; i < N_(cap_exec_keys); i++)
			keys[n++] = cap_exec_keys[i];
	if (kind < 0 || kind == DK_CAP_HTTP) {
		for (i = 0; i < N_(cap_http_keys); i++) {
			if (kind < 0 && !strcmp(cap_http_keys[i], "timeout_ms"))
				continue;
			keys[n++] = cap_http_keys[i];
		}
	}
	check_keys(l, m, what, keys, n);
}

static json_t *load_capabilities(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_object();
	size_t i;

	if (!want_map(l, n, "capabilities"))
		return out;
	wf->capabilities = xcalloc(n->n, sizeof(*wf->capabilities));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *m = n->items[i], *v;
		struct dk_capability *c =
		    &wf->capabilities[wf->ncapabilities++];
		json_t *o = json_object(), *a = NULL;
		char what[300];
		const char *s;
		int kind = -1, t;

		c->name = xstrdup(n->keys[i]->str);
		c->loc = loc_of(n->keys[i]);
		snprintf(what, sizeof(what), "capability \"%s\"", c->name);
		if (!is_dotted(c->name))
			ERRN(l, n->keys[i],
			     "expected a lowercase dotted name such as "
			     "commerce.check_order_status, got \"%s\"",
			     c->name);
		put(out, c->name, o);
		c->input = json_object();
		c->output = json_object();
		if (!want_map(l, m, what))
			continue;
		if ((v = need(l, m, "kind", what)) &&
		    !get_enum(l, v, "kind", kind_names, N_(kind_names), &kind))
			c->kind = (enum dk_cap_kind)kind;
		cap_keys(l, m, kind, what);
		put(o, "kind",
		    kind >= 0 ? json_string(kind_names[kind]) : NULL);
		if ((v = dk_ynode_get(m, "description")) &&
		    (s = get_str(l, v, "description"))) {
			c->description = xstrdup(s);
			put(o, "description", json_string(s));
		}
		json_decref(c->input);
		json_decref(c->output);
		c->input = opt_schema(l, m, "input", "input");
		c->output = opt_schema(l, m, "output", "output");
		put(o, "input", json_incref(c->input));
		put(o, "output", json_incref(c->output));
		c->risk = DK_RISK_LOW;
		if ((v = dk_ynode_get(m, "risk")) &&
		    !get_enum(l, v, "risk", risk_names, N_(risk_names), &t))
			c->risk = (enum dk_risk)t;
		put(o, "risk", json_string(risk_names[c->risk]));
		if ((v = dk_ynode_get(m, "redact")))
			get_strv(l, v, "redact", redact_cap,
			         "a path starting with args. or output.",
			         &c->redact, &a);
		put(o, "redact", a ? a : json_array());
		if ((v = dk_ynode_get(m, "ensure")))
			put(o, "ensure", load_ensure(l, v, c));
		else
			put(o, "ensure", json_array());
		if (kind == DK_CAP_SQL)
			load_cap_sql(l, m, c, o, what);
		else if (kind == DK_CAP_EXEC)
			load_cap_exec(l, m, c, o, what);
		else if (kind == DK_CAP_HTTP)
			load_cap_http(l, m, c, o, what);
	}
	return out;
}

/* ---- actions -------------------------------------------------------- */

static const char *const action_keys[] = {
	"provider",
	"description",
	"method",
	"path",
	"headers",
	"body",
	"encoding",
	"secrets",
	"idempotency_header",
	"timeout_ms",
	"connect_timeout_ms",
	"retry",
	"breaker",
	"fallback",
	"risk",
	"input",
	"record",
	"redact",
	"max_response_bytes",
};
static const char *const methods[] = { "GET", "POST", "PUT", "PATCH",
	                               "DELETE" };
static const char *const encodings[] = { "json", "form" };

static json_t *load_retry(struct ld *l, const struct dk_ynode *n,
                          struct dk_action *a)
{
	static const char *const k[] = { "max_attempts", "base_ms", "max_ms" };
	const struct dk_ynode *v;
	json_t *o = json_object();

	a->retry.max_attempts = DK_RETRY_MAX_ATTEMPTS;
	a->retry.base_ms = DK_RETRY_BASE_MS;
	a->retry.max_ms = DK_RETRY_MAX_MS;
	if (n && want_map(l, n, "retry")) {
		check_keys(l, n, "retry", k, N_(k));
		if ((v = dk_ynode_get(n, "max_attempts")))
			get_int32(l, v, "max_attempts", 1, 20,
			          &a->retry.max_attempts);
		if ((v = dk_ynode_get(n, "base_ms")))
			get_int32(l, v, "base_ms", 1, 600000,
			          &a->retry.base_ms);
		if ((v = dk_ynode_get(n, "max_ms")))
			get_int32(l, v, "max_ms", 1, 3600000, &a->retry.max_ms);
		if (a->retry.max_ms < a->retry.base_ms)
			ERRN(l, n,
			     "expected retry max_ms (%d) to be at least "
			     "base_ms (%d)",
			     a->retry.max_ms, a->retry.base_ms);
	}
	put(o, "max_attempts", json_integer(a->retry.max_attempts));
	put(o, "base_ms", json_integer(a->retry.base_ms));
	put(o, "max_ms", json_integer(a->retry.max_ms));
	return o;
}

static json_t *load_breaker(struct ld *l, const struct dk_ynode *n,
                            struct dk_action *a)
{
	static const char *const k[] = { "failures", "window", "open_for" };
	const struct dk_ynode *v;
	json_t *o = json_object();
	int64_t d;

	if (!want_map(l, n, "breaker"))
		return o;
	check_keys(l, n, "breaker", k, N_(k));
	a->breaker.window_s = 60;
	a->breaker.open_s = 30;
	if ((v = need(l, n, "failures", "breaker")))
		get_int32(l, v, "failures", 1, 1000, &a->breaker.failures);
	if ((v = dk_ynode_get(n, "window")) &&
	    !get_duration(l, v, "window", &d))
		a->breaker.window_s = (int)d;
	if ((v = dk_ynode_get(n, "open_for")) &&
	    !get_duration(l, v, "open_for", &d))
		a->breaker.open_s = (int)d;
	put(o, "failures", json_integer(a->breaker.failures));
	put(o, "window_s", json_integer(a->breaker.window_s));
	put(o, "open_s", json_integer(a->breaker.open_s));
	return o;
}

static void load_action(struct ld *l, const struct dk_ynode *key,
                        const struct dk_ynode *m, struct dk_action *a,
                        json_t *o)
{
	const struct dk_ynode *v;
	const char *s;
	json_t *arr = NULL;
	int t;
	int64_t iv;
	char what[300];

	snprintf(what, sizeof(what), "action \"%s\"", a->name);
	if (!want_map(l, m, what))
		return;
	check_keys(l, m, what, action_keys, N_(action_keys));
	if ((v = dk_ynode_get(m, "description")) &&
	    (s = get_str(l, v, "description"))) {
		a->description = xstrdup(s);
		put(o, "description", json_string(s));
	}
	json_decref(a->input);
	a->input = opt_schema(l, m, "input", "input");
	put(o, "input", json_incref(a->input));
	if ((v = dk_ynode_get(m, "provider"))) {
		a->provider = ref_provider(l, v, what);
		put(o, "provider", json_string(v->str));
	} else {
		char prov[128];
		size_t n = strcspn(a->name, ".");
		snprintf(prov, sizeof(prov), "%.*s", (int)n, a->name);
		a->provider = find_provider(l->wf, prov);
		if (!a->provider)
			ERRN(l, key,
			     "action \"%s\" needs a provider: define "
			     "providers.%s or set provider",
			     a->name, prov);
		put(o, "provider", json_string(prov));
	}
	if ((v = need(l, m, "method", what)) &&
	    !get_enum(l, v, "method", methods, N_(methods), &t)) {
		a->method = xstrdup(methods[t]);
		put(o, "method", json_string(methods[t]));
	}
	if ((v = dk_ynode_get(m, "secrets")))
		get_strv(l, v, "secrets", is_envname,
		         "an environment variable name (A-Z, 0-9, _)",
		         &a->secrets, &arr);
	put(o, "secrets", arr ? arr : json_array());
	if ((v = need(l, m, "path", what)) && (s = get_str(l, v, "path"))) {
		a->path = xstrdup(s);
		check_path(l, v, s, a->input, what);
		put(o, "path", json_string(s));
	}
	if ((v = dk_ynode_get(m, "headers")))
		put(o, "headers",
		    load_headers(l, v, &a->secrets, what, &a->headers,
		                 &a->nheaders));
	else
		put(o, "headers", json_object());
	if ((v = dk_ynode_get(m, "body"))) {
		json_t *src = NULL;
		char w[340];
		snprintf(w, sizeof(w), "the body of %s", what);
		a->body = get_jq(l, v, w, &src);
		put(o, "body", src);
		if (a->method && !strcmp(a->method, "GET"))
			ERRN(l, v, "a GET action cannot have a body");
	}
	a->encoding = DK_BODY_JSON;
	if ((v = dk_ynode_get(m, "encoding")) &&
	    !get_enum(l, v, "encoding", encodings, N_(encodings), &t))
		a->encoding = (enum dk_body_encoding)t;
	put(o, "encoding", json_string(encodings[a->encoding]));
	if ((v = dk_ynode_get(m, "idempotency_header")) &&
	    (s = get_str(l, v, "idempotency_header"))) {
		a->idempotency_header = xstrdup(s);
		put(o, "idempotency_header", json_string(s));
	} else if (a->method && strcmp(a->method, "GET")) {
		if (!v)
			ERRN(l, m,
			     "missing required key \"idempotency_header\" "
			     "in %s (a %s must be sent exactly once)",
			     what, a->method);
	}
	a->connect_timeout_ms = DK_HTTP_CONNECT_TIMEOUT_MS;
	a->timeout_ms = DK_HTTP_TIMEOUT_MS;
	if ((v = dk_ynode_get(m, "connect_timeout_ms")))
		get_int32(l, v, "connect_timeout_ms", 1, 600000,
		          &a->connect_timeout_ms);
	if ((v = dk_ynode_get(m, "timeout_ms")))
		get_int32(l, v, "timeout_ms", 1, 3600000, &a->timeout_ms);
	put(o, "connect_timeout_ms", json_integer(a->connect_timeout_ms));
	put(o, "timeout_ms", json_integer(a->timeout_ms));
	put(o, "retry", load_retry(l, dk_ynode_get(m, "retry"), a));
	if ((v = dk_ynode_get(m, "breaker")))
		put(o, "breaker", load_breaker(l, v, a));
	a->risk = DK_RISK_MEDIUM;
	if ((v = dk_ynode_get(m, "risk")) &&
	    !get_enum(l, v, "risk", risk_names, N_(risk_names), &t))
		a->risk = (enum dk_risk)t;
	put(o, "risk", json_string(risk_names[a->risk]));
	arr = NULL;
	if ((v = dk_ynode_get(m, "record")))
		get_strv(l, v, "record", NULL, NULL, &a->record, &arr);
	put(o, "record", arr ? arr : json_array());
	arr = NULL;
	if ((v = dk_ynode_get(m, "redact")))
		get_strv(l, v, "redact", redact_action,
		         "a path starting with args. or response.", &a->redact,
		         &arr);
	put(o, "redact", arr ? arr : json_array());
	a->max_response = DK_HTTP_MAX_RESPONSE;
	if ((v = dk_ynode_get(m, "max_response_bytes")) &&
	    !get_int(l, v, "max_response_bytes", 1, 64 << 20, &iv))
		a->max_response = (size_t)iv;
	put(o, "max_response_bytes", json_integer((json_int_t)a->max_response));
}

static const struct dk_action *find_action(const struct dk_workflow *wf,
                                           const char *name)
{
	size_t i;

	for (i = 0; i < wf->nactions; i++)
		if (!strcmp(wf->actions[i].name, name))
			return &wf->actions[i];
	return NULL;
}

static const struct dk_action *
ref_action(struct ld *l, const struct dk_ynode *n, const char *who)
{
	const char *s = get_str(l, n, "action");
	const struct dk_action *a;

	if (!s)
		return NULL;
	if ((a = find_action(l->wf, s)))
		return a;
	undefined(l, n, who, s, "actions", l->wf->actions, l->wf->nactions,
	          sizeof(struct dk_action));
	return NULL;
}

static json_t *load_actions(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_object();
	size_t i;

	if (!want_map(l, n, "actions"))
		return out;
	wf->actions = xcalloc(n->n, sizeof(*wf->actions));
	/* Names first, so fallbacks may refer to any action. */
	for (i = 0; i < n->n; i++) {
		struct dk_action *a = &wf->actions[wf->nactions++];
		a->name = xstrdup(n->keys[i]->str);
		a->loc = loc_of(n->keys[i]);
		a->input = json_object();
		if (!is_dotted(a->name) || !strchr(a->name, '.'))
			ERRN(l, n->keys[i],
			     "expected an action name of the form "
			     "provider.action, such as stripe.refund, got "
			     "\"%s\"",
			     a->name);
	}
	for (i = 0; i < n->n; i++) {
		json_t *o = json_object();
		const struct dk_ynode *v;
		struct dk_action *a = &wf->actions[i];

		put(out, a->name, o);
		load_action(l, n->keys[i], n->items[i], a, o);
		if (n->items[i]->type == DK_YMAP &&
		    (v = dk_ynode_get(n->items[i], "fallback"))) {
			char who[300];
			snprintf(who, sizeof(who),
			         "action \"%s\" falls back to", a->name);
			a->fallback = ref_action(l, v, who);
			if (a->fallback == a)
				ERRN(l, v,
				     "action \"%s\" cannot fall back to "
				     "itself",
				     a->name);
			put(o, "fallback", json_string(v->str));
		}
	}
	return out;
}

/* ---- approvals, escalate, budget --------------------------------- */

static const char *const rule_keys[] = {
	"name",  "when",           "risk_at_least", "decision", "role",
	"count", "allow_proposer", "expires",       "reason",
};
static const char *const decisions[] = { "require", "auto", "deny" };

static int is_rule_name(const char *s)
{
	const char *p;

	if (!*s || !islower((unsigned char)*s))
		return 0;
	for (p = s; *p; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_' && *p != '-')
			return 0;
	return 1;
}

static json_t *load_approvals(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_array();
	size_t i, j;

	if (!want_seq(l, n, "approvals"))
		return out;
	wf->approvals = xcalloc(n->n, sizeof(*wf->approvals));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *m = n->items[i], *v;
		struct dk_approval_rule *r = &wf->approvals[wf->napprovals];
		json_t *o;
		char what[300];
		const char *s;
		int t;

		if (!want_map(l, m, "an approval rule"))
			continue;
		o = json_object();
		wf->napprovals++;
		r->loc = loc_of(m);
		r->count = 1;
		r->expires_s = DK_APPROVAL_EXPIRES_S;
		json_array_append_new(out, o);
		snprintf(what, sizeof(what), "approval rule %zu", i + 1);
		check_keys(l, m, "an approval rule", rule_keys, N_(rule_keys));
		if ((v = need(l, m, "name", "an approval rule")) &&
		    (s = get_str(l, v, "name"))) {
			if (!is_rule_name(s))
				ERRN(l, v,
				     "expected a lowercase name (a-z, "
				     "0-9, _ and -) for the rule, got "
				     "\"%s\"",
				     s);
			for (j = 0; j + 1 < wf->napprovals; j++)
				if (wf->approvals[j].name &&
				    !strcmp(wf->approvals[j].name, s))
					ERRN(l, v,
					     "approval rule \"%s\" is "
					     "defined twice",
					     s);
			r->name = xstrdup(s);
			put(o, "name", json_string(s));
			snprintf(what, sizeof(what), "approval rule \"%s\"", s);
		}
		if ((v = dk_ynode_get(m, "when"))) {
			json_t *src = NULL;
			char w[340];
			snprintf(w, sizeof(w), "the condition of %s", what);
			r->when = get_jq(l, v, w, &src);
			put(o, "when", src);
		}
		if ((v = dk_ynode_get(m, "risk_at_least")) &&
		    !get_enum(l, v, "risk_at_least", risk_names, N_(risk_names),
		              &t)) {
			r->has_min_risk = 1;
			r->min_risk = (enum dk_risk)t;
			put(o, "risk_at_least", json_string(risk_names[t]));
		}
		if ((v = dk_ynode_get(m, "decision"))) {
			if (get_enum(l, v, "decision", decisions, N_(decisions),
			             &t) < 0)
				continue;
			r->decision = (enum dk_decision)t;
		}
		put(o, "decision", json_string(decisions[r->decision]));
		if ((v = dk_ynode_get(m, "reason")) &&
		    (s = get_str(l, v, "reason"))) {
			r->reason = xstrdup(s);
			put(o, "reason", json_string(s));
		}
		if (r->decision != DK_DECISION_REQUIRE) {
			static const char *const only[] = { "role", "count",
				                            "allow_proposer",
				                            "expires" };
			for (j = 0; j < N_(only); j++)
				if ((v = dk_ynode_get(m, only[j])))
					ERRN(l, v,
					     "\"%s\" only applies to "
					     "decision: require, not "
					     "%s",
					     only[j], decisions[r->decision]);
			continue;
		}
		if ((v = need(l, m, "role", what)) &&
		    (s = get_str(l, v, "role"))) {
			if (!strv_has(&wf->roles, s)) {
				const char *near =
				    l->d->n >= DK_DIAGS_MAX
				        ? NULL
				        : dk_nearest(
				              s,
				              (const char *const *)wf->roles.v,
				              wf->roles.n);
				if (near)
					ERRN(l, v,
					     "%s requires role \"%s\", "
					     "which is not defined in "
					     "roles; did you mean "
					     "\"%s\"?",
					     what, s, near);
				else
					ERRN(l, v,
					     "%s requires role \"%s\", "
					     "which is not defined in "
					     "roles",
					     what, s);
			}
			r->role = xstrdup(s);
			put(o, "role", json_string(s));
		}
		if ((v = dk_ynode_get(m, "count")))
			get_int32(l, v, "count", 1, 10, &r->count);
		if ((v = dk_ynode_get(m, "allow_proposer")))
			get_bool(l, v, "allow_proposer", &r->allow_proposer);
		if ((v = dk_ynode_get(m, "expires")))
			get_duration(l, v, "expires", &r->expires_s);
		put(o, "count", json_integer(r->count));
		put(o, "allow_proposer", json_boolean(r->allow_proposer));
		put(o, "expires_s", json_integer(r->expires_s));
	}
	return out;
}

static json_t *load_escalate(struct ld *l, const struct dk_ynode *n)
{
	static const char *const k[] = { "action", "args", "conditions" };
	static const char *const ck[] = { "name", "when", "reason" };
	struct dk_escalate *e = &l->wf->escalate;
	json_t *o = json_object(), *conds = json_array(), *src;
	const struct dk_ynode *v;
	size_t i, j;

	put(o, "conditions", conds);
	if (!want_map(l, n, "escalate"))
		return o;
	check_keys(l, n, "escalate", k, N_(k));
	if ((v = need(l, n, "action", "escalate"))) {
		e->action = ref_action(l, v, "escalate uses action");
		put(o, "action", json_string(v->str));
	}
	if ((v = dk_ynode_get(n, "args"))) {
		src = NULL;
		e->args = get_jq(l, v, "escalate args", &src);
		put(o, "args", src);
	}
	if (!(v = need(l, n, "conditions", "escalate")) ||
	    !want_seq(l, v, "escalate conditions"))
		return o;
	if (!v->n)
		ERRN(l, v, "expected at least one escalate condition");
	e->conditions = xcalloc(v->n, sizeof(*e->conditions));
	for (i = 0; i < v->n; i++) {
		const struct dk_ynode *m = v->items[i], *x;
		struct dk_escalation *c;
		json_t *co;
		const char *s;
		char what[300];

		if (!want_map(l, m, "an escalate condition"))
			continue;
		co = json_object();
		c = &e->conditions[e->nconditions++];
		c->loc = loc_of(m);
		json_array_append_new(conds, co);
		check_keys(l, m, "an escalate condition", ck, N_(ck));
		snprintf(what, sizeof(what), "escalate condition %zu", i + 1);
		if ((x = need(l, m, "name", "an escalate condition")) &&
		    (s = get_str(l, x, "name"))) {
			if (!is_rule_name(s))
				ERRN(l, x,
				     "expected a lowercase name (a-z, "
				     "0-9, _ and -) for the condition, "
				     "got \"%s\"",
				     s);
			for (j = 0; j + 1 < e->nconditions; j++)
				if (e->conditions[j].name &&
				    !strcmp(e->conditions[j].name, s))
					ERRN(l, x,
					     "escalate condition \"%s\" is "
					     "defined twice",
					     s);
			c->name = xstrdup(s);
			put(co, "name", json_string(s));
			snprintf(what, sizeof(what),
			         "escalate condition \"%s\"", s);
		}
		if ((x = need(l, m, "when", what))) {
			src = NULL;
			c->when = get_jq(l, x, what, &src);
			put(co, "when", src);
		}
		if ((x = dk_ynode_get(m, "reason")) &&
		    (s = get_str(l, x, "reason"))) {
			c->reason = xstrdup(s);
			put(co, "reason", json_string(s));
		}
	}
	return o;
}

static json_t *load_budget(struct ld *l, const struct dk_ynode *n)
{
	static const char *const k[] = {
		"max_input_tokens", "max_output_tokens", "max_cost_cents",
		"warn_at",          "degrade_at",        "stop_at",
	};
	struct dk_budget *b = &l->wf->budget;
	const struct dk_ynode *v;
	json_t *o = json_object();

	b->warn_pct = 80;
	b->degrade_pct = 90;
	b->stop_pct = 100;
	if (n && want_map(l, n, "budget")) {
		check_keys(l, n, "budget", k, N_(k));
		if ((v = dk_ynode_get(n, "max_input_tokens")))
			get_int(l, v, "max_input_tokens", 1, INT64_MAX / 2,
			        &b->max_input_tokens);
		if ((v = dk_ynode_get(n, "max_output_tokens")))
			get_int(l, v, "max_output_tokens", 1, INT64_MAX / 2,
			        &b->max_output_tokens);
		if ((v = dk_ynode_get(n, "max_cost_cents")))
			get_int(l, v, "max_cost_cents", 1, INT64_MAX / 2,
			        &b->max_cost_cents);
		if (!dk_ynode_get(n, "max_input_tokens") &&
		    !dk_ynode_get(n, "max_output_tokens") &&
		    !dk_ynode_get(n, "max_cost_cents"))
			ERRN(l, n,
			     "expected at least one of max_input_tokens, "
			     "max_output_tokens or max_cost_cents in "
			     "budget");
		if ((v = dk_ynode_get(n, "warn_at")))
			get_int32(l, v, "warn_at (percent)", 1, 100,
			          &b->warn_pct);
		if ((v = dk_ynode_get(n, "degrade_at")))
			get_int32(l, v, "degrade_at (percent)", 1, 100,
			          &b->degrade_pct);
		if ((v = dk_ynode_get(n, "stop_at")))
			get_int32(l, v, "stop_at (percent)", 1, 100,
			          &b->stop_pct);
		if (b->warn_pct > b->degrade_pct ||
		    b->degrade_pct > b->stop_pct)
			ERRN(l, n,
			     "expected warn_at <= degrade_at <= stop_at "
			     "in budget, got %d, %d, %d",
			     b->warn_pct, b->degrade_pct, b->stop_pct);
	}
	put(o, "max_input_tokens", json_integer(b->max_input_tokens));
	put(o, "max_output_tokens", json_integer(b->max_output_tokens));
	put(o, "max_cost_cents", json_integer(b->max_cost_cents));
	put(o, "warn_at", json_integer(b->warn_pct));
	put(o, "degrade_at", json_integer(b->degrade_pct));
	put(o, "stop_at", json_integer(b->stop_pct));
	return o;
}

/* ---- steps ------------------------------------------------------------ */

/* Every ".steps.KEY" in src must name an earlier step. */
static void check_step_refs(struct ld *l, const struct dk_ynode *n,
                            const char *src, size_t upto, const char *who)
{
	const char *p = src;

	while ((p = strstr(p, ".steps."))) {
		char key[128];
		size_t len = 0, j;
		int found = 0;

		p += 7;
		while ((isalnum((unsigned char)p[len]) || p[len] == '_') &&
		       len + 1 < sizeof(key))
			len++;
		if (!len)
			continue;
		memcpy(key, p, len);
		key[len] = 0;
		for (j = 0; j < upto && !found; j++)
			found = l->wf->steps[j].key &&
			        !strcmp(l->wf->steps[j].key, key);
		if (!found)
			ERRN(l, n,
			     "%s refers to .steps.%s, which is not an "
			     "earlier step",
			     who, key);
		p += len;
	}
}

static const char *const step_keys[] = {
	"key", "description", "capability", "action", "args", "when",
};

static json_t *load_steps(struct ld *l, const struct dk_ynode *n)
{
	struct dk_workflow *wf = l->wf;
	json_t *out = json_array();
	size_t i, j;

	if (!want_seq(l, n, "steps"))
		return out;
	if (!n->n)
		ERRN(l, n, "expected at least one step");
	wf->steps = xcalloc(n->n, sizeof(*wf->steps));
	for (i = 0; i < n->n; i++) {
		const struct dk_ynode *m = n->items[i], *v, *cap, *act;
		struct dk_step *st;
		json_t *o, *src;
		char what[300], w[340];
		const char *s;

		if (!want_map(l, m, "a step"))
			continue;
		o = json_object();
		st = &wf->steps[wf->nsteps++];
		st->loc = loc_of(m);
		json_array_append_new(out, o);
		check_keys(l, m, "a step", step_keys, N_(step_keys));
		snprintf(what, sizeof(what), "step %zu", i + 1);
		if ((v = need(l, m, "key", "a step")) &&
		    (s = get_str(l, v, "key"))) {
			if (!is_ident(s))
				ERRN(l, v,
				     "expected a lowercase identifier "
				     "(a-z, 0-9, _) as step key, got "
				     "\"%s\"",
				     s);
			for (j = 0; j + 1 < wf->nsteps; j++)
				if (wf->steps[j].key &&
				    !strcmp(wf->steps[j].key, s))
					ERRN(l, v,
					     "step key \"%s\" is used "
					     "twice (first at line %d)",
					     s, wf->steps[j].loc.line);
			st->key = xstrdup(s);
			put(o, "key", json_string(s));
			snprintf(what, sizeof(what), "step \"%s\"", s);
		}
		if ((v = dk_ynode_get(m, "description")) &&
		    (s = get_str(l, v, "description"))) {
			st->description = xstrdup(s);
			put(o, "description", json_string(s));
		}
		cap = dk_ynode_get(m, "capability");
		act = dk_ynode_get(m, "action");
		if (cap && act) {
			ERRN(l, act,
			     "%s names both a capability and an "
			     "action; a step calls exactly one",
			     what);
		} else if (!cap && !act) {
			ERRN(l, m,
			     "%s needs a capability or an action to "
			     "call",
			     what);
		}
		if (cap && (s = get_str(l, cap, "capability"))) {
			st->capability = dk_workflow_capability(wf, s);
			if (!st->capability) {
				snprintf(w, sizeof(w), "%s calls capability",
				         what);
				undefined(l, cap, w, s, "capabilities",
				          wf->capabilities, wf->ncapabilities,
				          sizeof(struct dk_capability));
			}
			put(o, "capability", json_string(s));
		}
		if (act && !cap) {
			snprintf(w, sizeof(w), "%s calls action", what);
			st->action = ref_action(l, act, w);
			put(o, "action", json_string(act->str));
		}
		if ((v = dk_ynode_get(m, "args"))) {
			src = NULL;
			snprintf(w, sizeof(w), "the args of %s", what);
			if ((st->args = get_jq(l, v, w, &src)))
				check_step_refs(l, v, v->str, wf->nsteps - 1,
				                w);
			put(o, "args", src);
		}
		if ((v = dk_ynode_get(m, "when"))) {
			src = NULL;
			snprintf(w, sizeof(w), "the condition of %s", what);
			if ((st->when = get_jq(l, v, w, &src)))
				check_step_refs(l, v, v->str, wf->nsteps - 1,
				                w);
			put(o, "when", src);
		}
	}
	return out;
}

/* ---- the whole file ------------------------------------------------- */

static const char *const top_keys[] = {
	"name",       "version",   "description", "session",   "input",
	"roles",      "redact",    "providers",   "databases", "capabilities",
	"actions",    "approvals", "escalate",    "budget",    "evidence",
	"checkpoint", "steps",
};

static json_t *load_session(struct ld *l, const struct dk_ynode *n)
{
	static const char *const k[] = { "require", "optional" };
	json_t *o = json_object(), *a;
	const struct dk_ynode *v;
	size_t i;

	if (n && want_map(l, n, "session")) {
		check_keys(l, n, "session", k, N_(k));
		if ((v = dk_ynode_get(n, "require"))) {
			a = NULL;
			get_strv(l, v, "session.require", is_ident,
			         "a lowercase identifier",
			         &l->wf->session_require, &a);
			put(o, "require", a);
		}
		if ((v = dk_ynode_get(n, "optional"))) {
			a = NULL;
			get_strv(l, v, "session.optional", is_ident,
			         "a lowercase identifier",
			         &l->wf->session_optional, &a);
			put(o, "optional", a);
			for (i = 0; i < l->wf->session_optional.n; i++)
				if (strv_has(&l->wf->session_require,
				             l->wf->session_optional.v[i]))
					ERRN(l, v,
					     "session value \"%s\" is "
					     "both required and "
					     "optional",
					     l->wf->session_optional.v[i]);
		}
	}
	if (!json_object_get(o, "require"))
		put(o, "require", json_array());
	if (!json_object_get(o, "optional"))
		put(o, "optional", json_array());
	return o;
}

static void load_top(struct ld *l, const struct dk_ynode *root, json_t *c)
{
	struct dk_workflow *wf = l->wf;
	const struct dk_ynode *v;
	const char *s;
	json_t *a;
	int t;
	static const char *const ev[] = { "required" };
	static const char *const cp[] = { "every_step" };

	if (!want_map(l, root, "the workflow"))
		return;
	check_keys(l, root, "the workflow", top_keys, N_(top_keys));
	if ((v = need(l, root, "name", "the workflow")) &&
	    (s = get_str(l, v, "name"))) {
		if (!is_dotted(s))
			ERRN(l, v,
			     "expected a lowercase dotted name such as "
			     "commerce.order_assistant for the "
			     "workflow, got \"%s\"",
			     s);
		wf->name = xstrdup(s);
		put(c, "name", json_string(s));
	}
	if ((v = need(l, root, "version", "the workflow")) &&
	    !get_int(l, v, "version", 1, INT32_MAX, &wf->version))
		put(c, "version", json_integer(wf->version));
	if ((v = dk_ynode_get(root, "description")) &&
	    (s = get_str(l, v, "description"))) {
		wf->description = xstrdup(s);
		put(c, "description", json_string(s));
	}
	put(c, "session", load_session(l, dk_ynode_get(root, "session")));
	wf->input = opt_schema(l, root, "input", "input");
	put(c, "input", json_incref(wf->input));
	a = NULL;
	if ((v = dk_ynode_get(root, "roles")))
		get_strv(l, v, "roles", is_rule_name,
		         "a lowercase role name (a-z, 0-9, _ and -)",
		         &wf->roles, &a);
	put(c, "roles", a ? a : json_array());
	a = NULL;
	if ((v = dk_ynode_get(root, "redact")))
		get_strv(l, v, "redact", redact_top,
		         "a path starting with session. or input.", &wf->redact,
		         &a);
	put(c, "redact", a ? a : json_array());
	v = dk_ynode_get(root, "providers");
	put(c, "providers", v ? load_providers(l, v) : json_object());
	v = dk_ynode_get(root, "databases");
	put(c, "databases", v ? load_databases(l, v) : json_object());
	v = dk_ynode_get(root, "capabilities");
	put(c, "capabilities", v ? load_capabilities(l, v) : json_object());
	v = dk_ynode_get(root, "actions");
	put(c, "actions", v ? load_actions(l, v) : json_object());
	v = dk_ynode_get(root, "approvals");
	put(c, "approvals", v ? load_approvals(l, v) : json_array());
	if ((v = dk_ynode_get(root, "escalate")))
		put(c, "escalate", load_escalate(l, v));
	put(c, "budget", load_budget(l, dk_ynode_get(root, "budget")));
	wf->evidence_required = 1;
	wf->checkpoint_every_step = 1;
	if ((v = dk_ynode_get(root, "evidence")))
		get_enum(l, v, "evidence", ev, N_(ev), &t);
	if ((v = dk_ynode_get(root, "checkpoint")))
		get_enum(l, v, "checkpoint", cp, N_(cp), &t);
	put(c, "evidence", json_string("required"));
	put(c, "checkpoint", json_string("every_step"));
	if ((v = need(l, root, "steps", "the workflow")))
		put(c, "steps", load_steps(l, v));
}

/* Directory part of path ("." when none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return strndup(path, (size_t)(slash - path));
}

int dk_workflow_load_buffer(struct dk_workflow **out, const char *path,
                            const char *buf, size_t len, struct dk_diags *d)
{
	struct dk_diags local = DK_DIAGS_INIT;
	struct dk_ynode *root = NULL;
	struct dk_workflow *wf;
	struct ld l;
	json_t *c;
	int rc;

	*out = NULL;
	if (!d)
		d = &local;
	memset(&l, 0, sizeof(l));
	l.d = d;
	l.buf = buf;
	l.len = len;
	if ((rc = dk_yaml_parse(&root, buf, len, d)) < 0) {
		if (d->n) {
			dk_diags_sort(d);
			dk_error_set(DK_EINVALID, "%s:%d:%d: %s", path,
			             d->v[0].line, d->v[0].col, d->v[0].msg);
		}
		dk_diags_clear(&local);
		return rc;
	}
	wf = xcalloc(1, sizeof(*wf));
	wf->path = xstrdup(path);
	wf->dir = dir_of(path);
	l.wf = wf;
	c = json_object();
	if (dk_jq_set_new(&l.jqset) < 0)
		abort();
	load_top(&l, root, c);
	compile_jq(&l);
	dk_jq_set_free(l.jqset);
	dk_ynode_free(root);
	if (l.errors || d->n) {
		json_decref(c);
		dk_workflow_free(wf);
		dk_diags_sort(d);
		rc = dk_error_set(DK_EINVALID, "%s:%d:%d: %s", path,
		                  d->n ? d->v[0].line : 1,
		                  d->n ? d->v[0].col : 1,
		                  d->n ? d->v[0].msg : "invalid workflow");
		dk_diags_clear(&local);
		return rc;
	}
	if (!wf->input)
		wf->input = json_object();
	wf->canonical = c;
	wf->canonical_text =
	    json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!wf->canonical_text) {
		dk_workflow_free(wf);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	dk_sha256_hex(wf->workflow_hash, wf->canonical_text,
	              strlen(wf->canonical_text));
	*out = wf;
	return 0;
}

int dk_workflow_load(struct dk_workflow **out, const char *path,
                     struct dk_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = dk_read_file(&buf, &len, path, DK_YAML_MAX_BYTES);
	if (rc == DK_EFULL) {
		if (d)
			dk_diags_add(d, 1, 1,
			             "expected at most %d bytes (1 MiB), the "
			             "file is larger",
			             DK_YAML_MAX_BYTES);
		return dk_error_set(DK_EINVALID,
		                    "%s:1:1: expected at most %d bytes (1 "
		                    "MiB), the file is larger",
		                    path, DK_YAML_MAX_BYTES);
	}
	if (rc < 0)
		return rc;
	rc = dk_workflow_load_buffer(out, path, buf, len, d);
	free(buf);
	return rc;
}
