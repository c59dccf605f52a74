#include "proc.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sink {
	char *p;
	size_t len, cap, max;
	int over;
};

static int sink_add(struct sink *s, const char *d, size_t n)
{
	size_t room = s->max - s->len;

	if (n > room) {
		s->over = 1;
		n = room;
	}
	if (s->len + n + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 4096;
		char *np;

		while (nc < s->len + n + 1)
			nc *= 2;
		np = realloc(s->p, nc);
		if (!np)
			return -1;
		s->p = np;
		s->cap = nc;
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

void dk_exec_result_free(struct dk_exec_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int dk_exec_run(struct dk_exec_result *res, const struct dk_exec_opts *o)
{
	static const char *const empty_env[] = { NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct sink so = { NULL, 0, 0, 0, 0 }, se = { NULL, 0, 0, 0, 0 };
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	double start = dk_mono_ms();
	sigset_t pipe_set, old_set;
	size_t written = 0;
	pid_t pid;
	int rc, wstatus = 0, killed = 0;

	memset(res, 0, sizeof(*res));
	so.max = o->max_stdout ? o->max_stdout : 1024 * 1024;
	se.max = o->max_stderr ? o->max_stderr : 64 * 1024;
	if (!o->argv || !o->argv[0])
		return dk_error_set(DK_EINVALID, "exec: empty argv");
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0) {
		rc = dk_error_set_errno(DK_EIO, "exec: pipe");
		goto fail_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (o->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
	}
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	                                  POSIX_SPAWN_SETSIGMASK |
	                                  POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, o->argv[0], &fa, &at, (char *const *)o->argv,
	                  (char *const *)(o->env ? o->env : empty_env));
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (rc) {
		errno = rc;
		rc = dk_error_set_errno(rc == ENOENT ? DK_ENOTFOUND : DK_EIO,
		                        "cannot run %s", o->argv[0]);
		goto fail_pipes;
	}
	set_nonblock(in[1]);
	set_nonblock(out[0]);
	set_nonblock(err[0]);
	if (!o->input_len) {
		close(in[1]);
		in[1] = -1;
	}
	/* a child that exits without reading stdin must not kill us */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

	while (out[0] >= 0 || err[0] >= 0) {
		struct pollfd pf[3];
		int n = 0, left;
		double el = dk_mono_ms() - start;

		if (!killed && el >= (double)timeout) {
			kill(-pid, SIGKILL);
			res->timed_out = 1;
			killed = 1;
		}
		left = killed ? 100 : (int)((double)timeout - el) + 1;
		if (out[0] >= 0)
			pf[n++] = (struct pollfd){ out[0], POLLIN, 0 };
		if (err[0] >= 0)
			pf[n++] = (struct pollfd){ err[0], POLLIN, 0 };
		if (in[1] >= 0)
			pf[n++] = (struct pollfd){ in[1], POLLOUT, 0 };
		if (poll(pf, (nfds_t)n, left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			char buf[65536];
			ssize_t r;

			if (!pf[i].revents)
				continue;
			if (pf[i].fd == in[1]) {
				r = write(in[1], o->input + written,
				          o->input_len - written);
				if (r > 0)
					written += (size_t)r;
				if ((r < 0 && errno != EAGAIN) ||
				    written == o->input_len) {
					close(in[1]);
					in[1] = -1;
				}
				continue;
			}
			r = read(pf[i].fd, buf, sizeof(buf));
			if (r > 0) {
				struct sink *s = pf[i].fd == out[0] ? &so : &se;
				sink_add(s, buf, (size_t)r);
				if (s == &so && so.over && !killed) {
					kill(-pid, SIGKILL);
					res->out_overflow = 1;
					killed = 1;
				}
			} else if (r == 0 || errno != EAGAIN) {
				if (pf[i].fd == out[0]) {
					close(out[0]);
					out[0] = -1;
				} else {
					close(err[0]);
					err[0] = -1;
				}
			}
		}
		if (killed && dk_mono_ms() - start > (double)timeout + 5000)
			break; /* descendants holding the pipes open */
	}
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	{
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	/* the pipes are closed: wait for the exit, up to the deadline */
	{
		useconds_t nap = 20;

		while (waitpid(pid, &wstatus, WNOHANG) == 0) {
			if (!killed &&
			    dk_mono_ms() - start >= (double)timeout) {
				kill(-pid, SIGKILL);
				res->timed_out = 1;
				killed = 1;
			}
			usleep(nap);
			if (nap < 5000)
				nap *= 2;
		}
	}
	if (killed)
		kill(-pid, SIGKILL); /* whatever is left of the group */
	res->ms = dk_mono_ms() - start;
	if (WIFEXITED(wstatus)) {
		res->exited = 1;
		res->status = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		res->signal = WTERMSIG(wstatus);
	}
	res->out = so.p ? so.p : calloc(1, 1);
	res->out_len = so.len;
	res->err = se.p ? se.p : calloc(1, 1);
	res->err_len = se.len;
	res->err_truncated = se.over;
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rc;
}
