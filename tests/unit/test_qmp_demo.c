/* test_qmp_demo.c - the QMP layer against the bundled demo guest
 * (guest-driver/demo, started by launch_qemu as `vqscope run` does): the
 * device view of its virtio-gpu queues cross-checked against the split
 * ring in guest RAM read through guest_ram_ptr, stop/cont with their
 * events, the guest powering off after frames=N, and a guest that fails.
 * Skipped when the demo kernel has not been built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live/devview.h"
#include "live/discover.h"
#include "live/launch.h"
#include "live/qmp.h"
#include "test_qmp_qemu.h"
#include "vqtrace.h"

static void need_demo(void)
{
	char path[PATH_MAX], err[1024];

	if (!test_have_qemu() || launch_find_demo_kernel(path, sizeof(path), err, sizeof(err)))
		skip();
}

static struct qmp *launch_demo(struct launch *l, const char *append)
{
	struct launch_opts o = {.append = append};
	char err[512];
	struct qmp *q;

	if (launch_qemu(&o, l, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	q = qmp_connect(l->qmp_path, 5000, err, sizeof(err));
	if (!q)
		fail_msg("%s", err);
	return q;
}

/* Pump events for up to 10 s until one called name comes. */
static bool wait_event(struct qmp *q, const char *name)
{
	struct qmp_event ev;

	for (int i = 0; i < 500; i++) {
		while (qmp_next_event(q, &ev)) {
			bool hit = strcmp(ev.name, name) == 0;
			json_object_put(ev.data);
			if (hit)
				return true;
		}
		if (qmp_pump(q) < 0 && !qmp_pending_events(q))
			return false;
		test_sleep_ms(20);
	}
	return false;
}

static uint16_t ram_u16(const struct vq_mapping *m, uint64_t gpa)
{
	const void *p = guest_ram_ptr(m, gpa, 2);
	uint16_t v;

	assert_non_null(p);
	memcpy(&v, p, 2);
	return v;
}

/* Split virtqueue descriptor (virtio 1.2, 2.7.5), little-endian. */
struct ring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void test_demo_device_view_matches_guest_ram(void **state)
{
	(void)state;
	struct devview_devices *devs;
	struct devview_chain *c;
	struct vqr_device_queue dq[4];
	struct vq_mapping m = {0};
	struct vq_target t;
	struct launch l;
	struct qmp *q;
	char err[512];
	size_t n = 0;

