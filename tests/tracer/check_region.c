/* check_region.c - reads the trace region a Linux guest's vqscope-trace
 * left in a memory-backend file, with libvqproto, and checks it against
 * the I/O the guest did (tests/tracer/test-*.sh).
 *
 *   check_region REGION --blk-reads N --blk-size N --rng-size N [--irq-only]
 *                [--recording FILE.vqt] [--missed-reaps N]
 *
 * Checks: the header says "eBPF tracer" and not step-capable; the
 * virtio-blk request queue ("virtioN.req.0", device type 2) and the
 * virtio-rng queue ("virtioN.input", type 4) are registered with the given
 * ring sizes; no record was lost or malformed; every ADD has a matching
 * USED (same head, later) and every USED an ADD, with nothing left in
 * flight but the one buffer virtio-rng keeps queued; the block queue saw
 * exactly N 4 KiB reads; kick and interrupt counts are consistent with
 * the adds and reaps; the queue table's counters equal the events.
 * With --irq-only (tracepoint method) only interrupts are expected.  With
 * --recording, the recording vqscope-trace --output wrote in the same run
 * must be clean and hold exactly the region's records.  --missed-reaps N
 * is the count vqscope-trace reported of block reaps whose hooks the
 * kernel skipped (kprobe mode): exactly that many records must be lost,
 * and exactly that many block adds left without their reap.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vqproto.h"

#define BLK_READ_BYTES (16u + 4096u + 1u) /* request header, data, status */

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!ok)
		failures++;
}

struct queue_check {
	int slot;
	struct vqt_queue q;
	uint64_t events[VQT_EV_TYPE_COUNT];
	uint64_t kick_adds;  /* sum of "adds since the last kick" */
	uint64_t blk_reads;  /* ADDs of exactly one 4 KiB read request */
	uint64_t sized_adds; /* ADDs whose bytes were found (> 0) */
	uint64_t used_bytes;
	uint64_t bad_add;    /* ADD of a head already in flight */
	uint64_t bad_used;   /* USED of a head not in flight */
	uint64_t pre_used;   /* USED of a head never added: in flight at the start */
	uint64_t early_used; /* USED stamped before its ADD */
	uint8_t *in_flight;  /* by head */
	uint64_t *add_ts;
};

static int find_queue(const struct vqp_region *r, struct queue_check *qc, unsigned type,
		      const char *suffix)
{
	char err[VQP_ERRLEN];

	for (unsigned slot = 0; slot < r->layout.queue_slots; slot++) {
		struct vqt_queue q;
		size_t n, len;

		if (vqp_queue_snapshot(r, slot, &q, err, sizeof(err)) != VQP_OK ||
		    q.state != VQT_QS_ACTIVE || q.device_type != type)
			continue;
		n = strlen(q.name);
		len = strlen(suffix);
		if (strncmp(q.name, "virtio", 6) != 0 || n < len ||
		    strcmp(q.name + n - len, suffix) != 0)
			continue;
		qc->slot = (int)slot;
		qc->q = q;
		qc->in_flight = calloc(65536, 1);
		qc->add_ts = calloc(65536, sizeof(uint64_t));
		return 0;
	}
	qc->slot = -1;
	return -1;
}

static void account(struct queue_check *qc, const struct vqt_event *e)
{
	qc->events[e->type]++;
	switch (e->type) {
	case VQT_EV_ADD:
		if (qc->in_flight[e->head] == 1)
			qc->bad_add++;
		qc->in_flight[e->head] = 1;
		qc->add_ts[e->head] = e->ts;
		if (e->len > 0 && e->arg > 0)
			qc->sized_adds++;
		if (e->ndesc == 3 && e->len == BLK_READ_BYTES && e->arg == 2)
			qc->blk_reads++;
		break;
	case VQT_EV_USED:
		if (qc->in_flight[e->head] == 0)
			qc->pre_used++;
		else if (qc->in_flight[e->head] == 2)
			qc->bad_used++;
		else if (e->ts < qc->add_ts[e->head])
			qc->early_used++;
		qc->in_flight[e->head] = 2;
		qc->used_bytes += e->len;
		break;
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED:
		qc->kick_adds += e->len;
		break;
	default:
		break;
	}
}

