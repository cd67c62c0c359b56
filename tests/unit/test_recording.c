/* test_recording.c - .vqt writer and reader: round trip of every chunk
 * type, files cut short at every byte of their tail, flipped bits caught by
 * CRC32C (and skipped with salvage), a missing or damaged index rebuilt,
 * crash repair, and loss accounting across chunks and generations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/internal.h"
#include "vqproto.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/vqrec-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static struct vqt_event make_event(uint64_t seq, uint8_t type)
{
	struct vqt_event e;

	memset(&e, 0, sizeof(e));
	e.ts = 1000 + seq * 10;
	e.seq = (uint32_t)seq;
	e.type = type;
	e.queue = type == VQT_EV_MARK ? VQT_QUEUE_NONE : 0;
	e.ndesc = type == VQT_EV_ADD ? 2 : 0;
	e.head = (uint16_t)(seq % 64);
	e.ring_idx = (uint16_t)seq;
	e.len = 4096;
	e.arg = seq;
	return e;
}

static struct vqp_writer *open_writer(const char *path, uint32_t per_chunk)
{
	struct vqp_writer_opts o = {.ts_hz = 1000000000,
				    .ts_start = 1000,
				    .ts_source = VQT_TS_MONOTONIC,
				    .source_kind = VQR_SRC_TEST,
				    .producer = "unit test",
				    .events_per_chunk = per_chunk};
	char err[VQP_ERRLEN];
	struct vqp_writer *w = vqp_writer_open(path, &o, true, err, sizeof(err));

	if (!w)
		fail_msg("writer: %s", err);
	return w;
}

/* Writes a recording with every chunk type: a region, 10 000 events in
 * chunks of 1000, a queue snapshot, a device sample and an annotation. */
static void write_sample(const char *path, bool close_it)
{
	struct vqp_writer *w = open_writer(path, 1000);
	char err[VQP_ERRLEN];
	struct vqr_region reg = {.generation = 3,
				 .ring_records = 1024,
				 .region_size = 65536,
				 .ts_hz = 1000000000,
				 .ts_source = VQT_TS_MONOTONIC};
	struct vqr_queue_entry qe;
	struct vqr_device dh = {.host_mono_ns = 5, .count = 1};
	struct vqr_device_queue dq;
	struct vqr_close c = {.events = 10000, .reason = VQR_END_NORMAL};

	strcpy(reg.producer, "demo");
	assert_int_equal(vqp_writer_region(w, &reg, err, sizeof(err)), VQP_OK);
	vqp_writer_expect(w, 3, 0);
	for (uint64_t s = 0; s < 10000; s += 100) {
		struct vqt_event batch[100];

		for (int i = 0; i < 100; i++)
			batch[i] = make_event(s + (uint64_t)i, i % 2 ? VQT_EV_USED : VQT_EV_ADD);
		assert_int_equal(vqp_writer_events(w, 3, s, batch, 100, 0, 0, err, sizeof(err)),
				 VQP_OK);
	}
	memset(&qe, 0, sizeof(qe));
	qe.slot = 0;
	qe.queue.state = VQT_QS_ACTIVE;
	qe.queue.ring_size = 64;
	strcpy(qe.queue.name, "gpu0.control");
	assert_int_equal(vqp_writer_queues(w, 99, 3, &qe, 1, err, sizeof(err)), VQP_OK);
	memset(&dq, 0, sizeof(dq));
	strcpy(dq.path, "/machine/peripheral-anon/device[0]/virtio-backend");
	dq.vring_num = 64;
	dq.used_idx = 7;
	assert_int_equal(vqp_writer_device(w, &dh, &dq, err, sizeof(err)), VQP_OK);
	assert_int_equal(vqp_writer_annot(w, 123, VQR_ANNOT_NOTE, "hello", err, sizeof(err)),
			 VQP_OK);
	if (close_it) {
		strcpy(c.detail, "test done");
		assert_int_equal(vqp_writer_close(w, &c, err, sizeof(err)), VQP_OK);
	} else {
		assert_int_equal(vqp_writer_flush(w, err, sizeof(err)), VQP_OK);
		vqp_writer_abandon(w);
	}
}

