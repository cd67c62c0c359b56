/* kprobe_events.c - kprobes made through tracefs (kprobe_events) instead of
 * the perf kprobe PMU, for the counts the kernel keeps of them.
 *
 * The kernel runs one kprobe at a time per CPU: a kprobe hit while another
 * one's handler runs (an interrupt landing in a BPF program) is skipped and
 * counted in the probe's nmissed; a BPF program whose kprobe fired while
 * another BPF program held the CPU is skipped too, its hit counted but not
 * run.  Linux 6.1 reports both only for probes made in tracefs, in
 * kprobe_profile ("name hits missed"); it has no count of them for the
 * PMU's probes (6.7 added them to bpf_link_info).  The BPF programs attach
 * to these probes as to any perf event.
 *
 * Probes are named vqscope_<pid>_<e|r>_<function>, in group "vqscope";
 * those of a vqscope-trace that died without removing them are removed at
 * the next start.
 */
#include "kprobe_events.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GROUP "vqscope"

static const char *const tracefs_dirs[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

const char *kprobe_events_dir(void)
{
	for (size_t i = 0; i < sizeof(tracefs_dirs) / sizeof(tracefs_dirs[0]); i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/kprobe_events", tracefs_dirs[i]);
		if (access(path, W_OK) == 0)
			return tracefs_dirs[i];
	}
	return NULL;
}

static int write_command(const char *tracefs, const char *command)
{
	char path[128];
	int fd, rc = 0;
	size_t len = strlen(command);

	snprintf(path, sizeof(path), "%s/kprobe_events", tracefs);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, command, len) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}

void kprobe_event_remove(const char *tracefs, const char *name)
{
	char command[160];

	snprintf(command, sizeof(command), "-:" GROUP "/%.100s\n", name);
	write_command(tracefs, command);
}

void kprobe_events_remove_stale(const char *tracefs)
{
	char path[128], line[512], stale[64][80];
	size_t nstale = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_events", tracefs);
	f = fopen(path, "r");
	if (!f)
		return;
	/* "p:vqscope/vqscope_123_e_virtqueue_notify virtqueue_notify" */
	while (fgets(line, sizeof(line), f) && nstale < 64) {
		const char *event = strstr(line, ":" GROUP "/" GROUP "_");
		char name[80];
		int pid;

		if (!event || sscanf(event + strlen(":" GROUP "/"), "%79s", name) != 1 ||
		    sscanf(name, GROUP "_%d_", &pid) != 1)
			continue;
		if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
			snprintf(stale[nstale++], sizeof(stale[0]), "%s", name);
	}
	fclose(f);
	for (size_t i = 0; i < nstale; i++)
		kprobe_event_remove(tracefs, stale[i]);
}

int kprobe_event_open(const char *tracefs, const char *function, bool is_return, char *name,
		      size_t namelen, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	char command[256], path[256];
	unsigned long long id = 0;
	FILE *f;
	int rc, fd;

	snprintf(name, namelen, GROUP "_%d_%c_%s", (int)getpid(), is_return ? 'r' : 'e', function);
	snprintf(command, sizeof(command), "%c:" GROUP "/%s %s\n", is_return ? 'r' : 'p', name,
		 function);
	rc = write_command(tracefs, command);
	if (rc < 0) {
		snprintf(err, errlen, "%s/kprobe_events refused %c:%s: %s", tracefs,
			 is_return ? 'r' : 'p', function, strerror(-rc));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/events/" GROUP "/%s/id", tracefs, name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &id) != 1) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		kprobe_event_remove(tracefs, name);
		return -1;
	}
	fclose(f);
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	/* The BPF program of a kprobe event runs on every CPU whatever CPU
	 * its perf event is opened on. */
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "perf_event_open of %s: %s", name, strerror(errno));
		kprobe_event_remove(tracefs, name);
		return -1;
	}
	return fd;
}

int kprobe_profile_read(const char *tracefs, struct kprobe_count *counts, size_t n)
{
	char path[128], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_profile", tracefs);
	f = fopen(path, "r");
	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		counts[i].found = false;
	/* "  vqscope_123_e_virtqueue_notify    1200    0" */
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned long long hits, missed;

		if (sscanf(line, "%127s %llu %llu", name, &hits, &missed) != 3)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(counts[i].name, name) != 0)
				continue;
			counts[i].hits = hits;
			counts[i].missed = missed;
			counts[i].found = true;
		}
	}
	fclose(f);
	return 0;
}
