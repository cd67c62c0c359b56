/* vqscope_trace.bpf.c - BPF half of vqscope-trace: hooks Linux's
 * drivers/virtio/virtio_ring.c and turns each virtqueue operation into a
 * struct vqtr_event in a BPF ring buffer.
 *
 * Three attach methods carry the same logic; user space loads one set:
 *   fentry/fexit   (programs fe_* and fx_*): cheapest, needs BPF trampolines
 *                  and BTF for virtio_ring (module BTF when it is a module),
 *   kprobe/kretprobe (kp_* and kr_*): works wherever kprobes do,
 *   raw tracepoint (tp_*): irq_handler_entry only, so interrupts and nothing
 *                  else, for kernels without either of the above.
 *
 * Every hook reads the driver's own state with CO-RE (virtio_core.h), and
 * the shared ring only where the driver keeps no copy (the device-written
 * used ring, the descriptors of a new buffer).  Operations on one virtqueue
 * are serialised by its driver ("the caller must ensure we don't call this
 * with other virtqueue operations at the same time", virtio_ring.c), so the
 * per-queue scratch state in map "queues" is written without atomics.
 *
 * Losses are counted, never guessed.  A record the BPF ring buffer has no
 * room for is counted when its reservation fails.  A hook run the kernel
 * skipped (kprobes run one BPF program per CPU at a time, a trampoline
 * does not run its program inside itself) is counted by the kernel, and
 * user space reads those counts (hooks.c); the adds and reaps such skipped
 * runs would have reported are also found in the rings themselves:
 *   split rings (2.7): every add takes the next avail index and every reap
 *     the next used index, so a gap in either is that many adds or reaps
 *     never reported;
 *   packed rings (2.8): each traced queue has a bitmap of the buffer ids
 *     the trace has in flight (map "inflight"), seeded from the driver's
 *     own desc_state when the queue is first seen; an id added while its
 *     bit is set had its reap missed, an id reaped with its bit clear had
 *     its add missed.
 * Each is counted once, where it is found, and at the end of the trace
 * program end_queues compares what the trace holds with the driver's
 * state, for the losses no later operation revealed.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "vqtrace.h"
#include "virtio_core.h"
#include "vqscope_trace.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before loading. */
const volatile __u64 wakeup_bytes = 16384;		    /* wake the reader past this backlog */
const volatile __s32 filter_device_id = -1;		    /* virtio device ID, -1: any */
const volatile __s32 filter_device_index = -1;		    /* N of virtioN, -1: any */
const volatile char filter_queue[VQTR_QUEUE_NAME_LEN] = {}; /* vq->name, "": any */
const volatile __u64 vring_interrupt_addr = 0;		    /* for the tracepoint method */

/* Set by user space once every hook is attached, cleared before they are
 * detached: the trace starts and ends with all hooks in place (attaching
 * them one by one takes milliseconds). */
volatile __u32 tracing_on = 0;

/* enum vqtr_counter; user space reads them through its mapping of .bss. */
__u64 counters[VQTR_CNT_COUNT] = {};
/* Runs of each kprobe program (VQTR_RUNS_INDEX). */
__u64 hook_runs[VQTR_RUNS_COUNT] = {};
/* Queues end_queues could not close yet: a hook was running on them. */
__u32 end_pending = 0;

#define EIO		  5
#define ENOSPC		  28
#define TASK_CALL_DEPTH	  4
#define MAX_RING	  32768 /* largest virtqueue (2.6, 2.7) */
#define BITMAP_WORDS	  (MAX_RING / 64)
#define PACKED_SEED_LIMIT 1024 /* buffer ids read to seed a packed queue's bitmap */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by user space */
} events SEC(".maps");

/* What the BPF side remembers of one virtqueue: struct vqtr_queue_state
 * (vqscope_trace.h). */
#define queue_state vqtr_queue_state
enum cb_state { CB_UNKNOWN = 0, CB_ENABLED = 1, CB_DISABLED = 2 };

/* Packed queues: the buffer ids the trace has in flight, one bit each. */
struct inflight_bits {
	__u64 word[BITMAP_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VQTR_MAX_QUEUES);
	__type(key, __u64); /* struct virtqueue address */
	__type(value, struct inflight_bits);
} inflight SEC(".maps");

/* All zero: what a new "inflight" entry is copied from (a BPF stack holds
 * 512 bytes, a bitmap 4 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inflight_bits);
} inflight_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VQTR_MAX_QUEUES);
	__type(key, __u64); /* struct virtqueue address */
	__type(value, struct queue_state);
} queues SEC(".maps");

/* kretprobes do not see arguments: the kprobe pushes the virtqueue of
 * each call on a small per-task stack and the kretprobe pops it.  Calls
 * nest only through interrupts, which return first.  Each entry names its
 * function, so a return the kernel did not report (a kretprobe's missed
 * run) leaves no stale entry for the next return to pop. */
#define CALL_ARG (1u << 31) /* in task_calls.fn: the call's argument flag */
struct task_calls {
	__u64 vq[TASK_CALL_DEPTH];
	__u32 fn[TASK_CALL_DEPTH]; /* enum vqtr_function, | CALL_ARG */
	__u32 depth;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct task_calls);
} calls SEC(".maps");

/* ---- small helpers --------------------------------------------------------- */

static __always_inline void count_n(__u32 which, __u64 n)
{
	if (which < VQTR_CNT_COUNT)
		__sync_fetch_and_add(&counters[which], n);
}

static __always_inline void count(__u32 which)
{
	count_n(which, 1);
}

static __always_inline int read_kernel(void *dst, __u32 size, const void *src)
{
	if (bpf_probe_read_kernel(dst, size, src) == 0)
		return 0;
	count(VQTR_CNT_READ_FAULTS);
	return -1;
}

/* Bytes one record and its header take in the ring buffer, at most. */
#define RECORD_SPAN 128

static __always_inline __u64 wakeup_flags(void)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	/* Flags 0 are the kernel's adaptive wake-up: it wakes the reader only
	 * for a record written into an empty buffer, that is when the reader
	 * has taken everything and waits.  The reader rests between looks
	 * (vqscope_trace.c), so a busy trace wakes it no more often than
	 * that.  The record that takes the backlog past wakeup_bytes wakes
	 * it at once; not every record after it, as each wake-up is an
	 * interrupt the CPU sends itself (irq_work). */
	if (waiting >= wakeup_bytes && waiting < wakeup_bytes + RECORD_SPAN)
		return BPF_RB_FORCE_WAKEUP;
	return 0;
}

