#include "ledger.h"
#include "error.h"
#include "pack.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LEVELS 5 /* trees from the root to the leaf holding the record */

enum sync_mode { SYNC_NONE, SYNC_FILE };

/* Small docket packs merge when this many are smaller than MERGE_BASE
 * bytes (then 8x that, and so on); checked every MERGE_FANIN appends. */
#define MERGE_FANIN 16
#define MERGE_BASE  (64 * 1024)

struct dk_ledger {
	git_repository *repo;
	char *path;
	char *gitdir;
	int dirfd;
	int lockfd;
	enum sync_mode sync;
	long lock_timeout_ms;
	char ledger_id[65];
	int format;
	/* the head as last seen by this process, to append without rereads */
	int cached;
	git_oid head;
	uint64_t seq;
	char hash[65];
	git_oid root;
	unsigned char *raw[LEVELS]; /* the head path's trees, raw */
	size_t rawlen[LEVELS];
	char comps[LEVELS][8];
	char *objdir;
	char *sparedir; /* GITDIR/docket/spare: files to write packs over */
	/* the branch moved but its lock file could not be removed: keep
	 * the intent line so that the next writer recovers the lock */
	int keep_intent;
};

static int git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return dk_error_set(code, "%s: %s", what,
	                    e && e->message ? e->message : "libgit2 error");
}

static int lib_init(void)
{
	static int done;

	if (done)
		return 0;
	if (git_libgit2_init() < 0)
		return git_fail(DK_ERROR, "libgit2 init");
	/* docket does its own durability barriers (see barrier()). */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	/* docket writes the objects a ref names itself, just before */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	done = 1;
	return 0;
}

void dk_record_path(char out[32], uint64_t seq)
{
	char d[16];

	snprintf(d, sizeof(d), "%010llu", (unsigned long long)seq);
	snprintf(out, 32, "%.2s/%.2s/%.2s/%.2s/%.2s.json", d, d + 2, d + 4,
	         d + 6, d + 8);
}

void dk_record_path_parts(char comps[LEVELS][8], uint64_t seq)
{
	int i;

	/* ten decimal digits, two per level */
	for (i = LEVELS - 1; i >= 0; i--) {
		comps[i][1] = (char)('0' + seq % 10);
		seq /= 10;
		comps[i][0] = (char)('0' + seq % 10);
		seq /= 10;
		comps[i][2] = '\0';
	}
	memcpy(comps[LEVELS - 1] + 2, ".json", 6);
}

static void cache_drop(struct dk_ledger *l)
{
	int i;

	for (i = 0; i < LEVELS; i++) {
		free(l->raw[i]);
		l->raw[i] = NULL;
		l->rawlen[i] = 0;
	}
	l->cached = 0;
}

void dk_record_free(struct dk_record *r)
{
	if (!r)
		return;
	json_decref(r->json);
	free(r->bytes);
	free(r);
}

static const char *str_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int dk_record_parse(struct dk_record **out, const char *bytes, size_t len)
{
	struct dk_record *r;
	json_error_t jerr;
	json_t *v;
	const char *prev;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return dk_error_set(DK_ERROR, "out of memory");
	r->bytes = malloc(len + 1);
	if (!r->bytes) {
		free(r);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(r->bytes, bytes, len);
	r->bytes[len] = '\0';
	r->len = len;
	dk_sha256_hex(r->hash, bytes, len);
	if (!dk_utf8_valid(bytes, len)) {
		dk_record_free(r);
		return dk_error_set(DK_ETAMPERED, "record is not valid UTF-8");
	}
	r->json = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r->json || !json_is_object(r->json)) {
		dk_error_set(DK_ETAMPERED, "record is not a JSON object: %s",
		             r->json ? "not an object" : jerr.text);
		dk_record_free(r);
		return DK_ETAMPERED;
	}
	v = json_object_get(r->json, "seq");
	prev = str_field(r->json, "prev");
	r->type = str_field(r->json, "type");
	r->actor = str_field(r->json, "actor");
	r->at = str_field(r->json, "at");
	r->body = json_object_get(r->json, "body");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || !prev ||
	    strlen(prev) != 64 || !dk_is_hex(prev, 64) || !r->type ||
	    !r->actor || !r->at || !json_is_object(r->body) ||
	    !json_is_integer(json_object_get(r->json, "v"))) {
		dk_record_free(r);
		return dk_error_set(DK_ETAMPERED,
		                    "record lacks a required field "
		                    "(v, seq, prev, type, at, actor, body)");
	}
	r->seq = (uint64_t)json_integer_value(v);
	memcpy(r->prev, prev, 65);
	*out = r;
	return 0;
}

static int remove_cb(const char *p, const struct stat *sb, int flag,
                     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *dk_ledger_discover(const char *explicit_path)
{
	const char *env = getenv("DOCKET_LEDGER");
	char cwd[PATH_MAX], try[PATH_MAX + 16];
	struct stat st;

	if (explicit_path && *explicit_path)
		return strdup(explicit_path);
	if (env && *env)
		return strdup(env);
	if (!getcwd(cwd, sizeof(cwd)))
		return strdup(".docket");
	for (;;) {
		char *slash;

		snprintf(try, sizeof(try), "%s/.docket", cwd);
		if (stat(try, &st) == 0 && S_ISDIR(st.st_mode))
			return strdup(try);
		slash = strrchr(cwd, '/');
		if (!slash || slash == cwd)
			break;
		*slash = '\0';
	}
	return strdup(".docket");
}

static void read_env(struct dk_ledger *l)
{
	const char *f = getenv("DOCKET_FSYNC");
	const char *t = getenv("DOCKET_LOCK_TIMEOUT");

	l->sync = SYNC_FILE;
	if (f && (!strcmp(f, "0") || !strcmp(f, "off") || !strcmp(f, "false")))
		l->sync = SYNC_NONE;
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, l->sync == SYNC_FILE);
	l->lock_timeout_ms = 10000;
	if (t && *t) {
		char *end;
		long v = strtol(t, &end, 10);
		if (!*end && v >= 0)
			l->lock_timeout_ms = v;
	}
}

void dk_ledger_set_fsync(struct dk_ledger *l, int on)
{
	l->sync = on ? SYNC_FILE : SYNC_NONE;
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, on);
}

