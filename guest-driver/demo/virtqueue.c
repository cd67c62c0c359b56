/* virtqueue.c - the demo guest's virtqueue driver, over either layout
 * (split_ring.c, packed_ring.c): supplying buffers (2.7.13, 2.8.21),
 * deciding whether to notify the device (2.7.10, 2.8.10), waiting for
 * used buffers with one of the four barrier policies of the case study or
 * for an MSI-X interrupt with used-buffer notifications re-enabled first
 * (2.7.7, 2.7.14, 2.8.22), and taking used buffers, several in flight and
 * in any order.  Every step is reported to the trace region through the
 * vqscope guest library, and the bugs of bug= are injected here.
 *
 * Driver state is private (struct virtq): the rings are read only for
 * what the device writes (used entries, its suppression state), never
 * for the driver's own bookkeeping.
 */
#include "io.h"
#include "ring.h"

#define TIMEOUT_CHECK_SPINS 64u	  /* read the TSC once per this many spins */
#define STALE_WINDOW_US	    2000u /* bug=stale-used-event: load to store */

/* The largest power of two within both limits. */
static u16 queue_size(u16 device_max, u16 max_size)
{
	u16 size = 1;

	while ((u32)size * 2 <= device_max && (u32)size * 2 <= max_size)
		size = (u16)(size * 2);
	return size;
}

void virtq_setup(struct virtq *vq, struct virtio_pci *vp, u16 index, u16 max_size, const char *name,
		 u16 msix_vector, const struct demo_options *opts)
{
	u16 device_max = virtio_pci_queue_max(vp, index);
	struct ring_areas areas;
	int slot;

	if (device_max == 0)
		fail(EXIT_DEVICE_ERROR, "%s: queue %u is not available (size 0)", vp->name, index);
	/* 2.7: a split queue's size is a power of two; a packed one need
	 * not be (2.8.10.1), but the same size keeps the two comparable. */
	*vq = (struct virtq){
	    .vp = vp,
	    .name = name,
	    .index = index,
	    .size = queue_size(device_max, max_size),
	    .packed = !!(vp->driver_features & (1ull << VIRTIO_F_RING_PACKED)),
	    .event_idx = !!(vp->driver_features & (1ull << VIRTIO_RING_F_EVENT_IDX)),
	    .irq = msix_vector != VIRTIO_MSI_NO_VECTOR,
	    .policy = opts->barrier,
	    .timeout_ticks = timer_tsc_hz() * opts->timeout_s,
	    .bug = opts->bug,
	};
	if (vq->packed)
		packed_setup(vq, &areas);
	else
		split_setup(vq, &areas);
	/* The free list: descriptors (split) or buffer ids (packed). */
	vq->next = memory_alloc(2u * vq->size, "free list links");
	for (u16 i = 0; i < vq->size; i++)
		vq->next[i] = (u16)(i + 1);
	vq->free_head = 0;
	vq->chain_length = memory_alloc(2u * vq->size, "chain lengths");
	vq->token = memory_alloc(sizeof(void *) * vq->size, "request tokens");
	vq->num_free = vq->size;

	/* 2.7.7 / 2.8.10: a polling driver does not want used-buffer
	 * notifications; an interrupt-driven one starts with them on. */
	vq->callbacks_on = vq->irq;
	vq->used_event_written =
	    vq->packed ? packed_set_callbacks(vq, vq->irq) : split_set_callbacks(vq, vq->irq);

	vq->notify = virtio_pci_queue_enable(vp, index, vq->size, areas.desc, areas.driver,
					     areas.device, msix_vector);

	slot = vq_trace_register_queue(&demo_trace,
				       &(struct vq_queue_info){
					   .device_type = 16, /* 5: GPU device */
					   .device_instance = 0,
					   .queue_index = index,
					   .ring_size = vq->size,
					   .flags = (u16)((vq->event_idx ? VQT_QF_EVENT_IDX : 0) |
							  (vq->packed ? VQT_QF_PACKED : 0)),
					   .name = name,
					   .desc_addr = areas.desc,
					   .avail_addr = areas.driver,
					   .used_addr = areas.device,
				       });
	if (slot < 0)
		fail(EXIT_INTERNAL, "cannot register %s with the trace region (%d)", name, slot);
	vq->trace_slot = slot;
	vq_trace_callbacks(&demo_trace, slot, vq->callbacks_on, vq->used_event_written);
	console_printf(DEMO_NAME
		       ": %s: queue %u, %s ring of %u entries (device max %u)%s, at 0x%lx\n",
		       name, index, vq->packed ? "packed" : "split", vq->size, device_max,
		       vq->event_idx ? ", event idx" : "", areas.desc);
}

