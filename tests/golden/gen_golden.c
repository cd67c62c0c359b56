/* gen_golden.c - write the recordings the tests read:
 *
 *   gen_golden DIR     DIR/session.vqt, DIR/frames.vqt and DIR/receive.vqt
 *                      (tests/lib/synthetic.h)
 *   gen_golden --long FRAMES FILE
 *                      a long session of FRAMES frames (synthetic_long)
 *
 * All are the same bytes on every run, so vqscope's text output on them
 * can be compared with the .expected files in tests/golden/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic.h"

int main(int argc, char **argv)
{
	char path[4096], err[VQP_ERRLEN];

	if (argc == 4 && strcmp(argv[1], "--long") == 0) {
		if (synthetic_long(argv[3], strtoull(argv[2], NULL, 10), err, sizeof(err)) != 0) {
			fprintf(stderr, "gen_golden: %s: %s\n", argv[3], err);
			return 1;
		}
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: gen_golden DIR | gen_golden --long FRAMES FILE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/session.vqt", argv[1]);
	if (synthetic_session(path, 250, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_golden: %s: %s\n", path, err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/frames.vqt", argv[1]);
	if (synthetic_frames(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_golden: %s: %s\n", path, err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/receive.vqt", argv[1]);
	if (synthetic_receive(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_golden: %s: %s\n", path, err);
		return 1;
	}
	return 0;
}
