/*
 * docket explain: a run's timeline, like EXPLAIN ANALYZE for one run:
 * every step with its arguments, result and evidence handle; gates with
 * the rule that fired and the approvals required and received; dispatch
 * attempts; budget; the final status. Text, JSON or Graphviz dot.
 */
#include "cmd.h"
#include "util-cmd.h"
#include "../lib/error.h"
#include "../lib/handle.h"
#include "../lib/index.h"
#include "../lib/approval.h"
#include "../lib/ledger.h"
#include "../lib/policy.h"
#include "../lib/run.h"

#include <stdlib.h>
#include <string.h>

DK_USES_LEDGER

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static char *compact(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* "verified", or why an approval's signature does not check out against
 * the policy in force at its place in the chain. */
static json_t *signature_status(struct dk_ledger *l, const json_t *rec)
{
	json_t *policy = NULL, *out;
	uint64_t seq =
	    (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	uint64_t pseq = 0;

	/* the policy in force at the approval: the current one, unless it
	 * was updated after the approval (rare: then walk back to it) */
	{
		struct dk_index *ix = NULL;
		int rc = dk_index_open(&ix, l);

		if (rc == 0)
			rc = dk_policy_current(&policy, &pseq, l, ix);
		dk_index_free(ix);
		if (rc < 0)
			return json_sprintf("unchecked: %s", dk_error_last());
	}
	while (pseq > seq) {
		struct dk_record *r = NULL;
		uint64_t s2;

		json_decref(policy);
		policy = NULL;
		for (s2 = seq;; s2--) {
			if (dk_ledger_read(&r, l, s2) < 0)
				return json_sprintf("unchecked: %s",
				                    dk_error_last());
			if (!strcmp(r->type, "genesis") ||
			    !strcmp(r->type, "policy.update"))
				break;
			dk_record_free(r);
		}
		policy = json_incref(json_object_get(r->body, "policy"));
		dk_record_free(r);
		pseq = s2;
	}
	if (dk_approval_check_signature(policy, json_object_get(rec, "body"),
	                                dk_ledger_id(l), NULL) < 0)
		out = json_sprintf("INVALID: %s", dk_error_last());
	else
		out = json_string("verified");
	json_decref(policy);
	return out;
}

/* A run's story, distilled from its records, for every output format. */
static json_t *summarize(struct dk_ledger *l, json_t *recs, size_t checked)
{
	json_t *started = json_object_get(json_array_get(recs, 0), "body");
	json_t *out = json_object(), *steps = json_array(),
	       *props = json_object(), *events = json_array(), *rec;
	const char *status = "running";
	size_t i;

	json_object_set(out, "run", json_object_get(started, "run"));
	json_object_set(out, "workflow", json_object_get(started, "workflow"));
	json_object_set(out, "session", json_object_get(started, "session"));
	json_object_set(out, "input", json_object_get(started, "input"));
	json_object_set(out, "started_at",
	                json_object_get(json_array_get(recs, 0), "at"));
	json_object_set(out, "started_by",
	                json_object_get(json_array_get(recs, 0), "actor"));
	json_object_set(out, "budget", json_object_get(started, "budget"));
	json_array_foreach(recs, i, rec)
	{
		const char *type = str(rec, "type");
		json_t *b = json_object_get(rec, "body");
		char h[96];

		snprintf(h, sizeof(h), "evidence://%s", str(rec, "hash"));
		if (!strcmp(type, "run.step")) {
			json_t *s = json_deep_copy(b);
			json_object_set_new(s, "evidence", json_string(h));
			json_object_set(s, "seq", json_object_get(rec, "seq"));
			json_object_set(s, "at", json_object_get(rec, "at"));
			json_array_append_new(steps, s);
		} else if (!strcmp(type, "proposal")) {
			json_t *p = json_deep_copy(b);
			json_object_set_new(p, "evidence", json_string(h));
			json_object_set_new(p, "approvals", json_array());
			json_object_set_new(p, "dispatches", json_array());
			json_object_set_new(p, "state", json_string("pending"));
			json_object_set_new(props, str(b, "proposal"), p);
			/* the step paused here shows its gate */
			json_array_append_new(
			    steps,
			    json_pack("{s:s, s:O, s:s, s:s, s:s, s:O}", "step",
			              str(b, "step"), "index", json_null(),
			              "status", "proposed", "action",
			              str(b, "action"), "proposal",
			              str(b, "proposal"), "seq",
			              json_object_get(rec, "seq")));
		} else if (!strcmp(type, "approval") ||
		           !strcmp(type, "proposal.approved") ||
		           !strcmp(type, "proposal.rejected") ||
		           !strcmp(type, "proposal.expired") ||
		           !strncmp(type, "dispatch.", 9)) {
			json_t *p = json_object_get(props, str(b, "proposal"));
			json_t *e =
			    json_pack("{s:s, s:O, s:O, s:O, s:s}", "type", type,
			              "at", json_object_get(rec, "at"), "actor",
			              json_object_get(rec, "actor"), "body", b,
			              "evidence", h);
			if (p && !strcmp(type, "approval")) {
				json_object_set_new(e, "signature",
				                    signature_status(l, rec));
				json_array_append(
				    json_object_get(p, "approvals"), e);
			} else if (p && !strncmp(type, "dispatch.", 9))
				json_array_append(
				    json_object_get(p, "dispatches"), e);
			if (p && !strcmp(type, "proposal.approved"))
				json_object_set_new(p, "state",
				                    json_string("approved"));
			if (p && !strcmp(type, "proposal.rejected"))
				json_object_set_new(p, "state",
				                    json_string("rejected"));
			if (p && !strcmp(type, "proposal.expired"))
				json_object_set_new(p, "state",
				                    json_string("expired"));
			if (p && !strcmp(type, "dispatch.result") &&
			    !strcmp(str(b, "outcome"), "succeeded"))
				json_object_set_new(p, "state",
				                    json_string("dispatched"));
			json_decref(e);
		} else if (strcmp(type, "run.started")) {
			json_array_append_new(
			    events,
			    json_pack("{s:s, s:O, s:O, s:s}", "type", type,
			              "at", json_object_get(rec, "at"), "body",
			              b, "evidence", h));
			if (!strcmp(type, "run.finished"))
				status = str(b, "status");
			else if (!strcmp(type, "run.paused"))
				status = "paused";
			else if (!strcmp(type, "run.resumed"))
				status = "running";
			if (!strcmp(type, "run.budget"))
				json_object_set_new(
				    out, "budget",
				    json_pack(
				        "{s:O, s:O, s:O}", "usage",
				        json_object_get(b, "usage"), "limits",
				        json_object_get(b, "limits"), "pct",
				        json_object_get(b, "pct")));
			if (!strcmp(type, "run.finished"))
				json_object_set(json_object_get(out, "budget"),
				                "usage",
				                json_object_get(b, "usage"));
		}
	}
	json_object_set_new(out, "status", json_string(status));
	json_object_set_new(out, "steps", steps);
	{
		json_t *arr = json_array(), *p;
		const char *k;

		json_object_foreach(props, k, p) json_array_append(arr, p);
		json_object_set_new(out, "proposals", arr);
	}
	json_decref(props);
	json_object_set_new(out, "events", events);
	json_object_set_new(out, "records",
	                    json_integer((json_int_t)json_array_size(recs)));
	json_object_set_new(out, "records_hash_checked",
	                    json_integer((json_int_t)checked));
	return out;
}

static void print_value(const char *label, const json_t *v)
{
	char *s;

	if (!v || json_is_null(v))
		return;
	s = compact(v);
	if (s && strlen(s) > 300)
		printf("        %-7s %.297s...\n", label, s);
	else if (s)
		printf("        %-7s %s\n", label, s);
	free(s);
}

static const json_t *find_proposal(const json_t *sum, const char *id)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(sum, "proposals"), i,
	                   p) if (!strcmp(str(p, "proposal"), id)) return p;
	return NULL;
}

