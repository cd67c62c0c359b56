/* vqscope_trace.h - records the tracer's BPF programs pass to its user-space
 * half through the BPF ring buffer, and the settings user space gives the
 * BPF programs before loading them.
 *
 * Included unchanged by tracer/vqscope_trace.bpf.c (clang -target bpf) and
 * by the user-space loader, so it uses only <linux/types.h> fixed-width
 * types with explicit padding.  These records never leave the guest: the
 * loader turns them into trace-region events (protocol/vqtrace.h) through
 * the guest library.
 */
#ifndef VQSCOPE_TRACE_H
#define VQSCOPE_TRACE_H

#include <linux/types.h>

#define VQTR_QUEUE_NAME_LEN  32	 /* struct virtqueue.name, NUL-terminated */
#define VQTR_DEVICE_NAME_LEN 16	 /* "virtio12" */
#define VQTR_MAX_QUEUES	     256 /* virtqueues remembered by the BPF side */
#define VQTR_MAX_CHAIN	     64	 /* descriptors walked to size one buffer */

/* Record kinds (the first byte after ts and vq). */
enum vqtr_kind {
	VQTR_KIND_EVENT = 1, /* struct vqtr_event */
	VQTR_KIND_QUEUE = 2, /* struct vqtr_queue: a virtqueue seen first */
};

/* Counters (array "counters" in the programs' .bss, read by user space
 * through the mapping libbpf gives it: reading them costs no system call,
 * which matters because a BPF map syscall blocks kprobe programs on its CPU
 * while it runs). */
enum vqtr_counter {
	VQTR_CNT_DROPPED = 0,  /* records lost: ring buffer full */
	VQTR_CNT_QUEUES_FULL,  /* events of queues beyond VQTR_MAX_QUEUES */
	VQTR_CNT_READ_FAULTS,  /* kernel memory reads that failed */
	VQTR_CNT_NESTING_LOST, /* kretprobe calls nested too deep to follow, or
				* whose return the kernel did not report */
	VQTR_CNT_REAPS_MISSED, /* reaps never reported, found in the rings: a
				* gap in a split ring's used index, or a packed
				* ring's buffer id added again (or found free at
				* the end) while the trace had it in flight */
	VQTR_CNT_ADDS_MISSED,  /* adds never reported, found in the rings: a
				* gap in a split ring's avail index, or a packed
				* ring's buffer reaped (or in flight at the end)
				* that the trace never saw added */
	VQTR_CNT_KICKS_MISSED, /* kick decisions lost: a kretprobe of
				* virtqueue_kick_prepare ran but the kernel had
				* skipped its kprobe, which names the queue */
	VQTR_CNT_COUNT
};

/* The functions vqscope_trace.bpf.c hooks, X(kernel function, short name).
 * Their order gives the index of each in vqtr_hook_runs.  User space
 * attaches one reap hook per ring layout: detach_buf_split/_packed where
 * the kernel has them, else the virtqueue_get_buf* functions; and
 * virtqueue_enable_cb only where virtqueue_enable_cb_prepare, which it
 * calls, cannot be hooked (hooks.c). */
#define VQTR_HOOKED_FUNCTIONS(X)                                                                   \
	X(virtqueue_add_sgs, add_sgs)                                                              \
	X(virtqueue_add_outbuf, add_outbuf)                                                        \
	X(virtqueue_add_inbuf, add_inbuf)                                                          \
	X(virtqueue_add_inbuf_ctx, add_inbuf_ctx)                                                  \
	X(virtqueue_kick_prepare, kick_prepare)                                                    \
	X(vring_interrupt, interrupt)                                                              \
	X(detach_buf_split, detach_split)                                                          \
	X(detach_buf_packed, detach_packed)                                                        \
	X(virtqueue_get_buf_ctx_split, get_buf_split)                                              \
	X(virtqueue_get_buf_ctx_packed, get_buf_packed)                                            \
	X(virtqueue_get_buf_ctx, get_buf_ctx)                                                      \
	X(virtqueue_get_buf, get_buf)                                                              \
	X(virtqueue_enable_cb_prepare, enable_cb_prepare)                                          \
	X(virtqueue_enable_cb, enable_cb)                                                          \
	X(virtqueue_enable_cb_delayed, enable_cb_delayed)

#define VQTR_FN_ENUM(fn, name) VQTR_FN_##name,
enum vqtr_function { VQTR_HOOKED_FUNCTIONS(VQTR_FN_ENUM) VQTR_FN_COUNT };
#undef VQTR_FN_ENUM

/* hook_runs[VQTR_RUNS_INDEX(fn, ret)]: times the kprobe (ret 0) or
 * kretprobe (ret 1) program of function fn started, counted so that user
 * space can tell the runs the kernel skipped from the hits it reports. */
