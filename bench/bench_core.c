/* bench_core.c - microbenchmarks of vqscope's hot paths, each against a
 * peer measured in the same run:
 *
 *   guest-event   the guest library's cost per event (hosted build of the
 *                 same code), one producer thread and one consumer thread
 *                 draining the ring.  Peer: formatting the same event as a
 *                 text line with snprintf into memory, the cheapest form of
 *                 printf debugging (no serial port at all).
 *   drain         the host draining a pre-filled ring, with and without the
 *                 model.  Peer: the producer's own maximum rate (the host
 *                 must never fall behind it) and memcpy of the same bytes.
 *   drain-live    producer and consumer at full speed on two cores: records
 *                 delivered per second and the fraction lost.
 *   record        the .vqt writer's sustained events/s and bytes per event.
 *                 Peer: write(2) of the raw records to the same disk.
 *
 * Output: a human summary on stdout and, with --json FILE, one JSON object
 * with every figure (absolute times are this machine's).
 *
 *   bench_core [--seconds S] [--json FILE] [--dir DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/model.h"
#include "vqproto.h"
#include "vqscope_guest.h"

#define BATCH	    1024
#define MAX_SAMPLES 2000000

static double seconds_per_test = 2.0;
static const char *scratch_dir = "/tmp";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stats {
	double median, p99, mean;
	size_t samples;
};

static struct stats summarise(double *v, size_t n)
{
	struct stats s = {0};
	double sum = 0;

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s.median = v[n / 2];
	s.p99 = v[(size_t)((double)(n - 1) * 0.99)];
	s.mean = sum / (double)n;
	s.samples = n;
	return s;
}

/* ---- a region in memory ------------------------------------------------------ */

struct region {
	void *mem;
	size_t size;
	struct vq_trace *tr;
	struct vqp_region r;
	int q;
};

static uint64_t read_tsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void region_new(struct region *g, size_t size)
{
	struct vq_trace_config cfg = {.producer = "bench", .ts_hz = 1000000000};
	char err[VQP_ERRLEN];

	memset(g, 0, sizeof(*g));
	g->size = size;
	if (posix_memalign(&g->mem, 4096, size) != 0 || !(g->tr = calloc(1, sizeof(*g->tr)))) {
		fprintf(stderr, "bench_core: out of memory\n");
		exit(1);
	}
	memset(g->mem, 0, size);
	/* The default clock: rdtsc, as in a guest.  ts_hz only matters for
	 * the model's nanoseconds. */
	vq_trace_init(g->tr, g->mem, size, &cfg);
	g->q = vq_trace_register_queue(
	    g->tr,
	    &(struct vq_queue_info){.device_type = 16, .ring_size = 256, .name = "bench.q0"});
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

/* One command's worth of events: ADD, KICK, POLL, USED (4 events). */
static inline void one_command(struct region *g, uint32_t i)
{
	struct vq_poll_stats st = {.spins = 3, .rmb = 1, .start = 0};

	vq_trace_add(g->tr, g->q, (uint16_t)(i & 255), (uint16_t)i, 2, 4096, 1);
	vq_trace_kick(g->tr, g->q, (uint16_t)(i + 1));
	vq_trace_poll(g->tr, g->q, &st, VQT_POLL_PROGRESS);
	vq_trace_used(g->tr, g->q, (uint16_t)(i & 255), (uint16_t)i, 24, 2);
}

/* ---- guest-event ------------------------------------------------------------------ */

struct consumer {
	struct region *g;
	volatile int stop;
	uint64_t delivered, lost;
};

static void *consumer_thread(void *arg)
{
	struct consumer *c = arg;
	struct vqp_reader rd;
	struct vqt_event *buf = malloc(4096 * sizeof(*buf));

	pin_to_cpu(1);
	vqp_reader_init(&rd, &c->g->r, true);
	/* Like vqscope: drain what is there, then sleep (it wakes every
	 * 10-20 ms; 1 ms here keeps the ring from lapping at any rate). */
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		if (vqp_reader_drain(&rd, buf, 4096, NULL) == 0)
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	while (vqp_reader_drain(&rd, buf, 4096, NULL) > 0)
		;
	c->delivered = rd.delivered;
	c->lost = rd.lost;
	free(buf);
	return NULL;
}

static struct stats bench_guest_event(double *events_per_s, uint64_t *delivered, uint64_t *lost)
{
	struct region g;
	struct consumer c = {0};
	pthread_t tid;
	double *samples = malloc(MAX_SAMPLES * sizeof(*samples));
	size_t n = 0;
	uint64_t start, total = 0;
	uint32_t i = 0;

	region_new(&g, 4u << 20);
	c.g = &g;
	pin_to_cpu(0);
	pthread_create(&tid, NULL, consumer_thread, &c);
	start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds_per_test * 1e9) && n < MAX_SAMPLES) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH / 4; k++)
			one_command(&g, i++);
		samples[n++] = (double)(now_ns() - t0) / BATCH;
		total += BATCH;
	}
	*events_per_s = (double)total * 1e9 / (double)(now_ns() - start);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	*delivered = c.delivered;
	*lost = c.lost;
	struct stats s = summarise(samples, n);
	free(samples);
	region_free(&g);
	return s;
}