static void print_gate(struct dk_cmd_ctx *ctx, const json_t *p)
{
	json_t *rule = json_object_get(p, "rule"), *req,
	       *apps = json_object_get(p, "approvals"), *a;
	size_t i, got = 0;

	req = json_object_get(p, "requires");
	printf("        gate    rule %s (%s)%s%s\n", str(rule, "name"),
	       str(rule, "decision"),
	       json_is_string(json_object_get(rule, "when")) ? " when " : "",
	       str(rule, "when"));
	printf("        proposal wrp://%s  %s%s%s  expires %s\n",
	       str(p, "proposal"), dk_color(ctx, "bold"), str(p, "state"),
	       dk_color(ctx, "reset"), str(p, "expires_at"));
	print_value("args", json_object_get(p, "args"));
	json_array_foreach(apps, i, a)
	{
		json_t *b = json_object_get(a, "body");
		printf("        %-7s %s by %s (%s) at %s, signature %s\n",
		       i ? "" : "votes", str(b, "decision"),
		       str(b, "principal"), str(b, "role"), str(a, "at"),
		       str(a, "signature"));
		if (!strcmp(str(b, "decision"), "approve"))
			got++;
	}
	if (json_is_object(req)) {
		int need =
		    (int)json_integer_value(json_object_get(req, "count"));
		printf("        needs   %d %s; received %zu%s\n", need,
		       str(req, "role"), got,
		       (int)got < need && !strcmp(str(p, "state"), "pending")
		           ? "; still missing"
		           : "");
	}
	json_array_foreach(json_object_get(p, "dispatches"), i, a)
	{
		json_t *b = json_object_get(a, "body");
		char *more = compact(json_object_get(b, "recorded"));
		printf("        %-7s %s attempt %lld %s\n", i ? "" : "dispatch",
		       str(a, "type") + 9,
		       (long long)json_integer_value(
		           json_object_get(b, "attempt")),
		       str(b, "outcome"));
		if (json_is_integer(json_object_get(b, "status")))
			printf("                HTTP %lld\n",
			       (long long)json_integer_value(
			           json_object_get(b, "status")));
		if (more && strcmp(more, "null"))
			printf("                %s\n", more);
		free(more);
	}
}

