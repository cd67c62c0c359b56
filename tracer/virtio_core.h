/* virtio_core.h - the parts of Linux's virtio structures the tracer reads,
 * declared for BPF CO-RE.
 *
 * Only the fields used are declared, with preserve_access_index so that
 * libbpf relocates every access against the running kernel's BTF (vmlinux,
 * and the virtio_ring module's BTF when virtio_ring is a module).  Field
 * order and sizes here do not matter; names do.  Fields that exist only on
 * some kernels are read behind bpf_core_field_exists().
 *
 * The ring layouts in shared memory (descriptor table, driver and device
 * areas) are fixed by the virtio spec, not by the kernel, and are read at
 * computed offsets (virtio 1.2, 2.7.5, 2.7.6, 2.7.8 and 2.8.13).
 */
#ifndef VIRTIO_CORE_H
#define VIRTIO_CORE_H

#include <linux/types.h>

#define CORE __attribute__((preserve_access_index))

struct kobject {
	const char *name;
} CORE;

struct device {
	struct kobject kobj;
} CORE;

struct virtio_device_id {
	__u32 device;
	__u32 vendor;
} CORE;

struct virtio_device {
	int index;
	struct device dev;
	struct virtio_device_id id;
} CORE;

struct virtqueue {
	const char *name;
	struct virtio_device *vdev;
	unsigned int index;
	unsigned int num_free;
} CORE;

struct vring {
	unsigned int num;
	void *desc;
	void *avail;
	void *used;
} CORE;

struct vring_desc_state_split {
	void *data;
	void *indir_desc; /* kernel address of the indirect table */
} CORE;

struct vring_desc_state_packed {
	void *data;
	void *indir_desc;
	__u16 num; /* ring descriptors the buffer took */
	__u16 last;
} CORE;

struct vring_desc_extra {
	__u64 addr;
	__u32 len;
	__u16 flags;
	__u16 next;
} CORE;

struct vring_virtqueue_split {
	struct vring vring;
	__u16 avail_flags_shadow;
	__u16 avail_idx_shadow;
	struct vring_desc_state_split *desc_state;
	__u64 queue_dma_addr;
} CORE;

struct vring_virtqueue_packed {
	struct {
		unsigned int num;
		void *desc;
		void *driver;
		void *device;
	} vring;
	_Bool avail_wrap_counter;
	_Bool used_wrap_counter; /* before Linux 6.0; later in last_used_idx */
	__u16 next_avail_idx;
	__u16 event_flags_shadow; /* driver event suppression flags (2.8.10) */
	struct vring_desc_state_packed *desc_state;
	struct vring_desc_extra *desc_extra;
	__u64 ring_dma_addr;
	__u64 driver_event_dma_addr;
	__u64 device_event_dma_addr;
} CORE;

struct vring_virtqueue {
	struct virtqueue vq;
	_Bool packed_ring;
	_Bool indirect;
	_Bool event;
	_Bool broken;
	unsigned int free_head;
	__u16 last_used_idx;
	union {
		struct vring_virtqueue_split split;
		struct vring_virtqueue_packed packed;
	};
} CORE;

struct irqaction {
	void *handler;
	void *dev_id;
} CORE;

/* Descriptor flags (2.7.5, 2.8.1). */
#define VRING_DESC_F_NEXT	  1u
#define VRING_DESC_F_WRITE	  2u
#define VRING_DESC_F_INDIRECT	  4u
#define VRING_PACKED_DESC_F_AVAIL 7 /* bit numbers (2.8.1) */
#define VRING_PACKED_DESC_F_USED  15
/* The driver's request for no used-buffer notifications: a flag of the
 * split ring's driver area (2.7.7), a value of the packed ring's driver
 * event suppression structure (2.8.10). */
#define VRING_AVAIL_F_NO_INTERRUPT	1u
#define VRING_PACKED_EVENT_FLAG_DISABLE 1u
/* Linux keeps the packed used wrap counter in bit 15 of last_used_idx. */
#define VRING_PACKED_EVENT_F_WRAP_CTR 15

/* Byte layout of the shared ring parts (2.7.5, 2.7.6, 2.7.8, 2.8.13). */
#define SPLIT_DESC_SIZE		16u /* addr u64, len u32, flags u16, next u16 */
#define SPLIT_AVAIL_RING_OFFSET 4u  /* after flags u16, idx u16 */
#define SPLIT_USED_IDX_OFFSET	2u  /* after flags u16 */
#define SPLIT_USED_RING_OFFSET	4u  /* after flags u16, idx u16 */
#define SPLIT_USED_ELEM_SIZE	8u  /* id u32, len u32 */
#define PACKED_DESC_SIZE	16u /* addr u64, len u32, id u16, flags u16 */

struct ring_desc_split {
	__u64 addr;
	__u32 len;
	__u16 flags;
	__u16 next;
};

struct ring_desc_packed {
	__u64 addr;
	__u32 len;
	__u16 id;
	__u16 flags;
};

struct ring_used_elem {
	__u32 id;
	__u32 len;
};

#endif /* VIRTIO_CORE_H */
