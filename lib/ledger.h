#ifndef DK_LEDGER_H
#define DK_LEDGER_H

#include <jansson.h>
#include <stdint.h>

/*
 * The ledger: hash-chained JSON records, one per commit, in a git
 * repository (see ledger/FORMAT.md).
 *
 * Ownership: a struct dk_record and everything in it belongs to whoever
 * received it, who frees it with dk_record_free(); json_t values passed
 * into the library are borrowed (the library takes its own references).
 */

#define DK_FORMAT_VERSION 1
#define DK_BRANCH         "refs/heads/main"
#define DK_SEQ_DIGITS     10
#define DK_MAX_RECORD     (4 * 1024 * 1024)

struct dk_ledger;

struct dk_record {
	uint64_t seq;
	char hash[65]; /* SHA-256 of the blob bytes */
	char prev[65];
	char commit[41];  /* the commit that added it, when known */
	const char *type; /* points into json */
	const char *actor;
	const char *at;
	json_t *json; /* the whole record */
	json_t *body; /* borrowed from json */
	char *bytes;  /* exact blob bytes */
	size_t len;
};

struct dk_head {
	uint64_t seq;
	char hash[65];
	char commit[41];
	char ledger_id[65];
};

struct dk_append_result {
	uint64_t seq;
	char hash[65];
	char commit[41];
};

/* Called under the ledger lock with the current head; non-zero refuses. */
typedef int (*dk_append_check)(struct dk_ledger *l, const struct dk_head *head,
                               json_t *body, void *payload);

struct dk_append_opts {
	dk_append_check check;
	void *payload;
	const char *summary; /* commit subject; default from the body */
};

struct dk_init_opts {
	json_t *policy; /* borrowed */
	const char *actor;
};

/*
 * Tuning, read from the environment at open:
 *   DOCKET_FSYNC=0          no durability barriers (benchmarks, tests)
 *   DOCKET_LOCK_TIMEOUT=MS  how long to wait for the append lock (10000)
 */
int dk_ledger_init(struct dk_ledger **out, const char *path,
                   const struct dk_init_opts *opts);
int dk_ledger_open(struct dk_ledger **out, const char *path);
void dk_ledger_free(struct dk_ledger *l);
const char *dk_ledger_path(const struct dk_ledger *l);
/* The git directory (for docket's private files beside the ledger). */
const char *dk_ledger_gitdir(const struct dk_ledger *l);
const char *dk_ledger_id(const struct dk_ledger *l);
void dk_ledger_set_fsync(struct dk_ledger *l, int on);
int dk_ledger_fsync_enabled(const struct dk_ledger *l);

/* Resolve the ledger path: explicit, else $DOCKET_LEDGER, else ./.docket
 * (searched upward from the current directory). Caller frees. */
char *dk_ledger_discover(const char *explicit_path);

int dk_ledger_append(struct dk_append_result *out, struct dk_ledger *l,
                     const char *type, const char *actor, json_t *body,
                     const struct dk_append_opts *opts);

int dk_ledger_head(struct dk_head *out, struct dk_ledger *l);
/* Read the record with this seq from the current head. */
int dk_ledger_read(struct dk_record **out, struct dk_ledger *l, uint64_t seq);
/* Find by full hash or unique hash prefix (at least 8 hex digits). */
int dk_ledger_find_hash(struct dk_record **out, struct dk_ledger *l,
                        const char *hex);
/* Newest first; cb returns non-zero to stop (that value is returned). */
typedef int (*dk_record_cb)(const struct dk_record *r, void *payload);
int dk_ledger_foreach_reverse(struct dk_ledger *l, dk_record_cb cb,
                              void *payload);
/* Oldest first, from seq `from`. */
int dk_ledger_foreach(struct dk_ledger *l, uint64_t from, dk_record_cb cb,
                      void *payload);

void dk_record_free(struct dk_record *r);
/* Parse blob bytes into a record (checks the required fields). */
int dk_record_parse(struct dk_record **out, const char *bytes, size_t len);
/* Is t a record type: [a-z][a-z0-9_.-]{0,63}? */
int dk_record_type_valid(const char *t);
/* Its five components, one per tree level: "00" ... "45.json". */
void dk_record_path_parts(char parts[5][8], uint64_t seq);
/* Path of a record in the tree: "00/00/01/23/45.json". */
void dk_record_path(char out[32], uint64_t seq);

/* Internal, for verify.c. */
struct git_repository;
struct git_repository *dk_ledger__repo(struct dk_ledger *l);

#endif
