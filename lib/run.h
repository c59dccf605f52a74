#ifndef DK_RUN_H
#define DK_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"
#include "workflow.h"

/*
 * Running a workflow: one run.started record, then one record per step
 * (every step is a checkpoint), then run.finished, or run.paused at an
 * action that needs approval. See ledger/FORMAT.md for the record bodies.
 *
 * Values a workflow redacts never reach the ledger. The run's full values
 * (session, input, step outputs), which later steps and the continuation
 * after dispatch need, are kept in a private state file beside the ledger,
 * outside git: GITDIR/docket/runs/RUN.json, mode 0600. Records carry
 * salted SHA-256 digests of the full values, so an operator can later
 * prove what a redacted field held.
 *
 * Ownership: json_t arguments are borrowed; results are the caller's.
 */

enum dk_run_status {
	DK_RUN_COMPLETED = 0,
	DK_RUN_PAUSED,    /* waiting for approval or dispatch of a proposal */
	DK_RUN_ESCALATED, /* an escalate condition held */
	DK_RUN_BUDGET,    /* stopped by its budget */
	DK_RUN_FAILED,    /* a step failed */
	DK_RUN_REFUSED,   /* an action was denied by a rule */
};

struct dk_run_result {
	char run[72];
	enum dk_run_status status;
	char step[128];    /* where it stopped (failed, paused, refused) */
	char proposal[72]; /* when paused */
	char waiting[16];  /* "approval" or "dispatch" when paused */
	char reason[512];  /* why it stopped, when not completed */
	size_t steps_recorded;
	uint64_t started_seq;
	uint64_t last_seq;
};

struct dk_run_opts {
	const char *actor; /* recorded as the proposer and record actor */
};

/*
 * Start a run and execute its steps until it completes or stops. 0 when
 * the run was recorded, whatever its status (see res); DK_EINVALID when
 * the session or input is refused (nothing appended); other codes when
 * the ledger or the state file fails.
 */
int dk_run_start(struct dk_run_result *res, struct dk_ledger *l,
                 const struct dk_workflow *wf, const json_t *session,
                 const json_t *input, const struct dk_run_opts *opts);

/*
 * Continue a run from its first step without a record. The workflow must
 * be the one the run started with (same workflow_hash).
 */
int dk_run_resume(struct dk_run_result *res, struct dk_ledger *l,
                  const struct dk_workflow *wf, const char *run,
                  const struct dk_run_opts *opts);

/*
 * Every record of a run, oldest first: an array of {seq, hash, type, at,
 * actor, body}. Reading back from the head to the run's start, each
 * record's hash is checked against its successor's prev; *checked (may
 * be NULL) receives how many were. DK_ENOTFOUND when the ledger has no
 * such run, DK_ETAMPERED when a link does not hold.
 */
int dk_run_records(json_t **out, size_t *checked, struct dk_ledger *l,
                   const char *run);

struct dk_run_proposal {
	char proposal[32]; /* the proposal's id */
	char rule[128];    /* the rule that decided */
	int automatic;     /* an auto rule approved it at once */
	uint64_t seq;      /* the last record appended */
};

/*
 * `docket propose`: propose action with args (full values) in a run, by
 * the same code path as a paused action step: the action must be on the
 * workflow's allow-list, args must satisfy its contract, the approval
 * rules see the run's session, input and step outputs. A deny rule (or
 * no rule) refuses with DK_EREFUSED naming the rule; nothing is appended.
 * The workflow must be the one the run started with.
 */
int dk_run_propose(struct dk_run_proposal *out, struct dk_ledger *l,
                   const struct dk_workflow *wf, const char *run,
                   const char *action, const json_t *args, const char *reason,
                   const struct dk_run_opts *opts);

/* In: a proposal id in run; out: the id of the run that proposed it. */
int dk_run_of_proposal(char *run, size_t runsz, struct dk_ledger *l);

/* The workflow file a run was started from (caller frees). */
int dk_run_workflow_file(char **out, struct dk_ledger *l, const char *run);

const char *dk_run_status_name(enum dk_run_status s);

/* A content-derived proposal id and idempotency key (hex, NUL-ended). */
void dk_proposal_id(char out[32], const char *ledger_id, const char *run,
                    const char *step, const char *action, const json_t *args);
void dk_idempotency_key(char out[48], const char *ledger_id, const char *run,
                        const char *action, const json_t *args);

/*
 * For lib/dispatch: the run's private state (see above), as stored:
 * {run, salt, session, input, steps, pending, hidden, ...}.
 */
int dk_run_private(json_t **out, struct dk_ledger *l, const char *run);

/*
 * Continue a run that paused on `proposal` once the proposal's dispatch
 * reached a final result. With `failure` NULL the action step is
 * recorded as ok with `output` (what the provider returned) and the run
 * goes on to its end or its next gate; otherwise the step is recorded as
 * failed with that reason and the run finishes as failed (or escalated
 * when `escalated`). Returns 0 when the run went on (res says how it
 * stopped), 1 when there was nothing to continue (the run finished or
 * went past this proposal already), or a negative code. A continuation
 * interrupted by a crash is finished by calling this again.
 */
int dk_run_continue(struct dk_run_result *res, struct dk_ledger *l,
                    const struct dk_workflow *wf, const char *run,
                    const char *proposal, const json_t *output,
                    const char *failure, int escalated,
                    const struct dk_run_opts *opts);

/*
 * For lib/dispatch: the full arguments of the escalation action a run
 * recorded (`escalated` is the run.escalated body, which holds only their
 * redacted form), evaluated again from the run's private state; refused
 * (DK_ECONFLICT) unless, redacted, they equal the recorded ones.
 */
int dk_run_escalation_args(json_t **out, struct dk_ledger *l,
                           const struct dk_workflow *wf, const char *run,
                           const json_t *escalated);
/* Keep a proposal's full arguments in the run's private state. */
int dk_run_keep_pending(struct dk_ledger *l, const struct dk_workflow *wf,
                        const char *run, const char *proposal,
                        const json_t *args);

#endif
