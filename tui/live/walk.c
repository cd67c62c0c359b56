/* walk.c - event-by-event walk over a source (see walk.h). */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "walk.h"

static void walk_lost(struct walk *w, uint64_t n)
{
	if (!n)
		return;
	w->lost += n;
	if (w->h->lost)
		w->h->lost(w->ctx, w, n);
}

static void walk_violations(struct walk *w)
{
	uint64_t n = w->m->violations - w->violations;

	if (!n)
		return;
	w->violations = w->m->violations;
	if (w->h->violations)
		w->h->violations(w->ctx, w, n, w->m->last_violation);
}

static void walk_frames(struct walk *w)
{
	const struct vq_model *m = w->m;
	uint64_t fresh = m->frames_total - w->frames;
	size_t kept = fresh < m->frames_len ? (size_t)fresh : m->frames_len;

	w->frames_missed += fresh - kept;
	w->frames = m->frames_total;
	if (!w->h->frame)
		return;
	for (size_t i = m->frames_len - kept; i < m->frames_len; i++)
		w->h->frame(w->ctx, w, model_frame_at(m, i));
}

/* The records lost in front of h: a gap in the sequence numbers of one
 * generation. */
static uint64_t seq_gap(bool have_prev, uint64_t prev_seq, uint32_t prev_generation,
			const struct model_history_entry *h)
{
	if (!have_prev || h->generation != prev_generation || h->seq <= prev_seq + 1)
		return 0;
	return h->seq - prev_seq - 1;
}

/* The source fed a batch: hand out its events, in order, with the records
 * lost before each.  The model counts loss per batch; a gap in the
 * sequence numbers says where inside the batch it happened, and loss that
 * shows as no gap (the first batch of a generation) comes first.  A gap
 * beyond the counted loss is records the reader dropped as malformed. */
static void walk_batch(struct walk *w)
{
	struct vq_model *m = w->m;
	uint64_t fresh = m->events - w->events, gaps = 0, budget = m->lost - w->model_lost;
	size_t start;
	bool have_prev = w->have_prev;
	uint64_t prev_seq = w->prev_seq;
	uint32_t prev_generation = w->prev_generation;

	w->events = m->events;
	w->model_lost = m->lost;
	if (w->stopped)
		return;
	if (fresh > m->history_len) {
		w->history_missed += fresh - m->history_len;
		fresh = m->history_len;
	}
	start = m->history_len - (size_t)fresh;
	for (size_t i = start; i < m->history_len; i++) {
		const struct model_history_entry *h = model_history_at(m, i);

		gaps += seq_gap(have_prev, prev_seq, prev_generation, h);
		have_prev = true;
		prev_seq = h->seq;
		prev_generation = h->generation;
	}
	if (budget > gaps) {
		walk_lost(w, budget - gaps);
		budget = gaps;
	}
	for (size_t i = start; i < m->history_len && !w->stopped; i++) {
		const struct model_history_entry *h = model_history_at(m, i);
		uint64_t gap = seq_gap(w->have_prev, w->prev_seq, w->prev_generation, h);

		if (gap) {
			walk_lost(w, gap < budget ? gap : budget);
			budget -= gap < budget ? gap : budget;
		}
		w->have_prev = true;
		w->prev_seq = h->seq;
		w->prev_generation = h->generation;
		if (w->h->event && !w->h->event(w->ctx, w, h))
			w->stopped = true;
	}
	if (!w->stopped) {
		walk_frames(w);
		walk_violations(w);
	}
}

static void on_events(void *ctx, struct vq_model *m)
{
	(void)m;
	walk_batch(ctx);
}

