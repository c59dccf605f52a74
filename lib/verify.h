#ifndef DK_VERIFY_H
#define DK_VERIFY_H

#include "ledger.h"

struct dk_anchor {
	uint64_t seq;
	char hash[65];
};

typedef void (*dk_progress_cb)(uint64_t done, uint64_t total, void *payload);

struct dk_verify_opts {
	const struct dk_anchor *anchors;
	size_t nanchors;
	dk_progress_cb progress;
	void *payload;
	const char *trust; /* allowed_signers: checks the genesis policy */
};

/*
 * The verdict. code is 0 when everything holds, DK_ETAMPERED when the
 * ledger was altered, DK_EIO when some object could not be read. The
 * first bad record is named by seq (or -1 when the fault is not one
 * record's) and the commit that carries it.
 */
struct dk_verify_report {
	int code;
	uint64_t records;
	uint64_t bytes;
	long long bad_seq;
	char bad_commit[41];
	char reason[512];
	uint64_t head_seq;
	char head_hash[65];
	char head_commit[41];
	char ledger_id[65];
	size_t anchors_checked;
	size_t signatures;   /* approval and policy signatures checked */
	double signature_ms; /* time spent checking them */
};

/* Parse "SEQ:HASH"; 0 or DK_EINVALID. */
int dk_anchor_parse(struct dk_anchor *out, const char *s);

/*
 * Check the ledger against FORMAT.md ("Verifying"). Returns 0 when the
 * check ran (see out->code), <0 if it could not: DK_EVERSION for a ledger
 * of a newer format, DK_ENOTLEDGER (dk_verify_path) for a path that is
 * not a git repository.
 */
int dk_verify(struct dk_verify_report *out, struct dk_ledger *l,
              const struct dk_verify_opts *opts);
/*
 * The same, opening the repository at path itself, so that a ledger
 * whose genesis record was damaged still gets a verdict (dk_ledger_open
 * refuses such a ledger).
 */
int dk_verify_path(struct dk_verify_report *out, const char *path,
                   const struct dk_verify_opts *opts);

#endif
