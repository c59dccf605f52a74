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

struct dk_jq {
	jq_state *jq;
	char *src;
	char first_error[512];
	int nerrors;
};

static void capture(void *data, jv msg)
{
	struct dk_jq *e = data;

	if (e->nerrors++ == 0) {
		if (jv_get_kind(msg) == JV_KIND_STRING) {
			snprintf(e->first_error, sizeof(e->first_error), "%s",
				 jv_string_value(msg));
		} else {
			jv s = jv_dump_string(jv_copy(msg), 0);
			snprintf(e->first_error, sizeof(e->first_error), "%s",
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

int dk_jq_compile(struct dk_jq **out, const char *src, struct dk_jq_error *err)
{
	struct dk_jq *e;
	struct dk_jq_error local;

	*out = NULL;
	if (!err)
		err = &local;
	err->line = 0;
	err->msg[0] = 0;
	if (strlen(src) > DK_JQ_MAX_SOURCE) {
		snprintf(err->msg, sizeof(err->msg),
			 "expression longer than %d bytes", DK_JQ_MAX_SOURCE);
		return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
	}
	if (!(e = calloc(1, sizeof(*e))) || !(e->src = strdup(src)) ||
	    !(e->jq = jq_init())) {
		dk_jq_free(e);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	jq_set_error_cb(e->jq, capture, e);
	if (!jq_compile(e->jq, src) || e->nerrors) {
		parse_compile_error(err, e->first_error[0] ? e->first_error
							   : "does not compile");
		dk_jq_free(e);
		return dk_error_set(DK_EINVALID, "jq: %s", err->msg);
	}
	e->nerrors = 0;
	*out = e;
	return 0;
}

void dk_jq_free(struct dk_jq *e)
{
	if (!e)
		return;
	if (e->jq)
		jq_teardown(&e->jq);
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
		return dk_error_set(DK_EINVALID,
				    "jq: result is not valid JSON: %s",
				    je.text);
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
static int start(struct dk_jq *e, const json_t *input, jv *first)
{
	jv in;
	int rc;

	if ((rc = to_jv(&in, input)) < 0)
		return rc;
	e->nerrors = 0;
	jq_start(e->jq, in, 0);
	*first = jq_next(e->jq);
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
	more = jq_next(e->jq);
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
