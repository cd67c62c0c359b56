/* source.c - live and recorded sources feeding the model (see source.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ring_decode.h"
#include "guard.h"
#include "libvirt_domain.h"
#include "monitor.h"
#include "qmp.h"
#include "qmp_libvirt.h"
#include "source.h"

#define DRAIN_BATCH 65536 /* records the buffer holds (a replayed chunk fits) */
/* Records per drain from the region: the buffer's part they fill stays
 * in the CPU's cache while the model reads it back. */
#define DRAIN_CALL	    4096
#define DRAIN_MAX_PER_POLL  (16u * DRAIN_BATCH)
#define FLUSH_EVERY_NS	    100000000ull  /* recording: write pending events */
#define CHECK_EVERY_NS	    1000000000ull /* findings: the whole-session checks */
#define CPU_WAIT_EVERY_NS   100000000ull  /* findings: QEMU's wait for a CPU */
#define SIZE_CHECK_EVERY_NS 200000000ull  /* the mapped files' sizes */
#define QUEUES_EVERY_NS	    1000000000ull /* recording: queue-table snapshot */
#define REGION_RETRY_NS	    200000000ull  /* waiting for a producer */

uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *vm_state_name(enum vm_state v)
{
	switch (v) {
	case VM_RUNNING:
		return "running";
	case VM_PAUSED:
		return "paused";
	case VM_GONE:
		return "gone";
	default:
		return "unknown";
	}
}

static void control(struct source *s, int step, uint32_t grant);

/* ---- recording ------------------------------------------------------------------------- */

static void rec_failed(struct source *s, const char *why)
{
	/* Sticky: the recording stops, the session goes on. */
	vqp_copy_string(s->rec_error, sizeof(s->rec_error), why);
	vqp_writer_abandon(s->rec);
	s->rec = NULL;
}

static void rec_region(struct source *s)
{
	struct vqr_region r;
	char err[VQP_ERRLEN];

	if (!s->rec || !s->region.valid)
		return;
	memset(&r, 0, sizeof(r));
	r.generation = s->region.layout.generation;
	r.ring_records = s->region.layout.ring_records;
	r.region_size = s->region.layout.region_size;
	r.ts_hz = s->region.layout.ts_hz;
	r.ts_base = s->region.layout.ts_base;
	r.ts_source = s->region.layout.ts_source;
	r.flags = s->region.layout.flags;
	memcpy(r.producer, s->region.layout.producer, VQT_PRODUCER_LEN - 1);
	r.host_mono_ns = host_now_ns();
	if (vqp_writer_region(s->rec, &r, err, sizeof(err)) != VQP_OK) {
		rec_failed(s, err);
		return;
	}
	vqp_writer_expect(s->rec, s->reader.generation, s->reader.next);
}

static void rec_annot(struct source *s, uint64_t ts, uint32_t kind, const char *text)
{
	char err[VQP_ERRLEN];

	if (s->rec && vqp_writer_annot(s->rec, ts, kind, text, err, sizeof(err)) != VQP_OK)
		rec_failed(s, err);
}

/* The recording says when the host holds the guest (and, once, whether
 * it did when the recording began), so that a reader judges the queues'
 * standing still as live vqscope did. */
static void rec_hold(struct source *s, const struct vq_model *m)
{
	const char *hold = s->have_region && s->step_held ? "step"
			   : s->vm == VM_PAUSED		  ? "paused"
							  : "running";

	if (!s->rec || s->rec_hold == hold)
		return;
	rec_annot(s, m->last_ts, VQR_ANNOT_HOLD, hold);
	s->rec_hold = hold;
}

