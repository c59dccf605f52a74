/*
 * sshsig-tool: a small command line over lib/sshsig.h for the tests.
 *
 *   sshsig-tool sign -f KEY -n NS [-m auto|native|keygen] [-H HASH]
 *               [-p PROGRAM] [-t MS] [-v]        < msg > sig
 *   sshsig-tool verify -k KEYFILE|KEYLINE -n NS -s SIG       < msg
 *   sshsig-tool verify-signers -f FILE -I PRINCIPAL -n NS -s SIG
 *               [-T TIME]                                   < msg
 *   sshsig-tool find-principals -f FILE -n NS -s SIG [-T TIME]
 *   sshsig-tool fingerprint KEYFILE|KEYLINE
 *   sshsig-tool signers FILE
 *   sshsig-tool show SIG
 *
 * Exit status: 0 success, 1 refused (DK_EREFUSED), 2 invalid input
 * (DK_EINVALID), 3 any other failure, 64 usage. Errors are printed as
 * "sshsig-tool: COMMAND: message".
 */
#include "error.h"
#include "sshkey.h"
#include "sshsig.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *cmd = "";

static int fail(int rc)
{
	fprintf(stderr, "sshsig-tool: %s: %s\n", cmd, dk_error_last());
	if (rc == DK_EREFUSED)
		return 1;
	if (rc == DK_EINVALID)
		return 2;
	return 3;
}

static int usage(void)
{
	fprintf(stderr, "usage: sshsig-tool sign|verify|verify-signers|"
	                "find-principals|fingerprint|signers|show ...\n");
	return 64;
}

static int read_stdin(char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t got;

	if (!buf)
		return dk_error_set(DK_ERROR, "out of memory");
	while ((got = read(0, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return dk_error_set(DK_ERROR, "out of memory");
			}
			buf = nb;
		}
	}
	if (got < 0) {
		free(buf);
		return dk_error_set_errno(DK_EIO, "standard input");
	}
	*out = buf;
	*len = n;
	return 0;
}

static int load_key(dk_sshkey **out, const char *arg)
{
	if (!strncmp(arg, "ssh-", 4) || !strncmp(arg, "ecdsa-", 6) ||
	    !strncmp(arg, "sk-", 3))
		return dk_sshkey_parse(out, arg);
	return dk_sshkey_load_public(out, arg);
}

static const char *key_label(const dk_sshkey *k)
{
	switch (dk_sshkey_kind(k)) {
	case DK_SSHKEY_ED25519:
		return "ED25519";
	case DK_SSHKEY_ECDSA_P256:
	case DK_SSHKEY_ECDSA_P384:
	case DK_SSHKEY_ECDSA_P521:
		return "ECDSA";
	case DK_SSHKEY_RSA:
		return "RSA";
	case DK_SSHKEY_OTHER:
		break;
	}
	return !strcmp(dk_sshkey_type(k), "sk-ssh-ed25519@openssh.com")
	           ? "ED25519-SK"
	           : "ECDSA-SK";
}

struct args {
	const char *f, *n, *s, *k, *I, *m, *H, *p;
	int t, v;
	int64_t T;
	int has_T;
};

