/* test_core_metrics.c - the exporter's rendering of the model (core/metrics.c):
 * Prometheus text and OpenMetrics lines for known event streams, exact
 * histogram buckets, label escaping of untrusted names, a source that is
 * down, counters that keep growing across a producer restart, and the
 * Accept header negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/metrics.h"
#include "core/model.h"
#include "vqproto.h"

/* Events with ts_hz = 1 GHz, so ticks are nanoseconds. */
struct feeder {
	struct vq_model *m;
	uint64_t seq, now;
	uint16_t avail, used;
};

static void put(struct feeder *f, struct vqt_event e)
{
	e.ts = f->now;
	e.seq = (uint32_t)f->seq;
	model_feed(f->m, &e, 1, f->seq);
	f->seq++;
}

/* Register slot 0 as `name` with the queue-table flags (QUEUE event and a
 * table snapshot). */
static void queue_flagged(struct feeder *f, const char *name, uint16_t flags)
{
	struct vqt_queue t;

	put(f, (struct vqt_event){
		   .type = VQT_EV_QUEUE, .queue = 0, .ndesc = VQT_QS_ACTIVE, .ring_idx = 64});
	memset(&t, 0, sizeof(t));
	t.state = VQT_QS_ACTIVE;
	t.ring_size = 64;
	t.flags = flags;
	memcpy(t.name, name, strnlen(name, sizeof(t.name)));
	model_queue_table(f->m, 0, &t);
}

static void queue_named(struct feeder *f, const char *name)
{
	queue_flagged(f, name, 0);
}

/* One command on slot 0 that takes `ns`: ADD, KICK, USED. */
static void command(struct feeder *f, uint64_t ns)
{
	uint16_t head = (uint16_t)(f->avail % 64);

	put(f, (struct vqt_event){.type = VQT_EV_ADD,
				  .queue = 0,
				  .head = head,
				  .ring_idx = f->avail++,
				  .ndesc = 2,
				  .len = 100});
	put(f, (struct vqt_event){.type = VQT_EV_KICK, .queue = 0, .ring_idx = f->avail});
	f->now += ns;
	put(f,
	    (struct vqt_event){
		.type = VQT_EV_USED, .queue = 0, .head = head, .ring_idx = f->used++, .len = 24});
}

static struct feeder feeder_new(const char *queue)
{
	struct feeder f = {.m = model_new(&(struct model_opts){.history = 64}), .now = 1000};

	assert_non_null(f.m);
	model_set_producer(f.m, 1000000000, "test", 1);
	queue_named(&f, queue);
	return f;
}

static char *render(enum metrics_format fmt, const struct metrics_target *t, size_t n)
{
	struct text out = {0};
	char *s;

	metrics_render(&out, fmt, t, n);
	assert_false(out.failed);
	s = strdup(text_str(&out));
	text_free(&out);
	return s;
}

/* The value of the sample line that starts with `series` + " ". */
static const char *sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return p + n + 1;
	fail_msg("no sample %s in:\n%s", series, text);
	return NULL;
}

static unsigned long long sample_u64(const char *text, const char *series)
{
	return strtoull(sample(text, series), NULL, 10);
}

#define Q0 "vm=\"a\",queue=\"gpu0.control\",slot=\"0\",kind=\"request\""