static void print_text(struct dk_cmd_ctx *ctx, const json_t *sum)
{
	const json_t *wf = json_object_get(sum, "workflow"), *s,
	             *b = json_object_get(sum, "budget");
	size_t i;

	printf("%sagent-run://%s%s  %s v%lld  workflow_hash %.16s...\n",
	       dk_color(ctx, "bold"), str(sum, "run"), dk_color(ctx, "reset"),
	       str(wf, "name"),
	       (long long)json_integer_value(json_object_get(wf, "version")),
	       str(wf, "hash"));
	printf("started %s by %s\n", str(sum, "started_at"),
	       str(sum, "started_by"));
	print_value("session", json_object_get(sum, "session"));
	print_value("input", json_object_get(sum, "input"));
	printf("\n");
	json_array_foreach(json_object_get(sum, "steps"), i, s)
	{
		const char *st = str(s, "status");
		const char *what = json_object_get(s, "capability")
		                       ? str(s, "capability")
		                       : str(s, "action");
		const char *col = !strcmp(st, "ok")         ? "green"
		                  : !strcmp(st, "skipped")  ? "dim"
		                  : !strcmp(st, "proposed") ? "yellow"
		                                            : "red";

		printf("  %-22s %-34s %s%-8s%s", str(s, "step"), what,
		       dk_color(ctx, col), st, dk_color(ctx, "reset"));
		if (json_is_integer(json_object_get(s, "duration_ms")))
			printf(" %5lld ms",
			       (long long)json_integer_value(
			           json_object_get(s, "duration_ms")));
		printf("\n");
		if (json_object_get(s, "evidence"))
			printf("        %-7s %s\n", "record",
			       str(s, "evidence"));
		if (!strcmp(st, "proposed")) {
			const json_t *p =
			    find_proposal(sum, str(s, "proposal"));
			if (p)
				print_gate(ctx, p);
			continue;
		}
		print_value("args", json_object_get(s, "args"));
		print_value("bound", json_object_get(s, "bound"));
		print_value("output", json_object_get(s, "output"));
		if (!strcmp(st, "skipped")) {
			char *wv = compact(json_object_get(s, "when_value"));
			const char *w = str(s, "when");
			size_t wl = strlen(w);

			/* a multi-line condition on one line */
			while (wl && (w[wl - 1] == '\n' || w[wl - 1] == ' '))
				wl--;
			printf("        %-7s ", "when");
			for (; wl; w++, wl--)
				putchar(*w == '\n' ? ' ' : *w);
			printf(" -> %s\n", wv ? wv : "null");
			free(wv);
		}
		if (json_object_get(s, "error"))
			printf("        %-7s %s\n", "error", str(s, "error"));
		print_value("stderr", json_object_get(s, "stderr"));
		if (json_object_get(s, "rule"))
			printf("        %-7s %s\n", "rule", str(s, "rule"));
	}
	printf("\n");
	json_array_foreach(json_object_get(sum, "events"), i, s)
	{
		const json_t *eb = json_object_get(s, "body");
		const char *t = str(s, "type");

		if (!strcmp(t, "run.budget"))
			printf("budget  %s at %lld%% after %s\n",
			       str(eb, "level"),
			       (long long)json_integer_value(
			           json_object_get(eb, "pct")),
			       str(eb, "after_step"));
		else if (!strcmp(t, "run.escalated"))
			printf("escalated after %s: %s (condition %s)%s%s\n",
			       str(eb, "after_step"), str(eb, "reason"),
			       str(eb, "condition"),
			       json_object_get(eb, "action") ? ", via " : "",
			       str(eb, "action"));
		else if (!strcmp(t, "run.resumed"))
			printf("resumed at %s from %s\n", str(s, "at"),
			       str(eb, "from_step"));
		else if (!strcmp(t, "run.paused"))
			printf("paused  at %s: wrp://%s waiting for %s\n",
			       str(eb, "step"), str(eb, "proposal"),
			       str(eb, "waiting"));
	}
	if (json_is_object(b)) {
		const json_t *u = json_object_get(b, "usage"),
		             *lim = json_object_get(b, "limits");
		printf("budget  input_tokens %lld/%lld  output_tokens "
		       "%lld/%lld  cost_cents %lld/%lld\n",
		       (long long)json_integer_value(
		           json_object_get(u, "input_tokens")),
		       (long long)json_integer_value(
		           json_object_get(lim, "input_tokens")),
		       (long long)json_integer_value(
		           json_object_get(u, "output_tokens")),
		       (long long)json_integer_value(
		           json_object_get(lim, "output_tokens")),
		       (long long)json_integer_value(
		           json_object_get(u, "cost_cents")),
		       (long long)json_integer_value(
		           json_object_get(lim, "cost_cents")));
	}
	printf("status  %s%s%s\n", dk_color(ctx, "bold"), str(sum, "status"),
	       dk_color(ctx, "reset"));
	printf("%lld records of this run; %lld records hash-checked against "
	       "the chain from the head\n",
	       (long long)json_integer_value(json_object_get(sum, "records")),
	       (long long)json_integer_value(
	           json_object_get(sum, "records_hash_checked")));
}