#define VQTR_RUNS_INDEX(fn, ret) ((fn)*2 + (ret))
#define VQTR_RUNS_COUNT		 (VQTR_FN_COUNT * 2)

/* One virtqueue operation.  type is a VQT_EV_* value; the other fields
 * follow the table in protocol/vqtrace.h for that type.  avail_idx,
 * last_used_idx and num_free are the driver's own state right after the
 * operation (for split rings the free-running u16 indices of
 * virtio_ring.c; for packed rings the ring positions). */
struct vqtr_event {
	__u64 ts;  /* bpf_ktime_get_ns() */
	__u64 vq;  /* kernel address of the struct virtqueue: its identity */
	__u8 kind; /* VQTR_KIND_EVENT */
	__u8 type; /* VQT_EV_* */
	__u16 ndesc;
	__u16 head;
	__u16 ring_idx;
	__u32 len;
	__u16 nwritable; /* ADD: device-writable descriptors; CB: 1 = enabled */
	__u16 avail_idx;
	__u16 last_used_idx;
	__u16 num_free;
	__u32 detail; /* ERROR: errno the kernel returned; ADD: 1 when the add
		       * function took device-writable buffers only */
	__u32 reserved;
};

/* vqtr_queue.flags */
#define VQTR_QF_PACKED	  (1u << 0) /* packed virtqueue (virtio 1.2, 2.8) */
#define VQTR_QF_EVENT_IDX (1u << 1) /* VIRTIO_F_EVENT_IDX (2.7.7) */
#define VQTR_QF_INDIRECT  (1u << 2) /* indirect descriptors (2.7.5.3) */

/* A virtqueue the BPF side saw for the first time.  It always precedes
 * the first vqtr_event of that queue in the ring buffer. */
struct vqtr_queue {
	__u64 ts;
	__u64 vq;
	__u8 kind;	   /* VQTR_KIND_QUEUE */
	__u8 flags;	   /* VQTR_QF_* */
	__u16 device_id;   /* virtio device ID (virtio 1.2, 5) */
	__u16 queue_index; /* virtqueue index in the device */
	__u16 ring_size;
	__s32 device_index; /* N of "virtioN" */
	__u32 reserved;
	__u64 desc_addr; /* DMA addresses of the three ring parts */
	__u64 avail_addr;
	__u64 used_addr;
	char name[VQTR_QUEUE_NAME_LEN];		/* vq->name, e.g. "req.0" */
	char device_name[VQTR_DEVICE_NAME_LEN]; /* dev_name(&vdev->dev) */
};

/* The BPF side's state of one virtqueue (map "queues", keyed by the
 * struct virtqueue's address); user space reads the loss totals at the
 * end of the trace. */
enum vqtr_queue_mode { VQTR_QUEUE_TRACED = 1, VQTR_QUEUE_IGNORED = 2 };
#define VQTR_QUEUE_CLOSING 1 /* closed: it_end_queues is closing it */
#define VQTR_QUEUE_CLOSED  2 /* ... and has accounted for its end */
struct vqtr_queue_state {
	__u32 active;	    /* hooks running on this queue right now */
	__u32 closed;	    /* 0, VQTR_QUEUE_CLOSING or VQTR_QUEUE_CLOSED */
	__u32 reaps_missed; /* VQTR_CNT_REAPS_MISSED of this queue */
	__u32 adds_missed;  /* VQTR_CNT_ADDS_MISSED of this queue */
	__u8 mode;	    /* enum vqtr_queue_mode */
	__u8 cb;	    /* callback request last reported */
	__u8 broken;	    /* the driver's mark of a broken queue was reported */
	__u8 used_seen;	    /* used_idx is valid */
	__u8 packed;	    /* a packed ring */
	__u8 reap_pending;  /* a reap function was entered, its exit not run */
	__u8 seeded;	    /* packed: every id's bit was seeded at first sight */
	__u8 reserved;
	__u16 add_next; /* split: avail index the next add takes */
	__u16 used_idx; /* last used index accounted for: reported, or
			 * counted missed (split: one below the first
			 * the trace can see) */
	__u16 reap_idx; /* last_used_idx when a reap function was entered */
	__u16 ring_size;
};

_Static_assert(sizeof(struct vqtr_queue_state) == 32, "vqtr_queue_state is 32 bytes");
_Static_assert(sizeof(struct vqtr_event) == 48, "vqtr_event is 48 bytes");
_Static_assert(sizeof(struct vqtr_queue) == 104, "vqtr_queue is 104 bytes");

#endif /* VQSCOPE_TRACE_H */