static void test_prometheus_text(void **state)
{
	(void)state;
	struct feeder f = feeder_new("gpu0.control");

	command(&f, 1023); /* the last value of the first bucket */
	command(&f, 1024); /* the first of the next */
	command(&f, 3000);
	put(&f,
	    (struct vqt_event){.type = VQT_EV_ADD, .queue = 0, .head = 9, .ring_idx = f.avail++});
	struct metrics_target t = {.vm = "a", .up = true, .region_ready = true, .m = f.m};
	char *s = render(METRICS_PROMETHEUS, &t, 1);

	assert_non_null(strstr(s, "# HELP vqscope_queue_completions_total "));
	assert_non_null(strstr(s, "# TYPE vqscope_queue_completions_total counter\n"));
	assert_non_null(strstr(s, "# TYPE vqscope_queue_in_flight gauge\n"));
	assert_non_null(strstr(s, "# TYPE vqscope_queue_command_latency_seconds histogram\n"));
	assert_null(strstr(s, "# UNIT"));
	assert_null(strstr(s, "# EOF"));
	assert_int_equal(sample_u64(s, "vqscope_up{vm=\"a\"}"), 1);
	assert_int_equal(sample_u64(s, "vqscope_region_ready{vm=\"a\"}"), 1);
	assert_int_equal(sample_u64(s, "vqscope_events_total{vm=\"a\"}"), 11);
	assert_int_equal(sample_u64(s, "vqscope_queue_adds_total{" Q0 "}"), 4);
	assert_int_equal(sample_u64(s, "vqscope_queue_kicks_total{" Q0 "}"), 3);
	assert_int_equal(sample_u64(s, "vqscope_queue_completions_total{" Q0 "}"), 3);
	assert_int_equal(sample_u64(s, "vqscope_queue_added_bytes_total{" Q0 "}"), 300);
	assert_int_equal(sample_u64(s, "vqscope_queue_used_bytes_total{" Q0 "}"), 72);
	assert_int_equal(sample_u64(s, "vqscope_queue_in_flight{" Q0 "}"), 1);
	assert_int_equal(sample_u64(s, "vqscope_queue_ring_size{" Q0 "}"), 64);
	/* Buckets are cumulative and exact at 2^k - 1 ns. */
	assert_int_equal(sample_u64(s, "vqscope_queue_command_latency_seconds_bucket{" Q0
				       ",le=\"0.000001023\"}"),
			 1);
	assert_int_equal(sample_u64(s, "vqscope_queue_command_latency_seconds_bucket{" Q0
				       ",le=\"0.000002047\"}"),
			 2);
	assert_int_equal(sample_u64(s, "vqscope_queue_command_latency_seconds_bucket{" Q0
				       ",le=\"0.000004095\"}"),
			 3);
	assert_int_equal(
	    sample_u64(s, "vqscope_queue_command_latency_seconds_bucket{" Q0 ",le=\"+Inf\"}"), 3);
	assert_int_equal(
	    strncmp(sample(s, "vqscope_queue_command_latency_seconds_sum{" Q0 "}"),
		    "0.000005047\nvqscope_queue_command_latency_seconds_count{" Q0 "} 3\n",
		    12 + strlen("vqscope_queue_command_latency_seconds_count{" Q0 "} 3\n")),
	    0);
	/* A request queue has no time to fill. */
	assert_null(strstr(s, "vqscope_queue_fill_time_seconds_count{"));
	/* A correct driver: no findings, and no receive queue. */
	assert_null(strstr(s, "vqscope_findings_total{"));
	assert_null(strstr(s, "vqscope_queue_posted_buffers{"));
	/* The top bound, about 17 s. */
	assert_int_equal(sample_u64(s, "vqscope_queue_command_latency_seconds_bucket{" Q0
				       ",le=\"17.179869183\"}"),
			 3);
	/* Every cause of frame time, in seconds. */
	assert_int_equal(
	    strncmp(sample(s, "vqscope_frame_time_seconds_total{vm=\"a\",cause=\"polling\"}"),
		    "0.000000000\n", 12),
	    0);
	free(s);
	model_free(f.m);
}

static void test_openmetrics(void **state)
{
	(void)state;
	struct feeder f = feeder_new("gpu0.control");

	command(&f, 5000);
	struct metrics_target t = {.vm = "a", .up = true, .region_ready = true, .m = f.m};
	char *s = render(METRICS_OPENMETRICS, &t, 1);
	size_t len = strlen(s);

	/* Counter families are named without _total; samples keep it. */
	assert_non_null(strstr(s, "# TYPE vqscope_queue_completions counter\n"));
	assert_null(strstr(s, "# TYPE vqscope_queue_completions_total"));
	assert_int_equal(sample_u64(s, "vqscope_queue_completions_total{" Q0 "}"), 1);
	assert_non_null(strstr(s, "# UNIT vqscope_queue_command_latency_seconds seconds\n"));
	assert_non_null(strstr(s, "# UNIT vqscope_frame_time_seconds seconds\n"));
	assert_non_null(strstr(s, "# UNIT vqscope_queue_added_bytes bytes\n"));
	assert_true(len > 6 && strcmp(s + len - 6, "# EOF\n") == 0);
	assert_int_equal(strstr(s, "# EOF") - s, (long)len - 6);
	free(s);
	model_free(f.m);
}

