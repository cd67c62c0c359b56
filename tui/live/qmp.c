/* qmp.c - QMP client: unix-socket connection, incremental json-c parsing
 * of what QEMU sends, replies matched by "id", a bounded event queue, and
 * validated access to reply members.  See qmp.h for the contract.
 *
 * Input handling: bytes go through one json_tokener.  A finished value is
 * dispatched by its shape ("QMP" greeting, "event", "return"/"error"
 * reply).  A message that grows past QMP_MESSAGE_MAX is discarded up to
 * the next newline: QEMU ends every message with "\r\n" and never puts a
 * raw newline inside one (JSON escapes control characters), so that is
 * where the next message starts.  JSON that does not parse cannot be
 * resynchronised and ends the connection with a message saying where.
 *
 * Over another transport (struct qmp_transport, e.g. libvirt's monitor
 * passthrough) the same parser gets the events as QMP text, and each
 * reply is parsed on its own; only the bytes' way in and out differs.
 */
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK		 65536	    /* bytes per recv() */
#define PUMP_READS_MAX		 16	    /* recv() calls per qmp_pump, so one call stays short */
#define FEED_CHUNK		 (1u << 20) /* bytes handed to json_tokener at once */
#define CONNECT_REFUSED_GRACE_MS 500	    /* QEMU between bind() and listen() */

struct qmp {
	int fd; /* -1 when detached, gone or over a transport */
	/* Another transport (qmp.h), or NULL for the socket fd. */
	const struct qmp_transport *ops;
	void *ops_ctx;
	char label[108]; /* socket path, for messages */
	json_tokener *tok;
	size_t msg_bytes; /* bytes of the message being parsed so far */
	bool partial;	  /* they include more than whitespace */
	bool skipping;	  /* discarding an oversized message up to '\n' */
	bool connected;
	bool greeted;
	bool eof_mid_message;
	char reason[320]; /* why the connection ended */
	char version[32];
	char package[96];
	int major, minor, micro;
	uint64_t next_id;
	uint64_t wait_id;     /* id of the command in flight, 0 when none */
	json_object *reply;   /* its reply, once matched */
	bool reply_oversized; /* an oversized message was discarded meanwhile */
	char last_error_class[64];
	struct qmp_event *events; /* ring of QMP_EVENT_QUEUE_MAX, allocated lazily */
	size_t ev_head, ev_count;
	bool shutdown_seen;
	char shutdown_reason[48];
	struct qmp_stats st;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qmp_errorf(char *dst, size_t dstlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, dstlen, fmt, ap);
	va_end(ap);
}

void qmp_sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	if (!dstlen)
		return;
	for (; src && src[i] && i + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

void qmp_json_snippet(json_object *val, char *dst, size_t dstlen)
{
	const char *text =
	    val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null";

	if (!dstlen)
		return;
	qmp_sanitize(dst, dstlen, text);
	if (strlen(text) >= dstlen && dstlen > 4)
		memcpy(dst + dstlen - 4, "...", 4);
}

/* The connection is over: remember why (first reason wins), close. */
static void connection_lost(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	if (!q->connected)
		return;
	q->connected = false;
	va_start(ap, fmt);
	vsnprintf(q->reason, sizeof(q->reason), fmt, ap);
	va_end(ap);
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static void connection_eof(struct qmp *q)
{
	const char *mid = q->partial || q->skipping ? " in the middle of a message" : "";

	if (q->shutdown_seen)
		connection_lost(q, "QEMU exited (SHUTDOWN: %s)", q->shutdown_reason);
	else
		connection_lost(q, "QEMU closed the QMP socket%s", mid);
}

static void protocol_error(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	q->st.protocol_errors++;
	va_start(ap, fmt);
	vsnprintf(q->st.last_protocol_error, sizeof(q->st.last_protocol_error), fmt, ap);
	va_end(ap);
}

/* ---- validated member access -------------------------------------------- */

static const char *type_phrase(json_type t)
{
	switch (t) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "of unknown type";
}

static const char *json_type_phrase(json_object *v)
{
	return type_phrase(json_object_get_type(v));
}

json_object *qmp_member(json_object *obj, const char *key, json_type type, const char *context,
			char *err, size_t errlen)
{
	json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "%s: is %s, not an object", context, json_type_phrase(obj));
		return NULL;
	}
	if (!json_object_object_get_ex(obj, key, &v)) {
		snprintf(err, errlen, "%s: \"%s\" is missing", context, key);
		return NULL;
	}
	if (!v || !json_object_is_type(v, type)) {
		snprintf(err, errlen, "%s: \"%s\" is %s, not %s", context, key, json_type_phrase(v),
			 type_phrase(type));
		return NULL;
	}
	return v;
}

