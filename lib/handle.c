#include "handle.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dk_id_valid(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return 0;
	return 1;
}

static int is_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int dk_handle_parse(struct dk_handle *out, const char *s)
{
	size_t n = strlen(s);

	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "evidence://", 11)) {
		s += 11;
		n -= 11;
		if (n < 8 || n > 64 || !dk_is_hex(s, n))
			goto bad_hash;
		out->kind = DK_HANDLE_HASH;
		memcpy(out->id, s, n + 1);
		return 0;
	}
	if (!strncmp(s, "agent-run://", 12) || !strncmp(s, "wrp://", 6)) {
		int run = s[0] == 'a';

		s += run ? 12 : 6;
		if (!dk_id_valid(s))
			return dk_error_set(DK_EINVALID,
			                    "'%.80s' is not a valid %s id "
			                    "(1-64 of a-z, 0-9, -)",
			                    s, run ? "run" : "proposal");
		out->kind = run ? DK_HANDLE_RUN : DK_HANDLE_PROPOSAL;
		memcpy(out->id, s, strlen(s) + 1);
		return 0;
	}
	if (is_digits(s) && n <= 10) {
		out->kind = DK_HANDLE_SEQ;
		out->seq = strtoull(s, NULL, 10);
		return 0;
	}
	if (n >= 8 && n <= 64 && dk_is_hex(s, n)) {
		out->kind = DK_HANDLE_HASH;
		memcpy(out->id, s, n + 1);
		return 0;
	}
	return dk_error_set(DK_EINVALID,
	                    "'%.80s' is not a seq, a record hash or a handle "
	                    "(evidence://HASH, agent-run://RUN, wrp://ID)",
	                    s);
bad_hash:
	return dk_error_set(DK_EINVALID,
	                    "evidence handle needs 8 to 64 lowercase hex "
	                    "digits");
}
