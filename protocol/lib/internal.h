/* internal.h - helpers shared by the libvqproto modules; not installed. */
#ifndef VQPROTO_INTERNAL_H
#define VQPROTO_INTERNAL_H

#include <stddef.h>

/* Fill a caller's one-line error buffer (no-op when err is NULL). */
void vqp__set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Make a string from untrusted bytes safe to print: stop at the first NUL
 * or at cap bytes, replace anything outside printable ASCII with '?', and
 * terminate.  dst has room for cap + 1 bytes; src and dst may be equal. */
void vqp__printable(char *dst, const volatile char *src, size_t cap);

#endif /* VQPROTO_INTERNAL_H */
