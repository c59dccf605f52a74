#include "run.h"
#include "error.h"
#include "handle.h"
#include "http.h"
#include "proc.h"
#include "redact.h"
#include "schema.h"
#include "sqlq.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

struct run {
	struct dk_ledger *l;
	const struct dk_workflow *wf;
	const char *actor;
	char id[72];
	char salt[33];
	json_t *session; /* full values */
	json_t *input;
	json_t *steps;   /* key -> output, for later steps */
	json_t *pending; /* proposal id -> full action args, for dispatch */
	json_t *hidden;  /* values redacted so far: scrubbed everywhere */
	json_t *usage;   /* input_tokens, output_tokens, cost_cents */
	json_t *levels;  /* budget levels already recorded */
	json_t *saved;   /* {steps, pending} as the state file holds them */
	uint64_t started_seq;
	size_t next; /* the first step without a record */
	struct dk_run_result *res;
};

const char *dk_run_status_name(enum dk_run_status s)
{
	switch (s) {
	case DK_RUN_COMPLETED:
		return "completed";
	case DK_RUN_PAUSED:
		return "paused";
	case DK_RUN_ESCALATED:
		return "escalated";
	case DK_RUN_BUDGET:
		return "budget_stopped";
	case DK_RUN_FAILED:
		return "failed";
	case DK_RUN_REFUSED:
		return "refused";
	}
	return "unknown";
}

static char *canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* sha256(salt || canonical JSON), hex */
static json_t *digest(const struct run *r, const json_t *v)
{
	char *c = canonical(v ? v : json_null());
	char hex[65];
	size_t sl = strlen(r->salt), cl = c ? strlen(c) : 0;
	char *buf = malloc(sl + cl + 1);

	if (!c || !buf) {
		free(c);
		free(buf);
		return json_null();
	}
	memcpy(buf, r->salt, sl);
	memcpy(buf + sl, c, cl);
	dk_sha256_hex(hex, buf, sl + cl);
	free(buf);
	free(c);
	return json_string(hex);
}

static void hash_id(char *out, size_t outsz, const char *prefix,
                    const char *const *parts, size_t n)
{
	struct {
		char *p;
		size_t len;
	} acc = { NULL, 0 };
	char hex[65];
	size_t i;

	for (i = 0; i < n; i++) {
		size_t pl = strlen(parts[i]);
		char *np = realloc(acc.p, acc.len + pl + 1);
		if (!np)
			break;
		acc.p = np;
		memcpy(acc.p + acc.len, parts[i], pl);
		acc.p[acc.len + pl] = '\n';
		acc.len += pl + 1;
	}
	dk_sha256_hex(hex, acc.p ? acc.p : "", acc.len);
	free(acc.p);
	snprintf(out, outsz, "%s%.*s", prefix,
	         (int)(outsz - strlen(prefix) - 1 < 40
	                   ? outsz - strlen(prefix) - 1
	                   : 40),
	         hex);
}

void dk_proposal_id(char out[32], const char *ledger_id, const char *run,
                    const char *step, const char *action, const json_t *args)
{
	char *c = canonical(args);
	const char *parts[] = { "proposal", ledger_id, run,
		                step,       action,    c ? c : "" };

	hash_id(out, 32, "p-", parts, 6);
	free(c);
}

void dk_idempotency_key(char out[48], const char *ledger_id, const char *run,
                        const char *action, const json_t *args)
{
	char *c = canonical(args);
	const char *parts[] = { "idempotency", ledger_id, run, action,
		                c ? c : "" };

	hash_id(out, 48, "docket-", parts, 5);
	free(c);
}

/* --- the private state file ------------------------------------------ */

static int state_path(char *out, size_t outsz, struct dk_ledger *l,
                      const char *run, int mkdirs)
{
	char dir[PATH_MAX];

	if (!dk_id_valid(run))
		return dk_error_set(DK_EINVALID,
		                    "'%.80s' is not a valid run id", run);
	snprintf(dir, sizeof(dir), "%s/docket", dk_ledger_gitdir(l));
	if (mkdirs && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return dk_error_set_errno(DK_EIO, "cannot create %s", dir);
	snprintf(dir, sizeof(dir), "%s/docket/runs", dk_ledger_gitdir(l));
	if (mkdirs && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return dk_error_set_errno(DK_EIO, "cannot create %s", dir);
	snprintf(out, outsz, "%s/%s.json", dir, run);
	return 0;
}

/*
 * The state file is a journal of JSON lines. A line with "salt" is the
 * whole state; a line without it is a patch: its "steps", "pending" and
 * "budget_levels" are merged key by key into what came before, its other
 * members replace theirs. The first save of a process writes the whole
 * state, later saves append a patch with what changed: a step's output
 * costs one append, not a rewrite of the file (a rename over the old
 * file, which ext4 answers with a flush of the file's data, about 2 ms a
 * step even with DOCKET_FSYNC=0). A last line cut short by a crash is
 * ignored: the state is saved before the record it belongs to, so that
 * step has no record and runs again.
 */
static int write_all(int fd, const char *text, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* members of cur whose value is not (the same object as) in saved */
static json_t *changed(json_t *saved, const json_t *cur)
{
	json_t *d = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)cur, k, v)
	{
		if (json_object_get(saved, k) != v)
			json_object_set(d, k, v);
	}
	return d;
}

static int state_save(struct run *r)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	json_t *st;
	char *text;
	size_t n;
	int fd, rc, whole = !r->saved, fresh = 0, newline = 0;
	struct stat sb;

	if ((rc = state_path(path, sizeof(path), r->l, r->id, whole)) < 0)
		return rc;
	if (whole) {
		st = json_pack(
		    "{s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:I, s:s, s:s}",
		    "run", r->id, "salt", r->salt, "session", r->session,
		    "input", r->input, "steps", r->steps, "pending", r->pending,
		    "usage", r->usage, "budget_levels", r->levels,
		    "started_seq", (json_int_t)r->started_seq, "workflow_hash",
		    r->wf->workflow_hash, "workflow_file", r->wf->path);
	} else {
		st = json_pack(
		    "{s:o, s:o, s:O, s:O, s:I}", "steps",
		    changed(json_object_get(r->saved, "steps"), r->steps),
		    "pending",
		    changed(json_object_get(r->saved, "pending"), r->pending),
		    "usage", r->usage, "budget_levels", r->levels,
		    "started_seq", (json_int_t)r->started_seq);
	}
	if (st)
		json_object_set(st, "hidden", r->hidden);
	text = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(st);
	if (!text)
		return dk_error_set(DK_ERROR, "cannot serialize run state");
	n = strlen(text);
	if (whole && stat(path, &sb) < 0 && errno == ENOENT) {
		/* a new run: the file appears whole or not at all */
		fresh = 1;
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	} else {
		snprintf(tmp, sizeof(tmp), "%s", path);
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		/* a file from before the journal ends without a newline */
		if (fd >= 0 && whole && lseek(fd, 0, SEEK_END) > 0) {
			char c = '\n';
			if (pread(fd, &c, 1, lseek(fd, 0, SEEK_END) - 1) == 1 &&
			    c != '\n')
				newline = 1;
		}
	}
	if (fd < 0) {
		explicit_bzero(text, n);
		free(text);
		return dk_error_set_errno(DK_EIO, "cannot write %s", tmp);
	}
	text[n] = '\n'; /* json_dumps' NUL: the line's end, written below */
	rc = (newline && write_all(fd, "\n", 1) < 0) ||
	     write_all(fd, text, n + 1) < 0;
	explicit_bzero(text, n + 1);
	free(text);
	if (rc || (dk_ledger_fsync_enabled(r->l) && fsync(fd) < 0)) {
		close(fd);
		return dk_error_set_errno(DK_EIO, "cannot write %s", tmp);
	}
	if (close(fd) < 0)
		return dk_error_set_errno(DK_EIO, "cannot write %s", tmp);
	if (fresh && rename(tmp, path) < 0)
		return dk_error_set_errno(DK_EIO, "cannot rename %s", tmp);
	if (fresh && dk_ledger_fsync_enabled(r->l)) {
		/* the new name must be durable before run.started is */
		char *slash = strrchr(path, '/');
		int dfd;

		*slash = '\0';
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 || fsync(dfd) < 0;
		if (dfd >= 0)
			close(dfd);
		if (rc)
			return dk_error_set_errno(DK_EIO, "cannot sync %s",
			                          path);
	}
	/* what is on disk now: the same objects, by reference */
	json_decref(r->saved);
	r->saved = json_pack("{s:o, s:o}", "steps", json_copy(r->steps),
	                     "pending", json_copy(r->pending));
	return 0;
}

