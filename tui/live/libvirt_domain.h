/* libvirt_domain.h - libvirt domains as vqscope sources: the SOURCE form
 * "libvirt:DOMAIN[@URI]", what a domain's XML says about the trace
 * region and guest RAM, and the XML to add when something is missing.
 *
 * The trace region of a libvirt domain is a <shmem> device, which
 * libvirt turns into an ivshmem-plain device over a shared
 * memory-backend-file at /dev/shm/NAME:
 *
 *   <shmem name='vqtrace-DOMAIN'>
 *     <model type='ivshmem-plain'/>
 *     <size unit='M'>4</size>
 *   </shmem>
 *
 * Guest RAM is readable when it is a shared file (libvirt puts it under
 * its memory_backing_dir, /var/lib/libvirt/qemu/ram by default):
 *
 *   <memoryBacking>
 *     <source type='file'/>
 *     <access mode='shared'/>
 *   </memoryBacking>
 *
 * discover.c still finds both through QMP (qom-list, qom-get); the XML
 * only says what to change when that fails.  The XML is parsed with
 * libxml2, never by hand, and treated as untrusted text.
 */
#ifndef VQ_LIBVIRT_DOMAIN_H
#define VQ_LIBVIRT_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qmp;
struct vq_target;

#define LIBVIRT_PREFIX	       "libvirt:"
#define LIBVIRT_NAME_MAX       256		    /* a domain name, NUL included */
#define LIBVIRT_SHMEM_MAX      8		    /* <shmem> elements kept */
#define LIBVIRT_XML_MAX	       (8u * 1024u * 1024u) /* bytes of domain XML parsed */
#define LIBVIRT_REGION_DEFAULT (4u * 1024u * 1024u) /* the <shmem> size suggested */

/* ---- the SOURCE form ------------------------------------------------------------- */

struct libvirt_spec {
	char domain[LIBVIRT_NAME_MAX]; /* name or UUID */
	char uri[1024];		       /* "" for the default (qmp_libvirt_default_uri) */
};

/* True when spec starts with "libvirt:". */
bool libvirt_is_spec(const char *spec);
/* "libvirt:NAME" or "libvirt:NAME@URI" (split at the first '@': URIs
 * may hold one, as in qemu+ssh://user@host/system).  0, or -1 with err. */
int libvirt_parse_spec(const char *spec, struct libvirt_spec *out, char *err, size_t errlen);

/* ---- the domain XML ------------------------------------------------------------------ */

struct libvirt_shmem {
	char name[256]; /* the file /dev/shm/NAME (printable ASCII) */
	char model[32]; /* "ivshmem-plain", "ivshmem-doorbell", "ivshmem", "" */
	uint64_t size;	/* bytes; 0 when not given */
	bool server;	/* has a <server>: a doorbell device */
};

struct libvirt_domain_xml {
	char name[256];
	char type[32];	 /* <domain type=...>: "qemu", "kvm", ... */
	uint64_t memory; /* <memory>, bytes */
	size_t nshmem;	 /* <shmem> elements in <devices> (the first
			  * LIBVIRT_SHMEM_MAX are in shmem[]) */
	struct libvirt_shmem shmem[LIBVIRT_SHMEM_MAX];
	bool memory_backing; /* <memoryBacking> is there */
	char ram_source[32]; /* its <source type=...>, or "" */
	char ram_access[32]; /* its <access mode=...>, or "" */
	bool hugepages;	     /* its <hugepages> */
	unsigned numa_cells; /* <cpu><numa><cell> elements */
};

/* Parse a domain's XML (at most LIBVIRT_XML_MAX bytes).  0, or -1 with
 * err ("domain XML: line 3: ..." or "domain XML: the root element is
 * <network>, not <domain>"). */
int libvirt_domain_parse(const char *xml, size_t len, struct libvirt_domain_xml *d, char *err,
			 size_t errlen);

/* The first <shmem> with <model type='ivshmem-plain'/> and no <server>,
 * or NULL. */
const struct libvirt_shmem *libvirt_trace_shmem(const struct libvirt_domain_xml *d);

/* True when the XML asks for guest RAM in a shared file; else false
 * with why (the element that is missing or wrong). */
bool libvirt_ram_is_shared_file(const struct libvirt_domain_xml *d, char *why, size_t whylen);

/* The <shmem> element vqscope needs, on one line
 * ("<shmem name='N'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>")
 * or indented over lines (indent "  ": each line starts with it). */
void libvirt_shmem_xml(char *out, size_t outlen, const char *name, uint64_t size,
		       const char *indent);
/* The <memoryBacking> element, the same two ways. */
void libvirt_memory_backing_xml(char *out, size_t outlen, const char *indent);
/* The shmem name suggested for a domain: "vqtrace-DOMAIN" with anything
 * but [A-Za-z0-9._-] replaced by '-', or "vqtrace". */
void libvirt_shmem_name(char *out, size_t outlen, const char *domain);

/* For discover.c: when q is a libvirt domain, say which XML element to
 * add.  region_failed: err holds why QMP found no trace region, and is
 * rewritten when the XML explains it; t->ram_note is rewritten the same
 * way when guest RAM is not readable.  Other connections: nothing. */
void libvirt_explain_target(struct qmp *q, struct vq_target *t, bool region_failed, char *err,
			    size_t errlen);

#endif /* VQ_LIBVIRT_DOMAIN_H */
