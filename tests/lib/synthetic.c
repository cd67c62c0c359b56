/* synthetic.c - a small recording whose every event is known, for the
 * commands' unit tests and the golden files (see synthetic.h). */
#include <stdio.h>
#include <string.h>

#include "synthetic.h"

static struct vqt_event ev(uint64_t seq, uint64_t ts, uint8_t type, uint8_t queue)
{
	struct vqt_event e;

	memset(&e, 0, sizeof(e));
	e.seq = (uint32_t)seq;
	e.ts = ts;
	e.type = type;
	e.queue = queue;
	return e;
}

static struct vqt_event add(uint64_t seq, uint64_t ts, uint16_t head, uint16_t idx)
{
	struct vqt_event e = ev(seq, ts, VQT_EV_ADD, 0);

	e.head = head;
	e.ring_idx = idx;
	e.ndesc = 2;
	e.len = 100 + head;
	e.arg = 1;
	return e;
}

static struct vqt_event used(uint64_t seq, uint64_t ts, uint16_t head, uint16_t idx)
{
	struct vqt_event e = ev(seq, ts, VQT_EV_USED, 0);

	e.head = head;
	e.ring_idx = idx;
	e.ndesc = 2;
	e.len = 24;
	return e;
}

/* The first error of a session being written. */
static char failure[VQP_ERRLEN];

static void put(struct vqp_writer *w, uint32_t generation, const struct vqt_event *e, size_t n)
{
	char err[VQP_ERRLEN];

	/* Each call's first record carries its full sequence number. */
	if (vqp_writer_events(w, generation, e[0].seq, e, n, 0, 0, err, sizeof(err)) != VQP_OK &&
	    !failure[0])
		snprintf(failure, sizeof(failure), "events: %.200s", err);
}

static void put_region(struct vqp_writer *w, uint32_t generation)
{
	struct vqr_region r = {.generation = generation,
			       .ring_records = 1024,
			       .region_size = 65536,
			       .ts_hz = 1000000000,
			       .ts_source = VQT_TS_MONOTONIC};
	char err[VQP_ERRLEN];

	snprintf(r.producer, sizeof(r.producer), "unit test");
	if (vqp_writer_region(w, &r, err, sizeof(err)) != VQP_OK && !failure[0])
		snprintf(failure, sizeof(failure), "region: %.200s", err);
	vqp_writer_expect(w, generation, 0);
}

static void put_queue_names(struct vqp_writer *w, uint32_t generation)
{
	struct vqr_queue_entry q;
	char err[VQP_ERRLEN];

	memset(&q, 0, sizeof(q));
	q.slot = 0;
	q.queue.state = VQT_QS_ACTIVE;
	q.queue.ring_size = 8;
	q.queue.device_type = 2;
	snprintf(q.queue.name, sizeof(q.queue.name), "blk0.requests");
	if (vqp_writer_queues(w, 0, generation, &q, 1, err, sizeof(err)) != VQP_OK && !failure[0])
		snprintf(failure, sizeof(failure), "queues: %.200s", err);
}

/* ts_hz 1 GHz, so ticks are nanoseconds.  Session time starts at the
 * first event (ts 1000). */
