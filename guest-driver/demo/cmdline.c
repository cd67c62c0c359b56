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
 *   event_idx=on|off      VIRTIO_RING_F_EVENT_IDX (default: when offered)
 *   packed=on|off         packed virtqueues (VIRTIO_F_RING_PACKED)
 *   depth=N               commands in flight before waiting (1..queue size)
 *   bug=NAME              one driver bug on purpose (see bug_names below)
 *   timeout=S             seconds a wait may take (0: forever)
 *   on-error=exit|halt    exit QEMU on a failure, or halt the CPU
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

#define BUG_NAME(id, name, what) [id] = name,
#define BUG_WHAT(id, name, what) [id] = what,
static const char *const bug_names[BUG_COUNT + 1] = {DEMO_BUGS(BUG_NAME)[BUG_COUNT] = NULL};
static const char *const bug_descriptions[BUG_COUNT] = {DEMO_BUGS(BUG_WHAT)};
#undef BUG_NAME
#undef BUG_WHAT

const char *bug_name(enum demo_bug b)
{
	return (unsigned)b < BUG_COUNT ? bug_names[b] : "?";
}

const char *bug_description(enum demo_bug b)
{
	return (unsigned)b < BUG_COUNT ? bug_descriptions[b] : "?";
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
	char expected[192];
	size_t len = 0;

	for (int i = 0; names[i]; i++)
		if (equal(value, names[i]))
			return i;
	for (int i = 0; names[i] && len < sizeof(expected); i++)
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
	static const char *const on_off[] = {"on", "off", NULL};
	static const char *const on_errors[] = {"exit", "halt", NULL};
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
	} else if (equal(key, "event_idx")) {
		o->event_idx = choice(key, value, on_off) == 0 ? EVENT_IDX_ON : EVENT_IDX_OFF;
	} else if (equal(key, "packed")) {
		o->packed = choice(key, value, on_off) == 0;
	} else if (equal(key, "depth")) {
		/* 2.8: at most 2^15 entries; the queue's own size is checked
		 * once it is known (virtq_setup). */
		if (parse_number(value, 1, 32768, &n) != 0)
			bad_value(key, value, "a number of commands from 1 to the queue size");
		o->depth = (u32)n;
	} else if (equal(key, "bug")) {
		o->bug = (enum demo_bug)choice(key, value, bug_names);
	} else if (equal(key, "timeout")) {
		if (parse_number(value, 0, 3600, &n) != 0)
			bad_value(key, value, "seconds from 0 (wait forever) to 3600");
		o->timeout_s = (u32)n;
	} else if (equal(key, "on-error")) {
		o->halt_on_error = choice(key, value, on_errors);
	} else {
		fail(EXIT_BAD_OPTION,
		     "unknown option '%s' (known: barrier flush lines log uart frames complete "
		     "size selftest event_idx packed depth bug timeout on-error)",
		     key);
	}
}

/* A bug that needs a mode the command line turned off would do nothing:
 * say so instead. */
static void check_bug(struct demo_options *o)
{
	const char *name = bug_name(o->bug);

	switch (o->bug) {
	case BUG_STALE_USED_EVENT:
		if (o->event_idx == EVENT_IDX_OFF)
			fail(EXIT_BAD_OPTION,
			     "bug=%s needs event_idx (used_event), not event_idx=off", name);
		/* fall through */
	case BUG_NO_IRQ_REARM:
		if (!o->complete_irq)
			fail(EXIT_BAD_OPTION,
			     "bug=%s needs complete=irq (it is about used-buffer notifications)",
			     name);
		break;
	case BUG_CHAIN_LOOP:
	case BUG_BAD_NEXT:
		if (o->packed)
			fail(EXIT_BAD_OPTION,
			     "bug=%s needs packed=off (a packed ring has no next fields)", name);
		break;
	case BUG_PACKED_STALE_WRAP:
		if (!o->packed)
			fail(EXIT_BAD_OPTION, "bug=%s needs packed=on", name);
		break;
	case BUG_STALE_USED_ID:
		if (o->depth < 2)
			fail(EXIT_BAD_OPTION,
			     "bug=%s needs depth=2 or more (with one command in flight the "
			     "previous element's chain is always in flight again)",
			     name);
		break;
	case BUG_POLL_NO_BARRIER:
		/* One name per bug: the code path is barrier=none's. */
		o->barrier = BARRIER_NONE;
		break;
	default:
		break;
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
	    .depth = 1,
	    .timeout_s = 5, /* TCG on a busy host is slow */
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
	check_bug(o);
	power_halt_on_error(o->halt_on_error);
}
