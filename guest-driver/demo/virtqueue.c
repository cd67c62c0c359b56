/* virtqueue.c - split virtqueues (virtio 1.2 2.7) for the demo guest:
 * supplying buffers (2.7.13), notifying the device (2.7.10), waiting for
 * used buffers with one of the four barrier policies of the case study,
 * and receiving them (2.7.14).  Every step is reported to the trace
 * region through the vqscope guest library.
 *
 * Ring indices follow Linux virtio_ring.c: free-running u16, masked only
 * to index an array, distances by u16 subtraction.
 */
#include "virtqueue.h"
#include "io.h"

#define TIMEOUT_CHECK_SPINS 64u /* read the TSC once per this many spins */

static u64 align_up(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

void virtq_setup(struct virtq *vq, struct virtio_pci *vp, u16 index, u16 max_size, const char *name,
		 u16 msix_vector)
{
	u16 device_max = virtio_pci_queue_max(vp, index);
	u16 size = 1;
	u64 desc_bytes, avail_bytes, used_bytes;
	u8 *rings;
	int slot;

	if (device_max == 0)
		fail(EXIT_DEVICE_ERROR, "%s: queue %u is not available (size 0)", vp->name, index);
	/* 2.7: a split queue's size is a power of two; take the largest
	 * one within both the device's maximum and ours. */
	while ((u32)size * 2 <= device_max && (u32)size * 2 <= max_size)
		size = (u16)(size * 2);

	*vq = (struct virtq){.vp = vp, .name = name, .index = index, .size = size};
	vq->irq = msix_vector != VIRTIO_MSI_NO_VECTOR;

	/* 2.7: descriptor table 16-byte aligned, driver area 2, device
	 * area 4; one allocation, each part on its own page. */
	desc_bytes = align_up(16u * size, 4096);
	avail_bytes = align_up(6u + 2u * size, 4096);
	used_bytes = align_up(6u + 8u * size, 4096);
	rings = memory_alloc(desc_bytes + avail_bytes + used_bytes, name);
	vq->desc = (volatile struct virtq_desc *)rings;
	vq->avail = (volatile struct virtq_avail *)(rings + desc_bytes);
	vq->used = (volatile struct virtq_used *)(rings + desc_bytes + avail_bytes);
	vq->next = memory_alloc(2u * size, "descriptor links");
	vq->chain_length = memory_alloc(2u * size, "chain lengths");
	for (u16 i = 0; i < size; i++)
		vq->next[i] = (u16)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;

	/* 2.7.7: a polling driver does not want used-buffer notifications. */
	vq->avail->flags = (u16)(vq->irq ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT);

	vq->notify =
	    virtio_pci_queue_enable(vp, index, size, (u64)(size_t)vq->desc, (u64)(size_t)vq->avail,
				    (u64)(size_t)vq->used, msix_vector);

	slot = vq_trace_register_queue(&demo_trace, &(struct vq_queue_info){
							.device_type = 16, /* 5: GPU device */
							.device_instance = 0,
							.queue_index = index,
							.ring_size = size,
							.name = name,
							.desc_addr = (u64)(size_t)vq->desc,
							.avail_addr = (u64)(size_t)vq->avail,
							.used_addr = (u64)(size_t)vq->used,
						    });
	if (slot < 0)
		fail(EXIT_INTERNAL, "cannot register %s with the trace region (%d)", name, slot);
	vq->trace_slot = slot;
	vq_trace_callbacks(&demo_trace, slot, vq->irq, 0);
	console_printf(DEMO_NAME ": %s: queue %u, %u entries (device max %u), rings at 0x%lx\n",
		       name, index, size, device_max, (u64)(size_t)rings);
}

u16 virtq_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count)
{
	u16 head = vq->free_head, i = head, writable = 0;
	u32 bytes = 0;
	u16 avail_idx = vq->avail_idx_shadow;

	if (count == 0 || count > vq->num_free) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_RING_FULL, vq->num_free);
		fail(EXIT_INTERNAL, "%s: no room for %u descriptors (%u free)", vq->name, count,
		     vq->num_free);
	}
	/* 2.7.13.1: place the buffers in free descriptors, chained. */
	for (u16 n = 0; n < count; n++) {
		u16 flags = bufs[n].device_writable ? VIRTQ_DESC_F_WRITE : 0;

		if (n + 1 < count)
			flags |= VIRTQ_DESC_F_NEXT;
		vq->desc[i].addr = (u64)(size_t)bufs[n].addr;
		vq->desc[i].len = bufs[n].len;
		vq->desc[i].flags = flags;
		vq->desc[i].next = vq->next[i];
		bytes += bufs[n].len;
		writable = (u16)(writable + (bufs[n].device_writable ? 1 : 0));
		i = vq->next[i];
	}
	vq->free_head = i;
	vq->num_free = (u16)(vq->num_free - count);
	vq->chain_length[head] = count;
	vq->in_flight++;

	/* 2.7.13.2: the head goes into the next available ring entry. */
	vq->avail->ring[avail_idx & (vq->size - 1)] = head;
	/* Orders the descriptor and ring-entry stores above before the
	 * avail.idx store below (2.7.13.3.1); pairs with the device's read
	 * barrier between its load of avail.idx and its loads of the ring
	 * and descriptors (QEMU: smp_rmb() after vring_avail_idx()). */
	vq_wmb();
	/* 2.7.13.3: publish. */
	vq->avail_idx_shadow = (u16)(avail_idx + 1);
	vq->avail->idx = vq->avail_idx_shadow;

	vq_trace_add(&demo_trace, vq->trace_slot, head, avail_idx, count, bytes, writable);
	return head;
}

