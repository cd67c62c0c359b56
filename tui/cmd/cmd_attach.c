/* cmd_attach.c - vqscope attach: connect to a VM through QMP (a socket or
 * libvirt) and say what can be traced: the trace region and its producer,
 * guest RAM, the queues in the queue table, and the device-side view. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: vqscope attach [OPTIONS] SOURCE\n"
    "\n"
    "Attach to a running QEMU through its QMP socket (SOURCE is its path) or\n"
    "through libvirt (SOURCE is libvirt:DOMAIN or libvirt:DOMAIN@URI), find\n"
    "the trace region (the memory backend of its ivshmem-plain device) and\n"
    "guest RAM, and print what is there: the producer, the traced queues, and\n"
    "the queues QEMU itself reports (x-query-virtio-queue-status).  Use it to\n"
    "check a setup before recording; `vqscope top` watches it live.\n"
    "\n"
    "  -w, --wait TIME   wait up to TIME for the guest's producer to start (status\n"
    "                    1 when none did)\n"
    "      --no-device   skip the device-side view\n"
    "  -h, --help        this text\n";

struct attach_args {
	struct source_opts so;
	uint64_t wait_ns;
};

static int attach_option(void *ctx, int c, const char *arg)
{
	struct attach_args *a = ctx;

	if (c == 'D') {
		a->so.no_device = true;
		return 0;
	}
	if (!parse_duration(arg, &a->wait_ns)) { /* 'w' */
		cli_error("attach", "--wait: '%s' is not a duration", arg);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {{"wait", required_argument, NULL, 'w'},
						 {"no-device", no_argument, NULL, 'D'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {
	    "attach", help, "w:h", longopts, 1, "SOURCE (a QMP socket or libvirt:DOMAIN)"};
	struct attach_args a = {.so = {.map_ram = true}};
	char size[32];
	int first, rc = cli_parse(&spec, argc, argv, attach_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	struct source *s = cli_open_source("attach", argv[first], &a.so, SOURCE_LIVE,
					   "is a recording, not a live VM", &rc);
	if (!s)
		return rc;
	uint64_t wait_ns = a.wait_ns;
	const char *path = argv[first];
	struct vq_model *m = model_new(&(struct model_opts){.history = 1024});
	uint64_t start = host_now_ns();

	/* Until the first device sample is in (or says why there is none),
	 * and with --wait until the producer shows up. */
	cli_catch_signals();
	for (;;) {
		struct pollfd pfd = {.fd = source_fd(s), .events = POLLIN};
		uint64_t waited = host_now_ns() - start;

		source_poll(s, m, host_now_ns());
		if (s->ended || cli_stop_signal)
			break;
		if (s->device_ready && (s->region.valid || waited >= wait_ns))
			break;
		if (!s->device_ready && waited >= wait_ns &&
		    waited >= (uint64_t)s->opts.qmp_timeout_ms * 1000000ull * 2)
			break;
		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 50);
	}

	printf("QMP        %s (QEMU %s, VM %s)\n", path, s->qemu_version, vm_state_name(s->vm));
	if (s->have_region) {
		format_size(size, sizeof(size), s->target.region_size);
		printf("region     %s (%s, %s, memdev %s)\n", s->target.region_path, size,
		       s->target.ivshmem_qom_path, s->target.memdev_id);
		if (!s->map.control_writable) {
			char who[PATH_MAX + 96];

			discover_describe_access(s->map.region_path, who, sizeof(who));
			printf("           control page read-only to us (%s): step mode needs "
			       "write access\n",
			       who);
		}
	}
	if (s->region.valid) {
		const struct vqp_layout *l = &s->region.layout;

		printf("producer   %s, generation %u, timestamps at %.3f MHz%s%s\n", l->producer,
		       l->generation, (double)l->ts_hz / 1e6,
		       (l->flags & VQT_HDR_F_TRACER) ? ", eBPF tracer" : "",
		       (l->flags & VQT_HDR_F_STEP_CAPABLE) ? ", can step" : "");
		printf("           %llu records written, ring of %u records\n",
		       (unsigned long long)source_region_head(s), l->ring_records);
	} else if (s->region_status[0]) {
		printf("region     %s\n", s->region_status);
	}
	if (s->target.have_ram) {
		format_size(size, sizeof(size), s->target.ram_size);
		printf("guest RAM  %s (%s, %s%s%s)\n", s->target.ram_path, size,
		       s->map.ram ? "mapped read-only" : "not mapped",
		       !s->map.ram && s->target.ram_note[0] ? ": " : "",
		       s->map.ram ? "" : s->target.ram_note);
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
	if (!a.so.no_device) {
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
	rc = s->ended ? EXIT_SOURCE_GONE : EXIT_OK;
	if (s->ended) {
		fprintf(stderr, "vqscope attach: %s\n", s->end_reason);
	} else if (wait_ns && !s->region.valid && !cli_stop_signal) {
		/* Asked to wait for it, and it did not come: why, without the
		 * status's SOURCE_WAITING. */
		const char *why = s->region_status[0] ? s->region_status : "no trace region";
		char waited[32];

		if (strncmp(why, SOURCE_WAITING, strlen(SOURCE_WAITING)) == 0)
			why += strlen(SOURCE_WAITING);
		format_duration(waited, sizeof(waited), wait_ns);
		cli_error("attach", "%s: no producer in the trace region after %s (%s)", path,
			  waited, why);
		rc = EXIT_FAIL;
	}
	if (s->region_gone[0]) {
		cli_error("attach", "%s", s->region_gone);
		rc = EXIT_REGION_GONE;
	}
	model_free(m);
	source_close(s);
	return rc;
}
