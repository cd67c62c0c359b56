/* check_trace.c - host-side checks for the demo guest's system tests:
 * reads a trace region file left by a finished guest through libvqproto
 * and verifies the invariants of the virtqueue protocol, prints frame
 * timings, and checks a QMP screendump against the expected scene.
 *
 *   check_trace check REGION [options]   verify invariants (below)
 *   check_trace frames REGION            print the producer's frame count
 *   check_trace frame-ns REGION          print frame durations (median, mean)
 *   check_trace screendump PPM W H       the picture is the spinning wheel
 *
 * check options:
 *   --frames N           exactly N frames were rendered
 *   --policy NAME        barrier counts match barrier=NAME
 *   --commands N         every frame sent N commands
 *   --log-per-frame      every frame wrote log output (log=frame)
 *   --no-log-in-frames   no frame wrote log output (log=off)
 *   --ram FILE           guest RAM file: rings there match the queue table
 *   --queue NAME         the driver's main queue (default gpu0.control)
 *   --irq | --no-irq     the main queue has used-buffer notifications on and
 *                        received interrupts / has them off and received none
 *   --events TYPE=N      exactly N records of TYPE (ADD, KICK, ..., as vqscope
 *                        dump names them) in the region; repeatable.  ERROR
 *                        records are violations unless --events ERROR=N
 *                        says how many to expect
 *   --counter NAME=N     the main queue's counter NAME (ADDS, DESCS, ...,
 *                        enum vqt_counter without VQT_C_) is N; repeatable
 *   --log-bytes N        LOG events reported exactly N bytes
 *   --event-idx on|off   the main queue was registered with (without)
 *                        VQT_QF_EVENT_IDX
 *   --packed on|off      ... with (without) VQT_QF_PACKED
 *   --depth N            never more than N buffers in flight on it
 *   --demo               the region is the demo guest's: every kick decision
 *                        of the main queue carries the suppression state
 *                        read, and one chain spans the whole ring (the
 *                        driver's self-test)
 *
 * Always checked as well: a kick decision that carries the suppression
 * state the driver read is the one that state asks for (vring_need_event,
 * 2.7.10, 2.8.10); a packed
 * ring's positions and wrap counters follow from the chains added and
 * used; used-buffer notifications are enabled at the driver's next used
 * entry with event idx (2.7.7); a USED reports no more bytes written than
 * its chain's ADD posted; with --ram, the event suppression fields and a
 * packed ring's last chain in guest RAM agree with the trace.
 *
 * A queue registered again after it was torn down (a device reset, virtio
 * 1.2 section 2.4) starts over at ring index 0 with nothing in flight, its
 * counters continuing.
 *
 * Every violated invariant is printed on its own line; the exit status is
 * 1 if any was, 2 on bad usage or unreadable input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scene.h"
#include "vqproto.h"

#define MAX_SLOTS VQT_QUEUE_SLOTS_MAX

static const char *subject; /* file being checked, for messages */
static unsigned long violations;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "check_trace: %s: ", subject);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	violations++;
}

static __attribute__((noreturn)) void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "check_trace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

struct mapping {
	const uint8_t *data;
	size_t size;
};

static struct mapping map_file(const char *path)
{
	struct mapping m;
	struct stat st;
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_size <= 0)
		die("%s: empty or unreadable", path);
	m.size = (size_t)st.st_size;
	p = mmap(NULL, m.size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("%s: mmap: %s", path, strerror(errno));
	close(fd);
	m.data = p;
	return m;
}

/* ---- reading a region ------------------------------------------------------ */

struct trace {
	struct mapping map;
	struct vqp_region region;
	struct vqt_event *events;
	size_t count;
	uint64_t lost, dropped;
};

static void trace_load(struct trace *t, const char *path)
{
	char err[VQP_ERRLEN];
	struct vqp_reader rd;
	int rc;

	memset(t, 0, sizeof(*t));
	t->map = map_file(path);
	vqp_region_init(&t->region, t->map.data, t->map.size, NULL);
	rc = vqp_region_sync(&t->region, err, sizeof(err));
	if (rc != VQP_OK)
		die("%s: %s", path, err);
	t->events = calloc(t->region.layout.ring_records, sizeof(*t->events));
	if (!t->events)
		die("out of memory");
	vqp_reader_init(&rd, &t->region, true);
	for (;;) {
		struct vqp_drain_info info;
		int n = vqp_reader_drain(&rd, t->events + t->count,
					 t->region.layout.ring_records - t->count, &info);

		if (n < 0)
			die("%s: the producer restarted while the region was read", path);
		if (n == 0)
			break;
		t->count += (size_t)n;
	}
	t->lost = rd.lost;
	t->dropped = rd.violations;
	if (rd.violations)
		violation("%" PRIu64 " malformed records, last: %s", rd.violations,
			  rd.last_violation);
}

static uint64_t header_u64(const struct trace *t, size_t offset)
{
	uint64_t v;

	memcpy(&v, t->map.data + offset, sizeof(v));
	return v;
}

/* ---- check ------------------------------------------------------------------- */

struct check_options {
	long frames; /* -1: any */
	const char *policy;
	long commands; /* -1: any */
	int log_per_frame, no_log_in_frames;
	const char *ram;
	int irq;	   /* 1: interrupts expected, 0: none, -1: any */
	const char *queue; /* the main queue's name */
	/* Exact counts; -1: any. */
	long events[VQT_EV_TYPE_COUNT]; /* records of each type */
	long counters[VQT_C_COUNT];	/* the main queue's table counters */
	long log_bytes;
	int event_idx; /* 1, 0, or -1: any */
	int packed;    /* 1, 0, or -1: any */
	long depth;    /* -1: any */
	int demo;      /* the demo guest's region: kick state, whole ring */
};

/* A packed ring position as the driver's next_off | next_wrap << 15. */
struct ring_pos {
	uint16_t off, wrap;
};

/* A problem that can repeat: counted, the first one described. */
struct repeated {
	uint64_t count;
	char first[224];
};

