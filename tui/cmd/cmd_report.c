/* cmd_report.c - vqscope report: summarise a recording. */
#include <stdlib.h>

#include "cli.h"
#include "core/report.h"
#include "json_out.h"

static const char help[] =
    "usage: vqscope report [OPTIONS] FILE.vqt\n"
    "\n"
    "Summarise a recording: per-queue command latency (ADD to USED) with\n"
    "p50/p90/p99/max, rates, spins and barriers per completion, lost records,\n"
    "and where the frame time went (writing log output, waiting for the\n"
    "device, polling, other driver work) with the worst stalls and their cause.\n"
    "A receive queue (virtio-net rx and the like) gets its posted buffers, fill\n"
    "rate and size, time to fill and starvation instead of latency; anomalies\n"
    "come with the latest one.\n"
    "\n"
    "  -j, --json            one JSON object instead of text\n"
    "      --salvage         read past damaged chunks instead of failing\n"
    "      --stall-frame T   a frame over T is a stall (default: 2x the median)\n"
    "      --stall-command T a command over T is a stall (default 10ms)\n"
    "  -h, --help            this text\n";

struct report_args {
	struct source_opts so;
	struct model_opts mo;
	bool json;
};

static int report_option(void *ctx, int c, const char *arg)
{
	struct report_args *a = ctx;
	uint64_t ns;

	switch (c) {
	case 'j':
		a->json = true;
		return 0;
	case 'S':
		a->so.file_flags |= VQP_OPEN_SALVAGE;
		return 0;
	default: /* --stall-frame, --stall-command */
		if (!parse_duration(arg, &ns) || ns == 0) {
			cli_error("report", "%s: '%s' is not a duration like 20ms",
				  c == 'F' ? "--stall-frame" : "--stall-command", arg);
			return EXIT_USAGE;
		}
		if (c == 'F')
			a->mo.stall_frame_ns = ns;
		else
			a->mo.stall_command_ns = ns;
		return 0;
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"salvage", no_argument, NULL, 'S'},
						 {"stall-frame", required_argument, NULL, 'F'},
						 {"stall-command", required_argument, NULL, 'C'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "report", help, "jh", longopts, 1, "recording (see vqscope report --help)"};
	struct report_args a = {.mo = {.history = 1024}};
	int first, rc = cli_parse(&spec, argc, argv, report_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	const char *path = argv[first];
	struct source *src = cli_open_source("report", path, &a.so, SOURCE_FILE,
					     "is a live VM; record it first (vqscope record)", &rc);
	if (!src)
		return rc;
	if (src->file_note[0])
		fprintf(stderr, "vqscope report: warning: %s: %s\n", path, src->file_note);
	struct vq_model *m = model_new(&a.mo);
	struct report *r = calloc(1, sizeof(*r));
	if (!m || !r) {
		cli_error("report", "out of memory");
		free(r);
		model_free(m);
		source_close(src);
		return EXIT_FAIL;
	}
	source_file_all(src, m);
	report_build(r, m, path, src->end_reason);
	if (a.json) {
		json_object *j = report_json(r);

		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		struct text t = {0};

		report_text(&t, r);
		fputs(text_str(&t), stdout);
		if (t.failed) {
			cli_error("report", "out of memory");
			rc = EXIT_FAIL;
		}
		text_free(&t);
	}
	free(r);
	model_free(m);
	source_close(src);
	return rc;
}
