/* findings.h - what is wrong with a queue, from both sides, with the
 * evidence: the diagnosis engine behind `vqscope doctor`.
 *
 * The engine is part of the model (model.c calls it as events, queue-table
 * snapshots, device samples from QMP and ring samples from guest RAM come
 * in) and does no I/O.  A finding has a stable code, a severity, the queue,
 * when it was first and last seen, the values that show it with where each
 * came from, the virtio 1.2 section, and one line saying what it means and
 * what to check next (docs/diagnosis.md lists every code).
 *
 * It must stay silent on a correct driver: every check is exact (it redoes
 * the driver's own decision from what the driver read, or compares values
 * both sides published), and checks that compare moments apart (chains and
 * wrap counters in guest RAM, stuck queues) wait until what they saw has
 * lasted.
 */
#ifndef VQ_FINDINGS_H
#define VQ_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum finding_code {
	/* Stuck queues: the three questions of a stuck device, the device's
	 * side split in two. */
	FC_STUCK_NOT_NOTIFIED,
	FC_STUCK_DEVICE_NOT_FETCHED,
	FC_STUCK_DEVICE_BUSY,
	FC_STUCK_NO_INTERRUPT,
	FC_STUCK_NOT_REAPED,
	/* Notifications. */
	FC_MISSED_NOTIFY,
	FC_SPURIOUS_NOTIFY,
	/* Ownership. */
	FC_LEAK,
	FC_DOUBLE_COMPLETE,
	FC_USED_NOT_IN_FLIGHT,
	FC_USED_LEN_OVERFLOW,
	FC_ACCOUNTING,
	/* Structure, from guest RAM. */
	FC_BAD_CHAIN,
	FC_PACKED_WRAP,
	/* The device. */
	FC_DEVICE_BROKEN,
	/* The story vqscope began with. */
	FC_LOG_DOMINATES,
	FC_FENCE_PER_SPIN,
	FC_POLL_NO_FENCE,
	FC_COUNT
};

enum finding_severity { SEV_INFO, SEV_WARNING, SEV_ERROR };

struct finding_info {
	const char *name; /* "STUCK-NO-INTERRUPT" */
	enum finding_severity severity;
	const char *spec;    /* "2.7.7" */
	const char *summary; /* a few words */
};

const struct finding_info *finding_info(enum finding_code c);
const char *severity_name(enum finding_severity s); /* "error", ... */
/* The code from its name (case-insensitive), or FC_COUNT. */
enum finding_code finding_code_from_name(const char *name);

#define FINDING_EVIDENCE 10
/* The most findings a session keeps (one per code and queue); beyond it
 * they are counted in the model's findings_dropped. */
#define FINDINGS_MAX 256

/* One value that shows the finding, and where it was read. */
struct evidence {
	char what[40];	/* "avail_event" */
	char value[64]; /* "1234" */
	char from[80];	/* "guest RAM, used ring of gpu0.control" */
};

struct finding {
	enum finding_code code;
	enum finding_severity severity;
	int queue; /* queue-table slot, or -1 for the session */
	char queue_name[33];
	uint64_t first_ns, last_ns; /* session time it was first and last seen */
	uint64_t first_seq;	    /* the event it was first seen at (0: none) */
	uint32_t first_generation;
	uint64_t count; /* times seen: events, or episodes of a state */
	bool active;	/* still so at the last check (a stuck queue can move again) */
	size_t nevidence;
	struct evidence ev[FINDING_EVIDENCE]; /* as first seen */
	char text[320];			      /* what it means and what to check next */
};

/* How often it was seen per second, between first and last (0 when once). */
double finding_rate(const struct finding *f);

#endif /* VQ_FINDINGS_H */
