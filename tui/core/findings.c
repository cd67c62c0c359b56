/* findings.c - the diagnosis engine (see findings.h): checks run as the
 * model takes events (notification decisions, completions), queue-table
 * snapshots (accounting), device samples from QMP and ring samples from
 * guest RAM (stuck queues, chains, wrap counters), and over the session's
 * totals (log time, fences, buffers in flight for long).
 *
 * Where each value comes from is part of the evidence: "trace" for an
 * event the producer wrote, "queue table" for its published indices,
 * "guest RAM" for what vqscope read from the rings, "QMP" for what QEMU
 * says about its device.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "findings_engine.h"
#include "format.h"
#include "model.h"
#include "ring_decode.h"
#include "vqproto.h"

/* LEAK: in flight this many times the queue's p99 latency, at least ... */
#define LEAK_LATENCY_FACTOR 16
#define LEAK_MIN_NS	    1000000000ull
/* ... while at least this many buffers completed after it was added. */
#define LEAK_MIN_LATER 64
/* LOG-DOMINATES: over at least this many frames, log output is at least
 * half of the frame time. */
#define LOG_MIN_FRAMES 10
#define LOG_SHARE_PCT  50

static const struct finding_info infos[FC_COUNT] = {
    [FC_STUCK_NOT_NOTIFIED] = {"STUCK-NOT-NOTIFIED", SEV_ERROR, "2.7.10",
			       "buffers made available, the device never notified of them"},
    [FC_STUCK_DEVICE_NOT_FETCHED] = {"STUCK-DEVICE-NOT-FETCHED", SEV_ERROR, "2.7.13",
				     "notified, but the device does not take the buffers"},
    [FC_STUCK_DEVICE_BUSY] = {"STUCK-DEVICE-BUSY", SEV_ERROR, "2.7.14",
			      "the device took buffers and does not complete them"},
    [FC_STUCK_NO_INTERRUPT] = {"STUCK-NO-INTERRUPT", SEV_ERROR, "2.7.7",
			       "buffers used, the interrupt the driver asked for never came"},
    [FC_STUCK_NOT_REAPED] = {"STUCK-NOT-REAPED", SEV_ERROR, "2.7.14",
			     "buffers used, the driver does not take them"},
    [FC_MISSED_NOTIFY] = {"MISSED-NOTIFY", SEV_ERROR, "2.7.10",
			  "the driver skipped a notification the device asked for"},
    [FC_SPURIOUS_NOTIFY] = {"SPURIOUS-NOTIFY", SEV_INFO, "2.7.10",
			    "notifications the device said it did not need"},
    [FC_LEAK] = {"LEAK", SEV_ERROR, "2.7.14", "a buffer stays in flight while later ones complete"},
    [FC_DOUBLE_COMPLETE] = {"DOUBLE-COMPLETE", SEV_ERROR, "2.7.14",
			    "the driver took one used element twice"},
    [FC_USED_NOT_IN_FLIGHT] = {"USED-NOT-IN-FLIGHT", SEV_ERROR, "2.7.8",
			       "a used element names a buffer that is not in flight"},
    [FC_USED_LEN_OVERFLOW] = {"USED-LEN-OVERFLOW", SEV_ERROR, "2.7.8.1",
			      "the device wrote more than the buffer holds"},
    [FC_ACCOUNTING] = {"ACCOUNTING", SEV_ERROR, "2.7.5",
		       "free and in-flight descriptors do not add up to the queue"},
    [FC_BAD_CHAIN] = {"BAD-CHAIN", SEV_ERROR, "2.7.5",
		      "a descriptor chain the device cannot follow"},
    [FC_PACKED_WRAP] = {"PACKED-WRAP", SEV_ERROR, "2.8.1",
			"descriptor flags that disagree with the wrap counter"},
    [FC_DEVICE_BROKEN] = {"DEVICE-BROKEN", SEV_ERROR, "2.1.2",
			  "QEMU marked the device broken: it needs a reset"},
    [FC_LOG_DOMINATES] = {"LOG-DOMINATES", SEV_WARNING, "-",
			  "writing log output takes most of the frame time"},
    [FC_FENCE_PER_SPIN] = {"FENCE-PER-SPIN", SEV_INFO, "2.7.13",
			   "a fence on every poll spin where one after progress is enough"},
    [FC_POLL_NO_FENCE] = {"POLL-NO-FENCE", SEV_INFO, "2.7.13",
			  "polls that saw progress with no fence before reading the ring"},
};

const struct finding_info *finding_info(enum finding_code c)
{
	static const struct finding_info unknown = {"?", SEV_INFO, "-", "?"};

	return c < FC_COUNT ? &infos[c] : &unknown;
}

const char *severity_name(enum finding_severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

enum finding_code finding_code_from_name(const char *name)
{
	for (int c = 0; c < FC_COUNT; c++)
		if (strcasecmp(name, infos[c].name) == 0)
			return (enum finding_code)c;
	return FC_COUNT;
}

double finding_rate(const struct finding *f)
{
	if (f->count < 2 || f->last_ns <= f->first_ns)
		return 0;
	return (double)(f->count - 1) / ((double)(f->last_ns - f->first_ns) / 1e9);
}

/* ---- the list ----------------------------------------------------------------------- */

bool findings_setup(struct vq_model *m)
{
	m->findings_cap = FINDINGS_MAX;
	m->findings = calloc(m->findings_cap, sizeof(*m->findings));
	return m->findings != NULL;
}

void findings_teardown(struct vq_model *m)
{
	free(m->findings);
	m->findings = NULL;
	m->nfindings = 0;
}

const struct finding *model_finding(const struct vq_model *m, enum finding_code code, int queue)
{
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].code == code && m->findings[i].queue == queue)
			return &m->findings[i];
	return NULL;
}

