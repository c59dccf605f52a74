#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int find_long(const struct dk_option *spec, const char *name, size_t len)
{
	int i;

	for (i = 0; spec[i].type != DK_OPT_END; i++)
		if (spec[i].name && strlen(spec[i].name) == len &&
		    !strncmp(spec[i].name, name, len))
			return i;
	return -1;
}

static int find_short(const struct dk_option *spec, char c)
{
	int i;

	for (i = 0; spec[i].type != DK_OPT_END; i++)
		if (spec[i].short_name && spec[i].short_name == c)
			return i;
	return -1;
}

static int store(struct dk_opts *o, int i, const char *val, const char *cmdname)
{
	const struct dk_option *opt = &o->spec[i];
	char *end;

	if (opt->type == DK_OPT_INT) {
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno || *end || end == val || v < 0) {
			fprintf(stderr,
			        "docket: %s: --%s expects a non-negative "
			        "integer, not '%s'\n",
			        cmdname, opt->name, val);
			return -1;
		}
	}
	if (opt->type == DK_OPT_LIST) {
		if (o->count[i] >= DK_OPT_LIST_MAX) {
			fprintf(stderr,
			        "docket: %s: too many --%s (at most %d)\n",
			        cmdname, opt->name, DK_OPT_LIST_MAX);
			return -1;
		}
		o->list[i][o->count[i]] = val;
	}
	o->value[i] = val;
	o->count[i]++;
	return 0;
}

/* Returns 0, 1 for -h/--help, or -1 after printing the error. */
int dk_parse_options(struct dk_opts *o, const struct dk_option *spec, int argc,
                     char **argv, const char *cmdname)
{
	int i, nops = 0, only_operands = 0;

	memset(o, 0, sizeof(*o));
	o->spec = spec;
	for (i = 0; spec[i].type != DK_OPT_END; i++)
		;
	o->nspec = i;
	o->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->argv)
		return -1;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		int k;

		if (only_operands || a[0] != '-' || !a[1]) {
			o->argv[nops++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (a[1] == '-') {
			char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			k = find_long(spec, name, len);
			if (k < 0) {
				fprintf(stderr,
				        "docket: %s: unknown option '--%.*s'\n"
				        "usage: see 'docket %s -h'\n",
				        cmdname, (int)len, name, cmdname);
				return -1;
			}
			if (spec[k].type == DK_OPT_FLAG) {
				if (eq) {
					fprintf(stderr,
					        "docket: %s: --%s takes no "
					        "value\n",
					        cmdname, spec[k].name);
					return -1;
				}
				o->count[k]++;
				continue;
			}
			const char *val = eq ? eq + 1 : NULL;
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr,
					        "docket: %s: --%s requires a "
					        "value (%s)\n",
					        cmdname, spec[k].name,
					        spec[k].argh ? spec[k].argh
					                     : "VALUE");
					return -1;
				}
				val = argv[++i];
			}
			if (store(o, k, val, cmdname) < 0)
				return -1;
			continue;
		}
		/* one or more short options: -qn5, -n 5 */
		for (char *p = a + 1; *p; p++) {
			k = find_short(spec, *p);
			if (k < 0) {
				fprintf(stderr,
				        "docket: %s: unknown option '-%c'\n"
				        "usage: see 'docket %s -h'\n",
				        cmdname, *p, cmdname);
				return -1;
			}
			if (spec[k].type == DK_OPT_FLAG) {
				o->count[k]++;
				continue;
			}
			const char *val = p[1] ? p + 1 : NULL;
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr,
					        "docket: %s: -%c requires a "
					        "value (%s)\n",
					        cmdname, *p,
					        spec[k].argh ? spec[k].argh
					                     : "VALUE");
					return -1;
				}
				val = argv[++i];
			}
			if (store(o, k, val, cmdname) < 0)
				return -1;
			break;
		}
	}
	o->argc = nops;
	return 0;
}

static int index_of(const struct dk_opts *o, const char *name)
{
	int i;

	for (i = 0; i < o->nspec; i++)
		if (o->spec[i].name && !strcmp(o->spec[i].name, name))
			return i;
	return -1;
}

int dk_opt_count(const struct dk_opts *o, const char *name)
{
	int i = index_of(o, name);

	return i < 0 ? 0 : o->count[i];
}

const char *dk_opt_str(const struct dk_opts *o, const char *name)
{
	int i = index_of(o, name);

	return i < 0 ? NULL : o->value[i];
}

long dk_opt_int(const struct dk_opts *o, const char *name, long def)
{
	int i = index_of(o, name);

	if (i < 0 || !o->value[i])
		return def;
	return strtol(o->value[i], NULL, 10);
}

const char *const *dk_opt_list(const struct dk_opts *o, const char *name,
                               int *n)
{
	int i = index_of(o, name);

	*n = i < 0 ? 0 : o->count[i];
	return i < 0 ? NULL : o->list[i];
}

void dk_usage(FILE *fp, const struct dk_command *cmd)
{
	const struct dk_option *opt;

	fprintf(fp, "usage: docket %s %s\n\n", cmd->name, cmd->synopsis);
	fprintf(fp, "%s\n\n", cmd->summary);
	for (opt = cmd->options; opt && opt->type != DK_OPT_END; opt++) {
		char left[64];
		int n = 0;

		if (opt->short_name)
			n = snprintf(left, sizeof(left), "-%c, ",
			             opt->short_name);
		n += snprintf(left + n, sizeof(left) - (size_t)n, "--%s",
		              opt->name);
		if (opt->argh)
			snprintf(left + n, sizeof(left) - (size_t)n, " %s",
			         opt->argh);
		fprintf(fp, "    %-24s %s\n", left, opt->help);
	}
	fprintf(fp, "    %-24s %s\n", "-h, --help", "show this help");
}