int qmp_member_uint(json_object *obj, const char *key, uint64_t max, uint64_t *out,
		    const char *context, char *err, size_t errlen)
{
	json_object *v = qmp_member(obj, key, json_type_int, context, err, errlen);
	int64_t s;
	uint64_t u;

	if (!v)
		return -1;
	s = json_object_get_int64(v);
	if (s < 0) {
		snprintf(err, errlen, "%s: \"%s\" is %" PRId64 ", negative", context, key, s);
		return -1;
	}
	u = json_object_get_uint64(v);
	if (u > max) {
		snprintf(err, errlen, "%s: \"%s\" is %" PRIu64 ", more than %" PRIu64, context, key,
			 u, max);
		return -1;
	}
	*out = u;
	return 0;
}

int qmp_member_bool(json_object *obj, const char *key, bool *out, const char *context, char *err,
		    size_t errlen)
{
	json_object *v = qmp_member(obj, key, json_type_boolean, context, err, errlen);

	if (!v)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

int qmp_check_string(json_object *val, const char *what, unsigned kind, char *out, size_t outlen,
		     const char *context, char *err, size_t errlen)
{
	const char *s;
	int len;

	if (!val || !json_object_is_type(val, json_type_string)) {
		snprintf(err, errlen, "%s: %s is %s, not a string", context, what,
			 json_type_phrase(val));
		return -1;
	}
	s = json_object_get_string(val);
	len = json_object_get_string_len(val);
	if (len <= 0) {
		snprintf(err, errlen, "%s: %s is empty", context, what);
		return -1;
	}
	for (int i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = kind == QMP_STR_PATH ? (c >= 0x20 && c != 0x7f) : (c >= 0x20 && c < 0x7f);
		if (!ok) {
			snprintf(err, errlen, "%s: %s has byte 0x%02x at offset %d", context, what,
				 c, i);
			return -1;
		}
	}
	if ((size_t)len >= outlen) {
		snprintf(err, errlen, "%s: %s is %d bytes long, more than %zu", context, what, len,
			 outlen ? outlen - 1 : 0);
		return -1;
	}
	memcpy(out, s, (size_t)len + 1);
	return 0;
}

int qmp_member_string(json_object *obj, const char *key, unsigned kind, char *out, size_t outlen,
		      const char *context, char *err, size_t errlen)
{
	json_object *v = qmp_member(obj, key, json_type_string, context, err, errlen);
	char what[80];

	if (!v)
		return -1;
	snprintf(what, sizeof(what), "\"%s\"", key);
	return qmp_check_string(v, what, kind, out, outlen, context, err, errlen);
}

/* ---- dispatching messages ------------------------------------------------- */

static void handle_greeting(struct qmp *q, json_object *msg, json_object *body)
{
	char why[256], snippet[120];
	uint64_t major, minor, micro;
	json_object *version, *qemu, *pkg;

	if (q->greeted) {
		qmp_json_snippet(msg, snippet, sizeof(snippet));
		protocol_error(q, "QMP: %s sent a second greeting: %s", q->label, snippet);
		return;
	}
	q->greeted = true;
	snprintf(q->version, sizeof(q->version), "unknown");
	version = qmp_member(body, "version", json_type_object, "QMP greeting", why, sizeof(why));
	qemu = version ? qmp_member(version, "qemu", json_type_object, "QMP greeting version", why,
				    sizeof(why))
		       : NULL;
	if (!qemu ||
	    qmp_member_uint(qemu, "major", 1000, &major, "QMP greeting version", why,
			    sizeof(why)) ||
	    qmp_member_uint(qemu, "minor", 1000, &minor, "QMP greeting version", why,
			    sizeof(why)) ||
	    qmp_member_uint(qemu, "micro", 1000000, &micro, "QMP greeting version", why,
			    sizeof(why))) {
		protocol_error(q, "QMP: %s", why);
		return;
	}
	q->major = (int)major;
	q->minor = (int)minor;
	q->micro = (int)micro;
	snprintf(q->version, sizeof(q->version), "%d.%d.%d", q->major, q->minor, q->micro);
	if (json_object_object_get_ex(version, "package", &pkg) &&
	    json_object_is_type(pkg, json_type_string))
		qmp_sanitize(q->package, sizeof(q->package), json_object_get_string(pkg));
}

static void queue_event(struct qmp *q, const struct qmp_event *ev)
{
	size_t tail;

	if (!q->events) {
		q->events = calloc(QMP_EVENT_QUEUE_MAX, sizeof(*q->events));
		if (!q->events) {
			json_object_put(ev->data);
			q->st.events_dropped++;
			return;
		}
	}
	if (q->ev_count == QMP_EVENT_QUEUE_MAX) {
		/* Full: the oldest event goes, and is counted. */
		json_object_put(q->events[q->ev_head].data);
		q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
		q->ev_count--;
		q->st.events_dropped++;
	}
	tail = (q->ev_head + q->ev_count) % QMP_EVENT_QUEUE_MAX;
	q->events[tail] = *ev;
	q->ev_count++;
}

static void handle_event(struct qmp *q, json_object *msg, json_object *name)
{
	struct qmp_event ev = {.ts_sec = -1, .ts_usec = -1};
	char why[256], snippet[120];
	json_object *ts, *data;
	uint64_t sec, usec;

	q->st.events++;
	if (!json_object_is_type(name, json_type_string) || !json_object_get_string_len(name)) {
		qmp_json_snippet(msg, snippet, sizeof(snippet));
		protocol_error(q, "QMP: event without a name string: %s", snippet);
		return;
	}
	qmp_sanitize(ev.name, sizeof(ev.name), json_object_get_string(name));
	if (json_object_object_get_ex(msg, "timestamp", &ts)) {
		if (qmp_member_uint(ts, "seconds", INT64_MAX, &sec, "QMP event timestamp", why,
				    sizeof(why)) == 0 &&
		    qmp_member_uint(ts, "microseconds", 999999, &usec, "QMP event timestamp", why,
				    sizeof(why)) == 0) {
			ev.ts_sec = (int64_t)sec;
			ev.ts_usec = (int64_t)usec;
		} else {
			protocol_error(q, "%s (event %s)", why, ev.name);
		}
	}
	if (json_object_object_get_ex(msg, "data", &data)) {
		if (json_object_is_type(data, json_type_object) && data) {
			ev.data = json_object_get(data);
		} else {
			qmp_json_snippet(msg, snippet, sizeof(snippet));
			protocol_error(q, "QMP: event %s has \"data\" that is %s: %s", ev.name,
				       json_type_phrase(data), snippet);
		}
	}
	if (strcmp(ev.name, "SHUTDOWN") == 0) {
		json_object *reason;
		q->shutdown_seen = true;
		snprintf(q->shutdown_reason, sizeof(q->shutdown_reason), "unknown reason");
		if (ev.data && json_object_object_get_ex(ev.data, "reason", &reason) &&
		    json_object_is_type(reason, json_type_string))
			qmp_sanitize(q->shutdown_reason, sizeof(q->shutdown_reason),
				     json_object_get_string(reason));
	}
	queue_event(q, &ev);
}

static void handle_reply(struct qmp *q, json_object *msg)
{
	json_object *id = NULL;
	bool has_id = json_object_object_get_ex(msg, "id", &id);
	bool is_error = json_object_object_get_ex(msg, "error", NULL);

	if (q->wait_id && !q->reply) {
		/* QEMU answers a request it could not parse without an id. */
		if ((has_id && json_object_is_type(id, json_type_int) &&
		     json_object_get_int64(id) == (int64_t)q->wait_id) ||
		    (!has_id && is_error)) {
			q->reply = json_object_get(msg);
			return;
		}
	}
	q->st.stray_replies++;
}

static void dispatch(struct qmp *q, json_object *msg)
{
	char snippet[160];
	json_object *v;

	q->st.messages++;
	if (!msg || !json_object_is_type(msg, json_type_object)) {
		qmp_json_snippet(msg, snippet, sizeof(snippet));
		protocol_error(q, "QMP: message from %s is not a JSON object: %s", q->label,
			       snippet);
		return;
	}
	if (json_object_object_get_ex(msg, "QMP", &v)) {
		handle_greeting(q, msg, v);
		return;
	}
	if (!q->greeted) {
		qmp_json_snippet(msg, snippet, sizeof(snippet));
		connection_lost(q,
				"QMP: %s did not start with a QMP greeting (not a QMP socket?): %s",
				q->label, snippet);
		return;
	}
	if (json_object_object_get_ex(msg, "event", &v)) {
		handle_event(q, msg, v);
		return;
	}
	if (json_object_object_get_ex(msg, "return", NULL) ||
	    json_object_object_get_ex(msg, "error", NULL)) {
		handle_reply(q, msg);
		return;
	}
	qmp_json_snippet(msg, snippet, sizeof(snippet));
	protocol_error(q, "QMP: message with neither \"return\", \"error\" nor \"event\": %s",
		       snippet);
}

static void message_oversized(struct qmp *q)
{
	q->st.oversized++;
	protocol_error(q, "QMP: message from %s larger than %u bytes, discarded", q->label,
		       QMP_MESSAGE_MAX);
	if (q->wait_id)
		q->reply_oversized = true;
}

static int parse_input(struct qmp *q, const char *buf, size_t len)
{
	int dispatched = 0;

	while (len > 0 && q->connected) {
		if (q->skipping) {
			const char *nl = memchr(buf, '\n', len);
			if (!nl)
				return dispatched;
			len -= (size_t)(nl + 1 - buf);
			buf = nl + 1;
			q->skipping = false;
			q->partial = false;
			q->msg_bytes = 0;
			continue;
		}
		size_t chunk = len < FEED_CHUNK ? len : FEED_CHUNK;
		json_object *msg = json_tokener_parse_ex(q->tok, buf, (int)chunk);
		enum json_tokener_error e = json_tokener_get_error(q->tok);
		size_t used = json_tokener_get_parse_end(q->tok);

		if (e == json_tokener_continue) {
			for (size_t i = 0; i < chunk && !q->partial; i++)
				q->partial = !(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
					       buf[i] == '\n');
			q->msg_bytes += chunk;
			buf += chunk;
			len -= chunk;
			if (q->msg_bytes > QMP_MESSAGE_MAX) {
				message_oversized(q);
				json_tokener_reset(q->tok);
				q->skipping = true;
			}
			continue;
		}
		if (e != json_tokener_success || used == 0 || used > chunk) {
			json_object_put(msg);
			connection_lost(
			    q, "QMP: malformed JSON from %s at byte %zu of a message: %s", q->label,
			    q->msg_bytes + used,
			    e == json_tokener_success ? "empty value" : json_tokener_error_desc(e));
			return -1;
		}
		q->msg_bytes += used;
		if (q->msg_bytes > QMP_MESSAGE_MAX)
			message_oversized(q);
		else
			dispatch(q, msg);
		json_object_put(msg);
		json_tokener_reset(q->tok);
		q->msg_bytes = 0;
		q->partial = false;
		buf += used;
		len -= used;
		dispatched++;
	}
	return q->connected ? dispatched : -1;
}

int qmp_feed(struct qmp *q, const char *buf, size_t len)
{
	if (!q->connected)
		return -1;
	return parse_input(q, buf, len);
}

/* ---- socket I/O ------------------------------------------------------------ */

/* Read what is there (at most max_reads recv calls) and parse it. */
static int read_available(struct qmp *q, int max_reads)
{
	char *buf;
	int dispatched = 0;

	if (!q->connected || q->fd < 0)
		return -1;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		connection_lost(q, "QMP: out of memory reading from %s", q->label);
		return -1;
	}
	for (int i = 0; i < max_reads && q->connected; i++) {
		ssize_t n = recv(q->fd, buf, READ_CHUNK, MSG_DONTWAIT);
		if (n > 0) {
			int r = parse_input(q, buf, (size_t)n);
			if (r > 0)
				dispatched += r;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			/* A reset only means QEMU exited with our bytes unread. */
			connection_eof(q);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			connection_lost(q, "QMP: reading from %s: %s", q->label, strerror(errno));
		break;
	}
	free(buf);
	return q->connected ? dispatched : -1;
}

/* Wait until fd has one of events (or hangs up), or until deadline.
 * 1: ready, 0: timed out, -1: connection gone. */
static int wait_io(struct qmp *q, short events, int64_t deadline, short *revents)
{
	for (;;) {
		struct pollfd p = {.fd = q->fd, .events = events};
		int64_t left = deadline - now_ms();
		int r;

		if (!q->connected || q->fd < 0)
			return -1;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0) {
			if (revents)
				*revents = p.revents;
			return 1;
		}
		if (r < 0 && errno != EINTR) {
			connection_lost(q, "QMP: poll on %s: %s", q->label, strerror(errno));
			return -1;
		}
	}
}

