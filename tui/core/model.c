/* model.c - builds the session model from events (see model.h): queue
 * state and counters, ADD->USED latency, frame and interval attribution by
 * sweep, stall detection with the cause in words, device-side matching and
 * the event history. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings_engine.h"
#include "format.h"
#include "model.h"
#include "vqproto.h"

#define RECENT_INTERVALS	 512
#define HEADS_PER_QUEUE		 65536 /* any u16 head */
#define DEFAULT_HISTORY		 262144
#define DEFAULT_FRAMES		 4096
#define DEFAULT_STALL_COMMAND_NS 10000000ull
#define DEFAULT_INTERVAL_NS	 1000000000ull
#define DEFAULT_DISAGREE_NS	 500000000ull
#define DEFAULT_STUCK_AFTER_NS	 1000000000ull
#define AUTO_STALL_MIN_FRAMES	 8
#define TS_BACK_TOLERANCE_NS	 100000000ull	  /* 100 ms */
#define TS_JUMP_LIMIT_NS	 3600000000000ull /* an hour */

/* ---- histogram ------------------------------------------------------------------ */

/* Largest value that falls in bucket b. */
static uint64_t hist_bucket_upper(unsigned b)
{
	unsigned group = b >> HIST_SUB_BITS, sub = b & ((1u << HIST_SUB_BITS) - 1);
	unsigned msb;

	if (group == 0)
		return sub;
	msb = group + HIST_SUB_BITS - 1;
	return ((uint64_t)((1u << HIST_SUB_BITS) | sub) << (msb - HIST_SUB_BITS)) +
	       ((1ull << (msb - HIST_SUB_BITS)) - 1);
}

static inline __attribute__((always_inline)) void hist_add_inline(struct latency_hist *h,
								  uint64_t ns)
{
	h->min_ns = ns < h->min_ns || h->count == 0 ? ns : h->min_ns;
	h->max_ns = ns > h->max_ns ? ns : h->max_ns;
	h->count++;
	h->sum_ns += ns;
	h->buckets[hist_bucket(ns)]++;
}

void hist_add(struct latency_hist *h, uint64_t ns)
{
	hist_add_inline(h, ns);
}

uint64_t hist_quantile(const struct latency_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min_ns;
	rank = (uint64_t)(q * (double)h->count + 0.5);
	if (rank == 0)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t v = hist_bucket_upper(b);
			if (v > h->max_ns)
				v = h->max_ns;
			if (v < h->min_ns)
				v = h->min_ns;
			return v;
		}
	}
	return h->max_ns;
}

unsigned hist_log2(const struct latency_hist *h, uint64_t out[64])
{
	unsigned top = 0;

	memset(out, 0, 64 * sizeof(out[0]));
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		uint64_t v = hist_bucket_upper(b);
		unsigned k = v < 2 ? 0 : 63u - (unsigned)__builtin_clzll(v);

		if (!h->buckets[b])
			continue;
		out[k] += h->buckets[b];
		if (k + 1 > top)
			top = k + 1;
	}
	return top;
}

void hist_merge(struct latency_hist *dst, const struct latency_hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
}

/* ---- attribution ---------------------------------------------------------------- */

const char *attr_name(enum attr_cat c)
{
	static const char *const names[ATTR_COUNT] = {"log", "device", "polling", "other"};
	return c < ATTR_COUNT ? names[c] : "?";
}

const char *attr_description(enum attr_cat c)
{
	static const char *const text[ATTR_COUNT] = {
	    "writing log output",
	    "waiting for the device (buffers in flight)",
	    "polling with nothing in flight",
	    "driver work outside the queue",
	};
	return c < ATTR_COUNT ? text[c] : "?";
}

enum attr_cat attr_dominant(const struct attribution *a)
{
	enum attr_cat best = ATTR_OTHER;

	for (int c = 0; c < ATTR_COUNT; c++)
		if (a->ns[c] > a->ns[best])
			best = (enum attr_cat)c;
	return best;
}

unsigned attr_percent(const struct attribution *a, enum attr_cat c)
{
	if (!a->total_ns)
		return 0;
	/* In 128 bits: a hostile recording's times can be near 2^64 ns. */
	return (unsigned)(((unsigned __int128)a->ns[c] * 200 + a->total_ns) /
			  ((unsigned __int128)a->total_ns * 2));
}

static void attr_add(struct attribution *dst, const struct attribution *src)
{
	for (int c = 0; c < ATTR_COUNT; c++)
		dst->ns[c] += src->ns[c];
	dst->total_ns += src->total_ns;
}

/* ---- attribution windows ------------------------------------------------------------ */

/* Windows are split incrementally, O(1) per event.  The time from the
 * previous event to this one is given to "device" if buffers were in
 * flight, else "other".  LOG and POLL events arrive when the write or the
 * poll has finished and carry its duration: that much of the gap that
 * just ended is moved to "log" (whatever it was) or to "polling" (only
 * from "other": polling while buffers are in flight is waiting for the
 * device).  One producer cannot emit another event in the middle of its
 * own log write or poll, so the gap that just ended is exactly where that
 * time was; with several producers (the tracer on many CPUs) this is an
 * approximation.
 *
 * The model keeps one set of running totals (attr_acc) for both windows
 * and adds a gap to them only when the category changes (buffers in
 * flight from none or to none), a LOG or POLL moves part of one, or a
 * window opens or closes: most events add nothing.  A window's split is
 * the totals at its end minus those at its start (window.base). */

/* A log write or poll, kept for explaining command stalls. */
struct recent_interval {
	uint64_t start_ns, end_ns;
};

static inline enum attr_cat gap_category(const struct vq_model *m)
{
	return m->in_flight_total ? ATTR_DEVICE : ATTR_OTHER;
}

/* Bring the totals up to to_ns: the time since the cursor is all of the
 * current category. */
static inline void attr_flush(struct vq_model *m, uint64_t to_ns)
{
	if (to_ns > m->attr_cursor_ns) {
		m->attr_acc[gap_category(m)] += to_ns - m->attr_cursor_ns;
		m->attr_cursor_ns = to_ns;
	}
}

/* Open w at at_ns (the totals are flushed up to it). */
static void window_open(struct vq_model *m, struct attr_window *w, uint64_t at_ns, uint64_t end_ns)
{
	w->open = true;
	w->start_ns = at_ns;
	w->end_ns = end_ns;
	memcpy(w->base, m->attr_acc, sizeof(w->base));
}

/* The split of w so far (the totals flushed up to now). */
static struct attribution window_attr(const struct vq_model *m, const struct attr_window *w)
{
	struct attribution a = {0};

	for (int c = 0; c < ATTR_COUNT; c++) {
		a.ns[c] = m->attr_acc[c] - w->base[c];
		a.total_ns += a.ns[c];
	}
	return a;
}

/* Move up to d of the gap that just ended (gap_ns long, ending now) to
 * category to.  The interval window opened inside that gap when
 * time_gap_ns < gap_ns: it holds only its last time_gap_ns (UINT64_MAX:
 * it holds all of it). */
static void reclassify_gap(struct vq_model *m, uint64_t d, enum attr_cat to, uint64_t gap_ns,
			   uint64_t time_gap_ns)
{
	enum attr_cat from = gap_category(m);
	uint64_t p, p_time;

	attr_flush(m, m->now_ns);
	p = d < gap_ns ? d : gap_ns;
	m->attr_acc[from] -= p;
	m->attr_acc[to] += p;
	if (__builtin_expect(time_gap_ns < gap_ns, 0)) {
		/* The part before the interval's start belongs to the closed
		 * interval, which keeps it as it was. */
		p_time = d < time_gap_ns ? d : time_gap_ns;
		m->time_window.base[from] -= p - p_time;
		m->time_window.base[to] += p - p_time;
	}
}

/* Polling is only what is not waiting for the device (buffers in
 * flight); log output is any time. */
static inline void reclassify(struct vq_model *m, uint64_t d, enum attr_cat to, uint64_t gap_ns,
			      uint64_t time_gap_ns)
{
	if (to == ATTR_POLL ? m->in_flight_total == 0 : gap_category(m) != to)
		reclassify_gap(m, d, to, gap_ns, time_gap_ns);
}

/* ---- model lifetime ---------------------------------------------------------------------- */

static inline uint64_t ticks_to_ns(const struct vq_model *m, uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * m->ns_per_tick_q32) >> 32;

	/* Saturates: a hostile timestamp must not wrap into a small time. */
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* The largest tick count whose nanoseconds, unsaturated, are at most
 * limit_ns (they grow with the ticks): the inverse of the multiply,
 * corrected to the exact boundary. */
