/*
 * docket approve: sign an approval (or, with --deny, a denial) of a
 * proposal with the operator's SSH key, after showing what it is.
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/approval.h"
#include "../lib/error.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

DK_USES_LEDGER

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The key: --key, else $DOCKET_KEY, else ~/.ssh/id_ed25519. */
static const char *default_key(char *buf, size_t n)
{
	const char *k = getenv("DOCKET_KEY"), *home = getenv("HOME");

	if (k && *k)
		return k;
	snprintf(buf, n, "%s/.ssh/id_ed25519", home ? home : "");
	return buf;
}

static void show(const struct dk_approval *a, int deny)
{
	const struct dk_proposal *p = dk_approval_proposal(a);
	const json_t *b = p->body, *req = json_object_get(b, "requires");
	char *args = json_dumps(json_object_get(b, "args"),
	                        JSON_INDENT(2) | JSON_SORT_KEYS);

	fprintf(stderr, "proposal   wrp://%s (record %llu, evidence://%s)\n",
	        p->id, (unsigned long long)p->seq, p->hash);
	fprintf(stderr, "run        agent-run://%s%s%s\n", p->run,
	        p->step[0] ? " step " : "", p->step);
	fprintf(stderr, "action     %s (risk %s)\n", p->action, str(b, "risk"));
	fprintf(stderr, "args       %s\n", args ? args : "?");
	fprintf(stderr, "rule       %s: %lld %s approval(s)%s\n",
	        str(json_object_get(b, "rule"), "name"),
	        (long long)json_integer_value(json_object_get(req, "count")),
	        str(req, "role"),
	        json_is_true(json_object_get(req, "allow_proposer"))
	            ? ""
	            : ", not the proposer");
	if (json_object_size(
	        json_object_get(json_object_get(b, "rule"), "saw"))) {
		char *saw = json_dumps(
		    json_object_get(json_object_get(b, "rule"), "saw"),
		    JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(stderr, "rule saw   %s\n", saw ? saw : "?");
		free(saw);
	}
	fprintf(stderr, "proposer   %s; expires %s\n", str(b, "proposer"),
	        str(b, "expires_at"));
	fprintf(stderr, "evidence   docket explain agent-run://%s\n", p->run);
	fprintf(stderr, "you        %s (%s) will sign: %s\n",
	        dk_approval_principal(a), dk_approval_role(a),
	        deny ? "DENY" : "APPROVE");
	free(args);
}

static int confirm(void)
{
	char line[32];

	fprintf(stderr, "sign? [y/N] ");
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int cmd_approve(struct dk_cmd_ctx *ctx)
{
	struct dk_approval_req req;
	struct dk_approval_result res;
	struct dk_approval *a = NULL;
	char keybuf[4096];
	int rc, yes = dk_opt_count(&ctx->opts, "yes") > 0;

	if (ctx->opts.argc != 1) {
		dk_cmd_errorf(ctx, "usage: docket approve %s",
		              ctx->cmd->synopsis);
		return DK_EXIT_USAGE;
	}
	memset(&req, 0, sizeof(req));
	req.proposal = ctx->opts.argv[0];
	req.keypath = dk_opt_str(&ctx->opts, "key");
	if (!req.keypath)
		req.keypath = default_key(keybuf, sizeof(keybuf));
	req.as = dk_opt_str(&ctx->opts, "as");
	req.deny = dk_opt_count(&ctx->opts, "deny") > 0;
	req.reason = dk_opt_str(&ctx->opts, "reason");
	if ((rc = dk_approval_prepare(&a, ctx->ledger, &req)) < 0)
		return dk_cmd_error(ctx, rc);
	if (!yes) {
		if (!isatty(0)) {
			dk_approval_free(a);
			dk_cmd_errorf(ctx, "not a terminal: give --yes to sign "
			                   "without confirmation");
			return DK_EXIT_USAGE;
		}
		show(a, req.deny);
		if (!confirm()) {
			dk_approval_free(a);
			fprintf(stderr, "nothing signed\n");
			return DK_EXIT_FAILURE;
		}
	}
	rc = dk_approval_commit(&res, a);
	if (rc < 0) {
		dk_approval_free(a);
		return dk_cmd_error(ctx, rc);
	}
	if (ctx->json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:i}",
		              "proposal", dk_approval_proposal(a)->id,
		              "principal", dk_approval_principal(a), "decision",
		              req.deny ? "deny" : "approve", "seq",
		              (json_int_t)res.seq, "hash", res.hash, "state",
		              dk_proposal_state_name(res.state), "received",
		              res.received, "required", res.required);
		if (res.decision_seq)
			json_object_set_new(
			    o, "decision_seq",
			    json_integer((json_int_t)res.decision_seq));
		dk_print_json(o, 0);
		json_decref(o);
	} else {
		printf("wrp://%s: %s by %s (record %llu)\n",
		       dk_approval_proposal(a)->id,
		       req.deny ? "denied" : "approved",
		       dk_approval_principal(a), (unsigned long long)res.seq);
		if (res.state == DK_PROP_PENDING)
			printf("  pending: %d of %d approvals\n", res.received,
			       res.required);
		else
			printf("  proposal is now %s\n",
			       dk_proposal_state_name(res.state));
	}
	dk_approval_free(a);
	return DK_EXIT_OK;
}
