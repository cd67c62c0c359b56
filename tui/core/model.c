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

static unsigned hist_bucket(uint64_t ns)
{
	unsigned msb, sub;

	if (ns < (1u << HIST_SUB_BITS))
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	sub = (unsigned)(ns >> (msb - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1);
	unsigned b = ((msb - HIST_SUB_BITS + 1) << HIST_SUB_BITS) + sub;
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

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

void hist_add(struct latency_hist *h, uint64_t ns)
{
	if (h->count == 0 || ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->count++;
	h->sum_ns += ns;
	h->buckets[hist_bucket(ns)]++;
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
 * approximation. */

/* A log write or poll, kept for explaining command stalls. */
struct recent_interval {
	uint64_t start_ns, end_ns;
};

static enum attr_cat gap_category(const struct vq_model *m)
{
	return m->in_flight_total ? ATTR_DEVICE : ATTR_OTHER;
}

static void window_open(struct attr_window *w, uint64_t at_ns)
{
	memset(w, 0, sizeof(*w));
	w->open = true;
	w->start_ns = at_ns;
	w->cursor_ns = at_ns;
}

/* Attribute [cursor, to] to category c. */
static void window_extend(struct attr_window *w, uint64_t to_ns, enum attr_cat c)
{
	if (!w->open || to_ns <= w->cursor_ns) {
		if (w->open)
			w->last_gap = 0;
		return;
	}
	w->last_gap = to_ns - w->cursor_ns;
	w->last_gap_cat = c;
	w->attr.ns[c] += w->last_gap;
	w->attr.total_ns += w->last_gap;
	w->cursor_ns = to_ns;
}

/* Move up to d of the gap that just ended to category to. */
static void window_reclassify(struct attr_window *w, uint64_t d, enum attr_cat to)
{
	uint64_t p;

	if (!w->open || w->last_gap_cat == to)
		return;
	if (to == ATTR_POLL && w->last_gap_cat != ATTR_OTHER)
		return;
	p = d < w->last_gap ? d : w->last_gap;
	w->attr.ns[w->last_gap_cat] -= p;
	w->attr.ns[to] += p;
	w->last_gap -= p;
}

/* ---- model lifetime ---------------------------------------------------------------------- */

/* Ticks to nanoseconds as a 32.32 fixed-point multiply: no division per
 * event.  Exact to better than 1 ns per second of ticks. */
static void set_clock(struct vq_model *m, uint64_t ts_hz)
{
	m->ts_hz = ts_hz;
	m->ns_per_tick_q32 = (uint64_t)(((unsigned __int128)1000000000u << 32) / ts_hz);
}

static inline uint64_t ticks_to_ns(const struct vq_model *m, uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * m->ns_per_tick_q32) >> 32;

	/* Saturates: a hostile timestamp must not wrap into a small time. */
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
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
	free(q->add_ns);
	free(q->head_state);
	free(q->head_ndesc);
	free(q->pending);
	free(q->head_bytes);
	free(q->head_used_epoch);
	free(q->head_done_at_add);
	q->head_bytes = q->head_used_epoch = q->head_done_at_add = NULL;
	q->pending = NULL;
	q->add_ns = NULL;
	q->head_state = NULL;
	q->head_ndesc = NULL;
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

static void anomaly(struct vq_model *m, struct model_queue *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void anomaly(struct vq_model *m, struct model_queue *q, const char *fmt, ...)
{
	va_list ap;

	m->anomalies++;
	q->anomalies++;
	va_start(ap, fmt);
	vsnprintf(q->last_anomaly, sizeof(q->last_anomaly), fmt, ap);
	va_end(ap);
}

/* Per-head arrays, sized for any u16 head so a head outside the announced
 * ring is an anomaly we can report rather than an out-of-bounds write. */
static bool queue_ensure_heads(struct model_queue *q)
{
	if (q->add_ns)
		return true;
	q->add_ns = calloc(65536, sizeof(*q->add_ns));
	q->head_state = calloc(65536, sizeof(*q->head_state));
	q->head_ndesc = calloc(65536, sizeof(*q->head_ndesc));
	q->pending = calloc(65536, sizeof(*q->pending));
	q->head_bytes = calloc(65536, sizeof(*q->head_bytes));
	q->head_used_epoch = calloc(65536, sizeof(*q->head_used_epoch));
	q->head_done_at_add = calloc(65536, sizeof(*q->head_done_at_add));
	q->npending = 0;
	if (!q->add_ns || !q->head_state || !q->head_ndesc || !q->pending || !q->head_bytes ||
	    !q->head_used_epoch || !q->head_done_at_add) {
		queue_free_heads(q);
		return false;
	}
	return true;
}

static void queue_forget_in_flight(struct vq_model *m, struct model_queue *q)
{
	if (q->add_ns) {
		memset(q->add_ns, 0, 65536 * sizeof(*q->add_ns));
		memset(q->head_state, 0, 65536 * sizeof(*q->head_state));
	}
	q->npending = 0;
	q->in_flight_descs = 0;
	if (m->in_flight_total >= q->in_flight)
		m->in_flight_total -= q->in_flight;
	else
		m->in_flight_total = 0;
	q->in_flight = 0;
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

void model_queue_table(struct vq_model *m, unsigned slot, const struct vqt_queue *t)
{
	struct model_queue *q;

	if (slot >= MODEL_QUEUES)
		return;
	q = &m->queues[slot];
	q->table = *t;
	q->have_table = true;
	q->table_events = q->count[MC_ADDS] + q->count[MC_COMPLETIONS];
	if (t->state == VQT_QS_FREE)
		return;
	q->active = t->state == VQT_QS_ACTIVE;
	q->gone = t->state == VQT_QS_GONE;
	queue_identity_from_table(q, t);
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

static uint64_t median_period(const struct vq_model *m)
{
	uint64_t v[31];
	size_t n = m->median_len;

	memcpy(v, m->median_ring, n * sizeof(v[0]));
	/* n <= 31: insertion sort. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
			uint64_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return n ? v[n / 2] : 0;
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
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%s (%u%%) %s", used ? ", " : "", d,
				     a->total_ns ? (unsigned)(a->ns[c] * 100 / a->total_ns) : 0,
				     attr_description(c));
	}
}

static void close_frame(struct vq_model *m, uint64_t end_ns)
{
	struct model_frame *f = &m->open_frame;
	uint64_t threshold;

	window_extend(&m->frame_window, end_ns, gap_category(m));
	f->attr = m->frame_window.attr;
	m->frame_window.open = false;
	f->period_ns = end_ns - f->begin_ns;
	if (f->end_ns && f->end_ns >= f->begin_ns)
		f->active_ns = f->end_ns - f->begin_ns;

	threshold = m->opts.stall_frame_ns;
	if (!threshold && m->median_len >= AUTO_STALL_MIN_FRAMES)
		threshold = 2 * median_period(m);
	if (threshold && f->period_ns > threshold) {
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
	m->median_ring[m->median_pos] = f->period_ns;
	m->median_pos = (m->median_pos + 1) % 31;
	if (m->median_len < 31)
		m->median_len++;

	hist_add(&m->frame_period, f->period_ns);
	attr_add(&m->frames_attr, &f->attr);
	m->frames_total++;
	m->frames[m->frames_head] = *f;
	m->frames_head = (m->frames_head + 1) % m->frames_cap;
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

	window_extend(w, end_ns, gap_category(m));
	attr_add(&m->session_attr, &w->attr);
	m->last_interval_attr = w->attr;
	m->last_interval_start_ns = w->start_ns;
	w->open = false;
}

/* Close every interval boundary passed before at_ns, then bring both
 * windows up to at_ns. */
static void advance_windows(struct vq_model *m, uint64_t at_ns)
{
	struct attr_window *w = &m->time_window;
	uint64_t iv = m->opts.interval_ns;

	if (!w->open)
		window_open(w, at_ns);
	if (at_ns >= w->start_ns + iv) {
		uint64_t next = w->start_ns + iv;

		close_time_window(m, next);
		if (at_ns >= next + iv) {
			/* An idle gap with no events: one state throughout. */
			uint64_t gap = (at_ns - next) / iv * iv;
			struct attribution a = {.total_ns = gap};

			a.ns[gap_category(m)] = gap;
			attr_add(&m->session_attr, &a);
			next += gap;
		}
		window_open(w, next);
	}
	window_extend(w, at_ns, gap_category(m));
	window_extend(&m->frame_window, at_ns, gap_category(m));
}

static void reclassify_both(struct vq_model *m, uint64_t d, enum attr_cat to)
{
	window_reclassify(&m->time_window, d, to);
	window_reclassify(&m->frame_window, d, to);
}

/* ---- event processing -------------------------------------------------------------------------
 */

static void history_push(struct vq_model *m, const struct vqt_event *e, uint64_t seq,
			 uint64_t at_ns)
{
	struct model_history_entry *h = &m->history[m->history_head];

	h->ev = *e;
	h->seq = seq;
	h->at_ns = at_ns;
	h->generation = m->generation;
	/* A compare, not %: this runs for every event. */
	if (++m->history_head == m->history_cap)
		m->history_head = 0;
	if (m->history_len < m->history_cap)
		m->history_len++;
}

const struct model_history_entry *model_history_at(const struct vq_model *m, size_t i)
{
	if (i >= m->history_len)
		return NULL;
	return &m->history[(m->history_head + m->history_cap - m->history_len + i) %
			   m->history_cap];
}

static void on_add(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
		   uint64_t at_ns)
{
	q->count[MC_ADDS]++;
	q->count[MC_DESCS] += e->ndesc;
	q->count[MC_BYTES] += e->len;
	q->avail_idx = (uint16_t)(e->ring_idx + 1);
	if (!queue_ensure_heads(q))
		return;
	if (q->ring_size && e->head >= q->ring_size) {
		/* Not a descriptor of this queue: nothing to track. */
		anomaly(m, q, "ADD of head %u outside the ring of %u", e->head, q->ring_size);
		return;
	}
	if (q->head_state[e->head] != HEAD_FREE) {
		anomaly(m, q, "ADD of head %u which is already in flight", e->head);
		q->add_ns[e->head] = at_ns;
		/* Its descriptors are not counted: the next decision has
		 * nothing exact to be compared with. */
		q->have_decision = false;
		return;
	}
	q->head_state[e->head] = HEAD_AVAIL;
	q->head_ndesc[e->head] = e->ndesc;
	q->head_bytes[e->head] = e->len;
	q->head_used_epoch[e->head] = 0;
	q->head_done_at_add[e->head] = (uint32_t)q->count[MC_COMPLETIONS];
	q->in_flight_descs += e->ndesc;
	q->descs_since_decision += e->ndesc;
	q->add_ns[e->head] = at_ns;
	if (q->npending < 65536)
		q->pending[q->npending++] = e->head;
	q->in_flight++;
	if (q->in_flight > q->max_in_flight)
		q->max_in_flight = q->in_flight;
	m->in_flight_total++;
}

static void on_kick(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
		    uint64_t seq, bool suppressed)
{
	q->count[suppressed ? MC_KICKS_SUPPRESSED : MC_KICKS]++;
	if (!m->opts.no_findings)
		findings_on_kick(m, q, e, seq);
	q->avail_idx = e->ring_idx;
	if (!q->head_state)
		return;
	/* Everything made available since the last notification is now the
	 * device's to take (a suppressed notification means the device is
	 * already looking at the ring, 2.7.10). */
	for (uint32_t i = 0; i < q->npending; i++)
		if (q->head_state[q->pending[i]] == HEAD_AVAIL)
			q->head_state[q->pending[i]] = HEAD_DEVICE;
	q->npending = 0;
}

static void on_used(struct vq_model *m, struct model_queue *q, const struct vqt_event *e,
		    uint64_t seq, uint64_t at_ns)
{
	q->count[MC_COMPLETIONS]++;
	q->count[MC_USED_BYTES] += e->len;
	if (m->in_frame)
		m->open_frame.commands++;
	if (!queue_ensure_heads(q)) {
		q->last_used_idx = (uint16_t)(e->ring_idx + 1);
		return;
	}
	if (!m->opts.no_findings)
		findings_on_used(m, q, e, seq);
	q->last_used_idx = (uint16_t)(e->ring_idx + 1);
	q->used_known = true;
	if (q->head_state[e->head] == HEAD_FREE) {
		anomaly(m, q, "USED of head %u which is not in flight", e->head);
		return;
	}
	uint64_t added = q->add_ns[e->head];
	uint64_t latency = at_ns >= added ? at_ns - added : 0;

	hist_add(&q->latency, latency);
	if (latency > m->opts.stall_command_ns)
		command_stall(m, q, e->head, added, at_ns);
	q->head_state[e->head] = HEAD_FREE;
	q->add_ns[e->head] = 0;
	q->head_used_epoch[e->head] = m->loss_epoch + 1;
	q->in_flight_descs -= q->in_flight_descs >= q->head_ndesc[e->head] ? q->head_ndesc[e->head]
									   : q->in_flight_descs;
	q->in_flight--;
	if (m->in_flight_total)
		m->in_flight_total--;
}

static void on_queue_event(struct vq_model *m, struct model_queue *q, const struct vqt_event *e)
{
	/* Registered again (after a reset): indices start over. */
	q->used_known = false;
	q->have_decision = false;
	if (e->ndesc == VQT_QS_ACTIVE) {
		queue_forget_in_flight(m, q);
		q->active = true;
		q->gone = false;
		q->ring_size = e->ring_idx;
	} else {
		queue_forget_in_flight(m, q);
		q->active = false;
		q->gone = true;
	}
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

static void process_event(struct vq_model *m, const struct vqt_event *e, uint64_t seq)
{
	struct model_queue *q = e->queue < MODEL_QUEUES ? &m->queues[e->queue] : NULL;
	uint64_t at_ns, dur_ns;

	if (!timestamp_ok(m, e, seq)) {
		at_ns = m->now_ns;
	} else {
		if (!m->have_origin) {
			m->have_origin = true;
			m->origin_ts = e->ts;
		}
		at_ns = model_ts_to_ns(m, e->ts);
		if (at_ns < m->now_ns)
			at_ns = m->now_ns;
		if (e->ts > m->last_ts)
			m->last_ts = e->ts;
		m->last_event_host_ns = m->host_ns;
	}
	m->now_ns = at_ns;

	m->events++;
	if (e->type < VQT_EV_TYPE_COUNT)
		m->per_type[e->type]++;
	history_push(m, e, seq, at_ns);
	advance_windows(m, at_ns);

	switch (e->type) {
	case VQT_EV_ADD:
		on_add(m, q, e, at_ns);
		break;
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED:
		on_kick(m, q, e, seq, e->type == VQT_EV_KICK_SUPPRESSED);
		break;
	case VQT_EV_POLL:
		dur_ns = ticks_to_ns(m, e->arg);
		if (dur_ns > at_ns)
			dur_ns = at_ns;
		q->count[MC_POLLS]++;
		q->count[MC_SPINS] += e->len;
		q->count[MC_BARRIERS] += e->barriers;
		if (e->ndesc == VQT_POLL_TIMEOUT)
			q->count[MC_POLL_TIMEOUTS]++;
		else if (e->ndesc == VQT_POLL_PROGRESS && e->barriers == 0)
			q->polls_progress_no_fence++;
		reclassify_both(m, dur_ns, ATTR_POLL);
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
		break;
	case VQT_EV_QUEUE:
		on_queue_event(m, q, e);
		break;
	case VQT_EV_ERROR:
		if (q)
			q->count[MC_ERRORS]++;
		break;
	case VQT_EV_LOG:
		dur_ns = ticks_to_ns(m, e->arg);
		if (dur_ns > at_ns)
			dur_ns = at_ns;
		reclassify_both(m, dur_ns, ATTR_LOG);
		remember_interval(m->recent_log, &m->recent_pos_log, at_ns - dur_ns, at_ns);
		if (m->in_frame)
			m->open_frame.log_bytes += e->len;
		break;
	case VQT_EV_FRAME_BEGIN:
		if (m->in_frame)
			close_frame(m, at_ns);
		memset(&m->open_frame, 0, sizeof(m->open_frame));
		m->open_frame.number = e->arg;
		m->open_frame.begin_ns = at_ns;
		m->frame_number = e->arg;
		m->in_frame = true;
		window_open(&m->frame_window, at_ns);
		break;
	case VQT_EV_FRAME_END:
		if (m->in_frame && m->open_frame.number == e->arg)
			m->open_frame.end_ns = at_ns;
		break;
	default:
		break;
	}
}

void model_feed(struct vq_model *m, const struct vqt_event *ev, size_t n, uint64_t first_seq)
{
	for (size_t i = 0; i < n; i++) {
		const struct vqt_event *e = &ev[i];
		uint64_t seq = first_seq + (uint32_t)(e->seq - (uint32_t)first_seq);

		/* The reader already checked structure; events naming a queue
		 * slot need it in range here too. */
		if (e->type == VQT_EV_NONE || e->type >= VQT_EV_TYPE_COUNT ||
		    (e->queue >= MODEL_QUEUES && vqt_event_has_queue(e->type))) {
			model_note_violations(m, 1, "event with an impossible type or queue");
			continue;
		}
		process_event(m, e, seq);
	}
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
		m->queues[s].active = false;
		m->queues[s].used_known = false;
		m->queues[s].have_decision = false;
		m->queues[s].have_ring = false;
	}
	m->in_flight_total = 0;
	m->loss_epoch++;
	m->resyncs++;
	m->have_origin = false;
	m->last_ts = 0;
	m->last_event_host_ns = 0;
	m->ns_offset = m->now_ns;
	model_set_producer(m, ts_hz, producer, generation);
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
	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		memcpy(m->queues[s].rate_base, m->queues[s].count, sizeof(m->queues[s].count));
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
	 * Like any lead it counts only if the driver does not catch up. */
	if (pending == 0 || pending >= 0x8000) {
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
	if (host_ns - q->disagree_since_ns >= m->opts.disagree_ns) {
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
