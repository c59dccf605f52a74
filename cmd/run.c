/*
 * docket run: start a run of a workflow, or resume one, and print how it
 * ended. The exit code says how (see the exit-code table).
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/args.h"
#include "../lib/error.h"
#include "../lib/run.h"
#include "../lib/util.h"
#include "../lib/workflow.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

/* --session-file and --input-file are at most this large */
#define DK_RUN_MAX_FILE (4 * 1024 * 1024)

static json_t *gather(struct dk_cmd_ctx *ctx, const char *name,
                      const char *file_opt)
{
	const char *file = dk_opt_str(&ctx->opts, file_opt);
	const char *const *pairs;
	json_t *obj;
	int n, i;

	if (file) {
		char *text = NULL;
		int rc;
		size_t len = 0;

		/* bounded before parsing: a hostile file costs no memory */
		if (dk_read_file(&text, &len, file, DK_RUN_MAX_FILE) < 0) {
			dk_cmd_errorf(ctx, "--%s %s", file_opt,
			              dk_error_last());
			return NULL;
		}
		rc = dk_args_parse_object(&obj, file, text, len);
		free(text);
		if (rc < 0) {
			dk_cmd_errorf(ctx, "%s", dk_error_last());
			return NULL;
		}
	} else {
		obj = json_object();
	}
	pairs = dk_opt_list(&ctx->opts, name, &n);
	for (i = 0; i < n; i++)
		if (dk_args_put(obj, pairs[i]) < 0) {
			dk_cmd_errorf(ctx, "--%s %s", name, dk_error_last());
			json_decref(obj);
			return NULL;
		}
	return obj;
}

/* After a refused input: point at a KEY=VALUE pair that gave a string
 * where the schema wanted another type. */
static void typed_hint(struct dk_cmd_ctx *ctx, const char *msg)
{
	const char *const *pairs;
	int n, i;

	pairs = dk_opt_list(&ctx->opts, "input", &n);
	for (i = 0; i < n; i++) {
		const char *eq = strchr(pairs[i], '=');
		char want[300];

		if (!eq || eq == pairs[i] || eq[-1] == ':')
			continue;
		snprintf(want, sizeof(want), "$.%.*s: expected",
		         (int)(eq - pairs[i]), pairs[i]);
		if (strstr(msg, want) && strstr(msg, "got a string")) {
			fprintf(stderr,
			        "hint: --input %.*s=... gives a string; "
			        "--input %.*s:=JSON gives a number, boolean, "
			        "array or object\n",
			        (int)(eq - pairs[i]), pairs[i],
			        (int)(eq - pairs[i]), pairs[i]);
			return;
		}
	}
}

static int exit_for(enum dk_run_status st)
{
	switch (st) {
	case DK_RUN_COMPLETED:
		return DK_EXIT_OK;
	case DK_RUN_PAUSED:
		return DK_EXIT_PAUSED;
	case DK_RUN_ESCALATED:
		return DK_EXIT_ESCALATED;
	case DK_RUN_BUDGET:
		return DK_EXIT_BUDGET;
	case DK_RUN_REFUSED:
		return DK_EXIT_REFUSED;
	default:
		return DK_EXIT_STEP_FAILED;
	}
}

