#include "cmd.h"
#include "../lib/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dk_run_command(const struct dk_command *cmd, int argc, char **argv)
{
	struct dk_cmd_ctx ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = cmd;
	ctx.name = cmd->name;
	rc = dk_parse_options(&ctx.opts, cmd->options, argc, argv, cmd->name);
	if (rc == 1) {
		dk_usage(stdout, cmd);
		free(ctx.opts.argv);
		return DK_EXIT_OK;
	}
	if (rc < 0) {
		free(ctx.opts.argv);
		return DK_EXIT_USAGE;
	}
	ctx.json = dk_opt_count(&ctx.opts, "json") > 0;
	ctx.color = !ctx.json && isatty(1) && !getenv("NO_COLOR");
	if (cmd->flags & DK_NEED_LEDGER) {
		if (!dk_cmd_setup_ledger) {
			fprintf(stderr,
			        "docket: %s: built without ledger "
			        "support\n",
			        cmd->name);
			free(ctx.opts.argv);
			return DK_EXIT_FAILURE;
		}
		rc = dk_cmd_setup_ledger(&ctx);
		if (rc) {
			free(ctx.opts.argv);
			return rc;
		}
	}
	rc = cmd->fn(&ctx);
	if (ctx.ledger && dk_cmd_teardown_ledger)
		dk_cmd_teardown_ledger(&ctx);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "docket: %s: cannot write output\n", cmd->name);
		rc = DK_EXIT_FAILURE;
	}
	free(ctx.opts.argv);
	return rc;
}

int dk_exit_from_error(int rc)
{
	switch (rc) {
	case DK_OK:
		return DK_EXIT_OK;
	case DK_ENOTFOUND:
		return DK_EXIT_NOTFOUND;
	case DK_EEXISTS:
		return DK_EXIT_EXISTS;
	case DK_EINVALID:
		return DK_EXIT_INVALID;
	case DK_ELOCKED:
	case DK_ETIMEOUT:
		return DK_EXIT_LOCKED;
	case DK_ETAMPERED:
		return DK_EXIT_TAMPERED;
	case DK_EVERSION:
	case DK_ENOTLEDGER:
		return DK_EXIT_NOLEDGER;
	case DK_EREFUSED:
		return DK_EXIT_REFUSED;
	default:
		return DK_EXIT_FAILURE;
	}
}

int dk_cmd_error(const struct dk_cmd_ctx *ctx, int rc)
{
	fprintf(stderr, "docket: %s: %s\n", ctx->name, dk_error_last());
	return dk_exit_from_error(rc);
}

void dk_cmd_errorf(const struct dk_cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "docket: %s: ", ctx->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *dk_color(const struct dk_cmd_ctx *ctx, const char *which)
{
	if (!ctx->color)
		return "";
	if (!strcmp(which, "reset"))
		return "\033[0m";
	if (!strcmp(which, "bold"))
		return "\033[1m";
	if (!strcmp(which, "green"))
		return "\033[32m";
	if (!strcmp(which, "red"))
		return "\033[31m";
	if (!strcmp(which, "yellow"))
		return "\033[33m";
	if (!strcmp(which, "dim"))
		return "\033[2m";
	return "";
}
