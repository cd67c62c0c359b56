/* gpu.c - a virtio-gpu 2D driver (virtio 1.2 5.7) for the demo guest.
 *
 * Every command is synchronous, like the hobby-OS driver of the case
 * study: request and response buffers are added as one two-descriptor
 * chain, the device is notified, and the driver spins in poll_used()
 * (virtqueue.c) until the device has used the chain.
 */
#include "gpu.h"
#include "io.h"

/* 5.7.4 device configuration layout. */
#define GPU_CFG_NUM_SCANOUTS 8

/* 5.7.6.7 command and response types. */
#define VIRTIO_GPU_CMD_GET_DISPLAY_INFO	       0x0100u
#define VIRTIO_GPU_CMD_RESOURCE_CREATE_2D      0x0101u
#define VIRTIO_GPU_CMD_SET_SCANOUT	       0x0103u
#define VIRTIO_GPU_CMD_RESOURCE_FLUSH	       0x0104u
#define VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D     0x0105u
#define VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING 0x0106u
#define VIRTIO_GPU_RESP_OK_NODATA	       0x1100u
#define VIRTIO_GPU_RESP_OK_DISPLAY_INFO	       0x1101u
#define VIRTIO_GPU_RESP_ERR_UNSPEC	       0x1200u

#define VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM 2u
#define VIRTIO_GPU_MAX_SCANOUTS		 16

#define GPU_QUEUE_MAX	      64u /* entries per queue we ask for */
#define GPU_COMMAND_TIMEOUT_S 5u  /* TCG on a busy host is slow */

struct virtio_gpu_ctrl_hdr {
	u32 type;
	u32 flags;
	u64 fence_id;
	u32 ctx_id;
	u8 ring_idx;
	u8 padding[3];
};

struct virtio_gpu_rect {
	u32 x, y, width, height;
};

struct virtio_gpu_resp_display_info {
	struct virtio_gpu_ctrl_hdr hdr;
	struct {
		struct virtio_gpu_rect r;
		u32 enabled;
		u32 flags;
	} pmodes[VIRTIO_GPU_MAX_SCANOUTS];
};

struct virtio_gpu_resource_create_2d {
	struct virtio_gpu_ctrl_hdr hdr;
	u32 resource_id;
	u32 format;
	u32 width;
	u32 height;
};

struct virtio_gpu_resource_attach_backing {
	struct virtio_gpu_ctrl_hdr hdr;
	u32 resource_id;
	u32 nr_entries;
	struct virtio_gpu_mem_entry {
		u64 addr;
		u32 length;
		u32 padding;
	} entries[1];
};

struct virtio_gpu_set_scanout {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_rect r;
	u32 scanout_id;
	u32 resource_id;
};

struct virtio_gpu_transfer_to_host_2d {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_rect r;
	u64 offset;
	u32 resource_id;
	u32 padding;
};

struct virtio_gpu_resource_flush {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_rect r;
	u32 resource_id;
	u32 padding;
};

_Static_assert(sizeof(struct virtio_gpu_ctrl_hdr) == 24, "5.7.6.7 ctrl_hdr");
_Static_assert(sizeof(struct virtio_gpu_resp_display_info) == 24 + 16 * 24, "display info");
_Static_assert(sizeof(struct virtio_gpu_transfer_to_host_2d) == 56, "transfer_to_host_2d");

/* One request and one response buffer: commands are synchronous. */
static union {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resource_create_2d create;
	struct virtio_gpu_resource_attach_backing attach;
	struct virtio_gpu_set_scanout scanout;
	struct virtio_gpu_transfer_to_host_2d transfer;
	struct virtio_gpu_resource_flush flush;
} request __attribute__((aligned(64)));

static union {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resp_display_info display;
} response __attribute__((aligned(64)));

static const char *command_name(u32 type)
{
	static const char *const names[] = {
	    "GET_DISPLAY_INFO", "RESOURCE_CREATE_2D",  "RESOURCE_UNREF",	  "SET_SCANOUT",
	    "RESOURCE_FLUSH",	"TRANSFER_TO_HOST_2D", "RESOURCE_ATTACH_BACKING",
	};

	if (type >= VIRTIO_GPU_CMD_GET_DISPLAY_INFO && type - VIRTIO_GPU_CMD_GET_DISPLAY_INFO < 7)
		return names[type - VIRTIO_GPU_CMD_GET_DISPLAY_INFO];
	return "?";
}

