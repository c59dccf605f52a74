#include "dispatch.h"
#include "error.h"
#include "http.h"
#include "proposal.h"
#include "redact.h"
#include "run.h"
#include "schema.h"
#include "util.h"
#include "workflow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records: dispatch.intent, dispatch.result and, for a breaker's
 * fallback, dispatch.fallback_intent and dispatch.fallback_result. */
#define T_INTENT    "dispatch.intent"
#define T_RESULT    "dispatch.result"
#define T_FB_INTENT "dispatch.fallback_intent"
#define T_FB_RESULT "dispatch.fallback_result"
/* The step name of a proposal made for a run's escalation action. */
#define ESC_STEP "escalate"

const char *dk_dispatch_status_name(enum dk_dispatch_status s)
{
	static const char *const n[] = { "sent",  "done",     "not-ready",
		                         "busy",  "deferred", "dry-run",
		                         "error", "changed" };

	return (size_t)s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}

struct wfc {
	char *file;
	struct dk_workflow *wf;
};

struct job {
	char pid[72], run[72], step[128];
	const struct dk_workflow *wf;
	const struct dk_action *act;
	int fallback;
	char orig_action[128];
	int sent;
	char key[80];
	char hash[65];
	struct dk_http_request req;
	char *url, *body;
	size_t body_len;
	char **hdrs;
	size_t nh;
	const char **secrets;
	json_t *hidden;
	uint64_t known_seq;
	unsigned attempt;
	int intent_ok;
	int lockfd;
	double t0;
	size_t item; /* index in the report */
	/* the final outcome, for the continuation */
	char outcome[24];
	json_t *output;
	char error[512];
};

struct dctx {
	struct dk_ledger *l;
	const struct dk_dispatch_opts *o;
	const char *actor;
	struct dk_dispatch_report *rep;
	struct wfc *wfs;
	size_t nwfs;
	char **queue;
	size_t nqueue, qcap;
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* --- report items ------------------------------------------------------- */

static struct dk_dispatch_item *new_item(struct dctx *d, const char *pid,
                                         size_t *idx)
{
	struct dk_dispatch_item *n =
	    realloc(d->rep->items, (d->rep->n + 1) * sizeof(*n));

	if (!n)
		return NULL;
	d->rep->items = n;
	*idx = d->rep->n;
	n += d->rep->n++;
	memset(n, 0, sizeof(*n));
	snprintf(n->proposal, sizeof(n->proposal), "%s", pid);
	return n;
}

static struct dk_dispatch_item *item(struct dctx *d, size_t idx)
{
	return &d->rep->items[idx];
}

void dk_dispatch_report_dispose(struct dk_dispatch_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		json_decref(r->items[i].recorded);
		free(r->items[i].request);
	}
	free(r->items);
	r->items = NULL;
	r->n = 0;
}

static void queue_push(struct dctx *d, const char *pid)
{
	size_t i;

	for (i = 0; i < d->nqueue; i++)
		if (!strcmp(d->queue[i], pid))
			return;
	if (d->nqueue == d->qcap) {
		size_t nc = d->qcap ? d->qcap * 2 : 16;
		char **nq = realloc(d->queue, nc * sizeof(*nq));
		if (!nq)
			return;
		d->queue = nq;
		d->qcap = nc;
	}
	d->queue[d->nqueue] = strdup(pid);
	if (d->queue[d->nqueue])
		d->nqueue++;
}

/* --- workflows ------------------------------------------------------------ */

/*
 * The run.started record of a run: read directly at the seq its private
 * state names (st may be NULL), else found by walking back from the head.
 * *recs holds it as the first element of an array of {type, body}.
 */
static int run_started(json_t **recs, struct dctx *d, const char *run,
                       const json_t *st)
{
	json_int_t seq = json_integer_value(json_object_get(st, "started_seq"));
	struct dk_record *r = NULL;

	if (seq > 0 && dk_ledger_read(&r, d->l, (uint64_t)seq) == 0 &&
	    !strcmp(r->type, "run.started") &&
	    !strcmp(str(r->body, "run"), run)) {
		*recs =
		    json_pack("[{s:s, s:O}]", "type", r->type, "body", r->body);
		dk_record_free(r);
		return *recs ? 0 : dk_error_set(DK_ERROR, "out of memory");
	}
	dk_record_free(r);
	return dk_run_records(recs, NULL, d->l, run);
}

static int workflow_of(const struct dk_workflow **out, struct dctx *d,
                       const char *run, const json_t *st)
{
	char *file = NULL;
	json_t *recs = NULL;
	const char *hash;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = run_started(&recs, d, run, st)) < 0)
		return rc;
	hash = str(
	    json_object_get(json_object_get(json_array_get(recs, 0), "body"),
	                    "workflow"),
	    "hash");
	file = strdup(str(
	    json_object_get(json_object_get(json_array_get(recs, 0), "body"),
	                    "workflow"),
	    "file"));
	if (!file) {
		json_decref(recs);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	for (i = 0; i < d->nwfs; i++)
		if (!strcmp(d->wfs[i].file, file))
			break;
	if (i == d->nwfs) {
		struct dk_workflow *wf = NULL;
		struct wfc *n;

		if ((rc = dk_workflow_load(&wf, file, NULL)) < 0) {
			dk_error_prefix("workflow %s of run %s", file, run);
			goto out;
		}
		n = realloc(d->wfs, (d->nwfs + 1) * sizeof(*n));
		if (!n) {
			dk_workflow_free(wf);
			rc = dk_error_set(DK_ERROR, "out of memory");
			goto out;
		}
		d->wfs = n;
		d->wfs[d->nwfs].file = file;
		d->wfs[d->nwfs].wf = wf;
		file = NULL;
		d->nwfs++;
	}
	if (strcmp(d->wfs[i].wf->workflow_hash, hash)) {
		rc = dk_error_set(DK_EREFUSED,
		                  "run %s started with workflow %.12s..., but "
		                  "%s is now %.12s...: dispatch with the "
		                  "definition that ran",
		                  run, hash, d->wfs[i].file,
		                  d->wfs[i].wf->workflow_hash);
		goto out;
	}
	*out = d->wfs[i].wf;
	rc = 0;
out:
	free(file);
	json_decref(recs);
	return rc;
}

/* --- secrets ----------------------------------------------------------------
 */

static const char *secret_env(const char *name, void *data)
{
	(void)data;
	return getenv(name);
}

/* Replace every secret in every string of v (keys included). */
static void scrub(json_t *v, const char *const *secrets)
{
	size_t i;
	json_t *e;

	if (!secrets || !secrets[0] || !v)
		return;
	if (json_is_object(v)) {
		const char *k;
		void *tmp;

		json_object_foreach_safe(v, tmp, k, e)
		{
			char *nk = NULL;

			scrub(e, secrets);
			if (dk_redact(&nk, NULL, k, strlen(k), secrets) == 0 &&
			    strcmp(nk, k)) {
				json_object_set(v, nk, e);
				json_object_del(v, k);
			}
			free(nk);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) scrub(e, secrets);
	} else if (json_is_string(v)) {
		char *out = NULL;

		if (dk_redact(&out, NULL, json_string_value(v),
		              json_string_length(v), secrets) == 0 &&
		    strcmp(out, json_string_value(v)))
			json_string_set(v, out);
		free(out);
	}
}