static uint64_t in_flight(const struct queue_check *qc)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < 65536; i++)
		n += qc->in_flight[i] == 1;
	return n;
}

/* Checks that hold for every queue with adds and reaps traced. */
/* missed: reaps the tracer said it did not see; each leaves its head
 * either re-added without a reap or still in flight at the end. */
static void check_pairing(const struct queue_check *qc, const char *what, uint64_t may_pend,
			  uint64_t missed)
{
	const uint64_t *ev = qc->events;
	const uint64_t *c = qc->q.counters;
	uint64_t unreaped = qc->bad_add + in_flight(qc);

	check(qc->bad_add <= missed && qc->bad_used == 0 && qc->early_used == 0 &&
		  qc->pre_used <= may_pend,
	      "%s: adds and reaps pair by head (%llu re-added of %llu reaps missed, %llu reaped "
	      "twice, %llu before their add, %llu added before tracing began, at most %llu)",
	      what, (unsigned long long)qc->bad_add, (unsigned long long)missed,
	      (unsigned long long)qc->bad_used, (unsigned long long)qc->early_used,
	      (unsigned long long)qc->pre_used, (unsigned long long)may_pend);
	check(unreaped <= may_pend + missed && unreaped >= missed &&
		  ev[VQT_EV_ADD] + qc->pre_used - ev[VQT_EV_USED] == unreaped,
	      "%s: %llu adds, %llu reaps, %llu in flight at the end, %llu reaps missed (at most "
	      "%llu pending)",
	      what, (unsigned long long)ev[VQT_EV_ADD], (unsigned long long)ev[VQT_EV_USED],
	      (unsigned long long)in_flight(qc), (unsigned long long)missed,
	      (unsigned long long)may_pend);
	check(qc->sized_adds == ev[VQT_EV_ADD],
	      "%s: %llu of %llu adds carry their byte and device-writable counts", what,
	      (unsigned long long)qc->sized_adds, (unsigned long long)ev[VQT_EV_ADD]);
	check(ev[VQT_EV_KICK] >= 1 && ev[VQT_EV_KICK] <= ev[VQT_EV_ADD] &&
		  qc->kick_adds <= ev[VQT_EV_ADD],
	      "%s: %llu kicks, %llu suppressed, covering %llu of %llu adds", what,
	      (unsigned long long)ev[VQT_EV_KICK], (unsigned long long)ev[VQT_EV_KICK_SUPPRESSED],
	      (unsigned long long)qc->kick_adds, (unsigned long long)ev[VQT_EV_ADD]);
	check(ev[VQT_EV_IRQ] >= 1 && ev[VQT_EV_IRQ] <= ev[VQT_EV_USED],
	      "%s: %llu interrupts for %llu reaps", what, (unsigned long long)ev[VQT_EV_IRQ],
	      (unsigned long long)ev[VQT_EV_USED]);
	check(c[VQT_C_ADDS] == ev[VQT_EV_ADD] && c[VQT_C_COMPLETIONS] == ev[VQT_EV_USED] &&
		  c[VQT_C_KICKS] == ev[VQT_EV_KICK] && c[VQT_C_IRQS] == ev[VQT_EV_IRQ] &&
		  c[VQT_C_KICKS_SUPPRESSED] == ev[VQT_EV_KICK_SUPPRESSED],
	      "%s: queue-table counters match the events (adds %llu, completions %llu, kicks "
	      "%llu, irqs %llu)",
	      what, (unsigned long long)c[VQT_C_ADDS], (unsigned long long)c[VQT_C_COMPLETIONS],
	      (unsigned long long)c[VQT_C_KICKS], (unsigned long long)c[VQT_C_IRQS]);
}

