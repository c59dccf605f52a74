/*
 * Workflows at run time: freeing, lookups, approval matching and the
 * small helpers executors share (workflow.h). The loader is in
 * workflow-load.c.
 */
#include "workflow.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void strv_free(struct dk_strv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
}

static void headers_free(struct dk_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void capability_free(struct dk_capability *c)
{
	size_t i;

	free(c->name);
	free(c->description);
	json_decref(c->input);
	json_decref(c->output);
	for (i = 0; i < c->nensure; i++) {
		dk_jq_free(c->ensure[i].expr);
		free(c->ensure[i].message);
	}
	free(c->ensure);
	strv_free(&c->redact);
	free(c->sql.query);
	free(c->sql.sql);
	for (i = 0; i < c->sql.nparams; i++)
		free(c->sql.params[i].name);
	free(c->sql.params);
	strv_free(&c->exec.argv);
	strv_free(&c->exec.env);
	free(c->http.path);
	headers_free(c->http.headers, c->http.nheaders);
	strv_free(&c->http.secrets);
}

static void action_free(struct dk_action *a)
{
	free(a->name);
	free(a->description);
	free(a->method);
	free(a->path);
	headers_free(a->headers, a->nheaders);
	dk_jq_free(a->body);
	strv_free(&a->secrets);
	free(a->idempotency_header);
	json_decref(a->input);
	strv_free(&a->record);
	strv_free(&a->redact);
}

void dk_workflow_free(struct dk_workflow *wf)
{
	size_t i;

	if (!wf)
		return;
	free(wf->name);
	free(wf->description);
	free(wf->path);
	free(wf->dir);
	strv_free(&wf->session_require);
	strv_free(&wf->session_optional);
	json_decref(wf->input);
	strv_free(&wf->roles);
	strv_free(&wf->redact);
	for (i = 0; i < wf->nproviders; i++) {
		free(wf->providers[i].name);
		free(wf->providers[i].base_url);
		free(wf->providers[i].base_url_env);
		strv_free(&wf->providers[i].local_hosts);
	}
	free(wf->providers);
	for (i = 0; i < wf->ndatabases; i++) {
		free(wf->databases[i].name);
		free(wf->databases[i].path);
		free(wf->databases[i].path_env);
	}
	free(wf->databases);
	for (i = 0; i < wf->ncapabilities; i++)
		capability_free(&wf->capabilities[i]);
	free(wf->capabilities);
	for (i = 0; i < wf->nactions; i++)
		action_free(&wf->actions[i]);
	free(wf->actions);
	for (i = 0; i < wf->napprovals; i++) {
		free(wf->approvals[i].name);
		dk_jq_free(wf->approvals[i].when);
		free(wf->approvals[i].role);
		free(wf->approvals[i].reason);
	}
	free(wf->approvals);
	dk_jq_free(wf->escalate.args);
	for (i = 0; i < wf->escalate.nconditions; i++) {
		free(wf->escalate.conditions[i].name);
		dk_jq_free(wf->escalate.conditions[i].when);
		free(wf->escalate.conditions[i].reason);
	}
	free(wf->escalate.conditions);
	for (i = 0; i < wf->nsteps; i++) {
		free(wf->steps[i].key);
		free(wf->steps[i].description);
		dk_jq_free(wf->steps[i].args);
		dk_jq_free(wf->steps[i].when);
	}
	free(wf->steps);
	json_decref(wf->canonical);
	free(wf->canonical_text);
	free(wf);
}

const struct dk_capability *dk_workflow_capability(const struct dk_workflow *wf,
                                                   const char *name)
{
	size_t i;

	for (i = 0; i < wf->ncapabilities; i++)
		if (wf->capabilities[i].name &&
		    !strcmp(wf->capabilities[i].name, name))
			return &wf->capabilities[i];
	return NULL;
}

const struct dk_action *dk_workflow_action(const struct dk_workflow *wf,
                                           const char *name)
{
	size_t i;

	for (i = 0; i < wf->nactions; i++)
		if (!strcmp(wf->actions[i].name, name))
			return &wf->actions[i];
	return NULL;
}

const struct dk_step *dk_workflow_step(const struct dk_workflow *wf,
                                       const char *key)
{
	size_t i;

	for (i = 0; i < wf->nsteps; i++)
		if (wf->steps[i].key && !strcmp(wf->steps[i].key, key))
			return &wf->steps[i];
	return NULL;
}

static const char *const risks[] = { "low", "medium", "high", "critical" };

const char *dk_risk_name(enum dk_risk r)
{
	return (unsigned)r < 4 ? risks[r] : "unknown";
}

int dk_risk_parse(enum dk_risk *out, const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, risks[i])) {
			*out = (enum dk_risk)i;
			return 0;
		}
	return dk_error_set(DK_EINVALID, "unknown risk level \"%s\"", s);
}

const char *dk_decision_name(enum dk_decision d)
{
	switch (d) {
	case DK_DECISION_REQUIRE:
		return "require";
	case DK_DECISION_AUTO:
		return "auto";
	case DK_DECISION_DENY:
		return "deny";
	}
	return "unknown";
}

const char *dk_cap_kind_name(enum dk_cap_kind k)
{
	switch (k) {
	case DK_CAP_SQL:
		return "sql";
	case DK_CAP_EXEC:
		return "exec";
	case DK_CAP_HTTP:
		return "http";
	}
	return "unknown";
}