/* --- building the request ------------------------------------------------- */

static void job_free(struct job *j)
{
	size_t i;

	if (!j)
		return;
	if (j->hdrs) {
		for (i = 0; i < j->nh; i++) {
			explicit_bzero(j->hdrs[i], strlen(j->hdrs[i]));
			free(j->hdrs[i]);
		}
		free(j->hdrs);
	}
	free(j->url);
	free(j->body);
	free(j->secrets);
	json_decref(j->hidden);
	json_decref(j->output);
	if (j->lockfd > 0)
		close(j->lockfd); /* releases the flock */
	free(j);
}

static int pct_append(char **buf, size_t *len, size_t *cap, const char *s,
                      size_t n, int raw)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (*len + 4 > *cap) {
			size_t nc = (*cap ? *cap * 2 : 256) + 4;
			char *nb = realloc(*buf, nc);
			if (!nb)
				return -1;
			*buf = nb;
			*cap = nc;
		}
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || raw) {
			(*buf)[(*len)++] = (char)c;
		} else {
			(*buf)[(*len)++] = '%';
			(*buf)[(*len)++] = hex[c >> 4];
			(*buf)[(*len)++] = hex[c & 15];
		}
	}
	return 0;
}

/* application/x-www-form-urlencoded, keys sorted: deterministic bytes. */
static int form_encode(char **out, size_t *outlen, const json_t *obj)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t n = 0, i, len = 0, cap = 0;
	char *buf = NULL;

	if (!json_is_object(obj))
		return dk_error_set(DK_EINVALID,
		                    "a form body must be a JSON object");
	keys = calloc(json_object_size(obj) + 1, sizeof(*keys));
	if (!keys)
		return dk_error_set(DK_ERROR, "out of memory");
	json_object_foreach((json_t *)obj, k, v) keys[n++] = k;
	for (i = 1; i < n; i++) {
		const char *t = keys[i];
		size_t j = i;
		while (j > 0 && strcmp(keys[j - 1], t) > 0) {
			keys[j] = keys[j - 1];
			j--;
		}
		keys[j] = t;
	}
	for (i = 0; i < n; i++) {
		char num[64];
		const char *s;

		v = json_object_get(obj, keys[i]);
		if (json_is_null(v))
			continue;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
			         (long long)json_integer_value(v));
			s = num;
		} else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		else {
			dk_error_set(
			    DK_EINVALID,
			    "form field %s is not a string, integer or "
			    "boolean",
			    keys[i]);
			free(keys);
			free(buf);
			return DK_EINVALID;
		}
		if ((len && pct_append(&buf, &len, &cap, "&", 1, 1) < 0) ||
		    pct_append(&buf, &len, &cap, keys[i], strlen(keys[i]), 0) <
		        0 ||
		    pct_append(&buf, &len, &cap, "=", 1, 1) < 0 ||
		    pct_append(&buf, &len, &cap, s, strlen(s), 0) < 0) {
			free(keys);
			free(buf);
			return dk_error_set(DK_ERROR, "out of memory");
		}
	}
	free(keys);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return buf ? 0 : dk_error_set(DK_ERROR, "out of memory");
}

static int push_hdr(struct job *j, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = malloc(n);

	if (!line)
		return dk_error_set(DK_ERROR, "out of memory");
	snprintf(line, n, "%s: %s", name, value);
	j->hdrs[j->nh++] = line;
	return 0;
}

/* Build the exact request of action `act` with `args`. */
static int build_request(struct job *j, const struct dk_action *act,
                         const json_t *args, const json_t *session,
                         const char *ca_file)
{
	const char *base = dk_provider_base_url(act->provider);
	json_t *in = NULL, *body = NULL;
	char *path = NULL, host[256] = "";
	const char *h;
	size_t i, k = 0;
	int rc;

	/* a fallback rebuilds the job's request: drop the previous one */
	if (j->hdrs) {
		for (i = 0; i < j->nh; i++) {
			explicit_bzero(j->hdrs[i], strlen(j->hdrs[i]));
			free(j->hdrs[i]);
		}
		free(j->hdrs);
		j->hdrs = NULL;
	}
	j->nh = 0;
	free(j->url);
	free(j->body);
	free(j->secrets);
	j->url = j->body = NULL;
	j->body_len = 0;
	memset(&j->req, 0, sizeof(j->req));
	j->act = act;
	j->secrets = calloc(act->secrets.n + 1, sizeof(*j->secrets));
	j->hdrs = calloc(act->nheaders + 5, sizeof(*j->hdrs));
	if (!j->secrets || !j->hdrs)
		return dk_error_set(DK_ERROR, "out of memory");
	for (i = 0; i < act->secrets.n; i++) {
		const char *v = getenv(act->secrets.v[i]);
		if (v && *v)
			j->secrets[k++] = v;
	}
	if ((rc = dk_workflow_expand_path(&path, act->path, args)) < 0)
		return rc;
	j->url = malloc(strlen(base) + strlen(path) + 1);
	if (!j->url) {
		free(path);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(j->url, base, strlen(base));
	memcpy(j->url + strlen(base), path, strlen(path) + 1);
	free(path);
	/* transport rules before anything else: nothing is sent otherwise */
	if ((rc = dk_http_check_url(j->url, 1, j->secrets)) < 0)
		return rc;
	if ((h = strstr(j->url, "://"))) {
		size_t hl = strcspn(h + 3, ":/?#");
		if (h[3] == '[')
			hl = strcspn(h + 4, "]") + 2;
		snprintf(host, sizeof(host), "%.*s", (int)hl, h + 3);
	}
	if (!strncmp(j->url, "http://", 7) &&
	    !dk_provider_host_is_local(act->provider, host))
		return dk_error_set(DK_EREFUSED,
		                    "plain http to %s is refused: provider %s "
		                    "lists it in no local_hosts (use https)",
		                    host, act->provider->name);
	if (act->body) {
		char *text;

		in = json_pack("{s:O, s:O, s:s}", "args", args, "session",
		               session ? session : json_null(), "run", j->run);
		rc = dk_jq_eval(&body, act->body, in);
		json_decref(in);
		if (rc < 0) {
			dk_error_prefix("body of %s", act->name);
			return rc;
		}
		if (act->encoding == DK_BODY_FORM) {
			rc = form_encode(&j->body, &j->body_len, body);
			json_decref(body);
			if (rc < 0)
				return rc;
		} else {
			text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS |
			                            JSON_ENCODE_ANY);
			json_decref(body);
			if (!text)
				return dk_error_set(DK_ERROR,
				                    "cannot encode the body");
			j->body = text;
			j->body_len = strlen(text);
		}
		if ((rc = push_hdr(j, "Content-Type",
		                   act->encoding == DK_BODY_FORM
		                       ? "application/x-www-form-urlencoded"
		                       : "application/json")) < 0)
			return rc;
	}
	if ((rc = push_hdr(j, "Accept", "application/json")) < 0)
		return rc;
	for (i = 0; i < act->nheaders; i++) {
		char *v = NULL;

		if ((rc = dk_workflow_expand_header(&v, act->headers[i].value,
		                                    secret_env, NULL)) < 0) {
			dk_error_prefix("header %s of %s", act->headers[i].name,
			                act->name);
			return rc;
		}
		rc = push_hdr(j, act->headers[i].name, v);
		explicit_bzero(v, strlen(v));
		free(v);
		if (rc < 0)
			return rc;
	}
	if (act->idempotency_header &&
	    (rc = push_hdr(j, act->idempotency_header, j->key)) < 0)
		return rc;
	j->req.method = act->method;
	j->req.url = j->url;
	j->req.headers = (const char *const *)j->hdrs;
	j->req.body = j->body;
	j->req.body_len = j->body_len;
	j->req.connect_timeout_ms = act->connect_timeout_ms;
	j->req.timeout_ms = act->timeout_ms;
	j->req.max_body = act->max_response;
	j->req.ca_file = ca_file;
	j->req.allow_plain_local = 1; /* local_hosts decided above */
	j->req.secrets = j->secrets;
	if (dk_http_request_hash(j->hash, &j->req) < 0)
		return dk_error_set(DK_ERROR, "cannot hash the request");
	return 0;
}