/* Send all of buf before deadline, reading meanwhile if QEMU talks. */
static int send_all(struct qmp *q, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n;
		short rev = 0;

		if (!q->connected)
			return -1;
		n = send(q->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno == EPIPE || errno == ECONNRESET) {
				/* QEMU went away: what it sent last (SHUTDOWN) is
				 * still in our receive queue; read it first. */
				read_available(q, PUMP_READS_MAX);
				connection_eof(q);
			} else
				connection_lost(q, "QMP: writing to %s: %s", q->label,
						strerror(errno));
			return -1;
		}
		int r = wait_io(q, POLLIN | POLLOUT, deadline, &rev);
		if (r <= 0)
			return r == 0 ? -2 : -1;
		if (rev & (POLLIN | POLLHUP | POLLERR))
			read_available(q, 1);
	}
	return 0;
}

/* ---- public API ---------------------------------------------------------------- */

static struct qmp *qmp_alloc(int fd, const char *label)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	if (!q->tok) {
		free(q);
		return NULL;
	}
	json_tokener_set_flags(q->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					   JSON_TOKENER_VALIDATE_UTF8);
	q->fd = fd;
	q->connected = true;
	qmp_sanitize(q->label, sizeof(q->label), label ? label : "QMP");
	snprintf(q->version, sizeof(q->version), "unknown");
	return q;
}

