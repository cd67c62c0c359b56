/* discover.c - find the trace region (ivshmem-plain memdev) and guest RAM
 * of a VM through QMP qom-list/qom-get, and map both files.  See
 * discover.h for the command lines this expects and the RAM layout rule.
 */
#include "discover.h"
#include "guard.h"
#include "libvirt_domain.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qmp.h"
#include "vqproto.h"
#include "vqtrace.h"

#define GIB	    ((uint64_t)1024 * 1024 * 1024)
#define FOUR_GIB    (4 * GIB)
#define MAX_IVSHMEM 16 /* ivshmem-plain devices looked at */

static const char NEED_IVSHMEM[] =
    "vqscope needs -object memory-backend-file,id=vqtrace,size=4M,mem-path=FILE,share=on "
    "-device ivshmem-plain,memdev=vqtrace";

int discover_children_of_type(json_object *list, const char *container, const char *type,
			      char (*paths)[VQ_QOM_PATH_MAX], size_t max, size_t *count, char *err,
			      size_t errlen)
{
	char context[VQ_QOM_PATH_MAX + 40], want[96], name[VQ_QOM_PATH_MAX];
	size_t n, found = 0;

	snprintf(context, sizeof(context), "QMP: qom-list %s", container);
	snprintf(want, sizeof(want), "child<%s>", type);
	*count = 0;
	if (!json_object_is_type(list, json_type_array)) {
		qmp_errorf(err, errlen, "%s: reply is not an array", context);
		return -1;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i);
		char item_ctx[sizeof(context) + 32];

		snprintf(item_ctx, sizeof(item_ctx), "%s item %zu", context, i);
		json_object *ctype =
		    qmp_member(item, "type", json_type_string, item_ctx, err, errlen);
		if (!ctype)
			return -1;
		if (strcmp(json_object_get_string(ctype), want) != 0)
			continue;
		if (qmp_member_string(item, "name", QMP_STR_PRINTABLE, name, sizeof(name), item_ctx,
				      err, errlen) != 0)
			return -1;
		if (strchr(name, '/')) {
			qmp_errorf(err, errlen, "%s: child name \"%s\" contains '/'", item_ctx,
				   name);
			return -1;
		}
		if (found < max && snprintf(paths[found], VQ_QOM_PATH_MAX, "%s/%s", container,
					    name) >= VQ_QOM_PATH_MAX) {
			qmp_errorf(err, errlen, "%s: path %s/%s is too long", item_ctx, container,
				   name);
			return -1;
		}
		found++;
	}
	*count = found;
	return 0;
}

/* Strip "-machine" and classify. */
static int machine_kind(const char *machine_type)
{
	if (strstr(machine_type, "q35"))
		return 1;
	if (strstr(machine_type, "i440fx") || strcmp(machine_type, "pc") == 0 ||
	    strcmp(machine_type, "pc-machine") == 0)
		return 2;
	return 0;
}

bool discover_ram_below_4g(const char *machine_type, uint64_t ram_size, uint64_t max_ram_below_4g,
			   uint64_t *below_4g)
{
	uint64_t lowmem;

	*below_4g = ram_size;
	switch (machine_kind(machine_type)) {
	case 1: /* q35: hw/i386/pc_q35.c pc_q35_init() */
		lowmem = ram_size >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
		if (!max_ram_below_4g)
			max_ram_below_4g = FOUR_GIB;
		if (lowmem > max_ram_below_4g)
			lowmem = max_ram_below_4g;
		break;
	case 2: /* i440fx: hw/i386/pc_piix.c pc_init1() */
		if (!max_ram_below_4g)
			max_ram_below_4g = 0xe0000000ull;
		if (max_ram_below_4g > FOUR_GIB)
			max_ram_below_4g = FOUR_GIB;
		lowmem = max_ram_below_4g;
		if (ram_size >= max_ram_below_4g && lowmem > 0xc0000000ull)
			lowmem = 0xc0000000ull;
		break;
	default:
		return false;
	}
	if (ram_size >= lowmem)
		*below_4g = lowmem;
	return true;
}