static void test_down_and_escaped(void **state)
{
	(void)state;
	/* A queue name from the guest with a quote, a backslash, a newline
	 * and bytes that are not UTF-8; a vm name with UTF-8 in it. */
	struct feeder f = feeder_new("q\"\\\n\xff\xc3(\xc3\xa9");

	command(&f, 100);
	struct metrics_target t[2] = {
	    {.vm = "down", .up = false, .m = f.m},
	    {.vm = "caf\xc3\xa9", .up = true, .m = f.m},
	};
	char *s = render(METRICS_PROMETHEUS, t, 2);

	assert_int_equal(sample_u64(s, "vqscope_up{vm=\"down\"}"), 0);
	assert_int_equal(sample_u64(s, "vqscope_up{vm=\"caf\xc3\xa9\"}"), 1);
	/* A source that is down says nothing else. */
	assert_int_equal(strstr(s, "vm=\"down\"") - s,
			 strstr(s, "vqscope_up{vm=\"down\"}") - s + (long)strlen("vqscope_up{"));
	assert_null(strstr(strstr(s, "vm=\"down\"") + 1, "vm=\"down\""));
	assert_int_equal(sample_u64(s, "vqscope_region_ready{vm=\"caf\xc3\xa9\"}"), 0);
	assert_int_equal(
	    sample_u64(s, "vqscope_queue_adds_total{vm=\"caf\xc3\xa9\",queue=\"q\\\"\\\\\\n?"
			  "?(\xc3\xa9\",slot=\"0\",kind=\"request\"}"),
	    1);
	free(s);
	model_free(f.m);
}

/* A producer restart (guest reboot): the model keeps its totals, so every
 * counter the exporter shows is at least what it was before. */
static void test_monotonic_across_resync(void **state)
{
	(void)state;
	struct feeder f = feeder_new("gpu0.control");
	struct metrics_target t = {.vm = "a", .up = true, .m = f.m};
	static const char *const series[] = {
	    "vqscope_events_total{vm=\"a\"}",
	    "vqscope_queue_adds_total{" Q0 "}",
	    "vqscope_queue_completions_total{" Q0 "}",
	    "vqscope_queue_command_latency_seconds_count{" Q0 "}",
	};
	unsigned long long before[4];

	for (int i = 0; i < 5; i++)
		command(&f, 2000);
	char *s = render(METRICS_PROMETHEUS, &t, 1);
	for (int i = 0; i < 4; i++)
		before[i] = sample_u64(s, series[i]);
	free(s);
	assert_int_equal(before[2], 5);

	/* The new producer starts its clock and indices from scratch. */
	model_resync(f.m, 1000000000, "test", 2);
	/* Not registered again yet: still listed, with the same counts. */
	s = render(METRICS_PROMETHEUS, &t, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sample_u64(s, series[i]), before[i]);
	assert_int_equal(sample_u64(s, "vqscope_resyncs_total{vm=\"a\"}"), 1);
	free(s);

	f.now = 10;
	f.avail = f.used = 0;
	queue_named(&f, "gpu0.control");
	command(&f, 2000);
	s = render(METRICS_PROMETHEUS, &t, 1);
	for (int i = 0; i < 4; i++)
		assert_true(sample_u64(s, series[i]) > before[i]);
	assert_int_equal(sample_u64(s, "vqscope_queue_completions_total{" Q0 "}"), 6);
	free(s);
	model_free(f.m);
}

/* A finding of the diagnosis: the device reports writing more than the
 * chain holds (USED-LEN-OVERFLOW), counted per code and queue. */
