/* fuzz_qmp.c - libFuzzer harness for everything vqscope reads from QEMU's
 * QMP socket: the greeting, replies and events through the client's
 * incremental parser (split at fuzzer-chosen places), the reply
 * validators of discover.c and devview.c on arbitrary JSON, and the whole
 * attach sequence (handshake, discover_target, devview_list,
 * devview_sample, devview_element, stop, cont) over a socketpair whose
 * peer "sends" the input.
 *
 * Input: one mode byte, then the bytes QEMU would send.
 *   mode & 1   feed a real QEMU 7.2 greeting first (detached client)
 *   mode & 2   feed everything at once, else in pieces of 1..16 bytes
 *              chosen by a generator seeded from the mode byte
 *   mode & 4   also run the attach sequence over a socketpair, the input
 *              played by a peer thread that answers each request (inputs
 *              up to 64 KiB); the attach-* seeds in corpus/qmp/ are what
 *              a real QEMU sent during that sequence, ids and all
 */
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "live/devview.h"
#include "live/discover.h"
#include "live/qmp.h"

static const char GREETING[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";

static struct devview_devices devs;
static struct devview_chain chain;

static void drain_events(struct qmp *q)
{
	struct qmp_event ev;
	struct qmp_stats st;

	while (qmp_next_event(q, &ev))
		json_object_put(ev.data);
	qmp_stats(q, &st);
	(void)qmp_close_reason(q);
	(void)qmp_qemu_version(q);
}

static void feed_detached(uint8_t mode, const char *data, size_t size)
{
	struct qmp *q = qmp_new_detached("fuzz");
	uint32_t rng = 0x9e3779b9u * (mode + 1u);
	size_t off = 0;

	if (!q)
		return;
	if (mode & 1)
		qmp_feed(q, GREETING, strlen(GREETING));
	while (off < size && qmp_connected(q)) {
		size_t n = size - off;
		if (!(mode & 2)) {
			rng = rng * 1664525u + 1013904223u;
			size_t piece = 1 + (rng >> 28);
			if (n > piece)
				n = piece;
		}
		qmp_feed(q, data + off, n);
		off += n;
	}
	drain_events(q);
	qmp_close(q);
}

/* The validators, on a value and (for QMP messages) on its "return". */
static void validate(json_object *v)
{
	struct devview_device dev = {.path = "/machine/peripheral/fuzz/virtio-backend"};
	struct vqr_device_queue dq;
	char paths[4][VQ_QOM_PATH_MAX], err[512];
	size_t n;

	devview_parse_list(v, &devs, err, sizeof(err));
	devview_parse_status(v, &dev, err, sizeof(err));
	devview_parse_queue_status(v, &dev, 0, &dq, err, sizeof(err));
	dev.packed = true;
	devview_parse_queue_status(v, &dev, 1, &dq, err, sizeof(err));
	devview_parse_element(v, &chain, err, sizeof(err));
	discover_children_of_type(v, "/machine/peripheral-anon", "ivshmem-plain", paths, 4, &n, err,
				  sizeof(err));
}

static void validate_json(const char *data, size_t size)
{
	json_tokener *tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	json_object *v, *ret;

	if (!tok)
		return;
	v = json_tokener_parse_ex(tok, data, (int)size);
	if (v) {
		validate(v);
		if (json_object_object_get_ex(v, "return", &ret))
			validate(ret);
		json_object_put(v);
	}
	json_tokener_free(tok);
}

/* ---- the input as a QEMU on the other end of a socketpair --------------- */

/* The peer answers like QEMU does: the first line (the greeting) at once,
 * then for each request line it reads, the input's lines up to and
 * including the first one that carries the request's id.  Replies thus
 * arrive after their requests, as from a real QEMU, and a transcript of a
 * real session replays with every reply matched.  When no line carries
 * the id, or the client goes quiet for 10 ms, the rest goes out and the
 * peer hangs up: the client never waits for its own timeouts. */
struct peer {
	int fd;
	const char *data;
	size_t size, off;
};

static void peer_send(struct peer *p, size_t end)
{
	while (p->off < end) {
		ssize_t n = send(p->fd, p->data + p->off, end - p->off, MSG_NOSIGNAL);
		if (n <= 0) {
			p->off = p->size;
			return;
		}
		p->off += (size_t)n;
	}
}

static size_t line_end(const struct peer *p, size_t from)
{
	const char *nl = memchr(p->data + from, '\n', p->size - from);

	return nl ? (size_t)(nl - p->data) + 1 : p->size;
}

static bool line_has_id(const char *line, size_t len, long id)
{
	char pat[2][32];

	snprintf(pat[0], sizeof(pat[0]), "\"id\": %ld", id);
	snprintf(pat[1], sizeof(pat[1]), "\"id\":%ld", id);
	for (int k = 0; k < 2; k++) {
		size_t m = strlen(pat[k]);
		for (size_t i = 0; i + m <= len; i++)
			if (memcmp(line + i, pat[k], m) == 0 &&
			    (i + m == len || line[i + m] < '0' || line[i + m] > '9'))
				return true;
	}
	return false;
}

static void peer_answer(struct peer *p, long id)
{
	size_t end = p->off;

	while (end < p->size) {
		size_t next = line_end(p, end);
		if (line_has_id(p->data + end, next - end, id)) {
			peer_send(p, next);
			return;
		}
		end = next;
	}
	peer_send(p, p->size);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	char req[8192];
	size_t rlen = 0;

	peer_send(p, line_end(p, 0));
	while (p->off < p->size) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		ssize_t n;
		char *nl;

		if (poll(&pfd, 1, 10) <= 0)
			break;
		n = read(p->fd, req + rlen, sizeof(req) - 1 - rlen);
		if (n <= 0)
			break;
		rlen += (size_t)n;
		req[rlen] = '\0';
		while ((nl = strchr(req, '\n'))) {
			const char *id = strstr(req, "\"id\":");
			*nl = '\0';
			peer_answer(p, id ? strtol(id + 5, NULL, 10) : -1);
			rlen -= (size_t)(nl + 1 - req);
			memmove(req, nl + 1, rlen + 1);
		}
		if (rlen >= sizeof(req) - 1)
			rlen = 0;
	}
	peer_send(p, p->size);
	shutdown(p->fd, SHUT_WR);
	return NULL;
}

