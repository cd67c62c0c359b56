/* exporter_http.c - GET /metrics and GET / through libmicrohttpd, for
 * `vqscope exporter` (see exporter_http.h). */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "exporter_http.h"

struct exporter_http {
	struct exporter_http_opts o;
	struct MHD_Daemon *daemon;
	char host[256];
	char address[300];
	bool starting; /* libmicrohttpd's messages go to start_error */
	char start_error[256];
};

static const char index_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>vqscope exporter</title></head>\n"
    "<body><h1>vqscope exporter</h1>\n"
    "<p>Virtqueue metrics of the VMs this exporter watches: <a href=\"/metrics\">/metrics</a>"
    " (Prometheus text format, or OpenMetrics on request).</p>\n"
    "</body></html>\n";

/* libmicrohttpd's own messages: why it could not start (bind errors and
 * the like) are kept for the caller; once serving, what it says about
 * single connections (timeouts, limits) is what the limits are for. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct exporter_http *h = cls;
	size_t len;

	if (!h->starting)
		return;
	vsnprintf(h->start_error, sizeof(h->start_error), fmt, ap);
	len = strlen(h->start_error);
	while (len && (h->start_error[len - 1] == '\n' || h->start_error[len - 1] == '.'))
		h->start_error[--len] = 0;
}

/* Queue a response; body is freed by libmicrohttpd when owned. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
			       const char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (owned)
		r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return respond(c, status, "text/plain; charset=utf-8", text, strlen(text), false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **request)
{
	struct exporter_http *h = cls;
	enum metrics_format f;
	struct text t = {0};

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request;
	/* Answered as soon as the headers are in: a body (which a GET should
	 * not have) is never read. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "method not allowed: the exporter answers GET only\n");
	if (strcmp(url, "/") == 0)
		return respond(c, MHD_HTTP_OK, "text/html; charset=utf-8", index_page,
			       sizeof(index_page) - 1, false);
	if (strcmp(url, "/metrics") != 0)
		return respond_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");

	f = metrics_negotiate(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"));
	h->o.render(h->o.ctx, &t, f);
	if (t.failed) {
		text_free(&t);
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	if (!t.data)
		return respond(c, MHD_HTTP_OK, metrics_content_type(f), "", 0, false);
	/* libmicrohttpd takes the buffer and frees it once sent. */
	return respond(c, MHD_HTTP_OK, metrics_content_type(f), t.data, t.len, true);
}

/* Split "HOST:PORT" or "[HOST]:PORT"; -1 with err when it is neither. */
static int split_listen(const char *listen, char *host, size_t hostlen, unsigned *port, char *err,
			size_t errlen)
{
	const char *colon = strrchr(listen, ':');
	const char *start = listen, *end = colon;
	char *stop;
	unsigned long p;

	if (colon && listen[0] == '[') {
		start = listen + 1;
		if (colon == listen || colon[-1] != ']')
			colon = NULL;
		else
			end = colon - 1;
	}
	if (!colon || end == start || (size_t)(end - start) >= hostlen) {
		snprintf(err, errlen, "--listen %s: not HOST:PORT", listen);
		return -1;
	}
	p = strtoul(colon + 1, &stop, 10);
	if (!colon[1] || *stop || colon[1] == '-' || colon[1] == '+' || p > 65535) {
		snprintf(err, errlen, "--listen %s: '%s' is not a port (0 to 65535)", listen,
			 colon + 1);
		return -1;
	}
	snprintf(host, hostlen, "%.*s", (int)(end - start), start);
	*port = (unsigned)p;
	return 0;
}

int exporter_http_check_listen(const char *listen, char *err, size_t errlen)
{
	char host[256];
	unsigned port;

	return split_listen(listen, host, sizeof(host), &port, err, errlen);
}

/* The listen address through getaddrinfo (a name like localhost works);
 * *port gets its port. */
static struct addrinfo *resolve(const char *listen, char *host, size_t hostlen, unsigned *port,
				char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
			*res = NULL;
	char port_text[16];
	int rc;

	if (split_listen(listen, host, hostlen, port, err, errlen) != 0)
		return NULL;
	snprintf(port_text, sizeof(port_text), "%u", *port);
	rc = getaddrinfo(host, port_text, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "--listen %s: %s", listen, gai_strerror(rc));
		return NULL;
	}
	return res;
}

struct exporter_http *exporter_http_start(const struct exporter_http_opts *o, char *err,
					  size_t errlen)
{
	struct exporter_http *h = calloc(1, sizeof(*h));
	struct addrinfo *ai;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned port;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->o = *o;
	ai = resolve(o->listen, h->host, sizeof(h->host), &port, err, errlen);
	if (!ai) {
		free(h);
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->starting = true;
	/* MHD_OPTION_SOCK_ADDR is what it binds; the port argument only goes
	 * into its messages ("Failed to bind to port N"), so it gets the real
	 * one. */
	h->daemon = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)EXPORTER_HTTP_HEADER_LIMIT, MHD_OPTION_END);
	h->starting = false;
	freeaddrinfo(ai);
	if (!h->daemon) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->listen,
			 h->start_error[0] ? h->start_error : "libmicrohttpd refused");
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(h->address, sizeof(h->address), strchr(h->host, ':') ? "[%s]:%u" : "%s:%u",
		 h->host, info ? info->port : 0);
	return h;
}

void exporter_http_stop(struct exporter_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}

int exporter_http_fd(const struct exporter_http *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

int exporter_http_timeout_ms(struct exporter_http *h, int cap_ms)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->daemon, &ms) != MHD_YES || ms >= (MHD_UNSIGNED_LONG_LONG)cap_ms)
		return cap_ms;
	return (int)ms;
}

void exporter_http_run(struct exporter_http *h)
{
	MHD_run(h->daemon);
}

const char *exporter_http_address(const struct exporter_http *h)
{
	return h->address;
}
