#ifndef DK_HANDLE_H
#define DK_HANDLE_H

#include <stdint.h>

/*
 * Handles name records and objects in a form users paste into tickets:
 *   evidence://HASH     a record, by its hash (or a unique prefix)
 *   agent-run://RUN     a run, by its id
 *   wrp://PROPOSAL      a workflow-run proposal, by its id
 * A bare decimal number is a seq; bare hex (8 to 64 digits) a hash.
 */

enum dk_handle_kind {
	DK_HANDLE_SEQ,
	DK_HANDLE_HASH,
	DK_HANDLE_RUN,
	DK_HANDLE_PROPOSAL,
};

struct dk_handle {
	enum dk_handle_kind kind;
	uint64_t seq;
	char id[72]; /* hash hex, run id or proposal id */
};

/* Ids: 1 to 64 of [a-z0-9-], not starting with '-'. */
int dk_id_valid(const char *id);
int dk_handle_parse(struct dk_handle *out, const char *s);

#endif
