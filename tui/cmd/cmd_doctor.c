/* cmd_doctor.c - vqscope doctor: name what is wrong with a VM's queues,
 * from both sides, with the evidence.  Live it watches for a while (the
 * trace, QEMU's device view, the rings in guest RAM), on a recording it
 * reads it all; then it prints the findings (core/findings.h), worst
 * first, and exits 1 when one of them is an error. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/overview.h"
#include "core/report.h"
#include "json_out.h"

static const char help[] =
    "usage: vqscope doctor [OPTIONS] SOURCE\n"
    "\n"
    "Say what is wrong with the virtqueues of a live VM (SOURCE is its QMP\n"
    "socket or libvirt:DOMAIN[@URI]) or of a recording, and show the\n"
    "evidence: each finding has a code, a severity, the queue, when it was\n"
    "first and last seen, the values that show it and where each was read\n"
    "(trace, guest RAM, QMP, queue table, host, derived), the virtio 1.2\n"
    "section, and what to check next.  Live, it watches for --duration or\n"
    "until Ctrl-C; a recording is read whole.\n"
    "docs/diagnosis.md explains every code.\n"
    "\n"
    "  -j, --json            one JSON object per finding, one per line\n"
    "  -d, --duration TIME   live: watch this long (default 10s)\n"
    "      --stuck-after T   a queue with work outstanding and no progress for\n"
    "                        T is stuck (default 1s)\n"
    "      --no-device       no device-side sampling through QMP\n"
    "      --no-ram          do not read the rings in guest RAM\n"
    "      --salvage         read past damaged chunks of a recording\n"
    "  -h, --help            this text\n"
    "\n"
    "Codes: STUCK-NOT-NOTIFIED, STUCK-DEVICE-NOT-FETCHED, STUCK-DEVICE-BUSY,\n"
    "STUCK-NO-INTERRUPT, STUCK-NOT-REAPED, MISSED-NOTIFY, SPURIOUS-NOTIFY, LEAK,\n"
    "DOUBLE-COMPLETE, USED-NOT-IN-FLIGHT, USED-LEN-OVERFLOW, ACCOUNTING,\n"
    "BAD-CHAIN, PACKED-WRAP, DEVICE-BROKEN, LOG-DOMINATES, FENCE-PER-SPIN,\n"
    "POLL-NO-FENCE.\n"
    "\n"
    "Exit status: 0 no finding of error severity, 1 at least one (or the\n"
    "SOURCE cannot be read), 2 bad usage.\n";

#define DEFAULT_DURATION_NS 10000000000ull

struct doctor_args {
	struct source_opts so;
	struct model_opts mo;
	uint64_t duration_ns;
	bool json;
};

static int doctor_option(void *ctx, int c, const char *arg)
{
	struct doctor_args *a = ctx;
	uint64_t ns;

	switch (c) {
	case 'j':
		a->json = true;
		return 0;
	case 'D':
		a->so.no_device = true;
		return 0;
	case 'R':
		a->so.map_ram = false;
		return 0;
	case 'S':
		a->so.file_flags |= VQP_OPEN_SALVAGE;
		return 0;
	default: /* 'd', 'T' */
		if (!parse_duration(arg, &ns) || ns == 0) {
			cli_error("doctor", "%s: '%s' is not a duration like 5s or 500ms",
				  c == 'd' ? "--duration" : "--stuck-after", arg);
			return EXIT_USAGE;
		}
		if (c == 'd')
			a->duration_ns = ns;
		else
			a->mo.stuck_after_ns = ns;
		return 0;
	}
}

/* Watch a live source for the duration (or until it ends or Ctrl-C). */
static void watch(struct source *s, struct vq_model *m, uint64_t duration_ns)
{
	uint64_t start = host_now_ns();

	cli_catch_signals();
	for (;;) {
		struct pollfd pfd = {.fd = source_fd(s), .events = POLLIN};
		uint64_t now;

		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 20);
		now = host_now_ns();
		if (source_poll(s, m, now) || cli_stop_signal || s->region_gone[0])
			break;
		if (now - start >= duration_ns)
			break;
	}
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"duration", required_argument, NULL, 'd'},
						 {"stuck-after", required_argument, NULL, 'T'},
						 {"no-device", no_argument, NULL, 'D'},
						 {"no-ram", no_argument, NULL, 'R'},
						 {"salvage", no_argument, NULL, 'S'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "doctor", help, "jd:h",
	    longopts, 1,    "SOURCE: a QMP socket, libvirt:DOMAIN or a recording"};
	struct doctor_args a = {
	    .so = {.map_ram = true}, .mo = {.history = 1024}, .duration_ns = DEFAULT_DURATION_NS};
	int first, rc = cli_parse(&spec, argc, argv, doctor_option, &a, &first);
	struct vq_model *m;
	struct source *s;
	bool error = false;

	if (rc != CLI_RUN)
		return rc;
	s = cli_open_source("doctor", argv[first], &a.so, -1, NULL, &rc);
	if (!s)
		return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
	m = model_new(&a.mo);
	if (!m) {
		cli_error("doctor", "out of memory");
		source_close(s);
		return EXIT_FAIL;
	}
	if (s->kind == SOURCE_FILE) {
		if (s->file_note[0])
			fprintf(stderr, "vqscope doctor: warning: %s: %s\n", argv[first],
				s->file_note);
		source_file_all(s, m);
	} else {
		watch(s, m, a.duration_ns);
	}
	model_finish(m);
	model_check(m);

	for (size_t i = 0; i < m->nfindings; i++)
		error |= m->findings[i].severity == SEV_ERROR;
	if (a.json) {
		json_object *all = findings_json(m->findings, m->nfindings, false);
		char note[160];

		for (size_t i = 0; i < json_object_array_length(all); i++)
			puts(json_object_to_json_string_ext(json_object_array_get_idx(all, i),
							    JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(all);
		/* Standard output holds findings only. */
		if (model_producer_stopped_text(m, note, sizeof(note)))
			fprintf(stderr, "vqscope doctor: %s: %s\n", note, PRODUCER_STOPPED_MEANS);
	} else {
		struct text t = {0};
		char sum[128], note[160];

		findings_summary(sum, sizeof(sum), m->findings, m->nfindings);
		text_printf(&t, "vqscope doctor: %s, %s of events (%llu events, lost %llu): %s\n",
			    s->name, s->kind == SOURCE_FILE ? "a recording" : "a live watch",
			    (unsigned long long)m->events, (unsigned long long)m->lost, sum);
		if (model_producer_stopped_text(m, note, sizeof(note)))
			text_printf(&t, "%s: %s\n", note, PRODUCER_STOPPED_MEANS);
		findings_text(&t, m->findings, m->nfindings);
		fputs(text_str(&t), stdout);
		text_free(&t);
	}
	if (s->ended && s->kind == SOURCE_LIVE)
		fprintf(stderr, "vqscope doctor: %s\n", s->end_reason);
	if (s->region_gone[0])
		cli_error("doctor", "%s", s->region_gone);
	model_free(m);
	source_close(s);
	return error ? EXIT_FAIL : EXIT_OK;
}
