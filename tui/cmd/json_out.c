/* json_out.c - the core's data as JSON, for the commands' --json output
 * and exports (see json_out.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

void json_add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

void json_add_double(json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, json_object_new_double(v));
}

void json_add_attribution(json_object *o, const struct attribution *a)
{
	for (int c = 0; c < ATTR_COUNT; c++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_ns", attr_name((enum attr_cat)c));
		json_add_u64(o, key, a->ns[c]);
	}
}

/* ---- receive queues and anomalies ------------------------------------------------------ */

/* What a receive queue does (model_receive_summary), under "receive". */
static json_object *receive_json(const struct receive_summary *r, double fills_per_s)
{
	json_object *o = json_object_new_object();

	json_add_u64(o, "posted", r->posted);
	json_object_object_add(o, "posted_exact", json_object_new_boolean(r->posted_known));
	json_add_u64(o, "fills", r->fills);
	json_add_double(o, "fills_per_s", fills_per_s);
	json_add_u64(o, "fill_bytes", r->fill_bytes);
	json_add_u64(o, "fill_size_mean", r->fills ? r->fill_bytes / r->fills : 0);
	json_add_u64(o, "time_to_fill_count", r->fill_count);
	json_add_u64(o, "time_to_fill_p50_ns", r->fill_p50_ns);
	json_add_u64(o, "time_to_fill_p99_ns", r->fill_p99_ns);
	json_add_u64(o, "time_to_fill_max_ns", r->fill_max_ns);
	json_add_u64(o, "starved_ns", r->starved_ns);
	json_add_u64(o, "starvations", r->starvations);
	json_object_object_add(o, "starving", json_object_new_boolean(r->starving));
	json_add_u64(o, "posted_before_tracing", r->posted_before_tracing);
	return o;
}

/* An anomaly count and the latest one's text (null when none). */
static void anomalies_json(json_object *o, uint64_t n, const char *last)
{
	json_add_u64(o, "anomalies", n);
	json_object_object_add(o, "last_anomaly", n ? json_object_new_string(last) : NULL);
}

/* ---- report ---------------------------------------------------------------------- */

static json_object *attr_json(const struct attribution *a)
{
	json_object *o = json_object_new_object();

	json_add_u64(o, "total_ns", a->total_ns);
	json_add_attribution(o, a);
	return o;
}

