/* cmd_export.c - vqscope export: a recording as a Chrome Trace Event
 * Format file (JSON object form) that Perfetto UI and chrome://tracing
 * open.
 *
 * Tracks (threads of one process):
 *   tid 1            "frames": a slice per frame period ("frame N", from one
 *                    FRAME_BEGIN to the next, args with the attribution
 *                    split) with a nested "active" slice (FRAME_BEGIN to
 *                    FRAME_END)
 *   tid 2            "log": a slice per LOG event (its duration, ending at
 *                    the event)
 *   tid 3            "annotations": MARK and queue-less ERROR instants,
 *                    lost records, generation changes
 *   tid (slot+1)*100000 + lane
 *                    one track per queue: a slice per command, ADD to USED
 *                    ("head 5"), KICK / KICK_SUPPRESSED / IRQ / CB / QUEUE /
 *                    ERROR instants.  Slices on one track must nest, so a
 *                    command that starts while another is in flight goes on
 *                    the next free lane, a track of its own named
 *                    "NAME [2]"; a queue with one command at a time has one
 *                    track.  Findings (vqscope doctor) are instants named by
 *                    their code ("MISSED-NOTIFY", category "finding") on the
 *                    queue's first track, when first seen.
 * and counter tracks "NAME in flight" and "NAME poll" (spins and barriers
 * of each POLL).
 *
 * Commands are paired ADD -> USED here, walking the events in order, per
 * queue and head.  Lost records, a new generation and a QUEUE event break
 * the pairs that were open (a slice is never guessed); a USED with no ADD,
 * an ADD on a head that is already in flight, and commands still in flight
 * at the end get no slice.  All of these are counted in otherData.
 *
 * The output is streamed: each event is serialised on its own with json-c
 * and written at once, so a recording of any length needs little memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json_out.h"
#include "live/walk.h"

static const char help[] =
    "usage: vqscope export --format chrome [OPTIONS] FILE.vqt\n"
    "\n"
    "Convert a recording to the Trace Event Format (JSON) that Perfetto UI\n"
    "(ui.perfetto.dev) and chrome://tracing open: one track per queue with a\n"
    "slice per command (ADD to USED) and instants for kicks and interrupts,\n"
    "counter tracks for commands in flight and for spins and barriers per\n"
    "poll, a frames track with a slice per frame and where its time went, a\n"
    "log track, and marks, errors, lost records and findings (as vqscope\n"
    "doctor names them) as instants.  Commands whose ADD or USED was lost,\n"
    "and commands still in flight at the end, get no slice; they are counted\n"
    "in otherData and in the summary on stderr.\n"
    "Times are microseconds since the session start, as in vqscope report.\n"
    "\n"
    "  -f, --format FORMAT  output format; only 'chrome' (the default)\n"
    "  -o, --output FILE    write to FILE instead of standard output; an existing\n"
    "                       FILE is refused unless --force\n"
    "      --force          replace FILE (a symbolic link is replaced, not followed)\n"
    "      --salvage        read past damaged chunks instead of failing\n"
    "  -q, --quiet          no summary on stderr\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 written, 1 error (bad or damaged recording, cannot\n"
    "write), 2 bad usage.\n";

enum { TID_FRAMES = 1, TID_LOG = 2, TID_ANNOTATIONS = 3, TID_QUEUE_BASE = 100000 };

struct pending_command {
	bool open;
	uint32_t lane;
	uint64_t add_ns, add_seq;
	struct vqt_event add;
};

struct export_queue {
	struct pending_command *heads; /* 65536, allocated at the first ADD */
	bool *lane_busy;
	bool *lane_named;
	uint32_t nlanes, lanes_cap;
	uint32_t in_flight;
	uint64_t slices;
};

