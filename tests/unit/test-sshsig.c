/*
 * Unit tests for lib/sshkey and lib/sshsig. The vectors below were made
 * with OpenSSH 9.2 (ssh-keygen -t ... ; ssh-keygen -Y sign; ssh-keygen
 * -l), so they check interoperability, not only self-consistency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "sshkey.h"
#include "sshsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS  DK_SSHSIG_NS_APPROVAL
#define MSG "approve p-1\n"

static const char ed_priv[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDYuHJDPY85orLkdhJRdt3kDdD/GAnbFfzKrd8c+xMkZgAAAJA1EvVANRL1\n"
    "QAAAAAtzc2gtZWQyNTUxOQAAACDYuHJDPY85orLkdhJRdt3kDdD/GAnbFfzKrd8c+xMkZg\n"
    "AAAEChzStZKF8hbq+VGWxGS5Te3328cSUyDSRfBPJRXlrEJ9i4ckM9jzmisuR2ElF23eQN\n"
    "0P8YCdsV/Mqt3xz7EyRmAAAACHZlY0B0ZXN0AQIDBAU=\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static const char ed_pub[] = "ssh-ed25519 "
                             "AAAAC3NzaC1lZDI1NTE5AAAAINi4ckM9jzmisuR2ElF23eQN"
                             "0P8YCdsV/Mqt3xz7EyRm vec@test";
static const char ed_fp[] =
    "SHA256:tbdSot2XLAcBCSmwQ74O0ENheyAME5A1vanFWKy1uBY";

/* ssh-keygen -Y sign -f ed -n docket-approval@docket < MSG */
static const char ed_sig[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg2LhyQz2POaKy5HYSUXbd5A3Q/x\n"
    "gJ2xX8yq3fHPsTJGYAAAAWZG9ja2V0LWFwcHJvdmFsQGRvY2tldAAAAAAAAAAGc2hhNTEy\n"
    "AAAAUwAAAAtzc2gtZWQyNTUxOQAAAECOsS8fwU86bltPjwEvEgWlZ1vfZlZwom83TFQXgP\n"
    "ZXb1hzI4O6knwj063AeP1KTNfHFkJOCwdjhx7SGHvgdocN\n"
    "-----END SSH SIGNATURE-----\n";

static const char ec_pub[] =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEZkwZXs2sfXK5P1Di"
    "vG614PzE3S0Fs7Zp9jcdARU1VRCJLbc3OoaaJkMEqeTG5VG0KmGqmg4dOI2ZFhppjZjBU= "
    "ec@test";
static const char ec_fp[] =
    "SHA256:tY3Hp5qgtU3rdgO7a3CBAHN64ij9RlD+0aMkXbKKtw0";
static const char ec_sig[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
    "EERmTBlezax9crk/UOK8brXg/MTdLQWztmn2Nx0BFTVVEIkttzc6hpomQwSp5MblUbQqYa\n"
    "qaDh04jZkWGmmNmMFQAAABZkb2NrZXQtYXBwcm92YWxAZG9ja2V0AAAAAAAAAAZzaGE1MT\n"
    "IAAABkAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAABJAAAAIQDuENlUio1jzJFLAcl+7teL\n"
    "w6FYxXyWJ/+vfRcbZn7oswAAACAJ/nuQo52L1MjywQlr8ih/CW8m6f9HGo/HqasekwHRlw\n"
    "==\n"
    "-----END SSH SIGNATURE-----\n";

static const char rsa_pub[] =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQCmlJ6A42giAqLJ2n51/RHbq1k5YLwcSBXYaZP+XZ"
    "0M9QIoCSSVPeo11Nvwj6CpZP1LIBBpBiJhmCuDIwa2nx/UvmW9LPw/r5HWJApENJidzycE"
    "6PttVyCtJp+NrHUthU5hSOhaSylByZkTy0tc8EUdSYXeOAs/CA3cIWc4p1Okx3RFRH6Dvr"
    "vAvA3eZK1y/RDlTt3bqaLHeXa6FIQWAv/EfLVtR6mdQ/IBdECiC36hI1E5RbTLKcnjALsj"
    "pPQgP/UoFV+Ansx/4NlORTwFJlfwKCPIV3tEFlDA0nlXtvgBQFvHMeNfvmdJ5YBlQXJ/a7"
    "lNHTI7oCupHbO5G2RQq6G9 rsa@test";
static const char rsa_fp[] =
    "SHA256:T7wJTR3WmkxIYIvax251fuPyP6y7b7xObAWe6ymW9VU";
/* -O hashalg=sha256; the RSA signature itself is rsa-sha2-512 */
static const char rsa_sig[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAARcAAAAHc3NoLXJzYQAAAAMBAAEAAAEBAKaUnoDjaCICosnafnX9Ed\n"
    "urWTlgvBxIFdhpk/5dnQz1AigJJJU96jXU2/CPoKlk/UsgEGkGImGYK4MjBrafH9S+Zb0s\n"
    "/D+vkdYkCkQ0mJ3PJwTo+21XIK0mn42sdS2FTmFI6FpLKUHJmRPLS1zwRR1Jhd44Cz8IDd\n"
    "whZzinU6THdEVEfoO+u8C8Dd5krXL9EOVO3duposd5droUhBYC/8R8tW1HqZ1D8gF0QKIL\n"
    "fqEjUTlFtMspyeMAuyOk9CA/9SgVX4CezH/g2U5FPAUmV/AoI8hXe0QWUMDSeVe2+AFAW8\n"
    "cx41++Z0nlgGVBcn9ruU0dMjugK6kds7kbZFCrob0AAAAWZG9ja2V0LWFwcHJvdmFsQGRv\n"
    "Y2tldAAAAAAAAAAGc2hhMjU2AAABFAAAAAxyc2Etc2hhMi01MTIAAAEABovPdAkZQjizrk\n"
    "yS+kXmh0vkl62xoCoZxO9MV39oLC5REJlK/EZtlzxvCLHO8usqdlgW+FxTnxb2wyq3Ub+p\n"
    "l8/fO5eVGti7T7HqVSeFdXANiChEepaNufGS7fGKT3ER2AwxCsdKluhsX830HQ5eZ4KTwc\n"
    "SSFAuA8zXpLAc/x2zwsrjyJP9MYjoPe5z9q4l5PdX/uLxhgekQ/9u+ysLLDCT2dVk7uIgA\n"
    "ADiJDBSPQGWefYNREeWx9ZyU6fkdapON29bt5kVjsFqSHZaiezSLyMBkFTOAAtaojRFt2X\n"
    "rjI0Z38GCPY2qjL34M43prpi1a+UITltr0v1oPbDWy+dmaow==\n"
    "-----END SSH SIGNATURE-----\n";

/* ssh-keygen -t ed25519 -N pw */
static const char enc_priv[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABC1WzOCfs\n"
    "4hGhDxXrkA7g0JAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIDmGm9oPmjCxlcZ3\n"
    "30RuT+lBPefisYUlA+l0PdBmYUoCAAAAkJr+7vcW5UOUZVtGeIAj/5lBEboBw3m/rdgviS\n"
    "ETSponab0Sr7aUUu9noCvR23hr8RyvF/SQRDgQWy8hiFzw8RqIcPB03NqJQpWQfIKew9sa\n"
    "ayLAPJ5j60Bo/y8kQAwSCL7HZgVO6XZaCfFn7ra6lGTLIJ5Qjex5/Xrp3LaaIaCWPP9Shk\n"
    "an78wujzAMRNp63A==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

#define assert_error(expr, code, prefix)                                       \
	do {                                                                   \
		assert_int_equal((expr), (code));                              \
		if (!starts(dk_error_last(), (prefix)))                        \
			fail_msg("message '%s' does not start with '%s'",      \
			         dk_error_last(), (prefix));                   \
	} while (0)

static void test_sshkey_b64__roundtrip_and_strict(void **state)
{
	static const char *const bad[] = { "QQ=",  "Q===", "QQ==QQ==",
		                           "QQ*=", "QUJ",  NULL };
	unsigned char in[7] = { 0, 1, 2, 0xfd, 0xfe, 0xff, 'x' }, *dec = NULL;
	size_t n, i, dl;
	char *enc = NULL;

	(void)state;
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(dk_sshkey__b64_encode(&enc, in, n), 0);
		assert_int_equal(strlen(enc) % 4, 0);
		assert_int_equal(
		    dk_sshkey__b64_decode(&dec, &dl, enc, strlen(enc)), 0);
		assert_int_equal(dl, n);
		assert_memory_equal(dec, in, n);
		free(enc);
		free(dec);
	}
	assert_int_equal(dk_sshkey__b64_decode(&dec, &dl, "QU\nJD\r\n", 7), 0);
	assert_int_equal(dl, 3);
	assert_memory_equal(dec, "ABC", 3);
	free(dec);
	for (i = 0; bad[i]; i++)
		assert_int_equal(
		    dk_sshkey__b64_decode(&dec, &dl, bad[i], strlen(bad[i])),
		    DK_EINVALID);
}

static void test_sshkey_parse__fingerprints_match_ssh_keygen(void **state)
{
	const char *lines[] = { ed_pub, ec_pub, rsa_pub };
	const char *fps[] = { ed_fp, ec_fp, rsa_fp };
	const unsigned bits[] = { 256, 256, 2048 };
	const enum dk_sshkey_kind kinds[] = { DK_SSHKEY_ED25519,
		                              DK_SSHKEY_ECDSA_P256,
		                              DK_SSHKEY_RSA };
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		dk_sshkey *k = NULL;
		char *fp = NULL, *line = NULL;

		assert_int_equal(dk_sshkey_parse(&k, lines[i]), 0);
		assert_int_equal(dk_sshkey_fingerprint(&fp, k), 0);
		assert_string_equal(fp, fps[i]);
		assert_int_equal(dk_sshkey_bits(k), bits[i]);
		assert_int_equal(dk_sshkey_kind(k), kinds[i]);
		assert_int_equal(dk_sshkey_to_line(&line, k), 0);
		assert_true(starts(lines[i], line));
		assert_true(strchr(dk_sshkey_comment(k), '@') != NULL);
		free(fp);
		free(line);
		dk_sshkey_free(k);
	}
}

static void test_sshkey_parse__rejects_bad_lines(void **state)
{
	dk_sshkey *k = NULL;

	(void)state;
	assert_error(dk_sshkey_parse(&k, ""), DK_EINVALID, "empty");
	assert_error(dk_sshkey_parse(&k, "ssh-ed25519"), DK_EINVALID,
	             "SSH public key 'ssh-ed25519' has no key data");
	assert_error(dk_sshkey_parse(&k, "ssh-ed25519 AAAA$$$$"), DK_EINVALID,
	             "SSH public key data is not base64");
	/* An ed25519 blob announced as RSA. */
	assert_error(dk_sshkey_parse(&k, "ssh-rsa "
	                                 "AAAAC3NzaC1lZDI1NTE5AAAAINi4ckM9jzmi"
	                                 "suR2ElF23eQN0P8YCdsV/Mqt3xz7EyRm"),
	             DK_EINVALID, "SSH public key says 'ssh-rsa'");
	/* Truncated key material. */
	assert_error(dk_sshkey_parse(&k, "ssh-ed25519 "
	                                 "AAAAC3NzaC1lZDI1NTE5AAAAINi4ckM9jzmi"
	                                 "suR2ElF23eQN0P8YCdsV/Mqt3xz7"),
	             DK_EINVALID, "malformed ssh-ed25519 key");
	assert_null(k);
}

static void test_sshsig_verify__ssh_keygen_vectors(void **state)
{
	const char *lines[] = { ed_pub, ec_pub, rsa_pub };
	const char *sigs[] = { ed_sig, ec_sig, rsa_sig };
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		dk_sshkey *k = NULL;

		assert_int_equal(dk_sshkey_parse(&k, lines[i]), 0);
		assert_int_equal(dk_sshsig_verify(sigs[i], strlen(sigs[i]), NS,
		                                  MSG, strlen(MSG), k),
		                 0);
		assert_error(dk_sshsig_verify(sigs[i], strlen(sigs[i]), NS,
		                              "approve p-2\n", 12, k),
		             DK_EREFUSED, "bad signature: ");
		assert_error(dk_sshsig_verify(sigs[i], strlen(sigs[i]),
		                              DK_SSHSIG_NS_POLICY, MSG,
		                              strlen(MSG), k),
		             DK_EREFUSED, "wrong namespace: ");
		dk_sshkey_free(k);
	}
}

static void test_sshsig_sign__native_equals_ssh_keygen(void **state)
{
	dk_sshkey_priv *priv = NULL;
	dk_sshkey *pub = NULL;
	char *sig = NULL;

	(void)state;
	assert_int_equal(
	    dk_sshkey_parse_private(&priv, ed_priv, strlen(ed_priv)), 0);
	assert_int_equal(dk_sshkey_parse(&pub, ed_pub), 0);
	assert_true(dk_sshkey_equal(dk_sshkey_priv_public(priv), pub));
	/* Ed25519 is deterministic: the same bytes as ssh-keygen. */
	assert_int_equal(
	    dk_sshsig_sign_key(&sig, priv, NS, MSG, strlen(MSG), NULL), 0);
	assert_string_equal(sig, ed_sig);
	free(sig);
	assert_int_equal(
	    dk_sshsig_sign_key(&sig, priv, NS, MSG, strlen(MSG), "sha256"), 0);
	assert_int_equal(
	    dk_sshsig_verify(sig, strlen(sig), NS, MSG, strlen(MSG), pub), 0);
	free(sig);
	assert_error(
	    dk_sshsig_sign_key(&sig, priv, NS, MSG, strlen(MSG), "md5"),
	    DK_EINVALID, "unsupported hash algorithm: ");
	assert_error(dk_sshsig_sign_key(&sig, priv, "", MSG, strlen(MSG), NULL),
	             DK_EINVALID, "empty signature namespace");
	dk_sshkey_priv_free(priv);
	dk_sshkey_free(pub);
}

static void test_sshkey_parse_private__refusals(void **state)
{
	dk_sshkey_priv *priv = NULL;
	char *bad = strdup(ed_priv);
	static const char pem[] = "-----BEGIN RSA PRIVATE KEY-----\nMII=\n"
	                          "-----END RSA PRIVATE KEY-----\n";

	(void)state;
	assert_error(dk_sshkey_parse_private(&priv, enc_priv, strlen(enc_priv)),
	             DK_EREFUSED, "key is encrypted with a passphrase");
	assert_error(dk_sshkey_parse_private(&priv, ed_pub, strlen(ed_pub)),
	             DK_EREFUSED, "this is a public key");
	assert_error(dk_sshkey_parse_private(&priv, pem, strlen(pem)),
	             DK_EREFUSED, "key is in PEM format");
	assert_error(dk_sshkey_parse_private(&priv, "hello", 5), DK_EINVALID,
	             "not an OpenSSH private key");
	/* Corrupt a byte of the secret part: the check catches it. */
	bad[strlen("-----BEGIN OPENSSH PRIVATE KEY-----\n") + 71 * 4 + 3] ^= 1;
	assert_int_equal(dk_sshkey_parse_private(&priv, bad, strlen(bad)),
	                 DK_EINVALID);
	assert_null(priv);
	free(bad);
}

static void test_sshsig_verify__tampering(void **state)
{
	dk_sshkey *k = NULL, *other = NULL;
	char *sig = strdup(ed_sig);
	size_t at;

	(void)state;
	assert_int_equal(dk_sshkey_parse(&k, ed_pub), 0);
	assert_int_equal(dk_sshkey_parse(&other, ec_pub), 0);
	assert_error(dk_sshsig_verify(ed_sig, strlen(ed_sig), NS, MSG,
	                              strlen(MSG), other),
	             DK_EREFUSED,
	             "key mismatch: signed by ssh-ed25519 SHA256:");
	assert_error(dk_sshsig_verify("hello", 5, NS, MSG, strlen(MSG), k),
	             DK_EINVALID, "bad armor: ");
	assert_error(dk_sshsig_verify(ed_sig, 60, NS, MSG, strlen(MSG), k),
	             DK_EINVALID, "bad armor: ");
	/* A changed character in the signature bytes (4th line). */
	at = strlen(ed_sig) - strlen("-----END SSH SIGNATURE-----\n") - 10;
	sig[at] = sig[at] == 'A' ? 'B' : 'A';
	assert_error(
	    dk_sshsig_verify(sig, strlen(sig), NS, MSG, strlen(MSG), k),
	    DK_EREFUSED, "bad signature: ");
	/* A changed character in the preamble. */
	free(sig);
	sig = strdup(ed_sig);
	sig[strlen("-----BEGIN SSH SIGNATURE-----\n")] = 'V';
	assert_error(
	    dk_sshsig_verify(sig, strlen(sig), NS, MSG, strlen(MSG), k),
	    DK_EINVALID, "malformed signature: ");
	free(sig);
	dk_sshkey_free(k);
	dk_sshkey_free(other);
}

/* Armor raw bytes on one base64 line (the parser allows any wrapping). */
static char *armor_raw(const unsigned char *raw, size_t n)
{
	char *b64 = NULL, *out;
	size_t len;

	assert_int_equal(dk_sshkey__b64_encode(&b64, raw, n), 0);
	len = strlen(b64) + 100;
	out = malloc(len);
	assert_non_null(out);
	snprintf(out, len,
	         "-----BEGIN SSH SIGNATURE-----\n%s\n"
	         "-----END SSH SIGNATURE-----\n",
	         b64);
	free(b64);
	return out;
}

static void flips_and_truncations(const char *pub, const char *sig)
{
	dk_sshkey *k = NULL;
	unsigned char *raw = NULL;
	size_t n, i;
	char *text;
	int bit;

	assert_int_equal(dk_sshkey_parse(&k, pub), 0);
	assert_int_equal(
	    dk_sshkey__b64_decode(&raw, &n, sig + 30, strlen(sig) - 30 - 28),
	    0);
	text = armor_raw(raw, n);
	assert_int_equal(
	    dk_sshsig_verify(text, strlen(text), NS, MSG, strlen(MSG), k), 0);
	free(text);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit += 7) {
			int rc;
			raw[i] ^= (unsigned char)(1 << bit);
			text = armor_raw(raw, n);
			rc = dk_sshsig_verify(text, strlen(text), NS, MSG,
			                      strlen(MSG), k);
			if (rc != DK_EINVALID && rc != DK_EREFUSED)
				fail_msg("%s: flip at byte %zu bit %d: rc %d",
				         dk_sshkey_type(k), i, bit, rc);
			free(text);
			raw[i] ^= (unsigned char)(1 << bit);
		}
	}
	for (i = 0; i < n; i++) {
		text = armor_raw(raw, i);
		assert_int_equal(dk_sshsig_verify(text, strlen(text), NS, MSG,
		                                  strlen(MSG), k),
		                 DK_EINVALID);
		free(text);
	}
	free(raw);
	dk_sshkey_free(k);
}

