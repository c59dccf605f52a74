#include "policy.h"
#include "error.h"
#include "util.h"
#include "index.h"
#include "sshsig.h"

#include <stdlib.h>
#include <string.h>

static const char *const key_types[] = {
	"ssh-ed25519",
	"ssh-rsa",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	NULL,
};

int dk_ssh_pubkey_check(const char *line)
{
	size_t tl = strcspn(line, " "), bl, i;
	const char *b64;
	int known = 0;

	for (i = 0; key_types[i]; i++)
		if (strlen(key_types[i]) == tl &&
		    !strncmp(line, key_types[i], tl))
			known = 1;
	if (!known)
		return dk_error_set(DK_EINVALID,
		                    "not an SSH public key (unknown key type "
		                    "'%.*s')",
		                    (int)(tl > 40 ? 40 : tl), line);
	if (line[tl] != ' ')
		return dk_error_set(DK_EINVALID,
		                    "SSH public key has no key data");
	b64 = line + tl + 1;
	bl = strcspn(b64, " \n");
	if (bl < 16 || bl % 4)
		return dk_error_set(DK_EINVALID,
		                    "SSH public key data is not base64");
	for (i = 0; i < bl; i++) {
		char c = b64[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		      (c == '=' && i >= bl - 2)))
			return dk_error_set(
			    DK_EINVALID, "SSH public key data is not base64");
	}
	if (strchr(line, '\n'))
		return dk_error_set(DK_EINVALID,
		                    "SSH public key spans several lines");
	return 0;
}

int dk_ssh_pubkey_read(char **out, const char *path)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = dk_read_file(&buf, &len, path, 64 * 1024)) < 0)
		return rc;
	buf[strcspn(buf, "\r\n")] = '\0';
	if ((rc = dk_ssh_pubkey_check(buf)) < 0) {
		dk_error_prefix("%s", path);
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static int valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == '@'))
			return 0;
	}
	return s[0] != '-' && s[0] != '.';
}

int dk_policy_validate(const json_t *policy)
{
	json_t *ps, *p, *req;
	size_t i, j, admins = 0;

	if (!json_is_object(policy))
		return dk_error_set(DK_EINVALID, "policy is not an object");
	ps = json_object_get(policy, "principals");
	if (!json_is_array(ps))
		return dk_error_set(DK_EINVALID,
		                    "policy: 'principals' must be an array");
	json_array_foreach(ps, i, p)
	{
		const char *name =
		    json_string_value(json_object_get(p, "name"));
		const char *key = json_string_value(json_object_get(p, "key"));
		json_t *roles = json_object_get(p, "roles"), *r;
		size_t k;

		if (!name || !valid_name(name))
			return dk_error_set(DK_EINVALID,
			                    "policy: principal %zu: 'name' "
			                    "must be 1-64 of [A-Za-z0-9_.@-]",
			                    i);
		if (!key || dk_ssh_pubkey_check(key) < 0)
			return dk_error_set(DK_EINVALID,
			                    "policy: principal '%s': 'key' "
			                    "must be an SSH public key line",
			                    name);
		if (!json_is_array(roles) || !json_array_size(roles))
			return dk_error_set(DK_EINVALID,
			                    "policy: principal '%s': 'roles' "
			                    "must be a non-empty array",
			                    name);
		json_array_foreach(roles, k, r)
		{
			if (!json_is_string(r) ||
			    !valid_name(json_string_value(r)))
				return dk_error_set(
				    DK_EINVALID,
				    "policy: principal '%s': bad role", name);
			if (!strcmp(json_string_value(r), "admin"))
				admins++;
		}
		for (j = 0; j < i; j++) {
			const char *other = json_string_value(
			    json_object_get(json_array_get(ps, j), "name"));
			if (other && !strcmp(other, name))
				return dk_error_set(DK_EINVALID,
				                    "policy: principal '%s' is "
				                    "listed twice",
				                    name);
		}
	}
	if (!admins)
		return dk_error_set(DK_EINVALID,
		                    "policy: at least one principal needs the "
		                    "'admin' role");
	req = json_object_get(policy, "admins_required");
	if (req && (!json_is_integer(req) || json_integer_value(req) < 1 ||
	            (size_t)json_integer_value(req) > admins))
		return dk_error_set(DK_EINVALID,
		                    "policy: 'admins_required' must be 1 to "
		                    "the number of admins (%zu)",
		                    admins);
	return 0;
}

