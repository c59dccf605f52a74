/*
 * The entry point of every docket executable. Run as `docket`, it is the
 * dispatcher: it parses nothing but global options and execs
 * libexec/docket/docket-COMMAND. Run as `docket-COMMAND`, it parses the
 * command's options from the table, opens the ledger when the command
 * needs one, and calls the command.
 */
#include "cmd.h"
#include "../lib/error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DOCKET_VERSION
#define DOCKET_VERSION "0.1.0"
#endif

static const char *exit_table =
    "exit codes:\n"
    "    0   success\n"
    "    1   internal or unexpected failure\n"
    "    2   bad command line\n"
    "    3   record, handle or file not found\n"
    "    4   no ledger, not a ledger, or a newer ledger format\n"
    "    5   ledger busy past the lock timeout\n"
    "    6   invalid input (JSON, YAML, arguments)\n"
    "    7   refused by policy or a rule\n"
    "    8   refusing to overwrite an existing ledger\n"
    "    10  verify: the ledger was altered (tampered)\n"
    "    11  verify: the ledger could not be read\n"
    "    20  run: paused for approval\n"
    "    21  run: escalated\n"
    "    22  run: stopped by its budget\n"
    "    23  run: a step failed\n";

static void main_usage(FILE *fp)
{
	const struct dk_command *c;

	fprintf(fp, "usage: docket [--version] [--exec-path] [-h] COMMAND "
	            "[ARGS]\n\ncommands:\n");
	for (c = dk_commands; c->name; c++)
		if (!(c->flags & DK_HIDDEN))
			fprintf(fp, "    %-10s %s\n", c->name, c->summary);
	fprintf(fp,
	        "\n'docket COMMAND -h' shows a command's options; "
	        "'man docket-COMMAND' its page.\n"
	        "The ledger is --ledger DIR, else $DOCKET_LEDGER, else "
	        "./.docket\n\n%s",
	        exit_table);
}

static int exec_dir(char *out, size_t outsz)
{
	const char *env = getenv("DOCKET_EXEC_PATH");
	char self[PATH_MAX - 32], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, outsz, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(out, outsz, "%s/../libexec/docket", self);
	if (access(out, X_OK) == 0)
		return 0;
	snprintf(out, outsz, "%s", self);
	return 0;
}

static int levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int d[32][32];

	if (la > 30 || lb > 30)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

/* On a terminal, `docket help CMD` is the man page, found beside the
 * installed program first; without man or the page, the usage. */
static void show_man(const char *name)
{
	char dir[PATH_MAX], page[128], manpath[PATH_MAX + 64];
	const char *old = getenv("MANPATH");

	if (exec_dir(dir, sizeof(dir)) < 0)
		return;
	snprintf(manpath, sizeof(manpath), "%s/../../share/man:%s", dir,
	         old ? old : "");
	setenv("MANPATH", manpath, 1);
	snprintf(page, sizeof(page), "docket-%s", name);
	if (fork() == 0) {
		execlp("man", "man", page, (char *)NULL);
		_exit(127);
	} else {
		int st = 0;

		wait(&st);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			exit(DK_EXIT_OK);
	}
}

static int dispatch(int argc, char **argv)
{
	const struct dk_command *cmd = dk_command_find(argv[0]);
	char dir[PATH_MAX], path[PATH_MAX + 64];

	if (!cmd) {
		const struct dk_command *c, *best = NULL;
		int bestd = 3;

		fprintf(stderr, "docket: '%s' is not a docket command\n",
		        argv[0]);
		for (c = dk_commands; c->name; c++) {
			int d = levenshtein(argv[0], c->name);
			if (d < bestd && !(c->flags & DK_HIDDEN)) {
				bestd = d;
				best = c;
			}
		}
		if (best)
			fprintf(stderr, "did you mean '%s'?\n", best->name);
		fprintf(stderr, "see 'docket --help'\n");
		return DK_EXIT_USAGE;
	}
	if (exec_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "docket: cannot find the command directory; "
		                "set DOCKET_EXEC_PATH\n");
		return DK_EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "%s/docket-%s", dir, cmd->name);
	argv[0] = path;
	(void)argc;
	execv(path, argv);
	fprintf(stderr, "docket: %s: cannot run %s: %s\n", cmd->name, path,
	        strerror(errno));
	return DK_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const struct dk_command *cmd;

	base = base ? base + 1 : argv[0];
	if (!strncmp(base, "docket-", 7)) {
		cmd = dk_command_find(base + 7);
		if (!cmd || !cmd->fn) {
			fprintf(stderr, "docket: %s: not built into %s\n",
			        base + 7, base);
			return DK_EXIT_FAILURE;
		}
		return dk_run_command(cmd, argc, argv);
	}

	if (argc < 2) {
		main_usage(stderr);
		return DK_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		main_usage(stdout);
		return DK_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("docket %s\n", DOCKET_VERSION);
		return DK_EXIT_OK;
	}
	if (!strcmp(argv[1], "--exec-path")) {
		char dir[PATH_MAX], real[PATH_MAX];

		if (exec_dir(dir, sizeof(dir)) < 0)
			return DK_EXIT_FAILURE;
		printf("%s\n", realpath(dir, real) ? real : dir);
		return DK_EXIT_OK;
	}
	if (!strcmp(argv[1], "__complete")) {
		char dir[PATH_MAX];

		if (exec_dir(dir, sizeof(dir)) < 0)
			return DK_EXIT_FAILURE;
		return dk_complete_words(dir, argv + 2, argc - 2);
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			main_usage(stdout);
			return DK_EXIT_OK;
		}
		cmd = dk_command_find(argv[2]);
		if (!cmd) {
			fprintf(stderr, "docket: help: no command '%s'\n",
			        argv[2]);
			return DK_EXIT_USAGE;
		}
		if (isatty(1))
			show_man(cmd->name);
		dk_usage(stdout, cmd);
		return DK_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "docket: unknown option '%s'\n", argv[1]);
		main_usage(stderr);
		return DK_EXIT_USAGE;
	}
	return dispatch(argc - 1, argv + 1);
}