	need_demo();
	devs = malloc(sizeof(*devs));
	c = malloc(sizeof(*c));
	q = launch_demo(&l, NULL);
	if (discover_target(q, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(target_map_region(&t, &m, err, sizeof(err)), 0);
	assert_int_equal(target_map_ram(&t, &m, err, sizeof(err)), 0);
	assert_int_equal(devview_list(q, devs, err, sizeof(err)), 0);
	assert_int_equal(devs->count, 1);
	assert_string_equal(devs->dev[0].name, "virtio-gpu");
	assert_int_equal(devs->dev[0].num_queues, 2);

	/* Let the guest submit a few commands on the control queue. */
	for (int i = 0; i < 500; i++) {
		assert_true(devview_sample(q, devs, dq, 4, &n, err, sizeof(err)) >= 0);
		if (n == 2 && dq[0].used_idx >= 3)
			break;
		test_sleep_ms(20);
	}
	assert_true(dq[0].used_idx >= 3);
	/* The guest set up its trace region. */
	uint32_t magic;
	memcpy(&magic, m.region, 4);
	assert_true(magic == VQT_MAGIC);

	/* Paused, both views hold still and must agree. */
	assert_int_equal(qmp_stop(q, err, sizeof(err)), 0);
	assert_true(wait_event(q, "STOP"));
	assert_int_equal(devview_sample(q, devs, dq, 4, &n, err, sizeof(err)), 0);
	const struct vqr_device_queue *ctrl = &dq[0];
	uint16_t avail_idx = ram_u16(&m, ctrl->avail_addr + 2);
	uint16_t used_idx = ram_u16(&m, ctrl->used_addr + 2);
	assert_int_equal(used_idx, ctrl->used_idx);
	assert_int_equal(avail_idx, ctrl->shadow_avail_idx);
	assert_true((uint16_t)(avail_idx - ctrl->last_avail_idx) <= ctrl->vring_num);

	/* The last chain the driver made available, as QEMU reads it... */
	uint16_t pos = (uint16_t)(ctrl->last_avail_idx - 1);
	assert_int_equal(devview_element(q, devs->dev[0].path, 0, pos, c, err, sizeof(err)), 0);
	/* ...and as it is in guest RAM (2.7.6: avail ring; 2.7.5: table). */
	uint16_t head = ram_u16(&m, ctrl->avail_addr + 4 + 2u * (pos % ctrl->vring_num));
	assert_int_equal(c->head, head);
	assert_true(c->ends);
	uint16_t idx = head;
	for (size_t i = 0; i < c->ndescs; i++) {
		struct ring_desc d;
		const void *p = guest_ram_ptr(&m, ctrl->desc_addr + 16u * idx, sizeof(d));
		assert_non_null(p);
		memcpy(&d, p, sizeof(d));
		assert_true(d.addr == c->desc[i].addr);
		assert_int_equal(d.len, c->desc[i].len);
		assert_int_equal(d.flags, c->desc[i].flags);
		idx = d.next;
	}
	/* A virtio-gpu command is a request followed by a response buffer. */
	assert_true(c->ndescs >= 2);
	assert_int_equal(c->desc[0].flags & 2, 0);
	assert_int_equal(c->desc[c->ndescs - 1].flags & 2, 2);

	assert_int_equal(qmp_cont(q, err, sizeof(err)), 0);
	assert_true(wait_event(q, "RESUME"));
	assert_int_equal(qmp_quit(q, 5000, err, sizeof(err)), 0);
	assert_string_equal(qmp_close_reason(q), "QEMU exited (SHUTDOWN: host-qmp-quit)");
	target_unmap(&m);
	qmp_close(q);
	assert_int_equal(launch_stop(&l), 0);
	launch_exit_text(&l, err, sizeof(err));
	assert_string_equal(err, "QEMU exited with status 0");
	free(devs);
	free(c);
}

static void test_demo_powers_off(void **state)
{
	(void)state;
	struct launch l;
	struct qmp *q;
	char text[200];

	need_demo();
	q = launch_demo(&l, "frames=5");
	assert_true(wait_event(q, "SHUTDOWN"));
	for (int i = 0; i < 250 && qmp_pump(q) >= 0; i++)
		test_sleep_ms(20);
	assert_false(qmp_connected(q));
	assert_string_equal(qmp_close_reason(q), "QEMU exited (SHUTDOWN: guest-shutdown)");
	qmp_close(q);
	for (int i = 0; i < 250 && launch_poll(&l); i++)
		test_sleep_ms(20);
	launch_exit_text(&l, text, sizeof(text));
	assert_string_equal(text, "QEMU exited with status 0");
	launch_last_serial_line(&l, text, sizeof(text));
	assert_non_null(strstr(text, "vqdemo: done: 5 frames"));
	assert_int_equal(launch_stop(&l), 0);
}

/* A bad guest option: the guest reports through isa-debug-exit.  QEMU may
 * be gone before launch_qemu's check or just after. */
static void test_demo_guest_failure(void **state)
{
	(void)state;
	struct launch_opts o = {.append = "barrier=bogus"};
	struct launch l;
	char err[512];

	need_demo();
	if (launch_qemu(&o, &l, err, sizeof(err)) == 0) {
		for (int i = 0; i < 500 && launch_poll(&l); i++)
			test_sleep_ms(20);
		char serial[200];
		launch_last_serial_line(&l, serial, sizeof(serial));
		assert_non_null(strstr(serial, "vqdemo: error:"));
		assert_non_null(strstr(serial, "barrier"));
		launch_exit_text(&l, err, sizeof(err));
		assert_int_equal(launch_stop(&l), 0);
	}
	assert_non_null(strstr(err, "QEMU exited with status 3 (the demo guest failed with "
				    "isa-debug-exit code 1)"));
}

int main(void)
{
	test_private_base();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_demo_device_view_matches_guest_ram),
	    cmocka_unit_test(test_demo_powers_off),
	    cmocka_unit_test(test_demo_guest_failure),
	};

	return cmocka_run_group_tests_name("qmp_demo", tests, NULL, NULL);
}
