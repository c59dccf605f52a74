#ifndef DK_TREE_H
#define DK_TREE_H

#include <stddef.h>

/*
 * Raw git tree objects, as docket's ledger layout uses them (internal).
 * An entry is "MODE NAME\0" followed by a 20-byte object id.
 */

struct dk_tent {
	unsigned mode;
	const char *name;
	size_t namelen;
	const unsigned char *id;
};

/* Parse the entry at *p (advanced past it): 1, 0 at the end, -1 when
 * malformed. The entry points into the buffer. */
int dk_tree_next(struct dk_tent *e, const unsigned char **p,
                 const unsigned char *end);

/*
 * *out = base (may be NULL: empty) with entry `name` set to (mode, id),
 * in git's tree order; malloc'd, the caller frees.
 */
int dk_tree_with(unsigned char **out, size_t *outlen, const unsigned char *base,
                 size_t baselen, const char *name, unsigned mode,
                 const unsigned char id[20]);

#endif
