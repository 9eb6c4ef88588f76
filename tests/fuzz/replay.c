/* replay.c - runs a libFuzzer target over files and directories of inputs
 * without libFuzzer, so `make check` replays the committed corpora. The
 * target aborts on a bad case; a file that cannot be read fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned passed, failed;

static void run_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX_INPUT];
	uint8_t *copy;
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		failed++;
		return;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		failed++;
		fclose(f);
		return;
	}
	fclose(f);
	/* an exact-size heap copy, so ASan sees reads past the input */
	copy = malloc(n ? n : 1);
	if (!copy) {
		failed++;
		return;
	}
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	passed++;
}

static void run_path(const char *path)
{
	struct dirent *e;
	struct stat st;
	char sub[4096];
	DIR *d;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no such file %s\n", path);
		failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		failed++;
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		run_path(sub);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("replay: %u passed, %u failed\n", passed, failed);
	return failed || !passed ? 1 : 0;
}