static int open_dirs(struct dk_ledger *l)
{
	const char *gd = git_repository_path(l->repo);
	size_t n = strlen(gd);

	l->gitdir = strdup(gd);
	if (!l->gitdir)
		return dk_error_set(DK_ERROR, "out of memory");
	if (n > 1 && l->gitdir[n - 1] == '/')
		l->gitdir[n - 1] = '\0';
	l->dirfd = open(l->gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return dk_error_set_errno(DK_EIO, "%s", l->gitdir);
	l->objdir = malloc(strlen(l->gitdir) + 16);
	if (!l->objdir)
		return dk_error_set(DK_ERROR, "out of memory");
	snprintf(l->objdir, strlen(l->gitdir) + 16, "%s/objects", l->gitdir);
	l->sparedir = malloc(strlen(l->gitdir) + 16);
	if (!l->sparedir)
		return dk_error_set(DK_ERROR, "out of memory");
	snprintf(l->sparedir, strlen(l->gitdir) + 16, "%s/docket/spare",
	         l->gitdir);
	return 0;
}

void dk_ledger_free(struct dk_ledger *l)
{
	if (!l)
		return;
	cache_drop(l);
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	git_repository_free(l->repo);
	free(l->gitdir);
	free(l->objdir);
	free(l->sparedir);
	free(l->path);
	free(l);
}

static struct dk_ledger *ledger_new(const char *path)
{
	struct dk_ledger *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->dirfd = -1;
	l->lockfd = -1;
	l->path = strdup(path);
	if (!l->path) {
		free(l);
		return NULL;
	}
	read_env(l);
	return l;
}

const char *dk_ledger_path(const struct dk_ledger *l)
{
	return l->path;
}

int dk_ledger_fsync_enabled(const struct dk_ledger *l)
{
	return l->sync != SYNC_NONE;
}

const char *dk_ledger_gitdir(const struct dk_ledger *l)
{
	return l->gitdir;
}

const char *dk_ledger_id(const struct dk_ledger *l)
{
	return l->ledger_id;
}

git_repository *dk_ledger__repo(struct dk_ledger *l)
{
	return l->repo;
}

/* --- locking --------------------------------------------------------- */

static int lock_acquire(struct dk_ledger *l)
{
	double start = dk_mono_ms();
	useconds_t nap = 200;

	if (l->lockfd < 0) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/docket.lock", l->gitdir);
		l->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (l->lockfd < 0)
			return dk_error_set_errno(DK_EIO, "cannot open %s", p);
	}
	for (;;) {
		if (flock(l->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return dk_error_set_errno(DK_EIO, "flock");
		if (dk_mono_ms() - start > (double)l->lock_timeout_ms)
			return dk_error_set(
			    DK_ELOCKED,
			    "ledger is locked by another docket process "
			    "(waited %ld ms; set DOCKET_LOCK_TIMEOUT to "
			    "wait longer)",
			    l->lock_timeout_ms);
		{
			unsigned r;
			dk_random(&r, sizeof(r));
			usleep(nap / 2 + r % (nap + 1));
		}
		if (nap < 8000)
			nap *= 2;
	}
}

static void lock_release(struct dk_ledger *l)
{
	if (l->lockfd >= 0)
		flock(l->lockfd, LOCK_UN);
}

/* Record in docket.lock that we are about to move the branch. */
static void intent_set(struct dk_ledger *l, const git_oid *new_id)
{
	char line[160], hex[GIT_OID_HEXSZ + 1], old[GIT_OID_HEXSZ + 1];
	int n;

	git_oid_tostr(hex, sizeof(hex), new_id);
	git_oid_tostr(old, sizeof(old), &l->head);
	/* "ref PID NEW OLD": the lock holds a prefix of NEW while it is
	 * written, and exactly OLD once exchanged with the ref */
	n = snprintf(line, sizeof(line), "ref %ld %s %s\n", (long)getpid(), hex,
	             old);
	if (pwrite(l->lockfd, line, (size_t)n, 0) == n)
		(void)ftruncate(l->lockfd, n);
}

static void intent_clear(struct dk_ledger *l)
{
	(void)ftruncate(l->lockfd, 0);
}

/*
 * The branch's lock file exists while we hold the docket lock. If a
 * docket process died moving the branch, docket.lock names the commit it
 * was writing and the lock file holds a prefix of it: that lock is stale
 * and safe to remove. Any other lock belongs to a git process; wait.
 * Called once the docket lock is held and before this writer records its
 * own intent (which would hide the dead writer's).
 */
static int ref_lock_recover(struct dk_ledger *l)
{
	char lockpath[PATH_MAX], intent[160], content[128], *sp, *old;
	ssize_t n, m;
	int fd;

	snprintf(lockpath, sizeof(lockpath), "%s/%s.lock", l->gitdir,
	         DK_BRANCH);
	n = pread(l->lockfd, intent, sizeof(intent) - 1, 0);
	if (n <= 0)
		return 0;
	intent[n] = '\0';
	if (strncmp(intent, "ref ", 4) || !(sp = strchr(intent + 4, ' ')))
		return 0;
	sp++;
	sp[strcspn(sp, "\n")] = '\0';
	old = strchr(sp, ' ');
	if (old)
		*old++ = '\0';
	fd = open(lockpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	m = read(fd, content, sizeof(content) - 1);
	close(fd);
	if (m < 0)
		return 0;
	content[m] = '\0';
	if (m > 0 && content[m - 1] == '\n')
		content[--m] = '\0';
	if (strncmp(content, sp, (size_t)m) && !(old && !strcmp(content, old)))
		return 0;
	if (unlink(lockpath) < 0)
		return 0;
	intent_clear(l);
	return 1;
}

/* --- reading --------------------------------------------------------- */

static int read_head_oid(git_oid *out, struct dk_ledger *l)
{
	int rc = git_reference_name_to_id(out, l->repo, DK_BRANCH);

	if (rc == GIT_ENOTFOUND)
		return dk_error_set(DK_ENOTLEDGER,
		                    "%s is not a docket ledger (no %s branch)",
		                    l->path, DK_BRANCH);
	if (rc < 0)
		return git_fail(DK_EIO, "cannot read the ledger branch");
	return 0;
}

static int object_lookup(void *out, struct dk_ledger *l, const git_oid *id,
                         git_object_t type);

static int read_blob_record(struct dk_record **out, struct dk_ledger *l,
                            const git_oid *id)
{
	git_blob *blob = NULL;
	int rc;

	if (object_lookup(&blob, l, id, GIT_OBJECT_BLOB) < 0)
		return git_fail(DK_EIO, "cannot read record blob");
	if ((size_t)git_blob_rawsize(blob) > DK_MAX_RECORD) {
		git_blob_free(blob);
		return dk_error_set(DK_ETAMPERED, "record blob is too large");
	}
	rc = dk_record_parse(out, git_blob_rawcontent(blob),
	                     (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return rc;
}

/*
 * `git gc` replaces packs under readers: an object can vanish from the
 * pack list a process has for the moment it takes git to delete the old
 * pack after writing the new one (seen with 8 appenders and gc in a loop
 * under valgrind). libgit2 rescans once on a miss; look again a few
 * times, a few milliseconds apart, before calling an object missing.
 */
static int odb_settle(struct dk_ledger *l, int attempt)
{
	git_odb *odb = NULL;

	if (attempt >= 5)
		return 0;
	if (git_repository_odb(&odb, l->repo) == 0) {
		git_odb_refresh(odb);
		git_odb_free(odb);
	}
	usleep(2000u * (unsigned)(attempt + 1));
	return 1;
}

/* git_object_lookup, looking again while the object database settles */
static int object_lookup(void *out, struct dk_ledger *l, const git_oid *id,
                         git_object_t type)
{
	int rc, attempt = 0;

	while ((rc = git_object_lookup(out, l->repo, id, type)) ==
	           GIT_ENOTFOUND &&
	       odb_settle(l, attempt++))
		;
	return rc;
}

/* A path under root: git says GIT_ENOTFOUND both for a path that is not
 * there and for a subtree it cannot read at the moment; call the path
 * missing only once the object database has settled. */
static int entry_bypath(git_tree_entry **out, struct dk_ledger *l,
                        git_tree *root, const char *path)
{
	int rc, attempt = 0;

	while ((rc = git_tree_entry_bypath(out, root, path)) == GIT_ENOTFOUND &&
	       odb_settle(l, attempt++))
		;
	return rc;
}

static int read_raw(unsigned char **out, size_t *len, struct dk_ledger *l,
                    const git_oid *id, git_object_t want)
{
	git_odb *odb = NULL;
	git_odb_object *o = NULL;

	*out = NULL;
	if (git_repository_odb(&odb, l->repo) < 0)
		return git_fail(DK_EIO, "cannot open the object database");
	{
		int rc, attempt = 0;

		while ((rc = git_odb_read(&o, odb, id)) == GIT_ENOTFOUND &&
		       odb_settle(l, attempt++))
			;
		if (rc < 0) {
			git_odb_free(odb);
			return git_fail(DK_EIO, "cannot read an object");
		}
	}
	git_odb_free(odb);
	if (git_odb_object_type(o) != want) {
		git_odb_object_free(o);
		return dk_error_set(DK_ETAMPERED, "unexpected object type");
	}
	*len = git_odb_object_size(o);
	*out = malloc(*len ? *len : 1);
	if (!*out) {
		git_odb_object_free(o);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(*out, git_odb_object_data(o), *len);
	git_odb_object_free(o);
	return 0;
}

/* Descend the last entry of each tree: the newest record's path. */
static int load_head(struct dk_ledger *l)
{
	git_commit *commit = NULL;
	struct dk_record *r = NULL;
	git_oid head, id;
	int rc, i;

	if ((rc = read_head_oid(&head, l)) < 0)
		return rc;
	if (l->cached && git_oid_equal(&head, &l->head))
		return 0;
	cache_drop(l);
	if (object_lookup(&commit, l, &head, GIT_OBJECT_COMMIT) < 0)
		return git_fail(DK_EIO, "cannot read the head commit");
	git_oid_cpy(&l->root, git_commit_tree_id(commit));
	git_oid_cpy(&id, &l->root);
	git_commit_free(commit);
	for (i = 0; i < LEVELS; i++) {
		const unsigned char *p, *end;
		struct dk_tent e, last = { 0, NULL, 0, NULL };
		int n = 0, k;

		if ((rc = read_raw(&l->raw[i], &l->rawlen[i], l, &id,
		                   GIT_OBJECT_TREE)) < 0)
			goto fail;
		p = l->raw[i];
		end = p + l->rawlen[i];
		while ((k = dk_tree_next(&e, &p, end)) > 0) {
			last = e;
			n++;
		}
		if (k < 0 || !n || last.namelen >= sizeof(l->comps[i]))
			goto bad;
		memcpy(l->comps[i], last.name, last.namelen);
		l->comps[i][last.namelen] = '\0';
		git_oid_fromraw(&id, last.id);
		if (last.mode != (i < LEVELS - 1 ? 040000u : 0100644u))
			goto bad;
	}
	if ((rc = read_blob_record(&r, l, &id)) < 0)
		goto fail;
	{
		char want[LEVELS][8];

		dk_record_path_parts(want, r->seq);
		for (i = 0; i < LEVELS; i++)
			if (strcmp(want[i], l->comps[i]))
				goto bad;
	}
	l->seq = r->seq;
	memcpy(l->hash, r->hash, 65);
	git_oid_cpy(&l->head, &head);
	l->cached = 1;
	dk_record_free(r);
	return 0;
bad:
	rc = dk_error_set(DK_ETAMPERED,
	                  "the head's tree is not a docket ledger layout; "
	                  "run 'docket verify'");
fail:
	dk_record_free(r);
	cache_drop(l);
	return rc;
}

int dk_ledger_head(struct dk_head *out, struct dk_ledger *l)
{
	int rc = load_head(l);

	if (rc < 0)
		return rc;
	out->seq = l->seq;
	memcpy(out->hash, l->hash, 65);
	git_oid_tostr(out->commit, sizeof(out->commit), &l->head);
	memcpy(out->ledger_id, l->ledger_id, 65);
	return 0;
}

int dk_ledger_read(struct dk_record **out, struct dk_ledger *l, uint64_t seq)
{
	git_tree_entry *e = NULL;
	git_tree *root = NULL;
	char path[32];
	int rc;

	*out = NULL;
	if ((rc = load_head(l)) < 0)
		return rc;
	if (seq > l->seq)
		return dk_error_set(
		    DK_ENOTFOUND, "no record %llu (the head is %llu)",
		    (unsigned long long)seq, (unsigned long long)l->seq);
	dk_record_path(path, seq);
	if (object_lookup(&root, l, &l->root, GIT_OBJECT_TREE) < 0)
		return git_fail(DK_EIO, "cannot read the head tree");
	rc = entry_bypath(&e, l, root, path);
	git_tree_free(root);
	if (rc == GIT_ENOTFOUND)
		return dk_error_set(DK_ETAMPERED, "record %llu is missing",
		                    (unsigned long long)seq);
	if (rc < 0)
		return git_fail(DK_EIO, "cannot read the tree");
	rc = read_blob_record(out, l, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (rc == 0 && (*out)->seq != seq) {
		dk_record_free(*out);
		*out = NULL;
		return dk_error_set(DK_ETAMPERED,
		                    "record at %s claims seq %llu", path,
		                    (unsigned long long)seq);
	}
	return rc;
}

int dk_ledger_foreach_reverse(struct dk_ledger *l, dk_record_cb cb,
                              void *payload)
{
	uint64_t s;
	int rc;

	if ((rc = load_head(l)) < 0)
		return rc;
	for (s = l->seq + 1; s-- > 0;) {
		struct dk_record *r;

		if ((rc = dk_ledger_read(&r, l, s)) < 0)
			return rc;
		rc = cb(r, payload);
		dk_record_free(r);
		if (rc)
			return rc;
	}
	return 0;
}

int dk_ledger_foreach(struct dk_ledger *l, uint64_t from, dk_record_cb cb,
                      void *payload)
{
	uint64_t s, last;
	int rc;

	if ((rc = load_head(l)) < 0)
		return rc;
	last = l->seq;
	for (s = from; s <= last; s++) {
		struct dk_record *r;

		if ((rc = dk_ledger_read(&r, l, s)) < 0)
			return rc;
		rc = cb(r, payload);
		dk_record_free(r);
		if (rc)
			return rc;
	}
	return 0;
}

struct find_state {
	const char *hex;
	size_t n;
	struct dk_record *found;
	int matches;
};

static int find_cb(const struct dk_record *r, void *payload)
{
	struct find_state *st = payload;

	if (strncmp(r->hash, st->hex, st->n))
		return 0;
	st->matches++;
	if (st->matches > 1)
		return 1;
	dk_record_parse(&st->found, r->bytes, r->len);
	if (st->found)
		st->found->seq = r->seq;
	return st->n == 64;
}

int dk_ledger_find_hash(struct dk_record **out, struct dk_ledger *l,
                        const char *hex)
{
	struct find_state st = { hex, strlen(hex), NULL, 0 };
	int rc;

	*out = NULL;
	if (st.n < 8 || st.n > 64 || !dk_is_hex(hex, st.n))
		return dk_error_set(DK_EINVALID,
		                    "'%s' is not a record hash (8 to 64 "
		                    "lowercase hex digits)",
		                    hex);
	rc = dk_ledger_foreach_reverse(l, find_cb, &st);
	if (rc < 0) {
		dk_record_free(st.found);
		return rc;
	}
	if (st.matches > 1) {
		dk_record_free(st.found);
		return dk_error_set(DK_EINVALID,
		                    "hash prefix %s is ambiguous; give more "
		                    "digits",
		                    hex);
	}
	if (!st.found)
		return dk_error_set(DK_ENOTFOUND, "no record with hash %s",
		                    hex);
	*out = st.found;
	return 0;
}

/* --- writing --------------------------------------------------------- */

int dk_record_type_valid(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > 64 || t[0] < 'a' || t[0] > 'z')
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' ||
		      t[i] == '.' || t[i] == '-'))
			return 0;
	return 1;
}

static void one_line(char *out, size_t outsz, const char *in)
{
	size_t i = 0, o = 0;

	while (in && in[i] && o + 1 < outsz) {
		unsigned char c = (unsigned char)in[i++];
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	/* do not cut a UTF-8 sequence in half */
	while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80 && in[i] &&
	       ((unsigned char)in[i] & 0xc0) == 0x80)
		o--;
	if (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0 && in[i] &&
	    ((unsigned char)in[i] & 0xc0) == 0x80)
		o--;
	out[o] = '\0';
}

static int serialize(char **out, size_t *len, uint64_t seq, const char *prev,
                     const char *type, const char *at, const char *actor,
                     json_t *body)
{
	json_t *rec =
	    json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:O}", "v",
	              DK_FORMAT_VERSION, "seq", (json_int_t)seq, "prev", prev,
	              "type", type, "at", at, "actor", actor, "body", body);
	char *s;
	size_t n;

	if (!rec)
		return dk_error_set(DK_EINVALID,
		                    "cannot build the record (invalid UTF-8?)");
	s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(rec);
	if (!s)
		return dk_error_set(DK_EINVALID, "cannot serialize the record");
	n = strlen(s);
	if (n + 1 > DK_MAX_RECORD) {
		free(s);
		return dk_error_set(DK_EFULL, "record is larger than %d bytes",
		                    DK_MAX_RECORD);
	}
	s = realloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	*out = s;
	*len = n + 1;
	return 0;
}

static void clean_ident(char *out, size_t outsz, const char *in)
{
	size_t o = 0;

	for (; in && *in && o + 1 < outsz; in++) {
		unsigned char c = (unsigned char)*in;
		out[o++] = (c < 0x20 || c == '<' || c == '>') ? '_' : (char)c;
	}
	out[o] = '\0';
	if (!o || !strcspn(out, " "))
		snprintf(out, outsz, "docket");
}

struct built {
	unsigned char *raw[LEVELS];
	size_t len[LEVELS];
	struct dk_obj obj[LEVELS + 2]; /* blob, leaf .. root, commit */
	char *commit;
	char keep[PATH_MAX];  /* the pack's keep file, until the branch moves */
	char spare[PATH_MAX]; /* where it waits for the next append */
};

static void built_free(struct built *b)
{
	int i;

	for (i = 0; i < LEVELS; i++)
		free(b->raw[i]);
	free(b->commit);
	if (!b->keep[0])
		return;
	/* back to the spare name (GITDIR/docket/keep.spare), for the next
	 * append; made on first use */
	if (rename(b->keep, b->spare) == 0)
		return;
	if (errno == ENOENT) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", b->spare);
		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0700) == 0 && rename(b->keep, b->spare) == 0)
			return;
	}
	unlink(b->keep);
}

