/* metrics.c - the model as Prometheus text or OpenMetrics (see metrics.h).
 *
 * Both formats are lines of `name{labels} value` grouped by metric
 * family, each family after its # HELP and # TYPE lines.  They differ in
 * a few places, all handled here:
 *   - a counter's TYPE line names the family with _total in the
 *     Prometheus format and without it in OpenMetrics (whose samples
 *     still end in _total);
 *   - OpenMetrics has # UNIT lines and ends with # EOF.
 * Numbers are printed exactly: counts as integers, seconds as
 * nanoseconds with the decimal point moved ("12.000345678").
 *
 * Label values come from the command line (vm) and from the guest (queue
 * names), so they are escaped (\\, \", \n) and anything that is not
 * printable UTF-8 becomes '?': an exposition must be valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"

/* ---- content negotiation ---------------------------------------------------------------- */

/* Skip blanks. */
static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Does the span [p, end) equal word, ignoring case? */
static bool span_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* The q parameter of a media range's parameters [p, end); 1 without one. */
static double media_quality(const char *p, const char *end)
{
	double q = 1;

	while (p < end) {
		const char *next = memchr(p, ';', (size_t)(end - p));

		if (!next)
			next = end;
		p = skip_space(p);
		if (next - p > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char num[16];
			size_t n = (size_t)(next - p - 2);
			char *stop;

			if (n >= sizeof(num))
				n = sizeof(num) - 1;
			memcpy(num, p + 2, n);
			num[n] = 0;
			q = strtod(num, &stop);
			if (stop == num || q < 0 || q > 1)
				q = 0; /* malformed: treat as not acceptable */
		}
		p = next + 1;
	}
	return q;
}

enum metrics_format metrics_negotiate(const char *accept)
{
	double openmetrics = 0, text = 0;

	if (!accept)
		return METRICS_PROMETHEUS;
	for (const char *p = accept; *p;) {
		const char *end = strchr(p, ',');
		const char *type, *type_end;
		double q;

		if (!end)
			end = p + strlen(p);
		type = skip_space(p);
		type_end = type;
		while (type_end < end && *type_end != ';' && *type_end != ' ' && *type_end != '\t')
			type_end++;
		q = media_quality(type_end, end);
		if (span_is(type, type_end, "application/openmetrics-text")) {
			if (q > openmetrics)
				openmetrics = q;
		} else if (span_is(type, type_end, "text/plain") ||
			   span_is(type, type_end, "text/*") || span_is(type, type_end, "*/*")) {
			if (q > text)
				text = q;
		}
		p = *end ? end + 1 : end;
	}
	return openmetrics > 0 && openmetrics >= text ? METRICS_OPENMETRICS : METRICS_PROMETHEUS;
}

const char *metrics_content_type(enum metrics_format f)
{
	return f == METRICS_OPENMETRICS
		   ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		   : "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- label values -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one
 * (bad lead or continuation byte, overlong form, surrogate, > U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Append v as the inside of a quoted label value. */
static void put_label_value(struct text *t, const char *v)
{
	char buf[256];
	size_t n = 0;
	const unsigned char *s = (const unsigned char *)v;

	while (*s) {
		size_t len = 1;

		if (n + 4 > sizeof(buf)) {
			text_printf(t, "%.*s", (int)n, buf);
			n = 0;
		}
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = (char)*s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (*s >= 0x20 && *s < 0x7f) {
			buf[n++] = (char)*s;
		} else if (*s >= 0x80 && (len = utf8_sequence(s)) != 0) {
			memcpy(buf + n, s, len);
			n += len;
		} else {
			len = 1;
			buf[n++] = '?';
		}
		s += len;
	}
	text_printf(t, "%.*s", (int)n, buf);
}

/* ---- families -------------------------------------------------------------------------------- */

enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM };

struct family {
	const char *name; /* without _total */
	enum family_type type;
	const char *unit; /* OpenMetrics UNIT, or NULL */
	const char *help;
};

static void family_header(struct text *t, enum metrics_format f, const struct family *fam)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	const char *total = fam->type == FAMILY_COUNTER && f == METRICS_PROMETHEUS ? "_total" : "";

	text_printf(t, "# HELP %s%s %s\n", fam->name, total, fam->help);
	text_printf(t, "# TYPE %s%s %s\n", fam->name, total, types[fam->type]);
	if (f == METRICS_OPENMETRICS && fam->unit)
		text_printf(t, "# UNIT %s %s\n", fam->name, fam->unit);
}

