/* virtio_pci.h - the modern virtio-pci transport (virtio 1.2 4.1): the
 * vendor capabilities that locate each configuration structure, and the
 * driver initialisation sequence of 3.1.1. */
#ifndef DEMO_VIRTIO_PCI_H
#define DEMO_VIRTIO_PCI_H

#include "demo.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_MODERN_BASE 0x1040 /* 4.1.2.1: 0x1040 + device ID */

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER	  2u
#define VIRTIO_STATUS_DRIVER_OK	  4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED	  128u

/* Reserved feature bits (6). */
#define VIRTIO_RING_F_EVENT_IDX 29 /* used_event / avail_event (2.7.7, 2.7.10) */
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_RING_PACKED	34 /* packed virtqueues (2.8) */

#define VIRTIO_MSI_NO_VECTOR 0xffffu

struct virtio_pci {
	struct pci_device *pci;
	const char *name;    /* for messages, e.g. "gpu0" */
	volatile u8 *common; /* struct virtio_pci_common_cfg (4.1.4.3) */
	volatile u8 *notify; /* notification area (4.1.4.4) */
	u32 notify_off_multiplier;
	u32 notify_length;
	volatile u8 *isr;	 /* ISR status (4.1.4.5) */
	volatile u8 *device_cfg; /* device-specific configuration (4.1.4.6) */
	u32 device_cfg_length;
	u64 device_features;
	u64 driver_features; /* what was negotiated */
	u8 msix_cap;	     /* MSI-X capability offset, 0 if none */
};

/* Find the configuration structures (4.1.4) and map their BARs. */
void virtio_pci_attach(struct virtio_pci *vp, struct pci_device *pci, const char *name);
/* 3.1.1 steps 1-3 and the reading half of 4: reset, ACKNOWLEDGE,
 * DRIVER; returns the features the device offers (also in
 * vp->device_features). */
u64 virtio_pci_begin(struct virtio_pci *vp);
/* 3.1.1 steps 4-6: write `features` (which the caller masked against the
 * offer), FEATURES_OK and its re-read.  Fails the boot on refusal. */
void virtio_pci_set_features(struct virtio_pci *vp, u64 features);
/* 3.1.1: give up on the device's features, saying why: sets FAILED and
 * fails the boot. */
__attribute__((noreturn)) void virtio_pci_fail_features(struct virtio_pci *vp, const char *what);
/* 3.1.1 step 8: DRIVER_OK. */
void virtio_pci_driver_ok(struct virtio_pci *vp);
u8 virtio_pci_status(const struct virtio_pci *vp);
/* Fails the boot if the device reports DEVICE_NEEDS_RESET. */
void virtio_pci_check(const struct virtio_pci *vp);

/* Route MSI-X table entry `entry` to `vector` on the local APIC
 * `apic_id` and enable MSI-X (4.1.4.3 / 4.1.5.1.2: vectors are mapped
 * before the queues that use them); configuration changes get no vector. */
void virtio_pci_msix_enable(struct virtio_pci *vp, u16 entry, u8 vector, u32 apic_id);
/* Read (and so clear) the ISR status (4.1.4.5). */
u8 virtio_pci_isr(const struct virtio_pci *vp);

/* Queue configuration through the common configuration (4.1.4.3). */
u16 virtio_pci_num_queues(const struct virtio_pci *vp);
/* Selects the queue and returns its maximum size (0: unavailable). */
u16 virtio_pci_queue_max(struct virtio_pci *vp, u16 index);
/* Programs size, ring addresses and MSI-X vector of the selected queue,
 * enables it, and returns its notification address. */
volatile u16 *virtio_pci_queue_enable(struct virtio_pci *vp, u16 index, u16 size, u64 desc,
				      u64 driver, u64 device, u16 msix_vector);

#endif /* DEMO_VIRTIO_PCI_H */
