/* test_libvirt_domain.c - the libvirt parts that need no libvirtd
 * (tui/live/libvirt_domain.c): the SOURCE form libvirt:DOMAIN[@URI], the
 * domain XML as libvirt 9.0 writes it and as people write it (units,
 * several <shmem>, every <memoryBacking> that is not shared file-backed
 * RAM, malformed and hostile XML), and the XML vqscope asks for.  The
 * real libvirtd is tests/libvirt/test-libvirt-domain.sh's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live/libvirt_domain.h"

/* What `virsh dumpxml` printed for a running domain of
 * tests/libvirt/test-libvirt-domain.sh (controllers and inputs cut). */
static const char LIVE_XML[] =
    "<domain type='qemu' id='1' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
    "  <name>vqdev</name>\n"
    "  <uuid>1c165a2b-6439-4aef-9644-b00ac0a24d55</uuid>\n"
    "  <memory unit='KiB'>131072</memory>\n"
    "  <currentMemory unit='KiB'>131072</currentMemory>\n"
    "  <memoryBacking>\n"
    "    <source type='file'/>\n"
    "    <access mode='shared'/>\n"
    "  </memoryBacking>\n"
    "  <vcpu placement='static'>1</vcpu>\n"
    "  <os>\n"
    "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"
    "    <kernel>/tmp/lvdev/vm/vqdemo.elf</kernel>\n"
    "    <cmdline>frames=0 log=frame uart=fast</cmdline>\n"
    "  </os>\n"
    "  <cpu mode='custom' match='exact' check='full'>\n"
    "    <model fallback='forbid'>qemu64</model>\n"
    "  </cpu>\n"
    "  <devices>\n"
    "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
    "    <video>\n"
    "      <model type='virtio' heads='1' primary='yes'/>\n"
    "      <alias name='video0'/>\n"
    "    </video>\n"
    "    <memballoon model='none'/>\n"
    "    <shmem name='vqdev-trace'>\n"
    "      <model type='ivshmem-plain'/>\n"
    "      <size unit='M'>4</size>\n"
    "      <alias name='shmem0'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/>\n"
    "    </shmem>\n"
    "  </devices>\n"
    "  <seclabel type='dynamic' model='dac' relabel='yes'>\n"
    "    <label>+64055:+64055</label>\n"
    "  </seclabel>\n"
    "</domain>\n";

