/* vqscope_guest.h - instrumentation library for virtio drivers.
 *
 * A guest driver (hobby kernel, unikernel, or the in-guest eBPF tracer's
 * user-space half) calls this library to export its virtqueue state and
 * events into a vqscope trace region (protocol/vqtrace.h).  The library is
 * freestanding C: no libc, no allocation, no locks.  The caller owns the
 * struct vq_trace (static storage is fine) and the mapped region.
 *
 * Each event costs a timestamp read, a handful of stores and one release
 * publish; it never waits for the host, except in step mode, which the
 * host turns on when a person asks to walk through queue operations.
 *
 * A producer is single-threaded: call the event functions from one CPU at a
 * time (take your own lock, or use one region per CPU).
 *
 * Minimal use:
 *
 *   static struct vq_trace tr;
 *   struct vq_trace_config cfg = { .producer = "mykernel 0.3",
 *                                  .ts_hz = tsc_hz };
 *   vq_trace_init(&tr, ivshmem_bar2, bar2_size, &cfg);
 *   int q = vq_trace_register_queue(&tr, &(struct vq_queue_info){
 *           .device_type = 16, .queue_index = 0, .name = "gpu0.control",
 *           .ring_size = 64, .desc_addr = ..., .avail_addr = ...,
 *           .used_addr = ... });
 *   vq_trace_add(&tr, q, head, avail_idx, ndesc, bytes, nwritable);
 *   vq_trace_kick(&tr, q, new_avail_idx);   (or vq_trace_kick_decision)
 *   ... poll ...
 *   vq_trace_poll(&tr, q, &stats, VQT_POLL_PROGRESS);
 *   vq_trace_used(&tr, q, id, used_idx, written, ndesc);
 */
#ifndef VQSCOPE_GUEST_H
#define VQSCOPE_GUEST_H

#include "vqtrace.h"
#include "vq_barrier.h"

#ifndef VQ_TRACE_MAX_QUEUES
#define VQ_TRACE_MAX_QUEUES 64 /* private per-queue state kept in vq_trace */
#endif

/* Error codes returned by vq_trace_init / vq_trace_register_queue. */
#define VQ_TRACE_OK	0
#define VQ_TRACE_EINVAL (-1) /* bad argument (region size, ring size...) */
#define VQ_TRACE_EFULL	(-2) /* no free queue slot */

struct vq_trace_config {
	const char *producer; /* identity string, truncated to 63 bytes */
	vq_u64 ts_hz;	      /* ticks per second of now(); required */
	vq_u32 ts_source;     /* VQT_TS_*; 0 = the CPU counter */
	vq_u32 flags;	      /* extra VQT_HDR_F_* flags */
	vq_u32 no_step;	      /* nonzero: never wait in step mode (producers
			       * that must not block, like the tracer); the
			       * header then lacks VQT_HDR_F_STEP_CAPABLE */
	/* Timestamp function; NULL reads the CPU counter (rdtsc on x86,
	 * cntvct_el0 on aarch64). */
	vq_u64 (*now)(void);
};

struct vq_queue_info {
	vq_u16 device_type;	/* virtio device ID (virtio 1.2, 5) */
	vq_u16 device_instance; /* 0 for the first device of that type */
	vq_u16 queue_index;	/* virtqueue index in the device */
	vq_u16 ring_size;	/* queue size, 1..32768 */
	vq_u16 flags;		/* VQT_QF_*: EVENT_IDX, PACKED, INDIRECT as
				 * negotiated; RECEIVE for a queue of buffers
				 * posted for the device to fill (rx) */
	const char *name;	/* e.g. "gpu0.control", truncated to 31 */
	vq_u64 desc_addr;	/* guest-physical addresses of the ring parts */
	vq_u64 avail_addr;
	vq_u64 used_addr;
};

/* Private per-queue state: the library never re-reads the shared region
 * for its own bookkeeping (the host must not be able to steer it). */
struct vq_trace_queue {
	vq_u32 seq; /* seqcount value last published */
	vq_u16 state;
	vq_u16 flags;
	/* In the queue table's order (0x48..0x4f), so they go out in one
	 * 8-byte store; reserved stays zero. */
	vq_u16 avail_idx;
	vq_u16 last_used_idx;
	vq_u16 num_free;
	vq_u16 reserved;
	vq_u16 ring_size;
	vq_u16 device_type; /* identity, to reuse the slot on re-registration */
	vq_u16 device_instance;
	vq_u16 queue_index;
	vq_u64 adds_at_last_kick;
	vq_u64 counters[VQT_C_COUNT];
};

struct vq_trace {
	volatile struct vqt_header *hdr;
	volatile struct vqt_control *ctrl;
	volatile struct vqt_queue *queues;
	volatile struct vqt_event *ring;
	vq_u64 head;	    /* next sequence number (private copy) */
	vq_u32 ring_mask;   /* ring_records - 1 */
	vq_u32 queue_slots; /* slots usable: min(header, VQ_TRACE_MAX_QUEUES) */
	/* In the control block's order (event_mask, reset_request at
	 * 0x08..0x0f), so one 8-byte load compares both. */
	vq_u32 mask;	   /* event_mask in force */
	vq_u32 reset_seen; /* last control.reset_request honoured */
	vq_u32 step_taken; /* step tokens consumed (private copy) */
	vq_u32 no_step;	   /* from vq_trace_config */
	vq_u64 ts_hz;
	vq_u64 (*now)(void);
	vq_u64 frames, log_bytes, log_ticks, marks, errors, masked, step_waits;
	struct vq_trace_queue q[VQ_TRACE_MAX_QUEUES];
};