struct export
{
	FILE *out;
	bool first;
	bool failed; /* out of memory or a write error */
	char failure[128];
	uint32_t generation;
	bool have_generation;
	bool named[TID_ANNOTATIONS + 1];
	struct export_queue queues[MODEL_QUEUES];
	/* Totals for otherData and the summary. */
	uint64_t written, slices, frames, logs, findings;
	uint64_t fills;		 /* receive queues' slices (time to fill) */
	uint64_t posted_before;	 /* USEDs of buffers posted before tracing */
	uint64_t unmatched_used; /* USED of a head with no open ADD */
	uint64_t unmatched_add;	 /* ADD of a head that was still open */
	uint64_t broken;	 /* open commands dropped by loss, generation, QUEUE */
	uint64_t unfinished;	 /* open at the end */
};

/* ---- writing ------------------------------------------------------------------------ */

static void fail(struct export *x, const char *why)
{
	if (!x->failed)
		snprintf(x->failure, sizeof(x->failure), "%s", why);
	x->failed = true;
}

static void emit(struct export *x, json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!text)
		fail(x, "out of memory");
	else if (fprintf(x->out, "%s%s", x->first ? "" : ",\n", text) < 0)
		fail(x, strerror(errno));
	x->first = false;
	x->written++;
	json_object_put(o);
}

/* Microseconds with nanosecond digits, exactly ("1234.567"). */
static json_object *micros(uint64_t ns)
{
	char text[40];

	snprintf(text, sizeof(text), "%llu.%03llu", (unsigned long long)(ns / 1000),
		 (unsigned long long)(ns % 1000));
	return json_object_new_double_s((double)ns / 1e3, text);
}

static json_object *trace_event(const char *ph, const char *name, int64_t tid, uint64_t at_ns)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "ph", json_object_new_string(ph));
	json_object_object_add(o, "pid", json_object_new_int(1));
	json_object_object_add(o, "tid", json_object_new_int64(tid));
	json_object_object_add(o, "ts", micros(at_ns));
	return o;
}

static json_object *args_of(json_object *o)
{
	json_object *args = json_object_new_object();

	json_object_object_add(o, "args", args);
	return args;
}

static void metadata(struct export *x, const char *what, int64_t tid, const char *key,
		     json_object *value)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(what));
	json_object_object_add(o, "ph", json_object_new_string("M"));
	json_object_object_add(o, "pid", json_object_new_int(1));
	if (tid >= 0)
		json_object_object_add(o, "tid", json_object_new_int64(tid));
	json_object_object_add(args_of(o), key, value);
	emit(x, o);
}

static void name_thread(struct export *x, int64_t tid, const char *name)
{
	metadata(x, "thread_name", tid, "name", json_object_new_string(name));
	metadata(x, "thread_sort_index", tid, "sort_index", json_object_new_int64(tid));
}

static int64_t fixed_track(struct export *x, int tid)
{
	static const char *const names[] = {NULL, "frames", "log", "annotations"};

	if (!x->named[tid]) {
		x->named[tid] = true;
		name_thread(x, tid, names[tid]);
	}
	return tid;
}

static void queue_label(char *buf, size_t len, const struct walk *w, unsigned slot)
{
	const char *name = walk_queue_name(w, slot);

	if (name[0])
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "queue %u", slot);
}

/* The track of a queue's lane, named when first used. */
static int64_t queue_track(struct export *x, const struct walk *w, unsigned slot, uint32_t lane)
{
	struct export_queue *q = &x->queues[slot];
	int64_t tid = (int64_t)(slot + 1) * TID_QUEUE_BASE + lane;

	if (lane < q->nlanes && !q->lane_named[lane]) {
		char label[VQT_QUEUE_NAME_LEN + 16], name[VQT_QUEUE_NAME_LEN + 32];

		q->lane_named[lane] = true;
		queue_label(label, sizeof(label), w, slot);
		if (lane)
			snprintf(name, sizeof(name), "%s [%u]", label, lane + 1);
		else
			snprintf(name, sizeof(name), "%s", label);
		name_thread(x, tid, name);
	}
	return tid;
}

/* ---- commands -------------------------------------------------------------------------- */

