/* util.c - small helpers shared by the libvqproto modules. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "vqproto.h"

size_t vqp_copy_string(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (cap == 0)
		return 0;
	n = src ? strnlen(src, cap - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	memset(dst + n, 0, cap - n);
	return n;
}

void vqp__set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void vqp__printable(char *dst, const volatile char *src, size_t cap)
{
	size_t i;

	for (i = 0; i < cap; i++) {
		char c = src[i];

		if (c == 0)
			break;
		dst[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[i] = 0;
}