const struct finding *model_worst_finding(const struct vq_model *m)
{
	const struct finding *best = NULL;

	for (size_t i = 0; i < m->nfindings; i++) {
		const struct finding *f = &m->findings[i];

		if (!f->active)
			continue;
		if (!best || f->severity > best->severity ||
		    (f->severity == best->severity && f->last_ns >= best->last_ns))
			best = f;
	}
	return best;
}

/* Session time now: the latest event's, moved on by the host's clock
 * when samples come and events do not (a stuck queue). */
static uint64_t now_ns(const struct vq_model *m)
{
	if (m->host_ns > m->last_event_host_ns && m->last_event_host_ns)
		return m->now_ns + (m->host_ns - m->last_event_host_ns);
	return m->now_ns;
}

/* The finding of code on queue, seen once more now (a new occurrence,
 * or, for a state, a new episode when it was not active).  *fresh says it
 * is new (the caller fills its evidence and text, as first seen).  NULL
 * when the list is full. */
static struct finding *seen(struct vq_model *m, enum finding_code code, int queue, uint64_t seq,
			    bool *fresh)
{
	struct finding *f = (struct finding *)model_finding(m, code, queue);
	/* Event codes count events; the others count episodes. */
	bool per_event = code == FC_MISSED_NOTIFY || code == FC_SPURIOUS_NOTIFY ||
			 code == FC_DOUBLE_COMPLETE || code == FC_USED_NOT_IN_FLIGHT ||
			 code == FC_USED_LEN_OVERFLOW;

	*fresh = false;
	if (!f) {
		if (m->nfindings == m->findings_cap) {
			m->findings_dropped++;
			return NULL;
		}
		f = &m->findings[m->nfindings++];
		memset(f, 0, sizeof(*f));
		f->code = code;
		f->severity = infos[code].severity;
		f->queue = queue;
		if (queue >= 0)
			vqp_copy_string(f->queue_name, sizeof(f->queue_name),
					m->queues[queue].name[0] ? m->queues[queue].name : "?");
		f->first_ns = now_ns(m);
		f->first_seq = seq;
		f->first_generation = m->generation;
		*fresh = true;
	}
	if (queue >= 0 && f->queue_name[0] == '?' && m->queues[queue].name[0])
		vqp_copy_string(f->queue_name, sizeof(f->queue_name), m->queues[queue].name);
	f->last_ns = now_ns(m);
	if (*fresh || per_event || !f->active)
		f->count++;
	f->active = true;
	return f;
}

