/* cmd_dump.c - vqscope dump: one event per line, from a recording or a
 * live VM, for grep and scripts. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "live/walk.h"

static const char help[] =
    "usage: vqscope dump [OPTIONS] SOURCE\n"
    "\n"
    "Print every event of a recording (SOURCE is a .vqt file) or of a live VM\n"
    "(SOURCE is its QMP socket or libvirt:DOMAIN[@URI]; from the oldest record\n"
    "still in the guest's ring, then followed until Ctrl-C, --duration or QEMU\n"
    "exits), one per line:\n"
    "\n"
    "  TIME GEN:SEQ TYPE SLOT QUEUE FIELD=VALUE...\n"
    "  1.234567890 1:5120 ADD 0 gpu0.control head=0 idx=1701 ndesc=2 bytes=88 writable=1\n"
    "\n"
    "TIME is seconds since the session started (the times of vqscope report),\n"
    "GEN:SEQ the trace region's generation and the record's sequence number,\n"
    "SLOT and QUEUE '-' for events of no queue.  Fields by type: ADD head idx\n"
    "ndesc bytes writable; KICK, KICK_SUPPRESSED idx adds; POLL outcome spins\n"
    "barriers dur; USED head idx ndesc written; IRQ isr; FRAME_BEGIN frame;\n"
    "FRAME_END frame commands; LOG bytes dur; MARK value; ERROR code head idx\n"
    "detail; QUEUE state size; CB enabled used_event.  Durations are in ns\n"
    "(dur=81234ns).  Records lost before an event are a line 'lost N records';\n"
    "malformed input is a line 'violations N: WHAT'.\n"
    "\n"
    "  -q, --queue SLOT|NAME  only this queue's events (repeatable)\n"
    "  -t, --type TYPE[,TYPE] only these event types, e.g. ADD,USED (repeatable)\n"
    "  -s, --since TIME       start at session time TIME (e.g. 2.5, 1500ms)\n"
    "  -n, --count N          stop after N events\n"
    "  -a, --all              also the recording's other chunks: REGION, QUEUES,\n"
    "                         DEVICE, PRODUCER, ANNOT and CLOSE lines (TIME is\n"
    "                         that of the event before them)\n"
    "  -d, --duration TIME    live: stop after TIME\n"
    "      --only-new         live: skip the records already in the guest's ring\n"
    "      --salvage          read past damaged chunks instead of failing\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 done, 1 error (bad or damaged recording, cannot attach),\n"
    "2 bad usage, 3 the live VM went away, 4 its trace region's file shrank.\n";

#define DUMP_QUEUE_SPECS 32

struct dump {
	const char *queue_spec[DUMP_QUEUE_SPECS];
	bool queue_matched[DUMP_QUEUE_SPECS];
	size_t nqueue_specs;
	uint32_t type_mask; /* bit (1 << type); 0: all */
	uint64_t since_ns;
	uint64_t count, printed;
	bool all;
	bool write_failed;
	int write_errno;
};

/* Untrusted text (queue names, annotations) as one printable word or
 * quoted string: no spaces (words), no quotes, no control bytes. */
static void clean_text(char *dst, size_t cap, const char *src, bool word)
{
	size_t n = 0;

	for (; *src && n + 1 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		dst[n++] =
		    (c < 0x20 || c >= 0x7f || c == '"' || (word && c == ' ')) ? '_' : (char)c;
	}
	dst[n] = 0;
	if (word && n == 0)
		snprintf(dst, cap, "-");
}

static void print_prefix(const struct walk *w, uint64_t at_ns, const char *id, const char *type,
			 unsigned slot)
{
	char name[VQT_QUEUE_NAME_LEN + 1];

	printf("%llu.%09llu %s %s", (unsigned long long)(at_ns / 1000000000ull),
	       (unsigned long long)(at_ns % 1000000000ull), id, type);
	if (slot < MODEL_QUEUES) {
		clean_text(name, sizeof(name), walk_queue_name(w, slot), true);
		printf(" %u %s", slot, name);
	} else {
		printf(" - -");
	}
}

