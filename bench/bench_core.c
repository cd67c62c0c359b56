/* bench_core.c - microbenchmarks of vqscope's hot paths.  Each run
 * measures one mode and prints one line; bench/run.sh runs the modes
 * interleaved over repetitions (bench/lib.sh) and takes every figure as a
 * ratio to a peer measured in the same repetition.
 *
 *   floor             ns per rdtsc, back to back: the clock read every
 *                     trace event needs, the guest library's floor
 *   guest             ns per event of the guest library (hosted build of
 *                     the same code) writing the demo guest's event mix
 *                     (bench/workload.h), nobody reading
 *   guest-drained     the same while a consumer thread drains the ring on
 *                     the other core, as vqscope does
 *   guest-cached      the same as guest with a 256 KiB region, whose ring
 *                     (128 KiB) stays in the CPU's L2 cache: the library's
 *                     own cost, without the memory system's (a 4 MiB
 *                     region's 2 MiB ring does not fit, and its cost moves
 *                     with what the other cores do to the shared cache)
 *   snprintf          ns per event of the peer: formatting the same event
 *                     as a text line with snprintf into memory, the
 *                     cheapest form of printf debugging
 *   drain             records/s of the host draining a pre-filled ring
 *   model             records/s of draining and modelling them (the live
 *                     view's and the recorder's work per event)
 *   model-nofindings  the same with the diagnosis off
 *                     (model_opts.no_findings)
 *   model-bare        the same into the bare model (bare_model.h): the
 *                     least a model of these events does, drain + model's
 *                     peer
 *   memcpy            records/s of memcpy of the same bytes
 *   drain-live        producer and consumer at full speed on two cores:
 *                     records/s delivered, and the fraction lost
 *   record            events/s of the .vqt writer, and bytes per event
 *   write             records/s of write(2) of the raw records, the
 *                     writer's peer
 *
 * Each mode runs for --seconds and prints "MODE VALUE UNIT" and, for some,
 * more "key=value" fields; VALUE is the median over the run's batches, so
 * a batch the scheduler interrupted does not move it.
 *
 * --icount MODE EVENTS runs exactly EVENTS events of guest, snprintf,
 * drain, model, model-nofindings or model-bare (the drain into the bare
 * model of bare_model.h, drain + model's peer) single-threaded and exits,
 * for instruction counts under `valgrind --tool=callgrind` (bench/lib.sh:
 * bench_icount): the same work without the machine's noise.
 *
 *   bench_core MODE [--seconds S] [--dir DIR]
 *   bench_core --icount MODE EVENTS
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bare_model.h"
#include "core/model.h"
#include "vqproto.h"
#include "workload.h"

#define BATCH	    1024
#define MAX_SAMPLES 1000000
/* Records per drain call, as the live source drains (tui/live/source.c). */
#define DRAIN_CALL 4096

static double seconds = 1.0;
static const char *scratch_dir = "/tmp";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline(void)
{
	return now_ns() + (uint64_t)(seconds * 1e9);
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % (int)n, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "bench_core: out of memory\n");
		exit(1);
	}
	return p;
}

/* Batch samples of one run; the run's figure is their median. */
struct samples {
	double *v;
	size_t n;
};

static void samples_init(struct samples *s)
{
	s->v = xmalloc(MAX_SAMPLES * sizeof(*s->v));
	s->n = 0;
}

static void samples_add(struct samples *s, double x)
{
	if (s->n < MAX_SAMPLES)
		s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double samples_median(struct samples *s)
{
	double m = 0;

	if (s->n) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		m = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
	}
	free(s->v);
	return m;
}

static uint64_t read_tsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- a region in memory ------------------------------------------------------ */

struct region {
	void *mem;
	size_t size;
	struct vq_trace *tr;
	struct vqp_region r;
	int q;
	uint32_t command; /* the workload's next command */
};

static void region_new(struct region *g, size_t size)
{
	/* The default clock: rdtsc, as in a guest.  ts_hz only matters for
	 * the model's nanoseconds (a 2.1 GHz TSC, like the demo guest's). */
	struct vq_trace_config cfg = {.producer = "bench", .ts_hz = 2100000000};
	char err[VQP_ERRLEN];

	memset(g, 0, sizeof(*g));
	g->size = size;
	if (posix_memalign(&g->mem, 4096, size) != 0 || !(g->tr = calloc(1, sizeof(*g->tr)))) {
		fprintf(stderr, "bench_core: out of memory\n");
		exit(1);
	}
	memset(g->mem, 0, size);
	vq_trace_init(g->tr, g->mem, size, &cfg);
	g->q = workload_queue(g->tr, "bench.q0");
	vqp_region_init(&g->r, g->mem, size, (uint8_t *)g->mem + VQT_CONTROL_OFFSET);
	if (vqp_region_sync(&g->r, err, sizeof(err)) != VQP_OK) {
		fprintf(stderr, "bench_core: %s\n", err);
		exit(1);
	}
}

