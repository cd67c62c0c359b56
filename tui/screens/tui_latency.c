/* tui_latency.c - screen 5, the command latency (ADD to USED) of the
 * selected queue as power-of-two buckets with a star bar each, like
 * biolatency, under its percentiles; for a receive queue its buffers'
 * time to fill instead.  Arrows pick the queue. */
#include <stdio.h>
#include <string.h>

#include "tui_app.h"

void tui_latency_draw(struct tui *t, int top, int rows)
{
	const struct latency_hist *h;
	bool receives;
	uint64_t buckets[64], peak = 0;
	char p50[16], p90[16], p99[16], max[16], mean[16], lo[16], hi[16];
	unsigned slot, end, first = 64;
	int y = top, last = top + rows, width = COLS - 42;

	if (!tui_selected_queue(t, &slot)) {
		tui_put(y, 0, -1, A_NORMAL, "(no queues yet)");
		return;
	}
	receives = model_queue_receives(&t->m->queues[slot]);
	h = receives ? &t->m->queues[slot].fill_time : &t->m->queues[slot].latency;
	format_short_duration(p50, sizeof(p50), hist_quantile(h, 0.5));
	format_short_duration(p90, sizeof(p90), hist_quantile(h, 0.9));
	format_short_duration(p99, sizeof(p99), hist_quantile(h, 0.99));
	format_short_duration(max, sizeof(max), h->max_ns);
	format_short_duration(mean, sizeof(mean), h->count ? h->sum_ns / h->count : 0);
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_BOLD), "%s of %s (slot %u), ADD to USED: %llu %s",
		   receives ? "time to fill" : "latency", t->m->queues[slot].name, slot,
		   (unsigned long long)h->count, receives ? "buffers filled" : "commands");
	tui_printf(y++, 0, -1, A_NORMAL, "p50 %s  p90 %s  p99 %s  max %s  mean %s", p50, p90, p99,
		   max, mean);
	y++;
	end = hist_log2(h, buckets);
	for (unsigned k = 0; k < end; k++) {
		if (buckets[k] && first == 64)
			first = k;
		if (buckets[k] > peak)
			peak = buckets[k];
	}
	if (!h->count || first == 64) {
		tui_put(y, 0, -1, A_NORMAL,
			receives ? "(no buffer posted while tracing was filled yet)"
				 : "(no completed commands yet)");
		return;
	}
	if (width > 50)
		width = 50;
	if (width < 10)
		width = 10;
	tui_printf(y++, 0, -1, tui_attr(t, STYLE_TITLE), "%19s %12s  %-*s", "range", "count",
		   width + 2, "distribution");
	/* The slowest buckets matter most: when they do not all fit, the
	 * fastest go. */
	if (end - first > (unsigned)(last - y))
		first = end - (unsigned)(last - y);
	for (unsigned k = first; k < end && y < last; k++) {
		char stars[64];
		int n = (int)((buckets[k] * (uint64_t)width + peak - 1) / peak);

		memset(stars, '*', (size_t)n);
		stars[n] = 0;
		format_short_duration(lo, sizeof(lo), k ? 1ull << k : 0);
		format_short_duration(hi, sizeof(hi), 1ull << (k + 1));
		if (k == 0)
			snprintf(lo, sizeof(lo), "0");
		tui_printf(y++, 0, -1, A_NORMAL, "%8s -> %-8s : %12llu |%-*s|", lo, hi,
			   (unsigned long long)buckets[k], width, stars);
	}
}