/* QEMU's wait for a CPU so far, for DEVICE and RING chunks. */
static uint32_t cpu_wait_ms(const struct source *s)
{
	uint64_t ms = s->cpu_wait.total_ns / 1000000;

	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Each finding first seen while recording, as an ANNOT chunk: its code,
 * severity, queue and what it means (`vqscope dump` shows them; the
 * reader of a recording finds them again from the events). */
static void rec_findings(struct source *s, const struct vq_model *m)
{
	for (; s->rec && s->rec_findings < m->nfindings; s->rec_findings++) {
		const struct finding *f = &m->findings[s->rec_findings];
		char text[512];

		snprintf(text, sizeof(text), "%s %s %s: %s", finding_info(f->code)->name,
			 severity_name(f->severity), f->queue >= 0 ? f->queue_name : "session",
			 f->text);
		rec_annot(s, m->last_ts, VQR_ANNOT_FINDING, text);
	}
}

/* The whole-session checks, once a second of NOW (host time live,
 * session time in a recording). */
static void check_findings(struct source *s, struct vq_model *m, uint64_t now)
{
	if (now - s->last_check_ns < CHECK_EVERY_NS)
		return;
	s->last_check_ns = now;
	model_check(m);
}

/* ---- live: region -------------------------------------------------------------------- */

static void snapshot_queues(struct source *s, struct vq_model *m, uint64_t now, bool to_recording)
{
	struct vqr_queue_entry *entries = NULL;
	uint32_t n = 0;
	char err[VQP_ERRLEN];

	if (to_recording && s->rec)
		entries = calloc(s->region.layout.queue_slots, sizeof(*entries));
	for (unsigned slot = 0; slot < s->region.layout.queue_slots; slot++) {
		struct vqt_queue q;
		int rc = vqp_queue_snapshot(&s->region, slot, &q, err, sizeof(err));

		if (rc == VQP_INVALID) {
			s->violations++;
			s->pending_violations++;
			model_note_violations(m, 1, err);
			continue;
		}
		if (rc != VQP_OK || q.state == VQT_QS_FREE)
			continue;
		model_queue_table(m, slot, &q);
		if (entries) {
			entries[n].slot = slot;
			entries[n].queue = q;
			n++;
		}
	}
	if (entries && n &&
	    vqp_writer_queues(s->rec, m->last_ts, s->region.layout.generation, entries, n, err,
			      sizeof(err)) != VQP_OK)
		rec_failed(s, err);
	free(entries);
	s->last_table_ns = now;
	if (to_recording)
		s->rec_last_queues_ns = now;
}

/* Find the producer: the first time, and again after a restart. */
static void region_sync(struct source *s, struct vq_model *m, uint64_t now)
{
	char err[VQP_ERRLEN];
	int rc = vqp_region_sync(&s->region, err, sizeof(err));

	if (rc != VQP_OK) {
		snprintf(s->region_status, sizeof(s->region_status), "%s%s",
			 rc == VQP_NOT_READY ? SOURCE_WAITING : "", err);
		if (rc == VQP_INVALID) {
			s->violations++;
			model_note_violations(m, 1, err);
		}
		return;
	}
	s->region_status[0] = 0;
	/* Only now is the file known to be a region: the control page may
	 * be written (step mode, our pid). */
	if (!s->region.ctrl && s->map.control_writable &&
	    target_map_control(&s->map, err, sizeof(err)) == 0) {
		s->region.ctrl = s->map.control;
		vqp_control_set_pid(&s->region, (uint32_t)getpid());
	}
	if (s->generation_seen == 0)
		model_set_producer(m, s->region.layout.ts_hz, s->region.layout.producer,
				   s->region.layout.generation);
	else
		model_resync(m, s->region.layout.ts_hz, s->region.layout.producer,
			     s->region.layout.generation);
	/* After a restart read everything the new producer wrote. */
	vqp_reader_init(&s->reader, &s->region, !(s->opts.only_new && s->generation_seen == 0));
	if (s->reader.violations) { /* a garbage head at attach */
		s->violations += s->reader.violations;
		s->pending_violations += s->reader.violations;
		model_note_violations(m, s->reader.violations, s->reader.last_violation);
	}
	s->generation_seen = s->region.layout.generation;
	rec_region(s);
	snapshot_queues(s, m, now, true);
}

static void region_drain(struct source *s, struct vq_model *m, uint64_t now)
{
	size_t total = 0;

	while (total < DRAIN_MAX_PER_POLL) {
		struct vqp_drain_info info;
		uint64_t lost_before = s->reader.lost, violations_before = s->reader.violations;
		int n = vqp_reader_drain(&s->reader, s->buf, DRAIN_CALL, &info);

		if (n == VQP_RESYNC) {
			s->dropped_carry = 0; /* the old generation's last gap */
			s->region.valid = false;
			region_sync(s, m, now);
			if (!s->region.valid)
				return;
			continue;
		}
		if (s->reader.lost > lost_before) {
			s->lost += s->reader.lost - lost_before;
			model_note_loss(m, s->reader.lost - lost_before);
		}
		if (s->reader.violations > violations_before) {
			uint64_t v = s->reader.violations - violations_before;

			s->violations += v;
			s->pending_violations += v;
			model_note_violations(m, v, s->reader.last_violation);
		}
		/* Malformed records are violations, not loss: the recording
		 * says which of the records missing before each batch were
		 * dropped, so readers of the file count them the same way.
		 * Those after the last record returned are missing before
		 * the next batch. */
		if (n <= 0) {
			s->dropped_carry += info.dropped;
			break;
		}
		if (s->rec)
			vqp_writer_dropped(s->rec,
					   s->dropped_carry + info.dropped - info.dropped_tail);
		s->dropped_carry = info.dropped_tail;
		/* A queue registered in this batch: its features (event idx,
		 * packed, receive) are in its table slot, written before its
		 * QUEUE record.  Read the table before the batch's kick
		 * decisions are judged, not up to a second later. */
		if (info.queue_records)
			snapshot_queues(s, m, now, true);
		model_note_host_time(m, now);
		model_feed(m, s->buf, (size_t)n, info.first_seq);
		s->events += (uint64_t)n;
		total += (size_t)n;
		if (s->on_events)
			s->on_events(s->on_events_ctx, m);
		if (s->rec) {
			char err[VQP_ERRLEN];

			if (vqp_writer_events(s->rec, s->reader.generation, info.first_seq, s->buf,
					      (size_t)n, (uint32_t)s->pending_violations, now, err,
					      sizeof(err)) != VQP_OK)
				rec_failed(s, err);
			s->pending_violations = 0;
		}
		if ((size_t)n < DRAIN_CALL)
			break;
	}
}

/* ---- live: rings in guest RAM --------------------------------------------------------- */

#define RING_WALKS_MAX 64 /* chains read per queue and sample */

/* Split: walk the chains of the heads in flight; the first bad one is
 * kept (the findings engine believes it when the next sample agrees). */
static void walk_split_in_flight(const struct guest_mem *mem, const struct model_queue *q,
				 const struct ring_geometry *g, struct vqr_ring_queue *r)
{
	struct chain_walk w;

	for (unsigned h = 0; q->head_state && h < g->size && r->chains_walked < RING_WALKS_MAX;
	     h++) {
		if (q->head_state[h] == HEAD_FREE)
			continue;
		r->chains_walked++;
		if (chain_walk_split(mem, g, (uint16_t)h, q->flags & VQT_QF_INDIRECT, &w) &&
		    w.problem != CHAIN_OK) {
			r->flags |= VQR_RQ_BAD_CHAIN;
			r->chain_head = (uint16_t)h;
			r->chain_problem = (uint8_t)w.problem;
			r->chain_bad_index = w.bad_index;
			r->chain_bad_value = w.bad_value;
			return;
		}
	}
}

/* Packed: the chains the driver's last decision covered, from its
 * position before to its position after (2.8.21), and their flags against
 * its wrap counter (2.8.1). */
static void walk_packed_newest(const struct guest_mem *mem, const struct model_queue *q,
			       const struct ring_geometry *g, struct vqr_ring_queue *r)
{
	uint16_t cur, prev, off, start, n;
	bool wrap;
	struct chain_walk w;

	if (!q->have_decision || !(q->decision_state & VQT_KICK_STATE_PRESENT) ||
	    !(q->prev_decision_state & VQT_KICK_STATE_PRESENT))
		return;
	cur = VQT_KICK_STATE_DRIVER(q->decision_state);
	prev = VQT_KICK_STATE_DRIVER(q->prev_decision_state);
	off = cur & 0x7fff;
	wrap = cur >> 15;
	start = prev & 0x7fff;
	if (off >= g->size || start >= g->size)
		return;
	n = (uint16_t)((off + g->size - start) % g->size);
	if (n == 0 && prev != cur)
		n = g->size; /* one whole lap */
	if (n > RING_WALKS_MAX)
		n = RING_WALKS_MAX;
	/* Flags: positions below the driver's offset are of its current lap
	 * (wrap counter `wrap`), the others of the lap before. */
	for (uint16_t k = 0; k < n; k++) {
		uint16_t pos = (uint16_t)((start + k) % g->size);
		bool expect = pos < off ? wrap : !wrap;
		struct ring_desc d;

		if (!ring_read_desc(mem, g->desc, pos, true, &d))
			return;
		if (((d.flags & VRING_PACKED_F_AVAIL) != 0) != expect) {
			r->flags |= VQR_RQ_BAD_WRAP;
			r->wrap_position = pos;
			r->wrap_flags = d.flags;
			r->wrap_driver_pos = cur;
			break;
		}
	}
	for (uint16_t k = 0; k < n && r->chains_walked < RING_WALKS_MAX;) {
		uint16_t pos = (uint16_t)((start + k) % g->size);

		r->chains_walked++;
		if (!chain_walk_packed(mem, g, pos, q->flags & VQT_QF_INDIRECT, &w))
			return;
		if (w.problem != CHAIN_OK) {
			r->flags |= VQR_RQ_BAD_CHAIN;
			r->chain_head = pos;
			r->chain_problem = (uint8_t)w.problem;
			r->chain_bad_index = w.bad_index;
			r->chain_bad_value = w.bad_value;
			return;
		}
		k = (uint16_t)(k + (w.indirect ? 1 : w.ndesc));
	}
}

/* The used element the findings asked about (model_queue.elem_wanted),
 * when the device has written it and not yet written over it a lap on.
 * The device writes an element, then moves used.idx past it (2.7.8.2):
 * used.idx read after the element shows whether that lap began. */
static void read_wanted_elem(const struct guest_mem *mem, const struct model_queue *q,
			     const struct ring_geometry *g, struct vqr_ring_queue *r)
{
	struct ring_indices after;
	uint32_t id, len;
	uint16_t done;

	if (!split_used_entry(mem, g, q->elem_wanted_index, &id, &len))
		return;
	/* Orders the read of the element before the read of used.idx below,
	 * pairing with the device's write barrier between the two. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!ring_read_indices(mem, g, &after))
		return;
	done = (uint16_t)(after.used_idx - q->elem_wanted_index);
	if (done == 0 || done >= q->ring_size)
		return; /* not written yet, or written over */
	r->flags |= VQR_RQ_USED_ELEM;
	r->elem_index = q->elem_wanted_index;
	r->elem_id = id;
	r->elem_len = len;
}

/* Read every traced queue's rings from guest RAM, for the findings (and
 * the recording, so that it can be diagnosed the same way). */
static void ring_sample(struct source *s, struct vq_model *m, uint64_t now)
{
	const struct guest_mem *mem = source_guest_mem(s);
	struct vqr_ring_queue *out = s->ring_buf;
	size_t n = 0;
	char err[VQP_ERRLEN];

	s->last_ring_ns = now;
	if (!mem)
		return;
	for (unsigned slot = 0; slot < MODEL_QUEUES; slot++) {
		const struct model_queue *q = &m->queues[slot];
		struct ring_geometry g = {.packed = q->flags & VQT_QF_PACKED,
					  .event_idx = q->flags & VQT_QF_EVENT_IDX,
					  .size = q->ring_size,
					  .desc = q->desc_addr,
					  .driver_area = q->avail_addr,
					  .device_area = q->used_addr};
		struct vqr_ring_queue *r = &out[n];
		struct ring_indices ix;

		if (!q->active || !q->ring_size || !q->desc_addr || !q->avail_addr || !q->used_addr)
			continue;
		memset(r, 0, sizeof(*r));
		r->slot = slot;
		r->size = q->ring_size;
		r->flags = (uint16_t)((g.packed ? VQR_RQ_PACKED : 0) |
				      (g.event_idx ? VQR_RQ_EVENT_IDX : 0));
		if (ring_read_indices(mem, &g, &ix)) {
			r->flags |= VQR_RQ_VALID;
			r->avail_flags = ix.avail_flags;
			r->avail_idx = ix.avail_idx;
			r->used_event = ix.used_event;
			r->used_flags = ix.used_flags;
			r->used_idx = ix.used_idx;
			r->avail_event = ix.avail_event;
			r->driver_off_wrap = ix.driver_off_wrap;
			r->driver_flags = ix.driver_flags;
			r->device_off_wrap = ix.device_off_wrap;
			r->device_flags = ix.device_flags;
			if (g.packed)
				walk_packed_newest(mem, q, &g, r);
			else
				walk_split_in_flight(mem, q, &g, r);
			if (!g.packed && q->elem_wanted)
				read_wanted_elem(mem, q, &g, r);
		}
		n++;
	}
	if (!n)
		return;
	model_ring_sample(m, now, out, n);
	if (s->rec) {
		struct vqr_ring hdr = {
		    .host_mono_ns = now, .count = (uint32_t)n, .cpu_wait_ms = cpu_wait_ms(s)};

		if (vqp_writer_ring(s->rec, &hdr, out, err, sizeof(err)) != VQP_OK)
			rec_failed(s, err);
	}
}

/* ---- live: QMP -------------------------------------------------------------------------- */

static void device_sample(struct source *s, struct vq_model *m, const struct monitor_report *r)
{
	struct vqr_device_queue *q = s->report->sample;
	size_t n = r->nsample;
	char err[VQP_ERRLEN];
	uint64_t now = r->sample_host_ns;

	model_device_sample(m, now, q, n);
	if (s->rec && n) {
		struct vqr_device hdr = {
		    .host_mono_ns = now, .count = (uint32_t)n, .cpu_wait_ms = cpu_wait_ms(s)};

		for (size_t i = 0; i < n; i++)
			for (unsigned slot = 0; slot < MODEL_QUEUES; slot++)
				if (m->queues[slot].have_device &&
				    m->queues[slot].device_host_ns == now &&
				    m->queues[slot].device.desc_addr == q[i].desc_addr &&
				    m->queues[slot].device.queue_index == q[i].queue_index) {
					q[i].trace_slot = slot;
					if (m->queues[slot].disagree)
						q[i].flags |= VQR_DQ_DISAGREE;
				}
		if (vqp_writer_device(s->rec, &hdr, q, err, sizeof(err)) != VQP_OK)
			rec_failed(s, err);
	}
}

static void end_source(struct source *s, uint32_t kind, const char *why)
{
	if (s->ended)
		return;
	s->ended = true;
	s->end_kind = kind;
	vqp_copy_string(s->end_reason, sizeof(s->end_reason), why);
	if (kind == VQR_END_SOURCE_GONE)
		s->vm = VM_GONE;
}

static void note(struct source *s, const char *fmt, const char *detail)
{
	snprintf(s->notice, sizeof(s->notice), fmt, detail);
	s->notices++;
}

/* Whatever the monitor thread has for us: device samples, QMP events,
 * answers, and the end of QEMU. */
static void take_monitor(struct source *s, struct vq_model *m)
{
	struct monitor_report *r = s->report;

	monitor_take(s->monitor, r);
	if (r->what & MONITOR_DEVICE_STATUS) {
		vqp_copy_string(s->device_status, sizeof(s->device_status), r->device_status);
		if (r->device_unavailable)
			s->opts.no_device = true;
		s->device_ready = true;
	}
	if (r->what & MONITOR_SAMPLE) {
		s->device_ready = true;
		device_sample(s, m, r);
	}
	for (size_t i = 0; (r->what & MONITOR_EVENTS_NEW) && i < r->nevents; i++) {
		const char *name = r->events[i];

		vqp_copy_string(s->last_qmp_event, sizeof(s->last_qmp_event), name);
		if (strcmp(name, "STOP") == 0)
			s->vm = VM_PAUSED;
		else if (strcmp(name, "RESUME") == 0)
			s->vm = VM_RUNNING;
		rec_annot(s, m->last_ts, VQR_ANNOT_QMP_EVENT, name);
	}
	if ((r->what & MONITOR_COMMAND) && !r->command_ok)
		note(s, r->command == MONITOR_STOP_VM ? "pause: %s" : "continue: %s",
		     r->command_error);
	if ((r->what & MONITOR_CHAIN) && r->chain_request == s->chain_request) {
		s->chain = r->chain;
		s->chain_answered = r->chain_request;
	}
	if (r->what & MONITOR_GONE)
		end_source(s, VQR_END_SOURCE_GONE, r->gone_reason);
}

/* The attach proper, over s->qmp (a socket or a libvirt domain). */
static struct source *open_live(struct source *s, char *err, size_t errlen)
{
	char why[VQP_ERRLEN];
	bool running;
	char status[32];

	s->kind = SOURCE_LIVE;
	/* QEMU's threads, for the time they waited for a CPU. */
	cpu_wait_init(&s->cpu_wait, qmp_libvirt_domain(s->qmp) ? qmp_libvirt_qemu_pid(s->qmp)
							       : cpu_wait_peer_pid(qmp_fd(s->qmp)));
	if (qmp_query_status(s->qmp, &running, status, sizeof(status), why, sizeof(why)) == 0)
		s->vm = running ? VM_RUNNING : VM_PAUSED;

	if (discover_target(s->qmp, &s->target, why, sizeof(why)) != 0) {
		/* No trace region: the device-side view still works. */
		snprintf(s->region_status, sizeof(s->region_status), "no trace region: %s", why);
	} else if (target_map_region(&s->target, &s->map, why, sizeof(why)) != 0) {
		snprintf(s->region_status, sizeof(s->region_status), "%s", why);
	} else {
		s->have_region = true;
		/* Read-only until the header is validated (region_sync). */
		vqp_region_init(&s->region, s->map.region, s->map.region_size, NULL);
		if (s->opts.map_ram && s->target.have_ram &&
		    target_map_ram(&s->target, &s->map, why, sizeof(why)) != 0) {
			snprintf(s->device_status, sizeof(s->device_status), "guest RAM: %s", why);
			vqp_copy_string(s->target.ram_note, sizeof(s->target.ram_note), why);
		}
	}
	if (s->map.ram)
		target_guest_mem(&s->map, &s->ram);
	vqp_copy_string(s->qemu_version, sizeof(s->qemu_version), qmp_qemu_version(s->qmp));
	s->report = calloc(1, sizeof(*s->report));
	if (!s->report) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->monitor = monitor_start(
	    s->qmp,
	    &(struct monitor_opts){.device_hz = s->opts.no_device ? 0 : s->opts.device_hz,
				   .qmp_timeout_ms = s->opts.qmp_timeout_ms},
	    err, errlen);
	if (!s->monitor)
		return NULL;
	s->qmp = NULL; /* the monitor's now */
	if (s->opts.no_device)
		s->device_ready = true;
	return s;
}

/* ---- file ------------------------------------------------------------------------------------ */

/* The queue table of chunk i: with `whole`, every entry as the model's
 * table.  Else the same when it is of the events fed so far; when it is
 * newer (by its newest entry's last event), only what names each queue,
 * and the whole waits (table_chunk) until the events up to that time are
 * fed.  vqscope record writes its first table before the guest's older
 * records: shown at once, its indices and counts would be of a time after
 * the events the replay's cursor stands on. */
static int file_queues(struct source *s, struct vq_model *m, size_t i, bool whole, char *err,
		       size_t errlen)
{
	const void *p;
	uint32_t len;
	struct vqr_queues h;
	const struct vqr_queue_entry *e;
	struct vqr_queue_entry q;
	uint64_t newest = 0;
	int rc = vqp_file_chunk(s->file, i, &p, &len, err, errlen);

	if (rc == VQP_OK)
		rc = vqp_decode_queues(p, len, &h, &e, err, errlen);
	if (rc != VQP_OK)
		return rc;
	for (uint32_t k = 0; k < h.count; k++) {
		memcpy(&q, (const uint8_t *)e + (size_t)k * sizeof(q), sizeof(q));
		if (q.queue.last_event_ts > newest)
			newest = q.queue.last_event_ts;
	}
	whole = whole || newest <= m->last_ts;
	for (uint32_t k = 0; k < h.count; k++) {
		memcpy(&q, (const uint8_t *)e + (size_t)k * sizeof(q), sizeof(q));
		/* Fixes the name up; the model takes any values. */
		vqp_queue_check(&q.queue, q.slot, err, errlen);
		if (whole)
			model_queue_table(m, q.slot, &q.queue);
		else
			model_queue_identity(m, q.slot, &q.queue);
	}
	if (!whole) {
		s->table_chunk = i + 1;
		s->table_due_ts = newest;
	}
	return VQP_OK;
}

/* The waiting queue table, if any, in whole now. */
static void file_table_pending(struct source *s, struct vq_model *m)
{
	char err[VQP_ERRLEN];

	if (!s->table_chunk)
		return;
	/* Read and decoded once already. */
	file_queues(s, m, s->table_chunk - 1, true, err, sizeof(err));
	s->table_chunk = 0;
}

static void file_chunk(struct source *s, struct vq_model *m, size_t i)
{
	const void *p;
	uint32_t len;
	char err[VQP_ERRLEN];

	if (vqp_file_chunk(s->file, i, &p, &len, err, sizeof(err)) != VQP_OK) {
		s->violations++;
		model_note_violations(m, 1, err);
		return;
	}
	switch (s->file->chunks[i].type) {
	case VQR_CHUNK_REGION: {
		struct vqr_region r;

		if (vqp_decode_region(p, len, &r, err, sizeof(err)) != VQP_OK)
			break;
		/* A table waiting for its time is of the generation before. */
		file_table_pending(s, m);
		if (!s->file_started)
			model_set_producer(m, r.ts_hz, r.producer, r.generation);
		else if (r.generation != s->file_generation)
			model_resync(m, r.ts_hz, r.producer, r.generation);
		s->file_started = true;
		s->file_generation = r.generation;
		s->file_seq_known = false;
		return;
	}
	case VQR_CHUNK_EVENTS: {
		struct vqp_events_view v;
		uint64_t skipped = 0;

		if (vqp_decode_events(p, len, &v, err, sizeof(err)) != VQP_OK)
			break;
		if (!s->file_started) {
			model_set_producer(m, s->file->header.ts_hz, s->file->producer,
					   v.hdr.generation);
			s->file_started = true;
			s->file_generation = v.hdr.generation;
		} else if (v.hdr.generation != s->file_generation) {
			file_table_pending(s, m);
			model_resync(m, m->ts_hz, m->producer, v.hdr.generation);
			s->file_generation = v.hdr.generation;
			s->file_seq_known = false;
		}
		if (v.count > s->bufcap)
			break; /* cannot happen: the writer's chunks are smaller */
		for (uint32_t k = 0; k < v.count; k++)
			vqp_events_get(&v, k, &s->buf[k]);
		/* lost_before accounts for every sequence number between this
		 * chunk and the one before it: more missing means chunks are
		 * gone (skipped as damaged by --salvage), and their records
		 * are lost like any other. */
		if (s->file_seq_known && v.hdr.first_seq > s->file_next_seq &&
		    v.hdr.first_seq - s->file_next_seq > v.hdr.lost_before)
			skipped = v.hdr.first_seq - s->file_next_seq - v.hdr.lost_before;
		if (v.count) {
			s->file_next_seq = vqp_events_seq(&v, v.count - 1) + 1;
			s->file_seq_known = true;
		}
		model_note_loss(m, v.lost + skipped);
		s->lost += v.lost + skipped;
		if (v.hdr.violations_before) {
			model_note_violations(m, v.hdr.violations_before, "recorded by the reader");
			s->violations += v.hdr.violations_before;
		}
		model_note_host_time(m, v.hdr.host_mono_ns);
		/* Fed by the caller (feed_pending), all or up to a limit. */
		s->pend_pos = 0;
		s->pend_count = v.count;
		s->pend_first_seq = v.hdr.first_seq;
		return;
	}
	case VQR_CHUNK_QUEUES:
		file_table_pending(s, m);
		if (file_queues(s, m, i, false, err, sizeof(err)) != VQP_OK)
			break;
		return;
	case VQR_CHUNK_PRODUCER: {
		struct vqr_producer h;

		if (vqp_decode_producer(p, len, &h, err, sizeof(err)) != VQP_OK)
			break;
		model_producer_sample(m, h.host_mono_ns, h.state, h.heartbeat_ms, h.heartbeat_ts,
				      h.heartbeats);
		return;
	}
	case VQR_CHUNK_RING: {
		struct vqr_ring h;
		const struct vqr_ring_queue *rq;

		if (vqp_decode_ring(p, len, &h, &rq, err, sizeof(err)) != VQP_OK)
			break;
		for (uint32_t k = 0; k < h.count && k < MODEL_QUEUES; k++)
			memcpy(&s->ring_buf[k], (const uint8_t *)rq + (size_t)k * sizeof(*rq),
			       sizeof(*rq));
		model_note_cpu_wait(m, (uint64_t)h.cpu_wait_ms * 1000000);
		model_ring_sample(m, h.host_mono_ns, s->ring_buf,
				  h.count < MODEL_QUEUES ? h.count : MODEL_QUEUES);
		return;
	}
	case VQR_CHUNK_DEVICE: {
		struct vqr_device h;
		const struct vqr_device_queue *dq;
		struct vqr_device_queue *copy;

		if (vqp_decode_device(p, len, &h, &dq, err, sizeof(err)) != VQP_OK)
			break;
		copy = malloc((h.count ? h.count : 1) * sizeof(*copy));
		if (!copy)
			return;
		memcpy(copy, dq, h.count * sizeof(*copy));
		model_note_cpu_wait(m, (uint64_t)h.cpu_wait_ms * 1000000);
		model_device_sample(m, h.host_mono_ns, copy, h.count);
		free(copy);
		return;
	}
	case VQR_CHUNK_ANNOT: {
		struct vqr_annot h;
		char text[64];

		if (vqp_decode_annot(p, len, &h, text, sizeof(text), err, sizeof(err)) != VQP_OK)
			break;
		if (h.kind == VQR_ANNOT_QMP_EVENT) {
			vqp_copy_string(s->last_qmp_event, sizeof(s->last_qmp_event), text);
			if (strcmp(text, "STOP") == 0)
				s->vm = VM_PAUSED;
			else if (strcmp(text, "RESUME") == 0)
				s->vm = VM_RUNNING;
		} else if (h.kind == VQR_ANNOT_HOLD) {
			/* What the recorder saw; unknown words change nothing. */
			if (strcmp(text, "step") == 0) {
				s->step_held = true;
			} else if (strcmp(text, "paused") == 0) {
				s->step_held = false;
				s->vm = VM_PAUSED;
			} else if (strcmp(text, "running") == 0) {
				s->step_held = false;
				s->vm = VM_RUNNING;
			}
		}
		model_vm_paused(m, s->vm == VM_PAUSED || s->step_held);
		return;
	}
	case VQR_CHUNK_CLOSE: {
		struct vqr_close c;

		if (vqp_decode_close(p, len, &c, err, sizeof(err)) != VQP_OK)
			break;
		/* Loss and violations the recorder saw after its last events
		 * are only in its totals (the recorder's model's: those it
		 * found in the events, this model found again). */
		if (c.lost > m->lost) {
			s->lost += c.lost - m->lost;
			model_note_loss(m, c.lost - m->lost);
		}
		if (c.violations > m->violations) {
			s->violations += c.violations - m->violations;
			model_note_violations(m, c.violations - m->violations,
					      "seen by the recorder after its last events");
		}
		s->end_kind = c.reason;
		vqp_copy_string(s->end_reason, sizeof(s->end_reason), c.detail);
		return;
	}
	default:
		return;
	}
	s->violations++;
	model_note_violations(m, 1, err);
}

static struct source *open_file(struct source *s, const char *path, char *err, size_t errlen)
{
	s->kind = SOURCE_FILE;
	vqp_copy_string(s->name, sizeof(s->name), path);
	s->file = vqp_file_open(path, s->opts.file_flags, err, errlen);
	if (!s->file)
		return NULL;
	/* A cleanly closed file is opened by its index, without reading the
	 * chunks: damage in them is found here, before anything is fed, so
	 * that it is an error unless salvage (skip and count it) was asked. */
	if (!(s->opts.file_flags & VQP_OPEN_SALVAGE))
		for (size_t i = 0; i < s->file->nchunks; i++) {
			const void *p;
			uint32_t len;
			char why[VQP_ERRLEN];

			if (vqp_file_chunk(s->file, i, &p, &len, why, sizeof(why)) != VQP_OK) {
				snprintf(err, errlen, "%s: %s (use --salvage)", path, why);
				return NULL;
			}
		}
	vqp_copy_string(s->file_note, sizeof(s->file_note), s->file->note);
	s->vm = VM_UNKNOWN;
	s->next_file_check_ns = CHECK_EVERY_NS;
	return s;
}

/* Feed the next n decoded events of the chunk being fed. */
static void feed_pending(struct source *s, struct vq_model *m, uint32_t n)
{
	const struct vqt_event *e = &s->buf[s->pend_pos];

	if (!n)
		return;
	/* Sequence numbers go on from the chunk's first (mod 2^32). */
	model_feed(m, e, n, s->pend_first_seq + (uint32_t)(e->seq - (uint32_t)s->pend_first_seq));
	s->pend_pos += n;
	s->events += n;
	if (s->on_events)
		s->on_events(s->on_events_ctx, m);
}

/* Whether an event at producer time ts comes after until_ns (the first
 * event, before the model has an origin, never does). */
static bool after_time(const struct vq_model *m, uint64_t ts, uint64_t until_ns)
{
	return until_ns != UINT64_MAX && m->have_origin && ts >= m->origin_ts &&
	       model_ts_to_ns(m, ts) > until_ns;
}

/* In a recording the whole-session checks run on the events before the
 * first one at or after each whole second of session time (one jumping
 * far ahead, which the model keeps at the previous time, runs them too).
 * They run at the same points however the recording is fed (doctor, play,
 * steps, jumps, going back from a checkpoint), so a finding is first seen
 * at the same time in all. */
static bool file_check_due(const struct source *s, const struct vq_model *m, uint64_t ts)
{
	return m->have_origin && ts >= m->origin_ts &&
	       model_ts_to_ns(m, ts) >= s->next_file_check_ns;
}

/* Feed what of the chunk being fed lim allows; true when lim stopped it. */
static bool feed_pending_to(struct source *s, struct vq_model *m, const struct file_limit *lim)
{
	while (s->pend_pos < s->pend_count) {
		uint32_t left = s->pend_count - s->pend_pos, n = 0;
		/* split: stopped before an event to feed the ones before it
		 * first (a table or the checks are due at it). */
		bool frame_begun = false, split = false, checked = false;

		if (lim->events != UINT64_MAX) {
			if (m->events >= lim->events)
				return true;
			if (lim->events - m->events < left)
				left = (uint32_t)(lim->events - m->events);
		}
		if (!m->have_origin) {
			/* The first event sets the clock the others are
			 * compared with. */
			left = 1;
		}
		while (n < left) {
			const struct vqt_event *e = &s->buf[s->pend_pos + n];

			if (after_time(m, e->ts, lim->until_ns))
				break;
			if (s->table_chunk && e->ts > s->table_due_ts) {
				/* The events up to the table's time first. */
				split = n > 0;
				if (split)
					break;
				file_table_pending(s, m);
			}
			if (file_check_due(s, m, e->ts)) {
				/* The events before it first; then the checks,
				 * and it alone, so that the next second is
				 * counted from its time in the model. */
				split = n > 0;
				if (split)
					break;
				model_check(m);
				checked = true;
			}
			n++;
			frame_begun =
			    lim->to_frame && e->type == VQT_EV_FRAME_BEGIN && e->arg >= lim->frame;
			if (frame_begun || checked)
				break;
		}
		feed_pending(s, m, n);
		if (checked)
			s->next_file_check_ns = (m->now_ns / CHECK_EVERY_NS + 1) * CHECK_EVERY_NS;
		if (frame_begun)
			return true;
		if (n < left && !split && !checked)
			return true; /* the next event is after until_ns */
	}
	return false;
}

bool source_file_feed(struct source *s, struct vq_model *m, const struct file_limit *lim)
{
	bool reached = false;

	for (;;) {
		const struct vqp_chunk_ref *c;

		reached |= feed_pending_to(s, m, lim);
		if (reached && s->pend_pos < s->pend_count)
			return true;
		if (s->next_chunk >= s->file->nchunks)
			break;
		c = &s->file->chunks[s->next_chunk];
		/* The chunks after the last event fed are read; the next
		 * EVENTS chunk waits once the limit is reached. */
		if (c->type == VQR_CHUNK_EVENTS && (reached || m->events >= lim->events ||
						    after_time(m, c->first_ts, lim->until_ns)))
			return true;
		file_chunk(s, m, s->next_chunk++);
	}
	if (!s->ended) {
		/* end_source() copies into end_reason: not from itself. */
		char why[sizeof(s->end_reason)];

		vqp_copy_string(why, sizeof(why),
				s->end_reason[0] ? s->end_reason : "end of recording");
		/* No region and no events (a device-side recording): the
		 * producer is what the file header says. */
		if (!s->file_started)
			model_set_producer(m, s->file->header.ts_hz, s->file->producer,
					   m->generation);
		file_table_pending(s, m);
		model_finish(m);
		model_check(m);
		end_source(s, s->end_kind, why);
	}
	return false;
}

bool source_file_advance(struct source *s, struct vq_model *m, uint64_t until_ns)
{
	struct file_limit lim = {.until_ns = until_ns, .events = UINT64_MAX};

	return source_file_feed(s, m, &lim);
}

void source_file_all(struct source *s, struct vq_model *m)
{
	source_file_advance(s, m, UINT64_MAX);
}

bool source_file_mark(const struct source *s, struct source_file_mark *mark)
{
	mark->copy = malloc(sizeof(*mark->copy));
	mark->buf = malloc(s->bufcap * sizeof(*s->buf));
	if (!mark->copy || !mark->buf) {
		source_file_mark_free(mark);
		return false;
	}
	/* A file source owns nothing that moves while it is read: its file
	 * and buffer stay where they are, so the copy's pointers stay good
	 * as long as s lives. */
	*mark->copy = *s;
	memcpy(mark->buf, s->buf, s->bufcap * sizeof(*s->buf));
	return true;
}

void source_file_return(struct source *s, const struct source_file_mark *mark)
{
	*s = *mark->copy;
	memcpy(s->buf, mark->buf, s->bufcap * sizeof(*s->buf));
}

void source_file_mark_free(struct source_file_mark *mark)
{
	free(mark->copy);
	free(mark->buf);
	mark->copy = NULL;
	mark->buf = NULL;
}

/* ---- common
 * -------------------------------------------------------------------------------------- */

struct source *source_open(const char *spec, const struct source_opts *opts, char *err,
			   size_t errlen)
{
	struct source *s = calloc(1, sizeof(*s));
	struct stat st;
	struct source *ok;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (opts)
		s->opts = *opts;
	if (!s->opts.device_hz)
		s->opts.device_hz = 5;
	if (!s->opts.table_hz)
		s->opts.table_hz = 10;
	if (!s->opts.qmp_timeout_ms)
		s->opts.qmp_timeout_ms = 5000;
	s->bufcap = DRAIN_BATCH;
	s->buf = calloc(s->bufcap, sizeof(*s->buf));
	if (!s->buf) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (libvirt_is_spec(spec)) {
		struct libvirt_spec ls;

		vqp_copy_string(s->name, sizeof(s->name), spec);
		ok = NULL;
		if (libvirt_parse_spec(spec, &ls, err, errlen) == 0)
			s->qmp = qmp_connect_libvirt(ls.domain, ls.uri, s->opts.qmp_timeout_ms, err,
						     errlen);
		if (s->qmp)
			ok = open_live(s, err, errlen);
	} else if (stat(spec, &st) != 0) {
		snprintf(err, errlen, "%s: %s", spec, strerror(errno));
		ok = NULL;
	} else if (S_ISSOCK(st.st_mode)) {
		snprintf(s->name, sizeof(s->name), "qmp:%s", spec);
		s->qmp = qmp_connect(spec, s->opts.qmp_timeout_ms, err, errlen);
		ok = s->qmp ? open_live(s, err, errlen) : NULL;
	} else if (S_ISREG(st.st_mode)) {
		ok = open_file(s, spec, err, errlen);
	} else {
		snprintf(err, errlen, "%s: neither a QMP socket nor a recording", spec);
		ok = NULL;
	}
	if (!ok) {
		source_close(s);
		return NULL;
	}
	return s;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	if (s->rec)
		source_record_stop(s, s->ended ? s->end_kind : VQR_END_NORMAL,
				   s->ended ? s->end_reason : "closed", NULL, 0);
	control(s, 0, 0);
	target_unmap(&s->map);
	if (s->monitor)
		s->qmp = monitor_stop(s->monitor);
	qmp_close(s->qmp);
	free(s->report);
	vqp_file_close(s->file);
	free(s->buf);
	free(s);
}

int source_fd(const struct source *s)
{
	return s->monitor ? monitor_fd(s->monitor) : -1;
}

/* The part of a poll that reads the mapped region (under a guard). */
struct region_work {
	struct source *s;
	struct vq_model *m;
	uint64_t now;
};

/* The recording gets the producer's state when it begins and when it
 * changes, and its heartbeats at least twice per promised interval (at
 * most 4 a second), so a reader sees a silent producer exactly when the
 * live view did. */
static void rec_producer(struct source *s, const struct vqp_producer *p, uint64_t now)
{
	uint64_t every_ns = p->heartbeat_ms ? (uint64_t)p->heartbeat_ms * 1000000 / 2 : 1000000000;
	struct vqp_producer *last = &s->rec_producer;
	struct vqr_producer c = {.host_mono_ns = now,
				 .heartbeat_ts = p->heartbeat_ts,
				 .heartbeats = p->heartbeats,
				 .state = p->state,
				 .heartbeat_ms = p->heartbeat_ms};
	char err[VQP_ERRLEN];

	if (every_ns > 250000000)
		every_ns = 250000000;
	if (!s->rec || (s->rec_producer_written && p->state == last->state &&
			p->heartbeat_ms == last->heartbeat_ms &&
			(p->heartbeats == last->heartbeats || now - s->rec_producer_ns < every_ns)))
		return;
	if (vqp_writer_producer(s->rec, &c, err, sizeof(err)) != VQP_OK) {
		rec_failed(s, err);
		return;
	}
	*last = *p;
	s->rec_producer_ns = now;
	s->rec_producer_written = true;
}

/* Whether the producer runs (header, minor 1), after what it wrote is
 * drained: a stopped one's last events are in the model first. */
static void producer_poll(struct source *s, struct vq_model *m, uint64_t now)
{
	struct vqp_producer p;
	char err[VQP_ERRLEN];

	if (vqp_region_producer(&s->region, &p, err, sizeof(err)) != VQP_OK &&
	    s->producer_bad_generation != s->region.layout.generation) {
		/* Said once per producer: the state reads as unknown. */
		s->producer_bad_generation = s->region.layout.generation;
		s->violations++;
		model_note_violations(m, 1, err);
	}
	model_producer_sample(m, now, p.state, p.heartbeat_ms, p.heartbeat_ts, p.heartbeats);
	rec_producer(s, &p, now);
}

static void region_poll(void *ctx)
{
	struct region_work *w = ctx;
	struct source *s = w->s;
	uint64_t now = w->now;

	if (!s->region.valid) {
		/* Once QEMU is gone, this is the last look: a guest that ran
		 * and powered off between two retries still has its records
		 * in the region's file. */
		if (now - s->last_table_ns >= REGION_RETRY_NS || s->last_table_ns == 0 ||
		    s->ended) {
			s->last_table_ns = now;
			region_sync(s, w->m, now);
		}
	}
	if (s->region.valid) {
		region_drain(s, w->m, now);
		if (!s->rates_started) {
			/* The backlog found at attach is history, not a rate. */
			model_rates_restart(w->m);
			s->rates_started = true;
		}
		if (s->ended)
			return; /* what the guest wrote before QEMU went: enough */
		producer_poll(s, w->m, now);
		if (now - s->last_table_ns >= 1000000000ull / s->opts.table_hz)
			snapshot_queues(s, w->m, now,
					now - s->rec_last_queues_ns >= QUEUES_EVERY_NS);
		if (s->region.ctrl) {
			struct vqp_control_state cs;

			vqp_control_read(&s->region, &cs);
			s->step_held = cs.step_mode != 0;
			if (cs.step_mode)
				vqp_control_heartbeat(&s->region);
		}
	}
}

/* Size of an open file, or -1. */
static long long file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
}

