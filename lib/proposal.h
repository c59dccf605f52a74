#ifndef DK_PROPOSAL_H
#define DK_PROPOSAL_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"

/*
 * A proposal and what happened to it, derived from the ledger's records
 * (never from an index): the `proposal` record, then approval,
 * proposal.approved / proposal.rejected / proposal.expired and
 * dispatch.intent / dispatch.result records that name it.
 *
 * Ownership: a struct dk_proposal owns its json_t values; free it with
 * dk_proposal_free.
 */

enum dk_proposal_state {
	DK_PROP_PENDING = 0, /* waiting for approvals */
	DK_PROP_APPROVED,    /* approved, not yet sent */
	DK_PROP_REJECTED,    /* denied by an approver */
	DK_PROP_EXPIRED,     /* recorded as expired */
	DK_PROP_SENDING,     /* an intent without a final result */
	DK_PROP_DISPATCHED,  /* the provider accepted it */
	DK_PROP_FAILED,      /* a final failure was recorded */
};

struct dk_proposal {
	char id[72];
	char run[72];
	char step[128];
	char action[128];
	char hash[65]; /* the proposal record's hash: what approvers sign */
	uint64_t seq;
	int64_t expires_at;
	enum dk_proposal_state state;
	json_t *body; /* the proposal record's body */
	json_t
	    *approvals; /* approval records: [{seq, hash, at, actor, body}] */
	json_t *dispatches; /* dispatch.* records, oldest first */
	json_t *decision;   /* the proposal.approved/rejected/expired record */
};

int dk_proposal_load(struct dk_proposal **out, struct dk_ledger *l,
                     const char *id);
/*
 * The same, reading only the records at the given seqs: the proposal
 * record at seq, then the later records that name it, oldest first (as
 * the status index lists them). Each is checked to be what it should be;
 * DK_ERROR "stale index" otherwise.
 */
int dk_proposal_load_seqs(struct dk_proposal **out, struct dk_ledger *l,
                          const char *id, uint64_t seq, const uint64_t *later,
                          size_t n);
void dk_proposal_free(struct dk_proposal *p);
const char *dk_proposal_state_name(enum dk_proposal_state s);

/* Pending proposals past their expiry at `now` count as expired. */
int dk_proposal_is_expired(const struct dk_proposal *p, int64_t now);

#endif
