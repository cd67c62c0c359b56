/* vqtrace.h - byte layout of the vqscope trace region.
 *
 * The trace region is a block of shared memory (an ivshmem-plain BAR2 in
 * the guest, a memory-backend file on the host) that one producer (the
 * guest-driver library or the in-guest eBPF tracer) fills and one consumer
 * (the host program vqscope) reads.  This header is the whole contract.  It
 * is included unchanged by freestanding guest code, by BPF programs and by
 * the host, so it uses no libc header: fixed-width types come from the
 * compiler's own __UINTn_TYPE__ macros.
 *
 * All multi-byte fields are little-endian.  Every size and offset is pinned
 * by a _Static_assert at the bottom of this file.  The ordering rules (which
 * store is published with which barrier) are in docs/protocol.md and next
 * to each field below.
 *
 * Region layout (size S, a power of two from 64 KiB to 1 GiB):
 *
 *   0x0000  struct vqt_header      producer-written, host read-only
 *   0x1000  struct vqt_control     host-written control, producer acks
 *   0x2000  struct vqt_queue[n]    queue table, n = header.queue_slots
 *   S/2     struct vqt_event[m]    event ring, m = header.ring_records
 *                                  (a power of two, m * 32 <= S/2)
 */
#ifndef VQTRACE_H
#define VQTRACE_H

typedef __UINT8_TYPE__ vq_u8;
typedef __UINT16_TYPE__ vq_u16;
typedef __UINT32_TYPE__ vq_u32;
typedef __UINT64_TYPE__ vq_u64;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vqtrace.h: the trace region is little-endian; big-endian producers are not supported"
#endif

/* ---- identification and versioning ------------------------------------ */

#define VQT_MAGIC	  0x52545156u /* "VQTR" read as bytes */
#define VQT_VERSION_MAJOR 1	      /* bumped on incompatible layout changes */
#define VQT_VERSION_MINOR 1	      /* bumped when reserved space gains meaning */

#define VQT_REGION_MIN	   (64u * 1024u)
#define VQT_REGION_MAX	   (1024u * 1024u * 1024u)
#define VQT_REGION_DEFAULT (4u * 1024u * 1024u)

#define VQT_HEADER_OFFSET  0x0000u
#define VQT_CONTROL_OFFSET 0x1000u
#define VQT_QUEUE_OFFSET   0x2000u
#define VQT_PAGE_SIZE	   0x1000u

#define VQT_QUEUE_SLOTS_MIN 64u
#define VQT_QUEUE_SLOTS_MAX 255u /* slot 255 (VQT_QUEUE_NONE) means "no queue" */
#define VQT_QUEUE_NONE	    0xffu

#define VQT_PRODUCER_LEN   64u
#define VQT_QUEUE_NAME_LEN 32u

/* The largest virtqueue: 2^15 entries (virtio 1.2, 2.6 and 2.7: Queue Size
 * is at most 32768).  Ring sizes and descriptor counts are bounded by it. */
#define VQT_RING_SIZE_MAX 32768u

/* Timestamp sources (header.ts_source). */
#define VQT_TS_TSC	 1u /* x86 time-stamp counter, ts_hz calibrated */
#define VQT_TS_CNTVCT	 2u /* aarch64 virtual counter, ts_hz from CNTFRQ */
#define VQT_TS_MONOTONIC 3u /* CLOCK_MONOTONIC nanoseconds (ts_hz = 1e9) */
#define VQT_TS_BPF_KTIME 4u /* bpf_ktime_get_ns(), nanoseconds */

/* header.flags */
#define VQT_HDR_F_STEP_CAPABLE (1u << 0) /* producer honours step mode */
#define VQT_HDR_F_HOSTED       (1u << 1) /* producer is a user-space program */
#define VQT_HDR_F_TRACER       (1u << 2) /* producer is the eBPF tracer */