static __always_inline int is_packed(struct vring_virtqueue *vq)
{
	if (!bpf_core_field_exists(vq->packed_ring))
		return 0;
	return BPF_CORE_READ(vq, packed_ring);
}

/* Packed rings: Linux 6.0 moved the used wrap counter into bit 15 of
 * last_used_idx; before that it was a field of its own. */
static __always_inline void packed_last_used(struct vring_virtqueue *vq, __u16 raw, __u16 *pos,
					     int *wrap)
{
	if (bpf_core_field_exists(vq->packed.used_wrap_counter)) {
		*pos = raw;
		*wrap = BPF_CORE_READ(vq, packed.used_wrap_counter);
	} else {
		*pos = raw & (__u16) ~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);
		*wrap = raw >> VRING_PACKED_EVENT_F_WRAP_CTR;
	}
}

/* The driver's indices, read once per hook run (each CO-RE read is a
 * kernel read) and used for every record the run writes. */
struct driver_now {
	__u16 raw_last_used; /* last_used_idx as the driver keeps it */
	__u16 avail;	     /* avail_idx_shadow (split), next_avail_idx (packed) */
	__u16 num_free;
	__u16 reserved;
};

static __always_inline void driver_now_read(struct vring_virtqueue *vq, int packed,
					    struct driver_now *n)
{
	n->raw_last_used = BPF_CORE_READ(vq, last_used_idx);
	n->num_free = (__u16)BPF_CORE_READ(vq, vq.num_free);
	if (packed)
		n->avail = BPF_CORE_READ(vq, packed.next_avail_idx);
	else
		n->avail = BPF_CORE_READ(vq, split.avail_idx_shadow);
}

/* The driver's indices at the hook, into an event record. */
static __always_inline void read_driver_state(struct vring_virtqueue *vq, int packed,
					      const struct driver_now *n, struct vqtr_event *e)
{
	e->num_free = n->num_free;
	e->avail_idx = n->avail;
	if (packed) {
		int wrap;

		packed_last_used(vq, n->raw_last_used, &e->last_used_idx, &wrap);
	} else {
		e->last_used_idx = n->raw_last_used;
	}
}

/* Has the device used a buffer the driver has not reaped?  The same test
 * as virtio_ring.c's more_used_split/more_used_packed (2.7.14, 2.8.7). */
static __always_inline int more_used(struct vring_virtqueue *vq, int packed, __u16 raw)
{
	if (packed) {
		void *desc = BPF_CORE_READ(vq, packed.vring.desc);
		__u16 pos, flags = 0;
		int wrap, avail, used;

		packed_last_used(vq, raw, &pos, &wrap);
		if (read_kernel(&flags, sizeof(flags),
				desc + (__u64)pos * PACKED_DESC_SIZE +
				    __builtin_offsetof(struct ring_desc_packed, flags)))
			return 0;
		avail = (flags >> VRING_PACKED_DESC_F_AVAIL) & 1;
		used = (flags >> VRING_PACKED_DESC_F_USED) & 1;
		return avail == used && used == wrap;
	} else {
		void *used = BPF_CORE_READ(vq, split.vring.used);
		__u16 idx = raw;

		if (read_kernel(&idx, sizeof(idx), used + SPLIT_USED_IDX_OFFSET))
			return 0;
		return idx != raw;
	}
}

/* ---- queue identity -------------------------------------------------------- */

static __always_inline int queue_wanted(__u32 device_id, int device_index, const char *name)
{
	if (filter_device_id >= 0 && (__u32)filter_device_id != device_id)
		return 0;
	if (filter_device_index >= 0 && filter_device_index != device_index)
		return 0;
	if (filter_queue[0] == 0)
		return 1;
	for (int i = 0; i < VQTR_QUEUE_NAME_LEN; i++) {
		if (filter_queue[i] != name[i])
			return 0;
		if (name[i] == 0)
			return 1;
	}
	return 1;
}

static __always_inline void ring_addresses(struct vring_virtqueue *vq, int packed,
					   struct vqtr_queue *q)
{
	if (packed) {
		q->ring_size = (__u16)BPF_CORE_READ(vq, packed.vring.num);
		q->desc_addr = BPF_CORE_READ(vq, packed.ring_dma_addr);
		q->avail_addr = BPF_CORE_READ(vq, packed.driver_event_dma_addr);
		q->used_addr = BPF_CORE_READ(vq, packed.device_event_dma_addr);
	} else {
		/* One DMA allocation holds the three parts; their kernel
		 * addresses give the offsets (virtqueue_get_avail_addr). */
		__u64 desc = (__u64)BPF_CORE_READ(vq, split.vring.desc);
		__u64 avail = (__u64)BPF_CORE_READ(vq, split.vring.avail);
		__u64 used = (__u64)BPF_CORE_READ(vq, split.vring.used);

		q->ring_size = (__u16)BPF_CORE_READ(vq, split.vring.num);
		q->desc_addr = BPF_CORE_READ(vq, split.queue_dma_addr);
		q->avail_addr = q->desc_addr + (avail - desc);
		q->used_addr = q->desc_addr + (used - desc);
	}
}

/* ---- in-flight buffer ids of packed queues --------------------------------- */

/* Set (set = 1) or clear id's bit; returns whether it was set.  Only the
 * hooks of the queue's own adds and reaps write its bitmap, and the driver
 * serialises those; end_queues writes it only once they are shut out. */
static __always_inline int inflight_mark(__u64 key, __u16 id, int set)
{
	struct inflight_bits *bits = bpf_map_lookup_elem(&inflight, &key);
	__u32 w = (id >> 6) & (BITMAP_WORDS - 1);
	__u64 bit = 1ull << (id & 63);
	int was;

	if (!bits)
		return 1; /* no bitmap: claim nothing is missing */
	was = (bits->word[w] & bit) != 0;
	if (set)
		bits->word[w] |= bit;
	else
		bits->word[w] &= ~bit;
	return was;
}

/* A packed queue's buffers in flight before tracing began, from the
 * driver's desc_state (data is the driver's token, NULL when free).
 * Returns 1 when every id was looked at. */