/* Seconds, exactly, from nanoseconds. */
static void put_seconds(struct text *t, uint64_t ns)
{
	text_printf(t, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
		    (unsigned long long)(ns % 1000000000u));
}

/* The per-queue counters, in the order of enum model_counter. */
_Static_assert(MC_COUNT == 14, "a new model counter needs its family in queue_counters");
static const struct family queue_counters[MC_COUNT] = {
    [MC_ADDS] = {"vqscope_queue_adds", FAMILY_COUNTER, NULL,
		 "Buffers the driver made available (ADD events, virtio 1.2, 2.7.13)."},
    [MC_DESCS] = {"vqscope_queue_descriptors", FAMILY_COUNTER, NULL,
		  "Descriptors in the chains the driver made available."},
    [MC_BYTES] = {"vqscope_queue_added_bytes", FAMILY_COUNTER, "bytes",
		  "Bytes in the buffers the driver made available."},
    [MC_KICKS] = {"vqscope_queue_kicks", FAMILY_COUNTER, NULL,
		  "Notifications the driver sent to the device (virtio 1.2, 2.7.13.4)."},
    [MC_KICKS_SUPPRESSED] = {"vqscope_queue_kicks_suppressed", FAMILY_COUNTER, NULL,
			     "Notifications the driver left out because the device asked it to "
			     "(virtio 1.2, 2.7.10)."},
    [MC_IRQS] = {"vqscope_queue_interrupts", FAMILY_COUNTER, NULL,
		 "Used buffer notifications (interrupts) the driver handled."},
    [MC_POLLS] = {"vqscope_queue_polls", FAMILY_COUNTER, NULL,
		  "Times the driver polled the used ring."},
    [MC_SPINS] = {"vqscope_queue_poll_spins", FAMILY_COUNTER, NULL,
		  "Spins of the driver's polling loops."},
    [MC_BARRIERS] = {"vqscope_queue_barriers", FAMILY_COUNTER, NULL,
		     "Memory barriers the driver executed while polling."},
    [MC_COMPLETIONS] =
	{"vqscope_queue_completions", FAMILY_COUNTER, NULL,
	 "Buffers the driver took back from the used ring (USED events, virtio 1.2, 2.7.14)."},
    [MC_POLL_TIMEOUTS] = {"vqscope_queue_poll_timeouts", FAMILY_COUNTER, NULL,
			  "Polls that gave up without a used buffer."},
    [MC_USED_BYTES] = {"vqscope_queue_used_bytes", FAMILY_COUNTER, "bytes",
		       "Bytes the device reported written in used ring elements."},
    [MC_ERRORS] = {"vqscope_queue_errors", FAMILY_COUNTER, NULL,
		   "Errors the driver reported on this queue (ERROR events)."},
    [MC_STALLS] = {"vqscope_queue_stalls", FAMILY_COUNTER, NULL,
		   "Commands slower than the stall threshold."},
};

/* The per-source metrics. */
enum source_metric {
	SM_EVENTS,
	SM_LOST,
	SM_VIOLATIONS,
	SM_RESYNCS,
	SM_FRAMES,
	SM_FRAME_STALLS,
	SM_COUNT
};

static const struct family source_counters[SM_COUNT] = {
    [SM_EVENTS] = {"vqscope_events", FAMILY_COUNTER, NULL,
		   "Trace records read from the VM's trace region."},
    [SM_LOST] = {"vqscope_lost_records", FAMILY_COUNTER, NULL,
		 "Trace records the producer overwrote before vqscope read them."},
    [SM_VIOLATIONS] = {"vqscope_violations", FAMILY_COUNTER, NULL,
		       "Protocol violations: trace region contents that break its format."},
    [SM_RESYNCS] = {"vqscope_resyncs", FAMILY_COUNTER, NULL,
		    "Producer restarts (guest reboots, VM restarts) followed; counters carry on "
		    "across them."},
    [SM_FRAMES] = {"vqscope_frames", FAMILY_COUNTER, NULL,
		   "Frames the driver completed (FRAME events)."},
    [SM_FRAME_STALLS] = {"vqscope_frame_stalls", FAMILY_COUNTER, NULL,
			 "Frames slower than the stall threshold."},
};

static uint64_t source_value(const struct vq_model *m, enum source_metric k)
{
	switch (k) {
	case SM_EVENTS:
		return m->events;
	case SM_LOST:
		return m->lost;
	case SM_VIOLATIONS:
		return m->violations;
	case SM_RESYNCS:
		return m->resyncs;
	case SM_FRAMES:
		return m->frames_total;
	case SM_FRAME_STALLS:
		return m->frame_stalls;
	case SM_COUNT:
		break;
	}
	return 0;
}