/* Reading the region faulted: its file was cut shorter than the mapping.
 * Stop using it (the device-side view goes on), close the recording in
 * order with what it has, and say so. */
static void region_shrank(struct source *s)
{
	long long size = file_size(s->map.region_fd);

	snprintf(s->region_gone, sizeof(s->region_gone),
		 "trace region %s shrank to %lld bytes while attached", s->map.region_path, size);
	vqp_copy_string(s->region_status, sizeof(s->region_status), s->region_gone);
	s->have_region = false;
	vqp_region_init(&s->region, NULL, 0, NULL);
	target_unmap_region(&s->map);
	if (s->rec) {
		char err[VQP_ERRLEN], detail[80];
		char path[sizeof(s->rec_path)];

		/* The CLOSE chunk's detail has room for 79 bytes: no path. */
		snprintf(detail, sizeof(detail), "trace region shrank to %lld bytes while attached",
			 size);
		vqp_copy_string(path, sizeof(path), s->rec_path);
		if (source_record_stop(s, VQR_END_ERROR, detail, err, sizeof(err)) == 0)
			snprintf(s->rec_error, sizeof(s->rec_error), "%s; %s is closed and valid",
				 s->region_gone, path);
		else
			snprintf(s->rec_error, sizeof(s->rec_error), "%s; closing %s: %s",
				 s->region_gone, path, err);
	}
}

