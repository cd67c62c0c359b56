/* vqrec.h - byte layout of vqscope recording files (.vqt).
 *
 * A recording is a file header followed by self-describing chunks and,
 * when the writer closed the file cleanly, an index chunk and a trailer:
 *
 *   +-------------+---------+---------+-----+---------+-------+---------+
 *   | file header | chunk 0 | chunk 1 | ... | CLOSE   | INDEX | trailer |
 *   |  128 bytes  |         |         |     | (clean) |       | 32 bytes|
 *   +-------------+---------+---------+-----+---------+-------+---------+
 *
 *   chunk = struct vqr_chunk (16 bytes) + payload (length bytes)
 *           + zero padding to a multiple of 8
 *
 * Each chunk carries a CRC32C (Castagnoli) over its type, length and
 * payload, so a reader can tell a whole chunk from a torn or corrupted one.
 * A writer that dies leaves whole chunks followed by at most one partial
 * chunk; readers use everything up to the last whole chunk and rebuild the
 * index by scanning when the trailer is missing or bad.  All fields are
 * little-endian.  Like vqtrace.h this header needs no libc.
 */
#ifndef VQREC_H
#define VQREC_H

#include "vqtrace.h"

/* "\x89VQT\r\n\x1a\n": the high byte catches 7-bit transfers, the CR LF
 * pair catches newline conversion, ^Z stops a DOS `type`. */
#define VQR_MAGIC_0	  0x89u
#define VQR_MAGIC	  "\x89VQT\r\n\x1a\n"
#define VQR_MAGIC_LEN	  8u
#define VQR_TRAILER_MAGIC "VQTINDEX"

#define VQR_VERSION_MAJOR 1
#define VQR_VERSION_MINOR 2 /* 1: vqr_events.dropped_before, RING chunks; 2: PRODUCER */

#define VQR_CHUNK_ALIGN 8u
#define VQR_CHUNK_MAX	(64u * 1024u * 1024u) /* largest payload a reader accepts */

/* ---- file header ------------------------------------------------------- */

/* vqr_file_header.source_kind */
#define VQR_SRC_REGION 1u /* live trace region via vqscope */
#define VQR_SRC_TRACER 2u /* written directly by vqscope-trace */
#define VQR_SRC_DEVICE 3u /* QMP device-side sampling only */
#define VQR_SRC_TEST   4u /* synthetic, from tests */

struct vqr_file_header {
	char magic[VQR_MAGIC_LEN];	 /* 0x00 VQR_MAGIC */
	vq_u16 version_major;		 /* 0x08 */
	vq_u16 version_minor;		 /* 0x0a */
	vq_u32 header_size;		 /* 0x0c sizeof(struct vqr_file_header) */
	vq_u64 ts_hz;			 /* 0x10 event timestamp ticks per second */
	vq_u64 ts_start;		 /* 0x18 producer timestamp at start */
	vq_u64 wall_start_ns;		 /* 0x20 CLOCK_REALTIME ns at start */
	vq_u32 ts_source;		 /* 0x28 VQT_TS_* */
	vq_u32 source_kind;		 /* 0x2c VQR_SRC_* */
	char producer[VQT_PRODUCER_LEN]; /* 0x30 from the trace region */
	vq_u64 host_mono_start_ns;	 /* 0x70 host CLOCK_MONOTONIC at start */
	vq_u32 reserved;		 /* 0x78 zero */
	vq_u32 header_crc;		 /* 0x7c CRC32C of bytes 0x00..0x7b */
};

/* ---- chunks -------------------------------------------------------------- */

enum vqr_chunk_type {
	VQR_CHUNK_EVENTS = 1,	/* struct vqr_events + count * vqt_event */
	VQR_CHUNK_QUEUES = 2,	/* struct vqr_queues + count * vqr_queue_entry */
	VQR_CHUNK_DEVICE = 3,	/* struct vqr_device + count * vqr_device_queue */
	VQR_CHUNK_ANNOT = 4,	/* struct vqr_annot + text */
	VQR_CHUNK_REGION = 5,	/* struct vqr_region: producer (re)started */
	VQR_CHUNK_CLOSE = 6,	/* struct vqr_close: why and how it ended */
	VQR_CHUNK_INDEX = 7,	/* struct vqr_index + count * vqr_index_entry */
	VQR_CHUNK_RING = 8,	/* struct vqr_ring + count * vqr_ring_queue (minor 1) */
	VQR_CHUNK_PRODUCER = 9, /* struct vqr_producer (minor 2) */
	VQR_CHUNK_TYPE_COUNT
};
/* Chunk types below this bound with a good CRC are whole chunks; types a
 * reader does not know are skipped (added by later minor versions). */
#define VQR_CHUNK_TYPE_LIMIT 0x10000u

