/* console.c - the serial console (COM1, a 16550 UART) of the demo guest.
 *
 * With uart=115200 every character waits for the transmitter as it would
 * on real hardware: a 16550 without FIFO at 115200 baud takes 10 bit
 * times (start, 8 data, stop), 86.8 us, per character.  QEMU's UART
 * accepts characters instantly, so the pacing is done with the TSC on top
 * of the usual wait for THRE.  With uart=fast only THRE is polled.
 *
 * Once the trace region is attached, every write is reported as a LOG
 * event with its byte count and the TSC ticks it cost, so the host sees
 * where the time of a slow frame went.
 */
#include "demo.h"
#include "io.h"

#define COM1	 0x3f8
#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1 /* interrupt enable (DLAB = 0) */
#define UART_DLM 1 /* divisor latch high (DLAB = 1) */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1	 0x03
#define LCR_DLAB 0x80
#define LSR_THRE 0x20 /* transmit holding register empty */

#define UART_BAUD	   115200u
#define UART_BITS_PER_CHAR 10u

static u64 char_ticks;	     /* TSC ticks per character, 0 = unpaced */
static u64 transmitter_busy; /* TSC at which the current character is out */
static struct vq_trace *trace;

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 / 1 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0x07); /* enable and clear the FIFOs */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void console_set_paced(int paced, u64 tsc_hz)
{
	char_ticks = paced ? tsc_hz * UART_BITS_PER_CHAR / UART_BAUD : 0;
}

void console_attach_trace(struct vq_trace *t)
{
	trace = t;
}

static void uart_put(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		cpu_relax();
	if (char_ticks) {
		while (rdtsc() < transmitter_busy)
			cpu_relax();
		transmitter_busy = rdtsc() + char_ticks;
	}
	outb(COM1 + UART_THR, (u8)c);
}

void console_write(const char *s, size_t len)
{
	u64 start = trace ? vq_trace_now(trace) : 0;
	u32 sent = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			uart_put('\r');
			sent++;
		}
		uart_put(s[i]);
		sent++;
	}
	if (trace)
		vq_trace_log(trace, sent, vq_trace_now(trace) - start);
}

void console_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	console_write(buf, (size_t)n);
}