static void ram_shrank(struct source *s)
{
	snprintf(s->ram_gone, sizeof(s->ram_gone),
		 "guest RAM %s shrank to %lld bytes while attached: descriptor chains now come "
		 "through QMP",
		 s->target.ram_path, file_size(s->map.ram_fd));
	target_unmap_ram(&s->map);
	note(s, "%s", s->ram_gone);
}

int source_poll(struct source *s, struct vq_model *m, uint64_t now)
{
	struct region_work w = {s, m, now};

	if (s->kind == SOURCE_FILE) {
		static const struct file_limit all = {.until_ns = UINT64_MAX, .events = UINT64_MAX};

		if (s->pend_pos < s->pend_count) {
			feed_pending_to(s, m, &all);
		} else if (s->next_chunk < s->file->nchunks) {
			file_chunk(s, m, s->next_chunk++);
			feed_pending_to(s, m, &all);
		} else if (!s->ended) {
			source_file_advance(s, m, UINT64_MAX);
		}
		return s->ended;
	}
	if (s->ended)
		return 1;

	/* The trace first: the samples that follow (the device's, the
	 * rings') are compared with what the driver did up to now. */
	if (s->have_region && !guard_run(region_poll, &w))
		region_shrank(s);
	/* A file cut short is not always read where it is gone (a producer
	 * that died of it never moves the head there): look at the sizes. */
	if (now - s->last_size_check_ns >= SIZE_CHECK_EVERY_NS) {
		s->last_size_check_ns = now;
		if (s->have_region && file_size(s->map.region_fd) < (long long)s->map.region_size)
			region_shrank(s);
		if (s->map.ram && file_size(s->map.ram_fd) < (long long)s->map.ram_size)
			s->map.ram_faulted = true;
	}
	if (now - s->last_cpu_wait_ns >= CPU_WAIT_EVERY_NS) {
		s->last_cpu_wait_ns = now;
		model_note_cpu_wait(m, cpu_wait_sample(&s->cpu_wait, now));
	}
	take_monitor(s, m);
	/* Step mode holds the guest at each event: its queues stand still
	 * because we hold them, as when the VM is paused. */
	model_vm_paused(m, s->vm == VM_PAUSED || (s->have_region && s->step_held));
	rec_hold(s, m);
	if (s->map.ram && s->map.ram_faulted)
		ram_shrank(s);
	if (s->map.ram && now - s->last_ring_ns >= 1000000000ull / s->opts.device_hz)
		ring_sample(s, m, now);
	check_findings(s, m, now);
	rec_findings(s, m);
	if (s->rec && now - s->last_flush_ns >= FLUSH_EVERY_NS) {
		char err[VQP_ERRLEN];

		s->last_flush_ns = now;
		if (vqp_writer_flush(s->rec, err, sizeof(err)) != VQP_OK)
			rec_failed(s, err);
	}
	/* What the guest wrote before QEMU went. */
	if (s->ended && s->have_region && !guard_run(region_poll, &w))
		region_shrank(s);
	return s->ended;
}