static void test_findings(void **state)
{
	(void)state;
	struct feeder f = feeder_new("gpu0.control");

	for (int i = 0; i < 3; i++) {
		put(&f, (struct vqt_event){.type = VQT_EV_ADD,
					   .queue = 0,
					   .head = (uint16_t)i,
					   .ring_idx = f.avail++,
					   .ndesc = 2,
					   .len = 48});
		put(&f, (struct vqt_event){.type = VQT_EV_USED,
					   .queue = 0,
					   .head = (uint16_t)i,
					   .ring_idx = f.used++,
					   .len = 408});
	}
	struct metrics_target t = {.vm = "a", .up = true, .m = f.m};
	char *s = render(METRICS_PROMETHEUS, &t, 1);
	char labels[160], series[256];

	snprintf(labels, sizeof(labels),
		 "{vm=\"a\",code=\"USED-LEN-OVERFLOW\",severity=\"%s\",queue=\"gpu0.control\","
		 "slot=\"0\"}",
		 severity_name(finding_info(FC_USED_LEN_OVERFLOW)->severity));
	assert_non_null(strstr(s, "# TYPE vqscope_findings_total counter\n"));
	assert_non_null(strstr(s, "# TYPE vqscope_finding_active gauge\n"));
	snprintf(series, sizeof(series), "vqscope_findings_total%s", labels);
	assert_int_equal(sample_u64(s, series), 3);
	snprintf(series, sizeof(series), "vqscope_finding_active%s", labels);
	assert_in_range(sample_u64(s, series), 0, 1);
	free(s);
	model_free(f.m);
}

/* A receive queue (VQT_QF_RECEIVE in its table): kind="receive" and the
 * buffers posted to it. */
static void test_receive_queue(void **state)
{
	(void)state;
	struct feeder f = feeder_new("unused");

	queue_flagged(&f, "net0.rx", VQT_QF_RECEIVE);
	for (uint16_t i = 0; i < 5; i++)
		put(&f, (struct vqt_event){.type = VQT_EV_ADD,
					   .queue = 0,
					   .head = i,
					   .ring_idx = f.avail++,
					   .ndesc = 1,
					   .len = 1526});
	command(&f, 1000);
	struct metrics_target t = {.vm = "a", .up = true, .m = f.m};
	char *s = render(METRICS_PROMETHEUS, &t, 1);

#define RX "{vm=\"a\",queue=\"net0.rx\",slot=\"0\",kind=\"receive\"}"
	assert_int_equal(sample_u64(s, "vqscope_queue_posted_buffers" RX), 5);
	assert_int_equal(sample_u64(s, "vqscope_queue_in_flight" RX), 5);
	assert_int_equal(sample_u64(s, "vqscope_queue_completions_total" RX), 1);
	/* The one filled waited 1000 ns: time to fill, not command latency. */
	assert_non_null(strstr(s, "# TYPE vqscope_queue_fill_time_seconds histogram\n"));
	assert_int_equal(sample_u64(s, "vqscope_queue_fill_time_seconds_count" RX), 1);
	assert_int_equal(sample_u64(s,
				    "vqscope_queue_fill_time_seconds_bucket{vm=\"a\",queue="
				    "\"net0.rx\",slot=\"0\",kind=\"receive\",le=\"0.000001023\"}"),
			 1);
	assert_int_equal(sample_u64(s, "vqscope_queue_command_latency_seconds_count" RX), 0);
#undef RX
	free(s);
	model_free(f.m);
}

static void test_negotiate(void **state)
{
	(void)state;
	/* What Prometheus 2.42 sends. */
	assert_int_equal(metrics_negotiate("application/openmetrics-text;version=1.0.0,application/"
					   "openmetrics-text;version=0.0.1;q=0.75,text/"
					   "plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			 METRICS_OPENMETRICS);
	assert_int_equal(metrics_negotiate(NULL), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate(""), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("*/*"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("text/plain"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("Application/OpenMetrics-Text"), METRICS_OPENMETRICS);
	assert_int_equal(
	    metrics_negotiate("application/openmetrics-text; q=0.3, text/plain; q=0.5"),
	    METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("text/plain;q=0.2 , application/openmetrics-text;q=0.9"),
			 METRICS_OPENMETRICS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text;q=0"), METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text;q=nonsense"),
			 METRICS_PROMETHEUS);
	assert_int_equal(metrics_negotiate(",,;;q=,application/openmetrics-text"),
			 METRICS_OPENMETRICS);
	assert_string_equal(metrics_content_type(METRICS_PROMETHEUS),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(metrics_content_type(METRICS_OPENMETRICS),
			    "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prometheus_text),  cmocka_unit_test(test_openmetrics),
	    cmocka_unit_test(test_down_and_escaped), cmocka_unit_test(test_monotonic_across_resync),
	    cmocka_unit_test(test_findings),	     cmocka_unit_test(test_receive_queue),
	    cmocka_unit_test(test_negotiate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
