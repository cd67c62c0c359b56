/* virtio_pci.c - the modern virtio-pci transport (virtio 1.2 4.1): finds
 * the configuration structures through the vendor-specific capabilities
 * (4.1.4), maps their BARs wherever the firmware placed them, and runs the
 * device initialisation of 3.1.1 with features negotiated by explicit
 * masking and FEATURES_OK read back. */
#include "virtio_pci.h"
#include "io.h"

/* struct virtio_pci_cap (4.1.4). */
#define PCI_CAP_ID_VENDOR	     0x09
#define PCI_CAP_ID_MSIX		     0x11
#define VIRTIO_CAP_CFG_TYPE	     3
#define VIRTIO_CAP_BAR		     4
#define VIRTIO_CAP_OFFSET	     8
#define VIRTIO_CAP_LENGTH	     12
#define VIRTIO_CAP_NOTIFY_MULTIPLIER 16 /* struct virtio_pci_notify_cap */

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define COMMON_DEVICE_FEATURE_SELECT 0x00
#define COMMON_DEVICE_FEATURE	     0x04
#define COMMON_DRIVER_FEATURE_SELECT 0x08
#define COMMON_DRIVER_FEATURE	     0x0c
#define COMMON_MSIX_CONFIG	     0x10
#define COMMON_NUM_QUEUES	     0x12
#define COMMON_DEVICE_STATUS	     0x14
#define COMMON_CONFIG_GENERATION     0x15
#define COMMON_QUEUE_SELECT	     0x16
#define COMMON_QUEUE_SIZE	     0x18
#define COMMON_QUEUE_MSIX_VECTOR     0x1a
#define COMMON_QUEUE_ENABLE	     0x1c
#define COMMON_QUEUE_NOTIFY_OFF	     0x1e
#define COMMON_QUEUE_DESC	     0x20
#define COMMON_QUEUE_DRIVER	     0x28
#define COMMON_QUEUE_DEVICE	     0x30
#define COMMON_CFG_MIN_LENGTH	     0x38

#define RESET_TIMEOUT_US 1000000u

/* MSI-X capability (PCI 3.0 6.8.2) and the x86 MSI message format. */
#define MSIX_CONTROL		  2
#define MSIX_TABLE		  4
#define MSIX_CONTROL_TABLE_SIZE	  0x07ffu
#define MSIX_CONTROL_MASK_ALL	  0x4000u
#define MSIX_CONTROL_ENABLE	  0x8000u
#define MSIX_ENTRY_SIZE		  16
#define MSIX_ENTRY_ADDRESS_LOW	  0
#define MSIX_ENTRY_ADDRESS_HIGH	  4
#define MSIX_ENTRY_DATA		  8
#define MSIX_ENTRY_VECTOR_CONTROL 12
#define MSI_ADDRESS_BASE	  0xfee00000u

static volatile u8 *map_structure(struct virtio_pci *vp, u8 cap, const char *what, u32 min_length,
				  u32 *length_out)
{
	u8 bar_index = pci_read8(vp->pci, (u16)(cap + VIRTIO_CAP_BAR));
	u32 offset = pci_read32(vp->pci, (u16)(cap + VIRTIO_CAP_OFFSET));
	u32 length = pci_read32(vp->pci, (u16)(cap + VIRTIO_CAP_LENGTH));
	struct pci_bar bar;

	if (pci_bar_info(vp->pci, bar_index, &bar) != 0 || bar.io || bar.size == 0 || bar.addr == 0)
		fail(EXIT_DEVICE_ERROR, "%s: %s is in BAR%u, which is not an assigned memory BAR",
		     vp->name, what, bar_index);
	if (length < min_length || (u64)offset + length > bar.size)
		fail(EXIT_DEVICE_ERROR,
		     "%s: %s at offset 0x%x length 0x%x does not fit BAR%u (%lu bytes, need 0x%x)",
		     vp->name, what, offset, length, bar_index, bar.size, min_length);
	if (paging_map(bar.addr, bar.size, MAP_UNCACHED) != 0)
		fail(EXIT_DEVICE_ERROR, "%s: cannot map BAR%u at 0x%lx", vp->name, bar_index,
		     bar.addr);
	console_printf(DEMO_NAME ": %s: %s in BAR%u at 0x%lx + 0x%x%s\n", vp->name, what, bar_index,
		       bar.addr, offset, bar.is64 ? " (64-bit BAR)" : "");
	if (length_out)
		*length_out = length;
	return (volatile u8 *)(size_t)(bar.addr + offset);
}