/* --- the per-proposal lock ---------------------------------------------- */

static int take_lock(int *fd, struct dk_ledger *l, const char *pid)
{
	char path[PATH_MAX];

	*fd = -1;
	snprintf(path, sizeof(path), "%s/docket", dk_ledger_gitdir(l));
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/docket/dispatch", dk_ledger_gitdir(l));
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return dk_error_set_errno(DK_EIO, "cannot create %s", path);
	snprintf(path, sizeof(path), "%s/docket/dispatch/%s.lock",
	         dk_ledger_gitdir(l), pid);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return dk_error_set_errno(DK_EIO, "cannot open %s", path);
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;
		close(*fd);
		*fd = -1;
		return busy
		           ? dk_error_set(DK_ELOCKED,
		                          "another process is dispatching %s",
		                          pid)
		           : dk_error_set_errno(DK_EIO, "cannot lock %s", path);
	}
	return 0;
}

/* --- appending with compare-and-swap ------------------------------------ */

struct cas {
	const char *pid;
	uint64_t known;
};

/* Under the ledger lock: nothing about the proposal since we read it. */
static int cas_check(struct dk_ledger *l, const struct dk_head *head,
                     json_t *body, void *payload)
{
	struct cas *c = payload;
	uint64_t s;

	(void)body;
	for (s = c->known + 1; s <= head->seq; s++) {
		struct dk_record *r = NULL;
		int rc = dk_ledger_read(&r, l, s);
		const char *p;

		if (rc < 0)
			return rc;
		p = json_string_value(json_object_get(r->body, "proposal"));
		if (p && !strcmp(p, c->pid) &&
		    (!strncmp(r->type, "dispatch.", 9) ||
		     !strncmp(r->type, "proposal.", 9) ||
		     !strcmp(r->type, "approval"))) {
			rc = dk_error_set(DK_ECONFLICT,
			                  "proposal %s changed while it was "
			                  "being dispatched (record %llu, %s)",
			                  c->pid, (unsigned long long)s,
			                  r->type);
			dk_record_free(r);
			return rc;
		}
		dk_record_free(r);
	}
	return 0;
}

static int append_rec(struct dctx *d, struct job *j, const char *type,
                      json_t *body, int cas)
{
	struct dk_append_opts ao;
	struct dk_append_result ar;
	struct cas c = { j->pid, j->known_seq };
	int rc;

	memset(&ao, 0, sizeof(ao));
	if (j->hidden)
		dk_redact_values(body, j->hidden);
	scrub(body, j->secrets);
	if (cas) {
		ao.check = cas_check;
		ao.payload = &c;
	}
	rc = dk_ledger_append(&ar, d->l, type, d->actor, body, &ao);
	json_decref(body);
	if (rc == 0)
		j->known_seq = ar.seq;
	return rc;
}

/* --- the breaker ------------------------------------------------------------
 */

struct brk {
	const char *action;
	int64_t now, window_s;
	int fails;
	int64_t newest_fail;
};

static int brk_cb(const struct dk_record *r, void *payload)
{
	struct brk *b = payload;
	int64_t at = 0;
	const char *o;

	if (dk_parse_time(&at, r->at) == 0 && at < b->now - b->window_s)
		return 1;
	if (strcmp(r->type, T_RESULT) && strcmp(r->type, T_FB_RESULT))
		return 0;
	if (strcmp(str(r->body, "action"), b->action))
		return 0;
	o = str(r->body, "outcome");
	if (!strcmp(o, "succeeded"))
		return 1; /* closed since */
	if (!strcmp(o, "failed") || !strcmp(o, "retryable")) {
		if (!b->fails)
			b->newest_fail = at;
		b->fails++;
	}
	return 0;
}

/* 1 when the action's breaker is open now. */
static int breaker_open(struct dk_ledger *l, const struct dk_action *a,
                        int64_t *until)
{
	struct brk b;

	if (a->breaker.failures <= 0)
		return 0;
	memset(&b, 0, sizeof(b));
	b.action = a->name;
	b.now = dk_now();
	b.window_s = a->breaker.window_s > 0 ? a->breaker.window_s : 60;
	if (dk_ledger_foreach_reverse(l, brk_cb, &b) < 0)
		return 0;
	*until = b.newest_fail + a->breaker.open_s;
	return b.fails >= a->breaker.failures && *until > b.now;
}

/* --- results ----------------------------------------------------------------
 */

static json_t *path_get(json_t *v, const char *path)
{
	char part[128];

	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n + (path[n] == '.');
	}
	return v;
}

static json_t *recorded_fields(const struct dk_action *a, json_t *resp_json,
                               const struct dk_http_response *resp)
{
	json_t *rec = json_object();
	size_t i;

	for (i = 0; i < a->record.n; i++) {
		const char *p = a->record.v[i];
		json_t *v = path_get(resp_json, p);

		if (v) {
			json_object_set(rec, p, v);
		} else if (!strchr(p, '.')) {
			/* message_id: the X-Message-Id or Message-Id header */
			char name[160], *hv;
			size_t k;

			snprintf(name, sizeof(name), "X-%s", p);
			for (k = 0; name[k]; k++)
				if (name[k] == '_')
					name[k] = '-';
			hv = dk_http_response_header(resp, name);
			if (!hv)
				hv = dk_http_response_header(resp, name + 2);
			if (hv)
				json_object_set_new(rec, p, json_string(hv));
			free(hv);
		}
	}
	return rec;
}

