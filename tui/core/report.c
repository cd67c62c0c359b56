/* report.c - session summaries from the model (see report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "overview.h"
#include "report.h"
#include "vqproto.h"

static int stall_cmp(const void *a, const void *b)
{
	const struct model_stall *x = a, *y = b;

	if (x->duration_ns != y->duration_ns)
		return x->duration_ns > y->duration_ns ? -1 : 1;
	return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

void report_build(struct report *r, const struct vq_model *m, const char *source,
		  const char *end_reason)
{
	double secs;

	memset(r, 0, sizeof(*r));
	vqp_copy_string(r->source, sizeof(r->source), source);
	vqp_copy_string(r->producer, sizeof(r->producer), m->producer);
	model_producer_stopped_text(m, r->producer_note, sizeof(r->producer_note));
	vqp_copy_string(r->end_reason, sizeof(r->end_reason), end_reason);
	r->ts_hz = m->ts_hz;
	r->duration_ns = m->now_ns;
	r->events = m->events;
	r->lost = m->lost;
	r->violations = m->violations;
	r->anomalies = m->anomalies;
	vqp_copy_string(r->last_anomaly, sizeof(r->last_anomaly), m->last_anomaly);
	r->generations = m->resyncs + 1;
	secs = r->duration_ns ? (double)r->duration_ns / 1e9 : 0;

	r->frames = m->frames_total;
	if (m->frames_attr.total_ns)
		r->frames_per_s = (double)m->frames_total * 1e9 / (double)m->frames_attr.total_ns;
	r->period_p50_ns = hist_quantile(&m->frame_period, 0.5);
	r->period_p90_ns = hist_quantile(&m->frame_period, 0.9);
	r->period_p99_ns = hist_quantile(&m->frame_period, 0.99);
	r->period_max_ns = m->frame_period.max_ns;
	r->frame_stalls = m->frame_stalls;
	r->frames_attr = m->frames_attr;
	r->session_attr = m->session_attr;
	if (m->frames_attr.total_ns) {
		r->basis = "frame time";
		r->verdict_attr = m->frames_attr;
	} else {
		r->basis = "session time";
		r->verdict_attr = m->session_attr;
	}
	r->dominant = attr_dominant(&r->verdict_attr);
	r->dominant_pct = attr_percent(&r->verdict_attr, r->dominant);

	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		const struct model_queue *q = &m->queues[s];
		struct report_queue *o;
		uint64_t done;

		if (!q->active && !q->gone && !q->count[MC_ADDS] && !q->count[MC_COMPLETIONS])
			continue;
		o = &r->queues[r->nqueues++];
		o->slot = s;
		vqp_copy_string(o->name, sizeof(o->name), q->name[0] ? q->name : "?");
		o->ring_size = q->ring_size;
		o->device_type = q->device_type;
		o->queue_index = q->queue_index;
		memcpy(o->count, q->count, sizeof(o->count));
		for (int c = 0; c < MC_COUNT; c++)
			o->per_s[c] = secs > 0 ? (double)q->count[c] / secs : 0;
		done = q->count[MC_COMPLETIONS];
		if (done) {
			o->spins_per_completion = (double)q->count[MC_SPINS] / (double)done;
			o->barriers_per_completion = (double)q->count[MC_BARRIERS] / (double)done;
		}
		if (q->count[MC_KICKS] + q->count[MC_KICKS_SUPPRESSED])
			o->kick_suppression =
			    (double)q->count[MC_KICKS_SUPPRESSED] /
			    (double)(q->count[MC_KICKS] + q->count[MC_KICKS_SUPPRESSED]);
		o->latency_count = q->latency.count;
		o->p50_ns = hist_quantile(&q->latency, 0.5);
		o->p90_ns = hist_quantile(&q->latency, 0.9);
		o->p99_ns = hist_quantile(&q->latency, 0.99);
		o->max_ns = q->latency.max_ns;
		o->mean_ns = q->latency.count ? q->latency.sum_ns / q->latency.count : 0;
		o->in_flight_at_end = q->in_flight;
		o->max_in_flight = q->max_in_flight;
		o->anomalies = q->anomalies;
		vqp_copy_string(o->last_anomaly, sizeof(o->last_anomaly), q->last_anomaly);
		o->posted_before_tracing = q->posted_before_tracing;
		o->receives = model_queue_receives(q);
		if (o->receives)
			model_receive_summary(m, q, &o->rx);
		o->have_table = q->have_table;
		if (q->have_table)
			memcpy(o->table_counters, q->table.counters, sizeof(o->table_counters));
		o->disagree = q->disagree;
		vqp_copy_string(o->disagree_text, sizeof(o->disagree_text), q->disagree_text);
	}

	r->stalls_total = m->stalls_total;
	r->nstalls = m->nworst < REPORT_STALLS ? m->nworst : REPORT_STALLS;
	{
		struct model_stall sorted[MODEL_WORST_STALLS];

		memcpy(sorted, m->worst, m->nworst * sizeof(sorted[0]));
		qsort(sorted, m->nworst, sizeof(sorted[0]), stall_cmp);
		memcpy(r->stalls, sorted, r->nstalls * sizeof(sorted[0]));
	}
	r->ndevice_only = m->ndevice_only;
	memcpy(r->device_only, m->device_only, m->ndevice_only * sizeof(m->device_only[0]));
	r->findings = m->findings;
	r->nfindings = m->nfindings;
}

void report_verdict(const struct report *r, char *buf, size_t len)
{
	if (!r->verdict_attr.total_ns) {
		snprintf(buf, len, "no time measured");
		return;
	}
	snprintf(buf, len, "%s (%u%% of %s)", attr_description(r->dominant), r->dominant_pct,
		 r->basis);
}

/* ---- text ------------------------------------------------------------------------------- */