static void report(struct dk_cmd_ctx *ctx, const struct dk_run_result *r)
{
	int code = exit_for(r->status);

	if (ctx->json) {
		char h[96];
		json_t *o;

		snprintf(h, sizeof(h), "agent-run://%s", r->run);
		o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I}", "run",
		              r->run, "handle", h, "status",
		              dk_run_status_name(r->status), "exit_code", code,
		              "steps_recorded", (json_int_t)r->steps_recorded,
		              "first_seq", (json_int_t)r->started_seq,
		              "last_seq", (json_int_t)r->last_seq);
		if (r->step[0])
			json_object_set_new(o, "step", json_string(r->step));
		if (r->reason[0])
			json_object_set_new(o, "reason",
			                    json_string(r->reason));
		if (r->proposal[0]) {
			snprintf(h, sizeof(h), "wrp://%s", r->proposal);
			json_object_set_new(o, "pending_proposals",
			                    json_pack("[{s:s, s:s, s:s}]", "id",
			                              r->proposal, "handle", h,
			                              "waiting", r->waiting));
		} else {
			json_object_set_new(o, "pending_proposals",
			                    json_array());
		}
		dk_print_json(o, 0);
		json_decref(o);
		return;
	}
	printf("%sagent-run://%s%s %s%s%s (%zu steps recorded)\n",
	       dk_color(ctx, "bold"), r->run, dk_color(ctx, "reset"),
	       dk_color(ctx, r->status == DK_RUN_COMPLETED ? "green"
	                     : r->status == DK_RUN_PAUSED  ? "yellow"
	                                                   : "red"),
	       dk_run_status_name(r->status), dk_color(ctx, "reset"),
	       r->steps_recorded);
	if (r->reason[0])
		printf("  %s%s%s\n", r->step[0] ? r->step : "",
		       r->step[0] ? ": " : "", r->reason);
	if (r->proposal[0])
		printf("  proposal wrp://%s is waiting for %s\n", r->proposal,
		       r->waiting);
	printf("  docket explain agent-run://%s\n", r->run);
}

int cmd_run(struct dk_cmd_ctx *ctx)
{
	const char *resume = dk_opt_str(&ctx->opts, "resume");
	struct dk_run_opts ro = { dk_cmd_actor() };
	struct dk_workflow *wf = NULL;
	struct dk_run_result res;
	json_t *session = NULL, *input = NULL;
	char *file = NULL;
	int rc;

	if (ctx->opts.argc > 1 || (!resume && ctx->opts.argc != 1)) {
		dk_cmd_errorf(ctx, "usage: docket run %s", ctx->cmd->synopsis);
		return DK_EXIT_USAGE;
	}
	if (resume && (dk_opt_count(&ctx->opts, "session") ||
	               dk_opt_count(&ctx->opts, "input") ||
	               dk_opt_str(&ctx->opts, "session-file") ||
	               dk_opt_str(&ctx->opts, "input-file"))) {
		dk_cmd_errorf(ctx, "--resume continues with the session and "
		                   "input the run started with; give no "
		                   "--session or --input");
		return DK_EXIT_USAGE;
	}
	if (resume) {
		if (!strncmp(resume, "agent-run://", 12))
			resume += 12;
		if (ctx->opts.argc)
			file = strdup(ctx->opts.argv[0]);
		else if ((rc = dk_run_workflow_file(&file, ctx->ledger,
		                                    resume)) < 0)
			return dk_cmd_error(ctx, rc);
	} else {
		/* recorded in run.started: --resume finds it from any
		 * directory */
		file = realpath(ctx->opts.argv[0], NULL);
		if (!file)
			file = strdup(ctx->opts.argv[0]);
		if (!(session = gather(ctx, "session", "session-file")) ||
		    !(input = gather(ctx, "input", "input-file"))) {
			json_decref(session);
			free(file);
			return DK_EXIT_INVALID;
		}
	}
	if (dk_cmd_load_workflow(ctx, &wf, file) < 0) {
		json_decref(session);
		json_decref(input);
		free(file);
		return DK_EXIT_INVALID;
	}
	if (resume)
		rc = dk_run_resume(&res, ctx->ledger, wf, resume, &ro);
	else
		rc = dk_run_start(&res, ctx->ledger, wf, session, input, &ro);
	json_decref(session);
	json_decref(input);
	dk_workflow_free(wf);
	free(file);
	if (rc < 0) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", dk_error_last());
		rc = dk_cmd_error(ctx, rc);
		if (!resume && rc == DK_EXIT_INVALID)
			typed_hint(ctx, msg);
		return rc;
	}
	report(ctx, &res);
	return exit_for(res.status);
}
