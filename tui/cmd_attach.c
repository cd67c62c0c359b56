/* cmd_attach.c - vqscope attach: connect to a VM through QMP and say what
 * can be traced: the trace region and its producer, guest RAM, the queues
 * in the queue table, and the device-side view. */
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qmp.h"
#include "source.h"

static const char help[] =
    "usage: vqscope attach [OPTIONS] QMP_SOCKET\n"
    "\n"
    "Attach to a running QEMU through its QMP socket, find the trace region\n"
    "(the memory backend of its ivshmem-plain device) and guest RAM, and\n"
    "print what is there: the producer, the traced queues, and the queues\n"
    "QEMU itself reports (x-query-virtio-queue-status).  Use it to check a\n"
    "setup before recording; `vqscope top` watches it live.\n"
    "\n"
    "  -w, --wait TIME   wait up to TIME for the guest's producer to start\n"
    "      --no-device   skip the device-side view\n"
    "  -h, --help        this text\n";

static void print_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {{"wait", required_argument, NULL, 'w'},
						 {"no-device", no_argument, NULL, 'D'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct source_opts so = {.map_ram = true};
	uint64_t wait_ns = 0;
	char err[512], size[32];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (!cli_parse_duration(optarg, &wait_ns)) {
				cli_error("attach", "--wait: '%s' is not a duration", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D':
			so.no_device = true;
			break;
		case 'h':
			return cli_help(stdout, help);
		default:
			fputs(help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("attach", "needs exactly one QMP socket");
		return EXIT_USAGE;
	}
	struct source *s = source_open(argv[optind], &so, err, sizeof(err));
	if (!s) {
		cli_error("attach", "%s", err);
		return EXIT_FAIL;
	}
	if (s->kind != SOURCE_LIVE) {
		cli_error("attach", "%s is a recording, not a QMP socket", argv[optind]);
		source_close(s);
		return EXIT_USAGE;
	}
	struct vq_model *m = model_new(&(struct model_opts){.history = 1024});
	uint64_t start = host_now_ns();

	/* One pass, or until the producer shows up. */
	cli_catch_signals();
	do {
		struct pollfd pfd = {.fd = source_fd(s), .events = POLLIN};

		source_poll(s, m, host_now_ns());
		if (s->region.valid || s->ended || cli_stop_signal)
			break;
		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 50);
	} while (host_now_ns() - start < wait_ns);

	printf("QMP        %s (QEMU %s, VM %s)\n", argv[optind], qmp_qemu_version(s->qmp),
	       vm_state_name(s->vm));
	if (s->have_region) {
		print_size(size, sizeof(size), s->target.region_size);
		printf("region     %s (%s, %s, memdev %s)\n", s->target.region_path, size,
		       s->target.ivshmem_qom_path, s->target.memdev_id);
		if (!s->map.control)
			printf("           control page read-only to us: step mode unavailable\n");
	}
	if (s->region.valid) {
		const struct vqp_layout *l = &s->region.layout;

		printf("producer   %s, generation %u, timestamps at %.3f MHz%s%s\n", l->producer,
		       l->generation, (double)l->ts_hz / 1e6,
		       (l->flags & VQT_HDR_F_TRACER) ? ", eBPF tracer" : "",
		       (l->flags & VQT_HDR_F_STEP_CAPABLE) ? ", can step" : "");
		printf("           %llu records written, ring of %u records\n",
		       (unsigned long long)vqp_region_head(&s->region), l->ring_records);
	} else if (s->region_status[0]) {
		printf("region     %s\n", s->region_status);
	}
	if (s->target.have_ram) {
		print_size(size, sizeof(size), s->target.ram_size);
		printf("guest RAM  %s (%s, %s)\n", s->target.ram_path, size,
		       s->map.ram ? "mapped read-only" : "not mapped");
	} else if (s->target.ram_note[0]) {
		printf("guest RAM  %s\n", s->target.ram_note);
	}

	printf("queues     %s\n",
	       s->region.valid ? "(from the trace region's queue table)" : "(none traced)");
	for (unsigned slot = 0; slot < MODEL_QUEUES; slot++) {
		const struct model_queue *q = &m->queues[slot];

		if (!q->have_table)
			continue;
		printf("  %3u %-16s device %u queue %u, size %u, avail %u, used %u, free %u, adds "
		       "%llu%s\n",
		       slot, q->name, q->device_type, q->queue_index, q->ring_size,
		       q->table.avail_idx, q->table.last_used_idx, q->table.num_free,
		       (unsigned long long)q->table.counters[VQT_C_ADDS], q->gone ? " (gone)" : "");
	}
	if (!so.no_device) {
		printf("device     %s\n", s->device_status[0]
					      ? s->device_status
					      : "(what QEMU reports, x-query-virtio-queue-status)");
		for (unsigned slot = 0; slot < MODEL_QUEUES; slot++) {
			const struct model_queue *q = &m->queues[slot];

			if (q->have_device)
				printf("  %3u %-16s last_avail %u, used %u, in use %u%s%s\n", slot,
				       q->device.name, q->device.last_avail_idx, q->device.used_idx,
				       q->device.inuse, q->disagree ? "; " : "", q->disagree_text);
		}
		for (size_t i = 0; i < m->ndevice_only; i++) {
			const struct vqr_device_queue *d = &m->device_only[i].q;

			printf(
			    "    - %-16s %s queue %u, size %u, last_avail %u, used %u, in use %u\n",
			    d->name, d->path, d->queue_index, d->vring_num, d->last_avail_idx,
			    d->used_idx, d->inuse);
		}
	}
	int rc = s->ended ? EXIT_SOURCE_GONE : EXIT_OK;
	if (s->ended)
		fprintf(stderr, "vqscope attach: %s\n", s->end_reason);
	model_free(m);
	source_close(s);
	return rc;
}
