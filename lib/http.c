#include "http.h"

#include "error.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct dk_http_client {
	CURL *curl;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int ensure_global(void)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return dk_error_set(DK_ERROR, "http: libcurl failed to start");
	return 0;
}

/* ---- redaction --------------------------------------------------------- */

struct variant {
	char *s;
	size_t n;
};

static int add_variant(struct variant **v, size_t *nv, size_t *cap, char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < *nv; i++) {
		if ((*v)[i].n == n && !memcmp((*v)[i].s, s, n)) {
			free(s);
			return 0;
		}
	}
	if (*nv == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct variant *t = realloc(*v, nc * sizeof(*t));
		if (!t) {
			free(s);
			return -1;
		}
		*v = t;
		*cap = nc;
	}
	(*v)[*nv].s = s;
	(*v)[*nv].n = n;
	(*nv)++;
	return 0;
}

/* The secret as it would appear inside a JSON string. */
static char *json_escaped(const char *s, int slash)
{
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n * 6 + 1);

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '/':
			esc = slash ? "\\/" : NULL;
			break;
		}
		if (esc) {
			size_t k = strlen(esc);
			memcpy(out + o, esc, k);
			o += k;
		} else if (c < 0x20) {
			snprintf(out + o, 7, "\\u%04x", c);
			o += 6;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

static char *pct_encoded(const char *s, int lower)
{
	static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
	const char *hex = lower ? lo : up;
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n * 3 + 1);

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static int cmp_variant(const void *a, const void *b)
{
	const struct variant *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void free_variants(struct variant *v, size_t nv)
{
	size_t i;

	for (i = 0; i < nv; i++) {
		explicit_bzero(v[i].s, v[i].n);
		free(v[i].s);
	}
	free(v);
}

static int build_variants(struct variant **out, size_t *nout,
                          const char *const *secrets)
{
	struct variant *v = NULL;
	size_t nv = 0, cap = 0;
	const char *const *p;

	*out = NULL;
	*nout = 0;
	for (p = secrets; p && *p; p++) {
		char *forms[5];
		int i;

		if (!**p)
			continue;
		forms[0] = strdup(*p);
		forms[1] = json_escaped(*p, 0);
		forms[2] = json_escaped(*p, 1);
		forms[3] = pct_encoded(*p, 0);
		forms[4] = pct_encoded(*p, 1);
		for (i = 0; i < 5; i++) {
			if (!forms[i] || add_variant(&v, &nv, &cap, forms[i])) {
				for (i++; i < 5; i++)
					free(forms[i]);
				free_variants(v, nv);
				return dk_error_set(DK_ERROR,
				                    "redact: out of memory");
			}
		}
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_variant);
	*out = v;
	*nout = nv;
	return 0;
}

/* Length of the longest variant matching at buf[i..len), or 0. */
static size_t match_at(const struct variant *v, size_t nv, const char *buf,
                       size_t i, size_t len)
{
	size_t k;

	for (k = 0; k < nv; k++) {
		if (v[k].n <= len - i && buf[i] == v[k].s[0] &&
		    !memcmp(buf + i, v[k].s, v[k].n))
			return v[k].n;
	}
	return 0;
}

int dk_redact(char **out, size_t *out_len, const char *buf, size_t len,
              const char *const *secrets)
{
	static const size_t rl = sizeof(DK_REDACTED) - 1;
	struct variant *v = NULL;
	size_t nv = 0, i, o = 0, cap;
	char *r = NULL;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (build_variants(&v, &nv, secrets) < 0)
		return DK_ERROR;
	/* Each match is at least one byte long and grows to rl bytes. */
	cap = len + 1;
	if (nv) {
		size_t shortest = v[nv - 1].n;
		if (rl > shortest)
			cap = len / shortest * rl + len + 1;
	}
	r = malloc(cap);
	if (!r) {
		free_variants(v, nv);
		return dk_error_set(DK_ERROR, "redact: out of memory");
	}
	for (i = 0; i < len;) {
		size_t m = nv ? match_at(v, nv, buf, i, len) : 0;
		if (m) {
			memcpy(r + o, DK_REDACTED, rl);
			o += rl;
			i += m;
		} else {
			r[o++] = buf[i++];
		}
	}
	r[o] = '\0';
	free_variants(v, nv);
	*out = r;
	if (out_len)
		*out_len = o;
	return 0;
}

void dk_redact_inplace(char *s, size_t cap, const char *const *secrets)
{
	char *r = NULL;
	size_t n;

	if (!s || !cap || !secrets || !secrets[0])
		return;
	if (dk_redact(&r, &n, s, strlen(s), secrets) < 0) {
		/* Out of memory: say nothing rather than leak. */
		snprintf(s, cap, "%s", DK_REDACTED);
		return;
	}
	snprintf(s, cap, "%s", r);
	explicit_bzero(r, n);
	free(r);
}

/*
 * A message cut short (libcurl's error buffer is 256 bytes) may end in the
 * first part of a secret: cut that part off too.
 */
static void redact_cut_tail(char *s, size_t cap, const char *const *secrets)
{
	const char *const *p;
	size_t n = strlen(s);

	for (p = secrets; p && *p; p++) {
		size_t k = strlen(*p);
		if (!k)
			continue;
		for (k = k - 1 < n ? k - 1 : n; k > 0; k--) {
			if (!memcmp(s + n - k, *p, k)) {
				explicit_bzero(s + n - k, k);
				snprintf(s + n - k, cap - (n - k), "%s",
				         DK_REDACTED);
				n = strlen(s);
				break;
			}
		}
	}
}

/* Set the error message, redacted (formatted whole, then redacted). */
__attribute__((format(printf, 3, 4))) static int
set_error(int code, const char *const *secrets, const char *fmt, ...)
{
	char *msg = NULL, *red = NULL;
	size_t n = 0;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		return dk_error_set(code, "http: out of memory");
	if (dk_redact(&red, &n, msg, (size_t)len, secrets) < 0) {
		dk_error_set(code, "http: request failed (message withheld)");
	} else {
		dk_error_set(code, "%s", red);
		explicit_bzero(red, n);
		free(red);
	}
	explicit_bzero(msg, (size_t)len);
	free(msg);
	return code;
}

/* ---- URL policy -------------------------------------------------------- */

static int host_is_local(const char *host)
{
	unsigned char a4[4], a6[16];
	char buf[64];
	size_t n = strlen(host);

	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return 1;
	if (inet_pton(AF_INET, host, a4) == 1)
		return a4[0] == 127;
	if (n > 2 && host[0] == '[' && host[n - 1] == ']' &&
	    n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a6) == 1) {
			static const unsigned char lo[16] = { [15] = 1 };
			return !memcmp(a6, lo, 16);
		}
	}
	return 0;
}