static int state_parse(json_t **out, char *buf, size_t len)
{
	json_t *acc = NULL;
	char *p = buf, *end = buf + len;

	if (!memchr(buf, '\n', len)) /* one object, from before the journal */
		return (*out = json_loadb(buf, len, 0, NULL)) ? 0 : -1;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		json_t *line, *v;
		const char *k;

		if (!nl)
			break; /* cut short by a crash: not saved */
		line = nl > p ? json_loadb(p, (size_t)(nl - p), 0, NULL) : NULL;
		p = nl + 1;
		if (!line)
			continue;
		if (json_object_get(line, "salt") || !acc) {
			json_decref(acc);
			acc = line;
			continue;
		}
		json_object_foreach(line, k, v)
		{
			json_t *old = json_object_get(acc, k);

			if (json_is_object(old) && json_is_object(v) &&
			    (!strcmp(k, "steps") || !strcmp(k, "pending") ||
			     !strcmp(k, "budget_levels")))
				json_object_update(old, v);
			else
				json_object_set(acc, k, v);
		}
		json_decref(line);
	}
	*out = acc;
	return acc ? 0 : -1;
}

static int state_load(json_t **out, struct dk_ledger *l, const char *run)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = state_path(path, sizeof(path), l, run, 0)) < 0)
		return rc;
	rc = dk_read_file(&buf, &len, path, (size_t)1 << 30);
	if (rc == 0 && state_parse(out, buf, len) < 0)
		rc = -1;
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	if (rc < 0)
		return dk_error_set(DK_ENOTFOUND,
		                    "the run's private state %s is missing or "
		                    "unreadable; a run resumes on the machine "
		                    "that started it",
		                    path);
	return 0;
}

/*
 * One process at a time runs a given run: GITDIR/docket/runs/RUN.lock,
 * flock()ed for as long as the run executes (the kernel drops it when the
 * process dies, so a crash leaves nothing to clean up). Without it, a
 * --resume started while the run is still going would run its next step
 * a second time.
 */
static int run_lock(int *fd, struct dk_ledger *l, const char *run)
{
	char path[PATH_MAX], lock[PATH_MAX + 8];
	size_t n;
	int rc;

	*fd = -1;
	if ((rc = state_path(path, sizeof(path), l, run, 1)) < 0)
		return rc;
	n = strlen(path) - strlen(".json");
	snprintf(lock, sizeof(lock), "%.*s.lock", (int)n, path);
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return dk_error_set_errno(DK_EIO, "cannot open %s", lock);
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;

		close(*fd);
		*fd = -1;
		if (busy)
			return dk_error_set(DK_ELOCKED,
			                    "run %s is being run by another "
			                    "process right now",
			                    run);
		return dk_error_set_errno(DK_EIO, "cannot lock %s", lock);
	}
	return 0;
}

static void run_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* --- appending ------------------------------------------------------- */

static int append_as_is(struct run *r, const char *type, json_t *body,
                        uint64_t *seq);

/* Scrub a record body: a value redacted anywhere in the run is redacted
 * everywhere, also inside a longer string. */
static void scrub_body(const struct run *r, json_t *body)
{
	dk_redact_values(body, r->hidden);
}

static int append(struct run *r, const char *type, json_t *body, uint64_t *seq)
{
	scrub_body(r, body);
	return append_as_is(r, type, body, seq);
}

/* Append a body that is already scrubbed. */
static int append_as_is(struct run *r, const char *type, json_t *body,
                        uint64_t *seq)
{
	struct dk_append_result ar;
	int rc;

	rc = dk_ledger_append(&ar, r->l, type, r->actor, body, NULL);
	json_decref(body);
	if (rc < 0)
		return rc;
	if (seq)
		*seq = ar.seq;
	r->res->last_seq = ar.seq;
	return 0;
}

static json_t *redacted_copy(const struct run *r, const json_t *v,
                             const char *prefix, const struct dk_strv *paths)
{
	json_t *c = json_deep_copy(v ? v : json_null());

	if (paths) {
		dk_redact_collect(r->hidden, v, prefix, paths->v, paths->n);
		dk_redact_prefixed(c, prefix, paths->v, paths->n);
	}
	return c;
}

static int finish(struct run *r, enum dk_run_status st, const char *step,
                  const char *reason)
{
	json_t *body;

	r->res->status = st;
	if (step)
		snprintf(r->res->step, sizeof(r->res->step), "%s", step);
	if (reason)
		snprintf(r->res->reason, sizeof(r->res->reason), "%s", reason);
	body = json_pack("{s:s, s:s, s:I, s:O}", "run", r->id, "status",
	                 dk_run_status_name(st), "steps",
	                 (json_int_t)r->res->steps_recorded, "usage", r->usage);
	if (step)
		json_object_set_new(body, "step", json_string(step));
	if (reason)
		json_object_set_new(body, "reason", json_string(reason));
	return append(r, "run.finished", body, NULL);
}

/* --- capabilities ---------------------------------------------------- */

struct outcome {
	json_t *output;  /* full output, or NULL on failure */
	json_t *bound;   /* sql: the session values bound into the query */
	char error[512]; /* why it failed */
	char *stderr_text;
	int exit_status;
	double ms;
	char tool_sha256[65];
};

static int run_sql(struct outcome *oc, const struct run *r,
                   const struct dk_capability *cap, const json_t *args)
{
	struct dk_sql_opts so = { cap->sql.db->writable, 0,
		                  (size_t)(cap->sql.max_rows > 0
		                               ? cap->sql.max_rows
		                               : DK_SQL_MAX_ROWS) };
	json_t *vals = json_array(), *rows = NULL;
	char *db = NULL;
	size_t i;
	int rc;

	oc->bound = json_object();
	for (i = 0; i < cap->sql.nparams; i++) {
		const struct dk_sql_param *p = &cap->sql.params[i];
		json_t *v = json_object_get(p->from_session ? r->session : args,
		                            p->name);

		if (v && p->from_session)
			json_object_set(oc->bound, p->name, v);

		if (!v) {
			snprintf(oc->error, sizeof(oc->error),
			         "query parameter :%s%s has no value",
			         p->from_session ? "session." : "", p->name);
			json_decref(vals);
			return -1;
		}
		json_array_append(vals, v);
	}
	if ((rc = dk_database_path(&db, r->wf, cap->sql.db)) < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		json_decref(vals);
		return -1;
	}
	rc = dk_sql_query(&rows, db, cap->sql.sql, vals, &so);
	free(db);
	json_decref(vals);
	if (rc < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		return -1;
	}
	if (cap->sql.returns == DK_SQL_ROW) {
		if (json_array_size(rows) > 1) {
			snprintf(oc->error, sizeof(oc->error),
			         "query returned %zu rows where one was "
			         "expected",
			         json_array_size(rows));
			json_decref(rows);
			return -1;
		}
		oc->output = json_pack(
		    "{s:b, s:O}", "found", json_array_size(rows) == 1, "row",
		    json_array_size(rows) ? json_array_get(rows, 0)
		                          : json_null());
	} else {
		oc->output = json_pack("{s:O, s:I}", "rows", rows, "count",
		                       (json_int_t)json_array_size(rows));
	}
	json_decref(rows);
	return 0;
}

static void file_sha256(char out[65], const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (dk_read_file(&buf, &len, path, 64u * 1024 * 1024) == 0)
		dk_sha256_hex(out, buf, len);
	free(buf);
}