/* qom-get PATH PROPERTY: the value (new reference) or NULL with err. */
static json_object *qom_get(struct qmp *q, const char *path, const char *property, char *err,
			    size_t errlen)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "property", json_object_new_string(property));
	return qmp_execute(q, "qom-get", args, QMP_DEFAULT_TIMEOUT_MS, err, errlen);
}

static int qom_get_string(struct qmp *q, const char *path, const char *property, unsigned kind,
			  char *out, size_t outlen, bool allow_empty, char *err, size_t errlen)
{
	char context[VQ_QOM_PATH_MAX + 64], what[80];
	json_object *v = qom_get(q, path, property, err, errlen);
	int rc;

	if (!v)
		return -1;
	if (allow_empty && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0) {
		out[0] = '\0';
		json_object_put(v);
		return 0;
	}
	snprintf(context, sizeof(context), "QMP: qom-get %s", path);
	snprintf(what, sizeof(what), "property \"%s\"", property);
	rc = qmp_check_string(v, what, kind, out, outlen, context, err, errlen);
	json_object_put(v);
	return rc;
}

static int qom_get_uint(struct qmp *q, const char *path, const char *property, uint64_t *out,
			char *err, size_t errlen)
{
	json_object *v = qom_get(q, path, property, err, errlen);
	json_object *wrap;
	char context[VQ_QOM_PATH_MAX + 64];
	int rc;

	if (!v)
		return -1;
	/* Reuse the member checks by wrapping the bare value. */
	wrap = json_object_new_object();
	json_object_object_add(wrap, property, v);
	snprintf(context, sizeof(context), "QMP: qom-get %s", path);
	rc = qmp_member_uint(wrap, property, UINT64_MAX, out, context, err, errlen);
	json_object_put(wrap);
	return rc;
}

static int qom_get_bool(struct qmp *q, const char *path, const char *property, bool *out, char *err,
			size_t errlen)
{
	json_object *v = qom_get(q, path, property, err, errlen);
	char context[VQ_QOM_PATH_MAX + 64];

	if (!v)
		return -1;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(context, sizeof(context), "QMP: qom-get %s", path);
		qmp_errorf(err, errlen, "%s: property \"%s\" is not a boolean", context, property);
		json_object_put(v);
		return -1;
	}
	*out = json_object_get_boolean(v);
	json_object_put(v);
	return 0;
}

/* A link property's value is a canonical path; accept a bare id too.
 * Returns false when it does not fit. */
static bool object_path(char *out, size_t outlen, const char *link)
{
	int n = snprintf(out, outlen, "%s%s", link[0] == '/' ? "" : "/objects/", link);

	return n > 0 && (size_t)n < outlen;
}

/* The backend at path: its type, mem-path, size and share flag.  On a
 * problem, why says it in words and the result is 1 (unusable) or -1
 * (QMP failed). */
struct backend_info {
	char type[64];
	char mem_path[PATH_MAX];
	uint64_t size;
	bool share;
};

static int read_backend(struct qmp *q, const char *path, struct backend_info *b, char *err,
			size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (qom_get_string(q, path, "type", QMP_STR_PRINTABLE, b->type, sizeof(b->type), false, err,
			   errlen) != 0)
		return -1;
	if (strcmp(b->type, "memory-backend-file") != 0)
		return 1;
	if (qom_get_string(q, path, "mem-path", QMP_STR_PATH, b->mem_path, sizeof(b->mem_path),
			   false, err, errlen) != 0 ||
	    qom_get_uint(q, path, "size", &b->size, err, errlen) != 0 ||
	    qom_get_bool(q, path, "share", &b->share, err, errlen) != 0)
		return -1;
	return 0;
}

static void strip_suffix(char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n > m && strcmp(s + n - m, suffix) == 0)
		s[n - m] = '\0';
}

/* Check one ivshmem-plain device; 0 usable (t filled), 1 unusable (why
 * in err), -1 QMP failure. */
