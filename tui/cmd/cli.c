/* cli.c - helpers shared by the vqscope commands (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

volatile sig_atomic_t cli_stop_signal;

static void on_signal(int sig)
{
	cli_stop_signal = sig;
}

void cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking poll() returns at once with EINTR. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool cli_interrupted(void *ctx)
{
	(void)ctx;
	return cli_stop_signal != 0;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vqscope %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The long options that start with name[0..len) ("--no" is two of
 * top's); *match gets the exact one, else the last that starts so. */
static int long_matches(const struct option *longopts, const char *name, size_t len,
			const struct option **match)
{
	int n = 0;

	*match = NULL;
	for (const struct option *o = longopts; o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (o->name[len] == 0) {
			*match = o;
			return 1;
		}
		*match = o;
		n++;
	}
	return n;
}

/* Say in one line what getopt_long refused: it returned '?' for the
 * argument before argv[optind] (or for a letter inside it, a cluster like
 * "-za" it has not left yet), optopt being the option's letter (or the
 * long option's value), 0 for a long option it does not know. */
static void option_error(const struct cli_spec *spec, char **argv)
{
	const char *shortopts = spec->shortopts + (spec->shortopts[0] == '+');
	const char *typed = argv[optind - 1];
	const struct option *o = NULL;
	size_t len = 0;
	int matches = 0;

	if (strncmp(typed, "--", 2) == 0) {
		len = strcspn(typed + 2, "=");
		matches = long_matches(spec->longopts, typed + 2, len, &o);
	}
	if (len && optopt == 0) {
		cli_error(spec->name, "%s option '--%.*s' (see vqscope %s --help)",
			  matches > 1 ? "ambiguous" : "unknown", (int)len, typed + 2, spec->name);
	} else if (len && matches == 1 && o->val == optopt) {
		if (typed[2 + len] == '=')
			cli_error(spec->name, "--%s takes no value (see vqscope %s --help)",
				  o->name, spec->name);
		else
			cli_error(spec->name, "--%s needs a value (see vqscope %s --help)", o->name,
				  spec->name);
	} else if (optopt > 0 && optopt != ':' && strchr(shortopts, optopt)) {
		cli_error(spec->name, "-%c needs a value (see vqscope %s --help)", optopt,
			  spec->name);
	} else {
		cli_error(spec->name, "unknown option '-%c' (see vqscope %s --help)", optopt,
			  spec->name);
	}
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv,
	      int (*on_option)(void *ctx, int c, const char *arg), void *ctx, int *first)
{
	static const char *const counts[] = {"no", "one", "two", "three"};
	int c, rc;

	optind = 1;
	opterr = 0; /* option_error() says it, as "vqscope CMD: ..." */
	while ((c = getopt_long(argc, argv, spec->shortopts, spec->longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(spec->help, stdout);
			return EXIT_OK;
		}
		if (c == '?' || c == ':') {
			option_error(spec, argv);
			return EXIT_USAGE;
		}
		rc = on_option(ctx, c, optarg);
		if (rc != 0)
			return rc;
	}
	if (spec->operands >= 0 && argc - optind != spec->operands) {
		cli_error(spec->name, "needs exactly %s %s",
			  spec->operands < 4 ? counts[spec->operands] : "more",
			  spec->operands_text);
		return EXIT_USAGE;
	}
	*first = optind;
	return CLI_RUN;
}

struct source *cli_open_source(const char *cmd, const char *spec, const struct source_opts *so,
			       int need, const char *wrong_kind, int *rc)
{
	char err[512];
	struct source *s = source_open(spec, so, err, sizeof(err));

	if (!s) {
		cli_error(cmd, "%s", err);
		*rc = EXIT_FAIL;
		return NULL;
	}
	if (need >= 0 && s->kind != (enum source_kind)need) {
		cli_error(cmd, "%s %s", spec, wrong_kind);
		source_close(s);
		*rc = EXIT_USAGE;
		return NULL;
	}
	*rc = EXIT_OK;
	return s;
}
