/* standalone_main.c - replays a libFuzzer corpus without libFuzzer, so
 * `make test` (gcc, no clang runtime) runs every committed input through
 * each harness.  With no arguments it replays CORPUS_DIR; arguments are
 * files or directories to replay instead.  Exits non-zero if the corpus is
 * missing or empty (a replay of nothing proves nothing). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size file\n", path);
		fclose(f);
		return -1;
	}
	/* An exact-size heap copy, so ASan catches reads past the input. */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static long replay_path(const char *path)
{
	struct stat st;
	long count = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) == 0 ? 1 : -1;

	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			if (replay_file(full) != 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		total = replay_path(CORPUS_DIR);
	} else {
		for (int i = 1; i < argc; i++) {
			long n = replay_path(argv[i]);
			if (n < 0)
				return 1;
			total += n;
		}
	}
	if (total <= 0) {
		fprintf(stderr, "replay: no corpus inputs replayed\n");
		return 1;
	}
	printf("replayed %ld inputs without a crash\n", total);
	return 0;
}
