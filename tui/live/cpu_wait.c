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

/* Thread tid of pid now: its time on a CPU and waiting for one (ns, the
 * first two fields of /proc/PID/task/TID/schedstat) and whether it is
 * runnable (state R in .../stat: running, or waiting for a CPU). */
static bool read_thread(pid_t pid, pid_t tid, struct cpu_wait_thread *t)
{
	char path[96], line[512], *paren;
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
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	paren = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	if (!paren || paren[1] != ' ')
		return false;
	t->tid = tid;
	t->on_cpu_ns = on_cpu;
	t->delay_ns = waiting;
	t->runnable = paren[2] == 'R';
	return true;
}

static const struct cpu_wait_thread *find_thread(const struct cpu_wait *w, pid_t tid)
{
	for (size_t i = 0; i < w->nthreads; i++)
		if (w->threads[i].tid == tid)
			return &w->threads[i];
	return NULL;
}

/* How long thread t waited for a CPU since `before`, window_ns ago.  The
 * kernel adds a wait to the run delay only when the thread gets the CPU,
 * so a wait still going on is not in it yet: a runnable thread that ran
 * for less than the window is taken to have waited the rest, and that
 * credit is owed back from the run delay when it shows up. */
static uint64_t thread_wait(struct cpu_wait_thread *t, const struct cpu_wait_thread *before,
			    uint64_t window_ns)
{
	uint64_t delay = t->delay_ns > before->delay_ns ? t->delay_ns - before->delay_ns : 0;
	uint64_t ran = t->on_cpu_ns > before->on_cpu_ns ? t->on_cpu_ns - before->on_cpu_ns : 0;
	uint64_t owed = before->owed_ns, waited;

	waited = delay > owed ? delay - owed : 0;
	owed = delay > owed ? 0 : owed - delay;
	if (t->runnable && ran + waited < window_ns) {
		owed += window_ns - ran - waited;
		waited = window_ns - ran;
	}
	t->owed_ns = owed;
	return waited;
}

uint64_t cpu_wait_sample(struct cpu_wait *w, uint64_t now_ns)
{
	struct cpu_wait_thread now[CPU_WAIT_THREADS];
	uint64_t longest = 0, window = now_ns > w->last_ns ? now_ns - w->last_ns : 0;
	size_t n = 0;
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
		uint64_t waited;

		if (*end || tid <= 0)
			continue;
		memset(&now[n], 0, sizeof(now[n]));
		if (!read_thread(w->pid, (pid_t)tid, &now[n]))
			continue;
		/* A thread seen for the first time counts from the next
		 * sample. */
		before = find_thread(w, now[n].tid);
		if (before && w->last_ns) {
			waited = thread_wait(&now[n], before, window);
			if (waited > longest)
				longest = waited;
		}
		n++;
	}
	closedir(dir);
	memcpy(w->threads, now, n * sizeof(now[0]));
	w->nthreads = n;
	w->last_ns = now_ns;
	w->total_ns += longest;
	return w->total_ns;
}