static json_t *provider_ids(json_t *resp_json,
                            const struct dk_http_response *resp)
{
	static const char *const hdrs[] = { "X-Message-Id", "X-Request-Id",
		                            "Request-Id" };
	json_t *ids = json_object(), *v;
	const char *k;
	size_t i;

	if (json_is_string(json_object_get(resp_json, "id")))
		json_object_set(ids, "id", json_object_get(resp_json, "id"));
	if (json_is_object(resp_json))
		json_object_foreach(resp_json, k, v)
		{
			char name[160];

			if (!json_is_object(v) ||
			    !json_is_string(json_object_get(v, "id")))
				continue;
			snprintf(name, sizeof(name), "%s.id", k);
			json_object_set(ids, name, json_object_get(v, "id"));
		}
	for (i = 0; i < 3; i++) {
		char *hv = dk_http_response_header(resp, hdrs[i]);
		if (hv) {
			json_object_set_new(ids, hdrs[i], json_string(hv));
			free(hv);
		}
	}
	return ids;
}

void dk_dispatch__response_fields(json_t **recorded, json_t **ids,
                                  const struct dk_action *a,
                                  const struct dk_http_response *resp)
{
	json_t *rj = NULL;

	if (resp->body && resp->body_len)
		rj = json_loadb(resp->body, resp->body_len, 0, NULL);
	*recorded = recorded_fields(a, rj, resp);
	*ids = provider_ids(rj, resp);
	json_decref(rj);
}

static const char *outcome_name(enum dk_http_verdict v)
{
	switch (v) {
	case DK_HTTP_SUCCESS:
		return "succeeded";
	case DK_HTTP_RETRY:
		return "retryable";
	case DK_HTTP_REFUSED:
		return "refused";
	case DK_HTTP_IDEMPOTENCY:
		return "idempotency_error";
	default:
		return "failed";
	}
}

/* --- preparing one proposal ------------------------------------------------
 */

struct batch {
	struct job **jobs;
	size_t n, cap;
};

static int batch_add(struct batch *b, struct job *j)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 16;
		struct job **nj = realloc(b->jobs, nc * sizeof(*nj));
		if (!nj)
			return -1;
		b->jobs = nj;
		b->cap = nc;
	}
	b->jobs[b->n++] = j;
	return 0;
}

/* Records of a proposal's fallback, oldest first. */
struct fbscan {
	const char *pid;
	json_t *recs;
};

static int fb_cb(const struct dk_record *r, void *payload)
{
	struct fbscan *f = payload;

	if (strcmp(r->type, T_FB_INTENT) && strcmp(r->type, T_FB_RESULT))
		return 0;
	if (strcmp(str(r->body, "proposal"), f->pid))
		return 0;
	json_array_insert_new(
	    f->recs, 0,
	    json_pack("{s:s, s:O}", "type", r->type, "body", r->body));
	return 0;
}

static void continue_run(struct dctx *d, struct job *j, size_t idx);

static json_t *last_result(const struct dk_proposal *p)
{
	json_t *r, *last = NULL;
	size_t i;

	json_array_foreach(p->dispatches, i,
	                   r) if (!strcmp(str(r, "type"), T_RESULT)) last = r;
	return last ? json_object_get(last, "body") : NULL;
}

static unsigned count_type(const json_t *recs, const char *type)
{
	json_t *r;
	size_t i;
	unsigned n = 0;

	json_array_foreach(recs, i, r) if (!strcmp(str(r, "type"), type)) n++;
	return n;
}

/* The output recorded for the action step from a result body. */
static json_t *step_output(const char *pid, const json_t *res)
{
	return json_pack(
	    "{s:s, s:O, s:O, s:O}", "proposal", pid, "status",
	    json_object_get(res, "status") ? json_object_get(res, "status")
	                                   : json_null(),
	    "recorded",
	    json_object_get(res, "recorded") ? json_object_get(res, "recorded")
	                                     : json_object(),
	    "provider_ids",
	    json_object_get(res, "provider_ids")
	        ? json_object_get(res, "provider_ids")
	        : json_object());
}

static void set_failure(struct job *j, const json_t *res)
{
	const char *o = str(res, "outcome");

	snprintf(j->outcome, sizeof(j->outcome), "%s", o);
	if (!strcmp(o, "succeeded")) {
		json_decref(j->output);
		j->output = step_output(j->pid, res);
	} else if (json_is_integer(json_object_get(res, "status")))
		snprintf(j->error, sizeof(j->error), "%s %s: HTTP %lld",
		         str(res, "action"), o,
		         (long long)json_integer_value(
		             json_object_get(res, "status")));
	else
		snprintf(j->error, sizeof(j->error), "%s %s: %s",
		         str(res, "action"), o, str(res, "error"));
}

static int prepare_fallback(struct dctx *d, struct job *j,
                            const struct dk_proposal *p, const json_t *args,
                            const json_t *session, struct batch *b, size_t idx,
                            const char *why);

