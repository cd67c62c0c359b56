/* vqscope_guest.c - the trace-region producer: writes the header, queue
 * table and event ring of protocol/vqtrace.h for a guest driver.
 *
 * Freestanding: no libc, no allocation, no division, no locks.  Every store
 * to shared memory goes through a volatile pointer; the library's own
 * bookkeeping lives in struct vq_trace and is never re-read from the
 * region.
 */
#include "vqscope_guest.h"

/* ---- timestamps ---------------------------------------------------------- */

static inline vq_u64 cpu_counter(void)
{
#if defined(__x86_64__) || defined(__i386__)
	vq_u32 lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((vq_u64)hi << 32) | lo;
#elif defined(__aarch64__)
	vq_u64 v;
	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#endif
}

vq_u64 vq_trace_now(const struct vq_trace *t)
{
	return t->now ? t->now() : cpu_counter();
}

/* ---- small helpers (no libc) ---------------------------------------------- */

static void copy_name(volatile char *dst, const char *src, unsigned cap)
{
	unsigned i = 0;

	if (src)
		for (; i + 1 < cap && src[i]; i++)
			dst[i] = src[i];
	for (; i < cap; i++)
		dst[i] = 0;
}

static void zero_shared(volatile vq_u8 *p, vq_u64 n)
{
	for (vq_u64 i = 0; i < n; i++)
		p[i] = 0;
}

/* Zeroes private state through a volatile pointer so the compiler cannot
 * turn the loop into a call to memset, which a freestanding kernel may not
 * have. */
static void zero_private(void *p, vq_u64 n)
{
	zero_shared((volatile vq_u8 *)p, n);
}

/* 64-bit release publish of ring_head.  On 32-bit CPUs the two halves are
 * stored low word first: a reader that catches it half done sees the head
 * go backwards by 2^32 (treated as "nothing new"), never a forward jump
 * that would look like lost records. */
static inline void publish_head(volatile vq_u64 *dst, vq_u64 v)
{
#if defined(__x86_64__) || defined(__aarch64__)
	vq_store_release(dst, v);
#else
	volatile vq_u32 *w = (volatile vq_u32 *)dst;
	vq_store_release(&w[0], (vq_u32)v);
	vq_store_release(&w[1], (vq_u32)(v >> 32));
#endif
}

/* Wide views of shared fields, so neighbouring fields go out in one store:
 * under emulation (TCG) every guest store costs a software TLB lookup.
 * The offsets are pinned by vqtrace.h's static asserts, and the region is
 * little-endian. */
typedef vq_u32 __attribute__((may_alias)) vq_u32_alias;
typedef vq_u64 __attribute__((may_alias)) vq_u64_alias;
#define SHARED_U32(base, off) (*(volatile vq_u32_alias *)((volatile vq_u8 *)(base) + (off)))
#define SHARED_U64(base, off) (*(volatile vq_u64_alias *)((volatile vq_u8 *)(base) + (off)))
_Static_assert(__builtin_offsetof(struct vq_trace_queue, avail_idx) % 8 == 0 &&
		   __builtin_offsetof(struct vq_trace_queue, reserved) ==
		       __builtin_offsetof(struct vq_trace_queue, avail_idx) + 6,
	       "the private avail_idx..reserved mirror the queue table's 0x48..0x4f");

/* ---- queue table ----------------------------------------------------------- */

#define C(counter)    (1u << (counter))
#define ALL_COUNTERS  ((1u << VQT_C_COUNT) - 1)
#define PUBLISH_STATE (1u << 31) /* state or flags changed */

/* Open the seqcount of a queue's table entry: seq becomes odd, and the
 * private copy takes the even value queue_close stores.  The reader
 * (vqp_queue_snapshot) retries while seq is odd or changed across its
 * copy. */
static inline __attribute__((always_inline)) vq_u32 queue_open(struct vq_trace_queue *p,
							       volatile struct vqt_queue *q)
{
	vq_u32 seq = p->seq;

	p->seq = seq + 2;
	q->seq = seq + 1;
	/* Orders the odd seq before the field stores; pairs with the
	 * reader's vq_rmb between its field loads and second seq load. */
	vq_wmb();
	return seq + 2;
}

/* Stamp the entry with the event's time and close the seqcount (seq is
 * queue_open's return). */
static inline __attribute__((always_inline)) void queue_close(volatile struct vqt_queue *q,
							      vq_u32 seq, vq_u64 ts)
{
	q->last_event_ts = ts;
	/* Orders the field stores before the even seq; pairs with the
	 * reader's acquire load of seq before its field loads. */
	vq_store_release(&q->seq, seq);
}

/* The private avail_idx, last_used_idx, num_free and reserved as one
 * word, in the queue table's order (0x48..0x4f).  The hot events read and
 * write it whole: a narrower store followed by a wider load of the same
 * bytes stalls the CPU's store forwarding.  reserved is always zero. */
#define IDX_WORD(p)   (*(vq_u64_alias *)&(p)->avail_idx)
#define IDX_AVAIL     0u
#define IDX_LAST_USED 16u
#define IDX_NUM_FREE  32u

