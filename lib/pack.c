#include "pack.h"
#include "error.h"
#include "sha.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MERGE_MAX_BYTES (64u * 1024 * 1024)

static const char *type_name(enum dk_obj_type t)
{
	return t == DK_OBJ_COMMIT ? "commit"
	       : t == DK_OBJ_TREE ? "tree"
	                          : "blob";
}

void dk_obj_hash(struct dk_obj *o)
{
	struct dk_sha1 c;
	char hdr[32];
	int n =
	    snprintf(hdr, sizeof(hdr), "%s %zu", type_name(o->type), o->len);

	dk_sha1_init(&c);
	dk_sha1_update(&c, hdr, (size_t)n + 1);
	dk_sha1_update(&c, o->data, o->len);
	dk_sha1_final(o->id, &c);
}

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static int buf_grow(struct buf *b, size_t more)
{
	size_t nc;
	unsigned char *np;

	if (b->len + more <= b->cap)
		return 0;
	nc = b->cap ? b->cap : 4096;
	while (nc < b->len + more)
		nc *= 2;
	np = realloc(b->p, nc);
	if (!np)
		return dk_error_set(DK_ERROR, "out of memory");
	b->p = np;
	b->cap = nc;
	return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static int buf_be32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24),
		               (unsigned char)(v >> 16),
		               (unsigned char)(v >> 8), (unsigned char)v };
	return buf_put(b, x, 4);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void sha1(unsigned char out[20], const void *d, size_t n)
{
	struct dk_sha1 c;

	dk_sha1_init(&c);
	dk_sha1_update(&c, d, n);
	dk_sha1_final(out, &c);
}

/* One entry of an index being built. */
struct ent {
	unsigned char id[20];
	uint32_t crc;
	uint64_t off;
};

static int ent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ent *)a)->id, ((const struct ent *)b)->id,
	              20);
}

static int build_idx(struct buf *idx, struct ent *e, size_t n,
                     const unsigned char pack_sum[20])
{
	static const unsigned char magic[8] = {
		0xff, 't', 'O', 'c', 0, 0, 0, 2
	};
	uint32_t fan[256] = { 0 }, nlarge = 0;
	unsigned char sum[20];
	size_t i;

	qsort(e, n, sizeof(*e), ent_cmp);
	for (i = 0; i < n; i++)
		fan[e[i].id[0]]++;
	for (i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	if (buf_put(idx, magic, 8) < 0)
		return -1;
	for (i = 0; i < 256; i++)
		buf_be32(idx, fan[i]);
	for (i = 0; i < n; i++)
		buf_put(idx, e[i].id, 20);
	for (i = 0; i < n; i++)
		buf_be32(idx, e[i].crc);
	for (i = 0; i < n; i++) {
		if (e[i].off < 0x80000000u)
			buf_be32(idx, (uint32_t)e[i].off);
		else
			buf_be32(idx, 0x80000000u | nlarge++);
	}
	for (i = 0; i < n; i++) {
		if (e[i].off >= 0x80000000u) {
			buf_be32(idx, (uint32_t)(e[i].off >> 32));
			buf_be32(idx, (uint32_t)e[i].off);
		}
	}
	buf_put(idx, pack_sum, 20);
	if (!idx->p)
		return dk_error_set(DK_ERROR, "out of memory");
	sha1(sum, idx->p, idx->len);
	return buf_put(idx, sum, 20);
}

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --- the spare pool ---------------------------------------------------
 *
 * Freeing a file's blocks can cost far more than writing them: ext4
 * mounted with `discard` (usual on virtual disks and SSDs) sends the
 * device a discard for every extent it frees, and waits for it (about
 * 1 ms each here; see docs/design.md "Cost of a branch move"). Every
 * append wrote two new files (pack and index) and every merge deleted
 * them again, so each append paid for two discards. Instead, files a
 * merge no longer needs are renamed into GITDIR/docket/spare/, outside
 * objects/ where neither git nor libgit2 looks, and the next pack or
 * index is written over one of them in place.
 *
 * A file may be overwritten only when nobody can be reading it: a
 * reader that opened or mapped the pack before the merge renamed it away
 * may still hold it. Linux grants a write lease (F_SETLEASE) only when no
 * other open file description exists for the file, which counts
 * mappings, so a spare is taken only after a lease was granted on it;
 * once it is out of objects/pack nothing can open it again except a
 * docket appender, which holds the ledger's append lock. A busy spare is
 * left for a later append; without leases (another file system, another
 * owner) the pool is not used and merged files are unlinked as before.
 */
#define SPARE_FILES     64          /* at most this many in the pool */
#define SPARE_MAX_BYTES (64 * 1024) /* larger files are unlinked */
#define SPARE_TRIES     4           /* busy spares tried per file */
#define SPARE_BLOCK     4096

struct spare {
	char name[80];
	size_t blocks;
};

/* The pool as one write or merge sees it: listed once, on first use. */
struct pool {
	const char *dir; /* NULL: no pool */
	int listed;
	int no_leases; /* a lease was refused for a reason other than use */
	struct spare sp[SPARE_FILES]; /* candidates not tried yet */
	size_t n;
	size_t files; /* files in the directory */
};

/* The pool's files, by name: "NNNN-ORIGINAL", NNNN its size in blocks. */
static void pool_list(struct pool *p)
{
	struct dirent *e;
	DIR *d;

	if (p->listed)
		return;
	p->listed = 1;
	d = opendir(p->dir);
	if (!d)
		return;
	while ((e = readdir(d)) && p->n < SPARE_FILES) {
		char *end;
		unsigned long b = strtoul(e->d_name, &end, 10);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end != '-' ||
		    strlen(e->d_name) >= sizeof(p->sp[0].name))
			continue;
		snprintf(p->sp[p->n].name, sizeof(p->sp[0].name), "%s",
		         e->d_name);
		p->sp[p->n].blocks = b;
		p->n++;
	}
	closedir(d);
	p->files = p->n;
}

