/* cmd_run.c - vqscope run: start QEMU with a trace region and shared
 * guest RAM (launch.h), watch it like `vqscope top`, and stop QEMU when
 * done.  Without --kernel it boots the bundled demo guest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "live/launch.h"
#include "top.h"

/* The demo guest's default: the slow-frame case vqscope was made for
 * (a log line per frame over a 115200-baud UART, one GPU flush per band
 * of lines, an acquire fence once the used index moved), running until
 * stopped. */
#define DEMO_APPEND "frames=0 flush=line log=frame uart=115200 barrier=on-progress"

static const char help[] =
    "usage: vqscope run [OPTIONS] [-- QEMU-ARGS...]\n"
    "\n"
    "Boot a guest in QEMU set up for vqscope (a trace region on ivshmem,\n"
    "guest RAM in a shared file, two QMP sockets, all in a private directory)\n"
    "and open the live view on it; QEMU starts paused and the guest runs once\n"
    "the view is attached, and QEMU is stopped when you quit.  The view\n"
    "holds DIR/qmp.sock; DIR/qmp2.sock, named on stderr and in the status line\n"
    "at start, is free for `vqscope record` or `vqscope doctor` at the same\n"
    "time.  Without --kernel it boots the bundled demo guest with\n"
    "  --append \"" DEMO_APPEND "\"\n"
    "(see docs/guest.md for the demo's options).\n"
    "\n"
    "  -a, --accel tcg|kvm   accelerator (default tcg)\n"
    "  -k, --kernel FILE     a multiboot kernel instead of the demo guest\n"
    "  -A, --append ARGS     the kernel command line\n"
    "  -r, --region-size N   trace region size, a power of two (default 4M)\n"
    "  -m, --memory N        guest RAM (default 128M)\n"
    "      --display         show QEMU's window (default: none)\n"
    "      --keep-dir        leave the runtime directory behind\n"
    "  -b, --batch           print the overview instead (like top --batch)\n"
    "  -i, --interval TIME   between updates (default 1s)\n"
    "  -n, --count N         stop after N updates (batch)\n"
    "  -j, --json            batch: one JSON object per line\n"
    "  -s, --sort KEY        slot, name, in-flight, adds/s, cmpl/s, spins/cmpl, p99, stalls\n"
    "      --no-device       no device-side sampling through QMP\n"
    "  -h, --help            this text\n"
    "\n"
    "Arguments after -- go to QEMU unchanged.  When QEMU exits on its own,\n"
    "vqscope says how, with the guest's last serial line, and exits with\n"
    "status 3.\n";

struct run_args {
	struct launch_opts launch;
	struct top_opts top;
	struct source_opts source;
};

static int parse_size_option(const char *name, const char *arg, uint64_t *out)
{
	if (!parse_size(arg, out) || *out == 0) {
		cli_error("run", "--%s: '%s' is not a size like 4M", name, arg);
		return EXIT_USAGE;
	}
	return 0;
}

static int run_option(void *ctx, int c, const char *arg)
{
	struct run_args *a = ctx;

	switch (c) {
	case 'a':
		a->launch.accel = arg;
		return 0;
	case 'k':
		a->launch.kernel = arg;
		return 0;
	case 'A':
		a->launch.append = arg;
		return 0;
	case 'r':
		return parse_size_option("region-size", arg, &a->launch.region_size);
	case 'm':
		return parse_size_option("memory", arg, &a->launch.ram_size);
	case 'W':
		a->launch.show_display = true;
		return 0;
	case 'K':
		a->launch.keep_dir = true;
		return 0;
	default:
		return top_parse_option(c, arg, &a->top, &a->source) == 0 ? 0 : EXIT_USAGE;
	}
}