void virtq_kick(struct virtq *vq)
{
	/* Orders the avail.idx store in virtq_add before the load of
	 * used.flags below (a store-load pair, the one ordering x86 does
	 * not give for free); pairs with the device's full barrier between
	 * clearing VIRTQ_USED_F_NO_NOTIFY and re-reading avail.idx (QEMU:
	 * smp_mb() in virtio_queue_set_notification()), so either we see
	 * the flag clear or the device sees our new index (2.7.10). */
	vq_mb();
	if (vq->used->flags & VIRTQ_USED_F_NO_NOTIFY) {
		vq_trace_kick_suppressed(&demo_trace, vq->trace_slot, vq->avail_idx_shadow);
		return;
	}
	/* 4.1.5.2: without VIRTIO_F_NOTIFICATION_DATA the notification is
	 * the 16-bit queue index written to the queue's notify address. */
	mmio_write16(vq->notify, vq->index);
	vq->totals.kicks++;
	vq_trace_kick(&demo_trace, vq->trace_slot, vq->avail_idx_shadow);
}

/* The one load of used.idx in the poll loop: a volatile read, so the
 * compiler neither caches it across spins nor moves it past the other
 * volatile ring accesses. */
static inline u16 read_used_idx(const struct virtq *vq)
{
	return vq->used->idx;
}

static __attribute__((noreturn)) void poll_timeout(struct virtq *vq, struct vq_poll_stats *st)
{
	vq_trace_poll(&demo_trace, vq->trace_slot, st, VQT_POLL_TIMEOUT);
	vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DRIVER, vq->last_used_idx);
	fail(EXIT_DEVICE_ERROR,
	     "%s: device did not use buffer %u within the timeout (used.idx stays %u after %u "
	     "spins)",
	     vq->name, vq->last_used_idx, read_used_idx(vq), st->spins);
}

/* The four ways the hobby-OS team wrote poll_used().  All four are
 * correct on x86, where loads are not reordered with older loads (TSO):
 * they differ in what they cost, which is what the trace shows. */
static void poll_used(struct virtq *vq, enum barrier_policy policy, u64 timeout_ticks,
		      struct vq_poll_stats *st)
{
	u64 deadline = st->start + timeout_ticks;
	u16 seen;

