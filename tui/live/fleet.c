/* fleet.c - live VMs that come and go (see fleet.h): background attaches,
 * periodic draining, retries, and the members found in a QMP directory
 * or through libvirt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet.h"
#include "libvirt_domain.h"
#include "qmp_libvirt.h"

#define DEFAULT_RETRY_NS 5000000000ull
#define DEFAULT_DRAIN_NS 50000000ull
#define MAX_ATTEMPTS	 16 /* opens in progress at once */

/* An open in progress on its own thread.  The thread writes result and err,
 * then a byte to the wake pipe; the fleet's thread reads them only after
 * joining it, and the join orders the two. */
struct fleet_attempt {
	pthread_t thread;
	char path[PATH_MAX];
	struct source_opts so;
	int wake_fd;
	struct source *result;
	char err[512];
};

/* A look at libvirt's domains on its own thread, like an attempt. */
struct fleet_scan {
	pthread_t thread;
	char uri[1024];
	int wake_fd;
	char names[FLEET_MAX_MEMBERS][LIBVIRT_NAME_MAX];
	size_t n;
	int rc;
	char err[512];
};

struct fleet {
	struct fleet_opts o;
	char qmp_dir[PATH_MAX];
	char libvirt_uri[1024];
	struct fleet_scan *scan; /* a libvirt scan in progress, or NULL */
	uint64_t next_libvirt_scan;
	char libvirt_status[512]; /* the last scan's error, said once */
	struct fleet_member *members[FLEET_MAX_MEMBERS];
	size_t n;
	int wake[2]; /* attempts that finished write here */
	unsigned attempts;
	uint64_t next_scan;
	bool scan_failed;
	/* fleet_pollfds: which member each fd after the first belongs to. */
	size_t poll_member[FLEET_MAX_MEMBERS];
	size_t npoll;
};

static void note(struct fleet *f, const struct fleet_member *mb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct fleet *f, const struct fleet_member *mb, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!f->o.note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->o.note(f->o.note_ctx, mb, msg);
}

/* Not attached, with why (said once per distinct reason, between prefix
 * and suffix); tried again after retry_ns. */
static void set_status(struct fleet *f, struct fleet_member *mb, const char *why,
		       const char *prefix, const char *suffix, uint64_t now)
{
	if (strcmp(mb->status, why) != 0) {
		snprintf(mb->status, sizeof(mb->status), "%s", why);
		note(f, mb, "%s%s%s", prefix, why, suffix);
	}
	mb->next_try = now + f->o.retry_ns;
}

static void set_down(struct fleet *f, struct fleet_member *mb, const char *why, uint64_t now)
{
	set_status(f, mb, why, "down: ", "", now);
}

struct fleet *fleet_new(const struct fleet_opts *o, char *err, size_t errlen)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->o = *o;
	if (!f->o.retry_ns)
		f->o.retry_ns = DEFAULT_RETRY_NS;
	if (!f->o.drain_ns)
		f->o.drain_ns = DEFAULT_DRAIN_NS;
	if (o->qmp_dir) {
		DIR *d = opendir(o->qmp_dir);

		if (!d) {
			snprintf(err, errlen, "%s: %s", o->qmp_dir, strerror(errno));
			free(f);
			return NULL;
		}
		closedir(d);
		snprintf(f->qmp_dir, sizeof(f->qmp_dir), "%s", o->qmp_dir);
		f->o.qmp_dir = f->qmp_dir;
	}
	if (o->libvirt) {
		snprintf(f->libvirt_uri, sizeof(f->libvirt_uri), "%s",
			 o->libvirt_uri && *o->libvirt_uri ? o->libvirt_uri : "");
		f->o.libvirt_uri = f->libvirt_uri;
	}
	if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(f);
		return NULL;
	}
	return f;
}

static struct fleet_member *find_vm(const struct fleet *f, const char *vm)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->members[i]->vm, vm) == 0)
			return f->members[i];
	return NULL;
}

static struct fleet_member *add_member(struct fleet *f, const char *vm, const char *path, char *err,
				       size_t errlen)
{
	struct fleet_member *mb;

	if (find_vm(f, vm)) {
		snprintf(err, errlen, "two VMs named '%s'", vm);
		return NULL;
	}
	if (f->n == FLEET_MAX_MEMBERS) {
		snprintf(err, errlen, "more than %d VMs", FLEET_MAX_MEMBERS);
		return NULL;
	}
	if (strlen(vm) >= sizeof(mb->vm) || strlen(path) >= sizeof(mb->path)) {
		snprintf(err, errlen, "%s: name or path too long", path);
		return NULL;
	}
	mb = calloc(1, sizeof(*mb));
	if (!mb) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(mb->vm, sizeof(mb->vm), "%s", vm);
	snprintf(mb->path, sizeof(mb->path), "%s", path);
	snprintf(mb->status, sizeof(mb->status), "not attached yet");
	f->members[f->n++] = mb;
	return mb;
}

