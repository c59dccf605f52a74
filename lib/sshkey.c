#include "sshkey.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

struct dk_sshkey {
	enum dk_sshkey_kind kind;
	char *type;
	char *comment;
	unsigned char *blob;
	size_t bloblen;
	unsigned bits;
	EVP_PKEY *pkey; /* NULL for DK_SSHKEY_OTHER */
};

struct dk_sshkey_priv {
	dk_sshkey *pub;
	unsigned char seed[32];
};

#define ED25519_PK_LEN  32
#define ED25519_SIG_LEN 64
#define RSA_MIN_BITS    1024
#define RSA_MAX_BITS    16384
#define PRIV_FILE_MAX   16384

/* Base64. */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int dk_sshkey__b64_encode(char **out, const unsigned char *in, size_t len)
{
	size_t i, o = 0, olen = (len + 2) / 3 * 4;
	char *s = malloc(olen + 1);

	*out = NULL;
	if (!s)
		return dk_error_set(DK_ERROR, "out of memory");
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		             in[i + 2];
		s[o++] = b64chars[v >> 18 & 63];
		s[o++] = b64chars[v >> 12 & 63];
		s[o++] = b64chars[v >> 6 & 63];
		s[o++] = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		s[o++] = b64chars[v >> 18 & 63];
		s[o++] = b64chars[v >> 12 & 63];
		s[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int dk_sshkey__b64_decode(unsigned char **out, size_t *outlen, const char *in,
                          size_t len)
{
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	size_t i, o = 0, nch = 0, pad = 0;
	uint32_t acc = 0;

	*out = NULL;
	*outlen = 0;
	if (!buf)
		return dk_error_set(DK_ERROR, "out of memory");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			nch++;
			acc <<= 6;
			if (pad > 2)
				goto bad;
			if (nch % 4 == 0)
				goto flush;
			continue;
		}
		if (pad || (v = b64val(c)) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		nch++;
		if (nch % 4)
			continue;
	flush:
		buf[o++] = acc >> 16 & 0xff;
		if (pad < 2)
			buf[o++] = acc >> 8 & 0xff;
		if (pad < 1)
			buf[o++] = acc & 0xff;
		acc = 0;
	}
	if (nch % 4 || (pad && nch % 4))
		goto bad;
	*out = buf;
	*outlen = o;
	return 0;
bad:
	explicit_bzero(buf, len / 4 * 3 + 3);
	free(buf);
	return dk_error_set(DK_EINVALID, "invalid base64");
}

/* The SSH wire encoding. */

void dk_sshbuf__put(struct dk_sshbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		/* Grow by hand so that no unwiped copy is left behind. */
		if (!(np = malloc(cap))) {
			b->oom = 1;
			return;
		}
		if (b->p) {
			memcpy(np, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void dk_sshbuf__put_u32(struct dk_sshbuf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16 & 0xff, v >> 8 & 0xff,
		               v & 0xff };
	dk_sshbuf__put(b, x, 4);
}

void dk_sshbuf__put_string(struct dk_sshbuf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->oom = 1;
		return;
	}
	dk_sshbuf__put_u32(b, (uint32_t)n);
	dk_sshbuf__put(b, p, n);
}

void dk_sshbuf__put_cstring(struct dk_sshbuf *b, const char *s)
{
	dk_sshbuf__put_string(b, s, strlen(s));
}

void dk_sshbuf__free(struct dk_sshbuf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

int dk_sshrd__u32(struct dk_sshrd *r, uint32_t *v)
{
	if (r->len < 4)
		return DK_EINVALID;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

int dk_sshrd__string(struct dk_sshrd *r, const unsigned char **p, size_t *n)
{
	uint32_t l;

	if (dk_sshrd__u32(r, &l) < 0 || l > r->len)
		return DK_EINVALID;
	*p = r->p;
	*n = l;
	r->p += l;
	r->len -= l;
	return 0;
}

int dk_sshrd__expect(struct dk_sshrd *r, const char *s)
{
	const unsigned char *p;
	size_t n;

	if (dk_sshrd__string(r, &p, &n) < 0 || n != strlen(s) ||
	    memcmp(p, s, n))
		return DK_EINVALID;
	return 0;
}

/* Public keys. */

static const struct {
	const char *type, *curve, *group;
	enum dk_sshkey_kind kind;
	unsigned bits;
} ecdsa_types[] = {
	{ "ecdsa-sha2-nistp256", "nistp256", "prime256v1", DK_SSHKEY_ECDSA_P256,
	  256 },
	{ "ecdsa-sha2-nistp384", "nistp384", "secp384r1", DK_SSHKEY_ECDSA_P384,
	  384 },
	{ "ecdsa-sha2-nistp521", "nistp521", "secp521r1", DK_SSHKEY_ECDSA_P521,
	  521 },
};

static const char *const other_types[] = {
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	NULL,
};

void dk_sshkey_free(dk_sshkey *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->type);
	free(key->comment);
	free(key->blob);
	free(key);
}

/* An SSH mpint that must be positive; returns a new BIGNUM or NULL. */
static BIGNUM *mpint_positive(const unsigned char *p, size_t n)
{
	if (!n || (p[0] & 0x80))
		return NULL;
	if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
		return NULL; /* not minimal */
	return BN_bin2bn(p, (int)n, NULL);
}

static EVP_PKEY *pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int parse_rsa(dk_sshkey *k, struct dk_sshrd *r, int light)
{
	const unsigned char *ep, *np;
	size_t el, nl;
	BIGNUM *e = NULL, *n = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = DK_EINVALID;

	if (dk_sshrd__string(r, &ep, &el) < 0 ||
	    dk_sshrd__string(r, &np, &nl) < 0 || r->len) {
		dk_error_set(DK_EINVALID, "malformed ssh-rsa key");
		goto done;
	}
	if (!(e = mpint_positive(ep, el)) || !(n = mpint_positive(np, nl))) {
		dk_error_set(DK_EINVALID, "malformed ssh-rsa key numbers");
		goto done;
	}
	k->bits = (unsigned)BN_num_bits(n);
	if (k->bits < RSA_MIN_BITS || k->bits > RSA_MAX_BITS) {
		dk_error_set(DK_EINVALID, "RSA key size %u bits is not allowed",
		             k->bits);
		goto done;
	}
	if (light) {
		rc = 0;
		goto done;
	}
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(k->pkey = pkey_fromdata("RSA", bld))) {
		dk_error_set(DK_EINVALID, "ssh-rsa key rejected by libcrypto");
		goto done;
	}
	rc = 0;
done:
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	BN_free(n);
	return rc;
}

static int parse_ecdsa(dk_sshkey *k, struct dk_sshrd *r, int i, int light)
{
	const unsigned char *q;
	size_t ql;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = DK_EINVALID;

	if (dk_sshrd__expect(r, ecdsa_types[i].curve) < 0 ||
	    dk_sshrd__string(r, &q, &ql) < 0 || r->len || !ql || q[0] != 4) {
		dk_error_set(DK_EINVALID, "malformed %s key", k->type);
		goto done;
	}
	if (light)
		goto ok;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	                                     ecdsa_types[i].group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q,
	                                      ql) ||
	    !(k->pkey = pkey_fromdata("EC", bld))) {
		dk_error_set(DK_EINVALID, "%s key: point is not on the curve",
		             k->type);
		goto done;
	}
ok:
	k->kind = ecdsa_types[i].kind;
	k->bits = ecdsa_types[i].bits;
	rc = 0;
done:
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/*
 * Parse a blob; a light parse checks the structure but builds no libcrypto
 * key (dk_sshkey__verify builds one on demand). Signatures carry their key
 * and are always compared with an expected one, so they parse light.
 */
static int from_blob(dk_sshkey **out, const unsigned char *blob, size_t len,
                     int light)
{
	struct dk_sshrd r = { blob, len };
	const unsigned char *tp, *pk;
	size_t tl, pkl, i;
	dk_sshkey *k = NULL;
	int rc = DK_EINVALID;

	*out = NULL;
	if (dk_sshrd__string(&r, &tp, &tl) < 0 || !tl || tl > 64 ||
	    memchr(tp, '\0', tl))
		return dk_error_set(DK_EINVALID, "malformed SSH key blob");
	if (!(k = calloc(1, sizeof(*k))) ||
	    !(k->type = strndup((char *)tp, tl)) ||
	    !(k->comment = strdup("")) || !(k->blob = malloc(len ? len : 1))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	memcpy(k->blob, blob, len);
	k->bloblen = len;
	k->kind = DK_SSHKEY_OTHER;
	if (!strcmp(k->type, "ssh-ed25519")) {
		if (dk_sshrd__string(&r, &pk, &pkl) < 0 ||
		    pkl != ED25519_PK_LEN || r.len) {
			rc = dk_error_set(DK_EINVALID,
			                  "malformed ssh-ed25519 key");
			goto done;
		}
		if (!light)
			k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
			                                      NULL, pk, pkl);
		if (!light && !k->pkey) {
			rc = dk_error_set(DK_EINVALID,
			                  "ssh-ed25519 key rejected by "
			                  "libcrypto");
			goto done;
		}
		k->kind = DK_SSHKEY_ED25519;
		k->bits = 256;
		rc = 0;
		goto done;
	}
	if (!strcmp(k->type, "ssh-rsa")) {
		if ((rc = parse_rsa(k, &r, light)) == 0)
			k->kind = DK_SSHKEY_RSA;
		goto done;
	}
	for (i = 0; i < sizeof(ecdsa_types) / sizeof(ecdsa_types[0]); i++)
		if (!strcmp(k->type, ecdsa_types[i].type)) {
			rc = parse_ecdsa(k, &r, (int)i, light);
			goto done;
		}
	for (i = 0; other_types[i]; i++)
		if (!strcmp(k->type, other_types[i])) {
			rc = 0;
			goto done;
		}
	rc = dk_error_set(DK_EINVALID, "unknown SSH key type '%s'", k->type);
done:
	if (rc < 0)
		dk_sshkey_free(k);
	else
		*out = k;
	return rc;
}

int dk_sshkey_from_blob(dk_sshkey **out, const unsigned char *blob, size_t len)
{
	return from_blob(out, blob, len, 0);
}

int dk_sshkey__from_blob_light(dk_sshkey **out, const unsigned char *blob,
                               size_t len)
{
	return from_blob(out, blob, len, 1);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int dk_sshkey_parse(dk_sshkey **out, const char *line)
{
	const char *p = line, *t, *b, *c;
	size_t tl, bl, cl;
	unsigned char *blob = NULL;
	size_t bloblen;
	dk_sshkey *k = NULL;
	int rc;

	*out = NULL;
	while (is_blank(*p))
		p++;
	t = p;
	while (*p && !is_blank(*p) && *p != '\n' && *p != '\r')
		p++;
	tl = (size_t)(p - t);
	if (!tl)
		return dk_error_set(DK_EINVALID, "empty SSH public key");
	while (is_blank(*p))
		p++;
	b = p;
	while (*p && !is_blank(*p) && *p != '\n' && *p != '\r')
		p++;
	bl = (size_t)(p - b);
	if (!bl)
		return dk_error_set(DK_EINVALID,
		                    "SSH public key '%.*s' has no key data",
		                    (int)(tl > 40 ? 40 : tl), t);
	while (is_blank(*p))
		p++;
	c = p;
	cl = strcspn(c, "\r\n");
	if (c[cl] && c[cl + strspn(c + cl, "\r\n")])
		return dk_error_set(DK_EINVALID,
		                    "SSH public key spans several lines");
	while (cl && is_blank(c[cl - 1]))
		cl--;
	if ((rc = dk_sshkey__b64_decode(&blob, &bloblen, b, bl)) < 0)
		return dk_error_set(DK_EINVALID,
		                    "SSH public key data is not base64");
	if ((rc = dk_sshkey_from_blob(&k, blob, bloblen)) < 0)
		goto done;
	if (strlen(k->type) != tl || memcmp(k->type, t, tl)) {
		rc = dk_error_set(DK_EINVALID,
		                  "SSH public key says '%.*s' but its data is "
		                  "'%s'",
		                  (int)(tl > 40 ? 40 : tl), t, k->type);
		goto done;
	}
	free(k->comment);
	if (!(k->comment = strndup(c, cl))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	*out = k;
	k = NULL;
done:
	dk_sshkey_free(k);
	free(blob);
	return rc;
}

int dk_sshkey_load_public(dk_sshkey **out, const char *path)
{
	char *buf = NULL, *line;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = dk_read_file(&buf, &len, path, 64 * 1024)) < 0)
		return rc;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return dk_error_set(DK_EINVALID, "%s: not a public key file",
		                    path);
	}
	/* The first line that is neither blank nor a comment. */
	line = buf;
	for (;;) {
		line += strspn(line, " \t\r\n");
		if (*line != '#')
			break;
		line += strcspn(line, "\n");
	}
	line[strcspn(line, "\n")] = '\0';
	if ((rc = dk_sshkey_parse(out, line)) < 0)
		dk_error_prefix("%s", path);
	free(buf);
	return rc;
}

