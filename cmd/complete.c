/*
 * docket-complete: the dynamic half of shell completion, values only the
 * ledger knows. `docket __complete` (cmd/main.c) handles commands and
 * options itself and runs this only for run ids, proposal ids, record
 * types and action names.
 *
 *   docket complete runs|proposals|types [PREFIX]
 *   docket complete actions WORKFLOW [PREFIX]
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/ledger.h"
#include "../lib/workflow.h"

#include <string.h>

DK_USES_LEDGER

#define SCAN_MAX 2000 /* newest records looked at */

struct scan {
	const char *what;
	const char *prefix;
	json_t *seen; /* value -> true, insertion ordered */
	json_t *done; /* proposals decided */
	long left;
};

static int scan_cb(const struct dk_record *r, void *payload)
{
	struct scan *s = payload;
	const char *v = NULL;

	if (s->left-- <= 0)
		return 1;
	if (!strcmp(s->what, "types")) {
		v = r->type;
	} else if (!strcmp(s->what, "runs")) {
		if (!strcmp(r->type, "run.started"))
			v = json_string_value(json_object_get(r->body, "run"));
	} else {
		const char *p =
		    json_string_value(json_object_get(r->body, "proposal"));
		/* newest first: a decision is seen before its proposal */
		if (p && (!strcmp(r->type, "proposal.rejected") ||
		          !strcmp(r->type, "proposal.expired") ||
		          !strcmp(r->type, "dispatch.result")))
			json_object_set_new(s->done, p, json_true());
		if (p && !strcmp(r->type, "proposal") &&
		    !json_object_get(s->done, p))
			v = p;
	}
	if (v && !strncmp(v, s->prefix, strlen(s->prefix)) &&
	    !json_object_get(s->seen, v)) {
		json_object_set_new(s->seen, v, json_true());
		printf("%s\n", v);
	}
	return 0;
}

int cmd_complete(struct dk_cmd_ctx *ctx)
{
	const char *what = ctx->opts.argc ? ctx->opts.argv[0] : "";
	struct scan s;
	int rc;

	if (!strcmp(what, "actions")) {
		struct dk_workflow *wf = NULL;
		const char *prefix =
		    ctx->opts.argc > 2 ? ctx->opts.argv[2] : "";
		size_t i;

		if (ctx->opts.argc < 2 ||
		    dk_workflow_load(&wf, ctx->opts.argv[1], NULL) < 0)
			return DK_EXIT_INVALID;
		for (i = 0; i < wf->nactions; i++)
			if (!strncmp(wf->actions[i].name, prefix,
			             strlen(prefix)))
				printf("%s\n", wf->actions[i].name);
		dk_workflow_free(wf);
		return 0;
	}
	if (strcmp(what, "runs") && strcmp(what, "proposals") &&
	    strcmp(what, "types")) {
		dk_cmd_errorf(ctx, "complete runs|proposals|types|actions");
		return DK_EXIT_USAGE;
	}
	memset(&s, 0, sizeof(s));
	s.what = what;
	s.prefix = ctx->opts.argc > 1 ? ctx->opts.argv[1] : "";
	s.seen = json_object();
	s.done = json_object();
	s.left = SCAN_MAX;
	rc = dk_ledger_foreach_reverse(ctx->ledger, scan_cb, &s);
	json_decref(s.seen);
	json_decref(s.done);
	return rc < 0 ? dk_cmd_error(ctx, rc) : 0;
}
