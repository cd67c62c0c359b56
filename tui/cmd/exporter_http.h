/* exporter_http.h - the HTTP side of `vqscope exporter`, through
 * libmicrohttpd driven from the exporter's own poll loop (its epoll fd
 * and timeout; no threads).
 *
 * It answers GET /metrics (Prometheus text, or OpenMetrics when the
 * Accept header asks for it) and GET / (a short page with a link); any
 * other path is 404 and any other method 405.  Resources are bounded by
 * libmicrohttpd: at most max_connections at once (more wait in the
 * listen backlog), each closed after timeout_s without progress, and a
 * request's line and headers limited to EXPORTER_HTTP_HEADER_LIMIT bytes
 * (431 beyond, or the connection is closed).
 */
#ifndef VQ_EXPORTER_HTTP_H
#define VQ_EXPORTER_HTTP_H

#include <stddef.h>

#include "core/metrics.h"
#include "core/text.h"

#define EXPORTER_HTTP_HEADER_LIMIT (32 * 1024)

struct exporter_http_opts {
	const char *listen; /* "HOST:PORT" or "[IPV6]:PORT"; port 0: any free one */
	unsigned max_connections;
	unsigned timeout_s;
	/* Writes the metrics, on every GET /metrics. */
	void (*render)(void *ctx, struct text *t, enum metrics_format f);
	void *ctx;
};

struct exporter_http;

/* Is listen HOST:PORT or [HOST]:PORT?  0, or -1 with err. */
int exporter_http_check_listen(const char *listen, char *err, size_t errlen);
/* Listen; NULL with err (a bad address, a port in use). */
struct exporter_http *exporter_http_start(const struct exporter_http_opts *o, char *err,
					  size_t errlen);
void exporter_http_stop(struct exporter_http *h);

/* The fd to poll for POLLIN. */
int exporter_http_fd(const struct exporter_http *h);
/* Milliseconds until exporter_http_run must run even without input,
 * capped at cap_ms. */
int exporter_http_timeout_ms(struct exporter_http *h, int cap_ms);
/* Accept, read, answer, time out: whatever is ready; never blocks. */
void exporter_http_run(struct exporter_http *h);
/* Where it listens, as "HOST:PORT" with the port actually bound. */
const char *exporter_http_address(const struct exporter_http *h);

#endif /* VQ_EXPORTER_HTTP_H */
