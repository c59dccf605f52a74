#include "approval.h"
#include "error.h"
#include "index.h"
#include "policy.h"
#include "run.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dk_approval {
	struct dk_ledger *l;
	struct dk_index *ix;
	struct dk_proposal *p;
	json_t *policy;
	uint64_t policy_seq;
	char principal[72];
	char role[72];
	char starter[128];
	char *keypath;
	char *reason;
	char *actor;
	int deny;
	int expired; /* the append check found the proposal expired */
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

int dk_approval_message(char **out, const char *ledger_id, const char *proposal,
                        const char *proposal_hash, const char *decision,
                        const char *principal, const char *signed_at)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
	                 "docket approval v1\nledger %s\nproposal %s\n"
	                 "proposal-hash %s\ndecision %s\nprincipal %s\n"
	                 "signed-at %s\n",
	                 ledger_id, proposal, proposal_hash, decision,
	                 principal, signed_at);

	*out = NULL;
	if (n < 0 || (size_t)n >= sizeof(buf) || strchr(proposal, '\n') ||
	    strchr(principal, '\n') || strchr(decision, '\n') ||
	    strchr(signed_at, '\n'))
		return dk_error_set(DK_EINVALID, "bad approval message fields");
	*out = strdup(buf);
	return *out ? 0 : dk_error_set(DK_ERROR, "out of memory");
}

int dk_approval_judge(const json_t *policy, const json_t *proposal_body,
                      const char *starter, const json_t *votes,
                      const char *principal, int64_t now)
{
	const json_t *req = json_object_get(proposal_body, "requires");
	const char *pid = str(proposal_body, "proposal");
	const char *role = str(req, "role");
	json_t *p = dk_policy_principal(policy, principal), *v;
	int64_t exp = 0;
	size_t i;

	if (!json_is_object(req))
		return dk_error_set(
		    DK_EREFUSED,
		    "wrp://%s needs no approval (rule %s "
		    "decides it automatically)",
		    pid, str(json_object_get(proposal_body, "rule"), "name"));
	if (!p)
		return dk_error_set(DK_EREFUSED,
		                    "'%s' is not a principal of the policy in "
		                    "force",
		                    principal);
	if (!dk_policy_has_role(p, role))
		return dk_error_set(
		    DK_EREFUSED,
		    "'%s' lacks the role '%s' that rule %s "
		    "requires",
		    principal, role,
		    str(json_object_get(proposal_body, "rule"), "name"));
	if (!json_is_true(json_object_get(req, "allow_proposer"))) {
		if (!strcmp(principal, str(proposal_body, "proposer")))
			return dk_error_set(
			    DK_EREFUSED,
			    "'%s' proposed wrp://%s and may not "
			    "approve it",
			    principal, pid);
		if (starter && !strcmp(principal, starter))
			return dk_error_set(DK_EREFUSED,
			                    "'%s' started run %s and may not "
			                    "approve its proposals",
			                    principal,
			                    str(proposal_body, "run"));
	}
	json_array_foreach(votes, i, v)
	{
		if (!strcmp(str(v, "principal"), principal))
			return dk_error_set(
			    DK_EREFUSED,
			    "'%s' already voted on wrp://%s (%s "
			    "at %s)",
			    principal, pid, str(v, "decision"),
			    str(v, "signed_at"));
	}
	if (dk_parse_time(&exp, str(proposal_body, "expires_at")) < 0 ||
	    now >= exp)
		return dk_error_set(DK_EREFUSED, "wrp://%s expired at %s", pid,
		                    str(proposal_body, "expires_at"));
	return 0;
}

int dk_approval_check_signature(const json_t *policy, const json_t *body,
                                const char *ledger_id, const dk_sshkey *known)
{
	const char *name = str(body, "principal");
	const char *sig = str(body, "signature");
	json_t *p = dk_policy_principal(policy, name);
	dk_sshkey *key = NULL;
	char *msg = NULL;
	int rc;

	if (!p)
		return dk_error_set(DK_EREFUSED,
		                    "'%s' is not a principal of the policy in "
		                    "force",
		                    name);
	if ((rc = dk_approval_message(&msg, ledger_id, str(body, "proposal"),
	                              str(body, "proposal_hash"),
	                              str(body, "decision"), name,
	                              str(body, "signed_at"))) < 0)
		return rc;
	if (strcmp(msg, str(body, "message"))) {
		free(msg);
		return dk_error_set(DK_EREFUSED,
		                    "the signed message does not match the "
		                    "approval's fields");
	}
	if (known || (rc = dk_sshkey_parse(&key, str(p, "key"))) == 0)
		rc = dk_sshsig_verify(sig, strlen(sig), DK_SSHSIG_NS_APPROVAL,
		                      msg, strlen(msg), known ? known : key);
	dk_sshkey_free(key);
	free(msg);
	return rc;
}