static void region_free(struct region *g)
{
	free(g->mem);
	free(g->tr);
}

/* At least n events of the workload; returns how many. */
static uint64_t produce(struct region *g, uint64_t n)
{
	uint64_t done = 0;

	while (done < n)
		done += workload_command(g->tr, g->q, g->command++, read_tsc());
	return done;
}

/* ---- the clock's floor ------------------------------------------------------------ */

static double run_floor(void)
{
	struct samples s;
	uint64_t end = deadline(), sink = 0;

	samples_init(&s);
	while (now_ns() < end) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH; k++)
			sink += read_tsc();
		samples_add(&s, (double)(now_ns() - t0) / BATCH);
	}
	if (sink == 1)
		puts("");
	return samples_median(&s);
}

/* ---- the guest library ------------------------------------------------------------- */

struct consumer {
	struct region *g;
	volatile int stop;
	uint64_t delivered, lost;
};

/* Like vqscope: drain what is there, then sleep (it wakes every 10-50
 * ms; 1 ms here keeps the ring from lapping at any rate). */
static void *consumer_thread(void *arg)
{
	struct consumer *c = arg;
	struct vqp_reader rd;
	struct vqt_event *buf = xmalloc(DRAIN_CALL * sizeof(*buf));

	pin_to_cpu(1);
	vqp_reader_init(&rd, &c->g->r, true);
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		if (vqp_reader_drain(&rd, buf, DRAIN_CALL, NULL) == 0)
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	while (vqp_reader_drain(&rd, buf, DRAIN_CALL, NULL) > 0)
		;
	c->delivered = rd.delivered;
	c->lost = rd.lost;
	free(buf);
	return NULL;
}

#define GUEST_REGION	    (4u << 20)	 /* the demo guest's default */
#define GUEST_CACHED_REGION (256u << 10) /* its ring fits in any L2 */

/* ns per event of the workload into a region of region_size bytes, with
 * a consumer draining or not. */
static double run_guest(uint32_t region_size, bool drained, double *delivered_fraction)
{
	struct region g;
	struct consumer c = {0};
	struct samples s;
	pthread_t tid;
	uint64_t end;

	region_new(&g, region_size);
	samples_init(&s);
	c.g = &g;
	pin_to_cpu(0);
	if (drained)
		pthread_create(&tid, NULL, consumer_thread, &c);
	end = deadline();
	while (now_ns() < end) {
		uint64_t t0 = now_ns(), n = produce(&g, BATCH);

		samples_add(&s, (double)(now_ns() - t0) / (double)n);
	}
	if (drained) {
		__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
		pthread_join(tid, NULL);
		*delivered_fraction = (double)c.delivered / (double)(c.delivered + c.lost);
	}
	region_free(&g);
	return samples_median(&s);
}

/* The peer: the events as text lines in memory (ADD, KICK, POLL, USED). */
static int format_event(char *buf, uint64_t i)
{
	unsigned head = (unsigned)(i / 4 & (WORKLOAD_RING_SIZE - 1)),
		 idx = (unsigned)(i / 4 & 0xffff);

	switch (i % 4) {
	case 0:
		return snprintf(buf, 128, "%llu ADD q=0 head=%u idx=%u ndesc=2 len=76\n",
				(unsigned long long)read_tsc(), head, idx);
	case 1:
		return snprintf(buf, 128, "%llu KICK q=0 idx=%u\n", (unsigned long long)read_tsc(),
				(idx + 1) & 0xffff);
	case 2:
		return snprintf(buf, 128, "%llu POLL q=0 spins=7 barriers=1\n",
				(unsigned long long)read_tsc());
	default:
		return snprintf(buf, 128, "%llu USED q=0 id=%u idx=%u len=24\n",
				(unsigned long long)read_tsc(), head, idx);
	}
}

static void snprintf_events(char *buf, size_t cap, size_t *off, uint64_t *i, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++, (*i)++) {
		if (*off > cap - 256)
			*off = 0;
		*off += (size_t)format_event(buf + *off, *i);
	}
}

