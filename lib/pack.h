#ifndef DK_PACK_H
#define DK_PACK_H

#include <stddef.h>

/*
 * docket writes each append's objects (blob, trees, commit) as one small
 * git pack, so an append costs a handful of files instead of one per
 * object, and merges small packs into larger ones (without deltas, by
 * copying entries) so that readers never face many packs. Packs with
 * deltas (made by git gc) or a .keep file are left alone.
 */

enum dk_obj_type { DK_OBJ_COMMIT = 1, DK_OBJ_TREE = 2, DK_OBJ_BLOB = 3 };

struct dk_obj {
	enum dk_obj_type type;
	const unsigned char *data; /* borrowed */
	size_t len;
	unsigned char id[20]; /* filled by dk_obj_hash */
};

/* The git object id: SHA-1 of "TYPE LEN\0" + data. */
void dk_obj_hash(struct dk_obj *o);

/* What a keep file docket made says (and how docket knows its own). */
#define DK_PACK_KEEP_MARK "docket: append in progress\n"

/*
 * Write objs as objects/pack/pack-HASH.{pack,idx} under objdir. With
 * do_fsync the files and the directory are durable on return. When keep
 * is not NULL (PATH_MAX bytes), a pack-HASH.keep is made before the pack
 * appears and its path returned in keep: the caller removes it once a
 * ref reaches the pack's objects. When keep holds a path on entry, that
 * file (a keep file docket made earlier, with DK_PACK_KEEP_MARK) is
 * renamed into place instead of a new one written.
 *
 * sparedir (may be NULL) is the spare pool: a directory on the same file
 * system as objdir, used by no one but docket appenders holding the
 * append lock. Pack and index are written over spare files there when
 * one is free, and dk_pack_maintain moves the files a merge made
 * redundant into it instead of unlinking them (see pack.c: freeing
 * blocks can cost a device discard each).
 */
int dk_pack_write(const char *objdir, const char *sparedir,
                  const struct dk_obj *objs, size_t n, int do_fsync,
                  char *keep);

/* Remove keep files docket left behind; call with the append lock held. */
void dk_pack_drop_stale_keeps(const char *objdir);

/*
 * Merge small docket packs: find the smallest level L such that at least
 * `fanin` packs are smaller than `base` * 8^L bytes, and merge those into
 * one; repeat while a merge is due. Best effort: returns the number of
 * merges, 0 when none was due, <0 on error (the ledger is intact either
 * way).
 */
int dk_pack_maintain(const char *objdir, const char *sparedir, int do_fsync,
                     int fanin, size_t base);

#endif