static int run_exec(struct outcome *oc, const struct run *r,
                    const struct dk_capability *cap, const json_t *args)
{
	struct dk_exec_opts eo;
	struct dk_exec_result er;
	const char **argv = NULL, **env = NULL;
	char *prog = NULL, *in = NULL, pathvar[64];
	size_t i, ne = 0;
	json_error_t jerr;
	int rc = -1, has_path = 0;

	if (dk_exec_path(&prog, r->wf, cap) < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		return -1;
	}
	/* the tool runs in the workflow's directory: a path relative to
	 * ours (a workflow loaded as dir/wf.yaml) must not be resolved
	 * again from there */
	if (strchr(prog, '/') && prog[0] != '/') {
		char *abs = realpath(prog, NULL);

		if (!abs) {
			snprintf(oc->error, sizeof(oc->error),
			         "cannot run %s: %s", prog, strerror(errno));
			free(prog);
			return -1;
		}
		free(prog);
		prog = abs;
	}
	argv = calloc(cap->exec.argv.n + 1, sizeof(*argv));
	env = calloc(cap->exec.env.n + 2, sizeof(*env));
	if (!argv || !env)
		goto out;
	argv[0] = prog;
	for (i = 1; i < cap->exec.argv.n; i++)
		argv[i] = cap->exec.argv.v[i];
	/* the environment is the allow-list and nothing else */
	for (i = 0; i < cap->exec.env.n; i++) {
		const char *name = cap->exec.env.v[i];
		size_t nl = strlen(name);
		char **e;

		for (e = environ; *e; e++)
			if (!strncmp(*e, name, nl) && (*e)[nl] == '=')
				env[ne++] = *e;
		if (!strcmp(name, "PATH"))
			has_path = 1;
	}
	if (!has_path) {
		snprintf(pathvar, sizeof(pathvar),
		         "PATH=/usr/local/bin:/usr/bin:/bin");
		env[ne++] = pathvar;
	}
	in = canonical(args);
	file_sha256(oc->tool_sha256, prog);
	memset(&eo, 0, sizeof(eo));
	eo.argv = argv;
	eo.env = env;
	eo.cwd = r->wf->dir;
	eo.input = in;
	eo.input_len = in ? strlen(in) : 0;
	eo.timeout_ms = cap->exec.timeout_ms > 0 ? cap->exec.timeout_ms
	                                         : DK_EXEC_TIMEOUT_MS;
	eo.max_stdout =
	    cap->exec.max_output ? cap->exec.max_output : DK_EXEC_MAX_OUTPUT;
	eo.max_stderr = 4096;
	if (dk_exec_run(&er, &eo) < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		goto out;
	}
	oc->stderr_text = er.err;
	er.err = NULL;
	oc->exit_status = er.exited ? er.status : -1;
	if (er.timed_out)
		snprintf(oc->error, sizeof(oc->error),
		         "tool ran past its timeout of %ld ms and was killed",
		         eo.timeout_ms);
	else if (er.out_overflow)
		snprintf(oc->error, sizeof(oc->error),
		         "tool printed more than %zu bytes and was killed",
		         eo.max_stdout);
	else if (!er.exited)
		snprintf(oc->error, sizeof(oc->error),
		         "tool was killed by signal %d", er.signal);
	else if (er.status != 0)
		snprintf(oc->error, sizeof(oc->error),
		         "tool exited with status %d", er.status);
	else if (!(oc->output = json_loadb(er.out, er.out_len,
	                                   JSON_REJECT_DUPLICATES, &jerr)))
		snprintf(oc->error, sizeof(oc->error),
		         "tool printed invalid JSON: %s (line %d, column %d)",
		         jerr.text, jerr.line, jerr.column);
	else
		rc = 0;
	dk_exec_result_free(&er);
out:
	free(in);
	free(prog);
	free(argv);
	free(env);
	return rc;
}

static const char *secret_env(const char *name, void *data)
{
	(void)data;
	return getenv(name);
}

/* A read-only GET to the capability's provider. */
static int run_http(struct outcome *oc, const struct run *r,
                    const struct dk_capability *cap, const json_t *args)
{
	struct dk_http_request rq = DK_HTTP_REQUEST_INIT;
	struct dk_http_response rs;
	struct dk_http_client *cl = NULL;
	const char *base = dk_provider_base_url(cap->http.provider);
	const char **hdrs = NULL, **secrets = NULL;
	char *path = NULL, *url = NULL;
	size_t i, nh = 0;
	int rc = -1, hrc;
	json_error_t jerr;

	(void)r;
	memset(&rs, 0, sizeof(rs));
	hdrs = calloc(cap->http.nheaders + 2, sizeof(*hdrs));
	secrets = calloc(cap->http.secrets.n + 1, sizeof(*secrets));
	if (!hdrs || !secrets)
		goto out;
	for (i = 0; i < cap->http.secrets.n; i++)
		secrets[i] = getenv(cap->http.secrets.v[i]);
	if (dk_workflow_expand_path(&path, cap->http.path, args) < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		goto out;
	}
	url = malloc(strlen(base) + strlen(path) + 1);
	if (!url)
		goto out;
	memcpy(url, base, strlen(base));
	memcpy(url + strlen(base), path, strlen(path) + 1);
	hdrs[nh++] = "Accept: application/json";
	for (i = 0; i < cap->http.nheaders; i++) {
		char *v = NULL, *line;
		size_t len;

		if (dk_workflow_expand_header(&v, cap->http.headers[i].value,
		                              secret_env, NULL) < 0) {
			snprintf(oc->error, sizeof(oc->error), "header %s: %s",
			         cap->http.headers[i].name, dk_error_last());
			goto out;
		}
		len = strlen(cap->http.headers[i].name) + strlen(v) + 3;
		line = malloc(len);
		if (line)
			snprintf(line, len, "%s: %s", cap->http.headers[i].name,
			         v);
		explicit_bzero(v, strlen(v));
		free(v);
		if (!line)
			goto out;
		hdrs[nh++] = line;
	}
	rq.method = "GET";
	rq.url = url;
	rq.headers = hdrs;
	rq.connect_timeout_ms = cap->http.connect_timeout_ms;
	rq.timeout_ms = cap->http.timeout_ms;
	rq.max_body = cap->http.max_response;
	rq.allow_plain_local = 1; /* the provider's local_hosts decide: */
	{
		char host[256] = "";
		const char *h = strstr(url, "://");

		if (h) {
			size_t hl = strcspn(h + 3, ":/?#");
			snprintf(host, sizeof(host), "%.*s", (int)hl, h + 3);
		}
		if (!strncmp(url, "http://", 7) &&
		    !dk_provider_host_is_local(cap->http.provider, host)) {
			snprintf(oc->error, sizeof(oc->error),
			         "plain http to %s is refused: the provider "
			         "lists it in no local_hosts",
			         host);
			goto out;
		}
	}
	rq.secrets = secrets;
	if (dk_http_client_new(&cl) < 0) {
		snprintf(oc->error, sizeof(oc->error), "%s", dk_error_last());
		goto out;
	}
	hrc = dk_http_send(&rs, cl, &rq);
	if (dk_http_classify(hrc, &rs) != DK_HTTP_SUCCESS) {
		if (hrc < 0)
			snprintf(oc->error, sizeof(oc->error), "GET %s: %s",
			         cap->http.path, dk_error_last());
		else
			snprintf(oc->error, sizeof(oc->error),
			         "GET %s: HTTP status %ld", cap->http.path,
			         rs.status);
		goto out;
	}
	oc->output =
	    json_loadb(rs.body, rs.body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!oc->output) {
		snprintf(oc->error, sizeof(oc->error),
		         "GET %s: the response is not JSON: %s", cap->http.path,
		         jerr.text);
		goto out;
	}
	rc = 0;
out:
	dk_http_response_dispose(&rs);
	dk_http_client_free(cl);
	if (hdrs)
		for (i = 1; i < nh; i++) {
			explicit_bzero((char *)hdrs[i], strlen(hdrs[i]));
			free((char *)hdrs[i]);
		}
	free(hdrs);
	free(secrets);
	free(path);
	free(url);
	return rc;
}

static int run_capability(struct outcome *oc, const struct run *r,
                          const struct dk_capability *cap, const json_t *args)
{
	double t0 = dk_mono_ms();
	int rc;

	switch (cap->kind) {
	case DK_CAP_SQL:
		rc = run_sql(oc, r, cap, args);
		break;
	case DK_CAP_EXEC:
		rc = run_exec(oc, r, cap, args);
		break;
	default:
		rc = run_http(oc, r, cap, args);
		break;
	}
	oc->ms = dk_mono_ms() - t0;
	return rc;
}

/* --- budget and escalation --------------------------------------------- */

static int64_t usage_of(const json_t *u, const char *k)
{
	return json_integer_value(json_object_get(u, k));
}

static void add_usage(struct run *r, const json_t *output)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
		                            "cost_cents" };
	json_t *u = json_object_get(output, "usage");
	size_t i;

	if (!json_is_object(u))
		return;
	for (i = 0; i < 3; i++) {
		json_t *v = json_object_get(u, keys[i]);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			json_object_set_new(
			    r->usage, keys[i],
			    json_integer(usage_of(r->usage, keys[i]) +
			                 json_integer_value(v)));
	}
}

static int budget_pct(const struct run *r)
{
	const struct dk_budget *b = &r->wf->budget;
	int64_t lim[3] = { b->max_input_tokens, b->max_output_tokens,
		           b->max_cost_cents };
	const char *keys[3] = { "input_tokens", "output_tokens", "cost_cents" };
	int64_t best = 0;
	int i;

	for (i = 0; i < 3; i++)
		if (lim[i] > 0) {
			int64_t p = usage_of(r->usage, keys[i]) * 100 / lim[i];
			if (p > best)
				best = p;
		}
	return best > 100000 ? 100000 : (int)best;
}

static json_t *budget_json(const struct run *r)
{
	const struct dk_budget *b = &r->wf->budget;

	return json_pack("{s:O, s:{s:I, s:I, s:I}, s:i}", "usage", r->usage,
	                 "limits", "input_tokens",
	                 (json_int_t)b->max_input_tokens, "output_tokens",
	                 (json_int_t)b->max_output_tokens, "cost_cents",
	                 (json_int_t)b->max_cost_cents, "pct", budget_pct(r));
}

