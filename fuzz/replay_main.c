/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c: run a libFuzzer entry point over every file in the
 * directories (or files) named on the command line, without libFuzzer.
 * Used by "ctest -L unit" so the seed corpus is replayed on every build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;
	size_t got;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return 1;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL) {
		fclose(f);
		return 1;
	}
	got = fread(buf, 1, (size_t)n, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, files = 0, bad = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *dir;
		struct dirent *de;

		if (stat(argv[i], &st) != 0)
			continue; /* no corpus yet: nothing to replay */
		if (!S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]);
			files++;
			continue;
		}
		dir = opendir(argv[i]);
		if (dir == NULL)
			continue;
		while ((de = readdir(dir)) != NULL) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(path, sizeof(path), "%s/%s",
				argv[i], de->d_name) >= sizeof(path))
				continue;
			bad += run_file(path);
			files++;
		}
		closedir(dir);
	}
	/* Also the empty input and a few degenerate ones. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	LLVMFuzzerTestOneInput((const uint8_t *)"\0\0\0", 3);
	printf("replayed %d inputs, %d unreadable\n", files, bad);
	return bad ? 1 : 0;
}
