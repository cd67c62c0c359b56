/* cpu_wait.h - how long QEMU waited for a CPU, from the scheduler's
 * statistics of its threads (/proc/PID/task/TID/schedstat, whose second
 * field is the time a thread was runnable but not running).
 *
 * On a loaded host a TCG vCPU or QEMU's main loop can wait a second for a
 * CPU: the guest and the device stand still, and a queue looks stuck when
 * nothing is wrong with it.  The stuck checks leave this time out.  Each
 * sample adds the longest wait of any one thread since the previous
 * sample, including a wait still going on (a runnable thread that did not
 * run the whole interval; the kernel counts a wait only once it ends):
 * over-counting (a thread that was not needed waited) only makes a stuck
 * finding later, never a false one.
 *
 * QEMU's PID comes from the QMP socket (SO_PEERCRED).  Without it, or
 * when /proc cannot be read (another PID namespace), the total stays 0
 * and the checks fall back to the host's clock.
 */
#ifndef VQ_CPU_WAIT_H
#define VQ_CPU_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CPU_WAIT_THREADS 256

struct cpu_wait_thread {
	pid_t tid;
	bool runnable;
	uint64_t on_cpu_ns, delay_ns;
	uint64_t owed_ns; /* counted as waiting before the kernel did */
};

struct cpu_wait {
	pid_t pid; /* 0: unknown */
	bool failed;
	uint64_t last_ns; /* host time of the last sample */
	uint64_t total_ns;
	size_t nthreads;
	struct cpu_wait_thread threads[CPU_WAIT_THREADS];
};

/* The PID of the process at the other end of a unix socket, or 0. */
pid_t cpu_wait_peer_pid(int fd);
void cpu_wait_init(struct cpu_wait *w, pid_t pid);
/* Read the threads' waits at host time now_ns (CLOCK_MONOTONIC); the
 * total so far (ns). */
uint64_t cpu_wait_sample(struct cpu_wait *w, uint64_t now_ns);

#endif /* VQ_CPU_WAIT_H */