static int check_ivshmem(struct qmp *q, const char *dev, struct vq_target *t, char *err,
			 size_t errlen)
{
	char link[VQ_QOM_PATH_MAX], path[VQ_QOM_PATH_MAX];
	struct backend_info b;
	const char *id;
	int rc;

	if (qom_get_string(q, dev, "memdev", QMP_STR_PRINTABLE, link, sizeof(link), true, err,
			   errlen) != 0)
		return -1;
	if (!link[0]) {
		qmp_errorf(err, errlen, "ivshmem-plain %s has no memdev (%s)", dev, NEED_IVSHMEM);
		return 1;
	}
	if (!object_path(path, sizeof(path), link)) {
		qmp_errorf(err, errlen, "ivshmem-plain %s: memdev path %s is too long", dev, link);
		return -1;
	}
	id = strrchr(path, '/') + 1;
	rc = read_backend(q, path, &b, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		qmp_errorf(err, errlen,
			   "ivshmem-plain %s uses memdev %s, a %s: the trace region must be a "
			   "memory-backend-file with mem-path=FILE and share=on",
			   dev, id, b.type);
		return 1;
	}
	if (!b.share) {
		qmp_errorf(
		    err, errlen,
		    "ivshmem-plain %s uses memdev %s with share=off: the trace region must be "
		    "share=on (-object memory-backend-file,id=%s,...,share=on)",
		    dev, id, id);
		return 1;
	}
	if (b.mem_path[0] != '/') {
		qmp_errorf(err, errlen,
			   "memdev %s has mem-path %s, relative to QEMU's working directory: give "
			   "an absolute path",
			   id, b.mem_path);
		return 1;
	}
	if (b.size < VQT_REGION_MIN || b.size > VQT_REGION_MAX) {
		qmp_errorf(err, errlen,
			   "memdev %s is %" PRIu64 " bytes; a trace region is %u KiB to %u MiB", id,
			   b.size, VQT_REGION_MIN / 1024, VQT_REGION_MAX / (1024 * 1024));
		return 1;
	}
	snprintf(t->ivshmem_qom_path, sizeof(t->ivshmem_qom_path), "%s", dev);
	snprintf(t->memdev_path, sizeof(t->memdev_path), "%s", path);
	snprintf(t->memdev_id, sizeof(t->memdev_id), "%s", id);
	snprintf(t->region_path, sizeof(t->region_path), "%s", b.mem_path);
	t->region_size = b.size;
	return 0;
}

/* The memdev is "vqtrace", or its file's name starts with "vqtrace" (a
 * libvirt <shmem name='vqtrace-DOMAIN'>, whose memdev libvirt names). */
static bool named_vqtrace(const struct vq_target *t)
{
	const char *base = strrchr(t->region_path, '/');

	return strcmp(t->memdev_id, "vqtrace") == 0 ||
	       strncmp(base ? base + 1 : t->region_path, "vqtrace", 7) == 0;
}

static int find_region(struct qmp *q, struct vq_target *t, char *err, size_t errlen)
{
	static const char *const containers[] = {"/machine/peripheral", "/machine/peripheral-anon"};
	char devs[MAX_IVSHMEM][VQ_QOM_PATH_MAX];
	char first_problem[512] = "";
	size_t ndevs = 0, doorbells = 0;
	struct vq_target best;
	unsigned usable = 0;

	for (size_t c = 0; c < 2; c++) {
		json_object *args = json_object_new_object(), *list;
		char one[1][VQ_QOM_PATH_MAX];
		size_t n = 0, nd = 0;
		int rc;

		json_object_object_add(args, "path", json_object_new_string(containers[c]));
		list = qmp_execute(q, "qom-list", args, QMP_DEFAULT_TIMEOUT_MS, err, errlen);
		if (!list)
			return -1;
		rc = discover_children_of_type(list, containers[c], "ivshmem-plain", devs + ndevs,
					       MAX_IVSHMEM - ndevs, &n, err, errlen);
		if (rc == 0)
			rc = discover_children_of_type(list, containers[c], "ivshmem-doorbell", one,
						       1, &nd, err, errlen);
		json_object_put(list);
		if (rc != 0)
			return -1;
		ndevs += n < MAX_IVSHMEM - ndevs ? n : MAX_IVSHMEM - ndevs;
		doorbells += nd;
	}
	if (ndevs == 0) {
		qmp_errorf(err, errlen, "no ivshmem-plain device in this VM%s (%s)",
			   doorbells ? " (ivshmem-doorbell is not supported)" : "", NEED_IVSHMEM);
		return -1;
	}
	for (size_t i = 0; i < ndevs; i++) {
		struct vq_target cand = *t;
		char why[512];
		int rc = check_ivshmem(q, devs[i], &cand, why, sizeof(why));

		if (rc < 0) {
			qmp_errorf(err, errlen, "%s", why);
			return -1;
		}
		if (rc > 0) {
			if (!first_problem[0])
				snprintf(first_problem, sizeof(first_problem), "%s", why);
			continue;
		}
		/* The first usable one, unless a later one is called vqtrace. */
		if (!usable++ || (!named_vqtrace(&best) && named_vqtrace(&cand)))
			best = cand;
	}
	if (!usable) {
		qmp_errorf(err, errlen, "%s", first_problem);
		return -1;
	}
	*t = best;
	t->ivshmem_count = usable;
	return 0;
}

