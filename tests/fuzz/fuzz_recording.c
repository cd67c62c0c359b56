/* fuzz_recording.c - libFuzzer harness for the recording reader: any
 * bytes as a .vqt file, opened strictly and with salvage; every chunk is
 * fetched and decoded by type.  Must never crash, hang or read outside
 * the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vqproto.h"

static void walk(const struct vqp_file *f)
{
	char err[VQP_ERRLEN], text[64];

	for (size_t i = 0; i < f->nchunks; i++) {
		const void *p;
		uint32_t len;

		if (vqp_file_chunk(f, i, &p, &len, err, sizeof(err)) != VQP_OK)
			continue;
		switch (f->chunks[i].type) {
		case VQR_CHUNK_EVENTS: {
			struct vqp_events_view v;
			if (vqp_decode_events(p, len, &v, err, sizeof(err)) == VQP_OK)
				for (uint32_t k = 0; k < v.count; k++)
					(void)vqp_events_seq(&v, k);
			break;
		}
		case VQR_CHUNK_QUEUES: {
			struct vqr_queues h;
			const struct vqr_queue_entry *e;
			vqp_decode_queues(p, len, &h, &e, err, sizeof(err));
			break;
		}
		case VQR_CHUNK_DEVICE: {
			struct vqr_device h;
			const struct vqr_device_queue *q;
			vqp_decode_device(p, len, &h, &q, err, sizeof(err));
			break;
		}
		case VQR_CHUNK_ANNOT: {
			struct vqr_annot h;
			vqp_decode_annot(p, len, &h, text, sizeof(text), err, sizeof(err));
			break;
		}
		case VQR_CHUNK_REGION: {
			struct vqr_region r;
			vqp_decode_region(p, len, &r, err, sizeof(err));
			break;
		}
		case VQR_CHUNK_CLOSE: {
			struct vqr_close c;
			vqp_decode_close(p, len, &c, err, sizeof(err));
			break;
		}
		case VQR_CHUNK_RING: {
			struct vqr_ring h;
			const struct vqr_ring_queue *q;
			vqp_decode_ring(p, len, &h, &q, err, sizeof(err));
			break;
		}
		case VQR_CHUNK_PRODUCER: {
			struct vqr_producer pr;
			vqp_decode_producer(p, len, &pr, err, sizeof(err));
			break;
		}
		default:
			abort(); /* the reader only lists known chunk types */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[VQP_ERRLEN];

	for (unsigned flags = 0; flags <= VQP_OPEN_SALVAGE; flags += VQP_OPEN_SALVAGE) {
		struct vqp_file *f = vqp_file_open_mem(data, size, flags, err, sizeof(err));
		if (!f)
			continue;
		if (f->whole_bytes > size)
			abort();
		walk(f);
		vqp_file_close(f);
	}
	return 0;
}