static __always_inline int inflight_seed(struct vring_virtqueue *vq, __u64 key, __u32 num)
{
	void *states = BPF_CORE_READ(vq, packed.desc_state);
	__u32 stride = bpf_core_type_size(struct vring_desc_state_packed);
	__u32 offset = bpf_core_field_offset(struct vring_desc_state_packed, data);
	struct inflight_bits *bits;
	__u32 zero = 0;
	void *blank = bpf_map_lookup_elem(&inflight_zero, &zero);

	if (!blank || bpf_map_update_elem(&inflight, &key, blank, BPF_ANY) != 0)
		return 0;
	bits = bpf_map_lookup_elem(&inflight, &key);
	if (!bits)
		return 0;
	for (__u32 id = 0; id < PACKED_SEED_LIMIT; id++) {
		void *data = 0;

		if (id >= num)
			return 1;
		bpf_probe_read_kernel(&data, sizeof(data), states + (__u64)id * stride + offset);
		if (data)
			bits->word[(id >> 6) & (BITMAP_WORDS - 1)] |= 1ull << (id & 63);
	}
	return num <= PACKED_SEED_LIMIT;
}

/* ---- queue identity (continued) -------------------------------------------- */

/* A virtqueue seen for the first time: decide whether it is traced,
 * describe it to user space, remember it.  The description is submitted
 * before the queue enters the map, so it precedes, in the ring buffer,
 * every event of that queue from any CPU (two CPUs racing here both send
 * one; user space keeps the first).  The accounting of adds and reaps
 * starts from the driver's indices here, so that every later add and reap
 * is either reported or counted missed. */
static __noinline struct queue_state *first_sight(struct vring_virtqueue *vq, __u64 key)
{
	struct queue_state init = {};
	struct virtio_device *vdev = BPF_CORE_READ(vq, vq.vdev);
	__u32 device_id = BPF_CORE_READ(vdev, id.device);
	int device_index = BPF_CORE_READ(vdev, index);
	char name[VQTR_QUEUE_NAME_LEN] = {};
	struct queue_state *st;
	struct vqtr_queue *q;
	int packed = is_packed(vq);
	long err;

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(vq, vq.name));
	init.mode =
	    queue_wanted(device_id, device_index, name) ? VQTR_QUEUE_TRACED : VQTR_QUEUE_IGNORED;
	if (init.mode == VQTR_QUEUE_TRACED) {
		q = bpf_ringbuf_reserve(&events, sizeof(*q), 0);
		if (!q) {
			count(VQTR_CNT_DROPPED);
			return 0; /* not remembered: the next event tries again */
		}
		q->ts = bpf_ktime_get_ns();
		q->vq = key;
		q->kind = VQTR_KIND_QUEUE;
		q->flags = (packed ? VQTR_QF_PACKED : 0) |
			   (BPF_CORE_READ(vq, event) ? VQTR_QF_EVENT_IDX : 0) |
			   (BPF_CORE_READ(vq, indirect) ? VQTR_QF_INDIRECT : 0);
		q->device_id = (__u16)device_id;
		q->queue_index = (__u16)BPF_CORE_READ(vq, vq.index);
		q->device_index = device_index;
		q->reserved = 0;
		ring_addresses(vq, packed, q);
		init.ring_size = q->ring_size;
		__builtin_memcpy(q->name, name, sizeof(name));
		bpf_probe_read_kernel_str(q->device_name, sizeof(q->device_name),
					  BPF_CORE_READ(vdev, dev.kobj.name));
		bpf_ringbuf_submit(q, wakeup_flags());
		init.packed = packed;
		if (packed) {
			/* used_seen stays 0 until the first reap. */
			init.seeded = inflight_seed(vq, key, init.ring_size);
		} else {
			init.add_next = BPF_CORE_READ(vq, split.avail_idx_shadow);
			init.used_idx = (__u16)(BPF_CORE_READ(vq, last_used_idx) - 1);
			init.used_seen = 1;
		}
	}
	err = bpf_map_update_elem(&queues, &key, &init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&queues, &key);
	if (!st) {
		if (err)
			count(VQTR_CNT_QUEUES_FULL);
		return 0;
	}
	return st;
}

/* A hook's hold on a traced queue, or NULL when the queue is not traced,
 * tracing is off, or the trace has ended for this queue.  Every non-NULL
 * return is paired with queue_put().  *first: this hook saw the queue
 * first, so its state was taken after the operation being reported.
 * known_only: a queue not seen yet is left for another hook to register
 * (first_sight, the largest part of a program, is then left out of it). */
static __always_inline struct queue_state *queue_hold(struct vring_virtqueue *vq, int *first,
						      int known_only)
{
	__u64 key = (__u64)vq;
	struct queue_state *st;

	if (!tracing_on)
		return 0;
	st = bpf_map_lookup_elem(&queues, &key);
	*first = !st;
	if (!st && !known_only)
		st = first_sight(vq, key);
	if (!st || st->mode != VQTR_QUEUE_TRACED)
		return 0;
	/* A locked add, then the load of closed: pairs with the exchange
	 * and the load of active in end_queues(), so either this hook sees
	 * the queue closing or end_queues sees the hook running. */
	__sync_fetch_and_add(&st->active, 1);
	if (st->closed) {
		__sync_fetch_and_add(&st->active, -1);
		return 0;
	}
	return st;
}

static __always_inline struct queue_state *queue_get(struct vring_virtqueue *vq)
{
	int first;

	return queue_hold(vq, &first, 0);
}

static __always_inline void queue_put(struct queue_state *st)
{
	__sync_fetch_and_add(&st->active, -1);
}

static __always_inline void missed_reaps(struct queue_state *st, __u32 n)
{
	st->reaps_missed += n;
	count_n(VQTR_CNT_REAPS_MISSED, n);
}

static __always_inline void missed_adds(struct queue_state *st, __u32 n)
{
	st->adds_missed += n;
	count_n(VQTR_CNT_ADDS_MISSED, n);
}

/* ---- event records -------------------------------------------------------------- */

static __always_inline struct vqtr_event *event_reserve(struct vring_virtqueue *vq, __u8 type)
{
	struct vqtr_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(VQTR_CNT_DROPPED);
		return 0;
	}
	e->ts = bpf_ktime_get_ns();
	e->vq = (__u64)vq;
	e->kind = VQTR_KIND_EVENT;
	e->type = type;
	e->ndesc = 0;
	e->head = 0;
	e->ring_idx = 0;
	e->len = 0;
	e->nwritable = 0;
	e->detail = 0;
	e->reserved = 0;
	return e;
}

static __always_inline void event_submit(struct vqtr_event *e)
{
	bpf_ringbuf_submit(e, wakeup_flags());
}

/* ---- buffer sizing ---------------------------------------------------------------- */

struct chain {
	__u32 ndesc;
	__u32 bytes;
	__u32 nwritable;
};

/* Linear descriptor table of n entries at kernel address table (indirect
 * tables, 2.7.5.3 and 2.8.19; Linux fills them in order). */