int dk_policy_from_admins(json_t **out, const char *const *names,
                          const char *const *keyfiles, int n)
{
	json_t *pol = json_pack("{s:i, s:i, s:[]}", "version", 1,
	                        "admins_required", 1, "principals");
	json_t *ps = json_object_get(pol, "principals");
	int i, rc;

	*out = NULL;
	for (i = 0; i < n; i++) {
		char *key = NULL;

		if ((rc = dk_ssh_pubkey_read(&key, keyfiles[i])) < 0) {
			json_decref(pol);
			return rc;
		}
		json_array_append_new(ps, json_pack("{s:s, s:[s], s:s}", "name",
		                                    names[i], "roles", "admin",
		                                    "key", key));
		free(key);
	}
	if ((rc = dk_policy_validate(pol)) < 0) {
		json_decref(pol);
		return rc;
	}
	*out = pol;
	return 0;
}

int dk_policy_load_file(json_t **out, const char *path)
{
	json_error_t err;
	json_t *pol;
	int rc;

	*out = NULL;
	pol = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!pol)
		return dk_error_set(DK_EINVALID, "%s:%d:%d: %s", path, err.line,
		                    err.column, err.text);
	if (!json_object_get(pol, "version"))
		json_object_set_new(pol, "version", json_integer(1));
	if (!json_object_get(pol, "admins_required"))
		json_object_set_new(pol, "admins_required", json_integer(1));
	if ((rc = dk_policy_validate(pol)) < 0) {
		dk_error_prefix("%s", path);
		json_decref(pol);
		return rc;
	}
	*out = pol;
	return 0;
}

json_t *dk_policy_principal(const json_t *policy, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(policy, "principals"), i, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		if (n && !strcmp(n, name))
			return p;
	}
	return NULL;
}

int dk_policy_has_role(const json_t *principal, const char *role)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(principal, "roles"), i, r)
	{
		if (json_is_string(r) && !strcmp(json_string_value(r), role))
			return 1;
	}
	return 0;
}

json_t *dk_policy_principal_by_key(const json_t *policy, const dk_sshkey *key)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(policy, "principals"), i, p)
	{
		dk_sshkey *k = NULL;
		const char *line = json_string_value(json_object_get(p, "key"));
		int eq;

		if (!line || dk_sshkey_parse(&k, line) < 0)
			continue;
		eq = dk_sshkey_equal(k, key);
		dk_sshkey_free(k);
		if (eq)
			return p;
	}
	dk_error_clear();
	return NULL;
}

void dk_policy_hash(char out[65], const json_t *policy)
{
	char *c = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS);

	dk_sha256_hex(out, c ? c : "", c ? strlen(c) : 0);
	free(c);
}

int dk_policy_read(json_t **out, struct dk_ledger *l, uint64_t seq)
{
	struct dk_record *r = NULL;
	json_t *pol;
	int rc;

	*out = NULL;
	if ((rc = dk_ledger_read(&r, l, seq)) < 0)
		return rc;
	pol = json_object_get(r->body, "policy");
	if ((strcmp(r->type, "genesis") && strcmp(r->type, "policy.update")) ||
	    !json_is_object(pol)) {
		dk_record_free(r);
		return dk_error_set(DK_ERROR,
		                    "record %llu holds no policy (stale index)",
		                    (unsigned long long)seq);
	}
	*out = json_incref(pol);
	dk_record_free(r);
	return 0;
}

int dk_policy_current(json_t **out, uint64_t *seq, struct dk_ledger *l,
                      struct dk_index *ix)
{
	uint64_t s = dk_index_policy_seq(ix);

	if (seq)
		*seq = s;
	return dk_policy_read(out, l, s);
}

static json_int_t version_of(const json_t *policy)
{
	json_t *v = json_object_get(policy, "version");

	return json_is_integer(v) ? json_integer_value(v) : 1;
}

int dk_policy_update_message(char **out, const char *ledger_id,
                             const json_t *prev, const json_t *next)
{
	char ph[65], nh[65];
	char buf[512];
	int n;

	dk_policy_hash(ph, prev);
	dk_policy_hash(nh, next);
	n = snprintf(buf, sizeof(buf),
	             "docket policy-update v1\nledger %s\nversion %lld\n"
	             "previous %s\npolicy %s\n",
	             ledger_id, (long long)version_of(next), ph, nh);
	*out = n > 0 && (size_t)n < sizeof(buf) ? strdup(buf) : NULL;
	return *out ? 0 : dk_error_set(DK_ERROR, "out of memory");
}