static const struct family fam_up = {
    "vqscope_up", FAMILY_GAUGE, NULL,
    "1 while vqscope is attached to the VM's QMP socket, 0 while it is down and retried."};
static const struct family fam_region_ready = {
    "vqscope_region_ready", FAMILY_GAUGE, NULL,
    "1 once the VM's trace region has a producer (guest library or vqscope-trace); queue "
    "metrics need one."};
static const struct family fam_running = {
    "vqscope_vm_running", FAMILY_GAUGE, NULL,
    "1 while the VM runs, 0 while it is paused (QMP stop) or its state is unknown."};
static const struct family fam_frame_time = {
    "vqscope_frame_time_seconds", FAMILY_COUNTER, "seconds",
    "Time of completed frame periods by cause: log (writing log output), device (buffers "
    "in flight), polling (polling with nothing in flight), other (driver work)."};
static const struct family fam_ring_size = {"vqscope_queue_ring_size", FAMILY_GAUGE, NULL,
					    "Descriptors in the queue's ring."};
static const struct family fam_in_flight = {
    "vqscope_queue_in_flight", FAMILY_GAUGE, NULL,
    "Buffers made available and not yet taken back from the used ring."};
static const struct family fam_posted = {
    "vqscope_queue_posted_buffers", FAMILY_GAUGE, NULL,
    "Buffers a receive queue holds posted for the device to fill (kind=\"receive\" only)."};
static const struct family fam_anomalies = {
    "vqscope_queue_anomalies", FAMILY_COUNTER, NULL,
    "Events that contradicted the queue's state (a USED for a buffer not in flight, ...)."};
static const struct family fam_findings = {
    "vqscope_findings", FAMILY_COUNTER, NULL,
    "Findings of the diagnosis by code (docs/diagnosis.md): times each was seen; queue and "
    "slot are empty for findings about the session."};
static const struct family fam_finding_active = {
    "vqscope_finding_active", FAMILY_GAUGE, NULL,
    "1 while a finding still held at the last check, 0 once it no longer does (a stuck queue "
    "that moves again)."};
static const struct family fam_latency = {
    "vqscope_queue_command_latency_seconds", FAMILY_HISTOGRAM, "seconds",
    "Time from a buffer's ADD to its USED, in power-of-two buckets of the model's histogram."};
static const struct family fam_fill_time = {
    "vqscope_queue_fill_time_seconds", FAMILY_HISTOGRAM, "seconds",
    "Time a receive queue's buffer waited from its ADD until the device filled it (USED), "
    "in power-of-two buckets (kind=\"receive\" only)."};

/* ---- rendering
 * ----------------------------------------------------------------------------------- */

/* The queues a target reports: every slot that was ever registered or
 * used, gone ones included, so their counters stay continuous. */
static bool queue_listed(const struct model_queue *q)
{
	return q->active || q->gone || q->count[MC_ADDS];
}

/* A queue the driver keeps posted with device-writable buffers for the
 * device to fill when something arrives (virtio-net receiveq, an input
 * eventq), as its queue table says. */
static bool queue_receives(const struct model_queue *q)
{
	return q->flags & VQT_QF_RECEIVE;
}

/* The kind label: "receive", or "request" for a queue whose buffers are
 * commands the driver waits on. */
static const char *queue_kind(const struct model_queue *q)
{
	return queue_receives(q) ? "receive" : "request";
}

/* Label sets, escaped once per render. */
struct render {
	struct text *t;
	enum metrics_format f;
	const struct metrics_target *targets;
	size_t n;
	struct text *vm_labels;	   /* per target: vm="..." */
	struct text *queue_labels; /* per target and slot: vm=...,queue=...,slot=...,kind=... */
};

static const char *queue_labels(const struct render *r, size_t i, unsigned slot)
{
	return text_str(&r->queue_labels[i * MODEL_QUEUES + slot]);
}

static bool target_has_data(const struct metrics_target *tg)
{
	return tg->up && tg->m;
}

static void build_labels(struct render *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct metrics_target *tg = &r->targets[i];
		struct text *vm = &r->vm_labels[i];

		text_printf(vm, "vm=\"");
		put_label_value(vm, tg->vm ? tg->vm : "");
		text_printf(vm, "\"");
		if (!target_has_data(tg))
			continue;
		for (unsigned s = 0; s < MODEL_QUEUES; s++) {
			const struct model_queue *q = &tg->m->queues[s];
			struct text *l = &r->queue_labels[i * MODEL_QUEUES + s];

			if (!queue_listed(q))
				continue;
			text_printf(l, "%s,queue=\"", text_str(vm));
			put_label_value(l, q->name);
			text_printf(l, "\",slot=\"%u\",kind=\"%s\"", s, queue_kind(q));
			if (l->failed)
				r->t->failed = true;
		}
		if (vm->failed)
			r->t->failed = true;
	}
}

