/* libvirt_domain.c - the "libvirt:DOMAIN[@URI]" SOURCE form, the parts of
 * a domain's XML that matter to vqscope (libxml2), and the messages that
 * name the element to add (see libvirt_domain.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "discover.h"
#include "libvirt_domain.h"
#include "qmp.h"
#include "qmp_libvirt.h"

/* ---- the SOURCE form --------------------------------------------------------------- */

bool libvirt_is_spec(const char *spec)
{
	return spec && strncmp(spec, LIBVIRT_PREFIX, strlen(LIBVIRT_PREFIX)) == 0;
}

int libvirt_parse_spec(const char *spec, struct libvirt_spec *out, char *err, size_t errlen)
{
	const char *name, *at;
	size_t nlen;

	memset(out, 0, sizeof(*out));
	if (!libvirt_is_spec(spec)) {
		qmp_errorf(err, errlen, "%s: not of the form libvirt:DOMAIN[@URI]", spec);
		return -1;
	}
	name = spec + strlen(LIBVIRT_PREFIX);
	at = strchr(name, '@');
	nlen = at ? (size_t)(at - name) : strlen(name);
	if (nlen == 0) {
		qmp_errorf(err, errlen, "%s: no domain name (libvirt:DOMAIN or libvirt:DOMAIN@URI)",
			   spec);
		return -1;
	}
	if (nlen >= sizeof(out->domain)) {
		qmp_errorf(err, errlen, "%s: the domain name is longer than %zu bytes", spec,
			   sizeof(out->domain) - 1);
		return -1;
	}
	if (at && !at[1]) {
		qmp_errorf(err, errlen, "%s: nothing after '@' (libvirt:DOMAIN@URI, e.g. @%s)",
			   spec, "qemu:///system");
		return -1;
	}
	if (at && strlen(at + 1) >= sizeof(out->uri)) {
		qmp_errorf(err, errlen, "%s: the URI is longer than %zu bytes", spec,
			   sizeof(out->uri) - 1);
		return -1;
	}
	memcpy(out->domain, name, nlen);
	if (at)
		memcpy(out->uri, at + 1, strlen(at + 1) + 1);
	return 0;
}

/* ---- the XML --------------------------------------------------------------------------- */