static void print_split(struct text *f, const struct attribution *a)
{
	static const enum attr_cat order[] = {ATTR_LOG, ATTR_DEVICE, ATTR_POLL, ATTR_OTHER};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum attr_cat c = order[i];
		double pct = a->total_ns ? 100.0 * (double)a->ns[c] / (double)a->total_ns : 0;
		char d[32];
		int bar = (int)(pct * 0.4 + 0.5);

		format_duration(d, sizeof(d), a->ns[c]);
		text_printf(f, "  %-8s %10s %6.1f%%  %.*s\n", attr_name(c), d, pct, bar,
			    "########################################");
	}
}

static const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	format_duration(buf, len, ns);
	return buf;
}

/* A receive queue has no command latency: "-", not "0 ns". */
static const char *latency_cell(char *buf, size_t len, const struct report_queue *q, uint64_t ns)
{
	if (q->receives) {
		snprintf(buf, len, "-");
		return buf;
	}
	return fmt_ns(buf, len, ns);
}

void report_text(struct text *f, const struct report *r)
{
	char a[32], b[32], c[32], d[32], verdict[160];

	text_printf(f, "vqscope report: %s\n", r->source);
	text_printf(f, "  producer    %s (timestamps at %.3f MHz)\n",
		    r->producer[0] ? r->producer : "?", (double)r->ts_hz / 1e6);
	if (r->producer_note[0])
		text_printf(f, "              %s: the trace ends there\n", r->producer_note);
	text_printf(f, "  duration    %s, %u generation%s%s%s\n",
		    fmt_ns(a, sizeof(a), r->duration_ns), r->generations,
		    r->generations == 1 ? "" : "s", r->end_reason[0] ? ", ended: " : "",
		    r->end_reason);
	text_printf(f, "  events      %llu (lost %llu, protocol violations %llu, anomalies %llu)\n",
		    (unsigned long long)r->events, (unsigned long long)r->lost,
		    (unsigned long long)r->violations, (unsigned long long)r->anomalies);
	if (r->anomalies)
		text_printf(f, "  anomaly     latest: %s\n", r->last_anomaly);

	if (r->frames) {
		text_printf(
		    f,
		    "\nFrames: %llu at %.1f/s; period p50 %s, p90 %s, p99 %s, max %s; %llu "
		    "stall%s\n",
		    (unsigned long long)r->frames, r->frames_per_s,
		    fmt_ns(a, sizeof(a), r->period_p50_ns), fmt_ns(b, sizeof(b), r->period_p90_ns),
		    fmt_ns(c, sizeof(c), r->period_p99_ns), fmt_ns(d, sizeof(d), r->period_max_ns),
		    (unsigned long long)r->frame_stalls, r->frame_stalls == 1 ? "" : "s");
	}
	text_printf(f, "\nWhere the %s went (%s):\n", r->basis,
		    fmt_ns(a, sizeof(a), r->verdict_attr.total_ns));
	print_split(f, &r->verdict_attr);
	report_verdict(r, verdict, sizeof(verdict));
	text_printf(f, "Dominant cause: %s\n", verdict);

	text_printf(f, "\nQueues:\n");
	text_printf(f, "  %4s %-16s %5s %9s %9s %8s %6s %8s %8s %8s %10s %10s %10s %10s %6s\n",
		    "SLOT", "NAME", "SIZE", "ADDS", "CMPL/s", "KICKS", "SUPPR", "IRQS", "SPIN/C",
		    "BARR/C", "P50", "P90", "P99", "MAX", "STALLS");
	for (size_t i = 0; i < r->nqueues; i++) {
		const struct report_queue *q = &r->queues[i];
		char p50[32], p90[32], p99[32], max[32], rx[320];

		text_printf(
		    f,
		    "  %4u %-16.16s %5u %9llu %9.1f %8llu %6llu %8llu %8.1f %8.1f %10s %10s "
		    "%10s %10s %6llu\n",
		    q->slot, q->name, q->ring_size, (unsigned long long)q->count[MC_ADDS],
		    q->per_s[MC_COMPLETIONS], (unsigned long long)q->count[MC_KICKS],
		    (unsigned long long)q->count[MC_KICKS_SUPPRESSED],
		    (unsigned long long)q->count[MC_IRQS], q->spins_per_completion,
		    q->barriers_per_completion, latency_cell(p50, sizeof(p50), q, q->p50_ns),
		    latency_cell(p90, sizeof(p90), q, q->p90_ns),
		    latency_cell(p99, sizeof(p99), q, q->p99_ns),
		    latency_cell(max, sizeof(max), q, q->max_ns),
		    (unsigned long long)q->count[MC_STALLS]);
		if (q->receives) {
			receive_text(rx, sizeof(rx), &q->rx, q->per_s[MC_COMPLETIONS]);
			text_printf(f, "       receive: %s\n", rx);
		} else if (q->posted_before_tracing) {
			text_printf(f, "       %llu completed buffer%s posted before tracing\n",
				    (unsigned long long)q->posted_before_tracing,
				    q->posted_before_tracing == 1 ? " was" : "s were");
		}
		if (q->anomalies)
			text_printf(f, "       %llu anomalies in this queue's events, latest: %s\n",
				    (unsigned long long)q->anomalies, q->last_anomaly);
		if (q->disagree)
			text_printf(f, "       device view: %s\n", q->disagree_text);
	}
	for (size_t i = 0; i < r->ndevice_only; i++) {
		const struct model_device_only *o = &r->device_only[i];

		text_printf(
		    f,
		    "  %4s %-16.16s %5u  device view only: %s queue %u, used index %u, %u in use\n",
		    "-", o->q.name, o->q.vring_num, o->q.path, o->q.queue_index, o->q.used_idx,
		    o->q.inuse);
	}

	if (r->nfindings) {
		char sum[128];

		findings_summary(sum, sizeof(sum), r->findings, r->nfindings);
		text_printf(f, "\nFindings (%s):\n", sum);
		findings_text(f, r->findings, r->nfindings);
	}
	if (r->stalls_total) {
		text_printf(f, "\nWorst stalls (%zu of %llu):\n", r->nstalls,
			    (unsigned long long)r->stalls_total);
		for (size_t i = 0; i < r->nstalls; i++)
			text_printf(f, "  %2zu. at %s: %s\n", i + 1,
				    fmt_ns(a, sizeof(a), r->stalls[i].at_ns), r->stalls[i].text);
	} else {
		text_printf(f, "\nNo stalls.\n");
	}
}

