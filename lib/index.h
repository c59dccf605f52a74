#ifndef DK_INDEX_H
#define DK_INDEX_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"

/*
 * The status index: a summary of the ledger's proposals, runs and policy
 * versions, derived from the records and kept beside the ledger in
 * GITDIR/docket/index/status.json (outside git). It names the head it was
 * built at (seq and hash); when that record is no longer in the ledger
 * (rewritten, or another ledger) or the file is missing or unreadable, it
 * is rebuilt from the records; otherwise only the records after that head
 * are read. It is a cache: `docket verify` never reads it, and commands
 * use it only to find records by seq, which they then read and check.
 *
 *   {"v": 1, "ledger_id": ID, "head_seq": N, "head_hash": HASH,
 *    "policy": [SEQ, ...],            genesis and policy.update records
 *    "runs": {RUN: {"seq", "actor", "workflow", "state", "at",
 *                   "paused": {"proposal", "waiting", "step"} | null}},
 *    "proposals": {ID: {"seq", "run", "step", "action", "risk",
 *                       "proposer", "at", "expires_at", "rule",
 *                       "requires", "state", "approvals": [NAME, ...],
 *                       "starter", "records": [SEQ, ...]}}}
 *
 * Only work in progress is kept: a proposal leaves the index when it is
 * rejected, expired, dispatched or failed, and a run when it finishes, so
 * the index's size follows what is pending, not the ledger's size. Look
 * finished things up in the records (dk_proposal_load, dk_run_records).
 *
 * Ownership: the index owns its JSON; dk_index_json returns a borrowed
 * reference valid until the next update or dk_index_free.
 */

struct dk_index;

/* Load the index (rebuilding it when needed) and bring it to the head. */
int dk_index_open(struct dk_index **out, struct dk_ledger *l);
/* Read the records appended since the index's head; saves when changed. */
int dk_index_update(struct dk_index *ix);
void dk_index_free(struct dk_index *ix);
json_t *dk_index_json(const struct dk_index *ix);
/* Whether the last open rebuilt from scratch (for benchmarks). */
int dk_index_rebuilt(const struct dk_index *ix);

/* The entry of a pending, approved or sending proposal (borrowed) or NULL.
 * Accepts a wrp:// handle. */
json_t *dk_index_proposal(const struct dk_index *ix, const char *id);
/* The entry of an unfinished run (borrowed) or NULL. */
json_t *dk_index_run(const struct dk_index *ix, const char *run);
/* The seq of the record holding the policy in force. */
uint64_t dk_index_policy_seq(const struct dk_index *ix);

#endif
