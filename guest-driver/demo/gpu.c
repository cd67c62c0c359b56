/* gpu.c - a virtio-gpu 2D driver (virtio 1.2 5.7) for the demo guest.
 *
 * Each command is a request and a response buffer added as one chain.
 * With depth=1 every command is synchronous, like the hobby-OS driver of
 * the case study: add, notify, wait in virtq_wait() (virtqueue.c), take.
 * With depth=N up to N commands are in flight: a frame's transfers and
 * flushes are posted band by band, one kick decision per band, and taken
 * as they complete, in whatever order; the frame ends once all are back,
 * because the next frame draws into the same backing.  Display setup is
 * always synchronous, and includes the driver's self-test of its ring: a
 * command scattered over every descriptor.
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

#define GPU_QUEUE_MAX 64u /* entries per queue we ask for */

struct virtio_gpu_ctrl_hdr {
	u32 type;
	u32 flags;
	u64 fence_id;
	u32 ctx_id;
	u8 ring_idx;
	u8 padding[3];
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

/* One command: its request and response buffers, in flight until the
 * device has used them.  A pool of the queue's size (struct gpu). */
struct gpu_command {
	union {
		struct virtio_gpu_ctrl_hdr hdr;
		struct virtio_gpu_resource_create_2d create;
		struct virtio_gpu_resource_attach_backing attach;
		struct virtio_gpu_set_scanout scanout;
		struct virtio_gpu_transfer_to_host_2d transfer;
		struct virtio_gpu_resource_flush flush;
	} request __attribute__((aligned(64)));
	union {
		struct virtio_gpu_ctrl_hdr hdr;
		struct virtio_gpu_resp_display_info display;
		u8 bytes[512];
	} response __attribute__((aligned(64)));
	u32 request_len;
	u32 response_len; /* bytes the response buffer holds */
	u32 claimed_len;  /* bug=len-overflow: what its descriptor says */
	u32 expected;	  /* the response type it must get */
	struct gpu_command *next_free;
};

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

/* ---- commands in flight ------------------------------------------------------ */

/* Check a used command's response and give the command back. */
static void command_complete(struct gpu *g, struct gpu_command *c, u32 written)
{
	/* The response was written by the device: check it before use. */
	u32 answer = *(volatile u32 *)&c->response.hdr.type;

	if (written < sizeof(struct virtio_gpu_ctrl_hdr) || answer != c->expected) {
		vq_trace_error(&demo_trace, g->control.trace_slot, VQT_ERR_DEVICE, answer);
		fail(EXIT_DEVICE_ERROR, "%s: %s failed: device answered 0x%x (%s), %u bytes",
		     g->vp.name, command_name(c->request.hdr.type), answer, response_name(answer),
		     written);
	}
	if (written > c->response_len && g->overflows++ == 0)
		console_printf(DEMO_NAME ": %s: %s: the device wrote %u bytes into a %u-byte "
					 "response buffer whose descriptor said %u\n",
			       g->control.name, command_name(c->request.hdr.type), written,
			       c->response_len, c->claimed_len ? c->claimed_len : c->response_len);
	if (answer == VIRTIO_GPU_RESP_OK_DISPLAY_INFO) {
		g->mode = c->response.display.pmodes[0].r;
		g->mode_enabled = c->response.display.pmodes[0].enabled;
	}
	c->next_free = g->free_commands;
	g->free_commands = c;
}

/* Notify what was added, wait until the device used something, and take
 * everything the wait saw. */
static void reap_some(struct gpu *g)
{
	struct virtq *vq = &g->control;
	struct gpu_command *c;
	u32 written = 0;

	virtq_kick(vq);
	if (vq->in_flight == 0) {
		/* Only a driver that lost chains gets here (bug=leak). */
		vq_trace_error(&demo_trace, vq->trace_slot, VQT_ERR_RING_FULL, vq->num_free);
		fail(EXIT_DEVICE_ERROR,
		     "%s: the ring ran dry: %u of %u descriptors free, nothing in flight to wait "
		     "for: %u descriptors were never returned",
		     vq->name, vq->num_free, vq->size, (u32)(vq->size - vq->num_free));
	}
	virtq_wait(vq);
	while ((c = virtq_get_used(vq, &written)))
		command_complete(g, c, written);
	virtq_rearm(vq);
}

static void drain(struct gpu *g)
{
	while (g->control.in_flight)
		reap_some(g);
}

/* Post one command as a request and a response buffer, waiting first
 * while depth= commands are in flight or the ring lacks room. */
static void command_post(struct gpu *g, struct gpu_command *c)
{
	struct virtq_buffer bufs[2] = {
	    {&c->request, c->request_len, 0, 0},
	    {&c->response, c->response_len, 1, c->claimed_len},
	};

	while (g->control.in_flight >= g->opts->depth || !virtq_has_room(&g->control, 2))
		reap_some(g);
	c->response.hdr.type = 0;
	virtq_add(&g->control, bufs, 2, c);
}

static struct gpu_command *command_get(struct gpu *g, u32 type, u32 request_len, u32 expected)
{
	struct gpu_command *c;

