#ifndef DK_VERIFY_POLICY_H
#define DK_VERIFY_POLICY_H

#include "ledger.h"

/*
 * The policy half of `docket verify` (semi-private, called from
 * verify.c for every record, oldest first): the genesis policy checks
 * against the auditor's trust file; every policy.update is signed by
 * enough admins of the policy it replaces; every approval's signature
 * checks with the principal's key in the policy in force at its seq and
 * the rules held (role, not the proposer or the run's starter, one vote
 * each, not after the decision or the expiry); every decision record
 * follows from the approvals it names; dispatch records name approved
 * proposals, and none follows a successful dispatch. The status index is
 * never read.
 */
struct dk_verify_policy;

/* trust: an allowed_signers file, or NULL. */
int dk_verify__policy_new(struct dk_verify_policy **out, const char *trust);
/* 0, or DK_ETAMPERED with the reason (dk_error_last). */
int dk_verify__policy_record(struct dk_verify_policy *vp,
                             const struct dk_record *rec);
/* Signatures checked so far. */
size_t dk_verify__policy_signatures(const struct dk_verify_policy *vp);
/* Milliseconds spent checking them. */
double dk_verify__policy_signature_ms(const struct dk_verify_policy *vp);
void dk_verify__policy_free(struct dk_verify_policy *vp);

#endif