struct qmp *qmp_new_detached(const char *label)
{
	return qmp_alloc(-1, label);
}

struct qmp *qmp_new_transport(const char *label, const struct qmp_transport *ops, void *ctx)
{
	struct qmp *q = qmp_alloc(-1, label);

	if (q) {
		q->ops = ops;
		q->ops_ctx = ctx;
	}
	return q;
}

void *qmp_transport_context(const struct qmp *q, const struct qmp_transport *ops)
{
	return q && q->ops == ops ? q->ops_ctx : NULL;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

bool qmp_other_socket(const char *path, char *out, size_t len)
{
	/* What scripts/run-demo-guest.sh, vqscope run, make linux-demo
	 * (DIR/qmp.sock, DIR/qmp2.sock) and the tests (NAME.qmp, NAME.qmp2,
	 * DIR/mon.qmp beside DIR/qmp.sock) give QEMU. */
	static const struct {
		const char *name, *other;
	} pairs[] = {{"qmp.sock", "qmp2.sock"},
		     {"qmp.sock", "mon.qmp"},
		     {"qmp2.sock", "qmp.sock"},
		     {"mon.qmp", "qmp.sock"},
		     {"mon.qmp", "qmp2.sock"}};
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t n = strlen(path);
	int dir = (int)(base - path);

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (strcmp(base, pairs[i].name) == 0 &&
		    (size_t)snprintf(out, len, "%.*s%s", dir, path, pairs[i].other) < len &&
		    is_socket(out))
			return true;
	if (n > 4 && strcmp(path + n - 4, ".qmp") == 0 &&
	    (size_t)snprintf(out, len, "%s2", path) < len && is_socket(out))
		return true;
	if (n > 5 && strcmp(path + n - 5, ".qmp2") == 0 &&
	    (size_t)snprintf(out, len, "%.*s", (int)n - 1, path) < len && is_socket(out))
		return true;
	if (len)
		out[0] = 0;
	return false;
}

/* The error for a socket another client holds: what shows it, then why
 * and which other QMP socket of the VM is free, when there is one. */
static void busy_error(const char *path, const char *what, char *err, size_t errlen)
{
	char other[PATH_MAX];
	bool have_other = qmp_other_socket(path, other, sizeof(other));

	snprintf(err, errlen,
		 "QMP: %s: the socket is busy (QEMU serves one QMP client at a time and "
		 "another one holds it; %s%s)",
		 what,
		 have_other ? "this VM has another QMP socket: " : "give QEMU a second -qmp socket",
		 have_other ? other : "");
}

struct qmp *qmp_connect_fd(int fd, const char *label, int timeout_ms, char *err, size_t errlen)
{
	struct qmp *q;
	int64_t deadline;
	json_object *r;
	int flags;

	if (timeout_ms <= 0)
		timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "QMP: %s: cannot make the socket non-blocking: %s",
			 label ? label : "QMP", strerror(errno));
		close(fd);
		return NULL;
	}
	q = qmp_alloc(fd, label);
	if (!q) {
		snprintf(err, errlen, "QMP: out of memory");
		close(fd);
		return NULL;
	}
	while (!q->greeted && q->connected) {
		int w = wait_io(q, POLLIN, deadline, NULL);
		if (w == 0) {
			char what[PATH_MAX + 64];

			snprintf(what, sizeof(what), "no greeting from %s within %d ms", q->label,
				 timeout_ms);
			busy_error(q->label, what, err, errlen);
			qmp_close(q);
			return NULL;
		}
		if (w > 0)
			read_available(q, PUMP_READS_MAX);
	}
	if (!q->connected) {
		if (strncmp(q->reason, "QMP: ", 5) == 0)
			snprintf(err, errlen, "%s", q->reason);
		else
			snprintf(err, errlen, "QMP: %s: %s", q->label, q->reason);
		qmp_close(q);
		return NULL;
	}
	int left = (int)(deadline - now_ms());
	r = qmp_execute(q, "qmp_capabilities", NULL, left > 0 ? left : 1, err, errlen);
	if (!r) {
		qmp_close(q);
		return NULL;
	}
	json_object_put(r);
	return q;
}