static uint64_t ticks_within(const struct vq_model *m, uint64_t limit_ns)
{
	unsigned __int128 q = m->ns_per_tick_q32, x;
	uint64_t d;

#define RAW_NS(t) (((unsigned __int128)(t)*q) >> 32)
	if (RAW_NS(UINT64_MAX) <= limit_ns)
		return UINT64_MAX;
	x = (((unsigned __int128)limit_ns + 1) << 32) / q;
	d = x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
	while (d > 0 && RAW_NS(d) > limit_ns)
		d--;
	while (RAW_NS((unsigned __int128)d + 1) <= limit_ns)
		d++;
	return d;
#undef RAW_NS
}

/* What model_feed's common case needs from the clock, the origin and the
 * offset: steps up to fast_step_ticks are no jump, and timestamps from the
 * origin to before fast_ts_end convert without saturating. */
static void clock_limits(struct vq_model *m)
{
	uint64_t span = ticks_within(m, UINT64_MAX - m->ns_offset);

	m->fast_step_ticks = ticks_within(m, TS_JUMP_LIMIT_NS);
	if (!m->have_origin)
		m->fast_ts_end = 0;
	else
		m->fast_ts_end =
		    span < UINT64_MAX - m->origin_ts ? m->origin_ts + span + 1 : UINT64_MAX;
}

/* Ticks to nanoseconds as a 32.32 fixed-point multiply: no division per
 * event.  Exact to better than 1 ns per second of ticks. */
static void set_clock(struct vq_model *m, uint64_t ts_hz)
{
	m->ts_hz = ts_hz;
	m->ns_per_tick_q32 = (uint64_t)(((unsigned __int128)1000000000u << 32) / ts_hz);
	clock_limits(m);
}

struct vq_model *model_new(const struct model_opts *opts)
{
	struct vq_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (opts)
		m->opts = *opts;
	if (!m->opts.stall_command_ns)
		m->opts.stall_command_ns = DEFAULT_STALL_COMMAND_NS;
	if (!m->opts.interval_ns)
		m->opts.interval_ns = DEFAULT_INTERVAL_NS;
	if (!m->opts.history)
		m->opts.history = DEFAULT_HISTORY;
	if (!m->opts.frames_kept)
		m->opts.frames_kept = DEFAULT_FRAMES;
	if (!m->opts.disagree_ns)
		m->opts.disagree_ns = DEFAULT_DISAGREE_NS;
	if (!m->opts.stuck_after_ns)
		m->opts.stuck_after_ns = DEFAULT_STUCK_AFTER_NS;
	set_clock(m, 1000000000);
	m->history_cap = m->opts.history;
	m->frames_cap = m->opts.frames_kept;
	m->history = calloc(m->history_cap, sizeof(*m->history));
	m->frames = calloc(m->frames_cap, sizeof(*m->frames));
	m->recent_log = calloc(RECENT_INTERVALS, sizeof(*m->recent_log));
	m->recent_poll = calloc(RECENT_INTERVALS, sizeof(*m->recent_poll));
	if (!m->history || !m->frames || !m->recent_log || !m->recent_poll ||
	    (!m->opts.no_findings && !findings_setup(m))) {
		model_free(m);
		return NULL;
	}
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		m->queues[s].slot = s;
		m->queues[s].cb_enabled = true;
	}
	return m;
}

static void queue_free_heads(struct model_queue *q)
{
	free(q->head_state);
	free(q->heads);
	q->head_state = NULL;
	q->heads = NULL;
}

/* A copy of n elements of size bytes at src (NULL stays NULL); false when
 * there is no memory for it. */
static bool copy_array(void *dst_ptr, const void *src, size_t n, size_t size)
{
	void **dst = dst_ptr;

	*dst = NULL;
	if (!src)
		return true;
	*dst = malloc(n * size);
	if (!*dst)
		return false;
	memcpy(*dst, src, n * size);
	return true;
}

struct vq_model *model_clone(const struct vq_model *m)
{
	struct vq_model *c = malloc(sizeof(*c));
	bool ok;

	if (!c)
		return NULL;
	*c = *m;
	/* Every pointer is the clone's own before anything can fail, so
	 * model_free frees only what was copied. */
	c->history = NULL;
	c->frames = NULL;
	c->recent_log = c->recent_poll = NULL;
	c->findings = NULL;
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		c->queues[s].head_state = NULL;
		c->queues[s].heads = NULL;
	}
	ok = copy_array(&c->history, m->history, m->history_cap, sizeof(*m->history)) &&
	     copy_array(&c->frames, m->frames, m->frames_cap, sizeof(*m->frames)) &&
	     copy_array(&c->recent_log, m->recent_log, RECENT_INTERVALS, sizeof(*m->recent_log)) &&
	     copy_array(&c->recent_poll, m->recent_poll, RECENT_INTERVALS,
			sizeof(*m->recent_poll)) &&
	     copy_array(&c->findings, m->findings, m->findings_cap, sizeof(*m->findings));
	for (unsigned s = 0; ok && s < MODEL_QUEUES; s++) {
		const struct model_queue *q = &m->queues[s];

		ok = copy_array(&c->queues[s].head_state, q->head_state, HEADS_PER_QUEUE,
				sizeof(*q->head_state)) &&
		     copy_array(&c->queues[s].heads, q->heads, HEADS_PER_QUEUE, sizeof(*q->heads));
	}
	if (!ok) {
		model_free(c);
		return NULL;
	}
	return c;
}

void model_free(struct vq_model *m)
{
	if (!m)
		return;
	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		queue_free_heads(&m->queues[s]);
	free(m->recent_log);
	free(m->recent_poll);
	free(m->history);
	free(m->frames);
	findings_teardown(m);
	free(m);
}

void model_set_producer(struct vq_model *m, uint64_t ts_hz, const char *producer,
			uint32_t generation)
{
	if (ts_hz)
		set_clock(m, ts_hz);
	vqp_copy_string(m->producer, sizeof(m->producer), producer);
	m->generation = generation;
}

uint64_t model_ts_to_ns(const struct vq_model *m, uint64_t ts)
{
	uint64_t ns;

	if (!m->have_origin || ts <= m->origin_ts)
		return m->ns_offset;
	ns = ticks_to_ns(m, ts - m->origin_ts);
	return ns > UINT64_MAX - m->ns_offset ? UINT64_MAX : m->ns_offset + ns;
}

void model_note_host_time(struct vq_model *m, uint64_t host_ns)
{
	m->host_ns = host_ns;
}

/* ---- queues --------------------------------------------------------------------------------- */

