#include "verify.h"
#include "error.h"
#include "tree.h"
#include "util.h"
#include "verify-policy.h"

#include <git2.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LEVELS 5

int dk_anchor_parse(struct dk_anchor *out, const char *s)
{
	const char *colon = strchr(s, ':');
	char *end;
	unsigned long long v;

	if (!colon || colon == s)
		goto bad;
	v = strtoull(s, &end, 10);
	if (end != colon || strlen(colon + 1) != 64 ||
	    !dk_is_hex(colon + 1, 64))
		goto bad;
	out->seq = v;
	memcpy(out->hash, colon + 1, 65);
	return 0;
bad:
	return dk_error_set(DK_EINVALID,
	                    "bad anchor '%s': expected SEQ:HASH as printed "
	                    "by 'docket head'",
	                    s);
}

static int fail(struct dk_verify_report *r, int code, long long seq,
                const git_oid *commit, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct dk_verify_report *r, int code, long long seq,
                const git_oid *commit, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	r->bad_seq = seq;
	if (commit)
		git_oid_tostr(r->bad_commit, sizeof(r->bad_commit), commit);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "libgit2 error";
}

/*
 * Look an object up, expecting type `want`. On failure, record the
 * verdict: an object that is missing or cannot be inflated is
 * unreadable; one whose content does not hash to its name, that has the
 * wrong type or does not parse is tampered (FORMAT.md, Verifying, 5).
 * Returns 0 or 1 (failed, recorded in r).
 */
static int lookup(git_object **out, git_repository *repo, const git_oid *id,
                  git_object_t want, struct dk_verify_report *r, long long seq,
                  const git_oid *commit, const char *what)
{
	const git_error *e;
	git_object *o = NULL;
	int rc;

	*out = NULL;
	rc = git_object_lookup(&o, repo, id, GIT_OBJECT_ANY);
	if (rc == 0 && git_object_type(o) != want) {
		fail(r, DK_ETAMPERED, seq, commit,
		     "cannot read %s: the object is a %s, not a %s", what,
		     git_object_type2string(git_object_type(o)),
		     git_object_type2string(want));
		git_object_free(o);
		return 1;
	}
	if (rc == 0) {
		*out = o;
		return 0;
	}
	e = git_error_last();
	if (rc == GIT_EMISMATCH)
		fail(r, DK_ETAMPERED, seq, commit,
		     "cannot read %s: object hash mismatch (the object's "
		     "content does not hash to its name)",
		     what);
	else if (rc != GIT_ENOTFOUND && e &&
	         (e->klass == GIT_ERROR_OBJECT ||
	          e->klass == GIT_ERROR_INVALID))
		fail(r, DK_ETAMPERED, seq, commit,
		     "cannot read %s: malformed object: %s", what, git_msg());
	else
		fail(r, DK_EIO, seq, commit, "cannot read %s: %s", what,
		     git_msg());
	return 1;
}

/*
 * Is tree t equal to p except for the entry `name`? p may be NULL (an
 * empty tree). Returns 1 when equal in that sense.
 */
static int same_but(const git_tree *t, const git_tree *p, const char *name)
{
	size_t nt = git_tree_entrycount(t), np = p ? git_tree_entrycount(p) : 0;
	size_t it = 0, ip = 0;

	for (;;) {
		const git_tree_entry *a = NULL, *b = NULL;

		while (it < nt) {
			a = git_tree_entry_byindex(t, it);
			if (strcmp(git_tree_entry_name(a), name))
				break;
			a = NULL;
			it++;
		}
		while (ip < np) {
			b = git_tree_entry_byindex(p, ip);
			if (strcmp(git_tree_entry_name(b), name))
				break;
			b = NULL;
			ip++;
		}
		if (it >= nt)
			a = NULL;
		if (ip >= np)
			b = NULL;
		if (!a && !b)
			return 1;
		if (!a || !b)
			return 0;
		if (strcmp(git_tree_entry_name(a), git_tree_entry_name(b)) ||
		    git_tree_entry_filemode_raw(a) !=
		        git_tree_entry_filemode_raw(b) ||
		    !git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)))
			return 0;
		it++;
		ip++;
	}
}