/* --- loading ------------------------------------------------------------ */

static int load_proposal(struct dk_proposal **out, struct dk_ledger *l,
                         struct dk_index *ix, const char *id)
{
	json_t *e = dk_index_proposal(ix, id), *recs, *s;
	uint64_t *seqs;
	size_t i, n;
	int rc;

	*out = NULL;
	if (!e) /* not in progress: decided, finished, or unknown */
		return dk_proposal_load(out, l, id);
	recs = json_object_get(e, "records");
	n = json_array_size(recs);
	seqs = calloc(n + 1, sizeof(*seqs));
	if (!seqs)
		return dk_error_set(DK_ERROR, "out of memory");
	json_array_foreach(recs, i, s) seqs[i] =
	    (uint64_t)json_integer_value(s);
	rc = dk_proposal_load_seqs(
	    out, l, id, (uint64_t)json_integer_value(json_object_get(e, "seq")),
	    seqs, n);
	free(seqs);
	return rc;
}

/* The approval bodies recorded for p. */
static json_t *votes_of(const struct dk_proposal *p)
{
	json_t *v = json_array(), *a;
	size_t i;

	json_array_foreach(p->approvals, i, a)
	    json_array_append(v, json_object_get(a, "body"));
	return v;
}

/* Who started the run: from the index, else from its run.started. */
static int starter_of(char *out, size_t outsz, struct dk_ledger *l,
                      struct dk_index *ix, const struct dk_proposal *p)
{
	json_t *e = dk_index_proposal(ix, p->id), *recs = NULL;
	int rc;

	if (e && json_is_string(json_object_get(e, "starter"))) {
		snprintf(out, outsz, "%s", str(e, "starter"));
		return 0;
	}
	if ((e = dk_index_run(ix, p->run))) {
		snprintf(out, outsz, "%s", str(e, "actor"));
		return 0;
	}
	rc = dk_run_records(&recs, NULL, l, p->run);
	if (rc == DK_ENOTFOUND) {
		dk_error_clear();
		out[0] = '\0';
		return 0;
	}
	if (rc < 0)
		return rc;
	snprintf(out, outsz, "%s", str(json_array_get(recs, 0), "actor"));
	json_decref(recs);
	return 0;
}

/* --- decisions ------------------------------------------------------------ */

/* The decision p is due at now: type and body, or NULL when none. */
static const char *due(json_t **body, const struct dk_proposal *p, int64_t now)
{
	json_t *req = json_object_get(p->body, "requires"), *a, *hashes, *who;
	json_int_t need = json_integer_value(json_object_get(req, "count"));
	size_t i;

	*body = NULL;
	if (p->state != DK_PROP_PENDING || !json_is_object(req))
		return NULL;
	json_array_foreach(p->approvals, i, a)
	{
		json_t *b = json_object_get(a, "body");

		if (!strcmp(str(b, "decision"), "deny")) {
			*body = json_pack(
			    "{s:s, s:s, s:s, s:s, s:s}", "proposal", p->id,
			    "run", p->run, "by", str(b, "principal"),
			    "approval", str(a, "hash"), "rule",
			    str(json_object_get(p->body, "rule"), "name"));
			if (json_is_string(json_object_get(b, "reason")))
				json_object_set(*body, "reason",
				                json_object_get(b, "reason"));
			return "proposal.rejected";
		}
	}
	hashes = json_array();
	who = json_object();
	json_array_foreach(p->approvals, i, a)
	{
		json_t *b = json_object_get(a, "body");

		if (strcmp(str(b, "decision"), "approve") ||
		    json_object_get(who, str(b, "principal")))
			continue;
		json_object_set_new(who, str(b, "principal"), json_true());
		json_array_append_new(hashes, json_string(str(a, "hash")));
	}
	json_decref(who);
	if (need < 1)
		need = 1;
	if ((json_int_t)json_array_size(hashes) >= need) {
		*body = json_pack(
		    "{s:s, s:s, s:s, s:o, s:s}", "proposal", p->id, "run",
		    p->run, "by", "approvals", "approvals", hashes, "rule",
		    str(json_object_get(p->body, "rule"), "name"));
		return "proposal.approved";
	}
	json_decref(hashes);
	if (now >= p->expires_at) {
		*body =
		    json_pack("{s:s, s:s, s:s}", "proposal", p->id, "run",
		              p->run, "expires_at", str(p->body, "expires_at"));
		return "proposal.expired";
	}
	return NULL;
}