/* The peer: the same four events as text lines in memory. */
static struct stats bench_snprintf_peer(void)
{
	double *samples = malloc(MAX_SAMPLES * sizeof(*samples));
	char *buf = malloc(1 << 20);
	size_t n = 0, off = 0;
	uint64_t start = now_ns();
	uint32_t i = 0;

	while (now_ns() - start < (uint64_t)(seconds_per_test * 1e9) && n < MAX_SAMPLES) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH / 4; k++, i++) {
			if (off > (1 << 20) - 512)
				off = 0;
			off += (size_t)snprintf(
			    buf + off, 128, "%llu ADD q=0 head=%u idx=%u ndesc=2 len=4096\n",
			    (unsigned long long)read_tsc(), i & 255, i & 0xffff);
			off += (size_t)snprintf(buf + off, 128, "%llu KICK q=0 idx=%u\n",
						(unsigned long long)read_tsc(), (i + 1) & 0xffff);
			off +=
			    (size_t)snprintf(buf + off, 128, "%llu POLL q=0 spins=3 barriers=1\n",
					     (unsigned long long)read_tsc());
			off +=
			    (size_t)snprintf(buf + off, 128, "%llu USED q=0 id=%u idx=%u len=24\n",
					     (unsigned long long)read_tsc(), i & 255, i & 0xffff);
		}
		samples[n++] = (double)(now_ns() - t0) / BATCH;
	}
	/* Keep the buffer alive so the formatting is not optimised away. */
	if (buf[0] == 0x7f)
		puts(buf);
	struct stats s = summarise(samples, n);
	free(samples);
	free(buf);
	return s;
}

static double bench_rdtsc_floor(void)
{
	uint64_t start = now_ns(), sink = 0, count = 0;

	while (now_ns() - start < 200000000ull) {
		for (int k = 0; k < 1000; k++)
			sink += read_tsc();
		count += 1000;
	}
	if (sink == 1)
		puts("");
	return (double)(now_ns() - start) / (double)count;
}

/* ---- drain ------------------------------------------------------------------------- */

/* Records per second for draining a full ring, with the model or not. */
static double bench_drain(bool with_model, double *memcpy_rate)
{
	struct region g;
	struct vqp_reader rd;
	struct vqt_event *buf = malloc(65536 * sizeof(*buf));
	struct vq_model *m = with_model ? model_new(&(struct model_opts){.history = 4096}) : NULL;
	uint64_t records, total = 0, elapsed = 0, copy_elapsed = 0;

	region_new(&g, 64u << 20); /* 1 Mi records */
	records = g.r.layout.ring_records;
	if (m)
		model_set_producer(m, 1000000000, "bench", 1);
	for (int round = 0; elapsed < (uint64_t)(seconds_per_test * 1e9); round++) {
		uint64_t t0;

		vqp_reader_init(&rd, &g.r, false);
		for (uint32_t i = 0; i < records / 4; i++)
			one_command(&g, (uint32_t)(round * records) + i);
		t0 = now_ns();
		for (;;) {
			struct vqp_drain_info info;
			int n = vqp_reader_drain(&rd, buf, 65536, &info);

			if (n <= 0)
				break;
			if (m)
				model_feed(m, buf, (size_t)n, info.first_seq);
			total += (uint64_t)n;
		}
		elapsed += now_ns() - t0;
		if (memcpy_rate) {
			const void *ring = (const uint8_t *)g.mem + g.r.layout.ring_offset;

			t0 = now_ns();
			for (uint64_t off = 0; off < records; off += 65536)
				memcpy(buf, (const struct vqt_event *)ring + off,
				       65536 * sizeof(*buf));
			copy_elapsed += now_ns() - t0;
		}
	}
	if (memcpy_rate)
		*memcpy_rate = (double)total * 1e9 / (double)copy_elapsed;
	model_free(m);
	free(buf);
	region_free(&g);
	return (double)total * 1e9 / (double)elapsed;
}

struct live_producer {
	struct region *g;
	volatile int stop;
	uint64_t produced;
};

static void *live_producer_thread(void *arg)
{
	struct live_producer *p = arg;
	uint32_t i = 0;

	pin_to_cpu(0);
	while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
		for (int k = 0; k < 64; k++)
			one_command(p->g, i++);
	}
	p->produced = (uint64_t)i * 4;
	return NULL;
}

