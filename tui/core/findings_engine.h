/* findings_engine.h - how the model feeds the diagnosis engine
 * (findings.c): for model.c only.  Everyone else reads the findings
 * through model.h (model_finding, model_worst_finding, the findings
 * array). */
#ifndef VQ_FINDINGS_ENGINE_H
#define VQ_FINDINGS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "vqrec.h"
#include "vqtrace.h"

struct vq_model;
struct model_queue;

bool findings_setup(struct vq_model *m);
void findings_teardown(struct vq_model *m);
/* A KICK or KICK_SUPPRESSED event: redo the driver's decision. */
void findings_on_kick(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
		      uint64_t seq);
/* A USED event, before the model frees its head: true when it was a
 * completion the engine reported (double, or not in flight). */
bool findings_on_used(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
		      uint64_t seq);
/* A queue-table snapshot of q came. */
void findings_on_table(struct vq_model *m, struct model_queue *q);
/* A device sample of q came (q->device), at host time host_ns. */
void findings_on_device(struct vq_model *m, struct model_queue *q, uint64_t host_ns);
/* A ring sample of q from guest RAM. */
void findings_on_ring(struct vq_model *m, struct model_queue *q, const struct vqr_ring_queue *r,
		      uint64_t host_ns);

#endif /* VQ_FINDINGS_ENGINE_H */
