#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/verify.h"

#include <stdlib.h>
#include <unistd.h>

DK_USES_LEDGER

static void progress(uint64_t done, uint64_t total, void *payload)
{
	(void)payload;
	fprintf(stderr, "\rverifying: %llu/%llu records",
	        (unsigned long long)done, (unsigned long long)total);
	if (done == total)
		fputc('\n', stderr);
}

int cmd_verify(struct dk_cmd_ctx *ctx)
{
	struct dk_anchor anchors[DK_OPT_LIST_MAX];
	struct dk_verify_opts vo = { .anchors = anchors };
	struct dk_verify_report r;
	const char *const *list;
	char *path;
	int n, i, rc, quiet = dk_opt_count(&ctx->opts, "quiet") > 0;

	if (ctx->opts.argc) {
		dk_cmd_errorf(ctx, "takes no operands");
		return DK_EXIT_USAGE;
	}
	list = dk_opt_list(&ctx->opts, "anchor", &n);
	for (i = 0; i < n; i++)
		if (dk_anchor_parse(&anchors[i], list[i]) < 0) {
			/* a bad --anchor is a bad command line: exit 2 */
			dk_cmd_errorf(ctx, "%s", dk_error_last());
			return DK_EXIT_USAGE;
		}
	vo.nanchors = (size_t)n;
	vo.trust = dk_opt_str(&ctx->opts, "trust");
	if (!quiet && isatty(2))
		vo.progress = progress;
	/*
	 * Open the repository directly rather than through dk_ledger_open,
	 * which refuses a ledger whose genesis record is damaged: that is a
	 * verdict to report, not a reason to stop.
	 */
	path = dk_ledger_discover(dk_opt_str(&ctx->opts, "ledger"));
	if (!path) {
		dk_cmd_errorf(ctx, "out of memory");
		return DK_EXIT_FAILURE;
	}
	rc = dk_verify_path(&r, path, &vo);
	free(path);
	if (rc < 0)
		return dk_cmd_error(ctx, rc);
	if (ctx->json) {
		json_t *o =
		    json_pack("{s:b, s:s, s:I, s:I, s:s, s:s, s:I, s:s, s:I}",
		              "ok", r.code == 0, "verdict",
		              r.code == 0              ? "ok"
		              : r.code == DK_ETAMPERED ? "tampered"
		                                       : "unreadable",
		              "records", (json_int_t)r.records, "bytes",
		              (json_int_t)r.bytes, "ledger_id", r.ledger_id,
		              "head_commit", r.head_commit, "head_seq",
		              (json_int_t)r.head_seq, "head_hash", r.head_hash,
		              "anchors_checked", (json_int_t)r.anchors_checked);
		json_object_set_new(o, "signatures",
		                    json_integer((json_int_t)r.signatures));
		json_object_set_new(o, "signature_ms",
		                    json_real(r.signature_ms));
		if (r.code) {
			json_t *bad = json_pack("{s:s}", "reason", r.reason);
			if (r.bad_seq >= 0)
				json_object_set_new(bad, "seq",
				                    json_integer(r.bad_seq));
			if (r.bad_commit[0])
				json_object_set_new(bad, "commit",
				                    json_string(r.bad_commit));
			json_object_set_new(o, "first_bad", bad);
			json_object_del(o, "head_hash");
			json_object_del(o, "head_seq");
		}
		dk_print_json(o, 0);
		json_decref(o);
	} else if (!quiet) {
		if (r.code == 0) {
			printf("%sok%s: %llu records, head %llu:%s\n",
			       dk_color(ctx, "green"), dk_color(ctx, "reset"),
			       (unsigned long long)r.records,
			       (unsigned long long)r.head_seq, r.head_hash);
		} else {
			printf("%s%s%s", dk_color(ctx, "red"),
			       r.code == DK_ETAMPERED ? "TAMPERED"
			                              : "UNREADABLE",
			       dk_color(ctx, "reset"));
			if (r.bad_seq >= 0)
				printf(" at record %lld", r.bad_seq);
			if (r.bad_commit[0])
				printf(" (commit %.12s)", r.bad_commit);
			printf(": %s\n", r.reason);
		}
	}
	if (r.code == 0)
		return DK_EXIT_OK;
	if (!quiet && !ctx->json)
		fprintf(stderr, "docket: verify: the ledger %s\n",
		        r.code == DK_ETAMPERED ? "was altered"
		                               : "could not be read");
	return r.code == DK_ETAMPERED ? DK_EXIT_TAMPERED : DK_EXIT_UNREADABLE;
}
