/* check_export.c - checks a `vqscope export --format chrome` file for the
 * host system tests: it must parse with json-c and follow the Trace Event
 * Format that Perfetto and chrome://tracing read, and its command slices
 * are listed so the test can match them one to one with the recording.
 *
 *   check_export FILE.json
 *
 * Checks: a root object with a traceEvents array, displayTimeUnit "ns" and
 * an otherData object; every event has a name, a ph of M, X, i or C and a
 * pid; timed events a ts >= 0; X a dur >= 0 and a tid named by a
 * thread_name record; i a scope of t, p or g; C numeric args; slices on
 * one track nest (never overlap partly), which Perfetto needs; a command
 * slice's dur is its latency_ns, a receive queue's fill slice's its
 * time_to_fill_ns; otherData.command_slices and fill_slices count them.
 *
 * Prints one line per command or fill slice, "slice QUEUE ADD_SEQ USED_SEQ" (the
 * queue's track name without a lane suffix), then "slices QUEUE N" per
 * queue and "frames N", "logs N", "events N".  Every problem is a line
 * "bad: ..."; the exit status is 1 if there was one, 2 if the file does
 * not parse.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slice {
	int64_t tid;
	int64_t start_ns, end_ns;
	size_t index;
};

struct track {
	int64_t tid;
	char name[96];
	uint64_t slices;
};

static int problems;

static void bad(size_t index, const char *what, const char *detail)
{
	if (problems++ < 20)
		printf("bad: event %zu: %s%s%s\n", index, what, detail ? ": " : "",
		       detail ? detail : "");
}

static bool number(json_object *o, const char *key, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_double(v);
	return true;
}

static const char *string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int by_track_then_start(const void *x, const void *y)
{
	const struct slice *a = x, *b = y;

	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	/* The longer (parent) first. */
	return a->end_ns > b->end_ns ? -1 : a->end_ns < b->end_ns;
}

/* Slices on one track must nest: each starts after its parent ended or
 * ends within it. */
static void check_nesting(struct slice *s, size_t n)
{
	int64_t stack[64];
	size_t depth = 0;

	qsort(s, n, sizeof(*s), by_track_then_start);
	for (size_t i = 0; i < n; i++) {
		if (i && s[i].tid != s[i - 1].tid)
			depth = 0;
		while (depth && stack[depth - 1] <= s[i].start_ns)
			depth--;
		if (depth && s[i].end_ns > stack[depth - 1]) {
			char detail[96];

			snprintf(detail, sizeof(detail), "tid %lld", (long long)s[i].tid);
			bad(s[i].index, "slice overlaps another on its track partly", detail);
		}
		if (depth < 64)
			stack[depth++] = s[i].end_ns;
	}
}

static struct track *track_of(struct track *tracks, size_t n, int64_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (tracks[i].tid == tid)
			return &tracks[i];
	return NULL;
}

