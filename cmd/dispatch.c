/*
 * docket dispatch: send approved provider actions exactly once, then
 * continue the runs that paused on them (docs/dispatch.md).
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/dispatch.h"
#include "../lib/error.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

static json_t *item_json(const struct dk_dispatch_item *it)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "proposal", it->proposal,
	              "run", it->run, "action", it->action, "state", it->state,
	              "status", dk_dispatch_status_name(it->status));

#define PUT_STR(k, v)                                                          \
	if ((v)[0])                                                            \
	json_object_set_new(o, k, json_string(v))
	PUT_STR("outcome", it->outcome);
	PUT_STR("idempotency_key", it->idempotency_key);
	PUT_STR("request_hash", it->request_hash);
	PUT_STR("fallback", it->fallback);
	PUT_STR("fallback_outcome", it->fallback_outcome);
	PUT_STR("run_status", it->run_status);
	PUT_STR("next_proposal", it->next_proposal);
	PUT_STR("error", it->error);
#undef PUT_STR
	if (it->http_status)
		json_object_set_new(o, "http_status",
		                    json_integer(it->http_status));
	if (it->attempts)
		json_object_set_new(o, "attempts", json_integer(it->attempts));
	if (it->attempt)
		json_object_set_new(o, "attempt", json_integer(it->attempt));
	if (it->recorded)
		json_object_set(o, "recorded", it->recorded);
	if (it->request)
		json_object_set_new(o, "request", json_string(it->request));
	return o;
}

static void print_item(struct dk_cmd_ctx *ctx,
                       const struct dk_dispatch_item *it)
{
	int good = it->status == DK_DISPATCH_DRY_RUN ||
	           ((it->status == DK_DISPATCH_SENT ||
	             it->status == DK_DISPATCH_DONE) &&
	            !strcmp(it->outcome, "succeeded"));

	if (it->status == DK_DISPATCH_DRY_RUN) {
		printf("# wrp://%s %s (attempt %u, idempotency key %s, "
		       "request_hash %s)\n%s\n",
		       it->proposal, it->action, it->attempt,
		       it->idempotency_key, it->request_hash,
		       it->request ? it->request : "");
		return;
	}
	printf("wrp://%s%s%s: %s%s%s", it->proposal, it->action[0] ? " " : "",
	       it->action, dk_color(ctx, good ? "green" : "red"),
	       it->status == DK_DISPATCH_SENT ? it->outcome
	       : it->status == DK_DISPATCH_DONE
	           ? "already done"
	           : dk_dispatch_status_name(it->status),
	       dk_color(ctx, "reset"));
	if (it->status == DK_DISPATCH_DONE && it->outcome[0])
		printf(" (%s)", it->outcome);
	if (it->http_status)
		printf(" HTTP %ld", it->http_status);
	if (it->attempts)
		printf(", %u HTTP attempt%s", it->attempts,
		       it->attempts == 1 ? "" : "s");
	if (it->recorded && json_object_size(it->recorded)) {
		char *s =
		    json_dumps(it->recorded, JSON_COMPACT | JSON_SORT_KEYS);
		printf(" %s", s ? s : "");
		free(s);
	}
	printf("\n");
	if (it->error[0])
		printf("  %s\n", it->error);
	if (it->fallback[0])
		printf("  fallback %s: %s\n", it->fallback,
		       it->fallback_outcome[0] ? it->fallback_outcome
		                               : "not sent");
	if (it->run_status[0])
		printf("  run agent-run://%s continued: %s%s%s\n", it->run,
		       it->run_status,
		       it->next_proposal[0] ? ", next wrp://" : "",
		       it->next_proposal);
}

int cmd_dispatch(struct dk_cmd_ctx *ctx)
{
	struct dk_dispatch_opts o;
	struct dk_dispatch_report rep;
	int ready = dk_opt_count(&ctx->opts, "ready") > 0;
	int code = DK_EXIT_OK, rc;
	long k = dk_opt_int(&ctx->opts, "max-in-flight", 4);
	size_t i;

	if ((ready && ctx->opts.argc) || (!ready && !ctx->opts.argc)) {
		dk_cmd_errorf(ctx, "usage: docket dispatch %s",
		              ctx->cmd->synopsis);
		return DK_EXIT_USAGE;
	}
	if (k < 1 || k > 256) {
		dk_cmd_errorf(ctx, "--max-in-flight must be 1 to 256");
		return DK_EXIT_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.actor = dk_cmd_actor();
	o.dry_run = dk_opt_count(&ctx->opts, "dry-run") > 0;
	o.no_continue = dk_opt_count(&ctx->opts, "no-continue") > 0;
	o.max_in_flight = (size_t)k;
	o.ca_file = dk_opt_str(&ctx->opts, "ca-file");
	if (!o.ca_file && getenv("DOCKET_CA_FILE") && *getenv("DOCKET_CA_FILE"))
		o.ca_file = getenv("DOCKET_CA_FILE");
	rc = dk_dispatch(&rep, ctx->ledger, (const char *const *)ctx->opts.argv,
	                 (size_t)ctx->opts.argc, &o);
	for (i = 0; i < rep.n; i++) {
		const struct dk_dispatch_item *it = &rep.items[i];

		if (it->continue_failed)
			code = DK_EXIT_FAILURE;
		switch (it->status) {
		case DK_DISPATCH_SENT:
		case DK_DISPATCH_DONE:
			if (strcmp(it->outcome, "succeeded") &&
			    code == DK_EXIT_OK)
				code = DK_EXIT_FAILURE;
			break;
		case DK_DISPATCH_NOT_READY:
		case DK_DISPATCH_CHANGED:
			if (code == DK_EXIT_OK)
				code = DK_EXIT_REFUSED;
			break;
		case DK_DISPATCH_ERROR:
			code = DK_EXIT_FAILURE;
			break;
		default:
			break;
		}
	}
	if (ctx->json) {
		json_t *arr = json_array();

		for (i = 0; i < rep.n; i++)
			json_array_append_new(arr, item_json(&rep.items[i]));
		json_t *all = json_pack("{s:o, s:i}", "dispatches", arr,
		                        "exit_code", rc < 0 ? 1 : code);

		dk_print_json(all, 0);
		json_decref(all);
	} else {
		for (i = 0; i < rep.n; i++)
			print_item(ctx, &rep.items[i]);
		if (!rep.n && ready)
			printf("nothing to dispatch\n");
	}
	for (i = 0; i < rep.n; i++)
		if (rep.items[i].status == DK_DISPATCH_ERROR ||
		    rep.items[i].status == DK_DISPATCH_NOT_READY ||
		    rep.items[i].status == DK_DISPATCH_CHANGED)
			dk_cmd_errorf(ctx, "wrp://%s: %s",
			              rep.items[i].proposal,
			              rep.items[i].error);
	dk_dispatch_report_dispose(&rep);
	if (rc < 0)
		return dk_cmd_error(ctx, rc);
	return code;
}