static const char *response_name(u32 type)
{
	static const char *const errors[] = {
	    "ERR_UNSPEC",
	    "ERR_OUT_OF_MEMORY",
	    "ERR_INVALID_SCANOUT_ID",
	    "ERR_INVALID_RESOURCE_ID",
	    "ERR_INVALID_CONTEXT_ID",
	    "ERR_INVALID_PARAMETER",
	};

	if (type >= VIRTIO_GPU_RESP_ERR_UNSPEC && type - VIRTIO_GPU_RESP_ERR_UNSPEC < 6)
		return errors[type - VIRTIO_GPU_RESP_ERR_UNSPEC];
	return "unexpected response";
}

/* Send the request in `request` (len bytes), wait for the device, and
 * check that the response has the expected type. */
static void gpu_command(struct gpu *g, u32 len, u32 response_len, u32 expected)
{
	struct virtq_buffer bufs[2] = {
	    {&request, len, 0},
	    {&response, response_len, 1},
	};
	u32 type = request.hdr.type, written = 0, answer;
	u16 head;
	int id;

	response.hdr.type = 0;
	head = virtq_add(&g->control, bufs, 2);
	virtq_kick(&g->control);
	virtq_wait(&g->control, g->opts->barrier, g->timeout_ticks);
	id = virtq_reap(&g->control, &written);
	if (id != head)
		fail(EXIT_DEVICE_ERROR, "%s: used id %d is not the only request in flight (%u)",
		     g->control.name, id, head);
	/* The response was written by the device: check it before use. */
	answer = *(volatile u32 *)&response.hdr.type;
	if (written < sizeof(struct virtio_gpu_ctrl_hdr) || answer != expected) {
		vq_trace_error(&demo_trace, g->control.trace_slot, VQT_ERR_DEVICE, answer);
		fail(EXIT_DEVICE_ERROR, "%s: %s failed: device answered 0x%x (%s), %u bytes",
		     g->vp.name, command_name(type), answer, response_name(answer), written);
	}
}

static void command_header(u32 type)
{
	memset(&request, 0, sizeof(request));
	request.hdr.type = type;
}

