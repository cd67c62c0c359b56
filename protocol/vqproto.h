/* vqproto.h - libvqproto: the host's one validating reader of trace
 * regions, and the reader and writer of recording files.
 *
 * Everything in a trace region or a recording was written by someone else
 * (a guest, a crashed writer, a fuzzer) and is checked here before anyone
 * else sees it: offsets, sizes, counts and indices are bounds-checked, and
 * every rejection names the bad value and where it was found.  Functions
 * that can fail fill a caller-supplied message buffer with one line
 * (no trailing newline).
 */
#ifndef VQPROTO_H
#define VQPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vqrec.h"
#include "vqtrace.h"

/* Return codes. */
enum vqp_status {
	VQP_OK = 0,
	VQP_NOT_READY = 1, /* region not initialised yet (magic 0) */
	VQP_BUSY = 3,	   /* producer kept writing; try again later */
	VQP_INVALID = -1,  /* malformed input; message says what and where */
	VQP_IO = -2,	   /* system call failed; message has strerror */
	/* Producer restarted: call vqp_region_sync again.  Negative because
	 * vqp_reader_drain returns it in place of a count of events. */
	VQP_RESYNC = -3,
};

#define VQP_ERRLEN 256

/* CRC32C (Castagnoli), as used by recording chunks.  Start with crc = 0. */
uint32_t vqp_crc32c(uint32_t crc, const void *buf, size_t len);

/* Copy the string src (NULL counts as "") into dst, which has cap >= 1
 * bytes: at most cap - 1 bytes of it, then zeros to the end of dst, so
 * dst is always terminated and a fixed-size field holds no stale bytes.
 * src need not be terminated if it has cap - 1 readable bytes.  Returns
 * the length copied.  The one string copy of the host code. */
size_t vqp_copy_string(char *dst, size_t cap, const char *src);

/* Name of an event type ("ADD", "USED", ...) or "?" for unknown. */
const char *vqp_event_type_name(unsigned type);
/* Event type from its name (case-insensitive), or -1. */
int vqp_event_type_from_name(const char *name);

/* The named fields of one event, in one place for everything that prints
 * events: `vqscope dump` and vqscope-trace --stdout ("head=5 idx=17
 * ndesc=2 bytes=4120 writable=1"), the args `vqscope export` writes, the
 * event log.  The meaning of each field by event type is the table in
 * vqtrace.h. */
#define VQP_EVENT_FIELDS_MAX 6
struct vqp_event_field {
	const char *name; /* "head", "idx", "dur", ... */
	uint64_t value;	  /* the number (durations in ns) */
	const char *text; /* a symbolic value ("progress", "active"), or NULL */
	const char *unit; /* "ns" for durations, else NULL */
	bool hex;	  /* print the number in hex (ISR status, error detail) */
};
/* The fields of e (ticks converted with ts_hz); returns how many. */
size_t vqp_event_fields(const struct vqt_event *e, uint64_t ts_hz,
			struct vqp_event_field out[VQP_EVENT_FIELDS_MAX]);
/* "name=value ..." separated by spaces ("" for an event without fields). */
void vqp_event_fields_text(char *buf, size_t len, const struct vqt_event *e, uint64_t ts_hz);

/* Ticks of a clock running at hz converted to nanoseconds (no overflow
 * for any 64-bit tick count below ~584 years). */
uint64_t vqp_ticks_to_ns(uint64_t ticks, uint64_t hz);

/* ---- trace region -------------------------------------------------------- */

/* A validated copy of the region header. */
struct vqp_layout {
	uint64_t region_size;
	uint32_t generation;
	uint32_t flags;
	uint32_t ts_source;
	uint16_t version_major, version_minor;
	uint64_t ts_hz;
	uint64_t ts_base;
	uint32_t queue_slots;
	uint32_t ring_records;
	uint64_t ring_offset;
	char producer[VQT_PRODUCER_LEN + 1]; /* NUL-terminated, printable */
};

struct vqp_region {
	const volatile uint8_t *base;	   /* whole mapping, read-only */
	size_t map_size;		   /* bytes mapped */
	volatile struct vqt_control *ctrl; /* writable control page, or NULL */
	bool valid;			   /* layout holds a validated header */
	struct vqp_layout layout;
};

/* Point r at a mapping of map_size bytes.  ctrl_rw, when not NULL, is a
 * writable mapping of the control page (offset VQT_CONTROL_OFFSET). */
void vqp_region_init(struct vqp_region *r, const void *base, size_t map_size, void *ctrl_rw);

