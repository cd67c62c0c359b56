/* test_qmp_devview.c - the device-side view (tui/devview.c): validators on
 * replies captured from QEMU 7.2 and on broken variants of them, the chain
 * order fix-up, and sampling a real QEMU: devices listed and sorted, queue
 * status of an idle VM, and a real descriptor chain that SeaBIOS puts on a
 * virtio-blk queue while it looks for a boot sector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live/devview.h"
#include "live/qmp.h"
#include "test_qmp_qemu.h"

/* Captured from qemu-system-x86_64 7.2.22 (SeaBIOS reading sector 0 of a
 * virtio-blk disk): header, data, status, listed last first. */
static const char ELEMENT_72[] =
    "{\"index\": 0, \"name\": \"virtio-blk\", \"descs\": ["
    "{\"flags\": [\"write\"], \"len\": 1, \"addr\": 955415}, "
    "{\"flags\": [\"write\", \"next\"], \"len\": 512, \"addr\": 31744}, "
    "{\"flags\": [\"next\"], \"len\": 16, \"addr\": 955416}], "
    "\"avail\": {\"idx\": 1, \"flags\": 1, \"ring\": 0}, \"used\": {\"idx\": 1, \"flags\": 0}}";

static const char QUEUE_STATUS_72[] =
    "{\"signalled-used\": 0, \"inuse\": 0, \"name\": \"virtio-blk\", \"vring-align\": 4096, "
    "\"vring-desc\": 134074368, \"signalled-used-valid\": false, \"vring-num-default\": 256, "
    "\"vring-avail\": 134078464, \"queue-index\": 0, \"last-avail-idx\": 1, "
    "\"vring-used\": 134082560, \"used-idx\": 1, \"shadow-avail-idx\": 1, \"vring-num\": 256}";

static const struct devview_device BLK = {
    .path = "/machine/peripheral/blk0/virtio-backend", .name = "virtio-blk", .device_id = 2};

static void test_parse_queue_status(void **state)
{
	(void)state;
	json_object *r = json_tokener_parse(QUEUE_STATUS_72);
	struct vqr_device_queue dq;
	char err[256];

	assert_int_equal(devview_parse_queue_status(r, &BLK, 0, &dq, err, sizeof(err)), 0);
	assert_string_equal(dq.path, BLK.path);
	assert_string_equal(dq.name, "virtio-blk");
	assert_int_equal(dq.device_id, 2);
	assert_int_equal(dq.queue_index, 0);
	assert_int_equal(dq.vring_num, 256);
	assert_int_equal(dq.last_avail_idx, 1);
	assert_int_equal(dq.shadow_avail_idx, 1);
	assert_int_equal(dq.used_idx, 1);
	assert_int_equal(dq.signalled_used, 0);
	assert_int_equal(dq.inuse, 0);
	assert_true(dq.desc_addr == 134074368);
	assert_true(dq.avail_addr == 134078464);
	assert_true(dq.used_addr == 134082560);
	assert_true(dq.trace_slot == ~0u);
	assert_int_equal(dq.flags, 0);
	/* Asked about queue 1, QEMU answered about queue 0. */
	assert_int_equal(devview_parse_queue_status(r, &BLK, 1, &dq, err, sizeof(err)), -1);
	assert_string_equal(err, "QMP: x-query-virtio-queue-status reply for "
				 "/machine/peripheral/blk0/virtio-backend queue 1: \"queue-index\" "
				 "is 0, not the queue asked for");
	json_object_put(r);
}

/* Replace "key": value in the captured reply and parse it. */
static int parse_variant(const char *key, const char *value, const struct devview_device *d,
			 struct vqr_device_queue *dq, char *err, size_t errlen)
{
	json_object *r = json_tokener_parse(QUEUE_STATUS_72);
	int rc;

	if (value)
		json_object_object_add(r, key, json_tokener_parse(value));
	else
		json_object_object_del(r, key);
	rc = devview_parse_queue_status(r, d, 0, dq, err, errlen);
	json_object_put(r);
	return rc;
}