int virtq_has_room(const struct virtq *vq, u16 count)
{
	/* A packed ring also needs a free buffer id (the list ends at size). */
	return count <= vq->num_free && (!vq->packed || vq->free_head < vq->size);
}

u16 virtq_add(struct virtq *vq, const struct virtq_buffer *bufs, u16 count, void *token)
{
	u16 avail_idx = vq->avail_idx_shadow, writable = 0, head;
	enum demo_bug strike = BUG_NONE;
	u32 bytes = 0;

	if (count == 0 || !virtq_has_room(vq, count)) {
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_RING_FULL, vq->num_free);
		fail(EXIT_INTERNAL, "%s: no room for %u descriptors (%u free)", vq->name, count,
		     vq->num_free);
	}
	/* The trace reports the buffers the driver posted: what they hold,
	 * whatever a descriptor may claim (bug=len-overflow). */
	for (u16 n = 0; n < count; n++) {
		bytes += bufs[n].len;
		writable = (u16)(writable + (bufs[n].device_writable ? 1 : 0));
	}
	vq->adds++;
	if ((vq->bug == BUG_CHAIN_LOOP || vq->bug == BUG_BAD_NEXT) && vq->adds == BUG_PERIOD)
		strike = vq->bug;
	else if (vq->bug == BUG_PACKED_STALE_WRAP)
		strike = vq->bug; /* its wrong rule is wrong for one chain shape */
	head =
	    vq->packed ? packed_add(vq, bufs, count, strike) : split_add(vq, bufs, count, strike);
	vq->num_free = (u16)(vq->num_free - count);
	vq->chain_length[head] = count;
	vq->token[head] = token;
	vq->in_flight++;
	vq_trace_add(&demo_trace, vq->trace_slot, head, avail_idx, count, bytes, writable);
	return head;
}

void virtq_kick(struct virtq *vq)
{
	u16 new_idx = vq->avail_idx_shadow;
	int need, notified;
	u64 state;

	if (new_idx == vq->kicked_idx)
		return; /* nothing added since the last decision */
	need = vq->packed ? packed_need_kick(vq, &state) : split_need_kick(vq, &state);
	notified = need;
	if (vq->bug == BUG_LOST_KICK && need && ++vq->needed_kicks % BUG_PERIOD == 0)
		notified = 0;
	else if (vq->bug == BUG_KICK_ALWAYS)
		notified = 1;
	if (notified) {
		/* 4.1.5.2: without VIRTIO_F_NOTIFICATION_DATA the notification
		 * is the 16-bit queue index written to the notify address. */
		mmio_write16(vq->notify, vq->index);
		vq->totals.kicks++;
	}
	vq->kicked_idx = new_idx;
	vq->descs_since_kick = 0;
	/* What was read, even when the decision ignored it (the bugs). */
	vq_trace_kick_decision(&demo_trace, vq->trace_slot, new_idx, notified, state);
}

/* Used-buffer notifications on or off, traced when what is in memory
 * changes. */
static void set_callbacks(struct virtq *vq, int on)
{
	u16 event = vq->packed ? packed_set_callbacks(vq, on) : split_set_callbacks(vq, on);

	if (on == vq->callbacks_on && event == vq->used_event_written)
		return;
	vq->callbacks_on = on;
	vq->used_event_written = event;
	vq_trace_callbacks(&demo_trace, vq->trace_slot, on, event);
}

static inline int used_pending(struct virtq *vq)
{
	return vq->packed ? packed_used_pending(vq) : split_used_pending(vq);
}

static inline int used_hint(const struct virtq *vq)
{
	return vq->packed ? packed_used_hint(vq) : split_used_hint(vq);
}

/* One check of the used ring under the barrier policy: the four ways the
 * hobby-OS team wrote poll_used().  All four are correct on x86, where
 * loads are not reordered with older loads (TSO): they differ in what
 * they cost, which is what the trace shows.  "used.idx" below is the
 * next descriptor's flags on a packed ring. */