static void parse(const char *xml, struct libvirt_domain_xml *d)
{
	char err[256];

	if (libvirt_domain_parse(xml, strlen(xml), d, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
}

static void test_spec(void **state)
{
	struct libvirt_spec s;
	char err[4096], longer[2048];

	(void)state;
	assert_true(libvirt_is_spec("libvirt:x"));
	assert_false(libvirt_is_spec("/tmp/qmp.sock"));
	assert_false(libvirt_is_spec("libvirt"));
	assert_int_equal(libvirt_parse_spec("libvirt:web1", &s, err, sizeof(err)), 0);
	assert_string_equal(s.domain, "web1");
	assert_string_equal(s.uri, "");
	/* Split at the first '@': a URI may hold one. */
	assert_int_equal(
	    libvirt_parse_spec("libvirt:web1@qemu+ssh://root@host/system", &s, err, sizeof(err)),
	    0);
	assert_string_equal(s.domain, "web1");
	assert_string_equal(s.uri, "qemu+ssh://root@host/system");

	assert_int_equal(libvirt_parse_spec("libvirt:", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "libvirt:: no domain name (libvirt:DOMAIN or libvirt:DOMAIN@URI)");
	assert_int_equal(libvirt_parse_spec("libvirt:@qemu:///system", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no domain name"));
	assert_int_equal(libvirt_parse_spec("libvirt:web1@", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "libvirt:web1@: nothing after '@' (libvirt:DOMAIN@URI, e.g. "
				 "@qemu:///system)");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "libvirt:", 8);
	assert_int_equal(libvirt_parse_spec(longer, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the domain name is longer than 255 bytes"));
	longer[20] = '@';
	assert_int_equal(libvirt_parse_spec(longer, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the URI is longer than 1023 bytes"));
}

static void test_live_xml(void **state)
{
	struct libvirt_domain_xml d;
	const struct libvirt_shmem *s;
	char why[256];

	(void)state;
	parse(LIVE_XML, &d);
	assert_string_equal(d.name, "vqdev");
	assert_string_equal(d.type, "qemu");
	assert_true(d.memory == 128u * 1024 * 1024);
	assert_int_equal(d.nshmem, 1);
	s = libvirt_trace_shmem(&d);
	assert_non_null(s);
	assert_string_equal(s->name, "vqdev-trace");
	assert_string_equal(s->model, "ivshmem-plain");
	assert_true(s->size == 4u * 1024 * 1024);
	assert_false(s->server);
	assert_true(libvirt_ram_is_shared_file(&d, why, sizeof(why)));
	assert_int_equal(d.numa_cells, 0);
}

/* One <domain> around devices and memory backing of a test's choosing. */
static void domain_with(char *out, size_t len, const char *backing, const char *devices)
{
	snprintf(out, len,
		 "<domain type='kvm'><name>d</name><memory unit='GiB'>2</memory>%s"
		 "<devices>%s</devices></domain>",
		 backing, devices);
}

static void test_shmem_choices(void **state)
{
	static const struct {
		const char *devices;
		const char *pick; /* NULL: none usable */
		uint64_t size;
	} cases[] = {
	    {"", NULL, 0},
	    {"<shmem name='bell'><model type='ivshmem-doorbell'/><server/></shmem>", NULL, 0},
	    {"<shmem name='old'><model type='ivshmem'/></shmem>", NULL, 0},
	    {"<shmem name='nomodel'><size unit='M'>4</size></shmem>", NULL, 0},
	    {"<shmem name='plainserver'><model type='ivshmem-plain'/><server/></shmem>", NULL, 0},
	    {"<shmem name='bell'><model type='ivshmem-doorbell'/></shmem>"
	     "<shmem name='vq'><model type='ivshmem-plain'/><size unit='KiB'>64</size></shmem>",
	     "vq", 65536},
	    {"<shmem name='b'><model type='ivshmem-plain'/><size>1048576</size></shmem>", "b",
	     1048576},
	    {"<shmem name='c'><model type='ivshmem-plain'/><size unit='MB'>2</size></shmem>", "c",
	     2000000},
	    {"<shmem name='e'><model type='ivshmem-plain'/><size unit='G'> 1 </size></shmem>", "e",
	     1073741824},
	    /* Sizes that do not parse are 0: discover.c's QMP check says why. */
	    {"<shmem name='f'><model type='ivshmem-plain'/><size unit='M'>4x</size></shmem>", "f",
	     0},
	    {"<shmem name='g'><model type='ivshmem-plain'/><size unit='parsec'>4</size></shmem>",
	     "g", 0},
	    {"<shmem name='h'><model type='ivshmem-plain'/><size unit='EiB'>16</size></shmem>", "h",
	     0},
	    {"<shmem name='i'><model type='ivshmem-plain'/>"
	     "<size>99999999999999999999999</size></shmem>",
	     "i", 0},
	};
	char xml[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct libvirt_domain_xml d;
		const struct libvirt_shmem *s;

		domain_with(xml, sizeof(xml), "", cases[i].devices);
		parse(xml, &d);
		s = libvirt_trace_shmem(&d);
		if (!cases[i].pick) {
			if (s)
				fail_msg("case %zu: picked %s", i, s->name);
			continue;
		}
		if (!s || strcmp(s->name, cases[i].pick) != 0 || s->size != cases[i].size)
			fail_msg("case %zu: picked %s size %llu, not %s size %llu", i,
				 s ? s->name : "nothing", s ? (unsigned long long)s->size : 0ull,
				 cases[i].pick, (unsigned long long)cases[i].size);
	}
}

static void test_many_shmem(void **state)
{
	struct libvirt_domain_xml d;
	char devices[4096] = "", xml[8192];

	(void)state;
	/* More than are kept: counted, and the first ones looked at. */
	for (int i = 0; i < LIBVIRT_SHMEM_MAX + 3; i++) {
		char one[128];

		snprintf(one, sizeof(one), "<shmem name='s%d'><model type='%s'/></shmem>", i,
			 i == LIBVIRT_SHMEM_MAX + 1 ? "ivshmem-plain" : "ivshmem-doorbell");
		strcat(devices, one);
	}
	domain_with(xml, sizeof(xml), "", devices);
	parse(xml, &d);
	assert_int_equal(d.nshmem, LIBVIRT_SHMEM_MAX + 3);
	assert_null(libvirt_trace_shmem(&d));
}

static void test_ram(void **state)
{
	static const struct {
		const char *backing;
		const char *why; /* NULL: shared file */
	} cases[] = {
	    {"", "it has no <memoryBacking>"},
	    {"<memoryBacking/>", "<memoryBacking> has no <source type='file'/>"},
	    {"<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>",
	     "<memoryBacking> has <source type='memfd'/>, not 'file'"},
	    {"<memoryBacking><source type='anonymous'/></memoryBacking>",
	     "<memoryBacking> has <source type='anonymous'/>, not 'file'"},
	    {"<memoryBacking><source type='file'/></memoryBacking>",
	     "<memoryBacking> has no <access mode='shared'/>"},
	    {"<memoryBacking><source type='file'/><access mode='private'/></memoryBacking>",
	     "<memoryBacking> has <access mode='private'/>, not 'shared'"},
	    {"<memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>", NULL},
	    {"<memoryBacking><hugepages/><source type='file'/><access mode='shared'/>"
	     "</memoryBacking>",
	     "<memoryBacking> has <hugepages/>: QEMU keeps that RAM in an unlinked file"},
	    {"<memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>"
	     "<cpu><numa><cell id='0' cpus='0' memory='1' unit='GiB'/>"
	     "<cell id='1' cpus='1' memory='1' unit='GiB'/></numa></cpu>",
	     "it has 2 <numa> cells, a memory backend each; vqscope reads guest RAM from one "
	     "backend only"},
	};
	char xml[1024], why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct libvirt_domain_xml d;

		domain_with(xml, sizeof(xml), cases[i].backing, "");
		parse(xml, &d);
		why[0] = '\0';
		if (libvirt_ram_is_shared_file(&d, why, sizeof(why)) != !cases[i].why)
			fail_msg("case %zu: %s", i, cases[i].why ? "said shared" : why);
		if (cases[i].why && strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: \"%s\", not \"%s\"", i, why, cases[i].why);
	}
}

static void test_bad_xml(void **state)
{
	static const struct {
		const char *xml;
		const char *err; /* a prefix */
	} cases[] = {
	    {"", "domain XML: line "},
	    {"<domain><name>x</name>", "domain XML: line 1: "},
	    {"not xml at all", "domain XML: line 1: "},
	    {"<network><name>default</name></network>",
	     "domain XML: the root element is <network>, not <domain>"},
	    {"<?xml version='1.0'?>\n<domain>\n<devices><shmem name='a'></devices></domain>",
	     "domain XML: line 3: "},
	};
	struct libvirt_domain_xml d;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    libvirt_domain_parse(cases[i].xml, strlen(cases[i].xml), &d, err, sizeof(err)),
		    -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: \"%s\" does not start with \"%s\"", i, err,
				 cases[i].err);
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(
	    libvirt_domain_parse(LIVE_XML, LIBVIRT_XML_MAX + 1ul, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "domain XML: 8388609 bytes, more than 8388608");
}

/* Entities that expand a billion times, and one that names a file: the
 * parser neither expands nor reads them. */
static void test_hostile_xml(void **state)
{
	static const char laughs[] =
	    "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'>"
	    "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c "
	    "'&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
	    "<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'><!ENTITY e "
	    "'&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>"
	    "<!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'><!ENTITY g "
	    "'&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>"
	    "<!ENTITY h '&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;'><!ENTITY i "
	    "'&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;'>"
	    "]><domain><name>&i;</name><devices><shmem name='&i;'>"
	    "<model type='ivshmem-plain'/></shmem></devices></domain>";
	static const char file[] =
	    "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
	    "<domain><name>&x;</name></domain>";
	struct libvirt_domain_xml d;
	char err[256];

	(void)state;
	if (libvirt_domain_parse(laughs, strlen(laughs), &d, err, sizeof(err)) == 0) {
		/* Parsed without expanding: names are cut to fit. */
		assert_true(strlen(d.name) < sizeof(d.name));
		assert_true(d.nshmem == 1);
	}
	if (libvirt_domain_parse(file, strlen(file), &d, err, sizeof(err)) == 0)
		assert_null(strstr(d.name, "root:"));
}

static void test_elements(void **state)
{
	char out[512];

	(void)state;
	libvirt_shmem_xml(out, sizeof(out), "vqtrace-web1", 4u << 20, NULL);
	assert_string_equal(out, "<shmem name='vqtrace-web1'><model type='ivshmem-plain'/>"
				 "<size unit='M'>4</size></shmem>");
	libvirt_shmem_xml(out, sizeof(out), "t", 64u << 10, "  ");
	assert_string_equal(out, "  <shmem name='t'>\n"
				 "    <model type='ivshmem-plain'/>\n"
				 "    <size unit='K'>64</size>\n"
				 "  </shmem>\n");
	libvirt_memory_backing_xml(out, sizeof(out), NULL);
	assert_string_equal(
	    out, "<memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>");
	libvirt_memory_backing_xml(out, sizeof(out), "");
	assert_string_equal(out, "<memoryBacking>\n"
				 "  <source type='file'/>\n"
				 "  <access mode='shared'/>\n"
				 "</memoryBacking>\n");
	libvirt_shmem_name(out, sizeof(out), "web 1/ü");
	assert_string_equal(out, "vqtrace-web-1---");
	libvirt_shmem_name(out, sizeof(out), NULL);
	assert_string_equal(out, "vqtrace");
	/* What the XML says must read back as what was asked for. */
	{
		struct libvirt_domain_xml d;
		char shmem[256], backing[256], xml[1024];

		libvirt_shmem_xml(shmem, sizeof(shmem), "vqtrace-x", 1u << 20, "    ");
		libvirt_memory_backing_xml(backing, sizeof(backing), "  ");
		domain_with(xml, sizeof(xml), backing, shmem);
		parse(xml, &d);
		assert_non_null(libvirt_trace_shmem(&d));
		assert_true(libvirt_trace_shmem(&d)->size == 1u << 20);
		assert_true(libvirt_ram_is_shared_file(&d, out, sizeof(out)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec),	  cmocka_unit_test(test_live_xml),
	    cmocka_unit_test(test_shmem_choices), cmocka_unit_test(test_many_shmem),
	    cmocka_unit_test(test_ram),		  cmocka_unit_test(test_bad_xml),
	    cmocka_unit_test(test_hostile_xml),	  cmocka_unit_test(test_elements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
