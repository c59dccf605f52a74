#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/ledger.h"

#include <string.h>

DK_USES_LEDGER

struct log_state {
	struct dk_cmd_ctx *ctx;
	const char *type;
	long max;
	long shown;
	json_t *arr;
};

static void summary_of(char *out, size_t n, const struct dk_record *r)
{
	const char *s = json_string_value(json_object_get(r->body, "summary"));
	size_t i;

	if (!s)
		s = json_string_value(json_object_get(r->body, "text"));
	if (!s && !strcmp(r->type, "genesis"))
		s = json_string_value(json_object_get(r->body, "ledger_id"));
	snprintf(out, n, "%s", s ? s : "");
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
}

static int log_cb(const struct dk_record *r, void *payload)
{
	struct log_state *st = payload;

	if (st->type && strcmp(st->type, r->type))
		return 0;
	if (st->arr) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:O}", "seq",
		                      (json_int_t)r->seq, "hash", r->hash,
		                      "type", r->type, "at", r->at, "actor",
		                      r->actor, "body", r->body);
		json_array_append_new(st->arr, o);
	} else {
		char sum[100];
		summary_of(sum, sizeof(sum), r);
		printf("%s%6llu%s %.12s %s  %-14s %-12s %s\n",
		       dk_color(st->ctx, "yellow"), (unsigned long long)r->seq,
		       dk_color(st->ctx, "reset"), r->hash, r->at, r->type,
		       r->actor, sum);
	}
	return ++st->shown >= st->max;
}

int cmd_log(struct dk_cmd_ctx *ctx)
{
	struct log_state st = { ctx, dk_opt_str(&ctx->opts, "type"),
		                dk_opt_int(&ctx->opts, "max-count", 20), 0,
		                NULL };
	int rc;

	if (ctx->opts.argc) {
		dk_cmd_errorf(ctx, "takes no operands");
		return DK_EXIT_USAGE;
	}
	if (ctx->json)
		st.arr = json_array();
	if (st.max == 0) {
		/* nothing asked for: an empty list, still a list */
		if (st.arr)
			dk_print_json(st.arr, 0);
		json_decref(st.arr);
		return 0;
	}
	rc = dk_ledger_foreach_reverse(ctx->ledger, log_cb, &st);
	if (rc < 0) {
		json_decref(st.arr);
		return dk_cmd_error(ctx, rc);
	}
	if (st.arr) {
		dk_print_json(st.arr, 0);
		json_decref(st.arr);
	}
	return 0;
}
