#ifndef DK_WORKFLOW_H
#define DK_WORKFLOW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jqexpr.h"
#include "yamltree.h"

/*
 * Workflows: the YAML definition of one scripted support flow
 * (docs/workflow-language.md), loaded into the structure below, which
 * `docket lint` checks and `run`, `propose`, `approve` and `dispatch`
 * execute.
 *
 * Ownership, stated once: dk_workflow_load returns a struct dk_workflow
 * that owns every string, array, json_t, compiled jq expression and
 * sub-structure reachable from it; all of it lives until
 * dk_workflow_free. Pointers between parts (a step's capability, an
 * action's provider or fallback) point inside the same workflow and are
 * never freed separately. Callers must not modify a loaded workflow.
 *
 * Loading is strict: every problem is reported as a located diagnostic
 * (line and column, 1-based) in a caller-owned struct dk_diags, and all
 * problems in a file are reported, not only the first.
 *
 * Limits (documented in docs/workflow-language.md): the file size,
 * nesting depth and entry counts of yamltree.h, and DK_JQ_MAX_SOURCE per
 * jq expression.
 */

enum dk_risk {
	DK_RISK_LOW = 0,
	DK_RISK_MEDIUM,
	DK_RISK_HIGH,
	DK_RISK_CRITICAL,
};

enum dk_cap_kind { DK_CAP_SQL, DK_CAP_EXEC, DK_CAP_HTTP };

/* Defaults applied when a workflow does not say. */
#define DK_EXEC_TIMEOUT_MS         10000
#define DK_EXEC_MAX_OUTPUT         (1024 * 1024) /* stdout cap, bytes */
#define DK_HTTP_CONNECT_TIMEOUT_MS 5000
#define DK_HTTP_TIMEOUT_MS         15000
#define DK_HTTP_MAX_RESPONSE       (1024 * 1024)
#define DK_SQL_MAX_ROWS            1000
#define DK_RETRY_MAX_ATTEMPTS      3
#define DK_RETRY_BASE_MS           200
#define DK_RETRY_MAX_MS            5000
#define DK_APPROVAL_EXPIRES_S      (24 * 3600)

/*
 * A list of owned strings.
 */
struct dk_strv {
	char **v;
	size_t n;
};

/* A place in the workflow file, for messages at run time. */
struct dk_loc {
	int line, col;
};

/*
 * A provider: where a group of actions (and http capabilities) is sent.
 * The base URL is base_url unless the environment variable named by
 * base_url_env is set and non-empty (dk_provider_base_url). Plain http is
 * allowed only to hosts listed in local_hosts; everything else must be
 * https with TLS verification.
 */
struct dk_provider {
	char *name;
	char *base_url;
	char *base_url_env; /* NULL when none */
	struct dk_strv local_hosts;
	struct dk_loc loc;
};

/*
 * A SQLite database used by sql capabilities. path is as written
 * (relative paths are relative to the workflow file's directory; see
 * dk_database_path); path_env, when set in the environment, overrides it.
 * Opened read-only unless writable.
 */
struct dk_database {
	char *name;
	char *path;
	char *path_env;
	int writable;
	struct dk_loc loc;
};

/* An `ensure` assertion: a jq condition over {args, output, session}. */
struct dk_check {
	struct dk_jq *expr;
	char *message; /* what to record when it does not hold */
	struct dk_loc loc;
};

/* A header template: value may contain ${secret:NAME}. */
struct dk_header {
	char *name;
	char *value;
};

/*
 * A named SQL parameter. The loader rewrites the query so parameter i
 * (0-based) is "?i+1"; each is bound from the step's args (from_session
 * 0: args.NAME) or from the session (from_session 1: session.NAME,
 * written :session.NAME in the query). Session bindings cannot be
 * supplied by args.
 */
struct dk_sql_param {
	char *name;
	int from_session;
};

enum dk_sql_returns {
	DK_SQL_ROWS = 0, /* output {"rows": [...], "count": N} */
	DK_SQL_ROW,      /* output {"found": bool, "row": {...}|null} */
};

