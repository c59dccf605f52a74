#ifndef DK_SSHSIG_H
#define DK_SSHSIG_H

#include "sshkey.h"

#include <stddef.h>
#include <stdint.h>

/*
 * SSH signatures in the SSHSIG format (OpenSSH PROTOCOL.sshsig), armored
 * as "-----BEGIN SSH SIGNATURE-----", interchangeable with
 * `ssh-keygen -Y sign` and `ssh-keygen -Y verify`; and allowed_signers
 * files (ssh-keygen(1) "ALLOWED SIGNERS"), the trust format git uses.
 *
 * Verification is native (ssh-ed25519, ecdsa-sha2-nistp256/384/521,
 * ssh-rsa with rsa-sha2-256/512). Signing is native for unencrypted
 * ed25519 keys in OpenSSH format; other keys, encrypted keys and keys
 * held by ssh-agent are signed by running `ssh-keygen -Y sign`.
 *
 * Verification failures return DK_EINVALID when the input is malformed
 * and DK_EREFUSED when it is well formed but not acceptable; the message
 * (dk_error_last) starts with what failed: "bad armor: ", "malformed
 * signature: ", "wrong namespace: ", "unsupported hash algorithm: ",
 * "key mismatch: ", "bad signature: ", "not allowed: ".
 *
 * Strings returned through `out` are malloc'd and owned by the caller;
 * structures are freed with their own _free, which accepts NULL.
 */

/* The namespaces docket signs in. */
#define DK_SSHSIG_NS_APPROVAL "docket-approval@docket"
#define DK_SSHSIG_NS_POLICY   "docket-policy@docket"

/* A parsed (not yet verified) signature. */
typedef struct dk_sshsig dk_sshsig;

/* Parse an armored signature; DK_EINVALID "bad armor: ..." or
 * "malformed signature: ...". */
int dk_sshsig_parse(dk_sshsig **out, const char *armored, size_t len);
void dk_sshsig_free(dk_sshsig *sig);
/* The key the signature claims to be made by (borrowed). */
const dk_sshkey *dk_sshsig_key(const dk_sshsig *sig);
const char *dk_sshsig_namespace(const dk_sshsig *sig);
/* "sha256" or "sha512". */
const char *dk_sshsig_hash_alg(const dk_sshsig *sig);

/*
 * Check a parsed signature over msg: namespace equals ns, hash algorithm
 * is sha256 or sha512, the signing key equals expected (by key material),
 * and the signature verifies. 0 when all hold.
 */
int dk_sshsig_check(const dk_sshsig *sig, const char *ns, const void *msg,
                    size_t len, const dk_sshkey *expected);
/* dk_sshsig_parse then dk_sshsig_check. */
int dk_sshsig_verify(const char *armored, size_t armored_len, const char *ns,
                     const void *msg, size_t len, const dk_sshkey *expected);

/* How to sign. */
enum dk_sshsig_method {
	DK_SSHSIG_AUTO = 0, /* native, else ssh-keygen when natively refused */
	DK_SSHSIG_NATIVE,   /* native only */
	DK_SSHSIG_KEYGEN,   /* always ssh-keygen */
};

struct dk_sshsig_sign_opts {
	enum dk_sshsig_method method;
	/* "sha512" (the default, as ssh-keygen) or "sha256". */
	const char *hash_alg;
	/* The ssh-keygen to run; default "ssh-keygen" searched in PATH. */
	const char *program;
	/* Deadline for ssh-keygen in milliseconds; default 120000 (it may
	 * be waiting for a passphrase typed on the terminal). */
	int timeout_ms;
};
#define DK_SSHSIG_SIGN_OPTS_INIT                                               \
	{                                                                      \
		DK_SSHSIG_AUTO, NULL, NULL, 0                                  \
	}