/* Record each threshold crossed; 1 when the run must stop. */
static int check_budget(struct run *r, const char *after_step, int *stop)
{
	const struct dk_budget *b = &r->wf->budget;
	struct {
		const char *name;
		int pct;
	} lv[3] = { { "warn", b->warn_pct ? b->warn_pct : 80 },
		    { "degrade", b->degrade_pct ? b->degrade_pct : 90 },
		    { "stop", b->stop_pct ? b->stop_pct : 100 } };
	int pct = budget_pct(r), i, rc;

	*stop = 0;
	for (i = 0; i < 3; i++) {
		json_t *body;

		if (pct < lv[i].pct || json_object_get(r->levels, lv[i].name))
			continue;
		json_object_set_new(r->levels, lv[i].name, json_true());
		body = budget_json(r);
		json_object_set_new(body, "run", json_string(r->id));
		json_object_set_new(body, "level", json_string(lv[i].name));
		json_object_set_new(body, "threshold_pct",
		                    json_integer(lv[i].pct));
		json_object_set_new(body, "after_step",
		                    json_string(after_step));
		if ((rc = append(r, "run.budget", body, NULL)) < 0)
			return rc;
	}
	if (pct >= lv[2].pct)
		*stop = 1;
	return 0;
}

static json_t *context(const struct run *r)
{
	json_t *c = json_pack("{s:s, s:O, s:O, s:O}", "run", r->id, "session",
	                      r->session, "input", r->input, "steps", r->steps);

	json_object_set_new(c, "budget", budget_json(r));
	return c;
}

/* 1 and the escalation when a condition holds. */
static int check_escalate(struct run *r, const char *after_step,
                          const struct dk_escalation **hit, char *err,
                          size_t errsz)
{
	const struct dk_escalate *es = &r->wf->escalate;
	json_t *ctx = context(r);
	size_t i;
	int yes = 0;

	*hit = NULL;
	for (i = 0; i < es->nconditions && !yes; i++) {
		if (dk_jq_eval_bool(&yes, es->conditions[i].when, ctx) < 0) {
			snprintf(err, errsz, "escalate condition %s: %s",
			         es->conditions[i].name, dk_error_last());
			json_decref(ctx);
			return -1;
		}
		if (yes)
			*hit = &es->conditions[i];
	}
	json_decref(ctx);
	(void)after_step;
	return yes;
}

static int escalate(struct run *r, const char *after_step,
                    const struct dk_escalation *e)
{
	const struct dk_escalate *es = &r->wf->escalate;
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "run", r->id,
	                         "condition", e->name, "after_step", after_step,
	                         "reason", e->reason ? e->reason : e->name);
	char why[512];
	int rc;

	if (es->action) {
		json_t *ctx = context(r), *args = NULL;

		json_object_set_new(ctx, "escalation",
		                    json_pack("{s:s, s:s}", "name", e->name,
		                              "reason",
		                              e->reason ? e->reason : ""));
		json_object_set_new(body, "action",
		                    json_string(es->action->name));
		if (es->args && dk_jq_eval(&args, es->args, ctx) == 0) {
			json_t *red =
			    redacted_copy(r, args, "args", &es->action->redact);
			json_object_set_new(body, "args", red);
			json_decref(args);
		}
		json_decref(ctx);
	}
	if ((rc = append(r, "run.escalated", body, NULL)) < 0)
		return rc;
	snprintf(why, sizeof(why), "escalated: %s",
	         e->reason ? e->reason : e->name);
	return finish(r, DK_RUN_ESCALATED, after_step, why);
}

/* --- steps ------------------------------------------------------------ */

static json_t *step_body(const struct run *r, const struct dk_step *s,
                         size_t index, const char *status)
{
	json_t *b =
	    json_pack("{s:s, s:s, s:I, s:s}", "run", r->id, "step", s->key,
	              "index", (json_int_t)index, "status", status);

	if (s->capability) {
		json_object_set_new(b, "capability",
		                    json_string(s->capability->name));
		json_object_set_new(
		    b, "kind",
		    json_string(dk_cap_kind_name(s->capability->kind)));
	} else {
		json_object_set_new(b, "action", json_string(s->action->name));
	}
	return b;
}

static json_t *redacted_copy(const struct run *r, const json_t *v,
                             const char *prefix, const struct dk_strv *paths);

/* The session values a sql step bound, redacted as the session is. */
static void set_bound(const struct run *r, json_t *b, const json_t *bound)
{
	if (bound)
		json_object_set_new(
		    b, "bound",
		    redacted_copy(r, bound, "session", &r->wf->redact));
}

/* What a capability call left behind, for its ok or failed record. */
static void set_call(const struct run *r, json_t *b, const struct outcome *oc)
{
	if (!oc)
		return;
	set_bound(r, b, oc->bound);
	json_object_set_new(b, "duration_ms",
	                    json_integer((json_int_t)(oc->ms + 0.5)));
	if (oc->tool_sha256[0])
		json_object_set_new(b, "tool_sha256",
		                    json_string(oc->tool_sha256));
	if (oc->stderr_text && *oc->stderr_text)
		json_object_set_new(b, "stderr", json_string(oc->stderr_text));
}

static int record_failed_call(struct run *r, const struct dk_step *s, size_t i,
                              json_t *args, const char *why,
                              const struct outcome *oc)
{
	json_t *b = step_body(r, s, i, "failed");
	int rc;

	json_object_set_new(b, "error", json_string(why));
	set_call(r, b, oc);
	if (oc && oc->exit_status > 0)
		json_object_set_new(b, "exit_status",
		                    json_integer(oc->exit_status));
	if (oc && oc->output && s->capability) {
		/* it ran, but its output broke the contract: keep it */
		json_object_set_new(b, "output",
		                    redacted_copy(r, oc->output, "output",
		                                  &s->capability->redact));
		json_object_set_new(b, "output_digest", digest(r, oc->output));
	}
	if (args) {
		const struct dk_strv *red =
		    s->capability ? &s->capability->redact : &s->action->redact;
		json_object_set_new(b, "args",
		                    redacted_copy(r, args, "args", red));
		json_object_set_new(b, "args_digest", digest(r, args));
	}
	if ((rc = append(r, "run.step", b, NULL)) < 0)
		return rc;
	r->res->steps_recorded++;
	return finish(r, DK_RUN_FAILED, s->key, why);
}

static int record_failed(struct run *r, const struct dk_step *s, size_t i,
                         json_t *args, const char *why)
{
	return record_failed_call(r, s, i, args, why, NULL);
}

static json_t *args_input(const struct run *r)
{
	return json_pack("{s:O, s:O, s:O, s:s}", "session", r->session, "input",
	                 r->input, "steps", r->steps, "run", r->id);
}

static int capability_step(struct run *r, const struct dk_step *s, size_t i,
                           json_t *args)
{
	const struct dk_capability *cap = s->capability;
	struct outcome oc;
	json_t *b, *red, *ctx;
	size_t k;
	int rc;

	memset(&oc, 0, sizeof(oc));
	if (dk_schema_validate(cap->input, args) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "arguments refused by %s: %s",
		         cap->name, dk_error_last());
		return record_failed(r, s, i, args, why);
	}
	if (run_capability(&oc, r, cap, args) < 0) {
		rc = record_failed_call(r, s, i, args, oc.error, &oc);
		json_decref(oc.bound);
		free(oc.stderr_text);
		return rc;
	}
	if (dk_schema_validate(cap->output, oc.output) < 0) {
		snprintf(oc.error, sizeof(oc.error),
		         "output refused by the contract of %s: %s", cap->name,
		         dk_error_last());
		goto failed;
	}
	ctx = json_pack("{s:O, s:O, s:O}", "args", args, "output", oc.output,
	                "session", r->session);
	for (k = 0; k < cap->nensure; k++) {
		int ok = 0;

		if (dk_jq_eval_bool(&ok, cap->ensure[k].expr, ctx) < 0 || !ok) {
			snprintf(oc.error, sizeof(oc.error),
			         "ensure failed: %s%s%s",
			         cap->ensure[k].message
			             ? cap->ensure[k].message
			             : dk_jq_source(cap->ensure[k].expr),
			         ok ? "" : "", "");
			json_decref(ctx);
			goto failed;
		}
	}
	json_decref(ctx);

	/* the full output goes to the private state first */
	json_object_set(r->steps, s->key, oc.output);
	add_usage(r, oc.output);
	if ((rc = state_save(r)) < 0)
		goto out;
	b = step_body(r, s, i, "ok");
	json_object_set_new(b, "args",
	                    redacted_copy(r, args, "args", &cap->redact));
	red = redacted_copy(r, oc.output, "output", &cap->redact);
	json_object_set_new(b, "output", red);
	set_call(r, b, &oc);
	json_object_set_new(b, "args_digest", digest(r, args));
	json_object_set_new(b, "output_digest", digest(r, oc.output));
	if (json_is_object(json_object_get(oc.output, "usage")))
		json_object_set(b, "usage",
		                json_object_get(oc.output, "usage"));
	rc = append(r, "run.step", b, NULL);
	if (rc == 0)
		r->res->steps_recorded++;
	if (rc == DK_EFULL) {
		/* an output under the tool's cap can still be over the
		 * ledger's record size: a failed step, not a broken run */
		snprintf(oc.error, sizeof(oc.error),
		         "the step's evidence is too large for the ledger: %s",
		         dk_error_last());
		json_decref(oc.output);
		oc.output = NULL;
		goto failed;
	}
	goto out;