/* One u64 sample per queue of every target with data (only those that
 * `only` accepts, unless it is NULL), for a queue family whose value comes
 * from value(q, arg). */
static void queue_family(const struct render *r, const struct family *fam,
			 uint64_t (*value)(const struct model_queue *q, int arg), int arg,
			 bool (*only)(const struct model_queue *q))
{
	const char *suffix = fam->type == FAMILY_COUNTER ? "_total" : "";

	family_header(r->t, r->f, fam);
	for (size_t i = 0; i < r->n; i++) {
		if (!target_has_data(&r->targets[i]))
			continue;
		for (unsigned s = 0; s < MODEL_QUEUES; s++) {
			const struct model_queue *q = &r->targets[i].m->queues[s];

			if (queue_listed(q) && (!only || only(q)))
				text_printf(r->t, "%s%s{%s} %llu\n", fam->name, suffix,
					    queue_labels(r, i, s),
					    (unsigned long long)value(q, arg));
		}
	}
}

static uint64_t queue_counter(const struct model_queue *q, int c)
{
	return q->count[c];
}

static uint64_t queue_ring_size(const struct model_queue *q, int unused)
{
	(void)unused;
	return q->ring_size;
}

static uint64_t queue_in_flight(const struct model_queue *q, int unused)
{
	(void)unused;
	return q->in_flight;
}

static uint64_t queue_anomalies(const struct model_queue *q, int unused)
{
	(void)unused;
	return q->anomalies;
}

/* The histogram a family shows of queue q, or NULL when q has none. */
typedef const struct latency_hist *(*hist_of_queue)(const struct model_queue *q);

static const struct latency_hist *command_latency(const struct model_queue *q)
{
	return &q->latency;
}

static const struct latency_hist *fill_time(const struct model_queue *q)
{
	return queue_receives(q) ? &q->fill_time : NULL;
}

/* A histogram family from the model's histograms, one per queue. */
static void histogram_family(const struct render *r, const struct family *fam,
			     hist_of_queue hist_of)
{
	family_header(r->t, r->f, fam);
	for (size_t i = 0; i < r->n; i++) {
		if (!target_has_data(&r->targets[i]))
			continue;
		for (unsigned s = 0; s < MODEL_QUEUES; s++) {
			const struct model_queue *q = &r->targets[i].m->queues[s];
			const struct latency_hist *h = hist_of(q);
			const char *labels = queue_labels(r, i, s);
			uint64_t log2[64], cumulative = 0;

			if (!queue_listed(q) || !h)
				continue;
			hist_log2(h, log2);
			for (unsigned k = 0; k <= METRICS_LATENCY_LOW_LOG2; k++)
				cumulative += log2[k];
			for (unsigned b = 0; b < METRICS_LATENCY_BOUNDS; b++) {
				unsigned k = METRICS_LATENCY_LOW_LOG2 + b;

				if (b)
					cumulative += log2[k];
				/* log2[0..k] hold exactly the values below 2^(k+1). */
				text_printf(r->t, "%s_bucket{%s,le=\"", fam->name, labels);
				put_seconds(r->t, (1ull << (k + 1)) - 1);
				text_printf(r->t, "\"} %llu\n", (unsigned long long)cumulative);
			}
			text_printf(r->t, "%s_bucket{%s,le=\"+Inf\"} %llu\n", fam->name, labels,
				    (unsigned long long)h->count);
			text_printf(r->t, "%s_sum{%s} ", fam->name, labels);
			put_seconds(r->t, h->sum_ns);
			text_printf(r->t, "\n%s_count{%s} %llu\n", fam->name, labels,
				    (unsigned long long)h->count);
		}
	}
}

