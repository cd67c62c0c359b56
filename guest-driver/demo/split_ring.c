/* split_ring.c - the split virtqueue layout (virtio 1.2 2.7) for the demo
 * guest: descriptor table, available ring with used_event, used ring with
 * avail_event; the driver's free list (virtqueue.c) links descriptors.
 *
 * Indices follow Linux virtio_ring.c: free-running u16, masked only to
 * index an array, distances by u16 subtraction.  The free list is linked
 * through the driver's private copy of each descriptor's next field, so a
 * device (or a bug) writing the shared table cannot steer it.
 */
#include "ring.h"

static u64 align_up(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

void split_setup(struct virtq *vq, struct ring_areas *areas)
{
	u16 size = vq->size;
	u64 desc_bytes, avail_bytes, used_bytes;
	u8 *rings;

	/* 2.7: descriptor table 16-byte aligned, driver area 2, device area
	 * 4; one allocation, each part on its own page.  The avail ring
	 * ends with used_event and the used ring with avail_event (6 bytes
	 * of flags, idx and event each). */
	desc_bytes = align_up(16u * size, 4096);
	avail_bytes = align_up(6u + 2u * size, 4096);
	used_bytes = align_up(6u + 8u * size, 4096);
	rings = memory_alloc(desc_bytes + avail_bytes + used_bytes, vq->name);
	vq->desc = (volatile struct virtq_desc *)rings;
	vq->avail = (volatile struct virtq_avail *)(rings + desc_bytes);
	vq->used = (volatile struct virtq_used *)(rings + desc_bytes + avail_bytes);
	vq->used_event = &vq->avail->ring[size];
	vq->avail_event = (volatile u16 *)&vq->used->ring[size];
	/* 2.7.10.1: used.flags starts 0 (memory_alloc zeroes). */
	areas->desc = (u64)(size_t)vq->desc;
	areas->driver = (u64)(size_t)vq->avail;
	areas->device = (u64)(size_t)vq->used;
}

u16 split_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, enum demo_bug strike)
{
	u16 head = vq->free_head, i = head, last_readable = head;
	u16 avail_idx = vq->avail_idx_shadow;

	/* 2.7.13.1: place the buffers in free descriptors, chained. */
	for (u16 n = 0; n < count; n++) {
		u16 flags = bufs[n].device_writable ? VIRTQ_DESC_F_WRITE : 0;

		if (n + 1 < count)
			flags |= VIRTQ_DESC_F_NEXT;
		if (!bufs[n].device_writable)
			last_readable = i;
		vq->desc[i].addr = (u64)(size_t)bufs[n].addr;
		vq->desc[i].len = bufs[n].claimed_len ? bufs[n].claimed_len : bufs[n].len;
		vq->desc[i].flags = flags;
		vq->desc[i].next = vq->next[i];
		i = vq->next[i];
	}
	vq->free_head = i;

	/* The bugs change only what the device reads; the driver's own
	 * links (vq->next) stay right. */
	if (strike == BUG_CHAIN_LOOP) {
		/* The last readable descriptor links back to the head: for
		 * a request and a response, the request points at itself. */
		vq->desc[last_readable].flags |= VIRTQ_DESC_F_NEXT;
		vq->desc[last_readable].next = head;
	} else if (strike == BUG_BAD_NEXT) {
		/* One past the last descriptor, as an unmasked i + 1 at the
		 * end of the table gives (2.7.5.2: next must be in range). */
		vq->desc[head].next = vq->size;
	}

	/* 2.7.13.2: the head goes into the next available ring entry. */
	vq->avail->ring[avail_idx & (vq->size - 1)] = head;
	/* Orders the descriptor and ring-entry stores above before the
	 * avail.idx store below (2.7.13.3.1); pairs with the device's read
	 * barrier between its load of avail.idx and its loads of the ring
	 * and descriptors (QEMU: smp_rmb() after vring_avail_idx()). */
	vq_wmb();
	/* 2.7.13.3: publish. */
	vq->avail_idx_shadow = (u16)(avail_idx + 1);
	vq->avail->idx = vq->avail_idx_shadow;
	return head;
}

