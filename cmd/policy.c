/*
 * docket policy: show the policy in force; sign a new version; append a
 * new version signed by enough admins of the current one.
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/index.h"
#include "../lib/ledger.h"
#include "../lib/policy.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

static int show(struct dk_cmd_ctx *ctx, const json_t *pol, uint64_t seq)
{
	json_t *p;
	size_t i;

	if (ctx->json) {
		json_t *o = json_pack("{s:O, s:I}", "policy", pol, "seq",
		                      (json_int_t)seq);
		dk_print_json(o, 0);
		json_decref(o);
		return DK_EXIT_OK;
	}
	printf("policy version %lld (record %llu), %lld admin signature(s) "
	       "required for changes\n",
	       (long long)json_integer_value(json_object_get(pol, "version")),
	       (unsigned long long)seq,
	       (long long)json_integer_value(
	           json_object_get(pol, "admins_required")));
	json_array_foreach(json_object_get(pol, "principals"), i, p)
	{
		json_t *r;
		size_t k;
		char *roles = NULL;
		size_t len = 0;

		json_array_foreach(json_object_get(p, "roles"), k, r)
		{
			const char *s = json_string_value(r);
			char *nr = realloc(roles, len + strlen(s) + 2);
			if (!nr)
				break;
			roles = nr;
			if (len)
				roles[len++] = ',';
			memcpy(roles + len, s, strlen(s) + 1);
			len += strlen(s);
		}
		/* allowed_signers form: principal, namespaces, key */
		printf("%s namespaces=\"docket-*@docket\" %s  # %s\n",
		       json_string_value(json_object_get(p, "name")),
		       json_string_value(json_object_get(p, "key")),
		       roles ? roles : "");
		free(roles);
	}
	return DK_EXIT_OK;
}

static char *read_text(struct dk_cmd_ctx *ctx, const char *path)
{
	char *buf = NULL;
	size_t len;

	if (dk_read_file(&buf, &len, path, 64 * 1024) < 0) {
		dk_cmd_errorf(ctx, "%s", dk_error_last());
		return NULL;
	}
	return buf;
}

int cmd_policy(struct dk_cmd_ctx *ctx)
{
	const char *sub = ctx->opts.argc ? ctx->opts.argv[0] : "show";
	struct dk_index *ix = NULL;
	json_t *cur = NULL, *next = NULL;
	uint64_t seq = 0;
	int rc, n, i, code = DK_EXIT_OK;

	if ((rc = dk_index_open(&ix, ctx->ledger)) < 0 ||
	    (rc = dk_policy_current(&cur, &seq, ctx->ledger, ix)) < 0) {
		dk_index_free(ix);
		return dk_cmd_error(ctx, rc);
	}
	dk_index_free(ix);
	if (!strcmp(sub, "show") && ctx->opts.argc <= 1) {
		code = show(ctx, cur, seq);
		goto out;
	}
	if ((strcmp(sub, "sign") && strcmp(sub, "update")) ||
	    ctx->opts.argc != 2) {
		dk_cmd_errorf(ctx, "usage: docket policy %s",
		              ctx->cmd->synopsis);
		code = DK_EXIT_USAGE;
		goto out;
	}
	if ((rc = dk_policy_load_file(&next, ctx->opts.argv[1])) < 0) {
		code = dk_cmd_error(ctx, rc);
		goto out;
	}
	if (!strcmp(sub, "sign")) {
		const char *key = dk_opt_str(&ctx->opts, "key");
		char *sig = NULL;

		if (!key) {
			dk_cmd_errorf(ctx, "sign needs --key FILE");
			code = DK_EXIT_USAGE;
			goto out;
		}
		if ((rc = dk_policy_sign(&sig, dk_ledger_id(ctx->ledger), cur,
		                         next, key)) < 0) {
			code = dk_cmd_error(ctx, rc);
			goto out;
		}
		fputs(sig, stdout);
		free(sig);
	} else {
		const char *const *keys = dk_opt_list(&ctx->opts, "key", &n);
		const char *const *files;
		const char *sigs[2 * DK_OPT_LIST_MAX];
		char *owned[2 * DK_OPT_LIST_MAX];
		struct dk_append_result ar;
		int m, ns = 0;

		for (i = 0; i < n; i++) {
			if ((rc = dk_policy_sign(&owned[ns],
			                         dk_ledger_id(ctx->ledger), cur,
			                         next, keys[i])) < 0) {
				code = dk_cmd_error(ctx, rc);
				goto free_sigs;
			}
			sigs[ns] = owned[ns];
			ns++;
		}
		files = dk_opt_list(&ctx->opts, "signature", &m);
		for (i = 0; i < m; i++) {
			if (!(owned[ns] = read_text(ctx, files[i]))) {
				code = DK_EXIT_NOTFOUND;
				goto free_sigs;
			}
			sigs[ns] = owned[ns];
			ns++;
		}
		rc = dk_policy_update(&ar, ctx->ledger, next, sigs, (size_t)ns,
		                      dk_cmd_actor());
		if (rc < 0) {
			code = dk_cmd_error(ctx, rc);
		} else if (ctx->json) {
			json_t *o = json_pack(
			    "{s:I, s:s, s:I}", "seq", (json_int_t)ar.seq,
			    "hash", ar.hash, "version",
			    json_integer_value(
			        json_object_get(next, "version")));
			dk_print_json(o, 0);
			json_decref(o);
		} else {
			printf(
			    "policy version %lld in force from record %llu\n",
			    (long long)json_integer_value(
			        json_object_get(next, "version")),
			    (unsigned long long)ar.seq);
		}
	free_sigs:
		while (ns-- > 0)
			free(owned[ns]);
	}
out:
	json_decref(cur);
	json_decref(next);
	return code;
}
