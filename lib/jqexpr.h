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
	int line;      /* 1-based line within the expression, 0 unknown */
	char msg[256]; /* "syntax error, unexpected end of expression" */
};

/* 0, or DK_EINVALID with err filled (err may be NULL). */
int dk_jq_compile(struct dk_jq **out, const char *src, struct dk_jq_error *err);
void dk_jq_free(struct dk_jq *e);
const char *dk_jq_source(const struct dk_jq *e);

/*
 * Sets: many expressions compiled as one jq program, which is much faster
 * to load than compiling each alone (libjq 1.6 binds its builtins on every
 * compile, ~13 ms). Add expressions with dk_jq_set_add, then call
 * dk_jq_set_compile once; each expression is then evaluated with
 * dk_jq_eval like any other. Expressions keep the set alive: free each
 * with dk_jq_free and the set with dk_jq_set_free, in any order.
 * Expressions of one set share a jq_state: evaluate them from one thread
 * at a time, one evaluation at a time.
 */
struct dk_jq_set;

int dk_jq_set_new(struct dk_jq_set **out);
void dk_jq_set_free(struct dk_jq_set *set);
/*
 * Add src to set. Checks only what can be checked alone (length); an
 * expression that cannot safely share the combined program is compiled
 * alone at once (and may fail here with err filled).
 */
int dk_jq_set_add(struct dk_jq **out, struct dk_jq_set *set, const char *src,
                  struct dk_jq_error *err);
/*
 * Compile the set. 0 when every expression compiles; DK_EINVALID with
 * *nfailed set otherwise, each failed one answering dk_jq_failed.
 */
int dk_jq_set_compile(size_t *nfailed, struct dk_jq_set *set);
/* Did e fail to compile in its set? 1 with err filled, else 0. */
int dk_jq_failed(const struct dk_jq *e, struct dk_jq_error *err);

/*
 * Refuse jq features a workflow expression must not use: $ENV and env
 * (secrets live in the environment), input, inputs, input_filename,
 * import and include (other inputs and files), stderr and debug
 * (printing). 0, or DK_EINVALID with err filled.
 */
int dk_jq_check_sandbox(const char *src, struct dk_jq_error *err);

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
