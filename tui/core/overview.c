/* overview.c - the queues overview as text (see overview.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "overview.h"
#include "view_data.h"

const char *overview_sort_name(enum overview_sort s)
{
	static const char *const names[SORT_COUNT] = {
	    "slot", "name", "in-flight", "adds/s", "cmpl/s", "spins/cmpl", "p99", "stalls"};
	return s < SORT_COUNT ? names[s] : "?";
}

static const struct vq_model *sort_model;
static enum overview_sort sort_key;

static double sort_value(unsigned slot)
{
	const struct model_queue *q = &sort_model->queues[slot];

	switch (sort_key) {
	case SORT_IN_FLIGHT:
		return q->in_flight;
	case SORT_ADDS:
		return q->rates.per_s[MC_ADDS];
	case SORT_COMPLETIONS:
		return q->rates.per_s[MC_COMPLETIONS];
	case SORT_SPINS:
		return q->rates.spins_per_completion;
	case SORT_P99:
		return (double)hist_quantile(&q->latency, 0.99);
	case SORT_STALLS:
		return (double)q->count[MC_STALLS];
	default:
		return 0;
	}
}

static int row_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	if (sort_key == SORT_NAME) {
		int c = strcmp(sort_model->queues[x].name, sort_model->queues[y].name);
		if (c)
			return c;
	} else if (sort_key != SORT_SLOT) {
		double vx = sort_value(x), vy = sort_value(y);
		if (vx != vy)
			return vx > vy ? -1 : 1; /* biggest first, like top */
	}
	return x < y ? -1 : x > y;
}

size_t overview_rows(const struct vq_model *m, enum overview_sort sort, unsigned *slots, size_t max)
{
	size_t n = 0;

	for (unsigned s = 0; s < MODEL_QUEUES && n < max; s++) {
		const struct model_queue *q = &m->queues[s];

		if (q->active || q->gone || q->count[MC_ADDS])
			slots[n++] = s;
	}
	/* qsort has no context argument: the model and key are set for the
	 * duration of the call (single-threaded). */
	sort_model = m;
	sort_key = sort;
	qsort(slots, n, sizeof(*slots), row_cmp);
	return n;
}

void overview_header(char *buf, size_t len, const struct vq_model *m,
		     const struct overview_source *s)
{
	snprintf(buf, len, "%s | VM %s | %s gen %u | %.0f ev/s | lost %llu | violations %llu%s%s",
		 s->name, s->vm, m->producer[0] ? m->producer : "no producer", m->generation,
		 m->events_per_s, (unsigned long long)m->lost, (unsigned long long)m->violations,
		 s->recording ? " | REC " : "", s->recording ? s->recording : "");
}

void overview_titles(char *buf, size_t len)
{
	snprintf(buf, len, "%4s %-16s %5s %4s %11s %8s %8s %8s %8s %7s %7s %9s %9s %9s %6s", "SLOT",
		 "NAME", "SIZE", "INFL", "AVAIL/USED", "ADD/s", "KICK/s", "IRQ/s", "CMPL/s",
		 "SPIN/C", "BARR/C", "P50", "P99", "MAX", "STALL");
}

