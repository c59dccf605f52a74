/*
 * sshsig-bench: how fast lib/sshsig signs and verifies SSHSIG signatures.
 * Prints rates; asserts nothing. Keys are made with the real ssh-keygen in
 * a temporary directory.
 *
 *   build/bench/sshsig-bench [SECONDS_PER_CASE]   (default 1)
 */
#include "error.h"
#include "sshkey.h"
#include "sshsig.h"
#include "util.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char msg[] =
    "{\"ledger\":\"L-1\",\"proposal\":\"p-7f3a\",\"decision\":\"approve\","
    "\"principal\":\"alice\",\"time\":\"2026-11-21T20:46:02Z\"}\n";

static int run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

static int make_key(const char *dir, const char *name, const char *type,
                    const char *bits)
{
	char path[4096];
	char *argv[] = { "ssh-keygen", "-q",         "-t", (char *)type,
		         "-b",         (char *)bits, "-N", "",
		         "-f",         path,         NULL };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return run(argv);
}

static void die(const char *what)
{
	fprintf(stderr, "sshsig-bench: %s: %s\n", what, dk_error_last());
	exit(1);
}

/* Verify repeatedly for about `secs` seconds; returns per second. */
static double bench_verify(const char *sig, const dk_sshkey *key, double secs,
                           int preparsed)
{
	dk_sshsig *parsed = NULL;
	double t0 = dk_mono_ms(), t;
	long n = 0;

	if (preparsed && dk_sshsig_parse(&parsed, sig, strlen(sig)) < 0)
		die("parse");
	do {
		int i;
		for (i = 0; i < 32; i++) {
			int rc =
			    preparsed
			        ? dk_sshsig_check(parsed, DK_SSHSIG_NS_APPROVAL,
			                          msg, strlen(msg), key)
			        : dk_sshsig_verify(sig, strlen(sig),
			                           DK_SSHSIG_NS_APPROVAL, msg,
			                           strlen(msg), key);
			if (rc < 0)
				die("verify");
		}
		n += 32;
		t = dk_mono_ms() - t0;
	} while (t < secs * 1000);
	dk_sshsig_free(parsed);
	return n / (t / 1000);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name, *type, *bits;
	} keys[] = {
		{ "ed25519", "ed25519", "256" },
		{ "ecdsa-p256", "ecdsa", "256" },
		{ "rsa-2048", "rsa", "2048" },
		{ "rsa-4096", "rsa", "4096" },
	};
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	char dir[] = "/tmp/sshsig-bench.XXXXXX";
	size_t i;

	if (secs <= 0)
		secs = 1.0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("# sshsig-bench: %.1f s per case, message %zu bytes\n", secs,
	       strlen(msg));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct dk_sshsig_sign_opts o = DK_SSHSIG_SIGN_OPTS_INIT;
		enum dk_sshsig_method used;
		char path[4096], pub[4200];
		dk_sshkey *key = NULL;
		char *sig = NULL;
		double t0, sign_ms;

		if (make_key(dir, keys[i].name, keys[i].type, keys[i].bits) <
		    0) {
			fprintf(stderr, "sshsig-bench: ssh-keygen failed\n");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, keys[i].name);
		snprintf(pub, sizeof(pub), "%s.pub", path);
		if (dk_sshkey_load_public(&key, pub) < 0)
			die("load key");
		t0 = dk_mono_ms();
		if (dk_sshsig_sign(&sig, &used, path, DK_SSHSIG_NS_APPROVAL,
		                   msg, strlen(msg), &o) < 0)
			die("sign");
		sign_ms = dk_mono_ms() - t0;
		printf("%-11s sign %-10s %8.2f ms   verify %8.0f/s   "
		       "check pre-parsed %8.0f/s\n",
		       keys[i].name,
		       used == DK_SSHSIG_NATIVE ? "native" : "ssh-keygen",
		       sign_ms, bench_verify(sig, key, secs, 0),
		       bench_verify(sig, key, secs, 1));
		if (keys[i].type[0] == 'e' && keys[i].type[1] == 'd') {
			/* Native signing throughput (load key + sign). */
			double t1 = dk_mono_ms();
			long n = 0;
			do {
				char *s2 = NULL;
				if (dk_sshsig_sign(&s2, NULL, path,
				                   DK_SSHSIG_NS_APPROVAL, msg,
				                   strlen(msg), &o) < 0)
					die("sign");
				free(s2);
				n++;
			} while (dk_mono_ms() - t1 < secs * 1000);
			printf("%-11s native sign (load key + sign) %8.0f/s\n",
			       keys[i].name, n / ((dk_mono_ms() - t1) / 1000));
		}
		free(sig);
		dk_sshkey_free(key);
		unlink(path);
		unlink(pub);
	}
	rmdir(dir);
	return 0;
}