	for (;;) {
		st->spins++;
		if (vq->irq)
			/* complete=irq: check and sleep with interrupts off,
			 * so the MSI-X message cannot slip in between. */
			__asm__ __volatile__("cli" ::: "memory");
		switch (policy) {
		case BARRIER_SEQCST_EVERY:
			/* (a) A SeqCst fence on every spin.  Orders all earlier
			 * accesses (our descriptor, avail and notify stores and
			 * the previous spin's load) before this load of
			 * used.idx; pairs with the device's write barrier
			 * between the used element and used.idx (QEMU:
			 * smp_wmb() in virtqueue_flush()).  It costs an mfence
			 * per spin and orders nothing the acquire below would
			 * not. */
			VQ_SEQCST_COUNTED(st);
			seen = read_used_idx(vq);
			break;
		case BARRIER_ACQUIRE_EVERY:
			/* (c) An acquire fence before every read of used.idx.
			 * Orders the previous spin's load of used.idx before
			 * this one and everything after; pairs with the
			 * device's write barrier in virtqueue_flush().  The
			 * last load (the one that sees progress) is ordered
			 * before the used-element loads by x86 TSO alone, as
			 * in barrier=none: on a weakly ordered CPU this
			 * placement would need the fence after the load,
			 * which is what (b) does. */
			VQ_ACQUIRE_COUNTED(st);
			seen = read_used_idx(vq);
			break;
		case BARRIER_ON_PROGRESS:
		case BARRIER_NONE:
		default:
			/* (b) and none: a plain volatile load, no fence. */
			seen = read_used_idx(vq);
			break;
		}
		if (seen != vq->last_used_idx) {
			if (vq->irq)
				__asm__ __volatile__("sti" ::: "memory");
			break;
		}
		if ((vq->irq || st->spins % TIMEOUT_CHECK_SPINS == 0) &&
		    vq_trace_now(&demo_trace) > deadline)
			poll_timeout(vq, st);
		if (vq->irq)
			/* Sleep until an interrupt (MSI-X, or the periodic APIC
			 * timer).  sti takes effect once hlt has started, so an
			 * interrupt that came after the load above still wakes
			 * us. */
			__asm__ __volatile__("sti; hlt" ::: "memory");
		else
			cpu_relax();
	}
	if (policy == BARRIER_ON_PROGRESS)
		/* (b) Once progress is seen: orders the load of used.idx
		 * that showed it before the loads of the used elements and
		 * response buffers it covers (2.7.14); pairs with the
		 * device's write barrier between writing the used element
		 * and used.idx (QEMU: smp_wmb() in virtqueue_flush()).  This
		 * is Linux's virtio_rmb() in virtqueue_get_buf(). */
		VQ_ACQUIRE_COUNTED(st);
}

void virtq_wait(struct virtq *vq, enum barrier_policy policy, u64 timeout_ticks)
{
	struct vq_poll_stats st = {0};

	st.start = vq_trace_now(&demo_trace);
	poll_used(vq, policy, timeout_ticks, &st);
	if (vq->irq && interrupt_count(VECTOR_QUEUE) != vq->irqs_seen) {
		/* With MSI-X the ISR is not needed to find the cause; it is
		 * read for the record (and cleared). */
		u8 isr = virtio_pci_isr(vq->vp);

		for (; vq->irqs_seen != interrupt_count(VECTOR_QUEUE); vq->irqs_seen++) {
			vq->totals.irqs++;
			vq_trace_irq(&demo_trace, vq->trace_slot, isr);
		}
	}
	vq->totals.spins += st.spins;
	vq->totals.fences += st.rmb + st.wmb + st.mb;
	vq_trace_poll(&demo_trace, vq->trace_slot, &st, VQT_POLL_PROGRESS);
}

int virtq_reap(struct virtq *vq, u32 *written)
{
	u16 used_idx = read_used_idx(vq);
	u16 pending = (u16)(used_idx - vq->last_used_idx);
	u16 slot_idx = vq->last_used_idx;
	u32 id, len;
	u16 count, i;

	if (pending == 0)
		return -1;
	/* Validate what the device wrote before using it (2.7.14). */
	if (pending > vq->in_flight) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DRIVER, used_idx);
		fail(EXIT_DEVICE_ERROR,
		     "%s: device moved used.idx from %u to %u with only %u buffers in flight",
		     vq->name, vq->last_used_idx, used_idx, vq->in_flight);
	}
	id = vq->used->ring[slot_idx & (vq->size - 1)].id;
	len = vq->used->ring[slot_idx & (vq->size - 1)].len;
	if (id >= vq->size || vq->chain_length[id] == 0) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_BAD_USED_ID, id);
		fail(EXIT_DEVICE_ERROR, "%s: device returned id %u at used index %u, not in flight",
		     vq->name, id, slot_idx);
	}
	/* Return the chain to the free list, following our private links. */
	count = vq->chain_length[id];
	i = (u16)id;
	for (u16 n = 1; n < count; n++)
		i = vq->next[i];
	vq->next[i] = vq->free_head;
	vq->free_head = (u16)id;
	vq->num_free = (u16)(vq->num_free + count);
	vq->chain_length[id] = 0;
	vq->in_flight--;
	vq->last_used_idx = (u16)(slot_idx + 1);
	vq->totals.completions++;

	vq_trace_used(&demo_trace, vq->trace_slot, (u16)id, slot_idx, len, count);
	*written = len;
	return (int)id;
}
