/* test_qmp.c - the QMP client (tui/qmp.c): incremental parsing of
 * greeting, replies and events split at every byte, the event queue and
 * its limit, oversized and malformed input, reply matching and timeouts
 * (over a socketpair fed with scripted bytes), the member validators, and
 * the whole client against a real QEMU: handshake, errors, stop/cont with
 * their events, a second client, QEMU killed, and quit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "live/qmp.h"
#include "test_qmp_qemu.h"

static const char GREETING[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";

/* A stream as QEMU 7.2 sends it: greeting, capabilities reply, an event,
 * a reply and another event in one go. */
static const char STREAM[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n"
    "{\"return\": {}, \"id\": 1}\r\n"
    "{\"timestamp\": {\"seconds\": 1732480000, \"microseconds\": 123456}, \"event\": "
    "\"RESUME\"}\r\n"
    "{\"return\": {}, \"id\": 2}\r\n"
    "{\"timestamp\": {\"seconds\": 1732480001, \"microseconds\": 5}, \"event\": \"RESET\", "
    "\"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}\r\n";

static void check_stream_result(struct qmp *q)
{
	struct qmp_event ev;
	struct qmp_stats st;

	assert_true(qmp_connected(q));
	assert_string_equal(qmp_qemu_version(q), "7.2.22");
	assert_string_equal(qmp_qemu_package(q), "Debian 1:7.2+dfsg-7+deb12u18+b3");
	assert_true(qmp_qemu_at_least(q, 7, 2));
	assert_false(qmp_qemu_at_least(q, 7, 3));
	assert_int_equal(qmp_pending_events(q), 2);
	assert_true(qmp_next_event(q, &ev));
	assert_string_equal(ev.name, "RESUME");
	assert_int_equal(ev.ts_sec, 1732480000);
	assert_int_equal(ev.ts_usec, 123456);
	assert_null(ev.data);
	assert_true(qmp_next_event(q, &ev));
	assert_string_equal(ev.name, "RESET");
	assert_int_equal(ev.ts_usec, 5);
	assert_non_null(ev.data);
	assert_string_equal(json_object_get_string(json_object_object_get(ev.data, "reason")),
			    "host-qmp-system-reset");
	json_object_put(ev.data);
	assert_false(qmp_next_event(q, &ev));
	qmp_stats(q, &st);
	assert_int_equal(st.messages, 5);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.stray_replies, 2); /* nothing was in flight */
	assert_int_equal(st.protocol_errors, 0);
}

static void test_feed_whole_stream(void **state)
{
	(void)state;
	struct qmp *q = qmp_new_detached("test");

	assert_int_equal(qmp_feed(q, STREAM, strlen(STREAM)), 5);
	check_stream_result(q);
	qmp_close(q);
}

/* Every split point into two pieces, and one byte at a time. */
static void test_feed_split_everywhere(void **state)
{
	(void)state;
	size_t len = strlen(STREAM);

	for (size_t cut = 0; cut <= len; cut++) {
		struct qmp *q = qmp_new_detached("test");
		int a = qmp_feed(q, STREAM, cut);
		int b = qmp_feed(q, STREAM + cut, len - cut);
		assert_true(a >= 0 && b >= 0);
		assert_int_equal(a + b, 5);
		check_stream_result(q);
		qmp_close(q);
	}
	struct qmp *q = qmp_new_detached("test");
	int total = 0;
	for (size_t i = 0; i < len; i++)
		total += qmp_feed(q, STREAM + i, 1);
	assert_int_equal(total, 5);
	check_stream_result(q);
	qmp_close(q);
}

static void test_malformed_json_ends_connection(void **state)
{
	(void)state;
	static const char bad[] = "{\"event\": \"STOP\", }\r\n";
	struct qmp *q = qmp_new_detached("test");

	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), 1);
	assert_int_equal(qmp_feed(q, bad, strlen(bad)), -1);
	assert_false(qmp_connected(q));
	assert_non_null(strstr(qmp_close_reason(q), "malformed JSON from test at byte"));
	/* Later input is refused, and execute says why. */
	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), -1);
	char err[256];
	assert_null(qmp_execute(q, "stop", NULL, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "not connected (QMP: malformed JSON"));
	qmp_close(q);
}