void virtio_pci_attach(struct virtio_pci *vp, struct pci_device *pci, const char *name)
{
	*vp = (struct virtio_pci){.pci = pci, .name = name};
	pci_enable(pci);

	/* 4.1.4: walk the vendor capabilities; use the first one of each
	 * type whose BAR index is valid (0-5), ignoring types we do not
	 * know (such as the PCI configuration access capability). */
	for (u8 cap = pci_find_cap(pci, PCI_CAP_ID_VENDOR, 0); cap;
	     cap = pci_find_cap(pci, PCI_CAP_ID_VENDOR, cap)) {
		u8 type = pci_read8(pci, (u16)(cap + VIRTIO_CAP_CFG_TYPE));

		if (pci_read8(pci, (u16)(cap + VIRTIO_CAP_BAR)) > 5)
			continue;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG && !vp->common) {
			vp->common =
			    map_structure(vp, cap, "common config", COMMON_CFG_MIN_LENGTH, NULL);
		} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !vp->notify) {
			vp->notify_off_multiplier =
			    pci_read32(pci, (u16)(cap + VIRTIO_CAP_NOTIFY_MULTIPLIER));
			vp->notify = map_structure(vp, cap, "notify area", 2, &vp->notify_length);
		} else if (type == VIRTIO_PCI_CAP_ISR_CFG && !vp->isr) {
			vp->isr = map_structure(vp, cap, "ISR status", 1, NULL);
		} else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !vp->device_cfg) {
			vp->device_cfg =
			    map_structure(vp, cap, "device config", 4, &vp->device_cfg_length);
		}
	}
	if (!vp->common || !vp->notify || !vp->isr || !vp->device_cfg)
		fail(EXIT_DEVICE_ERROR,
		     "%s: missing virtio-pci capability:%s%s%s%s (not a modern virtio 1.x device?)",
		     name, vp->common ? "" : " common", vp->notify ? "" : " notify",
		     vp->isr ? "" : " isr", vp->device_cfg ? "" : " device");
	vp->msix_cap = pci_find_cap(pci, PCI_CAP_ID_MSIX, 0);
}

u8 virtio_pci_status(const struct virtio_pci *vp)
{
	return mmio_read8(vp->common + COMMON_DEVICE_STATUS);
}

static void set_status(struct virtio_pci *vp, u8 bits)
{
	mmio_write8(vp->common + COMMON_DEVICE_STATUS, (u8)(virtio_pci_status(vp) | bits));
}

static __attribute__((noreturn)) void refuse(struct virtio_pci *vp, const char *what, u64 value)
{
	/* 3.1.1: a driver that gives up sets FAILED. */
	set_status(vp, VIRTIO_STATUS_FAILED);
	fail(EXIT_DEVICE_ERROR, "%s: %s (0x%lx)", vp->name, what, value);
}

void virtio_pci_fail_features(struct virtio_pci *vp, const char *what)
{
	refuse(vp, what, vp->device_features);
}

void virtio_pci_check(const struct virtio_pci *vp)
{
	u8 status = virtio_pci_status(vp);

	if (status & VIRTIO_STATUS_NEEDS_RESET)
		fail(EXIT_DEVICE_ERROR, "%s: device set DEVICE_NEEDS_RESET (status 0x%x)", vp->name,
		     status);
}

