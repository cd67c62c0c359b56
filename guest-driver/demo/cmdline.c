/* cmdline.c - the demo guest's kernel command line (QEMU -append).
 *
 *   barrier=seqcst-every|on-progress|acquire-every|none   poll policy
 *   flush=frame|line      one transfer+flush per frame, or per band
 *   lines=N               band height for flush=line (1..4096)
 *   log=frame|off         print [VIRTIO PERF] once per frame
 *   uart=115200|fast      pace serial output like a real UART, or not
 *   frames=N              render N frames then power off; 0 = forever
 *   complete=poll|irq     spin on used.idx, or wait for MSI-X
 *   size=WxH              resource size instead of the preferred mode
 *   selftest=N            time N trace events, print ns/event, power off
 *
 * QEMU's multiboot loader passes "KERNEL-PATH OPTIONS...", so the first
 * word is skipped.  Anything unknown or malformed stops the boot with a
 * message naming the option and the value.
 */
#include "demo.h"

#define MAX_WORD 128

static const char *const barrier_names[] = {"seqcst-every", "on-progress", "acquire-every", "none",
					    NULL};

const char *barrier_policy_name(enum barrier_policy p)
{
	return (unsigned)p < 4 ? barrier_names[p] : "?";
}

static int equal(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* A decimal number in [min, max], the whole string. */
static int parse_number(const char *s, u64 min, u64 max, u64 *out)
{
	u64 v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (u64)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (u64)(*s - '0');
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static __attribute__((noreturn)) void bad_value(const char *key, const char *value,
						const char *expected)
{
	fail(EXIT_BAD_OPTION, "bad value '%s' for %s= (expected %s)", value, key, expected);
}

/* The index of `value` in names[] (a NULL-terminated list of choices);
 * anything else stops the boot, listing the choices. */
static int choice(const char *key, const char *value, const char *const *names)
{
	char expected[128];
	size_t len = 0;

	for (int i = 0; names[i]; i++)
		if (equal(value, names[i]))
			return i;
	for (int i = 0; names[i]; i++)
		len += (size_t)format(expected + len, sizeof(expected) - len, "%s%s",
				      i == 0 ? "" : (names[i + 1] ? ", " : " or "), names[i]);
	bad_value(key, value, expected);
}

static void parse_size(struct demo_options *o, const char *key, const char *value)
{
	char width[16];
	unsigned i = 0;
	u64 w, h;

	while (value[i] && value[i] != 'x' && i + 1 < sizeof(width)) {
		width[i] = value[i];
		i++;
	}
	width[i] = '\0';
	if (value[i] != 'x' || parse_number(width, 16, 4096, &w) != 0 ||
	    parse_number(value + i + 1, 16, 4096, &h) != 0)
		bad_value(key, value, "WIDTHxHEIGHT, each from 16 to 4096");
	o->width = (u32)w;
	o->height = (u32)h;
}

static void parse_option(struct demo_options *o, const char *key, const char *value)
{
	static const char *const flushes[] = {"frame", "line", NULL};
	static const char *const logs[] = {"frame", "off", NULL};
	static const char *const uarts[] = {"115200", "fast", NULL};
	static const char *const completions[] = {"poll", "irq", NULL};
	u64 n;

	if (equal(key, "barrier")) {
		o->barrier = (enum barrier_policy)choice(key, value, barrier_names);
	} else if (equal(key, "flush")) {
		o->flush = choice(key, value, flushes) ? FLUSH_LINE : FLUSH_FRAME;
	} else if (equal(key, "lines")) {
		if (parse_number(value, 1, 4096, &n) != 0)
			bad_value(key, value, "a number of lines from 1 to 4096");
		o->lines = (u32)n;
	} else if (equal(key, "log")) {
		o->log_frame = choice(key, value, logs) == 0;
	} else if (equal(key, "uart")) {
		o->uart_paced = choice(key, value, uarts) == 0;
	} else if (equal(key, "frames")) {
		if (parse_number(value, 0, 1000000000000ull, &n) != 0)
			bad_value(key, value, "a number of frames, 0 for no limit");
		o->frames = n;
	} else if (equal(key, "complete")) {
		o->complete_irq = choice(key, value, completions);
	} else if (equal(key, "size")) {
		parse_size(o, key, value);
	} else if (equal(key, "selftest")) {
		if (parse_number(value, 1, 100000000, &n) != 0)
			bad_value(key, value, "a number of events from 1 to 100000000");
		o->selftest = n;
	} else {
		fail(EXIT_BAD_OPTION,
		     "unknown option '%s' (known: barrier flush lines log uart frames complete "
		     "size selftest)",
		     key);
	}
}

void options_parse(struct demo_options *o, const char *cmdline)
{
	const char *p = cmdline;
	int first = 1;

	*o = (struct demo_options){
	    .barrier = BARRIER_ON_PROGRESS,
	    .flush = FLUSH_FRAME,
	    .lines = 16,
	    .uart_paced = 1,
	};
	while (*p) {
		char word[MAX_WORD];
		unsigned len = 0, eq = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t') {
			if (len + 1 >= sizeof(word))
				fail(EXIT_BAD_OPTION, "command-line word too long (over %u bytes)",
				     MAX_WORD - 1);
			if (*p == '=' && !eq)
				eq = len + 1;
			word[len++] = *p++;
		}
		word[len] = '\0';
		if (first) {
			first = 0;
			continue; /* the kernel path */
		}
		if (!eq)
			fail(EXIT_BAD_OPTION, "option '%s' has no value (expected key=value)",
			     word);
		word[eq - 1] = '\0';
		parse_option(o, word, word + eq);
	}
}