static void test_sshsig_verify__every_flip_and_truncation_fails(void **state)
{
	(void)state;
	flips_and_truncations(ed_pub, ed_sig);
	flips_and_truncations(ec_pub, ec_sig);
	flips_and_truncations(rsa_pub, rsa_sig);
}

static void test_sshsig_parse__fields(void **state)
{
	dk_sshsig *sig = NULL;
	char *fp = NULL;

	(void)state;
	assert_int_equal(dk_sshsig_parse(&sig, rsa_sig, strlen(rsa_sig)), 0);
	assert_string_equal(dk_sshsig_namespace(sig), NS);
	assert_string_equal(dk_sshsig_hash_alg(sig), "sha256");
	assert_int_equal(dk_sshkey_fingerprint(&fp, dk_sshsig_key(sig)), 0);
	assert_string_equal(fp, rsa_fp);
	free(fp);
	dk_sshsig_free(sig);
}

static void test_sshsig_match_list__patterns(void **state)
{
	(void)state;
	assert_int_equal(dk_sshsig_match_list("alice", "alice"), 1);
	assert_int_equal(dk_sshsig_match_list("alice", "bob,alice"), 1);
	assert_int_equal(dk_sshsig_match_list("alice", "ali*"), 1);
	assert_int_equal(dk_sshsig_match_list("alice", "al?ce"), 1);
	assert_int_equal(dk_sshsig_match_list("alice", "*,!alice"), 0);
	assert_int_equal(dk_sshsig_match_list("alice", "alic"), 0);
	assert_int_equal(dk_sshsig_match_list("alice", "!bob"), 0);
	assert_int_equal(
	    dk_sshsig_match_list("docket-approval@docket", "docket-*@docket"),
	    1);
	assert_int_equal(dk_sshsig_match_list("x", ""), 0);
}