/* Reads every chunk; returns the number of events and checks contents. */
static uint64_t read_all(struct vqp_file *f, int *types_seen)
{
	uint64_t events = 0;
	char err[VQP_ERRLEN];

	for (size_t i = 0; i < f->nchunks; i++) {
		const void *p;
		uint32_t len;

		if (vqp_file_chunk(f, i, &p, &len, err, sizeof(err)) != VQP_OK)
			continue; /* damaged (salvage): skipped */
		types_seen[f->chunks[i].type]++;
		switch (f->chunks[i].type) {
		case VQR_CHUNK_EVENTS: {
			struct vqp_events_view v;

			assert_int_equal(vqp_decode_events(p, len, &v, err, sizeof(err)), VQP_OK);
			for (uint32_t k = 0; k < v.count; k++) {
				struct vqt_event e;
				uint64_t seq = vqp_events_seq(&v, k);

				vqp_events_get(&v, k, &e);
				assert_int_equal(e.arg, seq);
				assert_int_equal(e.ts, 1000 + seq * 10);
			}
			assert_int_equal(f->chunks[i].first_seq, v.hdr.first_seq);
			events += v.count;
			break;
		}
		case VQR_CHUNK_QUEUES: {
			struct vqr_queues qh;
			const struct vqr_queue_entry *qe;
			struct vqr_queue_entry e;

			assert_int_equal(vqp_decode_queues(p, len, &qh, &qe, err, sizeof(err)),
					 VQP_OK);
			memcpy(&e, qe, sizeof(e));
			assert_string_equal(e.queue.name, "gpu0.control");
			break;
		}
		case VQR_CHUNK_DEVICE: {
			struct vqr_device dh;
			const struct vqr_device_queue *dq;

			assert_int_equal(vqp_decode_device(p, len, &dh, &dq, err, sizeof(err)),
					 VQP_OK);
			assert_int_equal(dh.count, 1);
			break;
		}
		case VQR_CHUNK_ANNOT: {
			struct vqr_annot ah;
			char text[32];

			assert_int_equal(
			    vqp_decode_annot(p, len, &ah, text, sizeof(text), err, sizeof(err)),
			    VQP_OK);
			assert_string_equal(text, "hello");
			break;
		}
		case VQR_CHUNK_REGION: {
			struct vqr_region r;

			assert_int_equal(vqp_decode_region(p, len, &r, err, sizeof(err)), VQP_OK);
			assert_string_equal(r.producer, "demo");
			break;
		}
		case VQR_CHUNK_CLOSE: {
			struct vqr_close c;

			assert_int_equal(vqp_decode_close(p, len, &c, err, sizeof(err)), VQP_OK);
			assert_string_equal(c.detail, "test done");
			break;
		}
		}
	}
	return events;
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	int seen[VQR_CHUNK_TYPE_COUNT] = {0};

	path_of(path, sizeof(path), "round.vqt");
	write_sample(path, true);
	struct vqp_file *f = vqp_file_open(path, 0, err, sizeof(err));
	if (!f)
		fail_msg("open: %s", err);
	assert_true(f->clean);
	assert_false(f->index_rebuilt);
	assert_string_equal(f->producer, "unit test");
	assert_int_equal(f->header.ts_hz, 1000000000);
	assert_int_equal(read_all(f, seen), 10000);
	assert_int_equal(seen[VQR_CHUNK_EVENTS], 10);
	assert_int_equal(seen[VQR_CHUNK_REGION], 1);
	assert_int_equal(seen[VQR_CHUNK_QUEUES], 1);
	assert_int_equal(seen[VQR_CHUNK_DEVICE], 1);
	assert_int_equal(seen[VQR_CHUNK_ANNOT], 1);
	assert_int_equal(seen[VQR_CHUNK_CLOSE], 1);
	assert_int_equal(seen[VQR_CHUNK_INDEX], 0);
	/* Chunks are in file order and EVENTS carry their first ts/seq. */
	assert_int_equal(f->chunks[1].type, VQR_CHUNK_EVENTS);
	assert_int_equal(f->chunks[1].first_seq, 0);
	assert_int_equal(f->chunks[2].first_seq, 1000);
	assert_int_equal(f->chunks[2].first_ts, 1000 + 1000 * 10);
	vqp_file_close(f);
}

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	void *buf;

	assert_non_null(fp);
	*len = file_size(path);
	buf = malloc(*len);
	assert_int_equal(fread(buf, 1, *len, fp), *len);
	fclose(fp);
	return buf;
}

