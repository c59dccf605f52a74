#ifndef DK_CMD_H
#define DK_CMD_H

/*
 * Adding a command:
 *  1. Write cmd/NAME.c with `int cmd_NAME(struct dk_cmd_ctx *ctx)`.
 *  2. Declare it below with DK_DECLARE_CMD(NAME).
 *  3. Add its options and a row to the table in cmd/commands.c.
 *  4. Add a man page docs/docket-NAME.1 and tests tests/tNNNN-NAME.sh.
 *  5. Add it to completions only if it needs dynamic values.
 *
 * Each command is its own executable, libexec/docket/docket-NAME, run by
 * the `docket` dispatcher as git runs git-*; so a command links only the
 * libraries it uses. Entry points are weak: the table is shared by every
 * executable, and in each only its own command's entry point is defined.
 */

#include <stdio.h>

enum dk_opt_type {
	DK_OPT_END = 0,
	DK_OPT_FLAG,   /* no argument */
	DK_OPT_STRING, /* one argument; last one wins */
	DK_OPT_INT,    /* one non-negative integer */
	DK_OPT_LIST,   /* repeatable argument */
};

/* What the completion helper offers for an option's value or operand. */
enum dk_complete {
	DK_COMPLETE_NONE = 0,
	DK_COMPLETE_FILE,
	DK_COMPLETE_DIR,
	DK_COMPLETE_WORKFLOW,
	DK_COMPLETE_RUN,
	DK_COMPLETE_PROPOSAL,
	DK_COMPLETE_TYPE,
	DK_COMPLETE_ACTION,
};

struct dk_option {
	char short_name;  /* 0 if none */
	const char *name; /* long name, without "--" */
	enum dk_opt_type type;
	const char *argh; /* argument name in help ("DIR") */
	const char *help;
	enum dk_complete complete;
};

#define DK_OPT_MAX      24
#define DK_OPT_LIST_MAX 64

struct dk_opts {
	const struct dk_option *spec;
	int nspec;
	int count[DK_OPT_MAX];
	const char *value[DK_OPT_MAX];
	const char *list[DK_OPT_MAX][DK_OPT_LIST_MAX];
	int argc; /* operands */
	char **argv;
};

enum dk_cmd_flags {
	DK_NEED_LEDGER = 1 << 0, /* open the ledger before running */
	DK_HIDDEN = 1 << 1,      /* not listed in help */
	DK_NO_LEDGER_OPT = 1 << 2,
};

struct dk_ledger;
struct dk_command;

struct dk_cmd_ctx {
	const struct dk_command *cmd;
	const char *name;
	struct dk_opts opts;
	struct dk_ledger *ledger; /* opened when DK_NEED_LEDGER */
	const char *ledger_path;  /* resolved --ledger / DOCKET_LEDGER */
	int json;
	int color;
};

typedef int (*dk_cmd_fn)(struct dk_cmd_ctx *ctx);

struct dk_command {
	const char *name;
	dk_cmd_fn fn;
	unsigned flags;
	const char *summary;  /* one line for `docket --help` */
	const char *synopsis; /* man-page order, after "docket NAME" */
	const struct dk_option *options;
	enum dk_complete operand; /* what operands are */
};

#define DK_DECLARE_CMD(n)                                                      \
	int cmd_##n(struct dk_cmd_ctx *ctx) __attribute__((weak))
DK_DECLARE_CMD(init);
DK_DECLARE_CMD(note);
DK_DECLARE_CMD(log);
DK_DECLARE_CMD(show);
DK_DECLARE_CMD(head);
DK_DECLARE_CMD(verify);
DK_DECLARE_CMD(lint);
DK_DECLARE_CMD(run);
DK_DECLARE_CMD(explain);
DK_DECLARE_CMD(propose);
DK_DECLARE_CMD(approve);
DK_DECLARE_CMD(dispatch);
DK_DECLARE_CMD(status);
DK_DECLARE_CMD(policy);
DK_DECLARE_CMD(complete);

/* `docket __complete WORD...` (cmd/complete-static.c). */
int dk_complete_words(const char *execdir, char **words, int n);

/* Weak: defined in cmd/setup.c, linked only into ledger commands. */
int dk_cmd_setup_ledger(struct dk_cmd_ctx *ctx) __attribute__((weak));
void dk_cmd_teardown_ledger(struct dk_cmd_ctx *ctx) __attribute__((weak));

extern const struct dk_command dk_commands[];
const struct dk_command *dk_command_find(const char *name);

/* The exit-code table; README and `docket --help` document it. */
enum dk_exit {
	DK_EXIT_OK = 0,
	DK_EXIT_FAILURE = 1,      /* internal or unexpected failure */
	DK_EXIT_USAGE = 2,        /* bad command line */
	DK_EXIT_NOTFOUND = 3,     /* record, handle or file not found */
	DK_EXIT_NOLEDGER = 4,     /* no ledger, not a ledger, newer format */
	DK_EXIT_LOCKED = 5,       /* ledger busy past the lock timeout */
	DK_EXIT_INVALID = 6,      /* invalid input (JSON, YAML, arguments) */
	DK_EXIT_REFUSED = 7,      /* refused by policy or a rule */
	DK_EXIT_EXISTS = 8,       /* refusing to overwrite */
	DK_EXIT_TAMPERED = 10,    /* verify: the ledger was altered */
	DK_EXIT_UNREADABLE = 11,  /* verify: the ledger could not be read */
	DK_EXIT_PAUSED = 20,      /* run: paused for approval */
	DK_EXIT_ESCALATED = 21,   /* run: escalated */
	DK_EXIT_BUDGET = 22,      /* run: stopped by its budget */
	DK_EXIT_STEP_FAILED = 23, /* run: a step failed */
};

/* Run a command executable's command (cmd/run-command.c). */
int dk_run_command(const struct dk_command *cmd, int argc, char **argv);

/* Parse argv against spec; prints usage errors itself. 0 or -1. */
int dk_parse_options(struct dk_opts *o, const struct dk_option *spec, int argc,
                     char **argv, const char *cmdname);
int dk_opt_count(const struct dk_opts *o, const char *name);
const char *dk_opt_str(const struct dk_opts *o, const char *name);
/* Value of an integer option, or def when absent. */
long dk_opt_int(const struct dk_opts *o, const char *name, long def);
/* The values of a repeatable option; *n receives the count. */
const char *const *dk_opt_list(const struct dk_opts *o, const char *name,
                               int *n);

void dk_usage(FILE *fp, const struct dk_command *cmd);

/* Print "docket: NAME: <last library error>" and map its code. */
int dk_cmd_error(const struct dk_cmd_ctx *ctx, int rc);
/* Print "docket: NAME: <formatted>". */
void dk_cmd_errorf(const struct dk_cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int dk_exit_from_error(int rc);
/* Colour escapes when ctx->color, else "". */
const char *dk_color(const struct dk_cmd_ctx *ctx, const char *which);

#endif
