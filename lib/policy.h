#ifndef DK_POLICY_H
#define DK_POLICY_H

#include <jansson.h>

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

#endif