struct qmp *qmp_connect(const char *socket_path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline, refused_until;
	int fd;

	if (timeout_ms <= 0)
		timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;
	if (!socket_path || !*socket_path || strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP: socket path %s is %s (at most %zu bytes)",
			 socket_path ? socket_path : "(null)",
			 socket_path && *socket_path ? "too long" : "empty",
			 sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "QMP: socket: %s", strerror(errno));
		return NULL;
	}
	refused_until = now_ms() + CONNECT_REFUSED_GRACE_MS;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* EAGAIN: the listen backlog is full, QEMU may accept soon.
		 * ECONNREFUSED: the socket file exists but QEMU has not called
		 * listen() yet (it just started), or it is stale: retry briefly. */
		int64_t now = now_ms();
		if (errno == EINTR ||
		    ((errno == EAGAIN || errno == EWOULDBLOCK) && now < deadline) ||
		    (errno == ECONNREFUSED && now < deadline && now < refused_until)) {
			struct timespec pause = {0, 10 * 1000 * 1000};
			nanosleep(&pause, NULL);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Still full at the deadline: QEMU accepts no one while
			 * another client holds the socket, and the connections
			 * that gave up on it meanwhile wait in the backlog. */
			char what[PATH_MAX + 64];

			snprintf(what, sizeof(what), "cannot connect to %s within %d ms",
				 socket_path, timeout_ms);
			busy_error(socket_path, what, err, errlen);
		} else {
			snprintf(err, errlen, "QMP: cannot connect to %s: %s", socket_path,
				 strerror(errno));
		}
		close(fd);
		return NULL;
	}
	int left = (int)(deadline - now_ms());
	return qmp_connect_fd(fd, socket_path, left > 0 ? left : 1, err, errlen);
}