int dk_policy_sign(char **out, const char *ledger_id, const json_t *prev,
                   const json_t *next, const char *keypath)
{
	struct dk_sshsig_sign_opts so = DK_SSHSIG_SIGN_OPTS_INIT;
	char *msg = NULL;
	int rc;

	*out = NULL;
	if ((rc = dk_policy_update_message(&msg, ledger_id, prev, next)) < 0)
		return rc;
	rc = dk_sshsig_sign(out, NULL, keypath, DK_SSHSIG_NS_POLICY, msg,
	                    strlen(msg), &so);
	free(msg);
	return rc;
}

int dk_policy_check_update(const json_t *prev, const json_t *body,
                           const char *ledger_id)
{
	const json_t *next = json_object_get(body, "policy");
	json_t *sigs = json_object_get(body, "signatures"), *s, *signers;
	json_int_t need =
	    json_integer_value(json_object_get(prev, "admins_required"));
	char *msg = NULL;
	size_t i;
	int rc;

	if (!json_is_object(next) || dk_policy_validate(next) < 0) {
		dk_error_prefix("the new policy is invalid");
		return DK_EREFUSED;
	}
	if (version_of(next) <= version_of(prev))
		return dk_error_set(DK_EREFUSED,
		                    "policy version %lld does not move forward "
		                    "from version %lld",
		                    (long long)version_of(next),
		                    (long long)version_of(prev));
	if ((rc = dk_policy_update_message(&msg, ledger_id, prev, next)) < 0)
		return rc;
	if (!json_is_string(json_object_get(body, "message")) ||
	    strcmp(json_string_value(json_object_get(body, "message")), msg)) {
		free(msg);
		return dk_error_set(DK_EREFUSED,
		                    "the signed message does not describe this "
		                    "update (ledger, version or policy hashes "
		                    "differ)");
	}
	if (need < 1)
		need = 1;
	signers = json_array();
	json_array_foreach(sigs, i, s)
	{
		const char *name =
		    json_string_value(json_object_get(s, "principal"));
		const char *sig =
		    json_string_value(json_object_get(s, "signature"));
		json_t *p = name ? dk_policy_principal(prev, name) : NULL;
		dk_sshkey *key = NULL;
		json_t *seen;
		size_t k;
		int dup = 0;

		if (!p || !dk_policy_has_role(p, "admin")) {
			rc = dk_error_set(DK_EREFUSED,
			                  "signature %zu: '%s' is not an admin "
			                  "of policy version %lld",
			                  i + 1, name ? name : "?",
			                  (long long)version_of(prev));
			goto out;
		}
		if (!sig ||
		    dk_sshkey_parse(&key, json_string_value(
		                              json_object_get(p, "key"))) < 0) {
			rc = dk_error_set(DK_EREFUSED,
			                  "signature %zu: no signature or key",
			                  i + 1);
			dk_sshkey_free(key);
			goto out;
		}
		rc = dk_sshsig_verify(sig, strlen(sig), DK_SSHSIG_NS_POLICY,
		                      msg, strlen(msg), key);
		dk_sshkey_free(key);
		if (rc < 0) {
			dk_error_prefix("signature of '%s'", name);
			rc = DK_EREFUSED;
			goto out;
		}
		json_array_foreach(signers, k, seen)
		{
			if (!strcmp(json_string_value(seen), name))
				dup = 1;
		}
		if (!dup)
			json_array_append_new(signers, json_string(name));
	}
	if ((json_int_t)json_array_size(signers) < need) {
		rc = dk_error_set(DK_EREFUSED,
		                  "policy update signed by %zu admin%s; policy "
		                  "version %lld requires %lld",
		                  json_array_size(signers),
		                  json_array_size(signers) == 1 ? "" : "s",
		                  (long long)version_of(prev), (long long)need);
		goto out;
	}
	rc = 0;
out:
	json_decref(signers);
	free(msg);
	return rc;
}

struct policy_update {
	struct dk_index *ix;
	const char *ledger_id;
};

static int policy_update_check(struct dk_ledger *l, const struct dk_head *h,
                               json_t *body, void *payload)
{
	struct policy_update *u = payload;
	json_t *prev = NULL;
	char ph[65];
	int rc;

	(void)h;
	if ((rc = dk_index_update(u->ix)) < 0 ||
	    (rc = dk_policy_current(&prev, NULL, l, u->ix)) < 0)
		return rc;
	dk_policy_hash(ph, prev);
	json_object_set_new(body, "previous_hash", json_string(ph));
	rc = dk_policy_check_update(prev, body, u->ledger_id);
	json_decref(prev);
	return rc;
}

