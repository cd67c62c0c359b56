/* qmp.h - a small QMP (QEMU Machine Protocol) client built on json-c.
 *
 * One connection to one QEMU: the greeting is read and capabilities are
 * negotiated on connect, then commands run one at a time with
 * qmp_execute().  Replies are matched by "id"; asynchronous events that
 * arrive in between (STOP, RESUME, RESET, SHUTDOWN, ...) are queued, not
 * lost, and handed out by qmp_next_event().  Input is parsed incrementally
 * with json_tokener, so a message may arrive in pieces or several per read.
 *
 * Everything QEMU sends is treated as untrusted: messages are limited to
 * QMP_MESSAGE_MAX bytes, the event queue to QMP_EVENT_QUEUE_MAX entries,
 * and every malformed message becomes a one-line error, never a crash.
 * No call waits for ever: every wait has a timeout.
 *
 * When the connection ends (QEMU exited, socket closed, unparseable
 * input), the descriptor is closed, qmp_connected() turns false and
 * qmp_close_reason() says why in words ("QEMU closed the QMP socket",
 * "QEMU exited (SHUTDOWN: guest-shutdown)").  Queued events stay
 * available until qmp_close().
 */
#ifndef VQ_QMP_H
#define VQ_QMP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_MESSAGE_MAX	       (16u * 1024u * 1024u) /* bytes of one message from QEMU */
#define QMP_EVENT_QUEUE_MAX    1024u		     /* queued events; the oldest go first */
#define QMP_DEFAULT_TIMEOUT_MS 5000		     /* used when a timeout is <= 0 */
#define QMP_JSON_DEPTH	       64		     /* nesting accepted in one message */

struct qmp;

/* One asynchronous event.  data is the event's "data" member (a new
 * reference the caller releases with json_object_put), or NULL when the
 * event carries none.  ts_sec/ts_usec are QEMU's "timestamp" (host
 * CLOCK_REALTIME), or -1 when the event had no valid timestamp. */
struct qmp_event {
	char name[32]; /* e.g. "STOP"; printable ASCII, truncated to fit */
	int64_t ts_sec, ts_usec;
	json_object *data;
};

/* Connect to the QMP unix socket at socket_path, read the greeting,
 * record QEMU's version and run qmp_capabilities, all within timeout_ms.
 * Returns NULL with err set ("QMP: cannot connect to PATH: ...",
 * "QMP: no greeting from PATH within 5000 ms (...)"). */
struct qmp *qmp_connect(const char *socket_path, int timeout_ms, char *err, size_t errlen);

/* The same over an already connected stream socket fd (ownership taken,
 * closed on failure too); label names it in messages.  For tests and
 * fuzzing with socketpair(). */
struct qmp *qmp_connect_fd(int fd, const char *label, int timeout_ms, char *err, size_t errlen);
/* The VM's other QMP socket beside path, when one exists (QEMU serves one
 * client per socket): DIR/qmp.sock <-> DIR/qmp2.sock (or DIR/mon.qmp),
 * NAME.qmp <-> NAME.qmp2.  Names what a busy socket's error suggests. */
bool qmp_other_socket(const char *path, char *out, size_t len);

/* Descriptor to poll() for POLLIN, or -1 once the connection is gone
 * (poll ignores negative descriptors). */
int qmp_fd(const struct qmp *q);

/* Run command with args (a JSON object, ownership taken, may be NULL) and
 * wait up to timeout_ms for its reply.  Returns the "return" value (a new
 * reference owned by the caller), or NULL with err holding QEMU's error
 * ("QMP: qom-get (id 7): DeviceNotFound: Device '/x' not found") or the
 * transport problem ("QMP: qom-get (id 7): no reply within 5000 ms").
 * Events that arrive meanwhile are queued.  Only one command is in flight
 * at a time; a reply that arrives after its command timed out is dropped
 * (counted in qmp_stats). */