int main(int argc, char **argv)
{
	json_object *root, *events, *other, *v;
	struct track *tracks;
	struct slice *slices;
	size_t ntracks = 0, nslices = 0, n;
	uint64_t commands = 0, fills = 0, frames = 0, logs = 0;
	double claimed;

	if (argc != 2) {
		fprintf(stderr, "usage: check_export FILE.json\n");
		return 2;
	}
	root = json_object_from_file(argv[1]);
	if (!root) {
		printf("bad: %s does not parse: %s\n", argv[1], json_util_get_last_err());
		return 2;
	}
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "traceEvents", &events) ||
	    !json_object_is_type(events, json_type_array)) {
		printf("bad: no traceEvents array\n");
		json_object_put(root);
		return 1;
	}
	if (!string(root, "displayTimeUnit") || strcmp(string(root, "displayTimeUnit"), "ns") != 0)
		bad(0, "displayTimeUnit is not \"ns\"", NULL);
	if (!json_object_object_get_ex(root, "otherData", &other) ||
	    !json_object_is_type(other, json_type_object))
		bad(0, "no otherData object", NULL);
	n = json_object_array_length(events);
	tracks = calloc(n + 1, sizeof(*tracks));
	slices = calloc(n + 1, sizeof(*slices));
	if (!tracks || !slices)
		return 2;

	/* Track names first: metadata may come anywhere. */
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i), *args;
		const char *ph = string(e, "ph"), *name = string(e, "name");
		double tid;

		if (!ph || strcmp(ph, "M") != 0 || !name || strcmp(name, "thread_name") != 0)
			continue;
		if (!number(e, "tid", &tid) || !json_object_object_get_ex(e, "args", &args) ||
		    !string(args, "name")) {
			bad(i, "thread_name without tid or args.name", NULL);
			continue;
		}
		if (!track_of(tracks, ntracks, (int64_t)tid)) {
			tracks[ntracks].tid = (int64_t)tid;
			snprintf(tracks[ntracks].name, sizeof(tracks[ntracks].name), "%s",
				 string(args, "name"));
			/* "gpu0.control [2]" is lane 2 of gpu0.control. */
			char *lane = strstr(tracks[ntracks].name, " [");
			if (lane)
				*lane = 0;
			ntracks++;
		}
	}

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i), *args = NULL;
		const char *ph = string(e, "ph"), *cat;
		double ts, dur, pid, tid;

		if (!json_object_is_type(e, json_type_object) || !ph || !string(e, "name") ||
		    !number(e, "pid", &pid)) {
			bad(i, "not an object with name, ph and pid", NULL);
			continue;
		}
		json_object_object_get_ex(e, "args", &args);
		if (strcmp(ph, "M") == 0)
			continue;
		if (!number(e, "ts", &ts) || ts < 0) {
			bad(i, "no ts >= 0", ph);
			continue;
		}
		if (strcmp(ph, "i") == 0) {
			const char *scope = string(e, "s");

			if (!scope ||
			    (strcmp(scope, "t") && strcmp(scope, "p") && strcmp(scope, "g")))
				bad(i, "instant without a scope of t, p or g", NULL);
			continue;
		}
		if (strcmp(ph, "C") == 0) {
			if (!args || !json_object_is_type(args, json_type_object)) {
				bad(i, "counter without args", NULL);
				continue;
			}
			json_object_object_foreach(args, key, val)
			{
				if (!json_object_is_type(val, json_type_int) &&
				    !json_object_is_type(val, json_type_double))
					bad(i, "counter value is not a number", key);
			}
			continue;
		}
		if (strcmp(ph, "X") != 0) {
			bad(i, "unexpected ph", ph);
			continue;
		}
		if (!number(e, "dur", &dur) || dur < 0 || !number(e, "tid", &tid)) {
			bad(i, "slice without dur >= 0 and tid", NULL);
			continue;
		}
		struct track *t = track_of(tracks, ntracks, (int64_t)tid);
		if (!t) {
			bad(i, "slice on a track with no thread_name", NULL);
			continue;
		}
		slices[nslices++] =
		    (struct slice){.tid = (int64_t)tid,
				   .start_ns = llround(ts * 1000),
				   .end_ns = llround(ts * 1000) + llround(dur * 1000),
				   .index = i};
		cat = string(e, "cat");
		if (cat && strncmp(cat, "frame", 5) == 0 &&
		    strcmp(string(e, "name"), "active") != 0)
			frames++;
		if (cat && strcmp(cat, "log") == 0)
			logs++;
		if (!cat || (strcmp(cat, "command") != 0 && strcmp(cat, "fill") != 0))
			continue;
		double add_seq, used_seq, latency;
		bool fill = strcmp(cat, "fill") == 0;
		const char *measure = fill ? "time_to_fill_ns" : "latency_ns";

		if (!args || !number(args, "add_seq", &add_seq) ||
		    !number(args, "used_seq", &used_seq) || !number(args, measure, &latency)) {
			bad(i, "command or fill slice without add_seq, used_seq and its duration",
			    measure);
			continue;
		}
		if (fabs(dur * 1000 - latency) > 1)
			bad(i, "slice's dur is not its latency_ns (or time_to_fill_ns)", measure);
		if (fill)
			fills++;
		else
			commands++;
		t->slices++;
		printf("slice %s %.0f %.0f\n", t->name, add_seq, used_seq);
	}
	check_nesting(slices, nslices);
	if (other && number(other, "command_slices", &claimed) && (uint64_t)claimed != commands)
		bad(0, "otherData.command_slices does not count the command slices", NULL);
	if (other && (!number(other, "fill_slices", &claimed) || (uint64_t)claimed != fills))
		bad(0, "otherData.fill_slices does not count the fill slices", NULL);

	/* Per queue (its lanes together). */
	for (size_t i = 0; i < ntracks; i++) {
		uint64_t total = 0;
		bool first = true;

		for (size_t k = 0; k < ntracks; k++) {
			if (strcmp(tracks[k].name, tracks[i].name) != 0)
				continue;
			if (k < i)
				first = false;
			total += tracks[k].slices;
		}
		if (first && total)
			printf("slices %s %llu\n", tracks[i].name, (unsigned long long)total);
	}
	printf("frames %llu\nlogs %llu\nevents %zu\n", (unsigned long long)frames,
	       (unsigned long long)logs, n);
	(void)v;
	free(tracks);
	free(slices);
	json_object_put(root);
	return problems ? 1 : 0;
}