int dk_http_check_url(const char *url, int allow_plain_local,
                      const char *const *secrets)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
	int rc = 0;

	if (!url || !*url)
		return dk_error_set(DK_EINVALID, "http: no URL given");
	if (ensure_global() < 0)
		return DK_ERROR;
	u = curl_url();
	if (!u)
		return dk_error_set(DK_ERROR, "http: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = set_error(DK_EINVALID, secrets, "http: malformed URL '%s'",
		               url);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		/* The URL itself is not repeated: it holds a credential. */
		rc = dk_error_set(DK_EREFUSED,
		                  "http: refusing a URL with credentials in it "
		                  "(send them in a header)");
		goto done;
	}
	if (!strcasecmp(scheme, "https"))
		goto done;
	if (strcasecmp(scheme, "http")) {
		rc = set_error(DK_EREFUSED, secrets,
		               "http: refusing '%s': only https is allowed",
		               url);
		goto done;
	}
	if (!allow_plain_local) {
		rc = set_error(DK_EREFUSED, secrets,
		               "http: refusing plain http to '%s': only https "
		               "is allowed",
		               url);
		goto done;
	}
	if (!host_is_local(host)) {
		rc = set_error(DK_EREFUSED, secrets,
		               "http: refusing plain http to '%s': host is "
		               "not local (127.0.0.0/8, ::1, localhost)",
		               url);
		goto done;
	}
done:
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		curl_free(pass);
	}
	if (user) {
		explicit_bzero(user, strlen(user));
		curl_free(user);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* ---- client ------------------------------------------------------------ */

int dk_http_client_new(struct dk_http_client **out)
{
	struct dk_http_client *c;

	*out = NULL;
	if (ensure_global() < 0)
		return DK_ERROR;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dk_error_set(DK_ERROR, "http: out of memory");
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return dk_error_set(DK_ERROR, "http: libcurl handle failed");
	}
	*out = c;
	return 0;
}

void dk_http_client_free(struct dk_http_client *client)
{
	if (!client)
		return;
	curl_easy_cleanup(client->curl);
	free(client);
}

void dk_http_response_dispose(struct dk_http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->headers);
	free(resp->content_type);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_ms = -1;
}

char *dk_http_response_header(const struct dk_http_response *resp,
                              const char *name)
{
	const char *p;
	size_t n = strlen(name);

	if (!resp || !resp->headers)
		return NULL;
	for (p = resp->headers; *p;) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		if ((size_t)(end - p) > n && p[n] == ':' &&
		    !strncasecmp(p, name, n)) {
			const char *v = p + n + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' ||
			                   end[-1] == '\t'))
				end--;
			return strndup(v, (size_t)(end - v));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