static inline vq_u64 idx_set(vq_u64 w, unsigned at, vq_u16 v)
{
	return (w & ~((vq_u64)0xffff << at)) | (vq_u64)v << at;
}

/* num_free + delta (0 - n takes n away), modulo 2^16: a carry or borrow
 * out of num_free lands in reserved, which is cleared again. */
static inline vq_u64 idx_num_free_add(vq_u64 w, vq_u64 delta)
{
	return (w + (delta << IDX_NUM_FREE)) & (((vq_u64)1 << 48) - 1);
}

/* Copy the private state of one queue into its shared slot under the
 * seqcount: the index word, the counters in counter_mask, and state and
 * flags with PUBLISH_STATE. */
static void queue_publish(struct vq_trace *t, unsigned slot, vq_u64 ts, vq_u32 counter_mask)
{
	struct vq_trace_queue *p = &t->q[slot];
	volatile struct vqt_queue *q = &t->queues[slot];
	vq_u32 seq = queue_open(p, q);

	if (counter_mask & PUBLISH_STATE) {
		q->state = p->state;
		q->flags = p->flags;
		counter_mask &= ~PUBLISH_STATE;
	}
	SHARED_U64(q, 0x48) = IDX_WORD(p);
	for (; counter_mask; counter_mask &= counter_mask - 1) {
		unsigned i = (unsigned)__builtin_ctz(counter_mask);

		q->counters[i] = p->counters[i];
	}
	queue_close(q, seq, ts);
}

static inline int slot_ok(const struct vq_trace *t, int slot)
{
	/* A negative slot is above VQ_TRACE_MAX_QUEUES as unsigned.  Slots
	 * from queue_slots up stay free (find_slot never hands them out), so
	 * the constant bound is as good as queue_slots and needs no load. */
	return (unsigned)slot < VQ_TRACE_MAX_QUEUES && t->q[slot].state == VQT_QS_ACTIVE;
}

/* ---- host control ----------------------------------------------------------- */

static void honour_reset(struct vq_trace *t, vq_u32 request, vq_u64 ts)
{
	volatile struct vqt_control *c = t->ctrl;

	for (unsigned s = 0; s < t->queue_slots; s++) {
		if (t->q[s].state == VQT_QS_FREE)
			continue;
		for (unsigned i = 0; i < VQT_C_COUNT; i++)
			t->q[s].counters[i] = 0;
		t->q[s].adds_at_last_kick = 0;
		queue_publish(t, s, ts, ALL_COUNTERS | PUBLISH_STATE);
	}
	t->reset_seen = request;
	c->reset_ack = request;
}

/* Step mode: wait until the host grants a token.  The host bumps
 * host_heartbeat while it is stepping; if that stalls for two seconds the
 * host is gone and we stop waiting rather than hang the guest. */
