#include "index.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_VERSION 2

struct dk_index {
	struct dk_ledger *l;
	json_t *j;
	int dirty;
	int rebuilt;
};

json_t *dk_index_json(const struct dk_index *ix)
{
	return ix->j;
}

int dk_index_rebuilt(const struct dk_index *ix)
{
	return ix->rebuilt;
}

void dk_index_free(struct dk_index *ix)
{
	if (!ix)
		return;
	json_decref(ix->j);
	free(ix);
}

static const char *strv(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static int index_path(char *out, size_t outsz, struct dk_ledger *l, int mkdirs)
{
	const char *subs[] = { "docket", "docket/index" };
	char dir[PATH_MAX];
	size_t i;

	for (i = 0; mkdirs && i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", dk_ledger_gitdir(l),
		         subs[i]);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return dk_error_set_errno(DK_EIO, "cannot create %s",
			                          dir);
	}
	snprintf(out, outsz, "%s/docket/index/status.json",
	         dk_ledger_gitdir(l));
	return 0;
}

static json_t *empty_index(struct dk_ledger *l)
{
	return json_pack("{s:i, s:s, s:I, s:s, s:[], s:{}, s:{}}", "v",
	                 INDEX_VERSION, "ledger_id", dk_ledger_id(l),
	                 "head_seq", (json_int_t)-1, "head_hash", "", "policy",
	                 "runs", "proposals");
}

static int save(struct dk_index *ix)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	int rc;

	if ((rc = index_path(path, sizeof(path), ix->l, 1)) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (json_dump_file(ix->j, tmp, JSON_COMPACT | JSON_SORT_KEYS) < 0) {
		unlink(tmp);
		return dk_error_set(DK_EIO, "cannot write %s", tmp);
	}
	chmod(tmp, 0600);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return dk_error_set_errno(DK_EIO, "cannot rename %s", tmp);
	}
	ix->dirty = 0;
	return 0;
}

/* The index still describes this ledger up to its head. */
static int still_valid(struct dk_index *ix, const struct dk_head *h)
{
	json_t *j = ix->j;
	json_int_t seq;
	struct dk_record *r = NULL;
	int ok;

	if (!json_is_object(j) ||
	    json_integer_value(json_object_get(j, "v")) != INDEX_VERSION ||
	    strcmp(strv(j, "ledger_id"), dk_ledger_id(ix->l)) ||
	    !json_is_object(json_object_get(j, "proposals")) ||
	    !json_is_object(json_object_get(j, "runs")) ||
	    !json_is_array(json_object_get(j, "policy")))
		return 0;
	seq = json_integer_value(json_object_get(j, "head_seq"));
	if (seq < 0 || (uint64_t)seq > h->seq)
		return 0;
	if ((uint64_t)seq == h->seq)
		return !strcmp(strv(j, "head_hash"), h->hash);
	if (dk_ledger_read(&r, ix->l, (uint64_t)seq) < 0)
		return 0;
	ok = !strcmp(r->hash, strv(j, "head_hash"));
	dk_record_free(r);
	return ok;
}

static void set_state(json_t *p, const char *state)
{
	json_object_set_new(p, "state", json_string(state));
}