static __attribute__((noinline, cold)) void anomaly(struct vq_model *m, struct model_queue *q,
						    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static __attribute__((noinline, cold)) void anomaly(struct vq_model *m, struct model_queue *q,
						    const char *fmt, ...)
{
	va_list ap;

	m->anomalies++;
	q->anomalies++;
	va_start(ap, fmt);
	vsnprintf(q->last_anomaly, sizeof(q->last_anomaly), fmt, ap);
	va_end(ap);
	snprintf(m->last_anomaly, sizeof(m->last_anomaly), "%s: %s", q->name[0] ? q->name : "queue",
		 q->last_anomaly);
}

enum head_state model_head_state(const struct model_queue *q, uint16_t head)
{
	if (!q->head_state || q->head_state[head] == HEAD_FREE)
		return HEAD_FREE;
	return q->heads[head].kick_at_add == q->kicks_seen ? HEAD_AVAIL : HEAD_DEVICE;
}

bool model_queue_receives(const struct model_queue *q)
{
	return q->flags & VQT_QF_RECEIVE;
}

/* Per-head arrays, sized for any u16 head so a head outside the announced
 * ring is an anomaly we can report rather than an out-of-bounds write. */
static __attribute__((noinline)) bool queue_alloc_heads(struct model_queue *q)
{
	q->head_state = calloc(HEADS_PER_QUEUE, sizeof(*q->head_state));
	q->heads = calloc(HEADS_PER_QUEUE, sizeof(*q->heads));
	if (!q->head_state || !q->heads) {
		queue_free_heads(q);
		return false;
	}
	return true;
}

static inline bool queue_ensure_heads(struct model_queue *q)
{
	return __builtin_expect(q->heads != NULL, 1) || queue_alloc_heads(q);
}

/* Buffers in flight in all queues: the attribution's category changes
 * when it goes to or from zero, so the time until now is added first. */
static inline void set_in_flight_total(struct vq_model *m, uint32_t n)
{
	if (!m->in_flight_total != !n)
		attr_flush(m, m->now_ns);
	m->in_flight_total = n;
}

/* The same, by one (at_ns is now). */
static inline void in_flight_up(struct vq_model *m, uint64_t at_ns)
{
	if (m->in_flight_total++ == 0 && at_ns > m->attr_cursor_ns) {
		m->attr_acc[ATTR_OTHER] += at_ns - m->attr_cursor_ns;
		m->attr_cursor_ns = at_ns;
	}
}

static inline void in_flight_down(struct vq_model *m, uint64_t at_ns)
{
	if (m->in_flight_total && --m->in_flight_total == 0 && at_ns > m->attr_cursor_ns) {
		m->attr_acc[ATTR_DEVICE] += at_ns - m->attr_cursor_ns;
		m->attr_cursor_ns = at_ns;
	}
}

static void queue_forget_in_flight(struct vq_model *m, struct model_queue *q)
{
	/* A free head's epoch says it was freed by a USED, which these were
	 * not; its other fields are only read while it is in flight. */
	if (q->head_state) {
		for (unsigned h = 0; h < 65536; h++)
			if (q->head_state[h] != HEAD_FREE)
				q->heads[h].epoch = 0;
		memset(q->head_state, 0, 65536 * sizeof(*q->head_state));
	}
	q->in_flight_descs = 0;
	/* A receive queue's posted buffers are not in in_flight_total: they
	 * wait for the outside, not for the device. */
	if (!model_queue_receives(q))
		set_in_flight_total(
		    m, m->in_flight_total >= q->in_flight ? m->in_flight_total - q->in_flight : 0);
	q->in_flight = 0;
	if (q->starving)
		q->starved_ns += m->now_ns - q->starved_since_ns;
	q->starving = false;
}

static void queue_identity_from_table(struct model_queue *q, const struct vqt_queue *t)
{
	vqp_copy_string(q->name, sizeof(q->name), t->name);
	q->ring_size = t->ring_size;
	q->device_type = t->device_type;
	q->device_instance = t->device_instance;
	q->queue_index = t->queue_index;
	q->flags = t->flags;
	q->desc_addr = t->desc_addr;
	q->avail_addr = t->avail_addr;
	q->used_addr = t->used_addr;
}

void model_queue_identity(struct vq_model *m, unsigned slot, const struct vqt_queue *t)
{
	if (slot < MODEL_QUEUES && t->state != VQT_QS_FREE)
		queue_identity_from_table(&m->queues[slot], t);
}

void model_queue_table(struct vq_model *m, unsigned slot, const struct vqt_queue *t)
{
	struct model_queue *q;
	bool received;

	if (slot >= MODEL_QUEUES)
		return;
	q = &m->queues[slot];
	q->table = *t;
	q->have_table = true;
	q->table_events = q->count[MC_ADDS] + q->count[MC_COMPLETIONS];
	q->table_adds = q->count[MC_ADDS];
	q->table_completions = q->count[MC_COMPLETIONS];
	if (t->state == VQT_QS_FREE)
		return;
	q->active = t->state == VQT_QS_ACTIVE;
	q->gone = t->state == VQT_QS_GONE;
	received = model_queue_receives(q);
	queue_identity_from_table(q, t);
	/* Its buffers in flight count as device wait only on a request queue. */
	if (received && !model_queue_receives(q))
		set_in_flight_total(m, m->in_flight_total + q->in_flight);
	else if (!received && model_queue_receives(q))
		set_in_flight_total(
		    m, m->in_flight_total >= q->in_flight ? m->in_flight_total - q->in_flight : 0);
	if (received && !model_queue_receives(q) && q->starving) {
		q->starved_ns += m->now_ns - q->starved_since_ns;
		q->starving = false;
	}
	q->cb_enabled = !(t->flags & VQT_QF_CB_DISABLED);
	if (!m->opts.no_findings)
		findings_on_table(m, q);
}

void model_driver_indices(const struct model_queue *q, uint16_t *avail_idx, uint16_t *last_used_idx)
{
	bool events_newer =
	    !q->have_table || q->count[MC_ADDS] + q->count[MC_COMPLETIONS] != q->table_events;

	*avail_idx = events_newer ? q->avail_idx : q->table.avail_idx;
	*last_used_idx = events_newer ? q->last_used_idx : q->table.last_used_idx;
}

bool model_posted_depth(const struct model_queue *q, uint32_t *depth)
{
	/* Each index from the events when they moved it since the table
	 * snapshot (or there is none), else from the table. */
	bool avail_events = !q->have_table || q->count[MC_ADDS] != q->table_adds;
	bool used_events = !q->have_table || q->count[MC_COMPLETIONS] != q->table_completions;
	uint16_t avail = avail_events ? q->avail_idx : q->table.avail_idx;
	uint16_t used = used_events ? q->last_used_idx : q->table.last_used_idx;
	uint16_t posted = (uint16_t)(avail - used);

	*depth = q->in_flight;
	/* A packed ring's indices are ring positions, not counts (2.8). */
	if ((q->flags & VQT_QF_PACKED) || !q->ring_size || (avail_events && !q->count[MC_ADDS]) ||
	    (used_events && !q->used_known) || posted > q->ring_size)
		return false;
	*depth = posted;
	return true;
}

uint64_t model_starved_ns(const struct vq_model *m, const struct model_queue *q)
{
	return q->starved_ns + (q->starving && m->now_ns > q->starved_since_ns
				    ? m->now_ns - q->starved_since_ns
				    : 0);
}

void model_receive_summary(const struct vq_model *m, const struct model_queue *q,
			   struct receive_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->posted_known = model_posted_depth(q, &out->posted);
	out->fills = q->count[MC_COMPLETIONS];
	out->fill_bytes = q->count[MC_USED_BYTES];
	out->fill_count = q->fill_time.count;
	out->fill_p50_ns = hist_quantile(&q->fill_time, 0.5);
	out->fill_p99_ns = hist_quantile(&q->fill_time, 0.99);
	out->fill_max_ns = q->fill_time.max_ns;
	out->starved_ns = model_starved_ns(m, q);
	out->starvations = q->starvations;
	out->starving = q->starving;
	out->posted_before_tracing = q->posted_before_tracing;
}

/* A receive queue starves while no buffer is posted: what arrives then
 * has nowhere to go (virtio-net drops it, 5.1.6.4). */
static void receive_depth_changed(struct model_queue *q, uint64_t at_ns)
{
	uint32_t depth;
	bool known = model_posted_depth(q, &depth);

	if (!model_queue_receives(q))
		return;
	if (known && depth == 0 && !q->starving) {
		q->starving = true;
		q->starved_since_ns = at_ns;
		q->starvations++;
	} else if (q->starving && (!known || depth)) {
		q->starved_ns += at_ns - q->starved_since_ns;
		q->starving = false;
	}
}

/* ---- frames and stalls ---------------------------------------------------------------------- */

static void keep_stall(struct vq_model *m, const struct model_stall *s)
{
	size_t victim = 0;

	m->stalls_total++;
	m->last_stall = *s;
	m->have_last_stall = true;
	if (m->nworst < MODEL_WORST_STALLS) {
		m->worst[m->nworst++] = *s;
		return;
	}
	for (size_t i = 1; i < m->nworst; i++)
		if (m->worst[i].duration_ns < m->worst[victim].duration_ns)
			victim = i;
	if (s->duration_ns > m->worst[victim].duration_ns)
		m->worst[victim] = *s;
}

/* The median of the last 31 frame periods, from their sorted copy. */
static uint64_t median_period(const struct vq_model *m)
{
	return m->median_len ? m->median_sorted[m->median_len / 2] : 0;
}

/* Keep period among the last 31: the oldest leaves the sorted copy, the
 * new one goes in at its place (O(31) per frame, no sort). */
static void median_push(struct vq_model *m, uint64_t period)
{
	size_t n = m->median_len, i;

	if (n == 31) {
		uint64_t old = m->median_ring[m->median_pos];

		for (i = 0; i < n - 1 && m->median_sorted[i] != old; i++)
			;
		memmove(&m->median_sorted[i], &m->median_sorted[i + 1],
			(n - 1 - i) * sizeof(m->median_sorted[0]));
		n--;
	}
	for (i = n; i > 0 && m->median_sorted[i - 1] > period; i--)
		m->median_sorted[i] = m->median_sorted[i - 1];
	m->median_sorted[i] = period;
	m->median_ring[m->median_pos] = period;
	m->median_pos = m->median_pos + 1 == 31 ? 0 : m->median_pos + 1;
	m->median_len = n + 1;
}

/* "41.0 ms (85%) writing log output, 5.1 ms (11%) waiting ..." */
static void describe_attr(char *buf, size_t len, const struct attribution *a)
{
	enum attr_cat order[ATTR_COUNT];
	size_t used = 0;

	for (int c = 0; c < ATTR_COUNT; c++)
		order[c] = (enum attr_cat)c;
	for (int i = 1; i < ATTR_COUNT; i++)
		for (int k = i; k > 0 && a->ns[order[k - 1]] < a->ns[order[k]]; k--) {
			enum attr_cat t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	buf[0] = 0;
	for (int i = 0; i < ATTR_COUNT && used < len; i++) {
		char d[32];
		enum attr_cat c = order[i];

		if (a->ns[c] == 0 || (i > 0 && a->total_ns && a->ns[c] * 100 < a->total_ns))
			continue;
		format_duration(d, sizeof(d), a->ns[c]);
		used += (size_t)snprintf(buf + used, len - used, "%s%s (%u%%) %s", used ? ", " : "",
					 d, attr_percent(a, c), attr_description(c));
	}
}

static void close_frame(struct vq_model *m, uint64_t end_ns)
{
	struct model_frame *f = &m->open_frame;
	/* Records lost inside the frame may have held its end and the
	 * beginnings of frames after it: its period is not one frame's, so it
	 * is neither a stall nor part of the period statistics. */
	bool whole = m->loss_epoch == m->frame_loss_epoch;
	uint64_t threshold;

	/* The window holds every gap up to the latest event (end_ns is never
	 * after it). */
	attr_flush(m, m->now_ns);
	f->attr = window_attr(m, &m->frame_window);
	m->frame_window.open = false;
	f->period_ns = end_ns - f->begin_ns;
	if (f->end_ns && f->end_ns >= f->begin_ns)
		f->active_ns = f->end_ns - f->begin_ns;

	threshold = m->opts.stall_frame_ns;
	if (!threshold && m->median_len >= AUTO_STALL_MIN_FRAMES)
		threshold = 2 * median_period(m);
	if (whole && threshold && f->period_ns > threshold) {
		struct model_stall s = {.kind = STALL_FRAME,
					.at_ns = f->begin_ns,
					.duration_ns = f->period_ns,
					.frame = f->number,
					.attr = f->attr};
		char parts[160], d[32], t[32];

		f->stall = true;
		m->frame_stalls++;
		s.cause = attr_dominant(&f->attr);
		describe_attr(parts, sizeof(parts), &f->attr);
		format_duration(d, sizeof(d), f->period_ns);
		format_duration(t, sizeof(t), threshold);
		snprintf(s.text, sizeof(s.text), "frame %llu took %s (threshold %s): %s",
			 (unsigned long long)f->number, d, t, parts);
		keep_stall(m, &s);
	}
	if (whole) {
		median_push(m, f->period_ns);
		hist_add(&m->frame_period, f->period_ns);
	}
	attr_add(&m->frames_attr, &f->attr);
	m->frames_total++;
	m->frames[m->frames_head] = *f;
	m->frames_head = m->frames_head + 1 == m->frames_cap ? 0 : m->frames_head + 1;
	if (m->frames_len < m->frames_cap)
		m->frames_len++;
	m->in_frame = false;
}

const struct model_frame *model_frame_at(const struct vq_model *m, size_t i)
{
	if (i >= m->frames_len)
		return NULL;
	return &m->frames[(m->frames_head + m->frames_cap - m->frames_len + i) % m->frames_cap];
}

static void remember_interval(struct recent_interval *ring, size_t *pos, uint64_t start,
			      uint64_t end)
{
	ring[*pos % RECENT_INTERVALS] = (struct recent_interval){start, end};
	(*pos)++;
}

static uint64_t overlap(const struct recent_interval *ring, size_t pos, uint64_t start,
			uint64_t end)
{
	uint64_t total = 0;
	size_t n = pos < RECENT_INTERVALS ? pos : RECENT_INTERVALS;

	for (size_t i = 0; i < n; i++) {
		uint64_t s = ring[i].start_ns > start ? ring[i].start_ns : start;
		uint64_t e = ring[i].end_ns < end ? ring[i].end_ns : end;

		if (e > s)
			total += e - s;
	}
	return total;
}

/* A command took too long: say whether the driver was logging, waiting for
 * the device, or busy elsewhere while it was outstanding. */
static void command_stall(struct vq_model *m, struct model_queue *q, uint16_t head, uint64_t add_ns,
			  uint64_t used_ns)
{
	struct model_stall s = {.kind = STALL_COMMAND,
				.at_ns = add_ns,
				.duration_ns = used_ns - add_ns,
				.queue = q->slot,
				.head = head,
				.frame = m->frame_number};
	uint64_t log = overlap(m->recent_log, m->recent_pos_log, add_ns, used_ns);
	uint64_t poll = overlap(m->recent_poll, m->recent_pos_poll, add_ns, used_ns);
	uint64_t rest, total = used_ns - add_ns;
	char parts[160], d[32];

	if (log > total)
		log = total;
	if (poll > total - log)
		poll = total - log;
	rest = total - log - poll;
	s.attr.total_ns = total;
	s.attr.ns[ATTR_LOG] = log;
	s.attr.ns[ATTR_DEVICE] = poll;
	/* Without polls the driver waits for an interrupt: device time. */
	s.attr.ns[q->count[MC_POLLS] ? ATTR_OTHER : ATTR_DEVICE] += rest;
	s.cause = attr_dominant(&s.attr);
	describe_attr(parts, sizeof(parts), &s.attr);
	format_duration(d, sizeof(d), total);
	snprintf(s.text, sizeof(s.text), "%s head %u took %s: %s", q->name[0] ? q->name : "queue",
		 head, d, parts);
	q->count[MC_STALLS]++;
	keep_stall(m, &s);
}

/* ---- time windows -------------------------------------------------------------------------- */

static void close_time_window(struct vq_model *m, uint64_t end_ns)
{
	struct attr_window *w = &m->time_window;
	struct attribution a;

	attr_flush(m, end_ns);
	a = window_attr(m, w);
	attr_add(&m->session_attr, &a);
	m->last_interval_attr = a;
	m->last_interval_start_ns = w->start_ns;
	w->open = false;
	w->end_ns = 0; /* the next event opens one */
}

/* The interval ends before at_ns (or none is open): close it and every
 * whole interval passed since, and open the one at_ns falls in.  Returns
 * the new interval's share of the gap that ends at at_ns (all of it
 * when the interval opens at at_ns... or before the previous event). */
static __attribute__((noinline)) uint64_t advance_interval(struct vq_model *m, uint64_t at_ns,
							   uint64_t gap_ns)
{
	struct attr_window *w = &m->time_window;
	uint64_t iv = m->opts.interval_ns, next;

	if (!w->open) {
		attr_flush(m, at_ns);
		window_open(m, w, at_ns, at_ns + iv > at_ns ? at_ns + iv : UINT64_MAX);
		return 0;
	}
	next = w->end_ns;
	/* The closing interval gets the gap up to its end. */
	close_time_window(m, next);
	if (at_ns >= next + iv) {
		/* An idle gap with no events: one state throughout. */
		uint64_t gap = (at_ns - next) / iv * iv;
		struct attribution a = {.total_ns = gap};

		a.ns[gap_category(m)] = gap;
		attr_add(&m->session_attr, &a);
		next += gap;
	}
	/* The new interval starts at next; the totals reach it once the gap
	 * is added (all of one category), so its base is what they will be
	 * at next. */
	window_open(m, w, next, next + iv > next ? next + iv : UINT64_MAX);
	w->base[gap_category(m)] += next - m->attr_cursor_ns;
	return at_ns - next < gap_ns ? at_ns - next : gap_ns;
}

/* ---- event processing -------------------------------------------------------------------------
 *
 * model_feed runs for every event the live view, the recorder and the
 * exporter read, at up to millions a second, so its common case is kept
 * short (bench/core.sh counts its instructions per event): events in time
 * order convert with one multiply and no check that can fail, the event
 * history is filled in place and its length set once per batch, the time
 * attribution adds a gap only when its category changes (see above), and
 * the diagnosis's per-event checks are inline (findings_engine.h), with
 * anything rare (anomalies, findings, a new interval, a frame's end) out
 * of line. */

const struct model_history_entry *model_history_at(const struct vq_model *m, size_t i)
{
	if (i >= m->history_len)
		return NULL;
	return &m->history[(m->history_head + m->history_cap - m->history_len + i) %
			   m->history_cap];
}

/* An ADD of a head that is outside the ring or in flight: true when it
 * is added as usual after all. */
static __attribute__((noinline, cold)) bool add_again(struct vq_model *m, struct model_queue *q,
						      const struct vqt_event *e, uint64_t at_ns)
{
	struct model_head *h = &q->heads[e->head];

	if (q->ring_size && e->head >= q->ring_size) {
		/* Not a descriptor of this queue: nothing to track. */
		anomaly(m, q, "ADD of head %u outside the ring of %u", e->head, q->ring_size);
		return false;
	}
	if (h->epoch != m->loss_epoch + 1) {
		/* Records were lost since its ADD: the USED that freed it may
		 * be among them.  That use ends here, unmeasured. */
		q->head_state[e->head] = HEAD_FREE;
		q->in_flight_descs -=
		    q->in_flight_descs >= h->ndesc ? h->ndesc : q->in_flight_descs;
		q->in_flight--;
		if (!model_queue_receives(q))
			in_flight_down(m, at_ns);
		else
			receive_depth_changed(q, at_ns);
		return true;
	}
	anomaly(m, q, "ADD of head %u which is already in flight", e->head);
	h->add_ns = at_ns;
	/* Its descriptors are not counted: the next decision has nothing
	 * exact to be compared with. */
	q->have_decision = false;
	return false;
}

static inline void on_add(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			  uint64_t at_ns)
{
	uint16_t head = e->head;
	struct model_head *h;

	if (!q->first_add_seen) {
		q->first_add_seen = true;
		q->first_add_idx = e->ring_idx;
	}
	q->count[MC_ADDS]++;
	q->count[MC_DESCS] += e->ndesc;
	q->count[MC_BYTES] += e->len;
	q->avail_idx = (uint16_t)(e->ring_idx + 1);
	if (!queue_ensure_heads(q))
		return;
	if (((q->ring_size && head >= q->ring_size) || q->head_state[head] != HEAD_FREE) &&
	    !add_again(m, q, e, at_ns))
		return;
	q->head_state[head] = HEAD_AVAIL;
	h = &q->heads[head];
	h->epoch = m->loss_epoch + 1;
	h->add_ns = at_ns;
	h->bytes = e->len;
	h->done_at_add = (uint32_t)q->count[MC_COMPLETIONS];
	h->ndesc = e->ndesc;
	h->kick_at_add = q->kicks_seen;
	q->in_flight_descs += e->ndesc;
	q->descs_since_decision += e->ndesc;
	if (++q->in_flight > q->max_in_flight)
		q->max_in_flight = q->in_flight;
	if (!model_queue_receives(q))
		in_flight_up(m, at_ns);
	else
		receive_depth_changed(q, at_ns);
}

static inline void on_kick(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			   uint64_t seq, bool suppressed)
{
	q->count[suppressed ? MC_KICKS_SUPPRESSED : MC_KICKS]++;
	if (!m->opts.no_findings)
		findings_on_kick(m, q, e, seq);
	q->avail_idx = e->ring_idx;
	/* Everything made available since the last notification is now the
	 * device's to take (a suppressed notification means the device is
	 * already looking at the ring, 2.7.10): model_head_state. */
	q->kicks_seen++;
}

/* A USED of a head the trace never saw added nor used was made available
 * before tracing began, if buffers could be outstanding then: the ones
 * between the driver's used index when tracing began (at most that of the
 * first USED) and the avail index of the first ADD traced (2.7.13, 2.7.14:
 * both indices count buffers, split ring).  Any other is an anomaly. */
static bool posted_before_tracing(const struct model_queue *q, uint16_t head)
{
	uint16_t could;

	if (q->heads[head].epoch != 0 || (q->ring_size && head >= q->ring_size))
		return false;
	if (!q->first_add_seen)
		could = q->ring_size ? q->ring_size : UINT16_MAX;
	else
		could = (uint16_t)(q->first_add_idx - q->first_used_idx);
	if (q->ring_size && could > q->ring_size)
		could = 0; /* not indices of one ring */
	return q->posted_before_now < could;
}

static __attribute__((noinline, cold)) void
used_not_in_flight(struct vq_model *m, struct model_queue *q, uint16_t head, uint64_t at_ns)
{
	if (posted_before_tracing(q, head)) {
		q->posted_before_tracing++;
		q->posted_before_now++;
		q->heads[head].epoch = m->loss_epoch + 1;
	} else if (q->heads[head].epoch != 0 && q->heads[head].epoch != m->loss_epoch + 1) {
		/* Records were lost since its last USED: the ADD that made it
		 * available again may be among them. */
		q->heads[head].epoch = m->loss_epoch + 1;
	} else {
		anomaly(m, q, "USED of head %u which is not in flight", head);
	}
	receive_depth_changed(q, at_ns);
}

static inline void on_used(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
			   uint64_t seq, uint64_t at_ns)
{
	uint16_t head = e->head;
	struct model_head *h;
	uint64_t latency;
	bool receives = model_queue_receives(q);

	if (!q->first_used_seen) {
		q->first_used_seen = true;
		q->first_used_idx = e->ring_idx;
	}
	q->count[MC_COMPLETIONS]++;
	q->count[MC_USED_BYTES] += e->len;
	m->open_frame.commands += m->in_frame && !receives;
	if (!queue_ensure_heads(q)) {
		q->last_used_idx = (uint16_t)(e->ring_idx + 1);
		return;
	}
	if (!m->opts.no_findings)
		findings_on_used(m, q, e, seq);
	q->last_used_idx = (uint16_t)(e->ring_idx + 1);
	q->used_known = true;
	if (q->head_state[head] == HEAD_FREE) {
		used_not_in_flight(m, q, head, at_ns);
		return;
	}
	h = &q->heads[head];
	latency = at_ns >= h->add_ns ? at_ns - h->add_ns : 0;
	/* A receive buffer waits for data, however long: its time to fill
	 * is no command latency, and never a stall. */
	if (receives) {
		hist_add(&q->fill_time, latency);
	} else {
		hist_add_inline(&q->latency, latency);
		if (latency > m->opts.stall_command_ns)
			command_stall(m, q, head, h->add_ns, at_ns);
	}
	q->head_state[head] = HEAD_FREE;
	h->epoch = m->loss_epoch + 1;
	q->in_flight_descs -= q->in_flight_descs >= h->ndesc ? h->ndesc : q->in_flight_descs;
	q->in_flight--;
	if (!receives)
		in_flight_down(m, at_ns);
	else
		receive_depth_changed(q, at_ns);
}

static void on_queue_event(struct vq_model *m, struct model_queue *q, const struct vqt_event *e)
{
	/* Registered again (after a reset): indices start over. */
	q->used_known = false;
	q->first_add_seen = q->first_used_seen = false;
	q->posted_before_now = 0;
	q->have_decision = false;
	queue_forget_in_flight(m, q);
	if (e->ndesc == VQT_QS_ACTIVE) {
		q->active = true;
		q->gone = false;
		q->ring_size = e->ring_idx;
	} else {
		q->active = false;
		q->gone = true;
	}
}

/* POLL and LOG: d of the gap that just ended was polling or log output
 * (up to an hour of ticks needs no saturation). */
static inline uint64_t interval_ns(const struct vq_model *m, const struct vqt_event *e,
				   uint64_t at_ns)
{
	uint64_t d = __builtin_expect(e->arg <= m->fast_step_ticks, 1)
			 ? (uint64_t)(((unsigned __int128)e->arg * m->ns_per_tick_q32) >> 32)
			 : ticks_to_ns(m, e->arg);

	return d > at_ns ? at_ns : d;
}

static void on_frame_begin(struct vq_model *m, const struct vqt_event *e, uint64_t at_ns)
{
	if (m->in_frame)
		close_frame(m, at_ns);
	memset(&m->open_frame, 0, sizeof(m->open_frame));
	m->open_frame.number = e->arg;
	m->open_frame.begin_ns = at_ns;
	m->frame_number = e->arg;
	m->in_frame = true;
	m->frame_loss_epoch = m->loss_epoch;
	attr_flush(m, at_ns);
	window_open(m, &m->frame_window, at_ns, UINT64_MAX);
}

/* A producer's events come in time order.  A clock that steps back a
 * little (several CPUs feeding one ring, TSCs a few microseconds apart)
 * is clamped; one that steps back more than TS_BACK_TOLERANCE_NS, or
 * forward more than TS_JUMP_LIMIT_NS beyond what the host's own clock saw
 * pass, is a protocol violation: the event keeps the previous time. */
static bool timestamp_ok(struct vq_model *m, const struct vqt_event *e, uint64_t seq)
{
	char why[256], d[32], h[32];
	uint64_t step, host_gap;

	if (!m->have_origin)
		return true;
	if (e->ts < m->last_ts) {
		step = ticks_to_ns(m, m->last_ts - e->ts);
		if (step <= TS_BACK_TOLERANCE_NS)
			return true;
		format_duration(d, sizeof(d), step);
		snprintf(why, sizeof(why),
			 "event %u:%llu: timestamp %llu is %s before the previous one (%llu)",
			 m->generation, (unsigned long long)seq, (unsigned long long)e->ts, d,
			 (unsigned long long)m->last_ts);
		model_note_violations(m, 1, why);
		return false;
	}
	step = ticks_to_ns(m, e->ts - m->last_ts);
	host_gap = m->host_ns > m->last_event_host_ns && m->last_event_host_ns
		       ? m->host_ns - m->last_event_host_ns
		       : 0;
	if (step <= host_gap + TS_JUMP_LIMIT_NS)
		return true;
	format_duration(d, sizeof(d), step);
	format_duration(h, sizeof(h), host_gap);
	snprintf(why, sizeof(why),
		 "event %u:%llu: timestamp %llu is %s after the previous one (%llu), while the "
		 "host's clock moved %s",
		 m->generation, (unsigned long long)seq, (unsigned long long)e->ts, d,
		 (unsigned long long)m->last_ts, h);
	model_note_violations(m, 1, why);
	return false;
}

/* The session time of an event that is not a step forward of at most
 * the jump limit (the first, one that steps back or jumps), or whose time
 * saturates. */
static __attribute__((noinline)) uint64_t event_time_slow(struct vq_model *m,
							  const struct vqt_event *e, uint64_t seq)
{
	uint64_t at_ns;

	if (!timestamp_ok(m, e, seq))
		return m->now_ns;
	if (!m->have_origin) {
		m->have_origin = true;
		m->origin_ts = e->ts;
		clock_limits(m);
	}
	at_ns = model_ts_to_ns(m, e->ts);
	if (at_ns < m->now_ns)
		at_ns = m->now_ns;
	if (e->ts > m->last_ts)
		m->last_ts = e->ts;
	m->last_event_host_ns = m->host_ns;
	return at_ns;
}

/* Event types: the highest queue slot an event of the type may name
 * (-1: the type is never valid).  Types that name no queue may carry
 * VQT_QUEUE_NONE. */
static const int16_t queue_limit[256] = {
    [VQT_EV_NONE] = -1,
    [VQT_EV_ADD] = MODEL_QUEUES - 1,
    [VQT_EV_KICK] = MODEL_QUEUES - 1,
    [VQT_EV_KICK_SUPPRESSED] = MODEL_QUEUES - 1,
    [VQT_EV_POLL] = MODEL_QUEUES - 1,
    [VQT_EV_USED] = MODEL_QUEUES - 1,
    [VQT_EV_IRQ] = MODEL_QUEUES - 1,
    [VQT_EV_FRAME_BEGIN] = 255,
    [VQT_EV_FRAME_END] = 255,
    [VQT_EV_LOG] = 255,
    [VQT_EV_MARK] = 255,
    [VQT_EV_ERROR] = 255,
    [VQT_EV_QUEUE] = MODEL_QUEUES - 1,
    [VQT_EV_CB] = MODEL_QUEUES - 1,
    [VQT_EV_TYPE_COUNT... 255] = -1,
};
_Static_assert(VQT_EV_TYPE_COUNT == 14, "a new event type needs its queue_limit");

/* Event e, at session time at_ns, after an event at prev_ns; the interval
 * window holds the last time_gap_ns of the gap between them (UINT64_MAX:
 * all of it). */
static inline __attribute__((always_inline)) void
process_event(struct vq_model *m, const struct vqt_event *e, uint64_t seq, uint64_t at_ns,
	      uint64_t prev_ns, uint64_t time_gap_ns)
{
	/* For events that name no queue, one past the table: not used. */
	struct model_queue *q = m->queues + e->queue;
	uint64_t dur_ns;

	switch (e->type) {
	case VQT_EV_ADD:
		on_add(m, q, e, at_ns);
		break;
	case VQT_EV_KICK:
		on_kick(m, q, e, seq, false);
		break;
	case VQT_EV_KICK_SUPPRESSED:
		on_kick(m, q, e, seq, true);
		break;
	case VQT_EV_POLL:
		dur_ns = interval_ns(m, e, at_ns);
		q->count[MC_POLLS]++;
		q->count[MC_SPINS] += e->len;
		q->count[MC_BARRIERS] += e->barriers;
		if (e->ndesc == VQT_POLL_TIMEOUT)
			q->count[MC_POLL_TIMEOUTS]++;
		else if (e->ndesc == VQT_POLL_PROGRESS && e->barriers == 0)
			q->polls_progress_no_fence++;
		reclassify(m, dur_ns, ATTR_POLL, at_ns - prev_ns, time_gap_ns);
		remember_interval(m->recent_poll, &m->recent_pos_poll, at_ns - dur_ns, at_ns);
		if (m->in_frame) {
			m->open_frame.polls++;
			m->open_frame.spins += e->len;
			m->open_frame.barriers += e->barriers;
		}
		break;
	case VQT_EV_USED:
		on_used(m, q, e, seq, at_ns);
		break;
	case VQT_EV_IRQ:
		q->count[MC_IRQS]++;
		break;
	case VQT_EV_CB:
		q->cb_enabled = e->ndesc != 0;
		q->have_cb = true;
		q->cb_used_event = e->ring_idx;
		break;
	case VQT_EV_QUEUE:
		on_queue_event(m, q, e);
		break;
	case VQT_EV_ERROR:
		if (e->queue < MODEL_QUEUES)
			q->count[MC_ERRORS]++;
		break;
	case VQT_EV_LOG:
		dur_ns = interval_ns(m, e, at_ns);
		reclassify(m, dur_ns, ATTR_LOG, at_ns - prev_ns, time_gap_ns);
		remember_interval(m->recent_log, &m->recent_pos_log, at_ns - dur_ns, at_ns);
		if (m->in_frame)
			m->open_frame.log_bytes += e->len;
		break;
	case VQT_EV_FRAME_BEGIN:
		on_frame_begin(m, e, at_ns);
		break;
	case VQT_EV_FRAME_END:
		if (m->in_frame && m->open_frame.number == e->arg)
			m->open_frame.end_ns = at_ns;
		break;
	case VQT_EV_MARK:
		break;
	default:
		/* model_feed let no other type through. */
		__builtin_unreachable();
	}
}

void model_feed(struct vq_model *m, const struct vqt_event *ev, size_t n, uint64_t first_seq)
{
	struct model_history_entry *h = &m->history[m->history_head];
	struct model_history_entry *const history = m->history, *const history_end =
								    history + m->history_cap;
	size_t rejected = 0;

	for (const struct vqt_event *e = ev, *end = ev + n; e < end; e++) {
		uint64_t seq = first_seq + (uint32_t)(e->seq - (uint32_t)first_seq);
		uint64_t prev_ns = m->now_ns, at_ns, time_gap_ns = UINT64_MAX, ts = e->ts, step;

		/* The reader already checked structure; events naming a queue
		 * slot need it in range here too. */
		if (__builtin_expect(e->queue > queue_limit[e->type], 0)) {
			model_note_violations(m, 1, "event with an impossible type or queue");
			rejected++;
			continue;
		}
		/* The session time: in the common case, a step forward of at
		 * most fast_step_ticks (no jump) to before fast_ts_end (no
		 * saturation, and an origin exists) is model_ts_to_ns without
		 * a check that can fail; anything else takes the full checks. */
		if (__builtin_expect(!__builtin_sub_overflow(ts, m->last_ts, &step) &&
					 step <= m->fast_step_ticks && ts < m->fast_ts_end,
				     1)) {
			at_ns = m->ns_offset + (uint64_t)(((unsigned __int128)(ts - m->origin_ts) *
							   m->ns_per_tick_q32) >>
							  32);
			at_ns = at_ns < prev_ns ? prev_ns : at_ns;
			m->last_ts = ts;
			m->last_event_host_ns = m->host_ns;
		} else {
			at_ns = event_time_slow(m, e, seq);
		}
		m->now_ns = at_ns;
		m->per_type[e->type]++;
		h->ev = *e;
		h->seq = seq;
		h->at_ns = at_ns;
		h->generation = m->generation;
		/* A compare, not %: this runs for every event. */
		if (++h == history_end)
			h = history;
		if (__builtin_expect(at_ns >= m->time_window.end_ns, 0))
			time_gap_ns = advance_interval(m, at_ns, at_ns - prev_ns);
		process_event(m, e, seq, at_ns, prev_ns, time_gap_ns);
	}
	n -= rejected;
	m->events += n;
	m->history_head = (size_t)(h - m->history);
	m->history_len = m->history_len + n < m->history_cap ? m->history_len + n : m->history_cap;
}

/* A record was lost or dropped: it may have been any event, so facts
 * kept per head expire, and no notification decision is compared with
 * the one before it (the adds in between may be what was lost). */
static void forget_after_loss(struct vq_model *m)
{
	m->loss_epoch++;
	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		m->queues[s].have_decision = false;
}

void model_note_loss(struct vq_model *m, uint64_t lost)
{
	m->lost += lost;
	if (lost)
		forget_after_loss(m);
}

void model_note_violations(struct vq_model *m, uint64_t n, const char *last)
{
	m->violations += n;
	if (n)
		forget_after_loss(m);
	if (last && n)
		vqp_copy_string(m->last_violation, sizeof(m->last_violation), last);
}

void model_resync(struct vq_model *m, uint64_t ts_hz, const char *producer, uint32_t generation)
{
	/* Close what was open at the last time we saw. */
	if (m->in_frame)
		close_frame(m, m->now_ns);
	if (m->time_window.open)
		close_time_window(m, m->now_ns);
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		queue_forget_in_flight(m, &m->queues[s]);
		/* The new producer may find buffers posted before it began. */
		m->queues[s].first_add_seen = m->queues[s].first_used_seen = false;
		m->queues[s].posted_before_now = 0;
		if (m->queues[s].heads)
			for (unsigned h = 0; h < 65536; h++)
				m->queues[s].heads[h].epoch = 0;
		m->queues[s].active = false;
		m->queues[s].used_known = false;
		m->queues[s].have_decision = false;
		m->queues[s].have_ring = false;
	}
	set_in_flight_total(m, 0);
	m->loss_epoch++;
	m->resyncs++;
	memset(&m->producer_status, 0, sizeof(m->producer_status));
	m->have_origin = false;
	m->last_ts = 0;
	m->last_event_host_ns = 0;
	m->ns_offset = m->now_ns;
	model_set_producer(m, ts_hz, producer, generation);
	clock_limits(m);
}

void model_finish(struct vq_model *m)
{
	if (m->in_frame)
		close_frame(m, m->open_frame.end_ns ? m->open_frame.end_ns : m->now_ns);
	if (m->time_window.open)
		close_time_window(m, m->now_ns);
}

/* ---- rates
 * --------------------------------------------------------------------------------------- */

void model_rates_restart(struct vq_model *m)
{
	m->events_rate_base = m->events;
	m->events_per_s = 0;
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		memcpy(m->queues[s].rate_base, m->queues[s].count, sizeof(m->queues[s].count));
		memset(m->queues[s].rates.per_s, 0, sizeof(m->queues[s].rates.per_s));
	}
}

