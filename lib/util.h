#ifndef DK_UTIL_H
#define DK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Small helpers shared by the library. Strings returned through `out`
 * parameters are malloc'd and owned by the caller.
 */

/* SHA-256 of data as 64 lowercase hex digits plus NUL. */
void dk_sha256_hex(char out[65], const void *data, size_t len);
void dk_sha256(unsigned char out[32], const void *data, size_t len);
void dk_hex(char *out, const unsigned char *in, size_t n);
int dk_is_hex(const char *s, size_t n);

/*
 * The current time, seconds since the epoch. Honours DOCKET_TEST_NOW
 * (decimal seconds) so tests can move the clock; not for production use.
 */
int64_t dk_now(void);
/* RFC 3339 UTC, second resolution: "2026-11-21T20:46:02Z". */
void dk_format_time(char out[32], int64_t t);
/* Parse the form dk_format_time writes; 0 or DK_EINVALID. */
int dk_parse_time(int64_t *out, const char *s);

/* Fill buf with n random bytes from the kernel. */
int dk_random(void *buf, size_t n);

/* Read a whole file, at most max bytes (DK_EFULL past that). */
int dk_read_file(char **out, size_t *len, const char *path, size_t max);

/* Valid UTF-8 with no NUL bytes? */
int dk_utf8_valid(const char *s, size_t len);

/* Milliseconds on the monotonic clock. */
double dk_mono_ms(void);

#endif
