/* main.c - the demo guest's boot sequence and animation loop.
 *
 * Boot: serial console, kernel command line (and the bug= banner), PCI
 * enumeration, ACPI PM block, TSC calibration, trace region (ivshmem
 * BAR2), virtio-gpu.  Then one frame after another: draw the wheel,
 * present it with the chosen flush mode, optionally print the per-frame
 * counter line, each frame bracketed by FRAME_BEGIN / FRAME_END events.
 * After frames=N, the driver checks its own queue bookkeeping and powers
 * off.
 */
#include "demo.h"
#include "gpu.h"
#include "scene.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_MEMORY	   (1u << 0)
#define MULTIBOOT_INFO_CMDLINE	   (1u << 2)
#define IDENTITY_MAPPED_TOP	   (1ull << 30) /* boot.S maps the first GiB */

struct multiboot_info {
	u32 flags;
	u32 mem_lower; /* KiB below 1 MiB */
	u32 mem_upper; /* KiB from 1 MiB up to the first hole */
	u32 boot_device;
	u32 cmdline;
};

extern char __kernel_end[];

static char cmdline[1024];
static struct demo_options opts;
static struct gpu gpu;

void demo_main(u32 magic, u32 info_addr);

/* Copy what we need from the multiboot information before the page
 * allocator reuses the memory it lives in (QEMU puts it right after the
 * kernel image).  Returns the top of usable RAM. */
static u64 read_multiboot(u32 magic, u32 info_addr)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)(size_t)info_addr;
	u64 top;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		fail(EXIT_INTERNAL, "not started by a multiboot loader (magic 0x%x)", magic);
	if (mbi->flags & MULTIBOOT_INFO_CMDLINE) {
		const char *s = (const char *)(size_t)mbi->cmdline;
		size_t n = strlen(s);

		if (n >= sizeof(cmdline))
			fail(EXIT_BAD_OPTION,
			     "kernel command line is %lu bytes, at most %lu allowed", (u64)n,
			     (u64)sizeof(cmdline) - 1);
		memcpy(cmdline, s, n + 1);
	}
	if (!(mbi->flags & MULTIBOOT_INFO_MEMORY))
		fail(EXIT_INTERNAL, "multiboot loader gave no memory size");
	top = (1ull << 20) + (u64)mbi->mem_upper * 1024;
	return top < IDENTITY_MAPPED_TOP ? top : IDENTITY_MAPPED_TOP;
}

/* TSC at the start and end of the frame loop, for the done line. */
static u64 loop_start, loop_end;

static void run_frames(void)
{
	struct virtq_totals *t = &gpu.control.totals;

	console_printf(
	    DEMO_NAME ": running: barrier=%s flush=%s lines=%u log=%s uart=%s "
		      "frames=%lu complete=%s event_idx=%s packed=%s depth=%u bug=%s\n",
	    barrier_policy_name(opts.barrier), opts.flush == FLUSH_FRAME ? "frame" : "line",
	    opts.lines, opts.log_frame ? "frame" : "off", opts.uart_paced ? "115200" : "fast",
	    opts.frames, opts.complete_irq ? "irq" : "poll", gpu.control.event_idx ? "on" : "off",
	    gpu.control.packed ? "on" : "off", opts.depth, bug_name(opts.bug));
	loop_start = vq_trace_now(&demo_trace);
	for (u64 frame = 0; opts.frames == 0 || frame < opts.frames; frame++) {
		struct virtq_totals before = *t;
		u32 commands;

		vq_trace_frame_begin(&demo_trace, frame);
		scene_draw(frame);
		commands = gpu_present(&gpu);
		if (opts.log_frame)
			/* The line the hobby-OS team printed every frame. */
			console_printf("[VIRTIO PERF] fences=%lu spins=%lu completions=%lu\n",
				       t->fences - before.fences, t->spins - before.spins,
				       t->completions - before.completions);
		vq_trace_frame_end(&demo_trace, frame, commands);
	}
	loop_end = vq_trace_now(&demo_trace);
}

void demo_main(u32 magic, u32 info_addr)
{
	u64 ram_top, tsc_hz;

	console_init();
	ram_top = read_multiboot(magic, info_addr);
	console_printf(DEMO_NAME " " DEMO_VERSION ": booting, command line \"%s\"\n", cmdline);
	options_parse(&opts, cmdline);
	if (opts.bug != BUG_NONE)
		console_printf(DEMO_NAME ": bug=%s is on: %s\n", bug_name(opts.bug),
			       bug_description(opts.bug));
	memory_init((u64)(size_t)__kernel_end, ram_top);

	if (pci_enumerate() == 0)
		fail(EXIT_NO_DEVICE, "no PCI devices found");
	power_init();
	tsc_hz = timer_calibrate();
	console_printf(DEMO_NAME ": TSC %lu Hz\n", tsc_hz);
	console_set_paced(opts.uart_paced, tsc_hz);
	trace_setup(tsc_hz);
	console_attach_trace(&demo_trace);
	if (opts.selftest) {
		trace_selftest(opts.selftest, tsc_hz);
		power_off();
	}

	gpu_init(&gpu, &opts);
	scene_init(gpu.pixels, gpu.width, gpu.height, gpu.stride / 4);
	run_frames();
	virtq_self_check(&gpu.control);
	virtq_self_check(&gpu.cursor);
	console_printf(DEMO_NAME ": done: %lu frames, %lu commands, %lu kicks, %lu spins, %lu "
				 "interrupts, %lu us\n",
		       opts.frames, gpu.control.totals.completions, gpu.control.totals.kicks,
		       gpu.control.totals.spins, gpu.control.totals.irqs,
		       (loop_end - loop_start) * 1000000 / tsc_hz);
	power_off();
}
