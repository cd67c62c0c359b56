/* qmp_libvirt.h - the QMP client's second transport: a libvirt domain.
 *
 * libvirt owns a domain's QMP monitor, so vqscope talks QMP through
 * libvirt-qemu's passthrough instead of a socket of its own: commands go
 * through virDomainQemuMonitorCommand, events come from
 * virConnectDomainQemuMonitorEventRegister.  The struct qmp this returns
 * works with every qmp_* call (qmp.h); only pause and resume differ:
 * they are virDomainSuspend and virDomainResume, so that libvirt keeps
 * knowing why the domain is paused (docs/libvirt.md says why).
 *
 * Threads: libvirt calls run on a worker thread of the connection, so a
 * caller waits at most its timeout even when libvirtd or QEMU hangs (a
 * late answer is dropped, as on a socket).  libvirt's default event loop
 * runs on a thread of its own while any libvirt connection is open; the
 * event callbacks only queue and write a byte to a pipe, which qmp_fd()
 * returns, and qmp_pump() hands the events over on the caller's thread.
 *
 * The connection ends (qmp_connected() false, qmp_close_reason() says
 * why) when libvirtd goes away or stops answering, or when the domain
 * stops.
 */
#ifndef VQ_QMP_LIBVIRT_H
#define VQ_QMP_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "libvirt_domain.h"

struct qmp;

/* Connect to domain (a name or UUID) at uri (NULL: $LIBVIRT_DEFAULT_URI,
 * else qemu:///system) within timeout_ms.  NULL with err set ("libvirt:
 * no domain 'x' at qemu:///system (virsh -c qemu:///system list --all
 * lists them)", "libvirt: domain 'x' is not running ..."). */
struct qmp *qmp_connect_libvirt(const char *domain, const char *uri, int timeout_ms, char *err,
				size_t errlen);

/* The URI used when none is given. */
const char *qmp_libvirt_default_uri(void);

/* For a connection made by qmp_connect_libvirt: the domain's name, or
 * NULL for any other struct qmp. */
const char *qmp_libvirt_domain(const struct qmp *q);

/* QEMU's process id, for a connection made by qmp_connect_libvirt (from
 * a vCPU's thread id, so only when QEMU runs on this host and in this
 * PID namespace), else 0. */
pid_t qmp_libvirt_qemu_pid(struct qmp *q);

/* The running domain's XML (virDomainGetXMLDesc).  0 with *xml
 * (malloc'd), -1 with err; -1 with err "not a libvirt domain" for any
 * other struct qmp. */
int qmp_libvirt_domain_xml(struct qmp *q, char **xml, char *err, size_t errlen);

/* A domain's definition, read once over a read-only connection (no QMP,
 * the domain may be shut off): for `vqscope libvirt-xml`. */
struct libvirt_xml_read {
	char uri[1024];
	bool persistent; /* xml is the definition (virsh edit), else the live XML */
	bool running;
	char *xml; /* malloc'd */
};
int qmp_libvirt_read_xml(const char *domain, const char *uri, struct libvirt_xml_read *out,
			 char *err, size_t errlen);

/* The running domains at uri (NULL: the default) whose live XML has a
 * trace region (libvirt_trace_shmem): up to max names into names, *count
 * of them.  Over a read-only connection; blocks while libvirtd answers,
 * so call it off the main loop.  0, or -1 with err. */
int qmp_libvirt_traced_domains(const char *uri, char (*names)[LIBVIRT_NAME_MAX], size_t max,
			       size_t *count, char *err, size_t errlen);

#endif /* VQ_QMP_LIBVIRT_H */