static int check_used(struct virtq *vq, struct vq_poll_stats *st)
{
	int progress;

	st->spins++;
	switch (vq->policy) {
	case BARRIER_SEQCST_EVERY:
		/* (a) A SeqCst fence on every spin.  Orders all earlier
		 * accesses (our descriptor, avail and notify stores and the
		 * previous spin's load) before this load of used.idx; pairs
		 * with the device's write barrier between the used element
		 * and used.idx (QEMU: smp_wmb() in virtqueue_flush()).  It
		 * costs an mfence per spin and orders nothing the acquire
		 * below would not. */
		VQ_SEQCST_COUNTED(st);
		progress = used_pending(vq);
		break;
	case BARRIER_ACQUIRE_EVERY:
		/* (c) An acquire fence before every read of used.idx.  Orders
		 * the previous spin's load of used.idx before this one and
		 * everything after; pairs with the device's write barrier in
		 * virtqueue_flush().  The last load (the one that sees
		 * progress) is ordered before the used-element loads by x86
		 * TSO alone, as in barrier=none: on a weakly ordered CPU this
		 * placement would need the fence after the load, which is
		 * what (b) does. */
		VQ_ACQUIRE_COUNTED(st);
		progress = used_pending(vq);
		break;
	case BARRIER_ON_PROGRESS:
	case BARRIER_NONE:
	default:
		/* (b) and none (and bug=poll-no-barrier): a plain volatile
		 * load, no fence. */
		progress = used_pending(vq);
		break;
	}
	if (progress && vq->policy == BARRIER_ON_PROGRESS)
		/* (b) Once progress is seen: orders the load that showed it
		 * before the loads of the used elements and response buffers
		 * it covers (2.7.14, 2.8.22); pairs with the device's write
		 * barrier between writing the used element and used.idx (or
		 * the used descriptor's flags) (QEMU: smp_wmb() in
		 * virtqueue_flush()).  This is Linux's virtio_rmb() in
		 * virtqueue_get_buf(). */
		VQ_ACQUIRE_COUNTED(st);
	return progress;
}

/* Says what the wait saw, then fails the boot (or halts, on-error=halt). */
static __attribute__((noreturn)) void wait_timeout(struct virtq *vq, struct vq_poll_stats *st)
{
	u8 status = virtio_pci_status(vq->vp);
	char ring[64];

	vq_trace_poll(&demo_trace, vq->trace_slot, st, VQT_POLL_TIMEOUT);
	if (status & VIRTIO_STATUS_NEEDS_RESET) {
		/* 2.1.2: the device found an error it cannot recover from. */
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DEVICE, status);
		fail(
		    EXIT_DEVICE_ERROR,
		    "%s: device set DEVICE_NEEDS_RESET (status 0x%x) with %u buffers in flight: it "
		    "found an error in the ring",
		    vq->name, status, vq->in_flight);
	}
	vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_DRIVER, vq->last_used_idx);
	if (vq->packed)
		format(ring, sizeof(ring), "descriptor %u has flags 0x%x (used wrap %u)",
		       vq->next_used, vq->ring[vq->next_used].flags, vq->used_wrap);
	else
		format(ring, sizeof(ring), "used.idx is %u", vq->used->idx);
	if (vq->irq)
		fail(EXIT_DEVICE_ERROR,
		     "%s: no used-buffer notification within %u s: %s, the driver took %u; %u in "
		     "flight; notifications %s",
		     vq->name, (u32)(vq->timeout_ticks / timer_tsc_hz()), ring, vq->last_used_idx,
		     vq->in_flight, vq->callbacks_on ? "on" : "off");
	fail(EXIT_DEVICE_ERROR,
	     "%s: no used buffer within %u s (%u spins): %s, the driver took %u; %u in flight",
	     vq->name, (u32)(vq->timeout_ticks / timer_tsc_hz()), st->spins, ring,
	     vq->last_used_idx, vq->in_flight);
}

static void wait_poll(struct virtq *vq, struct vq_poll_stats *st)
{
	u64 deadline = st->start + vq->timeout_ticks;

	while (!check_used(vq, st)) {
		if (vq->timeout_ticks && st->spins % TIMEOUT_CHECK_SPINS == 0 &&
		    vq_trace_now(&demo_trace) > deadline)
			wait_timeout(vq, st);
		cpu_relax();
	}
}

/* Sleep until the queue's MSI-X interrupt count moves past what the last
 * check saw.  The periodic APIC timer only wakes us to check the
 * deadline, so a notification that never comes is a hang, as in a real
 * interrupt-driven driver. */