/* Initialise (or re-initialise after a reboot) the region at `region`,
 * `size` bytes, a power of two from 64 KiB to 1 GiB.  Bumps the generation
 * so an attached host resynchronises.  Returns VQ_TRACE_OK or
 * VQ_TRACE_EINVAL. */
int vq_trace_init(struct vq_trace *t, void *region, vq_u64 size, const struct vq_trace_config *cfg);

/* Register a queue; returns its slot (>= 0) or a negative VQ_TRACE_E*.
 * A queue registered again after vq_trace_unregister_queue (device reset)
 * gets its old slot back, counters continuing.  Emits a QUEUE event. */
int vq_trace_register_queue(struct vq_trace *t, const struct vq_queue_info *info);
/* Mark a queue torn down (device reset); its counters stay readable. */
void vq_trace_unregister_queue(struct vq_trace *t, int slot);

/* Read the timestamp source the region was initialised with. */
vq_u64 vq_trace_now(const struct vq_trace *t);

/* Events.  `slot` is a value returned by vq_trace_register_queue; calls
 * with a bad slot emit an ERROR event instead. */
void vq_trace_add(struct vq_trace *t, int slot, vq_u16 head, vq_u16 avail_idx, vq_u16 ndesc,
		  vq_u32 bytes, vq_u16 nwritable);
void vq_trace_kick(struct vq_trace *t, int slot, vq_u16 new_avail_idx);
void vq_trace_kick_suppressed(struct vq_trace *t, int slot, vq_u16 new_avail_idx);
/* One kick decision with the evidence behind it: a KICK (notified != 0)
 * or KICK_SUPPRESSED event whose arg is `suppression_state` (the raw
 * words the driver read, laid out as vqtrace.h's VQT_KICK_STATE_*
 * describes) with VQT_KICK_STATE_PRESENT set.  Report what was read even
 * when the decision ignored it: that is what lets the host tell a missed
 * or a spurious notification from a correct one. */
void vq_trace_kick_decision(struct vq_trace *t, int slot, vq_u16 new_avail_idx, int notified,
			    vq_u64 suppression_state);
void vq_trace_poll(struct vq_trace *t, int slot, const struct vq_poll_stats *st, vq_u16 outcome);
void vq_trace_used(struct vq_trace *t, int slot, vq_u16 id, vq_u16 used_idx, vq_u32 written,
		   vq_u16 ndesc_freed);
void vq_trace_irq(struct vq_trace *t, int slot, vq_u32 isr);
void vq_trace_callbacks(struct vq_trace *t, int slot, int enabled, vq_u16 used_event);
void vq_trace_frame_begin(struct vq_trace *t, vq_u64 frame);
void vq_trace_frame_end(struct vq_trace *t, vq_u64 frame, vq_u32 commands);
/* The driver spent `ticks` (from vq_trace_now) writing `bytes` of log. */
void vq_trace_log(struct vq_trace *t, vq_u32 bytes, vq_u64 ticks);
void vq_trace_mark(struct vq_trace *t, vq_u64 value);
void vq_trace_error(struct vq_trace *t, int slot, vq_u16 code, vq_u64 detail);

/* Records the producer could not write (e.g. the tracer's BPF ring buffer
 * overflowed): their sequence numbers are skipped so the host counts them
 * as lost, exactly. */
void vq_trace_lost(struct vq_trace *t, vq_u64 n);

/* Say whether the producer is running or has stopped for good
 * (VQT_PRODUCER_RUNNING / _STOPPED), so the host can tell a quiet driver
 * from one that stopped tracing.  heartbeat_ms: while running, the longest
 * the producer promises to go between vq_trace_heartbeat calls (0: no
 * promise).  A producer that never calls it is "unknown" to the host. */
void vq_trace_set_state(struct vq_trace *t, vq_u32 state, vq_u32 heartbeat_ms);
/* Tell the host the producer is alive (header.heartbeat_ts, heartbeats):
 * at least every heartbeat_ms while running, e.g. from a timer or a main
 * loop.  Writes no event. */
void vq_trace_heartbeat(struct vq_trace *t);

/* Mark a queue a receive queue (VQT_QF_RECEIVE) or a request queue after
 * registering it, for producers that learn the kind later (the tracer
 * sees it in the first add).  Others pass the flag in vq_queue_info. */
void vq_trace_set_receive(struct vq_trace *t, int slot, int receive);

/* For producers that read the driver's real indices (the tracer): set the
 * published avail shadow, last used index and free count directly. */
void vq_trace_sync_indices(struct vq_trace *t, int slot, vq_u16 avail_idx, vq_u16 last_used_idx,
			   vq_u16 num_free);

#endif /* VQSCOPE_GUEST_H */