struct sink {
	char *buf;
	size_t len, cap, max;
	int over;
};

static int sink_add(struct sink *s, const char *data, size_t n)
{
	if (n > s->max - s->len) {
		s->over = 1;
		return -1;
	}
	if (s->len + n + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 1024;
		char *t;
		while (nc < s->len + n + 1)
			nc *= 2;
		t = realloc(s->buf, nc);
		if (!t)
			return -1;
		s->buf = t;
		s->cap = nc;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;

	return sink_add(ud, data, n) < 0 ? 0 : n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	/* A new status line starts a new response (after 1xx). */
	if (n >= 5 && !memcmp(data, "HTTP/", 5))
		s->len = 0;
	return sink_add(s, data, n) < 0 ? 0 : n;
}

static long parse_retry_after(const char *v)
{
	char *end;
	long long secs;
	time_t t;

	if (!v || !*v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		secs = strtoll(v, &end, 10);
		if (errno || *end || secs < 0)
			return -1;
		if (secs > 86400)
			secs = 86400;
		return (long)(secs * 1000);
	}
	t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	secs = (long long)t - (long long)time(NULL);
	if (secs < 0)
		secs = 0;
	if (secs > 86400)
		secs = 86400;
	return (long)(secs * 1000);
}

static int is_true(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1"));
}

static enum dk_http_neterr neterr_of(CURLcode c, int body_over)
{
	switch (c) {
	case CURLE_OK:
		return DK_HTTP_NET_NONE;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return DK_HTTP_NET_POLICY;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return DK_HTTP_NET_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		return DK_HTTP_NET_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return DK_HTTP_NET_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return DK_HTTP_NET_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return DK_HTTP_NET_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return body_over ? DK_HTTP_NET_TOO_LARGE : DK_HTTP_NET_OTHER;
	case CURLE_SSL_CONNECT_ERROR: /* also a reset during the handshake */
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return DK_HTTP_NET_IO;
	default:
		return DK_HTTP_NET_OTHER;
	}
}

static int code_of(enum dk_http_neterr e)
{
	switch (e) {
	case DK_HTTP_NET_NONE:
		return 0;
	case DK_HTTP_NET_POLICY:
	case DK_HTTP_NET_TLS:
		return DK_EREFUSED;
	case DK_HTTP_NET_TIMEOUT:
		return DK_ETIMEOUT;
	case DK_HTTP_NET_TOO_LARGE:
		return DK_EFULL;
	default:
		return DK_EIO;
	}
}

/* Replace *p by its redacted copy. */
static int redact_field(char **p, size_t *len, const char *const *secrets)
{
	char *r;
	size_t n;

	if (!*p || !secrets || !secrets[0])
		return 0;
	if (dk_redact(&r, &n, *p, len ? *len : strlen(*p), secrets) < 0)
		return DK_ERROR;
	explicit_bzero(*p, len ? *len : strlen(*p));
	free(*p);
	*p = r;
	if (len)
		*len = n;
	return 0;
}

static void wipe_slist(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int build_headers(struct curl_slist **out,
                         const struct dk_http_request *req)
{
	struct curl_slist *l = NULL, *t;
	const char *const *h;

	*out = NULL;
	for (h = req->headers; h && *h; h++) {
		const char *colon = strchr(*h, ':');
		if (!colon || colon == *h || strpbrk(*h, "\r\n")) {
			wipe_slist(l);
			return set_error(DK_EINVALID, req->secrets,
			                 "http: malformed header '%s' (want "
			                 "'Name: value' on one line)",
			                 *h);
		}
		t = curl_slist_append(l, *h);
		if (!t)
			goto oom;
		l = t;
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	t = curl_slist_append(l, "Expect:");
	if (!t)
		goto oom;
	*out = t;
	return 0;
oom:
	wipe_slist(l);
	return dk_error_set(DK_ERROR, "http: out of memory");
}

static int setup_handle(CURL *h, const struct dk_http_request *req,
                        struct curl_slist *hdrs, struct sink *body,
                        struct sink *head, char *errbuf)
{
	const char *method = req->method ? req->method : "GET";
	long cto = req->connect_timeout_ms > 0
	               ? req->connect_timeout_ms
	               : DK_HTTP_CONNECT_TIMEOUT_DEFAULT;
	long to =
	    req->timeout_ms > 0 ? req->timeout_ms : DK_HTTP_TIMEOUT_DEFAULT;
	CURLcode c = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(h, opt, val);                     \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
	SET(CURLOPT_TIMEOUT_MS, to);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, body);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, head);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_USERAGENT, "docket/" DOCKET_VERSION);
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (req->allow_plain_local && !strncasecmp(req->url, "http:", 5))
		SET(CURLOPT_PROXY, ""); /* never send plain text to a proxy */
	if (!strcmp(method, "GET") && !req->body) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "HEAD")) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(method, "POST"))
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	if (c != CURLE_OK)
		return set_error(DK_ERROR, req->secrets,
		                 "http: setting up the request: %s",
		                 curl_easy_strerror(c));
	return 0;
}