static void sleep_for_interrupt(struct virtq *vq, struct vq_poll_stats *st, u64 deadline)
{
	/* Interrupts off while deciding to sleep: one arriving after the
	 * count was read is held until sti, and sti takes effect after hlt
	 * has started, so it still wakes us. */
	__asm__ __volatile__("cli" ::: "memory");
	while (interrupt_count(VECTOR_QUEUE) == vq->irqs_checked) {
		if (vq->timeout_ticks && vq_trace_now(&demo_trace) > deadline) {
			__asm__ __volatile__("sti" ::: "memory");
			wait_timeout(vq, st);
		}
		__asm__ __volatile__("sti; hlt; cli" ::: "memory");
	}
	__asm__ __volatile__("sti" ::: "memory");
	vq->irqs_checked = interrupt_count(VECTOR_QUEUE);
}

/* complete=irq.  Used-buffer notifications are on whenever the driver
 * is not taking buffers (virtq_rearm), so the driver looks at the used
 * ring only after an interrupt, or when the second look of virtq_rearm
 * already saw something.  Once something was used, notifications go off
 * until the caller has taken it all: Linux's virtqueue_disable_cb() /
 * virtqueue_enable_cb() pattern (2.7.14's note, 2.8.22). */
static void wait_interrupt(struct virtq *vq, struct vq_poll_stats *st)
{
	u64 deadline = st->start + vq->timeout_ticks;

	if (vq->rechecked) {
		vq->rechecked = 0;
		if (check_used(vq, st))
			goto progress;
	}
	if (vq->stale_rearm) {
		/* bug=stale-used-event, second half: the used_event store of
		 * virtq_rearm lands only now, after this wait's request was
		 * notified (the delay makes sure the device has used it
		 * meanwhile), and the driver sleeps on the strength of its
		 * earlier look.  The device checked that buffer against the
		 * old used_event: no interrupt comes. */
		vq->stale_rearm = 0;
		timer_delay_us(STALE_WINDOW_US);
		set_callbacks(vq, 1);
	}
	do
		sleep_for_interrupt(vq, st, deadline);
	while (!check_used(vq, st));
progress:
	set_callbacks(vq, 0);
}

void virtq_rearm(struct virtq *vq)
{
	if (!vq->irq || vq->callbacks_on)
		return;
	if (vq->bug == BUG_NO_IRQ_REARM)
		return; /* the bug: notifications stay off */
	if (vq->bug == BUG_STALE_USED_EVENT) {
		/* The bug: the second look comes first, and the used_event
		 * store after it with no barrier between, so the store can
		 * land after the load, as a CPU's store buffer lets it.  Here
		 * it lands in the next wait (wait_interrupt), which is what
		 * the reordering does at its worst. */
		vq->rechecked = used_hint(vq);
		vq->stale_rearm = 1;
		return;
	}
	set_callbacks(vq, 1);
	/* Orders the used_event (or flags) store above before the load of
	 * the used ring below, so either we see a buffer used meanwhile or
	 * the device sees notifications on; pairs with the device's full
	 * barrier between writing used.idx and reading used_event (QEMU:
	 * smp_mb() in virtio_split_should_notify(); its packed path,
	 * virtio_packed_should_notify(), has none in QEMU 7.2). */
	vq_mb();
	/* A hint only (the next wait checks again, with the policy's
	 * barriers, before reading any element): no fence needed. */
	vq->rechecked = used_hint(vq);
}