static int prepare(struct dctx *d, const char *pid, struct batch *b)
{
	struct dk_proposal *p = NULL;
	struct dk_dispatch_item *it;
	struct dk_head h;
	struct job *j;
	json_t *st = NULL, *args, *res;
	size_t idx;
	int64_t until = 0;
	int rc;

	if (!(it = new_item(d, pid, &idx)))
		return dk_error_set(DK_ERROR, "out of memory");
	j = calloc(1, sizeof(*j));
	if (!j)
		return dk_error_set(DK_ERROR, "out of memory");
	j->lockfd = -1;
	j->item = idx;
	snprintf(j->pid, sizeof(j->pid), "%s", pid);
	if (!d->o->dry_run && (rc = take_lock(&j->lockfd, d->l, pid)) < 0) {
		it = item(d, idx);
		it->status =
		    rc == DK_ELOCKED ? DK_DISPATCH_BUSY : DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "%s", dk_error_last());
		job_free(j);
		return 0;
	}
	/* the state, read under our lock; the intent re-checks it */
	if ((rc = dk_ledger_head(&h, d->l)) < 0 ||
	    (rc = dk_proposal_load(&p, d->l, pid)) < 0) {
		it = item(d, idx);
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "%s", dk_error_last());
		job_free(j);
		return rc == DK_ENOTFOUND ? 0 : rc;
	}
	j->known_seq = h.seq;
	it = item(d, idx);
	snprintf(it->run, sizeof(it->run), "%s", p->run);
	snprintf(it->action, sizeof(it->action), "%s", p->action);
	snprintf(it->state, sizeof(it->state), "%s",
	         dk_proposal_is_expired(p, dk_now())
	             ? "expired"
	             : dk_proposal_state_name(p->state));
	snprintf(it->idempotency_key, sizeof(it->idempotency_key), "%s",
	         str(p->body, "idempotency_key"));
	snprintf(j->run, sizeof(j->run), "%s", p->run);
	snprintf(j->step, sizeof(j->step), "%s", p->step);
	snprintf(j->key, sizeof(j->key), "%s", str(p->body, "idempotency_key"));
	switch (p->state) {
	case DK_PROP_PENDING:
	case DK_PROP_REJECTED:
	case DK_PROP_EXPIRED:
		it->status = DK_DISPATCH_NOT_READY;
		snprintf(it->error, sizeof(it->error),
		         "proposal %s is %s: only approved proposals are sent",
		         pid, it->state);
		goto done;
	default:
		break;
	}
	if ((rc = dk_run_private(&st, d->l, p->run)) < 0 ||
	    (rc = workflow_of(&j->wf, d, p->run, st)) < 0) {
		it = item(d, idx);
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "%s", dk_error_last());
		goto done;
	}
	j->hidden = json_incref(json_object_get(st, "hidden"));
	args = json_object_get(json_object_get(st, "pending"), pid);
	res = last_result(p);
	if (p->state == DK_PROP_DISPATCHED || p->state == DK_PROP_FAILED) {
		it->status = DK_DISPATCH_DONE;
		snprintf(it->outcome, sizeof(it->outcome), "%s",
		         str(res, "outcome"));
		it->http_status =
		    (long)json_integer_value(json_object_get(res, "status"));
		it->recorded = json_incref(json_object_get(res, "recorded"));
		if (!strcmp(str(res, "outcome"), "skipped") && !d->o->dry_run) {
			const struct dk_action *a =
			    dk_workflow_action(j->wf, p->action);
			char why[300];

			snprintf(why, sizeof(why), "%s", str(res, "reason"));
			if (a && a->fallback) {
				rc = prepare_fallback(
				    d, j, p, args,
				    json_object_get(st, "session"), b, idx,
				    why);
				dk_proposal_free(p);
				json_decref(st);
				return rc;
			}
			snprintf(j->outcome, sizeof(j->outcome), "skipped");
			snprintf(j->error, sizeof(j->error), "%s", why);
		} else {
			set_failure(j, res);
		}
		if (!d->o->dry_run && !d->o->no_continue)
			continue_run(d, j, idx);
		goto done;
	}
	/* approved, or sent without a result: send (again) */
	if (!(j->act = dk_workflow_action(j->wf, p->action)) || !args) {
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error),
		         !args
		             ? "the full arguments of %s are not in the run's "
		               "private state (dispatch on the machine that "
		               "ran it)"
		             : "the workflow has no action %s",
		         !args ? pid : p->action);
		goto done;
	}
	j->attempt = count_type(p->dispatches, T_INTENT) + 1;
	it->attempt = j->attempt;
	rc = build_request(j, j->act, args, json_object_get(st, "session"),
	                   d->o->ca_file);
	it = item(d, idx);
	snprintf(it->request_hash, sizeof(it->request_hash), "%s", j->hash);
	if (rc < 0) {
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "%s", dk_error_last());
		goto done;
	}
	if (d->o->dry_run) {
		it->status = DK_DISPATCH_DRY_RUN;
		if (dk_http_request_format(&it->request, NULL, &j->req) < 0)
			snprintf(it->error, sizeof(it->error), "%s",
			         dk_error_last());
		goto done;
	}
	if (breaker_open(d->l, j->act, &until)) {
		char why[300], t[32];

		dk_format_time(t, until);
		snprintf(why, sizeof(why),
		         "circuit breaker of %s is open until %s", j->act->name,
		         t);
		if (count_type(p->dispatches, T_INTENT) > 0) {
			/* an earlier send may have reached the provider: only
			 * the same key can tell, so wait for the breaker */
			it->status = DK_DISPATCH_DEFERRED;
			snprintf(it->error, sizeof(it->error), "%s", why);
			goto done;
		}
		rc = append_rec(
		    d, j, T_RESULT,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
		              "proposal", pid, "run", p->run, "action",
		              j->act->name, "outcome", "skipped", "reason", why,
		              "idempotency_key", j->key, "attempts", 0,
		              "breaker_open_until", t, "fallback",
		              j->act->fallback ? j->act->fallback->name : ""),
		    1);
		it = item(d, idx);
		if (rc < 0) {
			it->status = rc == DK_ECONFLICT ? DK_DISPATCH_CHANGED
			                                : DK_DISPATCH_ERROR;
			snprintf(it->error, sizeof(it->error), "%s",
			         dk_error_last());
			if (rc == DK_ECONFLICT)
				rc = 0;
			goto done_rc;
		}
		it->status = DK_DISPATCH_SENT;
		snprintf(it->outcome, sizeof(it->outcome), "skipped");
		snprintf(it->error, sizeof(it->error), "%s", why);
		if (j->act->fallback) {
			rc = prepare_fallback(d, j, p, args,
			                      json_object_get(st, "session"), b,
			                      idx, why);
			dk_proposal_free(p);
			json_decref(st);
			return rc;
		}
		snprintf(j->outcome, sizeof(j->outcome), "skipped");
		snprintf(j->error, sizeof(j->error), "%s", why);
		if (!d->o->no_continue)
			continue_run(d, j, idx);
		goto done;
	}
	dk_proposal_free(p);
	json_decref(st);
	if (batch_add(b, j) < 0) {
		job_free(j);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	return 0;
done:
	rc = 0;
done_rc:
	dk_proposal_free(p);
	json_decref(st);
	job_free(j);
	return rc;
}

/*
 * The breaker of the proposal's action is open (now or when it was
 * skipped): send its fallback action instead, once, with its own key.
 */
static int prepare_fallback(struct dctx *d, struct job *j,
                            const struct dk_proposal *p, const json_t *args,
                            const json_t *session, struct batch *b, size_t idx,
                            const char *why)
{
	const struct dk_action *fa =
	    dk_workflow_action(j->wf, p->action)->fallback;
	struct fbscan f = { p->id, json_array() };
	struct dk_dispatch_item *it = item(d, idx);
	json_t *fargs, *r, *last = NULL;
	size_t i;
	int rc;

	snprintf(it->fallback, sizeof(it->fallback), "%s", fa->name);
	if ((rc = dk_ledger_foreach_reverse(d->l, fb_cb, &f)) < 0) {
		json_decref(f.recs);
		job_free(j);
		return rc;
	}
	json_array_foreach(f.recs, i,
	                   r) if (!strcmp(str(r, "type"), T_FB_RESULT)) last =
	    json_object_get(r, "body");
	j->attempt = count_type(f.recs, T_FB_INTENT) + 1;
	j->fallback = 1;
	snprintf(j->orig_action, sizeof(j->orig_action), "%s", p->action);
	snprintf(j->error, sizeof(j->error), "%s", why);
	if (last && strcmp(str(last, "outcome"), "retryable")) {
		/* the fallback reached a final result already */
		snprintf(it->fallback_outcome, sizeof(it->fallback_outcome),
		         "%s", str(last, "outcome"));
		json_decref(f.recs);
		snprintf(j->outcome, sizeof(j->outcome), "skipped");
		snprintf(j->error, sizeof(j->error), "%s; fallback %s %s", why,
		         fa->name, str(last, "outcome"));
		if (!d->o->no_continue)
			continue_run(d, j, idx);
		job_free(j);
		return 0;
	}
	json_decref(f.recs);
	/* the action's args, the reason, and where it came from */
	fargs = json_deep_copy(args ? args : json_object());
	if (!json_is_object(fargs)) {
		json_decref(fargs);
		fargs = json_object();
	}
	json_object_set_new(fargs, "reason", json_string(why));
	json_object_set_new(fargs, "proposal", json_string(p->id));
	json_object_set_new(fargs, "action", json_string(p->action));
	if (dk_schema_validate(fa->input, fargs) < 0) {
		json_decref(fargs);
		fargs = json_pack("{s:s}", "reason", why);
		if (dk_schema_validate(fa->input, fargs) < 0) {
			it = item(d, idx);
			it->status = DK_DISPATCH_ERROR;
			snprintf(it->error, sizeof(it->error),
			         "fallback %s refuses its arguments: %s",
			         fa->name, dk_error_last());
			json_decref(fargs);
			job_free(j);
			return 0;
		}
	}
	snprintf(j->key + strlen(j->key) < j->key + sizeof(j->key) - 10
	             ? j->key + strlen(j->key)
	             : j->key + sizeof(j->key) - 10,
	         10, "-fallback");
	rc = build_request(j, fa, fargs, session, d->o->ca_file);
	json_decref(fargs);
	it = item(d, idx);
	if (rc < 0) {
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "fallback %s: %s",
		         fa->name, dk_error_last());
		job_free(j);
		return 0;
	}
	if (batch_add(b, j) < 0) {
		job_free(j);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	return 0;
}