static void test_allowed_signers__parse_and_match(void **state)
{
	struct dk_allowed_signers *s = NULL;
	const struct dk_allowed_signer *e = NULL;
	char *who = NULL;
	dk_sshkey *ed = NULL, *ec = NULL, *rsa = NULL;
	char text[4096];

	(void)state;
	snprintf(text, sizeof(text),
	         "# auditor's trust file\n"
	         "\n"
	         "alice@example.com,ops-* namespaces=\"docket-*@docket\" %s\n"
	         "  \"bob smith\" valid-after=\"20200101\",valid-before="
	         "\"20300101Z\" %s\r\n"
	         "ca cert-authority %s\n",
	         ed_pub, ec_pub, rsa_pub);
	assert_int_equal(dk_sshkey_parse(&ed, ed_pub), 0);
	assert_int_equal(dk_sshkey_parse(&ec, ec_pub), 0);
	assert_int_equal(dk_sshkey_parse(&rsa, rsa_pub), 0);
	assert_int_equal(dk_allowed_signers_parse(&s, text, strlen(text), "T"),
	                 0);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->v[0].line, 3);
	assert_string_equal(s->v[0].namespaces, "docket-*@docket");
	assert_string_equal(s->v[1].principals, "bob smith");
	assert_int_equal(s->v[1].valid_before, 1893456000);
	assert_true(s->v[2].cert_authority);

	assert_int_equal(
	    dk_allowed_signers_match(&e, s, "ops-1", NS, ed, 1700000000), 0);
	assert_ptr_equal(e, &s->v[0]);
	assert_error(dk_allowed_signers_match(&e, s, "alice@example.com", "git",
	                                      ed, 1700000000),
	             DK_EREFUSED, "not allowed: T:3 allows key SHA256:");
	assert_error(
	    dk_allowed_signers_match(&e, s, "bob smith", NS, ed, 1700000000),
	    DK_ENOTFOUND, "not allowed: principal 'bob smith' has no entry");
	assert_int_equal(
	    dk_allowed_signers_match(&e, s, "bob smith", NS, ec, 1700000000),
	    0);
	assert_error(
	    dk_allowed_signers_match(&e, s, "bob smith", NS, ec, 1900000000),
	    DK_EREFUSED, "not allowed: T:4: key SHA256:");
	/* A cert-authority line never matches a plain key. */
	assert_int_equal(
	    dk_allowed_signers_match(&e, s, "ca", NS, rsa, 1700000000),
	    DK_ENOTFOUND);
	assert_int_equal(
	    dk_allowed_signers_find_principals(&who, s, ec, NS, 1700000000), 0);
	assert_string_equal(who, "bob smith");
	free(who);
	/* The whole check over a real signature. */
	assert_int_equal(dk_sshsig_verify_signers(
	                     &e, ed_sig, strlen(ed_sig), NS, MSG, strlen(MSG),
	                     s, "alice@example.com", 1700000000),
	                 0);
	assert_error(dk_sshsig_verify_signers(&e, ed_sig, strlen(ed_sig), NS,
	                                      MSG, strlen(MSG), s, "bob smith",
	                                      1700000000),
	             DK_EREFUSED, "not allowed: ");
	dk_allowed_signers_free(s);
	dk_sshkey_free(ed);
	dk_sshkey_free(ec);
	dk_sshkey_free(rsa);
}