static void step_wait(struct vq_trace *t, unsigned type)
{
	volatile struct vqt_control *c = t->ctrl;
	vq_u32 taken = t->step_taken;
	vq_u32 heartbeat = c->host_heartbeat;
	vq_u64 since = vq_trace_now(t);
	vq_u64 patience = t->ts_hz * 2;

	c->step_event_type = type;
	c->step_waiting = 1;
	t->step_waits++;
	t->hdr->step_waits = t->step_waits;
	for (;;) {
		vq_u32 grant = c->step_grant;
		vq_u32 avail = grant - taken;

		/* A grant behind our count (avail >= 2^31) is not a token. */
		if (avail != 0 && avail < 0x80000000u)
			break;
		if (c->step_mode == 0)
			goto out;
		if (c->host_heartbeat != heartbeat) {
			heartbeat = c->host_heartbeat;
			since = vq_trace_now(t);
		} else if (vq_trace_now(t) - since > patience) {
			c->step_abandoned = c->step_abandoned + 1;
			goto out;
		}
#if defined(__x86_64__) || defined(__i386__)
		__asm__ __volatile__("pause");
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
	/* Orders our reads of the grant before the event stores that
	 * follow; pairs with the host's store of step_grant. */
	vq_fence_acquire();
	t->step_taken = taken + 1;
	c->step_taken = t->step_taken;
out:
	c->step_waiting = 0;
}

/* Whether the mask in force lets records of type through; counts them
 * when not. */
static inline int event_wanted(struct vq_trace *t, unsigned type)
{
	if (t->mask & (1u << type)) {
		t->masked++;
		t->hdr->events_masked = t->masked;
		return 0;
	}
	return 1;
}

/* Called at the top of every event.  Returns nonzero when the event
 * record should be written (not masked). */
static inline int control_check(struct vq_trace *t, unsigned type, vq_u64 *ts)
{
	volatile struct vqt_control *c = t->ctrl;
	vq_u32 mask, request;

	if (__builtin_expect(c->step_mode != 0, 0) && !t->no_step)
		step_wait(t, type);
	*ts = vq_trace_now(t);
	request = c->reset_request;
	if (__builtin_expect(request != t->reset_seen, 0))
		honour_reset(t, request, *ts);
	mask = c->event_mask;
	if (__builtin_expect(mask != t->mask, 0)) {
		t->mask = mask;
		c->mask_ack = mask;
	}
	return event_wanted(t, type);
}

_Static_assert(__builtin_offsetof(struct vq_trace, mask) % 8 == 0 &&
		   __builtin_offsetof(struct vq_trace, reset_seen) ==
		       __builtin_offsetof(struct vq_trace, mask) + 4,
	       "the private mask and reset_seen mirror the control block's 0x08..0x0f");

/* control_check's common case, inline and with no call in it, so an event
 * function that takes it needs no registers saved: not in step mode, no
 * reset requested, the mask unchanged and not masking this type, the
 * CPU's own counter (which the event then reads itself).  event_mask and
 * reset_request (0x08..0x0f) are compared with the private mask and
 * reset_seen in one 8-byte load; each field is loaded whole.  Returns 0
 * when control_check has to run instead. */
static inline __attribute__((always_inline)) int control_quiet(struct vq_trace *t, unsigned type)
{
	volatile struct vqt_control *c = t->ctrl;
	vq_u64 control = SHARED_U64(c, 0x08);

	return !(t->now || c->step_mode != 0 || control != *(const vq_u64_alias *)&t->mask ||
		 (control & (1u << type)));
}

/* ---- event ring --------------------------------------------------------------- */

/* Writing a record, in parts, so that a hot event can store the record's
 * body while its arguments are at hand (before it reads the clock),
 * update the queue table, and commit the record last.  See vqtrace.h,
 * "Publication". */
struct record {
	volatile struct vqt_event *e;
	vq_u64 commit; /* the commit word (0x08..0x0f): seq, type, queue, ndesc */
};

static inline vq_u32 record_kind(unsigned type, unsigned queue, vq_u16 ndesc)
{
	return (vq_u32)type | (vq_u32)queue << 8 | (vq_u32)ndesc << 16;
}

/* Steps 1-3 but for ts and arg: claim the next sequence number,
 * invalidate its slot, store the fields at 0x10..0x17. */
static inline __attribute__((always_inline)) struct record
record_begin(struct vq_trace *t, vq_u32 kind, vq_u32 word, vq_u32 len)
{
	vq_u64 s = t->head, commit;
	volatile struct vqt_event *e = &t->ring[s & t->ring_mask];

	t->head = s + 1;
	/* Invalidate the slot: no reader of this slot expects s - 1. */
	e->seq = (vq_u32)(s - 1);
	/* Orders the invalidation before the body stores (here, in
	 * record_arg and in record_commit); pairs with the reader's vq_rmb
	 * before its second load of seq. */
	vq_wmb();
	/* head/ring_idx or barriers, len (0x10..0x17). */
	SHARED_U64(e, 0x10) = (vq_u64)word | (vq_u64)len << 32;
	/* seq with type, queue and ndesc (0x0c..0x0f), put together now
	 * (the empty asm stops the compiler delaying it), so that it alone
	 * stays live until the commit, not its parts. */
	commit = (vq_u64)(vq_u32)s | (vq_u64)kind << 32;
	__asm__("" : "+r"(commit));
	return (struct record){e, commit};
}

/* Step 3's arg, any time between record_begin and record_commit. */
static inline __attribute__((always_inline)) void record_arg(struct record r, vq_u64 arg)
{
	r.e->arg = arg;
}

/* Step 3's ts, then steps 4-5: the commit word, then the head. */
static inline __attribute__((always_inline)) void record_commit(struct vq_trace *t, struct record r,
								vq_u64 ts)
{
	r.e->ts = ts;
#if defined(__x86_64__) || defined(__aarch64__)
	/* The commit word in one aligned 8-byte store, which these CPUs
	 * make at once.  Release: orders the body before it; pairs with the
	 * reader's acquire load of seq. */
	vq_store_release(&SHARED_U64(r.e, 0x08), r.commit);
#else
	/* type, queue, ndesc (0x0c..0x0f). */
	SHARED_U32(r.e, 0x0c) = (vq_u32)(r.commit >> 32);
	/* Orders the body before the commit word; pairs with the reader's
	 * acquire load of seq. */
	vq_store_release(&r.e->seq, (vq_u32)r.commit);
#endif
	/* Release: the committed record is visible before the new head
	 * (record_begin advanced the private one); pairs with the reader's
	 * acquire load of ring_head. */
	publish_head(&t->hdr->ring_head, t->head);
}

/* Write one record and publish it. */
static inline void emit(struct vq_trace *t, vq_u64 ts, unsigned type, unsigned queue, vq_u16 ndesc,
			vq_u32 word, vq_u32 len, vq_u64 arg)
{
	struct record r = record_begin(t, record_kind(type, queue, ndesc), word, len);

	record_arg(r, arg);
	record_commit(t, r, ts);
}

static inline vq_u32 head_word(vq_u16 head, vq_u16 ring_idx)
{
	return (vq_u32)head | ((vq_u32)ring_idx << 16);
}

/* ---- initialisation ------------------------------------------------------------ */

int vq_trace_init(struct vq_trace *t, void *region, vq_u64 size, const struct vq_trace_config *cfg)
{
	volatile struct vqt_header *h = region;
	vq_u32 old_generation = 0;
	vq_u32 slots;

	if (!t || !region || !cfg || cfg->ts_hz == 0)
		return VQ_TRACE_EINVAL;
	if (size < VQT_REGION_MIN || size > VQT_REGION_MAX || (size & (size - 1)) != 0)
		return VQ_TRACE_EINVAL;

	/* The previous generation is the only thing read back from the
	 * region, and it is only ever incremented. */
	if (h->magic == VQT_MAGIC)
		old_generation = h->generation;

	zero_private(t, sizeof(*t));
	t->hdr = h;
	t->ctrl = (volatile struct vqt_control *)((volatile vq_u8 *)region + VQT_CONTROL_OFFSET);
	t->queues = (volatile struct vqt_queue *)((volatile vq_u8 *)region + VQT_QUEUE_OFFSET);
	t->ring = (volatile struct vqt_event *)((volatile vq_u8 *)region + VQT_RING_OFFSET(size));
	t->ring_mask = (vq_u32)VQT_RING_RECORDS(size) - 1;
	slots = (vq_u32)VQT_QUEUE_SLOTS(size);
	t->queue_slots = slots < VQ_TRACE_MAX_QUEUES ? slots : VQ_TRACE_MAX_QUEUES;
	t->ts_hz = cfg->ts_hz;
	t->now = cfg->now;

	/* 1. Consumers now see "initialising". */
	h->magic = 0;
	/* Orders the magic store before the layout stores below, so a
	 * consumer never pairs the old magic with a new layout. */
	vq_wmb();

	/* 2. Layout and identity. */
	zero_shared((volatile vq_u8 *)h + 4, VQT_PAGE_SIZE - 4);
	h->version_major = VQT_VERSION_MAJOR;
	h->version_minor = VQT_VERSION_MINOR;
	h->region_size = size;
	t->no_step = cfg->no_step;
	h->flags = (cfg->no_step ? 0 : VQT_HDR_F_STEP_CAPABLE) | cfg->flags;
	h->ts_source = cfg->ts_source ? cfg->ts_source
				      : (
#if defined(__aarch64__)
					    VQT_TS_CNTVCT
#else
					    VQT_TS_TSC
#endif
					);
	h->header_size = sizeof(struct vqt_header);
	h->ts_hz = cfg->ts_hz;
	h->control_offset = VQT_CONTROL_OFFSET;
	h->control_size = sizeof(struct vqt_control);
	h->queue_offset = VQT_QUEUE_OFFSET;
	h->queue_slots = (vq_u16)slots;
	h->queue_slot_size = sizeof(struct vqt_queue);
	h->ring_offset = VQT_RING_OFFSET(size);
	h->ring_records = (vq_u32)VQT_RING_RECORDS(size);
	h->record_size = sizeof(struct vqt_event);
	copy_name(h->producer, cfg->producer, VQT_PRODUCER_LEN);
	h->ring_head = 0;
	zero_shared((volatile vq_u8 *)t->queues, (vq_u64)slots * sizeof(struct vqt_queue));

	/* Control block: keep what the host asked for (it may have set a
	 * mask or step mode before we booted), reset our acknowledgements. */
	t->reset_seen = t->ctrl->reset_request;
	t->mask = t->ctrl->event_mask;
	t->ctrl->reset_ack = t->reset_seen;
	t->ctrl->mask_ack = t->mask;
	t->ctrl->step_waiting = 0;
	t->step_taken = t->ctrl->step_grant; /* no stale tokens */
	t->ctrl->step_taken = t->step_taken;

	/* 3. New generation; zero is never used so a zeroed region is
	 *    always "older". */
	h->generation = old_generation + 1 ? old_generation + 1 : 1;
	h->ts_base = vq_trace_now(t);

	/* 4. Publish.  Release orders every store above before magic;
	 *    pairs with the consumer's acquire load of magic. */
	vq_store_release(&h->magic, VQT_MAGIC);
	return VQ_TRACE_OK;
}

/* The slot a queue of this identity had before it was torn down, else the
 * first free slot, else t->queue_slots. */
static unsigned find_slot(const struct vq_trace *t, const struct vq_queue_info *info)
{
	unsigned slot, free_slot = t->queue_slots;

	for (slot = 0; slot < t->queue_slots; slot++) {
		const struct vq_trace_queue *p = &t->q[slot];

		if (p->state == VQT_QS_GONE && p->device_type == info->device_type &&
		    p->device_instance == info->device_instance &&
		    p->queue_index == info->queue_index)
			return slot;
		if (p->state == VQT_QS_FREE && free_slot == t->queue_slots)
			free_slot = slot;
	}
	return free_slot;
}

int vq_trace_register_queue(struct vq_trace *t, const struct vq_queue_info *info)
{
	volatile struct vqt_queue *q;
	struct vq_trace_queue *p;
	vq_u64 ts;
	unsigned slot;

	if (!info || info->ring_size == 0 || info->ring_size > VQT_RING_SIZE_MAX)
		return VQ_TRACE_EINVAL;
	slot = find_slot(t, info);
	if (slot == t->queue_slots)
		return VQ_TRACE_EFULL;

	ts = vq_trace_now(t);
	p = &t->q[slot];
	q = &t->queues[slot];
	p->state = VQT_QS_ACTIVE;
	p->flags = info->flags;
	p->ring_size = info->ring_size;
	p->num_free = info->ring_size;
	p->device_type = info->device_type;
	p->device_instance = info->device_instance;
	p->queue_index = info->queue_index;
	p->avail_idx = 0;
	p->last_used_idx = 0;

	/* The identity fields never change while the slot is active; they
	 * are written inside the seqcount like everything else. */
	p->seq++;
	q->seq = p->seq;
	/* Orders the odd seq before the identity stores (see queue_publish). */
	vq_wmb();
	q->device_type = info->device_type;
	q->device_instance = info->device_instance;
	q->queue_index = info->queue_index;
	q->ring_size = info->ring_size;
	copy_name(q->name, info->name, VQT_QUEUE_NAME_LEN);
	q->desc_addr = info->desc_addr;
	q->avail_addr = info->avail_addr;
	q->used_addr = info->used_addr;
	q->registered_ts = ts;
	p->seq++;
	/* Orders the identity stores before the even seq. */
	vq_store_release(&q->seq, p->seq);
	queue_publish(t, slot, ts, ALL_COUNTERS | PUBLISH_STATE);

	if (control_check(t, VQT_EV_QUEUE, &ts))
		emit(t, ts, VQT_EV_QUEUE, slot, VQT_QS_ACTIVE, head_word(0, info->ring_size), 0, 0);
	return (int)slot;
}

void vq_trace_unregister_queue(struct vq_trace *t, int slot)
{
	vq_u64 ts;

	if (!slot_ok(t, slot))
		return;
	t->q[slot].state = VQT_QS_GONE;
	ts = vq_trace_now(t);
	queue_publish(t, (unsigned)slot, ts, PUBLISH_STATE);
	if (control_check(t, VQT_EV_QUEUE, &ts))
		emit(t, ts, VQT_EV_QUEUE, (unsigned)slot, VQT_QS_GONE,
		     head_word(0, t->q[slot].ring_size), 0, 0);
}

/* ---- events ---------------------------------------------------------------------- */

static void bad_slot(struct vq_trace *t, int slot)
{
	vq_u64 ts;

	t->errors++;
	t->hdr->errors = t->errors;
	if (control_check(t, VQT_EV_ERROR, &ts))
		emit(t, ts, VQT_EV_ERROR, VQT_QUEUE_NONE, VQT_ERR_BAD_QUEUE, 0, 0,
		     (vq_u64)(vq_u32)slot);
}

/* The hot events (ADD, KICK, POLL, USED) come in three parts: the
 * event's work given whether its record is wanted and where its time
 * comes from (inline: add_event, kick_work, poll_event, used_event), the
 * same after control_check (X_checked, out of line), and the API
 * function, which takes control_quiet's way when it can (EVENT_DISPATCH),
 * with the record wanted and the clock read in the event.  That way has
 * no call in it, so the common case saves no registers. */
#define EVENT_DISPATCH(t, slot, type, checked, event, ...)                                         \
	do {                                                                                       \
		if (!slot_ok(t, slot))                                                             \
			bad_slot(t, slot);                                                         \
		else if (!control_quiet(t, type))                                                  \
			checked(t, slot, __VA_ARGS__);                                             \
		else                                                                               \
			event(t, slot, __VA_ARGS__, 0, 1, CLOCK_NOW);                              \
	} while (0)

/* Where a hot event's time comes from: CLOCK_NOW reads the CPU's counter
 * once everything but the time is stored, CLOCK_GIVEN takes what
 * control_check read. */
#define CLOCK_GIVEN 0
#define CLOCK_NOW   1

static inline __attribute__((always_inline)) vq_u64 event_time(vq_u64 given, int clock)
{
	return clock == CLOCK_NOW ? cpu_counter() : given;
}

/* Add n to counter i, privately and in the open table entry. */
static inline __attribute__((always_inline)) void
counter_add(struct vq_trace_queue *p, volatile struct vqt_queue *q, unsigned i, vq_u64 n)
{
	vq_u64 v = p->counters[i] + n;

	p->counters[i] = v;
	q->counters[i] = v;
}

/* Set the index word, privately and in the open table entry. */
static inline __attribute__((always_inline)) void
idx_publish(struct vq_trace_queue *p, volatile struct vqt_queue *q, vq_u64 idx)
{
	IDX_WORD(p) = idx;
	SHARED_U64(q, 0x48) = idx;
}

/* The hot events store each field group once, computing each value just
 * before its store so that few are live at a time: the record's body
 * while the arguments are at hand, then the queue table entry (the index
 * word if it moved, the counters that moved), and only then, with few
 * values left to keep across it, the clock: the time into the entry,
 * which closes it, and into the record, then the record's commit word
 * and the head. */
/* The end of every hot event, in this order: the time into the table
 * entry, which closes it (seq from queue_open), then, when the record is
 * wanted, into the record, its commit word and the head. */
static inline __attribute__((always_inline)) void hot_finish(struct vq_trace *t,
							     volatile struct vqt_queue *q,
							     vq_u32 seq, struct record r, int write,
							     vq_u64 ts)
{
	queue_close(q, seq, ts);
	if (write)
		record_commit(t, r, ts);
}

static inline __attribute__((always_inline)) void
add_event(struct vq_trace *t, int slot, vq_u16 head, vq_u16 avail_idx, vq_u16 ndesc, vq_u32 bytes,
	  vq_u16 nwritable, vq_u64 ts, int write, int clock)
{
	struct vq_trace_queue *p = &t->q[slot];
	volatile struct vqt_queue *q = &t->queues[slot];
	struct record r = {0, 0};
	vq_u64 idx;
	vq_u32 seq;

	if (write) {
		r = record_begin(t, record_kind(VQT_EV_ADD, (unsigned)slot, ndesc),
				 head_word(head, avail_idx), bytes);
		record_arg(r, nwritable);
	}
	seq = queue_open(p, q);
	idx = idx_set(IDX_WORD(p), IDX_AVAIL, (vq_u16)(avail_idx + 1));
	idx_publish(p, q, idx_num_free_add(idx, 0 - (vq_u64)ndesc));
	counter_add(p, q, VQT_C_ADDS, 1);
	counter_add(p, q, VQT_C_DESCS, ndesc);
	counter_add(p, q, VQT_C_BYTES, bytes);
	ts = event_time(ts, clock);
	hot_finish(t, q, seq, r, write, ts);
}

static __attribute__((noinline)) void add_checked(struct vq_trace *t, int slot, vq_u16 head,
						  vq_u16 avail_idx, vq_u16 ndesc, vq_u32 bytes,
						  vq_u16 nwritable)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_ADD, &ts);

	add_event(t, slot, head, avail_idx, ndesc, bytes, nwritable, ts, write, CLOCK_GIVEN);
}

