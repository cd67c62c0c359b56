/* monitor.h - the QMP side of a live source, on a thread of its own.
 *
 * Every QMP round trip can take as long as QEMU likes (up to the QMP
 * timeout), so none of them runs on the thread that drains the trace
 * region and draws the screen.  The monitor thread owns the QMP
 * connection once started: it samples the device view (x-query-virtio-*)
 * at a fixed rate, collects QMP events, notices when QEMU goes away, and
 * runs what the main thread asks for (stop, cont, one descriptor chain).
 * Results wait in a mailbox until the main thread takes them; monitor_fd()
 * becomes readable when there is something to take.  The main thread
 * never blocks on the monitor except in monitor_stop().
 */
#ifndef VQ_MONITOR_H
#define VQ_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ring_view.h"
#include "vqrec.h"

struct qmp;
struct monitor;

#define MONITOR_QUEUES 128 /* device-side queues sampled */
#define MONITOR_EVENTS 32  /* QMP events handed over per take */

struct monitor_opts {
	unsigned device_hz; /* device samples per second; 0: none */
	int qmp_timeout_ms;
};

enum monitor_command { MONITOR_STOP_VM, MONITOR_CONT_VM };

/* What the monitor has for the main thread; `what` says which parts are
 * new since the last take. */
enum {
	MONITOR_SAMPLE = 1 << 0,	/* sample[] */
	MONITOR_DEVICE_STATUS = 1 << 1, /* device_status changed */
	MONITOR_EVENTS_NEW = 1 << 2,	/* events[] */
	MONITOR_GONE = 1 << 3,		/* QEMU went away: gone_reason */
	MONITOR_COMMAND = 1 << 4,	/* command_* */
	MONITOR_CHAIN = 1 << 5,		/* chain */
};

struct monitor_report {
	unsigned what;
	/* Device view. */
	uint64_t sample_host_ns;
	size_t nsample;
	struct vqr_device_queue sample[MONITOR_QUEUES];
	bool device_unavailable; /* QEMU cannot give the view: stop asking */
	char device_status[320]; /* problems of the last sample, or "" */
	/* QMP events, oldest first. */
	size_t nevents;
	char events[MONITOR_EVENTS][32];
	uint64_t events_dropped;
	/* End of the connection. */
	char gone_reason[256];
	/* The last command asked for. */
	enum monitor_command command;
	bool command_ok;
	char command_error[256];
	/* The last chain asked for. */
	uint64_t chain_request;
	struct chain_view chain;
};

/* Start the thread; it owns q from now on (nobody else may use it until
 * monitor_stop).  NULL with err on failure (then q is still the
 * caller's). */
struct monitor *monitor_start(struct qmp *q, const struct monitor_opts *o, char *err,
			      size_t errlen);
/* Readable when a report is waiting. */
int monitor_fd(const struct monitor *mon);
/* Move what is new into out (out->what 0: nothing). */
void monitor_take(struct monitor *mon, struct monitor_report *out);
/* Ask for a VM stop or cont; the answer comes as MONITOR_COMMAND. */
void monitor_command(struct monitor *mon, enum monitor_command c);
/* Ask for the chain QEMU sees at avail ring position avail_pos of queue
 * queue_index of the device at path (it should be head); the answer comes
 * as MONITOR_CHAIN with chain_request = request. */
void monitor_chain(struct monitor *mon, const char *path, unsigned queue_index, uint16_t avail_pos,
		   uint16_t head, uint64_t request);
/* Stop the thread (waits for a QMP call in progress, at most the QMP
 * timeout) and give q back to the caller. */
struct qmp *monitor_stop(struct monitor *mon);

#endif /* VQ_MONITOR_H */