static int valid_method(const char *m)
{
	size_t i;

	if (!m)
		return 1;
	if (!*m || strlen(m) > 16)
		return 0;
	for (i = 0; m[i]; i++)
		if (!isupper((unsigned char)m[i]))
			return 0;
	return 1;
}

static int fill_response(struct dk_http_response *out, CURL *h,
                         struct sink *body, struct sink *head,
                         const char *const *secrets)
{
	long connects = 0;
	char *v;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	out->reused = connects == 0;
	out->body = body->buf ? body->buf : strdup("");
	out->body_len = body->len;
	out->headers = head->buf ? head->buf : strdup("");
	body->buf = head->buf = NULL;
	if (!out->body || !out->headers)
		return dk_error_set(DK_ERROR, "http: out of memory");
	if (redact_field(&out->body, &out->body_len, secrets) < 0 ||
	    redact_field(&out->headers, NULL, secrets) < 0)
		return DK_ERROR;
	out->content_type = dk_http_response_header(out, "Content-Type");
	v = dk_http_response_header(out, "Retry-After");
	out->retry_after_ms = parse_retry_after(v);
	free(v);
	v = dk_http_response_header(out, "Idempotent-Replayed");
	if (!v)
		v = dk_http_response_header(out, "Idempotency-Replayed");
	if (!v)
		v = dk_http_response_header(out, "X-Idempotent-Replayed");
	out->replayed = is_true(v);
	free(v);
	return 0;
}

/* One attempt's state, shared by dk_http_send and dk_http_send_all. */
struct attempt {
	const struct dk_http_request *req;
	const char *method;
	struct sink body, head;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	double t0;
};

static void attempt_release(struct attempt *a)
{
	wipe_slist(a->hdrs);
	a->hdrs = NULL;
	explicit_bzero(a->errbuf, sizeof(a->errbuf));
	if (a->body.buf)
		explicit_bzero(a->body.buf, a->body.len);
	free(a->body.buf);
	if (a->head.buf)
		explicit_bzero(a->head.buf, a->head.len);
	free(a->head.buf);
	a->body.buf = a->head.buf = NULL;
}

/* Check the request and set up handle h; out->neterr says why not. */
static int attempt_prepare(struct attempt *a, struct dk_http_response *out,
                           CURL *h, const struct dk_http_request *req)
{
	int rc;

	memset(a, 0, sizeof(*a));
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	out->neterr = DK_HTTP_NET_OTHER;
	a->req = req;
	if (!req || !req->url)
		return dk_error_set(DK_EINVALID, "http: no URL given");
	a->method = req->method ? req->method : "GET";
	if (!valid_method(req->method))
		return dk_error_set(DK_EINVALID, "http: bad method");
	rc = dk_http_check_url(req->url, req->allow_plain_local, req->secrets);
	if (rc < 0) {
		if (rc == DK_EREFUSED)
			out->neterr = DK_HTTP_NET_POLICY;
		return rc;
	}
	a->body.max = req->max_body ? req->max_body : DK_HTTP_MAX_BODY_DEFAULT;
	if (a->body.max > DK_HTTP_MAX_BODY_LIMIT)
		return dk_error_set(DK_EINVALID,
		                    "http: max_body over the limit of %d bytes",
		                    DK_HTTP_MAX_BODY_LIMIT);
	a->head.max = DK_HTTP_MAX_HEADERS;
	if ((rc = build_headers(&a->hdrs, req)) < 0)
		return rc;
	if ((rc = setup_handle(h, req, a->hdrs, &a->body, &a->head,
	                       a->errbuf)) < 0)
		return rc;
	out->neterr = DK_HTTP_NET_NONE;
	a->t0 = dk_mono_ms();
	return 0;
}

