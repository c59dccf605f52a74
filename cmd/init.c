#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/ledger.h"
#include "../lib/policy.h"

#include <stdlib.h>

DK_USES_LEDGER

int cmd_init(struct dk_cmd_ctx *ctx)
{
	const char *const *admins, *const *keys;
	const char *policy_file = dk_opt_str(&ctx->opts, "policy");
	struct dk_ledger *l = NULL;
	struct dk_init_opts io = { NULL, NULL };
	struct dk_head h;
	json_t *policy = NULL;
	char *path;
	int na, nk, rc;

	admins = dk_opt_list(&ctx->opts, "admin", &na);
	keys = dk_opt_list(&ctx->opts, "key", &nk);
	if (ctx->opts.argc > 1) {
		dk_cmd_errorf(ctx, "too many operands; usage: docket init %s",
		              ctx->cmd->synopsis);
		return DK_EXIT_USAGE;
	}
	if (na != nk) {
		dk_cmd_errorf(ctx,
		              "each --admin NAME needs its --key FILE.pub "
		              "(%d admins, %d keys)",
		              na, nk);
		return DK_EXIT_USAGE;
	}
	if (!na && !policy_file) {
		dk_cmd_errorf(ctx, "a ledger needs a policy with at least one "
		                   "admin: --admin NAME --key FILE.pub, or "
		                   "--policy FILE");
		return DK_EXIT_USAGE;
	}
	if (na && policy_file) {
		dk_cmd_errorf(ctx, "give --admin/--key or --policy, not both");
		return DK_EXIT_USAGE;
	}
	rc = policy_file ? dk_policy_load_file(&policy, policy_file)
	                 : dk_policy_from_admins(&policy, admins, keys, na);
	if (rc < 0)
		return dk_cmd_error(ctx, rc);

	path = dk_ledger_discover(ctx->opts.argc
	                              ? ctx->opts.argv[0]
	                              : dk_opt_str(&ctx->opts, "ledger"));
	io.policy = policy;
	io.actor = dk_cmd_actor();
	rc = dk_ledger_init(&l, path, &io);
	json_decref(policy);
	if (rc < 0) {
		free(path);
		return dk_cmd_error(ctx, rc);
	}
	rc = dk_ledger_head(&h, l);
	if (rc < 0) {
		dk_ledger_free(l);
		free(path);
		return dk_cmd_error(ctx, rc);
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "ledger",
		                      path, "ledger_id", h.ledger_id, "seq",
		                      (json_int_t)h.seq, "hash", h.hash,
		                      "commit", h.commit);
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("created ledger %s in %s\n", h.ledger_id, path);
		printf("genesis 0:%s\n", h.hash);
	}
	dk_ledger_free(l);
	free(path);
	return 0;
}
