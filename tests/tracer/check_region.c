/* check_region.c - reads the trace region a Linux guest's vqscope-trace
 * left in a memory-backend file, with libvqproto, and checks it against
 * the I/O the guest did (tests/tracer/test-*.sh).
 *
 *   check_region REGION --blk-reads N --blk-size N --rng-size N [--irq-only]
 *                [--recording FILE.vqt] [--lost N] [--blk-missed R:A]
 *                [--rng-missed R:A]
 *
 * Checks: the header says "eBPF tracer" and not step-capable; the
 * virtio-blk request queue ("virtioN.req.0", device type 2) and the
 * virtio-rng queue ("virtioN.input", type 4) are registered with the given
 * ring sizes; no record was lost or malformed; every ADD has a matching
 * USED (same head, later) and every USED an ADD, with nothing left in
 * flight but the one buffer virtio-rng keeps queued; the block queue saw
 * exactly N 4 KiB reads; kick and interrupt counts are consistent with
 * the adds and reaps; the queue table's counters equal the events; the
 * producer says it stopped, after heartbeats; neither queue is marked a
 * receive queue.  With --irq-only (tracepoint method) only interrupts are
 * expected.  With --recording, the recording vqscope-trace --output wrote
 * in the same run must be clean and hold exactly the region's records.
 *
 * What vqscope-trace reported missing: --lost N, the records it counted
 * lost in all, which the region must show exactly; --blk-missed R:A and
 * --rng-missed R:A, the reaps and adds of each queue it found missed in
 * the rings, which must be exactly the queue's adds left without a reap
 * (beyond the buffers allowed to stay in flight) and reaps of buffers the
 * trace never saw added.
 *
 *   check_region REGION --queues
 *
 * prints, instead of checking, the region as JSON lines for scripts
 * (tests/tracer/net_session.py): first {"producer_state", "heartbeats",
 * "heartbeat_ms", "records", "lost", "violations"} from reading the whole
 * ring, then one object per active queue with its slot, name, device
 * type, flags, ring size and queue-table counters.
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

/* What vqscope-trace said it missed of one queue. */
struct missed {
	unsigned long reaps, adds;
};

/* Checks that hold for every queue with adds and reaps traced.  A missed
 * reap leaves its head re-added without a reap, or in flight at the end;
 * a missed add leaves a reap of a head never added.  may_pend: buffers
 * the driver may legitimately keep posted at the end. */
static void check_pairing(const struct queue_check *qc, const char *what, uint64_t may_pend,
			  struct missed missed)
{
	const uint64_t *ev = qc->events;
	const uint64_t *c = qc->q.counters;
	uint64_t unreaped = qc->bad_add + in_flight(qc);