void vq_trace_add(struct vq_trace *t, int slot, vq_u16 head, vq_u16 avail_idx, vq_u16 ndesc,
		  vq_u32 bytes, vq_u16 nwritable)
{
	EVENT_DISPATCH(t, slot, VQT_EV_ADD, add_checked, add_event, head, avail_idx, ndesc, bytes,
		       nwritable);
}

static inline __attribute__((always_inline)) void kick_work(struct vq_trace *t, int slot,
							    vq_u16 new_avail_idx, unsigned type,
							    unsigned counter, vq_u64 arg, vq_u64 ts,
							    int write, int clock)
{
	struct vq_trace_queue *p = &t->q[slot];
	volatile struct vqt_queue *q = &t->queues[slot];
	vq_u64 adds = p->counters[VQT_C_ADDS];
	struct record r = {0, 0};
	vq_u32 seq;

	if (write) {
		r = record_begin(t, record_kind(type, (unsigned)slot, 0),
				 head_word(0, new_avail_idx),
				 (vq_u32)(adds - p->adds_at_last_kick));
		record_arg(r, arg);
	}
	p->adds_at_last_kick = adds;
	seq = queue_open(p, q);
	idx_publish(p, q, idx_set(IDX_WORD(p), IDX_AVAIL, new_avail_idx));
	counter_add(p, q, counter, 1);
	ts = event_time(ts, clock);
	hot_finish(t, q, seq, r, write, ts);
}

