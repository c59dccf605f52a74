/*
 * http-tool: a small command line over lib/http for the tests.
 *
 *   http-tool [options] METHOD URL
 *
 * It sends one request (or retries it under a policy) and prints what the
 * library returned, untouched, so that tests see exactly what a caller of
 * lib/http sees: nothing here redacts anything itself.
 *
 * stdout: key=value lines (status, verdict, neterr, attempts, replayed,
 * retry-after-ms, content-type, header:NAME for each --show-header), then
 * "body:" and the body. stderr: one line per attempt, and the library's
 * error message on failure.
 *
 * Each attempt uses a new connection unless --reuse keeps one client (and
 * its connections) for all attempts.
 *
 * Exit: 0 success, 3 provider refused (final 4xx), 4 idempotency error,
 * 5 retries given up, 6 failed for good (TLS, policy, redirect, too large),
 * 2 usage, 1 anything else.
 */
#include "error.h"
#include "http.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LIST 64

static const char usage[] =
    "usage: http-tool [--allow-plain-local] [--check-url] [--ca-file FILE]\n"
    "                 [--connect-timeout MS] [--timeout MS] [--max-body N]\n"
    "                 [-H 'Name: value']... [-d BODY | --data-file FILE]\n"
    "                 [-k KEY] [--secret NAME]... [--show-header NAME]...\n"
    "                 [--retry N] [--base-ms MS] [--cap-ms MS]\n"
    "                 [--deadline-ms MS] [--retry-after-max-ms MS] [--reuse]\n"
    "                 [--count N [--parallel K]]\n"
    "                 METHOD URL\n"
    "  ${NAME} in the URL, headers and body expands to the environment\n"
    "  variable NAME given with --secret, which is then redacted.\n";

struct opts {
	const char *secret_names[MAX_LIST];
	const char *secrets[MAX_LIST + 1];
	size_t nsecrets;
	const char *show[MAX_LIST];
	size_t nshow;
};

/* Expand ${NAME} for the secret names; malloc'd. */
static char *expand(const char *in, const struct opts *o, size_t *len_out)
{
	size_t cap = strlen(in) + 1, len = 0;
	char *out = malloc(cap);
	const char *p = in;

	if (!out)
		return NULL;
	while (*p) {
		const char *val = NULL;
		size_t skip = 1, k, n;
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p, '}');
			for (k = 0; end && k < o->nsecrets; k++) {
				n = strlen(o->secret_names[k]);
				if ((size_t)(end - p - 2) == n &&
				    !strncmp(p + 2, o->secret_names[k], n)) {
					val = o->secrets[k];
					skip = n + 3;
				}
			}
		}
		n = val ? strlen(val) : 1;
		if (len + n + 1 > cap) {
			char *t;
			cap = (len + n + 1) * 2;
			t = realloc(out, cap);
			if (!t) {
				free(out);
				return NULL;
			}
			out = t;
		}
		memcpy(out + len, val ? val : p, n);
		len += n;
		p += skip;
	}
	out[len] = '\0';
	if (len_out)
		*len_out = len;
	return out;
}

static void on_after(void *ctx, unsigned attempt, int rc,
                     const struct dk_http_response *resp,
                     enum dk_http_verdict v, long delay_ms)
{
	fprintf(stderr, "attempt %u: status %ld verdict %s neterr %s", attempt,
	        resp->status, dk_http_verdict_name(v),
	        dk_http_neterr_name(resp->neterr));
	if (rc < 0)
		fprintf(stderr, " error %s", dk_error_last());
	if (resp->replayed)
		fprintf(stderr, " replayed");
	if (delay_ms >= 0)
		fprintf(stderr, " wait %ld ms", delay_ms);
	fputc('\n', stderr);
}

static void on_after_job(void *ctx, size_t job, unsigned attempt, int rc,
                         const struct dk_http_response *resp,
                         enum dk_http_verdict v, long delay_ms)
{
	fprintf(stderr, "job %zu ", job + 1);
	on_after(ctx, attempt, rc, resp, v, delay_ms);
}

/*
 * --count N [--parallel K]: N copies of the request at once (K in
 * flight), job i with Idempotency-Key KEY-i; one line per job on stdout.
 */