/* Guest RAM: optional.  Fills have_ram/ram_* or ram_note; -1 only when
 * QMP itself fails. */
static int find_ram(struct qmp *q, struct vq_target *t, char *err, size_t errlen)
{
	char link[VQ_QOM_PATH_MAX], why[512];
	struct backend_info b;
	uint64_t max_below = 0;
	const char *id;
	int rc;

	t->have_ram = false;
	/* A machine without the property or with an internal backend that
	 * QMP cannot describe only means: no RAM view. */
	if (qom_get_string(q, "/machine", "memory-backend", QMP_STR_PRINTABLE, link, sizeof(link),
			   true, why, sizeof(why)) != 0) {
		if (!qmp_connected(q)) {
			qmp_errorf(err, errlen, "%s", why);
			return -1;
		}
		qmp_errorf(t->ram_note, sizeof(t->ram_note), "guest RAM backend unknown: %s", why);
		return 0;
	}
	if (!link[0]) {
		qmp_errorf(t->ram_note, sizeof(t->ram_note),
			   "the machine has no single memory backend (NUMA?): guest RAM is not "
			   "readable");
		return 0;
	}
	if (!object_path(t->ram_memdev_path, sizeof(t->ram_memdev_path), link)) {
		qmp_errorf(t->ram_note, sizeof(t->ram_note),
			   "guest RAM backend path %s is too long", link);
		return 0;
	}
	id = strrchr(t->ram_memdev_path, '/') + 1;
	rc = read_backend(q, t->ram_memdev_path, &b, why, sizeof(why));
	if (rc < 0) {
		if (!qmp_connected(q)) {
			qmp_errorf(err, errlen, "%s", why);
			return -1;
		}
		qmp_errorf(t->ram_note, sizeof(t->ram_note), "guest RAM backend %s: %s", id, why);
		return 0;
	}
	if (rc > 0 || !b.share || b.mem_path[0] != '/') {
		qmp_errorf(t->ram_note, sizeof(t->ram_note),
			   "guest RAM (%s) is %s: for real rings give -object "
			   "memory-backend-file,id=ram,size=...,mem-path=/ABSOLUTE/FILE,share=on "
			   "-machine memory-backend=ram",
			   id,
			   rc > 0     ? b.type
			   : !b.share ? "share=off"
				      : "at a relative mem-path");
		return 0;
	}
	if (qom_get_uint(q, "/machine", "max-ram-below-4g", &max_below, why, sizeof(why)) != 0) {
		if (!qmp_connected(q)) {
			qmp_errorf(err, errlen, "%s", why);
			return -1;
		}
		max_below = 0;
	}
	if (!discover_ram_below_4g(t->machine_type, b.size, max_below, &t->ram_below_4g)) {
		qmp_errorf(
		    t->ram_note, sizeof(t->ram_note),
		    "machine type %s: vqscope does not know its RAM layout (q35 and pc only)",
		    t->machine_type);
		return 0;
	}
	snprintf(t->ram_path, sizeof(t->ram_path), "%s", b.mem_path);
	t->ram_size = b.size;
	t->have_ram = true;
	return 0;
}