static bool is_element(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

/* An attribute's value, printable, cut to fit; "" when absent. */
static void attribute(const xmlNode *n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;

	qmp_sanitize(out, outlen, v ? (const char *)v : "");
	xmlFree(v);
}

/* libvirt's scaled units (virScaleInteger): the power-of-two ones and
 * the decimal ones, "b"/"bytes" for 1. */
static bool unit_scale(const char *unit, uint64_t fallback, uint64_t *scale)
{
	static const struct {
		char c;
		int power;
	} prefixes[] = {{'k', 1}, {'m', 2}, {'g', 3}, {'t', 4}, {'p', 5}, {'e', 6}};
	size_t n = strlen(unit);

	if (n == 0) {
		*scale = fallback;
		return true;
	}
	if (strcmp(unit, "b") == 0 || strcmp(unit, "bytes") == 0) {
		*scale = 1;
		return true;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char c = unit[0] | 0x20;
		uint64_t base;

		if (c != prefixes[i].c)
			continue;
		if (n == 1 || strcmp(unit + 1, "iB") == 0)
			base = 1024;
		else if (n == 2 && unit[1] == 'B')
			base = 1000;
		else
			return false;
		*scale = 1;
		for (int p = 0; p < prefixes[i].power; p++)
			*scale *= base;
		return true;
	}
	return false;
}

/* <ELEMENT unit='U'>N</ELEMENT> in bytes; false when malformed. */
static bool scaled_value(const xmlNode *n, uint64_t fallback_scale, uint64_t *out)
{
	char unit[16];
	xmlChar *text = xmlNodeGetContent(n);
	const char *p = text ? (const char *)text : "";
	uint64_t v = 0, scale;
	bool ok = true;

	attribute(n, "unit", unit, sizeof(unit));
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p < '0' || *p > '9')
		ok = false;
	for (; ok && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			ok = false;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	while (ok && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (ok && *p)
		ok = false;
	if (ok && !unit_scale(unit, fallback_scale, &scale))
		ok = false;
	if (ok && scale && v > UINT64_MAX / scale)
		ok = false;
	xmlFree(text);
	if (ok)
		*out = v * scale;
	return ok;
}

static void parse_shmem(const xmlNode *n, struct libvirt_shmem *s)
{
	const xmlNode *size = child(n, "size");

	attribute(n, "name", s->name, sizeof(s->name));
	attribute(child(n, "model"), "type", s->model, sizeof(s->model));
	s->server = child(n, "server") != NULL;
	if (size && !scaled_value(size, 1, &s->size))
		s->size = 0;
}

int libvirt_domain_parse(const char *xml, size_t len, struct libvirt_domain_xml *d, char *err,
			 size_t errlen)
{
	xmlDoc *doc;
	xmlNode *root, *n;

	memset(d, 0, sizeof(*d));
	if (len > LIBVIRT_XML_MAX) {
		qmp_errorf(err, errlen, "domain XML: %zu bytes, more than %u", len,
			   LIBVIRT_XML_MAX);
		return -1;
	}
	/* No network, no external entities, no messages of its own. */
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char text[200], msg[200];
		size_t end;

		/* libxml2's messages end in a newline. */
		snprintf(text, sizeof(text), "%s", e && e->message ? e->message : "not XML");
		for (end = strlen(text); end && (text[end - 1] == '\n' || text[end - 1] == ' ');)
			text[--end] = '\0';
		qmp_sanitize(msg, sizeof(msg), text);
		qmp_errorf(err, errlen, "domain XML: line %d: %s", e ? e->line : 0, msg);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_element(root, "domain")) {
		char name[64];

		qmp_sanitize(name, sizeof(name), root ? (const char *)root->name : "");
		qmp_errorf(err, errlen, "domain XML: the root element is <%s>, not <domain>", name);
		xmlFreeDoc(doc);
		return -1;
	}
	attribute(root, "type", d->type, sizeof(d->type));
	if ((n = child(root, "name"))) {
		xmlChar *text = xmlNodeGetContent(n);

		qmp_sanitize(d->name, sizeof(d->name), text ? (const char *)text : "");
		xmlFree(text);
	}
	if ((n = child(root, "memory")) && !scaled_value(n, 1024, &d->memory))
		d->memory = 0;
	if ((n = child(root, "memoryBacking"))) {
		d->memory_backing = true;
		attribute(child(n, "source"), "type", d->ram_source, sizeof(d->ram_source));
		attribute(child(n, "access"), "mode", d->ram_access, sizeof(d->ram_access));
		d->hugepages = child(n, "hugepages") != NULL;
	}
	for (n = child(child(child(root, "cpu"), "numa"), "cell"); n; n = n->next)
		if (is_element(n, "cell"))
			d->numa_cells++;
	for (n = child(child(root, "devices"), "shmem"); n; n = n->next) {
		if (!is_element(n, "shmem"))
			continue;
		if (d->nshmem < LIBVIRT_SHMEM_MAX)
			parse_shmem(n, &d->shmem[d->nshmem]);
		d->nshmem++;
	}
	xmlFreeDoc(doc);
	return 0;
}

const struct libvirt_shmem *libvirt_trace_shmem(const struct libvirt_domain_xml *d)
{
	size_t n = d->nshmem < LIBVIRT_SHMEM_MAX ? d->nshmem : LIBVIRT_SHMEM_MAX;

	for (size_t i = 0; i < n; i++)
		if (strcmp(d->shmem[i].model, "ivshmem-plain") == 0 && !d->shmem[i].server)
			return &d->shmem[i];
	return NULL;
}

/* <memoryBacking>'s <ELEMENT ATTRIBUTE=...> is want; else why says what
 * it is instead. */
static bool backing_says(const char *element, const char *attribute_name, const char *value,
			 const char *want, char *why, size_t whylen)
{
	if (strcmp(value, want) == 0)
		return true;
	if (value[0])
		qmp_errorf(why, whylen, "<memoryBacking> has <%s %s='%s'/>, not '%s'", element,
			   attribute_name, value, want);
	else
		qmp_errorf(why, whylen, "<memoryBacking> has no <%s %s='%s'/>", element,
			   attribute_name, want);
	return false;
}

bool libvirt_ram_is_shared_file(const struct libvirt_domain_xml *d, char *why, size_t whylen)
{
	if (d->numa_cells) {
		qmp_errorf(why, whylen,
			   "it has %u <numa> cells, a memory backend each; vqscope reads guest RAM "
			   "from one backend only",
			   d->numa_cells);
		return false;
	}
	if (!d->memory_backing) {
		qmp_errorf(why, whylen, "it has no <memoryBacking>");
		return false;
	}
	if (d->hugepages) {
		/* libvirt gives QEMU a hugetlbfs directory, and QEMU keeps the
		 * RAM in a file it unlinked there. */
		qmp_errorf(why, whylen,
			   "<memoryBacking> has <hugepages/>: QEMU keeps that RAM in an unlinked "
			   "file");
		return false;
	}
	if (!backing_says("source", "type", d->ram_source, "file", why, whylen))
		return false;
	return backing_says("access", "mode", d->ram_access, "shared", why, whylen);
}

/* ---- the XML to add ----------------------------------------------------------------------- */

void libvirt_shmem_name(char *out, size_t outlen, const char *domain)
{
	size_t n;

	if (!outlen)
		return;
	snprintf(out, outlen, "vqtrace%s%s", domain && *domain ? "-" : "", domain ? domain : "");
	for (n = 0; out[n]; n++) {
		char c = out[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			out[n] = '-';
	}
}

void libvirt_shmem_xml(char *out, size_t outlen, const char *name, uint64_t size,
		       const char *indent)
{
	char amount[64];
	const char *nl = indent ? "\n" : "";
	const char *in = indent ? indent : "";
	const char *in2 = indent ? "  " : "";

	if (size % (1024 * 1024) == 0)
		snprintf(amount, sizeof(amount), "<size unit='M'>%" PRIu64 "</size>",
			 size / (1024 * 1024));
	else if (size % 1024 == 0)
		snprintf(amount, sizeof(amount), "<size unit='K'>%" PRIu64 "</size>", size / 1024);
	else
		snprintf(amount, sizeof(amount), "<size unit='b'>%" PRIu64 "</size>", size);
	snprintf(out, outlen,
		 "%s<shmem name='%s'>%s"
		 "%s%s<model type='ivshmem-plain'/>%s"
		 "%s%s%s%s"
		 "%s</shmem>%s",
		 in, name, nl, in, in2, nl, in, in2, amount, nl, in, nl);
}

void libvirt_memory_backing_xml(char *out, size_t outlen, const char *indent)
{
	const char *nl = indent ? "\n" : "";
	const char *in = indent ? indent : "";
	const char *in2 = indent ? "  " : "";

	snprintf(out, outlen,
		 "%s<memoryBacking>%s"
		 "%s%s<source type='file'/>%s"
		 "%s%s<access mode='shared'/>%s"
		 "%s</memoryBacking>%s",
		 in, nl, in, in2, nl, in, in2, nl, in, nl);
}

/* ---- messages for discover.c ---------------------------------------------------------------- */

static void explain_region(const struct libvirt_domain_xml *d, const char *domain, char *err,
			   size_t errlen)
{
	const struct libvirt_shmem *s = libvirt_trace_shmem(d);
	char name[128], element[400], qmp_why[512];

	if (s) {
		/* The XML is right; QMP said what else is wrong. */
		snprintf(qmp_why, sizeof(qmp_why), "%s", err);
		qmp_errorf(err, errlen, "domain %s, <shmem name='%s'>: %s", domain, s->name,
			   qmp_why);
		return;
	}
	if (d->nshmem) {
		const struct libvirt_shmem *t = &d->shmem[0];

		qmp_errorf(err, errlen,
			   "domain %s: <shmem name='%s'> is %s%s%s: the trace region needs "
			   "<model type='ivshmem-plain'/> and no <server>",
			   domain, t->name, t->model[0] ? "model " : "without a <model>", t->model,
			   t->server ? " with a <server>" : "");
		return;
	}
	libvirt_shmem_name(name, sizeof(name), domain);
	libvirt_shmem_xml(element, sizeof(element), name, LIBVIRT_REGION_DEFAULT, NULL);
	qmp_errorf(err, errlen,
		   "domain %s has no <shmem> for the trace region: add %s to its <devices> "
		   "(vqscope libvirt-xml prints it)",
		   domain, element);
}

void libvirt_explain_target(struct qmp *q, struct vq_target *t, bool region_failed, char *err,
			    size_t errlen)
{
	const char *domain = qmp_libvirt_domain(q);
	struct libvirt_domain_xml *d;
	char why[256], element[200];
	char *xml = NULL;

	if (!domain || (!region_failed && t->have_ram))
		return;
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	/* Without the XML, QMP's own words stay. */
	if (qmp_libvirt_domain_xml(q, &xml, why, sizeof(why)) == 0 &&
	    libvirt_domain_parse(xml, strlen(xml), d, why, sizeof(why)) == 0) {
		if (region_failed)
			explain_region(d, domain, err, errlen);
		else if (!libvirt_ram_is_shared_file(d, why, sizeof(why))) {
			libvirt_memory_backing_xml(element, sizeof(element), NULL);
			qmp_errorf(t->ram_note, sizeof(t->ram_note),
				   "guest RAM of domain %s is not a shared file (%s): add %s to "
				   "<domain> to read rings from guest RAM",
				   domain, why, element);
		}
	}
	free(xml);
	free(d);
}
