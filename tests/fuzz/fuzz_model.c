/* fuzz_model.c - libFuzzer harness for the model and the diagnosis
 * engine (tui/core): everything a hostile guest or file can make them
 * take.  Sources validate regions and chunks, but event records, ring
 * samples from guest RAM and device samples from QMP reach the model with
 * any values a guest or a QEMU can put there.
 *
 * Input: a sequence of operations, each one byte then its bytes:
 *   0  N (1 byte), then N event records of 32 bytes: model_feed, with the
 *      sequence number moving on by the first record's low byte
 *   1  a ring sample (64 bytes): model_ring_sample at the host time
 *   2  a device sample (144 bytes): model_device_sample
 *   3  a queue-table snapshot (256 bytes) and a slot byte, only when
 *      vqp_queue_check accepts it (as the sources do)
 *   4  8 bytes: host time forward by that many ms (low 16 bits), loss
 *      (next byte), violations (next), VM paused (next & 1), CPU wait
 *   5  model_check
 * At the end: model_finish, model_check, the rates over the last 250 ms
 * of the history (a replay's step), and the findings as text, the way
 * `vqscope doctor` prints them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/report.h"
#include "core/text.h"
#include "vqproto.h"

#define MS 1000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_model *m = model_new(&(struct model_opts){.history = 256, .stuck_after_ns = 0});
	uint64_t seq = 1, host = 1000 * MS, wait = 0;
	size_t at = 0;
	struct text t = {0};

	if (!m)
		abort();
	model_set_producer(m, 1000000000, "fuzz", 1);
	while (at < size) {
		uint8_t op = data[at++] % 6;

		switch (op) {
		case 0: {
			struct vqt_event ev[16];
			size_t n;

			if (at >= size)
				break;
			n = data[at++] % 16 + 1;
			if (size - at < n * sizeof(ev[0]))
				n = (size - at) / sizeof(ev[0]);
			if (!n)
				break;
			memcpy(ev, data + at, n * sizeof(ev[0]));
			at += n * sizeof(ev[0]);
			model_note_host_time(m, host);
			model_feed(m, ev, n, seq);
			seq += n + (ev[0].seq & 0xff);
			break;
		}
		case 1: {
			struct vqr_ring_queue r;

			if (size - at < sizeof(r))
				break;
			memcpy(&r, data + at, sizeof(r));
			at += sizeof(r);
			if (r.slot >= VQT_QUEUE_SLOTS_MAX || r.size == 0 ||
			    r.size > VQT_RING_SIZE_MAX)
				break; /* vqp_decode_ring refuses these */
			model_ring_sample(m, host, &r, 1);
			break;
		}
		case 2: {
			struct vqr_device_queue d;

			if (size - at < sizeof(d))
				break;
			memcpy(&d, data + at, sizeof(d));
			at += sizeof(d);
			model_device_sample(m, host, &d, 1);
			break;
		}
		case 3: {
			struct vqt_queue q;
			char why[VQP_ERRLEN];
			unsigned slot;

			if (size - at < sizeof(q) + 1)
				break;
			memcpy(&q, data + at, sizeof(q));
			slot = data[at + sizeof(q)] % MODEL_QUEUES;
			at += sizeof(q) + 1;
			if (vqp_queue_check(&q, slot, why, sizeof(why)) == VQP_OK)
				model_queue_table(m, slot, &q);
			break;
		}
		case 4: {
			const uint8_t *p = data + at;

			if (size - at < 8)
				break;
			at += 8;
			host += (uint64_t)(p[0] | p[1] << 8) * MS;
			model_note_loss(m, p[2] & 7);
			model_note_violations(m, p[3] & 3, "fuzz");
			model_vm_paused(m, p[4] & 1);
			wait += (uint64_t)p[5] * MS;
			model_note_cpu_wait(m, wait);
			break;
		}
		default:
			model_check(m);
			break;
		}
	}
	model_finish(m);
	model_check(m);
	model_rates_over_history(m, m->now_ns, 250 * MS);
	findings_text(&t, m->findings, m->nfindings);
	text_free(&t);
	model_free(m);
	return 0;
}