json_object *report_json(const struct report *r)
{
	json_object *o = json_object_new_object(), *queues = json_object_new_array();
	json_object *stalls = json_object_new_array(), *frames = json_object_new_object();
	json_object *verdict = json_object_new_object();
	char text[160];

	json_object_object_add(o, "source", json_object_new_string(r->source));
	json_object_object_add(o, "producer", json_object_new_string(r->producer));
	json_object_object_add(o, "producer_note",
			       r->producer_note[0] ? json_object_new_string(r->producer_note)
						   : NULL);
	json_add_u64(o, "ts_hz", r->ts_hz);
	json_add_u64(o, "duration_ns", r->duration_ns);
	json_add_u64(o, "events", r->events);
	json_add_u64(o, "lost", r->lost);
	json_add_u64(o, "violations", r->violations);
	anomalies_json(o, r->anomalies, r->last_anomaly);
	json_add_u64(o, "generations", r->generations);
	json_object_object_add(o, "end_reason", json_object_new_string(r->end_reason));

	json_add_u64(frames, "count", r->frames);
	json_object_object_add(frames, "per_s", json_object_new_double(r->frames_per_s));
	json_add_u64(frames, "period_p50_ns", r->period_p50_ns);
	json_add_u64(frames, "period_p90_ns", r->period_p90_ns);
	json_add_u64(frames, "period_p99_ns", r->period_p99_ns);
	json_add_u64(frames, "period_max_ns", r->period_max_ns);
	json_add_u64(frames, "stalls", r->frame_stalls);
	json_object_object_add(frames, "attribution", attr_json(&r->frames_attr));
	json_object_object_add(o, "frames", frames);
	json_object_object_add(o, "session_attribution", attr_json(&r->session_attr));

	json_object_object_add(verdict, "basis", json_object_new_string(r->basis));
	json_object_object_add(verdict, "dominant", json_object_new_string(attr_name(r->dominant)));
	json_add_u64(verdict, "percent", r->dominant_pct);
	report_verdict(r, text, sizeof(text));
	json_object_object_add(verdict, "text", json_object_new_string(text));
	json_object_object_add(o, "verdict", verdict);

	for (size_t i = 0; i < r->nqueues; i++) {
		const struct report_queue *q = &r->queues[i];
		json_object *j = json_object_new_object(), *cnt = json_object_new_object();
		json_object *lat = json_object_new_object();

		json_add_u64(j, "slot", q->slot);
		json_object_object_add(j, "name", json_object_new_string(q->name));
		json_add_u64(j, "ring_size", q->ring_size);
		json_add_u64(j, "device_type", q->device_type);
		json_add_u64(j, "queue_index", q->queue_index);
		json_object_object_add(j, "kind",
				       json_object_new_string(q->receives ? "receive" : "request"));
		for (int c = 0; c < MC_COUNT; c++)
			json_add_u64(cnt, report_counter_key((enum model_counter)c), q->count[c]);
		json_object_object_add(j, "counts", cnt);
		json_object_object_add(j, "completions_per_s",
				       json_object_new_double(q->per_s[MC_COMPLETIONS]));
		json_object_object_add(j, "spins_per_completion",
				       json_object_new_double(q->spins_per_completion));
		json_object_object_add(j, "barriers_per_completion",
				       json_object_new_double(q->barriers_per_completion));
		json_object_object_add(j, "kick_suppression",
				       json_object_new_double(q->kick_suppression));
		json_add_u64(lat, "count", q->latency_count);
		json_add_u64(lat, "p50_ns", q->p50_ns);
		json_add_u64(lat, "p90_ns", q->p90_ns);
		json_add_u64(lat, "p99_ns", q->p99_ns);
		json_add_u64(lat, "max_ns", q->max_ns);
		json_add_u64(lat, "mean_ns", q->mean_ns);
		/* A receive queue's buffers are no commands: no latency. */
		if (q->receives) {
			json_object_put(lat);
			json_object_object_add(j, "latency", NULL);
			json_object_object_add(j, "receive",
					       receive_json(&q->rx, q->per_s[MC_COMPLETIONS]));
		} else {
			json_object_object_add(j, "latency", lat);
		}
		json_add_u64(j, "in_flight_at_end", q->in_flight_at_end);
		json_add_u64(j, "max_in_flight", q->max_in_flight);
		json_add_u64(j, "posted_before_tracing", q->posted_before_tracing);
		anomalies_json(j, q->anomalies, q->last_anomaly);
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
		json_add_u64(j, "queue_index", d->queue_index);
		json_add_u64(j, "size", d->vring_num);
		json_add_u64(j, "last_avail_idx", d->last_avail_idx);
		json_add_u64(j, "used_idx", d->used_idx);
		json_add_u64(j, "inuse", d->inuse);
		json_object_array_add(device_only, j);
	}
	json_object_object_add(o, "device_only", device_only);

	for (size_t i = 0; i < r->nstalls; i++) {
		const struct model_stall *s = &r->stalls[i];
		json_object *j = json_object_new_object();

		json_object_object_add(
		    j, "kind",
		    json_object_new_string(s->kind == STALL_FRAME ? "frame" : "command"));
		json_add_u64(j, "at_ns", s->at_ns);
		json_add_u64(j, "duration_ns", s->duration_ns);
		if (s->kind == STALL_FRAME) {
			json_add_u64(j, "frame", s->frame);
		} else {
			json_add_u64(j, "queue", s->queue);
			json_add_u64(j, "head", s->head);
		}
		json_object_object_add(j, "cause", json_object_new_string(attr_name(s->cause)));
		json_object_object_add(j, "attribution", attr_json(&s->attr));
		json_object_object_add(j, "text", json_object_new_string(s->text));
		json_object_array_add(stalls, j);
	}
	json_object_object_add(o, "worst_stalls", stalls);
	json_add_u64(o, "stalls_total", r->stalls_total);
	json_object_object_add(o, "findings", findings_json(r->findings, r->nfindings, false));
	return o;
}

/* ---- overview ------------------------------------------------------------------------ */

