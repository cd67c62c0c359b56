/* ring_decode.h - virtqueues as guest RAM holds them, decoded by vqscope
 * itself: split rings (virtio 1.2, 2.7) and packed rings (2.8), their
 * event suppression fields, and descriptor chains, indirect tables
 * included.
 *
 * QEMU's x-query-virtio-queue-element gives one element at a time and
 * refuses packed rings; vqscope maps guest RAM and reads them here, through
 * a struct guest_mem (no I/O in the core).  Every value read is untrusted:
 * indices are masked, next fields checked against the table, walks bounded
 * by the table size with a visited set, and every problem comes back with
 * the bad value and where it was found, never followed.
 */
#ifndef VQ_RING_DECODE_H
#define VQ_RING_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vqtrace.h"

/* Descriptor flags (2.7.5, 2.8.13). */
#define VRING_DESC_F_NEXT     1u
#define VRING_DESC_F_WRITE    2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_PACKED_F_AVAIL  (1u << 7)
#define VRING_PACKED_F_USED   (1u << 15)
/* used.flags / avail.flags (2.7.6, 2.7.8). */
#define VRING_USED_F_NO_NOTIFY	   1u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
/* Packed event suppression flags (2.8.10, 2.8.14). */
#define RING_EVENT_FLAGS_ENABLE	 0u
#define RING_EVENT_FLAGS_DISABLE 1u
#define RING_EVENT_FLAGS_DESC	 2u

/* Where a queue's parts are in guest memory, and how to read them. */
struct ring_geometry {
	bool packed;
	bool event_idx;
	uint16_t size;	      /* entries, 1..32768 (a power of two when split) */
	uint64_t desc;	      /* descriptor table / descriptor ring */
	uint64_t driver_area; /* split: avail ring; packed: driver event suppression */
	uint64_t device_area; /* split: used ring; packed: device event suppression */
};

/* The fields both sides publish, read at one moment. */
struct ring_indices {
	bool valid;
	/* Split (2.7.6, 2.7.8; the event fields with EVENT_IDX, 2.7.7/2.7.10). */
	uint16_t avail_flags, avail_idx, used_event;
	uint16_t used_flags, used_idx, avail_event;
	/* Packed (2.8.14): the driver's structure (used buffer notifications)
	 * and the device's (available buffer notifications). */
	uint16_t driver_off_wrap, driver_flags;
	uint16_t device_off_wrap, device_flags;
};

/* Read the header fields.  False when any part is outside guest RAM. */
bool ring_read_indices(const struct guest_mem *mem, const struct ring_geometry *g,
		       struct ring_indices *out);

/* Split: avail ring entry at free-running index idx (a head), used ring
 * entry (id, len).  False when unreadable. */
bool split_avail_entry(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t idx,
		       uint16_t *head);
bool split_used_entry(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t idx,
		      uint32_t *id, uint32_t *len);

/* One descriptor as the table holds it (split: next; packed: id). */
struct ring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next_or_id;
};
bool ring_read_desc(const struct guest_mem *mem, uint64_t table, uint16_t i, bool packed,
		    struct ring_desc *out);

/* What is wrong with a chain (the first problem found). */
enum chain_problem {
	CHAIN_OK,
	CHAIN_UNREADABLE,	   /* a descriptor or table outside guest RAM */
	CHAIN_HEAD_OUT_OF_RANGE,   /* the head is not an index of the table */
	CHAIN_NEXT_OUT_OF_RANGE,   /* next points past the table (2.7.5) */
	CHAIN_LOOP,		   /* next leads back to a descriptor of the chain */
	CHAIN_TOO_LONG,		   /* more descriptors than the queue has (2.8.6) */
	CHAIN_INDIRECT_NESTED,	   /* an indirect table in an indirect table (2.7.5.3.1) */
	CHAIN_INDIRECT_LEN,	   /* an indirect table's length is not a multiple of 16 */
	CHAIN_INDIRECT_WITH_NEXT,  /* INDIRECT and NEXT on one descriptor (2.7.5.3.1) */
	CHAIN_WRITE_BEFORE_READ,   /* a device-readable after a device-writable (2.7.4.2) */
	CHAIN_INDIRECT_NOT_OFFERED /* an indirect descriptor without INDIRECT_DESC */
};
const char *chain_problem_name(enum chain_problem p);

#define CHAIN_WALK_KEEP 32

struct chain_walk {
	uint16_t head; /* split: descriptor index; packed: ring position */
	uint16_t id;   /* packed: the buffer id (of the last descriptor) */
	uint32_t ndesc;
	uint64_t readable_bytes, writable_bytes;
	bool indirect;
	enum chain_problem problem;
	uint32_t bad_index; /* where: the descriptor (or table entry) */
	uint64_t bad_value; /* what: the next, length or flags read */
	/* The first descriptors, in chain order (indirect ones flattened),
	 * with their index in their table (in_indirect: the indirect one). */
	size_t nkept;
	struct {
		struct ring_desc d;
		uint16_t index;
		bool in_indirect;
	} kept[CHAIN_WALK_KEEP];
	char note[200]; /* the problem in words, with the values */
};

/* Walk the chain of split descriptor head (2.7.5): at most the table's
 * size, never twice through one descriptor, indirect tables (2.7.5.3)
 * followed one level.  Returns false only when nothing could be read;
 * a chain with a problem returns true with w->problem set. */
bool chain_walk_split(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t head,
		      bool indirect_offered, struct chain_walk *w);
/* The same for the packed chain that starts at ring position pos (2.8.6,
 * 2.8.7): consecutive descriptors, wrapping at the ring's end, while NEXT
 * is set. */
bool chain_walk_packed(const struct guest_mem *mem, const struct ring_geometry *g, uint16_t pos,
		       bool indirect_offered, struct chain_walk *w);

/* Packed: the state of the descriptor at ring position pos against wrap
 * counter wrap (2.8.1): available when AVAIL == wrap and USED != wrap,
 * used when AVAIL == USED == wrap. */
enum packed_slot { PACKED_NOT_OURS, PACKED_AVAIL, PACKED_USED };
enum packed_slot packed_slot_state(uint16_t flags, bool wrap);

/* vring_need_event (2.7.10): should the side that moved from old to new
 * notify, given the other side's event index? */
static inline bool ring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* Packed (2.8.10): with the other side's event suppression structure
 * (flags, off_wrap), should the side whose position moved from old to new
 * (each a ring offset | wrap counter << 15) notify?  size is the ring's. */
bool packed_need_event(uint16_t flags, uint16_t off_wrap, uint16_t old_pos, uint16_t new_pos,
		       uint16_t size);

#endif /* VQ_RING_DECODE_H */
