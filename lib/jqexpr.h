#ifndef DK_JQEXPR_H
#define DK_JQEXPR_H

#include <jansson.h>

/*
 * jq expressions (libjq 1.6), compiled once and evaluated many times
 * against jansson values.
 *
 * Ownership: dk_jq_compile gives the caller a struct dk_jq, freed with
 * dk_jq_free. Evaluation never takes a reference to its input; the
 * json_t it returns is a new reference owned by the caller
 * (json_decref). Nothing here prints: jq's own messages are captured and
 * returned through struct dk_jq_error or dk_error_last().
 *
 * Values cross between jansson and jq as JSON text, so numbers beyond
 * 2^53 lose precision as they do in jq itself. A compiled expression
 * holds a jq_state, which is not thread-safe: evaluate one expression
 * from one thread at a time.
 */

#define DK_JQ_MAX_SOURCE 8192 /* bytes of jq source per expression */

struct dk_jq;

struct dk_jq_error {
	int line;       /* 1-based line within the expression, 0 unknown */
	char msg[256];  /* "syntax error, unexpected end of expression" */
};

/* 0, or DK_EINVALID with err filled (err may be NULL). */
int dk_jq_compile(struct dk_jq **out, const char *src,
		  struct dk_jq_error *err);
void dk_jq_free(struct dk_jq *e);
const char *dk_jq_source(const struct dk_jq *e);

/*
 * Run e on input and return its single result in *out. An expression
 * that yields no result, more than one, or fails at run time is
 * DK_EINVALID with the reason in dk_error_last().
 */
int dk_jq_eval(json_t **out, struct dk_jq *e, const json_t *input);

/*
 * Run e as a condition: *out is 1 when its first result is truthy (jq's
 * rule: anything but false and null), 0 when it is false, null or there
 * is no result. A run-time error is DK_EINVALID.
 */
int dk_jq_eval_bool(int *out, struct dk_jq *e, const json_t *input);

#endif