/* Read and validate the header.  VQP_OK: r->layout is filled.
 * VQP_NOT_READY: the producer has not initialised it (yet).  VQP_INVALID:
 * the header is malformed; err says which field and value. */
int vqp_region_sync(struct vqp_region *r, char *err, size_t errlen);

/* True when the producer re-initialised since the last successful sync
 * (magic or generation changed). */
bool vqp_region_changed(const struct vqp_region *r);

/* The producer's ring head (records written so far), as published. */
uint64_t vqp_region_head(const struct vqp_region *r);

/* Whether the producer runs, and its heartbeat (header 0x90..0xa7, minor
 * version 1; a 1.0 region reads as VQT_PRODUCER_UNKNOWN). */
struct vqp_producer {
	uint32_t state;	       /* VQT_PRODUCER_* */
	uint32_t heartbeat_ms; /* promised most time between heartbeats, 0: none */
	uint64_t heartbeat_ts; /* producer timestamp of the last one (ticks) */
	uint64_t heartbeats;   /* heartbeats and state changes so far */
};

/* Read the producer state of a synced region.  A host tells a stopped or
 * dead producer from a quiet one by the state, and by heartbeats not
 * moving for several heartbeat_ms of its own time.  VQP_INVALID (err says
 * what) for a state outside VQT_PRODUCER_*, or a heartbeat stamped before
 * the region's ts_base; *out is then all zero (unknown). */
int vqp_region_producer(const struct vqp_region *r, struct vqp_producer *out, char *err,
			size_t errlen);

/* Copy one queue-table slot under its seqcount and validate it.
 * VQP_OK: *out is a consistent copy with a NUL-terminated, printable
 * name.  VQP_BUSY: the producer was writing it throughout.  VQP_INVALID:
 * slot out of range or contents malformed (err says what). */
int vqp_queue_snapshot(const struct vqp_region *r, unsigned slot, struct vqt_queue *out, char *err,
		       size_t errlen);

/* Validate a queue-table slot copy (used by vqp_queue_snapshot and by the
 * recording reader for QUEUES chunks).  Fixes up the name in place. */
int vqp_queue_check(struct vqt_queue *q, unsigned slot, char *err, size_t errlen);

/* Structural check of one event record: known type, queue slot in range
 * (or VQT_QUEUE_NONE), type-specific fields in range. */
int vqp_event_check(const struct vqt_event *e, unsigned queue_slots, char *err, size_t errlen);

/* ---- ring reader ------------------------------------------------------------ */

struct vqp_reader {
	struct vqp_region *region;
	uint64_t next;	     /* next sequence number to read */
	uint32_t generation; /* generation being read */
	/* Totals since vqp_reader_init. */
	uint64_t delivered;  /* records returned */
	uint64_t lost;	     /* records overwritten before they were read */
	uint64_t violations; /* records dropped as malformed, head jumps */
	uint64_t dropped;    /* of the violations, records dropped as malformed */
	char last_violation[VQP_ERRLEN];
	uint64_t bad_head; /* the garbage head last counted, or 0 */
};

/* What one vqp_reader_drain call saw. */
struct vqp_drain_info {
	uint64_t first_seq;	/* sequence number of out[0] */
	uint64_t lost;		/* records lost during this call */
	uint64_t violations;	/* violations during this call */
	uint64_t dropped;	/* of them, records dropped as malformed */
	uint64_t dropped_tail;	/* of those, the ones after the last record
				 * returned (all of them when none was) */
	uint64_t head;		/* producer head read at the start */
	uint64_t queue_records; /* QUEUE records among those returned (a queue
				 * registered or went: its table slot changed) */
};

/* Start reading the (synced) region r.  from_oldest: begin with the oldest
 * record still in the ring; otherwise only records written from now on. */
void vqp_reader_init(struct vqp_reader *rd, struct vqp_region *r, bool from_oldest);

/* Copy up to max whole, valid records into out[] in sequence order, each
 * out[i].seq holding the low 32 bits of its sequence number.  Returns the
 * count (>= 0; 0 only when there is nothing more to read right now), or
 * VQP_RESYNC when the producer restarted during the call
 * (nothing returned; call vqp_region_sync and vqp_reader_init).  Every
 * sequence number passed over is counted exactly once: delivered, lost or
 * violation. */
int vqp_reader_drain(struct vqp_reader *rd, struct vqt_event *out, size_t max,
		     struct vqp_drain_info *info);

