/* report.c - session summaries from the model (see report.h). */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "vqproto.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

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
	copy_str(r->source, sizeof(r->source), source);
	copy_str(r->producer, sizeof(r->producer), m->producer);
	copy_str(r->end_reason, sizeof(r->end_reason), end_reason);
	r->ts_hz = m->ts_hz;
	r->duration_ns = m->now_ns;
	r->events = m->events;
	r->lost = m->lost;
	r->violations = m->violations;
	r->anomalies = m->anomalies;
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
	if (r->verdict_attr.total_ns)
		r->dominant_pct =
		    (unsigned)(r->verdict_attr.ns[r->dominant] * 100 / r->verdict_attr.total_ns);

	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		const struct model_queue *q = &m->queues[s];
		struct report_queue *o;
		uint64_t done;

		if (!q->active && !q->gone && !q->count[MC_ADDS] && !q->count[MC_COMPLETIONS])
			continue;
		o = &r->queues[r->nqueues++];
		o->slot = s;
		copy_str(o->name, sizeof(o->name), q->name[0] ? q->name : "?");
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
		o->have_table = q->have_table;
		if (q->have_table)
			memcpy(o->table_counters, q->table.counters, sizeof(o->table_counters));
		o->disagree = q->disagree;
		copy_str(o->disagree_text, sizeof(o->disagree_text), q->disagree_text);
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

static void print_split(FILE *f, const struct attribution *a)
{
	static const enum attr_cat order[] = {ATTR_LOG, ATTR_DEVICE, ATTR_POLL, ATTR_OTHER};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum attr_cat c = order[i];
		double pct = a->total_ns ? 100.0 * (double)a->ns[c] / (double)a->total_ns : 0;
		char d[32];
		int bar = (int)(pct * 0.4 + 0.5);

		format_duration(d, sizeof(d), a->ns[c]);
		fprintf(f, "  %-8s %10s %6.1f%%  %.*s\n", attr_name(c), d, pct, bar,
			"########################################");
	}
}

static const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	format_duration(buf, len, ns);
	return buf;
}