static double bench_drain_live(double *lost_fraction, double *produced_rate)
{
	struct region g;
	struct live_producer p = {0};
	struct vqp_reader rd;
	struct vqt_event *buf = malloc(65536 * sizeof(*buf));
	pthread_t tid;
	uint64_t start, elapsed;

	region_new(&g, 4u << 20);
	p.g = &g;
	vqp_reader_init(&rd, &g.r, false);
	pthread_create(&tid, NULL, live_producer_thread, &p);
	pin_to_cpu(1);
	start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds_per_test * 1e9))
		vqp_reader_drain(&rd, buf, 65536, NULL);
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	elapsed = now_ns() - start;
	while (vqp_reader_drain(&rd, buf, 65536, NULL) > 0)
		;
	*lost_fraction = (double)rd.lost / (double)(rd.lost + rd.delivered);
	*produced_rate = (double)p.produced * 1e9 / (double)elapsed;
	free(buf);
	region_free(&g);
	return (double)rd.delivered * 1e9 / (double)elapsed;
}

/* ---- record -------------------------------------------------------------------------- */

static double bench_record(double *bytes_per_event, double *write_rate)
{
	char path[512], err[VQP_ERRLEN];
	struct vqp_writer_opts o = {
	    .ts_hz = 1000000000, .producer = "bench", .source_kind = VQR_SRC_TEST};
	struct vqt_event *ev = malloc(65536 * sizeof(*ev));
	uint64_t seq = 0, start, elapsed, events = 0;
	struct vqp_writer *w;

	snprintf(path, sizeof(path), "%s/bench-record-%d.vqt", scratch_dir, (int)getpid());
	w = vqp_writer_open(path, &o, true, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "bench_core: %s\n", err);
		exit(1);
	}
	for (uint32_t i = 0; i < 65536; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		ev[i].type = VQT_EV_ADD;
		ev[i].ndesc = 2;
		ev[i].queue = 0;
	}
	start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds_per_test * 1e9)) {
		for (uint32_t i = 0; i < 65536; i++) {
			ev[i].seq = (uint32_t)(seq + i);
			ev[i].ts = seq + i;
		}
		if (vqp_writer_events(w, 1, seq, ev, 65536, 0, 0, err, sizeof(err)) != VQP_OK) {
			fprintf(stderr, "bench_core: %s\n", err);
			exit(1);
		}
		seq += 65536;
		events += 65536;
	}
	vqp_writer_close(w, NULL, err, sizeof(err));
	elapsed = now_ns() - start;
	{
		FILE *f = fopen(path, "rb");
		long size = 0;

		if (f && fseek(f, 0, SEEK_END) == 0)
			size = ftell(f);
		if (f)
			fclose(f);
		*bytes_per_event = (double)size / (double)events;
	}
	unlink(path);

	/* Peer: the same bytes with plain write(2). */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t written = 0;
	start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds_per_test * 1e9)) {
		if (write(fd, ev, 65536 * sizeof(*ev)) != (ssize_t)(65536 * sizeof(*ev)))
			break;
		written += 65536;
	}
	fsync(fd);
	close(fd);
	unlink(path);
	*write_rate = (double)written * 1e9 / (double)(now_ns() - start);
	free(ev);
	return (double)events * 1e9 / (double)elapsed;
}

/* ---- instruction counts ---------------------------------------------------------------- */

/* Run exactly `events` events single-threaded and exit: run twice under
 * `valgrind --tool=callgrind` with two counts, the difference of the
 * totals divided by the difference of the counts is instructions per
 * event, independent of the machine's noise (bench/run.sh does this). */
static int icount_run(const char *mode, uint64_t events)
{
	if (strcmp(mode, "vqscope") == 0) {
		struct region g;

		region_new(&g, 4u << 20);
		for (uint64_t i = 0; i < events / 4; i++)
			one_command(&g, (uint32_t)i);
		region_free(&g);
		return 0;
	}
	if (strcmp(mode, "snprintf") == 0) {
		char *buf = malloc(1 << 16);
		size_t off = 0;

		for (uint64_t i = 0; i < events; i++) {
			if (off > (1 << 16) - 128)
				off = 0;
			off += (size_t)snprintf(buf + off, 128,
						"%llu ADD q=0 head=%u idx=%u ndesc=2 len=4096\n",
						(unsigned long long)read_tsc(), (unsigned)(i & 255),
						(unsigned)(i & 0xffff));
		}
		if (buf[0] == 0x7f)
			puts(buf);
		free(buf);
		return 0;
	}
	fprintf(stderr, "bench_core: --icount takes vqscope or snprintf\n");
	return 2;
}

/* ---- main ------------------------------------------------------------------------------- */

static json_object *stats_json(struct stats s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "median_ns", json_object_new_double(s.median));
	json_object_object_add(o, "p99_ns", json_object_new_double(s.p99));
	json_object_object_add(o, "mean_ns", json_object_new_double(s.mean));
	json_object_object_add(o, "samples", json_object_new_int64((int64_t)s.samples));
	return o;
}

