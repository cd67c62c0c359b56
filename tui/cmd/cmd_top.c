/* cmd_top.c - vqscope top: watch a session's queues.  --batch prints the
 * overview every interval, like top -b, for scripts and tests. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/overview.h"
#include "json_out.h"
#include "screens/tui.h"
#include "top.h"

static const char help[] =
    "usage: vqscope top [OPTIONS] SOURCE\n"
    "\n"
    "Watch the queues of a live VM (SOURCE is its QMP socket or\n"
    "libvirt:DOMAIN[@URI]) or of a recording.  With --batch, print the\n"
    "overview every interval instead: a header line (source, VM state,\n"
    "producer, event rate, lost records, protocol violations) and one row\n"
    "per queue.\n"
    "\n"
    "Interactive: 1 overview, 2 ring view, 3 frames, 4 events, 5 latency,\n"
    "6 findings (what vqscope doctor says); space freezes, p/c pause/continue\n"
    "the VM, s steps one event at a time, n/N walk the history, r records,\n"
    "? lists every key.  A recording plays as in `vqscope replay`.\n"
    "\n"
    "  -b, --batch           print instead of the interactive view\n"
    "  -i, --interval TIME   between updates (default 1s)\n"
    "  -n, --count N         stop after N updates (batch)\n"
    "  -j, --json            batch: one JSON object per line\n"
    "  -s, --sort KEY        slot, name, in-flight, adds/s, cmpl/s, spins/cmpl, p99, stalls\n"
    "      --no-device       no device-side sampling through QMP\n"
    "      --no-ram          do not map guest RAM (descriptor chains come through QMP)\n"
    "      --salvage         read past damaged chunks of a recording\n"
    "  -h, --help            this text\n"
    "\n"
    "Columns: INFL buffers in flight, AVAIL/USED the driver's avail and used\n"
    "indices, ADD/s KICK/s IRQ/s CMPL/s adds, notifications, interrupts and\n"
    "completions per second, SPIN/C and BARR/C poll spins and barriers per completion,\n"
    "P50/P99/MAX command latency (ADD to USED), STALL commands over threshold.\n"
    "A receive queue (virtio-net rx and the like) holds buffers for the device\n"
    "to fill: INFL is its posted buffers, and a line under the rows gives its\n"
    "fill rate and size, time to fill, and time starved (no buffer posted);\n"
    "its buffers are never latency or stalls.  Anomalies come with the latest.\n";

static void print_text(const struct vq_model *m, const struct source *s, enum overview_sort sort)
{
	char line[512];
	unsigned slots[MODEL_QUEUES];
	size_t n = overview_rows(m, sort, slots, MODEL_QUEUES);
	time_t now = time(NULL);
	struct tm tm;
	char clock[16];
	struct overview_source os;

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	source_overview(s, &os);
	overview_header(line, sizeof(line), m, &os);
	printf("vqscope top - %s  %s\n", clock, line);
	if (s->region_status[0])
		printf("region: %s\n", s->region_status);
	overview_titles(line, sizeof(line));
	printf("%s\n", line);
	for (size_t i = 0; i < n; i++) {
		overview_row(line, sizeof(line), m, slots[i]);
		printf("%s\n", line);
	}
	for (size_t i = 0; i < m->ndevice_only; i++) {
		overview_device_row(line, sizeof(line), m, i);
		printf("%s\n", line);
	}
	{
		struct text notes = {0};

		overview_notes(&notes, m, slots, n);
		fputs(text_str(&notes), stdout);
		text_free(&notes);
	}
	if (m->have_last_stall)
		printf("last stall: %s\n", m->last_stall.text);
	printf("\n");
	fflush(stdout);
}

/* The command that parsed the options, for its messages. */
static const char *top_command(const struct top_opts *o)
{
	return o->command ? o->command : "top";
}

static int top_batch(struct source *s, struct vq_model *m, const struct top_opts *o)
{
	uint64_t last = host_now_ns(), printed = 0;
	uint64_t replay_ns = 0;

	cli_catch_signals();
	for (;;) {
		uint64_t deadline = last + o->interval_ns;

		if (s->kind == SOURCE_FILE) {
			/* A recording plays back one interval of its own time per
			 * update, as fast as it can be read. */
			replay_ns += o->interval_ns;
			source_file_advance(s, m, replay_ns);
			model_tick(m, o->interval_ns);
		} else {
			uint64_t now;

			while ((now = host_now_ns()) < deadline && !cli_stop_signal) {
				struct pollfd pfd = {.fd = source_fd(s), .events = POLLIN};
				uint64_t left = (deadline - now) / 1000000;

				poll(&pfd, pfd.fd >= 0 ? 1 : 0, (int)(left < 20 ? left + 1 : 20));
				if (source_poll(s, m, host_now_ns()))
					break;
			}
			now = host_now_ns();
			model_tick(m, now - last);
			last = now;
		}
		if (o->json) {
			struct overview_source os;
			json_object *j;

			source_overview(s, &os);
			j = overview_json(m, &os);

			puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
			fflush(stdout);
			json_object_put(j);
		} else {
			print_text(m, s, o->sort);
		}
		printed++;
		if (cli_stop_signal || (o->count && printed >= o->count) || s->ended ||
		    s->region_gone[0])
			break;
	}
	if (s->region_gone[0]) {
		cli_error(top_command(o), "%s", s->region_gone);
		return EXIT_REGION_GONE;
	}
	if (s->ended && s->kind == SOURCE_LIVE) {
		fprintf(stderr, "vqscope %s: %s\n", top_command(o), s->end_reason);
		return EXIT_SOURCE_GONE;
	}
	return EXIT_OK;
}

