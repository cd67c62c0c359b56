/* ring_view.h - the state of one virtqueue for the ring view: the state
 * of every descriptor head (split) or buffer id (packed), what both sides
 * published, each number with where it came from, the rings near their
 * indices, the packed ring position by position, and the descriptor chain
 * of one head.
 *
 * Built from the model, either as it is now (live: plus the rings read
 * from guest RAM with ring_decode.h, and QEMU's last device sample) or
 * reconstructed just after an event of the history (ring_view_at).  Every
 * number carries its source (enum ring_source): the driver's trace events
 * (or the queue table), guest RAM as vqscope read it, or QMP, whose
 * sample has an age.  Values from different sources come from different
 * moments and are never paired as if they were one reading.
 *
 * Everything read from guest RAM is untrusted: ids and positions are
 * checked against the ring size, chain walks are ring_decode's (bounded,
 * never following a bad next), and any bad value is named in a note.  No
 * I/O and no curses here: guest memory comes through a struct guest_mem,
 * and screens/tui_ring.c draws it.
 */
#ifndef VQ_RING_VIEW_H
#define VQ_RING_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "model.h"
#include "ring_decode.h"

enum ring_slot_state {
	RING_FREE,   /* not in flight */
	RING_AVAIL,  /* made available, the device not notified yet */
	RING_DEVICE, /* made available and the device notified */
	RING_USED,   /* the device put it in the used ring; not reaped yet */
	RING_STATES
};

/* Where a number of the ring view came from. */
enum ring_source {
	RING_FROM_NONE,	  /* not known */
	RING_FROM_EVENTS, /* the driver's trace events */
	RING_FROM_TABLE,  /* the queue table in the trace region */
	RING_FROM_RAM,	  /* the rings in guest RAM, read by vqscope */
	RING_FROM_QMP,	  /* QEMU's x-query-virtio-queue-status, sampled */
};
/* "-", "trace events", "queue table", "guest RAM", "QMP" */
const char *ring_source_name(enum ring_source s);

/* One avail ring entry (virtio 1.2, 2.7.6: a head id) or used ring entry
 * (2.7.8: id and length), at free-running ring index idx.  Packed: a
 * buffer in flight at ring position idx (2.8.6), with its buffer id and
 * its descriptors (available) or the length written (used). */
struct ring_entry {
	uint16_t idx;
	uint32_t id;
	uint32_t len;
};

#define RING_VIEW_ENTRIES 64

/* What a packed ring position holds, read against the wrap counter of
 * the lap the driver last wrote it in (2.8.1). */
enum packed_position {
	PACKED_POS_FREE,  /* not in flight: reaped, or never used */
	PACKED_POS_AVAIL, /* available to the device (AVAIL == wrap, USED != wrap) */
	PACKED_POS_USED,  /* used by the device, not taken by the driver yet */
	PACKED_POS_STALE, /* in flight by the trace, but not this lap's AVAIL bit */
	PACKED_POSITIONS
};
#define PACKED_POS_START 0x80 /* or-ed in: the first position of a buffer */

/* A packed ring (2.8) as guest RAM holds it, position by position.  The
 * driver's next position and wrap counter come from the AVAIL bits (the
 * driver flips its counter at the ring's end, 2.8.1, so the bits change
 * there and nowhere else); where it reaps next is that position less the
 * descriptors in flight by its trace events (that is the driver's
 * private state, 2.8.21.2, not in guest RAM); the device's used position
 * is where its used descriptors (AVAIL == USED) end. */
struct packed_layout {
	bool valid;
	uint16_t size;
	/* The driver's next position (2.8.21.1), from the AVAIL bits. */
	uint16_t driver_off;
	bool driver_wrap;
	/* The same from its trace: the last kick decision's position moved
	 * on by the descriptors added since (RING_FROM_EVENTS), if any. */
	bool trace_known;
	uint16_t trace_off;
	bool trace_wrap;
	/* Where the driver takes the next used descriptor (2.8.21.2). */
	uint16_t reap_off;
	bool reap_wrap;
	/* Where the device writes its next used descriptor (2.8.7). */
	uint16_t device_off;
	bool device_wrap;
	uint32_t positions;		   /* in flight, from reap_off on */
	uint32_t navail, nused;		   /* buffers of each kind in flight */
	uint8_t state[VQT_RING_SIZE_MAX];  /* enum packed_position | PACKED_POS_START */
	uint16_t flags[VQT_RING_SIZE_MAX]; /* as read (2.8.13) */
	/* In flight: the buffer's id (the used descriptor's, or the chain's
	 * last descriptor's, 2.8.6); free: as read. */
	uint16_t id[VQT_RING_SIZE_MAX];
	char note[200];
};

struct ring_view {
	bool valid;
	char why[160]; /* when !valid */
	unsigned slot;
	uint16_t size;
	bool packed, event_idx, indirect; /* the queue's layout and features */
	bool live; /* the model now (+ guest RAM, QMP); else at history index `at` */
	size_t at;
	uint8_t state[VQT_RING_SIZE_MAX]; /* enum ring_slot_state per head / buffer id */
	uint32_t count[RING_STATES];