struct dk_capability {
	char *name;
	char *description;
	enum dk_cap_kind kind;
	enum dk_risk risk;
	json_t *input;  /* schema; never NULL ({} accepts anything) */
	json_t *output; /* schema; never NULL */
	struct dk_check *ensure;
	size_t nensure;
	struct dk_strv redact; /* "args.x", "output.rows.email" ... */
	struct dk_loc loc;

	struct {
		const struct dk_database *db;
		char *query; /* as written */
		char *sql;   /* rewritten with ?N placeholders */
		struct dk_sql_param *params;
		size_t nparams;
		enum dk_sql_returns returns;
		int max_rows;
	} sql;

	struct {
		struct dk_strv argv; /* argv[0] as written; see dk_exec_path */
		struct dk_strv env;  /* variable names passed through */
		int timeout_ms;
		size_t max_output;
	} exec;

	struct {
		const struct dk_provider *provider;
		char *path; /* template: "/products/{sku}" from args */
		struct dk_header *headers;
		size_t nheaders;
		struct dk_strv secrets;
		int connect_timeout_ms, timeout_ms;
		size_t max_response;
	} http;
};

enum dk_body_encoding { DK_BODY_JSON = 0, DK_BODY_FORM };

struct dk_action {
	char *name; /* "stripe.refund" */
	char *description;
	const struct dk_provider *provider;
	char *method; /* GET POST PUT PATCH DELETE */
	char *path;   /* template: "/orders/{order_id}/cancel.json" */
	struct dk_header *headers;
	size_t nheaders;
	struct dk_jq *body; /* over {args, session, run, idempotency_key} */
	enum dk_body_encoding encoding;
	struct dk_strv secrets;   /* environment variable names */
	char *idempotency_header; /* NULL: the provider has none */
	int connect_timeout_ms, timeout_ms;
	struct {
		int max_attempts;    /* including the first */
		int base_ms, max_ms; /* full-jitter exponential backoff */
	} retry;
	struct {
		int failures; /* 0: no breaker */
		int window_s, open_s;
	} breaker;
	const struct dk_action *fallback; /* NULL when none */
	enum dk_risk risk;
	json_t *input;         /* args schema; never NULL */
	struct dk_strv record; /* response fields kept: "id", "refund.status" */
	struct dk_strv redact;
	size_t max_response;
	struct dk_loc loc;
};

enum dk_decision {
	DK_DECISION_REQUIRE = 0, /* needs approvals */
	DK_DECISION_AUTO,        /* allowed, recorded as auto-approved */
	DK_DECISION_DENY,        /* never allowed */
};

/*
 * An approval rule. Rules are tried in order; the first whose condition
 * holds decides. Its condition is `when` (jq over {run, session, input,
 * args, action, risk}) and, if has_min_risk, risk >= min_risk; a rule
 * with neither matches everything. An action no rule matches is denied.
 */
struct dk_approval_rule {
	char *name;
	struct dk_jq *when; /* NULL: true */
	int has_min_risk;
	enum dk_risk min_risk;
	enum dk_decision decision;
	char *role;         /* DK_DECISION_REQUIRE only */
	int count;          /* distinct approvers, >= 1 */
	int allow_proposer; /* 0 by default */
	int64_t expires_s;  /* proposal lifetime */
	char *reason;       /* shown on deny and in proposals; may be NULL */
	struct dk_loc loc;
};

struct dk_escalation {
	char *name;
	struct dk_jq *when; /* over {run, session, input, steps, budget} */
	char *reason;
	struct dk_loc loc;
};

struct dk_escalate {
	const struct dk_action *action; /* NULL when no escalate section */
	struct dk_jq *args; /* over {run, session, input, steps, escalation} */
	struct dk_escalation *conditions;
	size_t nconditions;
};

/*
 * Per-run budget; a limit of 0 means none. Capabilities report usage in
 * their output as {"usage": {"input_tokens": N, "output_tokens": N,
 * "cost_cents": N}}. Thresholds are percentages of any limit.
 */
struct dk_budget {
	int64_t max_input_tokens, max_output_tokens, max_cost_cents;
	int warn_pct, degrade_pct, stop_pct; /* 80, 90, 100 */
};

