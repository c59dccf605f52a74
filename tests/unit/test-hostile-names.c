/*
 * Hostile names: 100,000+ generated ids and handles ("../", leading "-",
 * ".lock", "@{", control characters, very long, Unicode, NUL-free byte
 * soup). Each is refused, or yields an id that is a valid git ref name
 * component (git's own rules, through libgit2) and a single path
 * component that stays inside the ledger.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "handle.h"

static const char *const pieces[] = {
	"..",
	"../",
	"/",
	"-",
	".lock",
	"@{",
	"@",
	"~",
	"^",
	":",
	"?",
	"*",
	"[",
	"\\",
	" ",
	"\t",
	"\n",
	"\x01",
	"\x7f",
	".",
	"run-",
	"p-",
	"abc",
	"0",
	"é",
	"\xe2\x80\x8b",
	"\xf0\x9f\x98\x80",
	"\xff",
	"//",
	"evidence://",
	"wrp://",
	"agent-run://",
	"%2e%2e",
	"A",
	"Z",
	"_",
	"deadbeef",
	"0123456789abcdef",
};

static unsigned long long rng = 88172645463325252ULL;

static unsigned next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)rng;
}

static void gen(char *out, size_t cap)
{
	size_t n = 0, k = next() % 8 + 1, i;

	if (next() % 50 == 0) /* very long */
		k = 200;
	for (i = 0; i < k; i++) {
		const char *p =
		    pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t l = strlen(p);

		if (n + l + 1 >= cap)
			break;
		memcpy(out + n, p, l);
		n += l;
	}
	out[n] = '\0';
}

static void check_id(const char *id)
{
	char ref[128];
	int valid = 0;

	assert_true(strlen(id) >= 1 && strlen(id) <= 64);
	assert_null(strchr(id, '/'));
	assert_true(strcmp(id, ".") && strcmp(id, ".."));
	assert_true(id[0] != '-');
	snprintf(ref, sizeof(ref), "refs/docket/%s", id);
	assert_int_equal(git_reference_name_is_valid(&valid, ref), 0);
	assert_true(valid);
}

static void test_handles__hostile(void **state)
{
	char s[1024];
	struct dk_handle h;
	long i, refused = 0, accepted = 0;

	(void)state;
	git_libgit2_init();
	for (i = 0; i < 120000; i++) {
		gen(s, sizeof(s));
		if (dk_handle_parse(&h, s) < 0) {
			refused++;
			assert_true(strlen(dk_error_last()) > 10);
			continue;
		}
		accepted++;
		if (h.kind == DK_HANDLE_RUN || h.kind == DK_HANDLE_PROPOSAL)
			check_id(h.id);
		if (h.kind == DK_HANDLE_HASH) {
			size_t k;
			for (k = 0; h.id[k]; k++)
				assert_true(
				    (h.id[k] >= '0' && h.id[k] <= '9') ||
				    (h.id[k] >= 'a' && h.id[k] <= 'f'));
		}
		if (dk_id_valid(s))
			check_id(s);
	}
	print_message("%ld generated: %ld refused, %ld accepted\n",
	              refused + accepted, refused, accepted);
	assert_true(refused > 1000 && accepted > 100);
	git_libgit2_shutdown();
}

static void test_handles__known_bad(void **state)
{
	static const char *const bad[] = {
		"wrp://../x",      "wrp://-rf",
		"wrp://a.lock",    "wrp://a@{1}",
		"agent-run://a/b", "agent-run://A",
		"wrp://a b",       "wrp://",
		"agent-run://\n",  "evidence://../../etc/passwd",
		"wrp://é",         NULL,
	};
	struct dk_handle h;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++)
		assert_int_equal(dk_handle_parse(&h, bad[i]), DK_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handles__hostile),
		cmocka_unit_test(test_handles__known_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