/*
 * Exactly one line of msg starts with "KEY:", and it reads "KEY: WANT"
 * (FORMAT.md, Verifying, 4).
 */
static int trailer_ok(const char *msg, const char *key, const char *want)
{
	size_t kl = strlen(key), wl = strlen(want);
	const char *p = msg, *found = NULL;

	for (;;) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			if (found)
				return 0;
			found = p;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return found && found[kl + 1] == ' ' &&
	       !strncmp(found + kl + 2, want, wl) &&
	       (found[kl + 2 + wl] == '\n' || found[kl + 2 + wl] == '\0');
}

/* A well-formed `at`: YYYY-MM-DDTHH:MM:SSZ, a real UTC date and time. */
static int parse_at(int64_t *out, const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30,
		                     31, 31, 30, 31, 30, 31 };
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int y, mo, d, h, mi, se, i, dim;
	int64_t days;

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
		                    : s[i] != shape[i])
			return -1;
#define NUM2(k) ((s[k] - '0') * 10 + (s[(k) + 1] - '0'))
	y = NUM2(0) * 100 + NUM2(2);
	mo = NUM2(5);
	d = NUM2(8);
	h = NUM2(11);
	mi = NUM2(14);
	se = NUM2(17);
#undef NUM2
	if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return -1;
	dim = mdays[mo - 1];
	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if (d < 1 || d > dim)
		return -1;
	/* days from the civil date (proleptic Gregorian), epoch 1970-01-01 */
	{
		int64_t yy = y - (mo <= 2), era, yoe, doy, doe;
		int64_t mp = (mo + 9) % 12;

		era = (yy >= 0 ? yy : yy - 399) / 400;
		yoe = yy - era * 400;
		doy = (153 * mp + 2) / 5 + d - 1;
		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		days = era * 146097 + doe - 719468;
	}
	*out = days * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

struct walk {
	git_repository *repo;
	git_oid *ids;
	size_t n, cap;
};

/*
 * Gather the first-parent chain from the head, reading every commit
 * (newest first). A commit that cannot be read leaves the position of
 * every record unknown, so it is reported with no seq.
 */
static int collect(struct walk *w, const git_oid *head,
                   struct dk_verify_report *r)
{
	git_oid cur;

	git_oid_cpy(&cur, head);
	for (;;) {
		git_commit *c = NULL;

		if (w->n == w->cap) {
			size_t nc = w->cap ? w->cap * 2 : 1024;
			git_oid *ni = realloc(w->ids, nc * sizeof(*ni));
			if (!ni)
				return dk_error_set(DK_ERROR, "out of memory");
			w->ids = ni;
			w->cap = nc;
		}
		git_oid_cpy(&w->ids[w->n++], &cur);
		if (lookup((git_object **)&c, w->repo, &cur, GIT_OBJECT_COMMIT,
		           r, -1, &cur, "commit"))
			return 1;
		if (git_commit_parentcount(c) == 0) {
			git_commit_free(c);
			return 0;
		}
		git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
}

/* SHA-1 for rebuilt trees: fetched once, one context reused (OpenSSL 3
 * otherwise looks the algorithm up, under a lock, on every call). */
struct sha1ctx {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

struct state {
	struct dk_verify_report *r;
	git_repository *repo;
	/*
	 * The fast path: each record's blob id is taken from the head's
	 * tree, the commit's tree is rebuilt from the parent's (raw trees
	 * along the path) plus that blob, and only its id is compared with
	 * the commit's. Equal ids prove "parent + exactly this record" as
	 * surely as git's object names do; the first difference falls back
	 * to the exact check below, which says what is wrong.
	 */
	int fast;
	git_oid *blobs; /* by seq, from the head's tree */
	size_t nblobs;
	struct sha1ctx sha1;
	unsigned char *praw[LEVELS]; /* the parent's trees on the path */
	size_t plen[LEVELS];
	git_oid prev_root; /* the parent's tree */
	/* the trees along the record's path: the parent's, this commit's */
	git_tree *prev_path[LEVELS];
	git_tree *cur_path[LEVELS];
	char prev_hash[65];
	const struct dk_verify_opts *opts;
	size_t next_anchor;
	struct dk_anchor *anchors; /* sorted copy */
	struct dk_verify_policy *vp;
};

static void tree_oid(struct sha1ctx *h, git_oid *out, const unsigned char *raw,
                     size_t len)
{
	unsigned char md[20];
	unsigned int mdlen = 20;
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "tree %zu", len);