int fleet_add(struct fleet *f, const char *vm, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!libvirt_is_spec(path) && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "%s is not a QMP socket (the exporter serves live VMs; `vqscope report` "
			 "summarises a recording)",
			 path);
		return -1;
	}
	return add_member(f, vm, path, err, errlen) ? 0 : -1;
}

/* ---- attaching ------------------------------------------------------------------------- */

static void *attempt_main(void *arg)
{
	struct fleet_attempt *a = arg;
	ssize_t rc;

	a->result = source_open(a->path, &a->so, a->err, sizeof(a->err));
	rc = write(a->wake_fd, "", 1); /* a full pipe already says "look" */
	(void)rc;
	return NULL;
}

static void start_attempt(struct fleet *f, struct fleet_member *mb, uint64_t now)
{
	struct fleet_attempt *a;
	struct stat st;
	char why[PATH_MAX + 64];

	/* What needs no QMP is checked here, without a thread (a libvirt
	 * domain is no file: libvirt says whether it is there). */
	if (!libvirt_is_spec(mb->path)) {
		if (stat(mb->path, &st) != 0) {
			snprintf(why, sizeof(why), "%s: %s", mb->path, strerror(errno));
			set_down(f, mb, why, now);
			return;
		}
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, sizeof(why), "%s: not a socket", mb->path);
			set_down(f, mb, why, now);
			return;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		set_down(f, mb, "out of memory", now);
		return;
	}
	snprintf(a->path, sizeof(a->path), "%s", mb->path);
	a->so = f->o.source;
	a->wake_fd = f->wake[1];
	if (pthread_create(&a->thread, NULL, attempt_main, a) != 0) {
		free(a);
		set_down(f, mb, "cannot start a thread", now);
		return;
	}
	mb->attempt = a;
	f->attempts++;
}

/* The member attached to the QEMU of PID pid, other than mb, or NULL. */
static struct fleet_member *attached_to(struct fleet *f, const struct fleet_member *mb, pid_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->members[i] != mb && f->members[i]->s &&
		    f->members[i]->s->cpu_wait.pid == pid)
			return f->members[i];
	return NULL;
}

/* d reached the QEMU keep is attached to: set aside, its socket free. */
static void set_duplicate(struct fleet *f, struct fleet_member *d, const struct fleet_member *keep,
			  pid_t pid, uint64_t now)
{
	char why[FLEET_NAME_MAX + 128];

	snprintf(d->duplicate_of, sizeof(d->duplicate_of), "%s", keep->vm);
	d->duplicate_pid = pid;
	snprintf(why, sizeof(why), "the same VM as '%s' (QEMU pid %d)", keep->vm, (int)pid);
	set_status(f, d, why, "", ": not exported, its socket left free", now);
}

/* Whether mb stays set aside: the member it duplicates is still attached
 * to the same QEMU. */
static bool held_as_duplicate(struct fleet *f, const struct fleet_member *mb)
{
	const struct fleet_member *keep;

	if (!mb->duplicate_of[0])
		return false;
	keep = find_vm(f, mb->duplicate_of);
	return keep && keep->s && keep->s->cpu_wait.pid == mb->duplicate_pid;
}

static void attach(struct fleet *f, struct fleet_member *mb, struct source *s, uint64_t now)
{
	pid_t pid = s->cpu_wait.pid;
	struct fleet_member *other = pid ? attached_to(f, mb, pid) : NULL;

	if (other && strcmp(other->vm, mb->vm) <= 0) {
		source_close(s);
		set_duplicate(f, mb, other, pid, now);
		return;
	}
	if (other) {
		source_close(other->s);
		other->s = NULL;
		set_duplicate(f, other, mb, pid, now);
	}
	mb->duplicate_of[0] = 0;
	if (!mb->m) {
		mb->m = model_new(&f->o.model);
		if (!mb->m) {
			source_close(s);
			set_down(f, mb, "out of memory", now);
			return;
		}
	} else if (mb->m->events || mb->m->producer[0]) {
		/* The VM came back: a restart of the producer, as far as the
		 * model is concerned, so its totals carry on. */
		model_resync(mb->m, mb->m->ts_hz, mb->m->producer, mb->m->generation);
	}
	mb->s = s;
	mb->status[0] = 0;
	mb->attaches++;
	mb->last_drain = 0;
	note(f, mb, "attached (%s)", s->have_region ? "trace region" : s->region_status);
}

