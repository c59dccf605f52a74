#include "verify-policy.h"
#include "approval.h"
#include "error.h"
#include "policy.h"
#include "sshsig.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct dk_verify_policy {
	struct dk_allowed_signers *trust;
	char ledger_id[65];
	json_t *policy;
	json_t *proposals; /* id -> {hash, body, votes, approvals, decided} */
	json_t *runs;      /* run -> starter */
	json_t *escalated; /* run -> the action its run.escalated named */
	size_t sigs;
	double sig_ms;
	/* the keys of the policy in force, parsed once */
	struct {
		char name[72];
		dk_sshkey *key;
	} keys[64];
	size_t nkeys;
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void keys_clear(struct dk_verify_policy *vp)
{
	while (vp->nkeys)
		dk_sshkey_free(vp->keys[--vp->nkeys].key);
}

/* The principal's key in the policy in force, cached (NULL: not cached). */
static const dk_sshkey *key_of(struct dk_verify_policy *vp, const char *name)
{
	json_t *p;
	dk_sshkey *k = NULL;
	size_t i;

	for (i = 0; i < vp->nkeys; i++)
		if (!strcmp(vp->keys[i].name, name))
			return vp->keys[i].key;
	p = dk_policy_principal(vp->policy, name);
	if (!p || vp->nkeys == sizeof(vp->keys) / sizeof(vp->keys[0]) ||
	    strlen(name) >= sizeof(vp->keys[0].name) ||
	    dk_sshkey_parse(&k, str(p, "key")) < 0)
		return NULL;
	snprintf(vp->keys[vp->nkeys].name, sizeof(vp->keys[0].name), "%s",
	         name);
	vp->keys[vp->nkeys++].key = k;
	return k;
}

double dk_verify__policy_signature_ms(const struct dk_verify_policy *vp)
{
	return vp->sig_ms;
}

int dk_verify__policy_new(struct dk_verify_policy **out, const char *trust)
{
	struct dk_verify_policy *vp = calloc(1, sizeof(*vp));
	int rc;

	*out = NULL;
	if (!vp)
		return dk_error_set(DK_ERROR, "out of memory");
	if (trust && (rc = dk_allowed_signers_load(&vp->trust, trust)) < 0) {
		free(vp);
		return rc;
	}
	vp->proposals = json_object();
	vp->runs = json_object();
	vp->escalated = json_object();
	*out = vp;
	return 0;
}

void dk_verify__policy_free(struct dk_verify_policy *vp)
{
	if (!vp)
		return;
	dk_allowed_signers_free(vp->trust);
	keys_clear(vp);
	json_decref(vp->policy);
	json_decref(vp->proposals);
	json_decref(vp->runs);
	json_decref(vp->escalated);
	free(vp);
}

size_t dk_verify__policy_signatures(const struct dk_verify_policy *vp)
{
	return vp->sigs;
}

static int tampered(const char *what)
{
	char why[600];

	snprintf(why, sizeof(why), "%s", dk_error_last());
	return dk_error_set(DK_ETAMPERED, "%s: %s", what, why);
}

static int approval(struct dk_verify_policy *vp, const struct dk_record *r)
{
	const json_t *b = r->body;
	json_t *p = json_object_get(vp->proposals, str(b, "proposal"));
	json_t *pb = json_object_get(p, "body");
	int64_t at = 0;

	if (!p)
		return dk_error_set(
		    DK_ETAMPERED,
		    "approval of a proposal the ledger does not "
		    "hold before it (wrp://%s)",
		    str(b, "proposal"));
	if (strcmp(str(b, "proposal_hash"), str(p, "hash")))
		return dk_error_set(
		    DK_ETAMPERED,
		    "approval names proposal hash %.16s..., but "
		    "the proposal record hashes to %.16s...",
		    str(b, "proposal_hash"), str(p, "hash"));
	if (json_is_true(json_object_get(p, "decided")))
		return dk_error_set(DK_ETAMPERED,
		                    "approval of wrp://%s after it was decided",
		                    str(b, "proposal"));
	if (strcmp(str(b, "decision"), "approve") &&
	    strcmp(str(b, "decision"), "deny"))
		return dk_error_set(DK_ETAMPERED, "approval decision '%s'",
		                    str(b, "decision"));
	if (strcmp(str(b, "role"),
	           str(json_object_get(pb, "requires"), "role")))
		return dk_error_set(DK_ETAMPERED,
		                    "approval role '%s' is not the role the "
		                    "rule requires",
		                    str(b, "role"));
	vp->sigs++;
	{
		double t0 = dk_mono_ms();
		int rc = dk_approval_check_signature(
		    vp->policy, b, vp->ledger_id,
		    key_of(vp, str(b, "principal")));

		vp->sig_ms += dk_mono_ms() - t0;
		if (rc < 0)
			return tampered("approval signature");
	}
	dk_parse_time(&at, r->at);
	if (dk_approval_judge(vp->policy, pb,
	                      str(vp->runs, str(pb, "run"))
	                          ? json_string_value(json_object_get(
	                                vp->runs, str(pb, "run")))
	                          : NULL,
	                      json_object_get(p, "votes"), str(b, "principal"),
	                      at) < 0)
		return tampered("approval breaks the rules");
	json_array_append(json_object_get(p, "votes"), (json_t *)b);
	json_object_set_new(json_object_get(p, "approvals"), r->hash,
	                    json_pack("{s:s, s:s}", "principal",
	                              str(b, "principal"), "decision",
	                              str(b, "decision")));
	return 0;
}