/* Queue names from every QUEUES chunk of a recording, first name wins. */
static void names_from_recording(struct walk *w)
{
	const struct vqp_file *f = w->src->file;

	for (size_t i = 0; i < f->nchunks; i++) {
		const struct vqr_queue_entry *entries;
		struct vqr_queues hdr;
		const void *p;
		uint32_t len;
		char err[VQP_ERRLEN];

		if (f->chunks[i].type != VQR_CHUNK_QUEUES ||
		    vqp_file_chunk(f, i, &p, &len, err, sizeof(err)) != VQP_OK ||
		    vqp_decode_queues(p, len, &hdr, &entries, err, sizeof(err)) != VQP_OK)
			continue;
		for (uint32_t k = 0; k < hdr.count; k++) {
			struct vqr_queue_entry e;

			memcpy(&e, (const uint8_t *)entries + (size_t)k * sizeof(e), sizeof(e));
			/* Decoding checked the slot; this makes the name safe. */
			vqp_queue_check(&e.queue, e.slot, err, sizeof(err));
			if (e.slot < MODEL_QUEUES && e.queue.name[0] && !w->names[e.slot][0])
				snprintf(w->names[e.slot], sizeof(w->names[e.slot]), "%s",
					 e.queue.name);
		}
	}
}

int walk_open(struct walk *w, const char *spec, const struct source_opts *so,
	      const struct model_opts *mo, char *err, size_t errlen)
{
	struct model_opts opts = {0};

	memset(w, 0, sizeof(*w));
	w->src = source_open(spec, so, err, errlen);
	if (!w->src)
		return -1;
	if (mo)
		opts = *mo;
	/* A whole batch must still be in the model when it is handed out. */
	if (opts.history < w->src->bufcap)
		opts.history = w->src->bufcap;
	if (opts.frames_kept < w->src->bufcap)
		opts.frames_kept = w->src->bufcap;
	w->m = model_new(&opts);
	if (!w->m) {
		snprintf(err, errlen, "out of memory");
		source_close(w->src);
		w->src = NULL;
		return -1;
	}
	if (w->src->kind == SOURCE_FILE)
		names_from_recording(w);
	return 0;
}

static enum walk_end walk_live(struct walk *w, uint64_t duration_ns)
{
	uint64_t start = host_now_ns();

	for (;;) {
		struct pollfd pfd = {.fd = source_fd(w->src), .events = POLLIN};
		uint64_t now;

		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 20);
		now = host_now_ns();
		if (source_poll(w->src, w->m, now))
			return WALK_SOURCE_GONE;
		if (w->src->region_gone[0])
			return WALK_REGION_GONE;
		walk_violations(w);
		if (w->stopped)
			return WALK_STOPPED;
		if (w->h->interrupted && w->h->interrupted(w->ctx))
			return WALK_INTERRUPTED;
		if (duration_ns && now - start >= duration_ns)
			return WALK_DURATION;
	}
}

enum walk_end walk_run(struct walk *w, const struct walk_handlers *h, void *ctx,
		       uint64_t duration_ns)
{
	struct source *s = w->src;
	enum walk_end end;

	w->h = h;
	w->ctx = ctx;
	s->on_events = on_events;
	s->on_events_ctx = w;
	if (s->kind == SOURCE_FILE) {
		for (;;) {
			size_t i = s->next_chunk;

			if (i < s->file->nchunks && s->file->chunks[i].type != VQR_CHUNK_EVENTS &&
			    h->chunk)
				h->chunk(ctx, w, i);
			if (source_poll(s, w->m, 0) || w->stopped)
				break;
			/* A new generation closes the open frame. */
			walk_frames(w);
			walk_violations(w);
		}
		end = w->stopped ? WALK_STOPPED : WALK_END;
	} else {
		end = walk_live(w, duration_ns);
		if (!w->stopped)
			model_finish(w->m);
	}
	if (!w->stopped) {
		walk_frames(w);
		walk_lost(w, w->m->lost - w->model_lost);
		w->model_lost = w->m->lost;
		walk_violations(w);
	}
	s->on_events = NULL;
	return end;
}

const char *walk_queue_name(const struct walk *w, unsigned slot)
{
	if (slot >= MODEL_QUEUES)
		return "";
	return w->names[slot][0] ? w->names[slot] : w->m->queues[slot].name;
}

void walk_close(struct walk *w)
{
	model_free(w->m);
	source_close(w->src);
	memset(w, 0, sizeof(*w));
}
