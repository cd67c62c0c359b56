/* sink.c - turn the BPF side's records into trace-region events with the
 * guest library (the same code an instrumented guest runs), and copy the
 * region into a recording or text lines with libvqproto's reader, exactly
 * as the host would.
 *
 * Timestamps: the library asks its now() callback for the time of each
 * event; the callback returns the BPF-side timestamp of the record being
 * replayed, so region events carry the moment the kernel ran the hooked
 * function (bpf_ktime_get_ns, CLOCK_MONOTONIC), not the moment we read it.
 */
#include "sink.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "vqproto.h"
#include "vqscope_guest.h"
#include "vqscope_trace.h"

#define DRAIN_BATCH 4096
#define NAME_LEN    VQT_QUEUE_NAME_LEN

struct queue_ref {
	uint64_t vq; /* kernel address, the queue's identity */
	int slot;    /* region slot, or -1: no slot was free */
	uint16_t device_id;
	int32_t device_index;
	bool kind_known; /* receive or request queue decided (first ADD) */
	char name[VQT_QUEUE_NAME_LEN];
};

struct sink {
	struct vq_trace trace;
	void *region;
	size_t region_size;
	bool region_private;

	struct queue_ref queues[VQTR_MAX_QUEUES];
	size_t nqueues;
	size_t last_hit; /* index of the last queue looked up */
	char names[VQ_TRACE_MAX_QUEUES][NAME_LEN];
	bool queues_changed; /* a QUEUES chunk is due */

	struct vqp_region reader_region;
	struct vqp_reader reader;
	struct vqp_writer *writer;
	FILE *text;
	bool text_started;
	uint64_t text_origin_ts; /* the first event printed: time 0 */
	struct vqt_event batch[DRAIN_BATCH];
	uint64_t last_ts;

	struct sink_stats stats;
};

/* The guest library's clock: the timestamp of the record being replayed. */
static uint64_t replay_ts;

static vq_u64 replay_now(void)
{
	return replay_ts;
}

static uint64_t monotonic_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- queues -------------------------------------------------------------- */

/* "0 for the first device of a type" (vqtrace.h): the rank of virtioN
 * among the devices of the same type in /sys/bus/virtio/devices, or the
 * order of first sight when sysfs does not say. */