static int decision(struct dk_verify_policy *vp, const struct dk_record *r)
{
	const json_t *b = r->body;
	json_t *p = json_object_get(vp->proposals, str(b, "proposal"));
	json_t *pb = json_object_get(p, "body"), *req, *h, *seen;
	json_t *apps = json_object_get(p, "approvals");
	int64_t at = 0, exp = 0;
	size_t i;

	if (!p)
		return dk_error_set(DK_ETAMPERED,
		                    "%s of a proposal the ledger does not hold "
		                    "before it (wrp://%s)",
		                    r->type, str(b, "proposal"));
	if (json_is_true(json_object_get(p, "decided")))
		return dk_error_set(DK_ETAMPERED,
		                    "%s of wrp://%s, which was already decided",
		                    r->type, str(b, "proposal"));
	json_object_set_new(p, "decided", json_true());
	if (!strcmp(r->type, "proposal.approved"))
		json_object_set_new(p, "approved", json_true());
	req = json_object_get(pb, "requires");
	dk_parse_time(&at, r->at);
	dk_parse_time(&exp, str(pb, "expires_at"));
	if (!strcmp(r->type, "proposal.expired")) {
		if (at < exp)
			return dk_error_set(DK_ETAMPERED,
			                    "wrp://%s recorded expired before "
			                    "its expiry %s",
			                    str(b, "proposal"),
			                    str(pb, "expires_at"));
		return 0;
	}
	if (!strcmp(r->type, "proposal.rejected")) {
		json_t *a = json_object_get(apps, str(b, "approval"));

		if (!a || strcmp(str(a, "decision"), "deny"))
			return dk_error_set(
			    DK_ETAMPERED,
			    "wrp://%s rejected without a signed "
			    "deny",
			    str(b, "proposal"));
		return 0;
	}
	if (!strcmp(str(b, "by"), "auto")) {
		if (json_is_object(req) ||
		    strcmp(str(json_object_get(pb, "rule"), "decision"),
		           "auto"))
			return dk_error_set(
			    DK_ETAMPERED,
			    "wrp://%s approved automatically, but "
			    "its rule requires approvals",
			    str(b, "proposal"));
		return 0;
	}
	if (!strcmp(str(b, "by"), "escalation")) {
		/* the workflow's escalate section, not a rule, approves the
		 * action a run.escalated of the same run named */
		const char *want = json_string_value(
		    json_object_get(vp->escalated, str(pb, "run")));

		if (strcmp(str(pb, "step"), "escalate") || !want ||
		    strcmp(want, str(pb, "action")))
			return dk_error_set(
			    DK_ETAMPERED,
			    "wrp://%s approved as an escalation, but its "
			    "run escalated to no such action",
			    str(b, "proposal"));
		return 0;
	}
	if (!json_is_object(req))
		return dk_error_set(
		    DK_ETAMPERED,
		    "wrp://%s approved by approvals it does not "
		    "need",
		    str(b, "proposal"));
	seen = json_object();
	json_array_foreach(json_object_get(b, "approvals"), i, h)
	{
		json_t *a = json_object_get(apps, json_string_value(h));

		if (!a || strcmp(str(a, "decision"), "approve") ||
		    json_object_get(seen, str(a, "principal"))) {
			json_decref(seen);
			return dk_error_set(
			    DK_ETAMPERED,
			    "wrp://%s approved with approval %.16s... "
			    "that is not a distinct signed approval "
			    "of it",
			    str(b, "proposal"),
			    json_string_value(h) ? json_string_value(h) : "?");
		}
		json_object_set_new(seen, str(a, "principal"), json_true());
	}
	i = json_object_size(seen);
	json_decref(seen);
	if ((json_int_t)i < json_integer_value(json_object_get(req, "count")))
		return dk_error_set(
		    DK_ETAMPERED,
		    "wrp://%s approved with %zu approval(s); its "
		    "rule requires %lld",
		    str(b, "proposal"), i,
		    (long long)json_integer_value(
		        json_object_get(req, "count")));
	return 0;
}

