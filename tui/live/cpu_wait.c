/* cpu_wait.c - how long QEMU waited for a CPU (see cpu_wait.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cpu_wait.h"

pid_t cpu_wait_peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    len != sizeof(cred) || cred.pid <= 0)
		return 0;
	return cred.pid;
}

void cpu_wait_init(struct cpu_wait *w, pid_t pid)
{
	memset(w, 0, sizeof(*w));
	w->pid = pid;
}

/* The run delay of thread tid of pid (ns), from the second field of
 * /proc/PID/task/TID/schedstat ("on-CPU ns, waiting ns, timeslices"). */
static bool run_delay(pid_t pid, pid_t tid, uint64_t *delay)
{
	char path[96];
	unsigned long long on_cpu, waiting;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fscanf(f, "%llu %llu", &on_cpu, &waiting);
	fclose(f);
	if (n != 2)
		return false;
	*delay = waiting;
	return true;
}

static const struct cpu_wait_thread *find_thread(const struct cpu_wait *w, pid_t tid)
{
	for (size_t i = 0; i < w->nthreads; i++)
		if (w->threads[i].tid == tid)
			return &w->threads[i];
	return NULL;
}

uint64_t cpu_wait_sample(struct cpu_wait *w)
{
	struct cpu_wait_thread now[CPU_WAIT_THREADS];
	size_t n = 0;
	uint64_t longest = 0;
	char path[64];
	struct dirent *d;
	DIR *dir;

	if (w->pid <= 0 || w->failed)
		return w->total_ns;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)w->pid);
	dir = opendir(path);
	if (!dir) {
		/* Gone, or not ours to read: the stuck checks use the
		 * host's clock alone from here. */
		w->failed = true;
		return w->total_ns;
	}
	while ((d = readdir(dir)) && n < CPU_WAIT_THREADS) {
		char *end;
		long tid = strtol(d->d_name, &end, 10);
		const struct cpu_wait_thread *before;

		if (*end || tid <= 0 || !run_delay(w->pid, (pid_t)tid, &now[n].delay_ns))
			continue;
		now[n].tid = (pid_t)tid;
		/* A thread's delay only grows; one seen for the first time
		 * counts from the next sample. */
		before = find_thread(w, now[n].tid);
		if (before && now[n].delay_ns > before->delay_ns &&
		    now[n].delay_ns - before->delay_ns > longest)
			longest = now[n].delay_ns - before->delay_ns;
		n++;
	}
	closedir(dir);
	memcpy(w->threads, now, n * sizeof(now[0]));
	w->nthreads = n;
	w->total_ns += longest;
	return w->total_ns;
}
