/* cmd_record.c - vqscope record: headless recording of a live session. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: vqscope record -o FILE.vqt [OPTIONS] SOURCE\n"
    "\n"
    "Record a live VM (SOURCE is its QMP socket or libvirt:DOMAIN[@URI]) to\n"
    "FILE.vqt until the duration elapses, SIGINT/SIGTERM arrives, or QEMU\n"
    "exits (or libvirtd goes away, or the libvirt domain stops).  The file is\n"
    "written in chunks as it goes: killed with SIGKILL it stays readable up\n"
    "to its last whole chunk (vqscope dump/report read it, saying where it\n"
    "was cut); every other ending closes it in order.  Records already in\n"
    "the guest's ring when recording starts are included.\n"
    "\n"
    "  -o, --output FILE     the recording to write (must not exist)\n"
    "  -f, --force           replace FILE if it exists (a symbolic link is\n"
    "                        replaced, not followed)\n"
    "  -d, --duration TIME   stop after TIME (e.g. 5, 500ms, 2m)\n"
    "      --only-new        skip records already in the ring at start\n"
    "      --no-device       no device-side sampling through QMP\n"
    "      --device-hz N     device-side samples per second (default 5); the\n"
    "                        rings in guest RAM are read as often (RING chunks,\n"
    "                        for vqscope doctor on the file)\n"
    "      --no-ram          do not read the rings in guest RAM\n"
    "  -q, --quiet           no summary on stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 recorded and closed, 1 error, 2 bad usage,\n"
    "3 QEMU (or libvirtd) went away, 4 the trace region's file shrank (the\n"
    "recording is closed and valid in both).\n";

struct record_args {
	struct source_opts so;
	const char *out;
	bool force, quiet;
	uint64_t duration;
};

static int record_option(void *ctx, int c, const char *arg)
{
	struct record_args *a = ctx;
	uint64_t v;

	switch (c) {
	case 'o':
		a->out = arg;
		return 0;
	case 'f':
		a->force = true;
		return 0;
	case 'd':
		if (!parse_duration(arg, &a->duration) || a->duration == 0) {
			cli_error("record",
				  "--duration: '%s' is not a duration like 5, 500ms or 2m", arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'N':
		a->so.only_new = true;
		return 0;
	case 'D':
		a->so.no_device = true;
		return 0;
	case 'R':
		a->so.map_ram = false;
		return 0;
	case 'H':
		if (!parse_uint(arg, 1, 1000, &v)) {
			cli_error("record", "--device-hz: '%s' is not a number from 1 to 1000",
				  arg);
			return EXIT_USAGE;
		}
		a->so.device_hz = (unsigned)v;
		return 0;
	default: /* 'q' */
		a->quiet = true;
		return 0;
	}
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},	{"force", no_argument, NULL, 'f'},
	    {"duration", required_argument, NULL, 'd'}, {"only-new", no_argument, NULL, 'N'},
	    {"no-device", no_argument, NULL, 'D'},	{"device-hz", required_argument, NULL, 'H'},
	    {"no-ram", no_argument, NULL, 'R'},		{"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "record", help, "o:fd:qh", longopts, 1, "SOURCE (a QMP socket or libvirt:DOMAIN)"};
	struct record_args a = {.so = {.map_ram = true}};
	char err[512];
	int first, rc = cli_parse(&spec, argc, argv, record_option, &a, &first);
	uint64_t duration;
	bool quiet;

	if (rc != CLI_RUN)
		return rc;
	if (!a.out) {
		cli_error("record", "needs -o FILE.vqt (see vqscope record --help)");
		return EXIT_USAGE;
	}
	duration = a.duration;
	quiet = a.quiet;
	cli_catch_signals();
	struct source *src = cli_open_source(
	    "record", argv[first], &a.so, SOURCE_LIVE,
	    "is a recording; record needs a live VM (a QMP socket or libvirt:DOMAIN)", &rc);
	if (!src)
		return rc;
	struct vq_model *m = model_new(&(struct model_opts){.history = 1024});
	if (!m || source_record_start(src, m, a.out, a.force, err, sizeof(err)) != 0) {
		cli_error("record", "%s", m ? err : "out of memory");
		model_free(m);
		source_close(src);
		return EXIT_FAIL;
	}

	uint64_t start = host_now_ns();
	uint32_t reason = VQR_END_NORMAL;
	const char *detail = "duration elapsed";
	for (;;) {
		struct pollfd pfd = {.fd = source_fd(src), .events = POLLIN};

		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 20);
		uint64_t now = host_now_ns();
		if (source_poll(src, m, now)) {
			reason = src->end_kind;
			detail = src->end_reason;
			break;
		}
		if (cli_stop_signal) {
			reason = VQR_END_SIGNAL;
			detail = cli_stop_signal == SIGINT ? "interrupted (SIGINT)"
							   : "terminated by signal";
			break;
		}
		if (duration && now - start >= duration)
			break;
		if (src->region_gone[0]) {
			/* The source closed the recording already, in order. */
			reason = VQR_END_ERROR;
			detail = src->region_gone;
			break;
		}
		if (!source_recording(src)) {
			reason = VQR_END_ERROR;
			detail = src->rec_error;
			break;
		}
	}

	uint64_t events = m->events, lost = m->lost, violations = m->violations;
	char why[sizeof(src->rec_error)];
	snprintf(why, sizeof(why), "%s", detail);
	if (src->region_gone[0]) {
		cli_error("record", "%s: %s", a.out, src->rec_error);
		rc = EXIT_REGION_GONE;
	} else if (source_record_stop(src, reason, why, err, sizeof(err)) != 0) {
		cli_error("record", "%s: %s", a.out, err);
		rc = EXIT_FAIL;
	} else if (reason == VQR_END_ERROR) {
		cli_error("record", "%s: recording stopped: %s", a.out, why);
		rc = EXIT_FAIL;
	} else if (reason == VQR_END_SOURCE_GONE) {
		rc = EXIT_SOURCE_GONE;
	}
	if (!quiet || rc != EXIT_OK) {
		char d[32];

		format_duration(d, sizeof(d), host_now_ns() - start);
		fprintf(stderr,
			"vqscope record: %s: %llu events in %s (lost %llu, violations %llu); %s\n",
			a.out, (unsigned long long)events, d, (unsigned long long)lost,
			(unsigned long long)violations, why);
	}
	model_free(m);
	source_close(src);
	return rc;
}
