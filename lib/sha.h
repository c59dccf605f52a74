#ifndef DK_SHA_H
#define DK_SHA_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-1 (git object names) and SHA-256 (record hashes), built in so that
 * the ledger commands need not load libcrypto (about 1.4 ms per process).
 */

struct dk_sha1 {
	uint32_t h[5];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

struct dk_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

void dk_sha1_init(struct dk_sha1 *c);
void dk_sha1_update(struct dk_sha1 *c, const void *data, size_t len);
void dk_sha1_final(unsigned char out[20], struct dk_sha1 *c);

void dk_sha256_init(struct dk_sha256 *c);
void dk_sha256_update(struct dk_sha256 *c, const void *data, size_t len);
void dk_sha256_final(unsigned char out[32], struct dk_sha256 *c);

#endif
