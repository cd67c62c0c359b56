/* ring_view.h - the state of one virtqueue for the ring view: the state
 * of every descriptor head, the avail and used rings near their indices
 * with the driver's and the device's index pointers, and the descriptor
 * chain of one head.
 *
 * Built from the model, either as it is now (live: plus the used ring in
 * guest RAM, which says what the device has finished and the driver has
 * not reaped) or reconstructed just after an event of the history.  The
 * chain comes from the descriptor table in guest RAM (here) or through
 * QMP (the live layer fills a chain_view from QEMU's answer).
 * Everything read from guest RAM is untrusted: ids and next indices are
 * checked against the ring size, walks stop after the ring size, and any
 * bad value is named in a note.  No I/O and no curses here: guest memory
 * comes through a struct guest_mem, and screens/tui_ring.c draws it.
 */
#ifndef VQ_RING_VIEW_H
#define VQ_RING_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "model.h"

enum ring_slot_state {
	RING_FREE,   /* not in flight */
	RING_AVAIL,  /* made available, the device not notified yet */
	RING_DEVICE, /* made available and the device notified */
	RING_USED,   /* the device put it in the used ring; not reaped yet */
	RING_STATES
};

/* One avail ring entry (virtio 1.2, 2.7.6: a head id) or used ring entry
 * (2.7.8: id and length), at free-running ring index idx. */
struct ring_entry {
	uint16_t idx;
	uint32_t id;
	uint32_t len;
};

#define RING_VIEW_ENTRIES 64

struct ring_view {
	bool valid;
	char why[160]; /* when !valid */
	unsigned slot;
	uint16_t size;
	bool live; /* the model now (+ guest RAM); else at history index `at` */
	size_t at;
	uint8_t state[VQT_RING_SIZE_MAX]; /* enum ring_slot_state per head */
	uint32_t count[RING_STATES];

	/* The driver's indices, from its events. */
	bool driver_avail_known, driver_used_known;
	uint16_t driver_avail_idx, driver_used_idx;
	/* The device's: used.idx from guest RAM, last_avail_idx (and used_idx
	 * without RAM) from QMP's last sample. */
	bool device_used_known, device_avail_known;
	uint16_t device_used_idx, device_avail_idx;
	const char *device_used_from; /* "guest RAM" or "QMP" */

	/* Entries before the newest index of each ring, oldest first: from
	 * guest RAM when live and mapped, else from the ADD and USED events. */
	bool from_ram;
	uint16_t avail_flags, used_flags; /* from guest RAM */
	struct ring_entry avail[RING_VIEW_ENTRIES];
	size_t navail;
	struct ring_entry used[RING_VIEW_ENTRIES];
	size_t nused;
	char note[200]; /* something odd the guest wrote, or what is unknown */

	struct ring_reconstruction scratch;
};

/* Live: head states from the model; heads in the used ring past the
 * driver's last used index are RING_USED (mem may be NULL when guest RAM
 * is not mapped: then the used ring is not read). */
bool ring_view_live(struct ring_view *v, const struct vq_model *m, const struct guest_mem *mem,
		    unsigned slot);
/* Just after history index `at` (model_ring_at). */
bool ring_view_at(struct ring_view *v, const struct vq_model *m, unsigned slot, size_t at);

/* One descriptor (virtio 1.2, 2.7.5). */
struct chain_desc {
	uint16_t index; /* in the table (guest RAM only) */
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* 1 NEXT, 2 WRITE, 4 INDIRECT */
	uint16_t next;
};

#define CHAIN_VIEW_MAX 32

struct chain_view {
	bool valid;
	uint16_t head;
	const char *from; /* "guest RAM" or "QMP" */
	bool have_index;  /* index/next known (guest RAM) */
	size_t n;
	bool more; /* the chain goes on past desc[] */
	struct chain_desc desc[CHAIN_VIEW_MAX];
	char note[200];
};

/* Start an empty chain view of head, read from `from` ("guest RAM",
 * "QMP"), with no descriptors yet. */
void chain_view_begin(struct chain_view *c, uint16_t head, const char *from);
/* Walk head's chain in the descriptor table in guest RAM, at most the
 * ring size descriptors. */
bool chain_view_ram(struct chain_view *c, const struct guest_mem *mem, const struct model_queue *q,
		    uint16_t head);

/* "free", "available", "in device", "used" */
const char *ring_state_name(enum ring_slot_state s);
/* The cell character of a state: '.', 'a', 'D', 'U'. */
char ring_state_char(enum ring_slot_state s);

#endif /* VQ_RING_VIEW_H */
