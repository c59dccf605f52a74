#include "verify.h"
#include "error.h"
#include "util.h"
#include "verify-policy.h"

#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void comps_of(char comps[LEVELS][8], uint64_t seq)
{
	char d[16];
	int i;

	snprintf(d, sizeof(d), "%010llu", (unsigned long long)seq);
	for (i = 0; i < LEVELS; i++) {
		comps[i][0] = d[2 * i];
		comps[i][1] = d[2 * i + 1];
		comps[i][2] = '\0';
	}
	strcat(comps[LEVELS - 1], ".json");
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
		    git_tree_entry_filemode(a) != git_tree_entry_filemode(b) ||
		    !git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)))
			return 0;
		it++;
		ip++;
	}
}

static const char *trailer(const char *msg, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = msg;

	while ((p = strstr(p, key))) {
		if ((p == msg || p[-1] == '\n') && p[kl] == ':' &&
		    p[kl + 1] == ' ') {
			p += kl + 2;
			*len = strcspn(p, "\n");
			return p;
		}
		p += kl;
	}
	return NULL;
}

struct walk {
	git_repository *repo;
	git_oid *ids;
	size_t n, cap;
};

static int collect(struct walk *w, const git_oid *head,
                   struct dk_verify_report *r)
{
	git_oid cur;

	git_oid_cpy(&cur, head);
	for (;;) {
		git_commit *c = NULL;
		unsigned int np;

		if (w->n == w->cap) {
			size_t nc = w->cap ? w->cap * 2 : 1024;
			git_oid *ni = realloc(w->ids, nc * sizeof(*ni));
			if (!ni)
				return dk_error_set(DK_ERROR, "out of memory");
			w->ids = ni;
			w->cap = nc;
		}
		git_oid_cpy(&w->ids[w->n++], &cur);
		if (git_commit_lookup(&c, w->repo, &cur) < 0)
			return fail(r, DK_EIO, -1, &cur,
			            "cannot read commit: %s", git_msg()),
			       1;
		np = git_commit_parentcount(c);
		if (np > 1) {
			git_commit_free(c);
			return fail(r, DK_ETAMPERED, -1, &cur,
			            "commit is a merge: the ledger history "
			            "must be linear"),
			       1;
		}
		if (np == 0) {
			git_commit_free(c);
			return 0;
		}
		git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
}

struct state {
	struct dk_verify_report *r;
	git_repository *repo;
	git_tree *prev_root;
	char prev_hash[65];
	const struct dk_verify_opts *opts;
	size_t next_anchor;
	struct dk_anchor *anchors; /* sorted copy */
	struct dk_verify_policy *vp;
};

/* Check the commit's tree adds exactly the record's blob to its parent's. */
static int check_tree(struct state *s, git_tree *root, uint64_t seq,
                      const git_oid *cid, git_oid *blob_out)
{
	char comps[LEVELS][8];
	git_tree *t = root, *p = s->prev_root, *nt = NULL, *np = NULL;
	int i, rc = 1;

	comps_of(comps, seq);
	if (p)
		git_object_dup((git_object **)&p, (git_object *)p);
	git_object_dup((git_object **)&t, (git_object *)t);
	for (i = 0; i < LEVELS; i++) {
		const git_tree_entry *te, *pe;
		int leaf = i == LEVELS - 1;

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
			if (git_tree_entry_filemode(te) != GIT_FILEMODE_BLOB) {
				fail(s->r, DK_ETAMPERED, (long long)seq, cid,
				     "record %llu is not a regular file",
				     (unsigned long long)seq);
				goto out;
			}
			git_oid_cpy(blob_out, git_tree_entry_id(te));
			rc = 0;
			goto out;
		}
		if (git_tree_entry_filemode(te) != GIT_FILEMODE_TREE ||
		    (pe && git_tree_entry_filemode(pe) != GIT_FILEMODE_TREE)) {
			fail(s->r, DK_ETAMPERED, (long long)seq, cid,
			     "unexpected file in the ledger layout");
			goto out;
		}
		if (git_tree_lookup(&nt, s->repo, git_tree_entry_id(te)) < 0) {
			fail(s->r, DK_EIO, (long long)seq, cid,
			     "cannot read a tree: %s", git_msg());
			goto out;
		}
		if (pe &&
		    git_tree_lookup(&np, s->repo, git_tree_entry_id(pe)) < 0) {
			git_tree_free(nt);
			fail(s->r, DK_EIO, (long long)seq, cid,
			     "cannot read a tree: %s", git_msg());
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
	git_blob *blob = NULL;
	const char *msg, *tv;
	size_t tl;
	int64_t at;
	int rc = 1;

	if (git_blob_lookup(&blob, s->repo, blob_id) < 0)
		return fail(r, DK_EIO, (long long)seq, cid,
		            "cannot read record: %s", git_msg()),
		       1;
	if ((size_t)git_blob_rawsize(blob) > DK_MAX_RECORD) {
		git_blob_free(blob);
		return fail(r, DK_ETAMPERED, (long long)seq, cid,
		            "record is larger than %d bytes", DK_MAX_RECORD),
		       1;
	}
	r->bytes += (uint64_t)git_blob_rawsize(blob);
	if (dk_record_parse(&rec, git_blob_rawcontent(blob),
	                    (size_t)git_blob_rawsize(blob)) < 0) {
		git_blob_free(blob);
		return fail(r, DK_ETAMPERED, (long long)seq, cid, "%s",
		            dk_error_last()),
		       1;
	}
	git_blob_free(blob);
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
	if (json_integer_value(json_object_get(rec->json, "v")) >
	    DK_FORMAT_VERSION) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record format version is newer than this docket");
		goto out;
	}
	if ((seq == 0) != !strcmp(rec->type, "genesis")) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     seq == 0 ? "the first record is not a genesis record"
		              : "a second genesis record");
		goto out;
	}
	if (dk_parse_time(&at, rec->at) < 0) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "record time '%s' is not RFC 3339 UTC", rec->at);
		goto out;
	}
	if (git_commit_time(c) != at) {
		fail(r, DK_ETAMPERED, (long long)seq, cid,
		     "commit time differs from the record's time");
		goto out;
	}
	msg = git_commit_message(c);
	tv = trailer(msg, "Docket-Seq", &tl);
	{
		char want[32];
		int wl = snprintf(want, sizeof(want), "%llu",
		                  (unsigned long long)seq);
		if (!tv || tl != (size_t)wl || strncmp(tv, want, tl)) {
			fail(r, DK_ETAMPERED, (long long)seq, cid,
			     "commit message has no Docket-Seq: %s", want);
			goto out;
		}
	}
	tv = trailer(msg, "Docket-Record", &tl);
	if (!tv || tl != 64 || strncmp(tv, rec->hash, 64)) {
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
		fail(r, DK_ETAMPERED, (long long)seq, cid, "%s", dk_error_last());
		goto out;
	}
	memcpy(s->prev_hash, rec->hash, 65);
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

