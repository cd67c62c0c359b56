/* cmd_exporter.c - vqscope exporter: the queues of one or more live VMs as
 * Prometheus metrics over HTTP.  One thread runs everything: a poll()
 * over the HTTP server's fd (exporter_http.h) and the VMs' monitor fds
 * (live/fleet.h), draining every VM's trace region in between, so a
 * scrape reads the models without locks. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/metrics.h"
#include "exporter_http.h"
#include "live/fleet.h"

#define DEFAULT_LISTEN		"127.0.0.1:9877"
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_TIMEOUT_NS	10000000000ull
#define LOOP_CAP_MS		250 /* the longest poll(), to notice signals */
/* The exporter keeps no event history for views: a little for the model. */
#define MODEL_HISTORY 1024
#define MODEL_FRAMES  64

static const char help[] =
    "usage: vqscope exporter [OPTIONS] SOURCE...\n"
    "       vqscope exporter [OPTIONS] --qmp-dir DIR [SOURCE...]\n"
    "       vqscope exporter [OPTIONS] --libvirt[=URI] [SOURCE...]\n"
    "\n"
    "Serve the queues of live VMs as Prometheus metrics: GET /metrics answers\n"
    "in the Prometheus text format, or in OpenMetrics when the scraper's\n"
    "Accept header asks for it; GET / is a short page.  A SOURCE is a VM's\n"
    "QMP socket or libvirt:DOMAIN[@URI], or NAME=SOURCE to give the vm label\n"
    "(the SOURCE otherwise).  A VM that is not there (yet, or any more) reports\n"
    "vqscope_up 0 and is tried again; counters carry on across guest\n"
    "reboots and VM restarts.  Runs until SIGINT or SIGTERM.\n"
    "\n"
    "  -l, --listen HOST:PORT    where to serve (default " DEFAULT_LISTEN "; port 0 picks\n"
    "                            a free one); the address is printed on stderr\n"
    "  -d, --qmp-dir DIR         every *.sock in DIR is a VM named after the file;\n"
    "                            DIR is looked at again every --retry (two sockets\n"
    "                            of one QEMU are one VM, named after the first)\n"
    "      --libvirt[=URI]       every running libvirt domain with a trace region\n"
    "                            (<shmem>) at URI (default $LIBVIRT_DEFAULT_URI,\n"
    "                            else qemu:///system) is a VM named after it;\n"
    "                            libvirt is asked again every --retry\n"
    "  -r, --retry TIME          try VMs that are down again this often (default 5s)\n"
    "  -t, --timeout TIME        close an HTTP connection idle this long (default 10s)\n"
    "  -c, --max-connections N   HTTP connections at once (default 64; more wait)\n"
    "      --no-device           no device-side sampling through QMP\n"
    "      --no-ram              do not read the rings in guest RAM\n"
    "  -h, --help                this text\n"
    "\n"
    "The device view and the rings in guest RAM let the diagnosis tell why a\n"
    "queue is stuck (vqscope doctor); without them the findings come from the\n"
    "trace alone.\n"
    "\n"
    "Metrics (labels vm, and queue, slot, kind for the vqscope_queue_* ones):\n"
    "vqscope_up, vqscope_region_ready, vqscope_vm_running, vqscope_events_total,\n"
    "vqscope_lost_records_total, vqscope_violations_total, vqscope_resyncs_total,\n"
    "vqscope_frames_total, vqscope_frame_stalls_total,\n"
    "vqscope_frame_time_seconds_total{cause}, vqscope_queue_ring_size,\n"
    "vqscope_queue_in_flight, vqscope_queue_{adds,descriptors,added_bytes,kicks,\n"
    "kicks_suppressed,interrupts,polls,poll_spins,barriers,completions,\n"
    "poll_timeouts,used_bytes,errors,stalls,anomalies}_total, the histogram\n"
    "vqscope_queue_command_latency_seconds, vqscope_queue_posted_buffers and\n"
    "the histogram vqscope_queue_fill_time_seconds for receive queues, and\n"
    "vqscope_findings_total and vqscope_finding_active by code, severity and\n"
    "queue.  docs/usage.md has a sample.\n";

