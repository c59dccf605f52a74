#ifndef DK_HTTP_H
#define DK_HTTP_H

#include <stddef.h>

/*
 * HTTP for provider actions, over libcurl.
 *
 * Transport safety is not optional: only https is spoken, except plain
 * http to a local host (127.0.0.0/8, ::1, "localhost") when the caller sets
 * allow_plain_local; anything else is refused before any name lookup or
 * connection. TLS peer and host verification are always on (ca_file adds
 * a trust anchor file instead of the system store). Redirects are never
 * followed: a 3xx comes back as-is and dk_http_classify() calls it a
 * failure. Connect and total timeouts always apply, and a response body
 * larger than max_body is an error, not a truncation. Content encodings
 * are not negotiated, so the cap is a cap on what the provider sends.
 *
 * Secrets: every string in req->secrets is replaced by "[REDACTED]" in
 * the response (status line, headers and body) and in every error message
 * before either leaves this module, including libcurl's own messages and
 * what a provider echoes back. Their JSON-escaped and percent-encoded
 * forms are replaced too. Header strings the caller passed are wiped from
 * libcurl's copies after the request.
 *
 * Ownership: a struct dk_http_response is owned by the caller, who
 * releases what dk_http_send() put in it with dk_http_response_dispose();
 * everything else passed in stays the caller's. The module never prints.
 */

/* Default and hard upper bound for req->max_body. */
#define DK_HTTP_MAX_BODY_DEFAULT (1024 * 1024)
#define DK_HTTP_MAX_BODY_LIMIT   (64 * 1024 * 1024)
/* Default timeouts, in milliseconds. */
#define DK_HTTP_CONNECT_TIMEOUT_DEFAULT 10000
#define DK_HTTP_TIMEOUT_DEFAULT         30000
/* Response headers kept (bytes, all of the final response's headers). */
#define DK_HTTP_MAX_HEADERS 32768

struct dk_http_request {
	const char *method; /* "POST", "GET", ...; NULL = GET */
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated */
	const char *body;           /* may contain NUL bytes */
	size_t body_len;
	long connect_timeout_ms;    /* 0 = DK_HTTP_CONNECT_TIMEOUT_DEFAULT */
	long timeout_ms;            /* 0 = DK_HTTP_TIMEOUT_DEFAULT */
	size_t max_body;            /* 0 = DK_HTTP_MAX_BODY_DEFAULT */
	const char *ca_file;        /* PEM trust anchors; NULL = system */
	int allow_plain_local;      /* permit http:// to loopback hosts */
	const char *const *secrets; /* values to redact, NULL-terminated */
};
#define DK_HTTP_REQUEST_INIT                                                   \
	{                                                                      \
		NULL                                                           \
	}

/* Why a request got no HTTP status. */
enum dk_http_neterr {
	DK_HTTP_NET_NONE = 0, /* a status line was received */
	DK_HTTP_NET_POLICY,   /* refused by the rules above; nothing sent */
	DK_HTTP_NET_RESOLVE,  /* name lookup failed; nothing sent */
	DK_HTTP_NET_CONNECT,  /* connection refused/unreachable; nothing sent */
	DK_HTTP_NET_TLS,      /* TLS handshake or verification failed */
	DK_HTTP_NET_TIMEOUT,  /* connect or total timeout */
	DK_HTTP_NET_IO,       /* reset, closed early, empty reply ... */
	DK_HTTP_NET_TOO_LARGE, /* the body went over max_body */
	DK_HTTP_NET_OTHER,
};

struct dk_http_response {
	long status; /* 0 when no status line was received */
	enum dk_http_neterr neterr;
	char *body; /* NUL-terminated (body_len excludes it) */
	size_t body_len;
	char *headers;       /* the final response's header block */
	char *content_type;  /* NULL when absent */
	long retry_after_ms; /* Retry-After (seconds or date); -1 none */
	int replayed;        /* Idempotent-Replayed: true (or alike) */
	double total_ms;     /* wall time of the exchange */
	int reused;          /* went over a kept-alive connection */
};

/*
 * A client keeps a libcurl handle and its connection cache between
 * requests (use one per thread). dk_http_send() with a NULL client uses a
 * fresh handle for that one request.
 */