static __attribute__((noinline)) void kick_checked(struct vq_trace *t, int slot,
						   vq_u16 new_avail_idx, unsigned type,
						   unsigned counter, vq_u64 arg)
{
	vq_u64 ts;
	int write = control_check(t, type, &ts);

	kick_work(t, slot, new_avail_idx, type, counter, arg, ts, write, CLOCK_GIVEN);
}

static inline __attribute__((always_inline)) void
kick_event(struct vq_trace *t, int slot, vq_u16 new_avail_idx, int notified, vq_u64 arg)
{
	/* KICK and KICK_SUPPRESSED, and their counters, are neighbours. */
	unsigned suppressed = notified ? 0 : 1;
	unsigned type = VQT_EV_KICK + suppressed, counter = VQT_C_KICKS + suppressed;

	EVENT_DISPATCH(t, slot, type, kick_checked, kick_work, new_avail_idx, type, counter, arg);
}

void vq_trace_kick(struct vq_trace *t, int slot, vq_u16 new_avail_idx)
{
	kick_event(t, slot, new_avail_idx, 1, 0);
}

void vq_trace_kick_suppressed(struct vq_trace *t, int slot, vq_u16 new_avail_idx)
{
	kick_event(t, slot, new_avail_idx, 0, 0);
}

void vq_trace_kick_decision(struct vq_trace *t, int slot, vq_u16 new_avail_idx, int notified,
			    vq_u64 suppression_state)
{
	kick_event(t, slot, new_avail_idx, notified, suppression_state | VQT_KICK_STATE_PRESENT);
}

