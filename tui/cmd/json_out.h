/* json_out.h - the core's data as JSON objects (json-c), for
 * `report --json`, `top --batch --json` and `export`: the core itself
 * knows nothing of JSON. */
#ifndef VQ_JSON_OUT_H
#define VQ_JSON_OUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/overview.h"
#include "core/report.h"
#include "vqproto.h"

/* o[key] = v, as the unsigned number it is. */
void json_add_u64(json_object *o, const char *key, uint64_t v);
void json_add_double(json_object *o, const char *key, double v);
/* o["log_ns"], o["device_ns"], ...: where the time went. */
void json_add_attribution(json_object *o, const struct attribution *a);

/* A new JSON object (the caller puts it) for a report. */
json_object *report_json(const struct report *r);
/* The overview of `top --batch --json`: session totals and one object per
 * queue. */
json_object *overview_json(const struct vq_model *m, const struct overview_source *s);
/* One finding: {"code", "severity", "queue", "queue_name", "first_ns",
 * "last_ns", "first_event", "count", "rate_per_s" (between first and last),
 * "active", "spec", "summary", "text",
 * "evidence": [{"what", "value", "from"}]}. */
json_object *finding_json(const struct finding *f);
/* The findings as an array, worst first; only the active ones when
 * active_only (top --batch --json). */
json_object *findings_json(const struct finding *f, size_t n, bool active_only);
/* Add an event's fields to o: {"head": 5, "dur_ns": 1234, "outcome": "progress"}. */
void event_fields_json(json_object *o, const struct vqt_event *e, uint64_t ts_hz);

#endif /* VQ_JSON_OUT_H */
