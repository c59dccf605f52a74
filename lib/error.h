#ifndef DK_ERROR_H
#define DK_ERROR_H

/*
 * The library's error model (after libgit2): a function returns 0 on
 * success, one of the negative codes below for an expected failure, or
 * DK_ERROR otherwise. The message of the last failure in this thread is
 * kept in a thread-local buffer and read with dk_error_last(). The
 * library never prints and never exits.
 */

enum dk_error_code {
	DK_OK = 0,
	DK_ERROR = -1,       /* generic or internal failure */
	DK_ENOTFOUND = -3,   /* the named thing does not exist */
	DK_EEXISTS = -4,     /* refusing to overwrite something that exists */
	DK_ECONFLICT = -5,   /* compare-and-swap lost; re-read and retry */
	DK_EINVALID = -6,    /* malformed input or argument */
	DK_ELOCKED = -7,     /* a lock could not be taken in time */
	DK_ETAMPERED = -8,   /* verification found the ledger altered */
	DK_EVERSION = -9,    /* unsupported (newer) format version */
	DK_EIO = -10,        /* a read or write failed at the OS level */
	DK_ENOTLEDGER = -11, /* the path is not a docket ledger */
	DK_EREFUSED = -12,   /* refused by policy or rule */
	DK_ETIMEOUT = -13,   /* an operation ran past its deadline */
	DK_EFULL = -14,      /* a limit was reached */
};

/* Set the thread's last error; returns code so callers can `return`. */
int dk_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As dk_error_set, appending ": strerror(errno)". */
int dk_error_set_errno(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "what: ". */
void dk_error_prefix(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
const char *dk_error_last(void);
int dk_error_last_code(void);
void dk_error_clear(void);
/* A short name for a code ("not found", "tampered", ...). */
const char *dk_error_name(int code);

#endif