/* Build the trees and commit for one record on top of the cached head,
 * and write them as one pack. */
static int write_commit(struct built *b, struct dk_ledger *l, int genesis,
                        uint64_t seq, const char *bytes, size_t len,
                        const char *msg, const char *actor, int64_t when)
{
	char comps[LEVELS][8], name[128], hex[41], phex[41];
	const unsigned char *child;
	size_t cl;
	int i, k, rc;

	dk_record_path_parts(comps, seq);
	b->obj[0].type = DK_OBJ_BLOB;
	b->obj[0].data = (const unsigned char *)bytes;
	b->obj[0].len = len;
	dk_obj_hash(&b->obj[0]);
	child = b->obj[0].id;
	for (i = LEVELS - 1; i >= 0; i--) {
		const unsigned char *base = NULL;
		size_t baselen = 0;
		int eq = !genesis;
		struct dk_obj *o = &b->obj[LEVELS - i];

		/* the tree at level i extends the head's when every
		 * component above it is the same */
		for (k = 0; eq && k < i; k++)
			if (strcmp(comps[k], l->comps[k]))
				eq = 0;
		if (eq && l->raw[i]) {
			base = l->raw[i];
			baselen = l->rawlen[i];
		}
		rc = dk_tree_with(&b->raw[i], &b->len[i], base, baselen,
		                  comps[i],
		                  i == LEVELS - 1 ? 0100644u : 040000u, child);
		if (rc < 0)
			return rc;
		o->type = DK_OBJ_TREE;
		o->data = b->raw[i];
		o->len = b->len[i];
		dk_obj_hash(o);
		child = o->id;
	}
	clean_ident(name, sizeof(name), actor);
	dk_hex(hex, child, 20);
	git_oid_tostr(phex, sizeof(phex), &l->head);
	cl = strlen(msg) + strlen(name) * 2 + 256;
	b->commit = malloc(cl);
	if (!b->commit)
		return dk_error_set(DK_ERROR, "out of memory");
	b->obj[LEVELS + 1].len =
	    (size_t)snprintf(b->commit, cl,
	                     "tree %s\n%s%s%sauthor %s <docket> %lld +0000\n"
	                     "committer %s <docket> %lld +0000\n\n%s",
	                     hex, genesis ? "" : "parent ", genesis ? "" : phex,
	                     genesis ? "" : "\n", name, (long long)when, name,
	                     (long long)when, msg);
	b->obj[LEVELS + 1].type = DK_OBJ_COMMIT;
	b->obj[LEVELS + 1].data = (const unsigned char *)b->commit;
	dk_obj_hash(&b->obj[LEVELS + 1]);
	snprintf(b->spare, sizeof(b->spare), "%s/docket/keep.spare", l->gitdir);
	snprintf(b->keep, sizeof(b->keep), "%s", b->spare);
	return dk_pack_write(l->objdir, l->sparedir, b->obj, LEVELS + 2,
	                     l->sync == SYNC_FILE, b->keep);
}