int qmp_fd(const struct qmp *q)
{
	if (q && q->connected && q->ops)
		return q->ops->fd(q->ops_ctx);
	return q && q->connected ? q->fd : -1;
}

/* Send cmd (with "id": id) over the socket and wait for its reply. */
static json_object *socket_roundtrip(struct qmp *q, json_object *cmd, const char *cmdname,
				     uint64_t id, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	json_object *msg;
	const char *text;
	size_t textlen;
	char *line;
	int r;

	json_object_object_add(cmd, "id", json_object_new_int64((int64_t)id));
	text = json_object_to_json_string_length(cmd, JSON_C_TO_STRING_PLAIN, &textlen);
	line = malloc(textlen + 2);
	if (!line) {
		snprintf(err, errlen, "QMP: %s: out of memory", cmdname);
		return NULL;
	}
	memcpy(line, text, textlen);
	line[textlen++] = '\n';

	q->wait_id = id;
	q->reply = NULL;
	q->reply_oversized = false;
	r = send_all(q, line, textlen, deadline);
	free(line);
	if (r < 0) {
		q->wait_id = 0;
		if (r == -2)
			snprintf(err, errlen,
				 "QMP: %s (id %" PRIu64 "): could not send within %d ms", cmdname,
				 id, timeout_ms);
		else
			snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): %s", cmdname, id,
				 q->reason);
		return NULL;
	}
	while (!q->reply && !q->reply_oversized && q->connected) {
		int w = wait_io(q, POLLIN, deadline, NULL);
		if (w == 0) {
			q->wait_id = 0;
			snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): no reply within %d ms",
				 cmdname, id, timeout_ms);
			return NULL;
		}
		if (w > 0)
			read_available(q, PUMP_READS_MAX);
	}
	q->wait_id = 0;
	msg = q->reply;
	q->reply = NULL;
	if (!msg) {
		if (q->reply_oversized)
			snprintf(err, errlen,
				 "QMP: %s (id %" PRIu64 "): reply larger than %u bytes, discarded",
				 cmdname, id, QMP_MESSAGE_MAX);
		else
			snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): %s", cmdname, id,
				 q->reason);
	}
	return msg;
}

/* Take what the transport has queued; notice its end. */
static int transport_pump(struct qmp *q)
{
	uint64_t before = q->st.messages;
	char why[sizeof(q->reason)];

	if (!q->connected)
		return -1;
	if (!q->ops->pump(q->ops_ctx, q, &q->st.events_dropped, why, sizeof(why)))
		connection_lost(q, "%s", why);
	return q->connected ? (int)(q->st.messages - before) : -1;
}