/* --- sending ----------------------------------------------------------------
 */

struct sendctx {
	struct dctx *d;
	struct job **jobs;
	int err; /* a ledger failure: stop everything */
};

static int on_before(void *ctx, size_t k, unsigned attempt)
{
	struct sendctx *s = ctx;
	struct job *j = s->jobs[k];
	struct dk_dispatch_item *it;
	json_t *body;
	int rc;

	if (attempt > 1 || j->intent_ok)
		return 0;
	if (s->err)
		return 1;
	j->t0 = dk_mono_ms();
	body = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "proposal",
	                 j->pid, "run", j->run, "action", j->act->name,
	                 "idempotency_key", j->key, "attempt", (int)j->attempt,
	                 "request_hash", j->hash, "method", j->act->method,
	                 "url", j->url);
	if (j->fallback)
		json_object_set_new(body, "fallback_for",
		                    json_string(j->orig_action));
	rc = append_rec(s->d, j, j->fallback ? T_FB_INTENT : T_INTENT, body, 1);
	it = item(s->d, j->item);
	if (rc < 0) {
		it->status = rc == DK_ECONFLICT ? DK_DISPATCH_CHANGED
		                                : DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error), "%s", dk_error_last());
		if (rc != DK_ECONFLICT)
			s->err = rc;
		return 1;
	}
	j->intent_ok = 1;
	return 0;
}

static void on_after(void *ctx, size_t k, unsigned attempt, int hrc,
                     const struct dk_http_response *resp,
                     enum dk_http_verdict verdict, long delay_ms)
{
	struct sendctx *s = ctx;
	struct job *j = s->jobs[k];
	struct dk_dispatch_item *it;
	json_t *body, *rec, *ids;
	char sha[65];
	const char *outcome = outcome_name(verdict);
	int rc;

	if (delay_ms >= 0)
		return; /* another attempt follows */
	dk_sha256_hex(sha, resp->body ? resp->body : "", resp->body_len);
	dk_dispatch__response_fields(&rec, &ids, j->act, resp);
	body = json_pack(
	    "{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:o, "
	    "s:o, s:b, s:I}",
	    "proposal", j->pid, "run", j->run, "action", j->act->name,
	    "outcome", outcome, "attempt", (int)j->attempt, "attempts",
	    (int)attempt, "idempotency_key", j->key, "request_hash", j->hash,
	    "response_sha256", sha, "recorded", rec, "provider_ids", ids,
	    "replayed", resp->replayed, "duration_ms",
	    (json_int_t)(dk_mono_ms() - j->t0 + 0.5));
	json_object_set_new(body, "status",
	                    resp->status ? json_integer(resp->status)
	                                 : json_null());
	if (hrc < 0 || verdict != DK_HTTP_SUCCESS) {
		char msg[400];

		if (hrc < 0)
			snprintf(msg, sizeof(msg), "%s: %s",
			         dk_http_neterr_name(resp->neterr),
			         dk_error_last());
		else
			snprintf(msg, sizeof(msg), "HTTP %ld: %.300s",
			         resp->status, resp->body ? resp->body : "");
		json_object_set_new(body, "error", json_string(msg));
	}
	if (j->fallback)
		json_object_set_new(body, "fallback_for",
		                    json_string(j->orig_action));
	else
		set_failure(j, body);
	json_incref(body);
	rc = append_rec(s->d, j, j->fallback ? T_FB_RESULT : T_RESULT, body, 0);
	/* what was recorded (scrubbed) is what the caller sees */
	it = item(s->d, j->item);
	if (j->fallback) {
		snprintf(it->fallback_outcome, sizeof(it->fallback_outcome),
		         "%s", outcome);
		snprintf(j->outcome, sizeof(j->outcome), "skipped");
		snprintf(j->error + strlen(j->error),
		         sizeof(j->error) - strlen(j->error),
		         "; fallback %s %s", j->act->name, outcome);
	} else {
		it->status = DK_DISPATCH_SENT;
		snprintf(it->outcome, sizeof(it->outcome), "%s", outcome);
		it->http_status = resp->status;
		it->attempts = attempt;
		json_decref(it->recorded);
		it->recorded = json_incref(json_object_get(body, "recorded"));
		if (verdict != DK_HTTP_SUCCESS)
			snprintf(it->error, sizeof(it->error), "%s",
			         str(body, "error"));
		if (verdict == DK_HTTP_SUCCESS) {
			json_decref(j->output);
			j->output = step_output(j->pid, body);
		}
	}
	json_decref(body);
	if (rc < 0) {
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error),
		         "the result could not be recorded: %s",
		         dk_error_last());
		s->err = rc;
		j->outcome[0] = '\0'; /* no continuation */
	}
}

