/* fuzz_libvirt_xml.c - libFuzzer harness for what vqscope reads from
 * libvirt: a domain's XML (libvirt_domain_parse, then every question
 * asked of the result) and the SOURCE form libvirt:DOMAIN[@URI].  The
 * XML comes from libvirtd but holds whatever the domain's author wrote,
 * so it gets no trust: nothing may crash, hang, or leave a string
 * unterminated or unprintable.
 *
 * Input: the bytes are both the XML and, NUL-terminated, a SOURCE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "live/libvirt_domain.h"

/* Every byte of s is printable ASCII (the parser sanitizes what it keeps). */
static void check_printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct libvirt_domain_xml d;
	struct libvirt_spec spec;
	char err[512], why[256], out[1024], *text;

	if (libvirt_domain_parse((const char *)data, size, &d, err, sizeof(err)) == 0) {
		const struct libvirt_shmem *s = libvirt_trace_shmem(&d);
		size_t kept = d.nshmem < LIBVIRT_SHMEM_MAX ? d.nshmem : LIBVIRT_SHMEM_MAX;

		check_printable(d.name, sizeof(d.name));
		check_printable(d.type, sizeof(d.type));
		check_printable(d.ram_source, sizeof(d.ram_source));
		check_printable(d.ram_access, sizeof(d.ram_access));
		for (size_t i = 0; i < kept; i++) {
			check_printable(d.shmem[i].name, sizeof(d.shmem[i].name));
			check_printable(d.shmem[i].model, sizeof(d.shmem[i].model));
		}
		if (s && (s < d.shmem || s >= d.shmem + kept))
			abort();
		if (!libvirt_ram_is_shared_file(&d, why, sizeof(why)))
			check_printable(why, sizeof(why));
		libvirt_shmem_name(out, sizeof(out), d.name);
		check_printable(out, sizeof(out));
	} else {
		check_printable(err, sizeof(err));
	}

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (libvirt_parse_spec(text, &spec, err, sizeof(err)) == 0) {
		if (!spec.domain[0] || strchr(spec.domain, '@'))
			abort();
		if (strnlen(spec.uri, sizeof(spec.uri)) == sizeof(spec.uri))
			abort();
	}
	free(text);
	return 0;
}