int synthetic_session(const char *path, uint64_t log_ns, uint64_t close_extra_lost,
		      uint64_t close_extra_violations, char *errbuf, size_t errlen)
{
	struct vqp_writer_opts o = {.ts_hz = 1000000000,
				    .ts_start = 1000,
				    .ts_source = VQT_TS_MONOTONIC,
				    .source_kind = VQR_SRC_TEST,
				    .producer = "unit test"};
	char err[VQP_ERRLEN];
	struct vqp_writer *w = vqp_writer_open(path, &o, true, err, sizeof(err));
	struct vqr_close c = {.reason = VQR_END_NORMAL,
			      .events = 18,
			      .lost = 2 + close_extra_lost,
			      .violations = close_extra_violations};

	failure[0] = 0;
	if (!w) {
		snprintf(errbuf, errlen, "writer: %s", err);
		return -1;
	}
	put_region(w, 1);
	put_queue_names(w, 1);

	struct vqt_event queue = ev(0, 1000, VQT_EV_QUEUE, 0);
	queue.ndesc = VQT_QS_ACTIVE;
	queue.ring_idx = 8;
	struct vqt_event kick = ev(3, 3500, VQT_EV_KICK, 0);
	kick.ring_idx = 2;
	kick.len = 2;
	struct vqt_event first[] = {
	    queue, add(1, 2000, 0, 0),	add(2, 3000, 1, 1), /* overlaps head 0: a second lane */
	    kick,  used(4, 5000, 0, 0), used(5, 6000, 1, 1), add(6, 7000, 2, 2)};
	put(w, 1, first, sizeof(first) / sizeof(first[0]));
	vqp_writer_flush(w, err, sizeof(err));

	/* Records 7 and 8 are lost: head 2's pair is broken. */
	struct vqt_event frame_begin = ev(12, 11000, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE);
	frame_begin.arg = 1;
	struct vqt_event log = ev(13, 12000, VQT_EV_LOG, VQT_QUEUE_NONE);
	log.len = 10;
	log.arg = log_ns;
	struct vqt_event frame_end = ev(14, 13000, VQT_EV_FRAME_END, VQT_QUEUE_NONE);
	frame_end.arg = 1;
	frame_end.len = 1;
	struct vqt_event frame_next = ev(15, 14000, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE);
	frame_next.arg = 2;
	struct vqt_event second[] = {used(9, 9000, 2, 2),
				     add(10, 10000, 3, 3),
				     used(11, 10500, 5, 3), /* head 5 was never added */
				     frame_begin,
				     log,
				     frame_end,
				     frame_next};
	put(w, 1, second, sizeof(second) / sizeof(second[0]));

	/* The producer restarts: head 3 never completes. */
	put_region(w, 2);
	queue.seq = 0;
	queue.ts = 500;
	struct vqt_event third[] = {queue, add(1, 600, 0, 0), used(2, 900, 0, 0),
				    add(3, 1000, 1, 1)};
	put(w, 2, third, sizeof(third) / sizeof(third[0]));
	snprintf(c.detail, sizeof(c.detail), "duration elapsed");
	if (vqp_writer_close(w, &c, err, sizeof(err)) != VQP_OK && !failure[0])
		snprintf(failure, sizeof(failure), "close: %.200s", err);
	snprintf(errbuf, errlen, "%s", failure);
	return failure[0] ? -1 : 0;
}

/* ---- frames ------------------------------------------------------------------ */

/* A recording whose clock starts at 1 ms, chunks of per_chunk events. */
static struct vqp_writer *open_at_1ms(const char *path, const char *producer, uint32_t per_chunk,
				      char *errbuf, size_t errlen)
{
	struct vqp_writer_opts o = {.ts_hz = 1000000000,
				    .ts_start = 1000000,
				    .ts_source = VQT_TS_MONOTONIC,
				    .source_kind = VQR_SRC_TEST,
				    .producer = producer,
				    .events_per_chunk = per_chunk};
	char err[VQP_ERRLEN];
	struct vqp_writer *w = vqp_writer_open(path, &o, true, err, sizeof(err));

	failure[0] = 0;
	if (!w)
		snprintf(errbuf, errlen, "writer: %s", err);
	return w;
}

/* Close after `events` records, ended normally; 0, or -1 with errbuf. */
static int close_after(struct vqp_writer *w, uint64_t events, char *errbuf, size_t errlen)
{
	struct vqr_close c = {.reason = VQR_END_NORMAL, .events = events};
	char err[VQP_ERRLEN];

	snprintf(c.detail, sizeof(c.detail), "duration elapsed");
	if (vqp_writer_close(w, &c, err, sizeof(err)) != VQP_OK && !failure[0])
		snprintf(failure, sizeof(failure), "close: %.200s", err);
	snprintf(errbuf, errlen, "%s", failure);
	return failure[0] ? -1 : 0;
}

/* The region, the queue table and the QUEUE event of queue 0 (8
 * entries) at ts; returns the next sequence number. */
static uint64_t start_one_queue(struct vqp_writer *w, uint64_t ts)
{
	struct vqt_event e = ev(0, ts, VQT_EV_QUEUE, 0);

	put_region(w, 1);
	put_queue_names(w, 1);
	e.ndesc = VQT_QS_ACTIVE;
	e.ring_idx = 8;
	put(w, 1, &e, 1);
	return 1;
}

/* One command on queue 0 into e[*n..]: ADD, KICK, a POLL of busy ns with
 * spins and barriers, USED. */
static void command(struct vqt_event *e, size_t *n, uint64_t *seq, uint64_t *ts, uint16_t head,
		    uint16_t idx, uint64_t busy, uint32_t spins, uint8_t barriers)
{
	e[*n] = add((*seq)++, *ts += 10000, head, idx);
	e[(*n)++].queue = 0;
	e[*n] = ev((*seq)++, *ts += 5000, VQT_EV_KICK, 0);
	e[*n].ring_idx = (uint16_t)(idx + 1);
	e[(*n)++].len = 1;
	e[*n] = ev((*seq)++, *ts += busy, VQT_EV_POLL, 0);
	e[*n].ndesc = VQT_POLL_PROGRESS;
	e[*n].barriers = barriers;
	e[*n].len = spins;
	e[(*n)++].arg = busy;
	e[(*n)++] = used((*seq)++, *ts += 2000, head, idx);
}