static int parse_args(struct args *a, int argc, char **argv)
{
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt(argc, argv, "f:n:s:k:I:m:H:p:t:T:v")) != -1) {
		switch (c) {
		case 'f':
			a->f = optarg;
			break;
		case 'n':
			a->n = optarg;
			break;
		case 's':
			a->s = optarg;
			break;
		case 'k':
			a->k = optarg;
			break;
		case 'I':
			a->I = optarg;
			break;
		case 'm':
			a->m = optarg;
			break;
		case 'H':
			a->H = optarg;
			break;
		case 'p':
			a->p = optarg;
			break;
		case 't':
			a->t = (int)strtol(optarg, NULL, 10);
			break;
		case 'T':
			a->T = strtoll(optarg, NULL, 10);
			a->has_T = 1;
			break;
		case 'v':
			a->v = 1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int cmd_sign(struct args *a)
{
	struct dk_sshsig_sign_opts o = DK_SSHSIG_SIGN_OPTS_INIT;
	enum dk_sshsig_method used = DK_SSHSIG_AUTO;
	char *msg = NULL, *sig = NULL;
	size_t len;
	int rc;

	if (!a->f || !a->n)
		return usage();
	if (a->m && !strcmp(a->m, "native"))
		o.method = DK_SSHSIG_NATIVE;
	else if (a->m && !strcmp(a->m, "keygen"))
		o.method = DK_SSHSIG_KEYGEN;
	else if (a->m && strcmp(a->m, "auto"))
		return usage();
	o.hash_alg = a->H;
	o.program = a->p;
	o.timeout_ms = a->t;
	if ((rc = read_stdin(&msg, &len)) < 0)
		return fail(rc);
	rc = dk_sshsig_sign(&sig, &used, a->f, a->n, msg, len, &o);
	free(msg);
	if (rc < 0)
		return fail(rc);
	fputs(sig, stdout);
	if (a->v)
		fprintf(stderr, "signed-by: %s\n",
		        used == DK_SSHSIG_NATIVE ? "native" : "ssh-keygen");
	free(sig);
	return 0;
}

static int read_sig(char **sig, size_t *slen, char **msg, size_t *mlen,
                    const char *path)
{
	int rc;

	if ((rc = dk_read_file(sig, slen, path, 1024 * 1024)) < 0)
		return rc;
	if ((rc = read_stdin(msg, mlen)) < 0) {
		free(*sig);
		*sig = NULL;
	}
	return rc;
}

static int cmd_verify(struct args *a)
{
	dk_sshkey *key = NULL;
	char *sig = NULL, *msg = NULL, *fp = NULL;
	size_t sl, ml;
	int rc;

	if (!a->k || !a->n || !a->s)
		return usage();
	if ((rc = load_key(&key, a->k)) < 0)
		return fail(rc);
	if ((rc = read_sig(&sig, &sl, &msg, &ml, a->s)) < 0)
		goto done;
	if ((rc = dk_sshsig_verify(sig, sl, a->n, msg, ml, key)) < 0)
		goto done;
	if ((rc = dk_sshkey_fingerprint(&fp, key)) < 0)
		goto done;
	printf("good signature by %s %s\n", dk_sshkey_type(key), fp);
done:
	free(fp);
	free(sig);
	free(msg);
	dk_sshkey_free(key);
	return rc < 0 ? fail(rc) : 0;
}

static int cmd_verify_signers(struct args *a)
{
	struct dk_allowed_signers *s = NULL;
	const struct dk_allowed_signer *e = NULL;
	char *sig = NULL, *msg = NULL, *fp = NULL;
	size_t sl, ml;
	int rc;

	if (!a->f || !a->I || !a->n || !a->s)
		return usage();
	if ((rc = dk_allowed_signers_load(&s, a->f)) < 0)
		return fail(rc);
	if ((rc = read_sig(&sig, &sl, &msg, &ml, a->s)) < 0)
		goto done;
	rc = dk_sshsig_verify_signers(&e, sig, sl, a->n, msg, ml, s, a->I,
	                              a->has_T ? a->T : dk_now());
	if (rc < 0)
		goto done;
	if ((rc = dk_sshkey_fingerprint(&fp, e->key)) < 0)
		goto done;
	printf("good signature for %s with %s %s (line %zu)\n", a->I,
	       dk_sshkey_type(e->key), fp, e->line);
done:
	free(fp);
	free(sig);
	free(msg);
	dk_allowed_signers_free(s);
	return rc < 0 ? fail(rc) : 0;
}

static int cmd_find_principals(struct args *a)
{
	struct dk_allowed_signers *s = NULL;
	dk_sshsig *sig = NULL;
	char *who = NULL, *text = NULL;
	size_t len;
	int rc;

	if (!a->f || !a->n || !a->s)
		return usage();
	if ((rc = dk_allowed_signers_load(&s, a->f)) < 0)
		return fail(rc);
	if ((rc = dk_read_file(&text, &len, a->s, 1024 * 1024)) < 0 ||
	    (rc = dk_sshsig_parse(&sig, text, len)) < 0)
		goto done;
	rc = dk_allowed_signers_find_principals(
	    &who, s, dk_sshsig_key(sig), a->n, a->has_T ? a->T : dk_now());
	if (rc == 0) {
		char *p;
		for (p = who; *p; p++)
			if (*p == ',')
				*p = '\n';
		printf("%s\n", who);
	}
done:
	free(who);
	free(text);
	dk_sshsig_free(sig);
	dk_allowed_signers_free(s);
	return rc < 0 ? fail(rc) : 0;
}

static int cmd_fingerprint(const char *arg)
{
	dk_sshkey *key = NULL;
	char *fp = NULL;
	int rc;

	if ((rc = load_key(&key, arg)) < 0 ||
	    (rc = dk_sshkey_fingerprint(&fp, key)) < 0)
		goto done;
	printf("%u %s %s (%s)\n", dk_sshkey_bits(key), fp,
	       *dk_sshkey_comment(key) ? dk_sshkey_comment(key) : "no comment",
	       key_label(key));
done:
	free(fp);
	dk_sshkey_free(key);
	return rc < 0 ? fail(rc) : 0;
}

static int cmd_signers(const char *path)
{
	struct dk_allowed_signers *s = NULL;
	size_t i;
	int rc;

	if ((rc = dk_allowed_signers_load(&s, path)) < 0)
		return fail(rc);
	for (i = 0; i < s->n; i++) {
		const struct dk_allowed_signer *e = &s->v[i];
		char *fp = NULL;

		if ((rc = dk_sshkey_fingerprint(&fp, e->key)) < 0)
			break;
		printf("%zu %s namespaces=%s%s %s %s\n", e->line, e->principals,
		       e->namespaces ? e->namespaces : "*",
		       e->cert_authority ? " cert-authority" : "",
		       dk_sshkey_type(e->key), fp);
		free(fp);
	}
	dk_allowed_signers_free(s);
	return rc < 0 ? fail(rc) : 0;
}

static int cmd_show(const char *path)
{
	dk_sshsig *sig = NULL;
	char *text = NULL, *fp = NULL;
	size_t len;
	int rc;

	if ((rc = dk_read_file(&text, &len, path, 1024 * 1024)) < 0 ||
	    (rc = dk_sshsig_parse(&sig, text, len)) < 0 ||
	    (rc = dk_sshkey_fingerprint(&fp, dk_sshsig_key(sig))) < 0)
		goto done;
	printf("namespace %s\nhash %s\nkey %s %s\n", dk_sshsig_namespace(sig),
	       dk_sshsig_hash_alg(sig), dk_sshkey_type(dk_sshsig_key(sig)), fp);
done:
	free(fp);
	free(text);
	dk_sshsig_free(sig);
	return rc < 0 ? fail(rc) : 0;
}

int main(int argc, char **argv)
{
	struct args a;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (!strcmp(cmd, "fingerprint") || !strcmp(cmd, "signers") ||
	    !strcmp(cmd, "show")) {
		if (argc != 3)
			return usage();
		if (!strcmp(cmd, "fingerprint"))
			return cmd_fingerprint(argv[2]);
		if (!strcmp(cmd, "signers"))
			return cmd_signers(argv[2]);
		return cmd_show(argv[2]);
	}
	if (parse_args(&a, argc - 1, argv + 1) < 0 || optind != argc - 1)
		return usage();
	if (!strcmp(cmd, "sign"))
		return cmd_sign(&a);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(&a);
	if (!strcmp(cmd, "verify-signers"))
		return cmd_verify_signers(&a);
	if (!strcmp(cmd, "find-principals"))
		return cmd_find_principals(&a);
	return usage();
}