int source_record_start(struct source *s, struct vq_model *m, const char *path, bool overwrite,
			char *err, size_t errlen)
{
	struct vqp_writer_opts o = {
	    .ts_hz = s->region.valid ? s->region.layout.ts_hz : 1000000000,
	    .ts_source = s->region.valid ? s->region.layout.ts_source : VQT_TS_MONOTONIC,
	    .source_kind = s->have_region ? VQR_SRC_REGION : VQR_SRC_DEVICE,
	    .producer = s->region.valid ? s->region.layout.producer : "device view only",
	};

	if (s->kind != SOURCE_LIVE) {
		snprintf(err, errlen, "%s: only a live source can be recorded", s->name);
		return -1;
	}
	if (s->rec) {
		snprintf(err, errlen, "already recording to %s", s->rec_path);
		return -1;
	}
	s->rec = vqp_writer_open(path, &o, overwrite, err, errlen);
	if (!s->rec)
		return -1;
	vqp_copy_string(s->rec_path, sizeof(s->rec_path), path);
	s->rec_error[0] = 0;
	s->pending_violations = 0;
	s->dropped_carry = 0;
	s->rec_model = m;
	s->rec_events_base = m->events;
	s->rec_lost_base = m->lost;
	s->rec_violations_base = m->violations;
	/* Findings of the session before the recording are not its own. */
	s->rec_findings = m->nfindings;
	if (s->region.valid) {
		rec_region(s);
		/* The queue table before any event: a replay starts knowing
		 * the queues (names, ring sizes) at its first event. */
		snapshot_queues(s, m, host_now_ns(), true);
	}
	s->rec_hold = NULL;
	rec_hold(s, m);
	s->rec_producer_written = false;
	return 0;
}