static double run_snprintf(void)
{
	struct samples s;
	char *buf = xmalloc(1 << 20);
	size_t off = 0;
	uint64_t i = 0, end = deadline();

	samples_init(&s);
	while (now_ns() < end) {
		uint64_t t0 = now_ns();

		snprintf_events(buf, 1 << 20, &off, &i, BATCH);
		samples_add(&s, (double)(now_ns() - t0) / BATCH);
	}
	/* Keep the buffer alive so the formatting is not optimised away. */
	if (buf[0] == 0x7f)
		puts(buf);
	free(buf);
	return samples_median(&s);
}

/* ---- the host's drain ----------------------------------------------------------------- */

enum drain_kind { DRAIN_ONLY, DRAIN_MODEL, DRAIN_MODEL_NO_FINDINGS, DRAIN_BARE, DRAIN_MEMCPY };

static struct vq_model *drain_model(enum drain_kind kind)
{
	struct vq_model *m;

	if (kind != DRAIN_MODEL && kind != DRAIN_MODEL_NO_FINDINGS)
		return NULL;
	m = model_new(&(struct model_opts){.no_findings = kind == DRAIN_MODEL_NO_FINDINGS});
	if (!m) {
		fprintf(stderr, "bench_core: out of memory\n");
		exit(1);
	}
	model_set_producer(m, 2100000000, "bench", 1);
	return m;
}

/* Drain everything the reader has not read yet, into the model if any;
 * returns the records delivered. */
static uint64_t drain_all(struct vqp_reader *rd, struct vqt_event *buf, struct vq_model *m)
{
	uint64_t total = 0;

	for (;;) {
		struct vqp_drain_info info;
		int n = vqp_reader_drain(rd, buf, DRAIN_CALL, &info);

		if (n <= 0)
			return total;
		if (m)
			model_feed(m, buf, (size_t)n, info.first_seq);
		total += (uint64_t)n;
	}
}

/* The same into the bare model (bare_model.h). */
static uint64_t drain_bare(struct vqp_reader *rd, struct vqt_event *buf, struct bare_model *m)
{
	uint64_t total = 0;
	int n;

	while ((n = vqp_reader_drain(rd, buf, DRAIN_CALL, NULL)) > 0) {
		bare_model_feed(m, buf, (size_t)n);
		total += (uint64_t)n;
	}
	return total;
}

static struct bare_model *bare_model(void)
{
	struct bare_model *m = bare_model_new(2100000000);

	if (!m) {
		fprintf(stderr, "bench_core: out of memory\n");
		exit(1);
	}
	return m;
}

/* Records per second: fill half the ring, then time draining it. */
static double run_drain(enum drain_kind kind)
{
	struct region g;
	struct vqp_reader rd;
	struct vqt_event *buf = xmalloc(DRAIN_CALL * sizeof(*buf));
	struct vq_model *m = drain_model(kind);
	struct bare_model *bare = kind == DRAIN_BARE ? bare_model() : NULL;
	struct samples s;
	uint64_t end, fill;

	region_new(&g, 64u << 20); /* 1 Mi records */
	fill = g.r.layout.ring_records / 2;
	samples_init(&s);
	vqp_reader_init(&rd, &g.r, false);
	end = deadline();
	while (now_ns() < end) {
		uint64_t t0, n;

		if (kind == DRAIN_MEMCPY) {
			const struct vqt_event *ring =
			    (const struct vqt_event *)((const uint8_t *)g.mem +
						       g.r.layout.ring_offset);

			n = produce(&g, fill);
			t0 = now_ns();
			for (uint64_t off = 0; off + DRAIN_CALL <= fill; off += DRAIN_CALL)
				memcpy(buf, ring + off, DRAIN_CALL * sizeof(*buf));
		} else {
			produce(&g, fill);
			t0 = now_ns();
			n = bare ? drain_bare(&rd, buf, bare) : drain_all(&rd, buf, m);
		}
		samples_add(&s, (double)n * 1e9 / (double)(now_ns() - t0));
	}
	free(bare);
	model_free(m);
	free(buf);
	region_free(&g);
	return samples_median(&s);
}

struct live_producer {
	struct region *g;
	volatile int stop;
	uint64_t produced;
};

static void *live_producer_thread(void *arg)
{
	struct live_producer *p = arg;

	pin_to_cpu(0);
	while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
		p->produced += produce(p->g, 256);
	return NULL;
}

