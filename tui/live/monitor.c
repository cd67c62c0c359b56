/* monitor.c - the QMP thread of a live source (see monitor.h).
 *
 * Two pipes connect the threads: the main thread writes a byte to `ask`
 * when it posts a request or wants the thread to stop; the monitor writes
 * a byte to `tell` when the mailbox has something new.  Both are
 * non-blocking: a full pipe already means "look".  The mailbox and the
 * requests are under one mutex, held only for copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devview.h"
#include "monitor.h"
#include "qmp.h"
#include "vqproto.h"

/* Device statuses (broken) are asked again every this many samples. */
#define STATUS_EVERY 5

struct chain_request {
	bool pending;
	uint64_t id;
	char path[DEVVIEW_PATH_MAX];
	unsigned queue_index;
	uint16_t avail_pos, head;
};

struct monitor {
	struct qmp *qmp;
	struct monitor_opts opts;
	pthread_t thread;
	pthread_mutex_t lock;
	int ask[2], tell[2];

	/* Under lock: requests from the main thread. */
	bool stop;
	bool command_pending;
	enum monitor_command command;
	struct chain_request chain;
	/* Under lock: the mailbox. */
	struct monitor_report box;

	/* The thread's own. */
	struct vqr_device_queue sample[MONITOR_QUEUES];
	struct devview_chain chain_reply;
	struct devview_devices devices;
	bool have_devices, no_device;
	unsigned samples;
	uint64_t next_sample_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nudge(int fd)
{
	char b = 1;

	/* EAGAIN: the reader has a byte waiting already. */
	if (write(fd, &b, 1) < 0 && errno != EAGAIN)
		return;
}

static void drain_pipe(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* ---- the thread ------------------------------------------------------------ */

static void post(struct monitor *mon, void (*fill)(struct monitor_report *, const void *),
		 const void *arg)
{
	pthread_mutex_lock(&mon->lock);
	fill(&mon->box, arg);
	pthread_mutex_unlock(&mon->lock);
	nudge(mon->tell[1]);
}

struct sample_result {
	uint64_t host_ns;
	const struct vqr_device_queue *q;
	size_t n;
	bool unavailable;
	const char *status;
	bool have_sample;
};

static void fill_sample(struct monitor_report *box, const void *arg)
{
	const struct sample_result *r = arg;

	if (r->have_sample) {
		box->what |= MONITOR_SAMPLE;
		box->sample_host_ns = r->host_ns;
		box->nsample = r->n;
		memcpy(box->sample, r->q, r->n * sizeof(r->q[0]));
	}
	if (r->unavailable)
		box->device_unavailable = true;
	if (strcmp(box->device_status, r->status) != 0 || r->unavailable) {
		box->what |= MONITOR_DEVICE_STATUS;
		vqp_copy_string(box->device_status, sizeof(box->device_status), r->status);
	}
}

static void sample_devices(struct monitor *mon)
{
	struct vqr_device_queue *q = mon->sample;
	struct sample_result r = {.status = ""};
	char err[VQP_ERRLEN];
	size_t n = 0;
	int rc;

	if (!mon->have_devices) {
		if (devview_list(mon->qmp, &mon->devices, err, sizeof(err)) != 0) {
			/* QEMU cannot (older than 7.2, or gone): stop asking. */
			mon->no_device = true;
			r.unavailable = true;
			r.status = err;
			post(mon, fill_sample, &r);
			return;
		}
		mon->have_devices = true;
	} else if (++mon->samples % STATUS_EVERY == 0 &&
		   devview_refresh_status(mon->qmp, &mon->devices, err, sizeof(err)) != 0) {
		r.status = err;
		post(mon, fill_sample, &r);
		return;
	}
	rc = devview_sample(mon->qmp, &mon->devices, q, MONITOR_QUEUES, &n, err, sizeof(err));
	if (rc < 0) {
		r.status = err;
		post(mon, fill_sample, &r);
		return;
	}
	r.have_sample = true;
	r.host_ns = now_ns();
	r.q = q;
	r.n = n;
	r.status = rc > 0 ? err : "";
	post(mon, fill_sample, &r);
}

static void fill_events(struct monitor_report *box, const void *arg)
{
	struct qmp *q = (struct qmp *)arg;
	struct qmp_event ev;

	while (qmp_next_event(q, &ev)) {
		if (box->nevents == MONITOR_EVENTS) {
			/* The main thread has not taken them for a while:
			 * keep the newest. */
			memmove(box->events[0], box->events[1],
				(MONITOR_EVENTS - 1) * sizeof(box->events[0]));
			box->nevents--;
			box->events_dropped++;
		}
		vqp_copy_string(box->events[box->nevents++], sizeof(box->events[0]), ev.name);
		box->what |= MONITOR_EVENTS_NEW;
		json_object_put(ev.data);
	}
}

static void fill_gone(struct monitor_report *box, const void *arg)
{
	box->what |= MONITOR_GONE;
	vqp_copy_string(box->gone_reason, sizeof(box->gone_reason), arg);
}

struct command_result {
	enum monitor_command command;
	bool ok;
	const char *error;
};

static void fill_command(struct monitor_report *box, const void *arg)
{
	const struct command_result *r = arg;

	box->what |= MONITOR_COMMAND;
	box->command = r->command;
	box->command_ok = r->ok;
	vqp_copy_string(box->command_error, sizeof(box->command_error), r->error);
}

static void run_command(struct monitor *mon, enum monitor_command c)
{
	char err[256] = "";
	int rc = c == MONITOR_STOP_VM ? qmp_stop(mon->qmp, err, sizeof(err))
				      : qmp_cont(mon->qmp, err, sizeof(err));
	struct command_result r = {.command = c, .ok = rc == 0, .error = err};

	post(mon, fill_command, &r);
}

/* The device of a sampled queue by its QOM path (cut to "...TAIL" when
 * long, see devview_sample). */
static const struct devview_device *find_device(const struct monitor *mon, const char *path)
{
	size_t plen = strlen(path);

	for (size_t i = 0; mon->have_devices && i < mon->devices.count; i++) {
		const char *full = mon->devices.dev[i].path;
		size_t flen = strlen(full);

		if (strcmp(full, path) == 0)
			return &mon->devices.dev[i];
		if (plen > 3 && strncmp(path, "...", 3) == 0 && flen >= plen - 3 &&
		    strcmp(full + flen - (plen - 3), path + 3) == 0)
			return &mon->devices.dev[i];
	}
	return NULL;
}

static void fill_chain(struct monitor_report *box, const void *arg)
{
	const struct chain_view *c = arg;

	box->what |= MONITOR_CHAIN;
	box->chain = *c;
}

/* x-query-virtio-queue-element at the avail ring position that held the
 * head (2.7.6), as a chain view. */
static void read_chain(struct monitor *mon, const struct chain_request *rq)
{
	struct devview_chain *chain = &mon->chain_reply;
	struct chain_view c;
	const struct devview_device *dev = find_device(mon, rq->path);
	char err[150];

	chain_view_begin(&c, rq->head, "QMP");
	if (!dev) {
		snprintf(c.note, sizeof(c.note), "%s",
			 "the device view does not list this queue's device");
	} else if (devview_element(mon->qmp, dev->path, rq->queue_index, rq->avail_pos, chain, err,
				   sizeof(err)) != 0) {
		snprintf(c.note, sizeof(c.note), "x-query-virtio-queue-element: %s", err);
	} else if (chain->head != rq->head) {
		snprintf(c.note, sizeof(c.note), "avail entry %u now holds head %u, not %u",
			 rq->avail_pos, chain->head, rq->head);
	} else {
		for (size_t k = 0; k < chain->ndescs && k < DEVVIEW_CHAIN_MAX; k++) {
			if (c.n == CHAIN_VIEW_MAX) {
				c.more = true;
				break;
			}
			c.desc[c.n++] = (struct chain_desc){.addr = chain->desc[k].addr,
							    .len = chain->desc[k].len,
							    .flags = chain->desc[k].flags};
		}
		c.valid = true;
	}
	/* The answer names its request, so a late one for an old selection
	 * is recognised and dropped by the main thread. */
	pthread_mutex_lock(&mon->lock);
	fill_chain(&mon->box, &c);
	mon->box.chain_request = rq->id;
	pthread_mutex_unlock(&mon->lock);
	nudge(mon->tell[1]);
}

static void *monitor_main(void *arg)
{
	struct monitor *mon = arg;
	uint64_t interval = mon->opts.device_hz ? 1000000000ull / mon->opts.device_hz : 0;
	bool gone = false;

	mon->next_sample_ns = now_ns();
	for (;;) {
		bool stop, command_pending;
		enum monitor_command command;
		struct chain_request chain;
		uint64_t now;
		int timeout_ms;

		pthread_mutex_lock(&mon->lock);
		stop = mon->stop;
		command_pending = mon->command_pending;
		command = mon->command;
		chain = mon->chain;
		mon->command_pending = false;
		mon->chain.pending = false;
		pthread_mutex_unlock(&mon->lock);
		if (stop)
			break;

		if (gone) {
			/* Nothing to ask QEMU any more: answer requests. */
			if (command_pending) {
				struct command_result r = {command, false, "QEMU is gone"};

				post(mon, fill_command, &r);
			}
		} else {
			if (command_pending)
				run_command(mon, command);
			if (chain.pending)
				read_chain(mon, &chain);
			now = now_ns();
			if (interval && !mon->no_device && now >= mon->next_sample_ns) {
				sample_devices(mon);
				/* The next one a whole interval after this
				 * one ended: a slow QEMU is asked less often. */
				mon->next_sample_ns = now_ns() + interval;
			}
			qmp_pump(mon->qmp);
			if (qmp_pending_events(mon->qmp))
				post(mon, fill_events, mon->qmp);
			if (!qmp_connected(mon->qmp)) {
				gone = true;
				post(mon, fill_gone, qmp_close_reason(mon->qmp));
			}
		}

		now = now_ns();
		timeout_ms = 1000;
		if (!gone && interval && !mon->no_device)
			timeout_ms = mon->next_sample_ns > now
					 ? (int)((mon->next_sample_ns - now + 999999) / 1000000)
					 : 0;
		struct pollfd pfd[2] = {{.fd = mon->ask[0], .events = POLLIN},
					{.fd = gone ? -1 : qmp_fd(mon->qmp), .events = POLLIN}};
		if (poll(pfd, 2, timeout_ms) > 0 && (pfd[0].revents & POLLIN))
			drain_pipe(mon->ask[0]);
	}
	return NULL;
}

/* ---- the main thread's side ------------------------------------------------------ */

static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

static void close_pipe(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

struct monitor *monitor_start(struct qmp *q, const struct monitor_opts *o, char *err, size_t errlen)
{
	struct monitor *mon = calloc(1, sizeof(*mon));
	sigset_t all, old;
	int rc;

	if (!mon) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mon->qmp = q;
	mon->opts = *o;
	mon->ask[0] = mon->ask[1] = mon->tell[0] = mon->tell[1] = -1;
	if (make_pipe(mon->ask) != 0 || make_pipe(mon->tell) != 0) {
		snprintf(err, errlen, "QMP thread: pipe: %s", strerror(errno));
		close_pipe(mon->ask);
		close_pipe(mon->tell);
		free(mon);
		return NULL;
	}
	pthread_mutex_init(&mon->lock, NULL);
	/* Signals (SIGINT, SIGWINCH, SIGBUS of the region...) stay with the
	 * main thread: the new thread starts with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&mon->thread, NULL, monitor_main, mon);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "QMP thread: %s", strerror(rc));
		pthread_mutex_destroy(&mon->lock);
		close_pipe(mon->ask);
		close_pipe(mon->tell);
		free(mon);
		return NULL;
	}
	return mon;
}

int monitor_fd(const struct monitor *mon)
{
	return mon->tell[0];
}

void monitor_take(struct monitor *mon, struct monitor_report *out)
{
	drain_pipe(mon->tell[0]);
	pthread_mutex_lock(&mon->lock);
	out->what = mon->box.what;
	if (out->what & MONITOR_SAMPLE) {
		out->sample_host_ns = mon->box.sample_host_ns;
		out->nsample = mon->box.nsample;
		memcpy(out->sample, mon->box.sample, out->nsample * sizeof(out->sample[0]));
	}
	if (out->what & MONITOR_DEVICE_STATUS) {
		out->device_unavailable = mon->box.device_unavailable;
		memcpy(out->device_status, mon->box.device_status, sizeof(out->device_status));
	}
	if (out->what & MONITOR_EVENTS_NEW) {
		out->nevents = mon->box.nevents;
		memcpy(out->events, mon->box.events, out->nevents * sizeof(out->events[0]));
		out->events_dropped = mon->box.events_dropped;
		mon->box.nevents = 0;
	}
	if (out->what & MONITOR_GONE)
		memcpy(out->gone_reason, mon->box.gone_reason, sizeof(out->gone_reason));
	if (out->what & MONITOR_COMMAND) {
		out->command = mon->box.command;
		out->command_ok = mon->box.command_ok;
		memcpy(out->command_error, mon->box.command_error, sizeof(out->command_error));
	}
	if (out->what & MONITOR_CHAIN) {
		out->chain_request = mon->box.chain_request;
		out->chain = mon->box.chain;
	}
	mon->box.what = 0;
	pthread_mutex_unlock(&mon->lock);
}

void monitor_command(struct monitor *mon, enum monitor_command c)
{
	pthread_mutex_lock(&mon->lock);
	mon->command_pending = true;
	mon->command = c;
	pthread_mutex_unlock(&mon->lock);
	nudge(mon->ask[1]);
}

void monitor_chain(struct monitor *mon, const char *path, unsigned queue_index, uint16_t avail_pos,
		   uint16_t head, uint64_t request)
{
	pthread_mutex_lock(&mon->lock);
	mon->chain.pending = true;
	mon->chain.id = request;
	vqp_copy_string(mon->chain.path, sizeof(mon->chain.path), path);
	mon->chain.queue_index = queue_index;
	mon->chain.avail_pos = avail_pos;
	mon->chain.head = head;
	pthread_mutex_unlock(&mon->lock);
	nudge(mon->ask[1]);
}

struct qmp *monitor_stop(struct monitor *mon)
{
	struct qmp *q;

	if (!mon)
		return NULL;
	pthread_mutex_lock(&mon->lock);
	mon->stop = true;
	pthread_mutex_unlock(&mon->lock);
	nudge(mon->ask[1]);
	pthread_join(mon->thread, NULL);
	pthread_mutex_destroy(&mon->lock);
	close_pipe(mon->ask);
	close_pipe(mon->tell);
	q = mon->qmp;
	free(mon);
	return q;
}
