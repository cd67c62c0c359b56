/* cmd_libvirt_xml.c - vqscope libvirt-xml: print the domain XML elements
 * vqscope needs (<shmem> for the trace region, <memoryBacking> for guest
 * RAM), or, for a given domain, only those its definition lacks. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "live/libvirt_domain.h"
#include "live/qmp_libvirt.h"
#include "vqtrace.h"

static const char help[] =
    "usage: vqscope libvirt-xml [OPTIONS] [DOMAIN]\n"
    "\n"
    "Print the libvirt domain XML that vqscope needs: a <shmem> device for the\n"
    "trace region (it goes into <devices>) and <memoryBacking> with shared,\n"
    "file-backed guest RAM (it goes into <domain>; optional, for descriptor\n"
    "chains read from guest RAM).  With DOMAIN (NAME, libvirt:NAME or\n"
    "libvirt:NAME@URI) read that domain's definition and print only what it\n"
    "lacks; add it with `virsh edit NAME` and restart the domain.\n"
    "docs/libvirt.md explains the elements and has a complete example.\n"
    "\n"
    "  -n, --name NAME     the shmem name, which is the file /dev/shm/NAME\n"
    "                      (default vqtrace-DOMAIN, or vqtrace)\n"
    "  -s, --size SIZE     trace region size, a power of two from 64K to 1G\n"
    "                      (default 4M)\n"
    "  -c, --connect URI   libvirt URI for a DOMAIN given as a plain name\n"
    "                      (default $LIBVIRT_DEFAULT_URI, else qemu:///system)\n"
    "  -h, --help          this text\n";

struct xml_args {
	const char *name;
	const char *uri;
	uint64_t size;
};

static int xml_option(void *ctx, int c, const char *arg)
{
	struct xml_args *a = ctx;

	switch (c) {
	case 'n':
		if (!*arg || strchr(arg, '/') || strchr(arg, '\'') || strlen(arg) > 200) {
			cli_error("libvirt-xml", "--name: '%s' is not a file name in /dev/shm",
				  arg);
			return EXIT_USAGE;
		}
		a->name = arg;
		return 0;
	case 's':
		if (!parse_size(arg, &a->size) || a->size < VQT_REGION_MIN ||
		    a->size > VQT_REGION_MAX || (a->size & (a->size - 1))) {
			cli_error("libvirt-xml",
				  "--size: '%s' is not a power of two from 64K to 1G", arg);
			return EXIT_USAGE;
		}
		return 0;
	default: /* 'c' */
		a->uri = arg;
		return 0;
	}
}

static void print_both(const struct xml_args *a, const char *domain)
{
	char name[256], xml[600];

	if (a->name)
		snprintf(name, sizeof(name), "%s", a->name);
	else
		libvirt_shmem_name(name, sizeof(name), domain);
	printf("<!-- in <devices>: the trace region, the file /dev/shm/%s -->\n", name);
	libvirt_shmem_xml(xml, sizeof(xml), name, a->size, "");
	fputs(xml, stdout);
	printf("<!-- in <domain>: guest RAM in a shared file, for rings read from guest RAM "
	       "-->\n");
	libvirt_memory_backing_xml(xml, sizeof(xml), "");
	fputs(xml, stdout);
}

static int check_domain(const struct xml_args *a, const char *spec)
{
	struct libvirt_spec ls;
	struct libvirt_xml_read rd;
	struct libvirt_domain_xml *d;
	const struct libvirt_shmem *shm;
	char err[600], why[256], xml[600], name[256];
	bool ram_ok;
	int missing = 0;

	if (libvirt_is_spec(spec)) {
		if (libvirt_parse_spec(spec, &ls, err, sizeof(err)) != 0) {
			cli_error("libvirt-xml", "%s", err);
			return EXIT_USAGE;
		}
	} else {
		memset(&ls, 0, sizeof(ls));
		if (strlen(spec) >= sizeof(ls.domain)) {
			cli_error("libvirt-xml", "%s: the domain name is too long", spec);
			return EXIT_USAGE;
		}
		memcpy(ls.domain, spec, strlen(spec) + 1);
	}
	if (a->uri && !ls.uri[0])
		snprintf(ls.uri, sizeof(ls.uri), "%s", a->uri);
	if (qmp_libvirt_read_xml(ls.domain, ls.uri, &rd, err, sizeof(err)) != 0) {
		cli_error("libvirt-xml", "%s", err);
		return EXIT_FAIL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || libvirt_domain_parse(rd.xml, strlen(rd.xml), d, err, sizeof(err)) != 0) {
		cli_error("libvirt-xml", "%s: %s", ls.domain, d ? err : "out of memory");
		free(d);
		free(rd.xml);
		return EXIT_FAIL;
	}
	shm = libvirt_trace_shmem(d);
	ram_ok = libvirt_ram_is_shared_file(d, why, sizeof(why));
	printf("<!-- domain %s at %s (%s%s) -->\n", d->name, rd.uri,
	       rd.persistent ? "its definition" : "transient, its live XML",
	       rd.running ? ", running" : "");
	if (shm) {
		printf("<!-- trace region: <shmem name='%s'>, /dev/shm/%s -->\n", shm->name,
		       shm->name);
		if (shm->size < VQT_REGION_MIN || shm->size > VQT_REGION_MAX ||
		    (shm->size & (shm->size - 1)))
			printf("<!-- its size, %" PRIu64
			       " bytes, is not a power of two from 64K to "
			       "1G: change <size> -->\n",
			       shm->size);
	} else {
		missing++;
		if (a->name)
			snprintf(name, sizeof(name), "%s", a->name);
		else
			libvirt_shmem_name(name, sizeof(name), d->name);
		printf("<!-- in <devices>: the trace region, the file /dev/shm/%s%s -->\n", name,
		       d->nshmem ? " (its <shmem> elements are not ivshmem-plain)" : "");
		libvirt_shmem_xml(xml, sizeof(xml), name, a->size, "");
		fputs(xml, stdout);
	}
	if (ram_ok) {
		printf("<!-- guest RAM: a shared file -->\n");
	} else {
		missing++;
		printf("<!-- in <domain>: guest RAM in a shared file (now %s) -->\n", why);
		libvirt_memory_backing_xml(xml, sizeof(xml), "");
		fputs(xml, stdout);
	}
	if (missing && rd.persistent)
		printf("<!-- add with: virsh -c %s edit %s%s -->\n", rd.uri, d->name,
		       rd.running ? ", then restart the domain" : "");
	else if (missing)
		printf("<!-- add to the XML the domain is created from (virsh create FILE) -->\n");
	free(d);
	free(rd.xml);
	return EXIT_OK;
}

int cmd_libvirt_xml(int argc, char **argv)
{
	static const struct option longopts[] = {{"name", required_argument, NULL, 'n'},
						 {"size", required_argument, NULL, 's'},
						 {"connect", required_argument, NULL, 'c'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	static const struct cli_spec spec = {"libvirt-xml", help, "n:s:c:h",
					     longopts,	    -1,	  "DOMAIN"};
	struct xml_args a = {.size = LIBVIRT_REGION_DEFAULT};
	int first, rc = cli_parse(&spec, argc, argv, xml_option, &a, &first);

	if (rc != CLI_RUN)
		return rc;
	if (argc - first > 1) {
		cli_error("libvirt-xml", "needs at most one DOMAIN");
		return EXIT_USAGE;
	}
	if (argc - first == 1)
		return check_domain(&a, argv[first]);
	print_both(&a, NULL);
	return EXIT_OK;
}
