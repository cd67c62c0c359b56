/* region.c - the host's reader of a live trace region: header validation,
 * the exact-loss ring drain, seqcount snapshots of the queue table, and
 * the host's writes to the control block.
 *
 * The region is shared with an untrusted producer that may write anything
 * at any time.  Nothing read from it is used before it is checked, every
 * index is masked or bounds-checked against the validated layout (never
 * re-read), and no loop depends on a value the producer controls without a
 * bound of our own.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "vqproto.h"

/* Loads and stores of shared words.  The compiler must not invent or
 * merge accesses to memory another side is writing. */
#define LOAD(p)		    __atomic_load_n((p), __ATOMIC_RELAXED)
#define LOAD_ACQUIRE(p)	    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	    __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* A head that moves further than this in one drain is not loss but
 * corruption: 2^40 records is hours of the fastest producer. */
#define HEAD_JUMP_LIMIT (1ull << 40)
/* Records ahead of the one being read whose cache lines are prefetched. */
#define PREFETCH_AHEAD 16
/* Seqcount retries before giving up on a slot for this round. */
#define SNAPSHOT_TRIES 256

#define set_err vqp__set_err

static inline bool is_pow2_u64(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

#define copy_printable vqp__printable

const char *vqp_event_type_name(unsigned type)
{
	static const char *const names[VQT_EV_TYPE_COUNT] = {
	    [VQT_EV_NONE] = "NONE",
	    [VQT_EV_ADD] = "ADD",
	    [VQT_EV_KICK] = "KICK",
	    [VQT_EV_KICK_SUPPRESSED] = "KICK_SUPPRESSED",
	    [VQT_EV_POLL] = "POLL",
	    [VQT_EV_USED] = "USED",
	    [VQT_EV_IRQ] = "IRQ",
	    [VQT_EV_FRAME_BEGIN] = "FRAME_BEGIN",
	    [VQT_EV_FRAME_END] = "FRAME_END",
	    [VQT_EV_LOG] = "LOG",
	    [VQT_EV_MARK] = "MARK",
	    [VQT_EV_ERROR] = "ERROR",
	    [VQT_EV_QUEUE] = "QUEUE",
	    [VQT_EV_CB] = "CB",
	};

	return type < VQT_EV_TYPE_COUNT ? names[type] : "?";
}

int vqp_event_type_from_name(const char *name)
{
	for (unsigned t = 1; t < VQT_EV_TYPE_COUNT; t++)
		if (strcasecmp(name, vqp_event_type_name(t)) == 0)
			return (int)t;
	return -1;
}

uint64_t vqp_ticks_to_ns(uint64_t ticks, uint64_t hz)
{
	if (hz == 0)
		return 0;
	if (hz == 1000000000ull)
		return ticks;
	return (uint64_t)((unsigned __int128)ticks * 1000000000u / hz);
}

/* ---- header ---------------------------------------------------------------- */

void vqp_region_init(struct vqp_region *r, const void *base, size_t map_size, void *ctrl_rw)
{
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->map_size = map_size;
	r->ctrl = ctrl_rw;
}

static const volatile struct vqt_header *header_of(const struct vqp_region *r)
{
	return (const volatile struct vqt_header *)r->base;
}

int vqp_region_sync(struct vqp_region *r, char *err, size_t errlen)
{
	const volatile struct vqt_header *h;
	struct vqp_layout l;
	uint32_t magic, generation_after;
	uint64_t queue_end, ring_bytes;

	r->valid = false;
	if (!r->base || r->map_size < VQT_REGION_MIN) {
		set_err(err, errlen,
			"trace region mapping is %zu bytes, smaller than the minimum %u",
			r->map_size, VQT_REGION_MIN);
		return VQP_INVALID;
	}
	h = header_of(r);
	/* Pairs with the producer's release store of magic in
	 * vq_trace_init(): the layout fields read below are at least as new
	 * as this magic. */
	magic = LOAD_ACQUIRE(&h->magic);
	if (magic == 0) {
		set_err(err, errlen,
			"trace region is not initialised yet (magic 0): no producer has started");
		return VQP_NOT_READY;
	}
	if (magic != VQT_MAGIC) {
		set_err(err, errlen,
			"no vqscope trace region here: magic 0x%08x at offset 0, expected 0x%08x",
			magic, VQT_MAGIC);
		return VQP_INVALID;
	}

	memset(&l, 0, sizeof(l));
	l.generation = LOAD(&h->generation);
	l.version_major = h->version_major;
	l.version_minor = h->version_minor;
	l.region_size = h->region_size;
	l.flags = h->flags;
	l.ts_source = h->ts_source;
	l.ts_hz = h->ts_hz;
	l.ts_base = h->ts_base;
	l.queue_slots = h->queue_slots;
	l.ring_records = h->ring_records;
	l.ring_offset = h->ring_offset;
	copy_printable(l.producer, h->producer, VQT_PRODUCER_LEN);
	uint32_t header_size = h->header_size, control_offset = h->control_offset;
	uint32_t control_size = h->control_size, queue_offset = h->queue_offset;
	uint32_t slot_size = h->queue_slot_size, record_size = h->record_size;

	if (l.version_major != VQT_VERSION_MAJOR) {
		set_err(err, errlen,
			"trace region version %u.%u at offset 0x4; this vqscope reads %u.x",
			l.version_major, l.version_minor, VQT_VERSION_MAJOR);
		return VQP_INVALID;
	}
	if (!is_pow2_u64(l.region_size) || l.region_size < VQT_REGION_MIN ||
	    l.region_size > VQT_REGION_MAX) {
		set_err(
		    err, errlen,
		    "header region_size %llu (offset 0x8) is not a power of two between %u and %u",
		    (unsigned long long)l.region_size, VQT_REGION_MIN, VQT_REGION_MAX);
		return VQP_INVALID;
	}
	if (l.region_size > r->map_size) {
		set_err(err, errlen,
			"header region_size %llu (offset 0x8) exceeds the %zu bytes mapped",
			(unsigned long long)l.region_size, r->map_size);
		return VQP_INVALID;
	}
	if (header_size < 0x140 || header_size > VQT_PAGE_SIZE) {
		set_err(err, errlen, "header_size %u (offset 0x1c) is outside 0x140..0x%x",
			header_size, VQT_PAGE_SIZE);
		return VQP_INVALID;
	}
	if (control_offset != VQT_CONTROL_OFFSET || control_size < 0x58 ||
	    control_size > VQT_PAGE_SIZE) {
		set_err(
		    err, errlen,
		    "control block at 0x%x size %u (offsets 0x30/0x34); expected 0x%x, 0x58..0x%x",
		    control_offset, control_size, VQT_CONTROL_OFFSET, VQT_PAGE_SIZE);
		return VQP_INVALID;
	}
	if (queue_offset != VQT_QUEUE_OFFSET || slot_size != sizeof(struct vqt_queue) ||
	    l.queue_slots == 0 || l.queue_slots > VQT_QUEUE_SLOTS_MAX) {
		set_err(err, errlen,
			"queue table at 0x%x with %u slots of %u bytes (offsets 0x38..0x3e); "
			"expected 0x%x, 1..%u slots of %zu",
			queue_offset, l.queue_slots, slot_size, VQT_QUEUE_OFFSET,
			VQT_QUEUE_SLOTS_MAX, sizeof(struct vqt_queue));
		return VQP_INVALID;
	}
	queue_end = (uint64_t)queue_offset + (uint64_t)l.queue_slots * slot_size;
	if (record_size != sizeof(struct vqt_event) || !is_pow2_u64(l.ring_records)) {
		set_err(err, errlen,
			"event ring of %u records of %u bytes (offsets 0x48/0x4c); expected a "
			"power of two of %zu-byte records",
			l.ring_records, record_size, sizeof(struct vqt_event));
		return VQP_INVALID;
	}
	ring_bytes = (uint64_t)l.ring_records * record_size;
	if (l.ring_offset < queue_end || l.ring_offset > l.region_size ||
	    ring_bytes > l.region_size - l.ring_offset || (l.ring_offset & 7) != 0) {
		set_err(err, errlen,
			"event ring at 0x%llx, %llu bytes (offset 0x40) does not fit between the "
			"queue table end 0x%llx and the region end 0x%llx",
			(unsigned long long)l.ring_offset, (unsigned long long)ring_bytes,
			(unsigned long long)queue_end, (unsigned long long)l.region_size);
		return VQP_INVALID;
	}
	if (l.ts_hz == 0 || l.ts_hz > 100000000000ull) {
		set_err(err, errlen, "timestamp frequency %llu Hz (offset 0x20) is not plausible",
			(unsigned long long)l.ts_hz);
		return VQP_INVALID;
	}
	if (l.generation == 0) {
		set_err(err, errlen, "generation 0 (offset 0x10) with a valid magic: producer bug");
		return VQP_INVALID;
	}

	/* Acquire orders the field loads above before the re-check; pairs
	 * with the producer's magic = 0 store + vq_wmb at re-initialisation. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	generation_after = LOAD(&h->generation);
	if (LOAD(&h->magic) != VQT_MAGIC || generation_after != l.generation) {
		set_err(err, errlen, "producer re-initialised the region while it was being read");
		return VQP_NOT_READY;
	}
	r->layout = l;
	r->valid = true;
	return VQP_OK;
}

bool vqp_region_changed(const struct vqp_region *r)
{
	const volatile struct vqt_header *h = header_of(r);

	if (!r->valid)
		return true;
	return LOAD_ACQUIRE(&h->magic) != VQT_MAGIC || LOAD(&h->generation) != r->layout.generation;
}

uint64_t vqp_region_head(const struct vqp_region *r)
{
	/* Pairs with the producer's release store in publish_head(): every
	 * record below the head has its commit word stored. */
	return LOAD_ACQUIRE(&header_of(r)->ring_head);
}

int vqp_region_producer(const struct vqp_region *r, struct vqp_producer *out, char *err,
			size_t errlen)
{
	const volatile struct vqt_header *h = header_of(r);
	struct vqp_producer p;

	memset(out, 0, sizeof(*out));
	if (!r->valid) {
		set_err(err, errlen, "trace region not synced");
		return VQP_INVALID;
	}
	if (r->layout.version_minor < 1)
		return VQP_OK; /* reserved and zero in 1.0 */
	/* Pairs with the producer's release store of heartbeats in
	 * heartbeat_publish(): the state and time read after it are at least
	 * as new. */
	p.heartbeats = LOAD_ACQUIRE(&h->heartbeats);
	p.state = LOAD(&h->producer_state);
	p.heartbeat_ms = LOAD(&h->heartbeat_ms);
	p.heartbeat_ts = LOAD(&h->heartbeat_ts);
	if (p.state > VQT_PRODUCER_STOPPED) {
		set_err(err, errlen, "producer_state %u (offset 0x90) is not 0, 1 or 2", p.state);
		return VQP_INVALID;
	}
	if (p.heartbeats != 0 && p.heartbeat_ts < r->layout.ts_base) {
		set_err(err, errlen,
			"heartbeat_ts %llu (offset 0x98) is before the region's ts_base %llu",
			(unsigned long long)p.heartbeat_ts, (unsigned long long)r->layout.ts_base);
		return VQP_INVALID;
	}
	*out = p;
	return VQP_OK;
}

/* ---- queue table ------------------------------------------------------------------ */

int vqp_queue_check(struct vqt_queue *q, unsigned slot, char *err, size_t errlen)
{
	char name[VQT_QUEUE_NAME_LEN + 1];

	/* The name is made safe first, whatever else is wrong with the slot. */
	copy_printable(name, q->name, VQT_QUEUE_NAME_LEN - 1);
	memset(q->name, 0, sizeof(q->name));
	memcpy(q->name, name, strlen(name));
	if (q->state > VQT_QS_GONE) {
		set_err(err, errlen, "queue slot %u: state %u is not free/active/gone", slot,
			q->state);
		return VQP_INVALID;
	}
	if (q->state == VQT_QS_FREE)
		return VQP_OK;
	if (q->ring_size == 0 || q->ring_size > VQT_RING_SIZE_MAX) {
		set_err(err, errlen, "queue slot %u: ring size %u is outside 1..%u", slot,
			q->ring_size, VQT_RING_SIZE_MAX);
		return VQP_INVALID;
	}
	/* Split rings have power-of-two sizes (2.7); packed rings need not
	 * (2.8). */
	if (!(q->flags & VQT_QF_PACKED) && (q->ring_size & (q->ring_size - 1)) != 0) {
		set_err(err, errlen, "queue slot %u: split ring size %u is not a power of two",
			slot, q->ring_size);
		return VQP_INVALID;
	}
	return VQP_OK;
}

int vqp_queue_snapshot(const struct vqp_region *r, unsigned slot, struct vqt_queue *out, char *err,
		       size_t errlen)
{
	const volatile struct vqt_queue *q;

	if (!r->valid || slot >= r->layout.queue_slots) {
		set_err(err, errlen, "queue slot %u is outside the table of %u", slot,
			r->valid ? r->layout.queue_slots : 0);
		return VQP_INVALID;
	}
	q = (const volatile struct vqt_queue *)(r->base + VQT_QUEUE_OFFSET) + slot;
	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		/* Pairs with the producer's release store of the even seq in
		 * queue_publish(): the fields copied below are at least that
		 * new. */
		uint32_t before = LOAD_ACQUIRE(&q->seq);

		if (before & 1)
			continue;
		memcpy(out, (const void *)q, sizeof(*out));
		/* Orders the copy before the second seq load; pairs with the
		 * producer's vq_wmb after it made seq odd. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(&q->seq) == before)
			return vqp_queue_check(out, slot, err, errlen);
	}
	set_err(err, errlen, "queue slot %u: producer kept it busy for %d reads", slot,
		SNAPSHOT_TRIES);
	return VQP_BUSY;
}

/* ---- events -------------------------------------------------------------------------- */

int vqp_event_check(const struct vqt_event *e, unsigned queue_slots, char *err, size_t errlen)
{
	bool needs_queue;

	if (e->type == VQT_EV_NONE || e->type >= VQT_EV_TYPE_COUNT) {
		set_err(err, errlen, "event type %u is unknown", e->type);
		return VQP_INVALID;
	}
	needs_queue = vqt_event_has_queue(e->type);
	if (needs_queue ? e->queue >= queue_slots
			: (e->queue != VQT_QUEUE_NONE && e->queue >= queue_slots)) {
		set_err(err, errlen, "%s event names queue slot %u; the table has %u",
			vqp_event_type_name(e->type), e->queue, queue_slots);
		return VQP_INVALID;
	}
	if (e->type == VQT_EV_ADD && (e->ndesc == 0 || e->ndesc > VQT_RING_SIZE_MAX)) {
		set_err(err, errlen, "ADD event with a chain of %u descriptors", e->ndesc);
		return VQP_INVALID;
	}
	if (e->type == VQT_EV_POLL && e->ndesc > VQT_POLL_EMPTY) {
		set_err(err, errlen, "POLL event with outcome %u", e->ndesc);
		return VQP_INVALID;
	}
	if (e->type == VQT_EV_QUEUE && (e->ndesc == VQT_QS_FREE || e->ndesc > VQT_QS_GONE ||
					e->ring_idx == 0 || e->ring_idx > VQT_RING_SIZE_MAX)) {
		set_err(err, errlen, "QUEUE event with state %u, ring size %u", e->ndesc,
			e->ring_idx);
		return VQP_INVALID;
	}
	return VQP_OK;
}

/* ---- ring reader ---------------------------------------------------------------------- */

/* The common records, checked in the drain's loop without a call: a
 * known type that names a queue slot of the table, with a descriptor
 * count its type allows (ndesc - lo < span).  Anything else (QUEUE
 * events, events without a queue, and the malformed) takes
 * vqp_event_check. */
static const struct {
	uint16_t lo;
	uint32_t span;
} plain_ndesc[256] = {
    [VQT_EV_ADD] = {1, VQT_RING_SIZE_MAX},
    [VQT_EV_KICK] = {0, 0x10000},
    [VQT_EV_KICK_SUPPRESSED] = {0, 0x10000},
    [VQT_EV_POLL] = {0, VQT_POLL_EMPTY + 1},
    [VQT_EV_USED] = {0, 0x10000},
    [VQT_EV_IRQ] = {0, 0x10000},
    [VQT_EV_CB] = {0, 0x10000},
};

static inline bool event_plain(const struct vqt_event *e, unsigned queue_slots)
{
	return e->queue < queue_slots &&
	       (uint32_t)e->ndesc - plain_ndesc[e->type].lo < plain_ndesc[e->type].span;
}

static void note_violation(struct vqp_reader *rd, const char *what);

/* Record s is not plain: VQP_OK when vqp_event_check passes it, else it
 * is dropped as malformed and counted. */
static __attribute__((noinline)) int drop_malformed(struct vqp_reader *rd,
						    struct vqp_drain_info *info,
						    const struct vqt_event *e, uint64_t s)
{
	char why[VQP_ERRLEN], msg[VQP_ERRLEN + 32];

	if (vqp_event_check(e, rd->region->layout.queue_slots, why, sizeof(why)) == VQP_OK)
		return VQP_OK;
	snprintf(msg, sizeof(msg), "record %llu: %s", (unsigned long long)s, why);
	note_violation(rd, msg);
	info->violations++;
	rd->dropped++;
	info->dropped++;
	return VQP_INVALID;
}

/* A head the producer really published has its last record committed:
 * the slot of head - 1 carries that sequence number, or head - 2 when the
 * producer skipped it as lost (vq_trace_lost marks skipped slots so), until
 * the producer laps it, which takes a whole ring's worth of events.  A
 * garbage head passes by chance once in 2^31. */
static bool head_committed(const struct vqp_region *r, uint64_t head)
{
	const volatile struct vqt_event *ring =
	    (const volatile struct vqt_event *)(r->base + r->layout.ring_offset);
	uint64_t mask = r->layout.ring_records - 1;
	uint32_t seq;

	if (head == 0)
		return true;
	seq = LOAD_ACQUIRE(&ring[(head - 1) & mask].seq);
	return seq == (uint32_t)(head - 1) || seq == (uint32_t)(head - 2);
}

void vqp_reader_init(struct vqp_reader *rd, struct vqp_region *r, bool from_oldest)
{
	uint64_t head = r->valid ? vqp_region_head(r) : 0;
	uint64_t records = r->valid ? r->layout.ring_records : 0;
	char why[VQP_ERRLEN];

	memset(rd, 0, sizeof(*rd));
	rd->region = r;
	rd->generation = r->layout.generation;
	/* Do not start from a head the producer did not publish (garbage in
	 * the header): read from the start of the ring instead, and let
	 * the drain count the head as a violation until a real one comes. */
	for (int tries = 0; r->valid && !head_committed(r, head); tries++) {
		if (tries == 3) {
			snprintf(why, sizeof(why),
				 "ring head %llu at attach does not match its last record",
				 (unsigned long long)head);
			note_violation(rd, why);
			rd->bad_head = head;
			head = 0;
			break;
		}
		head = vqp_region_head(r);
	}
	if (!from_oldest)
		rd->next = head;
	else
		rd->next = head > records ? head - records : 0;
}

static void note_violation(struct vqp_reader *rd, const char *what)
{
	size_t n = strnlen(what, sizeof(rd->last_violation) - 1);

	rd->violations++;
	memcpy(rd->last_violation, what, n);
	rd->last_violation[n] = 0;
}

int vqp_reader_drain(struct vqp_reader *rd, struct vqt_event *out, size_t max,
		     struct vqp_drain_info *info)
{
	struct vqp_region *r = rd->region;
	const volatile struct vqt_event *ring;
	uint64_t head, records, mask, end;
	size_t n = 0;
	char why[VQP_ERRLEN];
	struct vqp_drain_info local;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!r->valid || vqp_region_changed(r))
		return VQP_RESYNC;

	records = r->layout.ring_records;
	mask = records - 1;
	ring = (const volatile struct vqt_event *)(r->base + r->layout.ring_offset);
	head = vqp_region_head(r);
	info->head = head;

	if (head < rd->next) {
		/* Behind us: a 32-bit producer half-way through storing a
		 * head that crossed 2^32 (vqscope_guest.c publish_head), or
		 * garbage.  Either way there is nothing new to read yet. */
		info->first_seq = rd->next;
		return 0;
	}
	if (head - rd->next > HEAD_JUMP_LIMIT) {
		/* One event moves the head by one: this is garbage, not
		 * progress.  Count it once and read on from here when the
		 * producer stores a real head again (its next event). */
		if (head != rd->bad_head) {
			snprintf(why, sizeof(why), "ring head jumped from %llu to %llu",
				 (unsigned long long)rd->next, (unsigned long long)head);
			note_violation(rd, why);
			info->violations++;
			rd->bad_head = head;
		}
		info->first_seq = rd->next;
		return 0;
	}
	if (head - rd->next > records) {
		/* The producer lapped us: those records were overwritten. */
		uint64_t skipped = head - records - rd->next;

		rd->lost += skipped;
		info->lost += skipped;
		rd->next = head - records;
	}

	/* max bounds what is delivered; lost or malformed slots on the way do
	 * not count, so 0 always means "caught up". */
	end = head;
	info->first_seq = rd->next;

	uint64_t s = rd->next, dropped_tail = 0;
	const unsigned queue_slots = r->layout.queue_slots;
	const volatile struct vqt_event *slot = &ring[s & mask], *const ring_end = ring + records;
	struct vqt_event *copy = out;

	while (s < end && n < max) {
		/* The slots that can hold the next max - n records: one
		 * bound per record in the loop below. */
		uint64_t stop = end - s > max - n ? s + (max - n) : end;

		for (; s < stop; s++, slot = slot + 1 == ring_end ? ring : slot + 1) {
			uint32_t expect = (uint32_t)s, before, after;

			/* The producer wrote these lines on another CPU: ask
			 * for the ones a few records on early, so the misses
			 * overlap instead of coming one at a time (most of
			 * the drain's time at high rates).  A prefetch is a
			 * hint: past the ring's end it does nothing. */
			__builtin_prefetch((const void *)(slot + PREFETCH_AHEAD));
			/* Pairs with the producer's release store of the
			 * commit word in emit(): if it reads (u32)s, the body
			 * stores of record s are visible. */
			before = LOAD_ACQUIRE(&slot->seq);
			if (before != expect)
				goto lost;
			/* Copied straight into the caller's slot; it only
			 * counts if the copy turns out whole and valid. */
			memcpy(copy, (const void *)slot, sizeof(*copy));
			/* Orders the copy before the re-check; pairs with the
			 * producer's vq_wmb after it invalidated the slot. */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			after = LOAD(&slot->seq);
			if (after != before)
				goto lost;
			/* copy->seq is (u32)s: seq read s before and after the
			 * copy, and the producer never stores s there again.
			 * The common case inline; the full check says what
			 * is wrong. */
			if (!event_plain(copy, queue_slots)) {
				if (drop_malformed(rd, info, copy, s) != VQP_OK) {
					dropped_tail++;
					stop = stop < end ? stop + 1 : end;
					continue;
				}
				info->queue_records += copy->type == VQT_EV_QUEUE;
			}
			copy++;
			dropped_tail = 0;
			continue;
		lost:
			rd->lost++;
			info->lost++;
			stop = stop < end ? stop + 1 : end;
		}
		n = (size_t)(copy - out);
	}
	rd->next = s;
	info->dropped_tail = dropped_tail;
	if (n)
		info->first_seq += (uint32_t)(out[0].seq - (uint32_t)info->first_seq);

	/* A restart during the copy mixes generations: drop the batch. */
	if (vqp_region_changed(r))
		return VQP_RESYNC;
	rd->delivered += n;
	return (int)n;
}

/* ---- control block --------------------------------------------------------------------- */

void vqp_control_step_mode(struct vqp_region *r, bool on)
{
	if (!r->ctrl)
		return;
	/* Release: a grant stored before turning step mode on is visible
	 * first; pairs with the producer's loads in step_wait(). */
	STORE_RELEASE(&r->ctrl->step_mode, on ? 1u : 0u);
}

void vqp_control_grant(struct vqp_region *r, uint32_t tokens)
{
	if (!r->ctrl)
		return;
	/* Pairs with the acquire fence in step_wait() after the producer
	 * sees the grant. */
	STORE_RELEASE(&r->ctrl->step_grant, LOAD(&r->ctrl->step_grant) + tokens);
}

void vqp_control_heartbeat(struct vqp_region *r)
{
	if (r->ctrl)
		STORE(&r->ctrl->host_heartbeat, LOAD(&r->ctrl->host_heartbeat) + 1);
}

void vqp_control_event_mask(struct vqp_region *r, uint32_t mask)
{
	if (r->ctrl)
		STORE(&r->ctrl->event_mask, mask);
}

void vqp_control_reset_counters(struct vqp_region *r)
{
	if (r->ctrl)
		STORE(&r->ctrl->reset_request, LOAD(&r->ctrl->reset_request) + 1);
}

void vqp_control_set_pid(struct vqp_region *r, uint32_t pid)
{
	if (r->ctrl)
		STORE(&r->ctrl->host_pid, pid);
}

void vqp_control_read(const struct vqp_region *r, struct vqp_control_state *out)
{
	const volatile struct vqt_control *c;

	memset(out, 0, sizeof(*out));
	c = r->ctrl ? r->ctrl : (const volatile struct vqt_control *)(r->base + VQT_CONTROL_OFFSET);
	if (!r->base && !r->ctrl)
		return;
	out->step_mode = LOAD(&c->step_mode);
	out->step_grant = LOAD(&c->step_grant);
	out->event_mask = LOAD(&c->event_mask);
	out->reset_request = LOAD(&c->reset_request);
	/* Pairs with the producer's stores of its acknowledgements. */
	out->step_taken = LOAD_ACQUIRE(&c->step_taken);
	out->step_waiting = LOAD(&c->step_waiting);
	out->step_event_type = LOAD(&c->step_event_type);
	out->step_abandoned = LOAD(&c->step_abandoned);
	out->mask_ack = LOAD(&c->mask_ack);
	out->reset_ack = LOAD(&c->reset_ack);
}