static void default_summary(char *out, size_t outsz, const char *type,
                            json_t *body, const char *given)
{
	const char *s = given;

	if (!s)
		s = str_field(body, "summary");
	if (!s)
		s = str_field(body, "text");
	if (!s)
		s = type;
	one_line(out, outsz, s);
}

/* Does the branch name new_id now (an earlier attempt moved it)? */
static int branch_is(struct dk_ledger *l, const git_oid *new_id)
{
	git_oid cur;

	return git_reference_name_to_id(&cur, l->repo, DK_BRANCH) == 0 &&
	       git_oid_equal(&cur, new_id);
}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Where the branch's lock file waits between appends (a name git and
 * libgit2 never read as a ref: it starts with a dot and ends in .lock). */
#define REF_SPARE "refs/heads/.docket-spare.lock"

/*
 * The branch moved by git's lock protocol, without libgit2 and without
 * creating or freeing a block of the file system:
 *
 *   1. the new id is written over the spare lock file (REF_SPARE; made
 *      once) and made durable (fdatasync: the same 41 bytes, in place);
 *   2. renameat2(RENAME_NOREPLACE) makes it refs/heads/main.lock, which
 *      fails when the lock exists: a git process holds the branch, so
 *      the caller waits through libgit2;
 *   3. under the lock, the loose ref must still name our head;
 *   4. renameat2(RENAME_EXCHANGE) swaps main.lock and main: readers see
 *      the old ref or the new, never none;
 *   5. main.lock, now holding the old id, goes back to the spare name,
 *      which releases the branch as git's rename would;
 *   6. one fsync of refs/heads makes 2, 4 and 5 durable together (a cut
 *      before it leaves the old ref and no lock).
 *
 * Why: on ext4, a rename over an existing ref waits for the new file's
 * blocks (auto_da_alloc), and with the `discard` mount option every block
 * freed (an old ref, a lock) costs a device discard, waited for at once
 * without a journal, at the next commit with one: 1-4 ms an append
 * here, fsync or not (docs/design.md, "Cost of a branch move"). A writer killed
 * between 2 and 5 leaves main.lock holding the new or the old id, both named by
 * the intent line, which ref_lock_recover() knows.
 *
 * 1 when the fast path does not apply (the lock is taken, the ref is
 * packed or symbolic, the branch keeps a reflog, or the file system
 * cannot do it): the caller falls back to libgit2. 0 moved;
 * DK_ECONFLICT the branch no longer names our head; DK_EIO.
 */
