#ifndef DK_PROC_H
#define DK_PROC_H

#include <stddef.h>

/*
 * Run a local program as a capability: argv (never a shell), JSON on
 * stdin, JSON on stdout. The child runs in its own process group, which is
 * killed whole on timeout or when stdout passes its cap. SIGPIPE from a
 * child that closes stdin early is contained. The result's buffers belong
 * to the caller (dk_exec_result_free).
 */

struct dk_exec_opts {
	const char *const *argv; /* argv[0]: a path, or a name on PATH */
	const char *const *env;  /* the child's whole environment, or NULL
	                            for an empty one */
	const char *cwd;         /* NULL: inherit */
	const char *input;       /* written to stdin, then closed */
	size_t input_len;
	long timeout_ms;   /* <= 0: 30000 */
	size_t max_stdout; /* 0: 1 MiB; more is refused */
	size_t max_stderr; /* 0: 64 KiB; more is cut */
};

struct dk_exec_result {
	int exited;       /* exited normally: status is valid */
	int status;       /* exit status */
	int signal;       /* killed by this signal (0 if none) */
	int timed_out;    /* killed by us at the timeout */
	int out_overflow; /* killed by us: stdout passed max_stdout */
	char *out;        /* NUL-terminated */
	size_t out_len;
	char *err;
	size_t err_len;
	int err_truncated;
	double ms; /* wall-clock duration */
};

/* 0 when the program ran (whatever its outcome: see res), <0 when it
 * could not be started (DK_ENOTFOUND, DK_EIO). */
int dk_exec_run(struct dk_exec_result *res, const struct dk_exec_opts *o);
void dk_exec_result_free(struct dk_exec_result *res);

#endif
