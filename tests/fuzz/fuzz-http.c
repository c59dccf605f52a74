/*
 * HTTP response handling: the input is sent, byte for byte, as the
 * response of a server on 127.0.0.1 to a real request made with
 * dk_http_send (libcurl underneath), and then goes through everything
 * docket does with a response: the verdict (dk_http_classify, including
 * the idempotency-error sniffing of JSON bodies), Retry-After and the
 * retry decision, header lookups, and the fields a dispatch.result
 * record keeps. The body cap is small so the too-large path is reached.
 * A secret planted in the request must not appear in what comes back.
 */
#include "fuzz.h"

#include "dispatch.h"
#include "error.h"
#include "http.h"
#include "workflow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int lfd = -1;
static char url[64];
static pthread_t thr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const uint8_t *cur;
static size_t cur_len;
static int have, served;

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		const uint8_t *d;
		size_t n, off = 0;
		char buf[4096];
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&mu);
		while (!have)
			pthread_cond_wait(&cv, &mu);
		d = cur;
		n = cur_len;
		pthread_mutex_unlock(&mu);
		/* read the request head so the write is not met by a reset */
		(void)recv(fd, buf, sizeof(buf), 0);
		while (off < n) {
			ssize_t w = send(fd, d + off, n - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		shutdown(fd, SHUT_WR);
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		close(fd);
		pthread_mutex_lock(&mu);
		served = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static struct dk_action action;
static char *record_fields[] = { "id", "refund.status", "message_id",
	                         "charge" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	(void)argc;
	(void)argv;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		abort();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/refunds",
	         ntohs(a.sin_port));
	if (pthread_create(&thr, NULL, server, NULL))
		abort();
	action.name = "stripe.refund";
	action.record.v = record_fields;
	action.record.n = 4;
	return 0;
}

#define SECRET "sk_test_fuzz_5ecret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const headers[] = { "Authorization: Bearer " SECRET,
		                               "Idempotency-Key: fuzz-key-1",
		                               "Content-Type: application/json",
		                               NULL };
	static const char *const secrets[] = { SECRET, NULL };
	struct dk_http_request req = DK_HTTP_REQUEST_INIT;
	struct dk_http_retry pol = DK_HTTP_RETRY_INIT;
	struct dk_http_response resp;
	json_t *rec = NULL, *ids = NULL;
	char *h;
	long delay;
	int rc;

	if (size > 256 * 1024)
		return 0;
	pthread_mutex_lock(&mu);
	cur = data;
	cur_len = size;
	have = 1;
	served = 0;
	pthread_mutex_unlock(&mu);

	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = "{\"amount\":100}";
	req.body_len = strlen(req.body);
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 3000;
	req.max_body = 4096;
	req.allow_plain_local = 1;
	req.secrets = secrets;
	rc = dk_http_send(&resp, NULL, &req);
	if (rc == 0 && resp.status == 0)
		abort();
	if (rc < 0 && !dk_error_last()[0])
		abort();
	if (resp.body &&
	    memmem(resp.body, resp.body_len, SECRET, strlen(SECRET)))
		abort(); /* a secret echoed back was not redacted */
	if (resp.headers && strstr(resp.headers, SECRET))
		abort();
	(void)dk_http_classify(rc, &resp);
	(void)dk_http_retry_next(&delay, &pol, 1, 10.0, resp.retry_after_ms);
	h = dk_http_response_header(&resp, "Retry-After");
	free(h);
	h = dk_http_response_header(&resp, "X-Message-Id");
	free(h);
	dk_dispatch__response_fields(&rec, &ids, &action, &resp);
	if (!rec || !ids)
		abort();
	json_decref(rec);
	json_decref(ids);
	dk_http_response_dispose(&resp);

	/* wait until the server is done with this input */
	pthread_mutex_lock(&mu);
	while (!served)
		pthread_cond_wait(&cv, &mu);
	have = 0;
	pthread_mutex_unlock(&mu);
	return 0;
}
