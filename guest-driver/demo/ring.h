/* ring.h - the two virtqueue layouts behind virtqueue.c: split rings
 * (split_ring.c, virtio 1.2 2.7) and packed rings (packed_ring.c, 2.8).
 * virtqueue.c owns the driver's logic (kick decisions, waiting with the
 * barrier policies, taking used buffers, bugs and tracing); these files
 * own what touches each layout's shared memory. */
#ifndef DEMO_RING_H
#define DEMO_RING_H

#include "virtqueue.h"

/* vring_need_event from 2.7.10 (Linux virtio_ring.h): a notification is
 * needed when `event` lies in [old, new), by u16 distances. */
static inline int vring_need_event(u16 event, u16 new_idx, u16 old)
{
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old);
}

/* Addresses of a queue's three parts, for the transport and the trace. */
struct ring_areas {
	u64 desc, driver, device;
};

/* Allocate and initialise the layout's shared memory (vq->size,
 * vq->event_idx and vq->irq are set); fills `areas`.  The free list in
 * vq->next (descriptors, or packed buffer ids) is virtqueue.c's. */
void split_setup(struct virtq *vq, struct ring_areas *areas);
void packed_setup(struct virtq *vq, struct ring_areas *areas);

/* Write `count` buffers as one chain and make it available (2.7.13 /
 * 2.8.21.1); `strike` is the bug that acts on this chain, or BUG_NONE.
 * Returns the head (packed: buffer id). */
u16 split_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, enum demo_bug strike);
u16 packed_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, enum demo_bug strike);

/* After a full barrier, read the device's notification suppression
 * state; return nonzero when the chains since the last decision need a
 * notification (2.7.10 / 2.8.10) and store the state word for the trace
 * (vqtrace.h, VQT_KICK_STATE_*). */
int split_need_kick(struct virtq *vq, u64 *state);
int packed_need_kick(struct virtq *vq, u64 *state);

/* The poll loop's one load: nonzero when the device has used a buffer
 * the driver has not taken (split: remembers used.idx as seen). */
int split_used_pending(struct virtq *vq);
int packed_used_pending(struct virtq *vq);

/* Whether a used buffer waits to be taken, without remembering it (a
 * hint for virtq_rearm's second look). */
int split_used_hint(const struct virtq *vq);
int packed_used_hint(const struct virtq *vq);

/* Read the next used element the last wait saw, without taking it: 0
 * when there is none.  Fails the boot if the device moved its index
 * further than the buffers in flight. */
int split_peek_used(struct virtq *vq, u32 *id, u32 *len);
int packed_peek_used(struct virtq *vq, u32 *id, u32 *len);
/* Step past the element just peeked, whose chain has `count`
 * descriptors (packed rings skip them, 2.8.6). */
void packed_step_used(struct virtq *vq, u16 count);

/* Return the chain headed by `head` (packed: buffer id) to the free
 * list. */
void split_free_chain(struct virtq *vq, u16 head, u16 count);
void packed_free_chain(struct virtq *vq, u16 id, u16 count);

/* Turn used-buffer notifications on or off (2.7.7 / 2.8.10); returns
 * the used_event (split) or driver off_wrap (packed) now in memory. */
u16 split_set_callbacks(struct virtq *vq, int on);
u16 packed_set_callbacks(struct virtq *vq, int on);

/* Part of virtq_self_check: the rings' shared state agrees with the
 * private indices.  Returns NULL or what is wrong, in `buf`. */
const char *split_check(struct virtq *vq, char *buf, size_t size);
const char *packed_check(struct virtq *vq, char *buf, size_t size);

#endif /* DEMO_RING_H */
