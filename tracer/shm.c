/* shm.c - find and map the trace region for vqscope-trace --shm.
 *
 * QEMU's ivshmem-plain device (PCI vendor 0x1af4, device 0x1110) exposes
 * its shared memory as BAR2, which Linux offers as the sysfs file
 * resource2.  The mapping is uncached (sysfs maps non-write-combining
 * BARs so): the publication order of the trace region's stores then holds
 * without extra fences.
 */
#include "shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCI_DEVICES	     "/sys/bus/pci/devices"
#define IVSHMEM_VENDOR	     0x1af4u
#define IVSHMEM_PLAIN_DEVICE 0x1110u

static int read_hex_file(const char *path, unsigned *out)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%x", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* The PCI vendor and device IDs of ADDRESS, from sysfs; -1 if there is no
 * such device. */
static int read_ids(const char *address, unsigned *vendor, unsigned *device)
{
	char path[512];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vendor", address);
	if (read_hex_file(path, vendor) != 0)
		return -1;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/device", address);
	return read_hex_file(path, device);
}

static int is_ivshmem_plain(const char *address)
{
	unsigned vendor, device;

	if (read_ids(address, &vendor, &device) != 0)
		return 0;
	return vendor == IVSHMEM_VENDOR && device == IVSHMEM_PLAIN_DEVICE;
}

/* Why --shm SPEC (sysfs name ADDRESS) is no ivshmem-plain device: there is
 * no such PCI device (perhaps a file was meant), or it is another one. */
static void explain_not_ivshmem(const char *spec, const char *address, char *err, size_t errlen)
{
	unsigned vendor, device;

	if (read_ids(address, &vendor, &device) != 0)
		snprintf(err, errlen,
			 "--shm %s: no PCI device %s in " PCI_DEVICES " (an address is "
			 "[DOMAIN:]BUS:DEVICE.FUNCTION, as 0000:00:08.0; a file in the current "
			 "directory is ./%s)",
			 spec, address, spec);
	else
		snprintf(err, errlen,
			 "--shm %s: PCI device %s is %04x:%04x, not ivshmem-plain (1af4:1110)",
			 spec, address, vendor, device);
}

/* The first ivshmem-plain device in address order. */
static int find_ivshmem(char *address, size_t len, char *err, size_t errlen)
{
	struct dirent **list;
	int n = scandir(PCI_DEVICES, &list, NULL, alphasort);
	int found = 0;

	if (n < 0) {
		snprintf(err, errlen, "cannot list %s: %s", PCI_DEVICES, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (!found && list[i]->d_name[0] != '.' && is_ivshmem_plain(list[i]->d_name)) {
			snprintf(address, len, "%s", list[i]->d_name);
			found = 1;
		}
		free(list[i]);
	}
	free(list);
	if (!found) {
		snprintf(err, errlen,
			 "no ivshmem-plain PCI device (1af4:1110) in %s: start QEMU with "
			 "-device ivshmem-plain,memdev=...",
			 PCI_DEVICES);
		return -1;
	}
	return 0;
}

/* The sysfs name of the PCI address SPEC: lspci prints BUS:DEVICE.FUNCTION
 * without the domain when it is 0000, sysfs always has it. */
static void pci_sysfs_name(const char *spec, char *out, size_t len)
{
	const char *colon = strchr(spec, ':');

	if (colon && colon == strrchr(spec, ':'))
		snprintf(out, len, "0000:%s", spec);
	else
		snprintf(out, len, "%s", spec);
}

/* Memory decoding must be on before BAR2 can be used. */
static int enable_device(const char *address, char *err, size_t errlen)
{
	char path[512];
	unsigned enabled = 0;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/enable", address);
	if (read_hex_file(path, &enabled) == 0 && enabled)
		return 0;
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		snprintf(err, errlen, "cannot enable PCI device %s (%s): %s", address, path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int shm_map(const char *spec, struct shm_region *out, char *err, size_t errlen)
{
	char address[256];
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	if (strcmp(spec, "auto") == 0 || strchr(spec, '/') == NULL) {
		if (strcmp(spec, "auto") == 0) {
			if (find_ivshmem(address, sizeof(address), err, errlen) != 0)
				return -1;
		} else {
			pci_sysfs_name(spec, address, sizeof(address));
			if (!is_ivshmem_plain(address)) {
				explain_not_ivshmem(spec, address, err, errlen);
				return -1;
			}
		}
		if (enable_device(address, err, errlen) != 0)
			return -1;
		snprintf(out->path, sizeof(out->path), PCI_DEVICES "/%s/resource2", address);
	} else {
		snprintf(out->path, sizeof(out->path), "%s", spec);
	}

	fd = open(out->path, O_RDWR | O_SYNC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", out->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size <= 0) {
		snprintf(err, errlen, "%s: cannot tell its size", out->path);
		close(fd);
		return -1;
	}
	out->size = (size_t)st.st_size;
	out->base = mmap(NULL, out->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (out->base == MAP_FAILED) {
		out->base = NULL;
		snprintf(err, errlen, "cannot map %s (%zu bytes): %s", out->path, out->size,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void shm_unmap(struct shm_region *r)
{
	if (r && r->base) {
		munmap(r->base, r->size);
		r->base = NULL;
	}
}
