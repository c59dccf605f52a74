/*
 * docket propose: propose an action in a run, outside its steps, by the
 * same rules and the same code path as a run's action step.
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/run.h"
#include "../lib/util.h"
#include "../lib/workflow.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

/* JSON text, or @FILE holding it. */
static json_t *load_args(struct dk_cmd_ctx *ctx, const char *arg)
{
	json_error_t err;
	json_t *v;

	if (arg[0] == '@')
		v = json_load_file(arg + 1, JSON_REJECT_DUPLICATES, &err);
	else
		v = json_loads(arg, JSON_REJECT_DUPLICATES, &err);
	if (!v) {
		dk_cmd_errorf(ctx, "--args: invalid JSON: %s%s%s",
		              arg[0] == '@' ? arg + 1 : "",
		              arg[0] == '@' ? ": " : "", err.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		dk_cmd_errorf(ctx, "--args: expected a JSON object");
		json_decref(v);
		return NULL;
	}
	return v;
}

int cmd_propose(struct dk_cmd_ctx *ctx)
{
	const char *argsopt = dk_opt_str(&ctx->opts, "args");
	const char *reason = dk_opt_str(&ctx->opts, "reason");
	struct dk_run_opts ro = { dk_cmd_actor() };
	struct dk_workflow *wf = NULL;
	struct dk_run_proposal res;
	const char *run, *file;
	char *wfile = NULL;
	json_t *args;
	int rc;

	if (ctx->opts.argc != 2 || !argsopt) {
		dk_cmd_errorf(ctx, "usage: docket propose %s",
		              ctx->cmd->synopsis);
		return DK_EXIT_USAGE;
	}
	run = ctx->opts.argv[0];
	if (!strncmp(run, "agent-run://", 12))
		run += 12;
	if (!(args = load_args(ctx, argsopt)))
		return DK_EXIT_INVALID;
	file = dk_opt_str(&ctx->opts, "workflow");
	if (!file) {
		if ((rc = dk_run_workflow_file(&wfile, ctx->ledger, run)) < 0) {
			json_decref(args);
			return dk_cmd_error(ctx, rc);
		}
		file = wfile;
	}
	if (dk_cmd_load_workflow(ctx, &wf, file) < 0) {
		json_decref(args);
		free(wfile);
		return DK_EXIT_INVALID;
	}
	rc = dk_run_propose(&res, ctx->ledger, wf, run, ctx->opts.argv[1], args,
	                    reason, &ro);
	json_decref(args);
	dk_workflow_free(wf);
	free(wfile);
	if (rc < 0)
		return dk_cmd_error(ctx, rc);
	if (ctx->json) {
		char h[64];
		json_t *o;

		snprintf(h, sizeof(h), "wrp://%s", res.proposal);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "proposal",
		              res.proposal, "handle", h, "run", run, "rule",
		              res.rule, "state",
		              res.automatic ? "approved" : "pending", "seq",
		              (json_int_t)res.seq);
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("wrp://%s %s (rule %s)\n", res.proposal,
		       res.automatic ? "approved automatically"
		                     : "pending approval",
		       res.rule);
		if (!res.automatic)
			printf("  docket approve wrp://%s\n", res.proposal);
	}
	return DK_EXIT_OK;
}