struct dk_http_client;
int dk_http_client_new(struct dk_http_client **out);
void dk_http_client_free(struct dk_http_client *client);

/*
 * Send one request. Returns 0 when an HTTP status was received (whatever
 * it is: 2xx, 3xx, 4xx and 5xx are all 0; see dk_http_classify), or a
 * negative code with out->neterr saying why there is none:
 *   DK_EREFUSED  transport policy (plain http to a non-local host, a
 *                scheme other than http(s), credentials in the URL) or a
 *                TLS failure: nothing was or will be sent
 *   DK_ETIMEOUT  connect or total timeout
 *   DK_EFULL     the response body went over max_body
 *   DK_EIO       connection refused, reset, closed, lookup failure ...
 *   DK_EINVALID  bad arguments (no URL, bad header)
 * The message (dk_error_last) is redacted. `out` is always initialised
 * and must be disposed, also on failure.
 */
int dk_http_send(struct dk_http_response *out, struct dk_http_client *client,
                 const struct dk_http_request *req);
void dk_http_response_dispose(struct dk_http_response *resp);
/* A header of the response by name (case-insensitive), malloc'd; NULL. */
char *dk_http_response_header(const struct dk_http_response *resp,
                              const char *name);

/*
 * Check a URL against the transport rules without sending anything:
 * 0, or DK_EREFUSED / DK_EINVALID with a (redacted) message.
 */
int dk_http_check_url(const char *url, int allow_plain_local,
                      const char *const *secrets);

/*
 * The request as text, secrets masked: "METHOD URL\n", each header line,
 * an empty line, the body (as given; it may contain NUL bytes) -- what
 * `docket dispatch --dry-run` shows. Headers libcurl adds (Host,
 * Content-Length, User-Agent) are not included. *out is malloc'd and
 * NUL-terminated; len may be NULL. 0 or DK_ERROR.
 */
int dk_http_request_format(char **out, size_t *len,
                           const struct dk_http_request *req);
/*
 * SHA-256 (hex) of dk_http_request_format's text: a request hash that
 * names no secret and changes with any byte of the method, URL, headers
 * or body. 0 or DK_ERROR.
 */
int dk_http_request_hash(char out[65], const struct dk_http_request *req);

/* What the caller should do with the outcome of one attempt. */
enum dk_http_verdict {
	DK_HTTP_SUCCESS = 0, /* 2xx */
	DK_HTTP_RETRY,       /* network error, timeout, 5xx, 408, 409, 429 */
	DK_HTTP_REFUSED,     /* other 4xx: the provider refused; final */
	DK_HTTP_IDEMPOTENCY, /* the key was used with another body; final,
	                      * escalate and never retry with a new key */
	DK_HTTP_FAILED,      /* 1xx/3xx, TLS, policy, too large; final */
};

/*
 * Classify one attempt: `rc` is what dk_http_send returned, `resp` what it
 * filled. A 400/422 whose JSON error type or code names idempotency
 * ("idempotency_error", "idempotency_key_reused" ...) is
 * DK_HTTP_IDEMPOTENCY. Lookup failures and connection refusals are
 * retryable (nothing reached the provider); so are resets and timeouts,
 * which is safe only because every retry carries the same key and body.
 */
enum dk_http_verdict dk_http_classify(int rc,
                                      const struct dk_http_response *resp);
const char *dk_http_verdict_name(enum dk_http_verdict v);
const char *dk_http_neterr_name(enum dk_http_neterr e);

/* Retries: jittered exponential backoff with a cap and a total deadline. */
struct dk_http_retry {
	unsigned max_attempts;   /* including the first; 0 = 1 */
	long base_ms;            /* first backoff step (default 250) */
	long cap_ms;             /* longest single wait (default 8000) */
	long deadline_ms;        /* all attempts and waits (default 60000) */
	long retry_after_max_ms; /* longest Retry-After honoured (def. 60000) */
};
#define DK_HTTP_RETRY_INIT                                                     \
	{                                                                      \
		5, 250, 8000, 60000, 60000                                     \
	}

/*
 * The wait before attempt number `attempt + 1`, after `attempt` attempts
 * (1-based), given a random u in [0, 1): "equal jitter", half of
 * min(cap, base * 2^(attempt-1)) plus u times the other half. Pure.
 */
