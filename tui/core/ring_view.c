/* ring_view.c - one virtqueue's ring state for the ring view (see
 * view_ring.h).  Ring indices are free-running u16, masked only to index
 * the ring, distances by u16 subtraction (virtio 1.2, 2.7.6 and 2.7.8). */
#include <stdio.h>
#include <string.h>

#include "ring_view.h"

#define HISTORY_WALK_MAX (1u << 20) /* events looked at for recent entries */

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

static bool ring_view_begin(struct ring_view *v, const struct vq_model *m, unsigned slot)
{
	const struct model_queue *q = slot < MODEL_QUEUES ? &m->queues[slot] : NULL;

	v->valid = false;
	v->slot = slot;
	v->size = 0;
	v->navail = v->nused = 0;
	v->driver_avail_known = v->driver_used_known = false;
	v->device_used_known = v->device_avail_known = false;
	v->device_used_from = NULL;
	v->from_ram = false;
	v->note[0] = 0;
	memset(v->count, 0, sizeof(v->count));
	if (!q || !q->ring_size || q->ring_size > VQT_RING_SIZE_MAX) {
		snprintf(v->why, sizeof(v->why), "queue slot %u has no known ring size", slot);
		return false;
	}
	v->size = q->ring_size;
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

/* Read the avail and used rings from guest memory; mark used-but-not-
 * reaped heads.  False when a ring is not readable (v->note says why). */
static bool rings_from_ram(struct ring_view *v, const struct guest_mem *mem,
			   const struct model_queue *q)
{
	uint16_t size = v->size, n = size < RING_VIEW_ENTRIES ? size : RING_VIEW_ENTRIES;
	/* 2.7.6: le16 flags, le16 idx, le16 ring[size]; 2.7.8: le16 flags,
	 * le16 idx, struct { le32 id; le32 len; } ring[size]. */
	uint16_t avail_hdr[2], used_hdr[2], avail_idx, used_idx, pending;

	uint8_t last[8];
	bool avail_ok = guest_read(mem, q->avail_addr, avail_hdr, sizeof(avail_hdr)) &&
			guest_read(mem, q->avail_addr + 4 + 2 * (uint64_t)(size - 1), last, 2);
	bool used_ok = guest_read(mem, q->used_addr, used_hdr, sizeof(used_hdr)) &&
		       guest_read(mem, q->used_addr + 4 + 8 * (uint64_t)(size - 1), last, 8);

	/* Both rings whole in guest RAM, or neither is used. */
	if (!avail_ok || !used_ok) {

		snprintf(v->note, sizeof(v->note), "the %s ring at 0x%llx is outside guest RAM",
			 avail_ok ? "used" : "avail",
			 (unsigned long long)(avail_ok ? q->used_addr : q->avail_addr));
		return false;
	}
	v->from_ram = true;
	v->avail_flags = avail_hdr[0];
	avail_idx = avail_hdr[1];
	v->used_flags = used_hdr[0];
	used_idx = used_hdr[1];
	v->device_used_known = true;
	v->device_used_idx = used_idx;
	v->device_used_from = "guest RAM";

	v->navail = v->nused = 0;
	for (uint16_t k = 0; k < n; k++) {
		uint16_t idx = (uint16_t)(avail_idx - n + k), head = 0;
		uint32_t elem[2] = {0, 0};

		if (guest_read(mem, q->avail_addr + 4 + 2 * (uint64_t)(idx % size), &head,
			       sizeof(head)))
			v->avail[v->navail++] = (struct ring_entry){idx, head, 0};
		idx = (uint16_t)(used_idx - n + k);
		if (guest_read(mem, q->used_addr + 4 + 8 * (uint64_t)(idx % size), elem,
			       sizeof(elem)))
			v->used[v->nused++] = (struct ring_entry){idx, elem[0], elem[1]};
	}

	/* Heads the device finished that the driver has not reaped yet. */
	if (!v->driver_used_known)
		return true;
	pending = (uint16_t)(used_idx - v->driver_used_idx);
	if (pending > size) {
		/* More than the ring holds: the events read so far lag a
		 * running guest (or the device broke the ring). */
		snprintf(v->note, sizeof(v->note),
			 "used.idx %u is %u past the last used index %u in the events: the "
			 "events lag the running guest",
			 used_idx, pending, v->driver_used_idx);
		return true;
	}
	for (uint16_t k = 0; k < pending; k++) {
		uint16_t idx = (uint16_t)(v->driver_used_idx + k);
		uint32_t id;

		if (!guest_read(mem, q->used_addr + 4 + 8 * (uint64_t)(idx % size), &id,
				sizeof(id)))
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

bool ring_view_live(struct ring_view *v, const struct vq_model *m, const struct guest_mem *mem,
		    unsigned slot)
{
	const struct model_queue *q;
	bool from_events;

	if (!ring_view_begin(v, m, slot))
		return false;
	q = &m->queues[slot];
	v->live = true;
	for (unsigned i = 0; i < v->size; i++) {
		uint8_t s = q->head_state ? q->head_state[i] : HEAD_FREE;

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
	if (q->have_device) {
		v->device_avail_known = true;
		v->device_avail_idx = q->device.last_avail_idx;
		v->device_used_known = true;
		v->device_used_idx = q->device.used_idx;
		v->device_used_from = "QMP";
	}
	if (!(mem && q->avail_addr && q->used_addr && rings_from_ram(v, mem, q))) {
		if (m->history_len)
			recent_from_history(v, m, m->history_len - 1);
		if (!v->note[0])
			snprintf(v->note, sizeof(v->note), "%s",
				 mem ? "ring addresses unknown"
				     : "guest RAM not mapped: used-but-not-reaped "
				       "heads are not shown");
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
	c->n = 0;
	c->more = false;
	c->note[0] = 0;
}

bool chain_view_ram(struct chain_view *c, const struct guest_mem *mem, const struct model_queue *q,
		    uint16_t head)
{
	uint16_t size = q->ring_size, i = head;
	uint64_t table = q->desc_addr ? q->desc_addr : (q->have_device ? q->device.desc_addr : 0);

	chain_view_begin(c, head, "guest RAM");
	c->have_index = true;
	if (!mem || !table) {
		snprintf(c->note, sizeof(c->note), "%s",
			 table ? "guest RAM is not mapped" : "descriptor table address unknown");
		return false;
	}
	if (head >= size) {
		snprintf(c->note, sizeof(c->note), "head %u is outside the ring of %u", head, size);
		return false;
	}
	/* 2.7.5: struct virtq_desc {le64 addr; le32 len; le16 flags; le16 next}.
	 * A chain never has more descriptors than the ring. */
	for (unsigned steps = 0;; steps++) {
		uint8_t p[16];
		struct chain_desc d;

		if (steps == size) {
			snprintf(c->note, sizeof(c->note),
				 "chain longer than the ring of %u: a loop in the next fields",
				 size);
			break;
		}
		if (!guest_read(mem, table + 16 * (uint64_t)i, p, sizeof(p))) {
			snprintf(c->note, sizeof(c->note),
				 "descriptor %u at 0x%llx is outside guest RAM", i,
				 (unsigned long long)(table + 16 * (uint64_t)i));
			break;
		}
		d.index = i;
		memcpy(&d.addr, p, 8);
		memcpy(&d.len, p + 8, 4);
		memcpy(&d.flags, p + 12, 2);
		memcpy(&d.next, p + 14, 2);
		if (c->n < CHAIN_VIEW_MAX)
			c->desc[c->n++] = d;
		else
			c->more = true;
		c->valid = true;
		if (!(d.flags & 1)) /* VIRTQ_DESC_F_NEXT */
			break;
		if (d.next >= size) {
			snprintf(c->note, sizeof(c->note),
				 "descriptor %u: next %u is outside the ring of %u", i, d.next,
				 size);
			break;
		}
		i = d.next;
	}
	return c->valid;
}
