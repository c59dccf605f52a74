#ifndef DK_YAMLTREE_H
#define DK_YAMLTREE_H

#include <stddef.h>

/*
 * A strict YAML reader for workflow files, built on libyaml's event API.
 * It produces a small tree of scalars, mappings and sequences, each node
 * carrying its 1-based line and column, and collects every problem it can
 * find as a located diagnostic instead of stopping at the first.
 *
 * Refused, each with a diagnostic: files over DK_YAML_MAX_BYTES, invalid
 * UTF-8 or NUL bytes, anchors and aliases, explicit tags, more than one
 * document, nesting deeper than DK_YAML_MAX_DEPTH, more than
 * DK_YAML_MAX_ITEMS entries in one mapping or sequence, more than
 * DK_YAML_MAX_NODES nodes in all, non-scalar or empty mapping keys and
 * duplicate keys. Depth and counts are checked as events arrive, so a
 * hostile file is refused after reading at most its first few hundred
 * events, and memory stays bounded by the size limit.
 *
 * Ownership: dk_yaml_parse gives the caller the whole tree, freed at once
 * with dk_ynode_free. Diagnostics are owned by the dk_diags that holds
 * them and freed with dk_diags_clear.
 */

#define DK_YAML_MAX_BYTES (1024 * 1024) /* 1 MiB */
#define DK_YAML_MAX_DEPTH 32
#define DK_YAML_MAX_ITEMS 1000
#define DK_YAML_MAX_NODES 50000
#define DK_DIAGS_MAX      100 /* further diagnostics are counted, not kept */

enum dk_ynode_type { DK_YSCALAR, DK_YMAP, DK_YSEQ };

struct dk_ynode {
	enum dk_ynode_type type;
	int line, col; /* 1-based */
	/* Scalars: the value (NUL-terminated), how it was written. */
	char *str;
	size_t len;
	int plain; /* unquoted, so its type is inferred (number, bool...) */
	int block; /* literal (|) or folded (>) block scalar */
	/* Mappings: keys[i] (scalars) map to items[i]; sequences: items. */
	size_t n;
	struct dk_ynode **keys;
	struct dk_ynode **items;
};

struct dk_diag {
	int line, col;
	char *msg;
};

struct dk_diags {
	struct dk_diag *v;
	size_t n, cap;
	size_t dropped; /* diagnostics past DK_DIAGS_MAX */
};

#define DK_DIAGS_INIT                                                          \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

void dk_diags_add(struct dk_diags *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sort by position (stable) and drop exact duplicates. */
void dk_diags_sort(struct dk_diags *d);
void dk_diags_clear(struct dk_diags *d);

/*
 * Parse buf (len bytes) into *out. Returns 0 with a tree, or DK_EINVALID
 * with at least one diagnostic added to d and *out NULL (the tree is only
 * returned when the file is well-formed YAML within the limits).
 */
int dk_yaml_parse(struct dk_ynode **out, const char *buf, size_t len,
                  struct dk_diags *d);
void dk_ynode_free(struct dk_ynode *n);

/* The value of key in mapping map, or NULL; *key_out gets the key node. */
const struct dk_ynode *dk_ynode_get(const struct dk_ynode *map,
                                    const char *key);
/* "a mapping", "a sequence", "a string", "a number" ... for messages. */
const char *dk_ynode_describe(const struct dk_ynode *n);

/* Edit distance, capped at cap+1 (for "did you mean"). */
size_t dk_edit_distance(const char *a, const char *b, size_t cap);
/* The candidate nearest to word, or NULL if none is close enough. */
const char *dk_nearest(const char *word, const char *const *cands, size_t n);

#endif