int dk_workflow_match_approval(const struct dk_approval_rule **out,
                               const struct dk_workflow *wf, const json_t *ctx)
{
	size_t i;
	int rc, hit;

	*out = NULL;
	for (i = 0; i < wf->napprovals; i++) {
		const struct dk_approval_rule *r = &wf->approvals[i];
		if (r->has_min_risk) {
			enum dk_risk risk = DK_RISK_LOW;
			const char *s =
			    json_string_value(json_object_get(ctx, "risk"));
			if (!s || dk_risk_parse(&risk, s) < 0 ||
			    risk < r->min_risk)
				continue;
		}
		if (r->when) {
			if ((rc = dk_jq_eval_bool(&hit, r->when, ctx)) < 0) {
				dk_error_prefix("approval rule %s", r->name);
				return rc;
			}
			if (!hit)
				continue;
		}
		*out = r;
		return 0;
	}
	return 0;
}

const char *dk_provider_base_url(const struct dk_provider *p)
{
	const char *e;

	if (p->base_url_env && (e = getenv(p->base_url_env)) && *e)
		return e;
	return p->base_url;
}

int dk_provider_host_is_local(const struct dk_provider *p, const char *host)
{
	size_t i;

	for (i = 0; i < p->local_hosts.n; i++)
		if (!strcasecmp(p->local_hosts.v[i], host))
			return 1;
	return 0;
}

struct sbuf {
	char *s;
	size_t n, cap;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return dk_error_set(DK_ERROR, "out of memory");
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
	return 0;
}

static int sb_pct(struct sbuf *b, const char *s)
{
	char tmp[4];
	int rc;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c)) {
			rc = sb_add(b, s, 1);
		} else {
			snprintf(tmp, sizeof(tmp), "%%%02X", c);
			rc = sb_add(b, tmp, 3);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int dk_workflow_expand_path(char **out, const char *tmpl, const json_t *args)
{
	struct sbuf b = { 0 };
	const char *p = tmpl, *o;
	int rc = 0;

	*out = NULL;
	if ((rc = sb_add(&b, "", 0)) < 0)
		return rc;
	while ((o = strchr(p, '{'))) {
		const char *e = strchr(o, '}');
		char name[128], num[32];
		const json_t *v;

		if (!e || (size_t)(e - o) >= sizeof(name)) {
			rc = dk_error_set(DK_EINVALID, "bad path template %s",
			                  tmpl);
			goto out;
		}
		if ((rc = sb_add(&b, p, (size_t)(o - p))) < 0)
			goto out;
		memcpy(name, o + 1, (size_t)(e - o - 1));
		name[e - o - 1] = 0;
		v = json_object_get(args, name);
		if (json_is_string(v)) {
			rc = sb_pct(&b, json_string_value(v));
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
			         (long long)json_integer_value(v));
			rc = sb_add(&b, num, strlen(num));
		} else {
			rc = dk_error_set(DK_EINVALID,
			                  "path field \"%s\" is %s", name,
			                  v ? "not a string or integer"
			                    : "missing from args");
		}
		if (rc < 0)
			goto out;
		p = e + 1;
	}
	rc = sb_add(&b, p, strlen(p));
out:
	if (rc < 0) {
		free(b.s);
		return rc;
	}
	*out = b.s;
	return 0;
}

int dk_workflow_expand_header(char **out, const char *tmpl,
                              const char *(*secret)(const char *name,
                                                    void *data),
                              void *data)
{
	struct sbuf b = { 0 };
	const char *p = tmpl, *o;
	int rc;

	*out = NULL;
	if ((rc = sb_add(&b, "", 0)) < 0)
		return rc;
	while ((o = strstr(p, "${secret:"))) {
		const char *e = strchr(o, '}'), *val;
		char name[128];

		if (!e || (size_t)(e - o - 9) >= sizeof(name)) {
			rc = dk_error_set(DK_EINVALID, "bad header template");
			goto out;
		}
		memcpy(name, o + 9, (size_t)(e - o - 9));
		name[e - o - 9] = 0;
		if ((rc = sb_add(&b, p, (size_t)(o - p))) < 0)
			goto out;
		if (!(val = secret(name, data))) {
			rc = dk_error_set(DK_ENOTFOUND, "secret %s is not set",
			                  name);
			goto out;
		}
		if ((rc = sb_add(&b, val, strlen(val))) < 0)
			goto out;
		p = e + 1;
	}
	rc = sb_add(&b, p, strlen(p));
out:
	if (rc < 0) {
		if (b.s)
			explicit_bzero(b.s, b.cap);
		free(b.s);
		return rc;
	}
	*out = b.s;
	return 0;
}

static int resolve(char **out, const char *dir, const char *path)
{
	*out = NULL;
	if (path[0] == '/') {
		*out = strdup(path);
	} else if (asprintf(out, "%s/%s", dir, path) < 0) {
		*out = NULL;
	}
	return *out ? 0 : dk_error_set(DK_ERROR, "out of memory");
}

int dk_database_path(char **out, const struct dk_workflow *wf,
                     const struct dk_database *db)
{
	const char *e;

	if (db->path_env && (e = getenv(db->path_env)) && *e) {
		*out = strdup(e);
		return *out ? 0 : dk_error_set(DK_ERROR, "out of memory");
	}
	return resolve(out, wf->dir, db->path);
}

int dk_exec_path(char **out, const struct dk_workflow *wf,
                 const struct dk_capability *cap)
{
	const char *p;

	*out = NULL;
	if (cap->kind != DK_CAP_EXEC || !cap->exec.argv.n)
		return dk_error_set(DK_EINVALID, "%s is not an exec capability",
		                    cap->name);
	p = cap->exec.argv.v[0];
	if (!strchr(p, '/')) {
		*out = strdup(p);
		return *out ? 0 : dk_error_set(DK_ERROR, "out of memory");
	}
	return resolve(out, wf->dir, p);
}
