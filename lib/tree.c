/* Raw git trees: parse entries, and write a tree with one entry set. */
#include "tree.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dk_tree_next(struct dk_tent *e, const unsigned char **p,
                 const unsigned char *end)
{
	const unsigned char *q = *p, *sp, *nul;

	if (q >= end)
		return 0;
	sp = memchr(q, ' ', (size_t)(end - q));
	if (!sp)
		return -1;
	nul = memchr(sp, '\0', (size_t)(end - sp));
	if (!nul || nul + 21 > end)
		return -1;
	e->mode = 0;
	for (; q < sp; q++) {
		if (*q < '0' || *q > '7')
			return -1;
		e->mode = e->mode * 8 + (unsigned)(*q - '0');
	}
	e->name = (const char *)sp + 1;
	e->namelen = (size_t)(nul - sp - 1);
	e->id = nul + 1;
	*p = nul + 21;
	return 1;
}

static int name_cmp(const char *a, size_t al, unsigned am, const char *b,
                    size_t bl, unsigned bm)
{
	size_t len = al < bl ? al : bl;
	int c = memcmp(a, b, len);
	unsigned char c1, c2;

	if (c)
		return c;
	c1 = al > len ? (unsigned char)a[len] : (am == 040000 ? '/' : 0);
	c2 = bl > len ? (unsigned char)b[len] : (bm == 040000 ? '/' : 0);
	return c1 < c2 ? -1 : c1 > c2;
}

/* "100644 ", "40000 ", ...: git writes modes in octal, unpadded */
static size_t put_mode(unsigned char *out, unsigned mode)
{
	char tmp[12];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + (mode & 7));
		mode >>= 3;
	} while (mode && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)tmp[n - 1 - i];
	out[n] = ' ';
	return n + 1;
}

int dk_tree_with(unsigned char **out, size_t *outlen, const unsigned char *base,
                 size_t baselen, const char *name, unsigned mode,
                 const unsigned char id[20])
{
	const unsigned char *p = base, *end = base + baselen;
	size_t nl = strlen(name), cap = baselen + nl + 32, o = 0;
	unsigned char *buf = malloc(cap);
	struct dk_tent e;
	int placed = 0, k;

	if (!buf)
		return dk_error_set(DK_ERROR, "out of memory");
#define EMIT(m, nm, nlen, eid)                                                 \
	do {                                                                   \
		o += put_mode(buf + o, (m));                                   \
		memcpy(buf + o, (nm), (nlen));                                 \
		o += (nlen);                                                   \
		buf[o++] = '\0';                                               \
		memcpy(buf + o, (eid), 20);                                    \
		o += 20;                                                       \
	} while (0)
	while (base && (k = dk_tree_next(&e, &p, end)) > 0) {
		int c = name_cmp(e.name, e.namelen, e.mode, name, nl, mode);

		if (!placed && c >= 0) {
			EMIT(mode, name, nl, id);
			placed = 1;
			if (c == 0)
				continue;
		}
		EMIT(e.mode, e.name, e.namelen, e.id);
	}
	if (!placed)
		EMIT(mode, name, nl, id);
#undef EMIT
	*out = buf;
	*outlen = o;
	return 0;
}
