#ifndef DK_SSHKEY_H
#define DK_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

/*
 * SSH keys as OpenSSH writes them: public key lines
 * ("ssh-ed25519 AAAA... comment"), their wire blobs, SHA256 fingerprints
 * (as `ssh-keygen -l` prints them) and unencrypted ed25519 private keys in
 * the "openssh-key-v1" format.
 *
 * A dk_sshkey is an immutable public key; a dk_sshkey_priv holds secret
 * material that is wiped when freed. Both are owned by whoever received
 * them through `out` and freed with their own _free (which accept NULL).
 * Strings returned through `out` are malloc'd and owned by the caller.
 */

typedef struct dk_sshkey dk_sshkey;
typedef struct dk_sshkey_priv dk_sshkey_priv;

enum dk_sshkey_kind {
	DK_SSHKEY_ED25519,
	DK_SSHKEY_ECDSA_P256,
	DK_SSHKEY_ECDSA_P384,
	DK_SSHKEY_ECDSA_P521,
	DK_SSHKEY_RSA,
	DK_SSHKEY_OTHER, /* parsed and compared, not verified natively */
};

/*
 * Parse a public key line "TYPE BASE64 [COMMENT]" (leading blanks and a
 * trailing newline allowed). The blob's inner type must match TYPE and
 * its structure must be valid for the known types. DK_EINVALID names the
 * fault.
 */
int dk_sshkey_parse(dk_sshkey **out, const char *line);
/* Parse a wire blob (string type, then the type's fields). */
int dk_sshkey_from_blob(dk_sshkey **out, const unsigned char *blob, size_t len);
/* Read the first key line of a public key file (e.g. id_ed25519.pub). */
int dk_sshkey_load_public(dk_sshkey **out, const char *path);
void dk_sshkey_free(dk_sshkey *key);

/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ... */
const char *dk_sshkey_type(const dk_sshkey *key);
enum dk_sshkey_kind dk_sshkey_kind(const dk_sshkey *key);
/* The comment of the line it was parsed from, or "" . */
const char *dk_sshkey_comment(const dk_sshkey *key);
const unsigned char *dk_sshkey_blob(const dk_sshkey *key, size_t *len);
/* Same type and key material (comments are ignored); 1 or 0. */
int dk_sshkey_equal(const dk_sshkey *a, const dk_sshkey *b);
/* RSA modulus size, curve size, or 256 for ed25519. */
unsigned dk_sshkey_bits(const dk_sshkey *key);

/* "SHA256:" + unpadded base64 of SHA-256(blob), as `ssh-keygen -l`. */
int dk_sshkey_fingerprint(char **out, const dk_sshkey *key);
/* The key as a line "TYPE BASE64" (without comment). */
int dk_sshkey_to_line(char **out, const dk_sshkey *key);

/*
 * Load an unencrypted ed25519 private key in "openssh-key-v1" format.
 * Returns DK_EREFUSED, with the reason, for keys that are valid but cannot
 * be used natively (encrypted with a passphrase, another key type, a PEM
 * or public-only file): callers may hand those to ssh-keygen instead.
 * DK_EINVALID for a malformed key, DK_EIO/DK_ENOTFOUND for an unreadable
 * file. The secret is wiped on free and on every error path.
 */
int dk_sshkey_load_private(dk_sshkey_priv **out, const char *path);
/* Parse the same format from memory (the armored text). */
int dk_sshkey_parse_private(dk_sshkey_priv **out, const char *text, size_t len);
void dk_sshkey_priv_free(dk_sshkey_priv *priv);
/* The public half (borrowed; lives as long as priv). */
const dk_sshkey *dk_sshkey_priv_public(const dk_sshkey_priv *priv);

/*
 * Semi-private helpers shared with sshsig.c: base64 and the SSH wire
 * encoding (RFC 4251 uint32 and length-prefixed strings).
 */
struct dk_sshbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};
struct dk_sshrd {
	const unsigned char *p;
	size_t len;
};

/* Standard base64 with padding; out is NUL-terminated. */
int dk_sshkey__b64_encode(char **out, const unsigned char *in, size_t len);
/*
 * Strict decode: whitespace is skipped, anything else outside the
 * alphabet or misplaced padding is an error (DK_EINVALID).
 */
int dk_sshkey__b64_decode(unsigned char **out, size_t *outlen, const char *in,
                          size_t len);
void dk_sshbuf__put(struct dk_sshbuf *b, const void *p, size_t n);
void dk_sshbuf__put_u32(struct dk_sshbuf *b, uint32_t v);
void dk_sshbuf__put_string(struct dk_sshbuf *b, const void *p, size_t n);
void dk_sshbuf__put_cstring(struct dk_sshbuf *b, const char *s);
/* Wipe and free the buffer's storage. */
void dk_sshbuf__free(struct dk_sshbuf *b);
int dk_sshrd__u32(struct dk_sshrd *r, uint32_t *v);
int dk_sshrd__string(struct dk_sshrd *r, const unsigned char **p, size_t *n);
/* A string that equals s exactly. */
int dk_sshrd__expect(struct dk_sshrd *r, const char *s);

/* dk_sshkey_from_blob without building the libcrypto key (faster). */
int dk_sshkey__from_blob_light(dk_sshkey **out, const unsigned char *blob,
                               size_t len);
/* Sign data with the private key's native algorithm (ed25519 only). */
int dk_sshkey__sign(unsigned char **sigblob, size_t *siglen,
                    const dk_sshkey_priv *priv, const unsigned char *data,
                    size_t len);
/*
 * Check an SSH signature blob (string sigtype, string sig) over data.
 * DK_EREFUSED "bad signature: ..." when it does not verify; DK_EINVALID
 * for a malformed blob or a signature type the key does not allow.
 */
int dk_sshkey__verify(const dk_sshkey *key, const unsigned char *sigblob,
                      size_t siglen, const unsigned char *data, size_t len);

#endif