static bool queue_grow_lanes(struct export_queue *q, uint32_t want)
{
	uint32_t cap = q->lanes_cap ? q->lanes_cap : 4;
	bool *busy, *named;

	if (want <= q->lanes_cap)
		return true;
	while (cap < want)
		cap *= 2;
	busy = realloc(q->lane_busy, cap * sizeof(*busy));
	if (!busy)
		return false;
	q->lane_busy = busy;
	named = realloc(q->lane_named, cap * sizeof(*named));
	if (!named)
		return false;
	q->lane_named = named;
	memset(q->lane_busy + q->lanes_cap, 0, (cap - q->lanes_cap) * sizeof(*busy));
	memset(q->lane_named + q->lanes_cap, 0, (cap - q->lanes_cap) * sizeof(*named));
	q->lanes_cap = cap;
	return true;
}

/* Lane 0 always exists, so a queue has a track for its instants. */
static bool queue_ready(struct export *x, struct export_queue *q)
{
	if (!q->nlanes) {
		if (!queue_grow_lanes(q, 1)) {
			fail(x, "out of memory");
			return false;
		}
		q->nlanes = 1;
	}
	return true;
}

static void in_flight_counter(struct export *x, const struct walk *w, unsigned slot, uint64_t at_ns)
{
	char label[VQT_QUEUE_NAME_LEN + 16], name[VQT_QUEUE_NAME_LEN + 32];
	json_object *o;

	queue_label(label, sizeof(label), w, slot);
	snprintf(name, sizeof(name), "%s in flight", label);
	o = trace_event("C", name, 0, at_ns);
	json_object_object_del(o, "tid");
	json_add_u64(args_of(o), "in_flight", x->queues[slot].in_flight);
	emit(x, o);
}

/* Open commands that can no longer be paired (their USED or a later ADD
 * of the same head may be among lost records). */
static void break_pairs(struct export *x, const struct walk *w, unsigned slot, uint64_t at_ns)
{
	struct export_queue *q = &x->queues[slot];

	if (!q->heads || !q->in_flight)
		return;
	for (uint32_t h = 0; h < 65536; h++)
		if (q->heads[h].open) {
			q->heads[h].open = false;
			x->broken++;
		}
	memset(q->lane_busy, 0, q->lanes_cap * sizeof(*q->lane_busy));
	q->in_flight = 0;
	in_flight_counter(x, w, slot, at_ns);
}

static void break_all_pairs(struct export *x, const struct walk *w, uint64_t at_ns)
{
	for (unsigned s = 0; s < MODEL_QUEUES; s++)
		break_pairs(x, w, s, at_ns);
}

static void on_add(struct export *x, const struct walk *w, const struct model_history_entry *h)
{
	unsigned slot = h->ev.queue;
	struct export_queue *q = &x->queues[slot];
	struct pending_command *p;
	uint32_t lane = 0;

	if (!q->heads && !(q->heads = calloc(65536, sizeof(*q->heads)))) {
		fail(x, "out of memory");
		return;
	}
	p = &q->heads[h->ev.head];
	if (p->open) {
		/* The earlier ADD of this head never completed that we saw. */
		x->unmatched_add++;
		q->lane_busy[p->lane] = false;
		q->in_flight--;
	}
	while (lane < q->nlanes && q->lane_busy[lane])
		lane++;
	if (lane == q->nlanes) {
		if (!queue_grow_lanes(q, lane + 1)) {
			fail(x, "out of memory");
			return;
		}
		q->nlanes = lane + 1;
	}
	q->lane_busy[lane] = true;
	*p = (struct pending_command){
	    .open = true, .lane = lane, .add_ns = h->at_ns, .add_seq = h->seq, .add = h->ev};
	q->in_flight++;
	in_flight_counter(x, w, slot, h->at_ns);
}

/* 2.7.14: the driver reaped the used element for head: the command's slice,
 * or on a receive queue the buffer's time to fill (cat "fill"). */
