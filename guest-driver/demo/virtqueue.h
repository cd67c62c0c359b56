/* virtqueue.h - the demo guest's virtqueues, split (virtio 1.2 2.7) or
 * packed (2.8), with or without VIRTIO_RING_F_EVENT_IDX, several buffers
 * in flight, and every step reported to the vqscope trace region. */
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

/* 2.8.13 */
struct pvirtq_desc {
	u64 addr;
	u32 len;
	u16 id;
	u16 flags;
};
#define VIRTQ_DESC_F_AVAIL (1u << 7) /* 2.8.1 */
#define VIRTQ_DESC_F_USED  (1u << 15)

/* 2.8.14 */
struct pvirtq_event_suppress {
	u16 off_wrap; /* desc_event_off : 15, desc_event_wrap : 1 */
	u16 flags;    /* desc_event_flags : 2 */
};
#define RING_EVENT_FLAGS_ENABLE	 0x0u /* 2.8.10 */
#define RING_EVENT_FLAGS_DISABLE 0x1u
#define RING_EVENT_FLAGS_DESC	 0x2u
#define RING_EVENT_WRAP_SHIFT	 15

/* One buffer of a request: driver-readable unless device_writable. */
struct virtq_buffer {
	const void *addr;
	u32 len; /* bytes the buffer holds */
	int device_writable;
	/* bug=len-overflow only: the length written into the descriptor
	 * when it is not `len`; 0 otherwise. */
	u32 claimed_len;
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
	u16 size;      /* entries; a power of two */
	int packed;    /* VIRTIO_F_RING_PACKED negotiated (2.8) */
	int event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated (2.7.7, 2.7.10, 2.8.10) */
	volatile u16 *notify;
	int trace_slot;
	int irq;       /* completions are signalled by MSI-X, not polled */
	u64 irqs_seen; /* MSI-X interrupts already reported */
	enum barrier_policy policy;
	u64 timeout_ticks; /* how long one wait may take, 0 = forever */
	enum demo_bug bug;

	/* Split ring (2.7): shared with the device. */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile u16 *used_event;  /* avail->ring[size] (2.7.7) */
	volatile u16 *avail_event; /* after used->ring[size] (2.7.10) */
	/* Packed ring (2.8): shared with the device. */
	volatile struct pvirtq_desc *ring;
	volatile struct pvirtq_event_suppress *driver_event; /* driver area */
	volatile struct pvirtq_event_suppress *device_event; /* device area */

	/* Driver-private state: never re-read from the rings, which the
	 * device can write (like Linux's avail_idx_shadow).  Indices are
	 * free-running u16 counts of buffers (chains) for both layouts. */
	u16 avail_idx_shadow; /* buffers made available (split: avail.idx) */
	u16 kicked_idx;	      /* avail_idx_shadow at the last kick decision */
	u16 last_used_idx;    /* buffers taken from the used ring */
	u16 seen_used_idx;    /* split: used.idx as the last wait saw it */
	int used_seen;	      /* packed: the last wait saw a used descriptor */
	u16 num_free;	      /* free descriptors */
	u16 in_flight;	      /* buffers made available and not yet taken */
	u16 free_head;	      /* split: first free descriptor; packed: free id */
	u16 *next;	      /* split: descriptor links; packed: free-id links */
	u16 *chain_length;    /* per head (packed: id): descriptors, 0 if free */
	void **token;	      /* per head (packed: id): the caller's request */
	/* Packed ring positions and wrap counters (2.8.1). */
	u16 next_avail, next_used;
	u16 avail_wrap, used_wrap;
	u16 descs_since_kick; /* descriptors made available since the last decision */
	/* Used-buffer notifications as last written. */
	int callbacks_on;
	u16 used_event_written; /* split: used_event; packed: driver off_wrap */
	/* Bug counters (bug=). */
	u64 needed_kicks, adds, taken, leaked;
	u32 last_taken_id; /* bug=stale-used-id: the previous element's id */
	int struck;	   /* a one-time bug has struck */
	u64 irqs_checked;  /* MSI-X count when the used ring was last checked */
	int rechecked;	   /* virtq_rearm's second look saw a used buffer */
	int stale_rearm;   /* bug=stale-used-event: used_event store pending */
	struct virtq_totals totals;
};

/* Set up queue `index` of vp (3.1.1 step 7, 4.1.5.1.3) with at most
 * max_size entries in the layout the features negotiated, and register
 * it with the trace region as `name`.  msix_vector: VIRTIO_MSI_NO_VECTOR
 * to poll. */
void virtq_setup(struct virtq *vq, struct virtio_pci *vp, u16 index, u16 max_size, const char *name,
		 u16 msix_vector, const struct demo_options *opts);
/* Descriptors a chain of `count` buffers can have now. */
int virtq_has_room(const struct virtq *vq, u16 count);
/* 2.7.13 / 2.8.21: make one request available, `token` being what
 * virtq_get_used gives back for it; returns its head (packed: buffer
 * id).  Fails the boot when there is no room: check virtq_has_room. */
u16 virtq_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, void *token);
/* 2.7.13.4 / 2.8.21.2 with 2.7.10 / 2.8.10: decide whether the buffers
 * added since the last decision need a notification, and send it.  No
 * decision (and no event) when nothing was added. */
void virtq_kick(struct virtq *vq);
/* Wait until the device has used at least one buffer: spin on the used
 * ring with the barrier policy, or sleep until the MSI-X interrupt in irq
 * mode.  On timeout, says what it saw and fails the boot. */
void virtq_wait(struct virtq *vq);
/* 2.7.14 / 2.8.22: take the next used buffer the last virtq_wait saw;
 * returns its token and stores the length the device wrote, or NULL. */
void *virtq_get_used(struct virtq *vq, u32 *written);
/* complete=irq: after taking what a wait saw, turn used-buffer
 * notifications back on and look once more (2.7.14's note); a buffer
 * used meanwhile is found by the next virtq_wait without an interrupt. */
void virtq_rearm(struct virtq *vq);
/* The driver's own check of its bookkeeping with nothing in flight: all
 * descriptors free exactly once, indices where the device left them.
 * Prints one line; fails the boot on a mismatch. */
void virtq_self_check(struct virtq *vq);

#endif /* DEMO_VIRTQUEUE_H */
