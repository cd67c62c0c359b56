/* pci.c - PCI configuration space through the legacy 0xcf8/0xcfc
 * mechanism, enumeration of every bus reachable from bus 0 (following
 * PCI-to-PCI bridges, so devices behind q35 root ports are found too), BAR
 * decoding including 64-bit BARs, and capability lists. */
#include "demo.h"
#include "io.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA	   0xcfc

#define PCI_VENDOR_ID	    0x00
#define PCI_COMMAND	    0x04
#define PCI_STATUS	    0x06
#define PCI_CLASS_REVISION  0x08
#define PCI_HEADER_TYPE	    0x0e
#define PCI_BAR0	    0x10
#define PCI_SECONDARY_BUS   0x19
#define PCI_CAPABILITY_LIST 0x34

#define PCI_COMMAND_IO	    0x1
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_STATUS_CAP_LIST 0x10

#define PCI_BAR_IO	  0x1
#define PCI_BAR_TYPE_MASK 0x6
#define PCI_BAR_TYPE_64	  0x4
#define PCI_BAR_PREFETCH  0x8

#define PCI_CLASS_BRIDGE_PCI 0x0604

static struct pci_device devices[PCI_MAX_DEVICES];
static int ndevices;

static u32 config_address(u8 bus, u8 dev, u8 fn, u16 off)
{
	return 0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (off & 0xfcu);
}

static u32 raw_read32(u8 bus, u8 dev, u8 fn, u16 off)
{
	outl(PCI_CONFIG_ADDRESS, config_address(bus, dev, fn, off));
	return inl(PCI_CONFIG_DATA);
}

u32 pci_read32(const struct pci_device *d, u16 off)
{
	return raw_read32(d->bus, d->dev, d->fn, off);
}

u16 pci_read16(const struct pci_device *d, u16 off)
{
	return (u16)(pci_read32(d, off) >> ((off & 2u) * 8u));
}

u8 pci_read8(const struct pci_device *d, u16 off)
{
	return (u8)(pci_read32(d, off) >> ((off & 3u) * 8u));
}

void pci_write32(const struct pci_device *d, u16 off, u32 v)
{
	outl(PCI_CONFIG_ADDRESS, config_address(d->bus, d->dev, d->fn, off));
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_device *d, u16 off, u16 v)
{
	outl(PCI_CONFIG_ADDRESS, config_address(d->bus, d->dev, d->fn, off));
	outw((u16)(PCI_CONFIG_DATA + (off & 2u)), v);
}

static void scan_bus(u8 bus, unsigned depth);

static void scan_function(u8 bus, u8 dev, u8 fn, unsigned depth)
{
	u32 id = raw_read32(bus, dev, fn, PCI_VENDOR_ID);
	struct pci_device *d;

	if ((id & 0xffff) == 0xffff || ndevices == PCI_MAX_DEVICES)
		return;
	d = &devices[ndevices++];
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor = (u16)id;
	d->device = (u16)(id >> 16);
	d->class_code = pci_read32(d, PCI_CLASS_REVISION) >> 8;
	console_printf(DEMO_NAME ": pci %02x:%02x.%x %04x:%04x class %06x\n", bus, dev, fn,
		       d->vendor, d->device, d->class_code);
	if ((d->class_code >> 8) == PCI_CLASS_BRIDGE_PCI && depth < 8) {
		u8 secondary = pci_read8(d, PCI_SECONDARY_BUS);

		if (secondary > bus)
			scan_bus(secondary, depth + 1);
	}
}

static void scan_bus(u8 bus, unsigned depth)
{
	for (u8 dev = 0; dev < 32; dev++) {
		u32 id = raw_read32(bus, dev, 0, PCI_VENDOR_ID);
		u8 header;

		if ((id & 0xffff) == 0xffff)
			continue;
		header = (u8)(raw_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16);
		for (u8 fn = 0; fn < ((header & 0x80) ? 8 : 1); fn++)
			scan_function(bus, dev, fn, depth);
	}
}

int pci_enumerate(void)
{
	ndevices = 0;
	scan_bus(0, 0);
	return ndevices;
}

struct pci_device *pci_find(u16 vendor, u16 device, int n)
{
	for (int i = 0; i < ndevices; i++)
		if (devices[i].vendor == vendor && devices[i].device == device && n-- == 0)
			return &devices[i];
	return NULL;
}

int pci_bar_info(const struct pci_device *d, unsigned index, struct pci_bar *out)
{
	u16 off = (u16)(PCI_BAR0 + 4 * index);
	u16 command = pci_read16(d, PCI_COMMAND);
	u32 low = pci_read32(d, off), high = 0, size_low, size_high = 0;
	u64 mask;

	*out = (struct pci_bar){0};
	if (index > 5)
		return -1;
	out->io = low & PCI_BAR_IO;
	out->is64 = !out->io && (low & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
	out->prefetchable = !out->io && (low & PCI_BAR_PREFETCH);
	if (out->is64 && index == 5)
		return -1;

	/* Size the BAR: write all ones and read back the writable bits,
	 * with decoding off so the device is never at the probe address. */
	pci_write16(d, PCI_COMMAND, (u16)(command & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY)));
	pci_write32(d, off, 0xffffffffu);
	size_low = pci_read32(d, off);
	pci_write32(d, off, low);
	if (out->is64) {
		high = pci_read32(d, (u16)(off + 4));
		pci_write32(d, (u16)(off + 4), 0xffffffffu);
		size_high = pci_read32(d, (u16)(off + 4));
		pci_write32(d, (u16)(off + 4), high);
	}
	pci_write16(d, PCI_COMMAND, command);

	if (out->io) {
		out->addr = low & ~3u;
		mask = (size_low & ~3u) | 0xffff0000u;
		out->size = (u32)(~mask + 1);
	} else {
		out->addr = ((u64)high << 32) | (low & ~0xfu);
		mask = ((u64)(out->is64 ? size_high : 0xffffffffu) << 32) | (size_low & ~0xfu);
		out->size = ~mask + 1;
	}
	if ((size_low & ~0xfu) == 0 && size_high == 0)
		out->size = 0; /* BAR not implemented */
	return 0;
}

void pci_enable(const struct pci_device *d)
{
	pci_write16(d, PCI_COMMAND,
		    (u16)(pci_read16(d, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
}

u8 pci_find_cap(const struct pci_device *d, u8 id, u8 from)
{
	u8 off;
	unsigned guard = 0;

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = from ? pci_read8(d, (u16)(from + 1)) : pci_read8(d, PCI_CAPABILITY_LIST);
	/* A capability list is at most 48 entries of 4 bytes in 192 bytes;
	 * the guard stops a looping list. */
	while (off >= 0x40 && guard++ < 48) {
		off &= 0xfc;
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, (u16)(off + 1));
	}
	return 0;
}
