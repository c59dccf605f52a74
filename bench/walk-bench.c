/*
 * A plain libgit2 walk: every commit of refs/heads/main, its record read
 * by path and SHA-256'd. The baseline that `docket verify` is compared to.
 * usage: walk-bench LEDGER   prints "records N bytes B seconds S"
 */
#include "ledger.h"
#include "util.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	git_repository *repo = NULL;
	git_revwalk *w = NULL;
	git_oid id;
	unsigned long long n = 0, bytes = 0;
	double t0;

	if (argc != 2) {
		fprintf(stderr, "usage: walk-bench LEDGER\n");
		return 2;
	}
	git_libgit2_init();
	t0 = dk_mono_ms();
	if (git_repository_open_bare(&repo, argv[1]) < 0 ||
	    git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_push_ref(w, "refs/heads/main") < 0) {
		fprintf(stderr, "walk-bench: cannot open %s\n", argv[1]);
		return 1;
	}
	git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	while (git_revwalk_next(&id, w) == 0) {
		git_commit *c = NULL;
		git_tree *t = NULL;
		git_tree_entry *e = NULL;
		git_blob *b = NULL;
		char path[32], hex[65];

		dk_record_path(path, n);
		if (git_commit_lookup(&c, repo, &id) < 0 ||
		    git_commit_tree(&t, c) < 0 ||
		    git_tree_entry_bypath(&e, t, path) < 0 ||
		    git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
			fprintf(stderr, "walk-bench: cannot read record %llu\n",
			        n);
			return 1;
		}
		dk_sha256_hex(hex, git_blob_rawcontent(b),
		              (size_t)git_blob_rawsize(b));
		bytes += (unsigned long long)git_blob_rawsize(b);
		git_blob_free(b);
		git_tree_entry_free(e);
		git_tree_free(t);
		git_commit_free(c);
		n++;
	}
	printf("records %llu bytes %llu seconds %.3f\n", n, bytes,
	       (dk_mono_ms() - t0) / 1e3);
	git_revwalk_free(w);
	git_repository_free(repo);
	return 0;
}