/* An attempt that has finished, if it has. */
static void finish_attempt(struct fleet *f, struct fleet_member *mb, uint64_t now)
{
	struct fleet_attempt *a = mb->attempt;

	if (pthread_tryjoin_np(a->thread, NULL) != 0)
		return;
	mb->attempt = NULL;
	f->attempts--;
	if (a->result)
		attach(f, mb, a->result, now);
	else
		set_down(f, mb, a->err, now);
	free(a);
}

/* ---- the QMP directory ------------------------------------------------------------------- */

static void remove_member(struct fleet *f, size_t i)
{
	struct fleet_member *mb = f->members[i];

	note(f, mb, "left (its %s is gone)", mb->origin == FLEET_FROM_DIR ? "socket" : "domain");
	model_free(mb->m);
	free(mb);
	memmove(&f->members[i], &f->members[i + 1], (f->n - i - 1) * sizeof(f->members[0]));
	f->n--;
}

/* A scan of origin found vm at path: it is seen, or joins.  A VM of that
 * name given otherwise (by hand, or by the other scan) wins. */
static void found(struct fleet *f, const char *vm, const char *path, enum fleet_origin origin)
{
	struct fleet_member *mb = find_vm(f, vm);
	char err[256];

	if (mb) {
		if (strcmp(mb->path, path) == 0)
			mb->seen = true;
		return;
	}
	mb = add_member(f, vm, path, err, sizeof(err));
	if (!mb)
		return;
	mb->origin = origin;
	mb->seen = true;
	note(f, mb, "joined (%s)", path);
}

/* Members a scan of origin no longer found leave, once they are down. */
static void remove_unseen(struct fleet *f, enum fleet_origin origin)
{
	for (size_t i = f->n; i-- > 0;) {
		const struct fleet_member *mb = f->members[i];

		if (mb->origin == origin && !mb->seen && !mb->s && !mb->attempt)
			remove_member(f, i);
	}
}

static void scan_dir(struct fleet *f, uint64_t now)
{
	DIR *d = opendir(f->qmp_dir);
	struct dirent *e;

	f->next_scan = now + f->o.retry_ns;
	for (size_t i = 0; i < f->n; i++)
		if (f->members[i]->origin == FLEET_FROM_DIR)
			f->members[i]->seen = false;
	if (!d) {
		if (!f->scan_failed)
			note(f, NULL, "cannot read the QMP directory %s: %s", f->qmp_dir,
			     strerror(errno));
		f->scan_failed = true;
	}
	while (d && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[PATH_MAX], vm[FLEET_NAME_MAX];
		struct stat st;

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 ||
		    len - 5 >= sizeof(vm) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", f->qmp_dir, e->d_name) >=
			sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		snprintf(vm, sizeof(vm), "%.*s", (int)(len - 5), e->d_name);
		found(f, vm, path, FLEET_FROM_DIR);
	}
	if (d) {
		closedir(d);
		f->scan_failed = false;
	}
	remove_unseen(f, FLEET_FROM_DIR);
}

/* ---- libvirt's domains ------------------------------------------------------------------- */

static void *scan_main(void *arg)
{
	struct fleet_scan *sc = arg;
	ssize_t rc;

	sc->rc = qmp_libvirt_traced_domains(sc->uri[0] ? sc->uri : NULL, sc->names,
					    FLEET_MAX_MEMBERS, &sc->n, sc->err, sizeof(sc->err));
	rc = write(sc->wake_fd, "", 1); /* a full pipe already says "look" */
	(void)rc;
	return NULL;
}

static void start_libvirt_scan(struct fleet *f, uint64_t now)
{
	struct fleet_scan *sc = calloc(1, sizeof(*sc));

	f->next_libvirt_scan = now + f->o.retry_ns;
	if (!sc)
		return;
	snprintf(sc->uri, sizeof(sc->uri), "%s", f->libvirt_uri);
	sc->wake_fd = f->wake[1];
	if (pthread_create(&sc->thread, NULL, scan_main, sc) != 0) {
		free(sc);
		return;
	}
	f->scan = sc;
}

/* The members for what a finished scan found: new domains join, those
 * gone leave once they are down.  A failed scan changes nothing. */
