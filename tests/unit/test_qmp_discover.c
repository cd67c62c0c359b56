/* test_qmp_discover.c - finding the trace region and guest RAM of a VM
 * (tui/discover.c): the RAM-below-4G rule checked against QEMU's own
 * memory tree and pmemsave for q35 and pc, qom-list parsing,
 * guest_ram_ptr bounds, mapping (read-only data, writable control page),
 * and the errors for VMs set up wrongly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>

#include "live/discover.h"
#include "live/launch.h"
#include "live/qmp.h"
#include "test_qmp_qemu.h"
#include "vqtrace.h"

#define MIB ((uint64_t)1024 * 1024)
#define GIB (1024 * MIB)

static void test_ram_below_4g_rule(void **state)
{
	(void)state;
	static const struct {
		const char *machine;
		uint64_t ram, max_below, below;
	} cases[] = {
	    {"pc-q35-7.2", 256 * MIB, 0, 256 * MIB},
	    {"pc-q35-7.2", 0xb0000000 - MIB, 0, 0xb0000000 - MIB},
	    {"pc-q35-7.2", 0xb0000000, 0, 0x80000000},
	    {"pc-q35-7.2", 3 * GIB, 4 * GIB, 2 * GIB},
	    {"pc-q35-7.2", 8 * GIB, 0, 2 * GIB},
	    {"pc-q35-7.2", 2 * GIB, GIB, GIB}, /* -machine max-ram-below-4g=1G */
	    {"q35", 2560 * MIB, 0, 2560 * MIB},
	    {"pc-i440fx-7.2", 3 * GIB, 0, 3 * GIB},
	    {"pc-i440fx-7.2", 0xe0000000 - MIB, 0, 0xe0000000 - MIB},
	    {"pc-i440fx-7.2", 0xe0000000, 0xe0000000, 0xc0000000},
	    {"pc-i440fx-7.2", 6 * GIB, 0, 0xc0000000},
	    {"pc-i440fx-7.2", 2 * GIB, GIB, GIB},
	    {"pc", 4 * GIB, 0, 0xc0000000},
	};
	uint64_t below;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(discover_ram_below_4g(cases[i].machine, cases[i].ram,
						  cases[i].max_below, &below));
		if (below != cases[i].below)
			fail_msg("%s ram 0x%" PRIx64 ": below 4G 0x%" PRIx64
				 ", expected 0x%" PRIx64,
				 cases[i].machine, cases[i].ram, below, cases[i].below);
	}
	assert_false(discover_ram_below_4g("microvm", GIB, 0, &below));
	assert_true(below == GIB);
}

