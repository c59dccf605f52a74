/*
 * powerloss.so: simulate a power cut in the process it is preloaded
 * into. LD_PRELOAD=powerloss.so POWERLOSS_AT=N runs the program until its
 * N-th write-side file system call (POWERLOSS_AT=exit: until it exits),
 * then throws away everything not yet made durable, as the worst case
 * that POSIX allows after a crash, and kills the process:
 *
 *   - a file's data written since its last fsync/fdatasync is lost (the
 *     file is left empty);
 *   - a directory's entries created, renamed or removed since that
 *     directory was last fsynced are put back as they were.
 *
 * Only paths under POWERLOSS_ROOT are tracked; what a rename or unlink
 * replaces is kept as a hard link in POWERLOSS_BACKUPS (a directory on
 * the same file system, outside the root). POWERLOSS_LOG=FILE appends
 * one line per tracked call, for counting crash points. POWERLOSS_AT=0
 * only counts. This is a test tool: it is not thread-safe and keeps its
 * journal in memory.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAXJ 512
#define MAXF 1024

enum op { OP_CREATE, OP_RENAME, OP_UNLINK, OP_MKDIR, OP_EXCHANGE };

struct jent {
	enum op op;
	char dir[PATH_MAX];  /* the directory whose entry changed */
	char path[PATH_MAX]; /* created / removed / renamed-to */
	char from[PATH_MAX]; /* renamed-from */
	char backup[PATH_MAX]; /* what path held before, if anything */
	int undone;
};

static struct jent journal[MAXJ];
static int njournal;
static char dirty[MAXF][PATH_MAX]; /* files with unsynced data */
static int ndirty;
static char fdpath[1024][PATH_MAX];
static long calls, crash_at = -1;
static int crash_at_exit, inited, crashing, backups;
static char root[PATH_MAX], logpath[PATH_MAX], bkdir[PATH_MAX];

static void init(void)
{
	const char *a, *r, *l;

	if (inited)
		return;
	inited = 1;
	a = getenv("POWERLOSS_AT");
	r = getenv("POWERLOSS_ROOT");
	l = getenv("POWERLOSS_LOG");
	if (a && !strcmp(a, "exit"))
		crash_at_exit = 1;
	else if (a)
		crash_at = strtol(a, NULL, 10);
	if (r)
		realpath(r, root);
	if (l)
		snprintf(logpath, sizeof(logpath), "%s", l);
	l = getenv("POWERLOSS_BACKUPS");
	snprintf(bkdir, sizeof(bkdir), "%s", l ? l : "/tmp");
}

static int tracked(const char *abs)
{
	size_t n = strlen(root);

	return root[0] && !strncmp(abs, root, n) &&
	       (abs[n] == '/' || !abs[n]);
}

/* An absolute path for p relative to dirfd, without resolving its last
 * component (which may not exist yet). */
static void absof(char *out, int dirfd, const char *p)
{
	char base[PATH_MAX], dir[PATH_MAX], *slash;
	const char *last;

	if (p[0] == '/') {
		snprintf(base, sizeof(base), "%s", p);
	} else if (dirfd == AT_FDCWD || dirfd < 0) {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			cwd[0] = '\0';
		snprintf(base, sizeof(base), "%s/%s", cwd, p);
	} else {
		char link[64], d[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, d, sizeof(d) - 1);
		d[n > 0 ? n : 0] = '\0';
		snprintf(base, sizeof(base), "%s/%s", d, p);
	}
	/* canonicalise the directory part */
	snprintf(dir, sizeof(dir), "%s", base);
	slash = strrchr(dir, '/');
	last = strrchr(base, '/') + 1;
	if (slash && slash != dir) {
		char real[PATH_MAX];
		*slash = '\0';
		if (realpath(dir, real))
			snprintf(out, PATH_MAX, "%s/%s", real, last);
		else
			snprintf(out, PATH_MAX, "%s", base);
	} else {
		snprintf(out, PATH_MAX, "%s", base);
	}
}

static void dirof(char *out, const char *path)
{
	char *s;

	snprintf(out, PATH_MAX, "%s", path);
	s = strrchr(out, '/');
	if (s && s != out)
		*s = '\0';
}

