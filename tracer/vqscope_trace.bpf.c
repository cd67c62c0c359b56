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

#define ENOSPC		28
#define TASK_CALL_DEPTH 4

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by user space */
} events SEC(".maps");

/* What the BPF side remembers of one virtqueue. */
enum queue_mode { QUEUE_TRACED = 1, QUEUE_IGNORED = 2 };
enum cb_state { CB_UNKNOWN = 0, CB_ENABLED = 1, CB_DISABLED = 2 };
struct queue_state {
	__u8 mode;	    /* enum queue_mode */
	__u8 cb;	    /* enum cb_state: last request reported */
	__u8 add_pending;   /* an add's entry hook ran; its exit hook reports */
	__u8 used_seen;	    /* used_idx is valid */
	__u16 add_head;	    /* free_head when the add began: its head id */
	__u16 add_ring_idx; /* avail index (split) / ring position (packed) */
	__u16 used_idx;	    /* last_used_idx of the last USED reported */
	__u16 reap_idx;	    /* last_used_idx when a reap function was entered */
	__u8 reap_pending;  /* ... and its exit has not run yet */
	__u8 reserved[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VQTR_MAX_QUEUES);
	__type(key, __u64); /* struct virtqueue address */
	__type(value, struct queue_state);
} queues SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VQTR_CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* kretprobes do not see arguments: the kprobe pushes the virtqueue of
 * each call on a small per-task stack and the kretprobe pops it.  Calls
 * nest only through interrupts, which return first. */
