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

/* Per-CPU counters (map "counters"), summed by user space. */
enum vqtr_counter {
	VQTR_CNT_DROPPED = 0,  /* records lost: ring buffer full */
	VQTR_CNT_QUEUES_FULL,  /* events of queues beyond VQTR_MAX_QUEUES */
	VQTR_CNT_READ_FAULTS,  /* kernel memory reads that failed */
	VQTR_CNT_NESTING_LOST, /* kretprobe calls nested too deep to follow */
	VQTR_CNT_REAPS_MISSED, /* reaps never seen: the kernel skipped our
				* programs (kprobes run one BPF program per CPU
				* at a time, so one in an interrupt that lands
				* in another is dropped); found as gaps in a
				* split ring's used index */
	VQTR_CNT_COUNT
};

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
	__u32 detail; /* ERROR: errno the kernel returned */
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

_Static_assert(sizeof(struct vqtr_event) == 48, "vqtr_event is 48 bytes");
_Static_assert(sizeof(struct vqtr_queue) == 104, "vqtr_queue is 104 bytes");

#endif /* VQSCOPE_TRACE_H */