/* Who made an armored signature over msg: an admin of prev. */
static int signer_of(const char **name, const json_t *prev, const char *sig,
                     const char *msg)
{
	dk_sshsig *s = NULL;
	json_t *p;
	int rc;

	if ((rc = dk_sshsig_parse(&s, sig, strlen(sig))) < 0)
		return rc;
	p = dk_policy_principal_by_key(prev, dk_sshsig_key(s));
	if (!p) {
		char *fp = NULL;

		dk_sshkey_fingerprint(&fp, dk_sshsig_key(s));
		rc = dk_error_set(DK_EREFUSED,
		                  "not allowed: key %s is not in the policy",
		                  fp ? fp : "?");
		free(fp);
		dk_sshsig_free(s);
		return rc;
	}
	rc = dk_sshsig_check(s, DK_SSHSIG_NS_POLICY, msg, strlen(msg),
	                     dk_sshsig_key(s));
	dk_sshsig_free(s);
	*name = json_string_value(json_object_get(p, "name"));
	return rc;
}

int dk_policy_update(struct dk_append_result *out, struct dk_ledger *l,
                     const json_t *next, const char *const *sigs, size_t n,
                     const char *actor)
{
	struct dk_append_opts ao = { policy_update_check, NULL, NULL };
	struct policy_update u = { NULL, dk_ledger_id(l) };
	json_t *prev = NULL, *body = NULL, *arr;
	char *msg = NULL, nh[65], summary[80];
	size_t i;
	int rc;

	if ((rc = dk_policy_validate(next)) < 0)
		return rc;
	if ((rc = dk_index_open(&u.ix, l)) < 0 ||
	    (rc = dk_policy_current(&prev, NULL, l, u.ix)) < 0 ||
	    (rc = dk_policy_update_message(&msg, dk_ledger_id(l), prev, next)) <
	        0)
		goto out;
	arr = json_array();
	for (i = 0; i < n; i++) {
		const char *name = NULL;

		if ((rc = signer_of(&name, prev, sigs[i], msg)) < 0) {
			dk_error_prefix("signature %zu", i + 1);
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s}", "principal", name,
		                                "signature", sigs[i]));
	}
	dk_policy_hash(nh, next);
	body = json_pack("{s:I, s:O, s:s, s:o, s:s}", "version",
	                 (json_int_t)version_of(next), "policy", next,
	                 "policy_hash", nh, "signatures", arr, "message", msg);
	ao.payload = &u;
	snprintf(summary, sizeof(summary), "policy version %lld",
	         (long long)version_of(next));
	ao.summary = summary;
	rc = dk_ledger_append(out, l, "policy.update", actor, body, &ao);
out:
	json_decref(body);
	json_decref(prev);
	free(msg);
	dk_index_free(u.ix);
	return rc;
}

int dk_policy_check_trust(const json_t *policy,
                          const struct dk_allowed_signers *trust)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(policy, "principals"), i, p)
	{
		const char *name =
		    json_string_value(json_object_get(p, "name"));
		dk_sshkey *key = NULL;
		const struct dk_allowed_signer *e = NULL;
		const char *ns = dk_policy_has_role(p, "admin")
		                     ? DK_SSHSIG_NS_POLICY
		                     : DK_SSHSIG_NS_APPROVAL;
		int rc;

		if ((rc = dk_sshkey_parse(
		         &key, json_string_value(json_object_get(p, "key")))) <
		    0)
			return rc;
		rc = dk_allowed_signers_match(&e, trust, name, ns, key,
		                              dk_now());
		if (rc == 0 && dk_policy_has_role(p, "admin"))
			rc = dk_allowed_signers_match(&e, trust, name,
			                              DK_SSHSIG_NS_APPROVAL,
			                              key, dk_now());
		if (rc < 0) {
			char *fp = NULL, why[600];

			snprintf(why, sizeof(why), "%s", dk_error_last());
			dk_sshkey_fingerprint(&fp, key);
			rc = dk_error_set(DK_EREFUSED,
			                  "the genesis policy's key for '%s' "
			                  "(%s) is not trusted by %s: %s",
			                  name, fp ? fp : "?",
			                  trust->origin ? trust->origin
			                                : "the "
			                                  "trust "
			                                  "file",
			                  why);
			free(fp);
		}
		dk_sshkey_free(key);
		if (rc < 0)
			return rc;
	}
	return 0;
}
