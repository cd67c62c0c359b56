/* cmd_diff.c - vqscope diff: two recordings side by side (for example two
 * barrier policies, or logging on and off), with the ratio B/A of every
 * measure and a list of what changed most. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/report.h"

static const char help[] =
    "usage: vqscope diff [OPTIONS] A.vqt B.vqt\n"
    "\n"
    "Compare two recordings: frames per second and frame period, where the\n"
    "frame time went (shares and time per frame) and the dominant cause of\n"
    "each, event rate and loss; per queue (matched by name, then by slot):\n"
    "completions per second, latency p50/p90/p99/max, spins and barriers per\n"
    "completion, kicks per second and stalls.  Every measure gets the ratio\n"
    "B/A ('new' when A is 0, '-' when both are), and the biggest changes are\n"
    "listed last.\n"
    "\n"
    "  -j, --json      one JSON object instead of text\n"
    "      --salvage   read past damaged chunks instead of failing\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit status: 0 compared, 1 error (bad or damaged recording), 2 bad usage.\n";

enum diff_unit { UNIT_RATE, UNIT_NS, UNIT_COUNT, UNIT_PER };

struct diff_row {
	char section[64]; /* "session", "frame time", "queue gpu0.control" */
	char metric[40];  /* "frames/s", "log", "latency p99" */
	enum diff_unit unit;
	double a, b;
	double share_a, share_b; /* attribution rows: percent of the time, else < 0 */
	bool rank;		 /* a candidate for "what changed most" */
};

#define DIFF_ROWS_MAX	 (32 + 16 * MODEL_QUEUES)
#define DIFF_CHANGED_MAX 8

struct diff {
	const char *path[2];
	struct report *r[2];
	struct diff_row *rows;
	size_t nrows;
	bool per_frame; /* attribution per frame (both have frames), else per second */
	/* Queue pairs: index into r[0]->queues / r[1]->queues, or -1. */
	int pair[2][2 * MODEL_QUEUES];
	size_t npairs;
};

/* ---- building --------------------------------------------------------------------------- */

static int load(const char *path, const struct source_opts *so, struct report *r, char *err,
		size_t errlen)
{
	struct source *src = source_open(path, so, err, errlen);
	struct vq_model *m;

	if (!src)
		return -1;
	if (src->kind != SOURCE_FILE) {
		snprintf(err, errlen, "%s is a live VM; record it first (vqscope record)", path);
		source_close(src);
		return -2;
	}
	if (src->file_note[0])
		fprintf(stderr, "vqscope diff: warning: %s: %s\n", path, src->file_note);
	m = model_new(&(struct model_opts){.history = 1024});
	if (!m) {
		snprintf(err, errlen, "out of memory");
		source_close(src);
		return -1;
	}
	source_file_all(src, m);
	report_build(r, m, path, src->end_reason);
	model_free(m);
	source_close(src);
	return 0;
}

static struct diff_row *row(struct diff *d, const char *section, const char *metric,
			    enum diff_unit unit, double a, double b, bool rank)
{
	struct diff_row *w = &d->rows[d->nrows++];

	snprintf(w->section, sizeof(w->section), "%s", section);
	snprintf(w->metric, sizeof(w->metric), "%s", metric);
	w->unit = unit;
	w->a = a;
	w->b = b;
	w->share_a = w->share_b = -1;
	w->rank = rank;
	return w;
}

static double seconds(const struct report *r)
{
	return (double)r->duration_ns / 1e9;
}

static double per_second(const struct report *r, uint64_t n)
{
	return r->duration_ns ? (double)n / seconds(r) : 0;
}