/* The recording must hold the same records as the region, in order. */
static void check_recording(const char *path, const struct vqt_event *region_events, size_t count)
{
	char err[VQP_ERRLEN];
	struct vqp_file *f = vqp_file_open(path, 0, err, sizeof(err));
	size_t matched = 0, mismatched = 0, extra = 0, queues = 0;

	check(f != NULL, "recording %s opens (%s)", path, f ? "ok" : err);
	if (!f)
		return;
	check(f->clean && f->header.source_kind == VQR_SRC_TRACER,
	      "recording closed cleanly (%s), source kind %u (tracer)", f->clean ? "yes" : f->note,
	      f->header.source_kind);
	for (size_t i = 0; i < f->nchunks; i++) {
		const void *payload;
		struct vqp_events_view v;
		uint32_t len;

		if (vqp_file_chunk(f, i, &payload, &len, err, sizeof(err)) != VQP_OK)
			continue;
		if (f->chunks[i].type == VQR_CHUNK_QUEUES)
			queues++;
		if (f->chunks[i].type != VQR_CHUNK_EVENTS ||
		    vqp_decode_events(payload, len, &v, err, sizeof(err)) != VQP_OK)
			continue;
		for (uint32_t k = 0; k < v.count; k++) {
			uint64_t seq = vqp_events_seq(&v, k);
			struct vqt_event e;

			memcpy(&e, (const char *)v.events + (size_t)k * sizeof(e), sizeof(e));
			if (seq >= count)
				extra++;
			else if (memcmp(&e, &region_events[seq], sizeof(e)) == 0)
				matched++;
			else
				mismatched++;
		}
	}
	check(matched == count && mismatched == 0 && extra == 0 && queues > 0,
	      "recording holds the region's %zu records (%zu equal, %zu differ, %zu extra) and "
	      "%zu queue snapshots",
	      count, matched, mismatched, extra, queues);
	vqp_file_close(f);
}