static bool queue_selected(struct dump *d, const struct walk *w, unsigned slot)
{
	bool any = false;

	if (!d->nqueue_specs)
		return true;
	if (slot >= MODEL_QUEUES)
		return false;
	for (size_t i = 0; i < d->nqueue_specs; i++) {
		const char *spec = d->queue_spec[i];
		char *end;
		unsigned long n = strtoul(spec, &end, 10);
		bool match =
		    (*spec && !*end && n == slot) || strcmp(spec, walk_queue_name(w, slot)) == 0;

		if (match) {
			d->queue_matched[i] = true;
			any = true;
		}
	}
	return any;
}

static bool check_output(struct dump *d)
{
	if (ferror(stdout)) {
		d->write_failed = true;
		d->write_errno = errno;
		return false;
	}
	return true;
}

static bool on_event(void *ctx, const struct walk *w, const struct model_history_entry *h)
{
	struct dump *d = ctx;
	const struct vqt_event *e = &h->ev;
	char id[48], fields[256];

	if (h->at_ns < d->since_ns || (d->type_mask && !(d->type_mask & (1u << e->type))) ||
	    !queue_selected(d, w, e->queue))
		return true;
	snprintf(id, sizeof(id), "%u:%llu", h->generation, (unsigned long long)h->seq);
	print_prefix(w, h->at_ns, id, vqp_event_type_name(e->type), e->queue);
	vqp_event_fields_text(fields, sizeof(fields), e, w->m->ts_hz);
	printf("%s%s\n", fields[0] ? " " : "", fields);
	d->printed++;
	if (d->count && d->printed >= d->count)
		return false;
	return check_output(d);
}

static void on_lost(void *ctx, const struct walk *w, uint64_t n)
{
	struct dump *d = ctx;

	(void)w;
	if (w->m->now_ns >= d->since_ns)
		printf("lost %llu record%s\n", (unsigned long long)n, n == 1 ? "" : "s");
}

static void on_violations(void *ctx, const struct walk *w, uint64_t n, const char *last)
{
	char text[256];

	(void)ctx;
	(void)w;
	clean_text(text, sizeof(text), last, false);
	printf("violations %llu: %s\n", (unsigned long long)n, text);
}

static const char *close_reason(uint32_t reason)
{
	static const char *const names[] = {"normal", "signal", "source_gone", "io_error"};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "?";
}

static const char *queue_state_name(unsigned state)
{
	return state == VQT_QS_ACTIVE ? "active" : state == VQT_QS_GONE ? "gone" : "free";
}

