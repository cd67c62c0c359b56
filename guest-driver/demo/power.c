/* power.c - ending the demo guest: ACPI soft-off on success (QEMU exits
 * with status 0), isa-debug-exit with a code on failure (QEMU exits with
 * (code << 1) | 1).
 *
 * With on-error=halt a failure stops the CPU instead, so the host can
 * still read the rings, the trace region and QEMU's view of the device.
 *
 * The ACPI PM I/O block is wherever the firmware put it: its base is read
 * from the q35 ICH9 LPC bridge (00:1f.0, PMBASE at config 0x40, enable bit
 * ACPI_EN in ACPI_CNTL at 0x44).  PM1a_CNT is at PMBASE + 4; writing
 * SLP_EN with SLP_TYP 0 (q35's \_S5) powers the machine off.  The PM
 * timer (PMBASE + 8) is used by timer.c.
 */
#include "demo.h"
#include "io.h"

#define ICH9_LPC_VENDOR 0x8086
#define ICH9_LPC_DEVICE 0x2918
#define ICH9_PMBASE	0x40
#define ICH9_ACPI_CNTL	0x44
#define ICH9_ACPI_EN	0x80
#define PMBASE_DEFAULT	0x600 /* what SeaBIOS uses when it sets one */
#define PM1_CNT		4
#define PM1_SLP_EN	(1u << 13)

#define DEBUG_EXIT_PORT 0xf4

static u16 pm_base;
static int halt_on_error;

void power_init(void)
{
	struct pci_device *lpc = pci_find(ICH9_LPC_VENDOR, ICH9_LPC_DEVICE, 0);
	u32 base;

	if (!lpc) {
		console_printf(DEMO_NAME ": no ICH9 LPC bridge (not a q35 machine?): "
					 "no ACPI power-off or PM timer\n");
		return;
	}
	base = pci_read32(lpc, ICH9_PMBASE) & 0xff80u;
	if (base == 0 || !(pci_read8(lpc, ICH9_ACPI_CNTL) & ICH9_ACPI_EN)) {
		/* The firmware left ACPI off: give it the usual base. */
		base = PMBASE_DEFAULT;
		pci_write32(lpc, ICH9_PMBASE, base | 1u);
		pci_write32(lpc, ICH9_ACPI_CNTL,
			    (pci_read32(lpc, ICH9_ACPI_CNTL) & ~0xffu) | ICH9_ACPI_EN);
	}
	pm_base = (u16)base;
}

u16 power_pm_base(void)
{
	return pm_base;
}

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

void power_off(void)
{
	if (pm_base) {
		outw((u16)(pm_base + PM1_CNT), PM1_SLP_EN);
		/* QEMU acts on the request asynchronously: give it time. */
		timer_delay_us(2000000);
	}
	console_printf(DEMO_NAME ": ACPI power-off did not happen; halting\n");
	halt_forever();
}

void power_halt_on_error(int halt)
{
	halt_on_error = halt;
}

void fail(int code, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	format_v(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_printf(DEMO_NAME ": error: %s\n", buf);
	if (demo_trace_ready)
		vq_trace_error(&demo_trace, -1, VQT_ERR_DRIVER, (u64)code);
	if (halt_on_error) {
		/* The rings, the trace region and the device stay as they are
		 * for the host to look at; QEMU keeps running. */
		console_printf(
		    DEMO_NAME ": halted (on-error=halt, exit code %d); stop QEMU to end\n", code);
		halt_forever();
	}
	outl(DEBUG_EXIT_PORT, (u32)code);
	console_printf(DEMO_NAME ": no isa-debug-exit device at 0x%x; halting\n", DEBUG_EXIT_PORT);
	halt_forever();
}