void model_tick(struct vq_model *m, uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;

	if (elapsed_ns == 0)
		return;
	m->events_per_s = (double)(m->events - m->events_rate_base) / secs;
	m->events_rate_base = m->events;
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		struct model_queue *q = &m->queues[s];
		uint64_t done, spins, barriers;

		if (!q->active && !q->gone)
			continue;
		done = q->count[MC_COMPLETIONS] - q->rate_base[MC_COMPLETIONS];
		spins = q->count[MC_SPINS] - q->rate_base[MC_SPINS];
		barriers = q->count[MC_BARRIERS] - q->rate_base[MC_BARRIERS];
		for (int c = 0; c < MC_COUNT; c++) {
			q->rates.per_s[c] = (double)(q->count[c] - q->rate_base[c]) / secs;
			q->rate_base[c] = q->count[c];
		}
		if (done) {
			q->rates.spins_per_completion = (double)spins / (double)done;
			q->rates.barriers_per_completion = (double)barriers / (double)done;
		}
	}
}

/* The counter each event type of a queue adds one to, plus one (0: none),
 * as model_feed counts them. */
static const uint8_t counted_as[VQT_EV_TYPE_COUNT] = {
    [VQT_EV_ADD] = MC_ADDS + 1,
    [VQT_EV_KICK] = MC_KICKS + 1,
    [VQT_EV_KICK_SUPPRESSED] = MC_KICKS_SUPPRESSED + 1,
    [VQT_EV_POLL] = MC_POLLS + 1,
    [VQT_EV_USED] = MC_COMPLETIONS + 1,
    [VQT_EV_IRQ] = MC_IRQS + 1,
    [VQT_EV_ERROR] = MC_ERRORS + 1,
};

