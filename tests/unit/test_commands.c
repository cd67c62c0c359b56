/* test_commands.c - vqscope dump, export and diff on a synthetic recording
 * whose every line and slice is known: overlapping commands (lanes), lost
 * records and a new generation breaking ADD/USED pairs, USED without ADD,
 * a command in flight at the end, frames and logs; filters; damaged files
 * (one-line error naming the offset, --salvage); diff of a file with itself
 * and with a changed one; a recording fed to an exact event, frame and
 * time (replay, top --batch).  The whole text output on the same
 * recording is compared with tests/golden/ by tests/golden/test-golden.sh. */
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
#include "live/source.h"
#include "synthetic.h"
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

/* ---- the synthetic session (tests/lib/synthetic.c) -------------------- */

static uint64_t close_extra_lost, close_extra_violations;

static void write_session(const char *path, uint64_t log_ns)
{
	char err[VQP_ERRLEN];

	if (synthetic_session(path, log_ns, close_extra_lost, close_extra_violations, err,
			      sizeof(err)) != 0)
		fail_msg("%s", err);
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
	/* What getopt refuses is one line naming the option, not the help. */
	const char *const refused[][3] = {
	    {"--bogus", vqt, "unknown option '--bogus'"},
	    {"-z", vqt, "unknown option '-z'"},
	    {"--all=1", vqt, "--all takes no value"},
	    {vqt, "--count", "--count needs a value"},
	    {vqt, "-n", "-n needs a value"},
	    {"--s", vqt, "ambiguous option '--s'"}, /* --since, --salvage */
	    {vqt, "--que", "--queue needs a value"},
	    /* An unknown letter inside a cluster after a long option. */
	    {"--all", "-za", "unknown option '-z'"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want[128];

		assert_int_equal(
		    run(cmd_dump, out, err, "dump", refused[i][0], refused[i][1], NULL),
		    EXIT_USAGE);
		snprintf(want, sizeof(want), "vqscope dump: %s (see vqscope dump --help)\n",
			 refused[i][2]);
		text = slurp(err);
		assert_string_equal(text, want);
		free(text);
	}
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

/* An events chunk damaged in the middle of a recording and skipped by
 * --salvage: its records are lost, and report and dump both count them,
 * once, beside the one protocol violation of the damage. */
static void test_salvage_counts_skipped_records(void **state)
{
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN], why[VQP_ERRLEN], expect[128];
	size_t events_chunks = 0, victim = 0;
	uint64_t offset, skipped;
	struct vqp_file *vf;
	char *text;
	FILE *f;

	(void)state;
	path_of(vqt, PATH_LEN, "skipped.vqt");
	path_of(out, PATH_LEN, "skipped.out");
	path_of(err, PATH_LEN, "skipped.err");
	assert_int_equal(synthetic_long(vqt, 40, why, sizeof(why)), 0);
	vf = vqp_file_open(vqt, 0, why, sizeof(why));
	assert_non_null(vf);
	/* The second events chunk of three or more: one before it and one
	 * after it, of the same generation. */
	for (size_t i = 0; i < vf->nchunks; i++)
		if (vf->chunks[i].type == VQR_CHUNK_EVENTS && ++events_chunks == 2)
			victim = i;
	assert_true(events_chunks >= 3);
	offset = vf->chunks[victim].offset;
	for (size_t i = victim + 1;; i++)
		if (vf->chunks[i].type == VQR_CHUNK_EVENTS) {
			/* synthetic_long loses nothing: every missing number
			 * was in the victim. */
			skipped = vf->chunks[i].first_seq - vf->chunks[victim].first_seq;
			break;
		}
	vqp_file_close(vf);
	assert_true(skipped > 0);
	/* A byte of the victim's payload (after its 16-byte header). */
	f = fopen(vqt, "r+");
	assert_non_null(f);
	fseek(f, (long)offset + 16 + 8, SEEK_SET);
	fputc(0x5a ^ 0xff, f);
	fclose(f);

	assert_int_equal(run(cmd_report, out, err, "report", "--salvage", vqt, NULL), EXIT_OK);
	snprintf(expect, sizeof(expect), "(lost %llu, protocol violations 1,",
		 (unsigned long long)skipped);
	expect_in(out, expect);
	assert_int_equal(run(cmd_dump, out, err, "dump", "--salvage", vqt, NULL), EXIT_OK);
	snprintf(expect, sizeof(expect), "\nlost %llu records\n", (unsigned long long)skipped);
	text = slurp(out);
	assert_non_null(strstr(text, expect));
	/* Once: no other loss in the dump. */
	assert_null(strstr(strstr(text, expect) + 1, "\nlost "));
	assert_ptr_equal(strstr(text, "\nlost "), strstr(text, expect));
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
	char vqt[PATH_LEN], out[PATH_LEN], err[PATH_LEN], *text;
	json_object *root, *events, *other, *v;
	size_t n, slices = 0, frames = 0, logs = 0, named_lanes = 0;

	(void)state;
	prepare(vqt, out, err, "session");
	assert_int_equal(run(cmd_export, err, err, "export", "--format", "chrome", "-q", "--force",
			     "-o", out, vqt, NULL),
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

	/* The summary line, a count of one in the singular. */
	assert_int_equal(run(cmd_export, err, err, "export", "--format", "chrome", "--force", "-o",
			     out, vqt, NULL),
			 EXIT_OK);
	text = slurp(err);
	assert_non_null(strstr(text, ": 3 command slices, 0 fill slices, 2 frames, 1 log slice, 0 "
				     "findings; no slice: 1 in flight at the end,"));
	free(text);
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

/* ---- a recording fed to an exact point (replay, top --batch) ---------- */

static struct source *open_recording(const char *path, struct vq_model **m)
{
	char err[512];
	struct source *s = source_open(path, NULL, err, sizeof(err));

	if (!s)
		fail_msg("%s", err);
	*m = model_new(NULL);
	assert_non_null(*m);
	return s;
}

static void test_feed_to_exact_points(void **state)
{
	char vqt[PATH_LEN], err[VQP_ERRLEN];
	struct vq_model *all, *m;
	struct source *s;
	const struct model_history_entry *last;
	uint64_t mid_ns;
	(void)state;

	path_of(vqt, sizeof(vqt), "exact.vqt");
	if (synthetic_frames(vqt, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	s = open_recording(vqt, &all);
	source_file_all(s, all);
	source_close(s);
	assert_true(all->events > 100);
	assert_true(all->frames_total > 10);

	s = open_recording(vqt, &m);
	/* A count in the middle of a chunk. */
	assert_true(
	    source_file_feed(s, m, &(struct file_limit){.until_ns = UINT64_MAX, .events = 37}));
	assert_int_equal(m->events, 37);
	/* The FRAME_BEGIN of frame 7: the six frames before it ended. */
	assert_true(source_file_feed(
	    s, m,
	    &(struct file_limit){
		.until_ns = UINT64_MAX, .events = UINT64_MAX, .to_frame = true, .frame = 7}));
	last = model_history_at(m, m->history_len - 1);
	assert_int_equal(last->ev.type, VQT_EV_FRAME_BEGIN);
	assert_int_equal(last->ev.arg, 7);
	assert_int_equal(m->frame_number, 7);
	/* A time half-way through the whole: nothing after it is fed, and
	 * the next event is after it. */
	mid_ns = all->now_ns / 2;
	assert_true(source_file_advance(s, m, mid_ns));
	assert_true(m->now_ns <= mid_ns);
	assert_true(m->events < all->events);
	assert_true(source_file_feed(
	    s, m, &(struct file_limit){.until_ns = UINT64_MAX, .events = m->events + 1}));
	assert_true(model_history_at(m, m->history_len - 1)->at_ns > mid_ns);
	/* The rest: the same session as read in one go. */
	assert_false(source_file_advance(s, m, UINT64_MAX));
	assert_int_equal(m->events, all->events);
	assert_int_equal(m->frames_total, all->frames_total);
	assert_int_equal(m->lost, all->lost);
	assert_int_equal(m->violations, all->violations);
	assert_int_equal(m->queues[0].count[MC_COMPLETIONS], all->queues[0].count[MC_COMPLETIONS]);
	assert_int_equal(m->stalls_total, all->stalls_total);
	assert_true(s->ended);
	source_close(s);
	model_free(m);
	model_free(all);
}

/* The whole-session checks of a recording run at the same points
 * however it is fed: a finding they make is first seen at the same event
 * when read in one go (doctor), after a jump to a time, and step by step
 * (replay).  synthetic_fenced: 400 frames of 5 ms, FENCE-PER-SPIN from
 * the first frames on, checked first on the events before 1 s. */
static void test_checks_where_fed(void **state)
{
	char vqt[PATH_LEN], err[VQP_ERRLEN];
	struct vq_model *all, *m;
	struct source *s;
	const struct finding *want, *f;
	(void)state;

	path_of(vqt, sizeof(vqt), "fenced.vqt");
	if (synthetic_fenced(vqt, 400, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	s = open_recording(vqt, &all);
	source_file_all(s, all);
	source_close(s);
	want = model_finding(all, FC_FENCE_PER_SPIN, 0);
	assert_non_null(want);
	assert_true(want->first_ns < 1000000000ull && want->first_ns > 990000000ull);

	/* A jump to 1.5 s (in the middle of a chunk), then the rest. */
	s = open_recording(vqt, &m);
	assert_true(source_file_advance(s, m, 1500000000ull));
	f = model_finding(m, FC_FENCE_PER_SPIN, 0);
	assert_non_null(f);
	assert_int_equal(f->first_ns, want->first_ns);
	assert_int_equal(f->first_seq, want->first_seq);
	assert_false(source_file_advance(s, m, UINT64_MAX));
	source_close(s);
	model_free(m);

	/* Steps of 97 events, past the first check. */
	s = open_recording(vqt, &m);
	for (uint64_t n = 97; !model_finding(m, FC_FENCE_PER_SPIN, 0) && n < all->events; n += 97)
		source_file_feed(s, m, &(struct file_limit){.until_ns = UINT64_MAX, .events = n});
	f = model_finding(m, FC_FENCE_PER_SPIN, 0);
	assert_non_null(f);
	assert_int_equal(f->first_ns, want->first_ns);
	assert_int_equal(f->first_seq, want->first_seq);
	source_close(s);
	model_free(m);
	model_free(all);
}

/* A table vqscope record wrote before the older records it then read:
 * until the replay reaches the table's time, only the queue's name and
 * size come from it, and its indices are those of the events so far. */
static void test_table_before_older_events(void **state)
{
	char vqt[PATH_LEN], err[VQP_ERRLEN];
	struct vq_model *m;
	struct source *s;
	const struct model_queue *q;
	uint16_t avail, used;
	(void)state;

	path_of(vqt, sizeof(vqt), "table-first.vqt");
	if (synthetic_table_first(vqt, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	s = open_recording(vqt, &m);
	q = &m->queues[0];
	assert_true(
	    source_file_feed(s, m, &(struct file_limit){.until_ns = UINT64_MAX, .events = 1}));
	assert_string_equal(q->name, "blk0.requests");
	assert_int_equal(q->ring_size, 8);
	assert_false(q->have_table);
	/* The QUEUE event and two commands. */
	assert_true(
	    source_file_feed(s, m, &(struct file_limit){.until_ns = UINT64_MAX, .events = 9}));
	model_driver_indices(q, &avail, &used);
	assert_int_equal(avail, 2);
	assert_int_equal(used, 2);
	assert_false(q->have_table);
	/* All of it: the table's time is passed. */
	assert_false(source_file_advance(s, m, UINT64_MAX));
	assert_true(q->have_table);
	assert_int_equal(q->table.avail_idx, 4);
	model_driver_indices(q, &avail, &used);
	assert_int_equal(avail, 4);
	assert_int_equal(used, 4);
	source_close(s);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dump_filters),
	    cmocka_unit_test(test_dump_all_chunks),
	    cmocka_unit_test(test_damaged_file),
	    cmocka_unit_test(test_salvage_counts_skipped_records),
	    cmocka_unit_test(test_truncated_file),
	    cmocka_unit_test(test_report_end_reason),
	    cmocka_unit_test(test_loss_after_the_last_events),
	    cmocka_unit_test(test_export_slices),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_feed_to_exact_points),
	    cmocka_unit_test(test_checks_where_fed),
	    cmocka_unit_test(test_table_before_older_events),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
