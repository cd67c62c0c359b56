/* packed_ring.c - the packed virtqueue layout (virtio 1.2 2.8) for the
 * demo guest: one descriptor ring that the driver and the device both
 * write, told apart by the AVAIL/USED flags against each side's ring
 * wrap counter (2.8.1), and the driver and device event suppression
 * structures (2.8.10, 2.8.14).
 *
 * The driver keeps, privately, its next position and wrap counter on
 * each side, a free list of buffer ids, and each id's chain length (to
 * skip a used chain's descriptors, 2.8.6).  Buffer ids are what ADD and
 * USED events report as the head; the avail and used indices in the
 * trace count buffers.
 */
#include "ring.h"

void packed_setup(struct virtq *vq, struct ring_areas *areas)
{
	u16 size = vq->size;
	u8 *mem;

	/* 2.8.10.1: descriptor ring 16-byte aligned, both event suppression
	 * structures 4-byte aligned; each on its own page.  The ring is
	 * zero-initialised (2.8.13): no descriptor is available. */
	mem = memory_alloc(16u * size + 2 * 4096u, vq->name);
	vq->ring = (volatile struct pvirtq_desc *)(mem + 2 * 4096u);
	vq->driver_event = (volatile struct pvirtq_event_suppress *)mem;
	vq->device_event = (volatile struct pvirtq_event_suppress *)(mem + 4096u);
	/* 2.8.1: both wrap counters start at 1. */
	vq->avail_wrap = 1;
	vq->used_wrap = 1;
	areas->desc = (u64)(size_t)vq->ring;
	areas->driver = (u64)(size_t)vq->driver_event;
	areas->device = (u64)(size_t)vq->device_event;
}

u16 packed_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, enum demo_bug strike)
{
	u16 id = vq->free_head;
	u16 first = vq->next_avail, pos = first, wrap = vq->avail_wrap;
	u16 head_flags = 0;

	vq->free_head = vq->next[id];
	/* 2.8.21.1: each element in the next descriptor, AVAIL set to the
	 * driver's wrap counter and USED to its inverse; the counter flips
	 * after the ring's last descriptor, in the middle of a chain too. */
	for (u16 n = 0; n < count; n++) {
		volatile struct pvirtq_desc *d = &vq->ring[pos];
		u16 flags = bufs[n].device_writable ? VIRTQ_DESC_F_WRITE : 0;

		if (n + 1 < count)
			flags |= VIRTQ_DESC_F_NEXT;
		flags |= wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
		d->addr = (u64)(size_t)bufs[n].addr;
		d->len = bufs[n].claimed_len ? bufs[n].claimed_len : bufs[n].len;
		/* 2.8.6: the id belongs in the last descriptor; every one
		 * carries it here, which the device ignores. */
		d->id = id;
		if (n == 0)
			head_flags = flags;
		else
			d->flags = flags;
		if (++pos == vq->size) {
			pos = 0;
			wrap ^= 1;
		}
	}
	/* Orders every store of the chain above, the other descriptors'
	 * flags included, before the store of the head's flags that makes
	 * the whole chain available (2.8.6, 2.8.21.1.1); pairs with the
	 * device's read barrier between its load of the head's flags and
	 * its loads of the descriptors (QEMU: smp_rmb() in
	 * virtqueue_packed_pop()). */
	vq_wmb();
	vq->ring[first].flags = head_flags;
	vq->next_avail = pos;
	if (strike == BUG_PACKED_STALE_WRAP)
		/* The bug: "the chain wrapped if it ended before it began".
		 * Right for every chain except one of exactly `size`
		 * descriptors, which ends where it began: the counter stays
		 * as it was, and the next chain's AVAIL bits are stale. */
		vq->avail_wrap = pos < first ? vq->avail_wrap ^ 1u : vq->avail_wrap;
	else
		vq->avail_wrap = wrap;
	vq->descs_since_kick = (u16)(vq->descs_since_kick + count);
	vq->avail_idx_shadow++;
	return id;
}