static void dot_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s == '\n' ? ' ' : *s);
	}
}

static void print_dot(const json_t *sum)
{
	const json_t *s;
	size_t i;

	printf("digraph run {\n  rankdir=TB;\n  node [shape=box, "
	       "fontname=\"monospace\"];\n");
	printf("  start [shape=oval, label=\"");
	dot_escape(str(sum, "run"));
	printf("\"];\n");
	json_array_foreach(json_object_get(sum, "steps"), i, s)
	{
		const char *st = str(s, "status");
		const char *what = json_object_get(s, "capability")
		                       ? str(s, "capability")
		                       : str(s, "action");

		printf("  s%zu [label=\"", i);
		dot_escape(str(s, "step"));
		printf("\\n");
		dot_escape(what);
		printf("\\n%s\", color=%s];\n", st,
		       !strcmp(st, "ok")         ? "darkgreen"
		       : !strcmp(st, "skipped")  ? "gray"
		       : !strcmp(st, "proposed") ? "orange"
		                                 : "red");
		if (i)
			printf("  s%zu -> s%zu;\n", i - 1, i);
		else
			printf("  start -> s0;\n");
	}
	printf("  end [shape=oval, label=\"%s\"];\n", str(sum, "status"));
	if (i)
		printf("  s%zu -> end;\n}\n", i - 1);
	else
		printf("  start -> end;\n}\n");
}