static void test_queue_status_variants(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value;
		int rc;
		const char *why; /* after "...queue 0: " */
	} cases[] = {
	    {"vring-num", "0", -1, "\"vring-num\" is 0 for an existing queue"},
	    {"vring-num", "65536", -1, "\"vring-num\" is 65536, more than 32768"},
	    {"vring-num", "\"256\"", -1, "\"vring-num\" is a string, not an integer"},
	    {"vring-num", "7", 1, "queue size 7 is not a power of two (virtio 1.2, 2.7)"},
	    {"vring-num", "32768", 0, NULL},
	    {"inuse", "257", 1, "257 buffers in use, more than the queue size 256"},
	    {"used-idx", "65536", -1, "\"used-idx\" is 65536, more than 65535"},
	    {"used-idx", "-1", -1, "\"used-idx\" is -1, negative"},
	    {"used-idx", NULL, -1, "\"used-idx\" is missing"},
	    {"vring-desc", "18446744073709551615", 0, NULL},
	    {"vring-desc", "-4096", -1, "\"vring-desc\" is -4096, negative"},
	    {"signalled-used-valid", "1", -1,
	     "\"signalled-used-valid\" is an integer, not a boolean"},
	    {"name", "\"virtio-blk\\u001b[2J\"", -1, "\"name\" has byte 0x1b at offset 10"},
	    {"last-avail-idx", NULL, 0, NULL}, /* vhost: absent */
	    {"shadow-avail-idx", NULL, 0, NULL},
	};
	struct vqr_device_queue dq;
	char err[512], want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_variant(cases[i].key, cases[i].value, &BLK, &dq, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, expected %d (%s)", i, cases[i].key, rc,
				 cases[i].rc, rc ? err : "");
		if (cases[i].why) {
			snprintf(want, sizeof(want),
				 "QMP: x-query-virtio-queue-status reply for %s queue 0: %s",
				 BLK.path, cases[i].why);
			assert_string_equal(err, want);
		}
	}
	/* Odd values are still passed on. */
	assert_int_equal(parse_variant("vring-num", "7", &BLK, &dq, err, sizeof(err)), 1);
	assert_int_equal(dq.vring_num, 7);
	assert_int_equal(parse_variant("vring-num", "32768", &BLK, &dq, err, sizeof(err)), 0);
	assert_int_equal(dq.vring_num, 32768);
	/* Packed rings may have any size (2.8). */
	struct devview_device packed = BLK;
	packed.packed = true;
	assert_int_equal(parse_variant("vring-num", "7", &packed, &dq, err, sizeof(err)), 0);
	/* signalled-used-valid sets the flag. */
	assert_int_equal(parse_variant("signalled-used-valid", "true", &BLK, &dq, err, sizeof(err)),
			 0);
	assert_int_equal(dq.flags, VQR_DQ_SIGNALLED_VALID);
	/* A QOM path too long for the record keeps its end. */
	struct devview_device longp = BLK;
	snprintf(longp.path, sizeof(longp.path),
		 "/machine/peripheral/a-very-long-device-id-given-on-the-command-line/"
		 "virtio-backend");
	assert_int_equal(parse_variant("used-idx", "3", &longp, &dq, err, sizeof(err)), 0);
	assert_int_equal(strlen(dq.path), sizeof(dq.path) - 1);
	assert_memory_equal(dq.path, "...", 3);
	assert_string_equal(dq.path + strlen(dq.path) - 15, "/virtio-backend");
}

