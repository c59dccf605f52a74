/*
 * ledger-append LEDGER TYPE [ACTOR] BODY_JSON: append a record through the
 * library with no rules checked, as an attacker with write access to the
 * repository could (the chain stays valid; only verify's policy checks
 * can catch what it adds), or as a test needs a record no command writes
 * in that situation. ACTOR defaults to "tester". Prints the new seq and
 * hash.
 */
#include "../../lib/error.h"
#include "../../lib/ledger.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct dk_append_result ar;
	struct dk_ledger *l = NULL;
	const char *actor = argc == 5 ? argv[3] : "tester";
	json_error_t err;
	json_t *body;
	int rc;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
		        "usage: ledger-append LEDGER TYPE [ACTOR] JSON\n");
		return 2;
	}
	body = json_loads(argv[argc - 1], 0, &err);
	if (!body) {
		fprintf(stderr, "ledger-append: %s\n", err.text);
		return 2;
	}
	if ((rc = dk_ledger_open(&l, argv[1])) < 0 ||
	    (rc = dk_ledger_append(&ar, l, argv[2], actor, body, NULL)) < 0) {
		fprintf(stderr, "ledger-append: %s\n", dk_error_last());
		json_decref(body);
		dk_ledger_free(l);
		return 1;
	}
	printf("%llu %s\n", (unsigned long long)ar.seq, ar.hash);
	json_decref(body);
	dk_ledger_free(l);
	return 0;
}
