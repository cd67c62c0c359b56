/* report.h - the summary of a session: per-queue latency percentiles,
 * rates, spins and barriers per completion, loss, and where the frame
 * time went with the worst stalls.  Built from a model; rendered as text
 * here (and as JSON by the commands), compared by `vqscope diff`. */
#ifndef VQ_REPORT_H
#define VQ_REPORT_H

#include <stdint.h>

#include "model.h"
#include "text.h"

#define REPORT_STALLS 10

struct report_queue {
	unsigned slot;
	char name[VQT_QUEUE_NAME_LEN + 1];
	uint16_t ring_size, device_type, queue_index;
	uint64_t count[MC_COUNT];
	double per_s[MC_COUNT];	     /* over the whole session */
	double spins_per_completion; /* 0 when no completions */
	double barriers_per_completion;
	double kick_suppression; /* suppressed / (kicks + suppressed) */
	uint64_t latency_count;
	uint64_t p50_ns, p90_ns, p99_ns, max_ns, mean_ns;
	uint32_t in_flight_at_end, max_in_flight;
	uint64_t anomalies;
	char last_anomaly[160];
	uint64_t posted_before_tracing; /* USEDs of buffers posted before tracing */
	/* A receive queue: no latency or stalls, but this. */
	bool receives;
	struct receive_summary rx;
	/* From the queue table when there was one (exact despite loss). */
	bool have_table;
	uint64_t table_counters[VQT_C_COUNT];
	/* Device side. */
	bool disagree;
	char disagree_text[160];
};

struct report {
	char source[512];
	char producer[VQT_PRODUCER_LEN + 1];
	/* "producer stopped at T" or "producer silent since T (...)" when
	 * the trace ends before the session did, as the live view said. */
	char producer_note[160];
	uint64_t ts_hz;
	uint64_t duration_ns;
	uint64_t events, lost, violations, anomalies;
	char last_anomaly[VQT_QUEUE_NAME_LEN + 200];
	uint32_t generations;
	char end_reason[128];

	uint64_t frames;
	double frames_per_s;
	uint64_t period_p50_ns, period_p90_ns, period_p99_ns, period_max_ns;
	uint64_t frame_stalls;
	struct attribution frames_attr;	 /* over frame periods */
	struct attribution session_attr; /* over all intervals */
	/* The split the verdict is drawn from: frames when there were any. */
	const char *basis; /* "frame periods" or "session" */
	struct attribution verdict_attr;
	enum attr_cat dominant;
	unsigned dominant_pct;

	struct report_queue queues[MODEL_QUEUES];
	size_t nqueues;
	struct model_stall stalls[REPORT_STALLS]; /* worst first */
	size_t nstalls;
	uint64_t stalls_total;
	struct model_device_only device_only[64];
	size_t ndevice_only;
	/* The model's findings (it outlives the report). */
	const struct finding *findings;
	size_t nfindings;
};

void report_build(struct report *r, const struct vq_model *m, const char *source,
		  const char *end_reason);
/* The report as `vqscope report` prints it, appended to out. */
void report_text(struct text *out, const struct report *r);
/* Findings as `vqscope doctor` prints them: worst first, each with its
 * code, severity, queue, times, spec section, meaning and evidence. */
void findings_text(struct text *out, const struct finding *f, size_t n);
/* "2 findings: 1 error, 1 info" (or "no findings"). */
void findings_summary(char *buf, size_t len, const struct finding *f, size_t n);
/* Findings sorted worst first (severity, then first seen): order[] gets
 * indices into f[]; returns n. */
size_t findings_order(const struct finding *f, size_t n, size_t *order);

/* The JSON name of a model counter ("adds", "kicks_suppressed", ...). */
const char *report_counter_key(enum model_counter c);
/* One line: "writing log output (72% of frame time)". */
void report_verdict(const struct report *r, char *buf, size_t len);

#endif /* VQ_REPORT_H */