	check(qc->bad_used == 0 && qc->early_used == 0 && qc->pre_used >= missed.adds &&
		  qc->pre_used <= missed.adds + may_pend,
	      "%s: adds and reaps pair by head (%llu re-added, %llu reaped twice, %llu before "
	      "their add, %llu of heads never added: the %lu adds missed and at most %llu "
	      "added before tracing began)",
	      what, (unsigned long long)qc->bad_add, (unsigned long long)qc->bad_used,
	      (unsigned long long)qc->early_used, (unsigned long long)qc->pre_used, missed.adds,
	      (unsigned long long)may_pend);
	/* A buffer whose add and reap were both missed is in neither. */
	check(unreaped <= missed.reaps + may_pend && unreaped + missed.adds >= missed.reaps &&
		  ev[VQT_EV_ADD] + qc->pre_used - ev[VQT_EV_USED] == unreaped,
	      "%s: %llu adds, %llu reaps, %llu left without their reap (%llu re-added, %llu in "
	      "flight at the end): want the %lu reaps missed, and at most %llu pending",
	      what, (unsigned long long)ev[VQT_EV_ADD], (unsigned long long)ev[VQT_EV_USED],
	      (unsigned long long)unreaped, (unsigned long long)qc->bad_add,
	      (unsigned long long)in_flight(qc), missed.reaps, (unsigned long long)may_pend);
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

/* A queue name as a JSON string body: names are printable already
 * (vqp_queue_check), so only quotes and backslashes need escaping. */
static void print_json_name(const char *name)
{
	for (; *name; name++) {
		if (*name == '"' || *name == '\\')
			putchar('\\');
		putchar(*name);
	}
}

static int print_queues(struct vqp_region *region)
{
	static const struct {
		const char *key;
		enum vqt_counter c;
	} counters[] = {
	    {"adds", VQT_C_ADDS},
	    {"bytes", VQT_C_BYTES},
	    {"kicks", VQT_C_KICKS},
	    {"kicks_suppressed", VQT_C_KICKS_SUPPRESSED},
	    {"irqs", VQT_C_IRQS},
	    {"completions", VQT_C_COMPLETIONS},
	    {"used_bytes", VQT_C_USED_BYTES},
	    {"cb_changes", VQT_C_CB_CHANGES},
	    {"errors", VQT_C_ERRORS},
	};
	struct vqp_producer producer;
	struct vqp_reader reader;
	struct vqt_event batch[1024];
	char err[VQP_ERRLEN];
	int n;

	if (vqp_region_producer(region, &producer, err, sizeof(err)) != VQP_OK) {
		fprintf(stderr, "check_region: %s\n", err);
		return 1;
	}
	vqp_reader_init(&reader, region, true);
	while ((n = vqp_reader_drain(&reader, batch, sizeof(batch) / sizeof(batch[0]), NULL)) > 0)
		;
	printf("{\"producer_state\": %u, \"heartbeats\": %llu, \"heartbeat_ms\": %u, "
	       "\"records\": %llu, \"lost\": %llu, \"violations\": %llu}\n",
	       producer.state, (unsigned long long)producer.heartbeats, producer.heartbeat_ms,
	       (unsigned long long)reader.delivered, (unsigned long long)reader.lost,
	       (unsigned long long)reader.violations);
	for (unsigned slot = 0; slot < region->layout.queue_slots; slot++) {
		struct vqt_queue q;

		if (vqp_queue_snapshot(region, slot, &q, err, sizeof(err)) != VQP_OK ||
		    q.state != VQT_QS_ACTIVE)
			continue;
		printf("{\"slot\": %u, \"name\": \"", slot);
		print_json_name(q.name);
		printf("\", \"device_type\": %u, \"flags\": %u, \"ring_size\": %u", q.device_type,
		       q.flags, q.ring_size);
		for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			printf(", \"%s\": %llu", counters[i].key,
			       (unsigned long long)q.counters[counters[i].c]);
		printf("}\n");
	}
	return n < 0 ? 1 : 0;
}

static struct missed parse_missed(const char *opt, const char *arg)
{
	struct missed m;
	char *end;

	m.reaps = strtoul(arg, &end, 10);
	if (end == arg || *end != ':') {
		fprintf(stderr, "check_region: %s %s: not REAPS:ADDS\n", opt, arg);
		exit(2);
	}
	arg = end + 1;
	m.adds = strtoul(arg, &end, 10);
	if (end == arg || *end != 0) {
		fprintf(stderr, "check_region: %s %s: not REAPS:ADDS\n", opt, arg);
		exit(2);
	}
	return m;
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
	unsigned long blk_reads = 0, blk_size = 0, rng_size = 0, lost = 0;
	struct missed blk_missed = {0, 0}, rng_missed = {0, 0};
	struct vqp_producer producer;
	struct queue_check blk = {0}, rng = {0};
	struct vqp_region region;
	struct vqp_reader reader;
	struct vqt_event batch[1024];
	struct vqp_drain_info info;
	char err[VQP_ERRLEN];
	const char *recording = NULL;
	struct vqt_event *all;
	size_t nall = 0;
	int irq_only = 0, queues_only = 0, fd, n;
	struct stat st;
	void *map;