static __always_inline void walk_table(void *table, __u32 n, int packed, struct chain *c)
{
	c->ndesc = n;
	for (__u32 i = 0; i < VQTR_MAX_CHAIN; i++) {
		union {
			struct ring_desc_split split;
			struct ring_desc_packed packed;
		} d;
		__u16 flags;

		if (i >= n)
			break;
		if (read_kernel(&d, sizeof(d), table + (__u64)i * SPLIT_DESC_SIZE))
			break;
		flags = packed ? d.packed.flags : d.split.flags;
		c->bytes += d.split.len;
		if (flags & VRING_DESC_F_WRITE)
			c->nwritable++;
	}
}

static __always_inline void *desc_state_field(void *array, __u32 stride, __u16 id, __u32 offset)
{
	void *p = 0;

	read_kernel(&p, sizeof(p), array + (__u64)id * stride + offset);
	return p;
}

/* Split ring: the chain starting at head in the descriptor table, which
 * only the driver writes (2.7.5). */
static __always_inline void walk_split(struct vring_virtqueue *vq, __u16 head, __u32 num,
				       struct chain *c)
{
	void *table = BPF_CORE_READ(vq, split.vring.desc);
	__u16 i = head;

	if (num == 0)
		return;
	for (__u32 k = 0; k < VQTR_MAX_CHAIN; k++) {
		struct ring_desc_split d;

		if (read_kernel(&d, sizeof(d), table + (__u64)(i & (num - 1)) * SPLIT_DESC_SIZE))
			return;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			void *indirect = desc_state_field(
			    BPF_CORE_READ(vq, split.desc_state),
			    bpf_core_type_size(struct vring_desc_state_split), head,
			    bpf_core_field_offset(struct vring_desc_state_split, indir_desc));

			if (indirect)
				walk_table(indirect, d.len / SPLIT_DESC_SIZE, 0, c);
			return;
		}
		c->ndesc++;
		c->bytes += d.len;
		if (d.flags & VRING_DESC_F_WRITE)
			c->nwritable++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return;
		i = d.next;
	}
}

/* Descriptors a split-ring buffer returns to the free list when reaped:
 * its chain length, or 1 for an indirect buffer. */