u64 virtio_pci_begin(struct virtio_pci *vp)
{
	u64 end;

	/* 3.1.1 step 1: reset; 4.1.4.3.2: wait until device_status reads 0. */
	mmio_write8(vp->common + COMMON_DEVICE_STATUS, 0);
	end = rdtsc() + timer_tsc_hz() / 1000000u * RESET_TIMEOUT_US;
	while (virtio_pci_status(vp) != 0) {
		if (rdtsc() > end)
			fail(EXIT_DEVICE_ERROR, "%s: device status stays 0x%x after reset",
			     vp->name, virtio_pci_status(vp));
		cpu_relax();
	}
	/* Steps 2 and 3: we noticed the device and know how to drive it. */
	set_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(vp, VIRTIO_STATUS_DRIVER);

	/* Step 4: read the device's features; the caller accepts only what
	 * it understands (an explicit mask, never "whatever is offered"). */
	mmio_write32(vp->common + COMMON_DEVICE_FEATURE_SELECT, 0);
	vp->device_features = mmio_read32(vp->common + COMMON_DEVICE_FEATURE);
	mmio_write32(vp->common + COMMON_DEVICE_FEATURE_SELECT, 1);
	vp->device_features |= (u64)mmio_read32(vp->common + COMMON_DEVICE_FEATURE) << 32;
	return vp->device_features;
}

void virtio_pci_set_features(struct virtio_pci *vp, u64 features)
{
	if (features & ~vp->device_features)
		refuse(vp, "driver asked for features the device does not offer",
		       features & ~vp->device_features);
	vp->driver_features = features;
	mmio_write32(vp->common + COMMON_DRIVER_FEATURE_SELECT, 0);
	mmio_write32(vp->common + COMMON_DRIVER_FEATURE, (u32)vp->driver_features);
	mmio_write32(vp->common + COMMON_DRIVER_FEATURE_SELECT, 1);
	mmio_write32(vp->common + COMMON_DRIVER_FEATURE, (u32)(vp->driver_features >> 32));

	/* Steps 5 and 6: FEATURES_OK, then re-read it: a device that does
	 * not accept our subset clears it. */
	set_status(vp, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_pci_status(vp) & VIRTIO_STATUS_FEATURES_OK))
		refuse(vp, "device did not accept features", vp->driver_features);
	console_printf(DEMO_NAME ": %s: device features 0x%lx, negotiated 0x%lx\n", vp->name,
		       vp->device_features, vp->driver_features);
}

void virtio_pci_driver_ok(struct virtio_pci *vp)
{
	/* 3.1.1 step 8: the device is live from here on. */
	set_status(vp, VIRTIO_STATUS_DRIVER_OK);
	virtio_pci_check(vp);
}