	if (argc < 2) {
		fprintf(stderr, "usage: check_region REGION --queues\n"
				"       check_region REGION --blk-reads N --blk-size N "
				"--rng-size N [--irq-only] [--recording FILE] [--lost N] "
				"[--blk-missed R:A] [--rng-missed R:A]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--queues") == 0)
			queues_only = 1;
		else if (strcmp(argv[i], "--irq-only") == 0)
			irq_only = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--blk-reads") == 0)
			blk_reads = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--blk-size") == 0)
			blk_size = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--recording") == 0)
			recording = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--lost") == 0)
			lost = parse_number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--blk-missed") == 0)
			blk_missed = parse_missed(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && strcmp(argv[i], "--rng-missed") == 0)
			rng_missed = parse_missed(argv[i], argv[i + 1]), i++;
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
	if (queues_only) {
		if (n == VQP_OK)
			return print_queues(&region);
		fprintf(stderr, "check_region: %s\n", err);
		return 1;
	}
	check(n == VQP_OK, "region validates (%s)", n == VQP_OK ? region.layout.producer : err);
	if (n != VQP_OK)
		return 1;
	check((region.layout.flags & VQT_HDR_F_TRACER) &&
		  (region.layout.flags & VQT_HDR_F_HOSTED) &&
		  !(region.layout.flags & VQT_HDR_F_STEP_CAPABLE) &&
		  region.layout.ts_source == VQT_TS_BPF_KTIME,
	      "header: tracer, hosted, not step-capable, BPF clock (flags 0x%x, ts_source %u)",
	      region.layout.flags, region.layout.ts_source);

	n = vqp_region_producer(&region, &producer, err, sizeof(err));
	check(n == VQP_OK && producer.state == VQT_PRODUCER_STOPPED && producer.heartbeats >= 2 &&
		  producer.heartbeat_ms == 0 && producer.heartbeat_ts > region.layout.ts_base,
	      "producer stopped after %llu heartbeats and state changes (state %u, %s)",
	      (unsigned long long)producer.heartbeats, producer.state, n == VQP_OK ? "ok" : err);

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
	check(!(blk.q.flags & VQT_QF_RECEIVE) && !(rng.q.flags & VQT_QF_RECEIVE),
	      "virtio-blk and virtio-rng are request queues (not VQT_QF_RECEIVE)");

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
	check(n == 0 && reader.lost == lost && reader.violations == 0,
	      "%llu records read, lost %llu (want the %lu vqscope-trace counted), none malformed "
	      "(%llu%s%s)",
	      (unsigned long long)reader.delivered, (unsigned long long)reader.lost, lost,
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
	check(blk.blk_reads + blk_missed.adds == blk_reads,
	      "virtio-blk: %llu single-4KiB read requests and %lu adds missed (want %lu; %llu adds "
	      "in all)",
	      (unsigned long long)blk.blk_reads, blk_missed.adds, blk_reads,
	      (unsigned long long)blk.events[VQT_EV_ADD]);
	check(blk.used_bytes >= (uint64_t)(blk_reads - blk_missed.reaps) * 4097u,
	      "virtio-blk: device wrote %llu bytes (at least %lu in the reaps seen)",
	      (unsigned long long)blk.used_bytes, (blk_reads - blk_missed.reaps) * 4097u);
	check_pairing(&blk, "virtio-blk", 0, blk_missed);
	check_pairing(&rng, "virtio-rng", 1, rng_missed);
	check(rng.used_bytes > 0, "virtio-rng: device supplied %llu bytes",
	      (unsigned long long)rng.used_bytes);
	free(blk.in_flight);
	free(blk.add_ts);
	free(rng.in_flight);
	free(rng.add_ts);
	return failures ? 1 : 0;
}
