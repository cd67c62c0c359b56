/* qmp_libvirt.c - QMP through libvirt's monitor passthrough: a struct
 * qmp_transport for qmp.c (see qmp_libvirt.h).
 *
 * Three threads touch a connection:
 *   - the owner (whoever calls qmp_*; after the attach, the monitor
 *     thread of monitor.c) posts one call at a time and waits for it at
 *     most its timeout;
 *   - the connection's worker makes every libvirt call (open, QMP
 *     command, suspend, resume, domain XML, and the teardown), so a hung
 *     libvirtd only ever blocks the worker;
 *   - libvirt's event loop thread (one per process, while any
 *     connection is open) runs the callbacks: QMP events, the domain's
 *     lifecycle, the connection's end.  They queue under the lock and
 *     write a byte to the wake pipe, which the owner polls (qmp_fd).
 * The state is shared through a reference count: the owner, the worker
 * and each registered callback hold one; the last one frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_domain.h"
#include "qmp.h"
#include "qmp_libvirt.h"
#include "vqproto.h"

#define FALLBACK_URI	     "qemu:///system"
#define KEEPALIVE_INTERVAL_S 5	  /* libvirt keepalive: a probe every 5 s, */
#define KEEPALIVE_COUNT	     3	  /* the connection ends after 3 unanswered */
#define LIFECYCLE_GRACE_MS   2000 /* check_gone() waits this for the STOPPED event */

enum call_kind { CALL_OPEN, CALL_QMP, CALL_SUSPEND, CALL_RESUME, CALL_XML };

struct pending_event {
	char *name;
	char *details; /* JSON text of "data", or NULL */
	long long seconds;
	unsigned micros;
};

struct lv {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a call posted, taken or answered */
	int refs;	     /* under lock */
	int wake[2];	     /* readable: events queued, or the end */
	char domain[256];    /* as given, then libvirt's name for it */
	char uri[1024];

	/* Under lock: from the callbacks. */
	struct pending_event events[QMP_EVENT_QUEUE_MAX];
	size_t ev_head, ev_count;
	uint64_t ev_dropped;
	bool ended;
	char end_reason[320];

	/* Under lock: the call in flight (one at a time). */
	bool call_pending, call_busy, call_done, abandoned, quit;
	enum call_kind kind;
	char *command;
	char *result;
	int call_rc;
	char call_err[512];

	/* The worker's own. */
	pthread_t worker;
	virConnectPtr conn;
	virDomainPtr dom;
	int monitor_cb, lifecycle_cb;
	bool close_cb;
};

/* ---- the library and its event loop ------------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static bool library_ok;

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned loop_users; /* under loop_lock */
static pthread_t loop_thread;
static bool loop_stop; /* atomic */

static void quiet_errors(void *opaque, virErrorPtr e)
{
	/* Errors are taken with virGetLastError and said once, our way. */
	(void)opaque;
	(void)e;
}

static void library_init(void)
{
	/* The default event loop must be registered before the first
	 * connection opens, or that connection gets no events. */
	library_ok = virInitialize() == 0 && virEventRegisterDefaultImpl() == 0;
	virSetErrorFunc(NULL, quiet_errors);
}

static void *loop_main(void *arg)
{
	(void)arg;
	/* Pairs with the release store in loop_release(). */
	while (!__atomic_load_n(&loop_stop, __ATOMIC_ACQUIRE)) {
		if (virEventRunDefaultImpl() < 0) {
			struct timespec pause = {0, 10 * 1000 * 1000};

			nanosleep(&pause, NULL);
		}
	}
	return NULL;
}