/* Producer states (header.producer_state, minor version 1). */
#define VQT_PRODUCER_UNKNOWN 0u /* the producer does not say (1.0 producers) */
#define VQT_PRODUCER_RUNNING 1u /* producing; heartbeats if heartbeat_ms != 0 */
#define VQT_PRODUCER_STOPPED 2u /* stopped for good at heartbeat_ts */

/* ---- header (page 0) --------------------------------------------------- */

/* Initialisation protocol (producer):
 *   1. store magic = 0 (consumers now treat the region as "initialising"),
 *   2. write every field below and zero the queue table,
 *   3. generation = previous generation + 1,
 *   4. release-store magic = VQT_MAGIC (orders 1-3 before it).
 * A consumer acquire-loads magic, reads the layout, validates it, and
 * re-reads generation after every batch: a change means the producer
 * restarted (guest reboot) and the consumer must resynchronise. */
struct vqt_header {
	vq_u32 magic;			 /* 0x00 VQT_MAGIC once initialised */
	vq_u16 version_major;		 /* 0x04 VQT_VERSION_MAJOR */
	vq_u16 version_minor;		 /* 0x06 VQT_VERSION_MINOR */
	vq_u64 region_size;		 /* 0x08 bytes, power of two */
	vq_u32 generation;		 /* 0x10 bumped on every (re)initialisation */
	vq_u32 flags;			 /* 0x14 VQT_HDR_F_* */
	vq_u32 ts_source;		 /* 0x18 VQT_TS_* */
	vq_u32 header_size;		 /* 0x1c sizeof(struct vqt_header) */
	vq_u64 ts_hz;			 /* 0x20 timestamp ticks per second */
	vq_u64 ts_base;			 /* 0x28 timestamp at initialisation */
	vq_u32 control_offset;		 /* 0x30 VQT_CONTROL_OFFSET */
	vq_u32 control_size;		 /* 0x34 sizeof(struct vqt_control) */
	vq_u32 queue_offset;		 /* 0x38 VQT_QUEUE_OFFSET */
	vq_u16 queue_slots;		 /* 0x3c slots in the queue table */
	vq_u16 queue_slot_size;		 /* 0x3e sizeof(struct vqt_queue) */
	vq_u64 ring_offset;		 /* 0x40 region_size / 2 */
	vq_u32 ring_records;		 /* 0x48 power of two */
	vq_u16 record_size;		 /* 0x4c sizeof(struct vqt_event) */
	vq_u16 reserved0;		 /* 0x4e zero */
	char producer[VQT_PRODUCER_LEN]; /* 0x50 NUL-padded identity, e.g.
					  * "vqscope-demo 0.1 (x86_64)" */
	/* Producer state (minor 1).  The producer stores heartbeat_ts and
	 * producer_state, then release-stores heartbeats (+1); a reader
	 * acquire-loads heartbeats first. */
	vq_u32 producer_state;	       /* 0x90 VQT_PRODUCER_* */
	vq_u32 heartbeat_ms;	       /* 0x94 most ms between heartbeats while
					* running, 0: no heartbeat promised */
	vq_u64 heartbeat_ts;	       /* 0x98 timestamp of the last heartbeat or
					* state change (the stop, once stopped) */
	vq_u64 heartbeats;	       /* 0xa0 heartbeats and state changes so far */
	vq_u8 reserved1[0x100 - 0xa8]; /* 0xa8 zero */

	/* Producer-live fields, one cache line of their own (0x100). */
	vq_u64 ring_head;			/* 0x100 sequence number of the next record
						 * to be written = records written so far.
						 * Release-stored after the record's commit
						 * word (see vqt_event.seq). */
	vq_u64 events_masked;			/* 0x108 events not written: event_mask */
	vq_u64 frames;				/* 0x110 FRAME_END events produced */
	vq_u64 log_bytes;			/* 0x118 bytes reported by LOG events */
	vq_u64 log_ticks;			/* 0x120 ticks reported by LOG events */
	vq_u64 marks;				/* 0x128 MARK events */
	vq_u64 errors;				/* 0x130 ERROR events */
	vq_u64 step_waits;			/* 0x138 events that waited for a token */
	vq_u8 reserved2[VQT_PAGE_SIZE - 0x140]; /* zero */
};

