/* kprobe_events.h - kprobes made through tracefs, whose hits and missed runs
 * the kernel reports in kprobe_profile. */
#ifndef TRACER_KPROBE_EVENTS_H
#define TRACER_KPROBE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tracefs directory with a writable kprobe_events, or NULL. */
const char *kprobe_events_dir(void);
/* Remove the probes of vqscope-trace processes that no longer exist. */
void kprobe_events_remove_stale(const char *tracefs);
/* Make a kprobe (or a kretprobe) on function and open it as a perf event;
 * returns the perf event fd, the probe's name in name.  -1 with err filled
 * (and nothing left behind) on failure. */
int kprobe_event_open(const char *tracefs, const char *function, bool is_return, char *name,
		      size_t namelen, char *err, size_t errlen);
/* Remove a probe (its perf event closed first). */
void kprobe_event_remove(const char *tracefs, const char *name);

struct kprobe_count {
	char name[80];	 /* filled by the caller */
	uint64_t hits;	 /* handler runs */
	uint64_t missed; /* runs the kernel skipped: another kprobe was running */
	bool found;
};

/* Fill hits and missed of each named probe from kprobe_profile. */
int kprobe_profile_read(const char *tracefs, struct kprobe_count *counts, size_t n);

#endif /* TRACER_KPROBE_EVENTS_H */
