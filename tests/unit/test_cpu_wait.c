/* test_cpu_wait.c - cpu_wait.c against the real scheduler: a process
 * whose two threads spin on one CPU waits for it about half the time, and
 * cpu_wait sees that while it goes on; a sleeping process never waits;
 * the PID at the other end of a unix socket is found. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "live/cpu_wait.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *spin(void *arg)
{
	volatile unsigned long *n = arg;

	for (;;)
		(*n)++;
	return NULL;
}

/* A child with two threads spinning on CPU 0. */
static pid_t spinner(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		cpu_set_t one;
		pthread_t t;
		static volatile unsigned long a, b;

		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_setaffinity(0, sizeof(one), &one);
		pthread_create(&t, NULL, spin, (void *)&a);
		spin((void *)&b);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Sample every 100 ms for `ms`; the total wait. */
static uint64_t watch(pid_t pid, unsigned ms, uint64_t *elapsed)
{
	struct cpu_wait *w = calloc(1, sizeof(*w));
	uint64_t start = now_ns(), total;

	assert_non_null(w);
	cpu_wait_init(w, pid);
	cpu_wait_sample(w, now_ns());
	for (unsigned i = 0; i < ms / 100; i++) {
		usleep(100000);
		cpu_wait_sample(w, now_ns());
	}
	*elapsed = now_ns() - start;
	total = w->total_ns;
	assert_false(w->failed);
	free(w);
	return total;
}

static void two_threads_on_one_cpu_wait(void **state)
{
	uint64_t born = now_ns(), elapsed, waited, alive;
	pid_t pid = spinner();
	(void)state;

	assert_true(pid > 0);
	usleep(100000); /* both threads running */
	waited = watch(pid, 1000, &elapsed);
	/* The kernel counts a wait when it ends, so one that began before
	 * the first sample is counted whole (on a loaded machine it can
	 * last hundreds of ms): no wait began before the child did. */
	alive = now_ns() - born;
	stop(pid);
	/* Each thread waits about half the time; the longest of the two
	 * in each interval is counted.  A quarter is a wide margin. */
	assert_true(waited > elapsed / 4);
	assert_true(waited <= alive + 200000000ull);
}

/* Whether pid sleeps (state S in /proc/PID/stat). */
static bool sleeping(pid_t pid)
{
	char path[64], buf[256], *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'S';
}

static void a_sleeping_process_does_not_wait(void **state)
{
	pid_t pid = fork();
	uint64_t elapsed, waited;
	(void)state;

	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	/* Asleep in pause() before the watch: on a loaded machine a new
	 * child can wait for a CPU a long time before it first runs, and
	 * that wait is real. */
	for (int i = 0; !sleeping(pid); i++) {
		assert_true(i < 3000); /* 30 s */
		usleep(10000);
	}
	waited = watch(pid, 500, &elapsed);
	stop(pid);
	assert_int_equal(waited, 0);
}

static void peer_pid_and_gone_process(void **state)
{
	int sv[2];
	struct cpu_wait w;
	pid_t pid;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(cpu_wait_peer_pid(sv[0]), getpid());
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(cpu_wait_peer_pid(-1), 0);

	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	cpu_wait_init(&w, pid);
	assert_int_equal(cpu_wait_sample(&w, now_ns()), 0);
	assert_true(w.failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_threads_on_one_cpu_wait),
	    cmocka_unit_test(a_sleeping_process_does_not_wait),
	    cmocka_unit_test(peer_pid_and_gone_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
