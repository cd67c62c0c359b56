/* shm.h - mapping the trace region inside a guest: the BAR2 of an
 * ivshmem-plain PCI device found through sysfs, or a file. */
#ifndef TRACER_SHM_H
#define TRACER_SHM_H

#include <stddef.h>

struct shm_region {
	void *base;
	size_t size;
	char path[512]; /* what was mapped */
};

/* spec: "auto" (the first ivshmem-plain device, PCI 1af4:1110), a PCI
 * address ("0000:00:04.0") or the path of a file to map.  The PCI device
 * is enabled first.  Returns 0, or -1 with err filled. */
int shm_map(const char *spec, struct shm_region *out, char *err, size_t errlen);
/* NULL-safe on a region that was never mapped. */
void shm_unmap(struct shm_region *r);

#endif /* TRACER_SHM_H */