int packed_need_kick(struct virtq *vq, u64 *state)
{
	u16 new_pos = vq->next_avail;
	u16 old_pos = (u16)(new_pos - vq->descs_since_kick);
	u16 driver = (u16)(vq->next_avail | vq->avail_wrap << RING_EVENT_WRAP_SHIFT);
	u16 off_wrap, flags, event;
	u32 word;

	/* Orders the head's flags store in packed_add (the publication)
	 * before the load of the device event suppression structure below
	 * (2.8.21.3.1: "MUST perform a suitable memory barrier before
	 * reading the Event Suppression structure"); pairs with the device's
	 * full barrier between writing that structure and re-reading the
	 * ring (QEMU: smp_mb() in virtio_queue_packed_set_notification()). */
	vq_mb();
	/* One load for off_wrap and flags, so they belong together. */
	word = *(volatile u32 *)vq->device_event;
	off_wrap = (u16)word;
	flags = (u16)(word >> 16);
	*state = (u64)off_wrap | (u64)flags << 16 | (u64)driver << 32;
	switch (flags & 3u) {
	case RING_EVENT_FLAGS_DISABLE:
		return 0;
	case RING_EVENT_FLAGS_DESC:
		if (!vq->event_idx)
			return 1; /* only valid with EVENT_IDX (2.8.10) */
		/* As Linux's virtqueue_kick_prepare_packed(): an event
		 * offset in the other lap counts from one ring earlier. */
		event = off_wrap & 0x7fffu;
		if ((off_wrap >> RING_EVENT_WRAP_SHIFT) != vq->avail_wrap)
			event = (u16)(event - vq->size);
		return vring_need_event(event, new_pos, old_pos);
	default:
		return 1;
	}
}

/* 2.8.1: a descriptor is used when its AVAIL and USED bits both equal
 * the driver's used wrap counter. */
static int is_used(u16 flags, u16 wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_DESC_F_USED) == wrap;
}

int packed_used_pending(struct virtq *vq)
{
	/* 2.8.2: the one location to test is the next descriptor after the
	 * last one taken.  A volatile load, once per spin. */
	if (!is_used(vq->ring[vq->next_used].flags, vq->used_wrap))
		return 0;
	vq->used_seen = 1;
	return 1;
}

int packed_used_hint(const struct virtq *vq)
{
	return vq->in_flight && is_used(vq->ring[vq->next_used].flags, vq->used_wrap);
}

int packed_peek_used(struct virtq *vq, u32 *id, u32 *len)
{
	volatile struct pvirtq_desc *d = &vq->ring[vq->next_used];

	if (!vq->used_seen)
		return 0;
	if (vq->in_flight == 0) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DRIVER, vq->next_used);
		fail(EXIT_DEVICE_ERROR,
		     "%s: descriptor %u is marked used (flags 0x%x) with nothing in flight",
		     vq->name, vq->next_used, d->flags);
	}
	*id = d->id;
	/* 2.8.3 / 2.8.4 make the length reserved unless the device set WRITE
	 * in the used descriptor; QEMU 7.2 never sets it and always writes
	 * the length, so, like Linux's virtqueue_get_buf_ctx_packed(), take
	 * the length as written. */
	*len = d->len;
	return 1;
}

void packed_step_used(struct virtq *vq, u16 count)
{
	/* 2.8.6: the device wrote one used descriptor for the chain; the
	 * next one is `count` descriptors on. */
	vq->next_used = (u16)(vq->next_used + count);
	if (vq->next_used >= vq->size) {
		vq->next_used = (u16)(vq->next_used - vq->size);
		vq->used_wrap ^= 1;
	}
	vq->used_seen = 0;
}

void packed_free_chain(struct virtq *vq, u16 id, u16 count)
{
	(void)count; /* the ring positions were skipped when it was taken */
	vq->next[id] = vq->free_head;
	vq->free_head = id;
}

u16 packed_set_callbacks(struct virtq *vq, int on)
{
	u16 off_wrap;

	if (!on) {
		vq->driver_event->flags = RING_EVENT_FLAGS_DISABLE;
		return vq->used_event_written;
	}
	if (!vq->event_idx) {
		vq->driver_event->flags = RING_EVENT_FLAGS_ENABLE;
		return vq->used_event_written;
	}
	/* 2.8.10: interrupt once the device uses the descriptor at our
	 * next position in our lap. */
	off_wrap = (u16)(vq->next_used | vq->used_wrap << RING_EVENT_WRAP_SHIFT);
	vq->driver_event->off_wrap = off_wrap;
	/* Orders the off_wrap store before the flags store that makes it
	 * count; pairs with the device's read barrier between its load of
	 * the flags and its load of off_wrap (QEMU: smp_rmb() in
	 * vring_packed_event_read()). */
	vq_wmb();
	vq->driver_event->flags = RING_EVENT_FLAGS_DESC;
	return off_wrap;
}

const char *packed_check(struct virtq *vq, char *buf, size_t size)
{
	/* With everything used, both sides stand at the same place. */
	if (vq->next_avail != vq->next_used || vq->avail_wrap != vq->used_wrap) {
		format(buf, size,
		       "next available descriptor %u (wrap %u) but next used %u (wrap %u)",
		       vq->next_avail, vq->avail_wrap, vq->next_used, vq->used_wrap);
		return buf;
	}
	return NULL;
}