struct settle {
	struct dk_index *ix;
	const char *id;
	const char *type;
	enum dk_proposal_state state;
};

static int settle_check(struct dk_ledger *l, const struct dk_head *h,
                        json_t *body, void *payload)
{
	struct settle *s = payload;
	struct dk_proposal *p = NULL;
	json_t *nb = NULL;
	const char *type;
	int rc;

	(void)h;
	if ((rc = dk_index_update(s->ix)) < 0 ||
	    (rc = load_proposal(&p, l, s->ix, s->id)) < 0)
		return rc;
	type = due(&nb, p, dk_now());
	rc = type && !strcmp(type, s->type) && json_equal(nb, body)
	         ? 0
	         : dk_error_set(DK_ECONFLICT,
	                        "wrp://%s changed while deciding it", s->id);
	json_decref(nb);
	dk_proposal_free(p);
	return rc;
}

static int settle(enum dk_proposal_state *state, uint64_t *seq,
                  struct dk_ledger *l, struct dk_index *ix, const char *id,
                  const char *actor)
{
	int tries, rc = 0;

	if (seq)
		*seq = 0;
	for (tries = 0; tries < 8; tries++) {
		struct dk_append_opts ao = { settle_check, NULL, NULL };
		struct settle s = { ix, id, NULL, DK_PROP_PENDING };
		struct dk_append_result ar;
		struct dk_proposal *p = NULL;
		json_t *body = NULL;

		if ((rc = dk_index_update(ix)) < 0 ||
		    (rc = load_proposal(&p, l, ix, id)) < 0)
			return rc;
		s.type = due(&body, p, dk_now());
		*state = p->state;
		dk_proposal_free(p);
		if (!s.type)
			return 0;
		ao.payload = &s;
		rc = dk_ledger_append(&ar, l, s.type, actor, body, &ao);
		json_decref(body);
		if (rc == DK_ECONFLICT)
			continue;
		if (rc < 0)
			return rc;
		if (seq)
			*seq = ar.seq;
		*state = !strcmp(s.type, "proposal.approved") ? DK_PROP_APPROVED
		         : !strcmp(s.type, "proposal.rejected")
		             ? DK_PROP_REJECTED
		             : DK_PROP_EXPIRED;
		return 0;
	}
	return rc;
}

int dk_approval_settle(enum dk_proposal_state *state, uint64_t *seq,
                       struct dk_ledger *l, const char *proposal)
{
	struct dk_index *ix = NULL;
	int rc;

	if ((rc = dk_index_open(&ix, l)) < 0)
		return rc;
	rc = settle(state, seq, l, ix, proposal, "docket");
	dk_index_free(ix);
	return rc;
}

/* --- approving ------------------------------------------------------------ */

void dk_approval_free(struct dk_approval *a)
{
	if (!a)
		return;
	dk_index_free(a->ix);
	dk_proposal_free(a->p);
	json_decref(a->policy);
	free(a->keypath);
	free(a->reason);
	free(a->actor);
	free(a);
}

const struct dk_proposal *dk_approval_proposal(const struct dk_approval *a)
{
	return a->p;
}

const char *dk_approval_principal(const struct dk_approval *a)
{
	return a->principal;
}

