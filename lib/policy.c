#include "policy.h"
#include "error.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const key_types[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    NULL,
};

int dk_ssh_pubkey_check(const char *line)
{
	size_t tl = strcspn(line, " "), bl, i;
	const char *b64;
	int known = 0;

	for (i = 0; key_types[i]; i++)
		if (strlen(key_types[i]) == tl &&
		    !strncmp(line, key_types[i], tl))
			known = 1;
	if (!known)
		return dk_error_set(DK_EINVALID,
		                    "not an SSH public key (unknown key type "
		                    "'%.*s')",
		                    (int)(tl > 40 ? 40 : tl), line);
	if (line[tl] != ' ')
		return dk_error_set(DK_EINVALID,
		                    "SSH public key has no key data");
	b64 = line + tl + 1;
	bl = strcspn(b64, " \n");
	if (bl < 16 || bl % 4)
		return dk_error_set(DK_EINVALID,
		                    "SSH public key data is not base64");
	for (i = 0; i < bl; i++) {
		char c = b64[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		      (c == '=' && i >= bl - 2)))
			return dk_error_set(
			    DK_EINVALID, "SSH public key data is not base64");
	}
	if (strchr(line, '\n'))
		return dk_error_set(DK_EINVALID,
		                    "SSH public key spans several lines");
	return 0;
}

int dk_ssh_pubkey_read(char **out, const char *path)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = dk_read_file(&buf, &len, path, 64 * 1024)) < 0)
		return rc;
	buf[strcspn(buf, "\r\n")] = '\0';
	if ((rc = dk_ssh_pubkey_check(buf)) < 0) {
		dk_error_prefix("%s", path);
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static int valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == '@'))
			return 0;
	}
	return s[0] != '-' && s[0] != '.';
}

int dk_policy_validate(const json_t *policy)
{
	json_t *ps, *p, *req;
	size_t i, j, admins = 0;

	if (!json_is_object(policy))
		return dk_error_set(DK_EINVALID, "policy is not an object");
	ps = json_object_get(policy, "principals");
	if (!json_is_array(ps))
		return dk_error_set(DK_EINVALID,
		                    "policy: 'principals' must be an array");
	json_array_foreach(ps, i, p)
	{
		const char *name =
		    json_string_value(json_object_get(p, "name"));
		const char *key = json_string_value(json_object_get(p, "key"));
		json_t *roles = json_object_get(p, "roles"), *r;
		size_t k;

		if (!name || !valid_name(name))
			return dk_error_set(DK_EINVALID,
			                    "policy: principal %zu: 'name' "
			                    "must be 1-64 of [A-Za-z0-9_.@-]",
			                    i);
		if (!key || dk_ssh_pubkey_check(key) < 0)
			return dk_error_set(DK_EINVALID,
			                    "policy: principal '%s': 'key' "
			                    "must be an SSH public key line",
			                    name);
		if (!json_is_array(roles) || !json_array_size(roles))
			return dk_error_set(DK_EINVALID,
			                    "policy: principal '%s': 'roles' "
			                    "must be a non-empty array",
			                    name);
		json_array_foreach(roles, k, r)
		{
			if (!json_is_string(r) ||
			    !valid_name(json_string_value(r)))
				return dk_error_set(
				    DK_EINVALID,
				    "policy: principal '%s': bad role", name);
			if (!strcmp(json_string_value(r), "admin"))
				admins++;
		}
		for (j = 0; j < i; j++) {
			const char *other = json_string_value(
			    json_object_get(json_array_get(ps, j), "name"));
			if (other && !strcmp(other, name))
				return dk_error_set(DK_EINVALID,
				                    "policy: principal '%s' is "
				                    "listed twice",
				                    name);
		}
	}
	if (!admins)
		return dk_error_set(DK_EINVALID,
		                    "policy: at least one principal needs the "
		                    "'admin' role");
	req = json_object_get(policy, "admins_required");
	if (req && (!json_is_integer(req) || json_integer_value(req) < 1 ||
	            (size_t)json_integer_value(req) > admins))
		return dk_error_set(DK_EINVALID,
		                    "policy: 'admins_required' must be 1 to "
		                    "the number of admins (%zu)",
		                    admins);
	return 0;
}

int dk_policy_from_admins(json_t **out, const char *const *names,
                          const char *const *keyfiles, int n)
{
	json_t *pol = json_pack("{s:i, s:i, s:[]}", "version", 1,
	                        "admins_required", 1, "principals");
	json_t *ps = json_object_get(pol, "principals");
	int i, rc;

	*out = NULL;
	for (i = 0; i < n; i++) {
		char *key = NULL;

		if ((rc = dk_ssh_pubkey_read(&key, keyfiles[i])) < 0) {
			json_decref(pol);
			return rc;
		}
		json_array_append_new(ps, json_pack("{s:s, s:[s], s:s}", "name",
		                                    names[i], "roles", "admin",
		                                    "key", key));
		free(key);
	}
	if ((rc = dk_policy_validate(pol)) < 0) {
		json_decref(pol);
		return rc;
	}
	*out = pol;
	return 0;
}

int dk_policy_load_file(json_t **out, const char *path)
{
	json_error_t err;
	json_t *pol;
	int rc;

	*out = NULL;
	pol = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!pol)
		return dk_error_set(DK_EINVALID, "%s:%d:%d: %s", path, err.line,
		                    err.column, err.text);
	if (!json_object_get(pol, "version"))
		json_object_set_new(pol, "version", json_integer(1));
	if (!json_object_get(pol, "admins_required"))
		json_object_set_new(pol, "admins_required", json_integer(1));
	if ((rc = dk_policy_validate(pol)) < 0) {
		dk_error_prefix("%s", path);
		json_decref(pol);
		return rc;
	}
	*out = pol;
	return 0;
}
