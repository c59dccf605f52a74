#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/handle.h"
#include "../lib/ledger.h"
#include "../lib/proposal.h"
#include "../lib/run.h"

#include <stdlib.h>

DK_USES_LEDGER

int cmd_show(struct dk_cmd_ctx *ctx)
{
	struct dk_record *r = NULL;
	struct dk_handle h;
	int rc;

	if (ctx->opts.argc != 1) {
		dk_cmd_errorf(ctx, "expected one SEQ, HASH or HANDLE");
		return DK_EXIT_USAGE;
	}
	if ((rc = dk_handle_parse(&h, ctx->opts.argv[0])) < 0)
		return dk_cmd_error(ctx, rc);
	switch (h.kind) {
	case DK_HANDLE_SEQ:
		rc = dk_ledger_read(&r, ctx->ledger, h.seq);
		break;
	case DK_HANDLE_HASH:
		rc = dk_ledger_find_hash(&r, ctx->ledger, h.id);
		break;
	case DK_HANDLE_RUN: {
		/* a run is shown by its run.started record */
		json_t *recs = NULL;

		rc = dk_run_records(&recs, NULL, ctx->ledger, h.id);
		if (rc == 0)
			rc = dk_ledger_read(
			    &r, ctx->ledger,
			    (uint64_t)json_integer_value(json_object_get(
			        json_array_get(recs, 0), "seq")));
		json_decref(recs);
		break;
	}
	case DK_HANDLE_PROPOSAL: {
		/* a proposal by its proposal record */
		struct dk_proposal *p = NULL;

		rc = dk_proposal_load(&p, ctx->ledger, h.id);
		if (rc == 0)
			rc = dk_ledger_read(&r, ctx->ledger, p->seq);
		dk_proposal_free(p);
		break;
	}
	}
	if (rc < 0)
		return dk_cmd_error(ctx, rc);
	if (dk_opt_count(&ctx->opts, "raw")) {
		fwrite(r->bytes, 1, r->len, stdout);
	} else if (ctx->json) {
		json_t *o =
		    json_pack("{s:I, s:s, s:O}", "seq", (json_int_t)r->seq,
		              "hash", r->hash, "record", r->json);
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("%srecord %llu%s  evidence://%s\n",
		       dk_color(ctx, "bold"), (unsigned long long)r->seq,
		       dk_color(ctx, "reset"), r->hash);
		printf("type    %s\nat      %s\nactor   %s\nprev    %s\n",
		       r->type, r->at, r->actor, r->prev);
		printf("body    ");
		dk_print_json(r->body, 1);
	}
	dk_record_free(r);
	return 0;
}