static void get_display_info(struct gpu *g)
{
	const struct virtio_gpu_rect *r;

	command_header(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
	gpu_command(g, sizeof(request.hdr), sizeof(response.display),
		    VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	g->scanout = 0;
	r = &response.display.pmodes[0].r;
	if (!response.display.pmodes[0].enabled || r->width == 0 || r->height == 0)
		fail(EXIT_DEVICE_ERROR, "%s: scanout 0 is not enabled (%ux%u)", g->vp.name,
		     r->width, r->height);
	g->width = g->opts->width ? g->opts->width : r->width;
	g->height = g->opts->height ? g->opts->height : r->height;
	console_printf(DEMO_NAME ": %s: scanout 0 preferred mode %ux%u, using %ux%u\n", g->vp.name,
		       r->width, r->height, g->width, g->height);
}

static void create_resource(struct gpu *g)
{
	u64 bytes;

	g->resource_id = 1;
	g->stride = g->width * 4;
	bytes = (u64)g->stride * g->height;
	g->pixels = memory_alloc(bytes, "framebuffer");

	command_header(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D);
	request.create.resource_id = g->resource_id;
	request.create.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM;
	request.create.width = g->width;
	request.create.height = g->height;
	gpu_command(g, sizeof(request.create), sizeof(response.hdr), VIRTIO_GPU_RESP_OK_NODATA);

	/* 5.7.6.8: the backing is one physically contiguous entry. */
	command_header(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING);
	request.attach.resource_id = g->resource_id;
	request.attach.nr_entries = 1;
	request.attach.entries[0].addr = (u64)(size_t)g->pixels;
	request.attach.entries[0].length = (u32)bytes;
	gpu_command(g, sizeof(request.attach), sizeof(response.hdr), VIRTIO_GPU_RESP_OK_NODATA);

	command_header(VIRTIO_GPU_CMD_SET_SCANOUT);
	request.scanout.r = (struct virtio_gpu_rect){0, 0, g->width, g->height};
	request.scanout.scanout_id = g->scanout;
	request.scanout.resource_id = g->resource_id;
	gpu_command(g, sizeof(request.scanout), sizeof(response.hdr), VIRTIO_GPU_RESP_OK_NODATA);
}

void gpu_init(struct gpu *g, const struct demo_options *opts)
{
	struct pci_device *pci =
	    pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_MODERN_BASE + VIRTIO_ID_GPU, 0);
	u32 scanouts;

	if (!pci)
		fail(EXIT_NO_DEVICE,
		     "no virtio-gpu-pci device (PCI %04x:%04x); start QEMU with "
		     "-device virtio-gpu-pci",
		     VIRTIO_PCI_VENDOR, VIRTIO_PCI_MODERN_BASE + VIRTIO_ID_GPU);
	*g = (struct gpu){.opts = opts};
	g->timeout_ticks = timer_tsc_hz() * GPU_COMMAND_TIMEOUT_S;
	virtio_pci_attach(&g->vp, pci, "gpu0");

	/* 3.1.1 steps 1-6.  Only VIRTIO_F_VERSION_1: no 3D (VIRGL), EDID,
	 * blob resources or event index. */
	virtio_pci_negotiate(&g->vp, 1ull << VIRTIO_F_VERSION_1, 1ull << VIRTIO_F_VERSION_1);

	/* Step 7: device-specific setup.  5.7.2: controlq is 0, cursorq 1. */
	scanouts = mmio_read32(g->vp.device_cfg + GPU_CFG_NUM_SCANOUTS);
	if (scanouts == 0 || scanouts > VIRTIO_GPU_MAX_SCANOUTS)
		fail(EXIT_DEVICE_ERROR, "%s: device reports %u scanouts (1..%u)", g->vp.name,
		     scanouts, VIRTIO_GPU_MAX_SCANOUTS);
	if (virtio_pci_num_queues(&g->vp) < 2)
		fail(EXIT_DEVICE_ERROR, "%s: device has %u queues, virtio-gpu needs 2", g->vp.name,
		     virtio_pci_num_queues(&g->vp));
	if (opts->complete_irq) {
		lapic_init();
		virtio_pci_msix_enable(&g->vp, 0, VECTOR_QUEUE, lapic_id());
		/* QEMU's APIC timer counts nanoseconds: a wake-up every
		 * 10 ms bounds a wait for a lost interrupt. */
		lapic_timer_periodic(VECTOR_TIMER, 10000000u);
		/* From here on interrupts are on, except while a wait checks
		 * used.idx before sleeping (virtqueue.c). */
		__asm__ __volatile__("sti" ::: "memory");
	}
	virtq_setup(&g->control, &g->vp, 0, GPU_QUEUE_MAX, "gpu0.control",
		    opts->complete_irq ? 0 : VIRTIO_MSI_NO_VECTOR);
	virtq_setup(&g->cursor, &g->vp, 1, GPU_QUEUE_MAX, "gpu0.cursor", VIRTIO_MSI_NO_VECTOR);

	/* Step 8. */
	virtio_pci_driver_ok(&g->vp);

	get_display_info(g);
	create_resource(g);
}

static void transfer_and_flush(struct gpu *g, u32 y, u32 height)
{
	struct virtio_gpu_rect r = {0, y, g->width, height};

	/* 5.7.6.8 TRANSFER_TO_HOST_2D: offset is where the rectangle
	 * starts in the backing. */
	command_header(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D);
	request.transfer.r = r;
	request.transfer.offset = (u64)y * g->stride;
	request.transfer.resource_id = g->resource_id;
	gpu_command(g, sizeof(request.transfer), sizeof(response.hdr), VIRTIO_GPU_RESP_OK_NODATA);

	command_header(VIRTIO_GPU_CMD_RESOURCE_FLUSH);
	request.flush.r = r;
	request.flush.resource_id = g->resource_id;
	gpu_command(g, sizeof(request.flush), sizeof(response.hdr), VIRTIO_GPU_RESP_OK_NODATA);
}

u32 gpu_present(struct gpu *g)
{
	u32 commands = 0;

	if (g->opts->flush == FLUSH_FRAME) {
		transfer_and_flush(g, 0, g->height);
		return 2;
	}
	for (u32 y = 0; y < g->height; y += g->opts->lines) {
		u32 band = g->height - y < g->opts->lines ? g->height - y : g->opts->lines;

		transfer_and_flush(g, y, band);
		commands += 2;
	}
	return commands;
}