static unsigned long parse_number(const char *opt, const char *arg)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 0);

	if (end == arg || *end != 0) {
		fprintf(stderr, "check_region: %s %s: not a number\n", opt, arg);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long blk_reads = 0, blk_size = 0, rng_size = 0, missed_reaps = 0;
	struct queue_check blk = {0}, rng = {0};
	struct vqp_region region;
	struct vqp_reader reader;
	struct vqt_event batch[1024];
	struct vqp_drain_info info;
	char err[VQP_ERRLEN];
	const char *recording = NULL;
	struct vqt_event *all;
	size_t nall = 0;
	int irq_only = 0, fd, n;
	struct stat st;
	void *map;

	if (argc < 2) {
		fprintf(stderr,
			"usage: check_region REGION --blk-reads N --blk-size N "
			"--rng-size N [--irq-only] [--recording FILE] [--missed-reaps N]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--irq-only") == 0)
			irq_only = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--blk-reads") == 0)
			blk_reads = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--blk-size") == 0)
			blk_size = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--recording") == 0)
			recording = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--missed-reaps") == 0)
			missed_reaps = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--rng-size") == 0)
			rng_size = parse_number(argv[i], argv[i + 1]), i++;
		else {
			fprintf(stderr, "check_region: unknown argument %s\n", argv[i]);
			return 2;
		}
	}

	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	vqp_region_init(&region, map, (size_t)st.st_size, NULL);
	n = vqp_region_sync(&region, err, sizeof(err));
	check(n == VQP_OK, "region validates (%s)", n == VQP_OK ? region.layout.producer : err);
	if (n != VQP_OK)
		return 1;
	check((region.layout.flags & VQT_HDR_F_TRACER) &&
		  (region.layout.flags & VQT_HDR_F_HOSTED) &&
		  !(region.layout.flags & VQT_HDR_F_STEP_CAPABLE) &&
		  region.layout.ts_source == VQT_TS_BPF_KTIME,
	      "header: tracer, hosted, not step-capable, BPF clock (flags 0x%x, ts_source %u)",
	      region.layout.flags, region.layout.ts_source);

	find_queue(&region, &blk, 2, ".req.0");
	find_queue(&region, &rng, 4, ".input");
	/* The test gives the guest a split-ring disk and a packed-ring rng. */
	check(blk.slot >= 0 && blk.q.ring_size == blk_size && !(blk.q.flags & VQT_QF_PACKED),
	      "virtio-blk request queue registered: \"%s\", %u entries (want %lu), flags 0x%x "
	      "(split)",
	      blk.slot >= 0 ? blk.q.name : "none", blk.q.ring_size, blk_size, blk.q.flags);
	check(rng.slot >= 0 && rng.q.ring_size == rng_size && (rng.q.flags & VQT_QF_PACKED),
	      "virtio-rng queue registered: \"%s\", %u entries (want %lu), flags 0x%x (packed)",
	      rng.slot >= 0 ? rng.q.name : "none", rng.q.ring_size, rng_size, rng.q.flags);
	if (blk.slot < 0 || rng.slot < 0)
		return 1;

	all = calloc(region.layout.ring_records, sizeof(*all));
	if (!all)
		return 1;
	vqp_reader_init(&reader, &region, true);
	while ((n = vqp_reader_drain(&reader, batch, sizeof(batch) / sizeof(batch[0]), &info)) > 0)
		for (int i = 0; i < n; i++) {
			if (info.first_seq + (uint64_t)i == nall &&
			    nall < region.layout.ring_records)
				all[nall++] = batch[i];
			if (batch[i].queue == blk.slot)
				account(&blk, &batch[i]);
			else if (batch[i].queue == rng.slot)
				account(&rng, &batch[i]);
		}
	check(n == 0 && reader.lost == missed_reaps && reader.violations == 0,
	      "%llu records read, lost %llu (want the %lu missed reaps), none malformed "
	      "(%llu%s%s)",
	      (unsigned long long)reader.delivered, (unsigned long long)reader.lost, missed_reaps,
	      (unsigned long long)reader.violations, reader.violations ? ": " : "",
	      reader.last_violation);

	if (recording)
		check_recording(recording, all, nall);
	free(all);
	if (irq_only) {
		check(blk.events[VQT_EV_IRQ] >= 1 &&
			  blk.events[VQT_EV_IRQ] == blk.q.counters[VQT_C_IRQS] &&
			  blk.events[VQT_EV_ADD] + blk.events[VQT_EV_USED] +
				  blk.events[VQT_EV_KICK] ==
			      0,
		      "virtio-blk: %llu interrupts and no adds, reaps or kicks",
		      (unsigned long long)blk.events[VQT_EV_IRQ]);
		return failures ? 1 : 0;
	}
	/* The block layer issues one request per O_DIRECT 4 KiB read; other
	 * requests (none expected) would be counted apart. */
	check(blk.blk_reads == blk_reads,
	      "virtio-blk: %llu single-4KiB read requests (want %lu; %llu adds in all)",
	      (unsigned long long)blk.blk_reads, blk_reads,
	      (unsigned long long)blk.events[VQT_EV_ADD]);
	check(blk.used_bytes >= (uint64_t)(blk_reads - missed_reaps) * 4097u,
	      "virtio-blk: device wrote %llu bytes (at least %lu in the reaps seen)",
	      (unsigned long long)blk.used_bytes, (blk_reads - missed_reaps) * 4097u);
	check_pairing(&blk, "virtio-blk", 0, missed_reaps);
	check_pairing(&rng, "virtio-rng", 1, 0);
	check(rng.used_bytes > 0, "virtio-rng: device supplied %llu bytes",
	      (unsigned long long)rng.used_bytes);
	free(blk.in_flight);
	free(blk.add_ts);
	free(rng.in_flight);
	free(rng.add_ts);
	return failures ? 1 : 0;
}
