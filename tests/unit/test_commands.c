/* test_commands.c - vqscope dump, export and diff on a synthetic recording
 * whose every line and slice is known: overlapping commands (lanes), lost
 * records and a new generation breaking ADD/USED pairs, USED without ADD,
 * a command in flight at the end, frames and logs; filters; damaged files
 * (one-line error naming the offset, --salvage); diff of a file with itself
 * and with a changed one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "vqproto.h"

#define PATH_LEN 512

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/vqcmd-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[PATH_LEN];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* ---- the synthetic session -------------------- */

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

static void put(struct vqp_writer *w, uint32_t generation, const struct vqt_event *e, size_t n)
{
	char err[VQP_ERRLEN];

	/* Each call's first record carries its full sequence number. */
	if (vqp_writer_events(w, generation, e[0].seq, e, n, 0, 0, err, sizeof(err)) != VQP_OK)
		fail_msg("events: %s", err);
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
	if (vqp_writer_region(w, &r, err, sizeof(err)) != VQP_OK)
		fail_msg("region: %s", err);
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
	if (vqp_writer_queues(w, 0, generation, &q, 1, err, sizeof(err)) != VQP_OK)
		fail_msg("queues: %s", err);
}

/* Loss and violations the recorder saw after its last events: only in
 * the CLOSE chunk. */
static uint64_t close_extra_lost, close_extra_violations;

/* ts_hz 1 GHz, so ticks are nanoseconds.  Session time starts at the
 * first event (ts 1000). */
static void write_session(const char *path, uint64_t log_ns)
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

	if (!w)
		fail_msg("writer: %s", err);
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
	if (vqp_writer_close(w, &c, err, sizeof(err)) != VQP_OK)
		fail_msg("close: %s", err);
}

/* Run a command in a child with stdout and stderr in files; returns its
 * exit status. */
static int run(int (*cmd)(int, char **), const char *out, const char *errfile, ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	va_start(ap, errfile);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		int rc;

		dup2(o, 1);
		dup2(e, 2);
		rc = cmd(argc, argv);
		fflush(NULL);
		_exit(rc);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Paths NAME.vqt, NAME.out and NAME.err, and the session in NAME.vqt. */
static void prepare(char *vqt, char *out, char *err, const char *name)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.vqt", name);
	path_of(vqt, PATH_LEN, file);
	snprintf(file, sizeof(file), "%s.out", name);
	path_of(out, PATH_LEN, file);
	snprintf(file, sizeof(file), "%s.err", name);
	path_of(err, PATH_LEN, file);
	write_session(vqt, 250);
}

/* The file at path contains needle. */
static void expect_in(const char *path, const char *needle)
{
	char *text = slurp(path);

	if (!strstr(text, needle))
		fail_msg("%s does not contain '%s':\n%s", path, needle, text);
	free(text);
}

/* ---- dump -------------------- */

static void test_dump_lines(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	char *text;

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(run(cmd_dump, out, err, "dump", vqt, NULL), EXIT_OK);
	text = slurp(out);
	/* Time from the first event; the second generation continues from
	 * the last time seen (13 us). */
	assert_string_equal(
	    text,
	    "0.000000000 1:0 QUEUE 0 blk0.requests state=active size=8\n"
	    "0.000001000 1:1 ADD 0 blk0.requests head=0 idx=0 ndesc=2 bytes=100 writable=1\n"
	    "0.000002000 1:2 ADD 0 blk0.requests head=1 idx=1 ndesc=2 bytes=101 writable=1\n"
	    "0.000002500 1:3 KICK 0 blk0.requests idx=2 adds=2\n"
	    "0.000004000 1:4 USED 0 blk0.requests head=0 idx=0 ndesc=2 written=24\n"
	    "0.000005000 1:5 USED 0 blk0.requests head=1 idx=1 ndesc=2 written=24\n"
	    "0.000006000 1:6 ADD 0 blk0.requests head=2 idx=2 ndesc=2 bytes=102 writable=1\n"
	    "lost 2 records\n"
	    "0.000008000 1:9 USED 0 blk0.requests head=2 idx=2 ndesc=2 written=24\n"
	    "0.000009000 1:10 ADD 0 blk0.requests head=3 idx=3 ndesc=2 bytes=103 writable=1\n"
	    "0.000009500 1:11 USED 0 blk0.requests head=5 idx=3 ndesc=2 written=24\n"
	    "0.000010000 1:12 FRAME_BEGIN - - frame=1\n"
	    "0.000011000 1:13 LOG - - bytes=10 dur=250ns\n"
	    "0.000012000 1:14 FRAME_END - - frame=1 commands=1\n"
	    "0.000013000 1:15 FRAME_BEGIN - - frame=2\n"
	    "0.000013000 2:0 QUEUE 0 blk0.requests state=active size=8\n"
	    "0.000013100 2:1 ADD 0 blk0.requests head=0 idx=0 ndesc=2 bytes=100 writable=1\n"
	    "0.000013400 2:2 USED 0 blk0.requests head=0 idx=0 ndesc=2 written=24\n"
	    "0.000013500 2:3 ADD 0 blk0.requests head=1 idx=1 ndesc=2 bytes=101 writable=1\n");
	free(text);
	text = slurp(err);
	assert_string_equal(text, "");
	free(text);
}

