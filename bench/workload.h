/* workload.h - the demo guest's event mix, for the benchmarks that need a
 * realistic load (bench_core's drain and model figures, synth_producer's
 * live load): what `vqdemo barrier=on-progress flush=line` writes per
 * frame, through the guest library itself.
 *
 * One command is ADD (a 2-descriptor chain, 1 device-writable), a kick
 * decision with the split ring's suppression state (flags clear: the
 * device wants the notification, 2.7.10, and the driver sends it), a POLL
 * that saw progress after a few spins with one acquire fence, and the
 * USED that reaps it: four events.  Every WORKLOAD_COMMANDS_PER_FRAME
 * commands the frame ends and the next begins, as the demo's 60 commands
 * per frame do (its report: 242 events per frame).
 */
#ifndef VQ_BENCH_WORKLOAD_H
#define VQ_BENCH_WORKLOAD_H

#include <stdint.h>

#include "vqscope_guest.h"

#define WORKLOAD_RING_SIZE	    64
#define WORKLOAD_COMMANDS_PER_FRAME 60
#define WORKLOAD_EVENTS_PER_COMMAND 4

/* Register the workload's queue (a 64-entry split ring); returns its slot. */
static inline int workload_queue(struct vq_trace *t, const char *name)
{
	return vq_trace_register_queue(t, &(struct vq_queue_info){.device_type = 16,
								  .ring_size = WORKLOAD_RING_SIZE,
								  .name = name});
}

/* Command i of the workload on queue q; poll_start is when its poll
 * began (vq_trace_now ticks).  Returns the events it wrote. */
static inline unsigned workload_command(struct vq_trace *t, int q, uint32_t i, uint64_t poll_start)
{
	struct vq_poll_stats st = {.spins = 7, .rmb = 1, .start = poll_start};
	uint16_t head = (uint16_t)(i & (WORKLOAD_RING_SIZE - 1)), idx = (uint16_t)i;
	unsigned events = WORKLOAD_EVENTS_PER_COMMAND;

	if (i % WORKLOAD_COMMANDS_PER_FRAME == 0) {
		uint64_t frame = i / WORKLOAD_COMMANDS_PER_FRAME;

		if (frame)
			vq_trace_frame_end(t, frame - 1, WORKLOAD_COMMANDS_PER_FRAME);
		vq_trace_frame_begin(t, frame);
		events += frame ? 2 : 1;
	}
	vq_trace_add(t, q, head, idx, 2, 76, 1);
	/* avail_event in bits 0..15, used.flags (0: notify) in 16..31. */
	vq_trace_kick_decision(t, q, (uint16_t)(idx + 1), 1, idx);
	vq_trace_poll(t, q, &st, VQT_POLL_PROGRESS);
	vq_trace_used(t, q, head, idx, 24, 2);
	return events;
}

#endif /* VQ_BENCH_WORKLOAD_H */
