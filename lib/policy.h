#ifndef DK_POLICY_H
#define DK_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "ledger.h"

/*
 * The ledger's policy: principals with roles and SSH public keys.
 *
 *   {"version": 1, "admins_required": 1,
 *    "principals": [{"name": "alice", "roles": ["admin"],
 *                    "key": "ssh-ed25519 AAAA... alice@host"}]}
 *
 * Returned json_t values are new references owned by the caller.
 */

/* Check a public key line "TYPE BASE64 [COMMENT]"; 0 or DK_EINVALID. */
int dk_ssh_pubkey_check(const char *line);
/* Read FILE.pub and return its first key line (caller frees). */
int dk_ssh_pubkey_read(char **out, const char *path);
/* Validate a whole policy object; names the first fault. */
int dk_policy_validate(const json_t *policy);
/* A policy with the given admins (names[i] uses keyfiles[i]). */
int dk_policy_from_admins(json_t **out, const char *const *names,
                          const char *const *keyfiles, int n);
int dk_policy_load_file(json_t **out, const char *path);

struct dk_ledger;
struct dk_index;
struct dk_sshkey;

/* The principal named name (borrowed) or NULL. */
json_t *dk_policy_principal(const json_t *policy, const char *name);
/* 1 when the principal has the role. */
int dk_policy_has_role(const json_t *principal, const char *role);
/* The principal whose key equals key (borrowed) or NULL. */
json_t *dk_policy_principal_by_key(const json_t *policy,
                                   const struct dk_sshkey *key);
/* SHA-256 (hex) of the policy's canonical JSON (compact, sorted keys). */
void dk_policy_hash(char out[65], const json_t *policy);
/* The policy held by the genesis or policy.update record at seq. */
int dk_policy_read(json_t **out, struct dk_ledger *l, uint64_t seq);
/* The policy in force at the head, through the status index. */
int dk_policy_current(json_t **out, uint64_t *seq, struct dk_ledger *l,
                      struct dk_index *ix);

/*
 * The message admins sign for a policy update (ledger/FORMAT.md):
 *   "docket policy-update v1\nledger ID\nversion N\n"
 *   "previous SHA256\npolicy SHA256\n"
 */
int dk_policy_update_message(char **out, const char *ledger_id,
                             const json_t *prev, const json_t *next);
/* Sign the update from prev to next with keypath (armored, caller frees). */
int dk_policy_sign(char **out, const char *ledger_id, const json_t *prev,
                   const json_t *next, const char *keypath);
/*
 * Check a policy.update body against the policy it replaces: version
 * moves forward, the message and hashes match, and at least
 * prev.admins_required distinct admins of prev signed it. DK_EREFUSED
 * names the first fault.
 */
int dk_policy_check_update(const json_t *prev, const json_t *body,
                           const char *ledger_id);
/*
 * Append a policy.update to next, with signatures (armored texts) made
 * by admins of the current policy; re-checked under the ledger lock.
 */
int dk_policy_update(struct dk_append_result *out, struct dk_ledger *l,
                     const json_t *next, const char *const *sigs, size_t n,
                     const char *actor);
/*
 * Check the genesis policy against an allowed_signers file (the
 * auditor's root of trust): every principal's key must be allowed for
 * that principal. DK_EREFUSED names the first that is not.
 */
struct dk_allowed_signers;
int dk_policy_check_trust(const json_t *policy,
                          const struct dk_allowed_signers *trust);

#endif