const char *dk_approval_role(const struct dk_approval *a)
{
	return a->role;
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The public half of the signing key: KEY.pub, KEY itself when it is a
 * public key, or the private key's own public half. */
static int signing_pubkey(dk_sshkey **out, const char *keypath)
{
	char pub[4096];
	dk_sshkey_priv *priv = NULL;
	size_t n = strlen(keypath);
	int rc;

	*out = NULL;
	if (n > 4 && !strcmp(keypath + n - 4, ".pub"))
		return dk_sshkey_load_public(out, keypath);
	snprintf(pub, sizeof(pub), "%s.pub", keypath);
	if (file_exists(pub) && dk_sshkey_load_public(out, pub) == 0)
		return 0;
	if (!file_exists(keypath))
		return dk_error_set(DK_ENOTFOUND, "no key file %s", keypath);
	if ((rc = dk_sshkey_load_private(&priv, keypath)) < 0) {
		dk_error_prefix("%s (and no %s)", keypath, pub);
		return rc;
	}
	{
		char *line = NULL;

		rc = dk_sshkey_to_line(&line, dk_sshkey_priv_public(priv));
		if (rc == 0)
			rc = dk_sshkey_parse(out, line);
		free(line);
	}
	dk_sshkey_priv_free(priv);
	return rc;
}

static int refuse_state(const struct dk_proposal *p)
{
	return dk_error_set(DK_EREFUSED, "wrp://%s is already %s", p->id,
	                    dk_proposal_state_name(p->state));
}

/* Principal and role for the key; key must be the principal's in policy. */
static int pick_principal(struct dk_approval *a, const char *as,
                          const dk_sshkey *key)
{
	json_t *p;
	char *fp = NULL, *pfp = NULL;
	dk_sshkey *pk = NULL;
	int rc = 0;

	dk_sshkey_fingerprint(&fp, key);
	if (!as) {
		p = dk_policy_principal_by_key(a->policy, key);
		if (!p) {
			rc = dk_error_set(DK_EREFUSED,
			                  "not allowed: key %s is not in the "
			                  "policy in force",
			                  fp ? fp : "?");
			goto out;
		}
	} else {
		p = dk_policy_principal(a->policy, as);
		if (!p) {
			rc = dk_error_set(
			    DK_EREFUSED,
			    "'%s' is not a principal of the policy "
			    "in force",
			    as);
			goto out;
		}
		if (dk_sshkey_parse(&pk, str(p, "key")) < 0 ||
		    !dk_sshkey_equal(pk, key)) {
			if (pk)
				dk_sshkey_fingerprint(&pfp, pk);
			rc = dk_error_set(DK_EREFUSED,
			                  "key mismatch: the key %s is not "
			                  "'%s''s key in the policy (%s)",
			                  fp ? fp : "?", as, pfp ? pfp : "?");
			goto out;
		}
	}
	snprintf(a->principal, sizeof(a->principal), "%s", str(p, "name"));
out:
	dk_sshkey_free(pk);
	free(fp);
	free(pfp);
	return rc;
}

int dk_approval_prepare(struct dk_approval **out, struct dk_ledger *l,
                        const struct dk_approval_req *req)
{
	struct dk_approval *a = calloc(1, sizeof(*a));
	enum dk_proposal_state st;
	dk_sshkey *key = NULL;
	json_t *votes = NULL;
	const char *id = req->proposal;
	int rc;

	*out = NULL;
	if (!a)
		return dk_error_set(DK_ERROR, "out of memory");
	if (!strncmp(id, "wrp://", 6))
		id += 6;
	a->l = l;
	a->deny = req->deny;
	a->keypath = strdup(req->keypath ? req->keypath : "");
	a->reason = req->reason ? strdup(req->reason) : NULL;
	a->actor = req->actor ? strdup(req->actor) : NULL;
	if ((rc = dk_index_open(&a->ix, l)) < 0 ||
	    (rc = load_proposal(&a->p, l, a->ix, id)) < 0)
		goto fail;
	/* an interrupted approve, or an expiry: record what is due first */
	if (a->p->state == DK_PROP_PENDING) {
		if ((rc = settle(&st, NULL, l, a->ix, id,
		                 a->actor ? a->actor : "docket")) < 0)
			goto fail;
		a->p->state = st; /* decided just now: no need to re-read */
	}
	if (a->p->state != DK_PROP_PENDING) {
		rc = refuse_state(a->p);
		goto fail;
	}
	if ((rc = dk_policy_current(&a->policy, &a->policy_seq, l, a->ix)) < 0)
		goto fail;
	if ((rc = signing_pubkey(&key, a->keypath)) < 0 ||
	    (rc = pick_principal(a, req->as, key)) < 0)
		goto fail;
	snprintf(a->role, sizeof(a->role), "%s",
	         str(json_object_get(a->p->body, "requires"), "role"));
	if ((rc = starter_of(a->starter, sizeof(a->starter), l, a->ix, a->p)) <
	    0)
		goto fail;
	votes = votes_of(a->p);
	rc = dk_approval_judge(a->policy, a->p->body, a->starter, votes,
	                       a->principal, dk_now());
	json_decref(votes);
	if (rc < 0)
		goto fail;
	dk_sshkey_free(key);
	*out = a;
	return 0;
fail:
	dk_sshkey_free(key);
	dk_approval_free(a);
	return rc;
}

static int approval_check(struct dk_ledger *l, const struct dk_head *h,
                          json_t *body, void *payload)
{
	struct dk_approval *a = payload;
	struct dk_proposal *p = NULL;
	json_t *pol = NULL, *votes;
	int rc;

	(void)h;
	if ((rc = dk_index_update(a->ix)) < 0 ||
	    (rc = load_proposal(&p, l, a->ix, a->p->id)) < 0)
		return rc;
	if (p->state != DK_PROP_PENDING) {
		rc = refuse_state(p);
		goto out;
	}
	if (strcmp(p->hash, str(body, "proposal_hash"))) {
		rc = dk_error_set(DK_ECONFLICT, "the proposal record changed");
		goto out;
	}
	if (dk_now() >= p->expires_at) {
		a->expired = 1;
		rc = dk_error_set(DK_EREFUSED, "wrp://%s expired at %s", p->id,
		                  str(p->body, "expires_at"));
		goto out;
	}
	/* the policy in force now, which may have changed since prepare */
	if ((rc = dk_policy_current(&pol, NULL, l, a->ix)) < 0)
		goto out;
	votes = votes_of(p);
	rc = dk_approval_judge(pol, p->body, a->starter, votes, a->principal,
	                       dk_now());
	json_decref(votes);
	if (rc == 0)
		rc = dk_approval_check_signature(pol, body, dk_ledger_id(l),
		                                 NULL);
out:
	json_decref(pol);
	dk_proposal_free(p);
	return rc;
}

int dk_approval_commit(struct dk_approval_result *out, struct dk_approval *a)
{
	struct dk_sshsig_sign_opts so = DK_SSHSIG_SIGN_OPTS_INIT;
	struct dk_append_opts ao = { approval_check, a, NULL };
	struct dk_append_result ar;
	const char *decision = a->deny ? "deny" : "approve";
	char at[32], *msg = NULL, *sig = NULL, summary[80];
	json_t *body = NULL;
	dk_sshkey *pk = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	dk_format_time(at, dk_now());
	if ((rc = dk_approval_message(&msg, dk_ledger_id(a->l), a->p->id,
	                              a->p->hash, decision, a->principal, at)) <
	    0)
		goto out;
	if ((rc = dk_sshsig_sign(&sig, NULL, a->keypath, DK_SSHSIG_NS_APPROVAL,
	                         msg, strlen(msg), &so)) < 0)
		goto out;
	/* the signature must check with the principal's key in the policy */
	if ((rc = dk_sshkey_parse(
	         &pk, str(dk_policy_principal(a->policy, a->principal),
	                  "key"))) < 0 ||
	    (rc = dk_sshsig_verify(sig, strlen(sig), DK_SSHSIG_NS_APPROVAL, msg,
	                           strlen(msg), pk)) < 0)
		goto out;
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	                 "proposal", a->p->id, "run", a->p->run, "decision",
	                 decision, "principal", a->principal, "role", a->role,
	                 "proposal_hash", a->p->hash, "signed_at", at,
	                 "signature", sig, "message", msg);
	json_object_set_new(body, "reason",
	                    a->reason ? json_string(a->reason) : json_null());
	snprintf(summary, sizeof(summary), "%s %s wrp://%s", a->principal,
	         a->deny ? "denies" : "approves", a->p->id);
	ao.summary = summary;
	rc = dk_ledger_append(&ar, a->l, "approval",
	                      a->actor ? a->actor : a->principal, body, &ao);
	if (rc < 0) {
		if (a->expired) {
			char why[600];
			enum dk_proposal_state st;

			snprintf(why, sizeof(why), "%s", dk_error_last());
			settle(&st, NULL, a->l, a->ix, a->p->id,
			       a->actor ? a->actor : a->principal);
			rc = dk_error_set(DK_EREFUSED, "%s", why);
		}
		goto out;
	}
	out->seq = ar.seq;
	memcpy(out->hash, ar.hash, 65);
	if ((rc = settle(&out->state, &out->decision_seq, a->l, a->ix, a->p->id,
	                 a->actor ? a->actor : a->principal)) < 0)
		goto out;
	/* distinct approvals: those recorded before ours, and ours */
	{
		json_t *names = json_object(), *v;
		size_t i;

		json_array_foreach(a->p->approvals, i, v)
		{
			json_t *vb = json_object_get(v, "body");

			if (!strcmp(str(vb, "decision"), "approve"))
				json_object_set(names, str(vb, "principal"),
				                json_true());
		}
		if (!a->deny)
			json_object_set(names, a->principal, json_true());
		out->received = (int)json_object_size(names);
		json_decref(names);
	}
	out->required = (int)json_integer_value(
	    json_object_get(json_object_get(a->p->body, "requires"), "count"));
out:
	dk_sshkey_free(pk);
	json_decref(body);
	free(msg);
	free(sig);
	return rc;
}