json_object *overview_json(const struct vq_model *m, const struct overview_source *s)
{
	json_object *o = json_object_new_object(), *queues = json_object_new_array();
	unsigned slots[MODEL_QUEUES];
	size_t n = overview_rows(m, SORT_SLOT, slots, MODEL_QUEUES);

	json_object_object_add(o, "source", json_object_new_string(s->name));
	json_object_object_add(o, "vm", json_object_new_string(s->vm));
	json_object_object_add(o, "producer", json_object_new_string(m->producer));
	json_add_u64(o, "generation", m->generation);
	json_add_u64(o, "events", m->events);
	json_add_double(o, "events_per_s", m->events_per_s);
	json_add_u64(o, "lost", m->lost);
	json_add_u64(o, "violations", m->violations);
	json_add_u64(o, "frames", m->frames_total);
	json_add_u64(o, "stalls", m->stalls_total);
	anomalies_json(o, m->anomalies, m->last_anomaly);
	{
		static const char *const states[] = {"unknown", "running", "stopped", "silent"};
		char note[160];

		json_object_object_add(o, "producer_state",
				       json_object_new_string(states[m->producer_status.state]));
		json_object_object_add(o, "producer_note",
				       model_producer_stopped_text(m, note, sizeof(note))
					   ? json_object_new_string(note)
					   : NULL);
	}
	json_object_object_add(o, "recording",
			       s->recording ? json_object_new_string(s->recording) : NULL);
	if (s->region_status[0])
		json_object_object_add(o, "region_status",
				       json_object_new_string(s->region_status));
	for (size_t i = 0; i < n; i++) {
		const struct model_queue *q = &m->queues[slots[i]];
		json_object *j = json_object_new_object();
		uint16_t avail, used;
		bool receives = model_queue_receives(q);

		json_add_u64(j, "slot", slots[i]);
		json_object_object_add(j, "name", json_object_new_string(q->name));
		json_add_u64(j, "ring_size", q->ring_size);
		json_object_object_add(j, "kind",
				       json_object_new_string(receives ? "receive" : "request"));
		json_add_u64(j, "in_flight", q->in_flight);
		model_driver_indices(q, &avail, &used);
		json_add_u64(j, "avail_idx", avail);
		json_add_u64(j, "last_used_idx", used);
		json_add_u64(j, "adds", q->count[MC_ADDS]);
		json_add_u64(j, "completions", q->count[MC_COMPLETIONS]);
		json_add_u64(j, "kicks", q->count[MC_KICKS]);
		json_add_u64(j, "kicks_suppressed", q->count[MC_KICKS_SUPPRESSED]);
		json_add_u64(j, "irqs", q->count[MC_IRQS]);
		json_add_double(j, "adds_per_s", q->rates.per_s[MC_ADDS]);
		json_add_double(j, "kicks_per_s", q->rates.per_s[MC_KICKS]);
		json_add_double(j, "kicks_suppressed_per_s", q->rates.per_s[MC_KICKS_SUPPRESSED]);
		json_add_double(j, "irqs_per_s", q->rates.per_s[MC_IRQS]);
		json_add_double(j, "completions_per_s", q->rates.per_s[MC_COMPLETIONS]);
		json_add_double(j, "spins_per_completion", q->rates.spins_per_completion);
		json_add_double(j, "barriers_per_completion", q->rates.barriers_per_completion);
		if (receives) {
			struct receive_summary r;

			/* No command latency on a receive queue (null, not 0). */
			json_object_object_add(j, "latency_p50_ns", NULL);
			json_object_object_add(j, "latency_p99_ns", NULL);
			json_object_object_add(j, "latency_max_ns", NULL);
			model_receive_summary(m, q, &r);
			json_object_object_add(j, "receive",
					       receive_json(&r, q->rates.per_s[MC_COMPLETIONS]));
		} else {
			json_add_u64(j, "latency_p50_ns", hist_quantile(&q->latency, 0.5));
			json_add_u64(j, "latency_p99_ns", hist_quantile(&q->latency, 0.99));
			json_add_u64(j, "latency_max_ns", q->latency.max_ns);
		}
		json_add_u64(j, "stalls", q->count[MC_STALLS]);
		json_add_u64(j, "posted_before_tracing", q->posted_before_tracing);
		anomalies_json(j, q->anomalies, q->last_anomaly);
		if (q->have_device) {
			json_object *d = json_object_new_object();

			json_add_u64(d, "last_avail_idx", q->device.last_avail_idx);
			json_add_u64(d, "used_idx", q->device.used_idx);
			json_add_u64(d, "inuse", q->device.inuse);
			json_object_object_add(d, "disagree", json_object_new_boolean(q->disagree));
			if (q->disagree)
				json_object_object_add(d, "text",
						       json_object_new_string(q->disagree_text));
			json_object_object_add(j, "device", d);
		}
		json_object_array_add(queues, j);
	}
	json_object_object_add(o, "queues", queues);
	json_object_object_add(o, "findings", findings_json(m->findings, m->nfindings, true));
	if (m->ndevice_only) {
		json_object *dev = json_object_new_array();

		for (size_t i = 0; i < m->ndevice_only; i++) {
			const struct model_device_only *d = &m->device_only[i];
			json_object *j = json_object_new_object();

			json_object_object_add(j, "path", json_object_new_string(d->q.path));
			json_object_object_add(j, "name", json_object_new_string(d->q.name));
			json_add_u64(j, "queue_index", d->q.queue_index);
			json_add_u64(j, "vring_num", d->q.vring_num);
			json_add_u64(j, "last_avail_idx", d->q.last_avail_idx);
			json_add_u64(j, "used_idx", d->q.used_idx);
			json_add_u64(j, "inuse", d->q.inuse);
			json_add_double(j, "used_per_s", d->used_per_s);
			json_object_array_add(dev, j);
		}
		json_object_object_add(o, "device_only", dev);
	}
	return o;
}

