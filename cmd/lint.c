/*
 * docket lint: check workflow files; print their canonical form or hash.
 * Links no ledger code, so this executable never loads libgit2 or libcurl.
 */
#include "cmd.h"
#include "../lib/error.h"
#include "../lib/workflow.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct files {
	char **v;
	size_t n, cap;
};

static int add_file(struct files *f, const char *path)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		char **v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -1;
		f->v = v;
		f->cap = cap;
	}
	if (!(f->v[f->n] = strdup(path)))
		return -1;
	f->n++;
	return 0;
}

static int is_yaml(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect *.yaml and *.yml under dir, in sorted order; skip dot-files. */
static int walk(struct files *f, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	struct files here = { 0 };
	size_t i;
	int rc = 0;

	if (depth > 64)
		return 0;
	if (!(d = opendir(dir)))
		return -1;
	while ((e = readdir(d))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s%s%s", dir,
		             dir[strlen(dir) - 1] == '/' ? "" : "/",
		             e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (stat(p, &st) == 0 &&
		    (S_ISDIR(st.st_mode) ||
		     (S_ISREG(st.st_mode) && is_yaml(e->d_name))))
			rc = add_file(&here, p);
		free(p);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (here.n)
		qsort(here.v, here.n, sizeof(char *), by_name);
	for (i = 0; i < here.n; i++) {
		struct stat st;
		if (rc == 0) {
			if (stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode))
				rc = walk(f, here.v[i], depth + 1);
			else
				rc = add_file(f, here.v[i]);
		}
		free(here.v[i]);
	}
	free(here.v);
	return rc;
}

static int lint_one(struct dk_cmd_ctx *ctx, const char *path, int quiet,
                    int hash)
{
	struct dk_diags d = DK_DIAGS_INIT;
	struct dk_workflow *wf = NULL;
	size_t i;
	int rc;

	rc = dk_workflow_load(&wf, path, &d);
	if (rc < 0) {
		if (d.n) {
			for (i = 0; i < d.n; i++)
				fprintf(stderr, "%s:%d:%d: %s\n", path,
				        d.v[i].line, d.v[i].col, d.v[i].msg);
			if (d.dropped)
				fprintf(stderr,
				        "%s: %zu more errors not "
				        "shown\n",
				        path, d.dropped);
		} else {
			dk_cmd_errorf(ctx, "%s", dk_error_last());
		}
		dk_diags_clear(&d);
		return -1;
	}
	if (ctx->json)
		printf("%s\n", wf->canonical_text);
	else if (hash)
		printf("%s  %s\n", wf->workflow_hash, path);
	else if (!quiet)
		printf("%s: ok (%s version %lld, workflow_hash %s)\n", path,
		       wf->name, (long long)wf->version, wf->workflow_hash);
	dk_workflow_free(wf);
	dk_diags_clear(&d);
	return 0;
}

int cmd_lint(struct dk_cmd_ctx *ctx)
{
	struct files f = { 0 };
	int quiet = dk_opt_count(&ctx->opts, "quiet") > 0;
	int hash = dk_opt_count(&ctx->opts, "hash") > 0;
	int i, bad = 0;
	size_t j;

	if (!ctx->opts.argc) {
		dk_usage(stderr, ctx->cmd);
		return DK_EXIT_USAGE;
	}
	for (i = 0; i < ctx->opts.argc; i++) {
		const char *a = ctx->opts.argv[i];
		struct stat st;

		if (stat(a, &st) < 0) {
			dk_cmd_errorf(ctx, "%s: %s", a, strerror(errno));
			bad = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? walk(&f, a, 0) : add_file(&f, a)) {
			dk_cmd_errorf(ctx, "%s: %s", a, strerror(errno));
			bad = 1;
		}
	}
	for (j = 0; j < f.n; j++) {
		if (lint_one(ctx, f.v[j], quiet, hash) < 0)
			bad = 1;
		free(f.v[j]);
	}
	free(f.v);
	fflush(stdout);
	return bad ? DK_EXIT_INVALID : DK_EXIT_OK;
}