int main(int argc, char **argv)
{
	const char *json_path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds_per_test = atof(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json_path = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			scratch_dir = argv[++i];
		else if (strcmp(argv[i], "--icount") == 0 && i + 2 < argc)
			return icount_run(argv[i + 1], strtoull(argv[i + 2], NULL, 10));
		else {
			fprintf(stderr,
				"usage: bench_core [--seconds S] [--json FILE] [--dir DIR]\n");
			return 2;
		}
	}

	double ev_rate, rdtsc_ns;
	uint64_t delivered, lost;
	struct stats ev = bench_guest_event(&ev_rate, &delivered, &lost);
	struct stats peer = bench_snprintf_peer();
	rdtsc_ns = bench_rdtsc_floor();
	printf(
	    "guest-event   %.2f ns/event median, %.2f p99 (%.1f M events/s; consumer got %.1f%%)\n",
	    ev.median, ev.p99, ev_rate / 1e6,
	    100.0 * (double)delivered / (double)(delivered + lost));
	printf("  peer        snprintf of the same event as text: %.2f ns/event median -> vqscope "
	       "is %.2fx of it\n",
	       peer.median, ev.median / peer.median);
	printf("  floor       rdtsc alone: %.2f ns\n", rdtsc_ns);

	double copy_rate, drain = bench_drain(false, &copy_rate);
	double drain_model = bench_drain(true, NULL);
	printf("drain         %.1f M records/s (memcpy of the same bytes: %.1f M/s), %.2fx the "
	       "producer's %.1f M/s\n",
	       drain / 1e6, copy_rate / 1e6, drain / ev_rate, ev_rate / 1e6);
	printf("drain+model   %.1f M records/s, %.2fx the producer\n", drain_model / 1e6,
	       drain_model / ev_rate);

	double lost_fraction, produced_rate;
	double live = bench_drain_live(&lost_fraction, &produced_rate);
	printf("drain-live    %.1f M records/s delivered of %.1f M/s produced (%.3f%% lost)\n",
	       live / 1e6, produced_rate / 1e6, lost_fraction * 100);

	double bpe, write_rate, rec = bench_record(&bpe, &write_rate);
	printf("record        %.1f M events/s, %.2f bytes/event; write(2) of raw records: %.1f M/s "
	       "(%.2fx)\n",
	       rec / 1e6, bpe, write_rate / 1e6, rec / write_rate);

	if (json_path) {
		json_object *o = json_object_new_object(), *g = json_object_new_object();
		json_object *d = json_object_new_object(), *r = json_object_new_object();

		json_object_object_add(g, "vqscope", stats_json(ev));
		json_object_object_add(g, "snprintf_peer", stats_json(peer));
		json_object_object_add(g, "ratio_vs_peer",
				       json_object_new_double(ev.median / peer.median));
		json_object_object_add(g, "events_per_s", json_object_new_double(ev_rate));
		json_object_object_add(g, "rdtsc_ns", json_object_new_double(rdtsc_ns));
		json_object_object_add(g, "target_median_ns", json_object_new_double(15));
		json_object_object_add(o, "guest_event", g);
		json_object_object_add(d, "prefilled_records_per_s", json_object_new_double(drain));
		json_object_object_add(d, "prefilled_with_model_records_per_s",
				       json_object_new_double(drain_model));
		json_object_object_add(d, "memcpy_records_per_s",
				       json_object_new_double(copy_rate));
		json_object_object_add(d, "producer_max_records_per_s",
				       json_object_new_double(ev_rate));
		json_object_object_add(d, "ratio_vs_producer",
				       json_object_new_double(drain / ev_rate));
		json_object_object_add(d, "live_delivered_per_s", json_object_new_double(live));
		json_object_object_add(d, "live_produced_per_s",
				       json_object_new_double(produced_rate));
		json_object_object_add(d, "live_lost_fraction",
				       json_object_new_double(lost_fraction));
		json_object_object_add(d, "target_records_per_s", json_object_new_double(50e6));
		json_object_object_add(o, "drain", d);
		json_object_object_add(r, "events_per_s", json_object_new_double(rec));
		json_object_object_add(r, "bytes_per_event", json_object_new_double(bpe));
		json_object_object_add(r, "write_peer_records_per_s",
				       json_object_new_double(write_rate));
		json_object_object_add(r, "ratio_vs_write",
				       json_object_new_double(rec / write_rate));
		json_object_object_add(o, "record", r);
		if (json_object_to_file_ext(json_path, o, JSON_C_TO_STRING_PRETTY) != 0) {
			fprintf(stderr, "bench_core: cannot write %s\n", json_path);
			return 1;
		}
		json_object_put(o);
	}
	return 0;
}