/* One reply as text from a transport: the same limits and checks as a
 * reply read from the socket.  The message, or NULL with why. */
static json_object *transport_reply(struct qmp *q, const char *text, char *why, size_t whylen)
{
	size_t len = strlen(text);
	json_tokener *tok;
	json_object *msg;
	char snippet[120];

	q->st.messages++;
	if (len > QMP_MESSAGE_MAX) {
		message_oversized(q);
		snprintf(why, whylen, "reply larger than %u bytes, discarded", QMP_MESSAGE_MAX);
		return NULL;
	}
	tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	msg = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(why, whylen, "malformed JSON in the reply at byte %zu: %s",
			 json_tokener_get_parse_end(tok),
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(msg);
		msg = NULL;
	} else if (!json_object_is_type(msg, json_type_object) ||
		   (!json_object_object_get_ex(msg, "return", NULL) &&
		    !json_object_object_get_ex(msg, "error", NULL))) {
		qmp_json_snippet(msg, snippet, sizeof(snippet));
		snprintf(why, whylen, "reply with neither \"return\" nor \"error\": %s", snippet);
		json_object_put(msg);
		msg = NULL;
	}
	json_tokener_free(tok);
	if (!msg)
		protocol_error(q, "QMP: %s: %s", q->label, why);
	return msg;
}

static json_object *transport_roundtrip(struct qmp *q, json_object *cmd, const char *cmdname,
					uint64_t id, int timeout_ms, char *err, size_t errlen)
{
	char *reply = NULL, why[512];
	json_object *msg = NULL;
	int r =
	    q->ops->execute(q->ops_ctx, json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN),
			    timeout_ms, &reply, why, sizeof(why));

	/* Events that came meanwhile, and the end of the connection. */
	if (q->greeted)
		transport_pump(q);
	if (r == -2)
		snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): no reply within %d ms", cmdname,
			 id, timeout_ms);
	else if (r < 0)
		snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): %s", cmdname, id,
			 q->connected ? why : q->reason);
	else if (!(msg = transport_reply(q, reply, why, sizeof(why))))
		snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): %s", cmdname, id, why);
	free(reply);
	return msg;
}

json_object *qmp_execute(struct qmp *q, const char *command, json_object *args, int timeout_ms,
			 char *err, size_t errlen)
{
	char cmdname[64], why[256];
	json_object *cmd, *msg, *e, *ret;
	uint64_t id;

	qmp_sanitize(cmdname, sizeof(cmdname), command ? command : "(null)");
	q->last_error_class[0] = '\0';
	if (!command || !*command) {
		snprintf(err, errlen, "QMP: empty command name");
		json_object_put(args);
		return NULL;
	}
	if (args && !json_object_is_type(args, json_type_object)) {
		snprintf(err, errlen, "QMP: %s: arguments must be a JSON object", cmdname);
		json_object_put(args);
		return NULL;
	}
	if (!q->connected || (q->fd < 0 && !q->ops)) {
		snprintf(err, errlen, "QMP: %s: not connected (%s)", cmdname,
			 q->reason[0] ? q->reason : "no socket");
		json_object_put(args);
		return NULL;
	}
	if (timeout_ms <= 0)
		timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	id = ++q->next_id;

	cmd = json_object_new_object();
	json_object_object_add(cmd, "execute", json_object_new_string(command));
	if (args)
		json_object_object_add(cmd, "arguments", args);
	msg = q->ops ? transport_roundtrip(q, cmd, cmdname, id, timeout_ms, err, errlen)
		     : socket_roundtrip(q, cmd, cmdname, id, timeout_ms, err, errlen);
	json_object_put(cmd);
	if (!msg)
		return NULL;
	if (json_object_object_get_ex(msg, "error", &e)) {
		char cls[64] = "?", desc[200] = "?";
		json_object *v;
		if (json_object_object_get_ex(e, "class", &v) &&
		    json_object_is_type(v, json_type_string))
			qmp_sanitize(cls, sizeof(cls), json_object_get_string(v));
		if (json_object_object_get_ex(e, "desc", &v) &&
		    json_object_is_type(v, json_type_string))
			qmp_sanitize(desc, sizeof(desc), json_object_get_string(v));
		snprintf(q->last_error_class, sizeof(q->last_error_class), "%s", cls);
		snprintf(err, errlen, "QMP: %s (id %" PRIu64 "): %s: %s", cmdname, id, cls, desc);
		json_object_put(msg);
		return NULL;
	}
	json_object_object_get_ex(msg, "return", &ret);
	if (!ret) {
		snprintf(why, sizeof(why), "QMP: %s (id %" PRIu64 ")", cmdname, id);
		snprintf(err, errlen, "%s: reply has \"return\": null", why);
		json_object_put(msg);
		return NULL;
	}
	json_object_get(ret);
	json_object_put(msg);
	return ret;
}