failed:
	rc = record_failed_call(r, s, i, args, oc.error, &oc);
	if (rc == 0)
		rc = 1;
out:
	json_decref(oc.output);
	json_decref(oc.bound);
	free(oc.stderr_text);
	return rc;
}

/* What approval rules see: {run, session, input, steps, args, action, risk}. */
static json_t *rule_context(const struct run *r, const struct dk_action *act,
                            json_t *args)
{
	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:s, s:s}", "run", r->id,
	                 "session", r->session, "input", r->input, "steps",
	                 r->steps, "args", args, "action", act->name, "risk",
	                 dk_risk_name(act->risk));
}

/* The approval rule for act with args: 0 with *rule (NULL: none). */
static int match_rule(const struct dk_approval_rule **rule, const struct run *r,
                      const struct dk_action *act, json_t *args)
{
	json_t *ctx = rule_context(r, act, args);
	int rc = dk_workflow_match_approval(rule, r->wf, ctx);

	json_decref(ctx);
	return rc;
}

static int ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/*
 * The values a rule's condition saw: each plain path (.a.b.c) in its jq
 * source, outside string literals, with its value in ctx (null when
 * absent). Recorded with the proposal so approvers see why it fired.
 */
static json_t *rule_saw(const char *src, const json_t *ctx)
{
	json_t *saw = json_object();
	size_t i = 0, n = src ? strlen(src) : 0;
	int in_str = 0;

	while (i < n) {
		char path[256];
		const json_t *v = ctx;
		size_t start, pl = 0;

		if (in_str) {
			if (src[i] == '\\' && i + 1 < n)
				i++;
			else if (src[i] == '"')
				in_str = 0;
			i++;
			continue;
		}
		if (src[i] == '"') {
			in_str = 1;
			i++;
			continue;
		}
		if (src[i] != '.' ||
		    (i > 0 && (ident_char(src[i - 1]) || src[i - 1] == ']' ||
		               src[i - 1] == ')'))) {
			i++;
			continue;
		}
		start = i;
		while (i < n && src[i] == '.' && i + 1 < n &&
		       ident_char(src[i + 1])) {
			char key[128];
			size_t kl = 0;

			i++;
			while (i < n && ident_char(src[i]) &&
			       kl + 1 < sizeof(key))
				key[kl++] = src[i++];
			key[kl] = '\0';
			v = json_object_get(v, key);
		}
		pl = i - start;
		if (pl <= 1 || pl >= sizeof(path)) {
			i = start + 1;
			continue;
		}
		memcpy(path, src + start, pl);
		path[pl] = '\0';
		json_object_set_new(saw, path,
		                    v ? json_deep_copy(v) : json_null());
	}
	return saw;
}

/*
 * Record a proposal for act with args (already validated) under rule:
 * the full args go to the private state, then the `proposal` record, and
 * for an auto rule its proposal.approved. Shared by action steps and
 * `docket propose` (dk_run_propose); step is NULL for the latter.
 */
static int record_proposal(struct run *r, const struct dk_action *act,
                           const char *step, json_t *args,
                           const struct dk_approval_rule *rule,
                           const char *reason, char pid[32])
{
	char key[48], exp[32], nonce[17] = "", id_step[160];
	unsigned char rnd[8];
	json_t *b, *prop;
	uint64_t seq;
	int rc;

	/* a step proposes once; `docket propose` may propose the same
	 * action twice (say after a denial), so its id takes a nonce */
	if (!step) {
		if ((rc = dk_random(rnd, sizeof(rnd))) < 0)
			return rc;
		dk_hex(nonce, rnd, sizeof(rnd));
	}
	snprintf(id_step, sizeof(id_step), "%s%s",
	         step ? step : "propose:", nonce);
	dk_proposal_id(pid, dk_ledger_id(r->l), r->id, id_step, act->name,
	               args);
	dk_idempotency_key(key, dk_ledger_id(r->l), r->id, act->name, args);
	/* the action's full args are kept for dispatch */
	json_object_set(r->pending, pid, args);
	if ((rc = state_save(r)) < 0)
		return rc;
	dk_format_time(exp, dk_now() + (rule->expires_s > 0
	                                    ? rule->expires_s
	                                    : DK_APPROVAL_EXPIRES_S));
	prop = json_pack(
	    "{s:s, s:s, s:s?, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:s*}, "
	    "s:s, s:s, s:s}",
	    "proposal", pid, "run", r->id, "step", step, "action", act->name,
	    "risk", dk_risk_name(act->risk), "args",
	    redacted_copy(r, args, "args", &act->redact), "args_digest",
	    digest(r, args), "rule", "name", rule->name, "decision",
	    dk_decision_name(rule->decision), "when",
	    rule->when ? dk_jq_source(rule->when) : NULL, "proposer", "",
	    "idempotency_key", key, "expires_at", exp);
	if (!step) {
		json_object_set_new(prop, "step", json_null());
		json_object_set_new(prop, "nonce", json_string(nonce));
	}
	if (rule->when) {
		json_t *ctx = rule_context(r, act, args);

		json_object_set_new(json_object_get(prop, "rule"), "saw",
		                    rule_saw(dk_jq_source(rule->when), ctx));
		json_decref(ctx);
	}
	if (reason)
		json_object_set_new(prop, "reason", json_string(reason));
	if (rule->decision == DK_DECISION_REQUIRE)
		json_object_set_new(prop, "requires",
		                    json_pack("{s:s, s:i, s:b}", "role",
		                              rule->role, "count", rule->count,
		                              "allow_proposer",
		                              rule->allow_proposer));
	else
		json_object_set_new(prop, "requires", json_null());
	/* the proposer is who proposed, even if a session value names them */
	scrub_body(r, prop);
	json_object_set_new(prop, "proposer", json_string(r->actor));
	if ((rc = append_as_is(r, "proposal", prop, &seq)) < 0)
		return rc;
	if (rule->decision == DK_DECISION_AUTO) {
		b = json_pack("{s:s, s:s, s:s, s:s}", "proposal", pid, "run",
		              r->id, "by", "auto", "rule", rule->name);
		if ((rc = append(r, "proposal.approved", b, NULL)) < 0)
			return rc;
	}
	return 0;
}

static void refusal(char *why, size_t whysz, const struct dk_action *act,
                    const struct dk_approval_rule *rule)
{
	snprintf(why, whysz, "%s refused by %s%s", act->name,
	         rule ? "rule " : "no approval rule matches",
	         rule ? rule->name : "");
	if (rule && rule->reason) {
		size_t n = strlen(why);
		snprintf(why + n, whysz - n, ": %s", rule->reason);
	}
}

static int action_step(struct run *r, const struct dk_step *s, size_t i,
                       json_t *args)
{
	const struct dk_action *act = s->action;
	const struct dk_approval_rule *rule = NULL;
	char pid[32], why[700];
	json_t *b;
	int rc;

	if (dk_schema_validate(act->input, args) < 0) {
		snprintf(why, sizeof(why), "arguments refused by %s: %s",
		         act->name, dk_error_last());
		return record_failed(r, s, i, args, why);
	}
	if (match_rule(&rule, r, act, args) < 0) {
		snprintf(why, sizeof(why), "approval rules: %s",
		         dk_error_last());
		return record_failed(r, s, i, args, why);
	}
	if (!rule || rule->decision == DK_DECISION_DENY) {
		b = step_body(r, s, i, "refused");
		refusal(why, sizeof(why), act, rule);
		json_object_set_new(b, "error", json_string(why));
		json_object_set_new(
		    b, "rule", rule ? json_string(rule->name) : json_null());
		json_object_set_new(
		    b, "args", redacted_copy(r, args, "args", &act->redact));
		if ((rc = append(r, "run.step", b, NULL)) < 0)
			return rc;
		r->res->steps_recorded++;
		return finish(r, DK_RUN_REFUSED, s->key, why);
	}
	if ((rc = record_proposal(r, act, s->key, args, rule, NULL, pid)) < 0)
		return rc;
	snprintf(r->res->proposal, sizeof(r->res->proposal), "%s", pid);
	snprintf(r->res->waiting, sizeof(r->res->waiting), "%s",
	         rule->decision == DK_DECISION_AUTO ? "dispatch" : "approval");
	b = json_pack("{s:s, s:s, s:s, s:s}", "run", r->id, "step", s->key,
	              "proposal", pid, "waiting", r->res->waiting);
	if ((rc = append(r, "run.paused", b, NULL)) < 0)
		return rc;
	r->res->status = DK_RUN_PAUSED;
	snprintf(r->res->step, sizeof(r->res->step), "%s", s->key);
	snprintf(r->res->reason, sizeof(r->res->reason),
	         "%s needs %s (rule %s)", act->name,
	         rule->decision == DK_DECISION_AUTO ? "dispatch" : "approval",
	         rule->name);
	return 1;
}