static uint16_t device_instance(const struct sink *s, uint16_t device_id, int32_t device_index)
{
	DIR *dir = opendir("/sys/bus/virtio/devices");
	struct dirent *d;
	uint16_t rank = 0, seen = 0;
	bool found = false;

	while (dir && (d = readdir(dir)) != NULL) {
		char path[300];
		unsigned id, index;
		FILE *f;

		if (sscanf(d->d_name, "virtio%u", &index) != 1)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%x", &id) == 1 && id == device_id) {
			if ((int32_t)index < device_index)
				rank++;
			if ((int32_t)index == device_index)
				found = true;
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	if (found)
		return rank;
	for (size_t i = 0; i < s->nqueues; i++) {
		bool first = true;

		if (s->queues[i].device_id != device_id)
			continue;
		for (size_t j = 0; j < i; j++)
			if (s->queues[j].device_index == s->queues[i].device_index)
				first = false;
		if (first && s->queues[i].device_index != device_index)
			seen++;
	}
	return seen;
}

static struct queue_ref *queue_find(struct sink *s, uint64_t vq)
{
	if (s->last_hit < s->nqueues && s->queues[s->last_hit].vq == vq)
		return &s->queues[s->last_hit];
	for (size_t i = 0; i < s->nqueues; i++) {
		if (s->queues[i].vq == vq) {
			s->last_hit = i;
			return &s->queues[i];
		}
	}
	return NULL;
}

static void queue_register(struct sink *s, const struct vqtr_queue *q)
{
	struct vq_queue_info info = {0};
	char name[NAME_LEN + 16];
	struct queue_ref *ref;

	if (queue_find(s, q->vq) || s->nqueues == VQTR_MAX_QUEUES)
		return; /* described twice (two CPUs saw it first) */
	snprintf(name, sizeof(name), "%.*s.%.*s", VQTR_DEVICE_NAME_LEN, q->device_name,
		 VQTR_QUEUE_NAME_LEN, q->name);
	info.device_type = q->device_id;
	info.device_instance = device_instance(s, q->device_id, q->device_index);
	info.queue_index = q->queue_index;
	info.ring_size = q->ring_size;
	info.flags = (uint16_t)(((q->flags & VQTR_QF_PACKED) ? VQT_QF_PACKED : 0) |
				((q->flags & VQTR_QF_EVENT_IDX) ? VQT_QF_EVENT_IDX : 0) |
				((q->flags & VQTR_QF_INDIRECT) ? VQT_QF_INDIRECT : 0));
	info.name = name;
	info.desc_addr = q->desc_addr;
	info.avail_addr = q->avail_addr;
	info.used_addr = q->used_addr;

	ref = &s->queues[s->nqueues++];
	ref->vq = q->vq;
	ref->device_id = q->device_id;
	ref->device_index = q->device_index;
	ref->kind_known = false;
	snprintf(ref->name, sizeof(ref->name), "%.*s", (int)sizeof(ref->name) - 1, name);
	replay_ts = q->ts;
	ref->slot = vq_trace_register_queue(&s->trace, &info);
	if (ref->slot >= 0) {
		snprintf(s->names[ref->slot], NAME_LEN, "%.*s", NAME_LEN - 1, name);
		s->stats.queues++;
		s->queues_changed = true;
	}
}

/* ---- events --------------------------------------------------------------- */

/* A receive queue is one whose driver posts device-writable buffers only
 * for the device to fill when data arrives: virtio-net's receiveq (virtio
 * 1.2, 5.1.6.3), the console's receiveqs (5.3), the input device's eventq
 * (5.8), the socket device's rx and event queues (5.10).  The add function
 * says whether the driver passed device-writable buffers only
 * (vqtr_event.detail of an ADD).  The entropy device's buffers are
 * device-writable too, but its driver asks for entropy when it wants it
 * (5.4): a request queue.  The first ADD decides. */
#define VIRTIO_ID_RNG 4
static void queue_kind(struct sink *s, struct queue_ref *ref, const struct vqtr_event *e)
{
	ref->kind_known = true;
	if (e->detail && ref->device_id != VIRTIO_ID_RNG) {
		replay_ts = e->ts;
		vq_trace_set_receive(&s->trace, ref->slot, 1);
		s->queues_changed = true;
	}
}

static void event_replay(struct sink *s, const struct vqtr_event *e)
{
	struct queue_ref *ref = queue_find(s, e->vq);
	struct vq_trace *t = &s->trace;
	int slot;

	if (!ref) {
		s->stats.unknown++;
		return;
	}
	if (ref->slot < 0) {
		s->stats.table_full++;
		return;
	}
	slot = ref->slot;
	replay_ts = e->ts;
	switch (e->type) {
	case VQT_EV_ADD:
		if (!ref->kind_known)
			queue_kind(s, ref, e);
		vq_trace_add(t, slot, e->head, e->ring_idx, e->ndesc, e->len, e->nwritable);
		break;
	case VQT_EV_KICK:
		vq_trace_kick(t, slot, e->ring_idx);
		break;
	case VQT_EV_KICK_SUPPRESSED:
		vq_trace_kick_suppressed(t, slot, e->ring_idx);
		break;
	case VQT_EV_USED:
		vq_trace_used(t, slot, e->head, e->ring_idx, e->len, e->ndesc);
		break;
	case VQT_EV_IRQ:
		vq_trace_irq(t, slot, 0);
		break;
	case VQT_EV_CB:
		vq_trace_callbacks(t, slot, e->nwritable != 0, e->ring_idx);
		break;
	case VQT_EV_ERROR:
		vq_trace_error(t, slot, e->ndesc, e->detail);
		break;
	default:
		s->stats.unknown++;
		return;
	}
	/* The library's own index arithmetic is a guess; the kernel's
	 * values are the truth. */
	vq_trace_sync_indices(t, slot, e->avail_idx, e->last_used_idx, e->num_free);
	s->stats.events++;
}

void sink_record(struct sink *s, const void *data, size_t size)
{
	const struct vqtr_event *e = data;

	if (size >= sizeof(struct vqtr_queue) && e->kind == VQTR_KIND_QUEUE)
		queue_register(s, data);
	else if (size >= sizeof(struct vqtr_event) && e->kind == VQTR_KIND_EVENT)
		event_replay(s, e);
	else
		s->stats.unknown++;
}

/* The guest library has no call for records lost before they reach it, so
 * do what its emit() does to a slot before writing it, for each lost
 * sequence number: store seq = s - 1, which no reader of that slot
 * expects, so readers count the record as lost; then publish the head
 * past them. */
void sink_lost(struct sink *s, uint64_t n)
{
	vq_trace_lost(&s->trace, n);
	s->stats.lost += n;
}

void sink_set_state(struct sink *s, uint32_t state, uint32_t heartbeat_ms)
{
	/* The library stamps the state change with its clock: now. */
	replay_ts = monotonic_ns(CLOCK_MONOTONIC);
	vq_trace_set_state(&s->trace, state, heartbeat_ms);
}

void sink_heartbeat(struct sink *s)
{
	replay_ts = monotonic_ns(CLOCK_MONOTONIC);
	vq_trace_heartbeat(&s->trace);
}

const char *sink_queue_name(const struct sink *s, uint64_t vq)
{
	for (size_t i = 0; i < s->nqueues; i++)
		if (s->queues[i].vq == vq)
			return s->queues[i].name;
	return NULL;
}

/* ---- recording and text ----------------------------------------------------- */

/* One line per event, as `vqscope dump` prints it: time from the first
 * event, generation:seq, type, queue slot and name, the fields
 * (vqp_event_fields). */
static void print_event(struct sink *s, const struct vqt_event *e, uint64_t seq)
{
	uint64_t ns;
	char fields[256];

	if (!s->text_started) {
		s->text_started = true;
		s->text_origin_ts = e->ts;
	}
	ns = e->ts >= s->text_origin_ts
		 ? vqp_ticks_to_ns(e->ts - s->text_origin_ts, s->reader_region.layout.ts_hz)
		 : 0;

	fprintf(s->text, "%" PRIu64 ".%09" PRIu64 " %" PRIu32 ":%" PRIu64 " %s", ns / 1000000000u,
		ns % 1000000000u, s->reader.generation, seq, vqp_event_type_name(e->type));
	if (e->queue < VQ_TRACE_MAX_QUEUES)
		fprintf(s->text, " %u %s", e->queue, s->names[e->queue]);
	else
		fputs(" - -", s->text);
	vqp_event_fields_text(fields, sizeof(fields), e, s->reader_region.layout.ts_hz);
	fprintf(s->text, "%s%s\n", fields[0] ? " " : "", fields);
}

static int write_queues(struct sink *s, char *err, size_t errlen)
{
	struct vqr_queue_entry entries[VQ_TRACE_MAX_QUEUES];
	uint32_t count = 0;
	char why[VQP_ERRLEN];

	for (size_t i = 0; i < s->nqueues; i++) {
		int slot = s->queues[i].slot;

		if (slot < 0)
			continue;
		memset(&entries[count], 0, sizeof(entries[count]));
		entries[count].slot = (uint32_t)slot;
		if (vqp_queue_snapshot(&s->reader_region, (unsigned)slot, &entries[count].queue,
				       why, sizeof(why)) == VQP_OK)
			count++;
	}
	s->queues_changed = false;
	return vqp_writer_queues(s->writer, s->last_ts, s->reader_region.layout.generation, entries,
				 count, err, errlen);
}

int sink_drain(struct sink *s, char *err, size_t errlen)
{
	struct vqp_drain_info info;
	int n;

	if (!s->writer && !s->text)
		return 0;
	if (s->writer && s->queues_changed && write_queues(s, err, errlen) != VQP_OK)
		return -1;
	do {
		n = vqp_reader_drain(&s->reader, s->batch, DRAIN_BATCH, &info);
		if (n < 0) {
			snprintf(err, errlen,
				 "the trace region was re-initialised by another producer");
			return -1;
		}
		if (n == 0)
			break;
		s->last_ts = s->batch[n - 1].ts;
		if (s->writer &&
		    vqp_writer_events(s->writer, s->reader.generation, info.first_seq, s->batch,
				      (size_t)n, (uint32_t)info.violations,
				      monotonic_ns(CLOCK_MONOTONIC), err, errlen) != VQP_OK)
			return -1;
		for (int i = 0; s->text && i < n; i++)
			print_event(s, &s->batch[i],
				    info.first_seq +
					(uint32_t)(s->batch[i].seq - (uint32_t)info.first_seq));
	} while (n == DRAIN_BATCH);
	if (s->text)
		fflush(s->text);
	return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

static int open_recording(struct sink *s, const struct sink_config *cfg, char *err, size_t errlen)
{
	const struct vqp_layout *l = &s->reader_region.layout;
	struct vqp_writer_opts o = {
	    .ts_hz = l->ts_hz,
	    .ts_start = l->ts_base,
	    .ts_source = l->ts_source,
	    .source_kind = VQR_SRC_TRACER,
	    .producer = l->producer,
	};
	struct vqr_region reg = {
	    .generation = l->generation,
	    .ring_records = l->ring_records,
	    .region_size = l->region_size,
	    .ts_hz = l->ts_hz,
	    .ts_base = l->ts_base,
	    .ts_source = l->ts_source,
	    .flags = l->flags,
	    .host_mono_ns = monotonic_ns(CLOCK_MONOTONIC),
	};

	memcpy(reg.producer, l->producer, sizeof(reg.producer));
	s->writer = vqp_writer_open(cfg->output, &o, cfg->overwrite, err, errlen);
	if (!s->writer)
		return -1;
	return vqp_writer_region(s->writer, &reg, err, errlen) == VQP_OK ? 0 : -1;
}

struct sink *sink_open(const struct sink_config *cfg, char *err, size_t errlen)
{
	struct vq_trace_config tc = {
	    .producer = cfg->producer,
	    .ts_hz = 1000000000u,
	    .ts_source = VQT_TS_BPF_KTIME,
	    .flags = VQT_HDR_F_HOSTED | VQT_HDR_F_TRACER,
	    .no_step = 1, /* the kernel cannot be paused from here */
	    .now = replay_now,
	};
	struct sink *s = calloc(1, sizeof(*s));
	char why[VQP_ERRLEN];

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->region = cfg->region;
	s->region_size = cfg->region_size;
	if (!s->region) {
		if (s->region_size == 0)
			s->region_size = VQT_REGION_DEFAULT;
		s->region = mmap(NULL, s->region_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s->region == MAP_FAILED) {
			snprintf(err, errlen, "cannot allocate a %zu-byte trace region: %s",
				 s->region_size, strerror(errno));
			free(s);
			return NULL;
		}
		s->region_private = true;
	}
	replay_ts = cfg->ts_base; /* the region's ts_base */
	if (vq_trace_init(&s->trace, s->region, s->region_size, &tc) != VQ_TRACE_OK) {
		snprintf(err, errlen,
			 "the trace region (%zu bytes) is not a power of two from %u KiB to %u MiB",
			 s->region_size, VQT_REGION_MIN / 1024, VQT_REGION_MAX / (1024 * 1024));
		goto fail;
	}
	s->text = cfg->text;
	vqp_region_init(&s->reader_region, s->region, s->region_size, NULL);
	if (vqp_region_sync(&s->reader_region, why, sizeof(why)) != VQP_OK) {
		snprintf(err, errlen, "the region just written does not validate: %s", why);
		goto fail;
	}
	vqp_reader_init(&s->reader, &s->reader_region, true);
	if (cfg->output && open_recording(s, cfg, err, errlen) != 0)
		goto fail;
	return s;
fail:
	if (s->region_private)
		munmap(s->region, s->region_size);
	free(s);
	return NULL;
}

void sink_stats(const struct sink *s, struct sink_stats *out)
{
	*out = s->stats;
}

int sink_close(struct sink *s, uint32_t reason, const char *detail, char *err, size_t errlen)
{
	int rc = 0;

	if (!s)
		return 0;
	if (sink_drain(s, err, errlen) != 0)
		rc = -1;
	if (s->writer) {
		struct vqr_close c = {
		    .ts_end = s->last_ts,
		    .wall_end_ns = monotonic_ns(CLOCK_REALTIME),
		    .events = s->reader.delivered,
		    .lost = s->reader.lost,
		    .violations = s->reader.violations,
		    .reason = reason,
		};

		snprintf(c.detail, sizeof(c.detail), "%s", detail ? detail : "");
		if (rc == 0 && write_queues(s, err, errlen) != VQP_OK)
			rc = -1;
		if (vqp_writer_close(s->writer, &c, rc == 0 ? err : NULL, errlen) != VQP_OK)
			rc = -1;
	}
	if (s->region_private)
		munmap(s->region, s->region_size);
	free(s);
	return rc;
}
