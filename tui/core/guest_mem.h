/* guest_mem.h - how the core reads guest memory without doing I/O
 * itself: the live layer hands it a reader (a mapping of guest RAM, with
 * its own guard against the file shrinking), tests hand it a crafted
 * image.  Everything read through it is untrusted. */
#ifndef VQ_GUEST_MEM_H
#define VQ_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	/* Copy len bytes at guest-physical address gpa into buf.  False
	 * when any of them is outside guest RAM or cannot be read now. */
	bool (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
	void *ctx;
};

static inline bool guest_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len)
{
	return mem && mem->read && mem->read(mem->ctx, gpa, buf, len);
}

#endif /* VQ_GUEST_MEM_H */