/* ---- control block (host side) -------------------------------------------------- */

/* All no-ops when the region has no writable control page. */
void vqp_control_step_mode(struct vqp_region *r, bool on);
void vqp_control_grant(struct vqp_region *r, uint32_t tokens);
void vqp_control_heartbeat(struct vqp_region *r);
void vqp_control_event_mask(struct vqp_region *r, uint32_t mask);
void vqp_control_reset_counters(struct vqp_region *r);
void vqp_control_set_pid(struct vqp_region *r, uint32_t pid);
/* Producer acknowledgements, read with acquire loads. */
struct vqp_control_state {
	uint32_t step_mode, step_grant, step_taken, step_waiting, step_event_type;
	uint32_t step_abandoned, event_mask, mask_ack, reset_request, reset_ack;
};
void vqp_control_read(const struct vqp_region *r, struct vqp_control_state *out);

/* ---- recording writer ------------------------------------------------------------- */

struct vqp_writer_opts {
	uint64_t ts_hz;
	uint64_t ts_start;
	uint32_t ts_source;
	uint32_t source_kind; /* VQR_SRC_* */
	const char *producer;
	uint32_t events_per_chunk; /* 0: default 4096 */
};

struct vqp_writer;

/* Create path for writing and return its fd, or -1 with err.  Without
 * overwrite an existing path (even a symbolic link) is refused ("... File
 * exists (--force replaces it)"); with it a new file is renamed over the name,
 * so a symbolic link there is replaced rather than written through. */
int vqp_create_file(const char *path, bool overwrite, char *err, size_t errlen);

/* Create path (vqp_create_file) and write the file header. */
struct vqp_writer *vqp_writer_open(const char *path, const struct vqp_writer_opts *o,
				   bool overwrite, char *err, size_t errlen);
/* Say where reading of a generation starts (the reader's `next` after
 * vqp_reader_init), so records lost before the first batch of that
 * generation are counted.  Without it the first batch starts the count. */
void vqp_writer_expect(struct vqp_writer *w, uint32_t generation, uint64_t next_seq);
/* Append records (in sequence order; first_seq is the full sequence number
 * of ev[0], later records' full numbers follow from their seq fields;
 * gaps are lost records).  Buffered; a chunk is written when
 * events_per_chunk accumulate, when the generation changes, or on
 * vqp_writer_flush.  violations: records the reader dropped since the
 * previous call. */
int vqp_writer_events(struct vqp_writer *w, uint32_t generation, uint64_t first_seq,
		      const struct vqt_event *ev, size_t count, uint32_t violations,
		      uint64_t host_mono_ns, char *err, size_t errlen);
/* n records were dropped as malformed among the sequence numbers missing
 * before or inside the next batch given to vqp_writer_events (from
 * vqp_drain_info: dropped - dropped_tail of the drain that returned the
 * batch, plus the dropped_tail of the drains before it), so readers do not
 * count them as lost (vqr_events.dropped_before).  Call it before that
 * batch. */
void vqp_writer_dropped(struct vqp_writer *w, uint64_t n);
/* The following write their chunk at once (after pending events). */
int vqp_writer_queues(struct vqp_writer *w, uint64_t ts, uint32_t generation,
		      const struct vqr_queue_entry *entries, uint32_t count, char *err,
		      size_t errlen);
int vqp_writer_device(struct vqp_writer *w, const struct vqr_device *hdr,
		      const struct vqr_device_queue *queues, char *err, size_t errlen);
int vqp_writer_ring(struct vqp_writer *w, const struct vqr_ring *hdr,
		    const struct vqr_ring_queue *queues, char *err, size_t errlen);
int vqp_writer_annot(struct vqp_writer *w, uint64_t ts, uint32_t kind, const char *text, char *err,
		     size_t errlen);
int vqp_writer_region(struct vqp_writer *w, const struct vqr_region *reg, char *err, size_t errlen);
int vqp_writer_producer(struct vqp_writer *w, const struct vqr_producer *p, char *err,
			size_t errlen);
/* Write pending events as a chunk. */
int vqp_writer_flush(struct vqp_writer *w, char *err, size_t errlen);
/* Flush, write CLOSE, INDEX and trailer, fsync and free.  Always frees. */
int vqp_writer_close(struct vqp_writer *w, const struct vqr_close *c, char *err, size_t errlen);
/* Free without writing anything more (what a crash leaves, for tests). */
void vqp_writer_abandon(struct vqp_writer *w);
/* Totals so far. */
uint64_t vqp_writer_events_written(const struct vqp_writer *w);
uint64_t vqp_writer_bytes(const struct vqp_writer *w);