/* A writer killed mid-file: every cut point leaves a readable file with
 * exactly the chunks that were whole. */
static void test_truncated_at_every_tail_byte(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	size_t len;

	path_of(path, sizeof(path), "crash.vqt");
	write_sample(path, false);
	uint8_t *data = read_file(path, &len);
	struct vqp_file *whole = vqp_file_open_mem(data, len, 0, err, sizeof(err));
	assert_non_null(whole);
	assert_false(whole->clean);
	assert_true(whole->index_rebuilt);
	assert_int_equal(whole->nchunks, 14);
	/* The last chunk is whole once its payload is; padding is not
	 * covered by the CRC. */
	size_t last_start = whole->chunks[whole->nchunks - 1].offset;
	size_t last_whole = last_start + 16 + whole->chunks[whole->nchunks - 1].length;
	size_t prev_start = whole->chunks[whole->nchunks - 2].offset;
	vqp_file_close(whole);

	/* Cut anywhere inside the last two chunks. */
	for (size_t cut = prev_start; cut < len; cut++) {
		uint8_t *copy = malloc(cut);
		memcpy(copy, data, cut);
		struct vqp_file *f = vqp_file_open_mem(copy, cut, 0, err, sizeof(err));
		if (!f)
			fail_msg("cut at %zu: %s", cut, err);
		assert_false(f->clean);
		assert_int_equal(f->nchunks, cut < last_start ? 12 : cut < last_whole ? 13 : 14);
		if (cut < last_whole)
			assert_non_null(strstr(f->note, "not closed cleanly"));
		if (cut == last_whole) {
			/* Killed between two writes: whole chunks only, and
			 * the note says where they end. */
			char want[128];

			snprintf(want, sizeof(want),
				 "not closed cleanly: ends at offset 0x%zx after 14 whole chunks, "
				 "with no index",
				 cut);
			assert_string_equal(f->note, want);
		}
		vqp_file_close(f);
		free(copy);
	}
	/* Shorter than a header: a one-line error naming the offset. */
	assert_null(vqp_file_open_mem(data, 100, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "offset 0x0"));
	free(data);
}

static void test_flipped_bits_detected(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	size_t len;
	int seen[VQR_CHUNK_TYPE_COUNT] = {0};

	path_of(path, sizeof(path), "flip.vqt");
	write_sample(path, false); /* no index: every chunk is CRC-checked on open */
	uint8_t *data = read_file(path, &len);
	struct vqp_file *f = vqp_file_open_mem(data, len, 0, err, sizeof(err));
	assert_non_null(f);
	size_t victim = f->chunks[4].offset; /* an EVENTS chunk in the middle */
	vqp_file_close(f);

	data[victim + 16 + 200] ^= 0x10;
	assert_null(vqp_file_open_mem(data, len, 0, err, sizeof(err)));
	char want[64];
	snprintf(want, sizeof(want), "offset 0x%zx: chunk 4: CRC32C", victim);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);

	f = vqp_file_open_mem(data, len, VQP_OPEN_SALVAGE, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(f->damaged, 1);
	assert_int_equal(read_all(f, seen), 9000);
	vqp_file_close(f);

	/* A flipped bit in a clean file's chunk is caught when it is read. */
	path_of(path, sizeof(path), "flip-clean.vqt");
	write_sample(path, true);
	free(data);
	data = read_file(path, &len);
	f = vqp_file_open_mem(data, len, 0, err, sizeof(err));
	assert_non_null(f);
	assert_true(f->clean);
	data[f->chunks[2].offset + 16 + 64] ^= 1;
	const void *p;
	uint32_t plen;
	assert_int_equal(vqp_file_chunk(f, 2, &p, &plen, err, sizeof(err)), VQP_INVALID);
	assert_non_null(strstr(err, "CRC32C"));
	vqp_file_close(f);

	/* The header has its own CRC. */
	data[0x20] ^= 4;
	assert_null(vqp_file_open_mem(data, len, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "offset 0x7c: header CRC32C"));
	free(data);
}