int synthetic_frames(const char *path, char *errbuf, size_t errlen)
{
	struct vqp_writer *w = open_at_1ms(path, "golden frames", 16, errbuf, errlen);
	struct vqt_event e[64];
	uint64_t seq, ts = 1000000;
	uint16_t idx = 0;

	if (!w)
		return -1;
	seq = start_one_queue(w, ts);
	/* 24 frames of 4 ms: three commands each (ADD, KICK, POLL, USED),
	 * 1 ms of log output; frame 17 logs for 9 ms (a stall of the log)
	 * and frame 20's second command takes 12 ms (a stall of the device). */
	for (uint64_t f = 1; f <= 24; f++) {
		size_t n = 0;

		ts = 1000000 + (f - 1) * 4000000 + (f > 17 ? 8000000 : 0) + (f > 20 ? 12000000 : 0);

		e[n] = ev(seq++, ts, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE);
		e[n++].arg = f;
		for (uint16_t c = 0; c < 3; c++) {
			uint64_t busy = f == 20 && c == 1 ? 12000000 : 400000;

			command(e, &n, &seq, &ts, c, idx++, busy, 40, 3);
		}
		e[n] = ev(seq++, ts += (f == 17 ? 9000000 : 1000000), VQT_EV_LOG, VQT_QUEUE_NONE);
		e[n].len = 64;
		e[n++].arg = f == 17 ? 9000000 : 1000000;
		e[n] = ev(seq++, ts += 1000, VQT_EV_FRAME_END, VQT_QUEUE_NONE);
		e[n].arg = f;
		e[n++].len = 3;
		put(w, 1, e, n);
	}
	return close_after(w, seq, errbuf, errlen);
}

/* ---- a long session ----------------------------------------------------------- */

static int long_session(const char *path, uint64_t frames, uint32_t spins, uint8_t barriers,
			char *errbuf, size_t errlen)
{
	struct vqp_writer *w = open_at_1ms(path, "long", 0, errbuf, errlen);
	struct vqt_event e[LONG_COMMANDS_PER_FRAME * 4 + 2];
	uint64_t seq, ts = 1000000;
	uint16_t idx = 0;

	if (!w)
		return -1;
	seq = start_one_queue(w, ts);
	/* Frames of 60 commands on heads 0..7 (ADD, KICK, POLL, USED, 10 us
	 * of the device each), one every 5 ms. */
	for (uint64_t f = 1; f <= frames && !failure[0]; f++) {
		size_t n = 0;

		ts = 1000000 + f * 5000000;
		e[n] = ev(seq++, ts, VQT_EV_FRAME_BEGIN, VQT_QUEUE_NONE);
		e[n++].arg = f;
		for (uint16_t c = 0; c < LONG_COMMANDS_PER_FRAME; c++)
			command(e, &n, &seq, &ts, c % 8, idx++, 10000, spins, barriers);
		e[n] = ev(seq++, ts += 1000, VQT_EV_FRAME_END, VQT_QUEUE_NONE);
		e[n].arg = f;
		e[n++].len = LONG_COMMANDS_PER_FRAME;
		put(w, 1, e, n);
	}
	return close_after(w, seq, errbuf, errlen);
}

int synthetic_long(const char *path, uint64_t frames, char *errbuf, size_t errlen)
{
	return long_session(path, frames, 7, 1, errbuf, errlen);
}

int synthetic_fenced(const char *path, uint64_t frames, char *errbuf, size_t errlen)
{
	return long_session(path, frames, 4, 8, errbuf, errlen);
}

/* ---- the queue table first ------------------------------------------------------------ */

int synthetic_table_first(const char *path, char *errbuf, size_t errlen)
{
	struct vqp_writer *w = open_at_1ms(path, "table first", 0, errbuf, errlen);
	struct vqr_queue_entry q;
	struct vqt_event e[1 + 4 * 4];
	uint64_t seq = 0, ts = 1000000;
	size_t n = 0;
	char err[VQP_ERRLEN];

	if (!w)
		return -1;
	put_region(w, 1);
	/* The table as vqscope record reads it when it starts: after the
	 * four commands below, which it then reads from the guest's ring. */
	memset(&q, 0, sizeof(q));
	q.queue.state = VQT_QS_ACTIVE;
	q.queue.ring_size = 8;
	q.queue.device_type = 2;
	q.queue.avail_idx = 4;
	q.queue.last_used_idx = 4;
	q.queue.num_free = 8;
	q.queue.counters[VQT_C_ADDS] = 4;
	q.queue.counters[VQT_C_COMPLETIONS] = 4;
	q.queue.last_event_ts = 1000000 + 4 * 27000;
	snprintf(q.queue.name, sizeof(q.queue.name), "blk0.requests");
	if (vqp_writer_queues(w, q.queue.last_event_ts, 1, &q, 1, err, sizeof(err)) != VQP_OK &&
	    !failure[0])
		snprintf(failure, sizeof(failure), "queues: %.200s", err);
	e[n] = ev(seq++, ts, VQT_EV_QUEUE, 0);
	e[n].ndesc = VQT_QS_ACTIVE;
	e[n++].ring_idx = 8;
	for (uint16_t c = 0; c < 4; c++)
		command(e, &n, &seq, &ts, c, c, 10000, 7, 1);
	put(w, 1, e, n);
	return close_after(w, seq, errbuf, errlen);
}