/*
 * Sign msg in namespace ns with the key at keypath and return the armored
 * signature (ending in a newline). keypath is a private key file, or for
 * ssh-keygen also a public key file whose private half ssh-agent holds
 * (SSH_AUTH_SOCK is inherited). With DK_SSHSIG_AUTO, a key the native
 * signer refuses (encrypted, not ed25519, PEM, public only) goes to
 * ssh-keygen; *used (may be NULL) says which method signed. ssh-keygen is
 * run with an argv (no shell), the message on its standard input; its
 * output is parsed and checked against msg before it is returned.
 * Errors: DK_EREFUSED (native refused and no fallback allowed),
 * DK_ETIMEOUT, DK_ENOTFOUND (no key file or no ssh-keygen), DK_ERROR
 * (ssh-keygen failed; its message is included), DK_EINVALID.
 */
int dk_sshsig_sign(char **out, enum dk_sshsig_method *used, const char *keypath,
                   const char *ns, const void *msg, size_t len,
                   const struct dk_sshsig_sign_opts *opts);
/* Sign natively with a loaded key; hash_alg NULL means sha512. */
int dk_sshsig_sign_key(char **out, const dk_sshkey_priv *key, const char *ns,
                       const void *msg, size_t len, const char *hash_alg);

/* allowed_signers: "principals [options] keytype base64 [comment]". */
struct dk_allowed_signer {
	char *principals;   /* comma-separated patterns, as written */
	char *namespaces;   /* namespaces="..." patterns, or NULL (any) */
	int cert_authority; /* the key is a CA (never matches plain keys) */
	int64_t valid_after, valid_before; /* seconds; 0 when unset */
	dk_sshkey *key;
	size_t line;
};

struct dk_allowed_signers {
	struct dk_allowed_signer *v;
	size_t n;
	char *origin; /* file name or label, for messages */
};

/*
 * Parse a whole allowed_signers text; blank lines and # comments are
 * skipped. The first bad line is named: "ORIGIN:LINE: why" (DK_EINVALID).
 * Unknown options are errors, as in ssh-keygen.
 */
int dk_allowed_signers_parse(struct dk_allowed_signers **out, const char *text,
                             size_t len, const char *origin);
int dk_allowed_signers_load(struct dk_allowed_signers **out, const char *path);
void dk_allowed_signers_free(struct dk_allowed_signers *s);

/* OpenSSH pattern lists: "a*,b?,!c"; 1 when name matches, else 0. */
int dk_sshsig_match_list(const char *name, const char *list);

/*
 * The entry that allows principal to sign with key in namespace ns at
 * time now (seconds; checked against valid-after/valid-before).
 * DK_ENOTFOUND when no entry names the principal with that key;
 * DK_EREFUSED "not allowed: ..." when one does but its namespaces or
 * validity window exclude this use.
 */
int dk_allowed_signers_match(const struct dk_allowed_signer **out,
                             const struct dk_allowed_signers *s,
                             const char *principal, const char *ns,
                             const dk_sshkey *key, int64_t now);
/*
 * The principals of every entry allowing key in ns at now, joined with
 * commas (as `ssh-keygen -Y find-principals`, which prints one a line).
 * DK_ENOTFOUND or DK_EREFUSED as dk_allowed_signers_match.
 */
int dk_allowed_signers_find_principals(char **out,
                                       const struct dk_allowed_signers *s,
                                       const dk_sshkey *key, const char *ns,
                                       int64_t now);

/*
 * Verify that principal signed msg in ns with a key that s allows
 * (like `ssh-keygen -Y verify -f FILE -I principal -n ns`). The matched
 * entry is returned through out (may be NULL). Key-not-allowed failures
 * are DK_EREFUSED with "not allowed: ...".
 */
int dk_sshsig_verify_signers(const struct dk_allowed_signer **out,
                             const char *armored, size_t armored_len,
                             const char *ns, const void *msg, size_t len,
                             const struct dk_allowed_signers *s,
                             const char *principal, int64_t now);

#endif