static void test_dump_filters(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	char *text;

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(run(cmd_dump, out, err, "dump", "--type", "add,kick", "-q",
			     "blk0.requests", "--since", "2us", "--count", "3", vqt, NULL),
			 EXIT_OK);
	text = slurp(out);
	assert_string_equal(
	    text,
	    "0.000002000 1:2 ADD 0 blk0.requests head=1 idx=1 ndesc=2 bytes=101 writable=1\n"
	    "0.000002500 1:3 KICK 0 blk0.requests idx=2 adds=2\n"
	    "0.000006000 1:6 ADD 0 blk0.requests head=2 idx=2 ndesc=2 bytes=102 writable=1\n");
	free(text);

	/* A queue that does not exist: nothing, and a warning. */
	assert_int_equal(run(cmd_dump, out, err, "dump", "-q", "7", vqt, NULL), EXIT_OK);
	text = slurp(out);
	assert_string_equal(text, "lost 2 records\n");
	free(text);
	text = slurp(err);
	assert_string_equal(text, "vqscope dump: warning: no events of queue '7'\n");
	free(text);

	assert_int_equal(run(cmd_dump, out, err, "dump", "--type", "BOGUS", vqt, NULL), EXIT_USAGE);
	assert_int_equal(run(cmd_dump, out, err, "dump", NULL), EXIT_USAGE);
}

static void test_dump_all_chunks(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	char *text;

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(run(cmd_dump, out, err, "dump", "--all", "--type", "QUEUE", vqt, NULL),
			 EXIT_OK);
	text = slurp(out);
	assert_string_equal(
	    text, "0.000000000 - REGION - - generation=1 ring_records=1024 region_size=65536 "
		  "ts_hz=1000000000 producer=\"unit test\"\n"
		  "0.000000000 - QUEUES 0 blk0.requests state=active size=8 avail_idx=0 "
		  "last_used_idx=0 free=0 adds=0 completions=0\n"
		  "0.000000000 1:0 QUEUE 0 blk0.requests state=active size=8\n"
		  "lost 2 records\n"
		  "0.000013000 - REGION - - generation=2 ring_records=1024 region_size=65536 "
		  "ts_hz=1000000000 producer=\"unit test\"\n"
		  "0.000013000 2:0 QUEUE 0 blk0.requests state=active size=8\n"
		  "0.000013500 - CLOSE - - reason=normal events=18 lost=2 violations=0 "
		  "detail=\"duration elapsed\"\n");
	free(text);
}

/* ---- damaged files -------------------- */

static void test_damaged_file(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	char *text;
	FILE *f;

	(void)state;
	prepare(vqt, out, err, "damaged");
	/* A byte inside the first chunk's payload (after the 128-byte file
	 * header and the 16-byte chunk header). */
	f = fopen(vqt, "r+");
	assert_non_null(f);
	fseek(f, 128 + 16 + 8, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);

	int (*const cmds[])(int, char **) = {cmd_dump, cmd_export, cmd_report};
	const char *names[] = {"dump", "export", "report"};
	for (size_t i = 0; i < 3; i++) {
		char expect[PATH_LEN + 64];

		assert_int_equal(run(cmds[i], out, err, names[i], vqt, NULL), EXIT_FAIL);
		text = slurp(err);
		snprintf(expect, sizeof(expect), "vqscope %s: %s: offset 0x80: chunk 0: CRC32C ",
			 names[i], vqt);
		assert_memory_equal(text, expect, strlen(expect));
		assert_non_null(strstr(text, "(use --salvage)\n"));
		/* One line. */
		assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
		free(text);
	}
	/* Salvage skips the damaged chunk (the region), counts it, and reads
	 * the rest. */
	assert_int_equal(run(cmd_dump, out, err, "dump", "--salvage", vqt, NULL), EXIT_OK);
	text = slurp(out);
	assert_non_null(strstr(text, "violations 1: offset 0x80: chunk 0: CRC32C "));
	assert_non_null(strstr(text, "1:6 ADD 0 blk0.requests head=2"));
	free(text);
}