static int send_batch(struct dctx *d, struct batch *b)
{
	size_t i, k;
	int rc = 0;

	/* one send_all per action: the retry policy is the action's */
	for (i = 0; i < b->n; i++) {
		const struct dk_action *a = b->jobs[i]->act;
		struct dk_http_retry pol = DK_HTTP_RETRY_INIT;
		struct dk_http_multi_observer obs = { on_before, on_after,
			                              NULL };
		struct sendctx sc = { d, NULL, 0 };
		struct dk_http_job *hj;
		struct job **js;
		size_t n = 0;

		if (b->jobs[i]->sent)
			continue;
		for (k = i; k < b->n; k++)
			if (b->jobs[k]->act == a && !b->jobs[k]->sent)
				n++;
		hj = calloc(n, sizeof(*hj));
		js = calloc(n, sizeof(*js));
		if (!hj || !js) {
			free(hj);
			free(js);
			return dk_error_set(DK_ERROR, "out of memory");
		}
		n = 0;
		for (k = i; k < b->n; k++)
			if (b->jobs[k]->act == a && !b->jobs[k]->sent) {
				js[n] = b->jobs[k];
				hj[n].req = &b->jobs[k]->req;
				b->jobs[k]->sent = 1;
				n++;
			}
		pol.max_attempts = a->retry.max_attempts > 0
		                       ? (unsigned)a->retry.max_attempts
		                       : 1;
		if (a->retry.base_ms > 0)
			pol.base_ms = a->retry.base_ms;
		if (a->retry.max_ms > 0)
			pol.cap_ms = a->retry.max_ms;
		sc.jobs = js;
		obs.ctx = &sc;
		dk_http_send_all(hj, n, d->o->max_in_flight, &pol, &obs);
		for (k = 0; k < n; k++) {
			if (hj[k].stopped || !hj[k].attempts)
				js[k]->outcome[0] = '\0';
			dk_http_job_dispose(&hj[k]);
		}
		free(hj);
		free(js);
		if (sc.err) {
			rc = sc.err;
			break;
		}
	}
	return rc;
}

/* --- continuing the run ----------------------------------------------------
 */

static void continue_run(struct dctx *d, struct job *j, size_t idx)
{
	struct dk_run_result res;
	struct dk_run_opts ro = { d->actor };
	struct dk_dispatch_item *it;
	const char *o = j->outcome;
	int rc;

	if (!o[0] || !strcmp(o, "retryable") || !j->wf)
		return; /* no final result: the run stays paused */
	rc = dk_run_continue(
	    &res, d->l, j->wf, j->run, j->pid,
	    !strcmp(o, "succeeded") ? j->output : NULL,
	    !strcmp(o, "succeeded") ? NULL : j->error,
	    !strcmp(o, "idempotency_error") || !strcmp(o, "skipped"), &ro);
	it = item(d, idx);
	if (rc < 0) {
		snprintf(it->error, sizeof(it->error),
		         "dispatched, but the run did not continue: %s",
		         dk_error_last());
		it->continue_failed = 1;
		return;
	}
	if (rc > 0)
		return;
	snprintf(it->run_status, sizeof(it->run_status), "%s",
	         dk_run_status_name(res.status));
	if (res.status == DK_RUN_PAUSED && res.proposal[0]) {
		snprintf(it->next_proposal, sizeof(it->next_proposal), "%s",
		         res.proposal);
		if (!strcmp(res.waiting, "dispatch"))
			queue_push(d, res.proposal);
	}
}

/* --- finding ready proposals ------------------------------------------------
 */

struct ready {
	json_t *props; /* id -> {run, events: [[type, outcome]...]} */
	json_t *order; /* ids, newest first */
	json_t *runs;  /* run -> {finished, pause} */
	json_t *esc;   /* run -> run.escalated body naming an action */
	json_t *escp;  /* run -> the proposal made for it */
};

static int ready_cb(const struct dk_record *r, void *payload)
{
	struct ready *s = payload;
	const char *pid =
	    json_string_value(json_object_get(r->body, "proposal"));
	const char *run = json_string_value(json_object_get(r->body, "run"));
	json_t *ru, *p;

	if (run && (!strcmp(r->type, "run.finished") ||
	            !strcmp(r->type, "run.paused"))) {
		if (!(ru = json_object_get(s->runs, run))) {
			ru = json_object();
			json_object_set_new(s->runs, run, ru);
		}
		if (!strcmp(r->type, "run.finished"))
			json_object_set_new(ru, "finished", json_true());
		else if (pid && !json_object_get(ru, "pause"))
			json_object_set_new(ru, "pause", json_string(pid));
	}
	if (run && !strcmp(r->type, "run.escalated") &&
	    json_is_string(json_object_get(r->body, "action")))
		json_object_set(s->esc, run, r->body);
	if (!pid)
		return 0;
	if (!(p = json_object_get(s->props, pid))) {
		p = json_pack("{s:[]}", "events");
		json_object_set_new(s->props, pid, p);
	}
	if (!strcmp(r->type, "proposal")) {
		if (run && !strcmp(str(r->body, "step"), ESC_STEP))
			json_object_set_new(s->escp, run, json_string(pid));
		json_object_set_new(p, "run", json_string(run ? run : ""));
		json_array_append_new(s->order, json_string(pid));
		return 0;
	}
	json_array_insert_new(
	    json_object_get(p, "events"), 0,
	    json_pack("[s, s]", r->type, str(r->body, "outcome")));
	return 0;
}

static int approve_escalation(struct dctx *d, const char *pid, const char *run)
{
	struct dk_proposal *p = NULL;
	struct dk_append_result ar;
	json_t *body;
	int rc;

	if ((rc = dk_proposal_load(&p, d->l, pid)) < 0)
		return rc;
	if (p->state != DK_PROP_PENDING ||
	    strcmp(str(p->body, "step"), ESC_STEP)) {
		dk_proposal_free(p);
		return 1;
	}
	dk_proposal_free(p);
	body = json_pack("{s:s, s:s, s:s, s:s}", "proposal", pid, "run", run,
	                 "by", "escalation", "rule", ESC_STEP);
	rc = dk_ledger_append(&ar, d->l, "proposal.approved", d->actor, body,
	                      NULL);
	json_decref(body);
	return rc < 0 ? rc : 0;
}

struct nothing_about {
	const char *pid;
	uint64_t known;
};

static int nothing_about_cb(struct dk_ledger *l, const struct dk_head *head,
                            json_t *body, void *payload)
{
	struct nothing_about *n = payload;
	uint64_t s;

	(void)body;
	for (s = n->known + 1; s <= head->seq; s++) {
		struct dk_record *r = NULL;
		int rc = dk_ledger_read(&r, l, s);

		if (rc < 0)
			return rc;
		rc = !strcmp(str(r->body, "proposal"), n->pid);
		dk_record_free(r);
		if (rc)
			return dk_error_set(DK_ECONFLICT, "proposed already");
	}
	return 0;
}

/*
 * A run escalated with an action (run.escalated {action, args}): make it
 * a proposal, approved by the escalation itself, with the full arguments
 * evaluated again from the run's private state, so that it is dispatched
 * like any other, exactly once.
 */
