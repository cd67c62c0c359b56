/* ring_view.c - one virtqueue's ring state for the ring view (see
 * ring_view.h).  Split ring indices are free-running u16, masked only to
 * index the ring, distances by u16 subtraction (virtio 1.2, 2.7.6 and
 * 2.7.8); packed ring positions are an offset and a wrap counter (2.8.1),
 * compared as a place in a cycle of two laps. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ring_view.h"

#define HISTORY_WALK_MAX (1u << 20) /* events looked at for recent entries */

const char *ring_source_name(enum ring_source s)
{
	static const char *const names[] = {"-", "trace events", "queue table", "guest RAM", "QMP"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *ring_state_name(enum ring_slot_state s)
{
	static const char *const names[RING_STATES] = {"free", "available", "in device", "used"};
	return s < RING_STATES ? names[s] : "?";
}

char ring_state_char(enum ring_slot_state s)
{
	static const char chars[RING_STATES] = {'.', 'a', 'D', 'U'};
	return s < RING_STATES ? chars[s] : '?';
}

const char *packed_position_name(enum packed_position p)
{
	static const char *const names[PACKED_POSITIONS] = {"free", "available", "used, not taken",
							    "not this lap"};
	return p < PACKED_POSITIONS ? names[p] : "?";
}

char packed_position_char(enum packed_position p)
{
	static const char chars[PACKED_POSITIONS] = {'.', 'a', 'U', '?'};
	return p < PACKED_POSITIONS ? chars[p] : '?';
}

static bool ring_view_begin(struct ring_view *v, const struct vq_model *m, unsigned slot)
{
	const struct model_queue *q = slot < MODEL_QUEUES ? &m->queues[slot] : NULL;

	v->valid = false;
	v->slot = slot;
	v->size = 0;
	v->navail = v->nused = 0;
	v->driver_avail_known = v->driver_used_known = false;
	v->driver_from = RING_FROM_NONE;
	v->in_flight = v->in_flight_descs = 0;
	v->ram_valid = false;
	v->qmp_known = false;
	v->qmp_behind = 0;
	v->qmp_age_ns = 0;
	v->from_ram = false;
	v->layout.valid = false;
	v->layout.note[0] = 0;
	v->note[0] = 0;
	memset(v->count, 0, sizeof(v->count));
	if (!q || !q->ring_size || q->ring_size > VQT_RING_SIZE_MAX) {
		snprintf(v->why, sizeof(v->why), "queue slot %u has no known ring size", slot);
		return false;
	}
	v->size = q->ring_size;
	v->packed = q->flags & VQT_QF_PACKED;
	v->event_idx = q->flags & VQT_QF_EVENT_IDX;
	v->indirect = q->flags & VQT_QF_INDIRECT;
	return true;
}

static void count_states(struct ring_view *v)
{
	memset(v->count, 0, sizeof(v->count));
	for (unsigned i = 0; i < v->size; i++)
		v->count[v->state[i] < RING_STATES ? v->state[i] : RING_FREE]++;
}

static void reverse(struct ring_entry *e, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct ring_entry t = e[i];

		e[i] = e[n - 1 - i];
		e[n - 1 - i] = t;
	}
}

/* The newest ADD and USED events of the queue up to history index upto
 * (inclusive), as avail and used ring entries. */
static void recent_from_history(struct ring_view *v, const struct vq_model *m, size_t upto)
{
	size_t want = v->size < RING_VIEW_ENTRIES ? v->size : RING_VIEW_ENTRIES;
	uint32_t generation;

	v->navail = v->nused = 0;
	if (upto >= m->history_len)
		return;
	generation = model_history_at(m, upto)->generation;
	for (size_t i = upto + 1, walked = 0; i-- > 0 && walked < HISTORY_WALK_MAX; walked++) {
		const struct model_history_entry *h = model_history_at(m, i);
		const struct vqt_event *e = &h->ev;

		if (h->generation != generation || (v->navail >= want && v->nused >= want))
			break;
		if (e->queue != v->slot)
			continue;
		if (e->type == VQT_EV_QUEUE)
			break;
		if (e->type == VQT_EV_ADD && v->navail < want)
			v->avail[v->navail++] = (struct ring_entry){e->ring_idx, e->head, e->len};
		else if (e->type == VQT_EV_USED && v->nused < want)
			v->used[v->nused++] = (struct ring_entry){e->ring_idx, e->head, e->len};
	}
	reverse(v->avail, v->navail);
	reverse(v->used, v->nused);
}

bool ring_geometry_of(const struct model_queue *q, struct ring_geometry *g)
{
	/* The queue table's addresses; QEMU's (vring-desc/avail/used: the
	 * descriptor area, driver area and device area, 2.6) when the
	 * guest's are not known. */
	bool dev = q->have_device;

	*g = (struct ring_geometry){
	    .packed = q->flags & VQT_QF_PACKED,
	    .event_idx = q->flags & VQT_QF_EVENT_IDX,
	    .size = q->ring_size,
	    .desc = q->desc_addr ? q->desc_addr : (dev ? q->device.desc_addr : 0),
	    .driver_area = q->avail_addr ? q->avail_addr : (dev ? q->device.avail_addr : 0),
	    .device_area = q->used_addr ? q->used_addr : (dev ? q->device.used_addr : 0),
	};
	return g->size && g->size <= VQT_RING_SIZE_MAX && g->desc && g->driver_area &&
	       g->device_area;
}

/* ---- split rings (2.7) ----------------------------------------------------------------- */

/* Read the avail and used rings with their event fields from guest
 * memory; mark used-but-not-reaped heads.  False when a ring is not
 * readable (v->note says why). */
static bool split_from_ram(struct ring_view *v, const struct guest_mem *mem,
			   const struct ring_geometry *g)
{
	uint16_t size = v->size, n = size < RING_VIEW_ENTRIES ? size : RING_VIEW_ENTRIES, pending;
	const struct ring_indices *ix = &v->ram;

	/* ring_read_indices reads each ring's header and the event field
	 * after its last entry (2.7.6, 2.7.8): both rings are whole in guest
	 * RAM, or neither is used. */
	if (!ring_read_indices(mem, g, &v->ram)) {
		snprintf(v->note, sizeof(v->note),
			 "the avail ring at 0x%llx or the used ring at 0x%llx is outside guest RAM",
			 (unsigned long long)g->driver_area, (unsigned long long)g->device_area);
		return false;
	}
	v->ram_valid = true;
	v->from_ram = true;
	v->navail = v->nused = 0;
	for (uint16_t k = 0; k < n; k++) {
		uint16_t idx = (uint16_t)(ix->avail_idx - n + k), head;
		uint32_t id, len;

		if (split_avail_entry(mem, g, idx, &head))
			v->avail[v->navail++] = (struct ring_entry){idx, head, 0};
		idx = (uint16_t)(ix->used_idx - n + k);
		if (split_used_entry(mem, g, idx, &id, &len))
			v->used[v->nused++] = (struct ring_entry){idx, id, len};
	}

	/* Heads the device finished that the driver has not reaped yet. */
	if (!v->driver_used_known)
		return true;
	pending = (uint16_t)(ix->used_idx - v->driver_used_idx);
	if (pending > size) {
		/* More than the ring holds: the events read so far lag a
		 * running guest (or the device broke the ring). */
		snprintf(v->note, sizeof(v->note),
			 "used.idx %u is %u past the last used index %u in the events: the "
			 "events lag the running guest",
			 ix->used_idx, pending, v->driver_used_idx);
		return true;
	}
	for (uint16_t k = 0; k < pending; k++) {
		uint16_t idx = (uint16_t)(v->driver_used_idx + k);
		uint32_t id, len;

		if (!split_used_entry(mem, g, idx, &id, &len))
			break;
		if (id >= size) {
			snprintf(v->note, sizeof(v->note),
				 "used ring entry %u holds id %u, outside the ring of %u", idx, id,
				 size);
			continue;
		}
		if (v->state[id] != RING_FREE)
			v->state[id] = RING_USED;
	}
	return true;
}

/* ---- packed rings (2.8) ---------------------------------------------------------------- */

/* A position as a place in the cycle of two laps: the driver starts at
 * offset 0 with wrap counter 1 (2.8.1), so lap "wrap 1" comes first. */
static uint32_t lap_place(uint16_t off, bool wrap, uint16_t size)
{
	return off + (wrap ? 0u : size);
}

/* Descriptors from position a to position b, going forward (0..2 size-1). */
static uint32_t lap_distance(uint16_t a_off, bool a_wrap, uint16_t b_off, bool b_wrap,
			     uint16_t size)
{
	uint32_t cycle = 2u * size;

	return (lap_place(b_off, b_wrap, size) + cycle - lap_place(a_off, a_wrap, size)) % cycle;
}

/* Move a position n descriptors on (n < 2 size), flipping the wrap
 * counter at each pass of the ring's end (2.8.1). */
static void lap_advance(uint16_t *off, bool *wrap, uint32_t n, uint16_t size)
{
	uint32_t o = *off + n;

	while (o >= size) {
		o -= size;
		*wrap = !*wrap;
	}
	*off = (uint16_t)o;
}

static void lap_back(uint16_t *off, bool *wrap, uint32_t n, uint16_t size)
{
	lap_advance(off, wrap, 2u * size - n % (2u * size), size);
}

static bool avail_bit(const struct packed_layout *l, uint16_t p)
{
	return (l->flags[p] & VRING_PACKED_F_AVAIL) != 0;
}

static void layout_note(struct packed_layout *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void layout_note(struct packed_layout *l, const char *fmt, ...)
{
	va_list ap;

	if (l->note[0])
		return; /* the first thing found stays */
	va_start(ap, fmt);
	vsnprintf(l->note, sizeof(l->note), fmt, ap);
	va_end(ap);
}

/* The driver's next position from the AVAIL bits (2.8.1, 2.8.21.1): it
 * writes AVAIL = its wrap counter, which flips at the ring's end, so the
 * positions before its next one carry the counter and those from there
 * on the inverse (those of the lap before).  All bits alike: it stands at
 * offset 0, with the counter that the bits do not show yet. */
static void driver_from_avail_bits(struct packed_layout *l)
{
	uint16_t size = l->size, p;
	bool first = avail_bit(l, 0);

	for (p = 1; p < size && avail_bit(l, p) == first; p++)
		;
	if (p == size) {
		l->driver_off = 0;
		l->driver_wrap = !first;
		return;
	}
	l->driver_off = p;
	l->driver_wrap = first;
	for (; p < size; p++)
		if (avail_bit(l, p) == l->driver_wrap) {
			layout_note(l,
				    "position %u has AVAIL %u (flags 0x%04x) past the driver's "
				    "position %u: a chain being written, or a wrong wrap counter "
				    "(2.8.1)",
				    p, l->driver_wrap, l->flags[p], l->driver_off);
			return;
		}
}

/* The driver's position by its trace: its last kick decision's position
 * moved on by the descriptors it added since (as the findings check it). */
static void driver_from_trace(struct packed_layout *l, const struct model_queue *q)
{
	uint16_t pos;

	l->trace_known = false;
	if (!q->have_decision || !(q->decision_state & VQT_KICK_STATE_PRESENT))
		return;
	pos = VQT_KICK_STATE_DRIVER(q->decision_state);
	if ((pos & 0x7fffu) >= l->size)
		return;
	l->trace_known = true;
	l->trace_off = pos & 0x7fffu;
	l->trace_wrap = pos >> 15;
	lap_advance(&l->trace_off, &l->trace_wrap, q->descs_since_decision % (2u * l->size),
		    l->size);
}

/* Descriptors of the used buffer id whose used descriptor is at position
 * off: the device moves on by the descriptors of the buffer it used
 * (2.8.7), which its ADD event said; the others keep the driver's flags
 * of their lap (AVAIL == wrap, USED != wrap).  1 when that does not hold. */
static uint32_t used_positions(const struct packed_layout *l, const struct model_queue *q,
			       uint16_t id, uint16_t off, bool wrap, uint32_t left)
{
	uint32_t n = 1;

	if (id < q->ring_size && q->head_state && q->heads && q->head_state[id] != HEAD_FREE &&
	    q->heads[id].ndesc >= 1)
		n = q->heads[id].ndesc;
	if (n > left)
		n = left;
	for (uint32_t k = 1; k < n; k++) {
		uint16_t p = off;
		bool w = wrap;

		lap_advance(&p, &w, k, l->size);
		if (packed_slot_state(l->flags[p], w) != PACKED_AVAIL)
			return 1;
	}
	return n;
}

static void mark(struct packed_layout *l, uint16_t off, uint32_t n, enum packed_position what,
		 uint16_t id)
{
	for (uint32_t k = 0; k < n; k++) {
		uint16_t p = (uint16_t)((off + k) % l->size);

		l->state[p] = (uint8_t)(what | (k == 0 ? PACKED_POS_START : 0));
		l->id[p] = id;
	}
}

/* Walk the buffers in flight, from where the driver reaps to where it
 * adds, in ring order: the device's used descriptors first (2.8.7), then
 * the chains still available (2.8.6). */
static void walk_in_flight(struct packed_layout *l, const struct guest_mem *mem,
			   const struct model_queue *q, const struct ring_geometry *g, uint32_t n)
{
	uint16_t off = l->reap_off;
	bool wrap = l->reap_wrap, seen_avail = false;

	l->device_off = off;
	l->device_wrap = wrap;
	for (uint32_t left = n; left > 0;) {
		uint16_t flags = l->flags[off], id = l->id[off];
		uint32_t k = 1;
		struct chain_walk w;

		switch (packed_slot_state(flags, wrap)) {
		case PACKED_USED:
			k = used_positions(l, q, id, off, wrap, left);
			if (id >= q->ring_size || !q->head_state || q->head_state[id] == HEAD_FREE)
				layout_note(l,
					    "position %u: a used descriptor names id %u, which is "
					    "not in flight by the trace",
					    off, id);
			if (seen_avail)
				layout_note(l,
					    "position %u: a used descriptor after available ones "
					    "(the device writes them in ring order, 2.8.7)",
					    off);
			mark(l, off, k, PACKED_POS_USED, id);
			l->nused++;
			break;
		case PACKED_AVAIL:
			chain_walk_packed(mem, g, off, q->flags & VQT_QF_INDIRECT, &w);
			k = w.indirect || w.ndesc == 0 ? 1 : w.ndesc;
			if (k > left)
				k = left;
			if (w.problem != CHAIN_OK)
				layout_note(l, "position %u: %s", off, w.note);
			if (!seen_avail) {
				l->device_off = off;
				l->device_wrap = wrap;
			}
			seen_avail = true;
			/* The id is in the chain's last descriptor (2.8.6); a
			 * chain with no proper end keeps its first one's. */
			mark(l, off, k, PACKED_POS_AVAIL, w.problem == CHAIN_OK ? w.id : id);
			l->navail++;
			break;
		default:
			layout_note(l,
				    "position %u (flags 0x%04x) is in flight by the trace, but "
				    "AVAIL is not the wrap counter %u of its lap (2.8.1)",
				    off, flags, wrap);
			mark(l, off, 1, PACKED_POS_STALE, id);
			break;
		}
		lap_advance(&off, &wrap, k, l->size);
		left -= k;
		if (!seen_avail) {
			l->device_off = off;
			l->device_wrap = wrap;
		}
	}
}

bool packed_layout_read(struct packed_layout *l, const struct guest_mem *mem,
			const struct model_queue *q)
{
	struct ring_geometry g;
	uint32_t in_flight, ahead = 0;
	uint16_t anchor_off;
	bool anchor_wrap;

	l->valid = false;
	l->note[0] = 0;
	l->navail = l->nused = 0;
	l->trace_known = false;
	if (!(q->flags & VQT_QF_PACKED) || !ring_geometry_of(q, &g)) {
		snprintf(l->note, sizeof(l->note), "%s",
			 q->flags & VQT_QF_PACKED ? "ring addresses unknown" : "not a packed ring");
		return false;
	}
	l->size = g.size;
	for (uint16_t p = 0; p < g.size; p++) {
		struct ring_desc d;

		if (!ring_read_desc(mem, g.desc, p, true, &d)) {
			snprintf(l->note, sizeof(l->note),
				 "descriptor %u at 0x%llx is outside guest RAM", p,
				 (unsigned long long)(g.desc + 16 * (uint64_t)p));
			return false;
		}
		l->flags[p] = d.flags;
		l->id[p] = d.next_or_id;
		l->state[p] = PACKED_POS_FREE;
	}
	driver_from_avail_bits(l);
	driver_from_trace(l, q);

	/* Where the driver reaps: its position less the descriptors in
	 * flight by the trace.  The trace's position is of the same moment
	 * as that count; guest RAM may be ahead of it by chains added since
	 * the events were read (those are in flight too). */
	in_flight = q->in_flight_descs < g.size ? q->in_flight_descs : g.size;
	anchor_off = l->driver_off;
	anchor_wrap = l->driver_wrap;
	if (l->trace_known) {
		ahead = lap_distance(l->trace_off, l->trace_wrap, l->driver_off, l->driver_wrap,
				     g.size);
		if (ahead + in_flight <= g.size) {
			anchor_off = l->trace_off;
			anchor_wrap = l->trace_wrap;
		} else {
			layout_note(
			    l,
			    "the trace puts the driver at offset %u wrap %u, its AVAIL bits "
			    "at offset %u wrap %u (2.8.1)",
			    l->trace_off, l->trace_wrap, l->driver_off, l->driver_wrap);
			ahead = 0;
		}
	}
	l->reap_off = anchor_off;
	l->reap_wrap = anchor_wrap;
	lap_back(&l->reap_off, &l->reap_wrap, in_flight, g.size);
	l->positions = in_flight + ahead;
	walk_in_flight(l, mem, q, &g, l->positions);
	l->valid = true;
	return true;
}

int packed_layout_find(const struct packed_layout *l, uint16_t id)
{
	if (!l || !l->valid)
		return -1;
	for (uint16_t p = 0; p < l->size; p++) {
		uint8_t s = l->state[p];

		if ((s & PACKED_POS_START) && (s & ~PACKED_POS_START) != PACKED_POS_FREE &&
		    l->id[p] == id)
			return p;
	}
	return -1;
}

/* The positions of the buffer that starts at start (2.8.6: consecutive). */
static uint32_t buffer_positions(const struct packed_layout *l, uint16_t start)
{
	uint32_t n = 1;
	uint16_t p = (uint16_t)((start + 1) % l->size);

	while (n < l->size && l->state[p] == (l->state[start] & ~PACKED_POS_START)) {
		n++;
		p = (uint16_t)((p + 1) % l->size);
	}
	return n;
}

/* The buffers in flight as entries, in ring order from where the driver
 * reaps: available ones (position, id, descriptors) and used ones
 * (position, id, length written); heads used and not taken are RING_USED. */
static void packed_from_ram(struct ring_view *v, const struct guest_mem *mem,
			    const struct model_queue *q, const struct ring_geometry *g)
{
	struct packed_layout *l = &v->layout;
	uint16_t off;

	v->ram_valid = ring_read_indices(mem, g, &v->ram);
	if (!v->ram_valid)
		snprintf(v->note, sizeof(v->note),
			 "the event suppression structures at 0x%llx and 0x%llx are outside "
			 "guest RAM",
			 (unsigned long long)g->driver_area, (unsigned long long)g->device_area);
	if (!packed_layout_read(l, mem, q))
		return;
	v->from_ram = true;
	v->navail = v->nused = 0;
	off = l->reap_off;
	for (uint32_t k = 0; k < l->positions; k++, off = (uint16_t)((off + 1) % l->size)) {
		uint8_t s = l->state[off];
		uint16_t id = l->id[off];
		struct ring_desc d;

		if (!(s & PACKED_POS_START))
			continue;
		s &= (uint8_t)~PACKED_POS_START;
		if (s == PACKED_POS_USED) {
			if (id < v->size && v->state[id] != RING_FREE)
				v->state[id] = RING_USED;
			if (v->nused == RING_VIEW_ENTRIES)
				continue;
			if (!ring_read_desc(mem, g->desc, off, true, &d))
				d.len = 0;
			v->used[v->nused++] = (struct ring_entry){off, id, d.len};
		} else if (s == PACKED_POS_AVAIL && v->navail < RING_VIEW_ENTRIES) {
			v->avail[v->navail++] =
			    (struct ring_entry){off, id, buffer_positions(l, off)};
		}
	}
}

/* ---- the view -------------------------------------------------------------------------- */

bool ring_view_live(struct ring_view *v, const struct vq_model *m, const struct guest_mem *mem,
		    unsigned slot, uint64_t now_ns)
{
	const struct model_queue *q;
	struct ring_geometry g;
	bool from_events, where;

	if (!ring_view_begin(v, m, slot))
		return false;
	q = &m->queues[slot];
	v->live = true;
	for (unsigned i = 0; i < v->size; i++) {
		enum head_state s = model_head_state(q, (uint16_t)i);

		v->state[i] = s == HEAD_AVAIL	 ? RING_AVAIL
			      : s == HEAD_DEVICE ? RING_DEVICE
						 : RING_FREE;
	}
	/* The driver's indices from its events, or its queue table before
	 * any event came. */
	from_events = q->count[MC_ADDS] || !q->have_table;
	v->driver_avail_known = v->driver_used_known = from_events || q->have_table;
	v->driver_avail_idx = from_events ? q->avail_idx : q->table.avail_idx;
	v->driver_used_idx = from_events ? q->last_used_idx : q->table.last_used_idx;
	v->driver_from = from_events ? RING_FROM_EVENTS : RING_FROM_TABLE;
	v->in_flight = q->in_flight;
	v->in_flight_descs = q->in_flight_descs;

	/* QEMU's VirtQueue fields as of its last sample (every 1/device_hz
	 * s, on the monitor thread): last_avail_idx is the next avail ring
	 * entry the device will pop (virtqueue_pop moves it; virtio-gpu
	 * pops every available command at each notification), used_idx
	 * the used.idx it last wrote.  On a running queue the sample is
	 * older than a read of guest RAM by up to that period, so it is
	 * shown with its age and never paired with a guest RAM index: the
	 * "device avail 1696 used 2476 (guest RAM)" an idle-looking queue
	 * once showed was QMP's last_avail_idx from a sample ~0.1 s older
	 * than the used.idx read from RAM, 780 commands behind on a queue
	 * doing ~8k a second; right for its moment, not for the other's. */
	if (q->have_device) {
		v->qmp_known = true;
		v->qmp_last_avail_idx = q->device.last_avail_idx;
		v->qmp_used_idx = q->device.used_idx;
		v->qmp_inuse = q->device.inuse;
		v->qmp_age_ns = now_ns > q->device_host_ns ? now_ns - q->device_host_ns : 0;
	}
	where = ring_geometry_of(q, &g);
	if (mem && where) {
		if (v->packed)
			packed_from_ram(v, mem, q, &g);
		else
			split_from_ram(v, mem, &g);
	}
	if (!v->from_ram) {
		if (m->history_len)
			recent_from_history(v, m, m->history_len - 1);
		if (!v->note[0])
			snprintf(v->note, sizeof(v->note), "%s",
				 !mem ? "guest RAM not mapped: used-but-not-reaped heads are not "
					"shown"
				 : !where ? "ring addresses unknown"
					  : v->layout.note);
	}
	/* Split: the device's used.idx in guest RAM past QMP's means the
	 * sample is older than the read (both free-running, 2.7.8). */
	if (v->qmp_known && v->ram_valid && !v->packed) {
		uint16_t d = (uint16_t)(v->ram.used_idx - v->qmp_used_idx);

		v->qmp_behind = d < 0x8000 ? d : 0;
	}
	count_states(v);
	v->valid = true;
	return true;
}

bool ring_view_at(struct ring_view *v, const struct vq_model *m, unsigned slot, size_t at)
{
	const struct ring_reconstruction *r = &v->scratch;

	if (!ring_view_begin(v, m, slot))
		return false;
	if (!model_ring_at(m, slot, at, &v->scratch)) {
		snprintf(v->why, sizeof(v->why), "event %zu of the history is not kept", at);
		return false;
	}
	v->live = false;
	v->at = at;
	for (unsigned i = 0; i < v->size; i++)
		v->state[i] = r->states[i] == HEAD_AVAIL    ? RING_AVAIL
			      : r->states[i] == HEAD_DEVICE ? RING_DEVICE
							    : RING_FREE;
	v->driver_avail_known = r->avail_known;
	v->driver_avail_idx = r->avail_idx;
	v->driver_used_known = r->used_known;
	v->driver_used_idx = r->last_used_idx;
	v->driver_from = RING_FROM_EVENTS;
	v->in_flight = r->in_flight;
	recent_from_history(v, m, at);
	snprintf(v->note, sizeof(v->note), "%s",
		 "reconstructed from the events: the device's progress is not known here");
	count_states(v);
	v->valid = true;
	return true;
}

/* ---- chains ------------------------------------------------------------------------- */

void chain_view_begin(struct chain_view *c, uint16_t head, const char *from)
{
	c->valid = false;
	c->head = head;
	c->from = from;
	c->have_index = false;
	c->packed = false;
	c->position = 0;
	c->used = false;
	c->n = 0;
	c->more = false;
	c->problem = CHAIN_OK;
	c->note[0] = 0;
}

static void chain_from_walk(struct chain_view *c, const struct chain_walk *w)
{
	for (size_t k = 0; k < w->nkept && c->n < CHAIN_VIEW_MAX; k++)
		c->desc[c->n++] = (struct chain_desc){.index = w->kept[k].index,
						      .addr = w->kept[k].d.addr,
						      .len = w->kept[k].d.len,
						      .flags = w->kept[k].d.flags,
						      .next = w->kept[k].d.next_or_id,
						      .in_indirect = w->kept[k].in_indirect};
	c->more = w->ndesc > c->n;
	c->valid = c->n > 0;
	c->problem = w->problem;
	if (w->problem != CHAIN_OK)
		snprintf(c->note, sizeof(c->note), "%.40s: %.150s", chain_problem_name(w->problem),
			 w->note);
}

/* A used packed buffer: the device wrote its id, length and flags over
 * the first descriptor (2.8.7); the rest are as the driver wrote them. */
static void chain_packed_used(struct chain_view *c, const struct guest_mem *mem,
			      const struct packed_layout *l, const struct ring_geometry *g)
{
	uint32_t n = buffer_positions(l, c->position);

	for (uint32_t k = 0; k < n; k++) {
		uint16_t p = (uint16_t)((c->position + k) % l->size);
		struct ring_desc d;

		if (c->n == CHAIN_VIEW_MAX) {
			c->more = true;
			break;
		}
		if (!ring_read_desc(mem, g->desc, p, true, &d)) {
			snprintf(c->note, sizeof(c->note), "descriptor %u is outside guest RAM", p);
			break;
		}
		c->desc[c->n++] = (struct chain_desc){.index = p,
						      .addr = d.addr,
						      .len = d.len,
						      .flags = d.flags,
						      .next = d.next_or_id};
	}
	c->valid = c->n > 0;
	if (!c->note[0] && c->valid)
		snprintf(
		    c->note, sizeof(c->note),
		    "used: the device wrote id %u, length %u, flags 0x%04x in the first (2.8.7)",
		    c->desc[0].next, c->desc[0].len, c->desc[0].flags);
}

bool chain_view_ram(struct chain_view *c, const struct guest_mem *mem, const struct model_queue *q,
		    const struct packed_layout *layout, uint16_t head)
{
	struct ring_geometry g;
	struct chain_walk w;
	int pos;

	ring_geometry_of(q, &g);

	chain_view_begin(c, head, "guest RAM");
	c->have_index = true;
	c->packed = g.packed;
	if (!mem || !g.desc) {
		snprintf(c->note, sizeof(c->note), "%s",
			 g.desc ? "guest RAM is not mapped" : "descriptor table address unknown");
		return false;
	}
	if (g.size == 0 || g.size > VQT_RING_SIZE_MAX) {
		snprintf(c->note, sizeof(c->note), "ring size %u unknown", g.size);
		return false;
	}
	if (!g.packed) {
		if (!chain_walk_split(mem, &g, head, q->flags & VQT_QF_INDIRECT, &w)) {
			snprintf(c->note, sizeof(c->note), "%s", w.note);
			return false;
		}
		chain_from_walk(c, &w);
		return c->valid;
	}
	pos = packed_layout_find(layout, head);
	if (pos < 0) {
		snprintf(c->note, sizeof(c->note), "buffer id %u is not in the ring now%s", head,
			 layout && layout->valid ? "" : " (the ring was not read)");
		return false;
	}
	c->position = (uint16_t)pos;
	if ((layout->state[pos] & ~PACKED_POS_START) == PACKED_POS_USED) {
		c->used = true;
		chain_packed_used(c, mem, layout, &g);
		return c->valid;
	}
	chain_walk_packed(mem, &g, (uint16_t)pos, q->flags & VQT_QF_INDIRECT, &w);
	chain_from_walk(c, &w);
	if (!c->valid && !c->note[0])
		snprintf(c->note, sizeof(c->note), "%s", w.note);
	return c->valid;
}
