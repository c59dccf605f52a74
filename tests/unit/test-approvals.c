/* Unit tests for the approval rules and signed messages (lib/approval,
 * lib/policy): the exact message bytes, and each refusal of the judge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "error.h"
#include "policy.h"
#include "util.h"

#define KEY                                                                    \
	"ssh-ed25519 "                                                         \
	"AAAAC3NzaC1lZDI1NTE5AAAAIFVWlhcZX/"                                   \
	"0KAyM7J5HVXEjiFaHzZWk1l2MoERmgyNAX k"

static void test_approval__message_bytes(void **state)
{
	char *m = NULL;

	(void)state;
	assert_int_equal(dk_approval_message(&m, "L1", "p-1", "ab", "approve",
	                                     "bob", "2026-01-01T00:00:00Z"),
	                 0);
	assert_string_equal(m,
	                    "docket approval v1\nledger L1\nproposal p-1\n"
	                    "proposal-hash ab\ndecision approve\n"
	                    "principal bob\nsigned-at 2026-01-01T00:00:00Z\n");
	free(m);
	/* a field cannot smuggle in another line */
	assert_int_equal(dk_approval_message(&m, "L1", "p-1", "ab", "approve",
	                                     "bob\ndecision deny",
	                                     "2026-01-01T00:00:00Z"),
	                 DK_EINVALID);
	assert_null(m);
}

static json_t *principal(const char *name, const char *role)
{
	return json_pack("{s:s, s:[s], s:s}", "name", name, "roles", role,
	                 "key", KEY);
}

static json_t *policy(void)
{
	return json_pack("{s:i, s:i, s:[o, o, o]}", "version", 1,
	                 "admins_required", 1, "principals",
	                 principal("alice", "admin"),
	                 principal("bob", "support_lead"),
	                 principal("carol", "support_lead"));
}

static json_t *proposal(int allow)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:b}, s:{s:s}, s:s}",
	                 "proposal", "p-1", "run", "run-1", "proposer", "carol",
	                 "requires", "role", "support_lead", "count", 2,
	                 "allow_proposer", allow, "rule", "name", "two-leads",
	                 "expires_at", "2026-01-01T08:00:00Z");
}

static void test_approval__judge(void **state)
{
	json_t *pol = policy(), *p = proposal(0), *votes = json_array();
	int64_t t = 0;

	(void)state;
	dk_parse_time(&t, "2026-01-01T01:00:00Z");
	assert_int_equal(dk_approval_judge(pol, p, "dave", votes, "bob", t), 0);
	assert_int_equal(dk_approval_judge(pol, p, "dave", votes, "alice", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "lacks the role"));
	assert_int_equal(dk_approval_judge(pol, p, "dave", votes, "eve", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "not a principal"));
	assert_int_equal(dk_approval_judge(pol, p, "dave", votes, "carol", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "proposed"));
	assert_int_equal(dk_approval_judge(pol, p, "bob", votes, "bob", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "started run"));
	json_array_append_new(votes, json_pack("{s:s, s:s, s:s}", "principal",
	                                       "bob", "decision", "approve",
	                                       "signed_at", "x"));
	assert_int_equal(dk_approval_judge(pol, p, "dave", votes, "bob", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "already voted"));
	dk_parse_time(&t, "2026-01-01T08:00:00Z");
	assert_int_equal(dk_approval_judge(pol, p, "dave",
	                                   json_array_get(votes, 5), "carol",
	                                   t),
	                 DK_EREFUSED);
	json_decref(p);
	p = proposal(1);
	dk_parse_time(&t, "2026-01-01T07:59:59Z");
	assert_int_equal(dk_approval_judge(pol, p, "dave", NULL, "carol", t),
	                 0);
	dk_parse_time(&t, "2026-01-01T08:00:00Z");
	assert_int_equal(dk_approval_judge(pol, p, "dave", NULL, "carol", t),
	                 DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "expired"));
	json_decref(p);
	json_decref(votes);
	json_decref(pol);
}

static void test_policy__update_message(void **state)
{
	json_t *a = policy(), *b = policy(), *body;
	char *m = NULL, ha[65];

	(void)state;
	json_object_set_new(b, "version", json_integer(2));
	assert_int_equal(dk_policy_update_message(&m, "L1", a, b), 0);
	dk_policy_hash(ha, a);
	assert_non_null(strstr(m, "docket policy-update v1\nledger L1\n"
	                          "version 2\nprevious "));
	assert_non_null(strstr(m, ha));
	/* no signatures: refused with the count */
	body = json_pack("{s:O, s:s, s:[]}", "policy", b, "message", m,
	                 "signatures");
	assert_int_equal(dk_policy_check_update(a, body, "L1"), DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "signed by 0 admins"));
	/* another ledger's message */
	assert_int_equal(dk_policy_check_update(a, body, "L2"), DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "does not describe"));
	/* versions only move forward */
	json_object_set_new(b, "version", json_integer(1));
	json_object_set(body, "policy", b);
	assert_int_equal(dk_policy_check_update(a, body, "L1"), DK_EREFUSED);
	assert_non_null(strstr(dk_error_last(), "does not move forward"));
	free(m);
	json_decref(body);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approval__message_bytes),
		cmocka_unit_test(test_approval__judge),
		cmocka_unit_test(test_policy__update_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