void virtio_pci_msix_enable(struct virtio_pci *vp, u16 entry, u8 vector, u32 apic_id)
{
	u16 control;
	u32 table;
	struct pci_bar bar;
	volatile u8 *slot;

	if (!vp->msix_cap)
		fail(EXIT_DEVICE_ERROR, "%s: no MSI-X capability (complete=irq needs one)",
		     vp->name);
	control = pci_read16(vp->pci, (u16)(vp->msix_cap + MSIX_CONTROL));
	table = pci_read32(vp->pci, (u16)(vp->msix_cap + MSIX_TABLE));
	if (entry > (control & MSIX_CONTROL_TABLE_SIZE))
		fail(EXIT_DEVICE_ERROR, "%s: MSI-X table has %u entries, entry %u wanted", vp->name,
		     (control & MSIX_CONTROL_TABLE_SIZE) + 1u, entry);
	if (pci_bar_info(vp->pci, table & 7u, &bar) != 0 || bar.io || bar.addr == 0 ||
	    (u64)(table & ~7u) + MSIX_ENTRY_SIZE * (entry + 1u) > bar.size)
		fail(EXIT_DEVICE_ERROR, "%s: MSI-X table at BAR%u + 0x%x is not usable", vp->name,
		     table & 7u, table & ~7u);
	if (paging_map(bar.addr, bar.size, MAP_UNCACHED) != 0)
		fail(EXIT_DEVICE_ERROR, "%s: cannot map MSI-X BAR%u at 0x%lx", vp->name, table & 7u,
		     bar.addr);
	/* Enable with every vector masked, program the entry, unmask. */
	pci_write16(vp->pci, (u16)(vp->msix_cap + MSIX_CONTROL),
		    (u16)(control | MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL));
	slot = (volatile u8 *)(size_t)(bar.addr + (table & ~7u) + MSIX_ENTRY_SIZE * entry);
	mmio_write32(slot + MSIX_ENTRY_ADDRESS_LOW, MSI_ADDRESS_BASE | (apic_id & 0xffu) << 12);
	mmio_write32(slot + MSIX_ENTRY_ADDRESS_HIGH, 0);
	mmio_write32(slot + MSIX_ENTRY_DATA, vector); /* fixed delivery, edge */
	mmio_write32(slot + MSIX_ENTRY_VECTOR_CONTROL, 0);
	pci_write16(vp->pci, (u16)(vp->msix_cap + MSIX_CONTROL),
		    (u16)((control | MSIX_CONTROL_ENABLE) & ~MSIX_CONTROL_MASK_ALL));
	mmio_write16(vp->common + COMMON_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	console_printf(DEMO_NAME ": %s: MSI-X entry %u -> vector 0x%x on APIC %u\n", vp->name,
		       entry, vector, apic_id);
}

u8 virtio_pci_isr(const struct virtio_pci *vp)
{
	return mmio_read8(vp->isr);
}

u16 virtio_pci_num_queues(const struct virtio_pci *vp)
{
	return mmio_read16(vp->common + COMMON_NUM_QUEUES);
}

u16 virtio_pci_queue_max(struct virtio_pci *vp, u16 index)
{
	mmio_write16(vp->common + COMMON_QUEUE_SELECT, index);
	return mmio_read16(vp->common + COMMON_QUEUE_SIZE);
}

volatile u16 *virtio_pci_queue_enable(struct virtio_pci *vp, u16 index, u16 size, u64 desc,
				      u64 driver, u64 device, u16 msix_vector)
{
	u64 notify_offset;
	u16 vector;

	/* 4.1.5.1.3: select the queue, write its size and ring addresses,
	 * then enable it. */
	mmio_write16(vp->common + COMMON_QUEUE_SELECT, index);
	mmio_write16(vp->common + COMMON_QUEUE_SIZE, size);
	mmio_write16(vp->common + COMMON_QUEUE_MSIX_VECTOR, msix_vector);
	vector = mmio_read16(vp->common + COMMON_QUEUE_MSIX_VECTOR);
	if (vector != msix_vector)
		refuse(vp, "device did not accept the queue's MSI-X vector", vector);
	mmio_write64_split(vp->common + COMMON_QUEUE_DESC, desc);
	mmio_write64_split(vp->common + COMMON_QUEUE_DRIVER, driver);
	mmio_write64_split(vp->common + COMMON_QUEUE_DEVICE, device);
	/* 4.1.4.4: the queue's notification address is
	 * cap.offset + queue_notify_off * notify_off_multiplier. */
	notify_offset =
	    (u64)mmio_read16(vp->common + COMMON_QUEUE_NOTIFY_OFF) * vp->notify_off_multiplier;
	if (notify_offset + 2 > vp->notify_length)
		refuse(vp, "queue notification address is outside the notify area", notify_offset);
	mmio_write16(vp->common + COMMON_QUEUE_ENABLE, 1);
	return (volatile u16 *)(vp->notify + notify_offset);
}
