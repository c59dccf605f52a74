/*
 * jq expressions through libjq 1.6 (jqexpr.h).
 */
#include "jqexpr.h"
#include "error.h"

#include <jq.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct errsink {
	char first[512];
	int n;
};

/*
 * Expressions of one set share one jq_state running a combined program:
 *
 *   def __dk0: (\nE0\n); def __dk1: (\nE1\n); ...
 *   .[0] as $__dk_i | .[1] | if $__dk_i == 0 then __dk0 elif ... end
 *
 * evaluated on [index, input]. libjq 1.6 spends ~13 ms binding its
 * builtins on every compile, so one compile per workflow instead of one
 * per expression is what keeps loading fast. An expression is only put
 * in the combined program when its brackets, strings and comments are
 * balanced (so it cannot escape its parentheses) and it does not use the
 * reserved __dk prefix; otherwise, and whenever the combined program does
 * not compile, expressions are compiled alone.
 */
/*
 * libjq 1.6 compiles a program superlinearly in its number of
 * definitions, so sets are compiled in chunks of this many expressions
 * (measured: 128 in ~42 ms; 2000 in one program takes ~50 s).
 */
#define CHUNK 128

struct dk_jq_set {
	jq_state **chunks; /* one state per CHUNK members */
	size_t nchunks;
	struct errsink err;
	int refs;
	int compiled;
	struct dk_jq **members;
	size_t n, cap;
};

struct dk_jq {
	jq_state *jq;          /* own state, or NULL for a set member */
	struct dk_jq_set *set; /* the set (also after adoption), or NULL */
	size_t index;          /* in the set's combined program */
	char *src;
	struct errsink err;
	int failed;              /* compile failed (set members) */
	struct dk_jq_error cerr; /* ... and why */
};

static void capture(void *data, jv msg)
{
	struct errsink *e = data;

	if (e->n++ == 0) {
		if (jv_get_kind(msg) == JV_KIND_STRING) {
			snprintf(e->first, sizeof(e->first), "%s",
			         jv_string_value(msg));
		} else {
			jv s = jv_dump_string(jv_copy(msg), 0);
			snprintf(e->first, sizeof(e->first), "%s",
			         jv_string_value(s));
			jv_free(s);
		}
	}
	jv_free(msg);
}

/* Turn jq's "jq: error: WHAT at <top-level>, line N:\n..." into parts. */
static void parse_compile_error(struct dk_jq_error *err, const char *raw)
{
	const char *s = raw, *at, *ln;
	size_t n;
	char tmp[256];

	err->line = 0;
	if (!strncmp(s, "jq: error: ", 11))
		s += 11;
	at = strstr(s, " at <top-level>");
	n = at ? (size_t)(at - s) : strcspn(s, "\n");
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (at && (ln = strstr(at, ", line ")))
		err->line = (int)strtol(ln + 7, NULL, 10);
	/* Make the bison wording readable. */
	{
		char *q = strstr(tmp, " (Unix shell quoting issues?)");
		if (q)
			memmove(q, q + 29, strlen(q + 29) + 1);
		q = strstr(tmp, "$end");
		if (q) {
			char rest[256];
			snprintf(rest, sizeof(rest), "%s", q + 4);
			*q = 0;
			snprintf(err->msg, sizeof(err->msg),
			         "%send of expression%s", tmp, rest);
			return;
		}
	}
	snprintf(err->msg, sizeof(err->msg), "%s", tmp);
}

static int precheck(const char *src, struct dk_jq_error *err);

/* Compile src alone into e->jq; 0 or DK_EINVALID with err filled. */
static int compile_alone(struct dk_jq *e, struct dk_jq_error *err)
{
	if (!(e->jq = jq_init()))
		return dk_error_set(DK_ERROR, "out of memory");
	e->err.n = 0;
	e->err.first[0] = 0;
	jq_set_error_cb(e->jq, capture, &e->err);
	if (!jq_compile(e->jq, e->src) || e->err.n) {
		parse_compile_error(err, e->err.first[0] ? e->err.first
		                                         : "does not compile");
		jq_teardown(&e->jq);
		e->jq = NULL;
		return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
	}
	e->err.n = 0;
	return 0;
}

static int check_length(const char *src, struct dk_jq_error *err)
{
	if (strlen(src) <= DK_JQ_MAX_SOURCE)
		return 0;
	snprintf(err->msg, sizeof(err->msg), "expression longer than %d bytes",
	         DK_JQ_MAX_SOURCE);
	return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
}

