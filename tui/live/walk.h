/* walk.h - an event-by-event walk over a source, for the commands that
 * handle every event (vqscope dump and export).  The source feeds the
 * model as usual; after each batch the walk hands the new events to a
 * callback in sequence order with their session time (the model's, so
 * times match `vqscope report`), says where records were lost, and
 * passes on each frame the model closed with its attribution.  Recordings
 * are read to their end; live sources until they end, the caller stops
 * (a handler returns false, or `interrupted` says so), or a duration
 * passes. */
#ifndef VQ_WALK_H
#define VQ_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "source.h"

struct walk;

struct walk_handlers {
	/* Each event in sequence order; return false to stop the walk. */
	bool (*event)(void *ctx, const struct walk *w, const struct model_history_entry *h);
	/* n records were lost just before the next event (or at the end). */
	void (*lost)(void *ctx, const struct walk *w, uint64_t n);
	/* A frame period the model closed (with its attribution). */
	void (*frame)(void *ctx, const struct walk *w, const struct model_frame *f);
	/* Recordings: chunk i of src->file, not an EVENTS chunk, comes next. */
	void (*chunk)(void *ctx, const struct walk *w, size_t i);
	/* n protocol violations (malformed records or chunks), the last one
	 * described by last. */
	void (*violations)(void *ctx, const struct walk *w, uint64_t n, const char *last);
	/* Live sources: asked between polls; true ends the walk
	 * (WALK_INTERRUPTED), e.g. after SIGINT. */
	bool (*interrupted)(void *ctx);
};

enum walk_end {
	WALK_END,	  /* the recording ended */
	WALK_STOPPED,	  /* a handler returned false */
	WALK_INTERRUPTED, /* the interrupted handler said so */
	WALK_DURATION,	  /* the duration passed (live) */
	WALK_SOURCE_GONE, /* the live source ended (QEMU exited) */
	WALK_REGION_GONE, /* the trace region's file shrank (src->region_gone) */
};

struct walk {
	struct source *src;
	struct vq_model *m;
	const struct walk_handlers *h;
	void *ctx;
	bool stopped;
	/* What was handed out so far. */
	uint64_t events, lost, frames, violations;
	uint64_t model_lost;	 /* m->lost when the last batch was handled */
	uint64_t frames_missed;	 /* closed frames that left the model's ring unseen */
	uint64_t history_missed; /* events that left the model's history unseen */
	bool have_prev;
	uint64_t prev_seq;
	uint32_t prev_generation;
	/* Queue names from the recording's QUEUES chunks (the events can come
	 * before the first snapshot). */
	char names[MODEL_QUEUES][VQT_QUEUE_NAME_LEN + 1];
};

/* Open spec (see source_open) and a model for it.  mo may be NULL; the
 * walk enlarges its history and frame ring to hold a whole batch. */
int walk_open(struct walk *w, const char *spec, const struct source_opts *so,
	      const struct model_opts *mo, char *err, size_t errlen);
/* Walk until the end (see above); duration_ns 0: no limit. */
enum walk_end walk_run(struct walk *w, const struct walk_handlers *h, void *ctx,
		       uint64_t duration_ns);
/* The queue's name ("" when unknown). */
const char *walk_queue_name(const struct walk *w, unsigned slot);
void walk_close(struct walk *w);

#endif /* VQ_WALK_H */
