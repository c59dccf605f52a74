#include "cmd.h"
#include "util-cmd.h"
#include "../lib/ledger.h"

DK_USES_LEDGER

int cmd_head(struct dk_cmd_ctx *ctx)
{
	struct dk_head h;
	int rc;

	if (ctx->opts.argc) {
		dk_cmd_errorf(ctx, "takes no operands");
		return DK_EXIT_USAGE;
	}
	if ((rc = dk_ledger_head(&h, ctx->ledger)) < 0)
		return dk_cmd_error(ctx, rc);
	if (ctx->json) {
		char anchor[96];
		json_t *o;

		snprintf(anchor, sizeof(anchor), "%llu:%s",
		         (unsigned long long)h.seq, h.hash);
		o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq",
		              (json_int_t)h.seq, "hash", h.hash, "commit",
		              h.commit, "ledger_id", h.ledger_id, "anchor",
		              anchor);
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("%llu:%s %s\n", (unsigned long long)h.seq, h.hash,
		       h.commit);
	}
	return 0;
}