static inline __attribute__((always_inline)) void poll_event(struct vq_trace *t, int slot,
							     const struct vq_poll_stats *st,
							     vq_u16 outcome, vq_u64 ts, int write,
							     int clock)
{
	struct vq_trace_queue *p = &t->q[slot];
	volatile struct vqt_queue *q = &t->queues[slot];
	struct record r = {0, 0};
	vq_u32 seq;

	if (write)
		r = record_begin(t, record_kind(VQT_EV_POLL, (unsigned)slot, outcome),
				 st->rmb + st->wmb + st->mb, st->spins);
	seq = queue_open(p, q);
	/* The index word did not move.  Polls that only read seldom write
	 * or fence. */
	counter_add(p, q, VQT_C_POLLS, 1);
	counter_add(p, q, VQT_C_POLL_SPINS, st->spins);
	counter_add(p, q, VQT_C_BARRIERS_RMB, st->rmb);
	if (st->wmb)
		counter_add(p, q, VQT_C_BARRIERS_WMB, st->wmb);
	if (st->mb)
		counter_add(p, q, VQT_C_BARRIERS_MB, st->mb);
	if (__builtin_expect(outcome == VQT_POLL_TIMEOUT, 0))
		counter_add(p, q, VQT_C_POLL_TIMEOUTS, 1);
	ts = event_time(ts, clock);
	if (write)
		record_arg(r, ts > st->start ? ts - st->start : 0);
	hot_finish(t, q, seq, r, write, ts);
}