/* ---- control block (page 1) -------------------------------------------- */

/* The host writes the first cache line; the producer writes the second.
 * The producer reads host fields with plain volatile loads at each event;
 * it never blocks on them except in step mode. */
struct vqt_control {
	/* host -> producer */
	vq_u32 step_mode;      /* 0x00 1: wait for a token before each event */
	vq_u32 step_grant;     /* 0x04 tokens granted so far (free-running) */
	vq_u32 event_mask;     /* 0x08 bit (1 << type) set: do not write that
				* type (counters still count) */
	vq_u32 reset_request;  /* 0x0c incremented to ask for a counter reset */
	vq_u32 host_heartbeat; /* 0x10 incremented by the host at least once a
				* second while step mode is on; a producer
				* that sees it stall for 2 s leaves step mode */
	vq_u32 host_pid;       /* 0x14 informational: attached host process */
	vq_u8 reserved0[0x40 - 0x18];

	/* producer -> host acknowledgements (0x40) */
	vq_u32 step_taken;	/* 0x40 tokens consumed (free-running) */
	vq_u32 step_waiting;	/* 0x44 1 while waiting for a token */
	vq_u32 reset_ack;	/* 0x48 last reset_request honoured */
	vq_u32 mask_ack;	/* 0x4c event_mask in force */
	vq_u32 step_abandoned;	/* 0x50 times step mode was left on heartbeat
				 * timeout */
	vq_u32 step_event_type; /* 0x54 type of the event waiting for a token */
	vq_u8 reserved1[VQT_PAGE_SIZE - 0x58];
};

/* ---- queue table (page 2 onwards) -------------------------------------- */

#define VQT_QS_FREE   0u /* slot unused */
#define VQT_QS_ACTIVE 1u /* queue registered and traced */
#define VQT_QS_GONE   2u /* queue was torn down; counters kept */

/* vqt_queue.flags */
#define VQT_QF_EVENT_IDX (1u << 0) /* VIRTIO_F_EVENT_IDX negotiated (2.7.7) */
#define VQT_QF_PACKED	 (1u << 1) /* packed virtqueue (2.8) */
#define VQT_QF_INDIRECT	 (1u << 2) /* indirect descriptors in use (2.7.5.3) */
#define VQT_QF_CB_DISABLED                                                                         \
	(1u << 3) /* driver has used-buffer notifications                                          \
		   * turned off (2.7.7) */
/* A receive queue (minor 1): the driver keeps device-writable buffers
 * posted for the device to fill when something arrives (virtio-net
 * receiveq, virtio-vsock rx and event, virtio-input eventq, virtio-console
 * receiveq).  Clear: a request queue, where each buffer is a command the
 * driver waits on. */
#define VQT_QF_RECEIVE (1u << 4)

/* Counters, indices into vqt_queue.counters[]. */
enum vqt_counter {
	VQT_C_ADDS = 0,		/* buffers made available */
	VQT_C_DESCS,		/* descriptors in those buffers */
	VQT_C_BYTES,		/* bytes in those buffers */
	VQT_C_KICKS,		/* available-buffer notifications sent */
	VQT_C_KICKS_SUPPRESSED, /* notifications skipped (2.7.10) */
	VQT_C_IRQS,		/* used-buffer notifications received */
	VQT_C_POLLS,		/* finished polls of used.idx */
	VQT_C_POLL_SPINS,	/* loop iterations in those polls */
	VQT_C_BARRIERS_RMB,	/* read barriers executed while polling */
	VQT_C_BARRIERS_WMB,	/* write barriers executed */
	VQT_C_BARRIERS_MB,	/* full barriers executed */
	VQT_C_COMPLETIONS,	/* used buffers reaped */
	VQT_C_POLL_TIMEOUTS,	/* polls that gave up */
	VQT_C_USED_BYTES,	/* bytes the device reported written */
	VQT_C_CB_CHANGES,	/* callback enable/disable transitions */
	VQT_C_ERRORS,		/* ERROR events for this queue */
	VQT_C_COUNT		/* 16 */
};

