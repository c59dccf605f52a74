#ifndef DK_UTIL_CMD_H
#define DK_UTIL_CMD_H

#include <jansson.h>

/*
 * Helpers for commands that open a ledger (cmd/setup.c). A command file
 * that uses them says DK_USES_LEDGER once, so the linker brings them in.
 */
extern const int dk_cmd_ledger_support;
#define DK_USES_LEDGER                                                         \
	const int *dk__uses_ledger(void);                                      \
	const int *dk__uses_ledger(void)                                       \
	{                                                                      \
		return &dk_cmd_ledger_support;                                 \
	}

/* The actor recorded for this process: $DOCKET_ACTOR, else $USER. */
const char *dk_cmd_actor(void);
/* Print v on stdout, compact or indented, with sorted keys. */
int dk_print_json(json_t *v, int pretty);

struct dk_cmd_ctx;
struct dk_workflow;
/* Load a workflow; on failure print its located errors and return <0. */
int dk_cmd_load_workflow(struct dk_cmd_ctx *ctx, struct dk_workflow **out,
                         const char *path);

#endif