/* Only approved proposals are sent, and a success is never sent again. */
static int dispatch(struct dk_verify_policy *vp, const struct dk_record *r)
{
	const json_t *b = r->body;
	json_t *p = json_object_get(vp->proposals, str(b, "proposal"));

	if (!p || !json_is_true(json_object_get(p, "approved")))
		return dk_error_set(DK_ETAMPERED,
		                    "%s for wrp://%s, which was not approved "
		                    "before it",
		                    r->type, str(b, "proposal"));
	if (json_is_true(json_object_get(p, "sent")))
		return dk_error_set(DK_ETAMPERED,
		                    "%s for wrp://%s after it was dispatched "
		                    "successfully (double dispatch)",
		                    r->type, str(b, "proposal"));
	if (!strcmp(r->type, "dispatch.result") &&
	    !strcmp(str(b, "outcome"), "succeeded"))
		json_object_set_new(p, "sent", json_true());
	return 0;
}

int dk_verify__policy_record(struct dk_verify_policy *vp,
                             const struct dk_record *r)
{
	const char *t = r->type;
	const json_t *b = r->body;

	if (!strcmp(t, "genesis")) {
		if (vp->policy || r->seq != 0)
			return dk_error_set(DK_ETAMPERED,
			                    "genesis: a second genesis record "
			                    "at seq %llu",
			                    (unsigned long long)r->seq);
		snprintf(vp->ledger_id, sizeof(vp->ledger_id), "%s",
		         str(b, "ledger_id"));
		vp->policy = json_incref(json_object_get(b, "policy"));
		if (dk_policy_validate(vp->policy) < 0)
			return tampered("genesis policy");
		if (vp->trust &&
		    dk_policy_check_trust(vp->policy, vp->trust) < 0)
			return tampered("trust");
		return 0;
	}
	if (!vp->policy)
		return 0;
	if (!strcmp(t, "policy.update")) {
		double t0 = dk_mono_ms();
		int rc;

		vp->sigs += json_array_size(json_object_get(b, "signatures"));
		rc = dk_policy_check_update(vp->policy, b, vp->ledger_id);
		vp->sig_ms += dk_mono_ms() - t0;
		if (rc < 0)
			return tampered("policy update");
		json_decref(vp->policy);
		vp->policy = json_incref(json_object_get(b, "policy"));
		keys_clear(vp);
		return 0;
	}
	if (!strcmp(t, "run.escalated")) {
		if (json_is_string(json_object_get(b, "action")))
			json_object_set(vp->escalated, str(b, "run"),
			                json_object_get(b, "action"));
		return 0;
	}
	if (!strcmp(t, "run.started")) {
		json_object_set_new(vp->runs, str(b, "run"),
		                    json_string(r->actor));
		return 0;
	}
	if (!strcmp(t, "proposal")) {
		/* as dk_proposal_load: the newest record of an id counts */
		json_object_set_new(
		    vp->proposals, str(b, "proposal"),
		    json_pack("{s:s, s:O, s:[], s:{}, s:b}", "hash", r->hash,
		              "body", b, "votes", "approvals", "decided", 0));
		return 0;
	}
	if (!strcmp(t, "approval"))
		return approval(vp, r);
	if (!strcmp(t, "dispatch.intent") || !strcmp(t, "dispatch.result"))
		return dispatch(vp, r);
	if (!strcmp(t, "proposal.approved") ||
	    !strcmp(t, "proposal.rejected") || !strcmp(t, "proposal.expired"))
		return decision(vp, r);
	return 0;
}