static void session_rows(struct diff *d)
{
	const struct report *a = d->r[0], *b = d->r[1];

	row(d, "session", "duration", UNIT_NS, (double)a->duration_ns, (double)b->duration_ns,
	    false);
	row(d, "session", "events/s", UNIT_RATE, per_second(a, a->events), per_second(b, b->events),
	    true);
	row(d, "session", "lost records", UNIT_COUNT, (double)a->lost, (double)b->lost, false);
	row(d, "session", "violations", UNIT_COUNT, (double)a->violations, (double)b->violations,
	    false);
	row(d, "session", "generations", UNIT_COUNT, a->generations, b->generations, false);
	row(d, "frames", "frames/s", UNIT_RATE, a->frames_per_s, b->frames_per_s, true);
	row(d, "frames", "period p50", UNIT_NS, (double)a->period_p50_ns, (double)b->period_p50_ns,
	    true);
	row(d, "frames", "period p99", UNIT_NS, (double)a->period_p99_ns, (double)b->period_p99_ns,
	    true);
	row(d, "frames", "stalls/s", UNIT_RATE, per_second(a, a->frame_stalls),
	    per_second(b, b->frame_stalls), true);
}

/* Where the time went: time per frame (or per second of session when a
 * side has no frames) and the share of each part. */
static void attribution_rows(struct diff *d)
{
	const struct report *r[2] = {d->r[0], d->r[1]};
	const char *section = d->per_frame ? "frame time" : "session time";

	for (int c = 0; c < ATTR_COUNT; c++) {
		double v[2], share[2];

		for (int k = 0; k < 2; k++) {
			const struct attribution *at = &r[k]->verdict_attr;
			double units =
			    d->per_frame ? (double)r[k]->frames : (double)at->total_ns / 1e9;

			v[k] = units > 0 ? (double)at->ns[c] / units : 0;
			share[k] =
			    at->total_ns ? 100.0 * (double)at->ns[c] / (double)at->total_ns : 0;
		}
		struct diff_row *w =
		    row(d, section, attr_name((enum attr_cat)c), UNIT_PER, v[0], v[1], true);
		w->share_a = share[0];
		w->share_b = share[1];
	}
}

static void queue_rows(struct diff *d, const struct report_queue *qa, const struct report_queue *qb)
{
	char section[64];

	snprintf(section, sizeof(section), "queue %s", qa->name);
	row(d, section, "completions/s", UNIT_RATE, qa->per_s[MC_COMPLETIONS],
	    qb->per_s[MC_COMPLETIONS], true);
	row(d, section, "latency p50", UNIT_NS, (double)qa->p50_ns, (double)qb->p50_ns, true);
	row(d, section, "latency p90", UNIT_NS, (double)qa->p90_ns, (double)qb->p90_ns, true);
	row(d, section, "latency p99", UNIT_NS, (double)qa->p99_ns, (double)qb->p99_ns, true);
	row(d, section, "latency max", UNIT_NS, (double)qa->max_ns, (double)qb->max_ns, false);
	row(d, section, "spins/completion", UNIT_RATE, qa->spins_per_completion,
	    qb->spins_per_completion, true);
	row(d, section, "barriers/completion", UNIT_RATE, qa->barriers_per_completion,
	    qb->barriers_per_completion, true);
	row(d, section, "kicks/s", UNIT_RATE, qa->per_s[MC_KICKS], qb->per_s[MC_KICKS], true);
	row(d, section, "stalls", UNIT_COUNT, (double)qa->count[MC_STALLS],
	    (double)qb->count[MC_STALLS], false);
}

/* A queue with no commands on either side has nothing to compare. */
static bool idle(const struct report_queue *qa, const struct report_queue *qb)
{
	return !qa->count[MC_ADDS] && !qa->count[MC_COMPLETIONS] && !qb->count[MC_ADDS] &&
	       !qb->count[MC_COMPLETIONS];
}

static bool named(const struct report_queue *q)
{
	return q->name[0] && strcmp(q->name, "?") != 0;
}