int split_need_kick(struct virtq *vq, u64 *state)
{
	u16 new_idx = vq->avail_idx_shadow, old = vq->kicked_idx;
	u16 flags, event;

	/* Orders the avail.idx store in split_add before the loads of
	 * used.flags and avail_event below (a store-load pair, the one
	 * ordering x86 does not give for free); pairs with the device's
	 * full barrier between publishing avail_event or the flag and
	 * re-reading avail.idx (QEMU: smp_mb() in
	 * virtio_queue_split_set_notification()), so either we see the
	 * device's new state or it sees our new index (2.7.10). */
	vq_mb();
	flags = vq->used->flags;
	event = *vq->avail_event;
	*state = (u64)event | (u64)flags << 16;
	/* 2.7.10.1: with EVENT_IDX notify when avail_event lies in the
	 * chains added since the last decision, else unless NO_NOTIFY. */
	if (vq->event_idx)
		return vring_need_event(event, new_idx, old);
	return !(flags & VIRTQ_USED_F_NO_NOTIFY);
}

int split_used_pending(struct virtq *vq)
{
	/* A volatile load: the compiler neither caches it across spins nor
	 * moves it past the other volatile ring accesses. */
	u16 idx = vq->used->idx;

	if (idx == vq->last_used_idx)
		return 0;
	vq->seen_used_idx = idx;
	return 1;
}

int split_used_hint(const struct virtq *vq)
{
	return vq->used->idx != vq->last_used_idx;
}

int split_peek_used(struct virtq *vq, u32 *id, u32 *len)
{
	u16 pending = (u16)(vq->seen_used_idx - vq->last_used_idx);
	u16 slot = vq->last_used_idx & (vq->size - 1);

	if (pending == 0)
		return 0;
	/* Validate what the device wrote before using it (2.7.14). */
	if (pending > vq->in_flight) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DRIVER, vq->seen_used_idx);
		fail(EXIT_DEVICE_ERROR,
		     "%s: device moved used.idx from %u to %u with only %u buffers in flight",
		     vq->name, vq->last_used_idx, vq->seen_used_idx, vq->in_flight);
	}
	*id = vq->used->ring[slot].id;
	*len = vq->used->ring[slot].len;
	return 1;
}

void split_free_chain(struct virtq *vq, u16 head, u16 count)
{
	u16 tail = head;

	/* Follow our private links to the chain's last descriptor. */
	for (u16 n = 1; n < count; n++)
		tail = vq->next[tail];
	vq->next[tail] = vq->free_head;
	vq->free_head = head;
}

u16 split_set_callbacks(struct virtq *vq, int on)
{
	if (vq->event_idx) {
		/* 2.7.7.1: flags stay 0; used_event says after which used
		 * element to interrupt.  Off: the element just before our
		 * next one, 2^16 - 1 elements away, which the device cannot
		 * reach before we move it again (at most `size` are
		 * outstanding).  Linux writes 0 for the same purpose. */
		u16 event = on ? vq->last_used_idx : (u16)(vq->last_used_idx - 1);

		*vq->used_event = event;
		return event;
	}
	vq->avail->flags = (u16)(on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT);
	return 0;
}

const char *split_check(struct virtq *vq, char *buf, size_t size)
{
	u16 used_idx = vq->used->idx, avail_idx = vq->avail->idx;

	if (used_idx != vq->last_used_idx || avail_idx != vq->avail_idx_shadow) {
		format(buf, size, "rings hold avail.idx %u used.idx %u, the driver %u / %u",
		       avail_idx, used_idx, vq->avail_idx_shadow, vq->last_used_idx);
		return buf;
	}
	return NULL;
}