static __always_inline __u16 split_chain_length(struct vring_virtqueue *vq, __u16 head, __u32 num)
{
	void *table = BPF_CORE_READ(vq, split.vring.desc);
	__u16 i = head, n = 0;

	if (num == 0)
		return 0;
	for (__u32 k = 0; k < VQTR_MAX_CHAIN; k++) {
		struct ring_desc_split d;

		if (read_kernel(&d, sizeof(d), table + (__u64)(i & (num - 1)) * SPLIT_DESC_SIZE))
			break;
		n++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	return n;
}

/* Packed ring: the driver keeps no copy of a buffer's descriptors unless
 * it maps them for DMA, so read them back from the ring right after the
 * add, while they are still marked available (2.8.1).  The add leaves
 * next_avail_idx one past its last descriptor, which carries the buffer
 * id as every descriptor of a chain does (2.8.6), and desc_state[id].num
 * says how many it took: so the head's position comes from the exit
 * alone.  If the device has already overwritten the head descriptor,
 * report only the count. */
static __always_inline void walk_packed(struct vring_virtqueue *vq, __u16 next, __u16 *head,
					__u16 *pos, struct chain *c)
{
	void *ring = BPF_CORE_READ(vq, packed.vring.desc);
	__u32 num = BPF_CORE_READ(vq, packed.vring.num);
	void *states = BPF_CORE_READ(vq, packed.desc_state);
	__u32 stride = bpf_core_type_size(struct vring_desc_state_packed);
	__u16 taken = 0, id, first;
	struct ring_desc_packed d = {};

	if (num == 0 || num > MAX_RING)
		return;
	read_kernel(&d, sizeof(d), ring + (__u64)(next ? next - 1 : num - 1) * PACKED_DESC_SIZE);
	id = d.id;
	read_kernel(&taken, sizeof(taken),
		    states + (__u64)id * stride +
			bpf_core_field_offset(struct vring_desc_state_packed, num));
	if (taken == 0 || taken > num)
		taken = 1;
	first = (__u16)(next >= taken ? next - taken : next + num - taken);
	*head = id;
	*pos = first;
	c->ndesc = taken;
	if (taken > 1 && read_kernel(&d, sizeof(d), ring + (__u64)first * PACKED_DESC_SIZE))
		return;
	if (d.id != id || ((d.flags >> VRING_PACKED_DESC_F_AVAIL) & 1) ==
			      ((d.flags >> VRING_PACKED_DESC_F_USED) & 1))
		return; /* already used by the device */
	if (d.flags & VRING_DESC_F_INDIRECT) {
		void *indirect = desc_state_field(
		    states, stride, id,
		    bpf_core_field_offset(struct vring_desc_state_packed, indir_desc));

		if (indirect)
			walk_table(indirect, d.len / PACKED_DESC_SIZE, 1, c);
		return;
	}
	for (__u32 k = 0; k < VQTR_MAX_CHAIN; k++) {
		if (k >= taken)
			break;
		if (k > 0 && read_kernel(&d, sizeof(d),
					 ring + (__u64)((first + k) % num) * PACKED_DESC_SIZE))
			break;
		c->bytes += d.len;
		if (d.flags & VRING_DESC_F_WRITE)
			c->nwritable++;
	}
}

/* ---- the operations ------------------------------------------------------------------ */

/* A CB record: the driver's request for used-buffer notifications
 * changed (2.7.7, 2.8.10). */
static __always_inline void cb_report(struct vring_virtqueue *vq, struct queue_state *st,
				      const struct driver_now *now, int enable)
{
	struct vqtr_event *e;

	st->cb = enable ? CB_ENABLED : CB_DISABLED;
	e = event_reserve(vq, VQT_EV_CB);
	if (e) {
		read_driver_state(vq, st->packed, now, e);
		e->nwritable = enable ? 1 : 0;
		e->ring_idx = e->last_used_idx;
		event_submit(e);
	}
}

/* virtqueue_disable_cb is not hooked: it runs many times per request
 * (virtio-net calls it on every transmit) and mostly changes nothing.
 * What the driver asks of the device stays in its shadow of the flags it
 * writes (avail_flags_shadow, or the packed ring's event_flags_shadow),
 * which every hook on the queue looks at before its own record, but the
 * interrupt's (it runs beside the driver's operations, and st->cb is
 * written without atomics): so a change of the request is reported by
 * the next operation on the queue, in order with it, and one whose own
 * hook the kernel skipped is reported late rather than lost.  Linux 5.14
 * and later skip the request for none right after an interrupt on an
 * EVENT_IDX queue (event_triggered): the device is asked nothing, and
 * nothing is reported. */
static __always_inline void cb_sample(struct vring_virtqueue *vq, struct queue_state *st,
				      const struct driver_now *now)
{
	__u8 cb;

	if (st->packed)
		cb = BPF_CORE_READ(vq, packed.event_flags_shadow) == VRING_PACKED_EVENT_FLAG_DISABLE
			 ? CB_DISABLED
			 : CB_ENABLED;
	else
		cb = BPF_CORE_READ(vq, split.avail_flags_shadow) & VRING_AVAIL_F_NO_INTERRUPT
			 ? CB_DISABLED
			 : CB_ENABLED;
	if (st->cb != cb)
		cb_report(vq, st, now, cb == CB_ENABLED);
}

static __always_inline void report_error(struct vring_virtqueue *vq, struct queue_state *st,
					 const struct driver_now *now, __u16 code,
					 __u32 errno_value)
{
	struct vqtr_event *e = event_reserve(vq, VQT_EV_ERROR);

	if (!e)
		return;
	e->ndesc = code;
	e->detail = errno_value;
	read_driver_state(vq, st->packed, now, e);
	event_submit(e);
}

/* The return of virtqueue_add_*: report the buffer just made available
 * (2.7.13, 2.8.21), found from the driver's state after the add, and
 * account for adds and reaps the trace missed.  in_only: the add function
 * was given device-writable buffers only. */
static __always_inline void add_report(struct vring_virtqueue *vq, int in_only, int ret)
{
	struct chain c = {};
	struct vqtr_event *e;
	__u16 head = 0, ring_idx = 0, gap;
	int first;
	struct queue_state *st = queue_hold(vq, &first, 0);
	struct driver_now now;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	cb_sample(vq, st, &now);
	if (ret != 0) {
		/* virtqueue_notify is not hooked: a notification that
		 * failed marks the queue broken, and the next add fails
		 * with EIO (virtqueue_add).  Report the break once, as the
		 * device's error, then the add's own. */
		if (ret == -EIO && !st->broken && BPF_CORE_READ(vq, broken)) {
			st->broken = 1;
			report_error(vq, st, &now, VQT_ERR_DEVICE, 0);
		}
		report_error(vq, st, &now, ret == -ENOSPC ? VQT_ERR_RING_FULL : VQT_ERR_DRIVER,
			     (__u32)-ret);
		goto out;
	}
	if (st->packed) {
		walk_packed(vq, now.avail, &head, &ring_idx, &c);
		/* The id was free (the driver took it from its free list):
		 * if the trace still had it in flight, its reap was missed.
		 * Unless the queue was first seen just now, after this add:
		 * then its seed has the id in flight already. */
		if (inflight_mark((__u64)vq, head, 1) && !first)
			missed_reaps(st, 1);
	} else {
		/* The add took avail index avail_idx_shadow - 1 and wrote its
		 * head there (2.7.13.2), where only the driver writes.  Each
		 * add takes the next index: a gap is adds the trace never
		 * saw. */
		void *avail = BPF_CORE_READ(vq, split.vring.avail);
		__u32 num = BPF_CORE_READ(vq, split.vring.num);

		ring_idx = (__u16)(now.avail - 1);
		gap = (__u16)(ring_idx - st->add_next);
		if (gap != 0 && gap < 0x8000)
			missed_adds(st, gap);
		st->add_next = (__u16)(ring_idx + 1);
		if (num)
			read_kernel(&head, sizeof(head),
				    avail + SPLIT_AVAIL_RING_OFFSET +
					(__u64)(ring_idx & (num - 1)) * 2);
		walk_split(vq, head, num, &c);
	}
	e = event_reserve(vq, VQT_EV_ADD);
	if (!e)
		goto out;
	e->ndesc = c.ndesc ? (__u16)c.ndesc : 1;
	e->head = head;
	e->ring_idx = ring_idx;
	e->len = c.bytes;
	e->nwritable = (__u16)c.nwritable;
	e->detail = in_only != 0;
	read_driver_state(vq, st->packed, &now, e);
	event_submit(e);
out:
	queue_put(st);
}

/* virtqueue_kick_prepare: did the driver decide to notify (2.7.10)? */
static __always_inline void kick_exit(struct vring_virtqueue *vq, int needs_kick)
{
	struct queue_state *st = queue_get(vq);
	struct driver_now now;
	struct vqtr_event *e;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	cb_sample(vq, st, &now);
	e = event_reserve(vq, needs_kick ? VQT_EV_KICK : VQT_EV_KICK_SUPPRESSED);
	if (e) {
		read_driver_state(vq, st->packed, &now, e);
		e->ring_idx = e->avail_idx;
		event_submit(e);
	}
	queue_put(st);
}

/* vring_interrupt: reported when it will find used buffers, as the kernel
 * answers IRQ_HANDLED (shared vectors call it for every queue). */
static __always_inline void irq_entry(struct vring_virtqueue *vq)
{
	struct queue_state *st = queue_get(vq);
	struct driver_now now;
	struct vqtr_event *e;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	if (more_used(vq, st->packed, now.raw_last_used)) {
		e = event_reserve(vq, VQT_EV_IRQ);
		if (e) {
			read_driver_state(vq, st->packed, &now, e);
			event_submit(e);
		}
	}
	queue_put(st);
}

/* Report the buffer the driver reaps at used position raw (2.7.14,
 * 2.8.7), after accounting for reaps or adds the trace missed.  reaped:
 * the driver already took it (an exit hook), so its state needs no
 * adjusting.  expect: the buffer id the driver is freeing, or -1; a
 * buffer the device did not write there is not reported (the driver
 * frees buffers the device never used too, virtqueue_detach_unused_buf). */
static __always_inline void report_used(struct vring_virtqueue *vq, struct queue_state *st,
					const struct driver_now *now, __u16 raw, int reaped,
					int expect)
{
	__u16 id, freed, pos;
	struct vqtr_event *e;
	__u32 written, num;
	int packed = st->packed;

	if (packed) {
		struct ring_desc_packed d = {};
		int wrap;

		packed_last_used(vq, raw, &pos, &wrap);
		num = BPF_CORE_READ(vq, packed.vring.num);
		read_kernel(&d, sizeof(d),
			    BPF_CORE_READ(vq, packed.vring.desc) + (__u64)pos * PACKED_DESC_SIZE);
		if (expect >= 0 &&
		    (d.id != expect || ((d.flags >> VRING_PACKED_DESC_F_AVAIL) & 1) != wrap ||
		     ((d.flags >> VRING_PACKED_DESC_F_USED) & 1) != wrap))
			return;
		id = d.id;
		written = d.len;
		freed = 0;
		read_kernel(&freed, sizeof(freed),
			    BPF_CORE_READ(vq, packed.desc_state) +
				(__u64)id * bpf_core_type_size(struct vring_desc_state_packed) +
				bpf_core_field_offset(struct vring_desc_state_packed, num));
		/* An id the trace never saw added (its bitmap holds the ids
		 * in flight since the queue was first seen): a missed add. */
		if (!inflight_mark((__u64)vq, id, 0) && st->seeded)
			missed_adds(st, 1);
	} else {
		void *used = BPF_CORE_READ(vq, split.vring.used);
		struct ring_used_elem u = {};
		__u16 gap = (__u16)(raw - st->used_idx), idx = raw;

		num = BPF_CORE_READ(vq, split.vring.num);
		pos = raw;
		if (num)
			read_kernel(&u, sizeof(u),
				    used + SPLIT_USED_RING_OFFSET +
					(__u64)(raw & (num - 1)) * SPLIT_USED_ELEM_SIZE);
		if (expect >= 0 &&
		    (u.id != (__u32)expect ||
		     read_kernel(&idx, sizeof(idx), used + SPLIT_USED_IDX_OFFSET) || idx == raw))
			return;
		id = (__u16)u.id;
		written = u.len;
		freed = split_chain_length(vq, id, num);
		/* Reaps consume consecutive used indices: a gap is reaps whose
		 * hooks never ran. */
		if (gap > 1 && gap < 0x8000)
			missed_reaps(st, gap - 1);
	}
	st->used_seen = 1;
	st->used_idx = raw;
	e = event_reserve(vq, VQT_EV_USED);
	if (!e)
		return;
	read_driver_state(vq, packed, now, e);
	e->ndesc = freed;
	e->head = id;
	e->ring_idx = pos;
	e->len = written;
	/* The state the reap leaves behind. */
	if (!reaped)
		e->num_free += freed;
	if (packed) {
		__u32 next = (__u32)pos + freed;

		e->last_used_idx = (__u16)(num && next >= num ? next - num : next);
	} else {
		e->last_used_idx = (__u16)(raw + 1);
	}
	event_submit(e);
}

/* detach_buf_split / detach_buf_packed(vq, id, ctx): the driver frees
 * buffer id.  A reap (virtqueue_get_buf_ctx_split/_packed) calls it once
 * per buffer it takes, before it moves last_used_idx on, so its entry
 * sees the used element still at the driver's next used position: one
 * hook per buffer reaped, none for a virtqueue_get_buf that finds
 * nothing. */
static __always_inline void detach_entry(struct vring_virtqueue *vq, __u64 id)
{
	struct queue_state *st = queue_get(vq);
	struct driver_now now;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	cb_sample(vq, st, &now);
	report_used(vq, st, &now, now.raw_last_used, 0, (__u16)id);
	queue_put(st);
}

/* virtqueue_get_buf*, where detach_buf_* cannot be hooked: the buffer
 * about to be reaped (2.7.14).  Wrappers may nest (virtqueue_get_buf_ctx
 * jumps to virtqueue_get_buf_ctx_split); the last used index reported
 * tells a nested call from a new one.  The entry reports the buffer it
 * is about to take if the device has already published it, and
 * remembers where the driver stood. */
static __always_inline void used_entry(struct vring_virtqueue *vq)
{
	struct queue_state *st = queue_get(vq);
	struct driver_now now;
	__u16 raw;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	cb_sample(vq, st, &now);
	raw = now.raw_last_used;
	st->reap_idx = raw;
	st->reap_pending = 1;
	if (!(st->used_seen && st->used_idx == raw) && !BPF_CORE_READ(vq, broken) &&
	    more_used(vq, st->packed, raw))
		report_used(vq, st, &now, raw, 0, -1);
	queue_put(st);
}

/* Its exit: the device may publish between the entry hook's look and the
 * function's own, so a buffer returned (ret != 0) that the entry did not
 * report is reported here, before the driver can re-add its head.  With
 * wrappers and the functions they call all hooked, the innermost exit
 * reports and the others find nothing pending. */
static __always_inline void used_done(struct vring_virtqueue *vq, __u64 ret)
{
	struct queue_state *st = queue_get(vq);
	struct driver_now now;

	if (!st)
		return;
	if (st->reap_pending) {
		st->reap_pending = 0;
		if (ret && !(st->used_seen && st->used_idx == st->reap_idx)) {
			driver_now_read(vq, st->packed, &now);
			report_used(vq, st, &now, st->reap_idx, 1, -1);
		}
	}
	queue_put(st);
}

/* virtqueue_enable_cb_prepare / _enable_cb_delayed (entry): the driver
 * asks for notifications again, reported now rather than at the next
 * operation.  A request for none that no hook has reported yet
 * (cb_sample, which sees the flags before the function clears them)
 * comes first, so each change is reported.  On a queue no other hook
 * has seen yet, the request is left to the first that does (cb_sample). */
static __always_inline void cb_enable_entry(struct vring_virtqueue *vq)
{
	int first;
	struct queue_state *st = queue_hold(vq, &first, 1);
	struct driver_now now;

	if (!st)
		return;
	driver_now_read(vq, st->packed, &now);
	cb_sample(vq, st, &now);
	if (st->cb != CB_ENABLED)
		cb_report(vq, st, &now, 1);
	queue_put(st);
}

/* ---- kprobe call stack ------------------------------------------------------------------ */

static __always_inline __u64 task_key(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	/* Every CPU's idle task is pid 0: tell them apart by CPU. */
	if ((__u32)id == 0)
		return 0xffffffff00000000ull | bpf_get_smp_processor_id();
	return id;
}

/* Push a call of fn on vq; arg (0 or 1) comes back with it. */
static __always_inline void call_push(struct vring_virtqueue *vq, __u32 fn, __u32 arg)
{
	__u64 key = task_key();
	struct task_calls *c = bpf_map_lookup_elem(&calls, &key);
	__u32 depth;

	if (!c) {
		struct task_calls zero = {};

		bpf_map_update_elem(&calls, &key, &zero, BPF_ANY);
		c = bpf_map_lookup_elem(&calls, &key);
		if (!c)
			return;
	}
	depth = c->depth;
	if (depth < TASK_CALL_DEPTH) {
		c->vq[depth] = (__u64)vq;
		c->fn[depth] = fn | (arg ? CALL_ARG : 0);
		c->depth = depth + 1;
	} else {
		count(VQTR_CNT_NESTING_LOST);
	}
}

/* The innermost pending call of fn, and its arg; calls above it whose
 * returns the kernel did not report are dropped. */
static __always_inline struct vring_virtqueue *call_pop(__u32 fn, __u32 *arg)
{
	__u64 key = task_key();
	struct task_calls *c = bpf_map_lookup_elem(&calls, &key);
	__u32 depth;

	if (!c)
		return 0;
	depth = c->depth;
	for (int i = TASK_CALL_DEPTH - 1; i >= 0; i--) {
		if ((__u32)i >= depth || (c->fn[i] & ~CALL_ARG) != fn)
			continue;
		if ((__u32)i + 1 < depth)
			count_n(VQTR_CNT_NESTING_LOST, depth - (__u32)i - 1);
		c->depth = (__u32)i;
		*arg = (c->fn[i] & CALL_ARG) != 0;
		return (struct vring_virtqueue *)c->vq[i];
	}
	return 0;
}

/* ---- the hooks ---------------------------------------------------------------------------- */

/* Handlers with the signatures the hook macros expect. */
static __always_inline void add_done(struct vring_virtqueue *vq, __u64 ret, __u32 in_only)
{
	add_report(vq, (int)in_only, (int)ret);
}

static __always_inline void kick_done(struct vring_virtqueue *vq, __u64 ret, __u32 arg)
{
	(void)arg;
	kick_exit(vq, (__u8)ret != 0); /* bool: only the low byte is defined */
}

static __always_inline void reap_done(struct vring_virtqueue *vq, __u64 ret, __u32 arg)
{
	(void)arg;
	used_done(vq, ret);
}

static __always_inline void cb_enable(struct vring_virtqueue *vq, __u64 arg)
{
	(void)arg;
	cb_enable_entry(vq);
}

static __always_inline void irq_hook(struct vring_virtqueue *vq, __u64 arg)
{
	(void)arg;
	irq_entry(vq);
}

static __always_inline void reap_begin(struct vring_virtqueue *vq, __u64 arg)
{
	(void)arg;
	used_entry(vq);
}

static __always_inline void skip_entry(struct vring_virtqueue *vq, __u64 arg)
{
	(void)vq;
	(void)arg;
}

#define VQ_ARG(value) ((struct vring_virtqueue *)(value))
/* Each kprobe program counts its runs (hooks.c compares them with the
 * kernel's hits). */
#define COUNT_RUN(name, ret)                                                                       \
	__sync_fetch_and_add(&hook_runs[VQTR_RUNS_INDEX(VQTR_FN_##name, ret)], 1)

/* fn's entry calls handler(vq_of(its first two arguments), arg_of(the
 * same)): fentry program fe_<name>, kprobe kp_<name>.  Only the
 * arguments the accessors name are read (a trampoline refuses a read
 * past the function's own). */
#define HOOK_ENTRY(fn, name, vq_of, arg_of, handler)                                               \
	SEC("fentry/" #fn)                                                                         \
	int fe_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		handler(VQ_ARG(vq_of(ctx[0], ctx[1])), arg_of(ctx[0], ctx[1]));                    \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kprobe/" #fn)                                                                         \
	int kp_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		COUNT_RUN(name, 0);                                                                \
		handler(VQ_ARG(vq_of(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx))),                     \
			arg_of(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx)));                           \
		return 0;                                                                          \
	}
#define FIRST(a, b)   (a)
#define SECOND(a, b)  (b)
#define NEITHER(a, b) 0

/* fn's return calls done(vq, return value, arg_of(its third argument)),
 * after entry(vq, its third argument) at its entry.  fn takes nargs
 * arguments, so fexit finds the return value after them.  Programs:
 * fentry fe_<name> (only with HOOK_ENTRY_EXIT), fexit fx_<name>, kprobe
 * kp_<name> and kretprobe kr_<name>, the last two joined by the per-task
 * call stack, which carries arg_of's 0 or 1. */
#define HOOK_EXIT(fn, name, nargs, arg_of, entry, done)                                            \
	SEC("fexit/" #fn)                                                                          \
	int fx_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		done(VQ_ARG(ctx[0]), ctx[nargs], arg_of(ctx[2]));                                  \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kprobe/" #fn)                                                                         \
	int kp_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		struct vring_virtqueue *vq = VQ_ARG(PT_REGS_PARM1(ctx));                           \
                                                                                                   \
		COUNT_RUN(name, 0);                                                                \
		call_push(vq, VQTR_FN_##name, arg_of(PT_REGS_PARM3(ctx)));                         \
		entry(vq, PT_REGS_PARM3(ctx));                                                     \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kretprobe/" #fn)                                                                      \
	int kr_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		struct vring_virtqueue *vq;                                                        \
		__u32 arg = 0;                                                                     \
                                                                                                   \
		COUNT_RUN(name, 1);                                                                \
		vq = call_pop(VQTR_FN_##name, &arg);                                               \
		if (vq)                                                                            \
			done(vq, PT_REGS_RC(ctx), arg);                                            \
		else if (VQTR_FN_##name == VQTR_FN_kick_prepare && tracing_on)                     \
			count(VQTR_CNT_KICKS_MISSED);                                              \
		return 0;                                                                          \
	}

/* fn's entry calls entry(vq, its third argument) and its return done(vq,
 * return value, 0), in every method: HOOK_EXIT plus the fentry program it
 * leaves out. */
#define HOOK_ENTRY_EXIT(fn, name, nargs, entry, done)                                              \
	SEC("fentry/" #fn)                                                                         \
	int fe_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		entry(VQ_ARG(ctx[0]), ctx[2]);                                                     \
		return 0;                                                                          \
	}                                                                                          \
	HOOK_EXIT(fn, name, nargs, NONE_IN, entry, done)

/* Whether an add function was given device-writable buffers only, from
 * its third argument: virtqueue_add_sgs(vq, sgs, out_sgs, in_sgs, ...)
 * when out_sgs is 0, add_inbuf* always, add_outbuf never. */
#define SGS_IN_ONLY(out_sgs) ((out_sgs) == 0)
#define ALL_IN(arg)	     1
#define NONE_IN(arg)	     0

/* An add, reported at its return alone (the kprobe only pushes the call). */
#define HOOK_ADD(fn, name, nargs, in_only) HOOK_EXIT(fn, name, nargs, in_only, skip_entry, add_done)

/* A reap where detach_buf_* cannot be hooked: see used_entry and used_done. */
#define HOOK_REAP(fn, name, nargs) HOOK_ENTRY_EXIT(fn, name, nargs, reap_begin, reap_done)

HOOK_ADD(virtqueue_add_sgs, add_sgs, 6, SGS_IN_ONLY)
HOOK_ADD(virtqueue_add_outbuf, add_outbuf, 5, NONE_IN)
HOOK_ADD(virtqueue_add_inbuf, add_inbuf, 5, ALL_IN)
HOOK_ADD(virtqueue_add_inbuf_ctx, add_inbuf_ctx, 6, ALL_IN)
HOOK_EXIT(virtqueue_kick_prepare, kick_prepare, 1, NONE_IN, skip_entry, kick_done)
/* The virtqueue is argument 0 of every hooked function but vring_interrupt
 * (int irq, void *vq); detach_buf_*(vq, id, ctx) gives the buffer id. */
HOOK_ENTRY(vring_interrupt, interrupt, SECOND, NEITHER, irq_hook)
HOOK_ENTRY(detach_buf_split, detach_split, FIRST, SECOND, detach_entry)
HOOK_ENTRY(detach_buf_packed, detach_packed, FIRST, SECOND, detach_entry)
HOOK_REAP(virtqueue_get_buf_ctx_split, get_buf_split, 3)
HOOK_REAP(virtqueue_get_buf_ctx_packed, get_buf_packed, 3)
HOOK_REAP(virtqueue_get_buf_ctx, get_buf_ctx, 3)
HOOK_REAP(virtqueue_get_buf, get_buf, 2)
HOOK_ENTRY(virtqueue_enable_cb_prepare, enable_cb_prepare, FIRST, NEITHER, cb_enable)
HOOK_ENTRY(virtqueue_enable_cb, enable_cb, FIRST, NEITHER, cb_enable)
HOOK_ENTRY(virtqueue_enable_cb_delayed, enable_cb_delayed, FIRST, NEITHER, cb_enable)

/* ---- raw tracepoint -------------------------------------------------------------------------- */

/* irq_handler_entry(int irq, struct irqaction *action): a per-queue MSI-X
 * vector's handler is vring_interrupt with the virtqueue as dev_id. */
SEC("raw_tp/irq_handler_entry")
int tp_irq_handler_entry(__u64 *ctx)
{
	struct irqaction *action = (struct irqaction *)ctx[1];

	if (vring_interrupt_addr == 0 ||
	    (__u64)BPF_CORE_READ(action, handler) != vring_interrupt_addr)
		return 0;
	irq_entry(BPF_CORE_READ(action, dev_id));
	return 0;
}

/* ---- the end of the trace ----------------------------------------------------------------------
 */

/* The context of an iterator over a map's elements (bpf_iter.h). */
struct bpf_iter__bpf_map_elem {
	void *meta;
	void *map;
	void *key;
	void *value;
};

/* What end_scan_word() needs of one packed queue. */
struct end_scan {
	__u64 key;
	void *states; /* desc_state array */
	__u32 stride;
	__u32 data_offset;
	__u32 num;
	__u32 seeded;
	__u32 reaps;
	__u32 adds;
};

/* Bits w*64 .. w*64+63 of a packed queue's in-flight bitmap against the
 * driver's desc_state: the trace has the id in flight and the driver has
 * it free (a missed reap), or the other way round (a missed add). */
static long end_scan_word(__u32 w, void *data)
{
	struct end_scan *c = data;
	struct inflight_bits *bits = bpf_map_lookup_elem(&inflight, &c->key);
	__u32 word = w & (BITMAP_WORDS - 1);

	if (!bits || w >= BITMAP_WORDS)
		return 1;
	for (__u32 b = 0; b < 64; b++) {
		__u32 id = w * 64 + b;
		__u64 bit = 1ull << b;
		void *token = 0;

		if (id >= c->num)
			return 1;
		bpf_probe_read_kernel(&token, sizeof(token),
				      c->states + (__u64)id * c->stride + c->data_offset);
		if ((bits->word[word] & bit) && !token) {
			bits->word[word] &= ~bit;
			c->reaps++;
		} else if (!(bits->word[word] & bit) && token && c->seeded) {
			c->adds++;
		}
	}
	return 0;
}

/* The trace of one queue ends: the adds and reaps the driver did that no
 * later operation revealed as missed. */
static __always_inline void end_account(__u64 key, struct queue_state *st)
{
	struct vring_virtqueue *vq = (struct vring_virtqueue *)key;

	if (st->packed) {
		struct end_scan c = {
		    .key = key,
		    .states = BPF_CORE_READ(vq, packed.desc_state),
		    .stride = bpf_core_type_size(struct vring_desc_state_packed),
		    .data_offset = bpf_core_field_offset(struct vring_desc_state_packed, data),
		    .num = st->ring_size,
		    .seeded = st->seeded,
		};

		bpf_loop((st->ring_size + 63) / 64, end_scan_word, &c, 0);
		if (c.reaps)
			missed_reaps(st, c.reaps);
		if (c.adds)
			missed_adds(st, c.adds);
	} else {
		__u16 reaps = (__u16)(BPF_CORE_READ(vq, last_used_idx) - 1 - st->used_idx);
		__u16 adds = (__u16)(BPF_CORE_READ(vq, split.avail_idx_shadow) - st->add_next);

		if (reaps != 0 && reaps < 0x8000)
			missed_reaps(st, reaps);
		if (adds != 0 && adds < 0x8000)
			missed_adds(st, adds);
	}
}

/* Run by user space over map "queues" when the trace ends (hooks.c,
 * hooks_end): closes each traced queue to the hooks and accounts for it.
 * A queue with a hook still running is left for the next run (counted in
 * end_pending). */
SEC("iter/bpf_map_elem")
int it_end_queues(struct bpf_iter__bpf_map_elem *ctx)
{
	struct queue_state *st;
	__u64 key;

	if (!ctx->key)
		return 0;
	key = *(__u64 *)ctx->key;
	st = bpf_map_lookup_elem(&queues, &key);
	if (!st || st->mode != VQTR_QUEUE_TRACED || st->closed == VQTR_QUEUE_CLOSED)
		return 0;
	/* An exchange, then the load of active: pairs with the locked add
	 * and the load of closed in queue_get(). */
	__sync_lock_test_and_set(&st->closed, VQTR_QUEUE_CLOSING);
	if (st->active) {
		end_pending++;
		return 0;
	}
	end_account(key, st);
	st->closed = VQTR_QUEUE_CLOSED;
	return 0;
}
