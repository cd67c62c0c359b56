/* test_qmp_qemu.h - start and stop a real QEMU for the QMP unit tests
 * (test_qmp*.c): a private 0700 temp dir, a QMP socket in it, TCG, and
 * the test's own arguments ("@DIR@" in them becomes the directory).
 * QEMU is stopped by PID.  Header-only: each test program is built from
 * one .c file.  Include it after <cmocka.h> for test_qemu_connect().
 *
 * A test that fails midway skips its own cleanup, so main() calls
 * test_private_base() first: every directory (also launch_qemu's, through
 * XDG_RUNTIME_DIR) goes under one base removed at exit, and every QEMU
 * started here or by launch_qemu gets a signal when the test program dies.
 */
#ifndef TEST_QMP_QEMU_H
#define TEST_QMP_QEMU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live/qmp.h"

struct test_qemu {
	pid_t pid;
	char dir[128];
	char qmp[160];
};

static inline void test_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* True when qemu-system-x86_64 can be run (else tests skip with 77). */
static inline int test_have_qemu(void)
{
	return system("qemu-system-x86_64 --version >/dev/null 2>&1") == 0;
}

static char test_base_dir[64];

static int test_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void test_remove_base(void)
{
	if (test_base_dir[0])
		nftw(test_base_dir, test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* One private 0700 base for everything this test program creates; also
 * where launch_qemu makes its directories.  Removed at exit. */
static inline void test_private_base(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(test_base_dir, sizeof(test_base_dir), "%s/vqtest.qmp.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	if (!mkdtemp(test_base_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	setenv("XDG_RUNTIME_DIR", test_base_dir, 1);
	atexit(test_remove_base);
}

/* Make the private directory only (for tests that launch QEMU otherwise). */
static inline int test_make_dir(struct test_qemu *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s/qemu.XXXXXX",
		 test_base_dir[0] ? test_base_dir : "/tmp");
	if (!mkdtemp(t->dir))
		return -1;
	chmod(t->dir, 0700);
	snprintf(t->qmp, sizeof(t->qmp), "%s/qmp.sock", t->dir);
	return 0;
}

/* Start QEMU with args (NULL-terminated) after the common ones; wait for
 * its QMP socket.  0 or -1 (QEMU's stderr is left in DIR/qemu.log). */
static inline int test_qemu_start(struct test_qemu *t, const char *const *args)
{
	char *argv[64], qmparg[200], logpath[200];
	int argc = 0, freed_from;

	if (test_make_dir(t) != 0)
		return -1;
	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", t->qmp);
	snprintf(logpath, sizeof(logpath), "%s/qemu.log", t->dir);
	argv[argc++] = "qemu-system-x86_64";
	argv[argc++] = "-accel";
	argv[argc++] = "tcg";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-no-user-config";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-qmp";
	argv[argc++] = qmparg;
	freed_from = argc;
	for (size_t i = 0; args && args[i] && argc < 62; i++) {
		const char *a = args[i], *at = strstr(a, "@DIR@");
		char *s;
		if (at) {
			size_t n = strlen(a) + strlen(t->dir);
			s = malloc(n);
			snprintf(s, n, "%.*s%s%s", (int)(at - a), a, t->dir, at + 5);
		} else {
			s = strdup(a);
		}
		argv[argc++] = s;
	}
	argv[argc] = NULL;
	t->pid = fork();
	if (t->pid == 0) {
		int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves no QEMU */
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int i = freed_from; i < argc; i++)
		free(argv[i]);
	if (t->pid < 0)
		return -1;
	for (int waited = 0; waited < 20000; waited += 20) {
		struct stat st;
		int status;
		if (stat(t->qmp, &st) == 0)
			return 0;
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			return -1;
		}
		test_sleep_ms(20);
	}
	return -1;
}

#ifdef cmocka_unit_test
/* Start QEMU with args and connect to its QMP socket; the test is skipped
 * without QEMU and fails when QEMU does not start. */
static inline struct qmp *test_qemu_connect(struct test_qemu *t, const char *const *args)
{
	char err[256];
	struct qmp *q;

	if (!test_have_qemu())
		skip();
	if (test_qemu_start(t, args) != 0)
		fail_msg("QEMU did not start (see %s/qemu.log)", t->dir);
	q = qmp_connect(t->qmp, 5000, err, sizeof(err));
	if (!q)
		fail_msg("%s", err);
	return q;
}
#endif

/* Stop QEMU by PID (SIGTERM, then SIGKILL) and remove the directory. */
static inline void test_qemu_stop(struct test_qemu *t)
{
	if (t->pid > 0) {
		int status;
		kill(t->pid, SIGTERM);
		for (int waited = 0; waited < 5000; waited += 20) {
			if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
				t->pid = 0;
				break;
			}
			test_sleep_ms(20);
		}
		if (t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			t->pid = 0;
		}
	}
	if (t->dir[0]) {
		DIR *d = opendir(t->dir);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		if (d)
			closedir(d);
		rmdir(t->dir);
		t->dir[0] = '\0';
	}
}

#endif /* TEST_QMP_QEMU_H */