json_object *qmp_execute(struct qmp *q, const char *command, json_object *args, int timeout_ms,
			 char *err, size_t errlen);

/* The error class of the last error reply ("CommandNotFound",
 * "GenericError", ...), or "" when the last command succeeded or failed
 * in transport.  Lets callers tell "QEMU too old" from other failures. */
const char *qmp_last_error_class(const struct qmp *q);

/* Read whatever is available without blocking (call when poll() reports
 * the descriptor readable), queueing events.  Returns the number of
 * messages processed (>= 0), or < 0 when the connection is gone; queued
 * events (such as the final SHUTDOWN) can still be taken afterwards. */
int qmp_pump(struct qmp *q);

/* Take the oldest queued event.  Returns false when the queue is empty. */
bool qmp_next_event(struct qmp *q, struct qmp_event *out);

/* Number of events waiting in the queue. */
size_t qmp_pending_events(const struct qmp *q);

bool qmp_connected(const struct qmp *q);

/* Why the connection ended, or "" while connected. */
const char *qmp_close_reason(const struct qmp *q);

/* QEMU's version from the greeting, "7.2.22", and its package string
 * ("Debian 1:7.2+dfsg-7+deb12u18+b3", may be ""). */
const char *qmp_qemu_version(const struct qmp *q);
const char *qmp_qemu_package(const struct qmp *q);
/* True when the greeting reported at least major.minor. */
bool qmp_qemu_at_least(const struct qmp *q, int major, int minor);

/* The socket path given to qmp_connect (or the label of qmp_connect_fd). */
const char *qmp_socket_path(const struct qmp *q);

/* Counters of things that went wrong without ending the connection. */
struct qmp_stats {
	uint64_t messages;	  /* messages received */
	uint64_t events;	  /* events received */
	uint64_t events_dropped;  /* events dropped because the queue was full */
	uint64_t stray_replies;	  /* replies to nothing in flight (late, bad id) */
	uint64_t oversized;	  /* messages over QMP_MESSAGE_MAX, discarded */
	uint64_t protocol_errors; /* well-formed JSON of the wrong shape */
	char last_protocol_error[256];
};
void qmp_stats(const struct qmp *q, struct qmp_stats *out);

/* Close the socket and free everything, including queued events.  NULL
 * is fine. */
void qmp_close(struct qmp *q);

/* ---- convenience commands ------------------------------------------------- */

/* "stop" and "cont": pause and resume the guest.  0 or -1 with err. */
int qmp_stop(struct qmp *q, char *err, size_t errlen);
int qmp_cont(struct qmp *q, char *err, size_t errlen);

/* "query-status": running flag and the run state ("running", "paused",
 * "prelaunch", "shutdown", ...).  status may be NULL.  0 or -1 with err. */
int qmp_query_status(struct qmp *q, bool *running, char *status, size_t statuslen, char *err,
		     size_t errlen);

/* "quit", then wait up to timeout_ms for QEMU to close the socket.
 * 0 when QEMU is gone, -1 with err otherwise. */
int qmp_quit(struct qmp *q, int timeout_ms, char *err, size_t errlen);

/* ---- other transports (qmp_libvirt.c) ---------------------------------------- */

/* A connection whose QMP text travels through someone else, such as
 * libvirt's monitor passthrough (qmp_libvirt.h), instead of a socket of
 * our own.  qmp.c keeps everything else as for a socket: the command's
 * JSON, the checks of replies and events, the event queue, the
 * messages.  The callbacks run on the thread that calls into q. */