const char *report_counter_key(enum model_counter c)
{
	static const char *const keys[MC_COUNT] = {
	    "adds",	     "descriptors", "bytes",  "kicks",	  "kicks_suppressed",
	    "irqs",	     "polls",	    "spins",  "barriers", "completions",
	    "poll_timeouts", "used_bytes",  "errors", "stalls"};
	return c < MC_COUNT ? keys[c] : "?";
}

/* ---- findings ------------------------------------------------------------------ */

static int finding_cmp(const void *a, const void *b, void *ctx)
{
	const struct finding *f = ctx;
	const struct finding *x = &f[*(const size_t *)a];
	const struct finding *y = &f[*(const size_t *)b];

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

size_t findings_order(const struct finding *f, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), finding_cmp, (void *)f);
	return n;
}

void findings_summary(char *buf, size_t len, const struct finding *f, size_t n)
{
	size_t by[3] = {0, 0, 0};

	if (!n) {
		snprintf(buf, len, "no findings");
		return;
	}
	for (size_t i = 0; i < n; i++)
		by[f[i].severity]++;
	snprintf(buf, len, "%zu finding%s: %zu error%s, %zu warning%s, %zu info", n,
		 n == 1 ? "" : "s", by[SEV_ERROR], by[SEV_ERROR] == 1 ? "" : "s", by[SEV_WARNING],
		 by[SEV_WARNING] == 1 ? "" : "s", by[SEV_INFO]);
}

void findings_text(struct text *out, const struct finding *f, size_t n)
{
	size_t *order = calloc(n ? n : 1, sizeof(*order));

	if (!order) {
		out->failed = true;
		return;
	}
	findings_order(f, n, order);
	for (size_t k = 0; k < n; k++) {
		const struct finding *x = &f[order[k]];
		const struct finding_info *info = finding_info(x->code);
		char first[32], last[32];

		snprintf(first, sizeof(first), "%.6f s", (double)x->first_ns / 1e9);
		snprintf(last, sizeof(last), "%.6f s", (double)x->last_ns / 1e9);
		text_printf(out, "\n%-7s %s  %s  (virtio 1.2 %s)\n", severity_name(x->severity),
			    info->name, x->queue >= 0 ? x->queue_name : "session", info->spec);
		text_printf(out, "  %s; first seen at %s", info->summary, first);
		if (x->first_seq)
			text_printf(out, " (event %u:%llu)", x->first_generation,
				    (unsigned long long)x->first_seq);
		if (x->count > 1)
			text_printf(out, ", %llu times (%.1f/s), last at %s",
				    (unsigned long long)x->count, finding_rate(x), last);
		text_printf(out, "%s\n", x->active ? "" : "; not so any more");
		for (size_t e = 0; e < x->nevidence; e++)
			text_printf(out, "    %-26s %-24s %s\n", x->ev[e].what, x->ev[e].value,
				    x->ev[e].from);
		text_printf(out, "  %s\n", x->text);
	}
	free(order);
}