static void test_first_message_must_be_greeting(void **state)
{
	(void)state;
	static const char ev[] = "{\"event\": \"STOP\"}\r\n";
	struct qmp *q = qmp_new_detached("sock");

	assert_int_equal(qmp_feed(q, ev, strlen(ev)), -1);
	assert_false(qmp_connected(q));
	assert_non_null(strstr(qmp_close_reason(q), "did not start with a QMP greeting"));
	qmp_close(q);
}

static void test_wrong_shapes_are_counted(void **state)
{
	(void)state;
	static const char *const msgs[] = {
	    "[1, 2]\r\n",
	    "{\"event\": 5}\r\n",
	    "{\"event\": \"X\", \"data\": [1]}\r\n",
	    "{\"event\": \"Y\", \"timestamp\": {\"seconds\": \"no\"}}\r\n",
	    "{\"hello\": 1}\r\n",
	    "{\"QMP\": {}}\r\n",
	    "\"just a string\"\r\n",
	};
	struct qmp *q = qmp_new_detached("test");
	struct qmp_stats st;
	struct qmp_event ev;

	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), 1);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		assert_int_equal(qmp_feed(q, msgs[i], strlen(msgs[i])), 1);
	assert_true(qmp_connected(q));
	qmp_stats(q, &st);
	assert_int_equal(st.protocol_errors, 7);
	assert_non_null(strstr(st.last_protocol_error, "not a JSON object"));
	/* X (bad data, kept without it) and Y (bad timestamp) still queue. */
	assert_true(qmp_next_event(q, &ev));
	assert_string_equal(ev.name, "X");
	assert_null(ev.data);
	assert_true(qmp_next_event(q, &ev));
	assert_string_equal(ev.name, "Y");
	assert_int_equal(ev.ts_sec, -1);
	assert_false(qmp_next_event(q, &ev));
	qmp_close(q);
}

static void test_event_queue_limit(void **state)
{
	(void)state;
	struct qmp *q = qmp_new_detached("test");
	struct qmp_stats st;
	struct qmp_event ev;
	char msg[128];

	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), 1);
	for (unsigned i = 0; i < QMP_EVENT_QUEUE_MAX + 6; i++) {
		snprintf(msg, sizeof(msg), "{\"event\": \"E\", \"data\": {\"n\": %u}}\r\n", i);
		assert_int_equal(qmp_feed(q, msg, strlen(msg)), 1);
	}
	assert_int_equal(qmp_pending_events(q), QMP_EVENT_QUEUE_MAX);
	qmp_stats(q, &st);
	assert_int_equal(st.events_dropped, 6);
	assert_true(qmp_next_event(q, &ev));
	assert_int_equal(json_object_get_int(json_object_object_get(ev.data, "n")), 6);
	json_object_put(ev.data);
	/* qmp_close frees the rest. */
	qmp_close(q);
}

static void test_long_event_name_is_cut_and_sanitized(void **state)
{
	(void)state;
	static const char msg[] =
	    "{\"event\": \"A\\u001b[31mVERY_LONG_EVENT_NAME_THAT_DOES_NOT_FIT\"}\r\n";
	struct qmp *q = qmp_new_detached("test");
	struct qmp_event ev;

	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), 1);
	assert_int_equal(qmp_feed(q, msg, strlen(msg)), 1);
	assert_true(qmp_next_event(q, &ev));
	assert_int_equal(strlen(ev.name), sizeof(ev.name) - 1);
	assert_memory_equal(ev.name, "A?[31mVERY", 10);
	qmp_close(q);
}

/* A message over QMP_MESSAGE_MAX is dropped up to its newline and the
 * stream goes on. */