/* --all: a line for each record of a non-EVENTS chunk. */
static void on_chunk(void *ctx, const struct walk *w, size_t i)
{
	struct dump *d = ctx;
	const struct vqp_file *f = w->src->file;
	uint64_t at = w->m->now_ns;
	const void *p;
	uint32_t len;
	char err[VQP_ERRLEN], text[640];

	if (!d->all || at < d->since_ns ||
	    vqp_file_chunk(f, i, &p, &len, err, sizeof(err)) != VQP_OK)
		return; /* a damaged chunk is counted as a violation when fed */
	switch (f->chunks[i].type) {
	case VQR_CHUNK_REGION: {
		struct vqr_region r;
		char producer[VQT_PRODUCER_LEN + 1];

		if (vqp_decode_region(p, len, &r, err, sizeof(err)) != VQP_OK)
			return;
		memcpy(producer, r.producer, VQT_PRODUCER_LEN);
		producer[VQT_PRODUCER_LEN] = 0;
		clean_text(text, sizeof(text), producer, false);
		print_prefix(w, at, "-", "REGION", VQT_QUEUE_NONE);
		printf(
		    " generation=%u ring_records=%u region_size=%llu ts_hz=%llu producer=\"%s\"\n",
		    r.generation, r.ring_records, (unsigned long long)r.region_size,
		    (unsigned long long)r.ts_hz, text);
		return;
	}
	case VQR_CHUNK_PRODUCER: {
		struct vqr_producer pr;

		if (vqp_decode_producer(p, len, &pr, err, sizeof(err)) != VQP_OK)
			return;
		print_prefix(w, at, "-", "PRODUCER", VQT_QUEUE_NONE);
		printf(" state=%s heartbeat_ms=%u heartbeats=%llu\n",
		       pr.state == VQT_PRODUCER_RUNNING	  ? "running"
		       : pr.state == VQT_PRODUCER_STOPPED ? "stopped"
							  : "unknown",
		       pr.heartbeat_ms, (unsigned long long)pr.heartbeats);
		return;
	}
	case VQR_CHUNK_QUEUES: {
		struct vqr_queues hdr;
		const struct vqr_queue_entry *entries;

		if (vqp_decode_queues(p, len, &hdr, &entries, err, sizeof(err)) != VQP_OK)
			return;
		for (uint32_t k = 0; k < hdr.count; k++) {
			struct vqr_queue_entry e;

			memcpy(&e, (const uint8_t *)entries + (size_t)k * sizeof(e), sizeof(e));
			vqp_queue_check(&e.queue, e.slot, err, sizeof(err));
			if (!queue_selected(d, w, e.slot))
				continue;
			print_prefix(w, at, "-", "QUEUES", e.slot);
			printf(" state=%s size=%u avail_idx=%u last_used_idx=%u free=%u adds=%llu "
			       "completions=%llu\n",
			       queue_state_name(e.queue.state), e.queue.ring_size,
			       e.queue.avail_idx, e.queue.last_used_idx, e.queue.num_free,
			       (unsigned long long)e.queue.counters[VQT_C_ADDS],
			       (unsigned long long)e.queue.counters[VQT_C_COMPLETIONS]);
		}
		return;
	}
	case VQR_CHUNK_DEVICE: {
		struct vqr_device hdr;
		const struct vqr_device_queue *queues;

		if (vqp_decode_device(p, len, &hdr, &queues, err, sizeof(err)) != VQP_OK)
			return;
		for (uint32_t k = 0; k < hdr.count; k++) {
			struct vqr_device_queue q;
			char path[sizeof(q.path) + 1], name[sizeof(q.name) + 1];
			unsigned slot;

			memcpy(&q, (const uint8_t *)queues + (size_t)k * sizeof(q), sizeof(q));
			memcpy(path, q.path, sizeof(q.path));
			path[sizeof(q.path)] = 0;
			memcpy(name, q.name, sizeof(q.name));
			name[sizeof(q.name)] = 0;
			slot = q.trace_slot < MODEL_QUEUES ? q.trace_slot : VQT_QUEUE_NONE;
			if (!queue_selected(d, w, slot))
				continue;
			clean_text(text, sizeof(text), path, true);
			clean_text(name, sizeof(name), name, true);
			print_prefix(w, at, "-", "DEVICE", slot);
			printf(" device=%s path=%s queue=%u size=%u last_avail_idx=%u used_idx=%u "
			       "inuse=%u%s\n",
			       name, text, q.queue_index, q.vring_num, q.last_avail_idx, q.used_idx,
			       q.inuse, (q.flags & VQR_DQ_DISAGREE) ? " disagree=1" : "");
		}
		return;
	}
	case VQR_CHUNK_ANNOT: {
		struct vqr_annot hdr;
		char raw[600];

		if (vqp_decode_annot(p, len, &hdr, raw, sizeof(raw), err, sizeof(err)) != VQP_OK)
			return;
		clean_text(text, sizeof(text), raw, false);
		print_prefix(w, at, "-", "ANNOT", VQT_QUEUE_NONE);
		printf(" kind=%s text=\"%s\"\n",
		       hdr.kind == VQR_ANNOT_NOTE	 ? "note"
		       : hdr.kind == VQR_ANNOT_QMP_EVENT ? "qmp_event"
		       : hdr.kind == VQR_ANNOT_VIOLATION ? "violation"
		       : hdr.kind == VQR_ANNOT_FINDING	 ? "finding"
		       : hdr.kind == VQR_ANNOT_HOLD	 ? "hold"
							 : "?",
		       text);
		return;
	}
	case VQR_CHUNK_CLOSE: {
		struct vqr_close c;
		char detail[sizeof(c.detail) + 1];

		if (vqp_decode_close(p, len, &c, err, sizeof(err)) != VQP_OK)
			return;
		memcpy(detail, c.detail, sizeof(c.detail));
		detail[sizeof(c.detail)] = 0;
		clean_text(text, sizeof(text), detail, false);
		print_prefix(w, at, "-", "CLOSE", VQT_QUEUE_NONE);
		printf(" reason=%s events=%llu lost=%llu violations=%llu detail=\"%s\"\n",
		       close_reason(c.reason), (unsigned long long)c.events,
		       (unsigned long long)c.lost, (unsigned long long)c.violations, text);
		return;
	}
	default:
		return;
	}
}