/* A recorder killed mid-chunk: readable up to the last whole chunk, with a
 * warning that says where it was cut. */
static void test_truncated_file(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	char *text;
	FILE *f;
	long size;

	(void)state;
	prepare(vqt, out, err, "cut");
	f = fopen(vqt, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	/* Trailer (32), index (16 + 8 + 7 * 32) and half of CLOSE (16 + 128). */
	assert_int_equal(truncate(vqt, size - 32 - 248 - 72), 0);
	assert_int_equal(run(cmd_dump, out, err, "dump", vqt, NULL), EXIT_OK);
	expect_in(out, "2:3 ADD 0 blk0.requests head=1");
	text = slurp(err);
	assert_non_null(strstr(text, "vqscope dump: warning: "));
	assert_non_null(strstr(text, ": not closed cleanly: cut short at offset 0x"));
	free(text);
}

/* The reason in the CLOSE chunk reaches the report (it used to be lost
 * when the source ended). */
static void test_report_end_reason(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(run(cmd_report, out, err, "report", vqt, NULL), EXIT_OK);
	expect_in(out, "2 generations, ended: duration elapsed\n");
}

/* What the recorder counted after its last events reaches readers through
 * the CLOSE chunk. */
static void test_loss_after_the_last_events(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];

	(void)state;
	close_extra_lost = 7;
	close_extra_violations = 3;
	prepare(vqt, out, err, "trailing");
	close_extra_lost = close_extra_violations = 0;
	assert_int_equal(run(cmd_report, out, err, "report", vqt, NULL), EXIT_OK);
	expect_in(out, "events      18 (lost 9, protocol violations 3, anomalies ");
	assert_int_equal(run(cmd_dump, out, err, "dump", "--type", "MARK", vqt, NULL), EXIT_OK);
	expect_in(out, "lost 2 records\n"
		       "violations 3: seen by the recorder after its last events\n"
		       "lost 7 records\n");
}

/* ---- export -------------------- */

struct slice_expect {
	int64_t tid;
	const char *ts, *dur;
	uint64_t add_seq, used_seq, generation;
};

static json_object *arg(json_object *e, const char *key)
{
	json_object *args, *v;

	if (!json_object_object_get_ex(e, "args", &args) ||
	    !json_object_object_get_ex(args, key, &v))
		return NULL;
	return v;
}

static const char *field(json_object *e, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_export_slices(void **state)
{
	static const struct slice_expect expect[] = {
	    /* head 0 on lane 0, head 1 (added while head 0 was out) on lane 1 */
	    {100000, "1.000", "3.000", 1, 4, 1},
	    {100001, "2.000", "3.000", 2, 5, 1},
	    /* head 2 lost its pair to the lost records, head 3 to the restart,
	     * head 5 was never added; generation 2's head 0: */
	    {100000, "13.100", "0.300", 1, 2, 2},
	};
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
	json_object *root, *events, *other, *v;
	size_t n, slices = 0, frames = 0, logs = 0, named_lanes = 0;

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(
	    run(cmd_export, err, err, "export", "--format", "chrome", "-q", "-o", out, vqt, NULL),
	    EXIT_OK);
	root = json_object_from_file(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "traceEvents", &events));
	assert_string_equal(field(root, "displayTimeUnit"), "ns");
	n = json_object_array_length(events);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);
		const char *ph = field(e, "ph"), *cat = field(e, "cat");

		if (strcmp(ph, "M") == 0 && strcmp(field(e, "name"), "thread_name") == 0) {
			const char *name = json_object_get_string(arg(e, "name"));

			if (strcmp(name, "blk0.requests") == 0 ||
			    strcmp(name, "blk0.requests [2]") == 0)
				named_lanes++;
		}
		if (strcmp(ph, "X") != 0)
			continue;
		if (strcmp(cat, "log") == 0) {
			/* 250 ns ending at the event (11 us) */
			assert_string_equal(field(e, "ts"), "10.750");
			assert_string_equal(field(e, "dur"), "0.250");
			logs++;
		}
		if (strncmp(cat, "frame", 5) == 0 && strcmp(field(e, "name"), "frame 1") == 0) {
			/* 10 us .. 13 us: 250 ns logging, the rest with head 3 in
			 * flight (the model pairs across the loss: it does not
			 * draw slices) */
			assert_string_equal(field(e, "ts"), "10.000");
			assert_string_equal(field(e, "dur"), "3.000");
			assert_int_equal(json_object_get_int64(arg(e, "log_ns")), 250);
			assert_int_equal(json_object_get_int64(arg(e, "device_ns")), 2750);
			assert_int_equal(json_object_get_int64(arg(e, "other_ns")), 0);
			assert_int_equal(json_object_get_int64(arg(e, "active_ns")), 2000);
			frames++;
		}
		if (strcmp(cat, "command") != 0)
			continue;
		assert_true(slices < 3);
		assert_int_equal(json_object_get_int64(json_object_object_get(e, "tid")),
				 expect[slices].tid);
		assert_string_equal(field(e, "ts"), expect[slices].ts);
		assert_string_equal(field(e, "dur"), expect[slices].dur);
		assert_int_equal(json_object_get_int64(arg(e, "add_seq")), expect[slices].add_seq);
		assert_int_equal(json_object_get_int64(arg(e, "used_seq")),
				 expect[slices].used_seq);
		assert_int_equal(json_object_get_int64(arg(e, "generation")),
				 expect[slices].generation);
		slices++;
	}
	assert_int_equal(slices, 3);
	assert_int_equal(frames, 1);
	assert_int_equal(logs, 1);
	assert_int_equal(named_lanes, 2);
	assert_true(json_object_object_get_ex(root, "otherData", &other));
	assert_true(json_object_object_get_ex(other, "command_slices", &v));
	assert_int_equal(json_object_get_int64(v), 3);
	assert_true(json_object_object_get_ex(other, "broken_by_loss_or_restart", &v));
	assert_int_equal(json_object_get_int64(v), 2); /* heads 2 and 3 */
	assert_true(json_object_object_get_ex(other, "unmatched_used", &v));
	assert_int_equal(json_object_get_int64(v), 2); /* heads 2 and 5 */
	assert_true(json_object_object_get_ex(other, "in_flight_at_end", &v));
	assert_int_equal(json_object_get_int64(v), 1); /* generation 2's head 1 */
	assert_true(json_object_object_get_ex(other, "generations", &v));
	assert_int_equal(json_object_get_int64(v), 2);
	json_object_put(root);
}