static void on_used(struct export *x, const struct walk *w, const struct model_history_entry *h)
{
	unsigned slot = h->ev.queue;
	struct export_queue *q = &x->queues[slot];
	struct pending_command *p = q->heads ? &q->heads[h->ev.head] : NULL;
	json_object *o, *args;
	char name[32];
	bool fill = model_queue_receives(&w->m->queues[slot]);

	if (!p || !p->open) {
		x->unmatched_used++;
		return;
	}
	p->open = false;
	q->lane_busy[p->lane] = false;
	q->in_flight--;
	snprintf(name, sizeof(name), "head %u", h->ev.head);
	o = trace_event("X", name, queue_track(x, w, slot, p->lane), p->add_ns);
	json_object_object_add(o, "cat", json_object_new_string(fill ? "fill" : "command"));
	json_object_object_add(o, "dur", micros(h->at_ns - p->add_ns));
	args = args_of(o);
	json_add_u64(args, "head", h->ev.head);
	json_add_u64(args, "ndesc", p->add.ndesc);
	json_add_u64(args, "bytes", p->add.len);
	json_add_u64(args, "writable", p->add.arg);
	json_add_u64(args, "written", h->ev.len);
	json_add_u64(args, "avail_idx", p->add.ring_idx);
	json_add_u64(args, "used_idx", h->ev.ring_idx);
	json_add_u64(args, fill ? "time_to_fill_ns" : "latency_ns", h->at_ns - p->add_ns);
	json_add_u64(args, "generation", h->generation);
	json_add_u64(args, "add_seq", p->add_seq);
	json_add_u64(args, "used_seq", h->seq);
	emit(x, o);
	if (fill)
		x->fills++;
	else
		x->slices++;
	q->slices++;
	in_flight_counter(x, w, slot, h->at_ns);
}

/* ---- walk handlers ---------------------------------------------------------------------- */

static void instant(struct export *x, const char *name, int64_t tid, uint64_t at_ns,
		    const struct walk *w, const struct model_history_entry *h)
{
	json_object *o = trace_event("i", name, tid, at_ns);

	json_object_object_add(o, "s", json_object_new_string("t"));
	if (h) {
		json_object *args = args_of(o);

		event_fields_json(args, &h->ev, w->m->ts_hz);
		json_add_u64(args, "seq", h->seq);
	}
	emit(x, o);
}

static void new_generation(struct export *x, const struct walk *w, uint32_t generation,
			   uint64_t at_ns)
{
	char name[48];
	json_object *o;

	if (x->have_generation && generation != x->generation) {
		/* The producer restarted: nothing open before can complete. */
		break_all_pairs(x, w, at_ns);
		snprintf(name, sizeof(name), "generation %u", generation);
		o = trace_event("i", name, fixed_track(x, TID_ANNOTATIONS), at_ns);
		json_object_object_add(o, "s", json_object_new_string("g"));
		emit(x, o);
	}
	x->generation = generation;
	x->have_generation = true;
}

static bool on_event(void *ctx, const struct walk *w, const struct model_history_entry *h)
{
	struct export *x = ctx;
	const struct vqt_event *e = &h->ev;
	unsigned slot = e->queue;
	json_object *o, *args;
	uint64_t dur;

	new_generation(x, w, h->generation, h->at_ns);
	if (slot < MODEL_QUEUES && !queue_ready(x, &x->queues[slot]))
		return false;
	switch (e->type) {
	case VQT_EV_ADD:
		on_add(x, w, h);
		break;
	case VQT_EV_USED:
		on_used(x, w, h);
		break;
	case VQT_EV_QUEUE:
		/* Registered again or torn down: a new ring. */
		break_pairs(x, w, slot, h->at_ns);
		/* fall through */
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED:
	case VQT_EV_IRQ:
	case VQT_EV_CB:
		instant(x, vqp_event_type_name(e->type), queue_track(x, w, slot, 0), h->at_ns, w,
			h);
		break;
	case VQT_EV_POLL: {
		char label[VQT_QUEUE_NAME_LEN + 16], name[VQT_QUEUE_NAME_LEN + 32];

		queue_label(label, sizeof(label), w, slot);
		snprintf(name, sizeof(name), "%s poll", label);
		o = trace_event("C", name, 0, h->at_ns);
		json_object_object_del(o, "tid");
		args = args_of(o);
		json_add_u64(args, "spins", e->len);
		json_add_u64(args, "barriers", e->barriers);
		emit(x, o);
		break;
	}
	case VQT_EV_LOG:
		/* The write ended at the event and took dur (as the model has it). */
		dur = vqp_ticks_to_ns(e->arg, w->m->ts_hz);
		if (dur > h->at_ns)
			dur = h->at_ns;
		o = trace_event("X", "log", fixed_track(x, TID_LOG), h->at_ns - dur);
		json_object_object_add(o, "cat", json_object_new_string("log"));
		json_object_object_add(o, "dur", micros(dur));
		args = args_of(o);
		event_fields_json(args, e, w->m->ts_hz);
		json_add_u64(args, "seq", h->seq);
		emit(x, o);
		x->logs++;
		break;
	case VQT_EV_ERROR:
		instant(x, "ERROR",
			slot < MODEL_QUEUES ? queue_track(x, w, slot, 0)
					    : fixed_track(x, TID_ANNOTATIONS),
			h->at_ns, w, h);
		break;
	case VQT_EV_MARK:
		instant(x, "MARK", fixed_track(x, TID_ANNOTATIONS), h->at_ns, w, h);
		break;
	default:
		break; /* frames come from the model, whole (on_frame) */
	}
	return !x->failed;
}

