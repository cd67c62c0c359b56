/* discover.h - find a VM's trace region and guest RAM through QMP, and
 * map them.
 *
 * The trace region is the memory backend of an ivshmem-plain device:
 *
 *   -object memory-backend-file,id=vqtrace,size=4M,mem-path=FILE,share=on
 *   -device ivshmem-plain,memdev=vqtrace
 *
 * discover_target() finds the device with qom-list of /machine/peripheral
 * and /machine/peripheral-anon, follows its "memdev" link and reads the
 * backend's "mem-path", "size" and "share" with qom-get.  Guest RAM is
 * readable too when the machine's memory backend is a shared file:
 *
 *   -object memory-backend-file,id=ram,size=128M,mem-path=FILE,share=on
 *   -machine memory-backend=ram
 *
 * The region file is mapped read-only.  Its control page gets a separate
 * small read-write mapping, but only once the header was validated as a
 * vqscope region (target_map_control): a file that is not one is never
 * written.  Guest RAM is mapped read-only.
 * Addresses used to look into guest RAM come from the guest (queue table)
 * or from QEMU (x-query-virtio-queue-status) and are bounds-checked by
 * guest_ram_ptr().
 */
#ifndef VQ_DISCOVER_H
#define VQ_DISCOVER_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"

struct qmp;

#define VQ_QOM_PATH_MAX 256

struct vq_target {
	char qmp_path[108];			/* QMP socket (qmp_socket_path) */
	char qemu_version[32];			/* "7.2.22" */
	char machine_type[64];			/* "pc-q35-7.2" (QOM type minus "-machine") */
	char ivshmem_qom_path[VQ_QOM_PATH_MAX]; /* "/machine/peripheral-anon/device[0]" */
	char memdev_path[VQ_QOM_PATH_MAX];	/* "/objects/vqtrace" */
	char memdev_id[128];			/* "vqtrace" */
	char region_path[PATH_MAX];		/* the backend's mem-path */
	uint64_t region_size;			/* the backend's size */
	unsigned ivshmem_count;			/* usable ivshmem-plain devices seen */
	bool have_ram;				/* guest RAM is a shared file */
	char ram_memdev_path[VQ_QOM_PATH_MAX];	/* "/objects/ram" */
	char ram_path[PATH_MAX];
	uint64_t ram_size;
	uint64_t ram_below_4g; /* guest-physical RAM below 4 GiB; the rest starts at 4 GiB */
	char ram_note[512];    /* when !have_ram: why, and how to enable it;
				* else why mapping it failed, if it did */
};

/* Fill t for the VM behind q.  Picks the ivshmem-plain device whose
 * backend is a share=on memory-backend-file (preferring id "vqtrace", or
 * a file whose name starts with "vqtrace", when there are several).  On a
 * libvirt domain, what is missing is said as the domain XML to add
 * (libvirt_domain.h).  Guest RAM is optional: have_ram false with
 * ram_note set is not an error.  Returns 0, or -1 with err saying what is
 * missing and how to fix it ("no ivshmem-plain device in this VM (vqscope
 * needs -device ivshmem-plain,memdev=...)", "... must be share=on"). */
int discover_target(struct qmp *q, struct vq_target *t, char *err, size_t errlen);

/* RAM below 4 GiB for a machine type, as QEMU 7.2 lays it out
 * (hw/i386/pc_q35.c, hw/i386/pc_piix.c):
 *
 *   q35:     lowmem = ram >= 0xb0000000 ? 0x80000000 : 0xb0000000,
 *            capped by max-ram-below-4g (0 = 4 GiB)
 *   i440fx:  lowmem = max-ram-below-4g (0 = 0xe0000000), and when
 *            ram >= that, at most 0xc0000000 (gigabyte alignment, all
 *            machine versions since pc-i440fx-1.7)
 *   both:    below_4g = min(ram, lowmem); RAM beyond that is mapped at
 *            guest-physical 4 GiB and follows below_4g in the file.
 *
 * machine_type is the QOM type or its short form ("pc-q35-7.2-machine",
 * "pc-q35-7.2", "q35", "pc-i440fx-7.2", "pc").  Returns false for machine
 * types whose layout is not known here (*below_4g is then ram_size). */
bool discover_ram_below_4g(const char *machine_type, uint64_t ram_size, uint64_t max_ram_below_4g,
			   uint64_t *below_4g);

/* From a qom-list result (array of {"name", "type"}), the paths
 * CONTAINER/NAME of the children whose type is "child<TYPE>".  Up to max
 * go into paths; *count gets the total.  -1 with err when list is
 * malformed.  Exposed for tests and fuzzing. */
int discover_children_of_type(json_object *list, const char *container, const char *type,
			      char (*paths)[VQ_QOM_PATH_MAX], size_t max, size_t *count, char *err,
			      size_t errlen);

/* ---- mapping ---------------------------------------------------------------- */

struct vq_mapping {
	const uint8_t *region; /* whole trace region, read-only, or NULL */
	size_t region_size;
	int region_fd;	       /* the region file, open while region is mapped */
	bool control_writable; /* the file could be opened for writing */
	char region_path[PATH_MAX];
	void *control;	    /* the control page (VQT_CONTROL_OFFSET, 4096 bytes),
			     * read-write once target_map_control() ran, else NULL */
	const uint8_t *ram; /* guest RAM file, read-only, or NULL */
	uint64_t ram_size;
	uint64_t ram_below_4g;
	int ram_fd;	  /* the guest RAM file, open while ram is mapped */
	bool ram_faulted; /* a read of ram hit the end of its (shrunk) file */
};

/* Who may open path: "PATH is USER:GROUP, mode 0644", or the same of
 * the first directory on its way that we may not search.  For messages
 * about files we cannot open. */
void discover_describe_access(const char *path, char *out, size_t outlen);

/* Map the trace region file, all of it read-only.  The file must be a
 * regular file at least t->region_size long.  0 or -1 with err. */
int target_map_region(const struct vq_target *t, struct vq_mapping *out, char *err, size_t errlen);
/* Map the control page read-write, for step mode and the other controls.
 * Call it only after vqp_region_sync() validated the header: nothing is
 * ever written into a file that is not a vqscope region.  -1 with err when
 * the file is read-only to us. */
int target_map_control(struct vq_mapping *m, char *err, size_t errlen);

/* Map the guest RAM file read-only (t->have_ram must be true). */
int target_map_ram(const struct vq_target *t, struct vq_mapping *out, char *err, size_t errlen);

/* Undo both mappings; m is zeroed.  Safe on a zeroed or partly mapped m. */
void target_unmap(struct vq_mapping *m);
/* Undo one of them (the region with its control page). */
void target_unmap_region(struct vq_mapping *m);
void target_unmap_ram(struct vq_mapping *m);

/* Pointer to guest-physical [gpa, gpa + len) in the RAM mapping, or NULL
 * when any of it lies outside guest RAM, straddles the gap below 4 GiB,
 * wraps around, or len is 0.  gpa and len usually come from the guest. */
const void *guest_ram_ptr(const struct vq_mapping *m, uint64_t gpa, size_t len);

/* A reader of guest RAM through m's mapping for the core (copies, with
 * guest_ram_ptr's checks, under a SIGBUS guard: when the file shrank the
 * read fails and m->ram_faulted is set); m must outlive out. */
void target_guest_mem(const struct vq_mapping *m, struct guest_mem *out);

#endif /* VQ_DISCOVER_H */