int top_parse_option(int c, const char *arg, struct top_opts *o, struct source_opts *so)
{
	uint64_t v;

	switch (c) {
	case 'b':
		o->batch = true;
		return 0;
	case 'i':
		if (!parse_duration(arg, &o->interval_ns) || o->interval_ns < 10000000) {
			cli_error(top_command(o),
				  "--interval: '%s' is not a duration of at least 10ms", arg);
			return -1;
		}
		return 0;
	case 'n':
		if (!parse_uint(arg, 1, UINT32_MAX, &v)) {
			cli_error(top_command(o), "--count: '%s' is not a positive number", arg);
			return -1;
		}
		o->count = v;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 's':
		for (int k = 0; k < SORT_COUNT; k++)
			if (strcmp(arg, overview_sort_name((enum overview_sort)k)) == 0) {
				o->sort = (enum overview_sort)k;
				return 0;
			}
		cli_error(top_command(o),
			  "--sort: '%s' is not one of slot, name, in-flight, adds/s, cmpl/s, "
			  "spins/cmpl, p99, stalls",
			  arg);
		return -1;
	case 'D':
		so->no_device = true;
		return 0;
	case 'S':
		so->file_flags |= VQP_OPEN_SALVAGE;
		return 0;
	}
	return 1;
}

/* Watch an opened source: batch or interactive. */
int top_watch(struct source *s, const struct top_opts *o)
{
	struct vq_model *m;
	int rc;

	if (!o->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		cli_error(top_command(o), "the interactive view needs a terminal (%s prints text)",
			  o->text_hint ? o->text_hint : "--batch");
		return EXIT_USAGE;
	}
	m = model_new(NULL);
	if (!m) {
		cli_error(top_command(o), "out of memory");
		return EXIT_FAIL;
	}
	if (o->batch) {
		rc = top_batch(s, m, o);
	} else {
		struct tui_opts t = {.refresh_ns = o->interval_ns,
				     .sort = o->sort,
				     .speed = o->speed,
				     .start_paused = o->start_paused,
				     .interrupted = cli_interrupted,
				     .greeting = o->greeting};
		char err[256];

		cli_catch_signals();
		switch (tui_run(s, m, &t, err, sizeof(err))) {
		case TUI_RESULT_OK:
			rc = EXIT_OK;
			break;
		case TUI_RESULT_SOURCE_GONE:
			rc = EXIT_SOURCE_GONE;
			break;
		case TUI_RESULT_REGION_GONE:
			rc = EXIT_REGION_GONE;
			break;
		default:
			cli_error(top_command(o), "%s", err);
			rc = EXIT_FAIL;
		}
	}
	model_free(m);
	return rc;
}

struct top_args {
	struct top_opts o;
	struct source_opts so;
};

static int top_option(void *ctx, int c, const char *arg)
{
	struct top_args *a = ctx;

	if (c == 'R') {
		a->so.map_ram = false;
		return 0;
	}
	return top_parse_option(c, arg, &a->o, &a->so) == 0 ? 0 : EXIT_USAGE;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"batch", no_argument, NULL, 'b'},	     {"interval", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'},
	    {"sort", required_argument, NULL, 's'},  {"no-device", no_argument, NULL, 'D'},
	    {"salvage", no_argument, NULL, 'S'},     {"no-ram", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "top",    help, "bi:n:js:h",
	    longopts, 1,    "SOURCE: a QMP socket, libvirt:DOMAIN or a recording"};
	struct top_args a = {.o = {.interval_ns = 1000000000}, .so = {.map_ram = true}};
	int first, rc = cli_parse(&spec, argc, argv, top_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	struct source *s = cli_open_source("top", argv[first], &a.so, -1, NULL, &rc);
	if (!s)
		return rc;
	rc = top_watch(s, &a.o);
	source_close(s);
	return rc;
}