	EVP_DigestInit_ex2(h->ctx, h->md, NULL);
	EVP_DigestUpdate(h->ctx, hdr, (size_t)n + 1);
	EVP_DigestUpdate(h->ctx, raw, len);
	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	git_oid_fromraw(out, md);
}

/* Collect the blob of every record path in tree t at depth (0: root). */
static int map_tree(struct state *s, const git_oid *id, int depth,
                    uint64_t prefix)
{
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	const unsigned char *p, *end;
	struct dk_tent e;
	int k, rc = -1;

	if (git_repository_odb(&odb, s->repo) < 0)
		return -1;
	if (git_odb_read(&o, odb, id) < 0 ||
	    git_odb_object_type(o) != GIT_OBJECT_TREE)
		goto out;
	p = git_odb_object_data(o);
	end = p + git_odb_object_size(o);
	while ((k = dk_tree_next(&e, &p, end)) > 0) {
		uint64_t v;
		git_oid child;

		if (e.namelen < 2 || e.name[0] < '0' || e.name[0] > '9' ||
		    e.name[1] < '0' || e.name[1] > '9')
			continue; /* not ours: the exact check will say */
		v = prefix * 100 +
		    (uint64_t)((e.name[0] - '0') * 10 + (e.name[1] - '0'));
		git_oid_fromraw(&child, e.id);
		if (depth < LEVELS - 1) {
			if (e.mode == 040000 &&
			    map_tree(s, &child, depth + 1, v))
				goto out;
		} else if (e.namelen == 7 && !memcmp(e.name + 2, ".json", 5)) {
			if (v >= s->nblobs) {
				size_t n = s->nblobs ? s->nblobs : 1024;
				git_oid *nb;

				while (n <= v)
					n *= 2;
				nb = realloc(s->blobs, n * sizeof(*nb));
				if (!nb)
					goto out;
				memset(nb + s->nblobs, 0,
				       (n - s->nblobs) * sizeof(*nb));
				s->blobs = nb;
				s->nblobs = n;
			}
			git_oid_cpy(&s->blobs[v], &child);
		}
	}
	rc = k < 0 ? -1 : 0;
out:
	git_odb_object_free(o);
	git_odb_free(odb);
	return rc;
}

/* 1 when the commit's tree is the parent's plus this record's blob. */
static int fast_tree(struct state *s, const git_oid *tree, uint64_t seq,
                     git_oid *blob_out)
{
	static const git_oid zero;
	unsigned char *raw[LEVELS] = { NULL };
	size_t len[LEVELS] = { 0 };
	char comps[LEVELS][8], pcomps[LEVELS][8];
	git_oid child;
	int i, k, ok = 0;

	if (seq >= s->nblobs || git_oid_equal(&s->blobs[seq], &zero))
		return 0;
	dk_record_path_parts(comps, seq);
	dk_record_path_parts(pcomps, seq ? seq - 1 : 0);
	git_oid_cpy(&child, &s->blobs[seq]);
	for (i = LEVELS - 1; i >= 0; i--) {
		const unsigned char *base = NULL;
		size_t blen = 0;
		int same = seq > 0;

		for (k = 0; same && k < i; k++)
			if (strcmp(comps[k], pcomps[k]))
				same = 0;
		if (same) {
			base = s->praw[i];
			blen = s->plen[i];
		}
		if (dk_tree_with(&raw[i], &len[i], base, blen, comps[i],
		                 i == LEVELS - 1 ? 0100644u : 040000u,
		                 child.id) < 0)
			goto out;
		tree_oid(&s->sha1, &child, raw[i], len[i]);
	}
	if (!git_oid_equal(&child, tree))
		goto out;
	for (i = 0; i < LEVELS; i++) {
		free(s->praw[i]);
		s->praw[i] = raw[i];
		s->plen[i] = len[i];
		raw[i] = NULL;
	}
	git_oid_cpy(blob_out, &s->blobs[seq]);
	ok = 1;
out:
	for (i = 0; i < LEVELS; i++)
		free(raw[i]);
	return ok;
}

/* Check the commit's tree adds exactly the record's blob to its parent's. */
static int check_tree(struct state *s, git_tree *root, uint64_t seq,
                      const git_oid *cid, git_oid *blob_out)
{
	char comps[LEVELS][8];
	git_tree *t = root, *p = s->prev_path[0], *nt = NULL, *np = NULL;
	int i, rc = 1;

	dk_record_path_parts(comps, seq);
	for (i = 0; i < LEVELS; i++) {
		git_tree_free(s->cur_path[i]);
		s->cur_path[i] = NULL;
	}
	if (p)
		git_object_dup((git_object **)&p, (git_object *)p);
	git_object_dup((git_object **)&t, (git_object *)t);
	for (i = 0; i < LEVELS; i++) {
		const git_tree_entry *te, *pe;
		int leaf = i == LEVELS - 1;

		git_object_dup((git_object **)&s->cur_path[i], (git_object *)t);
		te = git_tree_entry_byname(t, comps[i]);
		pe = p ? git_tree_entry_byname(p, comps[i]) : NULL;
		if (!te) {
			fail(s->r, DK_ETAMPERED, (long long)seq, cid,
			     "the commit's tree has no record %llu",
			     (unsigned long long)seq);
			goto out;
		}
		if (!same_but(t, p, comps[i])) {
			fail(s->r, DK_ETAMPERED, (long long)seq, cid,
			     "the commit changes more than its record "
			     "(extra, changed or removed files)");
			goto out;
		}
		if (leaf) {
			if (pe) {
				fail(s->r, DK_ETAMPERED, (long long)seq, cid,
				     "the commit replaces record %llu instead "
				     "of adding it",
				     (unsigned long long)seq);
				goto out;
			}
			if (git_tree_entry_filemode_raw(te) !=
			    GIT_FILEMODE_BLOB) {
				fail(s->r, DK_ETAMPERED, (long long)seq, cid,
				     "record %llu is not a regular file",
				     (unsigned long long)seq);
				goto out;
			}
			git_oid_cpy(blob_out, git_tree_entry_id(te));
			rc = 0;
			goto out;
		}
		if (git_tree_entry_filemode_raw(te) != GIT_FILEMODE_TREE ||
		    (pe &&
		     git_tree_entry_filemode_raw(pe) != GIT_FILEMODE_TREE)) {
			fail(s->r, DK_ETAMPERED, (long long)seq, cid,
			     "unexpected file in the ledger layout");
			goto out;
		}
		if (lookup((git_object **)&nt, s->repo, git_tree_entry_id(te),
		           GIT_OBJECT_TREE, s->r, (long long)seq, cid,
		           "a tree"))
			goto out;
		/* the parent's subtree was read for the parent's record */
		if (pe && s->prev_path[i + 1] &&
		    git_oid_equal(git_tree_id(s->prev_path[i + 1]),
		                  git_tree_entry_id(pe)))
			git_object_dup((git_object **)&np,
			               (git_object *)s->prev_path[i + 1]);
		else if (pe && lookup((git_object **)&np, s->repo,
		                      git_tree_entry_id(pe), GIT_OBJECT_TREE,
		                      s->r, (long long)seq, cid, "a tree")) {
			git_tree_free(nt);
			goto out;
		}
		git_tree_free(t);
		git_tree_free(p);
		t = nt;
		p = np;
		nt = np = NULL;
	}
out:
	git_tree_free(t);
	git_tree_free(p);
	return rc;
}

static int check_record(struct state *s, git_commit *c, const git_oid *cid,
                        const git_oid *blob_id, uint64_t seq)
{
	struct dk_verify_report *r = s->r;
	struct dk_record *rec = NULL;
	const git_signature *au, *co;
	git_blob *blob = NULL;
	const char *msg;
	char want[32];
	json_int_t v;
	size_t len;
	int64_t at;
	int rc = 1;

	if (lookup((git_object **)&blob, s->repo, blob_id, GIT_OBJECT_BLOB, r,
	           (long long)seq, cid, "record"))
		return 1;
	len = (size_t)git_blob_rawsize(blob);
	if (len > DK_MAX_RECORD) {
		git_blob_free(blob);
		return fail(r, DK_ETAMPERED, (long long)seq, cid,
		            "record is larger than %d bytes", DK_MAX_RECORD),
		       1;
	}
	if (dk_record_parse(&rec, git_blob_rawcontent(blob), len) < 0) {
		git_blob_free(blob);
		return fail(r, DK_ETAMPERED, (long long)seq, cid, "%s",
		            dk_error_last()),
		       1;
	}
	git_blob_free(blob);
	v = json_integer_value(json_object_get(rec->json, "v"));
	if (seq == 0 && v > DK_FORMAT_VERSION) {
		rc = dk_error_set(DK_EVERSION,
		                  "the ledger uses format %lld; this docket "
		                  "reads format %d: upgrade docket",
		                  (long long)v, DK_FORMAT_VERSION);
		goto out;
	}
	if (rec->seq != seq) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record says seq %llu where %llu belongs (records "
		     "removed, inserted or swapped)",
		     (unsigned long long)rec->seq, (unsigned long long)seq);
		goto out;
	}
	if (strcmp(rec->prev, s->prev_hash)) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "prev is %.16s... but the previous record hashes to "
		     "%.16s... (a record was changed, removed or inserted)",
		     rec->prev, s->prev_hash);
		goto out;
	}
	if (v < 1 || v > DK_FORMAT_VERSION) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record format version %lld is not 1..%d", (long long)v,
		     DK_FORMAT_VERSION);
		goto out;
	}
	if ((seq == 0) != !strcmp(rec->type, "genesis")) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     seq == 0 ? "the first record is not a genesis record"
		              : "a second genesis record");
		goto out;
	}
	if (!dk_record_type_valid(rec->type)) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record type '%s' is not a valid type", rec->type);
		goto out;
	}
	if (parse_at(&at, rec->at) < 0) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record time '%s' is not RFC 3339 UTC", rec->at);
		goto out;
	}
	au = git_commit_author(c);
	co = git_commit_committer(c);
	if (!au || !co || au->when.time != at || co->when.time != at ||
	    au->when.offset != 0 || co->when.offset != 0 ||
	    au->when.sign != '+' || co->when.sign != '+') {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "commit time differs from the record's time");
		goto out;
	}
	msg = git_commit_message(c);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)seq);
	if (!trailer_ok(msg, "Docket-Seq", want)) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "commit message has no single Docket-Seq: %s", want);
		goto out;
	}
	if (!trailer_ok(msg, "Docket-Record", rec->hash)) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "commit message's Docket-Record is not the record's "
		     "hash");
		goto out;
	}
	if (strncmp(msg, rec->type, strlen(rec->type)) ||
	    msg[strlen(rec->type)] != ':') {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "commit subject does not name the record type '%s'",
		     rec->type);
		goto out;
	}
	if (seq == 0) {
		const char *id =
		    json_string_value(json_object_get(rec->body, "ledger_id"));
		snprintf(r->ledger_id, sizeof(r->ledger_id), "%s",
		         id ? id : "");
	}
	while (s->next_anchor < s->opts->nanchors &&
	       s->anchors[s->next_anchor].seq == seq) {
		if (strcmp(s->anchors[s->next_anchor].hash, rec->hash)) {
			fail(r, DK_ETAMPERED, (long long)seq, cid,
			     "anchor %llu:%.16s... does not match: the "
			     "history was rewritten",
			     (unsigned long long)seq,
			     s->anchors[s->next_anchor].hash);
			goto out;
		}
		s->next_anchor++;
		r->anchors_checked++;
	}
	if (dk_verify__policy_record(s->vp, rec) < 0) {
		fail(r, DK_ETAMPERED, (long long)seq, cid, "%s",
		     dk_error_last());
		goto out;
	}
	memcpy(s->prev_hash, rec->hash, 65);
	r->bytes += len;
	rc = 0;
