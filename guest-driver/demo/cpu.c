/* cpu.c - the interrupt descriptor table and the local APIC.
 * Exceptions 0-31 go to the stubs in boot.S, which call
 * exception_report(): a fault in the demo guest is a serial message and a
 * non-zero exit, not a silent reset.  For complete=irq the local APIC
 * receives the virtio-gpu's MSI-X messages, and its timer wakes the CPU
 * from hlt periodically so a lost interrupt becomes a timeout, not a
 * hang. */
#include "demo.h"
#include "io.h"

#define MSR_APIC_BASE	     0x1b
#define APIC_BASE_ENABLE     ((u64)1 << 11)
#define APIC_BASE_ADDRESS    ((u64)0xffffff000)
#define LAPIC_ID	     0x20
#define LAPIC_TPR	     0x80
#define LAPIC_EOI	     0xb0
#define LAPIC_SVR	     0xf0
#define LAPIC_SVR_ENABLE     0x100u
#define LAPIC_LVT_TIMER	     0x320
#define LAPIC_LVT_LINT0	     0x350
#define LAPIC_LVT_LINT1	     0x360
#define LAPIC_LVT_MASKED     (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_TIMER_INITIAL  0x380
#define LAPIC_TIMER_DIVIDE   0x3e0
#define LAPIC_DIVIDE_BY_1    0xbu

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 zero;
} __attribute__((packed));

struct idt_pointer {
	u16 limit;
	u64 base;
} __attribute__((packed));

#define KERNEL_CS      0x08
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

extern const u64 exception_stubs[32];

static struct idt_gate idt[256] __attribute__((aligned(16)));

void idt_set_handler(u8 vector, void (*stub)(void))
{
	u64 a = (u64)(size_t)stub;

	idt[vector] = (struct idt_gate){
	    .offset_low = (u16)a,
	    .selector = KERNEL_CS,
	    .type_attr = GATE_INTERRUPT,
	    .offset_mid = (u16)(a >> 16),
	    .offset_high = (u32)(a >> 32),
	};
}

void idt_install(void)
{
	struct idt_pointer p = {sizeof(idt) - 1, (u64)(size_t)idt};

	for (unsigned v = 0; v < 32; v++)
		idt_set_handler((u8)v, (void (*)(void))(size_t)exception_stubs[v]);
	__asm__ __volatile__("lidt %0" : : "m"(p));
}

extern void irq_stub_0x40(void), irq_stub_0x41(void), irq_stub_0xff(void);

static volatile u8 *lapic;
static volatile u64 interrupts[256];

static u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static void wrmsr(u32 msr, u64 v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

void lapic_init(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	/* The 8259s would deliver the PIT on vectors 8-15, our exception
	 * vectors: mask them, and the local APIC's legacy inputs. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	if (paging_map(base & APIC_BASE_ADDRESS, 4096, MAP_UNCACHED) != 0)
		fail(EXIT_INTERNAL, "cannot map the local APIC at 0x%lx", base & APIC_BASE_ADDRESS);
	lapic = (volatile u8 *)(size_t)(base & APIC_BASE_ADDRESS);
	idt_set_handler(VECTOR_QUEUE, irq_stub_0x40);
	idt_set_handler(VECTOR_TIMER, irq_stub_0x41);
	idt_set_handler(VECTOR_SPURIOUS, irq_stub_0xff);
	mmio_write32(lapic + LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	mmio_write32(lapic + LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	mmio_write32(lapic + LAPIC_TPR, 0);
	mmio_write32(lapic + LAPIC_SVR, LAPIC_SVR_ENABLE | VECTOR_SPURIOUS);
}

u32 lapic_id(void)
{
	return mmio_read32(lapic + LAPIC_ID) >> 24;
}

void lapic_timer_periodic(u8 vector, u32 initial_count)
{
	mmio_write32(lapic + LAPIC_TIMER_DIVIDE, LAPIC_DIVIDE_BY_1);
	mmio_write32(lapic + LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | vector);
	mmio_write32(lapic + LAPIC_TIMER_INITIAL, initial_count);
}

u64 interrupt_count(u8 vector)
{
	return interrupts[vector];
}

void interrupt_dispatch(u32 vector);

/* Called by the irq stubs in boot.S. */
void interrupt_dispatch(u32 vector)
{
	interrupts[vector & 0xff]++;
	if (vector != VECTOR_SPURIOUS) /* spurious interrupts take no EOI */
		mmio_write32(lapic + LAPIC_EOI, 0);
}

/* Called by exception_common in boot.S with the stack it built. */
struct exception_frame {
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

void exception_report(const struct exception_frame *f);

void exception_report(const struct exception_frame *f)
{
	u64 cr2;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	fail(EXIT_INTERNAL,
	     "CPU exception %llu (error 0x%llx) at rip 0x%llx, rsp 0x%llx, cr2 0x%llx",
	     (unsigned long long)f->vector, (unsigned long long)f->error,
	     (unsigned long long)f->rip, (unsigned long long)f->rsp, (unsigned long long)cr2);
}
