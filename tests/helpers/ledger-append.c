/*
 * ledger-append: append one record to a ledger, for tests that need a
 * record type no command of this branch writes yet (proposal.rejected,
 * proposal.expired, as the approvals commands will).
 *
 *   ledger-append LEDGER TYPE BODY-JSON
 *
 * Prints the new record's seq. Exit 0, or 1 with the library's message.
 */
#include "error.h"
#include "ledger.h"

#include <jansson.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct dk_ledger *l = NULL;
	struct dk_append_result ar;
	json_error_t err;
	json_t *body;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: ledger-append LEDGER TYPE BODY-JSON\n");
		return 64;
	}
	body = json_loads(argv[3], 0, &err);
	if (!body) {
		fprintf(stderr, "ledger-append: %s\n", err.text);
		return 1;
	}
	if ((rc = dk_ledger_open(&l, argv[1])) == 0)
		rc = dk_ledger_append(&ar, l, argv[2], "tester", body, NULL);
	json_decref(body);
	dk_ledger_free(l);
	if (rc < 0) {
		fprintf(stderr, "ledger-append: %s\n", dk_error_last());
		return 1;
	}
	printf("%llu\n", (unsigned long long)ar.seq);
	return 0;
}
