/* devview.h - the device-side view of virtqueues, sampled through QMP
 * without any help from the guest.
 *
 * QEMU 7.2 introduced (as unstable, "x-" commands):
 *   x-query-virtio               [{"path", "name"}] of realized devices
 *   x-query-virtio-status        {"name", "device-id", "num-vqs", "broken",
 *                                 "vhost-started", ...} for one device
 *   x-query-virtio-queue-status  {"name", "queue-index", "inuse",
 *                                 "vring-num", "vring-num-default",
 *                                 "vring-align", "vring-desc",
 *                                 "vring-avail", "vring-used",
 *                                 "last-avail-idx"?, "shadow-avail-idx"?,
 *                                 "used-idx", "signalled-used",
 *                                 "signalled-used-valid"} for one queue
 *                                (the "?" ones are absent for vhost
 *                                devices, shadow-avail-idx whenever vhost
 *                                runs the queue)
 *   x-query-virtio-queue-element {"name", "index", "descs": [{"addr",
 *                                 "len", "flags": ["next", "write", ...]}],
 *                                 "avail": {"flags", "idx", "ring"},
 *                                 "used": {"flags", "idx"}} for one chain
 *
 * Every value is checked (types, ranges) before it reaches the caller;
 * odd but possible values set by a buggy guest (a queue size that is not
 * a power of two, more buffers in use than the ring holds) are passed on
 * and reported, since showing them is the point.  Ring indices are
 * free-running u16 (virtio 1.2, 2.7.6 and 2.7.8).
 */
#ifndef VQ_DEVVIEW_H
#define VQ_DEVVIEW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vqrec.h"

struct qmp;

#define DEVVIEW_MAX_DEVICES 64
#define DEVVIEW_QUEUE_MAX   1024   /* VIRTIO_QUEUE_MAX in QEMU */
#define DEVVIEW_VRING_MAX   32768u /* largest queue size (virtio 1.2, 2.7) */
#define DEVVIEW_PATH_MAX    256

struct devview_device {
	char path[DEVVIEW_PATH_MAX]; /* QOM path, ".../virtio-backend" */
	char name[32];		     /* "virtio-gpu" */
	uint16_t device_id;	     /* virtio device ID (virtio 1.2, 5), 0 if unknown */
	uint16_t num_queues;	     /* queues QEMU reports ("num-vqs") */
	bool broken;		     /* QEMU marked the device broken (virtio_error) */
	bool vhost;		     /* queues run in vhost: avail indices partly unknown */
	bool packed;		     /* the driver negotiated VIRTIO_F_RING_PACKED (2.8) */
};

struct devview_devices {
	size_t count;
	size_t total; /* devices QEMU listed; > count when more than DEVVIEW_MAX_DEVICES */
	struct devview_device dev[DEVVIEW_MAX_DEVICES];
};

/* List virtio devices (x-query-virtio, then x-query-virtio-status for
 * each), sorted by QOM path.  Returns 0, or -1 with err; a QEMU without
 * the commands gives "QEMU 7.1.0 has no x-query-virtio (QEMU 7.2 or
 * later is needed for the device view)". */
int devview_list(struct qmp *q, struct devview_devices *out, char *err, size_t errlen);

/* Ask x-query-virtio-status of every listed device again (broken,
 * vhost, packed change with the guest's resets).  0 or -1 with err. */
int devview_refresh_status(struct qmp *q, struct devview_devices *devs, char *err, size_t errlen);

/* Sample every queue of every listed device with
 * x-query-virtio-queue-status into out[0..*n).  Each entry has path (cut
 * from the front to "...TAIL" if longer than 63 bytes), name, device_id,
 * indices, addresses, trace_slot = ~0u, VQR_DQ_SIGNALLED_VALID when
 * QEMU says so, and VQR_DQ_BROKEN when the device was broken at the last
 * devview_list or devview_refresh_status.  Indices QEMU does not report (vhost) are 0.
 *
 * Returns the number of problems (0 = all clean; err holds the first):
 * queues that could not be read or whose reply was malformed (left out),
 * queues with guest-made oddities (kept, see devview_parse_queue_status),
 * and queues beyond max (left out).  Returns < 0 with err when QMP
 * failed (connection gone, timeout); *n then counts what was filled. */
int devview_sample(struct qmp *q, const struct devview_devices *devs, struct vqr_device_queue *out,
		   size_t max, size_t *n, char *err, size_t errlen);

/* One descriptor of a chain.  flags are VRING_DESC_F_* bits (virtio 1.2,
 * 2.7.5): 1 NEXT, 2 WRITE, 4 INDIRECT, plus the packed-ring bits 1<<7
 * AVAIL and 1<<15 USED that QEMU may name. */
struct devview_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

#define DEVVIEW_CHAIN_MAX 1024

struct devview_chain {
	char name[32]; /* device name */
	uint16_t head; /* descriptor index of the chain's head ("index") */
	uint16_t avail_flags, avail_idx, avail_ring; /* avail ring (2.7.6) */
	uint16_t used_flags, used_idx;		     /* used ring (2.7.8) */
	size_t ndescs;	   /* descriptors QEMU returned (desc[] holds the first
			    * DEVVIEW_CHAIN_MAX of them) */
	bool ends;	   /* the last descriptor has no NEXT flag: the chain is whole */
	bool unknown_flag; /* QEMU named a flag this code does not know */
	struct devview_desc desc[DEVVIEW_CHAIN_MAX]; /* in chain order, head first */
};

/* Read one chain with x-query-virtio-queue-element.  index is a position
 * in the avail ring (free-running, QEMU takes it modulo the queue size),
 * or -1 for the next one the device will read (last_avail_idx).  When the
 * head is an indirect descriptor, QEMU lists the indirect table's chain
 * instead (2.7.5.3).  0 or -1 with err (QEMU's, e.g. "Region caches not
 * initialized" before the driver set the queue up). */
int devview_element(struct qmp *q, const char *path, unsigned queue, int index,
		    struct devview_chain *out, char *err, size_t errlen);

/* ---- reply validators (exposed for tests and fuzzing) ---------------------- */

/* x-query-virtio reply into out->dev[] (path, name only), unsorted.  0 or
 * -1 with err. */
int devview_parse_list(json_object *reply, struct devview_devices *out, char *err, size_t errlen);

/* x-query-virtio-status reply into d (device_id, num_queues, broken,
 * vhost, packed).  0 or -1 with err. */
int devview_parse_status(json_object *reply, struct devview_device *d, char *err, size_t errlen);

/* x-query-virtio-queue-status reply for queue of device d into out.
 * Returns 0 (clean), 1 (filled, but the guest set something odd: a split
 * queue size that is not a power of two, inuse above the queue size; err
 * says what) or
 * -1 (malformed: err says which member). */
int devview_parse_queue_status(json_object *reply, const struct devview_device *d, unsigned queue,
			       struct vqr_device_queue *out, char *err, size_t errlen);

/* x-query-virtio-queue-element reply into out, descriptors put in chain
 * order (QEMU 7.2 lists them last first).  0 or -1 with err. */
int devview_parse_element(json_object *reply, struct devview_chain *out, char *err, size_t errlen);

#endif /* VQ_DEVVIEW_H */
