/*
 * dk-append-notes LEDGER N: append N note records through the library
 * API (lib/ledger.h), in one process; for tests that need big ledgers
 * quickly. Prints the last seq and hash.
 */
#include "../../lib/error.h"
#include "../../lib/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct dk_append_result res = { 0 };
	struct dk_ledger *l = NULL;
	unsigned long long n, i;
	char *end;
	int rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: dk-append-notes LEDGER N\n");
		return 2;
	}
	errno = 0;
	n = strtoull(argv[2], &end, 10);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "dk-append-notes: bad count '%s'\n", argv[2]);
		return 2;
	}
	if ((rc = dk_ledger_open(&l, argv[1])) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char text[64];
		json_t *body;

		snprintf(text, sizeof(text), "note %llu of %llu", i + 1, n);
		body = json_pack("{s:s}", "text", text);
		if (!body) {
			rc = dk_error_set(DK_ERROR, "out of memory");
			goto out;
		}
		rc = dk_ledger_append(&res, l, "note", "tester", body, NULL);
		json_decref(body);
		if (rc < 0)
			goto out;
	}
	printf("%llu:%s\n", (unsigned long long)res.seq, res.hash);
out:
	if (rc < 0)
		fprintf(stderr, "dk-append-notes: %s\n", dk_error_last());
	dk_ledger_free(l);
	return rc < 0 ? 1 : 0;
}