/* Queues by name first, then the unmatched ones by slot. */
static void match_queues(struct diff *d)
{
	const struct report *a = d->r[0], *b = d->r[1];
	bool used_b[MODEL_QUEUES] = {0}, done_a[MODEL_QUEUES] = {0};

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < a->nqueues; i++) {
			if (done_a[i])
				continue;
			for (size_t k = 0; k < b->nqueues; k++) {
				const struct report_queue *qa = &a->queues[i], *qb = &b->queues[k];
				bool same = pass == 0 ? named(qa) && strcmp(qa->name, qb->name) == 0
						      : qa->slot == qb->slot;

				if (used_b[k] || !same)
					continue;
				used_b[k] = done_a[i] = true;
				d->pair[0][d->npairs] = (int)i;
				d->pair[1][d->npairs++] = (int)k;
				break;
			}
		}
	for (size_t i = 0; i < a->nqueues; i++)
		if (!done_a[i]) {
			d->pair[0][d->npairs] = (int)i;
			d->pair[1][d->npairs++] = -1;
		}
	for (size_t k = 0; k < b->nqueues; k++)
		if (!used_b[k]) {
			d->pair[0][d->npairs] = -1;
			d->pair[1][d->npairs++] = (int)k;
		}
}

static void build(struct diff *d)
{
	d->per_frame = d->r[0]->frames && d->r[1]->frames;
	session_rows(d);
	attribution_rows(d);
	match_queues(d);
	for (size_t p = 0; p < d->npairs; p++)
		if (d->pair[0][p] >= 0 && d->pair[1][p] >= 0 &&
		    !idle(&d->r[0]->queues[d->pair[0][p]], &d->r[1]->queues[d->pair[1][p]]))
			queue_rows(d, &d->r[0]->queues[d->pair[0][p]],
				   &d->r[1]->queues[d->pair[1][p]]);
}

/* How much a row changed: |log2(B/A)|; appearing or vanishing counts as
 * 1024x.  Attribution parts under 1% of the time on both sides are noise. */
static double change_score(const struct diff_row *w)
{
	if (!w->rank || (w->a == 0 && w->b == 0))
		return 0;
	if (w->share_a >= 0 && w->share_a < 1 && w->share_b < 1)
		return 0;
	if (w->a == 0 || w->b == 0)
		return 10;
	return fabs(log2(w->b / w->a));
}

static int by_score(const void *x, const void *y)
{
	double a = change_score(*(const struct diff_row *const *)x);
	double b = change_score(*(const struct diff_row *const *)y);

	return a < b ? 1 : a > b ? -1 : 0;
}

/* The rows that changed by at least 10%, biggest change first. */
static size_t changed_most(const struct diff *d, const struct diff_row **out)
{
	const struct diff_row **all = calloc(d->nrows ? d->nrows : 1, sizeof(*all));
	size_t n = 0;

	if (!all)
		return 0;
	for (size_t i = 0; i < d->nrows; i++)
		all[i] = &d->rows[i];
	qsort(all, d->nrows, sizeof(*all), by_score);
	for (size_t i = 0; i < d->nrows && n < DIFF_CHANGED_MAX; i++)
		if (change_score(all[i]) >= log2(1.1))
			out[n++] = all[i];
	free(all);
	return n;
}

/* ---- text ----------------------------------------------------------------------------------- */

static void format_value(char *buf, size_t len, enum diff_unit unit, double v)
{
	if (unit == UNIT_NS || unit == UNIT_PER)
		format_duration(buf, len, (uint64_t)llround(v));
	else if (unit == UNIT_COUNT)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
}

static void format_ratio(char *buf, size_t len, double a, double b)
{
	if (a == 0 && b == 0)
		snprintf(buf, len, "-");
	else if (a == 0)
		snprintf(buf, len, "new");
	else
		snprintf(buf, len, "%.2fx", b / a);
}

static void format_cell(char *buf, size_t len, const struct diff_row *w, int side)
{
	char v[32];
	double share = side ? w->share_b : w->share_a;

	format_value(v, sizeof(v), w->unit, side ? w->b : w->a);
	if (share >= 0)
		snprintf(buf, len, "%s (%.1f%%)", v, share);
	else
		snprintf(buf, len, "%s", v);
}

static void print_row(const struct diff_row *w)
{
	char a[48], b[48], ratio[16];

	format_cell(a, sizeof(a), w, 0);
	format_cell(b, sizeof(b), w, 1);
	format_ratio(ratio, sizeof(ratio), w->a, w->b);
	printf("  %-22s %20s %20s %9s\n", w->metric, a, b, ratio);
}