	/* The driver's indices (buffers, on a packed ring too), from its
	 * trace events or, before any event, the queue table. */
	bool driver_avail_known, driver_used_known;
	uint16_t driver_avail_idx, driver_used_idx;
	enum ring_source driver_from;
	uint32_t in_flight, in_flight_descs;

	/* Guest RAM, read at one moment (live): split, avail.flags/idx and
	 * used_event (the driver's, 2.7.6, 2.7.7) and used.flags/idx and
	 * avail_event (the device's, 2.7.8, 2.7.10); packed, the driver and
	 * device event suppression structures (2.8.10, 2.8.14). */
	bool ram_valid;
	struct ring_indices ram;

	/* QEMU's view of the device from the latest QMP sample: split,
	 * free-running indices; packed, ring offsets without the wrap
	 * counters (QEMU 7.2 reports none).  qmp_age_ns: how old the sample
	 * was when the view was built.  qmp_behind: guest RAM (read later)
	 * shows the device this many used buffers further: the sample's
	 * numbers belong to an earlier moment. */
	bool qmp_known;
	uint16_t qmp_last_avail_idx, qmp_used_idx, qmp_inuse;
	uint64_t qmp_age_ns;
	uint16_t qmp_behind;

	/* Entries near each ring's index, oldest first: from guest RAM when
	 * live and mapped, else from the ADD and USED events (split); the
	 * buffers in flight by position (packed, live). */
	bool from_ram;
	struct ring_entry avail[RING_VIEW_ENTRIES];
	size_t navail;
	struct ring_entry used[RING_VIEW_ENTRIES];
	size_t nused;
	char note[200]; /* something odd the guest wrote, or what is unknown */

	/* Packed and live (or read now for the chain of a past view). */
	struct packed_layout layout;

	struct ring_reconstruction scratch;
};

/* Live: head states from the model; heads the device used that the
 * driver has not reaped are RING_USED (read from guest RAM; mem may be
 * NULL when it is not mapped).  now_ns (host CLOCK_MONOTONIC) ages the
 * QMP sample. */
bool ring_view_live(struct ring_view *v, const struct vq_model *m, const struct guest_mem *mem,
		    unsigned slot, uint64_t now_ns);
/* Just after history index `at` (model_ring_at).  The packed layout is
 * not filled: guest RAM holds the ring as it is now, not as it was. */
bool ring_view_at(struct ring_view *v, const struct vq_model *m, unsigned slot, size_t at);

/* Where queue q's rings are (its queue table, else QEMU's addresses). */
bool ring_geometry_of(const struct model_queue *q, struct ring_geometry *g);
/* Read packed queue q's ring from guest RAM, position by position (see
 * struct packed_layout).  False when it is not a packed queue or the ring
 * is not readable (l->note says why). */
bool packed_layout_read(struct packed_layout *l, const struct guest_mem *mem,
			const struct model_queue *q);
/* The first position of the buffer with id in flight in l, or -1. */
int packed_layout_find(const struct packed_layout *l, uint16_t id);

/* One descriptor (virtio 1.2, 2.7.5; packed 2.8.13, next is the id). */
struct chain_desc {
	uint16_t index; /* in the table or ring (guest RAM only) */
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* 1 NEXT, 2 WRITE, 4 INDIRECT (+ AVAIL/USED, packed) */
	uint16_t next;
	bool in_indirect; /* index is in an indirect table (2.7.5.3) */
};

#define CHAIN_VIEW_MAX 32

struct chain_view {
	bool valid;
	uint16_t head;
	const char *from;  /* "guest RAM" or "QMP" */
	bool have_index;   /* index/next known (guest RAM) */
	bool packed;	   /* next holds the buffer id; head is a buffer id */
	uint16_t position; /* packed: where the buffer starts in the ring */
	bool used;	   /* packed: the device wrote its first descriptor (2.8.7) */
	size_t n;
	bool more; /* the chain goes on past desc[] */
	struct chain_desc desc[CHAIN_VIEW_MAX];
	enum chain_problem problem; /* the first problem found (guest RAM) */
	char note[200];
};

/* Start an empty chain view of head, read from `from` ("guest RAM",
 * "QMP"), with no descriptors yet. */
void chain_view_begin(struct chain_view *c, uint16_t head, const char *from);
/* Walk head's chain in guest RAM with ring_decode's chain walk (indirect
 * tables included; a loop, a next out of range or a chain longer than
 * the ring stops it, named in c->note with the bad value).  Packed: head
 * is a buffer id, found in layout (a packed_layout_read of q). */
bool chain_view_ram(struct chain_view *c, const struct guest_mem *mem, const struct model_queue *q,
		    const struct packed_layout *layout, uint16_t head);

/* "free", "available", "in device", "used" */
const char *ring_state_name(enum ring_slot_state s);
/* The cell character of a state: '.', 'a', 'D', 'U'. */
char ring_state_char(enum ring_slot_state s);
/* Packed positions: "free", "available", "used, not taken", "not this lap";
 * cells '.', 'a', 'U', '?'. */
const char *packed_position_name(enum packed_position p);
char packed_position_char(enum packed_position p);

#endif /* VQ_RING_VIEW_H */
