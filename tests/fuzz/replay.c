/* A main() for a fuzz target without libFuzzer: runs it once on every
 * regular file under the folders and files given (the seeds and the
 * regression corpus), for the ordinary test suite. Prints
 * "N passed, 0 failed"; a bug shows as a crash or a sanitizer report. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			uint8_t *p = realloc(buf, cap = cap ? 2 * cap : 65536);
			if (!p)
				abort();
			buf = p;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static size_t run_path(const char *path)
{
	struct stat st;
	struct dirent **list;
	size_t count = 0;
	int n;

	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return run_file(path) == 0;
	if (!S_ISDIR(st.st_mode) ||
	    (n = scandir(path, &list, NULL, alphasort)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char sub[4096];
		if (list[i]->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     list[i]->d_name) < sizeof(sub))
			count += run_path(sub);
		free(list[i]);
	}
	free(list);
	return count;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		count += run_path(argv[i]);
	if (count == 0) {
		fprintf(stderr, "no input found\n");
		return 1;
	}
	printf("%zu passed, 0 failed\n", count);
	return 0;
}