int discover_target(struct qmp *q, struct vq_target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->qmp_path, sizeof(t->qmp_path), "%s", qmp_socket_path(q));
	snprintf(t->qemu_version, sizeof(t->qemu_version), "%s", qmp_qemu_version(q));
	if (qom_get_string(q, "/machine", "type", QMP_STR_PRINTABLE, t->machine_type,
			   sizeof(t->machine_type), false, err, errlen) != 0)
		return -1;
	strip_suffix(t->machine_type, "-machine");
	if (find_region(q, t, err, errlen) != 0) {
		if (qmp_connected(q))
			libvirt_explain_target(q, t, true, err, errlen);
		return -1;
	}
	if (find_ram(q, t, err, errlen) != 0)
		return -1;
	libvirt_explain_target(q, t, false, NULL, 0);
	return 0;
}

/* ---- mapping ------------------------------------------------------------------- */

/* "FILE is USER:GROUP, mode 0644" for a file we may not open, or the
 * same about the first directory on its way that we may not search (a
 * libvirt domain's files belong to libvirt-qemu). */
void discover_describe_access(const char *path, char *out, size_t outlen)
{
	char dir[PATH_MAX], user[64], group[64];
	const char *what = path;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[2048];
	struct stat st;

	snprintf(out, outlen, "%s", path);
	for (const char *p = strchr(path + 1, '/'); p && (size_t)(p - path) < sizeof(dir);
	     p = strchr(p + 1, '/')) {
		memcpy(dir, path, (size_t)(p - path));
		dir[p - path] = '\0';
		if (access(dir, X_OK) != 0) {
			what = dir;
			break;
		}
	}
	if (stat(what, &st) != 0)
		return;
	getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &pwp);
	snprintf(user, sizeof(user), "%s", pwp ? pw.pw_name : "");
	if (!pwp)
		snprintf(user, sizeof(user), "%u", (unsigned)st.st_uid);
	getgrgid_r(st.st_gid, &gr, buf, sizeof(buf), &grp);
	snprintf(group, sizeof(group), "%s", grp ? gr.gr_name : "");
	if (!grp)
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	snprintf(out, outlen, "%s%s is %s:%s, mode %04o", what == dir ? "directory " : "", what,
		 user, group, (unsigned)(st.st_mode & 07777));
}

/* Open path and check it is a regular file of at least size bytes.
 * O_RDWR falls back to O_RDONLY when writing is not allowed. */