static void evidence(struct finding *f, const char *what, const char *from, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void evidence(struct finding *f, const char *what, const char *from, const char *fmt, ...)
{
	struct evidence *e;
	va_list ap;

	if (f->nevidence == FINDING_EVIDENCE)
		return;
	e = &f->ev[f->nevidence++];
	vqp_copy_string(e->what, sizeof(e->what), what);
	vqp_copy_string(e->from, sizeof(e->from), from);
	va_start(ap, fmt);
	vsnprintf(e->value, sizeof(e->value), fmt, ap);
	va_end(ap);
}

static void explain(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void explain(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/* "trace: KICK_SUPPRESSED 1:4711" */
static void event_source(char *buf, size_t len, const struct vq_model *m, unsigned type,
			 uint64_t seq)
{
	snprintf(buf, len, "trace: %s %u:%llu", vqp_event_type_name(type), m->generation,
		 (unsigned long long)seq);
}

static int slot_of(const struct vq_model *m, const struct model_queue *q)
{
	return (int)(q - m->queues);
}

/* ---- notification decisions (KICK, KICK_SUPPRESSED) ---------------------------------- */

/* Packed (2.8.1, 2.8.21): the driver's position after a decision is its
 * position after the one before, moved on by the descriptors it made
 * available in between, its wrap counter flipped at each pass of the
 * ring's end.  A position that disagrees is a wrap counter gone stale
 * (or lost): the device will not see the next chains. */
static void packed_position_check(struct vq_model *m, struct model_queue *q,
				  const struct vqt_event *e, uint64_t seq)
{
	uint16_t before = VQT_KICK_STATE_DRIVER(q->decision_state);
	uint16_t after = VQT_KICK_STATE_DRIVER(e->arg);
	uint32_t off = (before & 0x7fffu) + q->descs_since_decision;
	bool wrap = before >> 15;
	uint16_t expect;
	char src[64];
	struct finding *f;
	bool fresh;

	if ((before & 0x7fffu) >= q->ring_size)
		return;
	wrap ^= (off / q->ring_size) & 1;
	off %= q->ring_size;
	expect = (uint16_t)(off | (uint32_t)wrap << 15);
	if (after == expect)
		return;
	f = seen(m, FC_PACKED_WRAP, slot_of(m, q), seq, &fresh);
	if (f && fresh) {
		event_source(src, sizeof(src), m, e->type, seq);
		evidence(f, "position before", "trace: previous decision", "offset %u, wrap %u",
			 before & 0x7fffu, before >> 15);
		evidence(f, "descriptors made available", "trace: ADD", "%u",
			 q->descs_since_decision);
		evidence(f, "position expected", "derived (2.8.1)", "offset %u, wrap %u", off,
			 wrap);
		evidence(f, "position reported", src, "offset %u, wrap %u", after & 0x7fffu,
			 after >> 15);
		explain(
		    f,
		    "after %u descriptors from offset %u the driver should be at offset %u with "
		    "wrap counter %u, but says offset %u wrap %u: its AVAIL/USED bits from here "
		    "belong to the wrong lap and the device will not take the buffers; check "
		    "where the wrap counter flips (a chain as long as the ring)",
		    q->descs_since_decision, before & 0x7fffu, off, wrap, after & 0x7fffu,
		    after >> 15);
	}
}

void findings_kick_mismatch(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			    uint64_t seq, uint16_t old_idx)
{
	uint64_t st = e->arg;
	bool notified = e->type == VQT_EV_KICK;
	bool packed = q->flags & VQT_QF_PACKED, event_idx = q->flags & VQT_QF_EVENT_IDX;
	char src[64], was[64];
	struct finding *f;
	bool fresh;

	if (!notified) {
		f = seen(m, FC_MISSED_NOTIFY, slot_of(m, q), seq, &fresh);
	} else {
		q->spurious_notifies++;
		f = seen(m, FC_SPURIOUS_NOTIFY, slot_of(m, q), seq, &fresh);
	}
	if (!f || !fresh)
		return;
	event_source(src, sizeof(src), m, e->type, seq);
	if (packed) {
		evidence(f, "device event flags", src, "%u (%s)", VQT_KICK_STATE_FLAGS(st),
			 VQT_KICK_STATE_FLAGS(st) == RING_EVENT_FLAGS_ENABLE	? "ENABLE"
			 : VQT_KICK_STATE_FLAGS(st) == RING_EVENT_FLAGS_DISABLE ? "DISABLE"
										: "DESC");
		evidence(f, "device event off_wrap", src, "0x%04x", VQT_KICK_STATE_EVENT(st));
		evidence(f, "driver position after", src, "0x%04x", VQT_KICK_STATE_DRIVER(st));
		evidence(f, "driver position before", "trace: previous decision", "0x%04x",
			 VQT_KICK_STATE_DRIVER(q->decision_state));
	} else if (event_idx) {
		evidence(f, "avail_event", src, "%u", VQT_KICK_STATE_EVENT(st));
		evidence(f, "avail index before", "trace: previous decision", "%u", old_idx);
		evidence(f, "avail index after", src, "%u", e->ring_idx);
	} else {
		evidence(f, "used.flags", src, "0x%x (NO_NOTIFY %s)", VQT_KICK_STATE_FLAGS(st),
			 VQT_KICK_STATE_FLAGS(st) & VRING_USED_F_NO_NOTIFY ? "set" : "clear");
		evidence(f, "avail index after", src, "%u", e->ring_idx);
	}
	snprintf(was, sizeof(was), "%s", notified ? "notified" : "did not notify");
	if (!notified)
		explain(f,
			"the driver %s although what it read says the device wants a "
			"notification (vring_need_event true): the device may never see these "
			"buffers; check the notify condition and the barrier before reading %s",
			was, packed ? "the device event structure" : "avail_event");
	else
		explain(f,
			"the driver notified although what it read says the device did not ask: "
			"each costs a VM exit; check the notify condition (%s)",
			event_idx ? "vring_need_event" : "used.flags NO_NOTIFY");
}

void findings_kick_packed(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			  uint64_t seq)
{
	/* 2.8.10: by the device's event suppression structure; in DESC mode
	 * by the driver's positions before and after. */
	uint64_t st = e->arg;
	uint16_t flags = VQT_KICK_STATE_FLAGS(st), off_wrap = VQT_KICK_STATE_EVENT(st);
	bool notified = e->type == VQT_EV_KICK, need, decidable = true;
	uint16_t old_idx = q->have_decision ? q->decision_idx : (uint16_t)(e->ring_idx - e->len);

	if (flags == RING_EVENT_FLAGS_DESC &&
	    !(q->have_decision && (q->decision_state & VQT_KICK_STATE_PRESENT)))
		decidable = false;
	need = packed_need_event(flags, off_wrap, VQT_KICK_STATE_DRIVER(q->decision_state),
				 VQT_KICK_STATE_DRIVER(st), q->ring_size);
	if (decidable && need != notified && q->ring_size)
		findings_kick_mismatch(m, q, e, seq, old_idx);
	if (q->have_decision && (q->decision_state & VQT_KICK_STATE_PRESENT) &&
	    !(q->flags & VQT_QF_INDIRECT) && q->ring_size)
		packed_position_check(m, q, e, seq);
	findings_kick_record(q, e, seq, notified, decidable && need);
}

/* ---- completions (USED) -------------------------------------------------------------- */

void findings_double_complete(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			      uint64_t seq)
{
	char src[64];
	struct finding *f;
	bool fresh;

	f = seen(m, FC_DOUBLE_COMPLETE, slot_of(m, q), seq, &fresh);
	if (!f || !fresh)
		return;
	event_source(src, sizeof(src), m, e->type, seq);
	evidence(f, "used index taken", src, "%u", e->ring_idx);
	evidence(f, "head", src, "%u", e->head);
	evidence(f, "driver's next used index", "trace: previous USED", "%u", q->last_used_idx);
	explain(f,
		"the driver processed used element %u again (its last_used index moved back): a "
		"completion handled twice, its buffer freed twice; check where the driver "
		"advances its used index",
		e->ring_idx);
}

void findings_used_not_in_flight(struct vq_model *m, struct model_queue *q,
				 const struct vqt_event *e, uint64_t seq)
{
	uint16_t head = e->head;
	char src[64];
	struct finding *f;
	bool fresh;

	f = seen(m, FC_USED_NOT_IN_FLIGHT, slot_of(m, q), seq, &fresh);
	if (!f || !fresh)
		return;
	event_source(src, sizeof(src), m, e->type, seq);
	evidence(f, "head", src, "%u", head);
	evidence(f, "used index", src, "%u", e->ring_idx);
	evidence(f, "head's last event", "trace", "USED, no ADD since");
	if (!(q->flags & VQT_QF_PACKED)) {
		q->elem_wanted = true;
		q->elem_wanted_index = e->ring_idx;
		q->elem_wanted_head = head;
	}
	explain(f,
		"used element %u names head %u, which the driver had not made available again: "
		"a device returning a wrong id, or a driver reusing a head it did not free; check "
		"the id the device wrote",
		e->ring_idx, head);
}

void findings_used_len_overflow(struct vq_model *m, struct model_queue *q,
				const struct vqt_event *e, uint64_t seq)
{
	uint16_t head = e->head;
	char src[64];
	struct finding *f;
	bool fresh;

	f = seen(m, FC_USED_LEN_OVERFLOW, slot_of(m, q), seq, &fresh);
	if (!f || !fresh)
		return;
	event_source(src, sizeof(src), m, e->type, seq);
	evidence(f, "written", src, "%u bytes", e->len);
	evidence(f, "chain bytes", "trace: its ADD", "%u bytes in all", q->heads[head].bytes);
	evidence(f, "head", src, "%u", head);
	explain(f,
		"the device reports writing %u bytes into a chain of %u bytes (2.7.8.1: len is "
		"what it wrote into the writable part): a descriptor that claims more than its "
		"buffer, or a device writing past it; check the writable descriptors' lengths",
		e->len, q->heads[head].bytes);
}

/* ---- queue-table snapshots (ACCOUNTING) ------------------------------------------------ */

void findings_on_table(struct vq_model *m, struct model_queue *q)
{
	uint32_t total = (uint32_t)q->table.num_free + q->in_flight_descs;
	struct finding *f;
	bool fresh;

	/* Only when the events and the table are of one moment (the table's
	 * counters are the events seen), and descriptors are ring entries
	 * (no indirect tables). */
	if (!q->ring_size || (q->flags & (VQT_QF_INDIRECT | VQT_QF_RECEIVE)) ||
	    q->table.counters[VQT_C_ADDS] != q->count[MC_ADDS] ||
	    q->table.counters[VQT_C_COMPLETIONS] != q->count[MC_COMPLETIONS] ||
	    q->count[MC_ADDS] == 0 || total == q->ring_size)
		return;
	f = seen(m, FC_ACCOUNTING, slot_of(m, q), 0, &fresh);
	if (f && fresh) {
		evidence(f, "free descriptors", "queue table (the driver's num_free)", "%u",
			 q->table.num_free);
		evidence(f, "descriptors in flight", "trace: ADD minus USED", "%u",
			 q->in_flight_descs);
		evidence(f, "queue size", "queue table", "%u", q->ring_size);
		explain(f,
			"%u free plus %u in flight is not the queue's %u descriptors: the "
			"driver's free list lost or duplicated descriptors; check where chains "
			"are freed",
			q->table.num_free, q->in_flight_descs, q->ring_size);
	}
}

/* ---- device samples (DEVICE-BROKEN) and the stuck checks ------------------------------- */

/* Everything that moves when a queue makes progress, folded together. */
static uint64_t progress_signature(const struct model_queue *q)
{
	uint64_t sig = q->count[MC_ADDS] * 0x9e3779b97f4a7c15ull;

	sig ^= q->count[MC_COMPLETIONS] * 0xc2b2ae3d27d4eb4full;
	sig ^= q->count[MC_KICKS] * 0x165667b19e3779f9ull;
	if (q->have_device)
		sig ^= (uint64_t)q->device.last_avail_idx << 16 ^
		       (uint64_t)q->device.used_idx << 32 ^ (uint64_t)q->device.inuse << 48;
	if (q->have_ring)
		sig ^= (uint64_t)q->ring.used_idx << 8 ^ (uint64_t)q->ring.avail_idx << 40;
	return sig;
}

static bool stuck_active(const struct vq_model *m, int slot, enum finding_code *code)
{
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct finding *f = &m->findings[i];

		if (f->queue == slot && f->code <= FC_STUCK_NOT_REAPED && f->active) {
			*code = f->code;
			return true;
		}
	}
	return false;
}

static void stuck_clear(struct vq_model *m, int slot)
{
	for (size_t i = 0; i < m->nfindings; i++) {
		struct finding *f = &m->findings[i];

		if (f->queue == slot && f->code <= FC_STUCK_NOT_REAPED)
			f->active = false;
	}
}

/* How long the queue stood still, and the time QEMU waited for a CPU
 * meanwhile, which is not counted in it. */
static void stalled_evidence(struct finding *f, const char *stalled, uint64_t waited_ns,
			     const char *waited)
{
	evidence(f, "no progress for", "host clock", "%s", stalled);
	if (waited_ns)
		evidence(f, "QEMU waited for a CPU", "host: /proc/PID/task/*/schedstat",
			 "%s more, not counted", waited);
}

/* The one stuck finding that fits: which side holds the queue up. */
static void stuck_diagnose(struct vq_model *m, struct model_queue *q, uint64_t stalled_ns,
			   uint64_t waited_ns)
{
	int slot = slot_of(m, q);
	bool packed = q->flags & VQT_QF_PACKED, event_idx = q->flags & VQT_QF_EVENT_IDX;
	uint16_t avail = q->have_ring && !packed ? q->ring.avail_idx : q->avail_idx;
	uint16_t used = q->have_ring && !packed ? q->ring.used_idx
			: q->have_device	? q->device.used_idx
						: q->last_used_idx;
	const char *avail_from = q->have_ring && !packed ? "guest RAM: avail ring" : "trace";
	const char *used_from = q->have_ring && !packed ? "guest RAM: used ring"
				: q->have_device	? "QMP: x-query-virtio-queue-status"
							: "trace";
	enum finding_code code;
	struct finding *f;
	bool fresh;
	char d[32], w[32];

	format_duration(d, sizeof(d), stalled_ns);
	format_duration(w, sizeof(w), waited_ns);
	/* Buffers the trace never saw posted (all of them before tracing
	 * began) say nothing of what they wait for: virtio-net's rx buffers,
	 * posted at probe, wait for packets, and the tracer learns that the
	 * queue receives only at its first add.  No verdict on them. */
	if (q->have_device && q->device.last_avail_idx != avail && !q->count[MC_ADDS])
		return;
	if (q->have_device && q->device.last_avail_idx != avail &&
	    (uint16_t)(avail - q->device.last_avail_idx) <= q->ring_size) {
		/* Buffers the device has not taken.  Did the driver tell it?
		 * The last decision covered the newest buffer, and said so. */
		bool notified =
		    q->have_decision && q->decision_idx == q->avail_idx && q->decision_notified;
		bool asked; /* the device's own state asks for a notification */

		if (!q->have_ring)
			/* No ring sample (--no-ram): what the driver read at
			 * its decision for the newest buffer. */
			asked = q->have_decision && q->decision_idx == q->avail_idx &&
				q->decision_asked;
		else if (packed)
			asked = q->have_ring && q->ring.device_flags != RING_EVENT_FLAGS_DISABLE;
		else if (event_idx && q->have_ring)
			asked =
			    ring_need_event(q->ring.avail_event, avail, q->device.last_avail_idx);
		else
			asked = q->have_ring && !(q->ring.used_flags & VRING_USED_F_NO_NOTIFY);
		code = !notified && asked ? FC_STUCK_NOT_NOTIFIED : FC_STUCK_DEVICE_NOT_FETCHED;
		f = seen(m, code, slot, 0, &fresh);
		if (f && fresh) {
			evidence(f, "avail.idx", avail_from, "%u", avail);
			evidence(f, "device's last_avail_idx", "QMP: x-query-virtio-queue-status",
				 "%u", q->device.last_avail_idx);
			if (q->have_ring && !packed)
				evidence(f, event_idx ? "avail_event" : "used.flags",
					 "guest RAM: used ring", event_idx ? "%u" : "0x%x",
					 event_idx ? q->ring.avail_event : q->ring.used_flags);
			if (q->have_decision)
				evidence(f, "last kick decision", "trace",
					 "%s at avail index %u (event %u:%llu)",
					 q->decision_notified ? "notified" : "suppressed",
					 q->decision_idx, m->generation,
					 (unsigned long long)q->decision_seq);
			else
				evidence(f, "last kick decision", "trace", "none since the adds");
			stalled_evidence(f, d, waited_ns, w);
			if (code == FC_STUCK_NOT_NOTIFIED)
				explain(
				    f,
				    "%u buffer%s made available, and the device asked to be "
				    "notified, but the driver never notified it: the device "
				    "waits for a kick that does not come (lost kick); check the "
				    "driver's notify decision",
				    (uint16_t)(avail - q->device.last_avail_idx),
				    (uint16_t)(avail - q->device.last_avail_idx) == 1 ? " is"
										      : "s are");
			else if (model_finding(m, FC_PACKED_WRAP, slot))
				explain(f,
					"the device was notified but has not taken %u buffer%s: "
					"the driver marked %s available for the wrong lap "
					"(PACKED-WRAP on this queue), so the device cannot see "
					"%s; the driver's side, at its wrap counter",
					(uint16_t)(avail - q->device.last_avail_idx),
					(uint16_t)(avail - q->device.last_avail_idx) == 1 ? ""
											  : "s",
					(uint16_t)(avail - q->device.last_avail_idx) == 1 ? "it"
											  : "them",
					(uint16_t)(avail - q->device.last_avail_idx) == 1 ? "it"
											  : "them");
			else if (q->device_broken)
				explain(f,
					"the device was notified but has not taken %u buffer%s: "
					"QEMU stopped it (DEVICE-BROKEN on this queue) until the "
					"driver resets it",
					(uint16_t)(avail - q->device.last_avail_idx),
					(uint16_t)(avail - q->device.last_avail_idx) == 1 ? ""
											  : "s");
			else
				explain(
				    f,
				    "the device was notified (or said it would poll) but has not "
				    "taken %u buffer%s from the avail ring: look at the device "
				    "side (is it broken, paused, waiting for an I/O backend?)",
				    (uint16_t)(avail - q->device.last_avail_idx),
				    (uint16_t)(avail - q->device.last_avail_idx) == 1 ? "" : "s");
		}
		return;
	}
	if (q->have_device && q->device.inuse > 0 && used == q->last_used_idx) {
		f = seen(m, FC_STUCK_DEVICE_BUSY, slot, 0, &fresh);
		if (f && fresh) {
			evidence(f, "buffers in the device (inuse)",
				 "QMP: x-query-virtio-queue-status", "%u", q->device.inuse);
			evidence(f, "used.idx", used_from, "%u", used);
			stalled_evidence(f, d, waited_ns, w);
			explain(f,
				"the device took %u buffer%s and has not completed %s in %s: the "
				"device or its backend holds them; check the backend (disk, "
				"network, host) and QEMU's log",
				q->device.inuse, q->device.inuse == 1 ? "" : "s",
				q->device.inuse == 1 ? "it" : "them", d);
		}
		return;
	}
	if (used != q->last_used_idx && (uint16_t)(used - q->last_used_idx) <= q->ring_size) {
		/* Completions the driver has not taken.  It polls, or an
		 * interrupt came since it last moved: it should have seen them. */
		bool polling = q->count[MC_POLLS] != q->polls_at_progress;
		bool irq = q->count[MC_IRQS] != q->irqs_at_progress;
		bool wants_irq; /* the driver asked for an interrupt */
		uint16_t waiting = (uint16_t)(used - q->last_used_idx);
		const char *plural = waiting == 1 ? "" : "s";

		if (!q->have_ring)
			/* No ring sample (--no-ram): what the driver said it
			 * wrote, in its latest CB event. */
			wants_irq = q->have_cb && q->cb_enabled &&
				    (packed || !event_idx ||
				     ring_need_event(q->cb_used_event, used, q->last_used_idx));
		else if (packed)
			wants_irq =
			    q->have_ring && q->ring.driver_flags != RING_EVENT_FLAGS_DISABLE;
		else if (event_idx && q->have_ring)
			wants_irq = ring_need_event(q->ring.used_event, used, q->last_used_idx);
		else
			wants_irq =
			    q->have_ring && !(q->ring.avail_flags & VRING_AVAIL_F_NO_INTERRUPT);
		code = polling || irq || !wants_irq ? FC_STUCK_NOT_REAPED : FC_STUCK_NO_INTERRUPT;
		f = seen(m, code, slot, 0, &fresh);
		if (f && fresh) {
			evidence(f, "used.idx", used_from, "%u", used);
			evidence(f, "driver's last used index", "trace", "%u", q->last_used_idx);
			if (q->have_ring && !packed)
				evidence(f, event_idx ? "used_event" : "avail.flags",
					 "guest RAM: avail ring", event_idx ? "%u" : "0x%x",
					 event_idx ? q->ring.used_event : q->ring.avail_flags);
			else if (!q->have_ring && q->have_cb && event_idx && !packed)
				evidence(f, "used_event", "trace: CB", "%u (notifications %s)",
					 q->cb_used_event, q->cb_enabled ? "on" : "off");
			else if (!q->have_ring && q->have_cb)
				evidence(f, "notifications", "trace: CB", "%s",
					 q->cb_enabled ? "on" : "off");
			evidence(f, "interrupts since", "trace: IRQ", "%llu",
				 (unsigned long long)(q->count[MC_IRQS] - q->irqs_at_progress));
			evidence(f, "polls since", "trace: POLL", "%llu",
				 (unsigned long long)(q->count[MC_POLLS] - q->polls_at_progress));
			stalled_evidence(f, d, waited_ns, w);
			if (code == FC_STUCK_NO_INTERRUPT)
				explain(f,
					"the device used %u buffer%s and the driver asked for an "
					"interrupt (%s), but none reached the driver: a lost "
					"interrupt; check the barrier between writing used_event "
					"and reading used.idx, and the interrupt path",
					waiting, plural,
					event_idx ? "used_event passed" : "NO_INTERRUPT clear");
			else if (!wants_irq && !polling && !irq && q->count[MC_POLLS] &&
				 !q->count[MC_IRQS])
				/* A driver that polls keeps notifications off: it
				 * waits for no interrupt, it stopped polling. */
				explain(f,
					"the device used %u buffer%s, but the driver, which "
					"polls this queue with used-buffer notifications off, "
					"stopped polling: it no longer waits for the device "
					"(it gave up, halted or waits elsewhere%s); check what "
					"it did after its last poll",
					waiting, plural,
					q->count[MC_ERRORS] ? "; it reported errors on this queue, "
							      "trace: ERROR"
							    : "");
			else if (!wants_irq && !polling && !irq)
				explain(f,
					"the device used %u buffer%s, but the driver turned "
					"used-buffer notifications off and neither polls nor turns "
					"them on again: it waits for an interrupt it disabled; "
					"check where notifications are re-enabled",
					waiting, plural);
			else
				explain(f,
					"the device used %u buffer%s and the driver %s, but does "
					"not take them: check the driver's reap loop (its used "
					"index, the barrier after reading used.idx)",
					waiting, plural, irq ? "got an interrupt" : "polls");
		}
	}
}

static void stuck_check(struct vq_model *m, struct model_queue *q, uint64_t host_ns)
{
	uint64_t sig = progress_signature(q), waited, stalled;
	int slot = slot_of(m, q);

	if (sig != q->progress_sig || !q->progress_host_ns || m->vm_paused) {
		/* Moving (or paused on purpose): start over from here. */
		if (sig != q->progress_sig)
			stuck_clear(m, slot);
		q->progress_sig = sig;
		q->progress_host_ns = host_ns;
		q->progress_cpu_wait_ns = m->cpu_wait_ns;
		q->irqs_at_progress = q->count[MC_IRQS];
		q->polls_at_progress = q->count[MC_POLLS];
		return;
	}
	/* Receive queues wait for the outside world, not for a command. */
	if ((q->flags & VQT_QF_RECEIVE) || !q->ring_size || host_ns < q->progress_host_ns)
		return;
	/* Time QEMU spent waiting for a CPU is not time the queue stood
	 * still: a loaded host ran neither the guest nor the device. */
	waited = m->cpu_wait_ns - q->progress_cpu_wait_ns;
	stalled = host_ns - q->progress_host_ns;
	stalled = stalled > waited ? stalled - waited : 0;
	if (stalled < m->opts.stuck_after_ns)
		return;
	/* The producer must have run through the stall: one that stopped
	 * leaves the trace standing still while the queue moves on. */
	if (!model_producer_heard_since(m, q->progress_host_ns + m->opts.stuck_after_ns))
		return;
	if (q->in_flight == 0 && q->avail_idx == q->last_used_idx &&
	    !(q->have_device && q->device.inuse))
		return; /* nothing outstanding: idle, not stuck */
	{
		enum finding_code code;
		bool fresh;

		/* One diagnosis per episode: what the driver does after it
		 * gave up (a last poll, an error) does not change who held
		 * the queue up. */
		if (stuck_active(m, slot, &code)) {
			seen(m, code, slot, 0, &fresh);
			return;
		}
	}
	stuck_diagnose(m, q, stalled, waited);
}

void findings_on_device(struct vq_model *m, struct model_queue *q, uint64_t host_ns)
{
	struct finding *f;
	bool fresh;

	if (q->device.flags & VQR_DQ_BROKEN) {
		/* Once per device: its other queues are broken with it. */
		for (int s = 0; s < slot_of(m, q); s++)
			if (m->queues[s].device_broken &&
			    strncmp(m->queues[s].device.path, q->device.path,
				    sizeof(q->device.path)) == 0)
				return;
		q->device_broken = true;
		f = seen(m, FC_DEVICE_BROKEN, slot_of(m, q), 0, &fresh);
		if (f && fresh) {
			evidence(f, "device", "QMP: x-query-virtio", "%.*s %.*s",
				 (int)sizeof(q->device.name), q->device.name,
				 (int)sizeof(q->device.path), q->device.path);
			evidence(f, "broken", "QMP: x-query-virtio-status", "true");
			evidence(f, "used.idx", "QMP: x-query-virtio-queue-status", "%u",
				 q->device.used_idx);
			explain(f,
				"QEMU found something in the rings it cannot process and stopped "
				"the device (virtio_error: DEVICE_NEEDS_RESET, 2.1.2); QEMU's log "
				"says what (e.g. \"Looped descriptor\"); the driver must reset "
				"the device");
		}
	}
	if (!q->have_ring)
		stuck_check(m, q, host_ns);
}

/* ---- ring samples from guest RAM (BAD-CHAIN, PACKED-WRAP, stuck) ----------------------- */

static bool same_chain_problem(const struct vqr_ring_queue *a, const struct vqr_ring_queue *b)
{
	return (a->flags & VQR_RQ_BAD_CHAIN) && (b->flags & VQR_RQ_BAD_CHAIN) &&
	       a->chain_head == b->chain_head && a->chain_problem == b->chain_problem &&
	       a->chain_bad_index == b->chain_bad_index && a->chain_bad_value == b->chain_bad_value;
}

void findings_on_ring(struct vq_model *m, struct model_queue *q, const struct vqr_ring_queue *r,
		      uint64_t host_ns)
{
	int slot = slot_of(m, q);
	struct finding *f;
	bool fresh;

	q->ring = *r;
	q->have_ring = (r->flags & VQR_RQ_VALID) != 0;
	q->ring_host_ns = host_ns;

	/* A chain in flight that the device cannot follow.  Guest RAM and
	 * the events are read at different moments: believe it when two
	 * samples agree and no buffer was added in between. */
	if (same_chain_problem(r, &q->bad_chain_seen) && q->bad_chain_adds == q->count[MC_ADDS]) {
		f = seen(m, FC_BAD_CHAIN, slot, 0, &fresh);
		if (f && fresh) {
			evidence(f, q->flags & VQT_QF_PACKED ? "position" : "head", "guest RAM",
				 "%u", r->chain_head);
			evidence(f, "problem", "guest RAM: descriptor table", "%s",
				 chain_problem_name((enum chain_problem)r->chain_problem));
			evidence(f, "descriptor", "guest RAM: descriptor table", "%u",
				 r->chain_bad_index);
			evidence(f, "value read", "guest RAM: descriptor table", "%llu (0x%llx)",
				 (unsigned long long)r->chain_bad_value,
				 (unsigned long long)r->chain_bad_value);
			explain(f,
				"the chain at %s %u is malformed (%s at descriptor %u): a device "
				"that follows it fails or loops (QEMU marks the device broken); "
				"check how the driver links descriptors",
				q->flags & VQT_QF_PACKED ? "position" : "head", r->chain_head,
				chain_problem_name((enum chain_problem)r->chain_problem),
				r->chain_bad_index);
		}
	}
	q->bad_chain_seen = *r;
	q->bad_chain_adds = q->count[MC_ADDS];

	/* The used element a USED-NOT-IN-FLIGHT named, as the device wrote
	 * it: the same id means the device returned a buffer the driver
	 * does not have out; another means the driver misread the element. */
	f = (struct finding *)model_finding(m, FC_USED_NOT_IN_FLIGHT, slot);
	if ((r->flags & VQR_RQ_USED_ELEM) && q->elem_wanted && f &&
	    r->elem_index == q->elem_wanted_index) {
		q->elem_wanted = false;
		evidence(f, "id the device wrote", "guest RAM: used ring", "%u (len %u)",
			 r->elem_id, r->elem_len);
		if (r->elem_id == q->elem_wanted_head)
			explain(f,
				"the device wrote id %u at used index %u, a buffer the driver had "
				"not made available again: the device's side returned an id it "
				"does not own (2.7.8); check how the device tracks ids",
				r->elem_id, r->elem_index);
		else
			explain(f,
				"the device wrote id %u at used index %u, but the driver took id "
				"%u: the driver's side read the element wrong (a stale value, or "
				"no acquire fence between reading used.idx and the element, "
				"2.7.13); check how the driver reads the used element",
				r->elem_id, r->elem_index, q->elem_wanted_head);
	}

	/* Packed: the newest chain's flags against the driver's wrap counter,
	 * also twice with the driver at the same position. */
	if ((r->flags & VQR_RQ_BAD_WRAP) && (q->bad_wrap_seen.flags & VQR_RQ_BAD_WRAP) &&
	    r->wrap_position == q->bad_wrap_seen.wrap_position &&
	    r->wrap_flags == q->bad_wrap_seen.wrap_flags &&
	    r->wrap_driver_pos == q->bad_wrap_seen.wrap_driver_pos) {
		f = seen(m, FC_PACKED_WRAP, slot, 0, &fresh);
		if (f && fresh) {
			bool wrap = r->wrap_driver_pos >> 15;
			uint16_t off = r->wrap_driver_pos & 0x7fff;
			/* A position at or after the driver's offset is the lap
			 * before, with the other wrap counter. */
			bool expected = r->wrap_position < off ? wrap : !wrap;

			evidence(f, "descriptor", "guest RAM: descriptor ring", "%u",
				 r->wrap_position);
			evidence(f, "flags", "guest RAM: descriptor ring",
				 "0x%04x (AVAIL %u, USED %u)", r->wrap_flags,
				 (r->wrap_flags & VRING_PACKED_F_AVAIL) ? 1 : 0,
				 (r->wrap_flags & VRING_PACKED_F_USED) ? 1 : 0);
			evidence(f, "driver's position", "trace: KICK state",
				 "offset %u, wrap counter %u", off, wrap);
			evidence(f, "wrap counter for it", "derived", "%u", expected);
			explain(f,
				"descriptor %u, which the driver made available, has AVAIL %u "
				"while the driver's wrap counter for it is %u: the device sees it "
				"as belonging to another lap and does not take it; check where the "
				"driver flips its wrap counter (a chain as long as the ring)",
				r->wrap_position, (r->wrap_flags & VRING_PACKED_F_AVAIL) ? 1 : 0,
				expected);
		}
	}
	q->bad_wrap_seen = *r;
	if (q->have_ring)
		stuck_check(m, q, host_ns);
}

/* ---- totals (LEAK, LOG-DOMINATES, FENCE-PER-SPIN) ----------------------------------------- */

static void leak_check(struct vq_model *m, struct model_queue *q)
{
	uint64_t p99 = hist_quantile(&q->latency, 0.99), limit = LEAK_LATENCY_FACTOR * p99;
	struct finding *f;
	bool fresh;

	if (limit < LEAK_MIN_NS)
		limit = LEAK_MIN_NS;
	if (!q->head_state || !q->ring_size || (q->flags & VQT_QF_RECEIVE) ||
	    q->latency.count < LEAK_MIN_LATER)
		return;
	for (unsigned h = 0; h < q->ring_size; h++) {
		char d[32], p[32];

		uint32_t later = (uint32_t)q->count[MC_COMPLETIONS] - q->heads[h].done_at_add;

		if (q->head_state[h] == HEAD_FREE || now_ns(m) < q->heads[h].add_ns + limit ||
		    later < LEAK_MIN_LATER)
			continue;
		f = seen(m, FC_LEAK, slot_of(m, q), 0, &fresh);
		if (f && fresh) {
			format_duration(d, sizeof(d), now_ns(m) - q->heads[h].add_ns);
			format_duration(p, sizeof(p), p99);
			evidence(f, "head", "trace: ADD", "%u", h);
			evidence(f, "in flight for", "trace", "%s", d);
			evidence(f, "completed since", "trace: USED", "%u buffers", later);
			evidence(f, "queue's p99 latency", "trace", "%s", p);
			explain(f,
				"head %u has been in flight for %s while %u later buffers "
				"completed (p99 %s): a buffer the driver never gets back (a used "
				"element dropped, a chain never freed); the ring runs dry as they "
				"add up",
				h, d, later, p);
		}
		return;
	}
}

void model_check(struct vq_model *m)
{
	struct finding *f;
	bool fresh;

	if (m->opts.no_findings)
		return;
	/* A recording's queue names can come after its first events. */
	for (size_t i = 0; i < m->nfindings; i++) {
		struct finding *x = &m->findings[i];

		if (x->queue >= 0 && x->queue_name[0] == '?' && m->queues[x->queue].name[0])
			vqp_copy_string(x->queue_name, sizeof(x->queue_name),
					m->queues[x->queue].name);
	}
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		struct model_queue *q = &m->queues[s];
		uint64_t polls = q->count[MC_POLLS], spins = q->count[MC_SPINS];

		if (!q->active && !q->gone)
			continue;
		leak_check(m, q);
		/* Polls that saw progress with no fence at all: nothing
		 * orders the load of used.idx before the loads of the used
		 * elements (2.7.13).  x86 keeps loads in order; others do not. */
		if (q->polls_progress_no_fence) {
			f = seen(m, FC_POLL_NO_FENCE, (int)s, 0, &fresh);
			if (f && fresh) {
				evidence(f, "polls: progress, no fence", "trace: POLL", "%llu",
					 (unsigned long long)q->polls_progress_no_fence);
				evidence(f, "polls", "trace: POLL", "%llu",
					 (unsigned long long)polls);
				explain(f,
					"the driver read the used ring after seeing used.idx move "
					"with no fence in between: correct on x86 only; an acquire "
					"fence after the index moved is what 2.7.13 asks for");
			}
		}
		/* A fence per spin (or more), over polls that spin: where one
		 * acquire fence after the index moved is enough (2.7.13). */
		if (polls >= 16 && spins >= 2 * polls && q->count[MC_BARRIERS] >= spins) {
			f = seen(m, FC_FENCE_PER_SPIN, (int)s, 0, &fresh);
			if (f && fresh) {
				evidence(f, "barriers", "trace: POLL", "%llu",
					 (unsigned long long)q->count[MC_BARRIERS]);
				evidence(f, "spins", "trace: POLL", "%llu",
					 (unsigned long long)spins);
				evidence(f, "polls", "trace: POLL", "%llu",
					 (unsigned long long)polls);
				explain(
				    f,
				    "%.1f fences per spin of the poll loop: one acquire fence "
				    "after used.idx is seen to move is all 2.7.13 asks for; the "
				    "others cost time without ordering anything more",
				    (double)q->count[MC_BARRIERS] / (double)spins);
			}
		}
	}
	if (m->frames_total >= LOG_MIN_FRAMES && m->frames_attr.total_ns &&
	    m->frames_attr.ns[ATTR_LOG] * 100 < m->frames_attr.total_ns * LOG_SHARE_PCT) {
		/* Said before, not so over the session any more. */
		f = (struct finding *)model_finding(m, FC_LOG_DOMINATES, -1);
		if (f)
			f->active = false;
	} else if (m->frames_total >= LOG_MIN_FRAMES && m->frames_attr.total_ns) {
		char per[32];

		f = seen(m, FC_LOG_DOMINATES, -1, 0, &fresh);
		if (f && fresh) {
			format_duration(per, sizeof(per),
					m->frames_attr.ns[ATTR_LOG] / m->frames_total);
			evidence(f, "log time per frame", "trace: LOG", "%s", per);
			evidence(f, "share of frame time", "trace: FRAME_BEGIN..LOG", "%u%%",
				 attr_percent(&m->frames_attr, ATTR_LOG));
			evidence(f, "frames", "trace: FRAME_BEGIN", "%llu",
				 (unsigned long long)m->frames_total);
			explain(f,
				"writing log output takes most of each frame (%s of it), more "
				"than the device and the polling: log less, or to a buffer, before "
				"tuning barriers",
				per);
		}
	}
}
