/* findings_engine.h - how the model feeds the diagnosis engine
 * (findings.c): for model.c and findings.c only.  Everyone else reads
 * the findings through model.h (model_finding, model_worst_finding, the
 * findings array).
 *
 * The checks that run for every KICK and USED are inline here, because
 * they run inside model_feed's loop at millions of events a second; what
 * they report, when they find something, is built out of line in
 * findings.c. */
#ifndef VQ_FINDINGS_ENGINE_H
#define VQ_FINDINGS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "ring_decode.h"
#include "vqrec.h"
#include "vqtrace.h"

bool findings_setup(struct vq_model *m);
void findings_teardown(struct vq_model *m);
/* A queue-table snapshot of q came. */
void findings_on_table(struct vq_model *m, struct model_queue *q);
/* A device sample of q came (q->device), at host time host_ns. */
void findings_on_device(struct vq_model *m, struct model_queue *q, uint64_t host_ns);
/* A ring sample of q from guest RAM. */
void findings_on_ring(struct vq_model *m, struct model_queue *q, const struct vqr_ring_queue *r,
		      uint64_t host_ns);

/* What the per-event checks report (findings.c). */
void findings_kick_mismatch(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			    uint64_t seq, uint16_t old_idx);
void findings_kick_packed(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			  uint64_t seq);
void findings_double_complete(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			      uint64_t seq);
void findings_used_not_in_flight(struct vq_model *m, struct model_queue *q,
				 const struct vqt_event *e, uint64_t seq);
void findings_used_len_overflow(struct vq_model *m, struct model_queue *q,
				const struct vqt_event *e, uint64_t seq);

/* The decision becomes the one the next is compared with. */
static inline void findings_kick_record(struct model_queue *q, const struct vqt_event *e,
					uint64_t seq, bool notified, bool asked)
{
	q->descs_since_decision = 0;
	q->prev_decision_state = q->have_decision ? q->decision_state : 0;
	q->have_decision = true;
	q->decision_notified = notified;
	q->decision_asked = asked;
	q->decision_idx = e->ring_idx;
	q->decision_state = e->arg;
	q->decision_seq = seq;
}

/* A KICK or KICK_SUPPRESSED event: redo the driver's decision from the
 * state it read (VQT_KICK_STATE_*). */
static inline void findings_on_kick(struct vq_model *m, struct model_queue *q,
				    const struct vqt_event *e, uint64_t seq)
{
	uint64_t st = e->arg;
	bool notified = e->type == VQT_EV_KICK, need;
	uint16_t old_idx;

	if (!(st & VQT_KICK_STATE_PRESENT)) {
		q->have_decision = false;
		return;
	}
	if (q->flags & VQT_QF_PACKED) {
		findings_kick_packed(m, q, e, seq);
		return;
	}
	old_idx = q->have_decision ? q->decision_idx : (uint16_t)(e->ring_idx - e->len);
	if (q->flags & VQT_QF_EVENT_IDX)
		/* 2.7.10: vring_need_event(avail_event, new, old). */
		need = ring_need_event(VQT_KICK_STATE_EVENT(st), e->ring_idx, old_idx);
	else
		need = !(VQT_KICK_STATE_FLAGS(st) & VRING_USED_F_NO_NOTIFY);
	if (__builtin_expect(need != notified && q->ring_size, 0))
		findings_kick_mismatch(m, q, e, seq, old_idx);
	findings_kick_record(q, e, seq, notified, need);
}

/* A USED event, before the model frees its head (q->heads exist): true
 * when it was a completion the engine reported (double, or not in
 * flight). */
static inline bool findings_on_used(struct vq_model *m, struct model_queue *q,
				    const struct vqt_event *e, uint64_t seq)
{
	uint16_t head = e->head, behind = (uint16_t)(q->last_used_idx - e->ring_idx);

	/* A used index the driver consumed before (2.7.14: it moves on by one
	 * per element).  Forward gaps are lost records, not this. */
	if (__builtin_expect(q->used_known && q->ring_size && behind >= 1 && behind <= q->ring_size,
			     0)) {
		findings_double_complete(m, q, e, seq);
		return true;
	}
	if (__builtin_expect(q->head_state[head] == HEAD_FREE, 0)) {
		/* Known free: its last event here was a USED, with no loss of
		 * records since (which could hide an ADD). */
		if (q->heads[head].epoch != m->loss_epoch + 1)
			return false;
		findings_used_not_in_flight(m, q, e, seq);
		return true;
	}
	if (__builtin_expect(e->len > q->heads[head].bytes, 0))
		findings_used_len_overflow(m, q, e, seq);
	return false;
}

#endif /* VQ_FINDINGS_ENGINE_H */
