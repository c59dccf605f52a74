/*
 * `docket __complete WORD...`: completion candidates for the words after
 * "docket", the last one being the word under the cursor. Commands and
 * options come from the command table, so this needs no library; values
 * only the ledger knows are handed to docket-complete. A first line of
 * ":files", ":dirs" or ":files yaml" asks the shell to complete paths.
 */
#include "cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static const struct dk_option *find_opt(const struct dk_command *c,
                                        const char *word)
{
	const struct dk_option *o;

	for (o = c->options; o && o->type != DK_OPT_END; o++) {
		if (word[0] == '-' && word[1] == '-' &&
		    !strcmp(word + 2, o->name))
			return o;
		if (word[0] == '-' && word[1] && !word[2] &&
		    word[1] == o->short_name)
			return o;
	}
	return NULL;
}

static int dynamic(const char *execdir, const char *kind, char **words, int n,
                   const char *partial)
{
	char path[PATH_MAX + 32];
	const char *argv[8];
	int a = 0, i;

	snprintf(path, sizeof(path), "%s/docket-complete", execdir);
	argv[a++] = path;
	argv[a++] = kind;
	if (!strcmp(kind, "actions")) {
		/* the workflow named on the command line, if any */
		const char *wf = NULL;
		for (i = 1; i < n - 1; i++)
			if (strstr(words[i], ".yaml") ||
			    strstr(words[i], ".yml"))
				wf = words[i];
		if (!wf)
			return 0;
		argv[a++] = wf;
	}
	for (i = 1; i < n - 1; i++)
		if (!strcmp(words[i], "--ledger")) {
			argv[a++] = "--ledger";
			argv[a++] = words[i + 1];
			break;
		}
	argv[a++] = partial;
	argv[a] = NULL;
	fflush(stdout);
	execv(path, (char *const *)argv);
	return 0; /* no ledger program: no candidates */
}

static int values(const char *execdir, enum dk_complete what, char **words,
                  int n, const char *partial)
{
	switch (what) {
	case DK_COMPLETE_FILE:
		printf(":files\n");
		return 0;
	case DK_COMPLETE_DIR:
		printf(":dirs\n");
		return 0;
	case DK_COMPLETE_WORKFLOW:
		printf(":files yaml\n");
		return 0;
	case DK_COMPLETE_RUN:
		return dynamic(execdir, "runs", words, n, partial);
	case DK_COMPLETE_PROPOSAL:
		return dynamic(execdir, "proposals", words, n, partial);
	case DK_COMPLETE_TYPE:
		return dynamic(execdir, "types", words, n, partial);
	case DK_COMPLETE_ACTION:
		return dynamic(execdir, "actions", words, n, partial);
	default:
		return 0;
	}
}

int dk_complete_words(const char *execdir, char **words, int n)
{
	const char *partial = n ? words[n - 1] : "";
	const struct dk_command *c;
	const struct dk_option *o;

	if (n <= 1) {
		for (c = dk_commands; c->name; c++)
			if (!(c->flags & DK_HIDDEN) && starts(c->name, partial))
				printf("%s\n", c->name);
		if (starts("help", partial))
			printf("help\n");
		if (partial[0] == '-') {
			static const char *const g[] = { "--help", "--version",
				                         "--exec-path" };
			for (size_t i = 0; i < 3; i++)
				if (starts(g[i], partial))
					printf("%s\n", g[i]);
		}
		return 0;
	}
	if (!strcmp(words[0], "help")) {
		for (c = dk_commands; c->name; c++)
			if (!(c->flags & DK_HIDDEN) && starts(c->name, partial))
				printf("%s\n", c->name);
		return 0;
	}
	c = dk_command_find(words[0]);
	if (!c)
		return 0;
	if (n >= 3 && (o = find_opt(c, words[n - 2])) && o->type != DK_OPT_FLAG)
		return values(execdir, o->complete, words, n, partial);
	if (partial[0] == '-') {
		for (o = c->options; o && o->type != DK_OPT_END; o++) {
			char buf[80];
			snprintf(buf, sizeof(buf), "--%s", o->name);
			if (starts(buf, partial))
				printf("%s\n", buf);
		}
		if (starts("--help", partial))
			printf("--help\n");
		return 0;
	}
	return values(execdir, c->operand, words, n, partial);
}