static void test_oversized_message_is_skipped(void **state)
{
	(void)state;
	static const char head[] = "{\"event\": \"BIG\", \"data\": {\"s\": \"";
	static const char tail[] = "\"}}\r\n{\"event\": \"AFTER\"}\r\n";
	size_t fill = QMP_MESSAGE_MAX + 4096;
	char *buf = malloc(sizeof(head) + fill + sizeof(tail));
	struct qmp *q = qmp_new_detached("test");
	struct qmp_stats st;
	struct qmp_event ev;
	size_t len = 0;

	assert_non_null(buf);
	memcpy(buf, head, strlen(head));
	len += strlen(head);
	memset(buf + len, 'a', fill);
	len += fill;
	memcpy(buf + len, tail, strlen(tail));
	len += strlen(tail);
	assert_int_equal(qmp_feed(q, GREETING, strlen(GREETING)), 1);
	/* In 64 KiB pieces, like reads from the socket. */
	for (size_t off = 0; off < len; off += 65536)
		assert_true(qmp_feed(q, buf + off, len - off < 65536 ? len - off : 65536) >= 0);
	free(buf);
	assert_true(qmp_connected(q));
	qmp_stats(q, &st);
	assert_int_equal(st.oversized, 1);
	assert_true(qmp_next_event(q, &ev));
	assert_string_equal(ev.name, "AFTER");
	assert_false(qmp_next_event(q, &ev));
	qmp_close(q);
}

