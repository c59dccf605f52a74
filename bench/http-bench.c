/*
 * http-bench: bare HTTP round trips per second through lib/http against
 * the fake provider (bench/http.sh starts one). Printed, not asserted.
 *
 *   http-bench URL [N]
 *
 * URL is the provider's base (http://127.0.0.1:PORT). Three runs of N
 * requests each: GET /v1/ping over one kept-alive client; the same with a
 * new connection per request; POST /v1/refunds with a fresh
 * Idempotency-Key per request (one side effect each) over one client; and
 * the same POSTs through dk_http_send_all with 1, 4 and 16 in flight.
 */
#include "error.h"
#include "http.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(const char *label, const char *base, const char *path, int post,
               int reuse, long n)
{
	struct dk_http_client *client = NULL;
	char url[512], key[64], keyhdr[96];
	const char *headers[3] = { "Content-Type: application/json", keyhdr,
		                   NULL };
	const char *body = "{\"amount\":100,\"charge\":\"ch_bench\"}";
	double t0, ms, worst = 0;
	long i, reused = 0;

	snprintf(url, sizeof(url), "%s%s", base, path);
	if (reuse && dk_http_client_new(&client) < 0)
		return -1;
	t0 = dk_mono_ms();
	for (i = 0; i < n; i++) {
		struct dk_http_request req = DK_HTTP_REQUEST_INIT;
		struct dk_http_response resp;
		int rc;

		req.url = url;
		req.allow_plain_local = 1;
		if (post) {
			unsigned char r[8];
			dk_random(r, sizeof(r));
			dk_hex(key, r, sizeof(r));
			key[16] = '\0';
			snprintf(keyhdr, sizeof(keyhdr), "Idempotency-Key: %s",
			         key);
			req.method = "POST";
			req.headers = headers;
			req.body = body;
			req.body_len = strlen(body);
		}
		rc = dk_http_send(&resp, client, &req);
		if (rc < 0 || dk_http_classify(rc, &resp) != DK_HTTP_SUCCESS) {
			fprintf(stderr, "http-bench: %s: request %ld: %s\n",
			        label, i,
			        rc < 0 ? dk_error_last() : "not a success");
			dk_http_response_dispose(&resp);
			dk_http_client_free(client);
			return -1;
		}
		if (resp.total_ms > worst)
			worst = resp.total_ms;
		reused += resp.reused;
		dk_http_response_dispose(&resp);
	}
	ms = dk_mono_ms() - t0;
	printf("%-34s %6ld requests  %8.0f req/s  %7.3f ms/req  max %7.3f ms"
	       "  reused %ld\n",
	       label, n, n / (ms / 1000.0), ms / n, worst, reused);
	dk_http_client_free(client);
	return 0;
}

/* n keyed POSTs through dk_http_send_all, `inflight` at a time. */
static int run_many(const char *base, long n, size_t inflight)
{
	static const char body[] = "{\"amount\":100,\"charge\":\"ch_bench\"}";
	struct dk_http_request *reqs = calloc((size_t)n, sizeof(*reqs));
	struct dk_http_job *jobs = calloc((size_t)n, sizeof(*jobs));
	char(*keys)[64] = calloc((size_t)n, sizeof(*keys));
	const char *(*hdrs)[3] = calloc((size_t)n, sizeof(*hdrs));
	struct dk_http_retry pol = DK_HTTP_RETRY_INIT;
	char url[512], label[64];
	double t0, ms;
	long i, ok = 0;
	int rc = -1;

	if (!reqs || !jobs || !keys || !hdrs)
		goto done;
	snprintf(url, sizeof(url), "%s/v1/refunds", base);
	for (i = 0; i < n; i++) {
		unsigned char r[8];
		char hex[17];
		dk_random(r, sizeof(r));
		dk_hex(hex, r, sizeof(r));
		hex[16] = '\0';
		snprintf(keys[i], sizeof(keys[i]), "Idempotency-Key: %s", hex);
		hdrs[i][0] = "Content-Type: application/json";
		hdrs[i][1] = keys[i];
		hdrs[i][2] = NULL;
		reqs[i].method = "POST";
		reqs[i].url = url;
		reqs[i].allow_plain_local = 1;
		reqs[i].headers = hdrs[i];
		reqs[i].body = body;
		reqs[i].body_len = sizeof(body) - 1;
		jobs[i].req = &reqs[i];
	}
	t0 = dk_mono_ms();
	if (dk_http_send_all(jobs, (size_t)n, inflight, &pol, NULL) < 0) {
		fprintf(stderr, "http-bench: %s\n", dk_error_last());
		goto done;
	}
	ms = dk_mono_ms() - t0;
	for (i = 0; i < n; i++)
		ok += jobs[i].verdict == DK_HTTP_SUCCESS;
	snprintf(label, sizeof(label), "POST + key, send_all, %zu in flight",
	         inflight);
	printf("%-34s %6ld requests  %8.0f req/s  %7.3f ms/req  ok %ld\n",
	       label, n, n / (ms / 1000.0), ms / n, ok);
	rc = ok == n ? 0 : -1;
done:
	for (i = 0; jobs && i < n; i++)
		dk_http_job_dispose(&jobs[i]);
	free(hdrs);
	free(keys);
	free(jobs);
	free(reqs);
	return rc;
}

int main(int argc, char **argv)
{
	long n = 500;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: http-bench URL [N]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;
		n = strtol(argv[2], &end, 10);
		if (*end || n <= 0) {
			fprintf(stderr, "http-bench: bad count '%s'\n",
			        argv[2]);
			return 2;
		}
	}
	printf("# lib/http round trips against the fake provider at %s\n",
	       argv[1]);
	if (run("GET /v1/ping, kept-alive", argv[1], "/v1/ping", 0, 1, n) ||
	    run("GET /v1/ping, new connection", argv[1], "/v1/ping", 0, 0, n) ||
	    run("POST /v1/refunds + key, kept-alive", argv[1], "/v1/refunds", 1,
	        1, n) ||
	    run_many(argv[1], n, 1) || run_many(argv[1], n, 4) ||
	    run_many(argv[1], n, 16))
		return 1;
	return 0;
}