static int run_many(const struct dk_http_request *base, size_t nheaders,
                    const char *key, long count, long parallel,
                    const struct dk_http_retry *pol)
{
	struct dk_http_multi_observer obs = { NULL, on_after_job, NULL };
	struct dk_http_request *reqs = calloc((size_t)count, sizeof(*reqs));
	struct dk_http_job *jobs = calloc((size_t)count, sizeof(*jobs));
	const char **hdrs =
	    calloc((size_t)count * (nheaders + 2), sizeof(char *));
	char **keys = calloc((size_t)count, sizeof(char *));
	long i, ok = 0;
	int ret = 1;

	if (!key) {
		fprintf(stderr, "http-tool: --count needs -k KEY\n");
		goto done;
	}
	if (!reqs || !jobs || !hdrs || !keys)
		goto done;
	for (i = 0; i < count; i++) {
		const char **h = hdrs + (size_t)i * (nheaders + 2);
		size_t k, m = 0, n = strlen(key) + 40;
		/* The job's own key replaces the one -k added. */
		for (k = 0; k < nheaders; k++)
			if (strncasecmp(base->headers[k],
			                "Idempotency-Key:", 16))
				h[m++] = base->headers[k];
		if (!(keys[i] = malloc(n)))
			goto done;
		snprintf(keys[i], n, "Idempotency-Key: %s-%ld", key, i + 1);
		h[m] = keys[i];
		reqs[i] = *base;
		reqs[i].headers = h;
		jobs[i].req = &reqs[i];
	}
	if (dk_http_send_all(jobs, (size_t)count, (size_t)parallel, pol, &obs) <
	    0) {
		fprintf(stderr, "http-tool: %s\n", dk_error_last());
		goto done;
	}
	for (i = 0; i < count; i++) {
		printf("job %ld: status=%ld verdict=%s attempts=%u "
		       "replayed=%d\n",
		       i + 1, jobs[i].resp.status,
		       dk_http_verdict_name(jobs[i].verdict), jobs[i].attempts,
		       jobs[i].resp.replayed);
		if (jobs[i].error)
			fprintf(stderr, "http-tool: job %ld: %s\n", i + 1,
			        jobs[i].error);
		ok += jobs[i].verdict == DK_HTTP_SUCCESS;
	}
	printf("success=%ld of %ld\n", ok, count);
	ret = ok == count ? 0 : 5;
done:
	for (i = 0; jobs && i < count; i++)
		dk_http_job_dispose(&jobs[i]);
	for (i = 0; keys && i < count; i++)
		free(keys[i]);
	free(keys);
	free(hdrs);
	free(jobs);
	free(reqs);
	return ret;
}

