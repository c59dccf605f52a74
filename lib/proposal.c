#include "proposal.h"
#include "error.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *dk_proposal_state_name(enum dk_proposal_state s)
{
	static const char *const names[] = { "pending",	 "approved",
					     "rejected", "expired",
					     "sending",	 "dispatched",
					     "failed" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s]
							     : "unknown";
}

void dk_proposal_free(struct dk_proposal *p)
{
	if (!p)
		return;
	json_decref(p->body);
	json_decref(p->approvals);
	json_decref(p->dispatches);
	json_decref(p->decision);
	free(p);
}

int dk_proposal_is_expired(const struct dk_proposal *p, int64_t now)
{
	return p->state == DK_PROP_EXPIRED ||
	       (p->state == DK_PROP_PENDING && now >= p->expires_at);
}

struct scan {
	const char *id;
	struct dk_proposal *p;
	json_t *later; /* records naming the proposal, newest first */
};

static int scan_cb(const struct dk_record *r, void *payload)
{
	struct scan *s = payload;
	const char *pid =
		json_string_value(json_object_get(r->body, "proposal"));

	if (!pid || strcmp(pid, s->id))
		return 0;
	if (!strcmp(r->type, "proposal")) {
		struct dk_proposal *p = s->p;

		p->seq = r->seq;
		memcpy(p->hash, r->hash, 65);
		p->body = json_incref(r->body);
		return 1;
	}
	json_array_insert_new(s->later, 0,
			      json_pack("{s:I, s:s, s:s, s:s, s:s, s:O}",
					"seq", (json_int_t)r->seq, "hash",
					r->hash, "type", r->type, "at", r->at,
					"actor", r->actor, "body", r->body));
	return 0;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

int dk_proposal_load(struct dk_proposal **out, struct dk_ledger *l,
		     const char *id)
{
	struct scan s = { id, calloc(1, sizeof(struct dk_proposal)),
			  json_array() };
	struct dk_proposal *p = s.p;
	json_t *rec;
	size_t i;
	int rc;

	*out = NULL;
	if (!p)
		return dk_error_set(DK_ERROR, "out of memory");
	rc = dk_ledger_foreach_reverse(l, scan_cb, &s);
	if (rc < 0 || !p->body) {
		json_decref(s.later);
		dk_proposal_free(p);
		return rc < 0 ? rc
			      : dk_error_set(DK_ENOTFOUND,
					     "no proposal wrp://%s in this "
					     "ledger",
					     id);
	}
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->run, sizeof(p->run), "%s", str(p->body, "run"));
	snprintf(p->step, sizeof(p->step), "%s", str(p->body, "step"));
	snprintf(p->action, sizeof(p->action), "%s", str(p->body, "action"));
	if (dk_parse_time(&p->expires_at, str(p->body, "expires_at")) < 0)
		p->expires_at = 0;
	p->approvals = json_array();
	p->dispatches = json_array();
	p->state = DK_PROP_PENDING;
	json_array_foreach(s.later, i, rec)
	{
		const char *type = str(rec, "type");
		json_t *b = json_object_get(rec, "body");

		if (!strcmp(type, "approval")) {
			json_array_append(p->approvals, rec);
		} else if (!strcmp(type, "proposal.approved")) {
			p->state = DK_PROP_APPROVED;
			json_decref(p->decision);
			p->decision = json_incref(rec);
		} else if (!strcmp(type, "proposal.rejected")) {
			p->state = DK_PROP_REJECTED;
			json_decref(p->decision);
			p->decision = json_incref(rec);
		} else if (!strcmp(type, "proposal.expired")) {
			p->state = DK_PROP_EXPIRED;
			json_decref(p->decision);
			p->decision = json_incref(rec);
		} else if (!strcmp(type, "dispatch.intent")) {
			json_array_append(p->dispatches, rec);
			if (p->state != DK_PROP_DISPATCHED)
				p->state = DK_PROP_SENDING;
		} else if (!strcmp(type, "dispatch.result")) {
			const char *o = str(b, "outcome");

			json_array_append(p->dispatches, rec);
			if (!strcmp(o, "succeeded"))
				p->state = DK_PROP_DISPATCHED;
			else if (!strcmp(o, "refused") ||
				 !strcmp(o, "failed") ||
				 !strcmp(o, "idempotency_error") ||
				 !strcmp(o, "skipped"))
				p->state = DK_PROP_FAILED;
			else
				p->state = DK_PROP_APPROVED; /* retryable */
		}
	}
	json_decref(s.later);
	*out = p;
	return 0;
}