static void print_dominant(const struct diff *d)
{
	char cell[2][48];

	for (int k = 0; k < 2; k++)
		snprintf(cell[k], sizeof(cell[k]), "%s (%u%%)", attr_name(d->r[k]->dominant),
			 d->r[k]->dominant_pct);
	printf("  %-22s %20s %20s %9s\n", "dominant cause", cell[0], cell[1],
	       d->r[0]->dominant == d->r[1]->dominant ? "same" : "changed");
}

static void print_text(const struct diff *d, const struct diff_row **top, size_t ntop)
{
	const char *section = "";
	char verdict[2][160];

	for (int k = 0; k < 2; k++)
		report_verdict(d->r[k], verdict[k], sizeof(verdict[k]));
	printf("vqscope diff: A %s\n", d->path[0]);
	printf("              B %s\n", d->path[1]);
	printf("A: %s\nB: %s\n", verdict[0], verdict[1]);
	printf("\n  %-22s %20s %20s %9s\n", "", "A", "B", "B/A");
	for (size_t i = 0; i < d->nrows; i++) {
		const struct diff_row *w = &d->rows[i];

		if (strcmp(w->section, section) != 0) {
			section = w->section;
			if (w->unit == UNIT_PER)
				printf("%s (per %s, share):\n", section,
				       d->per_frame ? "frame" : "second");
			else
				printf("%s:\n", section);
		}
		print_row(w);
		/* The verdict closes the attribution. */
		if (w->unit == UNIT_PER && (i + 1 == d->nrows || d->rows[i + 1].unit != UNIT_PER))
			print_dominant(d);
	}
	for (size_t p = 0; p < d->npairs; p++) {
		if (d->pair[0][p] >= 0 && d->pair[1][p] >= 0 &&
		    idle(&d->r[0]->queues[d->pair[0][p]], &d->r[1]->queues[d->pair[1][p]]))
			printf("queue %s: no commands in A or B\n",
			       d->r[0]->queues[d->pair[0][p]].name);
		for (int k = 0; k < 2; k++)
			if (d->pair[k][p] >= 0 && d->pair[!k][p] < 0) {
				const struct report_queue *q = &d->r[k]->queues[d->pair[k][p]];

				printf("queue %s (slot %u): only in %c, %llu completions\n",
				       q->name, q->slot, k ? 'B' : 'A',
				       (unsigned long long)q->count[MC_COMPLETIONS]);
			}
	}
	printf("\nWhat changed most (B/A):\n");
	if (!ntop)
		printf("  nothing changed by 10%% or more\n");
	for (size_t i = 0; i < ntop; i++) {
		char a[48], b[48], ratio[16], what[110];

		format_cell(a, sizeof(a), top[i], 0);
		format_cell(b, sizeof(b), top[i], 1);
		format_ratio(ratio, sizeof(ratio), top[i]->a, top[i]->b);
		snprintf(what, sizeof(what), "%s: %s", top[i]->section, top[i]->metric);
		printf("  %zu. %-40s %18s -> %-18s %9s\n", i + 1, what, a, b, ratio);
	}
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static const char *unit_name(enum diff_unit u)
{
	static const char *const names[] = {"rate", "ns", "count", "ns_per_unit"};

	return names[u];
}

static json_object *row_json(const struct diff_row *w)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "section", json_object_new_string(w->section));
	json_object_object_add(o, "metric", json_object_new_string(w->metric));
	json_object_object_add(o, "unit", json_object_new_string(unit_name(w->unit)));
	json_object_object_add(o, "a", json_object_new_double(w->a));
	json_object_object_add(o, "b", json_object_new_double(w->b));
	json_object_object_add(o, "ratio", w->a != 0 ? json_object_new_double(w->b / w->a) : NULL);
	if (w->share_a >= 0) {
		json_object_object_add(o, "share_a", json_object_new_double(w->share_a));
		json_object_object_add(o, "share_b", json_object_new_double(w->share_b));
	}
	return o;
}

