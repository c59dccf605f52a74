/* Unit tests for lib/http: redaction, URL rules, classification, backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_redact(const char *in, const char *const *secrets,
                         const char *want)
{
	char *out = NULL;
	size_t n = 0;

	assert_int_equal(dk_redact(&out, &n, in, strlen(in), secrets), 0);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	free(out);
}

static void test_http_redact__every_occurrence(void **state)
{
	const char *s[] = { "sk_live_abc", NULL };

	check_redact("a sk_live_abc b sk_live_abcsk_live_abc", s,
	             "a [REDACTED] b [REDACTED][REDACTED]");
	check_redact("sk_live_abc", s, "[REDACTED]");
	check_redact("nothing here", s, "nothing here");
	check_redact("", s, "");
	check_redact("sk_live_ab", s, "sk_live_ab");
}

static void test_http_redact__longest_match_wins(void **state)
{
	const char *s[] = { "abc", "abcdef", NULL };

	check_redact("xabcdefx abcx", s, "x[REDACTED]x [REDACTED]x");
}

static void test_http_redact__empty_and_no_secrets(void **state)
{
	const char *s[] = { "", NULL };

	check_redact("keep me", s, "keep me");
	check_redact("keep me", NULL, "keep me");
}

static void test_http_redact__short_secret_grows_buffer(void **state)
{
	const char *s[] = { "x", NULL };

	check_redact("xxxx", s, "[REDACTED][REDACTED][REDACTED][REDACTED]");
}

static void test_http_redact__encoded_forms(void **state)
{
	const char *s[] = { "p@ss/w\"rd", NULL };

	/* JSON-escaped, with and without an escaped slash. */
	check_redact("{\"k\":\"p@ss/w\\\"rd\"}", s, "{\"k\":\"[REDACTED]\"}");
	check_redact("{\"k\":\"p@ss\\/w\\\"rd\"}", s, "{\"k\":\"[REDACTED]\"}");
	/* Percent-encoded, either case of hex digits. */
	check_redact("?k=p%40ss%2Fw%22rd&", s, "?k=[REDACTED]&");
	check_redact("?k=p%40ss%2fw%22rd&", s, "?k=[REDACTED]&");
}

static void test_http_redact__binary_safe(void **state)
{
	const char *s[] = { "key", NULL };
	const char in[] = { 'a', 0, 'k', 'e', 'y', 0, 'b' };
	char *out = NULL;
	size_t n = 0;

	assert_int_equal(dk_redact(&out, &n, in, sizeof(in), s), 0);
	assert_int_equal(n, 2 + 10 + 2);
	assert_memory_equal(out, "a\0[REDACTED]\0b", n);
	free(out);
}

static void test_http_redact__inplace_truncates(void **state)
{
	const char *s[] = { "secret", NULL };
	char buf[16] = "a secret b";

	dk_redact_inplace(buf, sizeof(buf), s);
	assert_string_equal(buf, "a [REDACTED] b");
	snprintf(buf, sizeof(buf), "%s", "secretsecret");
	dk_redact_inplace(buf, 12, s);
	assert_string_equal(buf, "[REDACTED]["); /* cut, never the secret */
}