static void source_families(const struct render *r)
{
	family_header(r->t, r->f, &fam_up);
	for (size_t i = 0; i < r->n; i++)
		text_printf(r->t, "vqscope_up{%s} %d\n", text_str(&r->vm_labels[i]),
			    r->targets[i].up ? 1 : 0);
	family_header(r->t, r->f, &fam_region_ready);
	for (size_t i = 0; i < r->n; i++)
		if (r->targets[i].up)
			text_printf(r->t, "vqscope_region_ready{%s} %d\n",
				    text_str(&r->vm_labels[i]), r->targets[i].region_ready ? 1 : 0);
	family_header(r->t, r->f, &fam_running);
	for (size_t i = 0; i < r->n; i++)
		if (r->targets[i].up)
			text_printf(r->t, "vqscope_vm_running{%s} %d\n", text_str(&r->vm_labels[i]),
				    r->targets[i].running ? 1 : 0);
	for (int k = 0; k < SM_COUNT; k++) {
		family_header(r->t, r->f, &source_counters[k]);
		for (size_t i = 0; i < r->n; i++)
			if (target_has_data(&r->targets[i]))
				text_printf(r->t, "%s_total{%s} %llu\n", source_counters[k].name,
					    text_str(&r->vm_labels[i]),
					    (unsigned long long)source_value(
						r->targets[i].m, (enum source_metric)k));
	}
	family_header(r->t, r->f, &fam_frame_time);
	for (size_t i = 0; i < r->n; i++) {
		if (!target_has_data(&r->targets[i]))
			continue;
		for (int c = 0; c < ATTR_COUNT; c++) {
			text_printf(r->t, "%s_total{%s,cause=\"%s\"} ", fam_frame_time.name,
				    text_str(&r->vm_labels[i]), attr_name((enum attr_cat)c));
			put_seconds(r->t, r->targets[i].m->frames_attr.ns[c]);
			text_printf(r->t, "\n");
		}
	}
}

/* The labels of finding f of target i: vm, code, severity, queue, slot. */
static void finding_labels(struct text *l, const struct render *r, size_t i,
			   const struct finding *f)
{
	text_printf(l, "%s,code=\"%s\",severity=\"%s\",queue=\"", text_str(&r->vm_labels[i]),
		    finding_info(f->code)->name, severity_name(f->severity));
	if (f->queue >= 0)
		put_label_value(l, f->queue_name);
	text_printf(l, "\",slot=\"");
	if (f->queue >= 0)
		text_printf(l, "%d", f->queue);
	text_printf(l, "\"");
}

/* The findings of the diagnosis, one series per code and queue. */
static void findings_families(const struct render *r)
{
	for (int active = 0; active < 2; active++) {
		const struct family *fam = active ? &fam_finding_active : &fam_findings;

		family_header(r->t, r->f, fam);
		for (size_t i = 0; i < r->n; i++) {
			if (!target_has_data(&r->targets[i]))
				continue;
			for (size_t k = 0; k < r->targets[i].m->nfindings; k++) {
				const struct finding *f = &r->targets[i].m->findings[k];
				struct text l = {0};

				finding_labels(&l, r, i, f);
				if (l.failed)
					r->t->failed = true;
				text_printf(r->t, "%s%s{%s} %llu\n", fam->name,
					    active ? "" : "_total", text_str(&l),
					    (unsigned long long)(active ? f->active : f->count));
				text_free(&l);
			}
		}
	}
}

void metrics_render(struct text *t, enum metrics_format f, const struct metrics_target *targets,
		    size_t n)
{
	struct render r = {.t = t, .f = f, .targets = targets, .n = n};

	r.vm_labels = calloc(n ? n : 1, sizeof(*r.vm_labels));
	r.queue_labels = calloc((n ? n : 1) * MODEL_QUEUES, sizeof(*r.queue_labels));
	if (!r.vm_labels || !r.queue_labels) {
		t->failed = true;
		goto out;
	}
	build_labels(&r);
	source_families(&r);
	queue_family(&r, &fam_ring_size, queue_ring_size, 0, NULL);
	queue_family(&r, &fam_in_flight, queue_in_flight, 0, NULL);
	/* A receive queue's buffers in flight are the ones posted to it. */
	queue_family(&r, &fam_posted, queue_in_flight, 0, queue_receives);
	for (int c = 0; c < MC_COUNT; c++)
		queue_family(&r, &queue_counters[c], queue_counter, c, NULL);
	queue_family(&r, &fam_anomalies, queue_anomalies, 0, NULL);
	histogram_family(&r, &fam_latency, command_latency);
	histogram_family(&r, &fam_fill_time, fill_time);
	findings_families(&r);
	if (f == METRICS_OPENMETRICS)
		text_printf(t, "# EOF\n");
out:
	if (r.queue_labels)
		for (size_t i = 0; i < n * MODEL_QUEUES; i++)
			text_free(&r.queue_labels[i]);
	if (r.vm_labels)
		for (size_t i = 0; i < n; i++)
			text_free(&r.vm_labels[i]);
	free(r.queue_labels);
	free(r.vm_labels);
}