static size_t blocks_of(size_t len)
{
	return (len + SPARE_BLOCK - 1) / SPARE_BLOCK;
}

/*
 * Open a spare that no one else has open, for len bytes of new content:
 * one as large in blocks as len needs, else the largest smaller one (it
 * grows; a larger one would free blocks when cut short). Returns an fd
 * (its path in path) or -1 when none is free.
 */
static int spare_take(struct pool *p, size_t len, char *path, size_t pathsz)
{
	size_t need = blocks_of(len);
	int tries = 0;

	if (!p->dir || p->no_leases)
		return -1;
	pool_list(p);
	while (p->n && tries < SPARE_TRIES) {
		size_t i, best = p->n;
		struct stat st;
		int fd;

		for (i = 0; i < p->n; i++) {
			if (p->sp[i].blocks > need)
				continue;
			if (best == p->n ||
			    p->sp[i].blocks > p->sp[best].blocks)
				best = i;
		}
		if (best == p->n)
			return -1;
		snprintf(path, pathsz, "%s/%s", p->dir, p->sp[best].name);
		p->sp[best] = p->sp[--p->n];
		tries++;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == EACCES && chmod(path, 0600) == 0)
			/* killed between the rename into the pool and its
			 * chmod: still read-only */
			fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid()) {
			close(fd); /* not docket's: leave it be */
			continue;
		}
		if (st.st_nlink != 1) {
			/* linked elsewhere too (a crash between the two halves
			 * of a rename, repaired by fsck): not a spare */
			close(fd);
			if (unlink(path) == 0)
				p->files--;
			continue;
		}
		if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
			if (errno != EAGAIN)
				p->no_leases = 1;
			close(fd);
			if (p->no_leases)
				return -1;
			continue; /* busy: left for a later append */
		}
		fcntl(fd, F_SETLEASE, F_UNLCK);
		p->files--;
		return fd;
	}
	return -1;
}

