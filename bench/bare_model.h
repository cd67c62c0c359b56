/* bare_model.h - the peer of the live view's instruction count: the least
 * a model can do per event and still fill the overview's columns.
 *
 * It keeps the session time (one multiply, the common case only), an
 * event history, per-queue counters, each head's state, add time and
 * size, buffers in flight and one latency histogram, and it makes the two
 * cheapest checks (a USED of a head not in flight or longer than its
 * buffer, 2.7.8; a notification decision that contradicts used.flags,
 * 2.7.10).  vqscope's model (tui/core/model.c) also keeps frames, time
 * attribution, stalls, receive queues, the sequence numbers and
 * generations of its history, clock checks and the rest of the diagnosis.
 * bench/core.sh counts the instructions per event of the real drain
 * followed by this model, next to the real drain and model: what any
 * model of these events costs, whatever it is tuned to.
 *
 * For bench_core only; the live view could not use it.
 */
#ifndef VQ_BENCH_BARE_MODEL_H
#define VQ_BENCH_BARE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/model.h"
#include "vqtrace.h"

#define BARE_QUEUES	8
#define BARE_HISTORY	65536
#define BARE_NO_NOTIFY	1u /* used.flags VIRTQ_USED_F_NO_NOTIFY, 2.7.10 */
#define BARE_STEP_LIMIT (1ull << 40)

enum bare_counter {
	BARE_ADDS,
	BARE_DESCS,
	BARE_BYTES,
	BARE_KICKS,
	BARE_KICKS_SUPPRESSED,
	BARE_POLLS,
	BARE_SPINS,
	BARE_BARRIERS,
	BARE_COMPLETIONS,
	BARE_USED_BYTES,
	BARE_COUNTERS
};

struct bare_queue {
	uint64_t count[BARE_COUNTERS];
	uint64_t add_ns[65536];
	uint32_t bytes[65536];
	uint8_t in_flight_head[65536];
	uint32_t in_flight;
	uint64_t latency_min, latency_max, latency_sum, latency_count;
	uint64_t latency_buckets[HIST_BUCKETS];
};

struct bare_history_entry {
	struct vqt_event ev;
	uint64_t at_ns;
};

struct bare_model {
	uint64_t last_ts, ns_per_tick_q32, now_ns;
	uint64_t checks_failed; /* events the checks refused */
	uint64_t slow_events;	/* the first, or after a jump of the clock */
	uint32_t in_flight_total;
	size_t history_head;
	struct bare_history_entry history[BARE_HISTORY];
	struct bare_queue queue[BARE_QUEUES];
};

static inline struct bare_model *bare_model_new(uint64_t ts_hz)
{
	struct bare_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->ns_per_tick_q32 = (uint64_t)(((unsigned __int128)1000000000u << 32) / ts_hz);
	for (unsigned s = 0; s < BARE_QUEUES; s++)
		m->queue[s].latency_min = UINT64_MAX;
	return m;
}

/* Events the real drain delivered (so already checked for structure). */
static __attribute__((noinline)) void bare_model_feed(struct bare_model *m,
						      const struct vqt_event *ev, size_t n)
{
	struct bare_history_entry *h = &m->history[m->history_head];
	struct bare_history_entry *const history_end = m->history + BARE_HISTORY;

	for (const struct vqt_event *e = ev, *end = ev + n; e < end; e++) {
		struct bare_queue *q = &m->queue[e->queue % BARE_QUEUES];
		uint64_t step, at_ns, latency;
		bool notified, needed;

		if (__builtin_sub_overflow(e->ts, m->last_ts, &step) || step > BARE_STEP_LIMIT) {
			/* The first event, or a clock that jumped: the real
			 * model's slow case, not counted here. */
			m->last_ts = e->ts;
			m->slow_events++;
			continue;
		}
		at_ns = (uint64_t)(((unsigned __int128)e->ts * m->ns_per_tick_q32) >> 32);
		m->last_ts = e->ts;
		m->now_ns = at_ns;
		h->ev = *e;
		h->at_ns = at_ns;
		if (++h == history_end)
			h = m->history;
		switch (e->type) {
		case VQT_EV_ADD:
			q->count[BARE_ADDS]++;
			q->count[BARE_DESCS] += e->ndesc;
			q->count[BARE_BYTES] += e->len;
			if (q->in_flight_head[e->head]) {
				m->checks_failed++;
				break;
			}
			q->in_flight_head[e->head] = 1;
			q->add_ns[e->head] = at_ns;
			q->bytes[e->head] = e->len;
			q->in_flight++;
			m->in_flight_total++;
			break;
		case VQT_EV_KICK:
		case VQT_EV_KICK_SUPPRESSED:
			notified = e->type == VQT_EV_KICK;
			needed = !(VQT_KICK_STATE_FLAGS(e->arg) & BARE_NO_NOTIFY);
			q->count[notified ? BARE_KICKS : BARE_KICKS_SUPPRESSED]++;
			if (needed != notified)
				m->checks_failed++;
			break;
		case VQT_EV_POLL:
			q->count[BARE_POLLS]++;
			q->count[BARE_SPINS] += e->len;
			q->count[BARE_BARRIERS] += e->barriers;
			break;
		case VQT_EV_USED:
			q->count[BARE_COMPLETIONS]++;
			q->count[BARE_USED_BYTES] += e->len;
			if (!q->in_flight_head[e->head] || e->len > q->bytes[e->head]) {
				m->checks_failed++;
				break;
			}
			latency = at_ns - q->add_ns[e->head];
			q->latency_min = latency < q->latency_min ? latency : q->latency_min;
			q->latency_max = latency > q->latency_max ? latency : q->latency_max;
			q->latency_sum += latency;
			q->latency_count++;
			q->latency_buckets[hist_bucket(latency)]++;
			q->in_flight_head[e->head] = 0;
			q->in_flight--;
			m->in_flight_total--;
			break;
		default:
			break;
		}
	}
	m->history_head = (size_t)(h - m->history);
}

#endif /* VQ_BENCH_BARE_MODEL_H */