static __attribute__((noinline)) void poll_checked(struct vq_trace *t, int slot,
						   const struct vq_poll_stats *st, vq_u16 outcome)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_POLL, &ts);

	poll_event(t, slot, st, outcome, ts, write, CLOCK_GIVEN);
}

void vq_trace_poll(struct vq_trace *t, int slot, const struct vq_poll_stats *st, vq_u16 outcome)
{
	EVENT_DISPATCH(t, slot, VQT_EV_POLL, poll_checked, poll_event, st, outcome);
}

static inline __attribute__((always_inline)) void used_event(struct vq_trace *t, int slot,
							     vq_u16 id, vq_u16 used_idx,
							     vq_u32 written, vq_u16 ndesc_freed,
							     vq_u64 ts, int write, int clock)
{
	struct vq_trace_queue *p = &t->q[slot];
	volatile struct vqt_queue *q = &t->queues[slot];
	struct record r = {0, 0};
	vq_u64 idx;
	vq_u32 seq;

	if (write) {
		r = record_begin(t, record_kind(VQT_EV_USED, (unsigned)slot, ndesc_freed),
				 head_word(id, used_idx), written);
		record_arg(r, 0);
	}
	seq = queue_open(p, q);
	idx = idx_set(IDX_WORD(p), IDX_LAST_USED, (vq_u16)(used_idx + 1));
	idx_publish(p, q, idx_num_free_add(idx, ndesc_freed));
	counter_add(p, q, VQT_C_COMPLETIONS, 1);
	counter_add(p, q, VQT_C_USED_BYTES, written);
	ts = event_time(ts, clock);
	hot_finish(t, q, seq, r, write, ts);
}

static __attribute__((noinline)) void used_checked(struct vq_trace *t, int slot, vq_u16 id,
						   vq_u16 used_idx, vq_u32 written,
						   vq_u16 ndesc_freed)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_USED, &ts);

	used_event(t, slot, id, used_idx, written, ndesc_freed, ts, write, CLOCK_GIVEN);
}

void vq_trace_used(struct vq_trace *t, int slot, vq_u16 id, vq_u16 used_idx, vq_u32 written,
		   vq_u16 ndesc_freed)
{
	EVENT_DISPATCH(t, slot, VQT_EV_USED, used_checked, used_event, id, used_idx, written,
		       ndesc_freed);
}

void vq_trace_irq(struct vq_trace *t, int slot, vq_u32 isr)
{
	vq_u64 ts;
	int write;

	if (!slot_ok(t, slot)) {
		bad_slot(t, slot);
		return;
	}
	write = control_check(t, VQT_EV_IRQ, &ts);
	t->q[slot].counters[VQT_C_IRQS]++;
	queue_publish(t, (unsigned)slot, ts, C(VQT_C_IRQS));
	if (write)
		emit(t, ts, VQT_EV_IRQ, (unsigned)slot, 0, 0, 0, isr);
}

void vq_trace_callbacks(struct vq_trace *t, int slot, int enabled, vq_u16 used_event)
{
	struct vq_trace_queue *p;
	vq_u64 ts;
	int write;

	if (!slot_ok(t, slot)) {
		bad_slot(t, slot);
		return;
	}
	write = control_check(t, VQT_EV_CB, &ts);
	p = &t->q[slot];
	p->counters[VQT_C_CB_CHANGES]++;
	if (enabled)
		p->flags = (vq_u16)(p->flags & ~VQT_QF_CB_DISABLED);
	else
		p->flags = (vq_u16)(p->flags | VQT_QF_CB_DISABLED);
	queue_publish(t, (unsigned)slot, ts, C(VQT_C_CB_CHANGES) | PUBLISH_STATE);
	if (write)
		emit(t, ts, VQT_EV_CB, (unsigned)slot, enabled ? 1 : 0, head_word(0, used_event), 0,
		     0);
}