static void test_missing_index_rebuilt(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	size_t len;
	int seen[VQR_CHUNK_TYPE_COUNT] = {0};

	path_of(path, sizeof(path), "noindex.vqt");
	write_sample(path, true);
	uint8_t *data = read_file(path, &len);

	/* Trailer gone. */
	struct vqp_file *f = vqp_file_open_mem(data, len - 32, 0, err, sizeof(err));
	assert_non_null(f);
	assert_true(f->index_rebuilt);
	assert_int_equal(f->nchunks, 15);
	assert_int_equal(read_all(f, seen), 10000);
	vqp_file_close(f);

	/* Index entry pointing at the wrong offset: rejected, rebuilt. */
	struct vqr_trailer tr;
	memcpy(&tr, data + len - 32, sizeof(tr));
	uint8_t *entry0 = data + tr.index_offset + 16 + sizeof(struct vqr_index);
	uint64_t bogus = 8;
	memcpy(entry0, &bogus, 8);
	f = vqp_file_open_mem(data, len, 0, err, sizeof(err));
	assert_non_null(f); /* the index chunk's CRC fails: scan instead */
	assert_true(f->index_rebuilt);
	assert_false(f->clean);
	assert_non_null(strstr(f->note, "index damaged"));
	assert_int_equal(f->nchunks, 15);
	vqp_file_close(f);
	free(data);
}

static void test_repair_adds_index(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];

	path_of(path, sizeof(path), "repair.vqt");
	write_sample(path, false);
	/* A torn partial chunk at the end, as a SIGKILL mid-write leaves. */
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x01\0\0\0\xff\xff\0\0garbage", 15), 15);
	close(fd);

	assert_int_equal(vqp_file_repair(path, err, sizeof(err)), VQP_OK);
	struct vqp_file *f = vqp_file_open(path, 0, err, sizeof(err));
	if (!f)
		fail_msg("reopen: %s", err);
	assert_true(f->clean);
	assert_int_equal(f->nchunks, 14);
	vqp_file_close(f);
}

/* Loss is explicit between chunks (lost_before) and implicit inside a
 * chunk (gaps in sequence numbers); both add up, minus the records the
 * reader dropped as malformed (dropped_before), which are violations. */