/* Rates over the window_ns of session time that ends at end_ns, counted
 * from the event history: what a replay shows where it stands, since a
 * paused replay plays no time to measure over.  The history may hold
 * less than the window (fewer events kept, or a session that began
 * later): then the rates are over the span it covers.  Each event counts
 * as model_feed counts it; MC_STALLS, which no event carries, reads 0.
 * Returns false, with the rates 0, when there is no span to measure
 * over. */
bool model_rates_over_history(struct vq_model *m, uint64_t end_ns, uint64_t window_ns)
{
	uint64_t start_ns = end_ns > window_ns ? end_ns - window_ns : 0, events = 0;
	size_t i = m->history_len;
	double secs;

	m->events_per_s = 0;
	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		memset(&m->queues[s].rates, 0, sizeof(m->queues[s].rates));
	/* A history that kept fewer events than the session had covers the
	 * time after its oldest entry; one that kept them all, the session
	 * from its start at time 0. */
	if (m->history_len && m->history_len < m->events &&
	    model_history_at(m, 0)->at_ns > start_ns)
		start_ns = model_history_at(m, 0)->at_ns;
	if (end_ns <= start_ns)
		return false;
	/* Newest first, back to the window's start: entries after end_ns
	 * (none when the model stopped there) are not counted. */
	while (i > 0) {
		const struct model_history_entry *h = model_history_at(m, i - 1);
		const struct vqt_event *e = &h->ev;
		double *per_s;

		if (h->at_ns <= start_ns)
			break;
		i--;
		if (h->at_ns > end_ns)
			continue;
		events++;
		if (e->queue >= MODEL_QUEUES || e->type >= VQT_EV_TYPE_COUNT ||
		    !counted_as[e->type])
			continue;
		per_s = m->queues[e->queue].rates.per_s;
		per_s[counted_as[e->type] - 1]++;
		if (e->type == VQT_EV_ADD) {
			per_s[MC_DESCS] += e->ndesc;
			per_s[MC_BYTES] += e->len;
		} else if (e->type == VQT_EV_POLL) {
			per_s[MC_SPINS] += e->len;
			per_s[MC_BARRIERS] += e->barriers;
			per_s[MC_POLL_TIMEOUTS] += e->ndesc == VQT_POLL_TIMEOUT;
		} else if (e->type == VQT_EV_USED) {
			per_s[MC_USED_BYTES] += e->len;
		}
	}
	secs = (double)(end_ns - start_ns) / 1e9;
	m->events_per_s = (double)events / secs;
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		struct model_rates *r = &m->queues[s].rates;

		if (r->per_s[MC_COMPLETIONS]) {
			r->spins_per_completion = r->per_s[MC_SPINS] / r->per_s[MC_COMPLETIONS];
			r->barriers_per_completion =
			    r->per_s[MC_BARRIERS] / r->per_s[MC_COMPLETIONS];
		}
		for (int c = 0; c < MC_COUNT; c++)
			r->per_s[c] /= secs;
	}
	return true;
}

