#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/ledger.h"
#include "../lib/util.h"

#include <string.h>

DK_USES_LEDGER

int cmd_note(struct dk_cmd_ctx *ctx)
{
	struct dk_append_result res;
	const char *run = dk_opt_str(&ctx->opts, "run");
	const char *text;
	json_t *body;
	int rc;

	if (ctx->opts.argc != 1) {
		dk_cmd_errorf(ctx, "expected one TEXT operand (quote it)");
		return DK_EXIT_USAGE;
	}
	text = ctx->opts.argv[0];
	if (!*text || !dk_utf8_valid(text, strlen(text))) {
		dk_cmd_errorf(ctx, "the note must be non-empty UTF-8 text");
		return DK_EXIT_INVALID;
	}
	body = json_pack("{s:s}", "text", text);
	if (run)
		json_object_set_new(body, "run", json_string(run));
	rc = dk_ledger_append(&res, ctx->ledger, "note", dk_cmd_actor(), body,
	                      NULL);
	json_decref(body);
	if (rc < 0)
		return dk_cmd_error(ctx, rc);
	if (ctx->json) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "seq",
		                      (json_int_t)res.seq, "hash", res.hash,
		                      "commit", res.commit, "handle", "");
		char h[80];
		snprintf(h, sizeof(h), "evidence://%s", res.hash);
		json_object_set_new(o, "handle", json_string(h));
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("%llu:%s\n", (unsigned long long)res.seq, res.hash);
	}
	return 0;
}