static int attempt_finish(struct attempt *a, struct dk_http_response *out,
                          CURL *h, CURLcode c)
{
	const struct dk_http_request *req = a->req;
	int rc;

	out->total_ms = dk_mono_ms() - a->t0;
	out->neterr = neterr_of(c, a->body.over || a->head.over);
	if (c == CURLE_OK) {
		rc = fill_response(out, h, &a->body, &a->head, req->secrets);
		if (rc < 0 || out->status >= 100)
			return rc;
		/* libcurl took something that is not a status line (say
		 * "HTTP/200 OK") for a response: no verdict can come of it */
		out->status = 0;
		out->neterr = DK_HTTP_NET_IO;
		return set_error(DK_EIO, req->secrets,
		                 "%s %s: the response has no valid HTTP "
		                 "status line",
		                 a->method, req->url);
	}
	rc = code_of(out->neterr);
	if (out->neterr == DK_HTTP_NET_TOO_LARGE) {
		set_error(rc, req->secrets,
		          "%s %s: the response is larger than %zu bytes",
		          a->method, req->url,
		          a->head.over ? (size_t)DK_HTTP_MAX_HEADERS
		                       : a->body.max);
	} else {
		if (strlen(a->errbuf) >= CURL_ERROR_SIZE - 2)
			redact_cut_tail(a->errbuf, sizeof(a->errbuf),
			                req->secrets);
		set_error(rc, req->secrets, "%s %s: %s", a->method, req->url,
		          a->errbuf[0] ? a->errbuf : curl_easy_strerror(c));
	}
	return rc;
}

int dk_http_send(struct dk_http_response *out, struct dk_http_client *client,
                 const struct dk_http_request *req)
{
	struct attempt a;
	CURL *h;
	int rc;

	if (client) {
		h = client->curl;
		curl_easy_reset(h);
	} else {
		if (ensure_global() < 0)
			return DK_ERROR;
		h = curl_easy_init();
	}
	if (!h) {
		memset(out, 0, sizeof(*out));
		out->retry_after_ms = -1;
		out->neterr = DK_HTTP_NET_OTHER;
		return dk_error_set(DK_ERROR, "http: libcurl failed");
	}
	rc = attempt_prepare(&a, out, h, req);
	if (rc == 0)
		rc = attempt_finish(&a, out, h, curl_easy_perform(h));
	if (client)
		curl_easy_reset(h); /* drop pointers to this frame */
	else
		curl_easy_cleanup(h);
	attempt_release(&a);
	return rc;
}

int dk_http_request_format(char **out, size_t *len,
                           const struct dk_http_request *req)
{
	struct sink t = { 0 };
	const char *const *h;
	const char *m = req->method ? req->method : "GET";
	const char *url = req->url ? req->url : "";
	char *red = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (len)
		*len = 0;
	t.max = (size_t)-1;
	if (sink_add(&t, m, strlen(m)) || sink_add(&t, " ", 1) ||
	    sink_add(&t, url, strlen(url)) || sink_add(&t, "\n", 1))
		goto oom;
	for (h = req->headers; h && *h; h++)
		if (sink_add(&t, *h, strlen(*h)) || sink_add(&t, "\n", 1))
			goto oom;
	if (sink_add(&t, "\n", 1) ||
	    (req->body_len && sink_add(&t, req->body, req->body_len)))
		goto oom;
	if (dk_redact(&red, &n, t.buf, t.len, req->secrets) < 0) {
		rc = DK_ERROR;
		goto done;
	}
	*out = red;
	if (len)
		*len = n;
	goto done;
oom:
	rc = dk_error_set(DK_ERROR, "http: out of memory");
done:
	if (t.buf)
		explicit_bzero(t.buf, t.len);
	free(t.buf);
	return rc;
}

int dk_http_request_hash(char out[65], const struct dk_http_request *req)
{
	char *text = NULL;
	size_t n = 0;

	out[0] = '\0';
	if (dk_http_request_format(&text, &n, req) < 0)
		return DK_ERROR;
	dk_sha256_hex(out, text, n);
	free(text);
	return 0;
}

/* ---- classification and retries --------------------------------------- */

static int names_idempotency(json_t *v)
{
	const char *s = json_string_value(v);

	return s && strcasestr(s, "idempotency") != NULL;
}

static int is_idempotency_error(const struct dk_http_response *resp)
{
	json_error_t jerr;
	json_t *root, *err;
	int hit = 0;

	if (!resp->body || !resp->body_len)
		return 0;
	root = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES,
	                  &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	err = json_object_get(root, "error");
	if (json_is_object(err))
		hit = names_idempotency(json_object_get(err, "type")) ||
		      names_idempotency(json_object_get(err, "code"));
	else if (json_is_string(err))
		hit = names_idempotency(err);
	hit = hit || names_idempotency(json_object_get(root, "type")) ||
	      names_idempotency(json_object_get(root, "code"));
	json_decref(root);
	return hit;
}