/* crc = CRC32C over the first 8 bytes of this header (type, length)
 * followed by the payload (without padding). */
struct vqr_chunk {
	vq_u32 type;   /* 0x00 enum vqr_chunk_type */
	vq_u32 length; /* 0x04 payload bytes, <= VQR_CHUNK_MAX */
	vq_u32 crc;    /* 0x08 */
	vq_u32 number; /* 0x0c chunk sequence number in the file, from 0 */
};

/* EVENTS: a batch of consecutive records drained from the ring.  Every
 * sequence number the reader passed over is delivered (here), lost
 * (overwritten before it was read), or dropped (read but malformed: a
 * protocol violation).  Those missing between the previous batch and this
 * one are counted in lost_before, so first_seq == previous first_seq +
 * previous count + lost_before within one generation; those missing
 * between the records of this batch are its gaps.  dropped_before of the
 * missing ones (before and inside) were dropped, not lost:
 *   lost = lost_before + gaps - dropped_before.
 * (Minor version 0 wrote 0 there: every missing record counted as lost.) */
struct vqr_events {
	vq_u64 first_seq;	  /* 0x00 sequence number of the first record */
	vq_u32 count;		  /* 0x08 records that follow */
	vq_u32 generation;	  /* 0x0c trace-region generation */
	vq_u64 lost_before;	  /* 0x10 records lost just before this batch */
	vq_u64 host_mono_ns;	  /* 0x18 host CLOCK_MONOTONIC when drained */
	vq_u32 violations_before; /* 0x20 protocol violations seen since the
				   * previous batch (dropped records, bad
				   * heads, bad queue-table slots) */
	vq_u32 dropped_before;	  /* 0x24 of the missing records, those the
				   * reader dropped as malformed (each is
				   * also a violation, in this batch's
				   * violations_before or an earlier one) */
				  /* followed by count * struct vqt_event */
};

/* QUEUES: a snapshot of the active queue-table slots. */
struct vqr_queues {
	vq_u64 ts;	   /* 0x00 producer timestamp of the snapshot */
	vq_u32 generation; /* 0x08 */
	vq_u32 count;	   /* 0x0c entries that follow */
};
struct vqr_queue_entry {
	vq_u32 slot;		/* 0x00 queue-table slot number */
	vq_u32 reserved;	/* 0x04 zero */
	struct vqt_queue queue; /* 0x08 copy taken under the seqcount */
};

/* DEVICE: one sample of the device-side view from QMP
 * (x-query-virtio-queue-status), taken on the host. */
struct vqr_device {
	vq_u64 host_mono_ns; /* 0x00 host CLOCK_MONOTONIC of the sample */
	vq_u64 ts_estimate;  /* 0x08 same instant in producer ticks, or 0 */
	vq_u32 count;	     /* 0x10 entries that follow */
	vq_u32 cpu_wait_ms;  /* 0x14 QEMU's wait for a CPU so far, or 0 */
};
struct vqr_device_queue {
	char path[64];		 /* 0x00 QOM path of the virtio device */
	char name[32];		 /* 0x40 device name from x-query-virtio */
	vq_u16 device_id;	 /* 0x60 virtio device ID */
	vq_u16 queue_index;	 /* 0x62 */
	vq_u16 vring_num;	 /* 0x64 queue size */
	vq_u16 last_avail_idx;	 /* 0x66 device's next avail index to read */
	vq_u16 shadow_avail_idx; /* 0x68 device's copy of avail.idx */
	vq_u16 used_idx;	 /* 0x6a device's used.idx */
	vq_u16 signalled_used;	 /* 0x6c used index of the last notification */
	vq_u16 inuse;		 /* 0x6e buffers popped but not yet pushed */
	vq_u64 desc_addr;	 /* 0x70 guest-physical, from QEMU */
	vq_u64 avail_addr;	 /* 0x78 */
	vq_u64 used_addr;	 /* 0x80 */
	vq_u32 trace_slot;	 /* 0x88 matching queue-table slot, or ~0u */
	vq_u32 flags;		 /* 0x8c VQR_DQ_* */
};
#define VQR_DQ_SIGNALLED_VALID (1u << 0)
#define VQR_DQ_DISAGREE	       (1u << 1) /* device and driver views disagree */
#define VQR_DQ_BROKEN	       (1u << 2) /* QEMU marked the device broken (needs reset) */

/* RING: the rings as vqscope read them from guest RAM, one entry per
 * traced queue, with the first problem found in the descriptor chains it
 * walked (those in flight).  What the diagnosis needs from guest RAM, so a
 * recording can be diagnosed as the live session was. */