/* Start a thread with every signal blocked: they stay with the main
 * thread (SIGINT, SIGWINCH, SIGBUS of the region...), and a SIGPIPE of a
 * socket libvirt writes to stays pending on a thread that ignores it. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int loop_acquire(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&loop_lock);
	if (loop_users == 0) {
		__atomic_store_n(&loop_stop, false, __ATOMIC_RELAXED);
		rc = start_thread(&loop_thread, loop_main, NULL);
	}
	if (rc == 0)
		loop_users++;
	pthread_mutex_unlock(&loop_lock);
	if (rc != 0)
		qmp_errorf(err, errlen, "libvirt: event loop thread: %s", strerror(rc));
	return rc == 0 ? 0 : -1;
}

static void wake_loop(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

static void loop_release(void)
{
	pthread_mutex_lock(&loop_lock);
	if (--loop_users == 0) {
		/* Pairs with the acquire load in loop_main(); the timer makes
		 * the loop's poll return so that it looks. */
		__atomic_store_n(&loop_stop, true, __ATOMIC_RELEASE);
		virEventAddTimeout(0, wake_loop, NULL, NULL);
		pthread_join(loop_thread, NULL);
	}
	pthread_mutex_unlock(&loop_lock);
}

/* ---- shared state ------------------------------------------------------------------ */

static void nudge(struct lv *lv)
{
	char b = 1;

	/* EAGAIN: a byte is waiting already. */
	if (write(lv->wake[1], &b, 1) < 0 && errno != EAGAIN)
		return;
}

static void lv_ref(struct lv *lv)
{
	pthread_mutex_lock(&lv->lock);
	lv->refs++;
	pthread_mutex_unlock(&lv->lock);
}

static void lv_unref(struct lv *lv)
{
	bool last;

	pthread_mutex_lock(&lv->lock);
	last = --lv->refs == 0;
	pthread_mutex_unlock(&lv->lock);
	if (!last)
		return;
	for (size_t i = 0; i < lv->ev_count; i++) {
		struct pending_event *e = &lv->events[(lv->ev_head + i) % QMP_EVENT_QUEUE_MAX];

		free(e->name);
		free(e->details);
	}
	free(lv->command);
	free(lv->result);
	close(lv->wake[0]);
	close(lv->wake[1]);
	pthread_cond_destroy(&lv->cond);
	pthread_mutex_destroy(&lv->lock);
	free(lv);
}

static void lv_unref_callback(void *opaque)
{
	lv_unref(opaque);
}