long dk_http_backoff_ms(const struct dk_http_retry *policy, unsigned attempt,
                        double u);

/*
 * Decide whether to try again after `attempts` attempts made, `elapsed_ms`
 * since the first began, the last one having a Retry-After of
 * `retry_after_ms` (-1 none). Returns 1 with *delay_ms set (the jittered
 * backoff, but never less than Retry-After), or 0 to give up: attempts
 * used up, Retry-After longer than retry_after_max_ms, or the wait would
 * end past the deadline.
 */
int dk_http_retry_next(long *delay_ms, const struct dk_http_retry *policy,
                       unsigned attempts, double elapsed_ms,
                       long retry_after_ms);

/*
 * Called before each attempt (return non-zero to stop without sending:
 * dk_http_send_retry then returns that value) and after it (the verdict
 * and, when one follows, the wait before the next attempt, else -1).
 * Either may be NULL. The response is valid only during the call.
 */
struct dk_http_observer {
	int (*before)(void *ctx, unsigned attempt);
	void (*after)(void *ctx, unsigned attempt, int rc,
	              const struct dk_http_response *resp,
	              enum dk_http_verdict verdict, long delay_ms);
	void *ctx;
};

/*
 * Send `req` until it succeeds, fails for good or the policy gives up,
 * sending byte-identical requests each time (the caller puts the
 * Idempotency-Key in req->headers). `out` holds the last attempt's
 * response; *verdict_out its verdict (DK_HTTP_RETRY means the policy gave
 * up); *attempts_out how many were sent. Returns 0 when a verdict was
 * reached, or the before-callback's non-zero value.
 */
int dk_http_send_retry(struct dk_http_response *out,
                       enum dk_http_verdict *verdict_out,
                       unsigned *attempts_out, struct dk_http_client *client,
                       const struct dk_http_request *req,
                       const struct dk_http_retry *policy,
                       const struct dk_http_observer *obs);

/*
 * Many requests at once over libcurl's multi interface, in the calling
 * thread: every job runs the retry loop of dk_http_send_retry (same
 * policy, its own attempts and deadline), with at most `max_in_flight`
 * attempts on the wire at any time (0 = 1), sharing one connection pool.
 * The observer is called between transfers, in this thread, with the
 * job's index; `before` returning non-zero stops that job only (its
 * `stopped` gets the value, it sends nothing more). Each job's `resp`
 * holds its last attempt's response and `error` the (redacted) message of
 * its failure, or NULL; dispose them with dk_http_job_dispose(). Returns 0
 * once every job has a verdict or was stopped, or DK_ERROR when libcurl's
 * multi interface itself failed (jobs not finished then have verdict
 * DK_HTTP_FAILED and an error).
 */
struct dk_http_job {
	const struct dk_http_request *req; /* in */
	struct dk_http_response resp;      /* out */
	enum dk_http_verdict verdict;      /* out */
	unsigned attempts;                 /* out */
	int stopped;                       /* out */
	char *error;                       /* out, malloc'd */
};

struct dk_http_multi_observer {
	int (*before)(void *ctx, size_t job, unsigned attempt);
	void (*after)(void *ctx, size_t job, unsigned attempt, int rc,
	              const struct dk_http_response *resp,
	              enum dk_http_verdict verdict, long delay_ms);
	void *ctx;
};

int dk_http_send_all(struct dk_http_job *jobs, size_t njobs,
                     size_t max_in_flight, const struct dk_http_retry *policy,
                     const struct dk_http_multi_observer *obs);
void dk_http_job_dispose(struct dk_http_job *job);

/*
 * Copy `len` bytes of `buf` to a new NUL-terminated buffer in which every
 * occurrence of every non-empty secret (and of its JSON-escaped and
 * percent-encoded forms) is replaced by "[REDACTED]"; the longest match
 * wins where secrets overlap. *out_len may be NULL. 0 or DK_ERROR (out of
 * memory).
 */
#define DK_REDACTED "[REDACTED]"
int dk_redact(char **out, size_t *out_len, const char *buf, size_t len,
              const char *const *secrets);
/* In place on a NUL-terminated string of capacity `cap` (truncates). */
void dk_redact_inplace(char *s, size_t cap, const char *const *secrets);

#endif
