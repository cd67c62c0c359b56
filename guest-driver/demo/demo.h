/* demo.h - the modules of the vqscope demo guest and what they export.
 *
 * The demo guest is a bare-metal x86-64 kernel booted by QEMU -kernel
 * (multiboot).  It drives a virtio-gpu-pci device through the modern
 * virtio-pci transport, animates a spinning wheel, and exports every
 * virtqueue operation into the vqscope trace region found in the BAR2 of
 * an ivshmem-plain device.  See docs/guest.md for its options.
 */
#ifndef DEMO_H
#define DEMO_H

#include <stdarg.h>
#include <stddef.h>

#include "vqscope_guest.h"

#ifdef VQDEMO_UNTRACED
/* The benchmarks' baseline (bench/): the same driver with every trace
 * call replaced by an empty inline function.  vq_trace_now() stays: the
 * driver's poll timeouts read the TSC through it. */
#define UNTRACED(name, ...)                                                                        \
	static inline void untraced_##name(__VA_ARGS__)                                            \
	{                                                                                          \
	}
static inline int untraced_init(struct vq_trace *t, void *r, vq_u64 s,
				const struct vq_trace_config *c)
{
	(void)t, (void)r, (void)s, (void)c;
	return VQ_TRACE_OK;
}
static inline int untraced_register_queue(struct vq_trace *t, const struct vq_queue_info *i)
{
	(void)t, (void)i;
	return 0;
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
UNTRACED(add, struct vq_trace *t, int q, vq_u16 h, vq_u16 a, vq_u16 n, vq_u32 b, vq_u16 w)
UNTRACED(kick, struct vq_trace *t, int q, vq_u16 a)
UNTRACED(kick_decision, struct vq_trace *t, int q, vq_u16 a, int n, vq_u64 s)
UNTRACED(poll, struct vq_trace *t, int q, const struct vq_poll_stats *st, vq_u16 o)
UNTRACED(used, struct vq_trace *t, int q, vq_u16 id, vq_u16 u, vq_u32 l, vq_u16 n)
UNTRACED(irq, struct vq_trace *t, int q, vq_u32 isr)
UNTRACED(callbacks, struct vq_trace *t, int q, int on, vq_u16 e)
UNTRACED(frame, struct vq_trace *t, vq_u64 f)
UNTRACED(frame_end, struct vq_trace *t, vq_u64 f, vq_u32 c)
UNTRACED(log, struct vq_trace *t, vq_u32 b, vq_u64 d)
UNTRACED(error, struct vq_trace *t, int q, vq_u16 c, vq_u64 d)
#pragma GCC diagnostic pop
#define vq_trace_init		 untraced_init
#define vq_trace_register_queue	 untraced_register_queue
#define vq_trace_add		 untraced_add
#define vq_trace_kick		 untraced_kick
#define vq_trace_kick_suppressed untraced_kick
#define vq_trace_kick_decision	 untraced_kick_decision
#define vq_trace_poll		 untraced_poll
#define vq_trace_used		 untraced_used
#define vq_trace_irq		 untraced_irq
#define vq_trace_callbacks	 untraced_callbacks
#define vq_trace_frame_begin	 untraced_frame
#define vq_trace_frame_end	 untraced_frame_end
#define vq_trace_log		 untraced_log
#define vq_trace_error		 untraced_error
#endif

typedef vq_u8 u8;
typedef vq_u16 u16;
typedef vq_u32 u32;
typedef vq_u64 u64;

#define DEMO_NAME    "vqdemo"
#define DEMO_VERSION "0.1"

/* isa-debug-exit codes; QEMU exits with (code << 1) | 1. */
#define EXIT_BAD_OPTION	  1 /* bad kernel command line: QEMU status 3 */
#define EXIT_NO_DEVICE	  2 /* a required PCI device is missing: 5 */
#define EXIT_DEVICE_ERROR 3 /* a device refused a step or failed: 7 */
#define EXIT_INTERNAL	  4 /* CPU exception, out of memory, timeout: 9 */

/* ---- cmdline.c: kernel command line ------------------------------------- */

enum barrier_policy {
	BARRIER_SEQCST_EVERY,  /* (a) SeqCst fence on every spin */
	BARRIER_ON_PROGRESS,   /* (b) acquire fence once progress is seen */
	BARRIER_ACQUIRE_EVERY, /* (c) acquire fence before every read */
	BARRIER_NONE,	       /* no fence at all */
};

enum flush_mode {
	FLUSH_FRAME, /* one transfer + flush per frame */
	FLUSH_LINE,  /* one transfer + flush per band of `lines` lines */
};

/* Driver bugs on purpose (bug=NAME, docs/guest.md): each reproduces one
 * class of real virtqueue driver bug.  X(enum, name, what it does). */
#define DEMO_BUGS(X)                                                                               \
	X(BUG_NONE, "none", "no bug")                                                              \
	X(BUG_LOST_KICK, "lost-kick", "every 8th notification the device asks for is not sent")    \
	X(BUG_KICK_ALWAYS, "kick-always",                                                          \
	  "the device is notified even when it said it needs no notification")                     \
	X(BUG_NO_IRQ_REARM, "no-irq-rearm",                                                        \
	  "used-buffer notifications are disabled after the first interrupt and never enabled "    \
	  "again")                                                                                 \
	X(BUG_STALE_USED_EVENT, "stale-used-event",                                                \
	  "used_event is written after the used ring is checked, with no barrier between, and "    \
	  "lands late")                                                                            \
	X(BUG_LEAK, "leak",                                                                        \
	  "every 8th used chain is dropped without returning it to the free list")                 \
	X(BUG_DOUBLE_REAP, "double-reap", "the 8th used element is processed twice")               \
	X(BUG_CHAIN_LOOP, "chain-loop", "the 8th command's chain links back to its own head")      \
	X(BUG_BAD_NEXT, "bad-next",                                                                \
	  "the 8th command's chain has a next field past the descriptor table")                    \
	X(BUG_LEN_OVERFLOW, "len-overflow",                                                        \
	  "each frame asks for the display info in a 24-byte response buffer whose descriptor "    \
	  "says 408 bytes")                                                                        \
	X(BUG_PACKED_STALE_WRAP, "packed-stale-wrap",                                              \
	  "the avail wrap counter is not flipped after a chain that spans the whole ring")         \
	X(BUG_POLL_NO_BARRIER, "poll-no-barrier",                                                  \
	  "used.idx is polled with no acquire fence at all (as barrier=none)")                     \
	X(BUG_STALE_USED_ID, "stale-used-id",                                                      \
	  "once, a used element's id is taken from the element before it, whose chain is free")    \
	X(BUG_FREE_MISCOUNT, "free-miscount",                                                      \
	  "the 8th freed chain is counted twice in the driver's count of free descriptors")

#define DEMO_BUG_ENUM(id, name, what) id,
enum demo_bug { DEMO_BUGS(DEMO_BUG_ENUM) BUG_COUNT };
#undef DEMO_BUG_ENUM

/* How often a periodic bug strikes: every BUG_PERIOD-th kick decision
 * that needs a notification (lost-kick), completion (leak) or command
 * (chain-loop, bad-next); double-reap and free-miscount strike at the
 * BUG_PERIOD-th completion, stale-used-id at the first completion after
 * it whose previous element's chain is still free. */
#define BUG_PERIOD 8u

enum event_idx_choice {
	EVENT_IDX_AUTO, /* negotiate VIRTIO_RING_F_EVENT_IDX when offered */
	EVENT_IDX_ON,	/* required */
	EVENT_IDX_OFF,
};

struct demo_options {
	enum barrier_policy barrier;
	enum flush_mode flush;
	u32 lines;	   /* band height for FLUSH_LINE */
	int log_frame;	   /* print the [VIRTIO PERF] line every frame */
	int uart_paced;	   /* pace serial output like a 115200-baud UART */
	u64 frames;	   /* frames to render, 0 = until stopped */
	int complete_irq;  /* wait for MSI-X instead of spinning */
	u32 width, height; /* 0: the device's preferred mode */
	u64 selftest;	   /* >0: time this many trace events, then power off */
	enum event_idx_choice event_idx;
	int packed;	   /* negotiate VIRTIO_F_RING_PACKED (2.8) */
	u32 depth;	   /* commands in flight before the driver waits */
	enum demo_bug bug; /* BUG_NONE unless bug= */
	u32 timeout_s;	   /* seconds one wait may take; 0 = forever */
	int halt_on_error; /* on-error=halt: stop the CPU, leave QEMU running */
};

/* Parse `cmdline` (the multiboot string: the kernel path, then
 * options).  On a bad option, prints what was wrong and exits. */
void options_parse(struct demo_options *o, const char *cmdline);
const char *barrier_policy_name(enum barrier_policy p);
const char *bug_name(enum demo_bug b);
/* One line saying what the bug does, for the boot banner. */
const char *bug_description(enum demo_bug b);

/* ---- format.c: printf-style formatting --------------------------------- */

/* Supports %s %c %d %u %x %p with l/ll, a field width and 0 padding.
 * Returns the length it would have written (snprintf semantics). */
int format_v(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- console.c: serial port (COM1) -------------------------------------- */

void console_init(void);
/* uart=115200: every character costs a real UART's 10 bit times. */
void console_set_paced(int paced, u64 tsc_hz);
/* Once the trace region is up, every write is also a LOG event. */
void console_attach_trace(struct vq_trace *t);
void console_write(const char *s, size_t len);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- power.c: exit and power off ---------------------------------------- */

void power_init(void); /* finds the ACPI PM I/O base (q35 ICH9 LPC) */
u16 power_pm_base(void);
__attribute__((noreturn)) void power_off(void);
/* on-error=halt: fail() stops the CPU instead of exiting QEMU. */
void power_halt_on_error(int halt);
/* Prints "vqdemo: error: ..." and exits QEMU with status (code<<1)|1. */
__attribute__((noreturn, format(printf, 2, 3))) void fail(int code, const char *fmt, ...);

/* ---- timer.c: TSC calibration ------------------------------------------- */

/* Measures the TSC against the ACPI PM timer; returns ticks per second. */
u64 timer_calibrate(void);
u64 timer_tsc_hz(void);
void timer_delay_us(u64 us);

/* ---- memory.c: physical page allocator and mem* functions --------------- */

void memory_init(u64 heap_start, u64 heap_end);
/* Zeroed, page-aligned, identity-mapped memory; fails the boot when out. */
void *memory_alloc(size_t bytes, const char *what);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- paging.c: identity mappings for device memory ---------------------- */

#define MAP_CACHED   0 /* write-back: RAM, including ivshmem's BAR */
#define MAP_UNCACHED 1 /* strong uncacheable: device registers */

/* Identity-map [phys, phys + size) with 2 MiB pages.  Returns 0, or -1
 * when the range is not addressable (beyond 2^46) or tables run out. */
int paging_map(u64 phys, u64 size, int uncached);

/* ---- cpu.c: interrupts and exceptions ------------------------------------ */

void idt_install(void);
void idt_set_handler(u8 vector, void (*stub)(void));
/* Local APIC for MSI-X delivery (complete=irq). */
#define VECTOR_QUEUE	0x40 /* gpu0.control's MSI-X vector */
#define VECTOR_TIMER	0x41 /* periodic wake-up from hlt */
#define VECTOR_SPURIOUS 0xff
void lapic_init(void);
u32 lapic_id(void);
void lapic_timer_periodic(u8 vector, u32 initial_count);
/* Interrupts received on `vector` so far. */
u64 interrupt_count(u8 vector);

/* ---- pci.c: configuration space and BARs --------------------------------- */

#define PCI_MAX_DEVICES 64

struct pci_device {
	u8 bus, dev, fn;
	u16 vendor, device;
	u32 class_code; /* class << 16 | subclass << 8 | prog-if */
};

struct pci_bar {
	u64 addr; /* 0 when not assigned */
	u64 size;
	int io;	  /* I/O space BAR */
	int is64; /* 64-bit memory BAR (takes two slots) */
	int prefetchable;
};

/* Enumerate every bus reachable from bus 0; returns the device count. */
int pci_enumerate(void);
/* The n-th device with this vendor/device ID, or NULL. */
struct pci_device *pci_find(u16 vendor, u16 device, int n);
u8 pci_read8(const struct pci_device *d, u16 off);
u16 pci_read16(const struct pci_device *d, u16 off);
u32 pci_read32(const struct pci_device *d, u16 off);
void pci_write16(const struct pci_device *d, u16 off, u16 v);
void pci_write32(const struct pci_device *d, u16 off, u32 v);
/* Decode BAR `index` (address and size, sized with decoding off). */
int pci_bar_info(const struct pci_device *d, unsigned index, struct pci_bar *out);
/* Turn on memory decoding and bus mastering. */
void pci_enable(const struct pci_device *d);
/* Offset of the first capability with this ID after the capability at
 * `from` (0: from the start of the list), or 0 when there is none. */
u8 pci_find_cap(const struct pci_device *d, u8 id, u8 from);

/* ---- trace.c: the ivshmem trace region ----------------------------------- */

extern struct vq_trace demo_trace;
extern int demo_trace_ready; /* demo_trace has been initialised */
/* Finds ivshmem-plain, maps its BAR2 and initialises the region. */
void trace_setup(u64 tsc_hz);
/* Write `events` trace events on a queue of its own and print how long
 * each took (bench/: the tracing cost under this CPU or emulator). */
void trace_selftest(u64 events, u64 tsc_hz);

/* ---- virtio_pci.c, virtqueue.c, gpu.c, scene.c: see their headers ------ */

#endif /* DEMO_H */