int dk_verify(struct dk_verify_report *r, struct dk_ledger *l,
              const struct dk_verify_opts *opts)
{
	static const struct dk_verify_opts none;
	git_repository *repo = dk_ledger__repo(l);
	struct walk w = {repo, NULL, 0, 0};
	struct state s;
	git_oid head;
	size_t i;
	int rc;

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
		goto done;
	}
	git_oid_tostr(r->head_commit, sizeof(r->head_commit), &head);
	if (collect(&w, &head, r))
		goto done;
	for (i = w.n; i-- > 0;) {
		uint64_t seq = (uint64_t)(w.n - 1 - i);
		git_commit *c = NULL;
		git_tree *root = NULL;
		git_oid blob;

		if (git_commit_lookup(&c, repo, &w.ids[i]) < 0 ||
		    git_commit_tree(&root, c) < 0) {
			git_commit_free(c);
			fail(r, DK_EIO, (long long)seq, &w.ids[i],
			     "cannot read commit: %s", git_msg());
			goto done;
		}
		if (check_tree(&s, root, seq, &w.ids[i], &blob) ||
		    check_record(&s, c, &w.ids[i], &blob, seq)) {
			git_tree_free(root);
			git_commit_free(c);
			goto done;
		}
		git_commit_free(c);
		git_tree_free(s.prev_root);
		s.prev_root = root;
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
	r->signatures = dk_verify__policy_signatures(s.vp);
	r->signature_ms = dk_verify__policy_signature_ms(s.vp);
	dk_verify__policy_free(s.vp);
	git_tree_free(s.prev_root);
	free(s.anchors);
	free(w.ids);
	return 0;
}