static void on_lost(void *ctx, const struct walk *w, uint64_t n)
{
	struct export *x = ctx;
	char name[48];
	json_object *o;

	break_all_pairs(x, w, w->m->now_ns);
	snprintf(name, sizeof(name), "lost %llu record%s", (unsigned long long)n,
		 n == 1 ? "" : "s");
	o = trace_event("i", name, fixed_track(x, TID_ANNOTATIONS), w->m->now_ns);
	json_object_object_add(o, "s", json_object_new_string("t"));
	json_add_u64(args_of(o), "lost", n);
	emit(x, o);
}

static void on_frame(void *ctx, const struct walk *w, const struct model_frame *f)
{
	struct export *x = ctx;
	int64_t tid = fixed_track(x, TID_FRAMES);
	json_object *o, *args;
	char name[40];

	(void)w;
	snprintf(name, sizeof(name), "frame %llu", (unsigned long long)f->number);
	o = trace_event("X", name, tid, f->begin_ns);
	json_object_object_add(o, "cat",
			       json_object_new_string(f->stall ? "frame,stall" : "frame"));
	json_object_object_add(o, "dur", micros(f->period_ns));
	args = args_of(o);
	json_add_u64(args, "frame", f->number);
	json_add_u64(args, "period_ns", f->period_ns);
	json_add_u64(args, "active_ns", f->active_ns);
	json_add_attribution(args, &f->attr);
	json_object_object_add(args, "dominant",
			       json_object_new_string(attr_name(attr_dominant(&f->attr))));
	json_add_u64(args, "commands", f->commands);
	json_add_u64(args, "polls", f->polls);
	json_add_u64(args, "spins", f->spins);
	json_add_u64(args, "barriers", f->barriers);
	json_add_u64(args, "log_bytes", f->log_bytes);
	json_object_object_add(args, "stall", json_object_new_boolean(f->stall));
	emit(x, o);
	x->frames++;
	/* FRAME_BEGIN .. FRAME_END, nested in the period. */
	if (f->end_ns >= f->begin_ns && f->active_ns && f->active_ns <= f->period_ns) {
		o = trace_event("X", "active", tid, f->begin_ns);
		json_object_object_add(o, "cat", json_object_new_string("frame"));
		json_object_object_add(o, "dur", micros(f->active_ns));
		emit(x, o);
	}
}

static void on_violations(void *ctx, const struct walk *w, uint64_t n, const char *last)
{
	struct export *x = ctx;
	char name[48];
	json_object *o;

	snprintf(name, sizeof(name), "%llu violation%s", (unsigned long long)n, n == 1 ? "" : "s");
	o = trace_event("i", name, fixed_track(x, TID_ANNOTATIONS), w->m->now_ns);
	json_object_object_add(o, "s", json_object_new_string("t"));
	json_object_object_add(args_of(o), "last", json_object_new_string(last));
	emit(x, o);
}

