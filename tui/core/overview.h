/* overview.h - the queues overview as text: one header line about the
 * session and one row per queue, like top/kvm_stat.  Shared by
 * `vqscope top --batch` and the interactive overview screen (the JSON of
 * `top --batch --json` is built from the same rows by the commands). */
#ifndef VQ_OVERVIEW_H
#define VQ_OVERVIEW_H

#include <stddef.h>

#include "model.h"
#include "text.h"

/* Where the data comes from, as the overview names it (filled by the
 * layer that owns the source). */
struct overview_source {
	const char *name;	   /* "qmp:PATH", or a recording's path */
	const char *vm;		   /* "running", "paused", "gone", "unknown" */
	const char *recording;	   /* the file being recorded to, or NULL */
	const char *region_status; /* why the trace region gives nothing, or "" */
};

/* Sort keys for the rows (the interactive view cycles through them). */
enum overview_sort {
	SORT_SLOT,
	SORT_NAME,
	SORT_IN_FLIGHT,
	SORT_ADDS,
	SORT_COMPLETIONS,
	SORT_SPINS,
	SORT_P99,
	SORT_STALLS,
	SORT_COUNT
};
const char *overview_sort_name(enum overview_sort s);

/* Queue slots to show, in display order; returns how many. */
size_t overview_rows(const struct vq_model *m, enum overview_sort sort, unsigned *slots,
		     size_t max);

/* "source qmp:... | VM running | producer ... | 1234 ev/s | lost 0 | ..." */
void overview_header(char *buf, size_t len, const struct vq_model *m,
		     const struct overview_source *s);
/* Column titles and one row, both width-limited to len - 1. */
void overview_titles(char *buf, size_t len);
void overview_row(char *buf, size_t len, const struct vq_model *m, unsigned slot);
/* What a receive queue does, in words: "posted 256, fills 2.0/s of 98 B,
 * time to fill p50 1.2s p99 3.0s max 3.1s, starved - (0 times), 5 posted
 * before tracing".  fills_per_s is over the caller's interval. */
void receive_text(char *buf, size_t len, const struct receive_summary *r, double fills_per_s);
/* The lines under the rows: one per receive queue ("receive NAME: ..."),
 * the anomalies with the latest one's text, and whether the producer
 * stopped ("producer stopped at 3.20 s: ..."); each ends in a newline. */
void overview_notes(struct text *out, const struct vq_model *m, const unsigned *slots, size_t n);
/* What a stopped producer means for what is shown. */
#define PRODUCER_STOPPED_MEANS                                                                     \
	"the trace ends there; the device moving on after it is not judged stuck or unreaped"

/* Device-view-only queue i (uninstrumented guests). */
void overview_device_row(char *buf, size_t len, const struct vq_model *m, size_t i);

#endif /* VQ_OVERVIEW_H */
