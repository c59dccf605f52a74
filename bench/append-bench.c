/*
 * Appends per second through the library, in one process.
 * usage: append-bench LEDGER COUNT   (DOCKET_FSYNC=0 turns fsync off)
 * Prints: "appends N seconds S rate R/s us_per_append U".
 */
#include "error.h"
#include "ledger.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct dk_ledger *l = NULL;
	struct dk_append_result res;
	long i, n;
	double t0, t1;

	if (argc < 3) {
		fprintf(stderr, "usage: append-bench LEDGER COUNT\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	if (dk_ledger_open(&l, argv[1]) < 0) {
		fprintf(stderr, "append-bench: %s\n", dk_error_last());
		return 1;
	}
	t0 = dk_mono_ms();
	for (i = 0; i < n; i++) {
		char text[64];
		json_t *body;

		snprintf(text, sizeof(text), "bench note %ld", i);
		body = json_pack("{s:s}", "text", text);
		if (dk_ledger_append(&res, l, "note", "bench", body, NULL) <
		    0) {
			fprintf(stderr, "append-bench: %s\n", dk_error_last());
			return 1;
		}
		json_decref(body);
	}
	t1 = dk_mono_ms();
	printf("appends %ld seconds %.3f rate %.0f/s us_per_append %.1f\n", n,
	       (t1 - t0) / 1e3, n / ((t1 - t0) / 1e3), (t1 - t0) * 1e3 / n);
	dk_ledger_free(l);
	return 0;
}