static int parse_types(const char *list, uint32_t *mask)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int t = vqp_event_type_from_name(tok);

		if (t < 0) {
			cli_error(
			    "dump",
			    "--type: '%s' is not an event type (ADD, KICK, KICK_SUPPRESSED, "
			    "POLL, USED, IRQ, FRAME_BEGIN, FRAME_END, LOG, MARK, ERROR, QUEUE, "
			    "CB)",
			    tok);
			return -1;
		}
		*mask |= 1u << t;
	}
	return 0;
}

struct dump_args {
	struct dump d;
	struct source_opts so;
	uint64_t duration;
};

static int dump_option(void *ctx, int c, const char *arg)
{
	struct dump_args *a = ctx;
	struct dump *d = &a->d;

	switch (c) {
	case 'q':
		if (d->nqueue_specs == DUMP_QUEUE_SPECS || !*arg) {
			cli_error("dump", "--queue: at most %d non-empty queues", DUMP_QUEUE_SPECS);
			return EXIT_USAGE;
		}
		d->queue_spec[d->nqueue_specs++] = arg;
		return 0;
	case 't':
		return parse_types(arg, &d->type_mask) != 0 ? EXIT_USAGE : 0;
	case 's':
		if (!parse_duration(arg, &d->since_ns)) {
			cli_error("dump", "--since: '%s' is not a time like 2.5 or 1500ms", arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'n':
		if (!parse_uint(arg, 1, UINT64_MAX, &d->count)) {
			cli_error("dump", "--count: '%s' is not a positive number", arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'a':
		d->all = true;
		return 0;
	case 'd':
		if (!parse_duration(arg, &a->duration) || a->duration == 0) {
			cli_error("dump", "--duration: '%s' is not a duration like 5 or 500ms",
				  arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'S':
		a->so.file_flags |= VQP_OPEN_SALVAGE;
		return 0;
	default: /* 'N' */
		a->so.only_new = true;
		return 0;
	}
}

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"queue", required_argument, NULL, 'q'}, {"type", required_argument, NULL, 't'},
	    {"since", required_argument, NULL, 's'}, {"count", required_argument, NULL, 'n'},
	    {"all", no_argument, NULL, 'a'},	     {"duration", required_argument, NULL, 'd'},
	    {"salvage", no_argument, NULL, 'S'},     {"only-new", no_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {"dump",   help, "q:t:s:n:ad:h",
					     longopts, 1,    "SOURCE (see vqscope dump --help)"};
	static const struct walk_handlers handlers = {.event = on_event,
						      .lost = on_lost,
						      .chunk = on_chunk,
						      .violations = on_violations,
						      .interrupted = cli_interrupted};
	struct dump_args a = {0};
	struct dump *d = &a.d;
	struct walk w;
	char err[512];
	int first, rc = cli_parse(&spec, argc, argv, dump_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	rc = EXIT_OK;
	const char *path = argv[first];
	if (walk_open(&w, path, &a.so, NULL, err, sizeof(err)) != 0) {
		cli_error("dump", "%s", err);
		return EXIT_FAIL;
	}
	if (w.src->kind == SOURCE_LIVE) {
		/* Follow: lines go out as they come, Ctrl-C ends cleanly. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		cli_catch_signals();
	} else if (w.src->file_note[0]) {
		fprintf(stderr, "vqscope dump: warning: %s: %s\n", path, w.src->file_note);
	}
	enum walk_end end = walk_run(&w, &handlers, d, a.duration);

	if (!d->write_failed && (fflush(stdout) != 0 || ferror(stdout))) {
		d->write_failed = true;
		d->write_errno = errno;
	}
	if (d->write_failed) {
		/* A reader that went away (| head) is not an error. */
		if (d->write_errno != EPIPE) {
			cli_error("dump", "writing the output: %s", strerror(d->write_errno));
			rc = EXIT_FAIL;
		}
	} else if (end == WALK_SOURCE_GONE) {
		fprintf(stderr, "vqscope dump: %s: %s\n", path, w.src->end_reason);
		rc = EXIT_SOURCE_GONE;
	} else if (end == WALK_REGION_GONE) {
		cli_error("dump", "%s", w.src->region_gone);
		rc = EXIT_REGION_GONE;
	}
	for (size_t i = 0; i < d->nqueue_specs && end != WALK_STOPPED; i++)
		if (!d->queue_matched[i])
			fprintf(stderr, "vqscope dump: warning: no events of queue '%s'\n",
				d->queue_spec[i]);
	walk_close(&w);
	return rc;
}