static void test_children_of_type(void **state)
{
	(void)state;
	json_object *list =
	    json_tokener_parse("[{\"name\": \"type\", \"type\": \"string\"}, "
			       "{\"name\": \"device[0]\", \"type\": \"child<ivshmem-plain>\"}, "
			       "{\"name\": \"device[1]\", \"type\": \"child<virtio-rng-pci>\"}, "
			       "{\"name\": \"device[2]\", \"type\": \"child<ivshmem-plain>\"}]");
	char paths[1][VQ_QOM_PATH_MAX], err[256];
	size_t n;

	assert_int_equal(discover_children_of_type(list, "/machine/peripheral-anon",
						   "ivshmem-plain", paths, 1, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2); /* counted beyond max */
	assert_string_equal(paths[0], "/machine/peripheral-anon/device[0]");
	json_object_put(list);

	static const char *const bad[] = {
	    "{\"name\": \"x\"}",
	    "[{\"name\": \"x\"}]",
	    "[{\"name\": \"a/b\", \"type\": \"child<ivshmem-plain>\"}]",
	    "[{\"name\": 5, \"type\": \"child<ivshmem-plain>\"}]",
	    "[7]",
	};
	static const char *const why[] = {
	    "QMP: qom-list /m: reply is not an array",
	    "QMP: qom-list /m item 0: \"type\" is missing",
	    "QMP: qom-list /m item 0: child name \"a/b\" contains '/'",
	    "QMP: qom-list /m item 0: \"name\" is an integer, not a string",
	    "QMP: qom-list /m item 0: is an integer, not an object",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list = json_tokener_parse(bad[i]);
		assert_int_equal(discover_children_of_type(list, "/m", "ivshmem-plain", paths, 1,
							   &n, err, sizeof(err)),
				 -1);
		assert_string_equal(err, why[i]);
		json_object_put(list);
	}
}

static void test_guest_ram_ptr_bounds(void **state)
{
	(void)state;
	static uint8_t ram[64];
	/* 32 bytes below 4 GiB, 32 above. */
	struct vq_mapping m = {.ram = ram, .ram_size = 64, .ram_below_4g = 32};

	assert_ptr_equal(guest_ram_ptr(&m, 0, 32), ram);
	assert_ptr_equal(guest_ram_ptr(&m, 31, 1), ram + 31);
	assert_null(guest_ram_ptr(&m, 31, 2)); /* runs into the hole */
	assert_null(guest_ram_ptr(&m, 32, 1)); /* in the hole */
	assert_null(guest_ram_ptr(&m, 4 * GIB - 1, 1));
	assert_ptr_equal(guest_ram_ptr(&m, 4 * GIB, 32), ram + 32);
	assert_ptr_equal(guest_ram_ptr(&m, 4 * GIB + 31, 1), ram + 63);
	assert_null(guest_ram_ptr(&m, 4 * GIB + 31, 2));
	assert_null(guest_ram_ptr(&m, 4 * GIB + 32, 1));
	assert_null(guest_ram_ptr(&m, 0, 0));
	assert_null(guest_ram_ptr(&m, UINT64_MAX, 1));
	assert_null(guest_ram_ptr(&m, UINT64_MAX - 1, SIZE_MAX));
	assert_null(guest_ram_ptr(&m, 4 * GIB + 1, SIZE_MAX));
	assert_null(guest_ram_ptr(&m, 1, SIZE_MAX));
	struct vq_mapping none = {0};
	assert_null(guest_ram_ptr(&none, 0, 1));
	/* A corrupt mapping description is refused, not trusted. */
	struct vq_mapping bad = {.ram = ram, .ram_size = 16, .ram_below_4g = 32};
	assert_null(guest_ram_ptr(&bad, 0, 1));
}

/* ---- against a real QEMU -------------------------------------------------- */

struct vm {
	struct launch l;
	struct qmp *q;
};

/* Launch a paused VM with ram bytes of guest RAM and discover it. */
static void vm_launch(struct vm *vm, uint64_t ram, struct vq_target *t)
{
	static const char *extra[] = {"-S"};
	struct launch_opts o = {.kernel = "", .extra_args = extra, .nextra = 1, .ram_size = ram};
	char err[512];

	if (!test_have_qemu())
		skip();
	if (launch_qemu(&o, &vm->l, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	vm->q = qmp_connect(vm->l.qmp_path, 5000, err, sizeof(err));
	if (!vm->q)
		fail_msg("%s", err);
	if (discover_target(vm->q, t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void vm_stop(struct vm *vm)
{
	qmp_close(vm->q);
	assert_int_equal(launch_stop(&vm->l), 0);
}

/* Guest-physical memory as QEMU sees it (pmemsave), for comparison. */
static void pmem_read(struct qmp *q, const char *dir, uint64_t gpa, void *buf, size_t len)
{
	char path[256], err[256];
	json_object *args = json_object_new_object(), *r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pmem.bin", dir);
	json_object_object_add(args, "val", json_object_new_int64((int64_t)gpa));
	json_object_object_add(args, "size", json_object_new_int64((int64_t)len));
	json_object_object_add(args, "filename", json_object_new_string(path));
	r = qmp_execute(q, "pmemsave", args, 5000, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	json_object_put(r);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	unlink(path);
}

/* Write a pattern into the RAM file at offset, then check that QEMU sees
 * it at gpa and that guest_ram_ptr(gpa) points at it. */
static void check_gpa(struct qmp *q, const struct vq_target *t, const struct vq_mapping *m,
		      const char *dir, uint64_t offset, uint64_t gpa)
{
	char pattern[64] = {0}, seen[64];
	int fd = open(t->ram_path, O_WRONLY);

	snprintf(pattern, sizeof(pattern), "vqscope at gpa 0x%" PRIx64 " offset 0x%" PRIx64, gpa,
		 offset);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, pattern, sizeof(pattern), (off_t)offset), sizeof(pattern));
	close(fd);
	pmem_read(q, dir, gpa, seen, sizeof(seen));
	assert_memory_equal(seen, pattern, sizeof(pattern));
	const void *p = guest_ram_ptr(m, gpa, sizeof(pattern));
	assert_non_null(p);
	assert_memory_equal(p, pattern, sizeof(pattern));
}

static void test_discover_launched_vm(void **state)
{
	(void)state;
	struct vm vm;
	struct vq_target t;
	struct vq_mapping m = {0};
	char err[512];

	vm_launch(&vm, 256 * MIB, &t);
	assert_string_equal(t.qmp_path, vm.l.qmp_path);
	assert_true(strncmp(t.machine_type, "pc-q35-", 7) == 0);
	assert_string_equal(t.memdev_id, "vqtrace");
	assert_string_equal(t.memdev_path, "/objects/vqtrace");
	assert_string_equal(t.ivshmem_qom_path, "/machine/peripheral-anon/device[0]");
	assert_string_equal(t.region_path, vm.l.region_path);
	assert_true(t.region_size == VQT_REGION_DEFAULT);
	assert_int_equal(t.ivshmem_count, 1);
	assert_true(t.have_ram);
	assert_string_equal(t.ram_path, vm.l.ram_path);
	assert_true(t.ram_size == 256 * MIB);
	assert_true(t.ram_below_4g == 256 * MIB);

	assert_int_equal(target_map_region(&t, &m, err, sizeof(err)), 0);
	assert_non_null(m.region);
	/* Nothing writable until the caller validated the header. */
	assert_null(m.control);
	assert_true(m.control_writable);
	assert_int_equal(target_map_control(&m, err, sizeof(err)), 0);
	assert_non_null(m.control);
	assert_true(m.region_size == VQT_REGION_DEFAULT);
	/* The control page mapping writes through to the file... */
	memcpy(m.control, "host was here", 14);
	char buf[16];
	int fd = open(t.region_path, O_RDONLY);
	assert_int_equal(pread(fd, buf, 14, VQT_CONTROL_OFFSET), 14);
	close(fd);
	assert_string_equal(buf, "host was here");
	assert_memory_equal(m.region + VQT_CONTROL_OFFSET, "host was here", 14);
	/* ...and the data mapping is read-only: the kernel cannot store into
	 * it on our behalf (EFAULT) and the file is unchanged. */
	int devzero = open("/dev/zero", O_RDONLY);
	errno = 0;
	assert_int_equal(read(devzero, (void *)(m.region + 0x2000), 8), -1);
	assert_int_equal(errno, EFAULT);
	close(devzero);

	assert_int_equal(target_map_ram(&t, &m, err, sizeof(err)), 0);
	check_gpa(vm.q, &t, &m, vm.l.dir, 0x100000, 0x100000);
	check_gpa(vm.q, &t, &m, vm.l.dir, 256 * MIB - 64, 256 * MIB - 64);
	assert_null(guest_ram_ptr(&m, 256 * MIB - 63, 64));
	target_unmap(&m);
	assert_null(m.region);
	target_unmap(&m); /* twice is fine */
	vm_stop(&vm);
}

/* q35 with 3 GiB: 2 GiB below 4 GiB, 1 GiB above; checked with pmemsave. */
static void test_discover_q35_above_4g(void **state)
{
	(void)state;
	struct vm vm;
	struct vq_target t;
	struct vq_mapping m = {0};
	char err[512];

	vm_launch(&vm, 3 * GIB, &t);
	assert_true(t.have_ram);
	assert_true(t.ram_below_4g == 2 * GIB);
	assert_int_equal(target_map_ram(&t, &m, err, sizeof(err)), 0);
	check_gpa(vm.q, &t, &m, vm.l.dir, 2 * GIB - 64, 2 * GIB - 64);
	check_gpa(vm.q, &t, &m, vm.l.dir, 2 * GIB, 4 * GIB);
	check_gpa(vm.q, &t, &m, vm.l.dir, 3 * GIB - 64, 5 * GIB - 64);
	assert_null(guest_ram_ptr(&m, 2 * GIB, 1));
	assert_null(guest_ram_ptr(&m, 5 * GIB - 63, 64));
	target_unmap(&m);
	vm_stop(&vm);
}

/* i440fx with 3.5 GiB: 3 GiB below (gigabyte aligned), 0.5 GiB above. */
static void test_discover_pc_above_4g(void **state)
{
	(void)state;
	const char *const args[] = {
	    "-M",
	    "pc",
	    "-S",
	    "-m",
	    "3584M",
	    "-object",
	    "memory-backend-file,id=ram,size=3584M,mem-path=@DIR@/guest.ram,share=on",
	    "-machine",
	    "memory-backend=ram",
	    "-object",
	    "memory-backend-file,id=tr,size=64K,mem-path=@DIR@/tr,share=on",
	    "-device",
	    "ivshmem-plain,id=ivs,memdev=tr",
	    NULL};
	struct test_qemu qemu;
	struct vq_target t;
	struct vq_mapping m = {0};
	char err[512];
	struct qmp *q = test_qemu_connect(&qemu, args);

	if (discover_target(q, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(strncmp(t.machine_type, "pc-i440fx-", 10) == 0);
	assert_string_equal(t.ivshmem_qom_path, "/machine/peripheral/ivs");
	assert_string_equal(t.memdev_id, "tr");
	assert_true(t.region_size == 64 * 1024);
	assert_true(t.have_ram);
	assert_true(t.ram_below_4g == 3 * GIB);
	assert_int_equal(target_map_ram(&t, &m, err, sizeof(err)), 0);
	check_gpa(q, &t, &m, qemu.dir, 3 * GIB - 64, 3 * GIB - 64);
	check_gpa(q, &t, &m, qemu.dir, 3 * GIB, 4 * GIB);
	check_gpa(q, &t, &m, qemu.dir, 3584 * MIB - 64, 4 * GIB + 512 * MIB - 64);
	target_unmap(&m);

	/* QEMU's memory tree agrees: ram-below-4g ends at 3 GiB. */
	json_object *args2 = json_object_new_object();
	json_object_object_add(args2, "command-line", json_object_new_string("info mtree"));
	json_object *r = qmp_execute(q, "human-monitor-command", args2, 5000, err, sizeof(err));
	assert_non_null(r);
	assert_non_null(strstr(json_object_get_string(r),
			       "ram-below-4g @ram 0000000000000000-00000000bfffffff"));
	json_object_put(r);
	qmp_close(q);
	test_qemu_stop(&qemu);
}

/* Each VM set up wrongly gives its one-line reason. */
static void test_discover_errors(void **state)
{
	(void)state;
	static const struct {
		const char *args[12];
		const char *want;
	} cases[] = {
	    {{"-M", "q35", "-S", NULL}, "no ivshmem-plain device in this VM (vqscope needs"},
	    {{"-M", "q35", "-S", "-object",
	      "memory-backend-file,id=tr,size=64K,mem-path=@DIR@/tr,share=off", "-device",
	      "ivshmem-plain,memdev=tr", NULL},
	     "uses memdev tr with share=off: the trace region must be share=on"},
	    {{"-M", "q35", "-S", "-object", "memory-backend-memfd,id=mfd,size=64K", "-device",
	      "ivshmem-plain,memdev=mfd", NULL},
	     "uses memdev mfd, a memory-backend-memfd: the trace region must be a "
	     "memory-backend-file"},
	    {{"-M", "q35", "-S", "-object",
	      "memory-backend-file,id=tr,size=8K,mem-path=@DIR@/tr,share=on", "-device",
	      "ivshmem-plain,memdev=tr", NULL},
	     "memdev tr is 8192 bytes; a trace region is 64 KiB to 1024 MiB"},
	};

	if (!test_have_qemu())
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct test_qemu qemu;
		struct vq_target t;
		char err[512];
		struct qmp *q = test_qemu_connect(&qemu, cases[i].args);

		assert_int_equal(discover_target(q, &t, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got \"%s\"", i, err);
		qmp_close(q);
		test_qemu_stop(&qemu);
	}
}

/* A region that is fine with RAM that is not shared: have_ram false, and a
 * note that says how to fix it. */
static void test_discover_ram_not_shared(void **state)
{
	(void)state;
	const char *const args[] = {"-M",
				    "q35",
				    "-S",
				    "-m",
				    "64M",
				    "-object",
				    "memory-backend-file,id=tr,size=64K,mem-path=@DIR@/tr,share=on",
				    "-device",
				    "ivshmem-plain,memdev=tr",
				    NULL};
	struct test_qemu qemu;
	struct vq_target t;
	struct vq_mapping m = {0};
	char err[512];
	struct qmp *q = test_qemu_connect(&qemu, args);

	assert_int_equal(discover_target(q, &t, err, sizeof(err)), 0);
	assert_false(t.have_ram);
	assert_string_equal(t.ram_note,
			    "guest RAM (pc.ram) is memory-backend-ram: for real rings give -object "
			    "memory-backend-file,id=ram,size=...,mem-path=/ABSOLUTE/FILE,share=on "
			    "-machine memory-backend=ram");
	assert_int_equal(target_map_ram(&t, &m, err, sizeof(err)), -1);
	assert_string_equal(err, t.ram_note);
	/* The region file shrinks behind QEMU's back: mapping refuses. */
	assert_int_equal(truncate(t.region_path, 4096), 0);
	assert_int_equal(target_map_region(&t, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is 4096 bytes, but QEMU says 65536"));
	qmp_close(q);
	test_qemu_stop(&qemu);
}

int main(void)
{
	test_private_base();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ram_below_4g_rule),
	    cmocka_unit_test(test_children_of_type),
	    cmocka_unit_test(test_guest_ram_ptr_bounds),
	    cmocka_unit_test(test_discover_launched_vm),
	    cmocka_unit_test(test_discover_q35_above_4g),
	    cmocka_unit_test(test_discover_pc_above_4g),
	    cmocka_unit_test(test_discover_errors),
	    cmocka_unit_test(test_discover_ram_not_shared),
	};

	return cmocka_run_group_tests_name("qmp_discover", tests, NULL, NULL);
}
