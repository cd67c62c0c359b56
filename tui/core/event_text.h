/* event_text.h - the named fields of one trace event, in one place for
 * everything that prints events: the lines of `vqscope dump`
 * ("head=5 idx=17 ndesc=2 bytes=4120 writable=1") and the args of the
 * events `vqscope export` writes ({"head": 5, ...}).  The meaning of each
 * field by event type is the table in protocol/vqtrace.h. */
#ifndef VQ_EVENT_TEXT_H
#define VQ_EVENT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vqtrace.h"

#define EVENT_FIELDS_MAX 6

struct event_field {
	const char *name; /* "head", "idx", "dur", ... */
	uint64_t value;	  /* the number (durations in ns) */
	const char *text; /* a symbolic value ("progress", "active"), or NULL */
	const char *unit; /* "ns" for durations, else NULL */
	bool hex;	  /* print the number in hex (ISR status, error detail) */
};

/* The fields of e (ticks converted with ts_hz); returns how many. */
size_t event_fields(const struct vqt_event *e, uint64_t ts_hz,
		    struct event_field out[EVENT_FIELDS_MAX]);
/* "name=value ..." separated by spaces ("" for an event without fields). */
void event_fields_text(char *buf, size_t len, const struct vqt_event *e, uint64_t ts_hz);

#endif /* VQ_EVENT_TEXT_H */