static json_object *side_json(const struct report *r)
{
	json_object *o = json_object_new_object();
	char verdict[160];

	report_verdict(r, verdict, sizeof(verdict));
	json_object_object_add(o, "source", json_object_new_string(r->source));
	json_object_object_add(o, "producer", json_object_new_string(r->producer));
	json_object_object_add(o, "duration_ns", json_object_new_uint64(r->duration_ns));
	json_object_object_add(o, "frames", json_object_new_uint64(r->frames));
	json_object_object_add(o, "dominant", json_object_new_string(attr_name(r->dominant)));
	json_object_object_add(o, "dominant_percent", json_object_new_int(r->dominant_pct));
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	return o;
}

static void print_json(const struct diff *d, const struct diff_row **top, size_t ntop)
{
	json_object *o = json_object_new_object(), *rows = json_object_new_array();
	json_object *queues = json_object_new_array(), *changed = json_object_new_array();

	json_object_object_add(o, "a", side_json(d->r[0]));
	json_object_object_add(o, "b", side_json(d->r[1]));
	json_object_object_add(o, "attribution_per",
			       json_object_new_string(d->per_frame ? "frame" : "second"));
	json_object_object_add(o, "dominant_changed",
			       json_object_new_boolean(d->r[0]->dominant != d->r[1]->dominant));
	for (size_t i = 0; i < d->nrows; i++)
		json_object_array_add(rows, row_json(&d->rows[i]));
	json_object_object_add(o, "rows", rows);
	for (size_t p = 0; p < d->npairs; p++) {
		json_object *q = json_object_new_object();
		const char *name = "";

		for (int k = 1; k >= 0; k--) {
			if (d->pair[k][p] < 0)
				continue;
			name = d->r[k]->queues[d->pair[k][p]].name;
			json_object_object_add(
			    q, k ? "slot_b" : "slot_a",
			    json_object_new_int((int)d->r[k]->queues[d->pair[k][p]].slot));
		}
		json_object_object_add(q, "name", json_object_new_string(name));
		if (d->pair[0][p] < 0 || d->pair[1][p] < 0)
			json_object_object_add(
			    q, "only_in", json_object_new_string(d->pair[0][p] < 0 ? "b" : "a"));
		json_object_array_add(queues, q);
	}
	json_object_object_add(o, "queues", queues);
	for (size_t i = 0; i < ntop; i++)
		json_object_array_add(changed, row_json(top[i]));
	json_object_object_add(o, "changed_most", changed);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

struct diff_args {
	struct source_opts so;
	bool json;
};

static int diff_option(void *ctx, int c, const char *arg)
{
	struct diff_args *a = ctx;

	(void)arg;
	if (c == 'j')
		a->json = true;
	else /* 'S' */
		a->so.file_flags |= VQP_OPEN_SALVAGE;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"salvage", no_argument, NULL, 'S'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "diff", help, "jh", longopts, 2, "recordings, A and B (see vqscope diff --help)"};
	struct diff_args a = {0};
	struct diff d = {0};
	const struct diff_row *top[DIFF_CHANGED_MAX];
	size_t ntop;
	char err[512];
	int first, rc = cli_parse(&spec, argc, argv, diff_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	rc = EXIT_OK;
	d.r[0] = calloc(1, sizeof(*d.r[0]));
	d.r[1] = calloc(1, sizeof(*d.r[1]));
	d.rows = calloc(DIFF_ROWS_MAX, sizeof(*d.rows));
	if (!d.r[0] || !d.r[1] || !d.rows) {
		cli_error("diff", "out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		d.path[k] = argv[first + k];
		int loaded = load(d.path[k], &a.so, d.r[k], err, sizeof(err));

		if (loaded != 0) {
			cli_error("diff", "%s", err);
			rc = loaded == -2 ? EXIT_USAGE : EXIT_FAIL;
			goto out;
		}
	}
	build(&d);
	ntop = changed_most(&d, top);
	if (a.json)
		print_json(&d, top, ntop);
	else
		print_text(&d, top, ntop);
out:
	free(d.rows);
	free(d.r[0]);
	free(d.r[1]);
	return rc;
}