	while (!g->free_commands)
		reap_some(g);
	c = g->free_commands;
	g->free_commands = c->next_free;
	memset(&c->request, 0, sizeof(c->request));
	c->request.hdr.type = type;
	c->request_len = request_len;
	c->response_len = expected == VIRTIO_GPU_RESP_OK_DISPLAY_INFO
			      ? sizeof(struct virtio_gpu_resp_display_info)
			      : sizeof(struct virtio_gpu_ctrl_hdr);
	c->claimed_len = 0;
	c->expected = expected;
	return c;
}

/* A command on its own: post, notify, wait for it. */
static void command_sync(struct gpu *g, struct gpu_command *c)
{
	command_post(g, c);
	drain(g);
}

/* ---- display setup ------------------------------------------------------------- */

static void get_display_info(struct gpu *g)
{
	const struct virtio_gpu_rect *r = &g->mode;

	command_sync(g, command_get(g, VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
				    sizeof(struct virtio_gpu_ctrl_hdr),
				    VIRTIO_GPU_RESP_OK_DISPLAY_INFO));
	g->scanout = 0;
	if (!g->mode_enabled || r->width == 0 || r->height == 0)
		fail(EXIT_DEVICE_ERROR, "%s: scanout 0 is not enabled (%ux%u)", g->vp.name,
		     r->width, r->height);
	g->width = g->opts->width ? g->opts->width : r->width;
	g->height = g->opts->height ? g->opts->height : r->height;
	console_printf(DEMO_NAME ": %s: scanout 0 preferred mode %ux%u, using %ux%u\n", g->vp.name,
		       r->width, r->height, g->width, g->height);
}

/* The driver's self-test of its ring: GET_DISPLAY_INFO again, scattered
 * over every descriptor of the ring (2.7.13.1, 2.8.21.1: a chain as long
 * as the queue is allowed), the request one byte per descriptor as far as
 * it goes, then one-byte pads the device ignores, then the response.  A
 * packed ring crosses its end inside this chain (2.8.1).  The answer must
 * be the first one. */
static void scattered_display_info(struct gpu *g)
{
	struct virtq *vq = &g->control;
	struct gpu_command *c =
	    command_get(g, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, sizeof(struct virtio_gpu_ctrl_hdr),
			VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	struct virtq_buffer *bufs = g->scatter;
	const u8 *request = (const u8 *)&c->request;
	struct virtio_gpu_rect first = g->mode;
	u32 readable = (u32)vq->size - 1, offset = 0;

	for (u32 n = 0; n < readable; n++) {
		u32 len = n + 1 < readable ? 1 : c->request_len - offset;

		if (offset >= c->request_len)
			bufs[n] = (struct virtq_buffer){&g->pad[n], 1, 0, 0};
		else
			bufs[n] = (struct virtq_buffer){request + offset, len, 0, 0};
		offset += len;
	}
	bufs[readable] = (struct virtq_buffer){&c->response, c->response_len, 1, 0};
	drain(g); /* the whole ring must be free */
	c->response.hdr.type = 0;
	virtq_add(vq, bufs, vq->size, c);
	drain(g);
	if (g->mode.x != first.x || g->mode.y != first.y || g->mode.width != first.width ||
	    g->mode.height != first.height)
		fail(EXIT_DEVICE_ERROR,
		     "%s: self-test: a %u-descriptor chain got display mode %ux%u, the first "
		     "answer was %ux%u",
		     vq->name, vq->size, g->mode.width, g->mode.height, first.width, first.height);
	console_printf(DEMO_NAME ": %s: self-test: a chain of all %u descriptors got the same "
				 "display info\n",
		       vq->name, vq->size);
}

static void create_resource(struct gpu *g)
{
	struct gpu_command *c;
	u64 bytes;

	g->resource_id = 1;
	g->stride = g->width * 4;
	bytes = (u64)g->stride * g->height;
	g->pixels = memory_alloc(bytes, "framebuffer");

	c = command_get(g, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(c->request.create),
			VIRTIO_GPU_RESP_OK_NODATA);
	c->request.create.resource_id = g->resource_id;
	c->request.create.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM;
	c->request.create.width = g->width;
	c->request.create.height = g->height;
	command_sync(g, c);

	/* 5.7.6.8: the backing is one physically contiguous entry. */
	c = command_get(g, VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, sizeof(c->request.attach),
			VIRTIO_GPU_RESP_OK_NODATA);
	c->request.attach.resource_id = g->resource_id;
	c->request.attach.nr_entries = 1;
	c->request.attach.entries[0].addr = (u64)(size_t)g->pixels;
	c->request.attach.entries[0].length = (u32)bytes;
	command_sync(g, c);

	c = command_get(g, VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(c->request.scanout),
			VIRTIO_GPU_RESP_OK_NODATA);
	c->request.scanout.r = (struct virtio_gpu_rect){0, 0, g->width, g->height};
	c->request.scanout.scanout_id = g->scanout;
	c->request.scanout.resource_id = g->resource_id;
	command_sync(g, c);
}

/* 3.1.1 step 4: VERSION_1, and EVENT_IDX and RING_PACKED as the options
 * say; no 3D (VIRGL), EDID, blob resources or indirect descriptors. */
static void negotiate(struct gpu *g, const struct demo_options *opts)
{
	u64 offered = virtio_pci_begin(&g->vp);
	u64 features = 1ull << VIRTIO_F_VERSION_1;

	if (!(offered & (1ull << VIRTIO_F_VERSION_1)))
		virtio_pci_fail_features(&g->vp, "device does not offer VIRTIO_F_VERSION_1");
	if (opts->event_idx != EVENT_IDX_OFF && (offered & (1ull << VIRTIO_RING_F_EVENT_IDX)))
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	else if (opts->event_idx == EVENT_IDX_ON)
		virtio_pci_fail_features(&g->vp, "event_idx=on, but the device does not offer "
						 "VIRTIO_RING_F_EVENT_IDX");
	else if (opts->bug == BUG_STALE_USED_EVENT)
		virtio_pci_fail_features(&g->vp, "bug=stale-used-event needs "
						 "VIRTIO_RING_F_EVENT_IDX, which the device does "
						 "not offer");
	if (opts->packed) {
		if (!(offered & (1ull << VIRTIO_F_RING_PACKED)))
			virtio_pci_fail_features(&g->vp, "packed=on, but the device does not offer "
							 "VIRTIO_F_RING_PACKED (start QEMU with "
							 "-device virtio-gpu-pci,packed=on)");
		features |= 1ull << VIRTIO_F_RING_PACKED;
	}
	virtio_pci_set_features(&g->vp, features);
}

void gpu_init(struct gpu *g, const struct demo_options *opts)
{
	struct pci_device *pci =
	    pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_MODERN_BASE + VIRTIO_ID_GPU, 0);
	u32 scanouts;
	u16 size;

	if (!pci)
		fail(EXIT_NO_DEVICE,
		     "no virtio-gpu-pci device (PCI %04x:%04x); start QEMU with "
		     "-device virtio-gpu-pci",
		     VIRTIO_PCI_VENDOR, VIRTIO_PCI_MODERN_BASE + VIRTIO_ID_GPU);
	*g = (struct gpu){.opts = opts};
	virtio_pci_attach(&g->vp, pci, "gpu0");

	/* 3.1.1 steps 1-6. */
	negotiate(g, opts);

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
		 * 10 ms to check a wait's deadline. */
		lapic_timer_periodic(VECTOR_TIMER, 10000000u);
		/* From here on interrupts are on, except while a wait decides
		 * to sleep (virtqueue.c). */
		__asm__ __volatile__("sti" ::: "memory");
	}
	virtq_setup(&g->control, &g->vp, 0, GPU_QUEUE_MAX, "gpu0.control",
		    opts->complete_irq ? 0 : VIRTIO_MSI_NO_VECTOR, opts);
	virtq_setup(&g->cursor, &g->vp, 1, GPU_QUEUE_MAX, "gpu0.cursor", VIRTIO_MSI_NO_VECTOR,
		    opts);
	size = g->control.size;
	if (size < 2)
		fail(EXIT_DEVICE_ERROR, "%s: %u entries, a command needs 2", g->control.name, size);
	if (opts->depth > size)
		fail(EXIT_BAD_OPTION, "bad value '%u' for depth= (%s has %u entries)", opts->depth,
		     g->control.name, size);
	g->commands = memory_alloc(sizeof(struct gpu_command) * size, "gpu commands");
	for (u16 i = 0; i < size; i++) {
		g->commands[i].next_free = g->free_commands;
		g->free_commands = &g->commands[i];
	}
	g->scatter = memory_alloc(sizeof(struct virtq_buffer) * size, "scatter list");
	g->pad = memory_alloc(size, "scatter pads");

