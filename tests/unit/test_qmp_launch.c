/* test_qmp_launch.c - starting and stopping QEMU for `vqscope run`
 * (tui/launch.c): the private directory and its files, option checks,
 * QEMU's own error when it refuses to start, stop by SIGTERM, quit
 * through QMP, and finding the demo kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "live/discover.h"
#include "live/launch.h"
#include "live/qmp.h"
#include "test_qmp_qemu.h"

static const char *PAUSED[] = {"-S"};

static void test_launch_and_stop(void **state)
{
	(void)state;
	struct launch_opts o = {.kernel = "", .extra_args = PAUSED, .nextra = 1};
	struct launch l;
	struct stat st;
	char err[512], status[32], text[96];
	bool running;
	struct qmp *q;

	if (!test_have_qemu())
		skip();
	if (launch_qemu(&o, &l, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(l.pid > 0);
	assert_int_equal(stat(l.dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(l.qmp_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(stat(l.region_path, &st), 0);
	assert_true(st.st_size == 4 * 1024 * 1024);
	assert_int_equal(stat(l.ram_path, &st), 0);
	assert_true(st.st_size == (off_t)LAUNCH_RAM_DEFAULT);
	assert_string_equal(l.kernel, "");
	assert_true(launch_poll(&l));
	launch_exit_text(&l, text, sizeof(text));
	assert_string_equal(text, "QEMU is running");

	q = qmp_connect(l.qmp_path, 5000, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err)),
			 0);
	assert_string_equal(status, "prelaunch");
	/* No demo guest: no virtio-gpu added. */
	json_object *r = qmp_execute(q, "x-query-virtio", NULL, 5000, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(json_object_array_length(r), 0);
	json_object_put(r);
	qmp_close(q);

	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", l.dir);
	assert_int_equal(launch_stop(&l), 0);
	assert_int_equal(l.pid, 0);
	assert_int_equal(stat(dir, &st), -1);
	launch_exit_text(&l, text, sizeof(text));
	assert_string_equal(text, "QEMU exited with status 0"); /* SIGTERM is a clean exit */
	assert_int_equal(launch_stop(&l), 0);			/* twice is fine */
}

static void test_launch_quit_through_qmp(void **state)
{
	(void)state;
	static const char *extra[] = {"-S", "-device", "virtio-rng-pci"};
	struct launch_opts o = {.kernel = "",
				.extra_args = extra,
				.nextra = 3,
				.region_size = 64 * 1024,
				.ram_size = 32 * 1024 * 1024,
				.keep_dir = true};
	struct launch l;
	struct vq_target t;
	char err[512], text[96];
	struct qmp *q;

	if (!test_have_qemu())
		skip();
	if (launch_qemu(&o, &l, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	q = qmp_connect(l.qmp_path, 5000, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(discover_target(q, &t, err, sizeof(err)), 0);
	assert_true(t.region_size == 64 * 1024);
	assert_true(t.ram_size == 32 * 1024 * 1024);
	assert_int_equal(qmp_quit(q, 5000, err, sizeof(err)), 0);
	qmp_close(q);
	for (int i = 0; i < 250 && launch_poll(&l); i++)
		test_sleep_ms(20);
	assert_false(launch_poll(&l));
	launch_exit_text(&l, text, sizeof(text));
	assert_string_equal(text, "QEMU exited with status 0");
	/* keep_dir: the files stay for a look. */
	struct stat st;
	assert_int_equal(stat(l.serial_path, &st), 0);
	assert_int_equal(launch_stop(&l), 0);
	assert_int_equal(stat(l.dir, &st), 0);
	l.keep_dir = false;
	assert_int_equal(launch_stop(&l), 0);
	assert_int_equal(stat(l.serial_path, &st), -1);
}

static void test_launch_errors(void **state)
{
	(void)state;
	static const char *bad_device[] = {"-S", "-device", "no-such-device-model"};
	struct launch_opts o = {.kernel = "", .extra_args = bad_device, .nextra = 3};
	struct launch l;
	char err[512];

	if (!test_have_qemu())
		skip();
	/* QEMU refuses: its own message comes back, nothing is left over. */
	assert_int_equal(launch_qemu(&o, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QEMU exited with status 1: "));
	assert_non_null(strstr(err, "no-such-device-model"));
	assert_int_equal(l.pid, 0);
	struct stat st;
	assert_true(l.dir[0] == '\0' || stat(l.dir, &st) != 0);

	struct launch_opts accel = {.kernel = "", .accel = "hvf"};
	assert_int_equal(launch_qemu(&accel, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "--accel hvf: use tcg or kvm");
	struct launch_opts region = {.kernel = "", .region_size = 3 * 1024 * 1024};
	assert_int_equal(launch_qemu(&region, &l, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "trace region size 3145728: use a power of two from 64 KiB to 1024 MiB");
	struct launch_opts ram = {.kernel = "", .ram_size = 1000};
	assert_int_equal(launch_qemu(&ram, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "guest RAM size 1000: use whole MiB from 16 MiB to 1 TiB");
	struct launch_opts binary = {.kernel = "", .qemu = "/nonexistent/qemu"};
	assert_int_equal(launch_qemu(&binary, &l, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "cannot find /nonexistent/qemu (install qemu-system-x86, or set VQSCOPE_QEMU)");
	struct launch_opts kernel = {.kernel = "/nonexistent/bzImage"};
	assert_int_equal(launch_qemu(&kernel, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "kernel /nonexistent/bzImage: not a readable file");
}

static void test_find_demo_kernel(void **state)
{
	(void)state;
	char out[PATH_MAX], err[1024];
	struct test_qemu t;

	assert_int_equal(test_make_dir(&t), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/vqdemo.elf", t.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	setenv("VQSCOPE_DEMO_KERNEL", path, 1);
	assert_int_equal(launch_find_demo_kernel(out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, path);
	setenv("VQSCOPE_DEMO_KERNEL", "/nonexistent/vqdemo.elf", 1);
	assert_int_equal(launch_find_demo_kernel(out, sizeof(out), err, sizeof(err)), -1);
	assert_string_equal(err,
			    "VQSCOPE_DEMO_KERNEL=/nonexistent/vqdemo.elf: not a readable file");
	unsetenv("VQSCOPE_DEMO_KERNEL");
	/* Without the variable: the build tree's kernel if it was built,
	 * else an error naming every place looked at. */
	if (launch_find_demo_kernel(out, sizeof(out), err, sizeof(err)) == 0) {
		assert_non_null(strstr(out, "vqdemo.elf"));
	} else {
		assert_non_null(strstr(err, "no demo guest kernel (vqdemo.elf): looked at "
					    "$VQSCOPE_DEMO_KERNEL (unset), "));
		assert_non_null(strstr(err, "/guest-driver/demo/vqdemo.elf, "));
		assert_non_null(strstr(err, "/share/vqscope/vqdemo.elf"));
	}
	test_qemu_stop(&t);
}

int main(void)
{
	test_private_base();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_launch_and_stop),
	    cmocka_unit_test(test_launch_quit_through_qmp),
	    cmocka_unit_test(test_launch_errors),
	    cmocka_unit_test(test_find_demo_kernel),
	};

	return cmocka_run_group_tests_name("qmp_launch", tests, NULL, NULL);
}
