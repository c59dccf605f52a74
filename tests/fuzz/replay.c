/*
 * Replays fuzz inputs without libFuzzer: `replay-NAME FILE|DIR...` runs
 * LLVMFuzzerTestOneInput once per file (directories one level deep) and
 * prints how many it ran. A crash, a sanitizer report or an abort is the
 * failure; `make check` replays tests/fuzz/corpus/NAME this way.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len + 65536 > cap) {
			unsigned char *t;
			cap = (len + 65536) * 2;
			t = realloc(buf, cap);
			if (!t) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = t;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* an exact-size copy, so ASan sees reads past the end */
	{
		unsigned char *exact = malloc(len ? len : 1);
		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	unsigned long ran = 0;
	int i;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char **names = NULL;
		size_t nn = 0, k;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 2;
			ran++;
			continue;
		}
		d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			return 2;
		}
		while ((e = readdir(d))) {
			char **t;
			if (e->d_name[0] == '.')
				continue;
			t = realloc(names, (nn + 1) * sizeof(*names));
			if (!t)
				return 2;
			names = t;
			if (asprintf(&names[nn++], "%s/%s", argv[i],
			             e->d_name) < 0)
				return 2;
		}
		closedir(d);
		qsort(names, nn, sizeof(*names), cmp);
		for (k = 0; k < nn; k++) {
			if (run_file(names[k]) < 0)
				return 2;
			ran++;
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %lu inputs\n", ran);
	return 0;
}