static void test_member_validators(void **state)
{
	(void)state;
	json_object *o = json_tokener_parse(
	    "{\"u\": 7, \"neg\": -1, \"big\": 18446744073709551615, \"s\": \"abc\", "
	    "\"ctl\": \"a\\u0001b\", \"e\": \"\", \"d\": 1.5, \"b\": true, "
	    "\"p\": \"/tmp/dir with \\u00e9\"}");
	char err[256], s[8], p[64];
	uint64_t u;
	bool b;

	assert_non_null(o);
	assert_int_equal(qmp_member_uint(o, "u", 7, &u, "ctx", err, sizeof(err)), 0);
	assert_int_equal(u, 7);
	assert_int_equal(qmp_member_uint(o, "u", 6, &u, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"u\" is 7, more than 6");
	assert_int_equal(qmp_member_uint(o, "neg", 10, &u, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"neg\" is -1, negative");
	assert_int_equal(qmp_member_uint(o, "big", UINT64_MAX, &u, "ctx", err, sizeof(err)), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(qmp_member_uint(o, "d", 10, &u, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"d\" is a fractional number, not an integer");
	assert_int_equal(qmp_member_uint(o, "nope", 10, &u, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"nope\" is missing");
	assert_int_equal(qmp_member_bool(o, "b", &b, "ctx", err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(qmp_member_bool(o, "s", &b, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"s\" is a string, not a boolean");
	assert_int_equal(
	    qmp_member_string(o, "s", QMP_STR_PRINTABLE, s, sizeof(s), "ctx", err, sizeof(err)), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(
	    qmp_member_string(o, "s", QMP_STR_PRINTABLE, s, 3, "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"s\" is 3 bytes long, more than 2");
	assert_int_equal(
	    qmp_member_string(o, "ctl", QMP_STR_PATH, s, sizeof(s), "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"ctl\" has byte 0x01 at offset 1");
	assert_int_equal(
	    qmp_member_string(o, "e", QMP_STR_PATH, s, sizeof(s), "ctx", err, sizeof(err)), -1);
	assert_string_equal(err, "ctx: \"e\" is empty");
	/* Paths may hold UTF-8; names may not. */
	assert_int_equal(
	    qmp_member_string(o, "p", QMP_STR_PATH, p, sizeof(p), "ctx", err, sizeof(err)), 0);
	assert_int_equal(
	    qmp_member_string(o, "p", QMP_STR_PRINTABLE, p, sizeof(p), "ctx", err, sizeof(err)),
	    -1);
	assert_null(qmp_member(o, "u", json_type_string, "ctx", err, sizeof(err)));
	assert_string_equal(err, "ctx: \"u\" is an integer, not a string");
	assert_null(qmp_member(NULL, "u", json_type_string, "ctx", err, sizeof(err)));
	assert_string_equal(err, "ctx: is null, not an object");

	qmp_sanitize(p, sizeof(p), "a\x1b[2Jb\xc3\xa9");
	assert_string_equal(p, "a?[2Jb??");
	qmp_json_snippet(o, s, sizeof(s));
	assert_string_equal(s, "{\"u\"...");
	json_object_put(o);
}

/* ---- socketpair: scripted bytes as the peer ------------------------------ */

static void peer_write(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The peer's side of the handshake: greeting, then the reply to
 * qmp_capabilities once it was asked (a reply sent before the request
 * would rightly be dropped as stray). */
static void *peer_handshake(void *arg)
{
	int fd = *(int *)arg;
	char c;

	peer_write(fd, GREETING);
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
	peer_write(fd, "{\"return\": {}, \"id\": 1}\r\n");
	return NULL;
}

static struct qmp *connect_pair(int sv[2])
{
	char err[256];
	pthread_t th;
	struct qmp *q;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pthread_create(&th, NULL, peer_handshake, &sv[1]), 0);
	q = qmp_connect_fd(sv[0], "pair", 2000, err, sizeof(err));
	pthread_join(th, NULL);
	if (!q)
		fail_msg("%s", err);
	return q;
}

static void test_reply_timeout_and_late_reply(void **state)
{
	(void)state;
	int sv[2];
	char err[256];
	struct qmp *q;
	struct qmp_stats st;
	bool running;
	char status[32];

	q = connect_pair(sv);
	/* id 2 gets no reply in time. */
	assert_null(qmp_execute(q, "query-status", NULL, 150, err, sizeof(err)));
	assert_string_equal(err, "QMP: query-status (id 2): no reply within 150 ms");
	assert_string_equal(qmp_last_error_class(q), "");
	/* Its late reply, an event and the reply to id 3 arrive together. */
	peer_write(sv[1],
		   "{\"return\": {\"status\": \"late\", \"running\": false}, \"id\": 2}\r\n"
		   "{\"event\": \"STOP\"}\r\n"
		   "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 3}\r\n");
	assert_int_equal(qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err)),
			 0);
	assert_true(running);
	assert_string_equal(status, "running");
	qmp_stats(q, &st);
	assert_int_equal(st.stray_replies, 1);
	assert_int_equal(qmp_pending_events(q), 1);
	/* An error reply without id (QEMU could not parse the request). */
	peer_write(sv[1], "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse "
			  "error\"}}\r\n");
	assert_int_equal(qmp_stop(q, err, sizeof(err)), -1);
	assert_string_equal(err, "QMP: stop (id 4): GenericError: JSON parse error");
	assert_string_equal(qmp_last_error_class(q), "GenericError");
	/* A reply whose "return" is not an object is still handed back. */
	peer_write(sv[1], "{\"return\": [1, 2], \"id\": 5}\r\n");
	assert_int_equal(qmp_query_status(q, &running, NULL, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "QMP: query-status reply: is an array, not an object");
	/* The peer goes away. */
	close(sv[1]);
	assert_true(qmp_pump(q) < 0);
	assert_false(qmp_connected(q));
	assert_int_equal(qmp_fd(q), -1);
	assert_string_equal(qmp_close_reason(q), "QEMU closed the QMP socket");
	qmp_close(q);
}

static void test_connect_fd_errors(void **state)
{
	(void)state;
	int sv[2];
	char err[256];

	/* Nothing said: no greeting in time. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_null(qmp_connect_fd(sv[0], "silent", 100, err, sizeof(err)));
	assert_non_null(strstr(err, "no greeting from silent within 100 ms"));
	close(sv[1]);
	/* Not QMP at all. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer_write(sv[1], "SSH-2.0-OpenSSH_9.2\r\n");
	assert_null(qmp_connect_fd(sv[0], "ssh", 500, err, sizeof(err)));
	assert_non_null(strstr(err, "QMP: malformed JSON from ssh at byte 0"));
	close(sv[1]);
	/* Greeting, then the socket closes before the capabilities reply. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer_write(sv[1], GREETING);
	shutdown(sv[1], SHUT_WR);
	assert_null(qmp_connect_fd(sv[0], "gone", 500, err, sizeof(err)));
	assert_string_equal(err, "QMP: gone: QEMU closed the QMP socket");
	close(sv[1]);
	/* Paths. */
	assert_null(qmp_connect("/nonexistent/qmp.sock", 200, err, sizeof(err)));
	assert_string_equal(
	    err, "QMP: cannot connect to /nonexistent/qmp.sock: No such file or directory");
	char longpath[200];
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(qmp_connect(longpath, 200, err, sizeof(err)));
	assert_non_null(strstr(err, "is too long (at most 107 bytes)"));
}

/* A listening unix socket at dir/name (left to the directory's removal). */
static int listen_at(const char *dir, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void remove_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* The other QMP socket a busy one's error names: the pairs the scripts,
 * vqscope run and the tests create, and only when it is a socket. */
static void test_other_socket_is_named(void **state)
{
	char dir[] = "/tmp/vqtest.qmp-other.XXXXXX", path[PATH_MAX], other[PATH_MAX], err[512];
	int fds[4], sv[2], waiting[2];
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	fds[0] = listen_at(dir, "qmp.sock");
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	assert_false(qmp_other_socket(path, other, sizeof(other)));
	assert_string_equal(other, "");
	/* A file called qmp2.sock is no socket. */
	snprintf(other, sizeof(other), "%s/qmp2.sock", dir);
	f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	assert_false(qmp_other_socket(path, other, sizeof(other)));
	remove_in(dir, "qmp2.sock");
	fds[1] = listen_at(dir, "mon.qmp");
	assert_true(qmp_other_socket(path, other, sizeof(other)));
	assert_string_equal(other + strlen(dir), "/mon.qmp");
	fds[2] = listen_at(dir, "qmp2.sock");
	assert_true(qmp_other_socket(path, other, sizeof(other)));
	assert_string_equal(other + strlen(dir), "/qmp2.sock");
	assert_true(qmp_other_socket(other, path, sizeof(path)));
	assert_string_equal(path + strlen(dir), "/qmp.sock");
	fds[3] = listen_at(dir, "vm.qmp2");
	snprintf(path, sizeof(path), "%s/vm.qmp", dir);
	assert_true(qmp_other_socket(path, other, sizeof(other)));
	assert_string_equal(other + strlen(dir), "/vm.qmp2");
	/* The busy error names it (the label is the socket's path). */
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_null(qmp_connect_fd(sv[0], path, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "; this VM has another QMP socket: "));
	assert_non_null(strstr(err, "/qmp2.sock)"));
	close(sv[1]);
	/* Connections waiting on a socket nobody accepts fill its backlog
	 * (listen_at's 1 takes two): the next connect says busy the same way. */
	for (int i = 0; i < 2; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		waiting[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(waiting[i] >= 0);
		assert_true(strlen(path) < sizeof(sa.sun_path));
		memcpy(sa.sun_path, path, strlen(path) + 1);
		assert_int_equal(connect(waiting[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	assert_null(qmp_connect(path, 100, err, sizeof(err)));
	assert_non_null(
	    strstr(err, "/qmp.sock within 100 ms: the socket is busy (QEMU serves one"));
	assert_non_null(strstr(err, "/qmp2.sock)"));
	close(waiting[0]);
	close(waiting[1]);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	remove_in(dir, "qmp.sock");
	remove_in(dir, "mon.qmp");
	remove_in(dir, "qmp2.sock");
	remove_in(dir, "vm.qmp2");
	assert_int_equal(rmdir(dir), 0);
}

/* ---- a real QEMU ---------------------------------------------------------- */

static const char *const PLAIN_VM[] = {"-M", "q35", "-S", NULL};

/* Wait (at most 5 s) for an event called name, pumping on poll(). */
static bool wait_event(struct qmp *q, const char *name, struct qmp_event *out)
{
	for (int i = 0; i < 250; i++) {
		while (qmp_next_event(q, out)) {
			if (strcmp(out->name, name) == 0)
				return true;
			json_object_put(out->data);
		}
		struct pollfd p = {.fd = qmp_fd(q), .events = POLLIN};
		if (p.fd < 0)
			return false;
		if (poll(&p, 1, 20) > 0 && qmp_pump(q) < 0 && !qmp_pending_events(q))
			return false;
	}
	return false;
}

static void test_real_qemu_commands_and_events(void **state)
{
	(void)state;
	struct test_qemu t;
	struct qmp *q = test_qemu_connect(&t, PLAIN_VM);
	struct qmp_event ev;
	char err[256], status[32];
	bool running;
	json_object *r, *args;

	assert_true(qmp_qemu_at_least(q, 7, 2));
	assert_string_equal(qmp_socket_path(q), t.qmp);
	assert_true(qmp_fd(q) >= 0);

	assert_int_equal(qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err)),
			 0);
	assert_false(running);
	assert_string_equal(status, "prelaunch");

	/* QEMU's own error, with class. */
	assert_null(qmp_execute(q, "no-such-command", NULL, 2000, err, sizeof(err)));
	assert_string_equal(qmp_last_error_class(q), "CommandNotFound");
	assert_non_null(strstr(err, "QMP: no-such-command (id 3): CommandNotFound: "));
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string("/nonexistent"));
	json_object_object_add(args, "property", json_object_new_string("type"));
	assert_null(qmp_execute(q, "qom-get", args, 2000, err, sizeof(err)));
	assert_string_equal(err,
			    "QMP: qom-get (id 4): DeviceNotFound: Device '/nonexistent' not found");
	/* Arguments that are not an object are refused before sending. */
	assert_null(qmp_execute(q, "qom-get", json_object_new_int(3), 2000, err, sizeof(err)));
	assert_string_equal(err, "QMP: qom-get: arguments must be a JSON object");

	/* cont: RESUME arrives (queued while waiting for the reply). */
	assert_int_equal(qmp_cont(q, err, sizeof(err)), 0);
	assert_true(wait_event(q, "RESUME", &ev));
	assert_true(ev.ts_sec > 1600000000);
	assert_null(ev.data);
	assert_int_equal(qmp_query_status(q, &running, status, sizeof(status), err, sizeof(err)),
			 0);
	assert_true(running);
	assert_int_equal(qmp_stop(q, err, sizeof(err)), 0);
	assert_true(wait_event(q, "STOP", &ev));
	r = qmp_execute(q, "system_reset", NULL, 2000, err, sizeof(err));
	assert_non_null(r);
	json_object_put(r);
	assert_true(wait_event(q, "RESET", &ev));
	assert_non_null(ev.data);
	assert_string_equal(json_object_get_string(json_object_object_get(ev.data, "reason")),
			    "host-qmp-system-reset");
	json_object_put(ev.data);

	/* QEMU serves one client: a second one gets no greeting. */
	assert_null(qmp_connect(t.qmp, 300, err, sizeof(err)));
	assert_non_null(strstr(err, "the socket is busy (QEMU serves one QMP client at a time"));

	/* quit: the SHUTDOWN event stays readable after the socket closed. */
	assert_int_equal(qmp_quit(q, 5000, err, sizeof(err)), 0);
	assert_false(qmp_connected(q));
	assert_string_equal(qmp_close_reason(q), "QEMU exited (SHUTDOWN: host-qmp-quit)");
	assert_true(wait_event(q, "SHUTDOWN", &ev));
	json_object_put(ev.data);
	assert_null(qmp_execute(q, "stop", NULL, 100, err, sizeof(err)));
	assert_string_equal(err,
			    "QMP: stop: not connected (QEMU exited (SHUTDOWN: host-qmp-quit))");
	qmp_close(q);
	test_qemu_stop(&t);
}

static void test_real_qemu_killed(void **state)
{
	(void)state;
	struct test_qemu t;
	struct qmp *q = test_qemu_connect(&t, PLAIN_VM);
	char err[256];

	kill(t.pid, SIGKILL);
	struct pollfd p = {.fd = qmp_fd(q), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(qmp_pump(q) < 0);
	assert_string_equal(qmp_close_reason(q), "QEMU closed the QMP socket");
	assert_null(qmp_execute(q, "stop", NULL, 100, err, sizeof(err)));
	assert_string_equal(err, "QMP: stop: not connected (QEMU closed the QMP socket)");
	qmp_close(q);
	test_qemu_stop(&t);
}

int main(void)
{
	test_private_base();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feed_whole_stream),
	    cmocka_unit_test(test_feed_split_everywhere),
	    cmocka_unit_test(test_malformed_json_ends_connection),
	    cmocka_unit_test(test_first_message_must_be_greeting),
	    cmocka_unit_test(test_wrong_shapes_are_counted),
	    cmocka_unit_test(test_event_queue_limit),
	    cmocka_unit_test(test_long_event_name_is_cut_and_sanitized),
	    cmocka_unit_test(test_oversized_message_is_skipped),
	    cmocka_unit_test(test_member_validators),
	    cmocka_unit_test(test_reply_timeout_and_late_reply),
	    cmocka_unit_test(test_connect_fd_errors),
	    cmocka_unit_test(test_other_socket_is_named),
	    cmocka_unit_test(test_real_qemu_commands_and_events),
	    cmocka_unit_test(test_real_qemu_killed),
	};

	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
