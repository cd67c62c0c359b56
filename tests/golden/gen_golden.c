/* gen_golden.c - write the recordings the golden tests read:
 *
 *   gen_golden DIR     DIR/session.vqt, DIR/frames.vqt and DIR/receive.vqt
 *                      (tests/lib/synthetic.h)
 *
 * All are the same bytes on every run, so vqscope's text output on them
 * can be compared with the .expected files in tests/golden/. */
#include <stdio.h>

#include "synthetic.h"

int main(int argc, char **argv)
{
	char path[4096], err[VQP_ERRLEN];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_golden DIR\n");
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