void overview_row(char *buf, size_t len, const struct vq_model *m, unsigned slot)
{
	const struct model_queue *q = &m->queues[slot];
	char idx[24], p50[16], p99[16], max[16], name[20];
	uint16_t avail, used;

	uint32_t in_flight = q->in_flight;

	model_driver_indices(q, &avail, &used);
	snprintf(idx, sizeof(idx), "%u/%u", avail, used);
	/* A receive queue's buffers in flight are the ones posted to it. */
	if (model_queue_receives(q))
		model_posted_depth(q, &in_flight);
	format_short_duration(p50, sizeof(p50), hist_quantile(&q->latency, 0.5));
	format_short_duration(p99, sizeof(p99), hist_quantile(&q->latency, 0.99));
	format_short_duration(max, sizeof(max), q->latency.max_ns);
	/* Numbers are never cut (a wide one pushes the row on); names are,
	 * in the middle. */
	shorten_middle(name, sizeof(name), q->name[0] ? q->name : "?", 16);
	snprintf(buf, len,
		 "%4u %-16s %5u %4u %11s %8.1f %8.1f %8.1f %8.1f %7.1f %7.1f %9s %9s %9s %6llu",
		 slot, name, q->ring_size, in_flight, idx, q->rates.per_s[MC_ADDS],
		 q->rates.per_s[MC_KICKS], q->rates.per_s[MC_IRQS], q->rates.per_s[MC_COMPLETIONS],
		 q->rates.spins_per_completion, q->rates.barriers_per_completion, p50, p99, max,
		 (unsigned long long)q->count[MC_STALLS]);
}

void receive_text(char *buf, size_t len, const struct receive_summary *r, double fills_per_s)
{
	char size[32], p50[16], p99[16], max[16], starved[16], posted[16];

	if (r->posted_known)
		snprintf(posted, sizeof(posted), "%u", r->posted);
	else
		snprintf(posted, sizeof(posted), ">=%u", r->posted);
	format_size(size, sizeof(size), r->fills ? r->fill_bytes / r->fills : 0);
	format_short_duration(p50, sizeof(p50), r->fill_p50_ns);
	format_short_duration(p99, sizeof(p99), r->fill_p99_ns);
	format_short_duration(max, sizeof(max), r->fill_max_ns);
	format_short_duration(starved, sizeof(starved), r->starved_ns);
	snprintf(buf, len,
		 "posted %s, fills %.1f/s of %s, time to fill p50 %s p99 %s max %s, starved %s "
		 "(%llu time%s%s), %llu posted before tracing",
		 posted, fills_per_s, size, p50, p99, max, starved,
		 (unsigned long long)r->starvations, r->starvations == 1 ? "" : "s",
		 r->starving ? ", now" : "", (unsigned long long)r->posted_before_tracing);
}

void overview_notes(struct text *out, const struct vq_model *m, const unsigned *slots, size_t n)
{
	char line[320];

	for (size_t i = 0; i < n; i++) {
		const struct model_queue *q = &m->queues[slots[i]];
		struct receive_summary r;

		if (!model_queue_receives(q))
			continue;
		model_receive_summary(m, q, &r);
		receive_text(line, sizeof(line), &r, q->rates.per_s[MC_COMPLETIONS]);
		text_printf(out, "receive %s: %s\n", q->name[0] ? q->name : "?", line);
	}
	if (m->anomalies)
		text_printf(out, "anomalies %llu, latest: %s\n", (unsigned long long)m->anomalies,
			    m->last_anomaly);
	if (model_producer_stopped_text(m, line, sizeof(line)))
		text_printf(out, "%s: %s\n", line, PRODUCER_STOPPED_MEANS);
}

void overview_device_row(char *buf, size_t len, const struct vq_model *m, size_t i)
{
	const struct model_device_only *o = &m->device_only[i];
	char idx[24], name[48], shown[20];

	/* One row per queue of the device: its index in the name, and the
	 * device's QOM path (or id) to tell devices of one kind apart. */
	snprintf(idx, sizeof(idx), "%u/%u", o->q.last_avail_idx, o->q.used_idx);
	snprintf(name, sizeof(name), "%.*s q%u", (int)sizeof(o->q.name), o->q.name,
		 o->q.queue_index);
	shorten_middle(shown, sizeof(shown), name, 16);
	snprintf(buf, len, "%4s %-16s %5u %4u %11s %8s %8s %8s %8.1f  (device view: %.*s)", "dev",
		 shown, o->q.vring_num, o->q.inuse, idx, "-", "-", "-", o->used_per_s,
		 (int)sizeof(o->q.path), o->q.path);
}
