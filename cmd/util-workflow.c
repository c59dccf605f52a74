/* Loading a workflow for a command, with its diagnostics printed. */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/workflow.h"

#include <stdio.h>

int dk_cmd_load_workflow(struct dk_cmd_ctx *ctx, struct dk_workflow **out,
                         const char *path)
{
	struct dk_diags d = DK_DIAGS_INIT;
	size_t i;
	int rc = dk_workflow_load(out, path, &d);

	if (rc < 0) {
		for (i = 0; i < d.n; i++)
			fprintf(stderr, "%s:%d:%d: %s\n", path, d.v[i].line,
			        d.v[i].col, d.v[i].msg);
		if (d.dropped)
			fprintf(stderr, "%s: %zu more errors not shown\n", path,
			        d.dropped);
		if (!d.n)
			dk_cmd_errorf(ctx, "%s", dk_error_last());
		else
			dk_cmd_errorf(ctx,
			              "%s is not a valid workflow "
			              "(docket lint %s)",
			              path, path);
	}
	dk_diags_clear(&d);
	return rc;
}