static double run_drain_live(double *lost_fraction, double *produced_rate)
{
	struct region g;
	struct live_producer p = {0};
	struct vqp_reader rd;
	struct vqt_event *buf = xmalloc(DRAIN_CALL * sizeof(*buf));
	pthread_t tid;
	uint64_t start, end, elapsed;

	region_new(&g, 4u << 20);
	p.g = &g;
	vqp_reader_init(&rd, &g.r, false);
	pthread_create(&tid, NULL, live_producer_thread, &p);
	pin_to_cpu(1);
	start = now_ns();
	end = deadline();
	while (now_ns() < end)
		vqp_reader_drain(&rd, buf, DRAIN_CALL, NULL);
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	elapsed = now_ns() - start;
	while (vqp_reader_drain(&rd, buf, DRAIN_CALL, NULL) > 0)
		;
	*lost_fraction = (double)rd.lost / (double)(rd.lost + rd.delivered);
	*produced_rate = (double)p.produced * 1e9 / (double)elapsed;
	free(buf);
	region_free(&g);
	return (double)rd.delivered * 1e9 / (double)elapsed;
}

/* ---- record ---------------------------------------------------------------------------- */

#define RECORD_BATCH 65536

static struct vqt_event *record_events(void)
{
	struct vqt_event *ev = xmalloc(RECORD_BATCH * sizeof(*ev));

	for (uint32_t i = 0; i < RECORD_BATCH; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		ev[i].type = VQT_EV_ADD;
		ev[i].ndesc = 2;
		ev[i].queue = 0;
	}
	return ev;
}

static double run_record(double *bytes_per_event)
{
	char path[512], err[VQP_ERRLEN];
	struct vqp_writer_opts o = {
	    .ts_hz = 1000000000, .producer = "bench", .source_kind = VQR_SRC_TEST};
	struct vqt_event *ev = record_events();
	uint64_t seq = 0, start, end, elapsed;
	struct vqp_writer *w;
	FILE *f;
	long size = 0;

	snprintf(path, sizeof(path), "%s/bench-record-%d.vqt", scratch_dir, (int)getpid());
	w = vqp_writer_open(path, &o, true, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "bench_core: %s\n", err);
		exit(1);
	}
	start = now_ns();
	end = deadline();
	while (now_ns() < end) {
		for (uint32_t i = 0; i < RECORD_BATCH; i++) {
			ev[i].seq = (uint32_t)(seq + i);
			ev[i].ts = seq + i;
		}
		if (vqp_writer_events(w, 1, seq, ev, RECORD_BATCH, 0, 0, err, sizeof(err)) !=
		    VQP_OK) {
			fprintf(stderr, "bench_core: %s\n", err);
			exit(1);
		}
		seq += RECORD_BATCH;
	}
	vqp_writer_close(w, NULL, err, sizeof(err));
	elapsed = now_ns() - start;
	f = fopen(path, "rb");
	if (f && fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (f)
		fclose(f);
	*bytes_per_event = (double)size / (double)seq;
	unlink(path);
	free(ev);
	return (double)seq * 1e9 / (double)elapsed;
}

