/* Ledger setup for commands flagged DK_NEED_LEDGER. */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/ledger.h"

#include <stdlib.h>
#include <string.h>

const int dk_cmd_ledger_support = 1;

int dk_cmd_setup_ledger(struct dk_cmd_ctx *ctx)
{
	char *path = dk_ledger_discover(dk_opt_str(&ctx->opts, "ledger"));
	int rc;

	if (!path) {
		dk_cmd_errorf(ctx, "out of memory");
		return DK_EXIT_FAILURE;
	}
	ctx->ledger_path = path;
	rc = dk_ledger_open(&ctx->ledger, path);
	if (rc < 0) {
		rc = dk_cmd_error(ctx, rc);
		free(path);
		ctx->ledger_path = NULL;
		return rc;
	}
	return 0;
}

void dk_cmd_teardown_ledger(struct dk_cmd_ctx *ctx)
{
	dk_ledger_free(ctx->ledger);
	ctx->ledger = NULL;
	free((char *)ctx->ledger_path);
	ctx->ledger_path = NULL;
}

const char *dk_cmd_actor(void)
{
	const char *a = getenv("DOCKET_ACTOR");

	if (a && *a)
		return a;
	a = getenv("USER");
	if (a && *a)
		return a;
	a = getenv("LOGNAME");
	if (a && *a)
		return a;
	return "unknown";
}

int dk_print_json(json_t *v, int pretty)
{
	char *s = json_dumps(v, JSON_SORT_KEYS |
	                            (pretty ? JSON_INDENT(2) : JSON_COMPACT));

	if (!s)
		return -1;
	puts(s);
	free(s);
	return 0;
}
