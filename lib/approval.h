#ifndef DK_APPROVAL_H
#define DK_APPROVAL_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"
#include "proposal.h"
#include "sshsig.h"

/*
 * Signed approvals and denials of proposals (docs/approvals.md).
 *
 * An approver signs, in the SSHSIG namespace DK_SSHSIG_NS_APPROVAL, the
 * message of dk_approval_message, which binds the ledger, the proposal,
 * the proposal record's hash, the decision, the principal and the time.
 * The `approval` record carries the signature and the exact message.
 * When a proposal's rule is met a `proposal.approved` record follows; a
 * deny is followed by `proposal.rejected`; a pending proposal touched
 * after its expiry gets `proposal.expired`. Every decision is re-checked
 * under the ledger lock (dk_ledger_append's check), so concurrent
 * approvers and an expiry cannot produce a decision the rules forbid.
 *
 * Ownership: a struct dk_approval owns what it holds; free it with
 * dk_approval_free. json_t values it exposes are borrowed.
 */

/* "docket approval v1\nledger ID\nproposal P\nproposal-hash H\n"
 * "decision D\nprincipal NAME\nsigned-at T\n" (caller frees). */
int dk_approval_message(char **out, const char *ledger_id, const char *proposal,
                        const char *proposal_hash, const char *decision,
                        const char *principal, const char *signed_at);

/*
 * Whether `principal` may cast `decision` on a proposal, by the rules:
 * the principal is in the policy and has the required role; it is
 * neither the proposer nor the run's starter (unless allowed); it has
 * not voted; the proposal needs approvals and is not expired at `now`.
 * votes: the approval bodies recorded so far. 0 or DK_EREFUSED.
 */
int dk_approval_judge(const json_t *policy, const json_t *proposal_body,
                      const char *starter, const json_t *votes,
                      const char *principal, int64_t now);

/*
 * Check an approval body as `verify` does: the message rebuilds byte for
 * byte from the fields, and the signature verifies with the principal's
 * key in policy (known, when the caller already parsed it, else NULL).
 * 0 or DK_EREFUSED/DK_EINVALID naming what failed.
 */
int dk_approval_check_signature(const json_t *policy, const json_t *body,
                                const char *ledger_id, const dk_sshkey *known);

struct dk_approval_req {
	const char *proposal; /* id or wrp:// handle */
	const char *keypath;  /* private key, or a .pub held by ssh-agent */
	const char *as;       /* principal; NULL: found by key */
	int deny;
	const char *reason;
	const char *actor; /* record actor; default the principal */
};

struct dk_approval;

/*
 * Load the proposal, the policy in force and the principal, and check
 * everything that can be checked before signing. A pending proposal
 * found expired is recorded as expired and refused; one whose approvals
 * already meet its rule (an interrupted approve) gets its decision.
 * Errors: DK_ENOTFOUND (no such proposal), DK_EREFUSED (with the reason).
 */
int dk_approval_prepare(struct dk_approval **out, struct dk_ledger *l,
                        const struct dk_approval_req *req);
/* What is being decided (borrowed from a). */
const struct dk_proposal *dk_approval_proposal(const struct dk_approval *a);
const char *dk_approval_principal(const struct dk_approval *a);
const char *dk_approval_role(const struct dk_approval *a);

struct dk_approval_result {
	uint64_t seq; /* the approval record */
	char hash[65];
	enum dk_proposal_state state; /* after any decision record */
	uint64_t decision_seq;        /* 0 when no decision followed */
	int received, required;       /* distinct approvals */
};

/* Sign and append the approval, then the decision when one is due. */
int dk_approval_commit(struct dk_approval_result *out, struct dk_approval *a);
void dk_approval_free(struct dk_approval *a);

/*
 * Record the decision a pending proposal is due (expired, rejected or
 * approved), re-checked under the lock. *state receives the state after.
 */
int dk_approval_settle(enum dk_proposal_state *state, uint64_t *seq,
                       struct dk_ledger *l, const char *proposal);

#endif