out:
	dk_record_free(rec);
	return rc;
}

static int anchor_cmp(const void *a, const void *b)
{
	const struct dk_anchor *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int verify_repo(struct dk_verify_report *r, git_repository *repo,
                       const struct dk_verify_opts *opts)
{
	static const struct dk_verify_opts none;
	struct walk w = { repo, NULL, 0, 0 };
	struct state s;
	git_oid head;
	size_t i;
	int j, rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	r->bad_seq = -1;
	if (!opts)
		opts = &none;
	s.r = r;
	s.repo = repo;
	s.opts = opts;
	memset(s.prev_hash, '0', 64);
	if ((rc = dk_verify__policy_new(&s.vp, opts->trust)) < 0)
		return rc;
	if (opts->nanchors) {
		s.anchors = malloc(opts->nanchors * sizeof(*s.anchors));
		if (!s.anchors)
			return dk_error_set(DK_ERROR, "out of memory");
		memcpy(s.anchors, opts->anchors,
		       opts->nanchors * sizeof(*s.anchors));
		qsort(s.anchors, opts->nanchors, sizeof(*s.anchors),
		      anchor_cmp);
	}
	rc = git_reference_name_to_id(&head, repo, DK_BRANCH);
	if (rc < 0) {
		fail(r, rc == GIT_ENOTFOUND ? DK_ETAMPERED : DK_EIO, -1, NULL,
		     "cannot read %s: %s", DK_BRANCH, git_msg());
		rc = 0;
		goto done;
	}
	git_oid_tostr(r->head_commit, sizeof(r->head_commit), &head);
	if ((rc = collect(&w, &head, r)) != 0) {
		rc = rc < 0 ? rc : 0;
		goto done;
	}
	{
		git_commit *hc = NULL;

		s.sha1.md = EVP_MD_fetch(NULL, "SHA1", NULL);
		s.sha1.ctx = EVP_MD_CTX_new();
		s.fast = s.sha1.md && s.sha1.ctx &&
		         git_commit_lookup(&hc, repo, &head) == 0 &&
		         map_tree(&s, git_commit_tree_id(hc), 0, 0) == 0;
		git_commit_free(hc);
	}
	for (i = w.n; i-- > 0;) {
		uint64_t seq = (uint64_t)(w.n - 1 - i);
		git_commit *c = NULL;
		git_tree *root = NULL;
		git_oid blob;

		if (lookup((git_object **)&c, repo, &w.ids[i],
		           GIT_OBJECT_COMMIT, r, (long long)seq, &w.ids[i],
		           "commit"))
			goto done;
		if (git_commit_parentcount(c) > 1) {
			git_commit_free(c);
			fail(r, DK_ETAMPERED, (long long)seq, &w.ids[i],
			     "commit is a merge: the ledger history must be "
			     "linear");
			goto done;
		}
		if (s.fast &&
		    fast_tree(&s, git_commit_tree_id(c), seq, &blob)) {
			git_oid_cpy(&s.prev_root, git_commit_tree_id(c));
			if ((rc = check_record(&s, c, &w.ids[i], &blob, seq))) {
				git_commit_free(c);
				rc = rc < 0 ? rc : 0;
				goto done;
			}
			git_commit_free(c);
			goto next;
		}
		if (s.fast) {
			/* from here on, the exact check: it starts from the
			 * parent's tree, which the fast path did not keep */
			s.fast = 0;
			if (seq > 0 &&
			    lookup((git_object **)&s.prev_path[0], repo,
			           &s.prev_root, GIT_OBJECT_TREE, r,
			           (long long)seq - 1, &w.ids[i + 1],
			           "a tree")) {
				git_commit_free(c);
				goto done;
			}
		}
		if (lookup((git_object **)&root, repo, git_commit_tree_id(c),
		           GIT_OBJECT_TREE, r, (long long)seq, &w.ids[i],
		           "a tree")) {
			git_commit_free(c);
			goto done;
		}
		if (check_tree(&s, root, seq, &w.ids[i], &blob) ||
		    (rc = check_record(&s, c, &w.ids[i], &blob, seq))) {
			git_tree_free(root);
			git_commit_free(c);
			rc = rc < 0 ? rc : 0;
			goto done;
		}
		git_commit_free(c);
		git_tree_free(root);
		for (j = 0; j < LEVELS; j++) {
			git_tree_free(s.prev_path[j]);
			s.prev_path[j] = s.cur_path[j];
			s.cur_path[j] = NULL;
		}
	next:
		r->records++;
		if (opts->progress && (r->records % 1000 == 0 || i == 0))
			opts->progress(r->records, w.n, opts->payload);
	}
	r->head_seq = r->records ? r->records - 1 : 0;
	memcpy(r->head_hash, s.prev_hash, 65);
	if (s.next_anchor < opts->nanchors) {
		const struct dk_anchor *a = &s.anchors[s.next_anchor];
		fail(r, DK_ETAMPERED, (long long)a->seq, NULL,
		     "anchor %llu:%.16s... is past the head (seq %llu): the "
		     "ledger was truncated",
		     (unsigned long long)a->seq, a->hash,
		     (unsigned long long)r->head_seq);
	}
done:
	for (j = 0; j < LEVELS; j++) {
		git_tree_free(s.prev_path[j]);
		git_tree_free(s.cur_path[j]);
	}
	for (j = 0; j < LEVELS; j++)
		free(s.praw[j]);
	free(s.blobs);
	EVP_MD_CTX_free(s.sha1.ctx);
	EVP_MD_free(s.sha1.md);
	r->signatures = dk_verify__policy_signatures(s.vp);
	r->signature_ms = dk_verify__policy_signature_ms(s.vp);
	dk_verify__policy_free(s.vp);
	free(s.anchors);
	free(w.ids);
	return rc;
}

int dk_verify(struct dk_verify_report *r, struct dk_ledger *l,
              const struct dk_verify_opts *opts)
{
	return verify_repo(r, dk_ledger__repo(l), opts);
}

int dk_verify_path(struct dk_verify_report *r, const char *path,
                   const struct dk_verify_opts *opts)
{
	git_repository *repo = NULL;
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	r->bad_seq = -1;
	if (git_libgit2_init() < 0)
		return dk_error_set(DK_ERROR, "libgit2 init: %s", git_msg());
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	/*
	 * Every object is read once (the parent's trees are kept from the
	 * previous record), so libgit2's object cache would only grow: on
	 * 100k records it reached 900 MB.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	if (stat(path, &st) < 0)
		rc = dk_error_set(DK_ENOTLEDGER,
		                  "no ledger at %s; name one with --ledger or "
		                  "DOCKET_LEDGER",
		                  path);
	else if (git_repository_open_ext(
	             &repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		rc = dk_error_set(DK_ENOTLEDGER,
		                  "%s is not a docket ledger (not a git "
		                  "repository)",
		                  path);
	else
		rc = verify_repo(r, repo, opts);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