struct task_calls {
	__u64 vq[TASK_CALL_DEPTH];
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
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n;
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

static __always_inline __u64 wakeup_flags(void)
{
	/* Batched wake-ups: the reader polls with a timeout, so a record
	 * only needs to wake it once enough are waiting. */
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									     : BPF_RB_NO_WAKEUP;
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

/* The driver's indices right now, into an event record. */
static __always_inline void read_driver_state(struct vring_virtqueue *vq, int packed,
					      struct vqtr_event *e)
{
	__u16 raw = BPF_CORE_READ(vq, last_used_idx);

	e->num_free = (__u16)BPF_CORE_READ(vq, vq.num_free);
	if (packed) {
		int wrap;

		e->avail_idx = BPF_CORE_READ(vq, packed.next_avail_idx);
		packed_last_used(vq, raw, &e->last_used_idx, &wrap);
	} else {
		e->avail_idx = BPF_CORE_READ(vq, split.avail_idx_shadow);
		e->last_used_idx = raw;
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

/* A virtqueue seen for the first time: decide whether it is traced,
 * describe it to user space, remember it.  The description is submitted
 * before the queue enters the map, so it precedes, in the ring buffer,
 * every event of that queue from any CPU (two CPUs racing here both send
 * one; user space keeps the first). */
static __noinline struct queue_state *first_sight(struct vring_virtqueue *vq, __u64 key)
{
	struct queue_state init = {};
	struct virtio_device *vdev = BPF_CORE_READ(vq, vq.vdev);
	__u32 device_id = BPF_CORE_READ(vdev, id.device);
	int device_index = BPF_CORE_READ(vdev, index);
	char name[VQTR_QUEUE_NAME_LEN] = {};
	struct queue_state *st;
	struct vqtr_queue *q;
	int packed;
	long err;

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(vq, vq.name));
	init.mode = queue_wanted(device_id, device_index, name) ? QUEUE_TRACED : QUEUE_IGNORED;
	if (init.mode == QUEUE_TRACED) {
		q = bpf_ringbuf_reserve(&events, sizeof(*q), 0);
		if (!q) {
			count(VQTR_CNT_DROPPED);
			return 0; /* not remembered: the next event tries again */
		}
		packed = is_packed(vq);
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
		__builtin_memcpy(q->name, name, sizeof(name));
		bpf_probe_read_kernel_str(q->device_name, sizeof(q->device_name),
					  BPF_CORE_READ(vdev, dev.kobj.name));
		bpf_ringbuf_submit(q, wakeup_flags());
	}
	err = bpf_map_update_elem(&queues, &key, &init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&queues, &key);
	if (!st) {
		if (err)
			count(VQTR_CNT_QUEUES_FULL);
		return 0;
	}
	return st->mode == QUEUE_TRACED ? st : 0;
}

static __always_inline struct queue_state *queue_get(struct vring_virtqueue *vq)
{
	__u64 key = (__u64)vq;
	struct queue_state *st;

	if (!tracing_on)
		return 0;
	st = bpf_map_lookup_elem(&queues, &key);
	if (!st)
		return first_sight(vq, key);
	return st->mode == QUEUE_TRACED ? st : 0;
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
static __always_inline void walk_split(struct vring_virtqueue *vq, __u16 head, struct chain *c)
{
	void *table = BPF_CORE_READ(vq, split.vring.desc);
	__u32 num = BPF_CORE_READ(vq, split.vring.num);
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
static __always_inline __u16 split_chain_length(struct vring_virtqueue *vq, __u16 head)
{
	void *table = BPF_CORE_READ(vq, split.vring.desc);
	__u32 num = BPF_CORE_READ(vq, split.vring.num);
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
 * add, while they are still marked available (2.8.1); if the device has
 * already overwritten the first one, report only the count. */
static __always_inline void walk_packed(struct vring_virtqueue *vq, __u16 id, __u16 pos,
					struct chain *c)
{
	void *ring = BPF_CORE_READ(vq, packed.vring.desc);
	__u32 num = BPF_CORE_READ(vq, packed.vring.num);
	void *states = BPF_CORE_READ(vq, packed.desc_state);
	__u32 stride = bpf_core_type_size(struct vring_desc_state_packed);
	__u16 taken = 0;
	struct ring_desc_packed d;

	read_kernel(&taken, sizeof(taken),
		    states + (__u64)id * stride +
			bpf_core_field_offset(struct vring_desc_state_packed, num));
	c->ndesc = taken;
	if (num == 0 || read_kernel(&d, sizeof(d), ring + (__u64)(pos % num) * PACKED_DESC_SIZE))
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
		if (k > 0 &&
		    read_kernel(&d, sizeof(d), ring + (__u64)((pos + k) % num) * PACKED_DESC_SIZE))
			break;
		c->bytes += d.len;
		if (d.flags & VRING_DESC_F_WRITE)
			c->nwritable++;
	}
}

/* ---- the operations ------------------------------------------------------------------ */

/* virtqueue_add_*: remember where the buffer will go (2.7.13). */
static __always_inline void add_entry(struct vring_virtqueue *vq)
{
	struct queue_state *st = queue_get(vq);

	if (!st)
		return;
	st->add_head = (__u16)BPF_CORE_READ(vq, free_head);
	if (is_packed(vq))
		st->add_ring_idx = BPF_CORE_READ(vq, packed.next_avail_idx);
	else
		st->add_ring_idx = BPF_CORE_READ(vq, split.avail_idx_shadow);
	st->add_pending = 1;
}

static __always_inline void add_exit(struct vring_virtqueue *vq, int ret)
{
	__u64 key = (__u64)vq;
	struct queue_state *st = bpf_map_lookup_elem(&queues, &key);
	struct chain c = {};
	struct vqtr_event *e;
	int packed;

	if (!tracing_on || !st || st->mode != QUEUE_TRACED || !st->add_pending)
		return;
	st->add_pending = 0;
	if (ret != 0) {
		e = event_reserve(vq, VQT_EV_ERROR);
		if (!e)
			return;
		e->ndesc = ret == -ENOSPC ? VQT_ERR_RING_FULL : VQT_ERR_DRIVER;
		e->detail = (__u32)-ret;
		read_driver_state(vq, is_packed(vq), e);
		event_submit(e);
		return;
	}
	packed = is_packed(vq);
	if (packed)
		walk_packed(vq, st->add_head, st->add_ring_idx, &c);
	else
		walk_split(vq, st->add_head, &c);
	e = event_reserve(vq, VQT_EV_ADD);
	if (!e)
		return;
	e->ndesc = c.ndesc ? (__u16)c.ndesc : 1;
	e->head = st->add_head;
	e->ring_idx = st->add_ring_idx;
	e->len = c.bytes;
	e->nwritable = (__u16)c.nwritable;
	read_driver_state(vq, packed, e);
	event_submit(e);
}

/* virtqueue_kick_prepare: did the driver decide to notify (2.7.10)? */
static __always_inline void kick_exit(struct vring_virtqueue *vq, int needs_kick)
{
	struct queue_state *st = queue_get(vq);
	struct vqtr_event *e;

	if (!st)
		return;
	e = event_reserve(vq, needs_kick ? VQT_EV_KICK : VQT_EV_KICK_SUPPRESSED);
	if (!e)
		return;
	read_driver_state(vq, is_packed(vq), e);
	e->ring_idx = e->avail_idx;
	event_submit(e);
}

/* virtqueue_notify: only a failure is news (the kick was reported when it
 * was decided). */
static __always_inline void notify_exit(struct vring_virtqueue *vq, int ok)
{
	struct queue_state *st;
	struct vqtr_event *e;

	if (ok)
		return;
	st = queue_get(vq);
	if (!st)
		return;
	e = event_reserve(vq, VQT_EV_ERROR);
	if (!e)
		return;
	e->ndesc = VQT_ERR_DEVICE;
	read_driver_state(vq, is_packed(vq), e);
	event_submit(e);
}

/* vring_interrupt: reported when it will find used buffers, as the kernel
 * answers IRQ_HANDLED (shared vectors call it for every queue). */
static __always_inline void irq_entry(struct vring_virtqueue *vq)
{
	struct queue_state *st = queue_get(vq);
	struct vqtr_event *e;
	int packed;

	if (!st)
		return;
	packed = is_packed(vq);
	if (!more_used(vq, packed, BPF_CORE_READ(vq, last_used_idx)))
		return;
	e = event_reserve(vq, VQT_EV_IRQ);
	if (!e)
		return;
	read_driver_state(vq, packed, e);
	event_submit(e);
}

/* virtqueue_get_buf*: the buffer about to be reaped (2.7.14).  Wrappers
 * may nest (virtqueue_get_buf_ctx jumps to virtqueue_get_buf_ctx_split);
 * the last used index reported tells a nested call from a new one. */
/* Report the buffer the driver reaps at used position raw.  reaped: the
 * driver already took it (an exit hook), so its state needs no
 * adjusting. */
static __always_inline void report_used(struct vring_virtqueue *vq, struct queue_state *st,
					__u16 raw, int packed, int reaped)
{
	__u16 id, freed, pos;
	struct vqtr_event *e;
	__u32 written, num;

	if (packed) {
		struct ring_desc_packed d = {};
		int wrap;

		packed_last_used(vq, raw, &pos, &wrap);
		num = BPF_CORE_READ(vq, packed.vring.num);
		read_kernel(&d, sizeof(d),
			    BPF_CORE_READ(vq, packed.vring.desc) + (__u64)pos * PACKED_DESC_SIZE);
		id = d.id;
		written = d.len;
		freed = 0;
		read_kernel(&freed, sizeof(freed),
			    BPF_CORE_READ(vq, packed.desc_state) +
				(__u64)id * bpf_core_type_size(struct vring_desc_state_packed) +
				bpf_core_field_offset(struct vring_desc_state_packed, num));
	} else {
		struct ring_used_elem u = {};

		num = BPF_CORE_READ(vq, split.vring.num);
		pos = raw;
		if (num)
			read_kernel(&u, sizeof(u),
				    BPF_CORE_READ(vq, split.vring.used) + SPLIT_USED_RING_OFFSET +
					(__u64)(raw & (num - 1)) * SPLIT_USED_ELEM_SIZE);
		id = (__u16)u.id;
		written = u.len;
		freed = split_chain_length(vq, id);
	}
	/* A split ring's reaps consume consecutive used indices: a gap is
	 * reaps whose hooks never ran (VQTR_CNT_REAPS_MISSED). */
	if (!packed && st->used_seen) {
		__u16 gap = (__u16)(raw - st->used_idx);

		if (gap > 1 && gap < 0x8000)
			count_n(VQTR_CNT_REAPS_MISSED, gap - 1);
	}
	st->used_seen = 1;
	st->used_idx = raw;
	e = event_reserve(vq, VQT_EV_USED);
	if (!e)
		return;
	read_driver_state(vq, packed, e);
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

/* A reap function's entry: report the buffer it is about to take if the
 * device has already published it, and remember where the driver stood. */
static __always_inline void used_entry(struct vring_virtqueue *vq)
{
	struct queue_state *st = queue_get(vq);
	__u16 raw;
	int packed;

	if (!st)
		return;
	raw = BPF_CORE_READ(vq, last_used_idx);
	st->reap_idx = raw;
	st->reap_pending = 1;
	if (st->used_seen && st->used_idx == raw)
		return;
	packed = is_packed(vq);
	if (BPF_CORE_READ(vq, broken) || !more_used(vq, packed, raw))
		return;
	report_used(vq, st, raw, packed, 0);
}

/* Its exit: the device may publish between the entry hook's look and the
 * function's own, so a buffer returned (ret != 0) that the entry did not
 * report is reported here, before the driver can re-add its head.  With
 * wrappers and the functions they call all hooked, the innermost exit
 * reports and the others find nothing pending. */
static __always_inline void used_done(struct vring_virtqueue *vq, __u64 ret)
{
	struct queue_state *st = queue_get(vq);

	if (!st || !st->reap_pending)
		return;
	st->reap_pending = 0;
	if (!ret || (st->used_seen && st->used_idx == st->reap_idx))
		return;
	report_used(vq, st, st->reap_idx, is_packed(vq), 1);
}

/* virtqueue_disable_cb / virtqueue_enable_cb*: report changes of the
 * driver's request only (enable_cb calls enable_cb_prepare). */
static __always_inline void cb_entry(struct vring_virtqueue *vq, int enable)
{
	struct queue_state *st = queue_get(vq);
	__u8 want = enable ? CB_ENABLED : CB_DISABLED;
	struct vqtr_event *e;

	if (!st || st->cb == want)
		return;
	st->cb = want;
	e = event_reserve(vq, VQT_EV_CB);
	if (!e)
		return;
	read_driver_state(vq, is_packed(vq), e);
	e->nwritable = enable ? 1 : 0;
	e->ring_idx = e->last_used_idx;
	event_submit(e);
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

static __always_inline void call_push(struct vring_virtqueue *vq)
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
	if (depth < TASK_CALL_DEPTH)
		c->vq[depth] = (__u64)vq;
	else
		count(VQTR_CNT_NESTING_LOST);
	c->depth = depth + 1;
}

static __always_inline struct vring_virtqueue *call_pop(void)
{
	__u64 key = task_key();
	struct task_calls *c = bpf_map_lookup_elem(&calls, &key);
	__u32 depth;

	if (!c || c->depth == 0)
		return 0;
	depth = c->depth - 1;
	c->depth = depth;
	if (depth >= TASK_CALL_DEPTH)
		return 0;
	return (struct vring_virtqueue *)c->vq[depth];
}

/* ---- the hooks ---------------------------------------------------------------------------- */

/* Handlers with the signatures the hook macros expect. */
static __always_inline void add_done(struct vring_virtqueue *vq, __u64 ret)
{
	add_exit(vq, (int)ret);
}

static __always_inline void kick_done(struct vring_virtqueue *vq, __u64 ret)
{
	kick_exit(vq, (__u8)ret != 0); /* bool: only the low byte is defined */
}

static __always_inline void notify_done(struct vring_virtqueue *vq, __u64 ret)
{
	notify_exit(vq, (__u8)ret != 0);
}

static __always_inline void cb_disable(struct vring_virtqueue *vq)
{
	cb_entry(vq, 0);
}

static __always_inline void cb_enable(struct vring_virtqueue *vq)
{
	cb_entry(vq, 1);
}

#define VQ_ARG(value) ((struct vring_virtqueue *)(value))
/* The virtqueue is argument 0 of every hooked function but vring_interrupt
 * (int irq, void *vq). */
#define KPROBE_ARG(ctx, index) ((index) == 0 ? PT_REGS_PARM1(ctx) : PT_REGS_PARM2(ctx))

/* fn's entry calls handler(vq): fentry program fe_<name>, kprobe kp_<name>. */
#define HOOK_ENTRY(fn, name, index, handler)                                                       \
	SEC("fentry/" #fn)                                                                         \
	int fe_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		handler(VQ_ARG(ctx[index]));                                                       \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kprobe/" #fn)                                                                         \
	int kp_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		handler(VQ_ARG(KPROBE_ARG(ctx, index)));                                           \
		return 0;                                                                          \
	}

/* fn's return calls done(vq, return value), after entry(vq) at its entry.
 * fn takes nargs arguments, so fexit finds the return value after them.
 * Programs: fentry fe_<name> (only when entry is not skip_entry), fexit
 * fx_<name>, kprobe kp_<name> and kretprobe kr_<name>, the last two
 * joined by the per-task call stack. */
#define HOOK_EXIT(fn, name, nargs, entry, done)                                                    \
	SEC("fexit/" #fn)                                                                          \
	int fx_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		done(VQ_ARG(ctx[0]), ctx[nargs]);                                                  \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kprobe/" #fn)                                                                         \
	int kp_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		struct vring_virtqueue *vq = VQ_ARG(PT_REGS_PARM1(ctx));                           \
                                                                                                   \
		call_push(vq);                                                                     \
		entry(vq);                                                                         \
		return 0;                                                                          \
	}                                                                                          \
	SEC("kretprobe/" #fn)                                                                      \
	int kr_##name(struct pt_regs *ctx)                                                         \
	{                                                                                          \
		struct vring_virtqueue *vq = call_pop();                                           \
                                                                                                   \
		if (vq)                                                                            \
			done(vq, PT_REGS_RC(ctx));                                                 \
		return 0;                                                                          \
	}

static __always_inline void skip_entry(struct vring_virtqueue *vq)
{
	(void)vq;
}

/* fn's entry calls entry(vq) and its return done(vq, return value), in
 * every method: HOOK_EXIT plus the fentry program it leaves out. */
#define HOOK_ENTRY_EXIT(fn, name, nargs, entry, done)                                              \
	SEC("fentry/" #fn)                                                                         \
	int fe_##name(__u64 *ctx)                                                                  \
	{                                                                                          \
		entry(VQ_ARG(ctx[0]));                                                             \
		return 0;                                                                          \
	}                                                                                          \
	HOOK_EXIT(fn, name, nargs, entry, done)

/* An add: entry remembers where the buffer goes, exit reports it. */
#define HOOK_ADD(fn, name, nargs) HOOK_ENTRY_EXIT(fn, name, nargs, add_entry, add_done)
/* A reap: see used_entry and used_done. */
#define HOOK_REAP(fn, name, nargs) HOOK_ENTRY_EXIT(fn, name, nargs, used_entry, used_done)

HOOK_ADD(virtqueue_add_sgs, add_sgs, 6)
HOOK_ADD(virtqueue_add_outbuf, add_outbuf, 5)
HOOK_ADD(virtqueue_add_inbuf, add_inbuf, 5)
HOOK_ADD(virtqueue_add_inbuf_ctx, add_inbuf_ctx, 6)
HOOK_EXIT(virtqueue_kick_prepare, kick_prepare, 1, skip_entry, kick_done)
HOOK_EXIT(virtqueue_notify, notify, 1, skip_entry, notify_done)
HOOK_ENTRY(vring_interrupt, interrupt, 1, irq_entry)
HOOK_REAP(virtqueue_get_buf_ctx_split, get_buf_split, 3)
HOOK_REAP(virtqueue_get_buf_ctx_packed, get_buf_packed, 3)
HOOK_REAP(virtqueue_get_buf_ctx, get_buf_ctx, 3)
HOOK_REAP(virtqueue_get_buf, get_buf, 2)
HOOK_ENTRY(virtqueue_disable_cb, disable_cb, 0, cb_disable)
HOOK_ENTRY(virtqueue_enable_cb_prepare, enable_cb_prepare, 0, cb_enable)
HOOK_ENTRY(virtqueue_enable_cb, enable_cb, 0, cb_enable)
HOOK_ENTRY(virtqueue_enable_cb_delayed, enable_cb_delayed, 0, cb_enable)

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
