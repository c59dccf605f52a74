/*
 * The record decoder, as `docket verify` meets records: the input is a
 * sequence of blobs, one per line (each keeps its "\n", as in a ledger).
 * Each goes through dk_record_parse; those that parse go, oldest first,
 * through the policy half of verify (genesis policy, policy updates,
 * proposals, approvals and their SSHSIG signatures, decisions,
 * dispatches), and every string in a body that looks like an SSH public
 * key or an armored signature through the SSH decoders. A record's hash
 * must be the SHA-256 of its bytes.
 */
#include "fuzz.h"

#include "error.h"
#include "ledger.h"
#include "sshkey.h"
#include "sshsig.h"
#include "util.h"
#include "verify-policy.h"

#include <stdlib.h>
#include <string.h>

static void strings(const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > 64)
		return;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		if (!strncmp(s, "-----BEGIN SSH SIGNATURE-----", 29)) {
			dk_sshsig *sig = NULL;
			if (dk_sshsig_parse(&sig, s, n) == 0) {
				(void)dk_sshsig_namespace(sig);
				(void)dk_sshsig_hash_alg(sig);
				(void)dk_sshsig_check(sig, "docket", s, n,
				                      dk_sshsig_key(sig));
				dk_sshsig_free(sig);
			}
		} else if (!strncmp(s, "ssh-", 4) || !strncmp(s, "ecdsa-", 6)) {
			dk_sshkey *key = NULL;
			if (dk_sshkey_parse(&key, s) == 0) {
				char *fp = NULL, *line = NULL;
				if (dk_sshkey_fingerprint(&fp, key) == 0)
					free(fp);
				if (dk_sshkey_to_line(&line, key) == 0)
					free(line);
				dk_sshkey_free(key);
			}
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) strings(x, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) strings(x, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct dk_verify_policy *vp = NULL;

	if (dk_verify__policy_new(&vp, NULL) < 0)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		struct dk_record *r = NULL;

		if (dk_record_parse(&r, p, n) == 0) {
			char h[65];

			dk_sha256_hex(h, p, n);
			if (strcmp(h, r->hash) || r->len != n ||
			    memcmp(r->bytes, p, n) || !r->type || !r->at ||
			    !r->actor || !json_is_object(r->body))
				abort();
			strings(r->body, 0);
			(void)dk_verify__policy_record(vp, r);
			dk_record_free(r);
		} else if (!dk_error_last()[0]) {
			abort(); /* a refusal always says why */
		}
		p += n;
	}
	dk_verify__policy_free(vp);
	return 0;
}