struct qmp_transport {
	/* Run one command (compact JSON, no "id") within timeout_ms.
	 * 0 with *reply set (malloc'd text of the whole reply object), -2
	 * when no reply came in time, -1 with err otherwise. */
	int (*execute)(void *ctx, const char *command, int timeout_ms, char **reply, char *err,
		       size_t errlen);
	/* Descriptor that polls readable when pump() has news, or -1. */
	int (*fd)(void *ctx);
	/* Hand queued events to q (qmp_feed with their QMP text) and add
	 * those dropped for want of room to *dropped.  false once the
	 * connection is over, with why set. */
	bool (*pump)(void *ctx, struct qmp *q, uint64_t *dropped, char *why, size_t whylen);
	/* Pause (run false) or resume the guest; NULL: QMP stop/cont. */
	int (*run_state)(void *ctx, bool run, char *err, size_t errlen);
	void (*close)(void *ctx);
};

/* A client over transport ops (ctx is its state, closed by qmp_close).
 * The caller feeds the greeting ({"QMP": {"version": ...}}) with
 * qmp_feed before anything else. */
struct qmp *qmp_new_transport(const char *label, const struct qmp_transport *ops, void *ctx);
/* ctx when q runs over ops, else NULL. */
void *qmp_transport_context(const struct qmp *q, const struct qmp_transport *ops);

/* ---- raw input (tests and fuzzing) ------------------------------------------ */

/* A client with no socket, fed by qmp_feed() as if the bytes had been
 * read from QEMU.  qmp_execute() on it fails ("not connected"). */
struct qmp *qmp_new_detached(const char *label);

/* Parse len bytes of input: whole messages are dispatched (greeting,
 * replies, events), a partial one is kept for the next call.  Returns the
 * number of messages dispatched, or -1 when the input ended the
 * connection (malformed JSON; qmp_close_reason says where). */
int qmp_feed(struct qmp *q, const char *buf, size_t len);

/* ---- validated access to reply members (used by discover.c, devview.c) ---- */

/* Each looks up key in the JSON object obj and checks it.  On failure
 * err gets "CONTEXT: \"KEY\" is missing" / "... is a string, not an
 * integer" / "... is 70000, more than 32768" and the result is -1. */

/* An integer in [0, max]; negative numbers and non-integers are refused.
 * (json-c saturates integers beyond 2^64-1 to UINT64_MAX.) */
int qmp_member_uint(json_object *obj, const char *key, uint64_t max, uint64_t *out,
		    const char *context, char *err, size_t errlen);
int qmp_member_bool(json_object *obj, const char *key, bool *out, const char *context, char *err,
		    size_t errlen);

/* String checks for qmp_member_string / qmp_check_string. */
#define QMP_STR_PRINTABLE 0u /* ASCII 0x20..0x7e only (names, QOM paths) */
#define QMP_STR_PATH	  1u /* anything but NUL and control characters */

/* A non-empty string of the given kind that fits in out (outlen - 1
 * bytes); never truncated. */
int qmp_member_string(json_object *obj, const char *key, unsigned kind, char *out, size_t outlen,
		      const char *context, char *err, size_t errlen);
/* The same check on a value that is not an object member (array items,
 * qom-get results); what names it in the message. */
int qmp_check_string(json_object *val, const char *what, unsigned kind, char *out, size_t outlen,
		     const char *context, char *err, size_t errlen);

/* Member key of obj with the given JSON type, or NULL with err set. */
json_object *qmp_member(json_object *obj, const char *key, json_type type, const char *context,
			char *err, size_t errlen);

/* snprintf for messages, where cutting a long message short is fine
 * (dst may be NULL when dstlen is 0). */
void qmp_errorf(char *dst, size_t dstlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy src into dst (always NUL-terminated, truncated to fit) with
 * every byte outside printable ASCII replaced by '?', so text from QEMU
 * or the guest can go to a terminal. */
void qmp_sanitize(char *dst, size_t dstlen, const char *src);

/* The compact JSON of val, sanitized and cut to dstlen - 1 bytes (ending
 * in "..." when cut): for error messages.  NULL gives "null". */
void qmp_json_snippet(json_object *val, char *dst, size_t dstlen);

#endif /* VQ_QMP_H */
