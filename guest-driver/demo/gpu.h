/* gpu.h - a virtio-gpu 2D driver (virtio 1.2 5.7) for the demo guest. */
#ifndef DEMO_GPU_H
#define DEMO_GPU_H

#include "virtqueue.h"

#define VIRTIO_ID_GPU 16

struct gpu_command;

/* 5.7.6.7 */
struct virtio_gpu_rect {
	u32 x, y, width, height;
};

struct gpu {
	struct virtio_pci vp;
	struct virtq control; /* queue 0, "gpu0.control" */
	struct virtq cursor;  /* queue 1, "gpu0.cursor" (registered, idle) */
	const struct demo_options *opts;
	struct gpu_command *commands;	   /* one per control queue entry */
	struct gpu_command *free_commands; /* those not in flight */
	struct virtq_buffer *scatter;	   /* the self-test's whole-ring chain */
	u8 *pad;			   /* its one-byte pads */
	struct virtio_gpu_rect mode;	   /* scanout 0 in the last display info */
	u32 mode_enabled;		   /* ... and whether it is on */
	u64 overflows;			   /* responses longer than their buffer */
	u32 scanout;
	u32 width, height; /* of the resource and the scanout */
	u32 stride;	   /* bytes per row of the backing */
	u32 resource_id;
	u32 *pixels; /* guest backing of the resource */
};

/* Find, initialise (3.1.1) and set up the display (5.7.6): display info,
 * a 2D resource with guest backing, scanout.  Fails the boot on error. */
void gpu_init(struct gpu *g, const struct demo_options *opts);
/* Show the backing on screen: one transfer + flush (flush=frame) or one
 * per band (flush=line).  Returns the number of commands sent. */
u32 gpu_present(struct gpu *g);

#endif /* DEMO_GPU_H */
