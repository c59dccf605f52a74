#include "sshsig.h"
#include "error.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define SIG_BEGIN         "-----BEGIN SSH SIGNATURE-----"
#define SIG_END           "-----END SSH SIGNATURE-----"
#define SIG_MAGIC         "SSHSIG"
#define SIG_MAGIC_LEN     6
#define SIG_VERSION       1
#define SIG_LINE_LEN      70
#define SIG_MAX           (64 * 1024)
#define KEYGEN_TIMEOUT_MS 120000
#define KEYGEN_STDERR_MAX 4096

struct dk_sshsig {
	dk_sshkey *key;
	char *ns;
	char *hash_alg;
	unsigned char *sigblob;
	size_t siglen;
};

void dk_sshsig_free(dk_sshsig *sig)
{
	if (!sig)
		return;
	dk_sshkey_free(sig->key);
	free(sig->ns);
	free(sig->hash_alg);
	free(sig->sigblob);
	free(sig);
}

const dk_sshkey *dk_sshsig_key(const dk_sshsig *sig)
{
	return sig->key;
}

const char *dk_sshsig_namespace(const dk_sshsig *sig)
{
	return sig->ns;
}

const char *dk_sshsig_hash_alg(const dk_sshsig *sig)
{
	return sig->hash_alg;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A wire string as a C string: no NUL inside, at most max bytes. */
static char *wire_cstring(const unsigned char *p, size_t n, size_t max)
{
	if (n > max || memchr(p, '\0', n))
		return NULL;
	return strndup((const char *)p, n);
}

static int dearmor(unsigned char **raw, size_t *rawlen, const char *text,
                   size_t len)
{
	const char *p = text, *end = text + len, *b, *e, *q;

	while (p < end && is_space(*p))
		p++;
	if ((size_t)(end - p) < strlen(SIG_BEGIN) ||
	    memcmp(p, SIG_BEGIN, strlen(SIG_BEGIN)))
		return dk_error_set(DK_EINVALID,
		                    "bad armor: missing '" SIG_BEGIN "'");
	b = p + strlen(SIG_BEGIN);
	if (b >= end || (*b != '\n' && *b != '\r'))
		return dk_error_set(DK_EINVALID,
		                    "bad armor: text after '" SIG_BEGIN "'");
	e = memmem(b, (size_t)(end - b), SIG_END, strlen(SIG_END));
	if (!e)
		return dk_error_set(DK_EINVALID,
		                    "bad armor: missing '" SIG_END "'");
	for (q = e + strlen(SIG_END); q < end; q++)
		if (!is_space(*q))
			return dk_error_set(
			    DK_EINVALID, "bad armor: text after '" SIG_END "'");
	if (dk_sshkey__b64_decode(raw, rawlen, b, (size_t)(e - b)) < 0)
		return dk_error_set(DK_EINVALID,
		                    "bad armor: signature is not valid base64");
	return 0;
}

int dk_sshsig_parse(dk_sshsig **out, const char *armored, size_t len)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0, n;
	struct dk_sshrd r;
	const unsigned char *p;
	uint32_t version;
	dk_sshsig *sig = NULL;
	int rc;

	*out = NULL;
	if (len > SIG_MAX)
		return dk_error_set(DK_EINVALID,
		                    "bad armor: signature is larger than %d "
		                    "bytes",
		                    SIG_MAX);
	if ((rc = dearmor(&raw, &rawlen, armored, len)) < 0)
		return rc;
	if (!(sig = calloc(1, sizeof(*sig)))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	r.p = raw;
	r.len = rawlen;
	rc = DK_EINVALID;
	if (rawlen < SIG_MAGIC_LEN || memcmp(raw, SIG_MAGIC, SIG_MAGIC_LEN)) {
		dk_error_set(rc, "malformed signature: no SSHSIG preamble");
		goto done;
	}
	r.p += SIG_MAGIC_LEN;
	r.len -= SIG_MAGIC_LEN;
	if (dk_sshrd__u32(&r, &version) < 0) {
		dk_error_set(rc, "malformed signature: truncated after the "
		                 "SSHSIG preamble");
		goto done;
	}
	if (version != SIG_VERSION) {
		dk_error_set(rc,
		             "malformed signature: unsupported SSHSIG "
		             "version %u",
		             version);
		goto done;
	}
	if (dk_sshrd__string(&r, &p, &n) < 0) {
		dk_error_set(rc, "malformed signature: truncated");
		goto done;
	}
	if (dk_sshkey__from_blob_light(&sig->key, p, n) < 0) {
		dk_error_prefix("malformed signature: public key");
		goto done;
	}
	if (dk_sshrd__string(&r, &p, &n) < 0 ||
	    !(sig->ns = wire_cstring(p, n, 1024)) ||
	    dk_sshrd__string(&r, &p, &n) < 0 || /* reserved */
	    dk_sshrd__string(&r, &p, &n) < 0 ||
	    !(sig->hash_alg = wire_cstring(p, n, 64)) ||
	    dk_sshrd__string(&r, &p, &n) < 0) {
		dk_error_set(rc, "malformed signature: truncated or bad "
		                 "field");
		goto done;
	}
	if (r.len) {
		dk_error_set(rc, "malformed signature: trailing data");
		goto done;
	}
	if (!*sig->ns) {
		dk_error_set(rc, "malformed signature: empty namespace");
		goto done;
	}
	if (!(sig->sigblob = malloc(n ? n : 1))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	memcpy(sig->sigblob, p, n);
	sig->siglen = n;
	*out = sig;
	sig = NULL;
	rc = 0;
done:
	dk_sshsig_free(sig);
	free(raw);
	return rc;
}

static const EVP_MD *hash_md(const char *alg)
{
	if (!strcmp(alg, "sha512"))
		return EVP_sha512();
	if (!strcmp(alg, "sha256"))
		return EVP_sha256();
	return NULL;
}

/* The data an SSHSIG signature covers (PROTOCOL.sshsig). */
static int signed_data(struct dk_sshbuf *b, const char *ns,
                       const char *hash_alg, const void *msg, size_t len)
{
	const EVP_MD *md = hash_md(hash_alg);
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;

	if (!md)
		return dk_error_set(DK_EINVALID,
		                    "unsupported hash algorithm: '%s' (need "
		                    "sha256 or sha512)",
		                    hash_alg);
	if (EVP_Digest(msg, len, h, &hl, md, NULL) != 1)
		return dk_error_set(DK_ERROR, "hashing the message failed");
	dk_sshbuf__put(b, SIG_MAGIC, SIG_MAGIC_LEN);
	dk_sshbuf__put_cstring(b, ns);
	dk_sshbuf__put_string(b, "", 0);
	dk_sshbuf__put_cstring(b, hash_alg);
	dk_sshbuf__put_string(b, h, hl);
	if (b->oom)
		return dk_error_set(DK_ERROR, "out of memory");
	return 0;
}

static int describe_key(char **out, const dk_sshkey *key)
{
	char *fp = NULL;
	size_t n;
	int rc;

	if ((rc = dk_sshkey_fingerprint(&fp, key)) < 0)
		return rc;
	n = strlen(dk_sshkey_type(key)) + 1 + strlen(fp) + 1;
	if (!(*out = malloc(n))) {
		free(fp);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	snprintf(*out, n, "%s %s", dk_sshkey_type(key), fp);
	free(fp);
	return 0;
}

static int key_mismatch(const dk_sshkey *got, const dk_sshkey *want)
{
	char *g = NULL, *w = NULL;

	if (describe_key(&g, got) < 0 || describe_key(&w, want) < 0) {
		free(g);
		return DK_ERROR;
	}
	dk_error_set(DK_EREFUSED, "key mismatch: signed by %s, expected %s", g,
	             w);
	free(g);
	free(w);
	return DK_EREFUSED;
}

int dk_sshsig_check(const dk_sshsig *sig, const char *ns, const void *msg,
                    size_t len, const dk_sshkey *expected)
{
	struct dk_sshbuf b = { 0 };
	int rc;

	if (!ns || !*ns)
		return dk_error_set(DK_EINVALID, "no namespace to check");
	if (strcmp(sig->ns, ns))
		return dk_error_set(DK_EREFUSED,
		                    "wrong namespace: signature is for '%s', "
		                    "expected '%s'",
		                    sig->ns, ns);
	if (!hash_md(sig->hash_alg))
		return dk_error_set(DK_EINVALID,
		                    "unsupported hash algorithm: '%s' (need "
		                    "sha256 or sha512)",
		                    sig->hash_alg);
	if (!dk_sshkey_equal(sig->key, expected))
		return key_mismatch(sig->key, expected);
	if ((rc = signed_data(&b, sig->ns, sig->hash_alg, msg, len)) < 0)
		goto done;
	rc = dk_sshkey__verify(expected, sig->sigblob, sig->siglen, b.p, b.len);
	if (rc == DK_EINVALID)
		dk_error_prefix("malformed signature");
done:
	dk_sshbuf__free(&b);
	return rc;
}

int dk_sshsig_verify(const char *armored, size_t armored_len, const char *ns,
                     const void *msg, size_t len, const dk_sshkey *expected)
{
	dk_sshsig *sig = NULL;
	int rc;

	if ((rc = dk_sshsig_parse(&sig, armored, armored_len)) < 0)
		return rc;
	rc = dk_sshsig_check(sig, ns, msg, len, expected);
	dk_sshsig_free(sig);
	return rc;
}

/* Signing. */

static int armor(char **out, const unsigned char *blob, size_t len)
{
	char *b64 = NULL, *s;
	size_t bl, i, o = 0, cap;
	int rc;

	*out = NULL;
	if ((rc = dk_sshkey__b64_encode(&b64, blob, len)) < 0)
		return rc;
	bl = strlen(b64);
	cap = strlen(SIG_BEGIN) + 1 + bl + bl / SIG_LINE_LEN + 2 +
	      strlen(SIG_END) + 2;
	if (!(s = malloc(cap))) {
		free(b64);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	memcpy(s, SIG_BEGIN "\n", strlen(SIG_BEGIN) + 1);
	o = strlen(SIG_BEGIN) + 1;
	for (i = 0; i < bl; i += SIG_LINE_LEN) {
		size_t n = bl - i < SIG_LINE_LEN ? bl - i : SIG_LINE_LEN;
		memcpy(s + o, b64 + i, n);
		o += n;
		s[o++] = '\n';
	}
	memcpy(s + o, SIG_END "\n", strlen(SIG_END) + 2);
	free(b64);
	*out = s;
	return 0;
}

int dk_sshsig_sign_key(char **out, const dk_sshkey_priv *key, const char *ns,
                       const void *msg, size_t len, const char *hash_alg)
{
	struct dk_sshbuf data = { 0 }, blob = { 0 };
	const dk_sshkey *pub = dk_sshkey_priv_public(key);
	const unsigned char *pb;
	unsigned char *sig = NULL;
	size_t pl, sl = 0;
	int rc;

	*out = NULL;
	if (!hash_alg)
		hash_alg = "sha512";
	if (!ns || !*ns)
		return dk_error_set(DK_EINVALID, "empty signature namespace");
	if ((rc = signed_data(&data, ns, hash_alg, msg, len)) < 0)
		goto done;
	if ((rc = dk_sshkey__sign(&sig, &sl, key, data.p, data.len)) < 0)
		goto done;
	pb = dk_sshkey_blob(pub, &pl);
	dk_sshbuf__put(&blob, SIG_MAGIC, SIG_MAGIC_LEN);
	dk_sshbuf__put_u32(&blob, SIG_VERSION);
	dk_sshbuf__put_string(&blob, pb, pl);
	dk_sshbuf__put_cstring(&blob, ns);
	dk_sshbuf__put_string(&blob, "", 0);
	dk_sshbuf__put_cstring(&blob, hash_alg);
	dk_sshbuf__put_string(&blob, sig, sl);
	if (blob.oom) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	rc = armor(out, blob.p, blob.len);
done:
	free(sig);
	dk_sshbuf__free(&data);
	dk_sshbuf__free(&blob);
	return rc;
}

static int sign_native(char **out, const char *keypath, const char *ns,
                       const void *msg, size_t len, const char *hash_alg)
{
	dk_sshkey_priv *key = NULL;
	int rc;

	if ((rc = dk_sshkey_load_private(&key, keypath)) < 0)
		return rc;
	rc = dk_sshsig_sign_key(out, key, ns, msg, len, hash_alg);
	dk_sshkey_priv_free(key);
	return rc;
}

/* Running ssh-keygen. */

/* Move fd above the standard descriptors so dup2 in the child is safe. */
static int fd_above2(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

struct child_io {
	int in, out, err, status;
};

static void child_exec(const struct child_io *c, char *const argv[])
{
	struct sigaction sa;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	if (dup2(c->in, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->err, 2) < 0)
		_exit(126);
#ifdef CLOSE_RANGE_CLOEXEC
	/* ssh-keygen gets nothing of ours but its three descriptors. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
	execvp(argv[0], argv);
	e = errno;
	if (write(c->status, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Append what fd has to *buf; 1 at EOF, 0 for more, -1 on error. */
static int drain(int fd, struct dk_sshbuf *buf, size_t max)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n == 0)
		return 1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (buf->len < max)
		dk_sshbuf__put(buf, tmp,
		               (size_t)n < max - buf->len ? (size_t)n
		                                          : max - buf->len);
	return 0;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The last non-empty line of ssh-keygen's stderr, for messages. */
static void last_line(char *dst, size_t dl, const struct dk_sshbuf *err)
{
	size_t end = err->len, start;

	while (end && is_space((char)err->p[end - 1]))
		end--;
	start = end;
	while (start && err->p[start - 1] != '\n')
		start--;
	snprintf(dst, dl, "%.*s", (int)(end - start),
	         err->p ? (const char *)err->p + start : "");
}

struct keygen_run {
	const char *program;
	char *const *argv;
	const void *msg;
	size_t len;
	int timeout_ms;
	struct dk_sshbuf out, err;
};

static int pump(struct keygen_run *k, pid_t pid, int in, int out, int err,
                int *status)
{
	double deadline = dk_mono_ms() + k->timeout_ms;
	size_t sent = 0;
	int open_out = 1, open_err = 1, w;

	while (open_out || open_err || in >= 0) {
		struct pollfd pf[3];
		int n = 0, left = (int)(deadline - dk_mono_ms()), i;

		if (left <= 0)
			goto timeout;
		if (in >= 0)
			pf[n++] = (struct pollfd){ in, POLLOUT, 0 };
		if (open_out)
			pf[n++] = (struct pollfd){ out, POLLIN, 0 };
		if (open_err)
			pf[n++] = (struct pollfd){ err, POLLIN, 0 };
		if (poll(pf, (nfds_t)n, left) < 0) {
			if (errno == EINTR)
				continue;
			return dk_error_set_errno(DK_ERROR, "poll");
		}
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == in) {
				ssize_t s =
				    send(in, (const char *)k->msg + sent,
				         k->len - sent, MSG_NOSIGNAL);
				if (s < 0 && errno != EAGAIN && errno != EINTR)
					sent =
					    k->len; /* child stopped reading */
				else if (s > 0)
					sent += (size_t)s;
				if (sent == k->len) {
					close(in);
					in = -1;
				}
			} else if (pf[i].fd == out) {
				int d = drain(out, &k->out, SIG_MAX + 1);
				if (d)
					open_out = 0;
			} else {
				int d = drain(err, &k->err, KEYGEN_STDERR_MAX);
				if (d)
					open_err = 0;
			}
		}
	}
	for (;;) {
		pid_t r = waitpid(pid, &w, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return dk_error_set_errno(DK_ERROR, "waitpid");
		if (dk_mono_ms() >= deadline)
			goto timeout;
		poll(NULL, 0, 5);
	}
	*status = w;
	return 0;
timeout:
	if (in >= 0)
		close(in);
	kill_and_reap(pid);
	return dk_error_set(DK_ETIMEOUT,
	                    "%s did not finish within %d ms (killed)",
	                    k->program, k->timeout_ms);
}

static int run_keygen(struct keygen_run *k)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int st[2] = { -1, -1 }, status = 0, e = 0, rc = DK_ERROR, i;
	struct child_io c;
	char why[512];
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(st, O_CLOEXEC) < 0) {
		rc = dk_error_set_errno(DK_ERROR, "cannot create pipes");
		goto done;
	}
	in[1] = fd_above2(in[1]);
	out[1] = fd_above2(out[1]);
	err[1] = fd_above2(err[1]);
	st[1] = fd_above2(st[1]);
	if (in[1] < 0 || out[1] < 0 || err[1] < 0 || st[1] < 0) {
		rc = dk_error_set_errno(DK_ERROR, "cannot create pipes");
		goto done;
	}
	c = (struct child_io){ in[1], out[1], err[1], st[1] };
	if ((pid = fork()) < 0) {
		rc = dk_error_set_errno(DK_ERROR, "fork");
		goto done;
	}
	if (pid == 0)
		child_exec(&c, k->argv);
	close(in[1]);
	close(out[1]);
	close(err[1]);
	close(st[1]);
	in[1] = out[1] = err[1] = st[1] = -1;
	while ((n = read(st[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		rc = dk_error_set(e == ENOENT ? DK_ENOTFOUND : DK_ERROR,
		                  "cannot run %s: %s", k->program, strerror(e));
		goto done;
	}
	if (set_nonblock(in[0]) < 0 || set_nonblock(out[0]) < 0 ||
	    set_nonblock(err[0]) < 0) {
		kill_and_reap(pid);
		rc = dk_error_set_errno(DK_ERROR, "fcntl");
		goto done;
	}
	rc = pump(k, pid, in[0], out[0], err[0], &status);
	in[0] = -1; /* pump closed it */
	if (rc < 0)
		goto done;
	if (k->out.oom || k->err.oom) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		last_line(why, sizeof(why), &k->err);
		if (WIFSIGNALED(status))
			rc = dk_error_set(
			    DK_ERROR, "%s killed by signal %d%s%s", k->program,
			    WTERMSIG(status), *why ? ": " : "", why);
		else
			rc = dk_error_set(DK_ERROR, "%s failed (exit %d)%s%s",
			                  k->program, WEXITSTATUS(status),
			                  *why ? ": " : "", why);
		goto done;
	}
	rc = 0;
done:
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	return rc;
}

static int sign_keygen(char **out, const char *keypath, const char *ns,
                       const void *msg, size_t len,
                       const struct dk_sshsig_sign_opts *o)
{
	char hashopt[32];
	char *argv[12];
	int argc = 0, rc;
	struct keygen_run k = { 0 };
	dk_sshsig *sig = NULL;

	*out = NULL;
	k.program = o->program ? o->program : "ssh-keygen";
	k.msg = msg;
	k.len = len;
	k.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KEYGEN_TIMEOUT_MS;
	argv[argc++] = (char *)k.program;
	argv[argc++] = "-q";
	argv[argc++] = "-Y";
	argv[argc++] = "sign";
	argv[argc++] = "-f";
	argv[argc++] = (char *)keypath;
	argv[argc++] = "-n";
	argv[argc++] = (char *)ns;
	if (o->hash_alg) {
		snprintf(hashopt, sizeof(hashopt), "hashalg=%s", o->hash_alg);
		argv[argc++] = "-O";
		argv[argc++] = hashopt;
	}
	argv[argc] = NULL;
	k.argv = argv;
	if ((rc = run_keygen(&k)) < 0)
		goto done;
	if (k.out.len > SIG_MAX) {
		rc = dk_error_set(DK_ERROR, "%s wrote too much output",
		                  k.program);
		goto done;
	}
	if ((rc = dk_sshsig_parse(&sig, (const char *)k.out.p, k.out.len)) <
	    0) {
		dk_error_prefix("%s output", k.program);
		goto done;
	}
	/* Check what it made before handing it on. */
	if (dk_sshkey_kind(dk_sshsig_key(sig)) != DK_SSHKEY_OTHER &&
	    (rc = dk_sshsig_check(sig, ns, msg, len, dk_sshsig_key(sig))) < 0) {
		dk_error_prefix("%s output", k.program);
		goto done;
	}
	if (!(*out = strndup((const char *)k.out.p, k.out.len))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	dk_sshsig_free(sig);
	dk_sshbuf__free(&k.out);
	dk_sshbuf__free(&k.err);
	return rc;
}

int dk_sshsig_sign(char **out, enum dk_sshsig_method *used, const char *keypath,
                   const char *ns, const void *msg, size_t len,
                   const struct dk_sshsig_sign_opts *opts)
{
	struct dk_sshsig_sign_opts o = DK_SSHSIG_SIGN_OPTS_INIT;
	char refused[512];
	int rc;

	*out = NULL;
	if (opts)
		o = *opts;
	if (!ns || !*ns)
		return dk_error_set(DK_EINVALID, "empty signature namespace");
	if (!keypath || !*keypath)
		return dk_error_set(DK_EINVALID, "no key file to sign with");
	if (o.hash_alg && !hash_md(o.hash_alg))
		return dk_error_set(DK_EINVALID,
		                    "unsupported hash algorithm: '%s' (need "
		                    "sha256 or sha512)",
		                    o.hash_alg);
	if (o.method != DK_SSHSIG_KEYGEN) {
		rc = sign_native(out, keypath, ns, msg, len, o.hash_alg);
		if (rc == 0 || rc != DK_EREFUSED ||
		    o.method == DK_SSHSIG_NATIVE) {
			if (rc == 0 && used)
				*used = DK_SSHSIG_NATIVE;
			return rc;
		}
		snprintf(refused, sizeof(refused), "%s", dk_error_last());
	} else {
		refused[0] = '\0';
	}
	rc = sign_keygen(out, keypath, ns, msg, len, &o);
	if (rc == 0 && used)
		*used = DK_SSHSIG_KEYGEN;
	if (rc < 0 && *refused)
		dk_error_prefix("native signing refused (%s); ssh-keygen",
		                refused);
	return rc;
}

/* allowed_signers. */

void dk_allowed_signers_free(struct dk_allowed_signers *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].principals);
		free(s->v[i].namespaces);
		dk_sshkey_free(s->v[i].key);
	}
	free(s->v);
	free(s->origin);
	free(s);
}

static int match_pattern(const char *s, const char *p, size_t pl)
{
	/* Iterative glob with backtracking over the last '*'. */
	const char *star = NULL, *ss = NULL, *pe = p + pl;

	while (*s) {
		if (p < pe && (*p == '?' || *p == *s)) {
			s++;
			p++;
		} else if (p < pe && *p == '*') {
			star = p++;
			ss = s;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

int dk_sshsig_match_list(const char *name, const char *list)
{
	const char *p = list;
	int got = 0;

	while (*p) {
		size_t n = strcspn(p, ",");
		int neg = *p == '!';

		if (n > (size_t)neg &&
		    match_pattern(name, p + neg, n - (size_t)neg)) {
			if (neg)
				return 0;
			got = 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return got;
}

/* "YYYYMMDD[HHMM[SS]][Z]"; without Z the time is local, as ssh-keygen. */
/* n decimal digits at s (already checked to be digits). */
static int digits(const char *s, int n)
{
	int v = 0;

	while (n--)
		v = v * 10 + (*s++ - '0');
	return v;
}

static int parse_sig_time(int64_t *out, const char *s)
{
	size_t n = strlen(s), i;
	int utc = 0;
	struct tm tm;
	time_t t;

	if (n && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		utc = 1;
		n--;
	}
	if (n != 8 && n != 12 && n != 14)
		return DK_EINVALID;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return DK_EINVALID;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 4, 2) - 1;
	tm.tm_mday = digits(s + 6, 2);
	if (n >= 12) {
		tm.tm_hour = digits(s + 8, 2);
		tm.tm_min = digits(s + 10, 2);
	}
	if (n == 14)
		tm.tm_sec = digits(s + 12, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return DK_EINVALID;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return DK_EINVALID;
	*out = (int64_t)t;
	return 0;
}

/* A double-quoted value at *p (backslash escapes a quote); advances *p. */
static int dequote(char **out, const char **p)
{
	const char *s = *p;
	char *v, *o;

	if (*s != '"')
		return DK_EINVALID;
	s++;
	if (!(v = malloc(strlen(s) + 1)))
		return DK_ERROR;
	o = v;
	while (*s && *s != '"') {
		if (*s == '\\' && s[1] == '"')
			s++;
		*o++ = *s++;
	}
	if (*s != '"') {
		free(v);
		return DK_EINVALID;
	}
	*o = '\0';
	*p = s + 1;
	*out = v;
	return 0;
}

static int opt_name(const char **p, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(*p, name, n))
		return 0;
	*p += n;
	return 1;
}

/* Options up to the first unquoted blank; *p is left after them. */
static int parse_options(struct dk_allowed_signer *e, const char **p, char *why,
                         size_t wl)
{
	const char *s = *p;
	char *val = NULL;
	int64_t *tp;

	for (;;) {
		if (opt_name(&s, "cert-authority")) {
			if (e->cert_authority) {
				snprintf(why, wl, "duplicate cert-authority");
				return DK_EINVALID;
			}
			e->cert_authority = 1;
		} else if (opt_name(&s, "namespaces=")) {
			if (e->namespaces) {
				snprintf(why, wl, "duplicate namespaces");
				return DK_EINVALID;
			}
			if (dequote(&e->namespaces, &s) < 0) {
				snprintf(why, wl,
				         "namespaces= needs a quoted value");
				return DK_EINVALID;
			}
		} else if (opt_name(&s, "valid-after=") ||
		           opt_name(&s, "valid-before=")) {
			tp = tolower((unsigned char)s[-7]) == 'a'
			         ? &e->valid_after
			         : &e->valid_before;
			if (dequote(&val, &s) < 0 ||
			    parse_sig_time(tp, val) < 0) {
				snprintf(why, wl,
				         "bad time '%s' (need "
				         "\"YYYYMMDD[HHMM[SS]][Z]\")",
				         val ? val : "");
				free(val);
				return DK_EINVALID;
			}
			free(val);
			val = NULL;
		} else {
			size_t n = strcspn(s, ",= \t");
			snprintf(why, wl, "unknown option '%.*s'",
			         (int)(n > 40 ? 40 : n), s);
			return DK_EINVALID;
		}
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == ' ' || *s == '\t')
			break;
		snprintf(why, wl, "bad option list");
		return DK_EINVALID;
	}
	*p = s;
	return 0;
}

static int is_key_type_start(const char *s)
{
	return !strncmp(s, "ssh-", 4) || !strncmp(s, "ecdsa-", 6) ||
	       !strncmp(s, "sk-", 3);
}

/* One non-comment line (NUL-terminated, no newline). */
static int parse_signer_line(struct dk_allowed_signer *e, const char *line,
                             char *why, size_t wl)
{
	const char *p = line, *st;
	size_t n;

	if (*p == '"') {
		st = ++p;
		p = strchr(p, '"');
		if (!p) {
			snprintf(why, wl, "unterminated quoted principals");
			return DK_EINVALID;
		}
		n = (size_t)(p - st);
		p++;
	} else {
		st = p;
		n = strcspn(p, " \t");
		p += n;
	}
	if (!n) {
		snprintf(why, wl, "empty principals");
		return DK_EINVALID;
	}
	if (!(e->principals = strndup(st, n)))
		return DK_ERROR;
	if (*p != ' ' && *p != '\t') {
		snprintf(why, wl, "no key after principals");
		return DK_EINVALID;
	}
	p += strspn(p, " \t");
	if (!is_key_type_start(p)) {
		int rc = parse_options(e, &p, why, wl);
		if (rc < 0)
			return rc;
		p += strspn(p, " \t");
	}
	if (!*p) {
		snprintf(why, wl, "no key");
		return DK_EINVALID;
	}
	if (dk_sshkey_parse(&e->key, p) < 0) {
		snprintf(why, wl, "%s", dk_error_last());
		return DK_EINVALID;
	}
	return 0;
}

int dk_allowed_signers_parse(struct dk_allowed_signers **out, const char *text,
                             size_t len, const char *origin)
{
	struct dk_allowed_signers *s = NULL;
	const char *p = text, *end = text + len;
	char *line = NULL, why[512];
	size_t lineno = 0, cap = 0;
	int rc = 0;

	*out = NULL;
	if (!origin)
		origin = "allowed_signers";
	if (!(s = calloc(1, sizeof(*s))) || !(s->origin = strdup(origin))) {
		rc = dk_error_set(DK_ERROR, "out of memory");
		goto done;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *l;
		struct dk_allowed_signer *e;

		lineno++;
		free(line);
		if (memchr(p, '\0', n)) {
			line = NULL;
			rc = dk_error_set(DK_EINVALID, "%s:%zu: NUL byte",
			                  origin, lineno);
			goto done;
		}
		if (!(line = strndup(p, n))) {
			rc = dk_error_set(DK_ERROR, "out of memory");
			goto done;
		}
		p += n + (nl ? 1 : 0);
		l = line + strspn(line, " \t");
		n = strlen(l);
		while (n && is_space(l[n - 1]))
			l[--n] = '\0';
		if (!*l || *l == '#')
			continue;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct dk_allowed_signer *nv =
			    realloc(s->v, nc * sizeof(*nv));
			if (!nv) {
				rc = dk_error_set(DK_ERROR, "out of memory");
				goto done;
			}
			s->v = nv;
			cap = nc;
		}
		e = &s->v[s->n++];
		memset(e, 0, sizeof(*e));
		e->line = lineno;
		why[0] = '\0';
		if ((rc = parse_signer_line(e, l, why, sizeof(why))) < 0) {
			if (rc == DK_ERROR)
				dk_error_set(rc, "out of memory");
			else
				dk_error_set(rc, "%s:%zu: %s", origin, lineno,
				             why);
			goto done;
		}
	}
	*out = s;
	s = NULL;
done:
	free(line);
	dk_allowed_signers_free(s);
	return rc;
}

int dk_allowed_signers_load(struct dk_allowed_signers **out, const char *path)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = dk_read_file(&buf, &len, path, 16 * 1024 * 1024)) < 0)
		return rc;
	rc = dk_allowed_signers_parse(out, buf, len, path);
	free(buf);
	return rc;
}

/* Why entry e does not allow ns at now, or NULL when it does. */
static const char *entry_excludes(const struct dk_allowed_signer *e,
                                  const char *ns, int64_t now)
{
	if (e->namespaces && !dk_sshsig_match_list(ns, e->namespaces))
		return "namespace";
	if (e->valid_after && now < e->valid_after)
		return "not yet valid";
	if (e->valid_before && now > e->valid_before)
		return "expired";
	return NULL;
}

static int not_allowed(int code, const struct dk_allowed_signers *s,
                       const struct dk_allowed_signer *e, const char *principal,
                       const char *ns, const char *why, const dk_sshkey *key)
{
	char *fp = NULL;

	if (dk_sshkey_fingerprint(&fp, key) < 0)
		return DK_ERROR;
	if (!e)
		dk_error_set(code,
		             "not allowed: %s%s%s has no entry for key %s in "
		             "%s",
		             principal ? "principal '" : "any principal",
		             principal ? principal : "", principal ? "'" : "",
		             fp, s->origin);
	else if (!strcmp(why, "namespace"))
		dk_error_set(code,
		             "not allowed: %s:%zu allows key %s only for "
		             "namespaces \"%s\", not '%s'",
		             s->origin, e->line, fp, e->namespaces, ns);
	else
		dk_error_set(code, "not allowed: %s:%zu: key %s is %s",
		             s->origin, e->line, fp, why);
	free(fp);
	return code;
}

static int match_entry(const struct dk_allowed_signer **out,
                       const struct dk_allowed_signers *s,
                       const char *principal, const char *ns,
                       const dk_sshkey *key, int64_t now)
{
	const struct dk_allowed_signer *refused = NULL;
	const char *why = NULL;
	size_t i;

	*out = NULL;
	for (i = 0; i < s->n; i++) {
		const struct dk_allowed_signer *e = &s->v[i];
		const char *w;

		if (e->cert_authority || !dk_sshkey_equal(e->key, key))
			continue;
		if (principal &&
		    !dk_sshsig_match_list(principal, e->principals))
			continue;
		if (!(w = entry_excludes(e, ns, now))) {
			*out = e;
			return 0;
		}
		if (!refused) {
			refused = e;
			why = w;
		}
	}
	if (refused)
		return not_allowed(DK_EREFUSED, s, refused, principal, ns, why,
		                   key);
	return not_allowed(DK_ENOTFOUND, s, NULL, principal, ns, NULL, key);
}

int dk_allowed_signers_match(const struct dk_allowed_signer **out,
                             const struct dk_allowed_signers *s,
                             const char *principal, const char *ns,
                             const dk_sshkey *key, int64_t now)
{
	if (!principal)
		return dk_error_set(DK_EINVALID, "no principal to match");
	return match_entry(out, s, principal, ns, key, now);
}

int dk_allowed_signers_find_principals(char **out,
                                       const struct dk_allowed_signers *s,
                                       const dk_sshkey *key, const char *ns,
                                       int64_t now)
{
	const struct dk_allowed_signer *e = NULL;
	struct dk_sshbuf b = { 0 };
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = match_entry(&e, s, NULL, ns, key, now)) < 0)
		return rc;
	for (i = (size_t)(e - s->v); i < s->n; i++) {
		e = &s->v[i];
		if (e->cert_authority || !dk_sshkey_equal(e->key, key) ||
		    entry_excludes(e, ns, now))
			continue;
		if (b.len)
			dk_sshbuf__put(&b, ",", 1);
		dk_sshbuf__put(&b, e->principals, strlen(e->principals));
	}
	dk_sshbuf__put(&b, "", 1);
	if (b.oom) {
		dk_sshbuf__free(&b);
		return dk_error_set(DK_ERROR, "out of memory");
	}
	*out = (char *)b.p;
	return 0;
}

int dk_sshsig_verify_signers(const struct dk_allowed_signer **out,
                             const char *armored, size_t armored_len,
                             const char *ns, const void *msg, size_t len,
                             const struct dk_allowed_signers *s,
                             const char *principal, int64_t now)
{
	const struct dk_allowed_signer *e = NULL;
	dk_sshsig *sig = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!principal)
		return dk_error_set(DK_EINVALID, "no principal to verify");
	if ((rc = dk_sshsig_parse(&sig, armored, armored_len)) < 0)
		return rc;
	if ((rc = dk_sshsig_check(sig, ns, msg, len, dk_sshsig_key(sig))) < 0)
		goto done;
	if ((rc = match_entry(&e, s, principal, ns, dk_sshsig_key(sig), now)) <
	    0) {
		if (rc == DK_ENOTFOUND) {
			char why[1024];
			snprintf(why, sizeof(why), "%s", dk_error_last());
			rc = dk_error_set(DK_EREFUSED, "%s", why);
		}
		goto done;
	}
	if (out)
		*out = e;
done:
	dk_sshsig_free(sig);
	return rc;
}