struct vqr_ring {
	vq_u64 host_mono_ns; /* 0x00 host CLOCK_MONOTONIC of the reads */
	vq_u32 count;	     /* 0x08 entries that follow */
	vq_u32 cpu_wait_ms;  /* 0x0c QEMU's wait for a CPU so far, or 0 */
};
/* PRODUCER: the producer's own word on whether it runs (the trace region
 * header's producer_state and heartbeat, 0x90..), as the recorder read
 * it when the recording began and whenever it changed (heartbeats often
 * enough that none is missed for silence).  A reader judges a trace that
 * stands still as it was judged live: a stopped or silent producer leaves
 * the device moving on untraced, which is no stuck queue. */
struct vqr_producer {
	vq_u64 host_mono_ns; /* 0x00 host CLOCK_MONOTONIC of the read */
	vq_u64 heartbeat_ts; /* 0x08 producer ticks of its latest heartbeat */
	vq_u64 heartbeats;   /* 0x10 heartbeats and state changes so far */
	vq_u32 state;	     /* 0x18 VQT_PRODUCER_* (others read as unknown) */
	vq_u32 heartbeat_ms; /* 0x1c the longest it promised between heartbeats, 0: none */
};
/* cpu_wait_ms (DEVICE and RING, since minor version 1; 0 when not
 * measured): how long QEMU's threads had waited for a CPU since vqscope
 * attached, in all (the longest wait of any one thread between
 * samples, added up).  A stuck queue is judged on the time QEMU could
 * run, as it was live. */
struct vqr_ring_queue {
	vq_u32 slot;  /* 0x00 queue-table slot */
	vq_u16 flags; /* 0x04 VQR_RQ_* */
	vq_u16 size;  /* 0x06 queue size */
	/* Split rings (2.7.6, 2.7.8; the event fields with EVENT_IDX). */
	vq_u16 avail_flags; /* 0x08 */
	vq_u16 avail_idx;   /* 0x0a */
	vq_u16 used_event;  /* 0x0c */
	vq_u16 used_flags;  /* 0x0e */
	vq_u16 used_idx;    /* 0x10 */
	vq_u16 avail_event; /* 0x12 */
	/* Packed rings (2.8.14): the driver's and the device's event
	 * suppression structures. */
	vq_u16 driver_off_wrap; /* 0x14 */
	vq_u16 driver_flags;	/* 0x16 */
	vq_u16 device_off_wrap; /* 0x18 */
	vq_u16 device_flags;	/* 0x1a */
	/* The first bad chain among those walked (VQR_RQ_BAD_CHAIN). */
	vq_u16 chain_head;	/* 0x1c split: head; packed: ring position */
	vq_u8 chain_problem;	/* 0x1e what (vqscope's enum chain_problem) */
	vq_u8 reserved0;	/* 0x1f zero */
	vq_u32 chain_bad_index; /* 0x20 where: the descriptor */
	vq_u32 chains_walked;	/* 0x24 chains read in this sample */
	vq_u64 chain_bad_value; /* 0x28 the value read there */
	/* Packed: a descriptor of the driver's newest chain whose AVAIL/USED
	 * bits do not match the driver's wrap counter (VQR_RQ_BAD_WRAP). */
	vq_u16 wrap_position;	/* 0x30 the descriptor's ring position */
	vq_u16 wrap_flags;	/* 0x32 its flags as read */
	vq_u16 wrap_driver_pos; /* 0x34 the driver's position (offset | wrap << 15) */
	/* Split: one used element vqscope was asked to look at (a USED
	 * event that named a buffer not in flight), as the device wrote it,
	 * when the ring had not lapped it yet (VQR_RQ_USED_ELEM). */
	vq_u16 elem_index; /* 0x36 its used index */
	vq_u32 elem_id;	   /* 0x38 the id the device wrote */
	vq_u32 elem_len;   /* 0x3c the length it wrote */
};
#define VQR_RQ_VALID	 (1u << 0) /* the fields above were read */
#define VQR_RQ_PACKED	 (1u << 1)
#define VQR_RQ_EVENT_IDX (1u << 2)
#define VQR_RQ_BAD_CHAIN (1u << 3)
#define VQR_RQ_BAD_WRAP	 (1u << 4)
#define VQR_RQ_USED_ELEM (1u << 5)

/* ANNOT: free text attached to a moment (markers from the UI, notes). */
struct vqr_annot {
	vq_u64 ts;     /* 0x00 producer ticks */
	vq_u32 kind;   /* 0x08 VQR_ANNOT_* */
	vq_u32 length; /* 0x0c text bytes that follow, no NUL */
};
#define VQR_ANNOT_NOTE	    1u /* user note */
#define VQR_ANNOT_QMP_EVENT 2u /* asynchronous QMP event (STOP, RESET...) */
#define VQR_ANNOT_VIOLATION 3u /* protocol violation seen by the reader */
#define VQR_ANNOT_FINDING   4u /* a diagnosis finding, first seen (vqscope doctor) */
/* Whether the host held the guest, as the recorder saw it when the
 * recording began and at every change: "running", "paused" (the VM is
 * stopped) or "step" (step mode holds the producer at each event).  A
 * held guest's queues stand still because of the host, not the driver or
 * the device. */
