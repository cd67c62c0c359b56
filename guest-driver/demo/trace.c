/* trace.c - the vqscope trace region: finds the ivshmem-plain device,
 * maps its BAR2 (shared memory backed by a host file, any power-of-two
 * size from 64 KiB to 1 GiB, wherever the firmware put it) and
 * initialises the region with the calibrated TSC as its clock. */
#include "demo.h"

#define IVSHMEM_VENDOR	     0x1af4
#define IVSHMEM_PLAIN_DEVICE 0x1110
#define IVSHMEM_SHARED_BAR   2

struct vq_trace demo_trace;
int demo_trace_ready;

void trace_setup(u64 tsc_hz)
{
	struct pci_device *d = pci_find(IVSHMEM_VENDOR, IVSHMEM_PLAIN_DEVICE, 0);
	struct vq_trace_config cfg = {
	    .producer = DEMO_NAME " " DEMO_VERSION " (x86_64 bare metal)",
	    .ts_hz = tsc_hz,
	    .ts_source = VQT_TS_TSC,
	};
	struct pci_bar bar;
	int rc;

	if (!d)
		fail(EXIT_NO_DEVICE,
		     "no ivshmem-plain device (PCI %04x:%04x) for the trace region; "
		     "start QEMU with -device ivshmem-plain,memdev=...",
		     IVSHMEM_VENDOR, IVSHMEM_PLAIN_DEVICE);
	if (pci_bar_info(d, IVSHMEM_SHARED_BAR, &bar) != 0 || bar.io || bar.size == 0)
		fail(EXIT_DEVICE_ERROR, "ivshmem-plain BAR%d is not a memory BAR",
		     IVSHMEM_SHARED_BAR);
	if (bar.addr == 0)
		fail(EXIT_DEVICE_ERROR,
		     "ivshmem-plain BAR%d (%lu bytes) was not assigned an address",
		     IVSHMEM_SHARED_BAR, bar.size);
	if (bar.size < VQT_REGION_MIN || bar.size > VQT_REGION_MAX || (bar.size & (bar.size - 1)))
		fail(EXIT_DEVICE_ERROR,
		     "ivshmem-plain BAR%d is %lu bytes; the trace region must be a power of two "
		     "from %u to %u bytes",
		     IVSHMEM_SHARED_BAR, bar.size, VQT_REGION_MIN, VQT_REGION_MAX);
	pci_enable(d);
	if (paging_map(bar.addr, bar.size, MAP_CACHED) != 0)
		fail(EXIT_DEVICE_ERROR, "cannot map ivshmem-plain BAR%d at 0x%lx (%lu bytes)",
		     IVSHMEM_SHARED_BAR, bar.addr, bar.size);
	rc = vq_trace_init(&demo_trace, (void *)(size_t)bar.addr, bar.size, &cfg);
	if (rc != VQ_TRACE_OK)
		fail(EXIT_INTERNAL, "vq_trace_init failed (%d) on %lu bytes at 0x%lx", rc, bar.size,
		     bar.addr);
	demo_trace_ready = 1;
	console_printf(DEMO_NAME ": trace region: ivshmem BAR%d at 0x%lx, %lu KiB%s\n",
		       IVSHMEM_SHARED_BAR, bar.addr, bar.size >> 10,
		       bar.is64 ? ", 64-bit BAR" : "");
}

void trace_selftest(u64 events, u64 tsc_hz)
{
	int q = vq_trace_register_queue(&demo_trace, &(struct vq_queue_info){
							 .device_type = 0,
							 .ring_size = 256,
							 .name = "selftest",
						     });
	u64 start, ticks;

	start = vq_trace_now(&demo_trace);
	for (u64 i = 0; i < events / 4; i++) {
		struct vq_poll_stats st = {.spins = 1, .rmb = 1, .start = start};
		u16 head = (u16)(i & 255);

		vq_trace_add(&demo_trace, q, head, (u16)i, 2, 4096, 1);
		vq_trace_kick(&demo_trace, q, (u16)(i + 1));
		vq_trace_poll(&demo_trace, q, &st, VQT_POLL_PROGRESS);
		vq_trace_used(&demo_trace, q, head, (u16)i, 24, 2);
	}
	ticks = vq_trace_now(&demo_trace) - start;
	console_printf(DEMO_NAME ": selftest: %lu events in %lu us, %lu ps/event\n", events / 4 * 4,
		       ticks * 1000000 / tsc_hz,
		       ticks * 1000000000 / tsc_hz * 1000 / (events / 4 * 4));
}