static void test_allowed_signers__errors_name_the_line(void **state)
{
	struct dk_allowed_signers *s = NULL;
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "a %s\nb bogus=\"x\" %s\n", ed_pub,
	         ed_pub);
	assert_error(dk_allowed_signers_parse(&s, text, strlen(text), "F"),
	             DK_EINVALID, "F:2: unknown option 'bogus'");
	snprintf(text, sizeof(text), "a namespaces=x %s\n", ed_pub);
	assert_error(dk_allowed_signers_parse(&s, text, strlen(text), "F"),
	             DK_EINVALID, "F:1: namespaces= needs a quoted value");
	snprintf(text, sizeof(text), "a valid-after=\"2020\" %s\n", ed_pub);
	assert_error(dk_allowed_signers_parse(&s, text, strlen(text), "F"),
	             DK_EINVALID, "F:1: bad time '2020'");
	assert_error(dk_allowed_signers_parse(&s, "alice\n", 6, "F"),
	             DK_EINVALID, "F:1: no key after principals");
	assert_error(
	    dk_allowed_signers_parse(&s, "alice ssh-ed25519 AAAA\n", 23, "F"),
	    DK_EINVALID, "F:1: ");
	assert_null(s);
	assert_int_equal(dk_allowed_signers_parse(&s, "# nothing\n\n", 11, "F"),
	                 0);
	assert_int_equal(s->n, 0);
	dk_allowed_signers_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sshkey_b64__roundtrip_and_strict),
		cmocka_unit_test(
		    test_sshkey_parse__fingerprints_match_ssh_keygen),
		cmocka_unit_test(test_sshkey_parse__rejects_bad_lines),
		cmocka_unit_test(test_sshsig_verify__ssh_keygen_vectors),
		cmocka_unit_test(test_sshsig_sign__native_equals_ssh_keygen),
		cmocka_unit_test(test_sshkey_parse_private__refusals),
		cmocka_unit_test(test_sshsig_verify__tampering),
		cmocka_unit_test(
		    test_sshsig_verify__every_flip_and_truncation_fails),
		cmocka_unit_test(test_sshsig_parse__fields),
		cmocka_unit_test(test_sshsig_match_list__patterns),
		cmocka_unit_test(test_allowed_signers__parse_and_match),
		cmocka_unit_test(test_allowed_signers__errors_name_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