#define REAL(ret, name, ...)                                                   \
	static ret (*real_##name)(__VA_ARGS__);                                \
	if (!real_##name)                                                      \
		real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static void crash(void);

static void logcall(const char *what, const char *path)
{
	FILE *f;

	if (!logpath[0])
		return;
	f = fopen(logpath, "a");
	if (f) {
		fprintf(f, "%ld %s %s\n", calls, what, path);
		fclose(f);
	}
}

/* Count a crash point; crash before it when it is the chosen one. */
static void point(const char *what, const char *path)
{
	init();
	if (crashing)
		return;
	calls++;
	logcall(what, path);
	if (crash_at > 0 && calls == crash_at)
		crash();
}

static void mark_dirty(const char *path)
{
	int i;

	for (i = 0; i < ndirty; i++)
		if (!strcmp(dirty[i], path))
			return;
	if (ndirty < MAXF)
		snprintf(dirty[ndirty++], PATH_MAX, "%s", path);
}

static void mark_clean(const char *path)
{
	int i;

	for (i = 0; i < ndirty; i++)
		if (!strcmp(dirty[i], path)) {
			memmove(dirty[i], dirty[ndirty - 1], PATH_MAX);
			ndirty--;
			return;
		}
}

static void backup_of(char *out, const char *path)
{
	REAL(int, link, const char *, const char *);
	char b[PATH_MAX];

	out[0] = '\0';
	snprintf(b, sizeof(b), "%s/backup-%d-%d", bkdir, (int)getpid(),
		 backups++);
	if (real_link(path, b) == 0)
		snprintf(out, PATH_MAX, "%s", b);
}

static void add(enum op op, const char *path, const char *from)
{
	struct jent *j;

	if (njournal >= MAXJ)
		return;
	j = &journal[njournal++];
	memset(j, 0, sizeof(*j));
	j->op = op;
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (from)
		snprintf(j->from, sizeof(j->from), "%s", from);
	dirof(j->dir, path);
}

/* A directory's fsync makes its entry changes durable. */
static void dir_synced(const char *dir)
{
	int i;

	for (i = 0; i < njournal; i++)
		if (!strcmp(journal[i].dir, dir))
			journal[i].undone = 1; /* nothing to undo */
}

static void crash(void)
{
	REAL(int, rename, const char *, const char *);
	REAL(int, unlink, const char *);
	REAL(int, rmdir, const char *);
	REAL(int, link, const char *, const char *);
	REAL(int, truncate, const char *, off_t);
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	int i;

	crashing = 1;
	/* lost data first (the inode may since have moved), then entries */
	for (i = 0; i < ndirty; i++)
		real_truncate(dirty[i], 0);
	for (i = njournal - 1; i >= 0; i--) {
		struct jent *j = &journal[i];

		if (j->undone)
			continue;
		switch (j->op) {
		case OP_CREATE:
			real_unlink(j->path);
			break;
		case OP_MKDIR:
			real_rmdir(j->path);
			break;
		case OP_RENAME:
			/* the file goes back to its old name (if that
			 * directory's change is not durable either), and
			 * whatever the new name held comes back */
			real_rename(j->path, j->from);
			if (j->backup[0])
				real_link(j->backup, j->path);
			break;
		case OP_UNLINK:
			if (j->backup[0])
				real_link(j->backup, j->path);
			break;
		case OP_EXCHANGE:
			/* the two names swap back */
			real_renameat2(AT_FDCWD, j->from, AT_FDCWD, j->path,
			               RENAME_EXCHANGE);
			break;
		}
	}
	logcall("crash", "");
	kill(getpid(), SIGKILL);
}

__attribute__((destructor)) static void at_exit_crash(void)
{
	init();
	if (crash_at_exit)
		crash();
}

static void note_fd(int fd, const char *abs)
{
	if (fd >= 0 && fd < 1024)
		snprintf(fdpath[fd], PATH_MAX, "%s", abs);
}

static int do_open(int dirfd, const char *p, int flags, mode_t mode)
{
	REAL(int, openat, int, const char *, int, ...);
	char abs[PATH_MAX];
	struct stat st;
	int existed, fd;

	init();
	absof(abs, dirfd, p);
	if (!tracked(abs))
		return real_openat(dirfd, p, flags, mode);
	existed = lstat(abs, &st) == 0;
	if ((flags & O_CREAT) && !existed)
		point("create", abs);
	fd = real_openat(dirfd, p, flags, mode);
	if (fd >= 0) {
		note_fd(fd, abs);
		if ((flags & O_CREAT) && !existed)
			add(OP_CREATE, abs, NULL);
		if (flags & O_TRUNC)
			mark_dirty(abs);
	}
	return fd;
}

int open(const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_open(AT_FDCWD, p, flags, mode);
}

int open64(const char *p, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_open(dirfd, p, flags, mode);
}

int mkstemp(char *tmpl)
{
	REAL(int, mkstemp, char *);
	char abs[PATH_MAX];
	int fd;

	init();
	absof(abs, AT_FDCWD, tmpl);
	if (tracked(abs))
		point("create", abs);
	fd = real_mkstemp(tmpl);
	if (fd >= 0) {
		absof(abs, AT_FDCWD, tmpl);
		if (tracked(abs)) {
			note_fd(fd, abs);
			add(OP_CREATE, abs, NULL);
		}
	}
	return fd;
}

static int fd_tracked(int fd)
{
	return fd >= 0 && fd < 1024 && fdpath[fd][0] && tracked(fdpath[fd]);
}

ssize_t write(int fd, const void *b, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);

	init();
	if (fd_tracked(fd)) {
		point("write", fdpath[fd]);
		mark_dirty(fdpath[fd]);
	}
	return real_write(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);

	init();
	if (fd_tracked(fd)) {
		point("write", fdpath[fd]);
		mark_dirty(fdpath[fd]);
	}
	return real_pwrite(fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
	__attribute__((alias("pwrite")));

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, int, off_t);

	init();
	if (fd_tracked(fd)) {
		point("ftruncate", fdpath[fd]);
		mark_dirty(fdpath[fd]);
	}
	return real_ftruncate(fd, len);
}

static void synced(int fd)
{
	struct stat st;

	if (!fd_tracked(fd))
		return;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		dir_synced(fdpath[fd]);
	else
		mark_clean(fdpath[fd]);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	int rc;

	init();
	if (fd_tracked(fd))
		point("fsync", fdpath[fd]);
	rc = real_fsync(fd);
	if (rc == 0)
		synced(fd);
	return rc;
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	int rc;

	init();
	if (fd_tracked(fd))
		point("fdatasync", fdpath[fd]);
	rc = real_fdatasync(fd);
	if (rc == 0)
		synced(fd);
	return rc;
}

int syncfs(int fd)
{
	REAL(int, syncfs, int);
	int rc;

	init();
	point("syncfs", "");
	rc = real_syncfs(fd);
	if (rc == 0) {
		ndirty = 0;
		for (int i = 0; i < njournal; i++)
			journal[i].undone = 1;
	}
	return rc;
}

int close(int fd)
{
	REAL(int, close, int);

	if (fd >= 0 && fd < 1024)
		fdpath[fd][0] = '\0';
	return real_close(fd);
}

static int do_rename2(int ofd, const char *a, int nfd, const char *b,
                      unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	char aa[PATH_MAX], bb[PATH_MAX], bk[PATH_MAX];
	int rc, i;

	init();
	absof(aa, ofd, a);
	absof(bb, nfd, b);
	if (!tracked(bb))
		return real_renameat2(ofd, a, nfd, b, flags);
	point("rename", bb);
	backup_of(bk, bb);
	rc = real_renameat2(ofd, a, nfd, b, flags);
	if (rc == 0) {
		add(OP_RENAME, bb, aa);
		snprintf(journal[njournal - 1].backup, PATH_MAX, "%s", bk);
		/* the data follows the inode to its new name */
		for (i = 0; i < ndirty; i++)
			if (!strcmp(dirty[i], aa))
				snprintf(dirty[i], PATH_MAX, "%s", bb);
	}
	return rc;
}

static int do_rename(int ofd, const char *a, int nfd, const char *b)
{
	return do_rename2(ofd, a, nfd, b, 0);
}

int rename(const char *a, const char *b)
{
	return do_rename(AT_FDCWD, a, AT_FDCWD, b);
}

int renameat(int o, const char *a, int n, const char *b)
{
	return do_rename(o, a, n, b);
}

/* RENAME_EXCHANGE swaps two names (and whatever data each has not made
 * durable); any other renameat2 (RENAME_NOREPLACE) is a rename. */
int renameat2(int o, const char *a, int n, const char *b, unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	char aa[PATH_MAX], bb[PATH_MAX];
	int rc, i;

	init();
	if (!(flags & RENAME_EXCHANGE))
		return do_rename2(o, a, n, b, flags);
	absof(aa, o, a);
	absof(bb, n, b);
	if (!tracked(bb) || crashing)
		return real_renameat2(o, a, n, b, flags);
	point("rename", bb);
	rc = real_renameat2(o, a, n, b, flags);
	if (rc == 0) {
		add(OP_EXCHANGE, bb, aa);
		for (i = 0; i < ndirty; i++) {
			if (!strcmp(dirty[i], aa))
				snprintf(dirty[i], PATH_MAX, "%s", bb);
			else if (!strcmp(dirty[i], bb))
				snprintf(dirty[i], PATH_MAX, "%s", aa);
		}
	}
	return rc;
}

int link(const char *a, const char *b)
{
	REAL(int, link, const char *, const char *);
	char bb[PATH_MAX];
	int rc;

	init();
	absof(bb, AT_FDCWD, b);
	if (!tracked(bb) || crashing)
		return real_link(a, b);
	point("link", bb);
	rc = real_link(a, b);
	if (rc == 0)
		add(OP_CREATE, bb, NULL);
	return rc;
}

int unlink(const char *p)
{
	REAL(int, unlink, const char *);
	char abs[PATH_MAX], bk[PATH_MAX];
	int rc;

	init();
	absof(abs, AT_FDCWD, p);
	if (!tracked(abs) || crashing)
		return real_unlink(p);
	point("unlink", abs);
	backup_of(bk, abs);
	rc = real_unlink(p);
	if (rc == 0) {
		add(OP_UNLINK, abs, NULL);
		snprintf(journal[njournal - 1].backup, PATH_MAX, "%s", bk);
	}
	return rc;
}

int mkdir(const char *p, mode_t mode)
{
	REAL(int, mkdir, const char *, mode_t);
	char abs[PATH_MAX];
	int rc;

	init();
	absof(abs, AT_FDCWD, p);
	if (!tracked(abs))
		return real_mkdir(p, mode);
	point("mkdir", abs);
	rc = real_mkdir(p, mode);
	if (rc == 0)
		add(OP_MKDIR, abs, NULL);
	return rc;
}