struct exporter_args {
	struct source_opts so;
	const char *listen;
	const char *qmp_dir;
	bool libvirt;
	const char *libvirt_uri;
	uint64_t retry_ns;
	uint64_t timeout_ns;
	unsigned max_connections;
};

static int exporter_option(void *ctx, int c, const char *arg)
{
	struct exporter_args *a = ctx;
	char err[320];
	uint64_t v;

	switch (c) {
	case 'l':
		if (exporter_http_check_listen(arg, err, sizeof(err)) != 0) {
			cli_error("exporter", "%s", err);
			return EXIT_USAGE;
		}
		a->listen = arg;
		return 0;
	case 'd':
		a->qmp_dir = arg;
		return 0;
	case 'L':
		if (arg && !*arg) {
			cli_error("exporter", "--libvirt=: an empty URI");
			return EXIT_USAGE;
		}
		a->libvirt = true;
		a->libvirt_uri = arg;
		return 0;
	case 'r':
		if (!parse_duration(arg, &a->retry_ns) || a->retry_ns < 100000000) {
			cli_error("exporter", "--retry: '%s' is not a duration of at least 100ms",
				  arg);
			return EXIT_USAGE;
		}
		return 0;
	case 't':
		if (!parse_duration(arg, &a->timeout_ns) || a->timeout_ns < 1000000000) {
			cli_error("exporter", "--timeout: '%s' is not a duration of at least 1s",
				  arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'c':
		if (!parse_uint(arg, 1, 4096, &v)) {
			cli_error("exporter",
				  "--max-connections: '%s' is not a number from 1 to 4096", arg);
			return EXIT_USAGE;
		}
		a->max_connections = (unsigned)v;
		return 0;
	case 'D':
		a->so.no_device = true;
		return 0;
	case 'R':
		a->so.map_ram = false;
		return 0;
	}
	return EXIT_USAGE;
}

/* What the fleet says, on stderr. */
static void on_note(void *ctx, const struct fleet_member *mb, const char *message)
{
	(void)ctx;
	if (mb)
		fprintf(stderr, "vqscope exporter: %s: %s\n", mb->vm, message);
	else
		fprintf(stderr, "vqscope exporter: %s\n", message);
}

/* The metrics of every VM, on each scrape. */
static void render(void *ctx, struct text *t, enum metrics_format f)
{
	const struct fleet *fl = ctx;
	size_t n = fleet_size(fl), k = 0;
	struct metrics_target *targets = calloc(n ? n : 1, sizeof(*targets));

	if (!targets) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fleet_member *mb = fleet_member(fl, i);
		const struct source *s = mb->s;

		/* Another socket of a VM already served: not a second VM. */
		if (mb->duplicate_of[0])
			continue;
		targets[k++] = (struct metrics_target){
		    .vm = mb->vm,
		    .up = s != NULL,
		    .region_ready = s && s->have_region && s->region.valid,
		    .running = s && s->vm == VM_RUNNING,
		    .m = mb->m,
		};
	}
	metrics_render(t, f, targets, k);
	free(targets);
}

/* SOURCE operands: "SOCKET" or "NAME=SOCKET" (a libvirt:DOMAIN[@URI] in
 * place of the socket; its URI may hold a '=', after a '/'). */
static int add_sources(struct fleet *fl, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		const char *spec = argv[i], *eq = strchr(spec, '=');
		char vm[FLEET_NAME_MAX], err[PATH_MAX + 128];
		const char *path = spec;

		snprintf(vm, sizeof(vm), "%s", spec);
		/* NAME=SOCKET, unless the whole operand is a path with '=' in it. */
		if (eq && eq != spec && !memchr(spec, '/', (size_t)(eq - spec)) &&
		    (size_t)(eq - spec) < sizeof(vm)) {
			snprintf(vm, sizeof(vm), "%.*s", (int)(eq - spec), spec);
			path = eq + 1;
		}
		if (!*path) {
			cli_error("exporter", "%s: no socket after the name", spec);
			return EXIT_USAGE;
		}
		if (fleet_add(fl, vm, path, err, sizeof(err)) != 0) {
			cli_error("exporter", "%s", err);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int serve(struct fleet *fl, struct exporter_http *http)
{
	struct pollfd fds[FLEET_MAX_MEMBERS + 2];

	while (!cli_stop_signal) {
		uint64_t now = host_now_ns();
		size_t n = fleet_pollfds(fl, fds + 1, FLEET_MAX_MEMBERS + 1) + 1;
		int timeout = fleet_timeout_ms(fl, now, LOOP_CAP_MS);

		fds[0] = (struct pollfd){.fd = exporter_http_fd(http), .events = POLLIN};
		timeout = exporter_http_timeout_ms(http, timeout);
		if (poll(fds, n, timeout) < 0) {
			for (size_t i = 0; i < n; i++)
				fds[i].revents = 0;
		}
		fleet_poll(fl, fds + 1, n - 1, host_now_ns());
		exporter_http_run(http);
	}
	return EXIT_OK;
}

int cmd_exporter(int argc, char **argv)
{
	static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
						 {"qmp-dir", required_argument, NULL, 'd'},
						 {"libvirt", optional_argument, NULL, 'L'},
						 {"retry", required_argument, NULL, 'r'},
						 {"timeout", required_argument, NULL, 't'},
						 {"max-connections", required_argument, NULL, 'c'},
						 {"no-device", no_argument, NULL, 'D'},
						 {"no-ram", no_argument, NULL, 'R'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {"exporter", help, "l:d:r:t:c:h", longopts, -1, NULL};
	struct exporter_args a = {.so = {.map_ram = true, .qmp_timeout_ms = 3000},
				  .listen = DEFAULT_LISTEN,
				  .timeout_ns = DEFAULT_TIMEOUT_NS,
				  .max_connections = DEFAULT_MAX_CONNECTIONS};
	struct fleet_opts fo = {
	    .model = {.history = MODEL_HISTORY, .frames_kept = MODEL_FRAMES},
	    .note = on_note,
	};
	struct exporter_http_opts ho;
	struct exporter_http *http;
	struct fleet *fl;
	char err[PATH_MAX + 128];
	int first, rc = cli_parse(&spec, argc, argv, exporter_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	if (first == argc && !a.qmp_dir && !a.libvirt) {
		cli_error("exporter", "needs a SOURCE (a QMP socket), --qmp-dir DIR or --libvirt");
		return EXIT_USAGE;
	}
	fo.source = a.so;
	fo.retry_ns = a.retry_ns;
	fo.qmp_dir = a.qmp_dir;
	fo.libvirt = a.libvirt;
	fo.libvirt_uri = a.libvirt_uri;
	fl = fleet_new(&fo, err, sizeof(err));
	if (!fl) {
		cli_error("exporter", "%s", err);
		return EXIT_FAIL;
	}
	rc = add_sources(fl, argc, argv, first);
	if (rc != EXIT_OK) {
		fleet_free(fl);
		return rc;
	}
	ho = (struct exporter_http_opts){.listen = a.listen,
					 .max_connections = a.max_connections,
					 .timeout_s =
					     (unsigned)((a.timeout_ns + 999999999) / 1000000000),
					 .render = render,
					 .ctx = fl};
	http = exporter_http_start(&ho, err, sizeof(err));
	if (!http) {
		cli_error("exporter", "%s", err);
		fleet_free(fl);
		return EXIT_FAIL;
	}
	cli_catch_signals();
	fprintf(stderr, "vqscope exporter: serving http://%s/metrics\n",
		exporter_http_address(http));
	rc = serve(fl, http);
	exporter_http_stop(http);
	fleet_free(fl);
	return rc;
}