enum dk_http_verdict dk_http_classify(int rc,
                                      const struct dk_http_response *resp)
{
	long s;

	if (rc < 0 || !resp || !resp->status) {
		switch (resp ? resp->neterr : DK_HTTP_NET_OTHER) {
		case DK_HTTP_NET_RESOLVE:
		case DK_HTTP_NET_CONNECT:
		case DK_HTTP_NET_TIMEOUT:
		case DK_HTTP_NET_IO:
			return DK_HTTP_RETRY;
		default:
			return DK_HTTP_FAILED;
		}
	}
	s = resp->status;
	if (s >= 200 && s < 300)
		return DK_HTTP_SUCCESS;
	if (s >= 500 || s == 408 || s == 409 || s == 429)
		return DK_HTTP_RETRY;
	if ((s == 400 || s == 422) && is_idempotency_error(resp))
		return DK_HTTP_IDEMPOTENCY;
	if (s >= 400)
		return DK_HTTP_REFUSED;
	return DK_HTTP_FAILED;
}

const char *dk_http_verdict_name(enum dk_http_verdict v)
{
	switch (v) {
	case DK_HTTP_SUCCESS:
		return "success";
	case DK_HTTP_RETRY:
		return "retry";
	case DK_HTTP_REFUSED:
		return "provider-refused";
	case DK_HTTP_IDEMPOTENCY:
		return "idempotency-error";
	case DK_HTTP_FAILED:
		return "failed";
	}
	return "unknown";
}

const char *dk_http_neterr_name(enum dk_http_neterr e)
{
	static const char *const names[] = {
		"none",    "policy",  "resolve",   "connect", "tls",
		"timeout", "network", "too-large", "other",
	};

	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e]
	                                                      : "other";
}

static void policy_defaults(struct dk_http_retry *p,
                            const struct dk_http_retry *in)
{
	static const struct dk_http_retry def = DK_HTTP_RETRY_INIT;

	*p = in ? *in : def;
	if (!p->max_attempts)
		p->max_attempts = 1;
	if (p->base_ms <= 0)
		p->base_ms = def.base_ms;
	if (p->cap_ms <= 0)
		p->cap_ms = def.cap_ms;
	if (p->deadline_ms <= 0)
		p->deadline_ms = def.deadline_ms;
	if (p->retry_after_max_ms <= 0)
		p->retry_after_max_ms = def.retry_after_max_ms;
}

long dk_http_backoff_ms(const struct dk_http_retry *policy, unsigned attempt,
                        double u)
{
	struct dk_http_retry p;
	double step;
	unsigned i;

	policy_defaults(&p, policy);
	step = (double)p.base_ms;
	for (i = 1; i < attempt && step < (double)p.cap_ms; i++)
		step *= 2;
	if (step > (double)p.cap_ms)
		step = (double)p.cap_ms;
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return (long)(step / 2 + u * (step / 2));
}