static void finish_libvirt_scan(struct fleet *f)
{
	struct fleet_scan *sc = f->scan;

	if (pthread_tryjoin_np(sc->thread, NULL) != 0)
		return;
	f->scan = NULL;
	if (sc->rc != 0) {
		if (strcmp(f->libvirt_status, sc->err) != 0)
			note(f, NULL, "%s", sc->err);
		snprintf(f->libvirt_status, sizeof(f->libvirt_status), "%s", sc->err);
		free(sc);
		return;
	}
	f->libvirt_status[0] = 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->members[i]->origin == FLEET_FROM_LIBVIRT)
			f->members[i]->seen = false;
	for (size_t k = 0; k < sc->n; k++) {
		char path[sizeof(LIBVIRT_PREFIX) + LIBVIRT_NAME_MAX + sizeof(sc->uri) + 1];

		snprintf(path, sizeof(path), "%s%s%s%s", LIBVIRT_PREFIX, sc->names[k],
			 sc->uri[0] ? "@" : "", sc->uri);
		found(f, sc->names[k], path, FLEET_FROM_LIBVIRT);
	}
	free(sc);
	remove_unseen(f, FLEET_FROM_LIBVIRT);
}

/* ---- the loop ------------------------------------------------------------------------------ */

size_t fleet_pollfds(struct fleet *f, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	f->npoll = 0;
	if (max == 0)
		return 0;
	fds[n++] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
	for (size_t i = 0; i < f->n && n < max; i++) {
		int fd = f->members[i]->s ? source_fd(f->members[i]->s) : -1;

		if (fd < 0)
			continue;
		fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
		f->poll_member[f->npoll++] = i;
	}
	return n;
}

static void at_most(uint64_t *soonest, uint64_t t)
{
	if (t < *soonest)
		*soonest = t;
}

int fleet_timeout_ms(const struct fleet *f, uint64_t now, int cap_ms)
{
	uint64_t soonest = UINT64_MAX;

	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_member *mb = f->members[i];

		if (mb->s)
			at_most(&soonest, mb->last_drain + f->o.drain_ns);
		else if (!mb->attempt)
			at_most(&soonest, mb->next_try);
	}
	if (f->o.qmp_dir)
		at_most(&soonest, f->next_scan);
	if (f->o.libvirt && !f->scan)
		at_most(&soonest, f->next_libvirt_scan);
	if (soonest <= now)
		return 0;
	if (soonest - now >= (uint64_t)cap_ms * 1000000u)
		return cap_ms;
	return (int)((soonest - now + 999999) / 1000000);
}

static void drain(struct fleet *f, struct fleet_member *mb, uint64_t now)
{
	char why[300];

	mb->last_drain = now;
	if (!source_poll(mb->s, mb->m, now))
		return;
	snprintf(why, sizeof(why), "%s",
		 mb->s->end_reason[0] ? mb->s->end_reason : "QEMU went away");
	source_close(mb->s);
	mb->s = NULL;
	set_down(f, mb, why, now);
}

void fleet_poll(struct fleet *f, const struct pollfd *fds, size_t nfds, uint64_t now)
{
	char sink[64];

	if (nfds > 0 && (fds[0].revents & POLLIN))
		while (read(f->wake[0], sink, sizeof(sink)) > 0)
			;
	/* Members with news from their monitor thread. */
	for (size_t k = 0; k + 1 < nfds && k < f->npoll; k++) {
		struct fleet_member *mb = f->members[f->poll_member[k]];

		if (fds[k + 1].revents && mb->s)
			drain(f, mb, now);
	}
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_member *mb = f->members[i];

		if (mb->attempt)
			finish_attempt(f, mb, now);
		if (mb->s && now - mb->last_drain >= f->o.drain_ns)
			drain(f, mb, now);
		if (!mb->s && !mb->attempt && now >= mb->next_try && held_as_duplicate(f, mb))
			mb->next_try = now + f->o.retry_ns;
		else if (!mb->s && !mb->attempt && now >= mb->next_try &&
			 f->attempts < MAX_ATTEMPTS)
			start_attempt(f, mb, now);
	}
	if (f->o.qmp_dir && now >= f->next_scan)
		scan_dir(f, now);
	if (f->scan)
		finish_libvirt_scan(f);
	if (f->o.libvirt && !f->scan && now >= f->next_libvirt_scan)
		start_libvirt_scan(f, now);
	f->npoll = 0; /* the fds are stale once members may have left */
}

size_t fleet_size(const struct fleet *f)
{
	return f->n;
}

const struct fleet_member *fleet_member(const struct fleet *f, size_t i)
{
	return i < f->n ? f->members[i] : NULL;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct fleet_member *mb = f->members[i];

		if (mb->attempt) {
			pthread_join(mb->attempt->thread, NULL);
			source_close(mb->attempt->result);
			free(mb->attempt);
		}
		source_close(mb->s);
		model_free(mb->m);
		free(mb);
	}
	if (f->scan) {
		pthread_join(f->scan->thread, NULL);
		free(f->scan);
	}
	close(f->wake[0]);
	close(f->wake[1]);
	free(f);
}
