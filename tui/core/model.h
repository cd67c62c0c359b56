/* model.h - the model of a traced session: per-queue statistics, command
 * latency, where each frame's time went, and stalls.
 *
 * Sources (live trace region, QMP device sampling, recordings) feed it
 * events, queue-table snapshots and device-side samples; views, reports and
 * exporters read it.  It knows nothing of curses, sockets or files, and it
 * treats every value as untrusted: an event that contradicts what came
 * before (a USED for a buffer that is not in flight, an ADD with a head
 * outside the ring) is counted as an anomaly and otherwise ignored.
 *
 * Time: events carry producer ticks (ts_hz per second); the model reports
 * nanoseconds.
 *
 * Where the time went: every frame period (from one FRAME_BEGIN to the
 * next) and every interval of `interval_ns` is split into four parts by a
 * sweep over what was happening, in this order of precedence:
 *   log     the driver was writing log output (LOG events),
 *   device  at least one buffer was in flight (ADD .. USED),
 *   polling the driver was polling with nothing in flight (POLL events),
 *   other   the driver was doing something else (drawing, computing).
 * Log comes first because in-flight time ends only when the driver reaps:
 * a log write with a command outstanding would otherwise look like a slow
 * device.
 */
#ifndef VQ_MODEL_H
#define VQ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "findings.h"
#include "vqrec.h"
#include "vqtrace.h"

#define MODEL_QUEUES VQT_QUEUE_SLOTS_MAX

/* ---- latency histogram ------------------------------------------------------ */

/* Log-linear: 16 sub-buckets per power of two, ~6% resolution, 0..2^48 ns. */
#define HIST_SUB_BITS 4
#define HIST_BUCKETS  (49 << HIST_SUB_BITS)

struct latency_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns, max_ns;
	uint64_t buckets[HIST_BUCKETS];
};

/* The bucket of ns.  Group g >= 1 holds [2^(g+3), 2^(g+4)) in 16
 * sub-buckets; group 0 holds 0..15 one each.  With s = msb(ns | 16) - 4,
 * (s << 4) + (ns >> s) is exactly that (ns >> s is 16..31 in group
 * s >= 1, ns itself below 32), without a branch.  Inline: the model adds
 * one per completion (and bench/bare_model.h as many). */
