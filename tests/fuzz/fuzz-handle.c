/*
 * Handle and id parsing: dk_handle_parse, dk_id_valid, and what becomes
 * of an accepted id (the record path, the run-state file name). Checks
 * properties, not only crashes: an accepted id is [a-z0-9-]{1,64} not
 * starting with '-'; a parsed handle's id is NUL-terminated hex, or a
 * valid id.
 */
#include "fuzz.h"

#include "handle.h"
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

static int id_shape(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct dk_handle h;
	char path[32];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (dk_id_valid(s) && !id_shape(s))
		abort();
	memset(&h, 0xa5, sizeof(h));
	if (dk_handle_parse(&h, s) == 0) {
		size_t n = strnlen(h.id, sizeof(h.id));
		if (n == sizeof(h.id))
			abort(); /* not terminated */
		switch (h.kind) {
		case DK_HANDLE_SEQ:
			dk_record_path(path, h.seq);
			if (strlen(path) != 19)
				abort();
			break;
		case DK_HANDLE_HASH:
			if (n < 8 || n > 64 ||
			    strspn(h.id, "0123456789abcdef") != n)
				abort();
			break;
		case DK_HANDLE_RUN:
		case DK_HANDLE_PROPOSAL:
			if (!id_shape(h.id))
				abort();
			break;
		default:
			abort();
		}
	}
	free(s);
	return 0;
}
