#include "proposal.h"
#include "error.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *dk_proposal_state_name(enum dk_proposal_state s)
{
	static const char *const names[] = { "pending",  "approved",
		                             "rejected", "expired",
		                             "sending",  "dispatched",
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
	                      json_pack("{s:I, s:s, s:s, s:s, s:s, s:O}", "seq",
	                                (json_int_t)r->seq, "hash", r->hash,
	                                "type", r->type, "at", r->at, "actor",
	                                r->actor, "body", r->body));
	return 0;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Fill p from its proposal record's body and the later records. */
static void derive(struct dk_proposal *p, const char *id, json_t *later)
{
	json_t *rec;
	size_t i;

	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->run, sizeof(p->run), "%s", str(p->body, "run"));
	snprintf(p->step, sizeof(p->step), "%s", str(p->body, "step"));
	snprintf(p->action, sizeof(p->action), "%s", str(p->body, "action"));
	if (dk_parse_time(&p->expires_at, str(p->body, "expires_at")) < 0)
		p->expires_at = 0;
	p->approvals = json_array();
	p->dispatches = json_array();
	p->state = DK_PROP_PENDING;
	json_array_foreach(later, i, rec)
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
}

static const char *strip_handle(const char *id)
{
	return strncmp(id, "wrp://", 6) ? id : id + 6;
}

int dk_proposal_load(struct dk_proposal **out, struct dk_ledger *l,
                     const char *id)
{
	struct scan s = { strip_handle(id),
		          calloc(1, sizeof(struct dk_proposal)), json_array() };
	struct dk_proposal *p = s.p;
	int rc;

	*out = NULL;
	id = s.id;
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
	derive(p, id, s.later);
	json_decref(s.later);
	*out = p;
	return 0;
}

int dk_proposal_load_seqs(struct dk_proposal **out, struct dk_ledger *l,
                          const char *id, uint64_t seq, const uint64_t *later,
                          size_t n)
{
	struct scan s = { strip_handle(id),
		          calloc(1, sizeof(struct dk_proposal)), json_array() };
	struct dk_proposal *p = s.p;
	struct dk_record *r = NULL;
	size_t i;
	int rc;

	*out = NULL;
	id = s.id;
	if (!p) {
		json_decref(s.later);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	if ((rc = dk_ledger_read(&r, l, seq)) < 0)
		goto fail;
	if (strcmp(r->type, "proposal") || !scan_cb(r, &s)) {
		rc = dk_error_set(DK_ERROR,
		                  "record %llu is not proposal wrp://%s "
		                  "(stale index)",
		                  (unsigned long long)seq, id);
		goto fail;
	}
	dk_record_free(r);
	r = NULL;
	for (i = 0; i < n; i++) {
		size_t before = json_array_size(s.later);

		if ((rc = dk_ledger_read(&r, l, later[i])) < 0)
			goto fail;
		scan_cb(r, &s);
		if (json_array_size(s.later) != before + 1) {
			rc = dk_error_set(DK_ERROR,
			                  "record %llu does not name "
			                  "proposal wrp://%s (stale index)",
			                  (unsigned long long)later[i], id);
			goto fail;
		}
		/* scan_cb prepends (it reads newest first); keep order */
		json_array_append(s.later, json_array_get(s.later, 0));
		json_array_remove(s.later, 0);
		dk_record_free(r);
		r = NULL;
	}
	derive(p, id, s.later);
	json_decref(s.later);
	*out = p;
	return 0;
fail:
	dk_record_free(r);
	json_decref(s.later);
	dk_proposal_free(p);
	return rc;
}
