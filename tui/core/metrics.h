/* metrics.h - the model as Prometheus metrics, for `vqscope exporter`:
 * the Prometheus text exposition format (version 0.0.4) or OpenMetrics
 * 1.0, whichever the scraper's Accept header prefers, rendered into a
 * `struct text`.  The HTTP side lives in cmd/cmd_exporter.c.
 *
 * Families (all labelled by vm; the queue ones also by queue, slot and
 * kind), counters ending in _total, seconds and bytes in the name:
 *
 *   vqscope_up, vqscope_region_ready, vqscope_vm_running    gauges
 *   vqscope_events_total, vqscope_lost_records_total,
 *   vqscope_violations_total, vqscope_resyncs_total,
 *   vqscope_frames_total, vqscope_frame_stalls_total,
 *   vqscope_frame_time_seconds_total{cause}                 counters
 *   vqscope_queue_ring_size, vqscope_queue_in_flight,
 *   vqscope_queue_posted_buffers (receive queues)           gauges
 *   vqscope_queue_adds_total ... vqscope_queue_anomalies_total
 *                                                           counters
 *   vqscope_queue_command_latency_seconds                   histogram
 *   vqscope_findings_total, vqscope_finding_active           by code,
 *                                                           severity, queue
 *
 * A source that is down reports vqscope_up 0 and nothing else.  Counters
 * come from the model, which keeps its totals across producer restarts
 * (model_resync), so they only ever grow while the exporter runs.
 */
#ifndef VQ_METRICS_H
#define VQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "text.h"

enum metrics_format { METRICS_PROMETHEUS, METRICS_OPENMETRICS };

/* One source of the exporter. */
struct metrics_target {
	const char *vm;		  /* the vm label */
	bool up;		  /* attached to the VM */
	bool region_ready;	  /* the trace region's producer was found */
	bool running;		  /* the VM runs (not paused, as far as QMP said) */
	const struct vq_model *m; /* its model; ignored unless up */
};

/* The format an HTTP Accept header asks for (NULL: no header): OpenMetrics
 * when it names application/openmetrics-text with a quality at least that
 * of text/plain (or of a wildcard that covers it), else the Prometheus
 * text format. */
enum metrics_format metrics_negotiate(const char *accept);
/* The Content-Type of a response in format f. */
const char *metrics_content_type(enum metrics_format f);

/* Append the exposition of n targets in format f to t. */
void metrics_render(struct text *t, enum metrics_format f, const struct metrics_target *targets,
		    size_t n);

/* The histograms' bucket bounds (command latency, time to fill): le of
 * bucket k (0 <= k < METRICS_LATENCY_BOUNDS) is
 * 2^(METRICS_LATENCY_LOW_LOG2 + k + 1) - 1 ns, the largest nanosecond value of a power-of-two
 * bucket of the model's histogram (hist_log2), so every bucket is exact: 1023 ns, 2047 ns, ...,
 * about 17.2 s, then +Inf. */
#define METRICS_LATENCY_LOW_LOG2 9
#define METRICS_LATENCY_BOUNDS	 25

#endif /* VQ_METRICS_H */