/* ---- device side
 * ----------------------------------------------------------------------------------- */

static struct model_queue *match_device_queue(struct vq_model *m, const struct vqr_device_queue *d)
{
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		struct model_queue *q = &m->queues[s];

		if (q->active && q->desc_addr && q->desc_addr == d->desc_addr)
			return q;
	}
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		struct model_queue *q = &m->queues[s];

		if (q->active && q->device_type == d->device_id && q->queue_index == d->queue_index)
			return q;
	}
	return NULL;
}

/* ---- the producer's state -------------------------------------------------------------- */

void model_producer_sample(struct vq_model *m, uint64_t host_ns, uint32_t state,
			   uint32_t heartbeat_ms, uint64_t heartbeat_ts, uint64_t heartbeats)
{
	struct model_producer *p = &m->producer_status;

	if (host_ns > m->host_ns)
		m->host_ns = host_ns;
	if (heartbeats != p->heartbeats || !p->heard_host_ns) {
		p->heartbeats = heartbeats;
		p->heard_host_ns = host_ns;
		p->last_beat_ns = model_ts_to_ns(m, heartbeat_ts);
		/* A beat after the latest event is later session time. */
		if (p->last_beat_ns < m->now_ns)
			p->last_beat_ns = m->now_ns;
	}
	p->heartbeat_ms = heartbeat_ms;
	if (state == VQT_PRODUCER_STOPPED)
		p->state = PRODUCER_STOPPED;
	else if (state != VQT_PRODUCER_RUNNING)
		p->state = PRODUCER_UNKNOWN;
	else if (heartbeat_ms && host_ns - p->heard_host_ns >
				     (uint64_t)heartbeat_ms * PRODUCER_SILENT_BEATS * 1000000)
		p->state = PRODUCER_SILENT;
	else
		p->state = PRODUCER_RUNNING;
}

