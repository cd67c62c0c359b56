/* timer.c - TSC calibration against the ACPI PM timer (3.579545 MHz,
 * 24 bits, at PMBASE + 8).  The TSC frequency becomes the trace region's
 * ts_hz, and paces the UART for uart=115200. */
#include "demo.h"
#include "io.h"

#define PM_TIMER_HZ	     3579545u
#define PM_TIMER_MASK	     0xffffffu
#define PM_TMR		     8
#define CALIBRATION_PM_TICKS (PM_TIMER_HZ / 20u) /* 50 ms */

static u64 tsc_hz;

u64 timer_calibrate(void)
{
	u16 port = (u16)(power_pm_base() + PM_TMR);
	u32 last, elapsed = 0;
	u64 tsc_start, tsc_end;
	u64 guard;

	if (!power_pm_base())
		fail(EXIT_NO_DEVICE, "no ACPI PM timer to calibrate the TSC against");
	last = inl(port) & PM_TIMER_MASK;
	tsc_start = rdtsc();
	/* A stuck PM timer must not hang the boot: give up after far more
	 * TSC ticks than any CPU does in the calibration time. */
	guard = tsc_start + 100000000000ull;
	while (elapsed < CALIBRATION_PM_TICKS) {
		u32 now = inl(port) & PM_TIMER_MASK;

		elapsed += (now - last) & PM_TIMER_MASK;
		last = now;
		if (rdtsc() > guard)
			fail(EXIT_DEVICE_ERROR, "ACPI PM timer at port 0x%x does not count", port);
	}
	tsc_end = rdtsc();
	tsc_hz = (tsc_end - tsc_start) * PM_TIMER_HZ / elapsed;
	if (tsc_hz == 0)
		fail(EXIT_INTERNAL, "TSC does not count");
	return tsc_hz;
}

u64 timer_tsc_hz(void)
{
	return tsc_hz;
}

void timer_delay_us(u64 us)
{
	u64 end = rdtsc() + tsc_hz / 1000000u * us;

	while (rdtsc() < end)
		cpu_relax();
}