int dk_http_retry_next(long *delay_ms, const struct dk_http_retry *policy,
                       unsigned attempts, double elapsed_ms,
                       long retry_after_ms)
{
	struct dk_http_retry p;
	uint32_t r = 0;
	long d;

	policy_defaults(&p, policy);
	*delay_ms = -1;
	if (attempts >= p.max_attempts)
		return 0;
	if (retry_after_ms > p.retry_after_max_ms)
		return 0;
	if (dk_random(&r, sizeof(r)) < 0)
		r = 0;
	d = dk_http_backoff_ms(&p, attempts, (double)r / 4294967296.0);
	if (retry_after_ms > d)
		d = retry_after_ms;
	if (elapsed_ms + (double)d >= (double)p.deadline_ms)
		return 0;
	*delay_ms = d;
	return 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int dk_http_send_retry(struct dk_http_response *out,
                       enum dk_http_verdict *verdict_out,
                       unsigned *attempts_out, struct dk_http_client *client,
                       const struct dk_http_request *req,
                       const struct dk_http_retry *policy,
                       const struct dk_http_observer *obs)
{
	struct dk_http_retry p;
	struct dk_http_request r = *req;
	enum dk_http_verdict v = DK_HTTP_FAILED;
	unsigned n = 0;
	double t0 = dk_mono_ms();
	long base_to =
	    req->timeout_ms > 0 ? req->timeout_ms : DK_HTTP_TIMEOUT_DEFAULT;
	int rc, stop;

	policy_defaults(&p, policy);
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	*verdict_out = DK_HTTP_FAILED;
	*attempts_out = 0;
	for (;;) {
		double left = (double)p.deadline_ms - (dk_mono_ms() - t0);
		long delay = -1;

		if (obs && obs->before && (stop = obs->before(obs->ctx, n + 1)))
			return stop;
		/* No attempt may run past the total deadline. */
		r.timeout_ms = base_to;
		if (left < (double)r.timeout_ms)
			r.timeout_ms = left > 1 ? (long)left : 1;
		dk_http_response_dispose(out);
		rc = dk_http_send(out, client, &r);
		n++;
		*attempts_out = n;
		v = dk_http_classify(rc, out);
		if (v == DK_HTTP_RETRY &&
		    !dk_http_retry_next(&delay, &p, n, dk_mono_ms() - t0,
		                        out->retry_after_ms))
			delay = -1;
		if (obs && obs->after)
			obs->after(obs->ctx, n, rc, out, v, delay);
		if (v != DK_HTTP_RETRY || delay < 0)
			break;
		sleep_ms(delay);
	}
	*verdict_out = v;
	if (v == DK_HTTP_RETRY && rc == 0)
		dk_error_set(DK_ETIMEOUT,
		             "gave up after %u attempts: last status %ld", n,
		             out->status);
	else if (v == DK_HTTP_RETRY)
		dk_error_prefix("gave up after %u attempts", n);
	return 0;
}

/* ---- many at once ------------------------------------------------------ */

enum { JOB_WAIT, JOB_RUN, JOB_DONE };

struct jobstate {
	CURL *h;
	struct attempt a;
	struct dk_http_request r;
	int state;
	double ready_at, t0;
	long base_to;
};

struct multi_run {
	struct dk_http_job *jobs;
	struct jobstate *st;
	struct dk_http_retry p;
	const struct dk_http_multi_observer *obs;
	size_t left, running;
};

static void job_set_error(struct dk_http_job *job, const char *msg)
{
	free(job->error);
	job->error = strdup(msg);
}

/* An attempt of job i ended with rc: decide what follows. */
static void job_attempt_done(struct multi_run *m, size_t i, int rc)
{
	struct dk_http_job *job = &m->jobs[i];
	struct jobstate *js = &m->st[i];
	double now = dk_mono_ms();
	enum dk_http_verdict v;
	long delay = -1;

	job->attempts++;
	v = dk_http_classify(rc, &job->resp);
	if (v == DK_HTTP_RETRY &&
	    !dk_http_retry_next(&delay, &m->p, job->attempts, now - js->t0,
	                        job->resp.retry_after_ms))
		delay = -1;
	free(job->error);
	job->error = NULL;
	if (rc < 0)
		job_set_error(job, dk_error_last());
	if (m->obs && m->obs->after)
		m->obs->after(m->obs->ctx, i, job->attempts, rc, &job->resp, v,
		              delay);
	job->verdict = v;
	if (v == DK_HTTP_RETRY && delay >= 0) {
		js->state = JOB_WAIT;
		js->ready_at = now + (double)delay;
		return;
	}
	js->state = JOB_DONE;
	m->left--;
	if (v == DK_HTTP_RETRY) {
		char msg[1200];
		if (rc < 0)
			snprintf(msg, sizeof(msg),
			         "gave up after %u attempts: %s", job->attempts,
			         job->error ? job->error : "");
		else
			snprintf(msg, sizeof(msg),
			         "gave up after %u attempts: last status %ld",
			         job->attempts, job->resp.status);
		job_set_error(job, msg);
	}
}

/* Start the next attempt of job i; 0, or DK_ERROR if multi failed. */
static int job_start(struct multi_run *m, CURLM *multi, size_t i)
{
	struct dk_http_job *job = &m->jobs[i];
	struct jobstate *js = &m->st[i];
	double now = dk_mono_ms(), left;
	int rc, stop;

	if (!job->attempts)
		js->t0 = now;
	if (m->obs && m->obs->before &&
	    (stop = m->obs->before(m->obs->ctx, i, job->attempts + 1))) {
		job->stopped = stop;
		js->state = JOB_DONE;
		m->left--;
		return 0;
	}
	left = (double)m->p.deadline_ms - (now - js->t0);
	js->r.timeout_ms = js->base_to;
	if (left < (double)js->r.timeout_ms)
		js->r.timeout_ms = left > 1 ? (long)left : 1;
	dk_http_response_dispose(&job->resp);
	if (!js->h && !(js->h = curl_easy_init())) {
		dk_error_set(DK_ERROR, "http: libcurl failed");
		job->resp.neterr = DK_HTTP_NET_OTHER;
		job_attempt_done(m, i, DK_ERROR);
		return 0;
	}
	curl_easy_reset(js->h);
	rc = attempt_prepare(&js->a, &job->resp, js->h, &js->r);
	if (rc < 0) {
		attempt_release(&js->a);
		job_attempt_done(m, i, rc);
		return 0;
	}
	curl_easy_setopt(js->h, CURLOPT_PRIVATE, (void *)&m->st[i]);
	if (curl_multi_add_handle(multi, js->h) != CURLM_OK) {
		attempt_release(&js->a);
		return dk_error_set(DK_ERROR, "http: adding a transfer failed");
	}
	js->state = JOB_RUN;
	m->running++;
	return 0;
}

static void sleep_until(double t)
{
	double now = dk_mono_ms();

	if (t > now)
		sleep_ms((long)(t - now) + 1);
}

int dk_http_send_all(struct dk_http_job *jobs, size_t njobs,
                     size_t max_in_flight, const struct dk_http_retry *policy,
                     const struct dk_http_multi_observer *obs)
{
	struct multi_run m = { jobs, NULL, { 0 }, obs, njobs, 0 };
	CURLM *multi = NULL;
	size_t i;
	int rc = 0;

	if (!max_in_flight)
		max_in_flight = 1;
	policy_defaults(&m.p, policy);
	for (i = 0; i < njobs; i++) {
		memset(&jobs[i].resp, 0, sizeof(jobs[i].resp));
		jobs[i].resp.retry_after_ms = -1;
		jobs[i].verdict = DK_HTTP_FAILED;
		jobs[i].attempts = 0;
		jobs[i].stopped = 0;
		jobs[i].error = NULL;
	}
	if (!njobs)
		return 0;
	if (ensure_global() < 0)
		return DK_ERROR;
	m.st = calloc(njobs, sizeof(*m.st));
	multi = curl_multi_init();
	if (!m.st || !multi) {
		rc = dk_error_set(DK_ERROR, "http: out of memory");
		goto done;
	}
	for (i = 0; i < njobs; i++) {
		if (!jobs[i].req) {
			rc = dk_error_set(DK_EINVALID,
			                  "http: job %zu has no "
			                  "request",
			                  i);
			goto done;
		}
		m.st[i].r = *jobs[i].req;
		m.st[i].base_to = jobs[i].req->timeout_ms > 0
		                      ? jobs[i].req->timeout_ms
		                      : DK_HTTP_TIMEOUT_DEFAULT;
		m.st[i].state = JOB_WAIT;
	}
	while (m.left) {
		double now = dk_mono_ms(), next = -1;
		CURLMsg *msg;
		int still, q;

		for (i = 0; i < njobs; i++) {
			if (m.st[i].state != JOB_WAIT)
				continue;
			if (m.running < max_in_flight &&
			    m.st[i].ready_at <= now) {
				if ((rc = job_start(&m, multi, i)) < 0)
					goto done;
			}
			if (m.st[i].state == JOB_WAIT &&
			    (next < 0 || m.st[i].ready_at < next))
				next = m.st[i].ready_at;
		}
		if (!m.running) {
			if (m.left && next >= 0)
				sleep_until(next);
			continue;
		}
		if (curl_multi_perform(multi, &still) != CURLM_OK) {
			rc = dk_error_set(DK_ERROR,
			                  "http: transfer loop failed");
			goto done;
		}
		while ((msg = curl_multi_info_read(multi, &q))) {
			struct jobstate *js = NULL;
			size_t k;
			int arc;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			                  (char **)&js);
			k = (size_t)(js - m.st);
			arc = attempt_finish(&js->a, &jobs[k].resp, js->h,
			                     msg->data.result);
			curl_multi_remove_handle(multi, js->h);
			attempt_release(&js->a);
			m.running--;
			job_attempt_done(&m, k, arc);
		}
		if (m.running) {
			long wait = 1000;
			now = dk_mono_ms();
			if (next >= 0 && m.running < max_in_flight)
				wait = next > now ? (long)(next - now) + 1 : 0;
			if (wait > 1000)
				wait = 1000;
			curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
		}
	}
done:
	for (i = 0; m.st && i < njobs; i++) {
		if (m.st[i].state == JOB_RUN) {
			curl_multi_remove_handle(multi, m.st[i].h);
			attempt_release(&m.st[i].a);
		}
		if (rc < 0 && m.st[i].state != JOB_DONE) {
			jobs[i].verdict = DK_HTTP_FAILED;
			job_set_error(&jobs[i], dk_error_last());
		}
		if (m.st[i].h)
			curl_easy_cleanup(m.st[i].h);
	}
	curl_multi_cleanup(multi);
	free(m.st);
	return rc;
}

void dk_http_job_dispose(struct dk_http_job *job)
{
	if (!job)
		return;
	dk_http_response_dispose(&job->resp);
	free(job->error);
	job->error = NULL;
}