void vq_trace_frame_begin(struct vq_trace *t, vq_u64 frame)
{
	vq_u64 ts;

	if (control_check(t, VQT_EV_FRAME_BEGIN, &ts))
		emit(t, ts, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE, 0, 0, 0, frame);
}

void vq_trace_frame_end(struct vq_trace *t, vq_u64 frame, vq_u32 commands)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_FRAME_END, &ts);

	t->frames++;
	t->hdr->frames = t->frames;
	if (write)
		emit(t, ts, VQT_EV_FRAME_END, VQT_QUEUE_NONE, 0, 0, commands, frame);
}

void vq_trace_log(struct vq_trace *t, vq_u32 bytes, vq_u64 ticks)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_LOG, &ts);

	t->log_bytes += bytes;
	t->log_ticks += ticks;
	t->hdr->log_bytes = t->log_bytes;
	t->hdr->log_ticks = t->log_ticks;
	if (write)
		emit(t, ts, VQT_EV_LOG, VQT_QUEUE_NONE, 0, 0, bytes, ticks);
}

void vq_trace_mark(struct vq_trace *t, vq_u64 value)
{
	vq_u64 ts;
	int write = control_check(t, VQT_EV_MARK, &ts);

	t->marks++;
	t->hdr->marks = t->marks;
	if (write)
		emit(t, ts, VQT_EV_MARK, VQT_QUEUE_NONE, 0, 0, 0, value);
}

void vq_trace_error(struct vq_trace *t, int slot, vq_u16 code, vq_u64 detail)
{
	vq_u64 ts;
	unsigned queue = VQT_QUEUE_NONE;
	int write = control_check(t, VQT_EV_ERROR, &ts);

	t->errors++;
	t->hdr->errors = t->errors;
	if (slot_ok(t, slot)) {
		queue = (unsigned)slot;
		t->q[slot].counters[VQT_C_ERRORS]++;
		queue_publish(t, queue, ts, C(VQT_C_ERRORS));
	}
	if (write)
		emit(t, ts, VQT_EV_ERROR, queue, code, 0, 0, detail);
}

void vq_trace_lost(struct vq_trace *t, vq_u64 n)
{
	vq_u64 records = (vq_u64)t->ring_mask + 1;
	vq_u64 end = t->head + n;
	/* Only the last lap of skipped numbers can still be in the ring. */
	vq_u64 from = n > records ? end - records : t->head;

	if (n == 0)
		return;
	for (vq_u64 s = from; s < end; s++)
		t->ring[s & t->ring_mask].seq = (vq_u32)(s - 1);
	t->head = end;
	/* Release: the invalidated slots are visible before the new head;
	 * pairs with the reader's acquire load of ring_head. */
	publish_head(&t->hdr->ring_head, end);
}

void vq_trace_sync_indices(struct vq_trace *t, int slot, vq_u16 avail_idx, vq_u16 last_used_idx,
			   vq_u16 num_free)
{
	struct vq_trace_queue *p;

	if (!slot_ok(t, slot))
		return;
	p = &t->q[slot];
	p->avail_idx = avail_idx;
	p->last_used_idx = last_used_idx;
	p->num_free = num_free;
	queue_publish(t, (unsigned)slot, vq_trace_now(t), 0);
}

/* ---- producer state ------------------------------------------------------------- */

/* Stamp the time, then publish the count with publish_head()'s release
 * store (whole on 64-bit CPUs, low word first on 32-bit ones): heartbeat_ts
 * and producer_state are visible before the new count; pairs with the
 * acquire load of heartbeats in vqp_region_producer().  The count is read
 * back from the header, which only the producer writes (the host maps it
 * read-only), like the generation in vq_trace_init, and only ever
 * incremented: it steers nothing here. */
static void heartbeat_publish(struct vq_trace *t)
{
	t->hdr->heartbeat_ts = vq_trace_now(t);
	publish_head(&t->hdr->heartbeats, t->hdr->heartbeats + 1);
}

void vq_trace_set_state(struct vq_trace *t, vq_u32 state, vq_u32 heartbeat_ms)
{
	t->hdr->producer_state = state;
	t->hdr->heartbeat_ms = state == VQT_PRODUCER_RUNNING ? heartbeat_ms : 0;
	heartbeat_publish(t);
}

void vq_trace_heartbeat(struct vq_trace *t)
{
	heartbeat_publish(t);
}

void vq_trace_set_receive(struct vq_trace *t, int slot, int receive)
{
	struct vq_trace_queue *p;

	if (!slot_ok(t, slot))
		return;
	p = &t->q[slot];
	if (receive)
		p->flags = (vq_u16)(p->flags | VQT_QF_RECEIVE);
	else
		p->flags = (vq_u16)(p->flags & ~VQT_QF_RECEIVE);
	queue_publish(t, (unsigned)slot, vq_trace_now(t), PUBLISH_STATE);
}