	/* Step 8. */
	virtio_pci_driver_ok(&g->vp);

	get_display_info(g);
	scattered_display_info(g);
	create_resource(g);
}

/* One band's TRANSFER_TO_HOST_2D and RESOURCE_FLUSH, posted together:
 * the device runs a control queue's commands in order (5.7.6), so the
 * flush sees the transferred pixels. */
static void post_band(struct gpu *g, u32 y, u32 height)
{
	struct virtio_gpu_rect r = {0, y, g->width, height};
	struct gpu_command *c;

	/* 5.7.6.8 TRANSFER_TO_HOST_2D: offset is where the rectangle
	 * starts in the backing. */
	c = command_get(g, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(c->request.transfer),
			VIRTIO_GPU_RESP_OK_NODATA);
	c->request.transfer.r = r;
	c->request.transfer.offset = (u64)y * g->stride;
	c->request.transfer.resource_id = g->resource_id;
	command_post(g, c);

	c = command_get(g, VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(c->request.flush),
			VIRTIO_GPU_RESP_OK_NODATA);
	c->request.flush.r = r;
	c->request.flush.resource_id = g->resource_id;
	command_post(g, c);
	/* One kick decision per band. */
	virtq_kick(&g->control);
}

u32 gpu_present(struct gpu *g)
{
	u32 commands = 0;

	if (g->opts->bug == BUG_LEN_OVERFLOW) {
		/* The bug: a mode check each frame whose answer goes into the
		 * small response buffer of ordinary commands, while the
		 * descriptor claims the size of the answer it expects. */
		struct gpu_command *c = command_get(g, VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
						    sizeof(struct virtio_gpu_ctrl_hdr),
						    VIRTIO_GPU_RESP_OK_DISPLAY_INFO);

		c->claimed_len = c->response_len;
		c->response_len = sizeof(struct virtio_gpu_ctrl_hdr);
		command_post(g, c);
		commands++;
	}
	if (g->opts->flush == FLUSH_FRAME) {
		post_band(g, 0, g->height);
		commands += 2;
	} else {
		for (u32 y = 0; y < g->height; y += g->opts->lines) {
			u32 band = g->height - y < g->opts->lines ? g->height - y : g->opts->lines;

			post_band(g, y, band);
			commands += 2;
		}
	}
	/* The next frame draws into the same backing: wait for every
	 * transfer. */
	drain(g);
	return commands;
}
