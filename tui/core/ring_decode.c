/* ring_decode.c - split and packed virtqueues decoded from guest RAM
 * (see ring_decode.h).  Ring indices are free-running u16, masked only to
 * index an array; split sizes are powers of two (2.7), packed sizes need
 * not be (2.8), so positions there are taken modulo the size. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ring_decode.h"

static bool read_u16(const struct guest_mem *mem, uint64_t at, uint16_t *v)
{
	return guest_read(mem, at, v, sizeof(*v));
}

bool ring_read_indices(const struct guest_mem *mem, const struct ring_geometry *g,
		       struct ring_indices *out)
{
	uint16_t hdr[2];
	uint64_t size = g->size;

	memset(out, 0, sizeof(*out));
	if (g->size == 0)
		return false;
	if (g->packed) {
		/* 2.8.14: struct pvirtq_event_suppress { le16 desc; le16 flags; } */
		if (!guest_read(mem, g->driver_area, hdr, sizeof(hdr)))
			return false;
		out->driver_off_wrap = hdr[0];
		out->driver_flags = hdr[1];
		if (!guest_read(mem, g->device_area, hdr, sizeof(hdr)))
			return false;
		out->device_off_wrap = hdr[0];
		out->device_flags = hdr[1];
		out->valid = true;
		return true;
	}
	/* 2.7.6: le16 flags; le16 idx; le16 ring[size]; le16 used_event; */
	if (!guest_read(mem, g->driver_area, hdr, sizeof(hdr)))
		return false;
	out->avail_flags = hdr[0];
	out->avail_idx = hdr[1];
	if (!read_u16(mem, g->driver_area + 4 + 2 * size, &out->used_event))
		return false;
	/* 2.7.8: le16 flags; le16 idx; struct { le32 id; le32 len; } ring[size];
	 * le16 avail_event; */
	if (!guest_read(mem, g->device_area, hdr, sizeof(hdr)))
		return false;
	out->used_flags = hdr[0];
	out->used_idx = hdr[1];
	if (!read_u16(mem, g->device_area + 4 + 8 * size, &out->avail_event))
		return false;
	out->valid = true;
	return true;
}

bool split_avail_entry(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t idx,
		       uint16_t *head)
{
	return g->size &&
	       read_u16(mem, g->driver_area + 4 + 2 * (uint64_t)(idx & (g->size - 1)), head);
}

bool split_used_entry(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t idx,
		      uint32_t *id, uint32_t *len)
{
	uint32_t elem[2];

	if (!g->size || !guest_read(mem, g->device_area + 4 + 8 * (uint64_t)(idx & (g->size - 1)),
				    elem, sizeof(elem)))
		return false;
	*id = elem[0];
	*len = elem[1];
	return true;
}

bool ring_read_desc(const struct guest_mem *mem, uint64_t table, uint16_t i, bool packed,
		    struct ring_desc *out)
{
	uint8_t raw[16];

	/* 2.7.5: le64 addr; le32 len; le16 flags; le16 next;
	 * 2.8.13: le64 addr; le32 len; le16 id; le16 flags; */
	if (!guest_read(mem, table + 16 * (uint64_t)i, raw, sizeof(raw)))
		return false;
	memcpy(&out->addr, raw, 8);
	memcpy(&out->len, raw + 8, 4);
	memcpy(&out->flags, raw + (packed ? 14 : 12), 2);
	memcpy(&out->next_or_id, raw + (packed ? 12 : 14), 2);
	return true;
}