static long num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0) {
		fprintf(stderr, "http-tool: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum {
		O_PLAIN = 256,
		O_CHECK,
		O_CA,
		O_CTO,
		O_TO,
		O_MAXB,
		O_DFILE,
		O_SECRET,
		O_SHOW,
		O_RETRY,
		O_BASE,
		O_CAP,
		O_DEADLINE,
		O_RAMAX,
		O_REUSE,
		O_COUNT,
		O_PARALLEL,
	};
	static const struct option longopts[] = {
		{ "allow-plain-local", no_argument, NULL, O_PLAIN },
		{ "check-url", no_argument, NULL, O_CHECK },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "connect-timeout", required_argument, NULL, O_CTO },
		{ "timeout", required_argument, NULL, O_TO },
		{ "max-body", required_argument, NULL, O_MAXB },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "data-file", required_argument, NULL, O_DFILE },
		{ "key", required_argument, NULL, 'k' },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "show-header", required_argument, NULL, O_SHOW },
		{ "retry", required_argument, NULL, O_RETRY },
		{ "base-ms", required_argument, NULL, O_BASE },
		{ "cap-ms", required_argument, NULL, O_CAP },
		{ "deadline-ms", required_argument, NULL, O_DEADLINE },
		{ "retry-after-max-ms", required_argument, NULL, O_RAMAX },
		{ "reuse", no_argument, NULL, O_REUSE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "parallel", required_argument, NULL, O_PARALLEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	struct dk_http_retry pol = DK_HTTP_RETRY_INIT;
	struct dk_http_observer obs = { NULL, on_after, NULL };
	struct dk_http_response resp;
	struct dk_http_client *client = NULL;
	enum dk_http_verdict v;
	const char *raw_headers[MAX_LIST];
	char *headers[MAX_LIST + 2] = { 0 };
	char *body = NULL, *url = NULL, *keyhdr = NULL;
	const char *raw_body = NULL, *data_file = NULL, *key = NULL;
	size_t nheaders = 0, i;
	unsigned attempts = 0;
	int c, check_only = 0, reuse = 0, ret = 1;
	long count = 0, parallel = 1;

	pol.max_attempts = 1;
	while ((c = getopt_long(argc, argv, "H:d:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_PLAIN:
			req.allow_plain_local = 1;
			break;
		case O_CHECK:
			check_only = 1;
			break;
		case O_CA:
			req.ca_file = optarg;
			break;
		case O_CTO:
			req.connect_timeout_ms = num(optarg, "timeout");
			break;
		case O_TO:
			req.timeout_ms = num(optarg, "timeout");
			break;
		case O_MAXB:
			req.max_body = (size_t)num(optarg, "size");
			break;
		case 'H':
			if (nheaders == MAX_LIST)
				return 2;
			raw_headers[nheaders++] = optarg;
			break;
		case 'd':
			raw_body = optarg;
			break;
		case O_DFILE:
			data_file = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case O_SECRET:
			if (o.nsecrets == MAX_LIST)
				return 2;
			o.secret_names[o.nsecrets] = optarg;
			o.secrets[o.nsecrets] = getenv(optarg);
			if (!o.secrets[o.nsecrets]) {
				fprintf(stderr,
				        "http-tool: secret %s is not "
				        "set\n",
				        optarg);
				return 2;
			}
			o.nsecrets++;
			break;
		case O_SHOW:
			if (o.nshow == MAX_LIST)
				return 2;
			o.show[o.nshow++] = optarg;
			break;
		case O_RETRY:
			pol.max_attempts = (unsigned)num(optarg, "count");
			break;
		case O_BASE:
			pol.base_ms = num(optarg, "time");
			break;
		case O_CAP:
			pol.cap_ms = num(optarg, "time");
			break;
		case O_DEADLINE:
			pol.deadline_ms = num(optarg, "time");
			break;
		case O_RAMAX:
			pol.retry_after_max_ms = num(optarg, "time");
			break;
		case O_REUSE:
			reuse = 1;
			break;
		case O_COUNT:
			count = num(optarg, "count");
			break;
		case O_PARALLEL:
			parallel = num(optarg, "count");
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	req.secrets = o.secrets;
	req.method = argv[optind];
	url = expand(argv[optind + 1], &o, NULL);
	if (!url)
		goto done;
	req.url = url;
	if (check_only) {
		if (dk_http_check_url(url, req.allow_plain_local, o.secrets) <
		    0) {
			fprintf(stderr, "http-tool: %s\n", dk_error_last());
			ret = 6;
		} else {
			puts("url=ok");
			ret = 0;
		}
		goto done;
	}
	for (i = 0; i < nheaders; i++)
		if (!(headers[i] = expand(raw_headers[i], &o, NULL)))
			goto done;
	if (key) {
		size_t n = strlen(key) + 20;
		if (!(keyhdr = malloc(n)))
			goto done;
		snprintf(keyhdr, n, "Idempotency-Key: %s", key);
		headers[nheaders++] = keyhdr;
		keyhdr = NULL;
	}
	req.headers = (const char *const *)headers;
	if (data_file) {
		char *raw = NULL;
		size_t n;
		if (dk_read_file(&raw, &n, data_file, 16 << 20) < 0) {
			fprintf(stderr, "http-tool: %s\n", dk_error_last());
			goto done;
		}
		body = expand(raw, &o, &req.body_len);
		free(raw);
		if (!body)
			goto done;
	} else if (raw_body) {
		if (!(body = expand(raw_body, &o, &req.body_len)))
			goto done;
	}
	req.body = body;
	if (count > 0) {
		ret = run_many(&req, nheaders, key, count, parallel, &pol);
		goto done;
	}
	if (reuse && dk_http_client_new(&client) < 0) {
		fprintf(stderr, "http-tool: %s\n", dk_error_last());
		goto done;
	}
	dk_http_send_retry(&resp, &v, &attempts, client, &req, &pol, &obs);
	printf("status=%ld\nverdict=%s\nneterr=%s\nattempts=%u\nreplayed=%d\n"
	       "retry-after-ms=%ld\ncontent-type=%s\n",
	       resp.status, dk_http_verdict_name(v),
	       dk_http_neterr_name(resp.neterr), attempts, resp.replayed,
	       resp.retry_after_ms, resp.content_type ? resp.content_type : "");
	for (i = 0; i < o.nshow; i++) {
		char *h = dk_http_response_header(&resp, o.show[i]);
		printf("header:%s=%s\n", o.show[i], h ? h : "");
		free(h);
	}
	printf("headers:\n%sbody:\n", resp.headers ? resp.headers : "");
	if (resp.body)
		fwrite(resp.body, 1, resp.body_len, stdout);
	if (v == DK_HTTP_RETRY || (v != DK_HTTP_SUCCESS && !resp.status))
		fprintf(stderr, "http-tool: %s\n", dk_error_last());
	else if (v != DK_HTTP_SUCCESS)
		fprintf(stderr, "http-tool: %s: status %ld\n",
		        dk_http_verdict_name(v), resp.status);
	switch (v) {
	case DK_HTTP_SUCCESS:
		ret = 0;
		break;
	case DK_HTTP_REFUSED:
		ret = 3;
		break;
	case DK_HTTP_IDEMPOTENCY:
		ret = 4;
		break;
	case DK_HTTP_RETRY:
		ret = 5;
		break;
	case DK_HTTP_FAILED:
		ret = 6;
		break;
	}
	dk_http_response_dispose(&resp);
done:
	dk_http_client_free(client);
	for (i = 0; headers[i]; i++)
		free(headers[i]);
	free(keyhdr);
	free(body);
	free(url);
	return ret;
}