const char *qmp_last_error_class(const struct qmp *q)
{
	return q->last_error_class;
}

int qmp_pump(struct qmp *q)
{
	if (q->ops)
		return transport_pump(q);
	return read_available(q, PUMP_READS_MAX);
}

bool qmp_next_event(struct qmp *q, struct qmp_event *out)
{
	if (!q->ev_count)
		return false;
	*out = q->events[q->ev_head];
	q->events[q->ev_head].data = NULL;
	q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
	q->ev_count--;
	return true;
}

size_t qmp_pending_events(const struct qmp *q)
{
	return q->ev_count;
}

bool qmp_connected(const struct qmp *q)
{
	return q && q->connected;
}

const char *qmp_close_reason(const struct qmp *q)
{
	return q->connected ? "" : q->reason;
}

const char *qmp_qemu_version(const struct qmp *q)
{
	return q->version;
}

const char *qmp_qemu_package(const struct qmp *q)
{
	return q->package;
}

bool qmp_qemu_at_least(const struct qmp *q, int major, int minor)
{
	return q->major > major || (q->major == major && q->minor >= minor);
}

const char *qmp_socket_path(const struct qmp *q)
{
	return q->label;
}

void qmp_stats(const struct qmp *q, struct qmp_stats *out)
{
	*out = q->st;
}

void qmp_close(struct qmp *q)
{
	struct qmp_event ev;

	if (!q)
		return;
	while (qmp_next_event(q, &ev))
		json_object_put(ev.data);
	free(q->events);
	json_object_put(q->reply);
	json_tokener_free(q->tok);
	if (q->fd >= 0)
		close(q->fd);
	if (q->ops)
		q->ops->close(q->ops_ctx);
	free(q);
}

/* ---- convenience commands ---------------------------------------------------- */

static int execute_void(struct qmp *q, const char *command, char *err, size_t errlen)
{
	json_object *r = qmp_execute(q, command, NULL, QMP_DEFAULT_TIMEOUT_MS, err, errlen);

	if (!r)
		return -1;
	json_object_put(r);
	return 0;
}

int qmp_stop(struct qmp *q, char *err, size_t errlen)
{
	if (q->ops && q->ops->run_state)
		return q->ops->run_state(q->ops_ctx, false, err, errlen);
	return execute_void(q, "stop", err, errlen);
}

int qmp_cont(struct qmp *q, char *err, size_t errlen)
{
	if (q->ops && q->ops->run_state)
		return q->ops->run_state(q->ops_ctx, true, err, errlen);
	return execute_void(q, "cont", err, errlen);
}

int qmp_query_status(struct qmp *q, bool *running, char *status, size_t statuslen, char *err,
		     size_t errlen)
{
	json_object *r = qmp_execute(q, "query-status", NULL, QMP_DEFAULT_TIMEOUT_MS, err, errlen);
	char state[32];
	int rc = -1;

	if (!r)
		return -1;
	if (qmp_member_bool(r, "running", running, "QMP: query-status reply", err, errlen) == 0 &&
	    qmp_member_string(r, "status", QMP_STR_PRINTABLE, state, sizeof(state),
			      "QMP: query-status reply", err, errlen) == 0) {
		if (status && statuslen)
			snprintf(status, statuslen, "%s", state);
		rc = 0;
	}
	json_object_put(r);
	return rc;
}

int qmp_quit(struct qmp *q, int timeout_ms, char *err, size_t errlen)
{
	char why[256];
	json_object *r;
	int64_t deadline;

	if (timeout_ms <= 0)
		timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;
	r = qmp_execute(q, "quit", NULL, timeout_ms, why, sizeof(why));
	bool replied = r != NULL;
	json_object_put(r);
	/* QEMU may close the socket before or after its reply: both are fine. */
	while (q->connected) {
		if (q->ops) {
			struct pollfd p = {.fd = q->ops->fd(q->ops_ctx), .events = POLLIN};
			int64_t left = deadline - now_ms();

			if (left <= 0)
				break;
			poll(&p, 1, left > 100 ? 100 : (int)left);
			transport_pump(q);
			continue;
		}
		if (wait_io(q, POLLIN, deadline, NULL) <= 0)
			break;
		read_available(q, PUMP_READS_MAX);
	}
	if (q->connected) {
		snprintf(err, errlen, "QMP: quit: %s", replied ? "QEMU did not exit in time" : why);
		return -1;
	}
	return 0;
}