static int open_checked(const char *path, int flags, uint64_t size, const char *what, char *err,
			size_t errlen)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0 && flags == O_RDWR && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		char who[PATH_MAX + 96];
		int e = errno;

		discover_describe_access(path, who, sizeof(who));
		qmp_errorf(err, errlen, "%s %s: %s (%s): vqscope needs read access%s", what, path,
			   strerror(e), who,
			   flags == O_RDWR ? ", and write access for step mode" : "");
		return -1;
	}
	if (fd < 0) {
		qmp_errorf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		qmp_errorf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		qmp_errorf(err, errlen,
			   "%s %s is a directory: QEMU made an unlinked file in it; give mem-path "
			   "a file name",
			   what, path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		qmp_errorf(err, errlen, "%s %s is not a regular file", what, path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size < size) {
		qmp_errorf(err, errlen, "%s %s is %lld bytes, but QEMU says %" PRIu64, what, path,
			   (long long)st.st_size, size);
		close(fd);
		return -1;
	}
	return fd;
}

int target_map_region(const struct vq_target *t, struct vq_mapping *out, char *err, size_t errlen)
{
	void *base;
	int fd;

	if (t->region_size < VQT_CONTROL_OFFSET + VQT_PAGE_SIZE || t->region_size > SIZE_MAX) {
		qmp_errorf(err, errlen, "trace region %s: size %" PRIu64 " is too small to map",
			   t->region_path, t->region_size);
		return -1;
	}
	fd = open_checked(t->region_path, O_RDWR, t->region_size, "trace region", err, errlen);
	if (fd < 0)
		return -1;
	base = mmap(NULL, (size_t)t->region_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		qmp_errorf(err, errlen, "trace region %s: mmap: %s", t->region_path,
			   strerror(errno));
		close(fd);
		return -1;
	}
	/* The fd stays open: the control page is mapped writable from this
	 * very file once its header is known to be a region's, and the
	 * file's size is asked again if it shrinks. */
	out->region = base;
	out->region_size = (size_t)t->region_size;
	out->region_fd = fd;
	out->control_writable = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	vqp_copy_string(out->region_path, sizeof(out->region_path), t->region_path);
	return 0;
}

int target_map_control(struct vq_mapping *m, char *err, size_t errlen)
{
	void *ctrl;

	if (m->control)
		return 0;
	if (!m->region || !m->control_writable) {
		qmp_errorf(err, errlen, "trace region %s: the control page is read-only to us",
			   m->region_path);
		return -1;
	}
	ctrl = mmap(NULL, VQT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->region_fd,
		    VQT_CONTROL_OFFSET);
	if (ctrl == MAP_FAILED) {
		qmp_errorf(err, errlen, "trace region %s: mmap of the control page: %s",
			   m->region_path, strerror(errno));
		return -1;
	}
	m->control = ctrl;
	return 0;
}

int target_map_ram(const struct vq_target *t, struct vq_mapping *out, char *err, size_t errlen)
{
	void *base;
	int fd;

	if (!t->have_ram) {
		qmp_errorf(err, errlen, "%s",
			   t->ram_note[0] ? t->ram_note : "guest RAM is unknown");
		return -1;
	}
	if (!t->ram_size || t->ram_size > SIZE_MAX || t->ram_below_4g > t->ram_size) {
		qmp_errorf(err, errlen,
			   "guest RAM %s: bad size %" PRIu64 " (below 4 GiB %" PRIu64 ")",
			   t->ram_path, t->ram_size, t->ram_below_4g);
		return -1;
	}
	fd = open_checked(t->ram_path, O_RDONLY, t->ram_size, "guest RAM", err, errlen);
	if (fd < 0)
		return -1;
	base = mmap(NULL, (size_t)t->ram_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		qmp_errorf(err, errlen, "guest RAM %s: mmap: %s", t->ram_path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Kept open to tell the file's size if it shrinks. */
	out->ram_fd = fd;
	out->ram_faulted = false;
	out->ram = base;
	out->ram_size = t->ram_size;
	out->ram_below_4g = t->ram_below_4g;
	return 0;
}

void target_unmap_region(struct vq_mapping *m)
{
	if (m->region) {
		munmap((void *)m->region, m->region_size);
		close(m->region_fd);
	}
	if (m->control)
		munmap(m->control, VQT_PAGE_SIZE);
	m->region = NULL;
	m->region_size = 0;
	m->control = NULL;
	m->control_writable = false;
}

void target_unmap_ram(struct vq_mapping *m)
{
	if (m->ram) {
		munmap((void *)m->ram, (size_t)m->ram_size);
		close(m->ram_fd);
	}
	m->ram = NULL;
	m->ram_size = 0;
	m->ram_faulted = false;
}

void target_unmap(struct vq_mapping *m)
{
	target_unmap_region(m);
	target_unmap_ram(m);
	memset(m, 0, sizeof(*m));
}

const void *guest_ram_ptr(const struct vq_mapping *m, uint64_t gpa, size_t len)
{
	uint64_t below = m->ram_below_4g, above = m->ram_size - m->ram_below_4g;

	if (!m->ram || len == 0 || below > m->ram_size)
		return NULL;
	if (gpa < below) {
		if (len > below - gpa)
			return NULL;
		return m->ram + gpa;
	}
	if (gpa < FOUR_GIB)
		return NULL; /* the PCI/firmware hole */
	gpa -= FOUR_GIB;
	if (gpa >= above || len > above - gpa)
		return NULL;
	return m->ram + below + gpa;
}

struct ram_copy {
	void *buf;
	const void *from;
	size_t len;
};

static void copy_ram(void *ctx)
{
	const struct ram_copy *c = ctx;

	memcpy(c->buf, c->from, c->len);
}

static bool read_guest_ram(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct vq_mapping *m = ctx;
	struct ram_copy c = {buf, guest_ram_ptr(m, gpa, len), len};

	if (!c.from || m->ram_faulted)
		return false;
	/* The file can shrink under the mapping: a SIGBUS ends the copy. */
	if (!guard_run(copy_ram, &c)) {
		m->ram_faulted = true;
		return false;
	}
	return true;
}

void target_guest_mem(const struct vq_mapping *m, struct guest_mem *out)
{
	out->read = read_guest_ram;
	out->ctx = (void *)m;
}