/* One slot per traced virtqueue.  The producer brackets every update with
 * the seqcount: seq becomes odd, fields change, seq becomes even again; a
 * reader copies the slot between two equal even reads of seq. */
struct vqt_queue {
	vq_u32 seq;		       /* 0x00 seqcount */
	vq_u16 state;		       /* 0x04 VQT_QS_* */
	vq_u16 flags;		       /* 0x06 VQT_QF_* */
	vq_u16 device_type;	       /* 0x08 virtio device ID (5: 1 net, 2 block,
					* 4 rng, 16 gpu, ...) */
	vq_u16 device_instance;	       /* 0x0a 0 for the first device of a type */
	vq_u16 queue_index;	       /* 0x0c virtqueue index within the device */
	vq_u16 ring_size;	       /* 0x0e queue size (2.7: a power of two for
					* split rings) */
	char name[VQT_QUEUE_NAME_LEN]; /* 0x10 NUL-padded, e.g. "gpu0.control" */
	vq_u64 desc_addr;	       /* 0x30 guest-physical descriptor table */
	vq_u64 avail_addr;	       /* 0x38 guest-physical driver area */
	vq_u64 used_addr;	       /* 0x40 guest-physical device area */
	vq_u16 avail_idx;	       /* 0x48 driver's avail shadow: next avail.idx */
	vq_u16 last_used_idx;	       /* 0x4a driver's last used index reaped */
	vq_u16 num_free;	       /* 0x4c free descriptors */
	vq_u16 reserved0;	       /* 0x4e zero */
	vq_u64 counters[VQT_C_COUNT];  /* 0x50 enum vqt_counter */
	vq_u64 last_event_ts;	       /* 0xd0 timestamp of the last event */
	vq_u64 registered_ts;	       /* 0xd8 timestamp of registration */
	vq_u8 reserved1[0x100 - 0xe0];
};

/* ---- event ring (second half of the region) ---------------------------- */

enum vqt_event_type {
	VQT_EV_NONE = 0,
	VQT_EV_ADD = 1,		    /* buffer made available (2.7.13) */
	VQT_EV_KICK = 2,	    /* available-buffer notification sent */
	VQT_EV_KICK_SUPPRESSED = 3, /* notification not needed (2.7.10) */
	VQT_EV_POLL = 4,	    /* a poll of used.idx finished */
	VQT_EV_USED = 5,	    /* used buffer reaped (2.7.14) */
	VQT_EV_IRQ = 6,		    /* used-buffer notification received */
	VQT_EV_FRAME_BEGIN = 7,	    /* driver-defined unit of work begins */
	VQT_EV_FRAME_END = 8,	    /* ... and ends */
	VQT_EV_LOG = 9,		    /* driver spent time writing log output */
	VQT_EV_MARK = 10,	    /* user annotation */
	VQT_EV_ERROR = 11,	    /* producer-detected error */
	VQT_EV_QUEUE = 12,	    /* queue registered or torn down */
	VQT_EV_CB = 13,		    /* used-buffer notifications on/off */
	VQT_EV_TYPE_COUNT
};

/* Whether events of this type name a queue table slot in vqt_event.queue
 * (the others carry VQT_QUEUE_NONE or, optionally, a slot). */
static inline int vqt_event_has_queue(unsigned type)
{
	switch (type) {
	case VQT_EV_ADD:
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED:
	case VQT_EV_POLL:
	case VQT_EV_USED:
	case VQT_EV_IRQ:
	case VQT_EV_QUEUE:
	case VQT_EV_CB:
		return 1;
	default:
		return 0;
	}
}

/* POLL outcomes (vqt_event.ndesc for VQT_EV_POLL). */
#define VQT_POLL_PROGRESS 0u /* used.idx moved */
#define VQT_POLL_TIMEOUT  1u /* gave up */
#define VQT_POLL_EMPTY	  2u /* nothing was in flight */