struct queue_state {
	int registered;
	int gone; /* torn down, not registered again yet */
	int main; /* the queue --queue names */
	uint16_t ring_size;
	uint16_t flags;			/* VQT_QF_* at registration */
	uint16_t next_avail, next_used; /* free-running, as the driver's */
	uint16_t adds_since_kick;
	uint8_t *in_flight;    /* per head */
	uint32_t *head_bytes;  /* per head: bytes its ADD posted */
	struct ring_pos avail; /* packed: where the next chain goes */
	struct ring_pos used;  /* packed: where the next used one comes */
	struct ring_pos last_add;
	uint16_t last_add_head;
	int added;
	uint16_t kicked_driver; /* packed: driver position at the last decision */
	unsigned in_flight_count, max_in_flight;
	uint64_t counted[VQT_C_COUNT];
	int callbacks;	     /* last CB event: 1 on, 0 off, -1 none */
	uint16_t used_event; /* ... and its used_event */
	uint64_t irqs_since_cb;
	uint64_t whole_ring_chains, decisions;
	uint64_t polls_bad_barriers;
	char first_bad_poll[160];
	struct repeated bad_decision, no_state, bad_position, bad_used_event, overflow;
};

static void repeated(struct repeated *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void repeated(struct repeated *r, const char *fmt, ...)
{
	va_list ap;

	if (r->count++)
		return;
	va_start(ap, fmt);
	vsnprintf(r->first, sizeof(r->first), fmt, ap);
	va_end(ap);
}

static void repeated_report(const struct repeated *r, unsigned slot, const char *what)
{
	if (r->count)
		violation("queue slot %u: %" PRIu64 " %s; first: %s", slot, r->count, what,
			  r->first);
}

static void advance(struct ring_pos *p, unsigned n, uint16_t size)
{
	p->off = (uint16_t)(p->off + n % size);
	if (n >= size)
		p->wrap ^= 1; /* at most one whole ring per chain */
	if (p->off >= size) {
		p->off = (uint16_t)(p->off - size);
		p->wrap ^= 1;
	}
}

static uint16_t pos_word(struct ring_pos p)
{
	return (uint16_t)(p.off | p.wrap << 15);
}

/* vring_need_event (2.7.10): `event` lies in [old, new). */
static int need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* The notification a kick decision's recorded state asks for
 * (docs/protocol.md, "Kick decisions"). */
static int kick_needed(const struct queue_state *q, const struct vqt_event *e)
{
	uint16_t event = VQT_KICK_STATE_EVENT(e->arg), flags = VQT_KICK_STATE_FLAGS(e->arg);
	int event_idx = !!(q->flags & VQT_QF_EVENT_IDX);

	if (!(q->flags & VQT_QF_PACKED))
		return event_idx ? need_event(event, e->ring_idx, (uint16_t)(e->ring_idx - e->len))
				 : !(flags & 1u);
	if ((flags & 3u) == 1u)
		return 0;
	if ((flags & 3u) == 2u && event_idx) {
		uint16_t new_word = VQT_KICK_STATE_DRIVER(e->arg), old_word = q->kicked_driver;
		uint16_t new_off = new_word & 0x7fffu, old_off = old_word & 0x7fffu;
		uint16_t event_off = event & 0x7fffu;

		/* Positions of the old lap count from one ring earlier, as in
		 * Linux's virtqueue_kick_prepare_packed(). */
		if ((old_word >> 15) != (new_word >> 15))
			old_off = (uint16_t)(old_off - q->ring_size);
		if ((event >> 15) != (new_word >> 15))
			event_off = (uint16_t)(event_off - q->ring_size);
		return need_event(event_off, new_off, old_off);
	}
	return 1;
}

static const char *const counter_names[VQT_C_COUNT] = {
    "ADDS",	   "DESCS",	  "BYTES",	   "KICKS",	   "KICKS_SUPPRESSED",
    "IRQS",	   "POLLS",	  "POLL_SPINS",	   "BARRIERS_RMB", "BARRIERS_WMB",
    "BARRIERS_MB", "COMPLETIONS", "POLL_TIMEOUTS", "USED_BYTES",   "CB_CHANGES",
    "ERRORS",
};

/* Barriers a poll of `spins` iterations executes under each policy; one
 * that gave up saw no progress to fence after. */
static int policy_barriers(const char *policy, uint64_t spins, int progress, uint64_t *expected)
{
	if (strcmp(policy, "seqcst-every") == 0 || strcmp(policy, "acquire-every") == 0)
		*expected = spins;
	else if (strcmp(policy, "on-progress") == 0)
		*expected = progress ? 1 : 0;
	else if (strcmp(policy, "none") == 0)
		*expected = 0;
	else
		return -1;
	return 0;
}

static void check_event(struct queue_state *qs, const struct vqt_event *e, uint64_t seq,
			const struct check_options *o)
{
	struct queue_state *q = &qs[e->queue];
	uint64_t *c = q->counted;

	if (e->type == VQT_EV_QUEUE) {
		if (e->ndesc == VQT_QS_ACTIVE && (!q->registered || q->gone)) {
			/* First registration, or again after a device reset
			 * (2.4): the rings start over at index 0 with nothing
			 * in flight.  Counters, and the library's count of adds
			 * since the last kick, run on. */
			q->registered = 1;
			q->gone = 0;
			q->ring_size = e->ring_idx;
			q->next_avail = q->next_used = 0;
			q->callbacks = -1;
			free(q->in_flight);
			q->in_flight = calloc(q->ring_size, 1);
			free(q->head_bytes);
			q->head_bytes = calloc(q->ring_size, sizeof(*q->head_bytes));
			q->in_flight_count = 0;
			if (!q->in_flight || !q->head_bytes)
				die("out of memory");
			/* 2.8.1: both wrap counters start at 1. */
			q->avail = q->used = (struct ring_pos){0, 1};
			q->kicked_driver = pos_word(q->avail);
		} else if (e->ndesc == VQT_QS_GONE && q->registered) {
			q->gone = 1;
		}
		return;
	}
	if (!q->registered) {
		violation("record %" PRIu64 ": %s for queue slot %u, which was never registered",
			  seq, vqp_event_type_name(e->type), e->queue);
		return;
	}
	switch (e->type) {
	case VQT_EV_ADD:
		c[VQT_C_ADDS]++;
		c[VQT_C_DESCS] += e->ndesc;
		c[VQT_C_BYTES] += e->len;
		if (e->head >= q->ring_size)
			violation("record %" PRIu64 ": ADD head %u outside the ring of %u", seq,
				  e->head, q->ring_size);
		else if (q->in_flight[e->head])
			violation("record %" PRIu64 ": ADD head %u is already in flight", seq,
				  e->head);
		else {
			q->in_flight[e->head] = 1;
			q->head_bytes[e->head] = e->len;
			q->in_flight_count++;
			if (q->in_flight_count > q->max_in_flight)
				q->max_in_flight = q->in_flight_count;
		}
		q->whole_ring_chains += e->ndesc == q->ring_size;
		q->last_add = q->avail;
		q->last_add_head = e->head;
		q->added = 1;
		advance(&q->avail, e->ndesc, q->ring_size);
		if (e->ring_idx != q->next_avail)
			violation("record %" PRIu64 ": ADD at avail index %u, expected %u", seq,
				  e->ring_idx, q->next_avail);
		q->next_avail = (uint16_t)(e->ring_idx + 1);
		q->adds_since_kick++;
		break;
	case VQT_EV_KICK:
	case VQT_EV_KICK_SUPPRESSED:
		c[e->type == VQT_EV_KICK ? VQT_C_KICKS : VQT_C_KICKS_SUPPRESSED]++;
		if (e->ring_idx != q->next_avail)
			violation("record %" PRIu64 ": %s publishes avail index %u, expected %u",
				  seq, vqp_event_type_name(e->type), e->ring_idx, q->next_avail);
		if (e->len != q->adds_since_kick)
			violation("record %" PRIu64 ": %s reports %u adds since the last kick, "
				  "counted %u",
				  seq, vqp_event_type_name(e->type), e->len, q->adds_since_kick);
		q->adds_since_kick = 0;
		if (!(e->arg & VQT_KICK_STATE_PRESENT)) {
			if (q->main && o->demo)
				repeated(&q->no_state,
					 "record %" PRIu64 ": %s without the state read", seq,
					 vqp_event_type_name(e->type));
			break;
		}
		q->decisions++;
		if (kick_needed(q, e) != (e->type == VQT_EV_KICK))
			repeated(&q->bad_decision,
				 "record %" PRIu64 ": %s at avail index %u, but the state read "
				 "(event 0x%04x, flags 0x%04x, driver 0x%04x) %s",
				 seq, vqp_event_type_name(e->type), e->ring_idx,
				 VQT_KICK_STATE_EVENT(e->arg), VQT_KICK_STATE_FLAGS(e->arg),
				 VQT_KICK_STATE_DRIVER(e->arg),
				 e->type == VQT_EV_KICK ? "said no notification was needed"
							: "asked for a notification");
		if (q->flags & VQT_QF_PACKED) {
			if (VQT_KICK_STATE_DRIVER(e->arg) != pos_word(q->avail))
				repeated(&q->bad_position,
					 "record %" PRIu64 ": %s puts the driver at 0x%04x, the "
					 "chains added put it at 0x%04x (position | wrap << 15)",
					 seq, vqp_event_type_name(e->type),
					 VQT_KICK_STATE_DRIVER(e->arg), pos_word(q->avail));
			q->kicked_driver = VQT_KICK_STATE_DRIVER(e->arg);
		}
		break;
	case VQT_EV_POLL:
		c[VQT_C_POLLS]++;
		c[VQT_C_POLL_SPINS] += e->len;
		if (e->ndesc == VQT_POLL_TIMEOUT)
			c[VQT_C_POLL_TIMEOUTS]++;
		/* The queue table splits barriers by kind; events carry the
		 * sum, compared with the sum of the three counters. */
		c[VQT_C_BARRIERS_RMB] += e->barriers;
		if (e->ndesc != VQT_POLL_PROGRESS)
			violation("record %" PRIu64 ": POLL outcome %u, expected progress", seq,
				  e->ndesc);
		/* An interrupt-driven wait that gave up may never have looked. */
		if (e->len == 0 && e->ndesc == VQT_POLL_PROGRESS)
			violation("record %" PRIu64 ": POLL with 0 spins", seq);
		if (o->policy) {
			uint64_t expected = 0;

			policy_barriers(o->policy, e->len, e->ndesc == VQT_POLL_PROGRESS,
					&expected);
			if (e->barriers != expected && q->polls_bad_barriers++ == 0)
				snprintf(q->first_bad_poll, sizeof(q->first_bad_poll),
					 "record %" PRIu64
					 ": POLL of %u spins executed %u barriers, "
					 "barrier=%s executes %" PRIu64,
					 seq, e->len, e->barriers, o->policy, expected);
		}
		break;
	case VQT_EV_USED:
		c[VQT_C_COMPLETIONS]++;
		c[VQT_C_USED_BYTES] += e->len;
		if (e->head >= q->ring_size || !q->in_flight[e->head])
			violation("record %" PRIu64 ": USED head %u was not in flight", seq,
				  e->head);
		else {
			if (e->len > q->head_bytes[e->head])
				repeated(&q->overflow,
					 "record %" PRIu64 ": USED of head %u reports %u bytes "
					 "written, its chain posted %u",
					 seq, e->head, e->len, q->head_bytes[e->head]);
			q->in_flight[e->head] = 0;
			q->in_flight_count--;
		}
		advance(&q->used, e->ndesc, q->ring_size);
		if (e->ring_idx != q->next_used)
			violation("record %" PRIu64 ": USED at used index %u, expected %u", seq,
				  e->ring_idx, q->next_used);
		q->next_used = (uint16_t)(e->ring_idx + 1);
		break;
	case VQT_EV_IRQ:
		c[VQT_C_IRQS]++;
		q->irqs_since_cb++;
		break;
	case VQT_EV_CB:
		c[VQT_C_CB_CHANGES]++;
		q->callbacks = e->ndesc != 0;
		q->used_event = e->ring_idx;
		q->irqs_since_cb = 0;
		/* 2.7.7 / 2.8.10: on, with event idx, means "interrupt at my
		 * next used entry". */
		if (q->callbacks && (q->flags & VQT_QF_EVENT_IDX)) {
			uint16_t want =
			    (q->flags & VQT_QF_PACKED) ? pos_word(q->used) : q->next_used;

			if (e->ring_idx != want)
				repeated(&q->bad_used_event,
					 "record %" PRIu64 ": notifications on at 0x%04x, the "
					 "driver's next used entry is 0x%04x",
					 seq, e->ring_idx, want);
		}
		break;
	case VQT_EV_ERROR:
		c[VQT_C_ERRORS]++;
		break;
	}
}

/* Counters in the queue table must equal what the events add up to. */
static void check_queue_table(const struct trace *t, struct queue_state *qs, unsigned slot)
{
	struct queue_state *q = &qs[slot];
	struct vqt_queue snap;
	char err[VQP_ERRLEN];
	uint64_t barriers;

	if (vqp_queue_snapshot(&t->region, slot, &snap, err, sizeof(err)) != VQP_OK) {
		violation("queue slot %u: %s", slot, err);
		return;
	}
	if (snap.state != VQT_QS_ACTIVE)
		violation("queue slot %u (%s): state %u, expected active", slot, snap.name,
			  snap.state);
	if (snap.desc_addr == 0 || snap.avail_addr == 0 || snap.used_addr == 0)
		violation("queue slot %u (%s): ring addresses not filled in (%#" PRIx64
			  ", %#" PRIx64 ", %#" PRIx64 ")",
			  slot, snap.name, snap.desc_addr, snap.avail_addr, snap.used_addr);
	for (unsigned i = 0; i < VQT_C_COUNT; i++) {
		if (i >= VQT_C_BARRIERS_RMB && i <= VQT_C_BARRIERS_MB)
			continue;
		if (snap.counters[i] != q->counted[i])
			violation("queue slot %u (%s): counter %s is %" PRIu64
				  " but the events add up to %" PRIu64,
				  slot, snap.name, counter_names[i], snap.counters[i],
				  q->counted[i]);
	}
	barriers = snap.counters[VQT_C_BARRIERS_RMB] + snap.counters[VQT_C_BARRIERS_WMB] +
		   snap.counters[VQT_C_BARRIERS_MB];
	if (barriers != q->counted[VQT_C_BARRIERS_RMB])
		violation("queue slot %u (%s): barrier counters add up to %" PRIu64
			  " but POLL events report %" PRIu64,
			  slot, snap.name, barriers, q->counted[VQT_C_BARRIERS_RMB]);
	if (snap.avail_idx != q->next_avail || snap.last_used_idx != q->next_used)
		violation("queue slot %u (%s): table says avail %u / used %u, events say %u / %u",
			  slot, snap.name, snap.avail_idx, snap.last_used_idx, q->next_avail,
			  q->next_used);
	if (q->in_flight_count)
		violation("queue slot %u (%s): %u buffers added but never used", slot, snap.name,
			  q->in_flight_count);
	else if (snap.num_free != snap.ring_size)
		violation("queue slot %u (%s): %u of %u descriptors free with nothing in flight",
			  slot, snap.name, snap.num_free, snap.ring_size);
	if (q->polls_bad_barriers)
		violation("queue slot %u (%s): %" PRIu64 " polls break the policy; first: %s", slot,
			  snap.name, q->polls_bad_barriers, q->first_bad_poll);
	repeated_report(&q->no_state, slot, "kick decisions without the suppression state");
	repeated_report(&q->bad_decision, slot,
			"kick decisions go against the suppression state read");
	repeated_report(&q->bad_position, slot,
			"kick decisions report a driver position the chains do not lead to");
	repeated_report(&q->bad_used_event, slot,
			"used-buffer notifications enabled at the wrong entry");
	repeated_report(&q->overflow, slot, "USED events report more bytes than their chain");
}

/* What the options say of the driver's main queue. */
static void check_main_queue(const struct queue_state *q, const struct check_options *o)
{
	int event_idx = !!(q->flags & VQT_QF_EVENT_IDX), packed = !!(q->flags & VQT_QF_PACKED);

	if (o->event_idx >= 0 && event_idx != o->event_idx)
		violation("%s: registered %s VQT_QF_EVENT_IDX, expected %s", o->queue,
			  event_idx ? "with" : "without", o->event_idx ? "with" : "without");
	if (o->packed >= 0 && packed != o->packed)
		violation("%s: registered %s VQT_QF_PACKED, expected %s", o->queue,
			  packed ? "with" : "without", o->packed ? "with" : "without");
	if (o->depth >= 0 && q->max_in_flight > (unsigned long)o->depth)
		violation("%s: %u buffers were in flight at once, depth is %ld", o->queue,
			  q->max_in_flight, o->depth);
	/* The demo's self-test scatters one command over the whole ring. */
	if (o->demo && q->whole_ring_chains == 0)
		violation("%s: no chain spans the whole ring of %u (the driver's self-test)",
			  o->queue, q->ring_size);
}

/* The policy's barrier kinds: seqcst-every counts full barriers, the
 * acquire policies read barriers, none nothing. */
static void check_policy_kinds(const struct trace *t, unsigned slot, const char *policy)
{
	struct vqt_queue snap;
	char err[VQP_ERRLEN];
	const uint64_t *c = snap.counters;
	int seqcst = strcmp(policy, "seqcst-every") == 0;

	if (vqp_queue_snapshot(&t->region, slot, &snap, err, sizeof(err)) != VQP_OK)
		return; /* reported by check_queue_table */
	if (c[VQT_C_BARRIERS_WMB] != 0 || (seqcst ? c[VQT_C_BARRIERS_RMB] : c[VQT_C_BARRIERS_MB]))
		violation("queue slot %u (%s): barrier=%s executed rmb %" PRIu64 ", wmb %" PRIu64
			  ", mb %" PRIu64 " while polling",
			  slot, snap.name, policy, c[VQT_C_BARRIERS_RMB], c[VQT_C_BARRIERS_WMB],
			  c[VQT_C_BARRIERS_MB]);
}

/* The main queue's counters have the values --counter asked for. */
static void check_expected_counters(const struct trace *t, unsigned slot,
				    const struct check_options *o)
{
	struct vqt_queue snap;
	char err[VQP_ERRLEN];

	if (vqp_queue_snapshot(&t->region, slot, &snap, err, sizeof(err)) != VQP_OK)
		return; /* reported by check_queue_table */
	for (unsigned i = 0; i < VQT_C_COUNT; i++)
		if (o->counters[i] >= 0 && snap.counters[i] != (uint64_t)o->counters[i])
			violation("queue slot %u (%s): counter %s is %" PRIu64 ", expected %ld",
				  slot, snap.name, counter_names[i], snap.counters[i],
				  o->counters[i]);
}

static uint16_t ram_u16(const struct mapping *ram, uint64_t addr)
{
	uint16_t v;

	memcpy(&v, ram->data + addr, 2);
	return v;
}

/* The chains still in flight, walked in guest RAM's descriptor table:
 * every next field inside the table, no descriptor twice (2.7.5.2). */
static void check_split_chains(const struct queue_state *q, const struct vqt_queue *snap,
			       unsigned slot, const struct mapping *ram)
{
	for (uint16_t head = 0; head < q->ring_size; head++) {
		uint16_t i = head;

		if (!q->in_flight[head])
			continue;
		for (unsigned n = 0;; n++) {
			uint64_t d = snap->desc_addr + 16u * i;
			uint16_t flags = ram_u16(ram, d + 12), next = ram_u16(ram, d + 14);

			if (!(flags & 1u))
				break; /* VIRTQ_DESC_F_NEXT clear: the end */
			if (next >= q->ring_size) {
				violation(
				    "queue slot %u (%s): the chain of head %u links descriptor "
				    "%u to %u, past the table of %u",
				    slot, snap->name, head, i, next, q->ring_size);
				break;
			}
			if (n + 1 >= q->ring_size) {
				violation("queue slot %u (%s): the chain of head %u is longer than "
					  "the ring: its next fields loop (descriptor %u links to "
					  "%u)",
					  slot, snap->name, head, i, next);
				break;
			}
			i = next;
		}
	}
}

/* A split ring in guest RAM: avail.idx and used.idx as the queue table
 * reports them, and the used-buffer notification fields as the last CB
 * event wrote them (2.7.7). */
static void check_split_ram(const struct queue_state *q, const struct vqt_queue *snap,
			    unsigned slot, const struct mapping *ram)
{
	uint16_t avail_flags = ram_u16(ram, snap->avail_addr);
	uint16_t avail_idx = ram_u16(ram, snap->avail_addr + 2);
	uint16_t used_idx = ram_u16(ram, snap->used_addr + 2);
	uint16_t used_event = ram_u16(ram, snap->avail_addr + 4 + 2u * snap->ring_size);
	int event_idx = !!(q->flags & VQT_QF_EVENT_IDX);

	uint16_t waiting = (uint16_t)(used_idx - snap->last_used_idx);

	if (avail_idx != snap->avail_idx || used_idx != snap->last_used_idx)
		violation("queue slot %u (%s): guest RAM has avail.idx %u used.idx %u, the table "
			  "%u / %u",
			  slot, snap->name, avail_idx, used_idx, snap->avail_idx,
			  snap->last_used_idx);
	check_split_chains(q, snap, slot, ram);
	if (q->callbacks < 0)
		return;
	/* Used buffers the driver has not taken: was an interrupt due? */
	if (waiting && q->callbacks &&
	    (!event_idx || need_event(used_event, used_idx, snap->last_used_idx)) &&
	    q->irqs_since_cb == 0)
		violation(
		    "queue slot %u (%s): %u used buffers wait (used.idx %u) and notifications "
		    "were on%s%u, yet no interrupt came (2.7.7)",
		    slot, snap->name, waiting, used_idx, event_idx ? " at used_event " : " ",
		    event_idx ? used_event : 0u);
	else if (waiting && !q->callbacks)
		violation("queue slot %u (%s): %u used buffers wait (used.idx %u) with "
			  "notifications off",
			  slot, snap->name, waiting, used_idx);
	if (avail_flags != (event_idx || q->callbacks ? 0 : 1))
		violation("queue slot %u (%s): avail.flags is %u with notifications %s%s", slot,
			  snap->name, avail_flags, q->callbacks ? "on" : "off",
			  event_idx ? " and event idx" : "");
	if (event_idx && used_event != q->used_event)
		violation("queue slot %u (%s): used_event is %u in guest RAM, the last CB event "
			  "wrote %u",
			  slot, snap->name, used_event, q->used_event);
}

/* A packed ring in guest RAM: the last chain's head descriptor carries
 * the AVAIL/USED bits of the lap the chains before it put it in (2.8.1),
 * and the driver event suppression structure is what the last CB event
 * wrote (2.8.10). */
static void check_packed_ram(const struct queue_state *q, const struct vqt_queue *snap,
			     unsigned slot, const struct mapping *ram)
{
	uint16_t driver_off_wrap = ram_u16(ram, snap->avail_addr);
	uint16_t driver_flags = ram_u16(ram, snap->avail_addr + 2);
	int event_idx = !!(q->flags & VQT_QF_EVENT_IDX);

	if (q->added) {
		uint16_t flags = ram_u16(ram, snap->desc_addr + 16u * q->last_add.off + 14);
		unsigned avail = !!(flags & (1u << 7)), used = !!(flags & (1u << 15));

		if (avail == used ? avail != q->last_add.wrap
				  : avail != q->last_add.wrap || used == q->last_add.wrap)
			violation(
			    "queue slot %u (%s): descriptor %u (the last chain's head, id %u) "
			    "has flags 0x%04x: its AVAIL/USED bits belong to lap %u, the "
			    "chains before it put it in lap %u (2.8.1)",
			    slot, snap->name, q->last_add.off, q->last_add_head, flags, avail,
			    q->last_add.wrap);
	}
	if (q->callbacks < 0)
		return;
	if (driver_flags != (!q->callbacks ? 1u
			     : event_idx   ? 2u
					   : 0u) ||
	    (q->callbacks && event_idx && driver_off_wrap != q->used_event))
		violation("queue slot %u (%s): driver event suppression is off_wrap 0x%04x flags "
			  "%u with notifications %s at 0x%04x",
			  slot, snap->name, driver_off_wrap, driver_flags,
			  q->callbacks ? "on" : "off", q->used_event);
}

static void check_guest_ram(const struct trace *t, const struct queue_state *q, unsigned slot,
			    const char *path)
{
	struct mapping ram = map_file(path);
	struct vqt_queue snap;
	char err[VQP_ERRLEN];

	if (vqp_queue_snapshot(&t->region, slot, &snap, err, sizeof(err)) != VQP_OK)
		return;
	if (snap.avail_addr + 8u + 2u * snap.ring_size > ram.size ||
	    snap.used_addr + 8u + 8u * snap.ring_size > ram.size ||
	    snap.desc_addr + 16u * snap.ring_size > ram.size) {
		violation("queue slot %u (%s): rings at %#" PRIx64 "/%#" PRIx64 "/%#" PRIx64
			  " are outside guest RAM (%zu bytes)",
			  slot, snap.name, snap.desc_addr, snap.avail_addr, snap.used_addr,
			  ram.size);
	} else if (q->flags & VQT_QF_PACKED)
		check_packed_ram(q, &snap, slot, &ram);
	else
		check_split_ram(q, &snap, slot, &ram);
	munmap((void *)ram.data, ram.size);
}

static int cmd_check(const char *path, const struct check_options *o)
{
	static struct queue_state qs[MAX_SLOTS + 1];
	struct trace t;
	uint64_t frames_begun = 0, frames_ended = 0, log_bytes = 0, log_ticks = 0;
	uint64_t frames_without_log = 0, frames_with_log = 0, last_ts = 0;
	uint64_t frame_commands = 0, bad_commands = 0;
	int in_frame = 0, frame_logged = 0;
	uint64_t errors = 0, by_type[VQT_EV_TYPE_COUNT] = {0};
	int control = -1;

	subject = path;
	trace_load(&t, path);
	if (t.region.layout.generation != 1)
		violation("generation %u, expected 1 for a region file of one boot",
			  t.region.layout.generation);
	if (t.lost)
		violation("%" PRIu64 " records were overwritten: make the region bigger, "
			  "counters cannot be checked",
			  t.lost);
	if (t.count == 0)
		violation("no events at all");

	for (size_t i = 0; i < t.count; i++) {
		const struct vqt_event *e = &t.events[i];
		uint64_t seq = i; /* from_oldest with nothing lost starts at 0 */

		if ((uint32_t)seq != e->seq)
			violation("record %zu carries sequence number %u", i, e->seq);
		if (e->ts < last_ts)
			violation("record %" PRIu64 ": timestamp goes back from %" PRIu64
				  " to %" PRIu64,
				  seq, last_ts, e->ts);
		last_ts = e->ts;
		if (e->type < VQT_EV_TYPE_COUNT)
			by_type[e->type]++;
		switch (e->type) {
		case VQT_EV_FRAME_BEGIN:
			if (in_frame)
				violation("record %" PRIu64 ": FRAME_BEGIN %" PRIu64
					  " inside frame %" PRIu64,
					  seq, e->arg, frames_begun - 1);
			if (e->arg != frames_begun)
				violation("record %" PRIu64 ": FRAME_BEGIN %" PRIu64
					  ", expected frame %" PRIu64,
					  seq, e->arg, frames_begun);
			frames_begun++;
			in_frame = 1;
			frame_logged = 0;
			frame_commands = 0;
			continue;
		case VQT_EV_FRAME_END:
			if (!in_frame || e->arg != frames_begun - 1)
				violation("record %" PRIu64 ": FRAME_END %" PRIu64
					  " without its FRAME_BEGIN",
					  seq, e->arg);
			if (e->len != frame_commands && bad_commands++ == 0)
				violation("record %" PRIu64 ": frame %" PRIu64
					  " reports %u commands, %" PRIu64 " were used",
					  seq, e->arg, e->len, frame_commands);
			if (o->commands >= 0 && e->len != (uint64_t)o->commands &&
			    bad_commands++ == 0)
				violation("record %" PRIu64 ": frame %" PRIu64
					  " sent %u commands, expected %ld",
					  seq, e->arg, e->len, o->commands);
			frames_ended++;
			in_frame = 0;
			if (frame_logged)
				frames_with_log++;
			else
				frames_without_log++;
			continue;
		case VQT_EV_LOG:
			log_bytes += e->len;
			log_ticks += e->arg;
			frame_logged |= in_frame;
			continue;
		case VQT_EV_MARK:
			continue;
		case VQT_EV_ERROR:
			errors++;
			if (o->events[VQT_EV_ERROR] < 0)
				violation("record %" PRIu64 ": ERROR code %u detail %" PRIu64, seq,
					  e->ndesc, e->arg);
			if (e->queue == VQT_QUEUE_NONE)
				continue;
			break;
		case VQT_EV_USED:
			if (in_frame && (int)e->queue == control)
				frame_commands++;
			break;
		case VQT_EV_QUEUE:
			break;
		}
		check_event(qs, e, seq, o);
		if (e->type == VQT_EV_QUEUE && e->ndesc == VQT_QS_ACTIVE) {
			struct vqt_queue snap;
			char err[VQP_ERRLEN];

			if (vqp_queue_snapshot(&t.region, e->queue, &snap, err, sizeof(err)) !=
			    VQP_OK)
				continue; /* reported by check_queue_table */
			qs[e->queue].flags = snap.flags & (uint16_t)~VQT_QF_CB_DISABLED;
			if (control < 0 && strcmp(snap.name, o->queue) == 0) {
				control = e->queue;
				qs[control].main = 1;
			}
		}
	}
	if (in_frame)
		violation("frame %" PRIu64 " began but never ended", frames_begun - 1);
	if (o->frames >= 0 && frames_ended != (uint64_t)o->frames)
		violation("%" PRIu64 " frames ended, expected %ld", frames_ended, o->frames);
	if (header_u64(&t, offsetof(struct vqt_header, frames)) != frames_ended)
		violation("header counts %" PRIu64 " frames, FRAME_END events %" PRIu64,
			  header_u64(&t, offsetof(struct vqt_header, frames)), frames_ended);
	if (header_u64(&t, offsetof(struct vqt_header, errors)) != errors)
		violation("header counts %" PRIu64 " errors, ERROR events %" PRIu64,
			  header_u64(&t, offsetof(struct vqt_header, errors)), errors);
	else if (errors && o->events[VQT_EV_ERROR] < 0)
		violation("header counts %" PRIu64 " errors", errors);
	for (unsigned i = 0; i < VQT_EV_TYPE_COUNT; i++)
		if (o->events[i] >= 0 && by_type[i] != (uint64_t)o->events[i])
			violation("%" PRIu64 " %s records, expected %ld", by_type[i],
				  vqp_event_type_name(i), o->events[i]);
	if (o->log_bytes >= 0 && log_bytes != (uint64_t)o->log_bytes)
		violation("LOG events report %" PRIu64 " bytes, expected %ld", log_bytes,
			  o->log_bytes);
	if (header_u64(&t, offsetof(struct vqt_header, log_bytes)) != log_bytes ||
	    header_u64(&t, offsetof(struct vqt_header, log_ticks)) != log_ticks)
		violation("header log totals %" PRIu64 " bytes / %" PRIu64
			  " ticks, LOG events %" PRIu64 " / %" PRIu64,
			  header_u64(&t, offsetof(struct vqt_header, log_bytes)),
			  header_u64(&t, offsetof(struct vqt_header, log_ticks)), log_bytes,
			  log_ticks);
	if (o->log_per_frame && frames_without_log)
		violation("%" PRIu64 " frames wrote no log output (log=frame)", frames_without_log);
	if (o->no_log_in_frames && frames_with_log)
		violation("%" PRIu64 " frames wrote log output (log=off)", frames_with_log);
	if (control < 0)
		violation("no queue named %s was registered", o->queue);
	else if (o->irq >= 0) {
		const struct queue_state *q = &qs[control];

		if (q->callbacks != o->irq)
			violation("%s: used-buffer notifications are %s, expected %s", o->queue,
				  q->callbacks < 0 ? "never set" : (q->callbacks ? "on" : "off"),
				  o->irq ? "on" : "off");
		if (o->irq ? q->counted[VQT_C_IRQS] == 0 : q->counted[VQT_C_IRQS] != 0)
			violation("%s: %" PRIu64 " IRQ events, expected %s", o->queue,
				  q->counted[VQT_C_IRQS], o->irq ? "some" : "none");
	}
	if (control >= 0)
		check_main_queue(&qs[control], o);

	for (unsigned slot = 0; slot <= MAX_SLOTS; slot++) {
		if (!qs[slot].registered)
			continue;
		check_queue_table(&t, qs, slot);
		if (o->policy && (int)slot == control)
			check_policy_kinds(&t, slot, o->policy);
		if ((int)slot == control)
			check_expected_counters(&t, slot, o);
		if (o->ram)
			check_guest_ram(&t, &qs[slot], slot, o->ram);
		free(qs[slot].in_flight);
		free(qs[slot].head_bytes);
	}
	printf("%s: %zu events, %" PRIu64 " frames, %" PRIu64 " requests on %s (%" PRIu64
	       " kick decisions, %" PRIu64 " notified, at most %u in flight): %s\n",
	       path, t.count, frames_ended, control >= 0 ? qs[control].counted[VQT_C_ADDS] : 0,
	       o->queue, control >= 0 ? qs[control].decisions : 0,
	       control >= 0 ? qs[control].counted[VQT_C_KICKS] : 0,
	       control >= 0 ? qs[control].max_in_flight : 0, violations ? "FAILED" : "ok");
	free(t.events);
	return violations ? 1 : 0;
}

/* ---- frames and timing ------------------------------------------------------- */

static int cmd_frames(const char *path)
{
	struct mapping m = map_file(path);
	struct vqp_region r;
	char err[VQP_ERRLEN];
	uint64_t frames;

	vqp_region_init(&r, m.data, m.size, NULL);
	if (vqp_region_sync(&r, err, sizeof(err)) != VQP_OK) {
		printf("0\n");
		return 0;
	}
	memcpy(&frames, m.data + offsetof(struct vqt_header, frames), sizeof(frames));
	printf("%" PRIu64 "\n", frames);
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_frame_ns(const char *path)
{
	struct trace t;
	uint64_t *durations, begin = 0, sum = 0;
	size_t n = 0;
	int open_frame = 0;

	subject = path;
	trace_load(&t, path);
	durations = calloc(t.count + 1, sizeof(*durations));
	if (!durations)
		die("out of memory");
	for (size_t i = 0; i < t.count; i++) {
		if (t.events[i].type == VQT_EV_FRAME_BEGIN) {
			begin = t.events[i].ts;
			open_frame = 1;
		} else if (t.events[i].type == VQT_EV_FRAME_END && open_frame) {
			durations[n++] =
			    vqp_ticks_to_ns(t.events[i].ts - begin, t.region.layout.ts_hz);
			open_frame = 0;
		}
	}
	if (n == 0)
		die("%s: no complete frames", path);
	qsort(durations, n, sizeof(*durations), compare_u64);
	for (size_t i = 0; i < n; i++)
		sum += durations[i];
	printf("frames=%zu median_ns=%" PRIu64 " mean_ns=%" PRIu64 "\n", n, durations[n / 2],
	       sum / n);
	free(durations);
	free(t.events);
	return 0;
}

/* ---- screendump ---------------------------------------------------------------- */

/* Reads one header token of a binary PPM, skipping whitespace and
 * comments; returns the number or -1. */
static long ppm_number(const uint8_t *d, size_t size, size_t *pos)
{
	long v = 0;
	int digits = 0;

	for (;;) {
		while (*pos < size &&
		       (d[*pos] == ' ' || d[*pos] == '\n' || d[*pos] == '\r' || d[*pos] == '\t'))
			(*pos)++;
		if (*pos < size && d[*pos] == '#') {
			while (*pos < size && d[*pos] != '\n')
				(*pos)++;
			continue;
		}
		break;
	}
	while (*pos < size && d[*pos] >= '0' && d[*pos] <= '9' && digits < 9) {
		v = v * 10 + (d[*pos] - '0');
		(*pos)++;
		digits++;
	}
	return digits ? v : -1;
}

static int cmd_screendump(const char *path, long width, long height)
{
	struct mapping m = map_file(path);
	struct scene_geometry g;
	size_t pos = 2;
	long w, h, maxval;
	uint64_t spoke = 0, wrong = 0, background = 0;
	long first_x = -1, first_y = -1;
	uint32_t first_got = 0, first_want = 0;

	subject = path;
	if (m.size < 2 || memcmp(m.data, "P6", 2) != 0)
		die("%s: not a binary PPM (P6) file", path);
	w = ppm_number(m.data, m.size, &pos);
	h = ppm_number(m.data, m.size, &pos);
	maxval = ppm_number(m.data, m.size, &pos);
	pos++; /* the single whitespace after maxval */
	if (w != width || h != height || maxval != 255)
		die("%s: %ldx%ld maxval %ld, expected %ldx%ld maxval 255", path, w, h, maxval,
		    width, height);
	if (pos + (size_t)(w * h * 3) > m.size)
		die("%s: %zu bytes of pixels, %ld expected", path, m.size - pos, w * h * 3);

	scene_geometry((uint32_t)w, (uint32_t)h, &g);
	for (long y = 0; y < h; y++)
		for (long x = 0; x < w; x++) {
			const uint8_t *p = m.data + pos + (size_t)(y * w + x) * 3;
			uint32_t got = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			uint32_t want = scene_static_colour(&g, (uint32_t)x, (uint32_t)y);
			int ok;

			if (want == 0xffffffffu) {
				/* Inside the wheel: background or a spoke. */
				ok = got == SCENE_BACKGROUND || got == SCENE_SPOKE_A ||
				     got == SCENE_SPOKE_B;
				spoke += got != SCENE_BACKGROUND && ok;
			} else {
				ok = got == want;
				background += want == SCENE_BACKGROUND && ok;
			}
			if (!ok && wrong++ == 0) {
				first_x = x;
				first_y = y;
				first_got = got;
				first_want = want;
			}
		}
	if (wrong)
		violation("%" PRIu64 " pixels are not the scene; first at (%ld,%ld): #%06x, "
			  "expected %s%06x",
			  wrong, first_x, first_y, first_got,
			  first_want == 0xffffffffu ? "background or spoke, not #" : "#",
			  first_want == 0xffffffffu ? first_got : first_want);
	/* Eight spokes of at least (rim - hub) / 2 pixels each. */
	if (spoke < SCENE_SPOKES * (g.rim_inner - g.hub_radius) / 2)
		violation("only %" PRIu64 " spoke pixels: the wheel has no spokes", spoke);
	if (background == 0)
		violation("no background pixels");
	printf("%s: %ldx%ld, %" PRIu64 " spoke pixels, %" PRIu64 " wrong: %s\n", path, w, h, spoke,
	       wrong, violations ? "FAILED" : "ok");
	munmap((void *)m.data, m.size);
	return violations ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------ */

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: check_trace check REGION [--frames N] [--policy NAME] "
			"[--commands N]\n"
			"                         [--log-per-frame | --no-log-in-frames] "
			"[--ram FILE]\n"
			"                         [--irq | --no-irq] [--queue NAME]\n"
			"                         [--events TYPE=N]... [--counter NAME=N]... "
			"[--log-bytes N]\n"
			"                         [--event-idx on|off] [--packed on|off] "
			"[--depth N] [--demo]\n"
			"       check_trace frames REGION\n"
			"       check_trace frame-ns REGION\n"
			"       check_trace screendump PPM WIDTH HEIGHT\n");
	exit(2);
}

static long number_arg(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die("bad %s '%s' (expected a non-negative number)", what, s);
	return v;
}

/* NAME=N of --events and --counter: sets *value, returns NAME's index in
 * names (or by the event type's name when names is NULL). */
static unsigned count_arg(const char *s, const char *what, const char *const *names, unsigned count,
			  long *value)
{
	const char *eq = strchr(s, '=');
	char name[32];
	int index = -1;

	if (!eq || (size_t)(eq - s) >= sizeof(name))
		die("bad %s '%s' (expected NAME=N)", what, s);
	memcpy(name, s, (size_t)(eq - s));
	name[eq - s] = 0;
	if (!names)
		index = vqp_event_type_from_name(name);
	else
		for (unsigned i = 0; i < count; i++)
			if (strcasecmp(name, names[i]) == 0)
				index = (int)i;
	if (index < 0 || (unsigned)index >= count)
		die("bad %s '%s' (no %s named %s)", what, s, names ? "counter" : "event type",
		    name);
	*value = number_arg(eq + 1, what);
	return (unsigned)index;
}

static int on_off(const char *s, const char *what)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0)
		return strcmp(s, "on") == 0;
	die("bad %s '%s' (expected on or off)", what, s);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"frames", required_argument, NULL, 'f'},
	    {"policy", required_argument, NULL, 'p'},
	    {"commands", required_argument, NULL, 'c'},
	    {"log-per-frame", no_argument, NULL, 'l'},
	    {"no-log-in-frames", no_argument, NULL, 'n'},
	    {"ram", required_argument, NULL, 'r'},
	    {"irq", no_argument, NULL, 'i'},
	    {"no-irq", no_argument, NULL, 'q'},
	    {"queue", required_argument, NULL, 'Q'},
	    {"events", required_argument, NULL, 'e'},
	    {"counter", required_argument, NULL, 'C'},
	    {"log-bytes", required_argument, NULL, 'L'},
	    {"event-idx", required_argument, NULL, 'E'},
	    {"packed", required_argument, NULL, 'P'},
	    {"depth", required_argument, NULL, 'd'},
	    {"demo", no_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	struct check_options o = {.frames = -1,
				  .commands = -1,
				  .irq = -1,
				  .queue = "gpu0.control",
				  .log_bytes = -1,
				  .event_idx = -1,
				  .packed = -1,
				  .depth = -1};
	uint64_t unused;
	unsigned index;
	long value;
	int c;

	for (unsigned i = 0; i < VQT_EV_TYPE_COUNT; i++)
		o.events[i] = -1;
	for (unsigned i = 0; i < VQT_C_COUNT; i++)
		o.counters[i] = -1;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "frames") == 0 && argc == 3)
		return cmd_frames(argv[2]);
	if (strcmp(argv[1], "frame-ns") == 0 && argc == 3)
		return cmd_frame_ns(argv[2]);
	if (strcmp(argv[1], "screendump") == 0 && argc == 5)
		return cmd_screendump(argv[2], number_arg(argv[3], "width"),
				      number_arg(argv[4], "height"));
	if (strcmp(argv[1], "check") != 0)
		usage();
	optind = 3;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.frames = number_arg(optarg, "--frames");
			break;
		case 'p':
			if (policy_barriers(optarg, 0, 1, &unused) != 0)
				die("bad --policy '%s' (expected seqcst-every, on-progress, "
				    "acquire-every or none)",
				    optarg);
			o.policy = optarg;
			break;
		case 'c':
			o.commands = number_arg(optarg, "--commands");
			break;
		case 'l':
			o.log_per_frame = 1;
			break;
		case 'n':
			o.no_log_in_frames = 1;
			break;
		case 'r':
			o.ram = optarg;
			break;
		case 'Q':
			o.queue = optarg;
			break;
		case 'i':
		case 'q':
			o.irq = c == 'i';
			break;
		case 'e':
			index = count_arg(optarg, "--events", NULL, VQT_EV_TYPE_COUNT, &value);
			o.events[index] = value;
			break;
		case 'C':
			index = count_arg(optarg, "--counter", counter_names, VQT_C_COUNT, &value);
			o.counters[index] = value;
			break;
		case 'L':
			o.log_bytes = number_arg(optarg, "--log-bytes");
			break;
		case 'E':
			o.event_idx = on_off(optarg, "--event-idx");
			break;
		case 'P':
			o.packed = on_off(optarg, "--packed");
			break;
		case 'd':
			o.depth = number_arg(optarg, "--depth");
			break;
		case 'D':
			o.demo = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	return cmd_check(argv[2], &o);
}
