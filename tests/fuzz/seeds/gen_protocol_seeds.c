/* gen_protocol_seeds.c - writes seed inputs for the region and recording
 * fuzzers from the real producer and writer, so the fuzzers start from
 * valid files and regions.  Not part of the build; regenerate with:
 *
 *   make && cc -Iprotocol -Iguest-driver/lib tests/fuzz/seeds/gen_protocol_seeds.c \
 *      build/protocol/libvqproto.a build/guest-driver/libvqguest-hosted.a -lpthread \
 *      -o /tmp/gen && /tmp/gen tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vqproto.h"
#include "vqscope_guest.h"

static uint64_t clock_ticks;
static uint64_t tick(void)
{
	return clock_ticks += 7;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* A small, busy region: registration, adds, kicks, polls, used, frames. */
static void region_seed(const char *dir, int laps)
{
	static uint8_t mem[65536];
	static struct vq_trace tr;
	struct vq_trace_config cfg = {.producer = "seed", .ts_hz = 1000000, .now = tick};
	char path[512];

	memset(mem, 0, sizeof(mem));
	vq_trace_init(&tr, mem, sizeof(mem), &cfg);
	int q = vq_trace_register_queue(
	    &tr,
	    &(struct vq_queue_info){.device_type = 16, .ring_size = 64, .name = "gpu0.control"});
	for (int i = 0; i < 200 * laps; i++) {
		struct vq_poll_stats st = {.spins = (uint32_t)i, .rmb = 3, .start = tick()};
		vq_trace_frame_begin(&tr, (uint64_t)i);
		vq_trace_add(&tr, q, (uint16_t)(i % 64), (uint16_t)i, 2, 4096, 1);
		vq_trace_kick(&tr, q, (uint16_t)(i + 1));
		vq_trace_poll(&tr, q, &st, VQT_POLL_PROGRESS);
		vq_trace_used(&tr, q, (uint16_t)(i % 64), (uint16_t)i, 24, 2);
		vq_trace_log(&tr, 40, 3000);
		vq_trace_frame_end(&tr, (uint64_t)i, 1);
	}
	/* Raw mode (byte 0 even): the whole image. */
	static uint8_t raw[1 + sizeof(mem)];
	raw[0] = 0;
	memcpy(raw + 1, mem, sizeof(mem));
	snprintf(path, sizeof(path), "%s/region/raw-%d", dir, laps);
	write_bytes(path, raw, sizeof(raw));
	/* Overlay mode (byte 0 odd): head, queue table page, ring start. */
	static uint8_t ov[1 + 8 + 4096 + 2048];
	ov[0] = 1;
	memcpy(ov + 1, &tr.head, 8);
	memcpy(ov + 9, mem + VQT_QUEUE_OFFSET, 4096);
	memcpy(ov + 9 + 4096, mem + sizeof(mem) / 2, 2048);
	snprintf(path, sizeof(path), "%s/region/overlay-%d", dir, laps);
	write_bytes(path, ov, sizeof(ov));
}

static void recording_seed(const char *dir, bool close_it)
{
	char path[512], err[VQP_ERRLEN];
	struct vqp_writer_opts o = {.ts_hz = 1000000,
				    .producer = "seed",
				    .events_per_chunk = 8,
				    .source_kind = VQR_SRC_TEST};
	snprintf(path, sizeof(path), "%s/recording/%s.vqt", dir, close_it ? "clean" : "crashed");
	struct vqp_writer *w = vqp_writer_open(path, &o, true, err, sizeof(err));
	struct vqr_region reg = {
	    .generation = 1, .ring_records = 1024, .region_size = 65536, .ts_hz = 1000000};
	struct vqr_queue_entry qe = {.slot = 0};
	struct vqr_device dh = {.count = 1};
	struct vqr_device_queue dq = {.vring_num = 64, .used_idx = 3};

	if (!w) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	vqp_writer_region(w, &reg, err, sizeof(err));
	for (uint64_t s = 0; s < 20; s++) {
		struct vqt_event e = {.ts = s * 10,
				      .seq = (uint32_t)s,
				      .type = (uint8_t)(1 + s % 12),
				      .queue = 0,
				      .ndesc = 1,
				      .ring_idx = 1};
		if (e.type == VQT_EV_QUEUE)
			e.ndesc = VQT_QS_ACTIVE;
		vqp_writer_events(w, 1, s, &e, 1, 0, 0, err, sizeof(err));
	}
	qe.queue.state = VQT_QS_ACTIVE;
	qe.queue.ring_size = 64;
	strcpy(qe.queue.name, "gpu0.control");
	vqp_writer_queues(w, 5, 1, &qe, 1, err, sizeof(err));
	vqp_writer_device(w, &dh, &dq, err, sizeof(err));
	vqp_writer_annot(w, 9, VQR_ANNOT_QMP_EVENT, "STOP", err, sizeof(err));
	if (close_it) {
		struct vqr_close c = {.events = 20, .reason = VQR_END_SIGNAL};
		vqp_writer_close(w, &c, err, sizeof(err));
	} else {
		vqp_writer_flush(w, err, sizeof(err));
		vqp_writer_abandon(w);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	region_seed(argv[1], 1);
	region_seed(argv[1], 12); /* lapped */
	recording_seed(argv[1], true);
	recording_seed(argv[1], false);
	return 0;
}