/* The connection is over; the first reason stays. */
static void mark_ended(struct lv *lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mark_ended(struct lv *lv, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lv->lock);
	if (!lv->ended) {
		lv->ended = true;
		va_start(ap, fmt);
		vsnprintf(lv->end_reason, sizeof(lv->end_reason), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&lv->cond); /* check_gone() may wait for it */
	pthread_mutex_unlock(&lv->lock);
	nudge(lv);
}

/* libvirt's last error on this thread, printable. */
static int last_error(char *buf, size_t len)
{
	virErrorPtr e = virGetLastError();

	qmp_sanitize(buf, len, e && e->message ? e->message : "unknown libvirt error");
	return e ? e->code : VIR_ERR_INTERNAL_ERROR;
}

/* ---- callbacks (libvirt's event loop thread) ------------------------------------------ */

static void on_monitor_event(virConnectPtr conn, virDomainPtr dom, const char *event,
			     long long seconds, unsigned int micros, const char *details,
			     void *opaque)
{
	struct lv *lv = opaque;
	struct pending_event ev = {
	    .name = strdup(event ? event : ""),
	    .details = details ? strdup(details) : NULL,
	    .seconds = seconds,
	    .micros = micros,
	};

	(void)conn;
	(void)dom;
	pthread_mutex_lock(&lv->lock);
	if (!ev.name || (details && !ev.details)) {
		free(ev.name);
		free(ev.details);
		lv->ev_dropped++;
	} else {
		if (lv->ev_count == QMP_EVENT_QUEUE_MAX) {
			/* Full: the oldest goes, and is counted. */
			struct pending_event *old = &lv->events[lv->ev_head];

			free(old->name);
			free(old->details);
			lv->ev_head = (lv->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
			lv->ev_count--;
			lv->ev_dropped++;
		}
		lv->events[(lv->ev_head + lv->ev_count) % QMP_EVENT_QUEUE_MAX] = ev;
		lv->ev_count++;
	}
	pthread_mutex_unlock(&lv->lock);
	nudge(lv);
}

static const char *stopped_detail(int detail)
{
	switch (detail) {
	case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
		return "shut down";
	case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
		return "destroyed";
	case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
		return "crashed";
	case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
		return "migrated away";
	case VIR_DOMAIN_EVENT_STOPPED_SAVED:
		return "saved";
	case VIR_DOMAIN_EVENT_STOPPED_FAILED:
		return "failed";
	case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
		return "reverted to a snapshot";
	default:
		return "stopped";
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lv *lv = opaque;

	(void)conn;
	(void)dom;
	if (event == VIR_DOMAIN_EVENT_STOPPED)
		mark_ended(lv, "libvirt domain %s stopped (%s)", lv->domain,
			   stopped_detail(detail));
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct lv *lv = opaque;

	(void)conn;
	switch (reason) {
	case VIR_CONNECT_CLOSE_REASON_EOF:
		mark_ended(lv, "libvirtd closed the connection (%s)", lv->uri);
		break;
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
		mark_ended(lv, "libvirtd stopped answering (%s, keepalive)", lv->uri);
		break;
	case VIR_CONNECT_CLOSE_REASON_ERROR:
		mark_ended(lv, "the connection to libvirtd failed (%s)", lv->uri);
		break;
	default:
		mark_ended(lv, "the connection to libvirtd was closed (%s)", lv->uri);
		break;
	}
}

static struct timespec deadline_after(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ---- the worker ------------------------------------------------------------------------ */

/* virConnectOpen or virConnectOpenReadOnly, saying why not. */
static virConnectPtr open_connection(const char *uri, bool read_only, char *why, size_t whylen)
{
	virConnectPtr conn = read_only ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	char msg[400];
	int code;

	if (!conn) {
		code = last_error(msg, sizeof(msg));
		qmp_errorf(why, whylen, "libvirt: cannot connect to %s: %s%s", uri, msg,
			   code == VIR_ERR_SYSTEM_ERROR ? " (is libvirtd running?)" : "");
	}
	return conn;
}

/* The domain by name, else by UUID, saying why not. */
static virDomainPtr lookup_domain(virConnectPtr conn, const char *domain, const char *uri,
				  char *why, size_t whylen)
{
	virDomainPtr dom = virDomainLookupByName(conn, domain);
	char msg[400];
	int code;

	if (!dom && last_error(msg, sizeof(msg)) == VIR_ERR_NO_DOMAIN)
		dom = virDomainLookupByUUIDString(conn, domain);
	if (dom)
		return dom;
	code = last_error(msg, sizeof(msg));
	if (code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_INVALID_ARG)
		qmp_errorf(why, whylen,
			   "libvirt: no domain '%s' at %s (virsh -c %s list --all lists them)",
			   domain, uri, uri);
	else
		qmp_errorf(why, whylen, "libvirt: domain '%s' at %s: %s", domain, uri, msg);
	return NULL;
}

static int open_domain(struct lv *lv, char *why, size_t whylen)
{
	char msg[400];
	const char *name;
	int active;

	lv->conn = open_connection(lv->uri, false, why, whylen);
	if (!lv->conn)
		return -1;
	lv->dom = lookup_domain(lv->conn, lv->domain, lv->uri, why, whylen);
	if (!lv->dom)
		return -1;
	name = virDomainGetName(lv->dom);
	if (name)
		qmp_sanitize(lv->domain, sizeof(lv->domain), name);
	active = virDomainIsActive(lv->dom);
	if (active <= 0) {
		if (active == 0)
			qmp_errorf(
			    why, whylen,
			    "libvirt: domain '%s' at %s is not running (virsh -c %s start %s)",
			    lv->domain, lv->uri, lv->uri, lv->domain);
		else
			qmp_errorf(why, whylen, "libvirt: domain '%s': %s", lv->domain,
				   (last_error(msg, sizeof(msg)), msg));
		return -1;
	}
	/* Each callback holds a reference until libvirt frees it. */
	lv_ref(lv);
	lv->close_cb =
	    virConnectRegisterCloseCallback(lv->conn, on_close, lv, lv_unref_callback) == 0;
	if (!lv->close_cb)
		lv_unref(lv);
	lv_ref(lv);
	/* libvirt's generic callback type, through void (*)(void) so that
	 * compilers accept the cast (-Wcast-function-type). */
	lv->lifecycle_cb = virConnectDomainEventRegisterAny(
	    lv->conn, lv->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    (virConnectDomainEventGenericCallback)(void (*)(void))on_lifecycle, lv,
	    lv_unref_callback);
	if (lv->lifecycle_cb < 0)
		lv_unref(lv);
	lv_ref(lv);
	lv->monitor_cb = virConnectDomainQemuMonitorEventRegister(
	    lv->conn, lv->dom, NULL, on_monitor_event, lv, lv_unref_callback, 0);
	if (lv->monitor_cb < 0) {
		lv_unref(lv);
		last_error(msg, sizeof(msg));
		qmp_errorf(why, whylen,
			   "libvirt: %s does not pass QMP through for domain %s (a QEMU domain is "
			   "needed): %s",
			   lv->uri, lv->domain, msg);
		return -1;
	}
	/* Notices a libvirtd that hangs; needs the event loop. */
	virConnectSetKeepAlive(lv->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
	return 0;
}

/* After a failed call: is the connection or the domain gone?  When the
 * domain is, its lifecycle event (which says how it stopped) may be on
 * its way: it gets a moment to say so first. */
static void check_gone(struct lv *lv, int code)
{
	struct timespec deadline;

	if (virConnectIsAlive(lv->conn) == 0) {
		mark_ended(lv, "the connection to libvirtd is closed (%s)", lv->uri);
		return;
	}
	if (code != VIR_ERR_NO_DOMAIN && virDomainIsActive(lv->dom) != 0)
		return;
	deadline = deadline_after(LIFECYCLE_GRACE_MS);
	pthread_mutex_lock(&lv->lock);
	while (!lv->ended && pthread_cond_timedwait(&lv->cond, &lv->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&lv->lock);
	mark_ended(lv, "libvirt domain %s is not running any more", lv->domain);
}

static int run_call(struct lv *lv, enum call_kind kind, const char *command, char **result,
		    char *why, size_t whylen)
{
	char msg[400];
	const char *what = "";
	int code;

	switch (kind) {
	case CALL_OPEN:
		return open_domain(lv, why, whylen);
	case CALL_QMP:
		if (virDomainQemuMonitorCommand(lv->dom, command, result, 0) == 0)
			return 0;
		what = "virDomainQemuMonitorCommand";
		break;
	case CALL_SUSPEND:
		if (virDomainSuspend(lv->dom) == 0)
			return 0;
		what = "virDomainSuspend";
		break;
	case CALL_RESUME:
		if (virDomainResume(lv->dom) == 0)
			return 0;
		what = "virDomainResume";
		break;
	case CALL_XML:
		*result = virDomainGetXMLDesc(lv->dom, 0);
		if (*result)
			return 0;
		what = "virDomainGetXMLDesc";
		break;
	}
	code = last_error(msg, sizeof(msg));
	qmp_errorf(why, whylen, "libvirt: %s(%s): %s", what, lv->domain, msg);
	check_gone(lv, code);
	return -1;
}

static void teardown(struct lv *lv)
{
	if (lv->monitor_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(lv->conn, lv->monitor_cb);
	if (lv->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(lv->conn, lv->lifecycle_cb);
	if (lv->close_cb)
		virConnectUnregisterCloseCallback(lv->conn, on_close);
	if (lv->dom)
		virDomainFree(lv->dom);
	if (lv->conn)
		virConnectClose(lv->conn);
}

static void *worker_main(void *arg)
{
	struct lv *lv = arg;

	pthread_mutex_lock(&lv->lock);
	for (;;) {
		while (!lv->call_pending && !lv->quit)
			pthread_cond_wait(&lv->cond, &lv->lock);
		if (lv->quit)
			break;
		enum call_kind kind = lv->kind;
		char *command = lv->command, *result = NULL, why[sizeof(lv->call_err)] = "";

		lv->command = NULL;
		lv->call_pending = false;
		lv->call_busy = true;
		pthread_mutex_unlock(&lv->lock);
		int rc = run_call(lv, kind, command, &result, why, sizeof(why));
		free(command);
		pthread_mutex_lock(&lv->lock);
		lv->call_busy = false;
		if (lv->abandoned) {
			/* Its caller gave up: a late answer is dropped. */
			lv->abandoned = false;
			free(result);
		} else {
			lv->result = result;
			lv->call_rc = rc;
			memcpy(lv->call_err, why, sizeof(why));
			lv->call_done = true;
		}
		pthread_cond_broadcast(&lv->cond);
	}
	pthread_mutex_unlock(&lv->lock);
	teardown(lv);
	loop_release();
	lv_unref(lv);
	return NULL;
}

/* ---- the owner's side ------------------------------------------------------------------- */

/* Run one call on the worker, waiting at most timeout_ms.  0 (with
 * *result when the call has one), -1 with err, -2 when it took too
 * long (err says so). */
static int lv_call(struct lv *lv, enum call_kind kind, const char *command, int timeout_ms,
		   char **result, char *err, size_t errlen)
{
	struct timespec deadline;
	int rc;

	if (timeout_ms <= 0)
		timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	deadline = deadline_after(timeout_ms);
	pthread_mutex_lock(&lv->lock);
	/* A call that timed out before may still be running. */
	while (lv->call_busy || lv->call_pending) {
		if (pthread_cond_timedwait(&lv->cond, &lv->lock, &deadline) == ETIMEDOUT &&
		    (lv->call_busy || lv->call_pending)) {
			pthread_mutex_unlock(&lv->lock);
			qmp_errorf(err, errlen,
				   "libvirt: still waiting for an earlier request after %d ms",
				   timeout_ms);
			return -2;
		}
	}
	lv->command = command ? strdup(command) : NULL;
	if (command && !lv->command) {
		pthread_mutex_unlock(&lv->lock);
		qmp_errorf(err, errlen, "libvirt: out of memory");
		return -1;
	}
	lv->kind = kind;
	lv->call_pending = true;
	lv->call_done = false;
	lv->abandoned = false;
	pthread_cond_broadcast(&lv->cond);
	while (!lv->call_done) {
		if (pthread_cond_timedwait(&lv->cond, &lv->lock, &deadline) == ETIMEDOUT &&
		    !lv->call_done) {
			if (lv->call_pending) {
				/* Not taken yet: withdraw it. */
				lv->call_pending = false;
				free(lv->command);
				lv->command = NULL;
			} else {
				lv->abandoned = true;
			}
			pthread_mutex_unlock(&lv->lock);
			qmp_errorf(err, errlen, "libvirt: no answer within %d ms", timeout_ms);
			return -2;
		}
	}
	lv->call_done = false;
	rc = lv->call_rc;
	if (result)
		*result = lv->result;
	else
		free(lv->result);
	lv->result = NULL;
	if (rc < 0)
		qmp_errorf(err, errlen, "%s", lv->call_err);
	pthread_mutex_unlock(&lv->lock);
	return rc;
}

static int lv_execute(void *ctx, const char *command, int timeout_ms, char **reply, char *err,
		      size_t errlen)
{
	return lv_call(ctx, CALL_QMP, command, timeout_ms, reply, err, errlen);
}

static int lv_fd(void *ctx)
{
	return ((struct lv *)ctx)->wake[0];
}

/* An event as QEMU would have sent it on a QMP socket. */
static void feed_event(struct qmp *q, const struct pending_event *ev)
{
	json_object *msg = json_object_new_object();
	const char *text;
	size_t len;

	json_object_object_add(msg, "event", json_object_new_string(ev->name));
	if (ev->seconds >= 0) {
		json_object *ts = json_object_new_object();

		json_object_object_add(ts, "seconds", json_object_new_int64(ev->seconds));
		json_object_object_add(ts, "microseconds", json_object_new_int64(ev->micros));
		json_object_object_add(msg, "timestamp", ts);
	}
	if (ev->details) {
		json_tokener *tok = json_tokener_new_ex(QMP_JSON_DEPTH);
		json_object *data = NULL;

		if (tok) {
			json_tokener_set_flags(tok,
					       JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
			data = json_tokener_parse_ex(tok, ev->details, (int)strlen(ev->details));
			if (json_tokener_get_error(tok) != json_tokener_success) {
				json_object_put(data);
				data = NULL;
			}
			json_tokener_free(tok);
		}
		/* Unparseable details stay text: the client counts an event
		 * whose data is not an object as a protocol error. */
		json_object_object_add(msg, "data",
				       data ? data : json_object_new_string(ev->details));
	}
	text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
	qmp_feed(q, text, len);
	json_object_put(msg);
}

static bool lv_pump(void *ctx, struct qmp *q, uint64_t *dropped, char *why, size_t whylen)
{
	struct lv *lv = ctx;
	char buf[64];
	bool ended;

	/* Drain first: an event queued after this writes a new byte. */
	while (read(lv->wake[0], buf, sizeof(buf)) > 0)
		;
	for (;;) {
		struct pending_event ev;

		pthread_mutex_lock(&lv->lock);
		*dropped += lv->ev_dropped;
		lv->ev_dropped = 0;
		if (!lv->ev_count) {
			pthread_mutex_unlock(&lv->lock);
			break;
		}
		ev = lv->events[lv->ev_head];
		lv->ev_head = (lv->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
		lv->ev_count--;
		pthread_mutex_unlock(&lv->lock);
		feed_event(q, &ev);
		free(ev.name);
		free(ev.details);
	}
	pthread_mutex_lock(&lv->lock);
	ended = lv->ended;
	if (ended)
		qmp_errorf(why, whylen, "%s", lv->end_reason);
	pthread_mutex_unlock(&lv->lock);
	return !ended;
}

static int lv_run_state(void *ctx, bool run, char *err, size_t errlen)
{
	return lv_call(ctx, run ? CALL_RESUME : CALL_SUSPEND, NULL, QMP_DEFAULT_TIMEOUT_MS, NULL,
		       err, errlen) == 0
		   ? 0
		   : -1;
}

static void lv_close(void *ctx)
{
	struct lv *lv = ctx;
	struct timespec deadline;

	pthread_mutex_lock(&lv->lock);
	lv->quit = true;
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	/* The worker deregisters and closes; a libvirtd that hangs keeps
	 * it, and then it finishes (and frees) on its own. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += QMP_DEFAULT_TIMEOUT_MS / 1000;
	if (pthread_timedjoin_np(lv->worker, NULL, &deadline) != 0)
		pthread_detach(lv->worker);
	lv_unref(lv);
}

static const struct qmp_transport libvirt_transport = {
    .execute = lv_execute,
    .fd = lv_fd,
    .pump = lv_pump,
    .run_state = lv_run_state,
    .close = lv_close,
};

const char *qmp_libvirt_default_uri(void)
{
	const char *env = getenv("LIBVIRT_DEFAULT_URI");

	return env && *env ? env : FALLBACK_URI;
}

static struct lv *lv_new(const char *domain, const char *uri, char *err, size_t errlen)
{
	struct lv *lv = calloc(1, sizeof(*lv));
	pthread_condattr_t attr;

	if (!lv) {
		qmp_errorf(err, errlen, "libvirt: out of memory");
		return NULL;
	}
	if (pipe2(lv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		qmp_errorf(err, errlen, "libvirt: pipe: %s", strerror(errno));
		free(lv);
		return NULL;
	}
	pthread_mutex_init(&lv->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&lv->cond, &attr);
	pthread_condattr_destroy(&attr);
	lv->refs = 1;
	lv->monitor_cb = lv->lifecycle_cb = -1;
	vqp_copy_string(lv->domain, sizeof(lv->domain), domain);
	vqp_copy_string(lv->uri, sizeof(lv->uri), uri && *uri ? uri : qmp_libvirt_default_uri());
	return lv;
}

struct qmp *qmp_connect_libvirt(const char *domain, const char *uri, int timeout_ms, char *err,
				size_t errlen)
{
	char label[300], why[512];
	json_object *version, *greeting;
	struct qmp *q;
	struct lv *lv;
	const char *text;
	int rc;

	if (!domain || !*domain || strlen(domain) >= sizeof(lv->domain)) {
		qmp_errorf(err, errlen, "libvirt: the domain name is %s",
			   domain && *domain ? "too long" : "empty");
		return NULL;
	}
	pthread_once(&library_once, library_init);
	if (!library_ok) {
		qmp_errorf(err, errlen, "libvirt: cannot initialise the library");
		return NULL;
	}
	lv = lv_new(domain, uri, err, errlen);
	if (!lv)
		return NULL;
	if (loop_acquire(err, errlen) != 0) {
		lv_unref(lv);
		return NULL;
	}
	lv->refs++; /* the worker's */
	rc = start_thread(&lv->worker, worker_main, lv);
	if (rc != 0) {
		qmp_errorf(err, errlen, "libvirt: worker thread: %s", strerror(rc));
		loop_release();
		lv->refs = 1;
		lv_unref(lv);
		return NULL;
	}
	rc = lv_call(lv, CALL_OPEN, NULL, timeout_ms, NULL, why, sizeof(why));
	if (rc != 0) {
		if (rc == -2)
			qmp_errorf(err, errlen, "libvirt: %s did not answer within %d ms", lv->uri,
				   timeout_ms > 0 ? timeout_ms : QMP_DEFAULT_TIMEOUT_MS);
		else
			qmp_errorf(err, errlen, "%s", why);
		lv_close(lv);
		return NULL;
	}
	snprintf(label, sizeof(label), "libvirt:%s", lv->domain);
	q = qmp_new_transport(label, &libvirt_transport, lv);
	if (!q) {
		qmp_errorf(err, errlen, "libvirt: out of memory");
		lv_close(lv);
		return NULL;
	}
	/* libvirt negotiated capabilities long ago; what a greeting would
	 * say comes from query-version. */
	version = qmp_execute(q, "query-version", NULL, timeout_ms, err, errlen);
	if (!version) {
		qmp_close(q);
		return NULL;
	}
	greeting = json_object_new_object();
	json_object *body = json_object_new_object();
	json_object_object_add(body, "version", version);
	json_object_object_add(body, "capabilities", json_object_new_array());
	json_object_object_add(greeting, "QMP", body);
	text = json_object_to_json_string_ext(greeting, JSON_C_TO_STRING_PLAIN);
	qmp_feed(q, text, strlen(text));
	json_object_put(greeting);
	return q;
}

const char *qmp_libvirt_domain(const struct qmp *q)
{
	struct lv *lv = qmp_transport_context(q, &libvirt_transport);

	return lv ? lv->domain : NULL;
}

/* The process a thread belongs to ("Tgid:" in /proc/TID/status), or 0. */
static pid_t thread_group(int64_t tid)
{
	char path[64], line[128];
	long long tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%lld/status", (long long)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %lld", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 && tgid <= INT32_MAX ? (pid_t)tgid : 0;
}

pid_t qmp_libvirt_qemu_pid(struct qmp *q)
{
	char err[256];
	json_object *cpus, *tid;
	pid_t pid = 0;

	if (!qmp_libvirt_domain(q))
		return 0;
	/* A vCPU thread's id, from QEMU itself (query-cpus-fast, QEMU 2.12
	 * on); its thread group is QEMU. */
	cpus = qmp_execute(q, "query-cpus-fast", NULL, QMP_DEFAULT_TIMEOUT_MS, err, sizeof(err));
	if (cpus && json_object_is_type(cpus, json_type_array) &&
	    json_object_array_length(cpus) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(cpus, 0), "thread-id", &tid) &&
	    json_object_is_type(tid, json_type_int) && json_object_get_int64(tid) > 0)
		pid = thread_group(json_object_get_int64(tid));
	json_object_put(cpus);
	return pid;
}

int qmp_libvirt_domain_xml(struct qmp *q, char **xml, char *err, size_t errlen)
{
	struct lv *lv = qmp_transport_context(q, &libvirt_transport);

	if (!lv) {
		qmp_errorf(err, errlen, "not a libvirt domain");
		return -1;
	}
	return lv_call(lv, CALL_XML, NULL, QMP_DEFAULT_TIMEOUT_MS, xml, err, errlen) == 0 ? 0 : -1;
}

int qmp_libvirt_read_xml(const char *domain, const char *uri, struct libvirt_xml_read *out,
			 char *err, size_t errlen)
{
	char msg[400];
	virConnectPtr conn;
	virDomainPtr dom;
	int persistent;

	memset(out, 0, sizeof(*out));
	pthread_once(&library_once, library_init);
	if (!library_ok) {
		qmp_errorf(err, errlen, "libvirt: cannot initialise the library");
		return -1;
	}
	vqp_copy_string(out->uri, sizeof(out->uri), uri && *uri ? uri : qmp_libvirt_default_uri());
	conn = open_connection(out->uri, true, err, errlen);
	if (!conn)
		return -1;
	dom = lookup_domain(conn, domain, out->uri, err, errlen);
	if (!dom) {
		virConnectClose(conn);
		return -1;
	}
	/* A persistent domain's definition is what `virsh edit` changes. */
	persistent = virDomainIsPersistent(dom);
	out->persistent = persistent == 1;
	out->running = virDomainIsActive(dom) == 1;
	out->xml = virDomainGetXMLDesc(dom, out->persistent ? VIR_DOMAIN_XML_INACTIVE : 0);
	if (!out->xml) {
		last_error(msg, sizeof(msg));
		qmp_errorf(err, errlen, "libvirt: virDomainGetXMLDesc(%s): %s", domain, msg);
	}
	virDomainFree(dom);
	virConnectClose(conn);
	return out->xml ? 0 : -1;
}

int qmp_libvirt_traced_domains(const char *uri, char (*names)[LIBVIRT_NAME_MAX], size_t max,
			       size_t *count, char *err, size_t errlen)
{
	char msg[400], why[256], used_uri[1024];
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	struct libvirt_domain_xml *d;
	int n;

	*count = 0;
	pthread_once(&library_once, library_init);
	if (!library_ok) {
		qmp_errorf(err, errlen, "libvirt: cannot initialise the library");
		return -1;
	}
	vqp_copy_string(used_uri, sizeof(used_uri), uri && *uri ? uri : qmp_libvirt_default_uri());
	conn = open_connection(used_uri, true, err, errlen);
	if (!conn)
		return -1;
	n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		last_error(msg, sizeof(msg));
		qmp_errorf(err, errlen, "libvirt: listing the domains at %s: %s", used_uri, msg);
		virConnectClose(conn);
		return -1;
	}
	d = malloc(sizeof(*d));
	if (!d)
		qmp_errorf(err, errlen, "out of memory");
	for (int i = 0; i < n; i++) {
		/* The live XML: what QEMU was started with.  A domain whose XML
		 * cannot be read or parsed is not one of ours. */
		char *xml = d ? virDomainGetXMLDesc(doms[i], 0) : NULL;
		const char *name = virDomainGetName(doms[i]);

		if (xml && name && *count < max &&
		    libvirt_domain_parse(xml, strlen(xml), d, why, sizeof(why)) == 0 &&
		    libvirt_trace_shmem(d))
			qmp_sanitize(names[(*count)++], LIBVIRT_NAME_MAX, name);
		free(xml);
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(conn);
	if (!d)
		return -1;
	free(d);
	return 0;
}