/* ---- diff -------------------- */

static json_object *diff_json(const char *a, const char *b)
{
	char out[PATH_LEN], err[PATH_LEN];
	json_object *o;

	path_of(out, sizeof(out), "diff.json");
	path_of(err, sizeof(err), "diff.err");
	assert_int_equal(run(cmd_diff, out, err, "diff", "--json", a, b, NULL), EXIT_OK);
	o = json_object_from_file(out);
	assert_non_null(o);
	return o;
}

static void test_diff(void **state)
{
	char a[PATH_LEN], b[PATH_LEN], out[PATH_LEN], err[PATH_LEN], line[128];
	json_object *o, *v, *changed;
	char *text;

	(void)state;
	path_of(a, sizeof(a), "a.vqt");
	path_of(b, sizeof(b), "b.vqt");
	path_of(out, sizeof(out), "diff.out");
	path_of(err, sizeof(err), "diff.err");
	write_session(a, 250);
	/* The same session with a log write four times as long. */
	write_session(b, 1000);

	o = diff_json(a, a);
	assert_true(json_object_object_get_ex(o, "dominant_changed", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "changed_most", &changed));
	assert_int_equal(json_object_array_length(changed), 0);
	json_object_put(o);

	o = diff_json(a, b);
	assert_true(json_object_object_get_ex(o, "changed_most", &changed));
	assert_true(json_object_array_length(changed) >= 1);
	json_object *top = json_object_array_get_idx(changed, 0);
	assert_string_equal(field(top, "section"), "frame time");
	assert_string_equal(field(top, "metric"), "log");
	assert_true(json_object_object_get_ex(top, "ratio", &v));
	assert_true(json_object_get_double(v) > 3.99 && json_object_get_double(v) < 4.01);
	json_object_put(o);

	assert_int_equal(run(cmd_diff, out, err, "diff", a, b, NULL), EXIT_OK);
	text = slurp(out);
	/* Per frame: frame 2 lasted no time before the restart closed it. */
	snprintf(line, sizeof(line), "  %-22s %20s %20s %9s\n", "log", "125 ns (8.3%)",
		 "500 ns (33.3%)", "4.00x");
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "  1. frame time: log"));
	free(text);
	assert_int_equal(run(cmd_diff, out, err, "diff", a, NULL), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dump_lines),
	    cmocka_unit_test(test_dump_filters),
	    cmocka_unit_test(test_dump_all_chunks),
	    cmocka_unit_test(test_damaged_file),
	    cmocka_unit_test(test_truncated_file),
	    cmocka_unit_test(test_report_end_reason),
	    cmocka_unit_test(test_loss_after_the_last_events),
	    cmocka_unit_test(test_export_slices),
	    cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