struct dk_step {
	char *key;
	char *description;
	const struct dk_capability *capability; /* exactly one of these */
	const struct dk_action *action;
	struct dk_jq *args; /* over {session, input, steps}; NULL: {} */
	struct dk_jq *when; /* NULL: always */
	struct dk_loc loc;
};

struct dk_workflow {
	char *name;
	int64_t version;
	char *description;
	char *path; /* the file loaded, as given */
	char *dir;  /* its directory: relative paths resolve here */

	struct dk_strv session_require;
	struct dk_strv session_optional;
	json_t *input; /* run input schema; never NULL */
	struct dk_strv roles;
	struct dk_strv redact; /* "session.x", "input.y" */

	struct dk_provider *providers;
	size_t nproviders;
	struct dk_database *databases;
	size_t ndatabases;
	struct dk_capability *capabilities;
	size_t ncapabilities;
	struct dk_action *actions;
	size_t nactions;
	struct dk_approval_rule *approvals;
	size_t napprovals;
	struct dk_escalate escalate;
	struct dk_budget budget;
	int evidence_required;     /* always 1 in this version */
	int checkpoint_every_step; /* always 1 in this version */
	struct dk_step *steps;
	size_t nsteps;

	json_t *canonical;      /* the canonical form as JSON */
	char *canonical_text;   /* compact, sorted keys, no trailing newline */
	char workflow_hash[65]; /* SHA-256 of canonical_text, hex */
};

/*
 * Load and check a workflow file. 0 with *out set; DK_EINVALID when the
 * file is not a valid workflow (diagnostics in *d, message naming the
 * first in dk_error_last()); DK_ENOTFOUND / DK_EIO when it cannot be
 * read. d may be NULL when only the code matters.
 */
int dk_workflow_load(struct dk_workflow **out, const char *path,
                     struct dk_diags *d);
/* The same from memory; path is used for messages and relative paths. */
int dk_workflow_load_buffer(struct dk_workflow **out, const char *path,
                            const char *buf, size_t len, struct dk_diags *d);
void dk_workflow_free(struct dk_workflow *wf);

/* Lookups by name or key; NULL when absent. */
const struct dk_capability *dk_workflow_capability(const struct dk_workflow *wf,
                                                   const char *name);
const struct dk_action *dk_workflow_action(const struct dk_workflow *wf,
                                           const char *name);
const struct dk_step *dk_workflow_step(const struct dk_workflow *wf,
                                       const char *key);

const char *dk_risk_name(enum dk_risk r);
int dk_risk_parse(enum dk_risk *out, const char *s);
const char *dk_decision_name(enum dk_decision d);
const char *dk_cap_kind_name(enum dk_cap_kind k);

/*
 * The first approval rule that matches ctx ({run, session, input, args,
 * action, risk}), in *out; NULL when none matches (the action is then
 * denied). DK_EINVALID when a condition fails to evaluate.
 */
int dk_workflow_match_approval(const struct dk_approval_rule **out,
                               const struct dk_workflow *wf, const json_t *ctx);

/* The provider's base URL, honouring base_url_env. Not owned by caller. */
const char *dk_provider_base_url(const struct dk_provider *p);
/* May host be reached over plain http? 1 or 0. */
int dk_provider_host_is_local(const struct dk_provider *p, const char *host);

/*
 * Expand a path template ("/orders/{order_id}") with percent-encoded
 * top-level fields of args (strings and integers). *out is malloc'd.
 * DK_EINVALID when a field is missing or not a scalar.
 */
int dk_workflow_expand_path(char **out, const char *tmpl, const json_t *args);
/*
 * Expand ${secret:NAME} in a header template with secret(NAME, data),
 * which returns the secret's value or NULL when unset (DK_ENOTFOUND).
 * The caller must explicit_bzero and free *out.
 */
int dk_workflow_expand_header(char **out, const char *tmpl,
                              const char *(*secret)(const char *name,
                                                    void *data),
                              void *data);

/* The database file to open (path_env or path resolved against wf->dir). */
int dk_database_path(char **out, const struct dk_workflow *wf,
                     const struct dk_database *db);
/* argv[0] resolved: relative paths containing '/' against wf->dir. */
int dk_exec_path(char **out, const struct dk_workflow *wf,
                 const struct dk_capability *cap);

#endif
