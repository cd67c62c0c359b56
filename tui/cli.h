/* cli.h - what every vqscope command shares: exit codes, signal flag,
 * option value parsing, and the one-line error convention. */
#ifndef VQ_CLI_H
#define VQ_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes, the same for every command (docs/usage.md). */
enum {
	EXIT_OK = 0,	      /* done */
	EXIT_FAIL = 1,	      /* bad input, I/O error, cannot attach */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_SOURCE_GONE = 3, /* the live source went away (QEMU exited); what
			       * was recorded is closed and valid */
};

#define VQSCOPE_VERSION "0.1"

/* Set by SIGINT/SIGTERM once cli_catch_signals() ran. */
extern volatile sig_atomic_t cli_stop_signal;
void cli_catch_signals(void);

/* "vqscope record: " + message + newline on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "2.5", "500ms", "3s", "1m" into nanoseconds. */
bool cli_parse_duration(const char *text, uint64_t *ns);
/* Parse a non-negative integer with optional K/M/G suffix (powers of 2). */
bool cli_parse_size(const char *text, uint64_t *out);
/* Parse an unsigned integer within [min, max]. */
bool cli_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Print a command's help text (from its table) and return EXIT_OK. */
int cli_help(FILE *f, const char *text);

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

#endif /* VQ_CLI_H */
