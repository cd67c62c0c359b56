/* vqscope_trace.c - vqscope-trace: makes a stock Linux guest a producer of
 * the vqscope trace region.  Options, the privilege check, and the main
 * loop: BPF ring buffer -> trace region (guest library) -> recording or
 * text.  Hook selection is in hooks.c, the region side in sink.c, the
 * ivshmem mapping in shm.c.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "hooks.h"
#include "shm.h"
#include "sink.h"
#include "vqrec.h"

#define REST_MS	      25	 /* longest a record waits in the ring buffer */
#define HEARTBEAT_MS  250	 /* between heartbeats in the region header */
#define SKIPS_MS      2000	 /* between reads of the kernel's skip counts */
#define CONSUME_BATCH 16384	 /* records taken before the loop's other work */
#define RINGBUF_BYTES (4u << 20) /* BPF ring buffer */
#define PRODUCER      "vqscope-trace 0.1 (linux)"
#define STATS_MAX     64 /* programs --stats reports on */

static struct options {
	enum trace_method method;
	const char *shm;
	const char *output;
	bool force;
	bool print;
	const char *queue;
	int32_t device_id;
	int32_t device_index;
	double duration;
	bool stats;
	bool verbose;
} opts = {
    .device_id = -1,
    .device_index = -1,
};

const char *argp_program_version = PRODUCER;
static const char doc[] =
    "Trace the virtqueues of a running Linux kernel (virtio_ring) with eBPF.\n"
    "\n"
    "Writes the vqscope trace region into an ivshmem-plain device (--shm), a\n"
    "recording (--output) and/or text lines (--stdout, the default).\n"
    "\n"
    "EXAMPLES:\n"
    "    vqscope-trace --shm auto           # feed `vqscope attach` on the host\n"
    "    vqscope-trace -o blk.vqt -d blk    # record the virtio-blk queues\n"
    "    vqscope-trace --stdout -q input    # print the virtio-rng queue's events\n"
    "    vqscope-trace --duration 10 -o trace.vqt   # record for 10 seconds\n"
    "    vqscope-trace -m kprobe --stdout   # force kprobes instead of fentry\n"
    "    vqscope-trace --shm auto --stats   # and print each hook's cost at the end\n";

enum { OPT_STDOUT = 0x100, OPT_STATS };

static const struct argp_option options[] = {
    {"shm", 's', "auto|PCI|FILE", 0,
     "Write the trace region to an ivshmem-plain device (auto: the first one), "
     "by PCI address, or to a file",
     0},
    {"output", 'o', "FILE.vqt", 0, "Write a recording", 0},
    {"force", 'f', NULL, 0, "Overwrite the recording if it exists", 0},
    {"stdout", OPT_STDOUT, NULL, 0, "Print one line per event, as vqscope dump does", 0},
    {"method", 'm', "auto|fentry|kprobe|tracepoint", 0,
     "How to hook the kernel (default auto: the first that works)", 0},
    {"queue", 'q', "NAME", 0, "Trace only virtqueues of this name (\"req.0\", \"input\")", 0},
    {"device", 'd', "DEV", 0,
     "Trace only this device: virtioN, a type (net, blk, console, rng, gpu, ...) or a "
     "virtio device ID",
     0},
    {"duration", 'D', "SECONDS", 0, "Stop after this long (default: until SIGINT/SIGTERM)", 0},
    {"stats", OPT_STATS, NULL, 0,
     "At the end, print each BPF program's runs, ns per run and length in BPF "
     "instructions while tracing (the kernel's BPF run-time statistics, switched on "
     "meanwhile)",
     0},
    {"verbose", 'v', NULL, 0, "Show libbpf debug output", 0},
    {NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0},
    {0},
};

/* Virtio device IDs by name (virtio 1.2, 5). */
static const struct {
	const char *name;
	int32_t id;
} device_types[] = {
    {"net", 1},	    {"blk", 2},	   {"block", 2}, {"console", 3}, {"rng", 4},	{"entropy", 4},
    {"balloon", 5}, {"scsi", 8},   {"9p", 9},	 {"gpu", 16},	 {"input", 18}, {"vsock", 19},
    {"crypto", 20}, {"iommu", 23}, {"mem", 24},	 {"sound", 25},	 {"fs", 26},	{"pmem", 27},
};