/* ERROR codes (vqt_event.ndesc for VQT_EV_ERROR). */
#define VQT_ERR_RING_FULL    1u /* no free descriptors */
#define VQT_ERR_BAD_USED_ID  2u /* device returned an id not in flight */
#define VQT_ERR_DEVICE	     3u /* device reported an error status */
#define VQT_ERR_STEP_TIMEOUT 4u /* host heartbeat stopped in step mode */
#define VQT_ERR_BAD_QUEUE    5u /* event for an unregistered slot */
#define VQT_ERR_DRIVER	     6u /* driver-specific, detail in arg */

/* KICK and KICK_SUPPRESSED arg: the notification-suppression state the
 * driver read when it decided whether to notify, so a consumer can redo
 * the decision (vring_need_event).  0 means "not known".
 *   bit 63        VQT_KICK_STATE_PRESENT
 *   bits 0..15    split: avail_event from the used ring (2.7.10);
 *                 packed: the device event suppression off_wrap (2.8.14)
 *   bits 16..31   split: the used ring's flags (VIRTQ_USED_F_NO_NOTIFY);
 *                 packed: the device event suppression flags (2.8.10)
 *   bits 32..47   packed only: the driver's next_off | next_wrap << 15
 *                 after the buffers the decision covers (2.8.21): the
 *                 "new" position vring_need_event compares with
 * The avail index in ring_idx counts buffers (chains), not descriptors,
 * for both layouts; a packed ring's positions are in bits 32..47. */
#define VQT_KICK_STATE_PRESENT	   (1ull << 63)
#define VQT_KICK_STATE_EVENT(arg)  ((vq_u16)(arg))
#define VQT_KICK_STATE_FLAGS(arg)  ((vq_u16)((arg) >> 16))
#define VQT_KICK_STATE_DRIVER(arg) ((vq_u16)((arg) >> 32))

/* One 32-byte record.  Field meaning by type:
 *
 *   type            ndesc      head/ring_idx (or barriers)  len        arg
 *   ADD             descs      head, avail index used       bytes      device-writable descs
 *   KICK[_SUPPR.]   -          -, new avail.idx             adds since last kick  suppression state
 *   POLL            outcome    barriers (u32)               spins      duration in ticks
 *   USED            freed      id, used index consumed      written    -
 *   IRQ             -          -, -                         -          ISR status
 *   FRAME_BEGIN     -          -                            -          frame number
 *   FRAME_END       -          -                            commands   frame number
 *   LOG             -          -                            bytes      duration in ticks
 *   MARK            -          -                            -          user value
 *   ERROR           code       head, ring_idx if relevant   -          detail
 *   QUEUE           state      -, ring size                 -          -
 *   CB              enabled    -, used event index          -          -
 *
 * Publication: the producer writing sequence number s into slot s & (m-1)
 *   1. stores seq = (u32)(s - 1), which no reader of that slot expects,
 *   2. write barrier (orders 1 before 3),
 *   3. stores the other fields,
 *   4. release-stores seq = (u32)s (orders 3 before it); a 64-bit
 *      producer may store type, queue and ndesc in this same aligned
 *      8-byte store (0x08..0x0f) instead of in 3,
 *   5. release-stores header.ring_head = s + 1.
 * A reader of record s acquire-loads seq, copies the record, read-barriers,
 * and loads seq again: the copy is whole only if both loads equal (u32)s.
 * Any other value means the slot was overwritten: the record is lost and is
 * counted as such, so every sequence number is either delivered or counted
 * lost, exactly. */
struct vqt_event {
	vq_u64 ts;    /* 0x00 producer timestamp, header.ts_hz ticks */
	vq_u32 seq;   /* 0x08 low 32 bits of the sequence number */
	vq_u8 type;   /* 0x0c enum vqt_event_type */
	vq_u8 queue;  /* 0x0d queue table slot or VQT_QUEUE_NONE */
	vq_u16 ndesc; /* 0x0e see table */
	union {
		struct {
			vq_u16 head;	 /* 0x10 descriptor id */
			vq_u16 ring_idx; /* 0x12 free-running ring index */
		};
		vq_u32 barriers; /* 0x10 POLL only */
	};
	vq_u32 len; /* 0x14 see table */
	vq_u64 arg; /* 0x18 see table */
};

