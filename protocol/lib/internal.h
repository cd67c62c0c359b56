/* internal.h - helpers shared by the libvqproto modules; not installed. */
#ifndef VQPROTO_INTERNAL_H
#define VQPROTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Fill a caller's one-line error buffer (no-op when err is NULL). */
void vqp__set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Make a string from untrusted bytes safe to print: stop at the first NUL
 * or at cap bytes, replace anything outside printable ASCII with '?', and
 * terminate.  dst has room for cap + 1 bytes; src and dst may be equal. */
void vqp__printable(char *dst, const volatile char *src, size_t cap);

/* CRC32C with the table only, whatever the CPU has (tests compare it with
 * vqp_crc32c, which uses SSE4.2 when present). */
uint32_t vqp__crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif /* VQPROTO_INTERNAL_H */