static int move_branch_exchange(struct dk_ledger *l, const git_oid *new_id)
{
	char path[PATH_MAX], lock[PATH_MAX], spare[PATH_MAX], dir[PATH_MAX];
	char cur[64], hex[GIT_OID_HEXSZ + 2];
	struct stat st;
	ssize_t n;
	int fd, rc, grown = 0;

	snprintf(dir, sizeof(dir), "%s/logs/%s", l->gitdir, DK_BRANCH);
	if (access(dir, F_OK) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", l->gitdir, DK_BRANCH);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(spare, sizeof(spare), "%s/%s", l->gitdir, REF_SPARE);
	snprintf(dir, sizeof(dir), "%s/refs/heads", l->gitdir);

	/* 1 */
	fd = open(spare, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return 1;
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, new_id);
	hex[GIT_OID_HEXSZ] = '\n';
	if (fstat(fd, &st) < 0 ||
	    (st.st_size != GIT_OID_HEXSZ + 1 && ftruncate(fd, 0) < 0)) {
		close(fd);
		return 1;
	}
	grown = st.st_size != GIT_OID_HEXSZ + 1;
	if (pwrite(fd, hex, GIT_OID_HEXSZ + 1, 0) != GIT_OID_HEXSZ + 1 ||
	    (l->sync == SYNC_FILE && (grown ? fsync(fd) : fdatasync(fd)) < 0)) {
		rc = dk_error_set_errno(DK_EIO, "cannot write %s", spare);
		close(fd);
		return rc;
	}
	if (close(fd) < 0)
		return dk_error_set_errno(DK_EIO, "cannot write %s", spare);

	/* 2 */
	if (renameat2(AT_FDCWD, spare, AT_FDCWD, lock, RENAME_NOREPLACE) < 0)
		return 1; /* held by git (EEXIST), or no such rename here */

	/* 3 */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, cur, sizeof(cur) - 1);
	if (fd >= 0)
		close(fd);
	if (n != GIT_OID_HEXSZ + 1 || cur[GIT_OID_HEXSZ] != '\n') {
		rc = 1; /* packed, symbolic or odd: libgit2 knows */
		goto undo;
	}
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &l->head);
	if (memcmp(cur, hex, GIT_OID_HEXSZ)) {
		rc = dk_error_set(DK_ECONFLICT, "the ledger branch moved");
		goto undo;
	}

	/* 4 */
	if (renameat2(AT_FDCWD, lock, AT_FDCWD, path, RENAME_EXCHANGE) < 0) {
		if (errno != EINVAL && errno != ENOSYS) {
			rc = dk_error_set_errno(DK_EIO, "cannot move %s", path);
			goto undo;
		}
		/* no exchange here: the classic rename over the ref */
		if (rename(lock, path) < 0) {
			rc = dk_error_set_errno(DK_EIO, "cannot rename %s",
			                        lock);
			goto undo;
		}
	} else if (rename(lock, spare) < 0 && errno != ENOENT) {
		/* 5 failed: the next writer recovers the lock */
		l->keep_intent = 1;
	}

	/* 6 */
	rc = 0;
	if (l->sync == SYNC_FILE) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			/* moved, but maybe not durably: report the failure */
			rc = dk_error_set_errno(DK_EIO, "cannot fsync %s", dir);
		if (fd >= 0)
			close(fd);
	}
	return rc;