bool model_producer_heard_since(const struct vq_model *m, uint64_t host_ns)
{
	const struct model_producer *p = &m->producer_status;

	switch (p->state) {
	case PRODUCER_STOPPED:
	case PRODUCER_SILENT:
		return false;
	case PRODUCER_RUNNING:
		return !p->heartbeat_ms || p->heard_host_ns >= host_ns;
	default:
		return true;
	}
}

bool model_producer_stopped_text(const struct vq_model *m, char *buf, size_t len)
{
	const struct model_producer *p = &m->producer_status;
	char at[32], quiet[32];

	if (len)
		buf[0] = 0;
	if (p->state != PRODUCER_STOPPED && p->state != PRODUCER_SILENT)
		return false;
	format_duration(at, sizeof(at), p->last_beat_ns);
	if (p->state == PRODUCER_STOPPED) {
		snprintf(buf, len, "producer stopped at %s", at);
	} else {
		format_duration(quiet, sizeof(quiet),
				m->host_ns > p->heard_host_ns ? m->host_ns - p->heard_host_ns : 0);
		snprintf(buf, len, "producer silent since %s (no heartbeat for %s)", at, quiet);
	}
	return true;
}

/* The device has completed buffers (its used.idx, 2.7.8) that the driver
 * has not reaped.  A few are always in transit between two samples; it
 * is flagged only when the driver has not reached, within disagree_ns,
 * the device index seen at the start of that time. */