static int parse_device(const char *arg)
{
	char *end;
	long v;

	if (strncmp(arg, "virtio", 6) == 0) {
		v = strtol(arg + 6, &end, 10);
		if (end != arg + 6 && *end == 0 && v >= 0 && v <= INT32_MAX) {
			opts.device_index = (int32_t)v;
			return 0;
		}
		return -1;
	}
	for (size_t i = 0; i < sizeof(device_types) / sizeof(device_types[0]); i++) {
		if (strcmp(arg, device_types[i].name) == 0) {
			opts.device_id = device_types[i].id;
			return 0;
		}
	}
	v = strtol(arg, &end, 0);
	if (end == arg || *end != 0 || v < 0 || v > 0xffff)
		return -1;
	opts.device_id = (int32_t)v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 's':
		opts.shm = arg;
		break;
	case 'o':
		opts.output = arg;
		break;
	case 'f':
		opts.force = true;
		break;
	case OPT_STDOUT:
		opts.print = true;
		break;
	case 'm':
		if (trace_method_parse(arg, &opts.method) != 0)
			argp_error(state, "--method %s: use auto, fentry, kprobe or tracepoint",
				   arg);
		break;
	case 'q':
		if (strlen(arg) >= VQTR_QUEUE_NAME_LEN)
			argp_error(state, "--queue %s: longer than %u bytes", arg,
				   VQTR_QUEUE_NAME_LEN - 1);
		opts.queue = arg;
		break;
	case 'd':
		if (parse_device(arg) != 0)
			argp_error(state, "--device %s: not virtioN, a device type or an ID", arg);
		break;
	case 'D':
		errno = 0;
		opts.duration = strtod(arg, &end);
		if (errno || end == arg || *end != 0 || opts.duration <= 0)
			argp_error(state, "--duration %s: not a positive number of seconds", arg);
		break;
	case OPT_STATS:
		opts.stats = true;
		break;
	case 'v':
		opts.verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument %s", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- privileges ------------------------------------------------------------ */

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT	  38
#define CAP_BPF_BIT	  39

/* Loading tracing programs needs CAP_BPF and CAP_PERFMON, or
 * CAP_SYS_ADMIN on kernels older than 5.8. */
static bool has_privileges(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long caps = 0;
	char line[256];

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	if (caps & (1ull << CAP_SYS_ADMIN_BIT))
		return true;
	return (caps & (1ull << CAP_BPF_BIT)) && (caps & (1ull << CAP_PERFMON_BIT));
}

/* ---- main loop ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

/* Losses already counted into the trace region. */
struct losses {
	uint64_t counters[VQTR_CNT_COUNT]; /* the BPF side's, as last read */
	uint64_t skipped;		   /* hook runs the kernel skipped that each
					    * stand for one record */
	struct hook_skips skips;	   /* the kernel's counts, as last read */
};

/* Every record the trace never got is counted lost in the region, so the
 * host sees the hole instead of a silently incomplete trace: records the
 * BPF ring buffer had no room for, adds and reaps found missing in the
 * rings, kick decisions whose queue was not known, and the hook runs the
 * kernel skipped that each stood for one record (hooks.c). */
static void account_losses(struct sink *sink, struct hooks *hooks, struct losses *seen,
			   bool read_skips)
{
	static const int lost_counters[] = {VQTR_CNT_DROPPED, VQTR_CNT_REAPS_MISSED,
					    VQTR_CNT_ADDS_MISSED, VQTR_CNT_KICKS_MISSED};
	uint64_t now[VQTR_CNT_COUNT];

	if (hooks_counters(hooks, now) == 0) {
		for (size_t i = 0; i < sizeof(lost_counters) / sizeof(lost_counters[0]); i++) {
			int c = lost_counters[i];

			if (now[c] > seen->counters[c])
				sink_lost(sink, now[c] - seen->counters[c]);
		}
		memcpy(seen->counters, now, sizeof(now));
	}
	if (read_skips && hooks_skips(hooks, &seen->skips) == 0 &&
	    seen->skips.lost > seen->skipped) {
		sink_lost(sink, seen->skips.lost - seen->skipped);
		seen->skipped = seen->skips.lost;
	}
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Records taken since the main loop last did its other work: past
 * CONSUME_BATCH, returning an error makes libbpf stop after this record
 * (it is consumed) so a busy guest still gets heartbeats and loss counts.
 * taken counts them all. */
static unsigned consumed;
static uint64_t taken;

static int on_record(void *ctx, void *data, size_t size)
{
	sink_record(ctx, data, size);
	taken++;
	return ++consumed >= CONSUME_BATCH ? -EAGAIN : 0;
}

/* Milliseconds from now until at, for a poll timeout. */
static int ms_until(uint64_t now, uint64_t at)
{
	return at > now ? (int)((at - now) / 1000000u) + 1 : 0;
}

/* Take what the BPF ring buffer holds (up to CONSUME_BATCH records).
 * Returns 1 when more may be waiting, 0 when it is empty, -1 on error. */
static int take_records(struct ring_buffer *rb)
{
	int n;

	consumed = 0;
	n = ring_buffer__consume(rb);
	if (n == -EAGAIN)
		return 1;
	if (n < 0) {
		fprintf(stderr, "vqscope-trace: reading the BPF ring buffer: %s\n", strerror(-n));
		return -1;
	}
	return 0;
}

static void print_queue_loss(void *ctx, uint64_t vq, uint32_t reaps, uint32_t adds)
{
	const char *name = sink_queue_name(ctx, vq);

	if (name)
		fprintf(stderr, "vqscope-trace: %s: %u reaps and %u adds missed\n", name, reaps,
			adds);
	else
		fprintf(stderr, "vqscope-trace: virtqueue at 0x%llx: %u reaps and %u adds missed\n",
			(unsigned long long)vq, reaps, adds);
}

/* --stats: what each program cost between the two snapshots: its runs,
 * their time, and its length in instructions (static: the instructions
 * a run executes are fewer, as branches skip some).  Runs times length,
 * summed, is a measure of the work that does not depend on the clock. */
static void print_stats(const struct hook_stat *before, int nbefore, const struct hook_stat *after,
			int nafter)
{
	uint64_t all_runs = 0, all_ns = 0, all_insns = 0;

	if (nbefore < 0 || nafter < 0 || nbefore != nafter) {
		fprintf(stderr, "vqscope-trace: stats: cannot read the programs' statistics\n");
		return;
	}
	for (int i = 0; i < nafter; i++) {
		uint64_t runs = after[i].runs - before[i].runs;
		uint64_t ns = after[i].run_ns - before[i].run_ns;

		fprintf(stderr,
			"vqscope-trace: stats: %s: %llu runs, %llu ns, %.1f ns/run, %u insns\n",
			after[i].section, (unsigned long long)runs, (unsigned long long)ns,
			runs ? (double)ns / (double)runs : 0.0, after[i].insns);
		all_runs += runs;
		all_ns += ns;
		all_insns += runs * after[i].insns;
	}
	fprintf(stderr,
		"vqscope-trace: stats: all %d programs: %llu runs, %llu ns, %.1f ns/run, "
		"%llu insns run\n",
		nafter, (unsigned long long)all_runs, (unsigned long long)all_ns,
		all_runs ? (double)all_ns / (double)all_runs : 0.0, (unsigned long long)all_insns);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc, NULL, NULL, NULL};
	struct hook_config hc = {.ringbuf_bytes = RINGBUF_BYTES};
	struct sink_config sc = {.producer = PRODUCER};
	struct shm_region shm = {0};
	struct hooks *hooks = NULL;
	struct ring_buffer *rb = NULL;
	struct sink *sink = NULL;
	struct sink_stats st;
	struct sigaction sa;
	struct losses losses;
	const uint64_t *c;
	const char *source;
	uint64_t now, next_beat, next_skips;
	int more = 0;
	static struct hook_stat stats_before[STATS_MAX], stats_after[STATS_MAX];
	int nstats_before = 0, nstats_after = 0;
	uint32_t end_reason = VQR_END_ERROR;
	char err[512];
	uint64_t deadline;
	int rc = 1, n;

	memset(&losses, 0, sizeof(losses));
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL) != 0)
		return 2;
	if (!opts.shm && !opts.output)
		opts.print = true;
	if (!has_privileges()) {
		fprintf(stderr, "vqscope-trace: needs root (CAP_BPF and CAP_PERFMON, or "
				"CAP_SYS_ADMIN) to load BPF programs\n");
		return 1;
	}

	/* Say it now rather than after the slow part (loading the hooks). */
	if (opts.output && !opts.force && access(opts.output, F_OK) == 0) {
		fprintf(stderr, "vqscope-trace: %s exists (use --force to overwrite it)\n",
			opts.output);
		return 1;
	}
	/* Before the slow part: a SIGINT or SIGTERM while the hooks load
	 * stops the tracer as soon as they are in (a background job of a
	 * script starts with SIGINT ignored, so one that came before this
	 * would be lost and the tracer would run for ever). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (opts.shm) {
		if (shm_map(opts.shm, &shm, err, sizeof(err)) != 0) {
			fprintf(stderr, "vqscope-trace: %s\n", err);
			goto cleanup;
		}
		sc.region = shm.base;
		sc.region_size = shm.size;
	}
	hc.method = opts.method;
	hc.device_id = opts.device_id;
	hc.device_index = opts.device_index;
	hc.queue_name = opts.queue;
	hc.verbose = opts.verbose;
	sc.ts_base = monotonic_ns();
	hooks = hooks_start(&hc, err, sizeof(err));
	if (!hooks) {
		fprintf(stderr, "vqscope-trace: %s\n", err);
		goto cleanup;
	}
	if (opts.stats && hooks_enable_stats(hooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "vqscope-trace: --stats: %s\n", err);
		goto cleanup;
	}
	sc.output = opts.output;
	sc.overwrite = opts.force;
	sc.text = opts.print ? stdout : NULL;
	sink = sink_open(&sc, err, sizeof(err));
	if (!sink) {
		fprintf(stderr, "vqscope-trace: %s\n", err);
		goto cleanup;
	}

	rb = ring_buffer__new(hooks_ringbuf_fd(hooks), on_record, sink, NULL);
	if (!rb) {
		fprintf(stderr, "vqscope-trace: cannot open the BPF ring buffer: %s\n",
			strerror(errno));
		goto cleanup;
	}

	if (opts.shm)
		fprintf(stderr, "vqscope-trace: writing the trace region to %s (%zu bytes)\n",
			shm.path, shm.size);
	if (opts.stats)
		nstats_before = hooks_program_stats(hooks, stats_before, STATS_MAX);
	hooks_enable(hooks, true);
	hooks_skips(hooks, &losses.skips);
	source = hooks_skip_source(hooks);
	if (hooks_method(hooks) == TRACE_METHOD_TRACEPOINT)
		;
	else if (source && losses.skips.reported)
		fprintf(stderr, "vqscope-trace: hook runs the kernel skips are counted from %s\n",
			source);
	else
		fprintf(stderr,
			"vqscope-trace: this kernel does not report the kprobe runs it skips%s: "
			"lost interrupts, kicks and callback changes go uncounted (adds and reaps "
			"are still found in the rings)\n",
			hooks_method(hooks) == TRACE_METHOD_KPROBE
			    ? " without tracefs (mount -t tracefs tracefs /sys/kernel/tracing)"
			    : "");
	sink_set_state(sink, VQT_PRODUCER_RUNNING, HEARTBEAT_MS);
	fprintf(stderr, "vqscope-trace: tracing; SIGINT or SIGTERM to stop\n");
	end_reason = VQR_END_NORMAL;
	deadline = opts.duration > 0 ? monotonic_ns() + (uint64_t)(opts.duration * 1e9) : 0;
	now = monotonic_ns();
	next_beat = now + HEARTBEAT_MS * 1000000ull;
	next_skips = now + SKIPS_MS * 1000000ull;
	while (!stop_signal) {
		uint64_t before = taken;

		/* Sleep until a record lands in the empty buffer (the BPF side
		 * then wakes us), a backlog builds up, or the next heartbeat
		 * is due; then take what is there.  An idle guest wakes the
		 * tracer only for its heartbeats. */
		if (!more) {
			int wait = ms_until(now, next_beat);

			if (deadline > 0 && ms_until(now, deadline) < wait)
				wait = ms_until(now, deadline);
			consumed = 0;
			n = ring_buffer__poll(rb, wait);
			if (n < 0 && n != -EINTR && n != -EAGAIN) {
				fprintf(stderr,
					"vqscope-trace: waiting on the BPF ring buffer: %s\n",
					strerror(-n));
				end_reason = VQR_END_ERROR;
				break;
			}
		}
		more = take_records(rb);
		if (more < 0) {
			end_reason = VQR_END_ERROR;
			break;
		}
		now = monotonic_ns();
		account_losses(sink, hooks, &losses, now >= next_skips);
		if (now >= next_skips)
			next_skips = now + SKIPS_MS * 1000000ull;
		if (now >= next_beat) {
			sink_heartbeat(sink);
			next_beat = now + HEARTBEAT_MS * 1000000ull;
		}
		if (sink_drain(sink, err, sizeof(err)) != 0) {
			fprintf(stderr, "vqscope-trace: %s\n", err);
			end_reason = VQR_END_ERROR;
			break;
		}
		if (deadline > 0 && now >= deadline)
			break;
		/* Records came: rest before looking again, so that a busy
		 * guest wakes us at most every REST_MS.  A record that comes
		 * meanwhile waits at most that long. */
		if (!more && taken != before) {
			struct timespec rest = {0, REST_MS * 1000000L};

			nanosleep(&rest, NULL);
			now = monotonic_ns();
		}
	}
	if (stop_signal)
		end_reason = VQR_END_SIGNAL;
	if (opts.stats)
		nstats_after = hooks_program_stats(hooks, stats_after, STATS_MAX);
	/* End each queue's trace (accounting for what it missed), stop
	 * reporting, take what the ring buffer still holds, then detach. */
	if (hooks_end(hooks, err, sizeof(err)) != 0)
		fprintf(stderr, "vqscope-trace: %s\n", err);
	hooks_enable(hooks, false);
	while (take_records(rb) > 0)
		;
	hooks_queue_losses(hooks, print_queue_loss, sink);
	account_losses(sink, hooks, &losses, true);
	hooks_stop(hooks);
	hooks = NULL;
	while (take_records(rb) > 0)
		;
	sink_stats(sink, &st);
	c = losses.counters;
	fprintf(stderr,
		"vqscope-trace: %llu events on %llu queues; lost %llu: %llu (ring buffer full), "
		"%llu reaps and %llu adds missed (found in the rings), %llu kick decisions and "
		"%llu other records (hook runs the kernel skipped); "
		"%llu of queues beyond the table, %llu kernel reads failed\n",
		(unsigned long long)st.events, (unsigned long long)st.queues,
		(unsigned long long)st.lost, (unsigned long long)c[VQTR_CNT_DROPPED],
		(unsigned long long)c[VQTR_CNT_REAPS_MISSED],
		(unsigned long long)c[VQTR_CNT_ADDS_MISSED],
		(unsigned long long)c[VQTR_CNT_KICKS_MISSED], (unsigned long long)losses.skipped,
		(unsigned long long)(st.table_full + st.unknown),
		(unsigned long long)c[VQTR_CNT_READ_FAULTS]);
	if (losses.skips.lost + losses.skips.other > 0)
		fprintf(stderr, "vqscope-trace: hook runs the kernel skipped: %s\n",
			losses.skips.detail);
	if (opts.stats)
		print_stats(stats_before, nstats_before, stats_after, nstats_after);
	rc = end_reason == VQR_END_ERROR ? 1 : 0;

cleanup:
	ring_buffer__free(rb);
	hooks_stop(hooks);
	if (sink)
		sink_set_state(sink, VQT_PRODUCER_STOPPED, 0);
	if (sink_close(sink, end_reason, end_reason == VQR_END_SIGNAL ? "signal" : "tracer stopped",
		       err, sizeof(err)) != 0) {
		fprintf(stderr, "vqscope-trace: %s\n", err);
		rc = 1;
	}
	shm_unmap(&shm);
	return rc;
}