int source_record_stop(struct source *s, uint32_t reason, const char *detail, char *err,
		       size_t errlen)
{
	struct vqr_close c;
	struct timespec now;
	int rc;

	if (!s->rec) {
		if (err && errlen)
			snprintf(err, errlen, "%s",
				 s->rec_error[0] ? s->rec_error : "not recording");
		return s->rec_error[0] ? -1 : 0;
	}
	rec_findings(s, s->rec_model);
	memset(&c, 0, sizeof(c));
	clock_gettime(CLOCK_REALTIME, &now);
	c.wall_end_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	/* The model's totals while recording: the events carry the same
	 * (readers find them again), except what came after the last of
	 * them, which readers take from here. */
	c.events = s->rec_model->events - s->rec_events_base;
	c.lost = s->rec_model->lost - s->rec_lost_base;
	c.violations = s->rec_model->violations - s->rec_violations_base;
	c.reason = reason;
	vqp_copy_string(c.detail, sizeof(c.detail), detail);
	c.ts_end = 0;
	rc = vqp_writer_close(s->rec, &c, err, errlen);
	s->rec = NULL;
	return rc == VQP_OK ? 0 : -1;
}

bool source_recording(const struct source *s)
{
	return s->rec != NULL;
}

static int ask_vm(struct source *s, enum monitor_command c, char *err, size_t errlen)
{
	if (!s->monitor || s->ended) {
		snprintf(err, errlen, "no VM to %s", c == MONITOR_STOP_VM ? "pause" : "resume");
		return -1;
	}
	monitor_command(s->monitor, c);
	return 0;
}

