/* guest_image.h - a flat guest RAM image for the core's unit tests
 * (tests/unit/test_core_*.c): RAM bytes at guest-physical 0, the struct
 * guest_mem reader the core takes, and little-endian stores to craft
 * rings in it.  Header only, so the core's tests link nothing more than
 * the core and libvqproto; include it once per test program. */
#ifndef VQ_TEST_GUEST_IMAGE_H
#define VQ_TEST_GUEST_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/guest_mem.h"

#define RAM 0x20000u /* bytes of the image */

static uint8_t ram[RAM];

/* Reads past the image fail, as reads outside guest RAM do. */
static inline bool read_image(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	if (gpa > RAM || len > RAM - gpa)
		return false;
	memcpy(buf, ram + gpa, len);
	return true;
}

static const struct guest_mem mem = {read_image, NULL};

static inline void put16(uint64_t at, uint16_t v)
{
	memcpy(ram + at, &v, 2);
}

static inline void put32(uint64_t at, uint32_t v)
{
	memcpy(ram + at, &v, 4);
}

#endif /* VQ_TEST_GUEST_IMAGE_H */