/* Run steps from r->next; 0 when the run reached an end or a gate. */
static int execute(struct run *r)
{
	const struct dk_workflow *wf = r->wf;
	size_t i;
	int rc;

	for (i = r->next; i < wf->nsteps; i++) {
		const struct dk_step *s = &wf->steps[i];
		json_t *in = args_input(r), *args = NULL;
		const struct dk_escalation *esc = NULL;
		char err[600];
		int go = 1, stop = 0;

		if (s->when && dk_jq_eval_bool(&go, s->when, in) < 0) {
			snprintf(err, sizeof(err), "when: %s", dk_error_last());
			json_decref(in);
			return record_failed(r, s, i, NULL, err);
		}
		if (!go) {
			json_t *b = step_body(r, s, i, "skipped");
			json_t *val = NULL;

			dk_jq_eval(&val, s->when, in);
			json_object_set_new(b, "when",
			                    json_string(dk_jq_source(s->when)));
			json_object_set_new(b, "when_value",
			                    val ? val : json_null());
			json_decref(in);
			json_object_set_new(r->steps, s->key, json_null());
			if ((rc = state_save(r)) < 0 ||
			    (rc = append(r, "run.step", b, NULL)) < 0)
				return rc;
			r->res->steps_recorded++;
			continue;
		}
		if (s->args) {
			if (dk_jq_eval(&args, s->args, in) < 0) {
				snprintf(err, sizeof(err), "args: %s",
				         dk_error_last());
				json_decref(in);
				return record_failed(r, s, i, NULL, err);
			}
		} else {
			args = json_object();
		}
		json_decref(in);
		rc = s->capability ? capability_step(r, s, i, args)
		                   : action_step(r, s, i, args);
		json_decref(args);
		if (rc < 0)
			return rc;
		if (rc > 0 || r->res->status != DK_RUN_COMPLETED)
			return 0; /* failed, refused or paused: recorded */
		if ((rc = check_budget(r, s->key, &stop)) < 0)
			return rc;
		rc = check_escalate(r, s->key, &esc, err, sizeof(err));
		if (rc < 0)
			return finish(r, DK_RUN_FAILED, s->key, err);
		if (rc > 0)
			return escalate(r, s->key, esc);
		if (stop && i + 1 < wf->nsteps) {
			snprintf(err, sizeof(err),
			         "budget reached %d%% after %s; stopped before "
			         "%s",
			         budget_pct(r), s->key, wf->steps[i + 1].key);
			rc = finish(r, DK_RUN_BUDGET, s->key, err);
			return rc;
		}
	}
	return finish(r, DK_RUN_COMPLETED, NULL, NULL);
}

static void run_free(struct run *r)
{
	json_decref(r->session);
	json_decref(r->input);
	json_decref(r->steps);
	json_decref(r->usage);
	json_decref(r->levels);
	json_decref(r->pending);
	json_decref(r->hidden);
	json_decref(r->saved);
}

static int check_session(const struct dk_workflow *wf, const json_t *session)
{
	size_t i;

	if (!json_is_object(session))
		return dk_error_set(DK_EINVALID, "session must be an object");
	for (i = 0; i < wf->session_require.n; i++) {
		json_t *v = json_object_get(session, wf->session_require.v[i]);
		if (!v || json_is_null(v) ||
		    (json_is_string(v) && !json_string_length(v)))
			return dk_error_set(DK_EINVALID,
			                    "session value '%s' is required by "
			                    "%s (give --session %s=VALUE)",
			                    wf->session_require.v[i], wf->name,
			                    wf->session_require.v[i]);
	}
	return 0;
}

int dk_run_start(struct dk_run_result *res, struct dk_ledger *l,
                 const struct dk_workflow *wf, const json_t *session,
                 const json_t *input, const struct dk_run_opts *opts)
{
	struct run r;
	unsigned char rnd[16];
	char hex[33];
	json_t *body, *keys;
	size_t i;
	int rc, lockfd = -1;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if ((rc = check_session(wf, session)) < 0)
		return rc;
	if (dk_schema_validate(wf->input, input) < 0) {
		dk_error_prefix("input refused by %s", wf->name);
		return DK_EINVALID;
	}
	if ((rc = dk_random(rnd, sizeof(rnd))) < 0)
		return rc;
	dk_hex(hex, rnd, 8);
	snprintf(r.id, sizeof(r.id), "run-%s", hex);
	dk_random(rnd, sizeof(rnd));
	dk_hex(r.salt, rnd, 16);
	r.l = l;
	r.wf = wf;
	r.actor = opts && opts->actor ? opts->actor : "docket";
	r.res = res;
	if ((rc = run_lock(&lockfd, l, r.id)) < 0)
		return rc;
	r.session = json_deep_copy(session);
	r.input = json_deep_copy(input ? input : json_object());
	r.steps = json_object();
	r.pending = json_object();
	r.hidden = json_array();
	r.usage = json_pack("{s:i, s:i, s:i}", "input_tokens", 0,
	                    "output_tokens", 0, "cost_cents", 0);
	r.levels = json_object();
	snprintf(res->run, sizeof(res->run), "%s", r.id);

	keys = json_array();
	for (i = 0; i < wf->nsteps; i++)
		json_array_append_new(keys, json_string(wf->steps[i].key));
	body = json_pack(
	    "{s:s, s:{s:s, s:I, s:s, s:s}, s:o, s:o, s:o, s:o, "
	    "s:o, s:o}",
	    "run", r.id, "workflow", "name", wf->name, "version",
	    (json_int_t)wf->version, "hash", wf->workflow_hash, "file",
	    wf->path, "session",
	    redacted_copy(&r, session, "session", &wf->redact), "input",
	    redacted_copy(&r, r.input, "input", &wf->redact), "session_digest",
	    digest(&r, session), "input_digest", digest(&r, r.input), "steps",
	    keys, "budget", budget_json(&r));
	/* the state file first: it holds the salt the digests use */
	if ((rc = state_save(&r)) < 0 ||
	    (rc = append(&r, "run.started", body, &r.started_seq)) < 0) {
		run_free(&r);
		run_unlock(lockfd);
		return rc;
	}
	res->started_seq = r.started_seq;
	if ((rc = state_save(&r)) == 0)
		rc = execute(&r);
	run_free(&r);
	run_unlock(lockfd);
	return rc;
}

/* --- reading a run back ------------------------------------------------ */

struct collect {
	const char *run;
	json_t *out;
	int found_start;
	char newer_prev[65]; /* prev of the record read just before */
	size_t checked;
	long long bad_seq;
};

static int collect_cb(const struct dk_record *rec, void *payload)
{
	struct collect *c = payload;
	const char *run = json_string_value(json_object_get(rec->body, "run"));

	/* newest first: each record must hash to its successor's prev */
	if (c->newer_prev[0] && strcmp(c->newer_prev, rec->hash)) {
		c->bad_seq = (long long)rec->seq;
		return 1;
	}
	memcpy(c->newer_prev, rec->prev, 65);
	c->checked++;
	if (!run || strcmp(run, c->run))
		return 0;
	json_array_insert_new(c->out, 0,
	                      json_pack("{s:I, s:s, s:s, s:s, s:s, s:O}", "seq",
	                                (json_int_t)rec->seq, "hash", rec->hash,
	                                "type", rec->type, "at", rec->at,
	                                "actor", rec->actor, "body",
	                                rec->body));
	if (!strcmp(rec->type, "run.started")) {
		c->found_start = 1;
		return 1;
	}
	return 0;
}

int dk_run_records(json_t **out, size_t *checked, struct dk_ledger *l,
                   const char *run)
{
	struct collect c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.run = run;
	c.out = json_array();
	c.bad_seq = -1;
	*out = NULL;
	rc = dk_ledger_foreach_reverse(l, collect_cb, &c);
	if (rc < 0) {
		json_decref(c.out);
		return rc;
	}
	if (c.bad_seq >= 0) {
		json_decref(c.out);
		return dk_error_set(DK_ETAMPERED,
		                    "record %lld does not hash to the next "
		                    "record's prev: run 'docket verify'",
		                    c.bad_seq);
	}
	if (!c.found_start) {
		json_decref(c.out);
		return dk_error_set(DK_ENOTFOUND, "no run %s in this ledger",
		                    run);
	}
	if (checked)
		*checked = c.checked;
	*out = c.out;
	return 0;
}

