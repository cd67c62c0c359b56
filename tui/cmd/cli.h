/* cli.h - what every vqscope command shares: exit codes, the signal flag,
 * the option loop with --help and the operand count, opening a SOURCE,
 * and the one-line error convention. */
#ifndef VQ_CLI_H
#define VQ_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/format.h"
#include "live/source.h"

/* Exit codes, the same for every command (docs/usage.md). */
enum {
	EXIT_OK = 0,	      /* done */
	EXIT_FAIL = 1,	      /* bad input, I/O error, cannot attach */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_SOURCE_GONE = 3, /* the live source went away (QEMU exited); what
			       * was recorded is closed and valid */
	EXIT_REGION_GONE = 4, /* the trace region's file shrank under vqscope
			       * (truncated); what was recorded is closed and
			       * valid */
};

#define VQSCOPE_VERSION "0.1"

/* Set by SIGINT/SIGTERM/SIGHUP once cli_catch_signals() ran. */
extern volatile sig_atomic_t cli_stop_signal;
void cli_catch_signals(void);
/* cli_stop_signal as a callback (walk_handlers.interrupted and the like). */
bool cli_interrupted(void *ctx);

/* "vqscope record: " + message + newline on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command's command line.  shortopts and longopts include -h/--help
 * ('h'), which cli_parse() answers itself. */
struct cli_spec {
	const char *name;	       /* "dump" */
	const char *help;	       /* the --help text */
	const char *shortopts;	       /* for getopt_long */
	const struct option *longopts; /* for getopt_long */
	int operands;		       /* exactly this many; -1: any number */
	const char *operands_text;     /* "one SOURCE (see vqscope dump --help)" */
};

#define CLI_RUN (-1)

/* Parse argv with spec: each of the command's options goes to on_option,
 * which returns 0 to go on or an exit code to stop with (after saying
 * why).  Returns CLI_RUN with *first set to the first operand's index, or
 * the exit code to return: EXIT_OK after --help, EXIT_USAGE for an
 * unknown option or one without its value ("vqscope dump: --count needs a
 * value (see vqscope dump --help)") or a wrong number of operands
 * ("vqscope dump: needs exactly one SOURCE (...)"). */
int cli_parse(const struct cli_spec *spec, int argc, char **argv,
	      int (*on_option)(void *ctx, int c, const char *arg), void *ctx, int *first);

/* Open spec for command cmd.  need: SOURCE_LIVE or SOURCE_FILE when only
 * that kind will do (then wrong_kind says what to do instead: "is a live
 * VM; record it first (vqscope record)"), or -1 for either.  NULL after
 * printing the error, with *rc the exit code to return. */
struct source *cli_open_source(const char *cmd, const char *spec, const struct source_opts *so,
			       int need, const char *wrong_kind, int *rc);

/* Commands (cmd_*.c).  argv[0] is the command name. */
int cmd_attach(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_exporter(int argc, char **argv);
int cmd_libvirt_xml(int argc, char **argv);

#endif /* VQ_CLI_H */