const char *dk_sshkey_type(const dk_sshkey *key)
{
	return key->type;
}

enum dk_sshkey_kind dk_sshkey_kind(const dk_sshkey *key)
{
	return key->kind;
}

const char *dk_sshkey_comment(const dk_sshkey *key)
{
	return key->comment;
}

const unsigned char *dk_sshkey_blob(const dk_sshkey *key, size_t *len)
{
	*len = key->bloblen;
	return key->blob;
}

int dk_sshkey_equal(const dk_sshkey *a, const dk_sshkey *b)
{
	return a && b && a->bloblen == b->bloblen &&
	       !memcmp(a->blob, b->blob, a->bloblen);
}

unsigned dk_sshkey_bits(const dk_sshkey *key)
{
	return key->bits;
}

int dk_sshkey_fingerprint(char **out, const dk_sshkey *key)
{
	unsigned char md[32];
	char *b64 = NULL, *s;
	size_t n;
	int rc;

	*out = NULL;
	dk_sha256(md, key->blob, key->bloblen);
	if ((rc = dk_sshkey__b64_encode(&b64, md, sizeof(md))) < 0)
		return rc;
	n = strcspn(b64, "=");
	if (!(s = malloc(7 + n + 1))) {
		free(b64);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(s, "SHA256:", 7);
	memcpy(s + 7, b64, n);
	s[7 + n] = '\0';
	free(b64);
	*out = s;
	return 0;
}

int dk_sshkey_to_line(char **out, const dk_sshkey *key)
{
	char *b64 = NULL, *s;
	size_t tl = strlen(key->type), bl;
	int rc;

	*out = NULL;
	if ((rc = dk_sshkey__b64_encode(&b64, key->blob, key->bloblen)) < 0)
		return rc;
	bl = strlen(b64);
	if (!(s = malloc(tl + 1 + bl + 1))) {
		free(b64);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(s, key->type, tl);
	s[tl] = ' ';
	memcpy(s + tl + 1, b64, bl + 1);
	free(b64);
	*out = s;
	return 0;
}

/* Private keys. */

#define PRIV_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PRIV_END   "-----END OPENSSH PRIVATE KEY-----"
#define PRIV_MAGIC "openssh-key-v1"

void dk_sshkey_priv_free(dk_sshkey_priv *priv)
{
	if (!priv)
		return;
	dk_sshkey_free(priv->pub);
	explicit_bzero(priv, sizeof(*priv));
	free(priv);
}

const dk_sshkey *dk_sshkey_priv_public(const dk_sshkey_priv *priv)
{
	return priv->pub;
}

static int looks_like_public(const char *text, size_t len)
{
	static const char *const prefixes[] = { "ssh-", "ecdsa-", "sk-", NULL };
	int i;

	for (i = 0; prefixes[i]; i++)
		if (len >= strlen(prefixes[i]) &&
		    !memcmp(text, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* Check the unencrypted private section and copy the seed out. */
static int parse_private_section(dk_sshkey_priv *priv, struct dk_sshrd *r,
                                 const unsigned char *pk)
{
	uint32_t c1, c2;
	const unsigned char *p, *sk;
	size_t n, skl, i;

	if (dk_sshrd__u32(r, &c1) < 0 || dk_sshrd__u32(r, &c2) < 0)
		return dk_error_set(DK_EINVALID, "truncated private key");
	if (c1 != c2)
		return dk_error_set(DK_EINVALID,
		                    "private key check bytes differ (corrupt "
		                    "key)");
	if (dk_sshrd__expect(r, "ssh-ed25519") < 0 ||
	    dk_sshrd__string(r, &p, &n) < 0 || n != ED25519_PK_LEN ||
	    memcmp(p, pk, n) || dk_sshrd__string(r, &sk, &skl) < 0 ||
	    skl != 64 || memcmp(sk + 32, pk, 32) ||
	    dk_sshrd__string(r, &p, &n) < 0)
		return dk_error_set(DK_EINVALID,
		                    "private key does not match its public "
		                    "key or is corrupt");
	for (i = 0; i < r->len; i++)
		if (r->p[i] != (unsigned char)(i + 1))
			return dk_error_set(DK_EINVALID,
			                    "private key has bad padding");
	memcpy(priv->seed, sk, 32);
	return 0;
}

/* Derive the public key from the seed and compare it with the file's. */
static int check_seed(const dk_sshkey_priv *priv, const unsigned char *pk)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	                                              priv->seed, 32);
	unsigned char derived[32];
	size_t dl = sizeof(derived);
	int ok;

	ok = pkey && EVP_PKEY_get_raw_public_key(pkey, derived, &dl) == 1 &&
	     dl == 32 && !memcmp(derived, pk, 32);
	EVP_PKEY_free(pkey);
	if (!ok)
		return dk_error_set(DK_EINVALID,
		                    "private key does not match its public "
		                    "key");
	return 0;
}

int dk_sshkey_parse_private(dk_sshkey_priv **out, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *b, *e;
	unsigned char *raw = NULL;
	size_t rawlen = 0, n, pkl;
	struct dk_sshrd r, pr;
	const unsigned char *cipher, *kdf, *pub, *sec, *pk;
	size_t cl, kl, publ, secl;
	uint32_t nkeys;
	dk_sshkey_priv *priv = NULL;
	int rc = DK_EINVALID;

	*out = NULL;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	n = (size_t)(end - p);
	if (looks_like_public(p, n))
		return dk_error_set(DK_EREFUSED,
		                    "this is a public key; native signing "
		                    "needs the private key");
	if (n < strlen(PRIV_BEGIN) ||
	    memcmp(p, PRIV_BEGIN, strlen(PRIV_BEGIN))) {
		if (n > 11 && !memcmp(p, "-----BEGIN ", 11))
			return dk_error_set(DK_EREFUSED,
			                    "key is in PEM format; native "
			                    "signing needs an OpenSSH format "
			                    "key");
		return dk_error_set(DK_EINVALID, "not an OpenSSH private key");
	}
	b = p + strlen(PRIV_BEGIN);
	e = memmem(b, (size_t)(end - b), PRIV_END, strlen(PRIV_END));
	if (!e)
		return dk_error_set(DK_EINVALID,
		                    "OpenSSH private key has no end line");
	if (dk_sshkey__b64_decode(&raw, &rawlen, b, (size_t)(e - b)) < 0) {
		rc = dk_error_set(DK_EINVALID,
		                  "OpenSSH private key is not valid base64");
		goto done;
	}
	if (rawlen < sizeof(PRIV_MAGIC) ||
	    memcmp(raw, PRIV_MAGIC, sizeof(PRIV_MAGIC))) {
		rc = dk_error_set(DK_EINVALID,
		                  "not an openssh-key-v1 private key");
		goto done;
	}
	r.p = raw + sizeof(PRIV_MAGIC);
	r.len = rawlen - sizeof(PRIV_MAGIC);
	if (dk_sshrd__string(&r, &cipher, &cl) < 0 ||
	    dk_sshrd__string(&r, &kdf, &kl) < 0 ||
	    dk_sshrd__string(&r, &pk, &pkl) < 0 ||
	    dk_sshrd__u32(&r, &nkeys) < 0 ||
	    dk_sshrd__string(&r, &pub, &publ) < 0 ||
	    dk_sshrd__string(&r, &sec, &secl) < 0) {
		rc = dk_error_set(DK_EINVALID, "truncated OpenSSH private key");
		goto done;
	}
	if (nkeys != 1) {
		rc = dk_error_set(DK_EREFUSED,
		                  "key file holds %u keys; native signing "
		                  "needs exactly one",
		                  nkeys);
		goto done;
	}
	if (cl != 4 || memcmp(cipher, "none", 4)) {
		rc = dk_error_set(DK_EREFUSED,
		                  "key is encrypted with a passphrase "
		                  "(cipher %.*s); native signing needs an "
		                  "unencrypted key",
		                  (int)(cl > 32 ? 32 : cl), cipher);
		goto done;
	}
	if (kl != 4 || memcmp(kdf, "none", 4)) {
		rc = dk_error_set(DK_EINVALID,
		                  "unencrypted private key names a kdf");
		goto done;
	}
	if (!(priv = calloc(1, sizeof(*priv)))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	if ((rc = dk_sshkey_from_blob(&priv->pub, pub, publ)) < 0)
		goto done;
	if (priv->pub->kind != DK_SSHKEY_ED25519) {
		rc = dk_error_set(DK_EREFUSED,
		                  "key type %s is not supported for native "
		                  "signing (only ssh-ed25519)",
		                  priv->pub->type);
		goto done;
	}
	pr.p = sec;
	pr.len = secl;
	if (secl % 8) {
		rc = dk_error_set(DK_EINVALID,
		                  "private key section has a bad length");
		goto done;
	}
	/* The public key blob: string type, string pk; pk is the last 32. */
	if ((rc = parse_private_section(priv, &pr, pub + publ - 32)) < 0)
		goto done;
	if ((rc = check_seed(priv, pub + publ - 32)) < 0)
		goto done;
	*out = priv;
	priv = NULL;
	rc = 0;
done:
	dk_sshkey_priv_free(priv);
	if (raw) {
		explicit_bzero(raw, rawlen);
		free(raw);
	}
	return rc;
}

int dk_sshkey_load_private(dk_sshkey_priv **out, const char *path)
{
	char buf[PRIV_FILE_MAX];
	size_t n = 0;
	ssize_t got;
	struct stat st;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dk_error_set_errno(
		    errno == ENOENT ? DK_ENOTFOUND : DK_EIO, "%s", path);
	if (fstat(fd, &st) < 0) {
		rc = dk_error_set_errno(DK_EIO, "%s", path);
		close(fd);
		return rc;
	}
	while (n < sizeof(buf) &&
	       (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = dk_error_set_errno(DK_EIO, "%s", path);
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return rc;
		}
		n += (size_t)got;
	}
	close(fd);
	if (n == sizeof(buf))
		rc = dk_error_set(DK_EINVALID, "too large for a private key");
	else
		rc = dk_sshkey_parse_private(out, buf, n);
	explicit_bzero(buf, sizeof(buf));
	/* As ssh does: a private key others can read is not used. */
	if (rc == 0 && st.st_uid == getuid() && (st.st_mode & 077)) {
		dk_sshkey_priv_free(*out);
		*out = NULL;
		return dk_error_set(DK_EINVALID,
		                    "%s: permissions %04o are too open; a "
		                    "private key must be readable by its owner "
		                    "only (chmod 600)",
		                    path, (unsigned)(st.st_mode & 07777));
	}
	if (rc < 0)
		dk_error_prefix("%s", path);
	return rc;
}

/* Signatures. */

int dk_sshkey__sign(unsigned char **sigblob, size_t *siglen,
                    const dk_sshkey_priv *priv, const unsigned char *data,
                    size_t len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char sig[ED25519_SIG_LEN];
	size_t sl = sizeof(sig);
	struct dk_sshbuf b = { 0 };
	int rc = DK_ERROR;

	*sigblob = NULL;
	*siglen = 0;
	if (!(pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	                                          priv->seed, 32)) ||
	    !(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &sl, data, len) != 1 ||
	    sl != ED25519_SIG_LEN) {
		dk_error_set(DK_ERROR, "ed25519 signing failed in libcrypto");
		goto done;
	}
	dk_sshbuf__put_cstring(&b, "ssh-ed25519");
	dk_sshbuf__put_string(&b, sig, sl);
	if (b.oom) {
		dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	*sigblob = b.p;
	*siglen = b.len;
	b.p = NULL;
	rc = 0;
done:
	dk_sshbuf__free(&b);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

static int digest_verify(EVP_PKEY *pkey, const EVP_MD *md,
                         const unsigned char *sig, size_t sl,
                         const unsigned char *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sl, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int verify_ecdsa(const dk_sshkey *key, const unsigned char *s, size_t sl,
                        const unsigned char *data, size_t len)
{
	struct dk_sshrd r = { s, sl };
	const unsigned char *rp, *sp;
	size_t rl, sn;
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	const EVP_MD *md;
	int derlen, ok;

	if (dk_sshrd__string(&r, &rp, &rl) < 0 ||
	    dk_sshrd__string(&r, &sp, &sn) < 0 || r.len ||
	    !(br = mpint_positive(rp, rl)) || !(bs = mpint_positive(sp, sn))) {
		BN_free(br);
		return dk_error_set(DK_EINVALID,
		                    "malformed ECDSA signature value");
	}
	if (!(es = ECDSA_SIG_new()) || !ECDSA_SIG_set0(es, br, bs)) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(es);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0) {
		ECDSA_SIG_free(es);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	md = key->kind == DK_SSHKEY_ECDSA_P256   ? EVP_sha256()
	     : key->kind == DK_SSHKEY_ECDSA_P384 ? EVP_sha384()
	                                         : EVP_sha512();
	ok = digest_verify(key->pkey, md, der, (size_t)derlen, data, len);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok ? 0
	          : dk_error_set(DK_EREFUSED,
	                         "bad signature: %s signature does not verify",
	                         key->type);
}

static int verify_rsa(const dk_sshkey *key, const char *alg,
                      const unsigned char *s, size_t sl,
                      const unsigned char *data, size_t len)
{
	size_t modlen = (key->bits + 7) / 8;
	unsigned char *padded;
	const EVP_MD *md;
	int ok;

	if (!strcmp(alg, "rsa-sha2-256"))
		md = EVP_sha256();
	else if (!strcmp(alg, "rsa-sha2-512"))
		md = EVP_sha512();
	else
		return dk_error_set(DK_EINVALID,
		                    "RSA signature algorithm '%s' is not "
		                    "allowed (need rsa-sha2-256 or "
		                    "rsa-sha2-512)",
		                    alg);
	if (!sl || sl > modlen)
		return dk_error_set(DK_EINVALID,
		                    "RSA signature has a bad length");
	if (!(padded = calloc(1, modlen)))
		return dk_error_set(DK_ERROR, "out of memory");
	memcpy(padded + modlen - sl, s, sl);
	ok = digest_verify(key->pkey, md, padded, modlen, data, len);
	free(padded);
	return ok ? 0
	          : dk_error_set(DK_EREFUSED,
	                         "bad signature: %s signature does not verify",
	                         alg);
}

int dk_sshkey__verify(const dk_sshkey *key, const unsigned char *sigblob,
                      size_t siglen, const unsigned char *data, size_t len)
{
	struct dk_sshrd r = { sigblob, siglen };
	const unsigned char *tp, *s;
	size_t tl, sl;
	char alg[65];

	if (dk_sshrd__string(&r, &tp, &tl) < 0 || !tl || tl >= sizeof(alg) ||
	    dk_sshrd__string(&r, &s, &sl) < 0 || r.len)
		return dk_error_set(DK_EINVALID, "malformed signature blob");
	if (!key->pkey && key->kind != DK_SSHKEY_OTHER) {
		dk_sshkey *full = NULL;
		int rc = dk_sshkey_from_blob(&full, key->blob, key->bloblen);
		if (rc == 0)
			rc =
			    dk_sshkey__verify(full, sigblob, siglen, data, len);
		dk_sshkey_free(full);
		return rc;
	}
	memcpy(alg, tp, tl);
	alg[tl] = '\0';
	if (memchr(alg, '\0', tl))
		return dk_error_set(DK_EINVALID, "malformed signature blob");
	switch (key->kind) {
	case DK_SSHKEY_ED25519:
		if (strcmp(alg, "ssh-ed25519"))
			break;
		if (sl != ED25519_SIG_LEN)
			return dk_error_set(DK_EINVALID,
			                    "ed25519 signature has a bad "
			                    "length");
		if (!digest_verify(key->pkey, NULL, s, sl, data, len))
			return dk_error_set(DK_EREFUSED,
			                    "bad signature: ed25519 signature "
			                    "does not verify");
		return 0;
	case DK_SSHKEY_ECDSA_P256:
	case DK_SSHKEY_ECDSA_P384:
	case DK_SSHKEY_ECDSA_P521:
		if (strcmp(alg, key->type))
			break;
		return verify_ecdsa(key, s, sl, data, len);
	case DK_SSHKEY_RSA:
		if (strncmp(alg, "rsa-sha2-", 9) && strcmp(alg, "ssh-rsa"))
			break;
		return verify_rsa(key, alg, s, sl, data, len);
	case DK_SSHKEY_OTHER:
		return dk_error_set(DK_EINVALID,
		                    "key type %s cannot be verified natively",
		                    key->type);
	}
	return dk_error_set(DK_EINVALID,
	                    "signature algorithm '%s' does not match key type "
	                    "%s",
	                    alg, key->type);
}