undo:
	if (rename(lock, spare) < 0)
		unlink(lock);
	return rc;
}

/* Move the branch from the cached head to new_id, compare-and-swap. */
static int move_branch(struct dk_ledger *l, const git_oid *new_id, int genesis)
{
	git_reference *ref = NULL;
	double start = dk_mono_ms();
	int rc, transient = 0;

	if (!genesis) {
		rc = move_branch_exchange(l, new_id);
		if (rc <= 0)
			return rc;
	}

	for (;;) {
		if (genesis)
			rc = git_reference_create(&ref, l->repo, DK_BRANCH,
			                          new_id, 0, NULL);
		else
			rc = git_reference_create_matching(&ref, l->repo,
			                                   DK_BRANCH, new_id, 1,
			                                   &l->head, NULL);
		git_reference_free(ref);
		ref = NULL;
		if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
			/* a failed attempt may have moved it after all:
			 * re-chaining then would append the record twice */
			if (transient && branch_is(l, new_id))
				return 0;
			return dk_error_set(DK_ECONFLICT,
			                    "the ledger branch moved");
		}
		if (rc == GIT_ELOCKED) {
			if (dk_mono_ms() - start > (double)l->lock_timeout_ms)
				return dk_error_set(
				    DK_ELOCKED,
				    "%s/%s.lock exists: a git process is "
				    "updating the ledger, or one died; if none "
				    "is running, remove that file",
				    l->gitdir, DK_BRANCH);
			usleep(2000);
			continue;
		}
		/* git pack-refs --prune can remove refs/heads under a
		 * writer for a moment; try again a few times */
		if (rc < 0 && transient < 5) {
			transient++;
			usleep(1000u * (unsigned)transient);
			continue;
		}
		break;
	}
	if (rc < 0) {
		if (branch_is(l, new_id))
			return 0;
		return git_fail(DK_EIO, "cannot move the ledger branch");
	}
	return 0;
}