/* The attach sequence of `vqscope attach` against the peer. */
static void attach_over_socketpair(const char *data, size_t size)
{
	struct vqr_device_queue dq[16];
	struct vq_target target;
	struct peer p = {.data = data, .size = size};
	pthread_t th;
	char err[512];
	struct qmp *q;
	size_t n;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	p.fd = sv[1];
	if (pthread_create(&th, NULL, peer_main, &p) != 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	q = qmp_connect_fd(sv[0], "fuzz", 1000, err, sizeof(err));
	if (q) {
		discover_target(q, &target, err, sizeof(err));
		if (devview_list(q, &devs, err, sizeof(err)) == 0) {
			devview_sample(q, &devs, dq, 16, &n, err, sizeof(err));
			if (devs.count)
				devview_element(q, devs.dev[0].path, 0, -1, &chain, err,
						sizeof(err));
		}
		qmp_stop(q, err, sizeof(err));
		qmp_cont(q, err, sizeof(err));
		qmp_pump(q);
		drain_events(q);
		qmp_close(q); /* closes sv[0]: the peer sees EOF */
	}
	pthread_join(th, NULL);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (size < 1 || size > (1u << 20))
		return 0;
	mode = data[0];
	data++;
	size--;
	feed_detached(mode, (const char *)data, size);
	validate_json((const char *)data, size);
	if ((mode & 4) && size <= 65536)
		attach_over_socketpair((const char *)data, size);
	return 0;
}