int dk_run_workflow_file(char **out, struct dk_ledger *l, const char *run)
{
	json_t *recs;
	const char *f;
	int rc;

	*out = NULL;
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	f = json_string_value(json_object_get(
	    json_object_get(json_object_get(json_array_get(recs, 0), "body"),
	                    "workflow"),
	    "file"));
	*out = f ? strdup(f) : NULL;
	json_decref(recs);
	return *out ? 0 : dk_error_set(DK_ENOTFOUND, "run names no file");
}

/*
 * A run's progress as the ledger holds it: step outputs (from the private
 * state, for the steps the ledger has), the next step, usage and budget
 * levels. Usage and levels come from the records, not the state file: the
 * state is saved before a step's record is appended, so after a crash
 * between the two it counts a step the ledger does not hold (which runs
 * again), and a budget level recorded just before a crash may not have
 * reached it yet.
 */
static void replay(struct run *r, const json_t *recs, const json_t *st)
{
	json_t *rec;
	size_t i;

	json_decref(r->usage);
	json_decref(r->levels);
	r->usage = json_pack("{s:i, s:i, s:i}", "input_tokens", 0,
	                     "output_tokens", 0, "cost_cents", 0);
	r->levels = json_object();
	if (!r->steps)
		r->steps = json_object();
	json_array_foreach(recs, i, rec)
	{
		json_t *body = json_object_get(rec, "body");
		const char *type =
		    json_string_value(json_object_get(rec, "type"));
		const char *key =
		    json_string_value(json_object_get(body, "step"));
		json_t *full;

		if (!strcmp(type, "run.budget") &&
		    json_is_string(json_object_get(body, "level")))
			json_object_set_new(
			    r->levels,
			    json_string_value(json_object_get(body, "level")),
			    json_true());
		if (strcmp(type, "run.step") || !key)
			continue;
		add_usage(r, body);
		full = json_object_get(json_object_get(st, "steps"), key);
		json_object_set(r->steps, key, full ? full : json_null());
		r->res->steps_recorded++;
		r->next =
		    (size_t)json_integer_value(json_object_get(body, "index")) +
		    1;
	}
}

/*
 * A started run brought back: its private state (full values, pending
 * action args, hidden values) and its progress replayed from the records
 * the ledger holds (recs: dk_run_records). Shared by resume, propose and
 * the continuation after dispatch.
 */
static int load_run(struct run *r, struct dk_run_result *res,
                    struct dk_ledger *l, const struct dk_workflow *wf,
                    const char *run, const json_t *recs,
                    const struct dk_run_opts *opts)
{
	json_t *st = NULL;
	int rc;

	if ((rc = state_load(&st, l, run)) < 0)
		return rc;
	snprintf(r->id, sizeof(r->id), "%s", run);
	snprintf(r->salt, sizeof(r->salt), "%s",
	         json_string_value(json_object_get(st, "salt")));
	r->l = l;
	r->wf = wf;
	r->actor = opts && opts->actor ? opts->actor : "docket";
	r->res = res;
	r->session = json_incref(json_object_get(st, "session"));
	r->input = json_incref(json_object_get(st, "input"));
	r->steps = json_object();
	r->started_seq = (uint64_t)json_integer_value(
	    json_object_get(json_array_get(recs, 0), "seq"));
	snprintf(res->run, sizeof(res->run), "%s", run);
	res->started_seq = r->started_seq;
	replay(r, recs, st);
	r->pending = json_incref(json_object_get(st, "pending"));
	if (!r->pending)
		r->pending = json_object();
	r->hidden = json_incref(json_object_get(st, "hidden"));
	if (!r->hidden)
		r->hidden = json_array();
	if (!r->session)
		r->session = json_object();
	if (!r->input)
		r->input = json_object();
	json_decref(st);
	return 0;
}

static int resume_locked(struct dk_run_result *res, struct dk_ledger *l,
                         const struct dk_workflow *wf, const char *run,
                         const struct dk_run_opts *opts);

int dk_run_resume(struct dk_run_result *res, struct dk_ledger *l,
                  const struct dk_workflow *wf, const char *run,
                  const struct dk_run_opts *opts)
{
	json_t *recs = NULL;
	int rc, lockfd;

	memset(res, 0, sizeof(*res));
	if (!dk_id_valid(run))
		return dk_error_set(DK_EINVALID,
		                    "'%.80s' is not a valid run id (1-64 of "
		                    "a-z, 0-9, -)",
		                    run);
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	json_decref(recs);
	if ((rc = run_lock(&lockfd, l, run)) < 0)
		return rc;
	rc = resume_locked(res, l, wf, run, opts);
	run_unlock(lockfd);
	return rc;
}

/* The records are read again under the lock: another process may have
 * run steps since. */
static int resume_locked(struct dk_run_result *res, struct dk_ledger *l,
                         const struct dk_workflow *wf, const char *run,
                         const struct dk_run_opts *opts)
{
	struct run r;
	json_t *recs = NULL, *rec, *started;
	const char *hash;
	size_t i, k;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	started = json_object_get(json_array_get(recs, 0), "body");
	hash = json_string_value(
	    json_object_get(json_object_get(started, "workflow"), "hash"));
	if (!hash || strcmp(hash, wf->workflow_hash)) {
		/* hash points into recs: the message first */
		rc = dk_error_set(DK_EREFUSED,
		                  "run %s started with workflow %.12s..., "
		                  "but %s is now %.12s...: resume with the "
		                  "definition that ran",
		                  run, hash ? hash : "?", wf->path,
		                  wf->workflow_hash);
		json_decref(recs);
		return rc;
	}
	json_array_foreach(recs, i, rec)
	{
		const char *type =
		    json_string_value(json_object_get(rec, "type"));
		json_t *body = json_object_get(rec, "body");

		if (!strcmp(type, "run.finished")) {
			rc = dk_error_set(
			    DK_EREFUSED, "run %s already finished (%s)", run,
			    json_string_value(json_object_get(body, "status")));
			json_decref(recs);
			return rc;
		}
		if (!strcmp(type, "run.paused")) {
			int later = 0;
			json_t *rec2;

			/* paused, and nothing after it continues the run */
			json_array_foreach(recs, k, rec2) if (k > i) later = 1;
			if (!later) {
				rc = dk_error_set(
				    DK_EREFUSED,
				    "run %s is paused for %s of wrp://%s", run,
				    json_string_value(
				        json_object_get(body, "waiting")),
				    json_string_value(
				        json_object_get(body, "proposal")));
				json_decref(recs);
				return rc;
			}
		}
	}
	if ((rc = load_run(&r, res, l, wf, run, recs, opts)) < 0) {
		json_decref(recs);
		return rc;
	}
	json_decref(recs);
	rc = append(
	    &r, "run.resumed",
	    json_pack("{s:s, s:I, s:s}", "run", run, "from_index",
	              (json_int_t)r.next, "from_step",
	              r.next < wf->nsteps ? wf->steps[r.next].key : "(end)"),
	    NULL);
	if (rc == 0)
		rc = execute(&r);
	run_free(&r);
	return rc;
}

struct find_prop {
	const char *id;
	char run[72];
};

static int find_prop_cb(const struct dk_record *rec, void *payload)
{
	struct find_prop *f = payload;

	if (strcmp(rec->type, "proposal") ||
	    !json_is_string(json_object_get(rec->body, "proposal")) ||
	    strcmp(json_string_value(json_object_get(rec->body, "proposal")),
	           f->id))
		return 0;
	snprintf(f->run, sizeof(f->run), "%s",
	         json_string_value(json_object_get(rec->body, "run")));
	return 1;
}

int dk_run_of_proposal(char *run, size_t runsz, struct dk_ledger *l)
{
	struct find_prop f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.id = run;
	if ((rc = dk_ledger_foreach_reverse(l, find_prop_cb, &f)) < 0)
		return rc;
	if (!f.run[0])
		return dk_error_set(DK_ENOTFOUND, "no proposal %s", run);
	snprintf(run, runsz, "%s", f.run);
	return 0;
}

