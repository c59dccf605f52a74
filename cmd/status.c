/*
 * docket status: pending proposals, paused runs and approved proposals
 * awaiting dispatch, from the status index (rebuilt from the records
 * when missing or stale).
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/index.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void age(char *out, size_t n, int64_t secs)
{
	if (secs < 0)
		snprintf(out, n, "-%s", "");
	if (secs < 0)
		secs = -secs;
	if (secs < 120)
		snprintf(out, n, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(out, n, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(out, n, "%lldh", (long long)secs / 3600);
	else
		snprintf(out, n, "%lldd", (long long)secs / 86400);
}

static int distinct(const json_t *names)
{
	json_t *seen = json_object(), *n;
	size_t i;
	int c;

	json_array_foreach(names, i, n)
	    json_object_set(seen, json_string_value(n), json_true());
	c = (int)json_object_size(seen);
	json_decref(seen);
	return c;
}

static const char *sort_key;

static int by_key(const void *a, const void *b)
{
	return strcmp(str(*(json_t *const *)a, sort_key),
	              str(*(json_t *const *)b, sort_key));
}

/* Sort an array of objects by a string field (stable output). */
static void sort_by(json_t *arr, const char *key)
{
	size_t i, n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	sort_key = key;
	qsort(v, n, sizeof(*v), by_key);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

int cmd_status(struct dk_cmd_ctx *ctx)
{
	struct dk_index *ix = NULL;
	json_t *j, *pending, *paused, *dispatch, *e, *out;
	const char *k;
	int64_t now = dk_now();
	int rc;

	if (ctx->opts.argc) {
		dk_cmd_errorf(ctx, "takes no operands");
		return DK_EXIT_USAGE;
	}
	if ((rc = dk_index_open(&ix, ctx->ledger)) < 0)
		return dk_cmd_error(ctx, rc);
	j = dk_index_json(ix);
	pending = json_array();
	paused = json_array();
	dispatch = json_array();
	json_object_foreach(json_object_get(j, "proposals"), k, e)
	{
		const char *st = str(e, "state");
		int64_t at = 0, exp = 0;
		json_t *o;

		dk_parse_time(&at, str(e, "at"));
		dk_parse_time(&exp, str(e, "expires_at"));
		if (!strcmp(st, "pending")) {
			json_t *req = json_object_get(e, "requires");

			o = json_pack(
			    "{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:i, s:I, "
			    "s:s, s:b, s:O, s:I}",
			    "proposal", k, "run", str(e, "run"), "action",
			    str(e, "action"), "risk", str(e, "risk"),
			    "proposer", str(e, "proposer"), "rule",
			    str(e, "rule"), "requires", req ? req : json_null(),
			    "received",
			    distinct(json_object_get(e, "approvals")), "age_s",
			    (json_int_t)(now - at), "expires_at",
			    str(e, "expires_at"), "expired", now >= exp,
			    "approvers", json_object_get(e, "approvals"), "seq",
			    json_integer_value(json_object_get(e, "seq")));
			json_array_append_new(pending, o);
		} else if (!strcmp(st, "approved") || !strcmp(st, "sending")) {
			json_array_append_new(
			    dispatch,
			    json_pack("{s:s, s:s, s:s, s:s}", "proposal", k,
			              "run", str(e, "run"), "action",
			              str(e, "action"), "state", st));
		}
	}
	json_object_foreach(json_object_get(j, "runs"), k, e)
	{
		json_t *p = json_object_get(e, "paused");
		json_t *pe = json_object_get(json_object_get(j, "proposals"),
		                             str(p, "proposal"));
		const char *pst = pe ? str(pe, "state") : "";
		const char *waiting = str(p, "waiting");

		if (strcmp(str(e, "state"), "paused"))
			continue;
		/* the run waits for what its proposal needs now */
		if (!strcmp(pst, "approved") || !strcmp(pst, "sending"))
			waiting = "dispatch";
		json_array_append_new(
		    paused, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "run",
		                      k, "workflow", str(e, "workflow"), "step",
		                      str(p, "step"), "proposal",
		                      str(p, "proposal"), "waiting", waiting,
		                      "started_by", str(e, "actor")));
	}
	sort_by(pending, "expires_at");
	sort_by(paused, "run");
	sort_by(dispatch, "proposal");
	if (ctx->json) {
		out = json_pack(
		    "{s:o, s:o, s:o, s:I}", "pending", pending, "paused_runs",
		    paused, "awaiting_dispatch", dispatch, "head_seq",
		    json_integer_value(json_object_get(j, "head_seq")));
		dk_print_json(out, 0);
		json_decref(out);
		dk_index_free(ix);
		return DK_EXIT_OK;
	}
	{
		size_t i;

		printf("%spending proposals%s (%zu)\n", dk_color(ctx, "bold"),
		       dk_color(ctx, "reset"), json_array_size(pending));
		json_array_foreach(pending, i, e)
		{
			json_t *req = json_object_get(e, "requires");
			char a[32];

			age(a, sizeof(a),
			    json_integer_value(json_object_get(e, "age_s")));
			printf("  wrp://%s  %s  %lld/%lld %s  by %s  age %s  "
			       "%s %s\n",
			       str(e, "proposal"), str(e, "action"),
			       (long long)json_integer_value(
			           json_object_get(e, "received")),
			       (long long)json_integer_value(
			           json_object_get(req, "count")),
			       str(req, "role"), str(e, "proposer"), a,
			       json_is_true(json_object_get(e, "expired"))
			           ? "EXPIRED"
			           : "expires",
			       str(e, "expires_at"));
		}
		printf("%spaused runs%s (%zu)\n", dk_color(ctx, "bold"),
		       dk_color(ctx, "reset"), json_array_size(paused));
		json_array_foreach(paused, i, e)
		    printf("  agent-run://%s  %s  at %s  waiting for %s of "
		           "wrp://%s\n",
		           str(e, "run"), str(e, "workflow"), str(e, "step"),
		           str(e, "waiting"), str(e, "proposal"));
		printf("%sawaiting dispatch%s (%zu)\n", dk_color(ctx, "bold"),
		       dk_color(ctx, "reset"), json_array_size(dispatch));
		json_array_foreach(dispatch, i, e)
		    printf("  wrp://%s  %s  %s  (run %s)\n", str(e, "proposal"),
		           str(e, "action"), str(e, "state"), str(e, "run"));
	}
	json_decref(pending);
	json_decref(paused);
	json_decref(dispatch);
	dk_index_free(ix);
	return DK_EXIT_OK;
}