#define VQR_ANNOT_HOLD 5u

/* REGION: the trace region header as found at the start of a recording
 * and after every generation change. */
struct vqr_region {
	vq_u32 generation;		 /* 0x00 */
	vq_u32 ring_records;		 /* 0x04 */
	vq_u64 region_size;		 /* 0x08 */
	vq_u64 ts_hz;			 /* 0x10 */
	vq_u64 ts_base;			 /* 0x18 */
	vq_u32 ts_source;		 /* 0x20 */
	vq_u32 flags;			 /* 0x24 header flags */
	char producer[VQT_PRODUCER_LEN]; /* 0x28 */
	vq_u64 host_mono_ns;		 /* 0x68 when it was seen */
};

/* CLOSE: written last before the index by a writer that ends in order. */
#define VQR_END_NORMAL	    0u /* duration elapsed or source ended */
#define VQR_END_SIGNAL	    1u /* SIGINT/SIGTERM */
#define VQR_END_SOURCE_GONE 2u /* QEMU exited / socket closed */
#define VQR_END_ERROR	    3u /* an I/O error stopped the recording */
struct vqr_close {
	vq_u64 ts_end;	    /* 0x00 producer ticks of the last event */
	vq_u64 wall_end_ns; /* 0x08 CLOCK_REALTIME */
	vq_u64 events;	    /* 0x10 records written */
	vq_u64 lost;	    /* 0x18 records lost */
	vq_u64 violations;  /* 0x20 protocol violations */
	vq_u32 reason;	    /* 0x28 VQR_END_* */
	vq_u32 reserved;    /* 0x2c zero */
	char detail[80];    /* 0x30 NUL-padded words, e.g. "QEMU exited" */
};

/* INDEX: one entry per chunk before it, for seeking. */
struct vqr_index {
	vq_u32 count;	 /* 0x00 entries that follow */
	vq_u32 reserved; /* 0x04 zero */
};
struct vqr_index_entry {
	vq_u64 offset;	  /* 0x00 file offset of the chunk header */
	vq_u32 type;	  /* 0x08 chunk type */
	vq_u32 length;	  /* 0x0c payload length */
	vq_u64 first_ts;  /* 0x10 first event timestamp (EVENTS), else 0 */
	vq_u64 first_seq; /* 0x18 first sequence number (EVENTS), else 0 */
};

/* Trailer: the last 32 bytes of a cleanly closed file. */
struct vqr_trailer {
	vq_u64 index_offset; /* 0x00 file offset of the INDEX chunk */
	vq_u64 chunks;	     /* 0x08 chunks before the index */
	vq_u32 reserved;     /* 0x10 zero */
	vq_u32 crc;	     /* 0x14 CRC32C of bytes 0x00..0x13 */
	char magic[8];	     /* 0x18 VQR_TRAILER_MAGIC */
};

_Static_assert(sizeof(struct vqr_file_header) == 128, "file header is 128 bytes");
_Static_assert(VQT_OFFSET_OF(struct vqr_file_header, producer) == 0x30, "producer");
_Static_assert(VQT_OFFSET_OF(struct vqr_file_header, header_crc) == 0x7c, "header_crc");
_Static_assert(sizeof(struct vqr_chunk) == 16, "chunk header is 16 bytes");
_Static_assert(sizeof(struct vqr_events) == 40, "vqr_events");
_Static_assert(sizeof(struct vqr_producer) == 32, "vqr_producer");
_Static_assert(sizeof(struct vqr_queues) == 16, "vqr_queues");
_Static_assert(sizeof(struct vqr_queue_entry) == 264, "vqr_queue_entry");
_Static_assert(sizeof(struct vqr_device) == 24, "vqr_device");
_Static_assert(sizeof(struct vqr_device_queue) == 144, "vqr_device_queue");
_Static_assert(sizeof(struct vqr_annot) == 16, "vqr_annot");
_Static_assert(sizeof(struct vqr_ring) == 16, "vqr_ring");
_Static_assert(sizeof(struct vqr_ring_queue) == 64, "vqr_ring_queue");
_Static_assert(sizeof(struct vqr_region) == 112, "vqr_region");
_Static_assert(sizeof(struct vqr_close) == 128, "vqr_close");
_Static_assert(sizeof(struct vqr_index) == 8, "vqr_index");
_Static_assert(sizeof(struct vqr_index_entry) == 32, "vqr_index_entry");
_Static_assert(sizeof(struct vqr_trailer) == 32, "trailer is 32 bytes");

#endif /* VQREC_H */
