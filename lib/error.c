#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];
static _Thread_local int errcode;

static void vset(int code, const char *fmt, va_list ap, int with_errno,
                 int saved)
{
	size_t n;

	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	if (with_errno) {
		n = strlen(errbuf);
		snprintf(errbuf + n, sizeof(errbuf) - n, ": %s",
		         strerror(saved));
	}
	errcode = code;
}

int dk_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, fmt, ap, 0, 0);
	va_end(ap);
	return code;
}

int dk_error_set_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vset(code, fmt, ap, 1, saved);
	va_end(ap);
	errno = saved;
	return code;
}

void dk_error_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof(errbuf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof(old));
	snprintf(errbuf, sizeof(errbuf), "%s: %s", prefix, old);
}

const char *dk_error_last(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

int dk_error_last_code(void)
{
	return errcode ? errcode : DK_ERROR;
}

void dk_error_clear(void)
{
	errbuf[0] = '\0';
	errcode = 0;
}

const char *dk_error_name(int code)
{
	switch (code) {
	case DK_OK:
		return "ok";
	case DK_ENOTFOUND:
		return "not found";
	case DK_EEXISTS:
		return "exists";
	case DK_ECONFLICT:
		return "conflict";
	case DK_EINVALID:
		return "invalid";
	case DK_ELOCKED:
		return "locked";
	case DK_ETAMPERED:
		return "tampered";
	case DK_EVERSION:
		return "unsupported version";
	case DK_EIO:
		return "i/o error";
	case DK_ENOTLEDGER:
		return "not a ledger";
	case DK_EREFUSED:
		return "refused";
	case DK_ETIMEOUT:
		return "timeout";
	case DK_EFULL:
		return "limit reached";
	default:
		return "error";
	}
}