/* A file no pack needs any more: into the pool, or unlinked. */
static void spare_put(struct pool *p, const char *path)
{
	char dst[PATH_MAX];
	const char *base = strrchr(path, '/');
	struct stat st;

	if (!p->dir || lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > SPARE_MAX_BYTES || st.st_nlink != 1 ||
	    st.st_uid != geteuid())
		goto drop;
	pool_list(p);
	if (p->files >= SPARE_FILES)
		goto drop;
	snprintf(dst, sizeof(dst), "%s/%04zu-%s", p->dir,
	         blocks_of((size_t)st.st_size), base ? base + 1 : path);
	if (rename(path, dst) < 0) {
		if (errno != ENOENT || mkdir(p->dir, 0755) < 0 ||
		    rename(path, dst) < 0)
			goto drop;
	}
	/* written over later: writable by its owner again */
	chmod(dst, 0600);
	p->files++;
	return;
drop:
	unlink(path);
}

/* Write data to a file in dir named name: over a spare from sparedir
 * when one is free, else a new temporary file; then rename it. */
static int put_file(const char *dir, const char *name, const void *data,
                    size_t len, int do_fsync, struct pool *pool)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd = -1;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (pool) {
		fd = spare_take(pool, len, tmp, sizeof(tmp));
		if (fd >= 0 && ftruncate(fd, (off_t)len) < 0) {
			close(fd);
			unlink(tmp);
			fd = -1;
		}
	}
	if (fd < 0) {
		snprintf(tmp, sizeof(tmp), "%s/tmp_docket_XXXXXX", dir);
		fd = mkstemp(tmp);
	}
	if (fd < 0)
		return dk_error_set_errno(DK_EIO, "cannot create %s", tmp);
	if (write_all(fd, data, len) < 0 || (do_fsync && fsync(fd) < 0)) {
		dk_error_set_errno(DK_EIO, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		return DK_EIO;
	}
	if (fchmod(fd, 0444) < 0 || close(fd) < 0) {
		dk_error_set_errno(DK_EIO, "cannot write %s", tmp);
		unlink(tmp);
		return DK_EIO;
	}
	if (rename(tmp, dst) < 0) {
		dk_error_set_errno(DK_EIO, "cannot rename %s", tmp);
		unlink(tmp);
		return DK_EIO;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return dk_error_set_errno(DK_EIO, "cannot open %s", dir);
	if (fsync(fd) < 0) {
		dk_error_set_errno(DK_EIO, "cannot fsync %s", dir);
		close(fd);
		return DK_EIO;
	}
	close(fd);
	return 0;
}

/* Pack and index bytes are complete; give them their names. */
static int publish(const char *objdir, struct buf *pack, struct buf *idx,
                   const unsigned char sum[20], int do_fsync, char *keep,
                   struct pool *pool)
{
	char dir[PATH_MAX], name[64], hex[41];
	int rc;

	snprintf(dir, sizeof(dir), "%s/pack", objdir);
	/* (a lookup, not a mkdir: mkdir of an existing directory asks the
	 * file system for write access, which waits on its journal) */
	if (access(dir, F_OK) < 0) {
		if (mkdir(dir, 0755) == 0) {
			/* a new directory is durable once its parent is */
			if (do_fsync && (rc = fsync_dir(objdir)) < 0)
				return rc;
		} else if (errno != EEXIST) {
			return dk_error_set_errno(DK_EIO, "cannot create %s",
			                          dir);
		}
	}
	dk_hex(hex, sum, 20);
	if (keep) {
		/* held until the branch names the pack's commit, so that a
		 * concurrent git repack cannot drop objects nothing reaches
		 * yet (git's receive-pack does the same); a spare one, when
		 * given, is renamed into place: no block to allocate now or
		 * to free (and discard) later */
		char spare[PATH_MAX];

		snprintf(spare, sizeof(spare), "%s", keep);
		snprintf(keep, PATH_MAX, "%s/pack-%s.keep", dir, hex);
		if ((!spare[0] || rename(spare, keep) < 0) &&
		    (rc = put_file(dir, strrchr(keep, '/') + 1,
		                   DK_PACK_KEEP_MARK, strlen(DK_PACK_KEEP_MARK),
		                   0, NULL)) < 0) {
			keep[0] = '\0';
			return rc;
		}
	}
	/* the pack first: a reader finds packs through their index */
	snprintf(name, sizeof(name), "pack-%s.pack", hex);
	if ((rc = put_file(dir, name, pack->p, pack->len, do_fsync, pool)) < 0)
		return rc;
	snprintf(name, sizeof(name), "pack-%s.idx", hex);
	if ((rc = put_file(dir, name, idx->p, idx->len, do_fsync, pool)) < 0)
		return rc;
	if (do_fsync && (rc = fsync_dir(dir)) < 0)
		return rc;
	return 0;
}

static int entry_header(unsigned char *out, enum dk_obj_type t, size_t size)
{
	int n = 0;
	unsigned char c = (unsigned char)((t << 4) | (size & 15));

	size >>= 4;
	while (size) {
		out[n++] = c | 0x80;
		c = size & 0x7f;
		size >>= 7;
	}
	out[n++] = c;
	return n;
}

int dk_pack_write(const char *objdir, const char *sparedir,
                  const struct dk_obj *objs, size_t n, int do_fsync, char *keep)
{
	struct buf pack = { 0 }, idx = { 0 };
	struct ent *ents = calloc(n ? n : 1, sizeof(*ents));
	unsigned char sum[20];
	size_t i, j, k = 0;
	int rc = DK_ERROR;

	if (!ents)
		return dk_error_set(DK_ERROR, "out of memory");
	buf_put(&pack, "PACK", 4);
	buf_be32(&pack, 2);
	buf_be32(&pack, 0); /* count, patched below */
	for (i = 0; i < n; i++) {
		unsigned char hdr[16];
		uLongf clen;
		int hl, dup = 0;

		for (j = 0; j < k; j++)
			if (!memcmp(ents[j].id, objs[i].id, 20))
				dup = 1;
		if (dup)
			continue;
		hl = entry_header(hdr, objs[i].type, objs[i].len);
		clen = compressBound((uLong)objs[i].len);
		if (buf_grow(&pack, (size_t)hl + clen) < 0)
			goto out;
		memcpy(ents[k].id, objs[i].id, 20);
		ents[k].off = pack.len;
		memcpy(pack.p + pack.len, hdr, (size_t)hl);
		if (compress2(pack.p + pack.len + hl, &clen, objs[i].data,
		              (uLong)objs[i].len, Z_BEST_SPEED) != Z_OK) {
			dk_error_set(DK_ERROR, "zlib failed");
			goto out;
		}
		ents[k].crc = (uint32_t)crc32(0, pack.p + pack.len,
		                              (uInt)((size_t)hl + clen));
		pack.len += (size_t)hl + clen;
		k++;
	}
	if (!pack.p)
		goto out;
	pack.p[8] = (unsigned char)(k >> 24);
	pack.p[9] = (unsigned char)(k >> 16);
	pack.p[10] = (unsigned char)(k >> 8);
	pack.p[11] = (unsigned char)k;
	sha1(sum, pack.p, pack.len);
	if (buf_put(&pack, sum, 20) < 0 || build_idx(&idx, ents, k, sum) < 0)
		goto out;
	{
		struct pool pool = { .dir = sparedir };

		rc = publish(objdir, &pack, &idx, sum, do_fsync, keep, &pool);
	}
out:
	free(pack.p);
	free(idx.p);
	free(ents);
	return rc;
}

/* --- merging --------------------------------------------------------- */

struct src {
	char base[PATH_MAX]; /* .../pack-HASH without suffix */
	size_t count;
	size_t bytes;
	const unsigned char *idx, *pack;
	size_t idxlen, packlen;
	int used;
};

static void src_unmap(struct src *s)
{
	if (s->idx)
		munmap((void *)s->idx, s->idxlen);
	if (s->pack)
		munmap((void *)s->pack, s->packlen);
	s->idx = s->pack = NULL;
}

static const unsigned char *map_file(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return p;
}

static int src_map(struct src *s)
{
	char p[PATH_MAX + 8];

	snprintf(p, sizeof(p), "%s.idx", s->base);
	s->idx = map_file(p, &s->idxlen);
	snprintf(p, sizeof(p), "%s.pack", s->base);
	s->pack = map_file(p, &s->packlen);
	if (!s->idx || !s->pack || s->idxlen < 8 + 1024 + 40 ||
	    memcmp(s->idx, "\377tOc\0\0\0\2", 8) || s->packlen < 32 ||
	    memcmp(s->pack, "PACK\0\0\0\2", 8)) {
		src_unmap(s);
		return -1;
	}
	s->count = get_be32(s->idx + 8 + 255 * 4);
	if (s->idxlen < 8 + 1024 + s->count * 28 + 40) {
		src_unmap(s);
		return -1;
	}
	return 0;
}

static uint64_t src_off(const struct src *s, size_t i)
{
	const unsigned char *offs = s->idx + 8 + 1024 + s->count * 24;
	uint32_t o = get_be32(offs + 4 * i);

	if (o & 0x80000000u) {
		const unsigned char *large =
		    offs + 4 * s->count + 8 * (o & 0x7fffffffu);
		return (uint64_t)get_be32(large) << 32 | get_be32(large + 4);
	}
	return o;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Merge the given packs into one by copying their (non-delta) entries. */
static int merge(const char *objdir, const char *sparedir, struct src **s,
                 size_t n, int do_fsync)
{
	struct pool pool = { .dir = sparedir };
	struct buf pack = { 0 }, idx = { 0 };
	struct ent *ents = NULL;
	size_t total = 0, i, j, k = 0;
	unsigned char sum[20];
	int rc = DK_ERROR;

	for (i = 0; i < n; i++)
		total += s[i]->count;
	ents = calloc(total ? total : 1, sizeof(*ents));
	if (!ents)
		return dk_error_set(DK_ERROR, "out of memory");
	buf_put(&pack, "PACK", 4);
	buf_be32(&pack, 2);
	buf_be32(&pack, 0);
	for (i = 0; i < n; i++) {
		struct src *p = s[i];
		uint64_t *sorted = malloc((p->count + 1) * sizeof(*sorted));
		const unsigned char *ids = p->idx + 8 + 1024;
		const unsigned char *crcs = ids + 20 * p->count;

		if (!sorted)
			goto out;
		for (j = 0; j < p->count; j++)
			sorted[j] = src_off(p, j);
		sorted[p->count] = p->packlen - 20;
		qsort(sorted, p->count + 1, sizeof(*sorted), u64_cmp);
		for (j = 0; j < p->count; j++) {
			uint64_t off = src_off(p, j), end, *hit;
			int type;

			hit = bsearch(&off, sorted, p->count + 1,
			              sizeof(*sorted), u64_cmp);
			if (!hit || off >= p->packlen - 20) {
				free(sorted);
				dk_error_set(DK_ERROR, "bad pack offset");
				goto out;
			}
			end = hit[1];
			type = (p->pack[off] >> 4) & 7;
			if (type < 1 || type > 4 || end <= off) {
				free(sorted);
				dk_error_set(DK_ERROR, "unexpected pack entry");
				goto out;
			}
			memcpy(ents[k].id, ids + 20 * j, 20);
			ents[k].crc = get_be32(crcs + 4 * j);
			ents[k].off = pack.len;
			if (buf_put(&pack, p->pack + off, (size_t)(end - off)) <
			    0) {
				free(sorted);
				goto out;
			}
			k++;
		}
		free(sorted);
	}
	/* drop duplicate ids, keeping the first copy */
	{
		struct ent *tmp = ents;
		size_t w = 0;

		qsort(tmp, k, sizeof(*tmp), ent_cmp);
		for (i = 0; i < k; i++)
			if (!w || memcmp(tmp[w - 1].id, tmp[i].id, 20))
				tmp[w++] = tmp[i];
		k = w;
	}
	pack.p[8] = (unsigned char)(total >> 24);
	pack.p[9] = (unsigned char)(total >> 16);
	pack.p[10] = (unsigned char)(total >> 8);
	pack.p[11] = (unsigned char)total;
	sha1(sum, pack.p, pack.len);
	if (buf_put(&pack, sum, 20) < 0 || build_idx(&idx, ents, k, sum) < 0)
		goto out;
	if (k != total) {
		/* duplicates: the pack's count must match its entries, so
		 * such sets are left for git gc */
		rc = 0;
		goto out;
	}
	if ((rc = publish(objdir, &pack, &idx, sum, do_fsync, NULL, &pool)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char p[PATH_MAX + 8];

		/* the index first, as git does: no reader finds a pack
		 * through an index whose pack is gone */
		snprintf(p, sizeof(p), "%s.idx", s[i]->base);
		spare_put(&pool, p);
		snprintf(p, sizeof(p), "%s.pack", s[i]->base);
		spare_put(&pool, p);
	}
	rc = 1;
out:
	free(pack.p);
	free(idx.p);
	free(ents);
	return rc;
}

/* Only packs docket itself could have written: no deltas, no .keep. */
static int eligible(struct src *s)
{
	char p[PATH_MAX + 8];
	size_t j;

	snprintf(p, sizeof(p), "%s.keep", s->base);
	if (access(p, F_OK) == 0)
		return 0;
	for (j = 0; j < s->count; j++) {
		uint64_t off = src_off(s, j);
		int type;

		if (off >= s->packlen)
			return 0;
		type = (s->pack[off] >> 4) & 7;
		if (type == 6 || type == 7)
			return 0;
	}
	return 1;
}

static int size_cmp(const void *a, const void *b)
{
	const struct src *x = a, *y = b;

	return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/* Remove keep files docket left behind (its caller holds the ledger's
 * append lock, so no docket append is in flight). */
void dk_pack_drop_stale_keeps(const char *objdir)
{
	char dir[PATH_MAX], p[PATH_MAX + 64], buf[64];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/pack", objdir);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		ssize_t n;
		int fd;

		if (len < 6 || strcmp(e->d_name + len - 5, ".keep"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == (ssize_t)strlen(DK_PACK_KEEP_MARK) &&
		    !memcmp(buf, DK_PACK_KEEP_MARK, (size_t)n))
			unlink(p);
	}
	closedir(d);
}

static int maintain_once(const char *objdir, const char *sparedir, int do_fsync,
                         int fanin, size_t base)
{
	char dir[PATH_MAX];
	struct src *all = NULL, **pick = NULL;
	size_t n = 0, cap = 0, i, m = 0, limit;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/pack", objdir);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char p[PATH_MAX];

		if (len != 50 || strncmp(e->d_name, "pack-", 5) ||
		    strcmp(e->d_name + 45, ".pack"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) < 0 || (size_t)st.st_size > MERGE_MAX_BYTES)
			continue;
		if (n == cap) {
			struct src *na;
			cap = cap ? cap * 2 : 32;
			na = realloc(all, cap * sizeof(*na));
			if (!na)
				break;
			all = na;
		}
		memset(&all[n], 0, sizeof(all[n]));
		snprintf(all[n].base, sizeof(all[n].base), "%s/%.45s", dir,
		         e->d_name);
		all[n].bytes = (size_t)st.st_size;
		n++;
	}
	closedir(d);
	if (n < (size_t)fanin)
		goto out;
	/* levels by size: the smallest level holding fanin packs merges */
	qsort(all, n, sizeof(*all), size_cmp);
	for (limit = base; limit <= MERGE_MAX_BYTES; limit *= 8) {
		for (m = 0; m < n && all[m].bytes < limit; m++)
			;
		if (m >= (size_t)fanin)
			break;
	}
	if (limit > MERGE_MAX_BYTES)
		goto out;
	pick = calloc(m, sizeof(*pick));
	if (!pick)
		goto out;
	{
		size_t k = 0, bytes = 0;

		for (i = 0; i < m; i++) {
			if (src_map(&all[i]) < 0 || !eligible(&all[i])) {
				src_unmap(&all[i]);
				continue;
			}
			if (bytes + all[i].bytes > MERGE_MAX_BYTES)
				break;
			bytes += all[i].bytes;
			pick[k++] = &all[i];
		}
		if (k >= 2)
			rc = merge(objdir, sparedir, pick, k, do_fsync);
	}
out:
	for (i = 0; i < n; i++)
		src_unmap(&all[i]);
	free(all);
	free(pick);
	return rc;
}

int dk_pack_maintain(const char *objdir, const char *sparedir, int do_fsync,
                     int fanin, size_t base)
{
	int rc, merges = 0;

	/* each merge may fill the next level; stop when none is due */
	while (merges < 8 && (rc = maintain_once(objdir, sparedir, do_fsync,
	                                         fanin, base)) > 0)
		merges++;
	return merges ? merges : rc;
}