/* ---- layout checks ------------------------------------------------------ */

#define VQT_OFFSET_OF(type, field) __builtin_offsetof(type, field)

_Static_assert(sizeof(vq_u64) == 8, "vq_u64 must be 8 bytes");
_Static_assert(sizeof(struct vqt_header) == VQT_PAGE_SIZE, "vqt_header is one page");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, generation) == 0x10, "generation");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, ts_hz) == 0x20, "ts_hz");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, control_offset) == 0x30, "control_offset");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, queue_slots) == 0x3c, "queue_slots");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, ring_offset) == 0x40, "ring_offset");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, ring_records) == 0x48, "ring_records");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, producer) == 0x50, "producer");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, producer_state) == 0x90, "producer_state");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, heartbeat_ms) == 0x94, "heartbeat_ms");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, heartbeat_ts) == 0x98, "heartbeat_ts");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, heartbeats) == 0xa0, "heartbeats");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, ring_head) == 0x100, "ring_head");
_Static_assert(VQT_OFFSET_OF(struct vqt_header, step_waits) == 0x138, "step_waits");
_Static_assert(sizeof(struct vqt_control) == VQT_PAGE_SIZE, "vqt_control is one page");
_Static_assert(VQT_OFFSET_OF(struct vqt_control, host_heartbeat) == 0x10, "host_heartbeat");
_Static_assert(VQT_OFFSET_OF(struct vqt_control, step_taken) == 0x40, "step_taken");
_Static_assert(VQT_OFFSET_OF(struct vqt_control, step_event_type) == 0x54, "step_event_type");
_Static_assert(sizeof(struct vqt_queue) == 256, "vqt_queue is 256 bytes");
_Static_assert(VQT_OFFSET_OF(struct vqt_queue, name) == 0x10, "name");
_Static_assert(VQT_OFFSET_OF(struct vqt_queue, desc_addr) == 0x30, "desc_addr");
_Static_assert(VQT_OFFSET_OF(struct vqt_queue, avail_idx) == 0x48, "avail_idx");
_Static_assert(VQT_OFFSET_OF(struct vqt_queue, counters) == 0x50, "counters");
_Static_assert(VQT_OFFSET_OF(struct vqt_queue, last_event_ts) == 0xd0, "last_event_ts");
_Static_assert(sizeof(struct vqt_event) == 32, "vqt_event is 32 bytes");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, seq) == 0x08, "seq");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, type) == 0x0c, "type");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, ndesc) == 0x0e, "ndesc");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, head) == 0x10, "head");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, ring_idx) == 0x12, "ring_idx");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, barriers) == 0x10, "barriers");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, len) == 0x14, "len");
_Static_assert(VQT_OFFSET_OF(struct vqt_event, arg) == 0x18, "arg");
_Static_assert(VQT_EV_TYPE_COUNT <= 32, "event_mask has one bit per type");
_Static_assert(VQT_QUEUE_OFFSET + VQT_QUEUE_SLOTS_MIN * 256u <= VQT_REGION_MIN / 2,
	       "the smallest region holds the minimum queue table");

/* Layout the producer derives from the region size; the host checks the
 * header against the same rules (lib: vqp_region_attach). */
#define VQT_RING_OFFSET(size) ((size) / 2u)
#define VQT_QUEUE_SLOTS(size)                                                                      \
	(((size) / 2u - VQT_QUEUE_OFFSET) / 256u > VQT_QUEUE_SLOTS_MAX                             \
	     ? VQT_QUEUE_SLOTS_MAX                                                                 \
	     : ((size) / 2u - VQT_QUEUE_OFFSET) / 256u)
#define VQT_RING_RECORDS(size) ((size) / 2u / 32u)

#endif /* VQTRACE_H */