static int propose_escalation(struct dctx *d, const char *run,
                              const json_t *esc)
{
	const struct dk_workflow *wf = NULL;
	const struct dk_action *a;
	struct dk_proposal *p = NULL;
	struct dk_append_opts ao;
	struct dk_append_result ar;
	struct nothing_about na;
	struct dk_head h;
	json_t *args = NULL, *body;
	char lockname[96], pid[32], key[48], exp[32];
	size_t idx;
	int fd = -1, rc;

	snprintf(lockname, sizeof(lockname), "escalate-%s", run);
	if (take_lock(&fd, d->l, lockname) < 0)
		return 0; /* another process is on it */
	if ((rc = workflow_of(&wf, d, run, NULL)) < 0 ||
	    (rc = dk_run_escalation_args(&args, d->l, wf, run, esc)) < 0)
		goto fail;
	a = wf->escalate.action;
	dk_proposal_id(pid, dk_ledger_id(d->l), run, ESC_STEP, a->name, args);
	dk_idempotency_key(key, dk_ledger_id(d->l), run, a->name, args);
	if ((rc = dk_ledger_head(&h, d->l)) < 0)
		goto fail;
	rc = dk_proposal_load(&p, d->l, pid);
	dk_proposal_free(p);
	if (rc == 0) { /* made already */
		queue_push(d, pid);
		rc = 0;
		goto out;
	}
	if (rc != DK_ENOTFOUND)
		goto fail;
	if (dk_schema_validate(a->input, args) < 0) {
		rc = DK_EINVALID;
		dk_error_prefix("escalation arguments refused by %s", a->name);
		goto fail;
	}
	if ((rc = dk_run_keep_pending(d->l, wf, run, pid, args)) < 0)
		goto fail;
	dk_format_time(exp, dk_now() + DK_APPROVAL_EXPIRES_S);
	body = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s, s:n}, s:n, s:s, "
	    "s:s, s:s, s:s}",
	    "proposal", pid, "run", run, "step", ESC_STEP, "action", a->name,
	    "risk", dk_risk_name(a->risk), "args", json_object_get(esc, "args"),
	    "rule", "name", ESC_STEP, "decision", "auto", "when", "requires",
	    "proposer", d->actor, "idempotency_key", key, "expires_at", exp,
	    "escalation", str(esc, "condition"));
	memset(&ao, 0, sizeof(ao));
	na.pid = pid;
	na.known = h.seq;
	ao.check = nothing_about_cb;
	ao.payload = &na;
	rc = dk_ledger_append(&ar, d->l, "proposal", d->actor, body, &ao);
	json_decref(body);
	if (rc == DK_ECONFLICT) {
		queue_push(d, pid);
		rc = 0;
		goto out;
	}
	if (rc < 0 || (rc = approve_escalation(d, pid, run)) < 0)
		goto fail;
	queue_push(d, pid);
	rc = 0;
	goto out;
fail : {
	struct dk_dispatch_item *it = new_item(d, "", &idx);
	if (it) {
		snprintf(it->run, sizeof(it->run), "%s", run);
		snprintf(it->action, sizeof(it->action), "%s",
		         str(esc, "action"));
		it->status = DK_DISPATCH_ERROR;
		snprintf(it->error, sizeof(it->error),
		         "escalation of run %s: %s", run, dk_error_last());
	}
	rc = 0; /* reported; the rest goes on */
}
out:
	json_decref(args);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int find_ready(struct dctx *d)
{
	struct ready s = { json_object(), json_array(), json_object(),
		           json_object(), json_object() };
	size_t i, k;
	json_t *id;
	const char *run;
	int rc = dk_ledger_foreach_reverse(d->l, ready_cb, &s);

	/* escalations whose action has no proposal yet get one first */
	if (rc >= 0 && !d->o->dry_run)
		json_object_foreach(s.esc, run, id)
		{
			if (json_object_get(s.escp, run))
				continue;
			if ((rc = propose_escalation(d, run, id)) < 0)
				break;
		}

	/* oldest proposal first */
	for (i = json_array_size(s.order); rc >= 0 && i-- > 0;) {
		const char *pid = json_string_value(json_array_get(s.order, i));
		json_t *p = json_object_get(s.props, pid), *ev;
		json_t *ru = json_object_get(s.runs, str(p, "run"));
		int approved = 0, intent = 0, final = 0, ok = 0, skipped = 0;
		int fb_final = 0, waiting;

		json_array_foreach(json_object_get(p, "events"), k, ev)
		{
			const char *t =
			    json_string_value(json_array_get(ev, 0));
			const char *o =
			    json_string_value(json_array_get(ev, 1));

			if (!strcmp(t, "proposal.approved"))
				approved = 1;
			else if (!strcmp(t, "proposal.rejected") ||
			         !strcmp(t, "proposal.expired"))
				approved = -1;
			else if (!strcmp(t, T_INTENT))
				intent = 1;
			else if (!strcmp(t, T_RESULT)) {
				if (!strcmp(o, "retryable")) {
					intent = 0;
					continue;
				}
				final = 1;
				ok = !strcmp(o, "succeeded");
				skipped = !strcmp(o, "skipped");
			} else if (!strcmp(t, T_FB_RESULT) &&
			           strcmp(o, "retryable"))
				fb_final = 1;
		}
		(void)ok;
		{
			const char *ep = json_string_value(
			    json_object_get(s.escp, str(p, "run")));

			/* made for an escalation, its approval not recorded */
			if (!approved && ep && !strcmp(ep, pid) &&
			    !d->o->dry_run &&
			    approve_escalation(d, pid, str(p, "run")) == 0)
				approved = 1;
		}
		waiting = ru && !json_object_get(ru, "finished") &&
		          !strcmp(str(ru, "pause"), pid);
		if ((approved == 1 && !final) || (intent && !final) ||
		    (final && waiting && !d->o->no_continue) ||
		    (skipped && !fb_final))
			queue_push(d, pid);
	}
	json_decref(s.props);
	json_decref(s.order);
	json_decref(s.runs);
	json_decref(s.esc);
	json_decref(s.escp);
	(void)id;
	return rc < 0 ? rc : 0;
}

/* --- the entry point --------------------------------------------------------
 */

int dk_dispatch(struct dk_dispatch_report *out, struct dk_ledger *l,
                const char *const *ids, size_t nids,
                const struct dk_dispatch_opts *opts)
{
	struct dk_dispatch_opts def;
	struct dctx d;
	size_t i, next = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&def, 0, sizeof(def));
	memset(&d, 0, sizeof(d));
	d.l = l;
	d.o = opts ? opts : &def;
	d.actor = d.o->actor ? d.o->actor : "docket";
	d.rep = out;
	for (i = 0; i < nids; i++) {
		const char *id = ids[i];
		if (!strncmp(id, "wrp://", 6))
			id += 6;
		queue_push(&d, id);
	}
	if (!nids && (rc = find_ready(&d)) < 0)
		goto out;
	while (next < d.nqueue) {
		struct batch b = { NULL, 0, 0 };
		size_t end = d.nqueue;

		for (; next < end && rc >= 0; next++)
			rc = prepare(&d, d.queue[next], &b);
		if (rc >= 0 && b.n)
			rc = send_batch(&d, &b);
		for (i = 0; i < b.n; i++) {
			struct job *j = b.jobs[i];

			if (rc >= 0 && !d.o->no_continue)
				continue_run(&d, j, j->item);
			job_free(j); /* and its lock */
		}
		free(b.jobs);
		if (rc < 0)
			break;
		if (d.o->dry_run)
			break;
	}
out:
	for (i = 0; i < d.nqueue; i++)
		free(d.queue[i]);
	free(d.queue);
	for (i = 0; i < d.nwfs; i++) {
		free(d.wfs[i].file);
		dk_workflow_free(d.wfs[i].wf);
	}
	free(d.wfs);
	return rc < 0 ? rc : 0;
}