/* The writer's peer: the same bytes with plain write(2), then fsync. */
static double run_write(void)
{
	char path[512];
	struct vqt_event *ev = record_events();
	uint64_t written = 0, start, end;
	int fd;

	snprintf(path, sizeof(path), "%s/bench-write-%d.raw", scratch_dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench_core: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	start = now_ns();
	end = deadline();
	while (now_ns() < end) {
		if (write(fd, ev, RECORD_BATCH * sizeof(*ev)) !=
		    (ssize_t)(RECORD_BATCH * sizeof(*ev)))
			break;
		written += RECORD_BATCH;
	}
	fsync(fd);
	close(fd);
	unlink(path);
	free(ev);
	return (double)written * 1e9 / (double)(now_ns() - start);
}

/* ---- instruction counts ------------------------------------------------------------------ */

/* Exactly `events` events (rounded up to whole commands) of one mode,
 * single-threaded.  For the drain modes, the work to count is in
 * vqp_reader_drain and model_feed, or bare_model_feed (callgrind
 * --toggle-collect); the producer's is not. */
static int icount_run(const char *mode, uint64_t events)
{
	enum drain_kind kind;

	if (strcmp(mode, "guest") == 0) {
		struct region g;

		region_new(&g, GUEST_REGION);
		produce(&g, events);
		region_free(&g);
		return 0;
	}
	if (strcmp(mode, "snprintf") == 0) {
		char *buf = xmalloc(1 << 16);
		size_t off = 0;
		uint64_t i = 0;

		snprintf_events(buf, 1 << 16, &off, &i, events);
		if (buf[0] == 0x7f)
			puts(buf);
		free(buf);
		return 0;
	}
	if (strcmp(mode, "drain") == 0)
		kind = DRAIN_ONLY;
	else if (strcmp(mode, "model") == 0)
		kind = DRAIN_MODEL;
	else if (strcmp(mode, "model-nofindings") == 0)
		kind = DRAIN_MODEL_NO_FINDINGS;
	else if (strcmp(mode, "model-bare") == 0)
		kind = DRAIN_BARE;
	else {
		fprintf(stderr, "bench_core: --icount takes guest, snprintf, drain, model, "
				"model-nofindings or model-bare\n");
		return 2;
	}
	{
		struct region g;
		struct vqp_reader rd;
		struct vqt_event *buf = xmalloc(DRAIN_CALL * sizeof(*buf));
		struct vq_model *m = drain_model(kind);
		struct bare_model *bare = kind == DRAIN_BARE ? bare_model() : NULL;
		uint64_t done = 0, refused = 0;

		region_new(&g, 16u << 20);
		vqp_reader_init(&rd, &g.r, false);
		while (done < events) {
			uint64_t fill = events - done < g.r.layout.ring_records / 2
					    ? events - done
					    : g.r.layout.ring_records / 2;

			produce(&g, fill);
			done += bare ? drain_bare(&rd, buf, bare) : drain_all(&rd, buf, m);
		}
		/* The workload is a correct driver's: an event the bare model
		 * refused means the peer did less than it claims. */
		if (bare && bare->checks_failed) {
			refused = bare->checks_failed;
			fprintf(stderr, "bench_core: the bare model refused %llu events\n",
				(unsigned long long)refused);
		}
		free(bare);
		model_free(m);
		free(buf);
		region_free(&g);
		return refused ? 1 : 0;
	}
}

/* ---- main ---------------------------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr, "usage: bench_core MODE [--seconds S] [--dir DIR]\n"
			"       bench_core --icount MODE EVENTS\n"
			"modes: floor guest guest-cached guest-drained snprintf drain model "
			"model-nofindings model-bare memcpy\n"
			"       drain-live record write\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc >= 4 && strcmp(argv[1], "--icount") == 0)
		return icount_run(argv[2], strtoull(argv[3], NULL, 10));
	if (argc < 2)
		return usage();
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			scratch_dir = argv[++i];
		else
			return usage();
	}

	if (strcmp(mode, "floor") == 0) {
		printf("floor %.3f ns\n", run_floor());
	} else if (strcmp(mode, "guest") == 0) {
		printf("guest %.3f ns\n", run_guest(GUEST_REGION, false, NULL));
	} else if (strcmp(mode, "guest-cached") == 0) {
		printf("guest-cached %.3f ns\n", run_guest(GUEST_CACHED_REGION, false, NULL));
	} else if (strcmp(mode, "guest-drained") == 0) {
		double delivered;
		double ns = run_guest(GUEST_REGION, true, &delivered);

		printf("guest-drained %.3f ns delivered=%.4f\n", ns, delivered);
	} else if (strcmp(mode, "snprintf") == 0) {
		printf("snprintf %.3f ns\n", run_snprintf());
	} else if (strcmp(mode, "drain") == 0) {
		printf("drain %.0f records/s\n", run_drain(DRAIN_ONLY));
	} else if (strcmp(mode, "model") == 0) {
		printf("model %.0f records/s\n", run_drain(DRAIN_MODEL));
	} else if (strcmp(mode, "model-nofindings") == 0) {
		printf("model-nofindings %.0f records/s\n", run_drain(DRAIN_MODEL_NO_FINDINGS));
	} else if (strcmp(mode, "model-bare") == 0) {
		printf("model-bare %.0f records/s\n", run_drain(DRAIN_BARE));
	} else if (strcmp(mode, "memcpy") == 0) {
		printf("memcpy %.0f records/s\n", run_drain(DRAIN_MEMCPY));
	} else if (strcmp(mode, "drain-live") == 0) {
		double lost, produced, rate = run_drain_live(&lost, &produced);

		printf("drain-live %.0f records/s produced=%.0f lost_fraction=%.6f\n", rate,
		       produced, lost);
	} else if (strcmp(mode, "record") == 0) {
		double bpe, rate = run_record(&bpe);

		printf("record %.0f events/s bytes_per_event=%.3f\n", rate, bpe);
	} else if (strcmp(mode, "write") == 0) {
		printf("write %.0f records/s\n", run_write());
	} else {
		return usage();
	}
	return 0;
}
