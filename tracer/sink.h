/* sink.h - where vqscope-trace's events go: a trace region written with the
 * guest library (shared with the host through ivshmem, or private), and
 * from that region a recording file and/or text lines. */
#ifndef TRACER_SINK_H
#define TRACER_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sink_config {
	void *region;	      /* mapped trace region, or NULL for a private one */
	size_t region_size;   /* its size (private: VQT_REGION_DEFAULT if 0) */
	const char *output;   /* recording path, or NULL */
	bool overwrite;	      /* replace an existing recording */
	FILE *text;	      /* one line per event, or NULL */
	const char *producer; /* identity written into the region header */
	uint64_t ts_base;     /* CLOCK_MONOTONIC ns before the hooks went in */
};

struct sink_stats {
	uint64_t events;     /* BPF records turned into region events */
	uint64_t queues;     /* queues registered */
	uint64_t lost;	     /* records dropped before reaching the region */
	uint64_t unknown;    /* events of queues never described (dropped) */
	uint64_t table_full; /* events of queues that found no table slot */
};

struct sink;

struct sink *sink_open(const struct sink_config *cfg, char *err, size_t errlen);
/* One BPF ring buffer record (struct vqtr_queue or struct vqtr_event). */
void sink_record(struct sink *s, const void *data, size_t size);
/* n records were lost before reaching us: leave n sequence numbers
 * unwritten so every reader counts them as lost. */
void sink_lost(struct sink *s, uint64_t n);
/* Producer state in the region header (VQT_PRODUCER_*, heartbeat period). */
void sink_set_state(struct sink *s, uint32_t state, uint32_t heartbeat_ms);
void sink_heartbeat(struct sink *s);
/* The "virtioN.name" of the queue at kernel address vq, or NULL. */
const char *sink_queue_name(const struct sink *s, uint64_t vq);
/* Copy what the region holds into the recording and the text output. */
int sink_drain(struct sink *s, char *err, size_t errlen);
void sink_stats(const struct sink *s, struct sink_stats *out);
/* Drain, close the recording (reason: VQR_END_*) and free; NULL-safe. */
int sink_close(struct sink *s, uint32_t reason, const char *detail, char *err, size_t errlen);

#endif /* TRACER_SINK_H */
