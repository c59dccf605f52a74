#include "sha.h"

#include <string.h>

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* The buffering both hashes share: whole 64-byte blocks go to block(). */
static void feed(uint32_t *h, uint64_t *total, unsigned char buf[64], size_t *n,
                 const void *data, size_t len,
                 void (*block)(uint32_t *, const unsigned char *))
{
	const unsigned char *p = data;

	*total += len;
	if (*n) {
		size_t take = 64 - *n < len ? 64 - *n : len;
		memcpy(buf + *n, p, take);
		*n += take;
		p += take;
		len -= take;
		if (*n < 64)
			return;
		block(h, buf);
		*n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		block(h, p);
	memcpy(buf, p, len);
	*n = len;
}

/* Padding and the length in bits, then the last block(s). */
static void finish(uint32_t *h, uint64_t total, unsigned char buf[64], size_t n,
                   void (*block)(uint32_t *, const unsigned char *))
{
	buf[n++] = 0x80;
	if (n > 56) {
		memset(buf + n, 0, 64 - n);
		block(h, buf);
		n = 0;
	}
	memset(buf + n, 0, 56 - n);
	put_be64(buf + 56, total * 8);
	block(h, buf);
}

/* --- SHA-1 (FIPS 180-4) --------------------------------------------- */

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (i = 0; i < 80; i++) {
		uint32_t f, k;

		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = ROL(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = ROL(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void dk_sha1_init(struct dk_sha1 *c)
{
	static const uint32_t iv[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
		                        0x10325476, 0xc3d2e1f0 };

	memcpy(c->h, iv, sizeof(iv));
	c->len = 0;
	c->n = 0;
}

void dk_sha1_update(struct dk_sha1 *c, const void *data, size_t len)
{
	feed(c->h, &c->len, c->buf, &c->n, data, len, sha1_block);
}

void dk_sha1_final(unsigned char out[20], struct dk_sha1 *c)
{
	int i;

	finish(c->h, c->len, c->buf, c->n, sha1_block);
	for (i = 0; i < 5; i++)
		put_be32(out + 4 * i, c->h[i]);
}

/* --- SHA-256 (FIPS 180-4) ------------------------------------------- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], s[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 64; i++) {
		uint32_t s0 =
		    ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 =
		    ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(s, h, sizeof(s));
	for (i = 0; i < 64; i++) {
		uint32_t S1 = ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25);
		uint32_t ch = (s[4] & s[5]) ^ (~s[4] & s[6]);
		uint32_t S0 = ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22);
		uint32_t mj = (s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]);

		t1 = s[7] + S1 + ch + K256[i] + w[i];
		t2 = S0 + mj;
		s[7] = s[6];
		s[6] = s[5];
		s[5] = s[4];
		s[4] = s[3] + t1;
		s[3] = s[2];
		s[2] = s[1];
		s[1] = s[0];
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += s[i];
}

void dk_sha256_init(struct dk_sha256 *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
		                        0xa54ff53a, 0x510e527f, 0x9b05688c,
		                        0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, iv, sizeof(iv));
	c->len = 0;
	c->n = 0;
}

void dk_sha256_update(struct dk_sha256 *c, const void *data, size_t len)
{
	feed(c->h, &c->len, c->buf, &c->n, data, len, sha256_block);
}

void dk_sha256_final(unsigned char out[32], struct dk_sha256 *c)
{
	int i;

	finish(c->h, c->len, c->buf, c->n, sha256_block);
	for (i = 0; i < 8; i++)
		put_be32(out + 4 * i, c->h[i]);
}