int source_pause(struct source *s, char *err, size_t errlen)
{
	return ask_vm(s, MONITOR_STOP_VM, err, errlen);
}

int source_resume(struct source *s, char *err, size_t errlen)
{
	return ask_vm(s, MONITOR_CONT_VM, err, errlen);
}

const char *source_vm_control(const struct source *s, bool pause)
{
	if (libvirt_is_spec(s->name))
		return pause ? "virDomainSuspend" : "virDomainResume";
	return pause ? "QMP stop" : "QMP cont";
}

int source_quit_vm(struct source *s, int timeout_ms, char *err, size_t errlen)
{
	if (s->monitor) {
		s->qmp = monitor_stop(s->monitor);
		s->monitor = NULL;
	}
	if (!s->qmp || !qmp_connected(s->qmp)) {
		snprintf(err, errlen, "QEMU is gone already");
		return -1;
	}
	return qmp_quit(s->qmp, timeout_ms, err, errlen);
}

const struct guest_mem *source_guest_mem(const struct source *s)
{
	return s->kind == SOURCE_LIVE && s->map.ram ? &s->ram : NULL;
}

uint64_t source_request_chain(struct source *s, const struct model_queue *q, uint16_t avail_pos,
			      uint16_t head)
{
	if (!s->monitor || s->ended || !q->have_device) {
		chain_view_begin(&s->chain, head, "QMP");
		snprintf(s->chain.note, sizeof(s->chain.note), "%s",
			 "no guest RAM and no device view: the chain cannot be read");
		s->chain_answered = ++s->chain_request;
		return 0;
	}
	monitor_chain(s->monitor, q->device.path, q->device.queue_index, avail_pos, head,
		      ++s->chain_request);
	return s->chain_request;
}