/* After a merge, reopen the repository so libgit2 forgets old packs. */
static void maintain(struct dk_ledger *l, uint64_t seq)
{
	git_repository *r = NULL;

	if (seq % MERGE_FANIN)
		return;
	dk_pack_drop_stale_keeps(l->objdir);
	if (dk_pack_maintain(l->objdir, l->sparedir, l->sync == SYNC_FILE,
	                     MERGE_FANIN, MERGE_BASE) <= 0)
		return;
	if (git_repository_open_ext(&r, l->gitdir,
	                            GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		git_repository_free(l->repo);
		l->repo = r;
	}
}

static int append_locked(struct dk_append_result *out, struct dk_ledger *l,
                         const char *type, const char *actor, json_t *body,
                         const struct dk_append_opts *opts, int genesis)
{
	char *bytes = NULL, at[32], msg[512], summary[80], hash[65];
	char prevhash[65];
	struct built b;
	git_oid commit_id;
	uint64_t seq;
	int64_t now = dk_now();
	size_t len = 0;
	int rc, i;

	memset(&b, 0, sizeof(b));
	if (!genesis) {
		if ((rc = load_head(l)) < 0)
			return rc;
		if (opts && opts->check) {
			struct dk_head h;

			h.seq = l->seq;
			memcpy(h.hash, l->hash, 65);
			git_oid_tostr(h.commit, sizeof(h.commit), &l->head);
			memcpy(h.ledger_id, l->ledger_id, 65);
			if ((rc = opts->check(l, &h, body, opts->payload)))
				return rc;
		}
		seq = l->seq + 1;
		memcpy(prevhash, l->hash, 65);
	} else {
		seq = 0;
		memset(prevhash, '0', 64);
		prevhash[64] = '\0';
	}
	if (seq > 9999999999ULL)
		return dk_error_set(DK_EFULL, "the ledger is full");
	dk_format_time(at, now);
	if ((rc = serialize(&bytes, &len, seq, prevhash, type, at, actor,
	                    body)) < 0)
		return rc;
	dk_sha256_hex(hash, bytes, len);
	default_summary(summary, sizeof(summary), type, body,
	                opts ? opts->summary : NULL);
	snprintf(msg, sizeof(msg),
	         "%s: %s\n\nDocket-Seq: %llu\nDocket-Record: %s\n", type,
	         summary, (unsigned long long)seq, hash);
	/* the objects are durable before the branch names them */
	rc = write_commit(&b, l, genesis, seq, bytes, len, msg, actor, now);
	free(bytes);
	if (rc < 0) {
		built_free(&b);
		return rc;
	}
	git_oid_fromraw(&commit_id, b.obj[LEVELS + 1].id);
	intent_set(l, &commit_id);
	/* with fsync on, libgit2 makes the branch durable before returning */
	rc = move_branch(l, &commit_id, genesis);
	if (rc < 0) {
		if (!l->keep_intent)
			intent_clear(l);
		l->keep_intent = 0;
		cache_drop(l);
		built_free(&b);
		return rc;
	}
	if (!l->keep_intent)
		intent_clear(l);
	l->keep_intent = 0;

	/* the new head becomes the cache */
	cache_drop(l);
	dk_record_path_parts(l->comps, seq);
	for (i = 0; i < LEVELS; i++) {
		l->raw[i] = b.raw[i];
		l->rawlen[i] = b.len[i];
		b.raw[i] = NULL;
	}
	git_oid_fromraw(&l->root, b.obj[LEVELS].id);
	git_oid_cpy(&l->head, &commit_id);
	l->seq = seq;
	memcpy(l->hash, hash, 65);
	l->cached = 1;
	built_free(&b);
	if (out) {
		out->seq = seq;
		memcpy(out->hash, hash, 65);
		git_oid_tostr(out->commit, sizeof(out->commit), &commit_id);
	}
	maintain(l, seq);
	return 0;
}

int dk_ledger_append(struct dk_append_result *out, struct dk_ledger *l,
                     const char *type, const char *actor, json_t *body,
                     const struct dk_append_opts *opts)
{
	int rc, tries;

	if (!type || !dk_record_type_valid(type) || !strcmp(type, "genesis"))
		return dk_error_set(DK_EINVALID, "invalid record type '%s'",
		                    type ? type : "");
	if (!actor || !*actor || strlen(actor) > 256)
		return dk_error_set(DK_EINVALID, "invalid actor");
	if (!json_is_object(body))
		return dk_error_set(DK_EINVALID,
		                    "record body is not an object");
	if ((rc = lock_acquire(l)) < 0)
		return rc;
	/* before intent_set() overwrites what a dead writer left there */
	ref_lock_recover(l);
	for (tries = 0; tries < 50; tries++) {
		rc = append_locked(out, l, type, actor, body, opts, 0);
		if (rc != DK_ECONFLICT)
			break;
		usleep(1000u * (unsigned)(tries + 1));
	}
	lock_release(l);
	return rc;
}

/* --- init and open ---------------------------------------------------- */

/*
 * Read record 0 straight from the head commit's tree: opening a ledger
 * must not depend on the newest record being readable (verify has to be
 * able to open a ledger whose head object is damaged, to report it).
 */
static int read_genesis(struct dk_record **out, struct dk_ledger *l)
{
	git_commit *commit = NULL;
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	git_oid head;
	char path[32];
	int rc;

	*out = NULL;
	if ((rc = read_head_oid(&head, l)) < 0)
		return rc;
	dk_record_path(path, 0);
	if (object_lookup(&commit, l, &head, GIT_OBJECT_COMMIT) < 0 ||
	    object_lookup(&root, l, git_commit_tree_id(commit),
	                  GIT_OBJECT_TREE) < 0) {
		rc = git_fail(DK_EIO, "cannot read the head commit");
		goto done;
	}
	rc = entry_bypath(&e, l, root, path);
	if (rc == GIT_ENOTFOUND) {
		rc = dk_error_set(DK_ETAMPERED, "no record at %s", path);
		goto done;
	}
	if (rc < 0) {
		rc = git_fail(DK_EIO, "cannot read the tree");
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = dk_error_set(DK_ETAMPERED, "%s is not a file", path);
		goto done;
	}
	rc = read_blob_record(out, l, git_tree_entry_id(e));
	if (rc == 0 && (*out)->seq != 0) {
		dk_record_free(*out);
		*out = NULL;
		rc = dk_error_set(DK_ETAMPERED, "record at %s is not seq 0",
		                  path);
	}
done:
	git_tree_entry_free(e);
	git_tree_free(root);
	git_commit_free(commit);
	return rc;
}

static int check_genesis(struct dk_ledger *l)
{
	struct dk_record *g = NULL;
	const char *fmt, *id;
	json_t *v;
	int rc;

	if ((rc = read_genesis(&g, l)) < 0) {
		if (rc == DK_ENOTLEDGER)
			return rc;
		dk_error_prefix("%s is not a docket ledger, or a damaged one: "
		                "cannot read its genesis record",
		                l->path);
		return rc == DK_ETAMPERED ? DK_ENOTLEDGER : rc;
	}
	v = json_object_get(g->json, "v");
	fmt = str_field(g->body, "format");
	id = str_field(g->body, "ledger_id");
	if (!fmt || strcmp(fmt, "docket-ledger") || !g->type ||
	    strcmp(g->type, "genesis") || !id || strlen(id) > 64) {
		dk_record_free(g);
		return dk_error_set(DK_ENOTLEDGER,
		                    "%s is not a docket ledger (no genesis "
		                    "record)",
		                    l->path);
	}
	if (json_integer_value(v) > DK_FORMAT_VERSION) {
		rc = dk_error_set(DK_EVERSION,
		                  "%s uses ledger format %lld; this docket "
		                  "reads format %d: upgrade docket",
		                  l->path, (long long)json_integer_value(v),
		                  DK_FORMAT_VERSION);
		dk_record_free(g);
		return rc;
	}
	snprintf(l->ledger_id, sizeof(l->ledger_id), "%s", id);
	l->format = (int)json_integer_value(v);
	dk_record_free(g);
	return 0;
}

int dk_ledger_open(struct dk_ledger **out, const char *path)
{
	struct dk_ledger *l;
	struct stat st;
	int rc;

	*out = NULL;
	if ((rc = lib_init()) < 0)
		return rc;
	if (stat(path, &st) < 0)
		return dk_error_set(DK_ENOTLEDGER,
		                    "no ledger at %s; create one with "
		                    "'docket init %s' or name one with "
		                    "--ledger or DOCKET_LEDGER",
		                    path, path);
	l = ledger_new(path);
	if (!l)
		return dk_error_set(DK_ERROR, "out of memory");
	if (git_repository_open_ext(&l->repo, path,
	                            GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		dk_ledger_free(l);
		return dk_error_set(DK_ENOTLEDGER,
		                    "%s is not a docket ledger (not a git "
		                    "repository)",
		                    path);
	}
	if ((rc = open_dirs(l)) < 0 || (rc = check_genesis(l)) < 0) {
		dk_ledger_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int names = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names++;
	closedir(d);
	return names == 0;
}

static int sync_cb(const char *p, const struct stat *sb, int flag,
                   struct FTW *ftw)
{
	int fd;

	(void)sb;
	(void)ftw;
	if (flag != FTW_F && flag != FTW_D && flag != FTW_DP)
		return 0;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Everything git_repository_init wrote, and the new directory's entry in
 * its parent, made durable. */
static int sync_tree(const char *path)
{
	char parent[PATH_MAX], *slash;
	int fd;

	if (nftw(path, sync_cb, 16, FTW_PHYS | FTW_DEPTH) != 0)
		return dk_error_set_errno(DK_EIO, "cannot fsync %s", path);
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return dk_error_set_errno(DK_EIO, "cannot fsync %s", parent);
	}
	close(fd);
	return 0;
}

/* Create the ledger in the directory `path`, which exists and is empty. */
static int init_in(struct dk_ledger **out, const char *path,
                   const struct dk_init_opts *opts)
{
	git_repository_init_options io = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	struct dk_ledger *l = NULL;
	unsigned char idb[16];
	char id[33], at[32];
	json_t *body = NULL, *policy;
	git_config *cfg = NULL;
	int rc;

	l = ledger_new(path);
	if (!l)
		return dk_error_set(DK_ERROR, "out of memory");
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT;
	io.initial_head = "main";
	io.description = "docket ledger";
	if ((rc = git_repository_init_ext(&l->repo, path, &io)) < 0) {
		rc = rc == GIT_EEXISTS
		         ? dk_error_set(DK_ECONFLICT,
		                        "%s: another process "
		                        "created a ledger "
		                        "there first",
		                        path)
		         : git_fail(DK_EIO, "cannot create the repository");
		goto fail;
	}
	if (git_repository_config(&cfg, l->repo) == 0) {
		git_config_set_bool(cfg, "core.logAllRefUpdates", 0);
		git_config_set_string(cfg, "docket.format", "1");
		git_config_free(cfg);
	}
	if ((rc = open_dirs(l)) < 0)
		goto fail;
	if ((rc = dk_random(idb, sizeof(idb))) < 0)
		goto fail;
	dk_hex(id, idb, sizeof(idb));
	dk_format_time(at, dk_now());
	policy = opts && opts->policy ? opts->policy : NULL;
	body = json_pack("{s:s, s:s, s:s, s:O*}", "format", "docket-ledger",
	                 "ledger_id", id, "created", at, "policy", policy);
	if (!policy)
		json_object_set_new(body, "policy", json_object());
	memcpy(l->ledger_id, id, 33);
	if ((rc = lock_acquire(l)) < 0)
		goto fail;
	rc = append_locked(NULL, l, "genesis",
	                   opts && opts->actor ? opts->actor : "docket", body,
	                   NULL, 1);
	lock_release(l);
	json_decref(body);
	body = NULL;
	if (rc < 0)
		goto fail;
	if (l->sync != SYNC_NONE && (rc = sync_tree(path)) < 0)
		goto fail;
	l->format = DK_FORMAT_VERSION;
	*out = l;
	return 0;
fail:
	json_decref(body);
	dk_ledger_free(l);
	return rc;
}

/* mkdir -p of the directory holding `path` */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return dk_error_set_errno(DK_EIO, "cannot create %s",
			                          buf);
		*p = '/';
	}
	return 0;
}

static int sync_parent(const char *path)
{
	char buf[PATH_MAX], *slash;
	int fd, rc = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash == buf)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(buf, sizeof(buf), ".");
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = dk_error_set_errno(DK_EIO, "cannot sync %s", buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * A new directory is built beside its final name and renamed into place,
 * so that neither an interrupted init nor one that loses a race with
 * another leaves a half-made ledger at `path` or removes what another
 * process put there. An existing empty directory is used in place and
 * never removed.
 */
int dk_ledger_init(struct dk_ledger **out, const char *path,
                   const struct dk_init_opts *opts)
{
	struct dk_ledger *l = NULL;
	char dst[PATH_MAX], tmp[PATH_MAX + 32];
	struct stat st;
	size_t n;
	mode_t mask;
	int rc, sync;

	*out = NULL;
	if ((rc = lib_init()) < 0)
		return rc;
	if (stat(path, &st) == 0) {
		int fd = -1;

		/* docket inits into one directory take turns (flock on the
		 * directory itself), and look again once it is their turn */
		if (S_ISDIR(st.st_mode)) {
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				flock(fd, LOCK_EX);
		}
		if (!S_ISDIR(st.st_mode) || !dir_is_empty(path)) {
			if (fd >= 0)
				close(fd);
			return dk_error_set(DK_EEXISTS,
			                    "%s already exists and is not an "
			                    "empty directory; refusing to "
			                    "overwrite it",
			                    path);
		}
		rc = init_in(out, path, opts);
		if (fd >= 0)
			close(fd);
		if (rc == DK_ECONFLICT)
			rc = dk_error_set(DK_EEXISTS,
			                  "%s: another process created a "
			                  "ledger there first",
			                  path);
		return rc;
	}
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(dst))
		return dk_error_set(DK_EINVALID, "bad ledger path '%s'", path);
	memcpy(dst, path, n);
	dst[n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s.docket-init-XXXXXX", dst);
	if ((rc = make_parents(tmp)) < 0)
		return rc;
	if (!mkdtemp(tmp))
		return dk_error_set_errno(DK_EIO, "cannot create %s", tmp);
	if ((rc = init_in(&l, tmp, opts)) < 0) {
		remove_tree(tmp);
		return rc;
	}
	sync = l->sync != SYNC_NONE;
	dk_ledger_free(l);
	mask = umask(0);
	umask(mask);
	if (chmod(tmp, 0777 & ~mask) < 0 || rename(tmp, dst) < 0) {
		int e = errno;

		remove_tree(tmp);
		errno = e;
		if (e == EEXIST || e == ENOTEMPTY || e == ENOTDIR ||
		    e == EISDIR)
			return dk_error_set(DK_EEXISTS,
			                    "%s already exists (made while "
			                    "this init ran); refusing to "
			                    "overwrite it",
			                    path);
		return dk_error_set_errno(DK_EIO, "cannot create %s", path);
	}
	if (sync && (rc = sync_parent(dst)) < 0)
		return rc;
	return dk_ledger_open(out, path);
}