static void check_disagreement(struct vq_model *m, struct model_queue *q, uint64_t host_ns)
{
	/* Events are fresher than the queue table (snapshotted less often). */
	uint16_t driver_used =
	    q->count[MC_COMPLETIONS] || !q->have_table ? q->last_used_idx : q->table.last_used_idx;
	uint16_t pending = (uint16_t)(q->device.used_idx - driver_used);
	char d[32];

	/* More than a ring apart is not a contradiction by itself: the two
	 * views come from different moments (the QMP sample is slower than
	 * the drain), and a fast guest completes a ring's worth in between.
	 * Like any lead it counts only if the driver does not catch up.  A
	 * producer that stopped leaves the trace behind: no lead then. */
	if (pending == 0 || pending >= 0x8000 || m->producer_status.state == PRODUCER_STOPPED ||
	    m->producer_status.state == PRODUCER_SILENT) {
		q->disagree = false;
		q->disagree_since_ns = 0;
		q->disagree_text[0] = 0;
		return;
	}
	/* The driver reached the index we were waiting for: start over. */
	if (q->disagree_since_ns && (uint16_t)(driver_used - q->disagree_target) < 0x8000) {
		q->disagree = false;
		q->disagree_since_ns = 0;
		q->disagree_text[0] = 0;
	}
	if (!q->disagree_since_ns) {
		q->disagree_since_ns = host_ns;
		q->disagree_target = q->device.used_idx;
		return;
	}
	/* Only while the producer ran for all that time: once it stops, the
	 * trace stays behind the device, and that is no fault. */
	if (host_ns - q->disagree_since_ns >= m->opts.disagree_ns &&
	    model_producer_heard_since(m, q->disagree_since_ns + m->opts.disagree_ns)) {
		uint16_t stuck = (uint16_t)(q->disagree_target - driver_used);

		q->disagree = true;
		format_duration(d, sizeof(d), host_ns - q->disagree_since_ns);
		snprintf(q->disagree_text, sizeof(q->disagree_text),
			 "device has completed %u buffer%s the driver has not reaped for %s", stuck,
			 stuck == 1 ? "" : "s", d);
	}
}

void model_device_sample(struct vq_model *m, uint64_t host_ns, const struct vqr_device_queue *dq,
			 size_t n)
{
	m->device_samples++;
	if (host_ns > m->host_ns)
		m->host_ns = host_ns;
	for (size_t i = 0; i < n; i++) {
		struct model_queue *q = match_device_queue(m, &dq[i]);
		struct model_device_only *o = NULL;

		if (q) {
			q->device = dq[i];
			q->have_device = true;
			q->device_host_ns = host_ns;
			check_disagreement(m, q, host_ns);
			if (!m->opts.no_findings)
				findings_on_device(m, q, host_ns);
			/* Seen before the guest registered it: no longer device-only. */
			for (size_t k = 0; k < m->ndevice_only; k++)
				if (strncmp(m->device_only[k].q.path, dq[i].path,
					    sizeof(dq[i].path)) == 0 &&
				    m->device_only[k].q.queue_index == dq[i].queue_index) {
					m->device_only[k] = m->device_only[--m->ndevice_only];
					break;
				}
			continue;
		}
		for (size_t k = 0; k < m->ndevice_only; k++)
			if (strncmp(m->device_only[k].q.path, dq[i].path, sizeof(dq[i].path)) ==
				0 &&
			    m->device_only[k].q.queue_index == dq[i].queue_index)
				o = &m->device_only[k];
		if (!o) {
			if (m->ndevice_only == sizeof(m->device_only) / sizeof(m->device_only[0]))
				continue;
			o = &m->device_only[m->ndevice_only++];
			o->q = dq[i];
			o->host_ns = host_ns;
			o->prev_used = dq[i].used_idx;
			continue;
		}
		if (host_ns > o->host_ns)
			o->used_per_s = (double)(uint16_t)(dq[i].used_idx - o->q.used_idx) * 1e9 /
					(double)(host_ns - o->host_ns);
		o->prev_used = o->q.used_idx;
		o->q = dq[i];
		o->host_ns = host_ns;
	}
}

void model_ring_sample(struct vq_model *m, uint64_t host_ns, const struct vqr_ring_queue *rq,
		       size_t n)
{
	if (host_ns > m->host_ns)
		m->host_ns = host_ns;
	if (m->opts.no_findings)
		return;
	for (size_t i = 0; i < n; i++)
		if (rq[i].slot < MODEL_QUEUES)
			findings_on_ring(m, &m->queues[rq[i].slot], &rq[i], host_ns);
}

void model_note_cpu_wait(struct vq_model *m, uint64_t total_ns)
{
	if (total_ns > m->cpu_wait_ns)
		m->cpu_wait_ns = total_ns;
}

void model_vm_paused(struct vq_model *m, bool paused)
{
	m->vm_paused = paused;
}

/* ---- ring reconstruction
 * ------------------------------------------------------------------------------ */

bool model_ring_at(const struct vq_model *m, unsigned slot, size_t upto,
		   struct ring_reconstruction *out)
{
	const struct model_queue *q;
	uint8_t determined[VQT_RING_SIZE_MAX / 8];
	bool kicked = false;
	uint32_t generation;

	if (slot >= MODEL_QUEUES || upto >= m->history_len)
		return false;
	q = &m->queues[slot];
	if (!q->ring_size || q->ring_size > VQT_RING_SIZE_MAX)
		return false;
	memset(out, 0, sizeof(*out));
	memset(determined, 0, sizeof(determined));
	out->ring_size = q->ring_size;
	generation = model_history_at(m, upto)->generation;

	for (size_t i = upto + 1; i-- > 0;) {
		const struct model_history_entry *h = model_history_at(m, i);
		const struct vqt_event *e = &h->ev;
		uint16_t head = e->head;

		if (h->generation != generation)
			break;
		if (e->queue != slot)
			continue;
		if (e->type == VQT_EV_QUEUE)
			break; /* registered here: nothing before matters */
		switch (e->type) {
		case VQT_EV_KICK:
		case VQT_EV_KICK_SUPPRESSED:
			if (!out->avail_known) {
				out->avail_idx = e->ring_idx;
				out->avail_known = true;
			}
			kicked = true;
			break;
		case VQT_EV_ADD:
			if (!out->avail_known) {
				out->avail_idx = (uint16_t)(e->ring_idx + 1);
				out->avail_known = true;
			}
			if (head < q->ring_size && !(determined[head / 8] & (1u << (head % 8)))) {
				determined[head / 8] |= (uint8_t)(1u << (head % 8));
				out->states[head] = kicked ? HEAD_DEVICE : HEAD_AVAIL;
				out->in_flight++;
			}
			break;
		case VQT_EV_USED:
			if (!out->used_known) {
				out->last_used_idx = (uint16_t)(e->ring_idx + 1);
				out->used_known = true;
			}
			if (head < q->ring_size)
				determined[head / 8] |= (uint8_t)(1u << (head % 8));
			break;
		default:
			break;
		}
	}
	return true;
}