static void test_http_check_url__rules(void **state)
{
	assert_int_equal(
	    dk_http_check_url("https://api.example.com/v1", 0, NULL), 0);
	assert_int_equal(dk_http_check_url("http://api.example.com/", 0, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("http://api.example.com/", 1, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("http://127.0.0.1:9/", 0, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("http://127.0.0.1:9/", 1, NULL), 0);
	assert_int_equal(dk_http_check_url("http://127.255.0.9/", 1, NULL), 0);
	assert_int_equal(dk_http_check_url("http://[::1]:9/", 1, NULL), 0);
	assert_int_equal(dk_http_check_url("http://localhost/", 1, NULL), 0);
	assert_int_equal(dk_http_check_url("http://[::2]/", 1, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("http://128.0.0.1/", 1, NULL),
	                 DK_EREFUSED);
	assert_int_equal(
	    dk_http_check_url("http://localhost.evil.com/", 1, NULL),
	    DK_EREFUSED);
	assert_int_equal(dk_http_check_url("ftp://127.0.0.1/", 1, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("https://u:p@example.com/", 0, NULL),
	                 DK_EREFUSED);
	assert_int_equal(dk_http_check_url("", 0, NULL), DK_EINVALID);
	assert_int_equal(dk_http_check_url(NULL, 0, NULL), DK_EINVALID);
}

static void test_http_check_url__message_redacted(void **state)
{
	const char *s[] = { "tok123", NULL };

	assert_int_equal(
	    dk_http_check_url("http://example.com/?t=tok123", 0, s),
	    DK_EREFUSED);
	assert_null(strstr(dk_error_last(), "tok123"));
	assert_non_null(strstr(dk_error_last(), "t=[REDACTED]"));
}

static struct dk_http_response resp_of(long status, const char *body)
{
	struct dk_http_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = (char *)body;
	r.body_len = body ? strlen(body) : 0;
	r.retry_after_ms = -1;
	return r;
}

static void test_http_classify__statuses(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum dk_http_verdict want;
	} cases[] = {
		{ 200, NULL, DK_HTTP_SUCCESS },
		{ 201, NULL, DK_HTTP_SUCCESS },
		{ 202, NULL, DK_HTTP_SUCCESS },
		{ 204, NULL, DK_HTTP_SUCCESS },
		{ 301, NULL, DK_HTTP_FAILED },
		{ 302, NULL, DK_HTTP_FAILED },
		{ 304, NULL, DK_HTTP_FAILED },
		{ 400, "{\"error\":{\"type\":\"invalid_request_error\"}}",
		  DK_HTTP_REFUSED },
		{ 400, "{\"error\":{\"type\":\"idempotency_error\"}}",
		  DK_HTTP_IDEMPOTENCY },
		{ 422, "{\"error\":{\"code\":\"idempotency_key_reused\"}}",
		  DK_HTTP_IDEMPOTENCY },
		{ 422, "{\"type\":\"IdempotencyError\"}", DK_HTTP_IDEMPOTENCY },
		{ 422, "not json idempotency", DK_HTTP_REFUSED },
		{ 401, NULL, DK_HTTP_REFUSED },
		{ 402, NULL, DK_HTTP_REFUSED },
		{ 403, NULL, DK_HTTP_REFUSED },
		{ 404, "{\"error\":{\"type\":\"idempotency_error\"}}",
		  DK_HTTP_REFUSED },
		{ 408, NULL, DK_HTTP_RETRY },
		{ 409, "{\"error\":{\"type\":\"idempotency_error\"}}",
		  DK_HTTP_RETRY },
		{ 429, NULL, DK_HTTP_RETRY },
		{ 500, NULL, DK_HTTP_RETRY },
		{ 502, NULL, DK_HTTP_RETRY },
		{ 503, NULL, DK_HTTP_RETRY },
		{ 599, NULL, DK_HTTP_RETRY },
		{ 100, NULL, DK_HTTP_FAILED },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dk_http_response r =
		    resp_of(cases[i].status, cases[i].body);
		if (dk_http_classify(0, &r) != cases[i].want)
			fail_msg("status %ld body %s: got %s", cases[i].status,
			         cases[i].body ? cases[i].body : "-",
			         dk_http_verdict_name(dk_http_classify(0, &r)));
	}
}

static void test_http_classify__network(void **state)
{
	static const struct {
		enum dk_http_neterr e;
		enum dk_http_verdict want;
	} cases[] = {
		{ DK_HTTP_NET_RESOLVE, DK_HTTP_RETRY },
		{ DK_HTTP_NET_CONNECT, DK_HTTP_RETRY },
		{ DK_HTTP_NET_TIMEOUT, DK_HTTP_RETRY },
		{ DK_HTTP_NET_IO, DK_HTTP_RETRY },
		{ DK_HTTP_NET_TLS, DK_HTTP_FAILED },
		{ DK_HTTP_NET_POLICY, DK_HTTP_FAILED },
		{ DK_HTTP_NET_TOO_LARGE, DK_HTTP_FAILED },
		{ DK_HTTP_NET_OTHER, DK_HTTP_FAILED },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dk_http_response r = resp_of(0, NULL);
		r.neterr = cases[i].e;
		assert_int_equal(dk_http_classify(DK_EIO, &r), cases[i].want);
	}
	assert_int_equal(dk_http_classify(DK_EIO, NULL), DK_HTTP_FAILED);
}

static void test_http_backoff__bounds(void **state)
{
	struct dk_http_retry p = DK_HTTP_RETRY_INIT;
	unsigned a;

	p.base_ms = 100;
	p.cap_ms = 1000;
	/* Equal jitter: within [step/2, step), step doubling up to cap. */
	assert_int_equal(dk_http_backoff_ms(&p, 1, 0.0), 50);
	assert_in_range(dk_http_backoff_ms(&p, 1, 0.999), 99, 100);
	assert_int_equal(dk_http_backoff_ms(&p, 2, 0.0), 100);
	assert_int_equal(dk_http_backoff_ms(&p, 3, 0.0), 200);
	assert_int_equal(dk_http_backoff_ms(&p, 4, 0.0), 400);
	for (a = 5; a < 200; a += 7) {
		assert_in_range(dk_http_backoff_ms(&p, a, 0.0), 500, 500);
		assert_in_range(dk_http_backoff_ms(&p, a, 0.5), 500, 1000);
	}
}

static void test_http_retry_next__limits(void **state)
{
	struct dk_http_retry p = DK_HTTP_RETRY_INIT;
	long d = 0;

	p.max_attempts = 3;
	p.base_ms = 100;
	p.cap_ms = 1000;
	p.deadline_ms = 5000;
	p.retry_after_max_ms = 3000;
	assert_int_equal(dk_http_retry_next(&d, &p, 1, 0, -1), 1);
	assert_in_range(d, 50, 100);
	assert_int_equal(dk_http_retry_next(&d, &p, 2, 0, -1), 1);
	assert_in_range(d, 100, 200);
	/* Attempts used up. */
	assert_int_equal(dk_http_retry_next(&d, &p, 3, 0, -1), 0);
	assert_int_equal(d, -1);
	/* Retry-After is a floor. */
	assert_int_equal(dk_http_retry_next(&d, &p, 1, 0, 2000), 1);
	assert_int_equal(d, 2000);
	/* Retry-After too long, or past the deadline: give up. */
	assert_int_equal(dk_http_retry_next(&d, &p, 1, 0, 3001), 0);
	assert_int_equal(dk_http_retry_next(&d, &p, 1, 4000, 2000), 0);
	assert_int_equal(dk_http_retry_next(&d, &p, 1, 4990, -1), 0);
}

static void test_http_send__refused_before_anything(void **state)
{
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	struct dk_http_response r;

	req.url = "http://example.invalid/";
	req.allow_plain_local = 1;
	assert_int_equal(dk_http_send(&r, NULL, &req), DK_EREFUSED);
	assert_int_equal(r.neterr, DK_HTTP_NET_POLICY);
	assert_int_equal(r.status, 0);
	assert_int_equal(dk_http_classify(DK_EREFUSED, &r), DK_HTTP_FAILED);
	dk_http_response_dispose(&r);
	dk_http_response_dispose(NULL);
	dk_http_client_free(NULL);
}

static void test_http_send__bad_arguments(void **state)
{
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	const char *h[] = { "X-Bad\r\nInjected: 1", NULL };
	struct dk_http_response r;

	assert_int_equal(dk_http_send(&r, NULL, &req), DK_EINVALID);
	dk_http_response_dispose(&r);
	req.url = "https://127.0.0.1:1/";
	req.headers = h;
	assert_int_equal(dk_http_send(&r, NULL, &req), DK_EINVALID);
	dk_http_response_dispose(&r);
	req.headers = NULL;
	req.method = "post";
	assert_int_equal(dk_http_send(&r, NULL, &req), DK_EINVALID);
	dk_http_response_dispose(&r);
	req.method = "POST";
	req.max_body = (size_t)DK_HTTP_MAX_BODY_LIMIT + 1;
	assert_int_equal(dk_http_send(&r, NULL, &req), DK_EINVALID);
	dk_http_response_dispose(&r);
}

static void test_http_response_header__lookup(void **state)
{
	struct dk_http_response r = resp_of(200, NULL);
	char *v;

	r.headers = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	            "retry-after:  7 \r\nX-Empty:\r\n\r\n";
	v = dk_http_response_header(&r, "content-type");
	assert_string_equal(v, "application/json");
	free(v);
	v = dk_http_response_header(&r, "Retry-After");
	assert_string_equal(v, "7");
	free(v);
	v = dk_http_response_header(&r, "X-Empty");
	assert_string_equal(v, "");
	free(v);
	assert_null(dk_http_response_header(&r, "Content"));
	assert_null(dk_http_response_header(&r, "Missing"));
}

static int stop_job0(void *ctx, size_t job, unsigned attempt)
{
	int *calls = ctx;

	(*calls)++;
	return job == 0 ? 7 : 0;
}

static void test_http_send_all__stop_and_refuse(void **state)
{
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	struct dk_http_multi_observer obs = { stop_job0, NULL, NULL };
	struct dk_http_job jobs[3];
	struct dk_http_retry pol = DK_HTTP_RETRY_INIT;
	int calls = 0;

	obs.ctx = &calls;
	memset(jobs, 0, sizeof(jobs));
	req.url = "http://example.invalid/";
	jobs[0].req = jobs[1].req = jobs[2].req = &req;
	assert_int_equal(dk_http_send_all(jobs, 3, 2, &pol, &obs), 0);
	assert_int_equal(calls, 3);
	assert_int_equal(jobs[0].stopped, 7);
	assert_int_equal(jobs[0].attempts, 0);
	assert_null(jobs[0].error);
	assert_int_equal(jobs[1].verdict, DK_HTTP_FAILED);
	assert_int_equal(jobs[1].attempts, 1);
	assert_int_equal(jobs[1].resp.neterr, DK_HTTP_NET_POLICY);
	assert_non_null(strstr(jobs[1].error, "only https"));
	assert_int_equal(jobs[2].verdict, DK_HTTP_FAILED);
	dk_http_job_dispose(&jobs[0]);
	dk_http_job_dispose(&jobs[1]);
	dk_http_job_dispose(&jobs[2]);
	dk_http_job_dispose(NULL);
	assert_int_equal(dk_http_send_all(NULL, 0, 4, NULL, NULL), 0);
}

static int stop_always(void *ctx, unsigned attempt)
{
	return 9;
}

static void test_http_send_retry__before_stops(void **state)
{
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	struct dk_http_observer obs = { stop_always, NULL, NULL };
	struct dk_http_response r;
	enum dk_http_verdict v;
	unsigned n = 5;

	req.url = "https://127.0.0.1:1/";
	assert_int_equal(dk_http_send_retry(&r, &v, &n, NULL, &req, NULL, &obs),
	                 9);
	assert_int_equal(n, 0);
	dk_http_response_dispose(&r);
}

static void test_http_request_format__masked(void **state)
{
	const char *h[] = { "Authorization: Bearer sk_9f8e7d",
		            "Idempotency-Key: k1", NULL };
	const char *sec[] = { "sk_9f8e7d", NULL };
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	char *text = NULL, h1[65], h2[65], h3[65];

	req.method = "POST";
	req.url = "https://api.example.com/v1/refunds";
	req.headers = h;
	req.body = "{\"amount\":5,\"note\":\"sk_9f8e7d\"}";
	req.body_len = strlen(req.body);
	req.secrets = sec;
	assert_int_equal(dk_http_request_format(&text, NULL, &req), 0);
	assert_string_equal(text, "POST https://api.example.com/v1/refunds\n"
	                          "Authorization: Bearer [REDACTED]\n"
	                          "Idempotency-Key: k1\n\n"
	                          "{\"amount\":5,\"note\":\"[REDACTED]\"}");
	free(text);
	assert_int_equal(dk_http_request_hash(h1, &req), 0);
	assert_int_equal(strlen(h1), 64);
	/* Another secret value: same hash. Another body: another hash. */
	h[0] = "Authorization: Bearer sk_other";
	sec[0] = "sk_other";
	req.body = "{\"amount\":5,\"note\":\"sk_other\"}";
	req.body_len = strlen(req.body);
	assert_int_equal(dk_http_request_hash(h2, &req), 0);
	assert_string_equal(h1, h2);
	req.body = "{\"amount\":6,\"note\":\"sk_other\"}";
	assert_int_equal(dk_http_request_hash(h3, &req), 0);
	assert_string_not_equal(h1, h3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_redact__every_occurrence),
		cmocka_unit_test(test_http_redact__longest_match_wins),
		cmocka_unit_test(test_http_redact__empty_and_no_secrets),
		cmocka_unit_test(test_http_redact__short_secret_grows_buffer),
		cmocka_unit_test(test_http_redact__encoded_forms),
		cmocka_unit_test(test_http_redact__binary_safe),
		cmocka_unit_test(test_http_redact__inplace_truncates),
		cmocka_unit_test(test_http_check_url__rules),
		cmocka_unit_test(test_http_check_url__message_redacted),
		cmocka_unit_test(test_http_classify__statuses),
		cmocka_unit_test(test_http_classify__network),
		cmocka_unit_test(test_http_backoff__bounds),
		cmocka_unit_test(test_http_retry_next__limits),
		cmocka_unit_test(test_http_send__refused_before_anything),
		cmocka_unit_test(test_http_send__bad_arguments),
		cmocka_unit_test(test_http_response_header__lookup),
		cmocka_unit_test(test_http_request_format__masked),
		cmocka_unit_test(test_http_send_all__stop_and_refuse),
		cmocka_unit_test(test_http_send_retry__before_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
