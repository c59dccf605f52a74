/* Unit tests for the small core modules: hashes, paths, handles, time,
 * UTF-8, anchors and policy validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "handle.h"
#include "ledger.h"
#include "pack.h"
#include "policy.h"
#include "sha.h"
#include "util.h"
#include "verify.h"

static void hex_of_sha1(char out[41], const char *s, size_t n)
{
	struct dk_sha1 c;
	unsigned char md[20];

	dk_sha1_init(&c);
	dk_sha1_update(&c, s, n);
	dk_sha1_final(md, &c);
	dk_hex(out, md, 20);
}

static void test_sha__vectors(void **state)
{
	char h[65];
	char *big;
	struct dk_sha256 c;
	unsigned char md[32];
	size_t i;

	(void)state;
	dk_sha256_hex(h, "", 0);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb924"
	                       "27ae41e4649b934ca495991b7852b855");
	dk_sha256_hex(h, "abc", 3);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
	                       "b00361a396177a9cb410ff61f20015ad");
	dk_sha256_hex(
	    h, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039"
	                       "a33ce45964ff2167f6ecedd419db06c1");
	hex_of_sha1(h, "", 0);
	assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	hex_of_sha1(h, "abc", 3);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* a million 'a', fed in uneven pieces */
	big = malloc(1000000);
	memset(big, 'a', 1000000);
	dk_sha256_init(&c);
	for (i = 0; i < 1000000;) {
		size_t n = (i % 7) * 37 + 1;
		if (i + n > 1000000)
			n = 1000000 - i;
		dk_sha256_update(&c, big + i, n);
		i += n;
	}
	dk_sha256_final(md, &c);
	dk_hex(h, md, 32);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67"
	                       "f1809a48a497200e046d39ccc7112cd0");
	hex_of_sha1(h, big, 1000000);
	assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(big);
}

static void test_obj__git_ids(void **state)
{
	struct dk_obj o = {
		DK_OBJ_BLOB, (const unsigned char *)"hello\n", 6, { 0 }
	};
	char h[41];

	(void)state;
	dk_obj_hash(&o);
	dk_hex(h, o.id, 20);
	/* printf 'hello\n' | git hash-object --stdin */
	assert_string_equal(h, "ce013625030ba8dba906f756967f9e9ca394464a");
}

static void test_record__path(void **state)
{
	char p[32];

	(void)state;
	dk_record_path(p, 0);
	assert_string_equal(p, "00/00/00/00/00.json");
	dk_record_path(p, 12345);
	assert_string_equal(p, "00/00/01/23/45.json");
	dk_record_path(p, 9999999999ULL);
	assert_string_equal(p, "99/99/99/99/99.json");
}

static void test_record__parse(void **state)
{
	struct dk_record *r = NULL;
	const char *good = "{\"actor\":\"a\",\"at\":\"2026-01-01T00:00:00Z\","
	                   "\"body\":{},\"prev\":\"00000000000000000000000000"
	                   "00000000000000000000000000000000000000\",\"seq\":"
	                   "3,\"type\":\"note\",\"v\":1}\n";

	(void)state;
	assert_int_equal(dk_record_parse(&r, good, strlen(good)), 0);
	assert_int_equal(r->seq, 3);
	assert_string_equal(r->type, "note");
	dk_record_free(r);
	assert_int_equal(dk_record_parse(&r, "{}", 2), DK_ETAMPERED);
	assert_null(r);
	assert_int_equal(dk_record_parse(&r, "[1]", 3), DK_ETAMPERED);
	assert_int_equal(dk_record_parse(&r, "{\"a\":1,\"a\":2}", 13),
	                 DK_ETAMPERED);
	assert_int_equal(dk_record_parse(&r, "\xff\xfe", 2), DK_ETAMPERED);
}