int dk_run_propose(struct dk_run_proposal *out, struct dk_ledger *l,
                   const struct dk_workflow *wf, const char *run,
                   const char *action, const json_t *args, const char *reason,
                   const struct dk_run_opts *opts)
{
	const struct dk_approval_rule *rule = NULL;
	const struct dk_action *act;
	struct dk_run_result res;
	struct run r;
	json_t *recs = NULL;
	const char *hash;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	if (!strncmp(run, "agent-run://", 12))
		run += 12;
	act = dk_workflow_action(wf, action);
	if (!act)
		return dk_error_set(DK_EREFUSED,
		                    "%s is not an action of workflow %s (its "
		                    "allow-list)",
		                    action, wf->name);
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	hash = json_string_value(json_object_get(
	    json_object_get(json_object_get(json_array_get(recs, 0), "body"),
	                    "workflow"),
	    "hash"));
	if (!hash || strcmp(hash, wf->workflow_hash)) {
		json_decref(recs);
		return dk_error_set(DK_EREFUSED,
		                    "run %s started with workflow %.12s..., "
		                    "but %s is now %.12s...",
		                    run, hash ? hash : "?", wf->path,
		                    wf->workflow_hash);
	}
	if (dk_schema_validate(act->input, args) < 0) {
		dk_error_prefix("arguments refused by %s", act->name);
		json_decref(recs);
		return DK_EINVALID;
	}
	/* the rules see the outputs of the steps the ledger holds */
	if ((rc = load_run(&r, &res, l, wf, run, recs, opts)) < 0) {
		json_decref(recs);
		return rc;
	}
	json_decref(recs);
	if ((rc = match_rule(&rule, &r, act, (json_t *)args)) < 0) {
		dk_error_prefix("approval rules");
		goto out;
	}
	if (!rule || rule->decision == DK_DECISION_DENY) {
		char why[700];

		refusal(why, sizeof(why), act, rule);
		snprintf(out->rule, sizeof(out->rule), "%s",
		         rule ? rule->name : "");
		rc = dk_error_set(DK_EREFUSED, "%s", why);
		goto out;
	}
	rc = record_proposal(&r, act, NULL, (json_t *)args, rule, reason,
	                     out->proposal);
	if (rc == 0) {
		snprintf(out->rule, sizeof(out->rule), "%s", rule->name);
		out->automatic = rule->decision == DK_DECISION_AUTO;
		out->seq = res.last_seq;
	}
out:
	run_free(&r);
	return rc;
}

/* --- continuing after dispatch (lib/dispatch.c) ------------------------ */

int dk_run_private(json_t **out, struct dk_ledger *l, const char *run)
{
	return state_load(out, l, run);
}

int dk_run_continue(struct dk_run_result *res, struct dk_ledger *l,
                    const struct dk_workflow *wf, const char *run,
                    const char *proposal, const json_t *output,
                    const char *failure, int escalated,
                    const struct dk_run_opts *opts)
{
	struct run r;
	json_t *recs = NULL, *rec, *started;
	const char *hash;
	char step_key[128] = "";
	int paused = 0, moved = 0, stepped = 0, done = 0, rc;
	size_t i, idx;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	started = json_object_get(json_array_get(recs, 0), "body");
	hash = json_string_value(
	    json_object_get(json_object_get(started, "workflow"), "hash"));
	if (!hash || strcmp(hash, wf->workflow_hash)) {
		json_decref(recs);
		return dk_error_set(DK_EREFUSED,
		                    "run %s started with workflow %.12s..., "
		                    "but %s is now %.12s...",
		                    run, hash ? hash : "?", wf->path,
		                    wf->workflow_hash);
	}
	json_array_foreach(recs, i, rec)
	{
		const char *type =
		    json_string_value(json_object_get(rec, "type"));
		json_t *body = json_object_get(rec, "body");
		const char *p =
		    json_string_value(json_object_get(body, "proposal"));
		const char *k =
		    json_string_value(json_object_get(body, "step"));

		if (!strcmp(type, "run.finished"))
			done = 1;
		else if (!strcmp(type, "run.paused") && p &&
		         !strcmp(p, proposal)) {
			paused = 1;
			snprintf(step_key, sizeof(step_key), "%s", k ? k : "");
		} else if (!strcmp(type, "run.paused") && paused)
			moved = 1;
		else if (!strcmp(type, "run.step") && paused && k &&
		         !strcmp(k, step_key))
			stepped = 1;
	}
	if (done || !paused || moved || !step_key[0]) {
		json_decref(recs);
		return 1; /* nothing to continue from this proposal */
	}
	for (idx = 0; idx < wf->nsteps; idx++)
		if (!strcmp(wf->steps[idx].key, step_key))
			break;
	if (idx == wf->nsteps || !wf->steps[idx].action) {
		json_decref(recs);
		return dk_error_set(DK_EINVALID,
		                    "run %s paused at step %s, which %s has no "
		                    "action step for",
		                    run, step_key, wf->path);
	}
	if ((rc = load_run(&r, res, l, wf, run, recs, opts)) < 0) {
		json_decref(recs);
		run_free(&r);
		return rc;
	}
	json_decref(recs);
	rc = append(&r, "run.resumed",
	            json_pack("{s:s, s:I, s:s, s:s}", "run", run, "from_index",
	                      (json_int_t)(stepped ? r.next : idx), "from_step",
	                      stepped
	                          ? (r.next < wf->nsteps ? wf->steps[r.next].key
	                                                 : "(end)")
	                          : step_key,
	                      "after_dispatch", proposal),
	            NULL);
	if (rc == 0 && !stepped) {
		const struct dk_step *s = &wf->steps[idx];
		json_t *args = json_object_get(r.pending, proposal);
		json_t *b = step_body(&r, s, idx, failure ? "failed" : "ok");

		json_object_set_new(b, "proposal", json_string(proposal));
		if (args) {
			json_object_set_new(b, "args",
			                    redacted_copy(&r, args, "args",
			                                  &s->action->redact));
			json_object_set_new(b, "args_digest", digest(&r, args));
		}
		if (failure) {
			json_object_set_new(b, "error", json_string(failure));
		} else {
			json_object_set_new(b, "output",
			                    redacted_copy(&r, output, "output",
			                                  &s->action->redact));
			json_object_set_new(b, "output_digest",
			                    digest(&r, output));
			json_object_set(r.steps, s->key,
			                output ? (json_t *)output
			                       : json_null());
		}
		if ((rc = state_save(&r)) == 0)
			rc = append(&r, "run.step", b, NULL);
		else
			json_decref(b);
		if (rc == 0) {
			r.res->steps_recorded++;
			r.next = idx + 1;
			if (failure)
				rc = finish(&r,
				            escalated ? DK_RUN_ESCALATED
				                      : DK_RUN_FAILED,
				            s->key, failure);
			else
				rc = execute(&r);
		}
	} else if (rc == 0) {
		rc = execute(&r);
	}
	run_free(&r);
	return rc;
}

/* --- the escalation action, for lib/dispatch ---------------------------- */

int dk_run_escalation_args(json_t **out, struct dk_ledger *l,
                           const struct dk_workflow *wf, const char *run,
                           const json_t *escalated)
{
	const struct dk_escalate *es = &wf->escalate;
	const struct dk_escalation *e = NULL;
	const char *cond =
	    json_string_value(json_object_get(escalated, "condition"));
	struct dk_run_result res;
	struct run r;
	json_t *recs = NULL, *ctx, *args = NULL, *red;
	size_t i;
	int rc;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	for (i = 0; cond && i < es->nconditions; i++)
		if (!strcmp(es->conditions[i].name, cond))
			e = &es->conditions[i];
	if (!es->action || !es->args || !e)
		return dk_error_set(DK_ENOTFOUND,
		                    "%s has no escalation action for condition "
		                    "%s",
		                    wf->path, cond ? cond : "?");
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	rc = load_run(&r, &res, l, wf, run, recs, NULL);
	json_decref(recs);
	if (rc < 0) {
		run_free(&r);
		return rc;
	}
	/* the context escalate() evaluated the arguments in */
	ctx = context(&r);
	json_object_set_new(ctx, "escalation",
	                    json_pack("{s:s, s:s}", "name", e->name, "reason",
	                              e->reason ? e->reason : ""));
	rc = dk_jq_eval(&args, es->args, ctx);
	json_decref(ctx);
	if (rc < 0) {
		run_free(&r);
		return rc;
	}
	/* they must be what the record shows, once redacted */
	red = redacted_copy(&r, args, "args", &es->action->redact);
	dk_redact_values(red, r.hidden);
	if (!json_equal(red, json_object_get(escalated, "args"))) {
		json_decref(red);
		json_decref(args);
		run_free(&r);
		return dk_error_set(DK_ECONFLICT,
		                    "the escalation arguments of run %s cannot "
		                    "be reproduced from its private state",
		                    run);
	}
	json_decref(red);
	run_free(&r);
	*out = args;
	return 0;
}

int dk_run_keep_pending(struct dk_ledger *l, const struct dk_workflow *wf,
                        const char *run, const char *proposal,
                        const json_t *args)
{
	struct dk_run_result res;
	struct run r;
	json_t *recs = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	if ((rc = dk_run_records(&recs, NULL, l, run)) < 0)
		return rc;
	rc = load_run(&r, &res, l, wf, run, recs, NULL);
	json_decref(recs);
	if (rc == 0) {
		json_object_set(r.pending, proposal, (json_t *)args);
		rc = state_save(&r);
	}
	run_free(&r);
	return rc;
}