static void test_loss_accounting(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	struct vqp_writer *w;
	struct vqt_event ev[4];

	path_of(path, sizeof(path), "loss.vqt");
	w = open_writer(path, 3);
	vqp_writer_expect(w, 1, 10);
	ev[0] = make_event(15, VQT_EV_MARK); /* 5 lost before */
	ev[1] = make_event(16, VQT_EV_MARK);
	ev[2] = make_event(20, VQT_EV_MARK); /* 3 lost inside */
	assert_int_equal(vqp_writer_events(w, 1, 15, ev, 3, 0, 0, err, sizeof(err)), VQP_OK);
	ev[0] = make_event(22, VQT_EV_MARK); /* 1 missing before: dropped */
	vqp_writer_dropped(w, 1);
	assert_int_equal(vqp_writer_events(w, 1, 22, ev, 1, 2, 0, err, sizeof(err)), VQP_OK);
	/* Out of order is refused. */
	ev[0] = make_event(21, VQT_EV_MARK);
	assert_int_equal(vqp_writer_events(w, 1, 21, ev, 1, 0, 0, err, sizeof(err)), VQP_INVALID);
	/* New generation: counting restarts where the reader says. */
	vqp_writer_expect(w, 2, 0);
	ev[0] = make_event(2, VQT_EV_MARK);
	assert_int_equal(vqp_writer_events(w, 2, 2, ev, 1, 0, 0, err, sizeof(err)), VQP_OK);
	assert_int_equal(vqp_writer_close(w, NULL, err, sizeof(err)), VQP_OK);

	struct vqp_file *f = vqp_file_open(path, 0, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(f->nchunks, 3);
	uint64_t lost_before[3], lost[3], gaps = 0;
	uint32_t violations[3], dropped[3];
	for (size_t i = 0; i < 3; i++) {
		const void *p;
		uint32_t len;
		struct vqp_events_view v;

		assert_int_equal(vqp_file_chunk(f, i, &p, &len, err, sizeof(err)), VQP_OK);
		assert_int_equal(vqp_decode_events(p, len, &v, err, sizeof(err)), VQP_OK);
		lost_before[i] = v.hdr.lost_before;
		lost[i] = v.lost;
		violations[i] = v.hdr.violations_before;
		dropped[i] = v.hdr.dropped_before;
		for (uint32_t k = 1; k < v.count; k++)
			gaps += vqp_events_seq(&v, k) - vqp_events_seq(&v, k - 1) - 1;
	}
	assert_int_equal(lost_before[0], 5);
	assert_int_equal(lost_before[1], 1);
	assert_int_equal(lost_before[2], 2);
	assert_int_equal(gaps, 3);
	assert_int_equal(violations[1], 2);
	assert_int_equal(dropped[0], 0);
	assert_int_equal(dropped[1], 1);
	assert_int_equal(lost[0], 8);
	assert_int_equal(lost[1], 0);
	assert_int_equal(lost[2], 2);

	/* A chunk that says more records were dropped than are missing is
	 * refused. */
	const void *p;
	uint32_t len;
	struct vqp_events_view v;
	uint8_t bad[sizeof(struct vqr_events) + sizeof(struct vqt_event)];

	assert_int_equal(vqp_file_chunk(f, 1, &p, &len, err, sizeof(err)), VQP_OK);
	assert_int_equal(len, sizeof(bad));
	memcpy(bad, p, sizeof(bad));
	((struct vqr_events *)(void *)bad)->dropped_before = 2;
	assert_int_equal(vqp_decode_events(bad, sizeof(bad), &v, err, sizeof(err)), VQP_INVALID);
	assert_non_null(strstr(err, "2 dropped records, but 1 missing"));
	vqp_file_close(f);
}

static void test_refuses_bad_inputs(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];

	path_of(path, sizeof(path), "exists.vqt");
	write_sample(path, true);
	struct vqp_writer_opts o = {.ts_hz = 1};
	/* O_EXCL: an existing recording is never clobbered by accident. */
	assert_null(vqp_writer_open(path, &o, false, err, sizeof(err)));
	assert_non_null(strstr(err, "File exists"));
	assert_null(vqp_file_open(tmpdir, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	path_of(path, sizeof(path), "missing.vqt");
	assert_null(vqp_file_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));

	/* Decoders reject lengths that disagree with counts. */
	uint8_t buf[64] = {0};
	struct vqp_events_view v;
	uint32_t count = 1000;
	memcpy(buf + 8, &count, 4);
	assert_int_equal(vqp_decode_events(buf, 48, &v, err, sizeof(err)), VQP_INVALID);
	assert_non_null(strstr(err, "says 1000 records"));
}

/* A chunk type from a later minor version is skipped, not damage. */
static void test_unknown_chunk_type_skipped(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	uint8_t chunk[16 + 8] = {0};
	uint32_t type = 99, length = 5;

	path_of(path, sizeof(path), "future.vqt");
	write_sample(path, false);
	memcpy(chunk, &type, 4);
	memcpy(chunk + 4, &length, 4);
	memcpy(chunk + 16, "later", 5);
	uint32_t crc = vqp_crc32c(vqp_crc32c(0, chunk, 8), chunk + 16, 5);
	memcpy(chunk + 8, &crc, 4);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(fd);

	struct vqp_file *f = vqp_file_open(path, 0, err, sizeof(err));
	if (!f)
		fail_msg("open: %s", err);
	assert_int_equal(f->unknown, 1);
	assert_int_equal(f->nchunks, 14);
	vqp_file_close(f);
	/* Repair keeps it in the index; a reopen still skips it. */
	assert_int_equal(vqp_file_repair(path, err, sizeof(err)), VQP_OK);
	f = vqp_file_open(path, 0, err, sizeof(err));
	assert_non_null(f);
	assert_true(f->clean);
	assert_int_equal(f->unknown, 1);
	assert_int_equal(f->nchunks, 14);
	vqp_file_close(f);
}

/* PRODUCER chunks (minor 2) come back as written, and no other size of
 * one is taken. */
static void test_producer_chunk(void **state)
{
	(void)state;
	char path[300], err[VQP_ERRLEN];
	struct vqp_writer *w;
	struct vqp_file *f;
	const struct vqr_producer written[2] = {
	    {.host_mono_ns = 7,
	     .heartbeat_ts = 900,
	     .heartbeats = 3,
	     .state = 1,
	     .heartbeat_ms = 100},
	    {.host_mono_ns = 9, .heartbeat_ts = 950, .heartbeats = 4, .state = 2}};
	struct vqr_producer got;
	unsigned found = 0;

	path_of(path, sizeof(path), "producer.vqt");
	w = open_writer(path, 1000);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vqp_writer_producer(w, &written[i], err, sizeof(err)), VQP_OK);
	assert_int_equal(
	    vqp_writer_close(w, &(struct vqr_close){.reason = VQR_END_NORMAL}, err, sizeof(err)),
	    VQP_OK);
	f = vqp_file_open(path, 0, err, sizeof(err));
	if (!f)
		fail_msg("open: %s", err);
	assert_int_equal(f->header.version_minor, 2);
	assert_int_equal(f->unknown, 0);
	for (size_t i = 0; i < f->nchunks; i++) {
		const void *p;
		uint32_t len;

		if (f->chunks[i].type != VQR_CHUNK_PRODUCER)
			continue;
		assert_int_equal(vqp_file_chunk(f, i, &p, &len, err, sizeof(err)), VQP_OK);
		assert_int_equal(vqp_decode_producer(p, len, &got, err, sizeof(err)), VQP_OK);
		assert_memory_equal(&got, &written[found], sizeof(got));
		found++;
		assert_int_equal(vqp_decode_producer(p, len - 8, &got, err, sizeof(err)),
				 VQP_INVALID);
		assert_string_equal(err, "PRODUCER chunk is 24 bytes, expected 32");
	}
	assert_int_equal(found, 2);
	vqp_file_close(f);
}

static void test_crc32c_known_vector(void **state)
{
	(void)state;
	/* The standard check value for CRC-32C. */
	assert_int_equal(vqp_crc32c(0, "123456789", 9), 0xE3069283u);
	/* Incremental equals one-shot. */
	assert_int_equal(vqp_crc32c(vqp_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	/* The SSE4.2 path (when the CPU has it) and the table agree, at every
	 * length and alignment. */
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 7)
			assert_int_equal(vqp_crc32c(0x1234, buf + off, len),
					 vqp__crc32c_portable(0x1234, buf + off, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_known_vector),
	    cmocka_unit_test(test_producer_chunk),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_truncated_at_every_tail_byte),
	    cmocka_unit_test(test_flipped_bits_detected),
	    cmocka_unit_test(test_missing_index_rebuilt),
	    cmocka_unit_test(test_repair_adds_index),
	    cmocka_unit_test(test_loss_accounting),
	    cmocka_unit_test(test_refuses_bad_inputs),
	    cmocka_unit_test(test_unknown_chunk_type_skipped),
	};
	return cmocka_run_group_tests_name("recording", tests, setup_dir, remove_dir);
}