int cmd_explain(struct dk_cmd_ctx *ctx)
{
	const char *fmt = dk_opt_str(&ctx->opts, "format");
	const char *arg;
	struct dk_handle h;
	json_t *recs = NULL, *sum;
	size_t checked = 0;
	int rc;

	if (ctx->opts.argc != 1) {
		dk_cmd_errorf(ctx, "expected one RUN or HANDLE");
		return DK_EXIT_USAGE;
	}
	if (!fmt)
		fmt = ctx->json ? "json" : "text";
	if (strcmp(fmt, "text") && strcmp(fmt, "json") && strcmp(fmt, "dot")) {
		dk_cmd_errorf(ctx, "--format must be text, json or dot");
		return DK_EXIT_USAGE;
	}
	arg = ctx->opts.argv[0];
	if (!strncmp(arg, "run-", 4)) {
		h.kind = DK_HANDLE_RUN;
		snprintf(h.id, sizeof(h.id), "%s", arg);
		if (!dk_id_valid(h.id)) {
			dk_cmd_errorf(ctx, "'%s' is not a valid run id", arg);
			return DK_EXIT_INVALID;
		}
	} else if ((rc = dk_handle_parse(&h, arg)) < 0) {
		return dk_cmd_error(ctx, rc);
	}
	if (h.kind != DK_HANDLE_RUN) {
		/* a record or proposal: explain the run it belongs to */
		struct dk_record *r = NULL;

		if (h.kind == DK_HANDLE_SEQ)
			rc = dk_ledger_read(&r, ctx->ledger, h.seq);
		else if (h.kind == DK_HANDLE_HASH)
			rc = dk_ledger_find_hash(&r, ctx->ledger, h.id);
		else
			rc =
			    dk_run_of_proposal(h.id, sizeof(h.id), ctx->ledger);
		if (rc < 0)
			return dk_cmd_error(ctx, rc);
		if (r) {
			const char *run =
			    json_string_value(json_object_get(r->body, "run"));
			if (!run) {
				dk_cmd_errorf(ctx,
				              "record %llu belongs to no "
				              "run; see 'docket show'",
				              (unsigned long long)r->seq);
				dk_record_free(r);
				return DK_EXIT_NOTFOUND;
			}
			snprintf(h.id, sizeof(h.id), "%s", run);
			dk_record_free(r);
		}
	}
	if ((rc = dk_run_records(&recs, &checked, ctx->ledger, h.id)) < 0)
		return dk_cmd_error(ctx, rc);
	sum = summarize(ctx->ledger, recs, checked);
	if (!strcmp(fmt, "json"))
		dk_print_json(sum, 0);
	else if (!strcmp(fmt, "dot"))
		print_dot(sum);
	else
		print_text(ctx, sum);
	json_decref(sum);
	json_decref(recs);
	return 0;
}