void report_print_text(FILE *f, const struct report *r)
{
	char a[32], b[32], c[32], d[32], verdict[160];

	fprintf(f, "vqscope report: %s\n", r->source);
	fprintf(f, "  producer    %s (timestamps at %.3f MHz)\n",
		r->producer[0] ? r->producer : "?", (double)r->ts_hz / 1e6);
	fprintf(f, "  duration    %s, %u generation%s%s%s\n", fmt_ns(a, sizeof(a), r->duration_ns),
		r->generations, r->generations == 1 ? "" : "s", r->end_reason[0] ? ", ended: " : "",
		r->end_reason);
	fprintf(f, "  events      %llu (lost %llu, protocol violations %llu, anomalies %llu)\n",
		(unsigned long long)r->events, (unsigned long long)r->lost,
		(unsigned long long)r->violations, (unsigned long long)r->anomalies);

	if (r->frames) {
		fprintf(
		    f,
		    "\nFrames: %llu at %.1f/s; period p50 %s, p90 %s, p99 %s, max %s; %llu "
		    "stall%s\n",
		    (unsigned long long)r->frames, r->frames_per_s,
		    fmt_ns(a, sizeof(a), r->period_p50_ns), fmt_ns(b, sizeof(b), r->period_p90_ns),
		    fmt_ns(c, sizeof(c), r->period_p99_ns), fmt_ns(d, sizeof(d), r->period_max_ns),
		    (unsigned long long)r->frame_stalls, r->frame_stalls == 1 ? "" : "s");
	}
	fprintf(f, "\nWhere the %s went (%s):\n", r->basis,
		fmt_ns(a, sizeof(a), r->verdict_attr.total_ns));
	print_split(f, &r->verdict_attr);
	report_verdict(r, verdict, sizeof(verdict));
	fprintf(f, "Dominant cause: %s\n", verdict);

	fprintf(f, "\nQueues:\n");
	fprintf(f, "  %4s %-16s %5s %9s %9s %8s %6s %8s %8s %8s %10s %10s %10s %10s %6s\n", "SLOT",
		"NAME", "SIZE", "ADDS", "CMPL/s", "KICKS", "SUPPR", "IRQS", "SPIN/C", "BARR/C",
		"P50", "P90", "P99", "MAX", "STALLS");
	for (size_t i = 0; i < r->nqueues; i++) {
		const struct report_queue *q = &r->queues[i];
		char p50[32], p90[32], p99[32], max[32];

		fprintf(f,
			"  %4u %-16.16s %5u %9llu %9.1f %8llu %6llu %8llu %8.1f %8.1f %10s %10s "
			"%10s %10s %6llu\n",
			q->slot, q->name, q->ring_size, (unsigned long long)q->count[MC_ADDS],
			q->per_s[MC_COMPLETIONS], (unsigned long long)q->count[MC_KICKS],
			(unsigned long long)q->count[MC_KICKS_SUPPRESSED],
			(unsigned long long)q->count[MC_IRQS], q->spins_per_completion,
			q->barriers_per_completion, fmt_ns(p50, sizeof(p50), q->p50_ns),
			fmt_ns(p90, sizeof(p90), q->p90_ns), fmt_ns(p99, sizeof(p99), q->p99_ns),
			fmt_ns(max, sizeof(max), q->max_ns),
			(unsigned long long)q->count[MC_STALLS]);
		if (q->anomalies)
			fprintf(f, "       %llu anomalies in this queue's events\n",
				(unsigned long long)q->anomalies);
		if (q->disagree)
			fprintf(f, "       device view: %s\n", q->disagree_text);
	}
	for (size_t i = 0; i < r->ndevice_only; i++) {
		const struct model_device_only *o = &r->device_only[i];

		fprintf(
		    f,
		    "  %4s %-16.16s %5u  device view only: %s queue %u, used index %u, %u in use\n",
		    "-", o->q.name, o->q.vring_num, o->q.path, o->q.queue_index, o->q.used_idx,
		    o->q.inuse);
	}

	if (r->stalls_total) {
		fprintf(f, "\nWorst stalls (%zu of %llu):\n", r->nstalls,
			(unsigned long long)r->stalls_total);
		for (size_t i = 0; i < r->nstalls; i++)
			fprintf(f, "  %2zu. at %s: %s\n", i + 1,
				fmt_ns(a, sizeof(a), r->stalls[i].at_ns), r->stalls[i].text);
	} else {
		fprintf(f, "\nNo stalls.\n");
	}
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_object *attr_json(const struct attribution *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "total_ns", json_object_new_int64((int64_t)a->total_ns));
	for (int c = 0; c < ATTR_COUNT; c++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_ns", attr_name((enum attr_cat)c));
		json_object_object_add(o, key, json_object_new_int64((int64_t)a->ns[c]));
	}
	return o;
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static const char *counter_key(int c)
{
	static const char *const keys[MC_COUNT] = {
	    "adds",	     "descriptors", "bytes",  "kicks",	  "kicks_suppressed",
	    "irqs",	     "polls",	    "spins",  "barriers", "completions",
	    "poll_timeouts", "used_bytes",  "errors", "stalls"};
	return keys[c];
}

json_object *report_json(const struct report *r)
{
	json_object *o = json_object_new_object(), *queues = json_object_new_array();
	json_object *stalls = json_object_new_array(), *frames = json_object_new_object();
	json_object *verdict = json_object_new_object();
	char text[160];

	json_object_object_add(o, "source", json_object_new_string(r->source));
	json_object_object_add(o, "producer", json_object_new_string(r->producer));
	add_u64(o, "ts_hz", r->ts_hz);
	add_u64(o, "duration_ns", r->duration_ns);
	add_u64(o, "events", r->events);
	add_u64(o, "lost", r->lost);
	add_u64(o, "violations", r->violations);
	add_u64(o, "anomalies", r->anomalies);
	add_u64(o, "generations", r->generations);
	json_object_object_add(o, "end_reason", json_object_new_string(r->end_reason));

	add_u64(frames, "count", r->frames);
	json_object_object_add(frames, "per_s", json_object_new_double(r->frames_per_s));
	add_u64(frames, "period_p50_ns", r->period_p50_ns);
	add_u64(frames, "period_p90_ns", r->period_p90_ns);
	add_u64(frames, "period_p99_ns", r->period_p99_ns);
	add_u64(frames, "period_max_ns", r->period_max_ns);
	add_u64(frames, "stalls", r->frame_stalls);
	json_object_object_add(frames, "attribution", attr_json(&r->frames_attr));
	json_object_object_add(o, "frames", frames);
	json_object_object_add(o, "session_attribution", attr_json(&r->session_attr));

	json_object_object_add(verdict, "basis", json_object_new_string(r->basis));
	json_object_object_add(verdict, "dominant", json_object_new_string(attr_name(r->dominant)));
	add_u64(verdict, "percent", r->dominant_pct);
	report_verdict(r, text, sizeof(text));
	json_object_object_add(verdict, "text", json_object_new_string(text));
	json_object_object_add(o, "verdict", verdict);

	for (size_t i = 0; i < r->nqueues; i++) {
		const struct report_queue *q = &r->queues[i];
		json_object *j = json_object_new_object(), *cnt = json_object_new_object();
		json_object *lat = json_object_new_object();

		add_u64(j, "slot", q->slot);
		json_object_object_add(j, "name", json_object_new_string(q->name));
		add_u64(j, "ring_size", q->ring_size);
		add_u64(j, "device_type", q->device_type);
		add_u64(j, "queue_index", q->queue_index);
		for (int c = 0; c < MC_COUNT; c++)
			add_u64(cnt, counter_key(c), q->count[c]);
		json_object_object_add(j, "counts", cnt);
		json_object_object_add(j, "completions_per_s",
				       json_object_new_double(q->per_s[MC_COMPLETIONS]));
		json_object_object_add(j, "spins_per_completion",
				       json_object_new_double(q->spins_per_completion));
		json_object_object_add(j, "barriers_per_completion",
				       json_object_new_double(q->barriers_per_completion));
		json_object_object_add(j, "kick_suppression",
				       json_object_new_double(q->kick_suppression));
		add_u64(lat, "count", q->latency_count);
		add_u64(lat, "p50_ns", q->p50_ns);
		add_u64(lat, "p90_ns", q->p90_ns);
		add_u64(lat, "p99_ns", q->p99_ns);
		add_u64(lat, "max_ns", q->max_ns);
		add_u64(lat, "mean_ns", q->mean_ns);
		json_object_object_add(j, "latency", lat);
		add_u64(j, "in_flight_at_end", q->in_flight_at_end);
		add_u64(j, "max_in_flight", q->max_in_flight);
		add_u64(j, "anomalies", q->anomalies);
		if (q->disagree)
			json_object_object_add(j, "device_disagreement",
					       json_object_new_string(q->disagree_text));
		json_object_array_add(queues, j);
	}
	json_object_object_add(o, "queues", queues);

	/* Queues seen only from the device side (an uninstrumented guest). */
	json_object *device_only = json_object_new_array();
	for (size_t i = 0; i < r->ndevice_only; i++) {
		const struct vqr_device_queue *d = &r->device_only[i].q;
		json_object *j = json_object_new_object();
		char field[sizeof(d->path) + 1];

		snprintf(field, sizeof(field), "%.*s", (int)sizeof(d->path), d->path);
		json_object_object_add(j, "path", json_object_new_string(field));
		snprintf(field, sizeof(field), "%.*s", (int)sizeof(d->name), d->name);
		json_object_object_add(j, "device", json_object_new_string(field));
		add_u64(j, "queue_index", d->queue_index);
		add_u64(j, "size", d->vring_num);
		add_u64(j, "last_avail_idx", d->last_avail_idx);
		add_u64(j, "used_idx", d->used_idx);
		add_u64(j, "inuse", d->inuse);
		json_object_array_add(device_only, j);
	}
	json_object_object_add(o, "device_only", device_only);

	for (size_t i = 0; i < r->nstalls; i++) {
		const struct model_stall *s = &r->stalls[i];
		json_object *j = json_object_new_object();

		json_object_object_add(
		    j, "kind",
		    json_object_new_string(s->kind == STALL_FRAME ? "frame" : "command"));
		add_u64(j, "at_ns", s->at_ns);
		add_u64(j, "duration_ns", s->duration_ns);
		if (s->kind == STALL_FRAME) {
			add_u64(j, "frame", s->frame);
		} else {
			add_u64(j, "queue", s->queue);
			add_u64(j, "head", s->head);
		}
		json_object_object_add(j, "cause", json_object_new_string(attr_name(s->cause)));
		json_object_object_add(j, "attribution", attr_json(&s->attr));
		json_object_object_add(j, "text", json_object_new_string(s->text));
		json_object_array_add(stalls, j);
	}
	json_object_object_add(o, "worst_stalls", stalls);
	add_u64(o, "stalls_total", r->stalls_total);
	return o;
}