/* ---- findings ------------------------------------------------------------------------ */

json_object *finding_json(const struct finding *f)
{
	const struct finding_info *info = finding_info(f->code);
	json_object *o = json_object_new_object(), *ev = json_object_new_array();
	char first[32];

	json_object_object_add(o, "code", json_object_new_string(info->name));
	json_object_object_add(o, "severity", json_object_new_string(severity_name(f->severity)));
	json_object_object_add(o, "queue", json_object_new_int(f->queue));
	json_object_object_add(o, "queue_name",
			       json_object_new_string(f->queue >= 0 ? f->queue_name : ""));
	json_add_u64(o, "first_ns", f->first_ns);
	json_add_u64(o, "last_ns", f->last_ns);
	snprintf(first, sizeof(first), "%u:%llu", f->first_generation,
		 (unsigned long long)f->first_seq);
	json_object_object_add(o, "first_event",
			       f->first_seq ? json_object_new_string(first) : NULL);
	json_add_u64(o, "count", f->count);
	json_add_double(o, "rate_per_s", finding_rate(f));
	json_object_object_add(o, "active", json_object_new_boolean(f->active));
	json_object_object_add(o, "spec", json_object_new_string(info->spec));
	json_object_object_add(o, "summary", json_object_new_string(info->summary));
	json_object_object_add(o, "text", json_object_new_string(f->text));
	for (size_t i = 0; i < f->nevidence; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "what", json_object_new_string(f->ev[i].what));
		json_object_object_add(e, "value", json_object_new_string(f->ev[i].value));
		json_object_object_add(e, "from", json_object_new_string(f->ev[i].from));
		json_object_array_add(ev, e);
	}
	json_object_object_add(o, "evidence", ev);
	return o;
}

json_object *findings_json(const struct finding *f, size_t n, bool active_only)
{
	json_object *a = json_object_new_array();
	size_t *order = calloc(n ? n : 1, sizeof(*order));

	if (!order)
		return a;
	findings_order(f, n, order);
	for (size_t i = 0; i < n; i++)
		if (!active_only || f[order[i]].active)
			json_object_array_add(a, finding_json(&f[order[i]]));
	free(order);
	return a;
}

/* ---- events ------------------------------------------------------------------------------ */

void event_fields_json(json_object *o, const struct vqt_event *e, uint64_t ts_hz)
{
	struct vqp_event_field f[VQP_EVENT_FIELDS_MAX];
	size_t n = vqp_event_fields(e, ts_hz, f);

	for (size_t i = 0; i < n; i++) {
		char key[32];

		snprintf(key, sizeof(key), "%s%s%s", f[i].name, f[i].unit ? "_" : "",
			 f[i].unit ? f[i].unit : "");
		json_object_object_add(o, key,
				       f[i].text ? json_object_new_string(f[i].text)
						 : json_object_new_uint64(f[i].value));
	}
}