/* CLI_RUN, or the exit code to return. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option longopts[] = {{"accel", required_argument, NULL, 'a'},
						 {"kernel", required_argument, NULL, 'k'},
						 {"append", required_argument, NULL, 'A'},
						 {"region-size", required_argument, NULL, 'r'},
						 {"memory", required_argument, NULL, 'm'},
						 {"display", no_argument, NULL, 'W'},
						 {"keep-dir", no_argument, NULL, 'K'},
						 {"batch", no_argument, NULL, 'b'},
						 {"interval", required_argument, NULL, 'i'},
						 {"count", required_argument, NULL, 'n'},
						 {"json", no_argument, NULL, 'j'},
						 {"sort", required_argument, NULL, 's'},
						 {"no-device", no_argument, NULL, 'D'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	/* '+': stop at the first non-option; QEMU's arguments follow "--". */
	static const struct cli_spec spec = {"run",    help, "+a:k:A:r:m:bi:n:js:h",
					     longopts, -1,   NULL};
	int first, rc = cli_parse(&spec, argc, argv, run_option, a, &first);

	if (rc != CLI_RUN)
		return rc;
	if (first < argc && strcmp(argv[first - 1], "--") != 0) {
		cli_error("run", "unexpected argument '%s' (QEMU arguments go after --)",
			  argv[first]);
		return EXIT_USAGE;
	}
	a->launch.extra_args = (const char **)(argv + first);
	a->launch.nextra = (size_t)(argc - first);
	if (!a->launch.kernel && !a->launch.append)
		a->launch.append = DEMO_APPEND;
	a->launch.start_paused = true;
	return CLI_RUN;
}

/* Say how QEMU ended when it was not us who stopped it. */
static void report_exit(struct launch *l)
{
	char how[256], line[512];

	for (int i = 0; i < 50 && launch_poll(l); i++)
		usleep(20000); /* QEMU closes QMP a moment before it exits */
	launch_exit_text(l, how, sizeof(how));
	launch_last_serial_line(l, line, sizeof(line));
	fprintf(stderr, "vqscope run: %s%s%s\n", how, line[0] ? "; the guest's last line: " : "",
		line);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {.top = {.interval_ns = 1000000000, .command = "run"},
			     .source = {.map_ram = true}};
	struct launch l;
	char err[1024], greeting[200];
	int rc = parse_args(argc, argv, &a);

	if (rc != CLI_RUN)
		return rc;
	if (!a.top.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		cli_error("run", "the interactive view needs a terminal (--batch prints text)");
		return EXIT_USAGE;
	}
	cli_catch_signals();
	if (launch_qemu(&a.launch, &l, err, sizeof(err)) != 0) {
		cli_error("run", "%s", err);
		return EXIT_FAIL;
	}
	/* Before the view takes the terminal: it stays above it.  The view
	 * covers it at once, so its status line says it too. */
	fprintf(stderr,
		"vqscope run: record at the same time with: vqscope record -o FILE.vqt %s\n",
		l.qmp2_path);
	snprintf(greeting, sizeof(greeting), "free QMP socket for record or doctor: %s",
		 l.qmp2_path);
	a.top.greeting = greeting;
	struct source *s = source_open(l.qmp_path, &a.source, err, sizeof(err));
	if (!s) {
		cli_error("run", "%s", err);
		launch_stop(&l);
		return EXIT_FAIL;
	}
	/* QEMU started paused (-S): the guest runs once the view is attached,
	 * so even one that powers off at once is seen whole. */
	if (source_resume(s, err, sizeof(err)) != 0)
		cli_error("run", "cannot start the guest: %s", err);
	rc = top_watch(s, &a.top);
	if (s->ended) {
		report_exit(&l);
		rc = EXIT_SOURCE_GONE;
	} else if (source_quit_vm(s, 5000, err, sizeof(err)) != 0) {
		/* launch_stop below ends it with SIGTERM instead. */
		cli_error("run", "QMP quit: %s", err);
	}
	source_close(s);
	if (launch_stop(&l) != 0 && rc == EXIT_OK)
		rc = EXIT_FAIL;
	return rc;
}