/* Each finding (vqscope doctor), as an instant event on its queue's
 * track at the moment it was first seen: the code as its name, the rest
 * (severity, evidence, what it means) as its args. */
static void findings(struct export *x, const struct walk *w)
{
	for (size_t i = 0; i < w->m->nfindings; i++) {
		const struct finding *f = &w->m->findings[i];
		int64_t tid = f->queue >= 0 && f->queue < (int)MODEL_QUEUES
				  ? queue_track(x, w, (unsigned)f->queue, 0)
				  : fixed_track(x, TID_ANNOTATIONS);
		json_object *o = trace_event("i", finding_info(f->code)->name, tid, f->first_ns);

		json_object_object_add(o, "cat", json_object_new_string("finding"));
		json_object_object_add(o, "s", json_object_new_string("t"));
		json_object_object_add(o, "args", finding_json(f));
		emit(x, o);
		x->findings++;
	}
}

/* ---- command ---------------------------------------------------------------------------- */

static void finish(struct export *x, const struct walk *w, const char *path)
{
	json_object *other = json_object_new_object();
	const char *text;

	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		x->unfinished += x->queues[s].in_flight;
		x->posted_before += w->m->queues[s].posted_before_tracing;
	}
	/* Buffers posted before tracing (the model tells them from
	 * anomalies) have a USED and no ADD: no slice, and not unmatched. */
	x->unmatched_used -=
	    x->posted_before < x->unmatched_used ? x->posted_before : x->unmatched_used;
	json_object_object_add(other, "source", json_object_new_string(path));
	json_object_object_add(other, "producer", json_object_new_string(w->m->producer));
	json_object_object_add(other, "exporter",
			       json_object_new_string("vqscope " VQSCOPE_VERSION));
	json_add_u64(other, "ts_hz", w->m->ts_hz);
	json_add_u64(other, "events", w->m->events);
	json_add_u64(other, "lost", w->m->lost);
	json_add_u64(other, "violations", w->m->violations);
	json_add_u64(other, "generations", w->m->resyncs + 1);
	json_add_u64(other, "command_slices", x->slices);
	json_add_u64(other, "fill_slices", x->fills);
	json_add_u64(other, "anomalies", w->m->anomalies);
	json_object_object_add(other, "last_anomaly",
			       w->m->anomalies ? json_object_new_string(w->m->last_anomaly) : NULL);
	json_add_u64(other, "unmatched_used", x->unmatched_used);
	json_add_u64(other, "posted_before_tracing", x->posted_before);
	json_add_u64(other, "unmatched_add", x->unmatched_add);
	json_add_u64(other, "broken_by_loss_or_restart", x->broken);
	json_add_u64(other, "in_flight_at_end", x->unfinished);
	json_add_u64(other, "frames", x->frames);
	json_add_u64(other, "log_slices", x->logs);
	json_add_u64(other, "findings", x->findings);
	json_object_object_add(other, "end_reason", json_object_new_string(w->src->end_reason));
	text = json_object_to_json_string_ext(other, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fprintf(x->out, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":%s}\n", text) < 0)
		fail(x, strerror(errno));
	json_object_put(other);
}

static void export_free(struct export *x)
{
	for (unsigned s = 0; s < MODEL_QUEUES; s++) {
		free(x->queues[s].heads);
		free(x->queues[s].lane_busy);
		free(x->queues[s].lane_named);
	}
	free(x);
}

struct export_args {
	struct source_opts so;
	const char *output;
	bool quiet, force;
};