/* An element reply around the given "descs" items; must parse. */
static void parse_descs(const char *items, struct devview_chain *c)
{
	char text[1024], err[256];
	json_object *r;

	snprintf(text, sizeof(text),
		 "{\"index\": 5, \"name\": \"n\", \"descs\": [%s], \"avail\": {\"idx\": 1, "
		 "\"flags\": 0, \"ring\": 5}, \"used\": {\"idx\": 0, \"flags\": 0}}",
		 items);
	r = json_tokener_parse(text);
	assert_non_null(r);
	if (devview_parse_element(r, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	json_object_put(r);
}

static void test_parse_element_order(void **state)
{
	(void)state;
	json_object *r = json_tokener_parse(ELEMENT_72);
	struct devview_chain *c = malloc(sizeof(*c));
	char err[256];

	assert_int_equal(devview_parse_element(r, c, err, sizeof(err)), 0);
	json_object_put(r);
	assert_string_equal(c->name, "virtio-blk");
	assert_int_equal(c->head, 0);
	assert_int_equal(c->avail_idx, 1);
	assert_int_equal(c->avail_flags, 1);
	assert_int_equal(c->avail_ring, 0);
	assert_int_equal(c->used_idx, 1);
	assert_int_equal(c->ndescs, 3);
	assert_true(c->ends);
	assert_false(c->unknown_flag);
	/* Head first: virtio-blk request header, data, status (5.2.6). */
	assert_int_equal(c->desc[0].len, 16);
	assert_int_equal(c->desc[0].flags, 1);
	assert_int_equal(c->desc[0].addr, 955416);
	assert_int_equal(c->desc[1].len, 512);
	assert_int_equal(c->desc[1].flags, 3);
	assert_int_equal(c->desc[2].len, 1);
	assert_int_equal(c->desc[2].flags, 2);

	/* A QEMU that lists head first keeps its order. */
	parse_descs("{\"flags\": [\"next\"], \"len\": 16, \"addr\": 1}, "
		    "{\"flags\": [\"write\"], \"len\": 1, \"addr\": 2}",
		    c);
	assert_int_equal(c->desc[0].addr, 1);
	assert_int_equal(c->desc[1].addr, 2);
	assert_true(c->ends);

	/* A chain QEMU stopped following (loop or too long): no end; an
	 * unknown flag name is noted, known ones are kept. */
	parse_descs("{\"flags\": [\"next\"], \"len\": 1, \"addr\": 10}, "
		    "{\"flags\": [\"next\", \"shiny\"], \"len\": 2, \"addr\": 20}",
		    c);
	assert_false(c->ends);
	assert_true(c->unknown_flag);
	assert_int_equal(c->desc[0].addr, 20);

	static const char ENVELOPE[] = "\"avail\": {\"idx\": 1, \"flags\": 0, \"ring\": 5}, "
				       "\"used\": {\"idx\": 0, \"flags\": 0}}";
	char bad[4][400];
	snprintf(bad[0], sizeof(bad[0]), "{\"index\": 70000, \"name\": \"n\", \"descs\": [], %s",
		 ENVELOPE);
	snprintf(bad[1], sizeof(bad[1]),
		 "{\"index\": 1, \"name\": \"n\", \"descs\": [{\"flags\": [], \"len\": "
		 "4294967296, \"addr\": 0}], %s",
		 ENVELOPE);
	snprintf(bad[2], sizeof(bad[2]),
		 "{\"index\": 1, \"name\": \"n\", \"descs\": [{\"flags\": [3], \"len\": 1, "
		 "\"addr\": 0}], %s",
		 ENVELOPE);
	snprintf(bad[3], sizeof(bad[3]),
		 "{\"index\": 1, \"name\": \"n\", \"descs\": [], \"avail\": {\"idx\": 1, "
		 "\"flags\": 0, \"ring\": 5}, \"used\": {\"flags\": 0}}");
	static const char *const why[] = {
	    "QMP: x-query-virtio-queue-element reply: \"index\" is 70000, more than 65535",
	    ("QMP: x-query-virtio-queue-element reply descs[0]: \"len\" is 4294967296, more than "
	     "4294967295"),
	    "QMP: x-query-virtio-queue-element reply descs[0]: flags[0] is not a string",
	    "QMP: x-query-virtio-queue-element reply \"used\": \"idx\" is missing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = json_tokener_parse(bad[i]);
		assert_non_null(r);
		assert_int_equal(devview_parse_element(r, c, err, sizeof(err)), -1);
		assert_string_equal(err, why[i]);
		json_object_put(r);
	}
	free(c);
}

static void test_parse_list_and_status(void **state)
{
	(void)state;
	json_object *r = json_tokener_parse(
	    "[{\"name\": \"virtio-gpu\", \"path\": \"/machine/peripheral-anon/device[2]/"
	    "virtio-backend\"}, {\"name\": \"virtio-rng\", \"path\": "
	    "\"/machine/peripheral-anon/device[1]/virtio-backend\"}]");
	struct devview_devices *devs = malloc(sizeof(*devs));
	char err[256];

	assert_int_equal(devview_parse_list(r, devs, err, sizeof(err)), 0);
	json_object_put(r);
	assert_int_equal(devs->count, 2);
	assert_string_equal(devs->dev[0].name, "virtio-gpu");
	r = json_tokener_parse("{\"device-id\": 16, \"num-vqs\": 2, \"broken\": false, "
			       "\"vhost-started\": false, \"guest-features\": {\"transports\": "
			       "[\"VIRTIO_F_RING_PACKED: Device supports packed VQ layout\"]}}");
	assert_int_equal(devview_parse_status(r, &devs->dev[0], err, sizeof(err)), 0);
	json_object_put(r);
	assert_int_equal(devs->dev[0].device_id, 16);
	assert_int_equal(devs->dev[0].num_queues, 2);
	assert_true(devs->dev[0].packed);
	r = json_tokener_parse("{\"device-id\": 16, \"num-vqs\": 1025}");
	assert_int_equal(devview_parse_status(r, &devs->dev[0], err, sizeof(err)), -1);
	assert_string_equal(err,
			    "QMP: x-query-virtio-status reply for "
			    "/machine/peripheral-anon/device[2]/virtio-backend: \"num-vqs\" is "
			    "1025, more than 1024");
	json_object_put(r);
	r = json_tokener_parse("[{\"name\": \"x\", \"path\": \"relative\"}]");
	assert_int_equal(devview_parse_list(r, devs, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "QMP: x-query-virtio reply item 0: \"path\" relative is not absolute");
	json_object_put(r);
	free(devs);
}

/* ---- real QEMU ------------------------------------------------------------- */

static void test_real_idle_devices(void **state)
{
	(void)state;
	const char *const args[] = {
	    "-M", "q35", "-S", "-device", "virtio-rng-pci", "-device", "virtio-gpu-pci", NULL};
	struct devview_devices *devs;
	struct devview_chain *c;
	struct vqr_device_queue dq[8];
	struct test_qemu t;
	struct qmp *q = test_qemu_connect(&t, args);
	char err[512];
	size_t n;
	devs = malloc(sizeof(*devs));
	c = malloc(sizeof(*c));

	if (devview_list(q, devs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(devs->count, 2);
	assert_int_equal(devs->total, 2);
	/* Sorted by path: device[0] (rng) before device[1] (gpu). */
	assert_string_equal(devs->dev[0].path, "/machine/peripheral-anon/device[0]/virtio-backend");
	assert_string_equal(devs->dev[0].name, "virtio-rng");
	assert_int_equal(devs->dev[0].device_id, 4);
	assert_int_equal(devs->dev[0].num_queues, 1);
	assert_string_equal(devs->dev[1].name, "virtio-gpu");
	assert_int_equal(devs->dev[1].device_id, 16);
	assert_int_equal(devs->dev[1].num_queues, 2);
	assert_false(devs->dev[1].broken);

	assert_int_equal(devview_sample(q, devs, dq, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(dq[0].name, "virtio-rng");
	assert_int_equal(dq[0].vring_num, 8);
	assert_int_equal(dq[1].queue_index, 0);
	assert_int_equal(dq[2].queue_index, 1);
	assert_int_equal(dq[2].device_id, 16);
	for (size_t i = 0; i < n; i++) {
		assert_true(dq[i].desc_addr == 0); /* no driver yet */
		assert_int_equal(dq[i].used_idx, 0);
	}
	/* Too small an array: filled, and the rest reported. */
	assert_int_equal(devview_sample(q, devs, dq, 2, &n, err, sizeof(err)), 1);
	assert_int_equal(n, 2);
	assert_string_equal(err, "device view: more than 2 queues, "
				 "/machine/peripheral-anon/device[1]/virtio-backend queue 1 and "
				 "later left out");
	/* No driver: QEMU has nothing to show for a chain. */
	assert_int_equal(devview_element(q, devs->dev[0].path, 0, -1, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GenericError: Region caches not initialized"));
	assert_int_equal(devview_element(q, devs->dev[0].path, 1, 0, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Invalid virtqueue number 1"));
	assert_int_equal(devview_element(q, devs->dev[0].path, 0, 65536, c, err, sizeof(err)), -1);
	assert_string_equal(err, "device view: queue 0 / avail index 65536 out of range");
	/* A device that went away is a problem for that queue only. */
	snprintf(devs->dev[0].path, sizeof(devs->dev[0].path), "/machine/gone");
	assert_int_equal(devview_sample(q, devs, dq, 8, &n, err, sizeof(err)), 1);
	assert_int_equal(n, 2);
	assert_non_null(strstr(err, "x-query-virtio-queue-status"));
	qmp_close(q);
	test_qemu_stop(&t);
	free(devs);
	free(c);
}

/* SeaBIOS reads the boot sector of a virtio-blk disk through queue 0:
 * one request of three descriptors that stays in the ring. */
static void test_real_chain_from_seabios(void **state)
{
	(void)state;
	/* A 1 MiB disk of zeros that needs no file. */
	const char *const args[] = {
	    "-M",      "q35",
	    "-m",      "64M",
	    "-drive",  "driver=null-co,read-zeroes=on,size=1M,if=none,id=d0",
	    "-device", "virtio-blk-pci,drive=d0,id=blk0",
	    NULL};
	struct devview_devices *devs;
	struct devview_chain *c;
	struct vqr_device_queue dq[4];
	struct test_qemu t;
	struct qmp *q = test_qemu_connect(&t, args);
	char err[512];
	size_t n = 0;
	devs = malloc(sizeof(*devs));
	c = malloc(sizeof(*c));

	assert_int_equal(devview_list(q, devs, err, sizeof(err)), 0);
	assert_int_equal(devs->count, 1);
	assert_string_equal(devs->dev[0].path, "/machine/peripheral/blk0/virtio-backend");
	assert_int_equal(devs->dev[0].device_id, 2);
	/* Wait (at most 15 s of TCG) for the request to complete. */
	for (int i = 0; i < 150; i++) {
		assert_true(devview_sample(q, devs, dq, 4, &n, err, sizeof(err)) >= 0);
		if (n == 1 && dq[0].used_idx >= 1)
			break;
		test_sleep_ms(100);
	}
	assert_int_equal(n, 1);
	assert_true(dq[0].used_idx >= 1);
	assert_int_equal(dq[0].last_avail_idx, dq[0].used_idx);
	assert_int_equal(dq[0].inuse, 0);
	assert_true(dq[0].desc_addr != 0);
	assert_int_equal(dq[0].vring_num, 256);

	/* The chain of the first request, by its avail ring position. */
	if (devview_element(q, devs->dev[0].path, 0, 0, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c->name, "virtio-blk");
	assert_int_equal(c->ndescs, 3);
	assert_true(c->ends);
	assert_int_equal(c->desc[0].len, 16); /* struct virtio_blk_req header */
	assert_int_equal(c->desc[0].flags, 1);
	assert_int_equal(c->desc[1].len, 512); /* the sector */
	assert_int_equal(c->desc[1].flags, 3);
	assert_int_equal(c->desc[2].len, 1); /* status byte */
	assert_int_equal(c->desc[2].flags, 2);
	assert_true(c->avail_idx >= 1);
	qmp_close(q);
	test_qemu_stop(&t);
	free(devs);
	free(c);
}

int main(void)
{
	test_private_base();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_queue_status),
	    cmocka_unit_test(test_queue_status_variants),
	    cmocka_unit_test(test_parse_element_order),
	    cmocka_unit_test(test_parse_list_and_status),
	    cmocka_unit_test(test_real_idle_devices),
	    cmocka_unit_test(test_real_chain_from_seabios),
	};

	return cmocka_run_group_tests_name("qmp_devview", tests, NULL, NULL);
}
