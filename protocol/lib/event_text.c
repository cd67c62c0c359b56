/* event_text.c - the named fields of a trace event, for everything that
 * prints events (vqproto.h: vqp_event_fields). */
#include <stdbool.h>
#include <stdio.h>

#include "vqproto.h"

static const char *poll_outcome(unsigned outcome)
{
	static const char *const names[] = {"progress", "timeout", "empty"};

	return outcome < sizeof(names) / sizeof(names[0]) ? names[outcome] : NULL;
}

static const char *queue_state(unsigned state)
{
	static const char *const names[] = {"free", "active", "gone"};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
}

static const char *error_code(unsigned code)
{
	static const char *const names[] = {NULL,	    "ring_full", "bad_used_id", "device",
					    "step_timeout", "bad_queue", "driver"};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

size_t vqp_event_fields(const struct vqt_event *e, uint64_t ts_hz,
			struct vqp_event_field out[VQP_EVENT_FIELDS_MAX])
{
	size_t n = 0;

#define FIELD(n_, v_) (out[n++] = (struct vqp_event_field){.name = (n_), .value = (v_)})
#define FIELD_TEXT(n_, v_, t_)                                                                     \
	(out[n++] = (struct vqp_event_field){.name = (n_), .value = (v_), .text = (t_)})
#define FIELD_NS(n_, v_)                                                                           \
	(out[n++] = (struct vqp_event_field){.name = (n_), .value = (v_), .unit = "ns"})
#define FIELD_HEX(n_, v_)                                                                          \
	(out[n++] = (struct vqp_event_field){.name = (n_), .value = (v_), .hex = true})
	switch (e->type) {
	case VQT_EV_ADD: /* 2.7.13: a chain made available at avail index idx */
		FIELD("head", e->head);
		FIELD("idx", e->ring_idx);
		FIELD("ndesc", e->ndesc);
		FIELD("bytes", e->len);
		FIELD("writable", e->arg);
		break;
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED: /* 2.7.10: the new avail.idx */
		FIELD("idx", e->ring_idx);
		FIELD("adds", e->len);
		/* What the driver read to decide: avail_event (split) or
		 * off_wrap (packed), the flags, and the packed position. */
		if (e->arg & VQT_KICK_STATE_PRESENT) {
			FIELD("event", VQT_KICK_STATE_EVENT(e->arg));
			FIELD_HEX("flags", VQT_KICK_STATE_FLAGS(e->arg));
			if (VQT_KICK_STATE_DRIVER(e->arg))
				FIELD_HEX("position", VQT_KICK_STATE_DRIVER(e->arg));
		}
		break;
	case VQT_EV_POLL:
		FIELD_TEXT("outcome", e->ndesc, poll_outcome(e->ndesc));
		FIELD("spins", e->len);
		FIELD("barriers", e->barriers);
		FIELD_NS("dur", vqp_ticks_to_ns(e->arg, ts_hz));
		break;
	case VQT_EV_USED: /* 2.7.14: element id consumed at used index idx */
		FIELD("head", e->head);
		FIELD("idx", e->ring_idx);
		FIELD("ndesc", e->ndesc);
		FIELD("written", e->len);
		break;
	case VQT_EV_IRQ:
		FIELD_HEX("isr", e->arg);
		break;
	case VQT_EV_FRAME_BEGIN:
		FIELD("frame", e->arg);
		break;
	case VQT_EV_FRAME_END:
		FIELD("frame", e->arg);
		FIELD("commands", e->len);
		break;
	case VQT_EV_LOG:
		FIELD("bytes", e->len);
		FIELD_NS("dur", vqp_ticks_to_ns(e->arg, ts_hz));
		break;
	case VQT_EV_MARK:
		FIELD("value", e->arg);
		break;
	case VQT_EV_ERROR:
		FIELD_TEXT("code", e->ndesc, error_code(e->ndesc));
		FIELD("head", e->head);
		FIELD("idx", e->ring_idx);
		FIELD_HEX("detail", e->arg);
		break;
	case VQT_EV_QUEUE:
		FIELD_TEXT("state", e->ndesc, queue_state(e->ndesc));
		FIELD("size", e->ring_idx);
		break;
	case VQT_EV_CB: /* 2.7.7: used-buffer notifications and used_event */
		FIELD("enabled", e->ndesc);
		FIELD("used_event", e->ring_idx);
		break;
	default:
		break;
	}
#undef FIELD
#undef FIELD_TEXT
#undef FIELD_NS
#undef FIELD_HEX
	return n;
}

void vqp_event_fields_text(char *buf, size_t len, const struct vqt_event *e, uint64_t ts_hz)
{
	struct vqp_event_field f[VQP_EVENT_FIELDS_MAX];
	size_t n = vqp_event_fields(e, ts_hz, f), used = 0;

	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < n && used < len; i++) {
		const char *sep = i ? " " : "";
		int w;

		if (f[i].text)
			w = snprintf(buf + used, len - used, "%s%s=%s", sep, f[i].name, f[i].text);
		else if (f[i].hex)
			w = snprintf(buf + used, len - used, "%s%s=0x%llx", sep, f[i].name,
				     (unsigned long long)f[i].value);
		else
			w = snprintf(buf + used, len - used, "%s%s=%llu%s", sep, f[i].name,
				     (unsigned long long)f[i].value, f[i].unit ? f[i].unit : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}