/* Fold one record into the index (the same rules as dk_proposal_load). */
static void add_record(json_t *j, const struct dk_record *r)
{
	const json_t *b = r->body;
	const char *type = r->type;
	json_t *runs = json_object_get(j, "runs");
	json_t *props = json_object_get(j, "proposals");
	const char *pid = json_string_value(json_object_get(b, "proposal"));
	const char *run = json_string_value(json_object_get(b, "run"));
	json_t *p = pid ? json_object_get(props, pid) : NULL;
	json_t *ru = run ? json_object_get(runs, run) : NULL;

	if (!strcmp(type, "genesis") || !strcmp(type, "policy.update")) {
		json_array_append_new(json_object_get(j, "policy"),
		                      json_integer((json_int_t)r->seq));
	} else if (!strcmp(type, "run.started") && run) {
		json_object_set_new(
		    runs, run,
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:n}", "seq",
		              (json_int_t)r->seq, "actor", r->actor, "workflow",
		              strv(json_object_get(b, "workflow"), "name"),
		              "state", "running", "at", r->at, "paused"));
	} else if (ru && !strcmp(type, "run.paused")) {
		json_object_set_new(ru, "state", json_string("paused"));
		json_object_set_new(ru, "paused",
		                    json_pack("{s:s, s:s, s:s, s:I}",
		                              "proposal", strv(b, "proposal"),
		                              "waiting", strv(b, "waiting"),
		                              "step", strv(b, "step"), "seq",
		                              (json_int_t)r->seq));
	} else if (ru && !strcmp(type, "run.resumed")) {
		json_object_set_new(ru, "state", json_string("running"));
		json_object_set_new(ru, "paused", json_null());
	} else if (ru && !strcmp(type, "run.finished")) {
		/* finished runs leave the index: it stays as small as the
		 * work in progress, whatever the ledger's size */
		json_object_del(runs, run);
		ru = NULL;
	}
	if (!pid)
		return;
	if (!strcmp(type, "proposal")) {
		json_t *e = json_pack(
		    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:[], "
		    "s:[]}",
		    "seq", (json_int_t)r->seq, "run", run ? run : "", "step",
		    strv(b, "step"), "action", strv(b, "action"), "risk",
		    strv(b, "risk"), "proposer", strv(b, "proposer"), "at",
		    r->at, "expires_at", strv(b, "expires_at"), "requires",
		    json_object_get(b, "requires")
		        ? json_object_get(b, "requires")
		        : json_null(),
		    "state", "pending", "approvals", "records");
		json_object_set_new(
		    e, "rule",
		    json_string(strv(json_object_get(b, "rule"), "name")));
		if (ru)
			json_object_set(e, "starter",
			                json_object_get(ru, "actor"));
		json_object_set_new(props, pid, e);
		return;
	}
	if (!p)
		return;
	if (!strcmp(type, "approval") || !strncmp(type, "proposal.", 9) ||
	    !strncmp(type, "dispatch.", 9))
		json_array_append_new(json_object_get(p, "records"),
		                      json_integer((json_int_t)r->seq));
	if (!strcmp(type, "approval")) {
		if (!strcmp(strv(b, "decision"), "approve"))
			json_array_append_new(
			    json_object_get(p, "approvals"),
			    json_string(strv(b, "principal")));
	} else if (!strcmp(type, "proposal.approved")) {
		set_state(p, "approved");
	} else if (!strcmp(type, "proposal.rejected") ||
	           !strcmp(type, "proposal.expired")) {
		json_object_del(props, pid); /* final: leaves the index */
		return;
	} else if (!strcmp(type, "dispatch.intent")) {
		if (strcmp(strv(p, "state"), "dispatched"))
			set_state(p, "sending");
	} else if (!strcmp(type, "dispatch.result")) {
		const char *o = strv(b, "outcome");

		if (!strcmp(o, "succeeded") || !strcmp(o, "refused") ||
		    !strcmp(o, "failed") || !strcmp(o, "idempotency_error") ||
		    !strcmp(o, "skipped"))
			json_object_del(props, pid); /* final */
		else
			set_state(p, "approved");
	}
}

static int fold_cb(const struct dk_record *r, void *payload)
{
	struct dk_index *ix = payload;

	add_record(ix->j, r);
	json_object_set_new(ix->j, "head_seq",
	                    json_integer((json_int_t)r->seq));
	json_object_set_new(ix->j, "head_hash", json_string(r->hash));
	ix->dirty = 1;
	return 0;
}

int dk_index_update(struct dk_index *ix)
{
	struct dk_head h;
	json_int_t from;
	int rc;

	if ((rc = dk_ledger_head(&h, ix->l)) < 0)
		return rc;
	if (!still_valid(ix, &h)) {
		json_decref(ix->j);
		ix->j = empty_index(ix->l);
		ix->rebuilt = 1;
		ix->dirty = 1;
	}
	from = json_integer_value(json_object_get(ix->j, "head_seq")) + 1;
	if ((uint64_t)from <= h.seq &&
	    (rc = dk_ledger_foreach(ix->l, (uint64_t)from, fold_cb, ix)) < 0)
		return rc;
	/* an unwritable cache is not an error: it is rebuilt next time */
	if (ix->dirty && save(ix) < 0)
		dk_error_clear();
	return 0;
}

int dk_index_open(struct dk_index **out, struct dk_ledger *l)
{
	struct dk_index *ix = calloc(1, sizeof(*ix));
	char path[PATH_MAX];
	json_error_t err;
	int rc;

	*out = NULL;
	if (!ix)
		return dk_error_set(DK_ERROR, "out of memory");
	ix->l = l;
	index_path(path, sizeof(path), l, 0);
	ix->j = json_load_file(path, 0, &err);
	if (!ix->j)
		ix->j = empty_index(l);
	if ((rc = dk_index_update(ix)) < 0) {
		dk_index_free(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

json_t *dk_index_proposal(const struct dk_index *ix, const char *id)
{
	if (!strncmp(id, "wrp://", 6))
		id += 6;
	return json_object_get(json_object_get(ix->j, "proposals"), id);
}

json_t *dk_index_run(const struct dk_index *ix, const char *run)
{
	if (!strncmp(run, "agent-run://", 12))
		run += 12;
	return json_object_get(json_object_get(ix->j, "runs"), run);
}

uint64_t dk_index_policy_seq(const struct dk_index *ix)
{
	json_t *a = json_object_get(ix->j, "policy");
	size_t n = json_array_size(a);

	return n ? (uint64_t)json_integer_value(json_array_get(a, n - 1)) : 0;
}