static inline unsigned hist_bucket(uint64_t ns)
{
	unsigned s = 63u - (unsigned)__builtin_clzll(ns | (1u << HIST_SUB_BITS)) - HIST_SUB_BITS;
	unsigned b = (s << HIST_SUB_BITS) + (unsigned)(ns >> s);

	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

void hist_add(struct latency_hist *h, uint64_t ns);
/* Value at quantile q (0..1), from the bucket's upper bound, capped at the
 * exact maximum; 0 for an empty histogram. */
uint64_t hist_quantile(const struct latency_hist *h, double q);
/* Power-of-two buckets (like biolatency): out[k] counts values in
 * [2^k, 2^(k+1)) ns, out[0] also holds 0 and 1.  Returns the highest k in
 * use + 1. */
unsigned hist_log2(const struct latency_hist *h, uint64_t out[64]);
void hist_merge(struct latency_hist *dst, const struct latency_hist *src);

/* ---- attribution -------------------------------------------------------------- */

enum attr_cat { ATTR_LOG, ATTR_DEVICE, ATTR_POLL, ATTR_OTHER, ATTR_COUNT };

struct attribution {
	uint64_t ns[ATTR_COUNT];
	uint64_t total_ns;
};

const char *attr_name(enum attr_cat c);	       /* "log", "device", ... */
const char *attr_description(enum attr_cat c); /* "writing log output", ... */
/* The biggest part. */
enum attr_cat attr_dominant(const struct attribution *a);
/* Part c of the total in whole percent, rounded to the nearest, so that it
 * agrees with the same share printed to one decimal; 0 for no total. */
unsigned attr_percent(const struct attribution *a, enum attr_cat c);

/* A window being split (a frame period or an interval), see model.c: its
 * attribution is the model's running totals (attr_acc) minus what they
 * were when it opened (base). */
struct attr_window {
	bool open;
	uint64_t start_ns;
	uint64_t end_ns; /* the interval's end (UINT64_MAX for a frame) */
	uint64_t base[ATTR_COUNT];
};

/* ---- frames and stalls ------------------------------------------------------------ */

struct model_frame {
	uint64_t number;	 /* from the FRAME events */
	uint64_t begin_ns;	 /* session time of FRAME_BEGIN */
	uint64_t end_ns;	 /* FRAME_END, or 0 if it never came */
	uint64_t period_ns;	 /* to the next FRAME_BEGIN (or to FRAME_END for the last) */
	uint64_t active_ns;	 /* FRAME_BEGIN .. FRAME_END */
	struct attribution attr; /* over the period */
	uint32_t commands;	 /* USED events in the period */
	uint32_t polls;
	uint64_t spins, barriers;
	uint64_t log_bytes;
	bool stall;
};

enum stall_kind { STALL_FRAME, STALL_COMMAND };

struct model_stall {
	enum stall_kind kind;
	uint64_t at_ns; /* session time it started */
	uint64_t duration_ns;
	uint64_t frame; /* frame number (frame stalls) */
	unsigned queue; /* queue slot (command stalls) */
	uint16_t head;	/* descriptor head (command stalls) */
	struct attribution attr;
	enum attr_cat cause;
	char text[320]; /* the cause in words */
};

/* ---- queues -------------------------------------------------------------------------- */

/* Counters are kept from events; the queue table's own counters (exact
 * even when events were lost or masked) are in `table`. */
enum model_counter {
	MC_ADDS,
	MC_DESCS,
	MC_BYTES,
	MC_KICKS,
	MC_KICKS_SUPPRESSED,
	MC_IRQS,
	MC_POLLS,
	MC_SPINS,
	MC_BARRIERS,
	MC_COMPLETIONS,
	MC_POLL_TIMEOUTS,
	MC_USED_BYTES,
	MC_ERRORS,
	MC_STALLS,
	MC_COUNT
};

struct model_rates {
	double per_s[MC_COUNT]; /* over the last tick interval */
	double spins_per_completion;
	double barriers_per_completion;
};

enum head_state {
	HEAD_FREE = 0, /* not in flight */
	HEAD_AVAIL,    /* made available, no notification yet */
	HEAD_DEVICE,   /* made available and the device was notified */
};

/* What the model keeps per descriptor head, half a cache line: the ADD
 * and USED of a head touch one place. */
struct model_head {
	uint64_t add_ns;      /* session time of its ADD (while in flight) */
	uint64_t kick_at_add; /* the queue's kicks_seen at its ADD: a kick since
			       * (kicks_seen moved on) gave it to the device */
	uint32_t bytes;	      /* bytes of the chain at its ADD */
	uint32_t done_at_add; /* the queue's completions (mod 2^32) at its ADD */
	uint32_t epoch;	      /* loss epoch + 1 at its last ADD or USED; 0 when
			       * it was forgotten in flight (a reset) */
	uint16_t ndesc;	      /* descriptors of the chain at its ADD */
	uint16_t reserved;
};

struct model_queue {
	bool active; /* registered (QUEUE event or table snapshot) */
	bool gone;   /* torn down */
	unsigned slot;
	char name[VQT_QUEUE_NAME_LEN + 1];
	uint16_t ring_size, device_type, device_instance, queue_index, flags;
	uint64_t desc_addr, avail_addr, used_addr;

	uint64_t count[MC_COUNT];
	uint32_t in_flight, max_in_flight;
	uint16_t avail_idx;	/* driver's next avail index, from events */
	uint16_t last_used_idx; /* driver's next used index to reap, from events */
	bool cb_enabled;
	/* A CB event came, and the used_event (packed: off_wrap) it said
	 * the driver wrote. */
	bool have_cb;
	uint16_t cb_used_event;
	uint64_t anomalies; /* events that contradicted the queue state */
	char last_anomaly[160];
	/* USEDs of heads the trace never saw added: buffers the driver made
	 * available before tracing began (not anomalies). */
	uint64_t posted_before_tracing;
	/* What bounds them: the avail index of the first ADD traced and the
	 * used index of the first USED, in this registration. */
	bool first_add_seen, first_used_seen;
	uint16_t first_add_idx, first_used_idx;
	uint32_t posted_before_now;  /* counted in this registration */
	struct latency_hist latency; /* ADD -> USED (request queues only) */
	/* A receive queue (VQT_QF_RECEIVE): its buffers wait for data from
	 * outside, so they are neither commands nor device wait. */
	struct latency_hist fill_time; /* ADD -> USED of its buffers */
	bool starving;		       /* no buffer posted since starved_since_ns */
	uint64_t starved_since_ns;     /* session ns */
	uint64_t starved_ns;	       /* in closed starvation episodes */
	uint64_t starvations;	       /* episodes begun */
	struct model_rates rates;

	/* Per descriptor head: in flight or not (HEAD_FREE, HEAD_AVAIL; see
	 * model_head_state), and what its ADD said (struct model_head,
	 * model.c and findings.c only). */
	uint8_t *head_state;
	struct model_head *heads;
	uint64_t kicks_seen; /* KICK and KICK_SUPPRESSED events of the queue */

	/* Latest queue-table snapshot, and the queue's ADD + USED events
	 * seen when it came (events after it make them the fresher view). */
	bool have_table;
	struct vqt_queue table;
	uint64_t table_events;
	uint64_t table_adds, table_completions; /* ADD and USED events then */

	/* Device-side view from QMP, matched to this queue. */
	bool have_device;
	struct vqr_device_queue device;
	uint64_t device_host_ns;
	/* Device has completed buffers the driver has not reaped. */
	bool disagree;
	uint64_t disagree_since_ns; /* host ns when the device got ahead */
	uint16_t disagree_target;   /* device used index then */
	char disagree_text[160];

	uint64_t rate_base[MC_COUNT];

	/* What the findings engine (findings.c) keeps about the queue. */
	bool used_known;	  /* last_used_idx came from a USED event */
	uint32_t in_flight_descs; /* descriptors of the buffers in flight */
	/* The latest kick decision with the driver's evidence (KICK arg). */
	bool have_decision;
	bool decision_notified;
	/* What the driver read asked for a notification (2.7.10, 2.8.10),
	 * as vqscope redid the decision: what the stuck checks go by when
	 * there is no ring sample of the device's state. */
	bool decision_asked;
	uint16_t decision_idx;	       /* the new avail index it covered */
	uint64_t decision_state;       /* what the driver read (VQT_KICK_STATE_*) */
	uint64_t prev_decision_state;  /* of the decision before (packed positions) */
	uint32_t descs_since_decision; /* descriptors added since the last decision */
	uint64_t decision_seq;
	uint64_t spurious_notifies;
	uint64_t polls_progress_no_fence; /* POLLs that saw progress with 0 barriers */
	/* Progress, as the stuck checks see it (host time). */
	uint64_t progress_host_ns;
	uint64_t progress_cpu_wait_ns; /* m->cpu_wait_ns then */
	uint64_t progress_sig;	       /* what "progress" was compared with */
	uint64_t irqs_at_progress, polls_at_progress;
	/* The latest ring sample from guest RAM, and checks that must see a
	 * problem twice before they believe it. */
	bool have_ring;
	struct vqr_ring_queue ring;
	uint64_t ring_host_ns;
	struct vqr_ring_queue bad_chain_seen; /* candidate from the previous sample */
	uint64_t bad_chain_adds;	      /* adds of the queue then */
	struct vqr_ring_queue bad_wrap_seen;
	/* A used element the next ring sample should read (split): the one
	 * a USED-NOT-IN-FLIGHT named, to see which side got the id wrong. */
	bool elem_wanted;
	uint16_t elem_wanted_index, elem_wanted_head;
	bool device_broken;
};

/* Device-side queues that match no traced queue (uninstrumented guests). */
struct model_device_only {
	struct vqr_device_queue q;
	uint64_t host_ns;
	uint64_t prev_used; /* used_idx at the previous sample, for rates */
	double used_per_s;
};

/* ---- event history --------------------------------------------------------------------- */

struct model_history_entry {
	struct vqt_event ev; /* ev.seq is the low 32 bits */
	uint64_t seq;	     /* full sequence number */
	uint64_t at_ns;	     /* session time */
	uint32_t generation;
};

/* ---- the model ---------------------------------------------------------------------------- */

struct model_opts {
	uint64_t stall_frame_ns;   /* 0: auto, 2x the median of recent frames */
	uint64_t stall_command_ns; /* 0: default 10 ms */
	uint64_t interval_ns;	   /* attribution interval; 0: 1 s */
	size_t history;		   /* events kept for the event log; 0: 262144 */
	size_t frames_kept;	   /* recent frames kept; 0: 4096 */
	uint64_t disagree_ns;	   /* device ahead of driver this long: flag; 0: 500 ms */
	uint64_t stuck_after_ns;   /* work outstanding, no progress this long: a
				    * stuck finding; 0: 1 s */
	bool no_findings;	   /* no diagnosis (for benchmarks) */
};

#define MODEL_WORST_STALLS 16

/* What the producer says of itself (region header, minor version 1), as
 * the live layer last read it. */
enum model_producer_state {
	PRODUCER_UNKNOWN, /* a 1.0 region, a recording, nothing read yet */
	PRODUCER_RUNNING,
	PRODUCER_STOPPED, /* it said so (VQT_PRODUCER_STOPPED) */
	PRODUCER_SILENT,  /* running, but its heartbeat stood still for
			   * PRODUCER_SILENT_BEATS times what it promised */
};
#define PRODUCER_SILENT_BEATS 4

struct model_producer {
	enum model_producer_state state;
	uint32_t heartbeat_ms;	/* promised, 0: none */
	uint64_t heartbeats;	/* as last read */
	uint64_t heard_host_ns; /* host time the heartbeats last moved */
	uint64_t last_beat_ns;	/* session ns of the latest heartbeat or stop */
};

struct vq_model {
	struct model_opts opts;

	/* Clock and producer. */
	uint64_t ts_hz;
	uint64_t ns_per_tick_q32; /* 1e9 / ts_hz as 32.32 fixed point */
	/* Precomputed from the clock, for the common case of an event in
	 * model_feed: the largest step from the previous event's ticks that
	 * is surely no jump (TS_JUMP_LIMIT_NS), and the end of the timestamps
	 * whose nanoseconds need no saturation (0 before the origin). */
	uint64_t fast_step_ticks, fast_ts_end;
	char producer[VQT_PRODUCER_LEN + 1];
	uint32_t generation;
	uint32_t resyncs; /* producer restarts seen */
	bool have_origin;
	uint64_t origin_ts;	     /* producer ticks of session time 0 */
	uint64_t last_ts;	     /* latest event, producer ticks */
	uint64_t now_ns;	     /* latest event, session ns */
	uint64_t ns_offset;	     /* added after a resync so time keeps increasing */
	uint64_t host_ns;	     /* host CLOCK_MONOTONIC of the batch being fed */
	uint64_t last_event_host_ns; /* host_ns when the latest good event came */

	/* Totals. */
	uint64_t events;
	uint64_t lost;
	uint64_t violations;
	char last_violation[256];
	uint64_t per_type[VQT_EV_TYPE_COUNT];
	uint64_t anomalies;
	char last_anomaly[VQT_QUEUE_NAME_LEN + 200]; /* "queue: what", the latest */

	struct model_queue queues[MODEL_QUEUES];

	/* Frames: a ring of the most recent, plus totals over all. */
	struct model_frame *frames;
	size_t frames_cap, frames_len, frames_head; /* ring */
	uint64_t frames_total;
	struct attribution frames_attr; /* sum over completed frame periods */
	struct latency_hist frame_period;
	uint64_t frame_stalls;

	/* Interval attribution (all time, and the last closed interval). */
	struct attribution session_attr;
	struct attribution last_interval_attr;
	uint64_t last_interval_start_ns;

	/* Stalls: the worst kept, all counted. */
	struct model_stall worst[MODEL_WORST_STALLS];
	size_t nworst;
	uint64_t stalls_total;
	struct model_stall last_stall;
	bool have_last_stall;

	/* Device-side queues not matched to a traced queue. */
	struct model_device_only device_only[64];
	size_t ndevice_only;
	uint64_t device_samples;

	/* Event history ring. */
	struct model_history_entry *history;
	size_t history_cap, history_len, history_head;

	/* Rates. */
	double events_per_s;
	uint64_t events_rate_base;

	/* Working state of the attribution windows (model.c): the running
	 * totals by category, complete up to attr_cursor_ns; from there to
	 * now_ns the time is all of the current category (buffers in flight
	 * or not), added when that changes or a window needs it. */
	uint64_t attr_acc[ATTR_COUNT];
	uint64_t attr_cursor_ns;
	struct attr_window frame_window, time_window;
	bool in_frame;
	uint32_t frame_loss_epoch; /* loss_epoch when the open frame began */
	uint64_t frame_number;
	struct model_frame open_frame;
	/* The last 31 frame periods: in arrival order, and sorted. */
	uint64_t median_ring[31], median_sorted[31];
	size_t median_len, median_pos;
	struct recent_interval *recent_log, *recent_poll;
	size_t recent_pos_log, recent_pos_poll;
	uint32_t in_flight_total;

	/* Findings (findings.h), in the order first seen. */
	struct finding *findings;
	size_t nfindings, findings_cap;
	uint64_t findings_dropped; /* beyond findings_cap */
	uint32_t loss_epoch;	   /* bumped at every loss: per-head facts expire */
	bool vm_paused;		   /* QMP said STOP, or step mode holds the guest:
				    * queues stand still on purpose */
	/* How long QEMU waited for a CPU so far (model_note_cpu_wait): the
	 * stuck checks do not count it. */
	uint64_t cpu_wait_ns;
	struct model_producer producer_status;
};

struct vq_model *model_new(const struct model_opts *opts);
/* A copy of m that shares nothing with it (a replay's checkpoint); NULL
 * without memory. */
struct vq_model *model_clone(const struct vq_model *m);
void model_free(struct vq_model *m);

/* The producer's clock and identity (at attach, or from a REGION chunk). */
void model_set_producer(struct vq_model *m, uint64_t ts_hz, const char *producer,
			uint32_t generation);
/* The producer restarted (new generation): in-flight state is dropped,
 * totals and history are kept, and time continues from where it was. */
void model_resync(struct vq_model *m, uint64_t ts_hz, const char *producer, uint32_t generation);

/* Feed events in sequence order; first_seq is the full sequence number of
 * ev[0] (later ones follow from their seq fields). */
void model_feed(struct vq_model *m, const struct vqt_event *ev, size_t n, uint64_t first_seq);
void model_note_loss(struct vq_model *m, uint64_t lost);
/* The host's clock (CLOCK_MONOTONIC ns) when the next batch was drained
 * (0: unknown): a producer timestamp may jump forward as far as it moved,
 * plus an hour, before the jump is a violation. */
void model_note_host_time(struct vq_model *m, uint64_t host_ns);
void model_note_violations(struct vq_model *m, uint64_t n, const char *last);
/* A validated queue-table snapshot of slot. */
void model_queue_table(struct vq_model *m, unsigned slot, const struct vqt_queue *q);
/* Only what names the queue (name, size, device, flags, ring addresses)
 * from a snapshot taken after the events still to come: a recording's
 * first table, written before the guest's older records. */
void model_queue_identity(struct vq_model *m, unsigned slot, const struct vqt_queue *q);
/* Device-side samples taken at host_ns (host CLOCK_MONOTONIC). */
void model_device_sample(struct vq_model *m, uint64_t host_ns, const struct vqr_device_queue *q,
			 size_t n);
/* A ring sample read from guest RAM (ring_decode.h) for the findings. */
void model_ring_sample(struct vq_model *m, uint64_t host_ns, const struct vqr_ring_queue *q,
		       size_t n);
/* How long QEMU's threads have waited for a CPU in all so far (the
 * longest wait of any one thread in each interval, added up): time when a
 * loaded host did not run the guest or the device is not time a queue was
 * stuck. */
void model_note_cpu_wait(struct vq_model *m, uint64_t total_ns);
/* The VM was paused (QMP STOP) or resumed: a paused VM's queues stand
 * still without being stuck. */
void model_vm_paused(struct vq_model *m, bool paused);
/* The producer's state from the region header, read at host_ns
 * (vqp_region_producer; state, heartbeat_ms, heartbeat_ts, heartbeats). */
void model_producer_sample(struct vq_model *m, uint64_t host_ns, uint32_t state,
			   uint32_t heartbeat_ms, uint64_t heartbeat_ts, uint64_t heartbeats);
/* Whether the producer is known to have run at host time host_ns or
 * later: it promised heartbeats and one came since, or it promised none
 * and did not say it stopped.  The checks that judge the trace against
 * the device (stuck, unreaped) hold their verdict until then: a producer
 * that stopped leaves the trace behind the device, which is no fault. */
bool model_producer_heard_since(const struct vq_model *m, uint64_t host_ns);
/* "producer stopped at 12.35 s" or "producer silent since 12.35 s (no
 * heartbeat for 2.00 s)"; false (and "") while it runs or is unknown. */
bool model_producer_stopped_text(const struct vq_model *m, char *buf, size_t len);

/* Session-level checks that look at totals (frame time, polls, buffers in
 * flight for long): at every tick of the display, or once at the end. */
void model_check(struct vq_model *m);
/* The finding of code on queue (-1: the session), or NULL. */
const struct finding *model_finding(const struct vq_model *m, enum finding_code code, int queue);
/* The worst active finding (highest severity, then newest), or NULL. */
const struct finding *model_worst_finding(const struct vq_model *m);

/* Rates count from here, and are 0 until the next tick: what the source
 * read so far (a backlog in the ring when it attached, the events a
 * replay jumped over) is not spread over the next tick's interval. */
void model_rates_restart(struct vq_model *m);
/* Recompute rates over the elapsed_ns since the previous tick. */
void model_tick(struct vq_model *m, uint64_t elapsed_ns);
/* Rates over the window_ns of session time ending at end_ns, from the
 * event history (a replay where it stands); false, and rates 0, when
 * the history covers no time there. */
bool model_rates_over_history(struct vq_model *m, uint64_t end_ns, uint64_t window_ns);
/* End of input: close the open frame and interval. */
void model_finish(struct vq_model *m);

/* The driver's avail index and next used index to reap: from the queue
 * table, or from the events when some came after the last snapshot (or
 * there is no snapshot). */
void model_driver_indices(const struct model_queue *q, uint16_t *avail_idx,
			  uint16_t *last_used_idx);

/* Where head is in its life, from the trace: HEAD_FREE, HEAD_AVAIL (made
 * available, no notification since) or HEAD_DEVICE (a notification since,
 * sent or suppressed: the device's to take, 2.7.10). */
enum head_state model_head_state(const struct model_queue *q, uint16_t head);
/* Whether q is a receive queue (VQT_QF_RECEIVE): its posted buffers wait
 * for data from outside (a packet, an input event), not for a command. */
bool model_queue_receives(const struct model_queue *q);
/* Buffers available to the device (posted depth): the driver's avail
 * index minus its used index for a split ring, which counts buffers
 * posted before tracing too.  False (and *depth = the buffers the trace
 * saw in flight) when the indices are unknown or the ring is packed. */
bool model_posted_depth(const struct model_queue *q, uint32_t *depth);
/* Time a receive queue had no buffer posted, up to the latest event. */
uint64_t model_starved_ns(const struct vq_model *m, const struct model_queue *q);

/* What the views show of a receive queue, in one place. */
struct receive_summary {
	bool posted_known;	    /* posted from the driver's indices */
	uint32_t posted;	    /* buffers available to the device */
	uint64_t fills, fill_bytes; /* USEDs, and bytes the device wrote into them */
	uint64_t fill_count;	    /* fills of buffers posted while tracing */
	uint64_t fill_p50_ns, fill_p99_ns, fill_max_ns; /* their time to fill */
	uint64_t starved_ns, starvations;		/* time with no buffer posted */
	bool starving;					/* now */
	uint64_t posted_before_tracing;
};
void model_receive_summary(const struct vq_model *m, const struct model_queue *q,
			   struct receive_summary *out);

/* Session nanoseconds of a producer timestamp. */
uint64_t model_ts_to_ns(const struct vq_model *m, uint64_t ts);

/* Frame i of the kept ones, oldest first (i < frames_len). */
const struct model_frame *model_frame_at(const struct vq_model *m, size_t i);
/* History entry i, oldest first (i < history_len). */
const struct model_history_entry *model_history_at(const struct vq_model *m, size_t i);

/* State of queue slot's descriptor heads just after history entry `upto`
 * (history index), reconstructed by walking the history backwards.
 * states[] has ring_size entries (enum head_state); returns false when the
 * queue is unknown.  avail_idx/used_idx are the driver's indices then. */
struct ring_reconstruction {
	uint16_t ring_size;
	uint8_t states[VQT_RING_SIZE_MAX];
	uint16_t avail_idx, last_used_idx;
	bool avail_known, used_known;
	uint32_t in_flight;
};
bool model_ring_at(const struct vq_model *m, unsigned slot, size_t upto,
		   struct ring_reconstruction *out);

#endif /* VQ_MODEL_H */