void virtq_wait(struct virtq *vq)
{
	struct vq_poll_stats st = {0};

	st.start = vq_trace_now(&demo_trace);
	if (vq->irq)
		wait_interrupt(vq, &st);
	else
		wait_poll(vq, &st);
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

void *virtq_get_used(struct virtq *vq, u32 *written)
{
	for (;;) {
		u16 used_idx = vq->last_used_idx, count;
		u32 id, len;
		int late;
		void *token;

		if (!(vq->packed ? packed_peek_used(vq, &id, &len)
				 : split_peek_used(vq, &id, &len)))
			return NULL;
		vq->taken++;
		/* bug=stale-used-id: once, the id of the element taken before
		 * this one is used again (a value the driver kept instead of
		 * reading the element, 2.7.8), when that chain is free and not
		 * made available again since. */
		if (vq->bug == BUG_STALE_USED_ID && !vq->struck && vq->taken > BUG_PERIOD &&
		    vq->last_taken_id != id && vq->last_taken_id < vq->size &&
		    vq->chain_length[vq->last_taken_id] == 0) {
			vq->struck = 1;
			id = vq->last_taken_id;
		}
		vq->last_taken_id = id;
		count = id < vq->size ? vq->chain_length[id] : 0;
		/* bug=double-reap: the index moves one element late, so the
		 * next call reads this element again. */
		late = vq->bug == BUG_DOUBLE_REAP && vq->taken == BUG_PERIOD;
		if (late) {
			if (vq->packed)
				vq->used_seen = 0; /* the next wait sees it again */
		} else if (count) {
			vq->last_used_idx++;
			vq->in_flight--;
			if (vq->packed)
				packed_step_used(vq, count);
		}
		if (vq->bug == BUG_LEAK && count && vq->taken % BUG_PERIOD == 0) {
			/* The bug: the element is taken, and then dropped: the
			 * request is never completed, its chain never freed,
			 * nor reported (USED is written where it is freed). */
			vq->leaked++;
			continue;
		}
		vq_trace_used(&demo_trace, vq->trace_slot, (u16)id, used_idx, len, count);
		/* 2.7.14 / 2.8.22: the id must be a chain we made available. */
		if (count == 0) {
			vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_BAD_USED_ID, id);
			fail(EXIT_DEVICE_ERROR,
			     "%s: used element %u names id %u, which is not in flight", vq->name,
			     used_idx, id);
		}
		if (vq->packed)
			packed_free_chain(vq, (u16)id, count);
		else
			split_free_chain(vq, (u16)id, count);
		vq->num_free = (u16)(vq->num_free + count);
		if (vq->bug == BUG_FREE_MISCOUNT && vq->taken == BUG_PERIOD) {
			/* The bug: the chain is counted free twice (its
			 * descriptors are on the free list once).  The driver
			 * publishes its own count, as Linux's tracer does. */
			vq->num_free = (u16)(vq->num_free + count);
			vq_trace_sync_indices(&demo_trace, vq->trace_slot, vq->avail_idx_shadow,
					      (u16)(vq->last_used_idx), vq->num_free);
		}
		vq->chain_length[id] = 0;
		token = vq->token[id];
		vq->token[id] = NULL;
		vq->totals.completions++;
		*written = len;
		return token;
	}
}

/* The free list holds every descriptor (packed: buffer id) once. */
static const char *free_list_check(const struct virtq *vq, char *buf, size_t size)
{
	static u8 seen[32768 / 8];
	u16 i = vq->free_head;

	memset(seen, 0, sizeof(seen));
	for (u16 n = 0; n < vq->size; n++) {
		if (i >= vq->size || (seen[i / 8] & (1u << (i % 8)))) {
			format(buf, size, "free list step %u reaches %s %u %s", n,
			       vq->packed ? "id" : "descriptor", i,
			       i >= vq->size ? "past the end" : "a second time");
			return buf;
		}
		seen[i / 8] = (u8)(seen[i / 8] | 1u << (i % 8));
		i = vq->next[i];
	}
	return NULL;
}

void virtq_self_check(struct virtq *vq)
{
	char buf[160];
	const char *problem = NULL;

	if (vq->in_flight || vq->num_free != vq->size) {
		format(buf, sizeof(buf), "%u buffers in flight, %u of %u descriptors free",
		       vq->in_flight, vq->num_free, vq->size);
		problem = buf;
	}
	for (u16 i = 0; !problem && i < vq->size; i++)
		if (vq->chain_length[i]) {
			format(buf, sizeof(buf), "chain %u (%u descriptors) was never freed", i,
			       vq->chain_length[i]);
			problem = buf;
		}
	if (!problem)
		problem = free_list_check(vq, buf, sizeof(buf));
	if (!problem)
		problem = vq->packed ? packed_check(vq, buf, sizeof(buf))
				     : split_check(vq, buf, sizeof(buf));
	if (problem)
		fail(EXIT_INTERNAL, "%s: self-check: %s", vq->name, problem);
	console_printf(DEMO_NAME ": self-check: %s: %u of %u descriptors free, nothing in flight, "
				 "%lu buffers used: ok\n",
		       vq->name, vq->num_free, vq->size, vq->totals.completions);
}