const char *chain_problem_name(enum chain_problem p)
{
	static const char *const names[] = {
	    [CHAIN_OK] = "ok",
	    [CHAIN_UNREADABLE] = "outside guest RAM",
	    [CHAIN_HEAD_OUT_OF_RANGE] = "head out of range",
	    [CHAIN_NEXT_OUT_OF_RANGE] = "next out of range",
	    [CHAIN_LOOP] = "loop",
	    [CHAIN_TOO_LONG] = "longer than the queue",
	    [CHAIN_INDIRECT_NESTED] = "indirect table in an indirect table",
	    [CHAIN_INDIRECT_LEN] = "indirect length not a multiple of 16",
	    [CHAIN_INDIRECT_WITH_NEXT] = "INDIRECT with NEXT",
	    [CHAIN_WRITE_BEFORE_READ] = "device-readable after device-writable",
	    [CHAIN_INDIRECT_NOT_OFFERED] = "indirect descriptor without the feature",
	};
	return p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

/* ---- chain walks ------------------------------------------------------------------- */

static void walk_begin(struct chain_walk *w, uint16_t head)
{
	memset(w, 0, sizeof(*w));
	w->head = head;
}

static bool walk_fail(struct chain_walk *w, enum chain_problem p, uint32_t index, uint64_t value,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool walk_fail(struct chain_walk *w, enum chain_problem p, uint32_t index, uint64_t value,
		      const char *fmt, ...)
{
	va_list ap;

	if (w->problem == CHAIN_OK) {
		w->problem = p;
		w->bad_index = index;
		w->bad_value = value;
		va_start(ap, fmt);
		vsnprintf(w->note, sizeof(w->note), fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Account one descriptor that belongs to the buffer; false on a framing
 * problem (2.7.4.2: device-writable elements come after the readable). */
static bool walk_take(struct chain_walk *w, const struct ring_desc *d, uint16_t index,
		      bool in_indirect)
{
	if (w->nkept < CHAIN_WALK_KEEP) {
		w->kept[w->nkept].d = *d;
		w->kept[w->nkept].index = index;
		w->kept[w->nkept].in_indirect = in_indirect;
		w->nkept++;
	}
	w->ndesc++;
	if (d->flags & VRING_DESC_F_WRITE) {
		w->writable_bytes += d->len;
	} else {
		if (w->writable_bytes)
			return walk_fail(w, CHAIN_WRITE_BEFORE_READ, index, d->flags,
					 "descriptor %u is device-readable after a "
					 "device-writable one (flags 0x%x)",
					 index, d->flags);
		w->readable_bytes += d->len;
	}
	return true;
}

/* An indirect table (2.7.5.3, 2.8.7): len / 16 descriptors at addr,
 * chained by next (split) or in order (packed), never indirect again. */
static void walk_indirect(const struct guest_mem *mem, struct chain_walk *w,
			  const struct ring_desc *d, uint16_t index, bool packed)
{
	uint32_t n = d->len / 16;
	uint8_t seen[VQT_RING_SIZE_MAX / 8];
	uint16_t i = 0;

	w->indirect = true;
	if (d->len % 16 != 0 || n == 0) {
		walk_fail(w, CHAIN_INDIRECT_LEN, index, d->len,
			  "descriptor %u: indirect table of %u bytes, not a whole number of "
			  "16-byte descriptors",
			  index, d->len);
		return;
	}
	if (n > VQT_RING_SIZE_MAX) {
		walk_fail(w, CHAIN_TOO_LONG, index, n,
			  "descriptor %u: indirect table of %u descriptors, more than any queue",
			  index, n);
		return;
	}
	memset(seen, 0, (n + 7) / 8);
	for (uint32_t steps = 0; steps < n; steps++) {
		struct ring_desc e;

		if (!ring_read_desc(mem, d->addr, i, packed, &e)) {
			walk_fail(w, CHAIN_UNREADABLE, i, d->addr + 16 * (uint64_t)i,
				  "indirect descriptor %u at 0x%llx is outside guest RAM", i,
				  (unsigned long long)(d->addr + 16 * (uint64_t)i));
			return;
		}
		seen[i / 8] |= (uint8_t)(1u << (i % 8));
		if (e.flags & VRING_DESC_F_INDIRECT) {
			walk_fail(w, CHAIN_INDIRECT_NESTED, i, e.flags,
				  "indirect descriptor %u (of head %u) is itself indirect", i,
				  w->head);
			return;
		}
		if (!walk_take(w, &e, i, true))
			return;
		if (packed) {
			/* 2.8.7: the table's descriptors are used in order. */
			if (++i == n)
				return;
			continue;
		}
		if (!(e.flags & VRING_DESC_F_NEXT))
			return;
		if (e.next_or_id >= n) {
			walk_fail(w, CHAIN_NEXT_OUT_OF_RANGE, i, e.next_or_id,
				  "indirect descriptor %u: next %u is outside its table of %u", i,
				  e.next_or_id, n);
			return;
		}
		if (seen[e.next_or_id / 8] & (1u << (e.next_or_id % 8))) {
			walk_fail(w, CHAIN_LOOP, i, e.next_or_id,
				  "indirect descriptor %u: next %u leads back into the chain", i,
				  e.next_or_id);
			return;
		}
		i = e.next_or_id;
	}
}

bool chain_walk_split(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t head,
		      bool indirect_offered, struct chain_walk *w)
{
	uint8_t seen[VQT_RING_SIZE_MAX / 8];
	uint16_t i = head;

	walk_begin(w, head);
	if (g->size == 0 || head >= g->size) {
		walk_fail(w, CHAIN_HEAD_OUT_OF_RANGE, head, head,
			  "head %u is outside the table of %u", head, g->size);
		return true;
	}
	memset(seen, 0, ((size_t)g->size + 7) / 8);
	/* A chain has at most size descriptors: the walk stops there. */
	for (uint32_t steps = 0; steps < g->size; steps++) {
		struct ring_desc d;

		if (!ring_read_desc(mem, g->desc, i, false, &d)) {
			walk_fail(w, CHAIN_UNREADABLE, i, g->desc + 16 * (uint64_t)i,
				  "descriptor %u at 0x%llx is outside guest RAM", i,
				  (unsigned long long)(g->desc + 16 * (uint64_t)i));
			return steps > 0;
		}
		seen[i / 8] |= (uint8_t)(1u << (i % 8));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!indirect_offered)
				walk_fail(w, CHAIN_INDIRECT_NOT_OFFERED, i, d.flags,
					  "descriptor %u is indirect, but the queue has no "
					  "indirect descriptors (flags 0x%x)",
					  i, d.flags);
			else if (d.flags & VRING_DESC_F_NEXT)
				walk_fail(w, CHAIN_INDIRECT_WITH_NEXT, i, d.flags,
					  "descriptor %u has INDIRECT and NEXT (flags 0x%x)", i,
					  d.flags);
			else
				walk_indirect(mem, w, &d, i, false);
			return true;
		}
		if (!walk_take(w, &d, i, false))
			return true;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		if (d.next_or_id >= g->size) {
			walk_fail(w, CHAIN_NEXT_OUT_OF_RANGE, i, d.next_or_id,
				  "descriptor %u: next %u is outside the table of %u", i,
				  d.next_or_id, g->size);
			return true;
		}
		if (seen[d.next_or_id / 8] & (1u << (d.next_or_id % 8))) {
			walk_fail(w, CHAIN_LOOP, i, d.next_or_id,
				  "descriptor %u: next %u leads back into the chain of head %u", i,
				  d.next_or_id, head);
			return true;
		}
		i = d.next_or_id;
	}
	walk_fail(w, CHAIN_TOO_LONG, i, g->size, "the chain of head %u is longer than the queue",
		  head);
	return true;
}

bool chain_walk_packed(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t pos,
		       bool indirect_offered, struct chain_walk *w)
{
	uint16_t i = g->size ? (uint16_t)(pos % g->size) : 0;

	walk_begin(w, pos);
	if (g->size == 0) {
		walk_fail(w, CHAIN_HEAD_OUT_OF_RANGE, pos, pos, "the queue has no descriptors");
		return true;
	}
	/* 2.8.6: the descriptors of a chain are consecutive, wrapping at the
	 * ring's end; the buffer id is in the last one.  At most size. */
	for (uint32_t steps = 0; steps < g->size; steps++) {
		struct ring_desc d;

		if (!ring_read_desc(mem, g->desc, i, true, &d)) {
			walk_fail(w, CHAIN_UNREADABLE, i, g->desc + 16 * (uint64_t)i,
				  "descriptor %u at 0x%llx is outside guest RAM", i,
				  (unsigned long long)(g->desc + 16 * (uint64_t)i));
			return steps > 0;
		}
		w->id = d.next_or_id;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!indirect_offered)
				walk_fail(w, CHAIN_INDIRECT_NOT_OFFERED, i, d.flags,
					  "descriptor %u is indirect, but the queue has no "
					  "indirect descriptors (flags 0x%x)",
					  i, d.flags);
			else if (d.flags & VRING_DESC_F_NEXT)
				walk_fail(w, CHAIN_INDIRECT_WITH_NEXT, i, d.flags,
					  "descriptor %u has INDIRECT and NEXT (flags 0x%x)", i,
					  d.flags);
			else
				walk_indirect(mem, w, &d, i, true);
			return true;
		}
		if (!walk_take(w, &d, i, false))
			return true;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		if (++i == g->size)
			i = 0;
	}
	walk_fail(w, CHAIN_TOO_LONG, i, g->size,
		  "the chain at position %u has NEXT on all %u descriptors of the ring", pos,
		  g->size);
	return true;
}

enum packed_slot packed_slot_state(uint16_t flags, bool wrap)
{
	bool avail = (flags & VRING_PACKED_F_AVAIL) != 0;
	bool used = (flags & VRING_PACKED_F_USED) != 0;

	if (avail == wrap && used != wrap)
		return PACKED_AVAIL;
	if (avail == wrap && used == wrap)
		return PACKED_USED;
	return PACKED_NOT_OURS;
}

bool packed_need_event(uint16_t flags, uint16_t off_wrap, uint16_t old_pos, uint16_t new_pos,
		       uint16_t size)
{
	uint16_t event = off_wrap & 0x7fff, new_off = new_pos & 0x7fff, old = old_pos & 0x7fff;
	bool event_wrap = off_wrap >> 15, new_wrap = new_pos >> 15, old_wrap = old_pos >> 15;

	if (flags == RING_EVENT_FLAGS_ENABLE)
		return true;
	if (flags != RING_EVENT_FLAGS_DESC)
		return false; /* DISABLE, or a reserved value: no notification asked */
	/* Offsets from the same lap as new: one lap back counts negative. */
	if (event_wrap != new_wrap)
		event = (uint16_t)(event - size);
	if (old_wrap != new_wrap)
		old = (uint16_t)(old - size);
	return ring_need_event(event, new_off, old);
}