static int export_option(void *ctx, int c, const char *arg)
{
	struct export_args *a = ctx;

	switch (c) {
	case 'f':
		if (strcmp(arg, "chrome") != 0) {
			cli_error("export",
				  "--format: '%s' is not supported (only 'chrome': the Trace Event "
				  "Format of Perfetto and chrome://tracing)",
				  arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'o':
		a->output = arg;
		return 0;
	case 'S':
		a->so.file_flags |= VQP_OPEN_SALVAGE;
		return 0;
	case 'F':
		a->force = true;
		return 0;
	default: /* 'q' */
		a->quiet = true;
		return 0;
	}
}

/* The summary's nouns: "1 finding", "2 findings". */
static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
						 {"output", required_argument, NULL, 'o'},
						 {"salvage", no_argument, NULL, 'S'},
						 {"quiet", no_argument, NULL, 'q'},
						 {"force", no_argument, NULL, 'F'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "export", help, "f:o:qh", longopts, 1, "recording (see vqscope export --help)"};
	static const struct walk_handlers handlers = {
	    .event = on_event, .lost = on_lost, .frame = on_frame, .violations = on_violations};
	struct export_args a = {0};
	struct source_opts so;
	const char *output, *path;
	bool quiet;
	struct walk w;
	struct export *x;
	char err[512];
	int first, rc = cli_parse(&spec, argc, argv, export_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	rc = EXIT_OK;
	so = a.so;
	output = a.output;
	quiet = a.quiet;
	path = argv[first];
	if (walk_open(&w, path, &so, NULL, err, sizeof(err)) != 0) {
		cli_error("export", "%s", err);
		return EXIT_FAIL;
	}
	if (w.src->kind != SOURCE_FILE) {
		cli_error("export", "%s is a live VM; record it first (vqscope record)", path);
		walk_close(&w);
		return EXIT_USAGE;
	}
	if (w.src->file_note[0])
		fprintf(stderr, "vqscope export: warning: %s: %s\n", path, w.src->file_note);
	x = calloc(1, sizeof(*x));
	if (!x) {
		cli_error("export", "out of memory");
		walk_close(&w);
		return EXIT_FAIL;
	}
	x->first = true;
	x->out = stdout;
	if (output) {
		int fd = vqp_create_file(output, a.force, err, sizeof(err));

		x->out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!x->out) {
			if (fd >= 0) {
				snprintf(err, sizeof(err), "%s: %s", output, strerror(errno));
				close(fd);
			}
			cli_error("export", "%s", err);
			export_free(x);
			walk_close(&w);
			return EXIT_FAIL;
		}
	}

	if (fputs("{\"traceEvents\":[\n", x->out) < 0)
		fail(x, strerror(errno));
	metadata(x, "process_name", -1, "name", json_object_new_string(path));
	walk_run(&w, &handlers, x, 0);
	findings(x, &w);
	finish(x, &w, path);
	if (fflush(x->out) != 0 || ferror(x->out))
		fail(x, strerror(errno));
	if (x->failed) {
		cli_error("export", "%s: %s", output ? output : "standard output", x->failure);
		rc = EXIT_FAIL;
	}
	if (output && fclose(x->out) != 0 && rc == EXIT_OK) {
		cli_error("export", "%s: %s", output, strerror(errno));
		rc = EXIT_FAIL;
	}
	if (rc != EXIT_OK && output)
		remove(output);
	if (!quiet && rc == EXIT_OK)
		fprintf(
		    stderr,
		    "vqscope export: %s: %llu events -> %llu trace events: %llu command "
		    "slice%s, %llu fill slice%s, %llu frame%s, %llu log slice%s, %llu "
		    "finding%s; no slice: %llu in flight at the end, %llu cut by lost "
		    "records or restarts, %llu posted before tracing, %llu USED and %llu ADD "
		    "unmatched\n",
		    path, (unsigned long long)w.m->events, (unsigned long long)x->written,
		    (unsigned long long)x->slices, plural(x->slices), (unsigned long long)x->fills,
		    plural(x->fills), (unsigned long long)x->frames, plural(x->frames),
		    (unsigned long long)x->logs, plural(x->logs), (unsigned long long)x->findings,
		    plural(x->findings), (unsigned long long)x->unfinished,
		    (unsigned long long)x->broken, (unsigned long long)x->posted_before,
		    (unsigned long long)x->unmatched_used, (unsigned long long)x->unmatched_add);
	export_free(x);
	walk_close(&w);
	return rc;
}