static void test_handle__parse(void **state)
{
	struct dk_handle h;

	(void)state;
	assert_int_equal(dk_handle_parse(&h, "42"), 0);
	assert_int_equal(h.kind, DK_HANDLE_SEQ);
	assert_int_equal(h.seq, 42);
	assert_int_equal(dk_handle_parse(&h, "deadbeef"), 0);
	assert_int_equal(h.kind, DK_HANDLE_HASH);
	assert_int_equal(dk_handle_parse(&h, "evidence://0123456789abcdef"), 0);
	assert_string_equal(h.id, "0123456789abcdef");
	assert_int_equal(dk_handle_parse(&h, "agent-run://r-1"), 0);
	assert_int_equal(h.kind, DK_HANDLE_RUN);
	assert_int_equal(dk_handle_parse(&h, "wrp://p-7f3a"), 0);
	assert_int_equal(h.kind, DK_HANDLE_PROPOSAL);
	assert_int_equal(dk_handle_parse(&h, "wrp://../etc"), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, "wrp://-x"), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, "agent-run://"), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, "evidence://xyz"), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, "DEADBEEF"), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, ""), DK_EINVALID);
	assert_int_equal(dk_handle_parse(&h, "12345678901"), 0);
	assert_int_equal(h.kind, DK_HANDLE_HASH);
}

static void test_time__roundtrip(void **state)
{
	char s[32];
	int64_t t;

	(void)state;
	dk_format_time(s, 1767225600);
	assert_string_equal(s, "2026-01-01T00:00:00Z");
	assert_int_equal(dk_parse_time(&t, s), 0);
	assert_int_equal(t, 1767225600);
	assert_int_equal(dk_parse_time(&t, "2026-01-01 00:00:00"), DK_EINVALID);
	assert_int_equal(dk_parse_time(&t, "2026-01-01T00:00:00+01:00"),
	                 DK_EINVALID);
	setenv("DOCKET_TEST_NOW", "1000", 1);
	assert_int_equal(dk_now(), 1000);
	unsetenv("DOCKET_TEST_NOW");
}

static void test_utf8__valid(void **state)
{
	(void)state;
	assert_true(dk_utf8_valid("abc", 3));
	assert_true(dk_utf8_valid("\xc3\xa9", 2));
	assert_true(dk_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(dk_utf8_valid("\xc3", 1));
	assert_false(dk_utf8_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(dk_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(dk_utf8_valid("a\0b", 3));
	assert_false(dk_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

static void test_anchor__parse(void **state)
{
	struct dk_anchor a;
	char s[100];

	(void)state;
	snprintf(s, sizeof(s), "7:%064d", 0);
	assert_int_equal(dk_anchor_parse(&a, s), 0);
	assert_int_equal(a.seq, 7);
	assert_int_equal(dk_anchor_parse(&a, "7:abc"), DK_EINVALID);
	assert_int_equal(dk_anchor_parse(&a, ":abc"), DK_EINVALID);
	assert_int_equal(dk_anchor_parse(&a, "x"), DK_EINVALID);
}

static void test_policy__validate(void **state)
{
	const char *key = "ssh-ed25519 "
	                  "AAAAC3NzaC1lZDI1NTE5AAAAIFxF0n1oJ0Vd2uW0r3wP4cGk8"
	                  "mF6i6Hq4yqC9aZ0ZbXy a@b";
	json_t *p;

	(void)state;
	assert_int_equal(dk_ssh_pubkey_check(key), 0);
	assert_int_equal(dk_ssh_pubkey_check("ssh-foo AAAA"), DK_EINVALID);
	assert_int_equal(dk_ssh_pubkey_check("ssh-ed25519 !!!"), DK_EINVALID);
	p = json_pack("{s:[{s:s, s:[s], s:s}]}", "principals", "name", "alice",
	              "roles", "admin", "key", key);
	assert_int_equal(dk_policy_validate(p), 0);
	json_decref(p);
	p = json_pack("{s:[{s:s, s:[s], s:s}]}", "principals", "name", "alice",
	              "roles", "support_lead", "key", key);
	assert_int_equal(dk_policy_validate(p), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "admin"));
	json_decref(p);
	p = json_pack("{s:[{s:s, s:[s], s:s}, {s:s, s:[s], s:s}]}",
	              "principals", "name", "alice", "roles", "admin", "key",
	              key, "name", "alice", "roles", "admin", "key", key);
	assert_int_equal(dk_policy_validate(p), DK_EINVALID);
	assert_non_null(strstr(dk_error_last(), "twice"));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha__vectors),
		cmocka_unit_test(test_obj__git_ids),
		cmocka_unit_test(test_record__path),
		cmocka_unit_test(test_record__parse),
		cmocka_unit_test(test_handle__parse),
		cmocka_unit_test(test_time__roundtrip),
		cmocka_unit_test(test_utf8__valid),
		cmocka_unit_test(test_anchor__parse),
		cmocka_unit_test(test_policy__validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
