/* main.c - vqscope: an interactive debugger and tracer for virtio
 * virtqueues.  Dispatches to the commands in cmd_*.c. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "boot the demo guest (or a kernel) in QEMU and watch it live"},
    {"top", cmd_top, "watch a VM's queues live (or a recording), interactive or --batch"},
    {"replay", cmd_replay, "play a .vqt recording in the interactive view"},
    {"doctor", cmd_doctor,
     "say what is wrong with a VM's queues (or a recording's), with evidence"},
    {"attach", cmd_attach, "attach to a VM through QMP and say what is traced"},
    {"record", cmd_record, "record a live session to a .vqt file"},
    {"report", cmd_report, "summarise a recording: latency, rates, where time went"},
    {"dump", cmd_dump, "print a recording's (or a live VM's) events, one per line"},
    {"export", cmd_export, "convert a recording for Perfetto UI / chrome://tracing"},
    {"diff", cmd_diff, "compare two recordings side by side, with ratios"},
    {"exporter", cmd_exporter, "serve live VMs' queue metrics to Prometheus over HTTP"},
    {"libvirt-xml", cmd_libvirt_xml, "print the libvirt domain XML vqscope needs"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vqscope COMMAND [OPTIONS] [ARGS]\n\n"
		   "An interactive debugger and tracer for virtio virtqueues.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(
	    f, "\nA SOURCE is a QEMU QMP socket or libvirt:DOMAIN[@URI] (live), or a .vqt\n"
	       "recording.\n"
	       "Run `vqscope COMMAND --help` for a command's options; docs/usage.md has examples.\n"
	       "`vqscope --version` prints the version.\n"
	       "Exit status: 0 done, 1 error, 2 bad usage, 3 the VM went away (recording kept),\n"
	       "4 the trace region's file shrank under vqscope (recording kept).\n");
}

int main(int argc, char **argv)
{
	/* The terminal's character set (UTF-8 or not) for the interactive
	 * view, set once before any thread starts.  Only LC_CTYPE: numbers
	 * keep the C locale's format everywhere. */
	setlocale(LC_CTYPE, "");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("vqscope %s\n", VQSCOPE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vqscope: unknown command '%s' (try vqscope --help)\n", argv[1]);
	return EXIT_USAGE;
}
