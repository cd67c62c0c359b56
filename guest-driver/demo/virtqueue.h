/* virtqueue.h - split virtqueues (virtio 1.2 2.7) driven by the demo
 * guest, instrumented with the vqscope guest library. */
#ifndef DEMO_VIRTQUEUE_H
#define DEMO_VIRTQUEUE_H

#include "virtio_pci.h"

/* 2.7.5 */
struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};
#define VIRTQ_DESC_F_NEXT  1u
#define VIRTQ_DESC_F_WRITE 2u

/* 2.7.6: flags, idx, ring[size], used_event. */
struct virtq_avail {
	u16 flags;
	u16 idx;
	u16 ring[];
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

/* 2.7.8: flags, idx, ring[size], avail_event. */
struct virtq_used_elem {
	u32 id;
	u32 len;
};
struct virtq_used {
	u16 flags;
	u16 idx;
	struct virtq_used_elem ring[];
};
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* One buffer of a request: driver-readable unless device_writable. */
struct virtq_buffer {
	const void *addr;
	u32 len;
	int device_writable;
};

/* Running totals, for the per-frame counter line. */
struct virtq_totals {
	u64 fences; /* barriers executed while polling */
	u64 spins;  /* checks of used.idx */
	u64 completions;
	u64 kicks;
	u64 irqs;
};

struct virtq {
	struct virtio_pci *vp;
	const char *name;
	u16 index;
	u16 size; /* a power of two */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile u16 *notify;
	int trace_slot;
	int irq;       /* completions are signalled by MSI-X, not polled */
	u64 irqs_seen; /* MSI-X interrupts already reported */

	/* Driver-private state: never re-read from the rings, which the
	 * device can write (like Linux's avail_idx_shadow). */
	u16 avail_idx_shadow; /* avail.idx as we last published it */
	u16 last_used_idx;    /* next used element to reap */
	u16 free_head;	      /* first free descriptor */
	u16 num_free;
	u16 in_flight;	   /* requests made available and not yet used */
	u16 *next;	   /* private copy of each descriptor's chain link */
	u16 *chain_length; /* descriptors in the chain headed by i, 0 if free */
	struct virtq_totals totals;
};

/* Set up queue `index` of vp (3.1.1 step 7, 4.1.5.1.3) with at most
 * max_size entries, and register it with the trace region as `name`.
 * msix_vector: VIRTIO_MSI_NO_VECTOR to poll. */
void virtq_setup(struct virtq *vq, struct virtio_pci *vp, u16 index, u16 max_size, const char *name,
		 u16 msix_vector);
/* 2.7.13: make one request available; returns its head descriptor. */
u16 virtq_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count);
/* 2.7.13.4 and 2.7.10: notify the device unless it asked not to be. */
void virtq_kick(struct virtq *vq);
/* Wait until the device has used at least one buffer, spinning on
 * used.idx with the given barrier policy (or waiting for the MSI-X
 * interrupt in irq mode); fails the boot after timeout_ticks. */
void virtq_wait(struct virtq *vq, enum barrier_policy policy, u64 timeout_ticks);
/* 2.7.14: take the next used element; returns its head and stores the
 * length the device wrote, or returns -1 when none is pending. */
int virtq_reap(struct virtq *vq, u32 *written);

#endif /* DEMO_VIRTQUEUE_H */
