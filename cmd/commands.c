/*
 * The command table: one row per command, with its options. The same data
 * drives option parsing, -h, `docket --help` and shell completion, and is
 * linked into the dispatcher, so help and completion never load libgit2.
 */
#include "cmd.h"

#include <string.h>

#define LEDGER_OPT                                                             \
	{                                                                      \
		0, "ledger", DK_OPT_STRING, "DIR",                             \
		    "the ledger (default: $DOCKET_LEDGER, else ./.docket)",    \
		    DK_COMPLETE_DIR                                            \
	}
#define JSON_OPT                                                               \
	{                                                                      \
		0, "json", DK_OPT_FLAG, NULL, "print JSON", 0                  \
	}
#define END_OPT                                                                \
	{                                                                      \
		0, NULL, DK_OPT_END, NULL, NULL, 0                             \
	}

static const struct dk_option init_options[] = {
	{ 0, "json", DK_OPT_FLAG, NULL, "print the genesis record as JSON", 0 },
	{ 0, "admin", DK_OPT_LIST, "NAME", "an admin principal (with --key)",
	  0 },
	{ 0, "key", DK_OPT_LIST, "FILE.pub",
	  "the SSH public key of the preceding --admin", DK_COMPLETE_FILE },
	{ 0, "policy", DK_OPT_STRING, "FILE",
	  "the initial policy as a JSON file", DK_COMPLETE_FILE },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option note_options[] = {
	JSON_OPT,
	{ 0, "run", DK_OPT_STRING, "RUN", "attach the note to a run",
	  DK_COMPLETE_RUN },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option log_options[] = {
	JSON_OPT,
	{ 'n', "max-count", DK_OPT_INT, "N", "show at most N records", 0 },
	{ 0, "type", DK_OPT_STRING, "TYPE", "only records of this type",
	  DK_COMPLETE_TYPE },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option show_options[] = {
	JSON_OPT,
	{ 0, "raw", DK_OPT_FLAG, NULL, "print the record's exact bytes", 0 },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option head_options[] = {
	JSON_OPT,
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option verify_options[] = {
	JSON_OPT,
	{ 'q', "quiet", DK_OPT_FLAG, NULL, "print nothing; only the exit code",
	  0 },
	{ 0, "anchor", DK_OPT_LIST, "SEQ:HASH",
	  "require the ledger to still hold this record", 0 },
	{ 0, "trust", DK_OPT_STRING, "FILE",
	  "allowed_signers file the genesis policy must match",
	  DK_COMPLETE_FILE },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option lint_options[] = {
	{ 0, "json", DK_OPT_FLAG, NULL,
	  "print each workflow's canonical JSON form, one per line", 0 },
	{ 0, "hash", DK_OPT_FLAG, NULL,
	  "print each workflow's workflow_hash and file name", 0 },
	{ 'q', "quiet", DK_OPT_FLAG, NULL, "print only errors", 0 },
	END_OPT,
};

static const struct dk_option run_options[] = {
	JSON_OPT,
	{ 0, "session", DK_OPT_LIST, "KEY=VALUE",
	  "a trusted session value (KEY:=JSON for a typed value)", 0 },
	{ 0, "session-file", DK_OPT_STRING, "FILE",
	  "session values as a JSON object", DK_COMPLETE_FILE },
	{ 0, "input", DK_OPT_LIST, "KEY=VALUE",
	  "an input value (KEY:=JSON for a typed value)", 0 },
	{ 0, "input-file", DK_OPT_STRING, "FILE",
	  "input values as a JSON object", DK_COMPLETE_FILE },
	{ 0, "resume", DK_OPT_STRING, "RUN",
	  "continue a run from its first unrecorded step", DK_COMPLETE_RUN },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option explain_options[] = {
	JSON_OPT,
	{ 0, "format", DK_OPT_STRING, "text|json|dot",
	  "output format (default text)", 0 },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option dispatch_options[] = {
	JSON_OPT,
	{ 0, "ready", DK_OPT_FLAG, NULL,
	  "every proposal with dispatch work left (see docs/dispatch.md)", 0 },
	{ 0, "dry-run", DK_OPT_FLAG, NULL,
	  "print the exact requests (secrets masked); send and record "
	  "nothing",
	  0 },
	{ 0, "max-in-flight", DK_OPT_INT, "N",
	  "requests on the wire at once (default 4)", 0 },
	{ 0, "ca-file", DK_OPT_STRING, "FILE",
	  "trust these PEM certificates instead of the system's "
	  "(default $DOCKET_CA_FILE)",
	  DK_COMPLETE_FILE },
	{ 0, "no-continue", DK_OPT_FLAG, NULL,
	  "leave the runs paused after dispatch", 0 },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option propose_options[] = {
	JSON_OPT,
	{ 0, "args", DK_OPT_STRING, "JSON|@FILE",
	  "the action's arguments as a JSON object", 0 },
	{ 0, "reason", DK_OPT_STRING, "TEXT", "why, for the approvers", 0 },
	{ 0, "workflow", DK_OPT_STRING, "FILE",
	  "the workflow file (default: the one the run started from)",
	  DK_COMPLETE_WORKFLOW },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option approve_options[] = {
	JSON_OPT,
	{ 0, "deny", DK_OPT_FLAG, NULL, "sign a denial: rejects the proposal",
	  0 },
	{ 'y', "yes", DK_OPT_FLAG, NULL, "sign without asking", 0 },
	{ 0, "reason", DK_OPT_STRING, "TEXT", "why, recorded with the vote",
	  0 },
	{ 0, "key", DK_OPT_STRING, "FILE",
	  "SSH key to sign with (default $DOCKET_KEY, ~/.ssh/id_ed25519); a "
	  ".pub file signs through ssh-agent",
	  DK_COMPLETE_FILE },
	{ 0, "as", DK_OPT_STRING, "NAME",
	  "the principal (default: the one whose key it is)", 0 },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option status_options[] = {
	JSON_OPT,
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option policy_options[] = {
	JSON_OPT,
	{ 0, "key", DK_OPT_LIST, "FILE",
	  "sign (sign, update) with this admin's SSH key", DK_COMPLETE_FILE },
	{ 0, "signature", DK_OPT_LIST, "FILE",
	  "an admin's signature made with 'docket policy sign'",
	  DK_COMPLETE_FILE },
	LEDGER_OPT,
	END_OPT,
};

static const struct dk_option complete_options[] = {
	LEDGER_OPT,
	END_OPT,
};

const struct dk_command dk_commands[] = {
	{ "init", cmd_init, DK_NO_LEDGER_OPT, "create a ledger",
	  "[--json] [--admin NAME --key FILE.pub]... [--policy FILE] "
	  "[--ledger DIR] [DIR]",
	  init_options, DK_COMPLETE_DIR },
	{ "note", cmd_note, DK_NEED_LEDGER, "append an operator's note",
	  "[--json] [--run RUN] [--ledger DIR] TEXT", note_options,
	  DK_COMPLETE_NONE },
	{ "log", cmd_log, DK_NEED_LEDGER, "list recent records, newest first",
	  "[--json] [-n N] [--type TYPE] [--ledger DIR]", log_options,
	  DK_COMPLETE_NONE },
	{ "show", cmd_show, DK_NEED_LEDGER, "show one record",
	  "[--json] [--raw] [--ledger DIR] SEQ|HASH|HANDLE", show_options,
	  DK_COMPLETE_NONE },
	{ "head", cmd_head, DK_NEED_LEDGER,
	  "print the current head, for an auditor to save",
	  "[--json] [--ledger DIR]", head_options, DK_COMPLETE_NONE },
	{ "verify", cmd_verify, 0, "check the hash chain and the git history",
	  "[--json] [-q] [--anchor SEQ:HASH]... [--trust FILE] "
	  "[--ledger DIR]",
	  verify_options, DK_COMPLETE_NONE },
	{ "lint", cmd_lint, DK_NO_LEDGER_OPT,
	  "check workflow files (directories: every *.yaml, *.yml)",
	  "[--hash] [--json] [-q] FILE|DIR...", lint_options,
	  DK_COMPLETE_WORKFLOW },
	{ "run", cmd_run, DK_NEED_LEDGER,
	  "run a workflow, recording evidence for every step",
	  "[--json] [--session KEY=VALUE]... [--session-file FILE] "
	  "[--input KEY=VALUE]... [--input-file FILE] [--ledger DIR] "
	  "WORKFLOW | --resume RUN [WORKFLOW]",
	  run_options, DK_COMPLETE_WORKFLOW },
	{ "explain", cmd_explain, DK_NEED_LEDGER,
	  "show a run's timeline: steps, evidence, gates, budget",
	  "[--json] [--format text|json|dot] [--ledger DIR] RUN|HANDLE",
	  explain_options, DK_COMPLETE_RUN },
	{ "propose", cmd_propose, DK_NEED_LEDGER,
	  "propose an action in a run, for approval",
	  "[--json] --args JSON|@FILE [--reason TEXT] [--workflow FILE] "
	  "[--ledger DIR] RUN ACTION",
	  propose_options, DK_COMPLETE_RUN },
	{ "approve", cmd_approve, DK_NEED_LEDGER,
	  "sign an approval or a denial of a proposal",
	  "[--deny] [--json] [-y] [--as NAME] [--key FILE] [--reason TEXT] "
	  "[--ledger DIR] PROPOSAL",
	  approve_options, DK_COMPLETE_PROPOSAL },
	{ "status", cmd_status, DK_NEED_LEDGER,
	  "pending proposals, paused runs, proposals awaiting dispatch",
	  "[--json] [--ledger DIR]", status_options, DK_COMPLETE_NONE },
	{ "policy", cmd_policy, DK_NEED_LEDGER,
	  "show, sign or update the ledger's policy",
	  "[--json] [--ledger DIR] [show] | sign --key FILE NEW.json | "
	  "update [--key FILE]... [--signature FILE]... NEW.json",
	  policy_options, DK_COMPLETE_FILE },
	{ "complete", cmd_complete, DK_NEED_LEDGER | DK_HIDDEN,
	  "completion values from the ledger (for the shell scripts)",
	  "[--ledger DIR] runs|proposals|types [PREFIX] | actions WORKFLOW "
	  "[PREFIX]",
	  complete_options, DK_COMPLETE_NONE },
	{ "dispatch", cmd_dispatch, DK_NEED_LEDGER,
	  "send approved provider actions exactly once, then continue "
	  "their runs",
	  "[--json] [--dry-run] [--max-in-flight N] [--ca-file FILE] "
	  "[--no-continue] [--ledger DIR] PROPOSAL... | --ready",
	  dispatch_options, DK_COMPLETE_PROPOSAL },
	{ NULL, NULL, 0, NULL, NULL, NULL, DK_COMPLETE_NONE },
};

const struct dk_command *dk_command_find(const char *name)
{
	const struct dk_command *c;

	for (c = dk_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}