void source_overview(const struct source *s, struct overview_source *out)
{
	out->name = s->name;
	out->vm = vm_state_name(s->vm);
	out->recording = s->rec ? s->rec_path : NULL;
	out->region_status = s->region_status;
}

bool source_can_step(const struct source *s)
{
	return s->kind == SOURCE_LIVE && s->region.valid && s->region.ctrl &&
	       (s->region.layout.flags & VQT_HDR_F_STEP_CAPABLE);
}

struct control_work {
	struct source *s;
	int step;	/* 1 on, 0 off, -1 unchanged */
	uint32_t grant; /* tokens */
};

static void control_write(void *ctx)
{
	struct control_work *w = ctx;

	vqp_control_heartbeat(&w->s->region);
	if (w->grant)
		vqp_control_grant(&w->s->region, w->grant);
	if (w->step >= 0)
		vqp_control_step_mode(&w->s->region, w->step != 0);
}

/* Writes to the control page, under the guard like every region access. */
static void control(struct source *s, int step, uint32_t grant)
{
	struct control_work w = {s, step, grant};

	if (s->have_region && s->region.ctrl && !guard_run(control_write, &w))
		region_shrank(s);
}

void source_step_mode(struct source *s, bool on)
{
	if (source_can_step(s))
		control(s, on, 0);
}

void source_step_grant(struct source *s, uint32_t tokens)
{
	if (source_can_step(s))
		control(s, -1, tokens);
}

static void read_head(void *ctx)
{
	struct source *s = ctx;

	s->head_seen = vqp_region_head(&s->region);
}

uint64_t source_region_head(struct source *s)
{
	if (s->have_region && s->region.valid && !guard_run(read_head, s))
		region_shrank(s);
	return s->region.valid ? s->head_seen : 0;
}
