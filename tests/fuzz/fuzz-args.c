/*
 * The jq argument builder's input: what a caller of `docket run` controls
 * (--input KEY=VALUE / KEY:=JSON, --session ..., or an --input-file
 * object) on its way through the run-input schema and into every jq
 * expression of the shipped commerce workflows: step conditions and
 * arguments, capability and action schemas, path templates, request
 * bodies, approval rules and escalation conditions.
 *
 * Input: either one JSON object (an --input-file), or lines, each a pair;
 * a line starting with "s:" goes to the session.
 */
#include "fuzz.h"

#include "args.h"
#include "error.h"
#include "schema.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DK_SRCDIR
#define DK_SRCDIR "."
#endif

static const char *const files[] = {
	DK_SRCDIR "/workflows/commerce/order_assistant.yaml",
	DK_SRCDIR "/workflows/commerce/refunds.yaml",
	DK_SRCDIR "/workflows/commerce/returns.yaml",
	DK_SRCDIR "/workflows/commerce/order_handoff.yaml",
};
#define NFILES (sizeof(files) / sizeof(files[0]))
static struct dk_workflow *wfs[NFILES];

/* libjq keeps a pointer one past the end of its stack block, which
 * LeakSanitizer does not count: free the workflows before it looks. */
static void free_all(void)
{
	size_t i;

	for (i = 0; i < NFILES; i++)
		dk_workflow_free(wfs[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < NFILES; i++)
		if (dk_workflow_load(&wfs[i], files[i], NULL) < 0) {
			fprintf(stderr, "fuzz-args: %s\n", dk_error_last());
			abort();
		}
	atexit(free_all);
	return 0;
}

static void eval(struct dk_jq *e, const json_t *in)
{
	json_t *out = NULL;
	int yes;

	if (!e)
		return;
	if (dk_jq_eval(&out, e, in) == 0)
		json_decref(out);
	(void)dk_jq_eval_bool(&yes, e, in);
}

static void exercise(const struct dk_workflow *wf, json_t *session,
                     json_t *input)
{
	json_t *steps = json_object(), *ctx;
	size_t i, k;

	(void)dk_schema_validate(wf->input, input);
	ctx = json_pack("{s:O, s:O, s:O, s:s}", "session", session, "input",
	                input, "steps", steps, "run", "fuzz-run");
	for (i = 0; i < wf->nsteps; i++) {
		const struct dk_step *s = &wf->steps[i];
		json_t *args = NULL;

		eval(s->when, ctx);
		if (s->args && dk_jq_eval(&args, s->args, ctx) < 0)
			args = NULL;
		if (!args)
			args = json_object();
		if (s->capability) {
			json_t *c;
			(void)dk_schema_validate(s->capability->input, args);
			c = json_pack("{s:O, s:{}, s:O}", "args", args,
			              "output", "session", session);
			for (k = 0; k < s->capability->nensure; k++)
				eval(s->capability->ensure[k].expr, c);
			json_decref(c);
		}
		if (s->action) {
			const struct dk_action *a = s->action;
			json_t *b;
			char *path = NULL;

			(void)dk_schema_validate(a->input, args);
			if (dk_workflow_expand_path(&path, a->path, args) == 0)
				free(path);
			b = json_pack("{s:O, s:O, s:s, s:s}", "args", args,
			              "session", session, "run", "fuzz-run",
			              "idempotency_key", "k");
			eval(a->body, b);
			json_decref(b);
			b = json_pack("{s:s, s:O, s:O, s:O, s:O, s:s, s:s}",
			              "run", "fuzz-run", "session", session,
			              "input", input, "steps", steps, "args",
			              args, "action", a->name, "risk",
			              dk_risk_name(a->risk));
			for (k = 0; k < wf->napprovals; k++)
				eval(wf->approvals[k].when, b);
			json_decref(b);
		}
		json_object_set_new(steps, s->key, args);
	}
	for (k = 0; k < wf->escalate.nconditions; k++)
		eval(wf->escalate.conditions[k].when, ctx);
	json_decref(ctx);
	json_decref(steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *session = json_object(), *input = NULL;
	char *text = malloc(size + 1);
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (size && text[0] == '{') {
		if (dk_args_parse_object(&input, "fuzz.json", text, size) < 0) {
			if (!dk_error_last()[0])
				abort();
			input = NULL;
		}
	} else {
		char *line = text, *nl;

		input = json_object();
		for (; line; line = nl) {
			json_t *dst = input;

			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			if (!strncmp(line, "s:", 2)) {
				dst = session;
				line += 2;
			}
			if (dk_args_put(dst, line) < 0 && !dk_error_last()[0])
				abort();
		}
	}
	if (input)
		for (i = 0; i < NFILES; i++)
			exercise(wfs[i], session, input);
	json_decref(input);
	json_decref(session);
	free(text);
	return 0;
}