/* ---- recording reader ----------------------------------------------------------------- */

#define VQP_OPEN_SALVAGE (1u << 0) /* skip damaged chunks instead of failing */

struct vqp_chunk_ref {
	uint64_t offset; /* of the chunk header */
	uint32_t type;
	uint32_t length;
	uint64_t first_ts;  /* EVENTS: first record's ts */
	uint64_t first_seq; /* EVENTS: first record's sequence number */
};

struct vqp_file {
	const uint8_t *data; /* whole file, mapped read-only */
	size_t size;
	struct vqr_file_header header; /* validated copy */
	char producer[VQT_PRODUCER_LEN + 1];
	struct vqp_chunk_ref *chunks;
	size_t nchunks;
	bool clean;	       /* closed in order: trailer and index valid */
	bool index_rebuilt;    /* index missing or bad, rebuilt by scanning */
	uint64_t whole_bytes;  /* bytes up to the end of the last whole chunk */
	uint64_t damaged;      /* damaged chunks skipped (salvage) */
	uint64_t unknown;      /* whole chunks of types this reader does not know */
	char note[VQP_ERRLEN]; /* why the file is not clean, or "" */
	/* private: the mapping vqp_file_open made, unmapped by close */
	void *owned_map;
	size_t owned_len;
};

/* Open and validate a recording.  Returns NULL with err filled on a bad
 * header, or on a damaged chunk without VQP_OPEN_SALVAGE ("offset 0x1f40:
 * chunk 12: CRC32C 0x... does not match 0x..."). A file cut short (no
 * trailer) opens, with clean == false and note saying where it ends. */
struct vqp_file *vqp_file_open(const char *path, unsigned flags, char *err, size_t errlen);
/* The same on a buffer the caller keeps alive (fuzzing, tests). */
struct vqp_file *vqp_file_open_mem(const void *data, size_t size, unsigned flags, char *err,
				   size_t errlen);
void vqp_file_close(struct vqp_file *f);

/* Payload of chunk i, CRC-checked and bounds-checked. */
int vqp_file_chunk(const struct vqp_file *f, size_t i, const void **payload, uint32_t *len,
		   char *err, size_t errlen);

/* Decoded chunk payloads.  Pointers point into the file mapping; records
 * are checked with vqp_event_check and sequence numbers must increase. */
struct vqp_events_view {
	struct vqr_events hdr;
	const struct vqt_event *events; /* may be unaligned: copy with memcpy */
	uint32_t count;
	uint64_t gaps; /* sequence numbers missing between the records */
	uint64_t lost; /* lost_before + gaps - dropped_before */
};
int vqp_decode_events(const void *payload, uint32_t len, struct vqp_events_view *out, char *err,
		      size_t errlen);
/* Record i of a view, copied out (the view may be unaligned). */
void vqp_events_get(const struct vqp_events_view *v, uint32_t i, struct vqt_event *out);
/* Full sequence number of record i of a view. */
uint64_t vqp_events_seq(const struct vqp_events_view *v, uint32_t i);
int vqp_decode_queues(const void *payload, uint32_t len, struct vqr_queues *hdr,
		      const struct vqr_queue_entry **entries, char *err, size_t errlen);
int vqp_decode_device(const void *payload, uint32_t len, struct vqr_device *hdr,
		      const struct vqr_device_queue **queues, char *err, size_t errlen);
int vqp_decode_ring(const void *payload, uint32_t len, struct vqr_ring *hdr,
		    const struct vqr_ring_queue **queues, char *err, size_t errlen);
/* text is copied NUL-terminated into buf (truncated to buflen - 1). */
int vqp_decode_annot(const void *payload, uint32_t len, struct vqr_annot *hdr, char *buf,
		     size_t buflen, char *err, size_t errlen);
int vqp_decode_region(const void *payload, uint32_t len, struct vqr_region *out, char *err,
		      size_t errlen);
int vqp_decode_producer(const void *payload, uint32_t len, struct vqr_producer *out, char *err,
			size_t errlen);
int vqp_decode_close(const void *payload, uint32_t len, struct vqr_close *out, char *err,
		     size_t errlen);

/* Append an index and trailer to a recording that lacks them (after a
 * crash), so later opens are fast.  Damaged tail bytes are cut off. */
int vqp_file_repair(const char *path, char *err, size_t errlen);

#endif /* VQPROTO_H */
