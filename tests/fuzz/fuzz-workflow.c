/*
 * The workflow loader: YAML text through libyaml events, the strict
 * schema of the workflow language, jq compilation and the sandbox, the
 * canonical form and its hash. Every input is either loaded (with a
 * canonical text and a 64-digit hash) or refused with at least one
 * diagnostic carrying a line and a column.
 */
#include "fuzz.h"

#include "error.h"
#include "workflow.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dk_workflow *wf = NULL;
	struct dk_diags d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = dk_workflow_load_buffer(&wf, "fuzz.yaml", (const char *)data, size,
	                             &d);
	if (rc == 0) {
		if (!wf || !wf->canonical_text ||
		    strlen(wf->workflow_hash) != 64)
			abort();
		dk_workflow_free(wf);
	} else {
		size_t i;

		if (wf)
			abort();
		if (rc == DK_EINVALID && d.n == 0)
			abort(); /* refused without saying where */
		for (i = 0; i < d.n; i++)
			if (d.v[i].line < 0 || d.v[i].col < 0 || !d.v[i].msg)
				abort();
	}
	dk_diags_clear(&d);
	return 0;
}