/* ---- a receive queue --------------------------------------------------------- */

static void put_net_queues(struct vqp_writer *w, uint32_t generation)
{
	struct vqr_queue_entry q[2];
	char err[VQP_ERRLEN];

	memset(q, 0, sizeof(q));
	for (unsigned i = 0; i < 2; i++) {
		q[i].slot = i;
		q[i].queue.state = VQT_QS_ACTIVE;
		q[i].queue.ring_size = 8;
		q[i].queue.device_type = 1;
		q[i].queue.queue_index = (uint16_t)i;
	}
	/* rx: all 8 buffers posted before tracing began. */
	q[0].queue.flags = VQT_QF_RECEIVE;
	q[0].queue.avail_idx = 8;
	snprintf(q[0].queue.name, sizeof(q[0].queue.name), "net0.rx");
	snprintf(q[1].queue.name, sizeof(q[1].queue.name), "net0.tx");
	if (vqp_writer_queues(w, 0, generation, q, 2, err, sizeof(err)) != VQP_OK && !failure[0])
		snprintf(failure, sizeof(failure), "queues: %.200s", err);
}

/* An rx buffer posted (ADD of one device-writable descriptor) and filled
 * (USED with the bytes written), on queue slot 0. */
static struct vqt_event rx_post(uint64_t seq, uint64_t ts, uint16_t head, uint16_t idx)
{
	struct vqt_event e = add(seq, ts, head, idx);

	e.ndesc = 1;
	e.len = 1526;
	e.arg = 1;
	return e;
}

static struct vqt_event rx_fill(uint64_t seq, uint64_t ts, uint16_t head, uint16_t idx,
				uint32_t len)
{
	struct vqt_event e = used(seq, ts, head, idx);

	e.ndesc = 1;
	e.len = len;
	return e;
}

int synthetic_receive(const char *path, char *errbuf, size_t errlen)
{
	struct vqp_writer *w = open_at_1ms(path, "golden receive", 8, errbuf, errlen);
	struct vqt_event e[64];
	uint64_t seq = 0, ts;
	uint16_t rx_avail = 8, rx_used = 0;
	size_t n = 0;

	if (!w)
		return -1;
	put_region(w, 1);
	put_net_queues(w, 1);
	/* Four pings 100 ms apart: a tx command, then the reply fills an rx
	 * buffer posted before tracing, which the driver posts again. */
	for (uint16_t k = 0; k < 4; k++) {
		ts = 1000000 + k * 100000000ull;
		e[n] = add(seq++, ts, k, k);
		e[n++].queue = 1;
		e[n] = ev(seq++, ts += 1000, VQT_EV_KICK, 1);
		e[n++].ring_idx = (uint16_t)(k + 1);
		e[n] = used(seq++, ts += 20000, k, k);
		e[n++].queue = 1;
		e[n++] = ev(seq++, ts += 500000, VQT_EV_IRQ, 0);
		e[n++] = rx_fill(seq++, ts += 5000, k, rx_used++, 98);
		e[n++] = rx_post(seq++, ts += 2000, k, rx_avail++);
	}
	put(w, 1, e, n);
	/* At 1 s a burst of 8 packets fills every buffer: the 4 left from
	 * before tracing and the 4 posted again.  The driver posts no more for
	 * 300 ms: the queue starves. */
	n = 0;
	ts = 1001000000;
	e[n++] = ev(seq++, ts, VQT_EV_IRQ, 0);
	for (uint16_t k = 0; k < 8; k++)
		e[n++] = rx_fill(seq++, ts += 1000, (uint16_t)((k + 4) % 8), rx_used++, 1514);
	ts += 300000000;
	for (uint16_t k = 0; k < 8; k++)
		e[n++] = rx_post(seq++, ts += 1000, k, rx_avail++);
	put(w, 1, e, n);
	/* At 2 s one more packet; then a USED of the same head again, which
	 * the driver did not post again: an anomaly. */
	n = 0;
	ts = 2001000000;
	e[n++] = ev(seq++, ts, VQT_EV_IRQ, 0);
	e[n++] = rx_fill(seq++, ts += 5000, 0, rx_used++, 60);
	e[n++] = rx_fill(seq++, ts += 100000000, 0, rx_used++, 60);
	put(w, 1, e, n);
	return close_after(w, seq, errbuf, errlen);
}
