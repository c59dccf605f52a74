#ifndef DK_DISPATCH_H
#define DK_DISPATCH_H

#include <jansson.h>
#include <stddef.h>

#include "ledger.h"

/*
 * Dispatch: send approved provider actions exactly once, then continue
 * the runs that paused on them (docs/dispatch.md).
 *
 * For each proposal: a per-proposal lock (flock on
 * GITDIR/docket/dispatch/ID.lock) keeps two processes on one machine
 * from sending it at once; its state is read from the ledger; a
 * dispatch.intent record is appended under the ledger lock, refused if
 * any record about the proposal appeared since its state was read
 * (compare-and-swap), before the first byte is sent; every retry sends
 * a byte-identical request with the proposal's idempotency key; a
 * dispatch.result record follows. An intent without a result (a crash)
 * is sent again with the same key. Secrets come from the environment at
 * send time and are masked in everything recorded or returned.
 *
 * Ownership: the report and its items are the caller's; free them with
 * dk_dispatch_report_dispose().
 */

struct dk_dispatch_opts {
	const char *actor;    /* recorded as the records' actor */
	int dry_run;          /* format the requests; send and record nothing */
	size_t max_in_flight; /* concurrent requests (0 = 1) */
	const char *ca_file;  /* PEM trust anchors instead of the system's */
	int no_continue;      /* leave runs paused after dispatch */
};

enum dk_dispatch_status {
	DK_DISPATCH_SENT = 0,  /* sent now: see outcome */
	DK_DISPATCH_DONE,      /* a final result was recorded earlier */
	DK_DISPATCH_NOT_READY, /* pending, rejected or expired: never sent */
	DK_DISPATCH_BUSY,      /* another process is dispatching it */
	DK_DISPATCH_DEFERRED,  /* breaker open, earlier attempt unresolved */
	DK_DISPATCH_DRY_RUN,   /* request formatted, nothing sent */
	DK_DISPATCH_ERROR,     /* could not be sent (see error) */
	DK_DISPATCH_CHANGED,   /* a record about it appeared meanwhile
	                          (a rejection, say): not sent */
};

struct dk_dispatch_item {
	char proposal[72];
	char run[72];
	char action[128];
	char state[16]; /* the proposal's state before this dispatch */
	enum dk_dispatch_status status;
	char outcome[24];  /* succeeded refused failed idempotency_error
	                      skipped retryable, when a result was recorded */
	long http_status;  /* 0 when none */
	unsigned attempts; /* HTTP attempts made now */
	unsigned attempt;  /* dispatch attempt number (intents so far) */
	char idempotency_key[80];
	char request_hash[65];
	json_t *recorded;   /* fields kept from the response */
	char *request;      /* --dry-run: the request, secrets masked */
	char fallback[128]; /* fallback action run, if any */
	char fallback_outcome[24];
	char run_status[24]; /* how the continued run stopped; "" when not */
	char next_proposal[72];
	int continue_failed; /* the result is recorded, the run did not go on */
	char error[512];
};

struct dk_dispatch_report {
	struct dk_dispatch_item *items;
	size_t n;
};

/*
 * Dispatch the proposals named in ids (nids > 0), or, with nids == 0,
 * every proposal that is ready: approved and not sent, sent without a
 * result, skipped with a fallback not yet sent, or dispatched with its
 * run not yet continued. Proposals that a continued run creates and
 * approves automatically are dispatched in the same call. 0 when every
 * proposal was handled (see each item: a provider refusal is an item
 * outcome, not an error); a negative code when the ledger failed.
 */
int dk_dispatch(struct dk_dispatch_report *out, struct dk_ledger *l,
                const char *const *ids, size_t nids,
                const struct dk_dispatch_opts *opts);
void dk_dispatch_report_dispose(struct dk_dispatch_report *r);
const char *dk_dispatch_status_name(enum dk_dispatch_status s);

/*
 * What a dispatch.result record keeps of a provider's response (semi-
 * private; the HTTP fuzz target calls it): the action's `record` fields,
 * looked up in the JSON body or, for a plain name, in X-NAME/NAME
 * headers; and the provider's ids (body "id", "OBJ.id", X-Message-Id,
 * X-Request-Id, Request-Id). Both new objects, never NULL.
 */
struct dk_action;
struct dk_http_response;
void dk_dispatch__response_fields(json_t **recorded, json_t **ids,
                                  const struct dk_action *a,
                                  const struct dk_http_response *resp);

#endif