int dk_jq_compile(struct dk_jq **out, const char *src, struct dk_jq_error *err)
{
	struct dk_jq *e;
	struct dk_jq_error local;
	int rc;

	*out = NULL;
	if (!err)
		err = &local;
	err->line = 0;
	err->msg[0] = 0;
	if ((rc = check_length(src, err)) < 0 || (rc = precheck(src, err)) < 0)
		return rc;
	if (!(e = calloc(1, sizeof(*e))) || !(e->src = strdup(src))) {
		free(e);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	if ((rc = compile_alone(e, err)) < 0) {
		dk_jq_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

enum scan_result { SCAN_OK, SCAN_UNBALANCED, SCAN_OPEN_STRING };

/*
 * Follow jq's brackets, strings (with \( interpolation) and comments.
 * SCAN_OPEN_STRING (with the string's 1-based line in *line) when a string
 * is never closed: libjq 1.6 leaks memory on that error, so it is
 * reported without calling jq. SCAN_UNBALANCED when brackets do not pair.
 */
static enum scan_result scan(const char *src, int *line)
{
	char stack[256];
	int lines[256];
	size_t depth = 0;
	const char *p = src;
	int unbalanced = 0, l = 1;

	while (*p) {
		int in_string = depth && stack[depth - 1] == 'S';
		char c = *p;

		if (c == '\n')
			l++;
		if (in_string) {
			if (c == '\\' && p[1] == '(') {
				if (depth == sizeof(stack))
					return SCAN_UNBALANCED;
				lines[depth] = l;
				stack[depth++] = 'I';
				p += 2;
			} else if (c == '\\') {
				if (!p[1])
					break;
				if (p[1] == '\n')
					l++;
				p += 2;
			} else {
				if (c == '"')
					depth--;
				p++;
			}
			continue;
		}
		if (c == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (c == '"' || c == '(' || c == '[' || c == '{') {
			if (depth == sizeof(stack))
				return SCAN_UNBALANCED;
			lines[depth] = l;
			stack[depth++] = c == '"' ? 'S' : c;
		} else if (c == ')' || c == ']' || c == '}') {
			char want = c == ')' ? '(' : c == ']' ? '[' : '{';
			if (depth && (stack[depth - 1] == want ||
			              (c == ')' && stack[depth - 1] == 'I')))
				depth--;
			else
				unbalanced = 1;
		}
		p++;
	}
	while (depth--) {
		if (stack[depth] == 'S') {
			*line = lines[depth];
			return SCAN_OPEN_STRING;
		}
		unbalanced = 1;
	}
	return unbalanced ? SCAN_UNBALANCED : SCAN_OK;
}

/* Refuse what jq cannot compile without leaking; 0 or DK_EINVALID. */
static int precheck(const char *src, struct dk_jq_error *err)
{
	int line = 0;

	if (scan(src, &line) != SCAN_OPEN_STRING)
		return 0;
	err->line = line;
	snprintf(err->msg, sizeof(err->msg),
	         "syntax error, unterminated string");
	return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
}

static const char *const forbidden[] = {
	"env",    "input",   "inputs", "input_filename",
	"import", "include", "stderr", "debug",
};

static int ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* The last non-blank character before p in [start, p), or 0. */
static char prev_sig(const char *start, const char *p)
{
	while (p > start) {
		p--;
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return *p;
	}
	return 0;
}

static char next_sig(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p;
}

int dk_jq_check_sandbox(const char *src, struct dk_jq_error *err)
{
	char stack[256];
	size_t depth = 0, i;
	const char *p = src;
	int line = 1;

	while (*p) {
		char c = *p;

		if (c == '\n')
			line++;
		if (depth && stack[depth - 1] == 'S') {
			if (c == '\\' && p[1] == '(') {
				if (depth == sizeof(stack))
					return 0;
				stack[depth++] = 'I';
				p += 2;
			} else if (c == '\\' && p[1]) {
				p += 2;
			} else {
				if (c == '"')
					depth--;
				p++;
			}
			continue;
		}
		if (c == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (c == '"' || c == '(' || c == '[' || c == '{') {
			if (depth == sizeof(stack))
				return 0;
			stack[depth++] = c == '"' ? 'S' : c;
			p++;
			continue;
		}
		if (c == ')' || c == ']' || c == '}') {
			if (depth)
				depth--;
			p++;
			continue;
		}
		if (c == '$' && !strncmp(p + 1, "ENV", 3) &&
		    !ident_char(p[4])) {
			err->line = line;
			snprintf(err->msg, sizeof(err->msg),
			         "$ENV is not available: workflow expressions "
			         "cannot read the environment");
			return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
		}
		if (ident_char(c) && !(c >= '0' && c <= '9')) {
			const char *start = p;
			char before = prev_sig(src, p), after;
			size_t len;

			while (ident_char(*p) || (*p == ':' && p[1] == ':'))
				p += *p == ':' ? 2 : 1;
			len = (size_t)(p - start);
			after = next_sig(p);
			/* .env is a field, {env: ...} and {env} are keys. */
			if (before == '.' || before == '$' || after == ':' ||
			    (depth && stack[depth - 1] == '{' &&
			     (before == '{' || before == ',') &&
			     (after == ',' || after == '}')))
				continue;
			for (i = 0; i < sizeof(forbidden) / sizeof(*forbidden);
			     i++) {
				if (strlen(forbidden[i]) != len ||
				    strncmp(start, forbidden[i], len))
					continue;
				err->line = line;
				snprintf(err->msg, sizeof(err->msg),
				         "%s is not available: workflow "
				         "expressions cannot read the "
				         "environment, other inputs or files, "
				         "or print",
				         forbidden[i]);
				return dk_error_set(DK_EINVALID, "jq: %s",
				                    err->msg);
			}
			continue;
		}
		p++;
	}
	return 0;
}

/* May src sit inside "(\n" src "\n)" in a combined program? */
static int combinable(const char *src)
{
	int line;

	return !strstr(src, "__dk") && scan(src, &line) == SCAN_OK;
}

int dk_jq_set_new(struct dk_jq_set **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return dk_error_set(DK_ERROR, "out of memory");
	(*out)->refs = 1;
	return 0;
}

static void set_unref(struct dk_jq_set *set)
{
	size_t i;

	if (!set || --set->refs > 0)
		return;
	for (i = 0; i < set->nchunks; i++)
		if (set->chunks[i])
			jq_teardown(&set->chunks[i]);
	free(set->chunks);
	free(set->members);
	free(set);
}

void dk_jq_set_free(struct dk_jq_set *set)
{
	set_unref(set);
}

int dk_jq_set_add(struct dk_jq **out, struct dk_jq_set *set, const char *src,
                  struct dk_jq_error *err)
{
	struct dk_jq *e;
	struct dk_jq_error local;
	int rc;

	*out = NULL;
	if (!err)
		err = &local;
	err->line = 0;
	err->msg[0] = 0;
	if (set->compiled)
		return dk_error_set(DK_EINVALID, "jq: set already compiled");
	if ((rc = check_length(src, err)) < 0)
		return rc;
	if (!combinable(src))
		return dk_jq_compile(out, src, err);
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct dk_jq **m = realloc(set->members, cap * sizeof(*m));
		if (!m)
			return dk_error_set(DK_ERROR, "out of memory");
		set->members = m;
		set->cap = cap;
	}
	if (!(e = calloc(1, sizeof(*e))) || !(e->src = strdup(src))) {
		free(e);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	e->set = set;
	e->index = set->n;
	set->members[set->n++] = e;
	set->refs++;
	*out = e;
	return 0;
}

/* The program for members [from, from + n) of set. */
static char *combined_program(const struct dk_jq_set *set, size_t from,
                              size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (i = 0; i < n; i++)
		fprintf(f, "def __dk%zu: (\n%s\n);\n", i,
		        set->members[from + i]->src);
	fputs(".[0] as $__dk_i | .[1] | ", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s $__dk_i == %zu then __dk%zu ", i ? "elif" : "if",
		        i, i);
	fputs("else error(\"docket: no such expression\") end\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Compile one chunk; on failure compile its members alone. */
static int compile_chunk(size_t *nfailed, struct dk_jq_set *set, size_t c)
{
	size_t from = c * CHUNK, n = set->n - from, i;
	char *prog;
	jq_state *jq;

	if (n > CHUNK)
		n = CHUNK;
	if (!(prog = combined_program(set, from, n)))
		return dk_error_set(DK_ERROR, "out of memory");
	set->err.n = 0;
	if ((jq = jq_init())) {
		jq_set_error_cb(jq, capture, &set->err);
		if (jq_compile(jq, prog) && !set->err.n) {
			free(prog);
			set->chunks[c] = jq;
			return 0;
		}
		jq_teardown(&jq);
	}
	free(prog);
	/* Slow path: compile each alone, to say which failed and why. */
	for (i = from; i < from + n; i++) {
		struct dk_jq *e = set->members[i];
		if (compile_alone(e, &e->cerr) < 0) {
			e->failed = 1;
			(*nfailed)++;
		}
	}
	return 0;
}

int dk_jq_set_compile(size_t *nfailed, struct dk_jq_set *set)
{
	size_t c;
	int rc;

	*nfailed = 0;
	if (set->compiled)
		return 0;
	set->compiled = 1;
	if (!set->n)
		return 0;
	set->nchunks = (set->n + CHUNK - 1) / CHUNK;
	if (!(set->chunks = calloc(set->nchunks, sizeof(*set->chunks))))
		return dk_error_set(DK_ERROR, "out of memory");
	for (c = 0; c < set->nchunks; c++)
		if ((rc = compile_chunk(nfailed, set, c)) < 0)
			return rc;
	return *nfailed ? dk_error_set(DK_EINVALID,
	                               "jq: %zu expressions do not compile",
	                               *nfailed)
	                : 0;
}

int dk_jq_failed(const struct dk_jq *e, struct dk_jq_error *err)
{
	if (!e->failed)
		return 0;
	if (err)
		*err = e->cerr;
	return 1;
}

void dk_jq_free(struct dk_jq *e)
{
	if (!e)
		return;
	if (e->jq)
		jq_teardown(&e->jq);
	if (e->set) {
		e->set->members[e->index] = NULL;
		set_unref(e->set);
	}
	free(e->src);
	free(e);
}

const char *dk_jq_source(const struct dk_jq *e)
{
	return e->src;
}

static int to_jv(jv *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (!s)
		return dk_error_set(DK_ERROR, "jq: cannot encode input");
	*out = jv_parse(s);
	free(s);
	if (!jv_is_valid(*out)) {
		jv_free(*out);
		return dk_error_set(DK_EINVALID, "jq: cannot decode input");
	}
	return 0;
}

static int from_jv(json_t **out, jv v)
{
	jv s = jv_dump_string(v, 0);
	json_error_t je;

	*out = json_loads(jv_string_value(s), JSON_DECODE_ANY, &je);
	jv_free(s);
	if (!*out)
		return dk_error_set(
		    DK_EINVALID, "jq: result is not valid JSON: %s", je.text);
	return 0;
}

static int run_error(jv v, const char *src)
{
	jv msg = jv_invalid_get_msg(v);
	int rc;

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		rc = dk_error_set(DK_EINVALID, "jq: %s: %s", src,
		                  jv_string_value(msg));
	} else {
		jv s = jv_dump_string(jv_copy(msg), 0);
		rc = dk_error_set(DK_EINVALID, "jq: %s: error %s", src,
		                  jv_string_value(s));
		jv_free(s);
	}
	jv_free(msg);
	return rc;
}

/* Start e on input; the first result in *first (invalid when none). */
static jq_state *state_of(const struct dk_jq *e)
{
	if (e->jq)
		return e->jq;
	if (!e->set || !e->set->chunks)
		return NULL;
	return e->set->chunks[e->index / CHUNK];
}

static int start(struct dk_jq *e, const json_t *input, jv *first)
{
	jq_state *jq = state_of(e);
	jv in;
	int rc;

	if (!jq)
		return dk_error_set(DK_EINVALID, "jq: %s: not compiled",
		                    e->src);
	if ((rc = to_jv(&in, input)) < 0)
		return rc;
	if (!e->jq)
		in = jv_array_append(
		    jv_array_append(jv_array(),
		                    jv_number((double)(e->index % CHUNK))),
		    in);
	jq_start(jq, in, 0);
	*first = jq_next(jq);
	if (!jv_is_valid(*first) && jv_invalid_has_msg(jv_copy(*first)))
		return run_error(*first, e->src);
	return 0;
}

int dk_jq_eval(json_t **out, struct dk_jq *e, const json_t *input)
{
	jv v, more;
	int rc;

	*out = NULL;
	if ((rc = start(e, input, &v)) < 0)
		return rc;
	if (!jv_is_valid(v)) {
		jv_free(v);
		return dk_error_set(DK_EINVALID, "jq: %s: produced no value",
		                    e->src);
	}
	more = jq_next(state_of(e));
	if (jv_is_valid(more)) {
		jv_free(more);
		jv_free(v);
		return dk_error_set(DK_EINVALID,
		                    "jq: %s: produced more than one value",
		                    e->src);
	}
	if (jv_invalid_has_msg(jv_copy(more))) {
		jv_free(v);
		return run_error(more, e->src);
	}
	jv_free(more);
	return from_jv(out, v);
}

int dk_jq_eval_bool(int *out, struct dk_jq *e, const json_t *input)
{
	jv v;
	int rc;
	jv_kind k;

	*out = 0;
	if ((rc = start(e, input, &v)) < 0)
		return rc;
	k = jv_get_kind(v);
	*out = jv_is_valid(v) && k != JV_KIND_NULL && k != JV_KIND_FALSE;
	jv_free(v);
	return 0;
}
