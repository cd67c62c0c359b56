/* recording.c - writer and validating reader of .vqt recording files
 * (layout in protocol/vqrec.h, prose in docs/protocol.md).
 *
 * The writer appends one whole chunk per write so a process killed at any
 * moment leaves whole chunks plus at most one torn tail.  The reader maps
 * the file, checks the header, takes the index from the trailer when it is
 * intact and otherwise rebuilds it by scanning, and checks every chunk's
 * CRC32C before anyone decodes it.  Every length, count and offset in the
 * file is checked against the file's real size before use.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vqproto.h"

#define DEFAULT_EVENTS_PER_CHUNK 4096u
/* Internal open flag: list chunks of unknown types too (repair indexes
 * every whole chunk so the new index tiles the file). */
#define OPEN_KEEP_UNKNOWN (1u << 31)
#define MAX_EVENTS_PER_CHUNK                                                                       \
	((VQR_CHUNK_MAX - sizeof(struct vqr_events)) / sizeof(struct vqt_event))

#define set_err vqp__set_err

static inline uint64_t pad8(uint64_t n)
{
	return (n + (VQR_CHUNK_ALIGN - 1)) & ~(uint64_t)(VQR_CHUNK_ALIGN - 1);
}

static uint32_t chunk_crc(uint32_t type, uint32_t length, const void *payload)
{
	uint32_t head[2] = {type, length};
	uint32_t crc = vqp_crc32c(0, head, sizeof(head));

	return vqp_crc32c(crc, payload, length);
}

/* ---- writer ---------------------------------------------------------------- */

struct vqp_writer {
	int fd;
	uint64_t offset; /* file size so far */
	uint32_t chunks; /* chunks written */
	bool failed;	 /* sticky: an I/O error happened */
	char failure[VQP_ERRLEN];

	struct vqr_index_entry *index;
	size_t index_cap;

	/* Pending events, all of one generation. */
	struct vqt_event *pending;
	uint32_t pending_count, pending_cap;
	uint32_t pending_generation;
	uint64_t pending_first_seq, pending_last_seq;
	uint32_t pending_violations;
	uint32_t pending_dropped; /* of them, records dropped as malformed */
	uint64_t next_dropped;	  /* vqp_writer_dropped, for the next batch */
	uint64_t pending_host_mono;

	/* Continuity across chunks of the current generation. */
	bool have_expect;
	uint32_t expect_generation;
	uint64_t expect_next;

	uint64_t events_written;
};

static int write_all(struct vqp_writer *w, struct iovec *iov, int iovcnt, char *err, size_t errlen)
{
	if (w->failed) {
		set_err(err, errlen, "%s", w->failure);
		return VQP_IO;
	}
	while (iovcnt > 0) {
		ssize_t n = writev(w->fd, iov, iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->failed = true;
			snprintf(w->failure, sizeof(w->failure), "write at offset %llu: %s",
				 (unsigned long long)w->offset, strerror(errno));
			set_err(err, errlen, "%s", w->failure);
			return VQP_IO;
		}
		w->offset += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return VQP_OK;
}

/* Write one chunk from up to three payload parts, with one writev. */
static int write_chunk(struct vqp_writer *w, uint32_t type, const void *p1, size_t l1,
		       const void *p2, size_t l2, const void *p3, size_t l3, uint64_t first_ts,
		       uint64_t first_seq, char *err, size_t errlen)
{
	static const uint8_t zeros[VQR_CHUNK_ALIGN];
	struct vqr_chunk ch;
	struct iovec iov[5];
	uint64_t length = (uint64_t)l1 + l2 + l3, start = w->offset;
	uint32_t head[2];
	uint32_t crc;
	int n = 0;

	if (length > VQR_CHUNK_MAX) {
		set_err(err, errlen, "chunk of %llu bytes exceeds the %u-byte limit",
			(unsigned long long)length, VQR_CHUNK_MAX);
		return VQP_INVALID;
	}
	head[0] = type;
	head[1] = (uint32_t)length;
	crc = vqp_crc32c(0, head, sizeof(head));
	crc = vqp_crc32c(crc, p1, l1);
	if (l2)
		crc = vqp_crc32c(crc, p2, l2);
	if (l3)
		crc = vqp_crc32c(crc, p3, l3);
	ch = (struct vqr_chunk){
	    .type = type, .length = (uint32_t)length, .crc = crc, .number = w->chunks};

	iov[n++] = (struct iovec){&ch, sizeof(ch)};
	iov[n++] = (struct iovec){(void *)p1, l1};
	if (l2)
		iov[n++] = (struct iovec){(void *)p2, l2};
	if (l3)
		iov[n++] = (struct iovec){(void *)p3, l3};
	if (pad8(length) != length)
		iov[n++] = (struct iovec){(void *)zeros, (size_t)(pad8(length) - length)};
	if (write_all(w, iov, n, err, errlen) != VQP_OK)
		return VQP_IO;

	if (type != VQR_CHUNK_INDEX) {
		if (w->chunks == w->index_cap) {
			size_t cap = w->index_cap ? w->index_cap * 2 : 256;
			struct vqr_index_entry *grown = realloc(w->index, cap * sizeof(*grown));

			if (!grown) {
				set_err(err, errlen, "out of memory for the chunk index");
				return VQP_IO;
			}
			w->index = grown;
			w->index_cap = cap;
		}
		w->index[w->chunks] = (struct vqr_index_entry){.offset = start,
							       .type = type,
							       .length = (uint32_t)length,
							       .first_ts = first_ts,
							       .first_seq = first_seq};
	}
	w->chunks++;
	return VQP_OK;
}

int vqp_create_file(const char *path, bool overwrite, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!overwrite) {
		/* O_EXCL also refuses a symbolic link, dangling or not. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			set_err(err, errlen, "%s: %s%s", path, strerror(errno),
				errno == EEXIST ? " (--force replaces it)" : "");
		return fd;
	}
	/* A new file renamed over the old name: a symbolic link there is
	 * replaced, not followed, and the old file stays whole until then. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.vqscope-new-XXXXXX",
			     slash ? (int)(slash - path + 1) : 0, path) >= sizeof(tmp)) {
		set_err(err, errlen, "%s: the name is too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create a file beside it: %s", path,
			strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) != 0 || rename(tmp, path) != 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}

struct vqp_writer *vqp_writer_open(const char *path, const struct vqp_writer_opts *o,
				   bool overwrite, char *err, size_t errlen)
{
	struct vqr_file_header h;
	struct vqp_writer *w;
	struct timespec now;
	struct iovec iov;

	if (o->ts_hz == 0) {
		set_err(err, errlen, "%s: timestamp frequency is 0", path);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	w->pending_cap = o->events_per_chunk ? o->events_per_chunk : DEFAULT_EVENTS_PER_CHUNK;
	if (w->pending_cap > MAX_EVENTS_PER_CHUNK)
		w->pending_cap = (uint32_t)MAX_EVENTS_PER_CHUNK;
	w->pending = calloc(w->pending_cap, sizeof(struct vqt_event));
	if (!w->pending) {
		set_err(err, errlen, "out of memory");
		free(w);
		return NULL;
	}
	w->fd = vqp_create_file(path, overwrite, err, errlen);
	if (w->fd < 0) {
		free(w->pending);
		free(w);
		return NULL;
	}

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VQR_MAGIC, VQR_MAGIC_LEN);
	h.version_major = VQR_VERSION_MAJOR;
	h.version_minor = VQR_VERSION_MINOR;
	h.header_size = sizeof(h);
	h.ts_hz = o->ts_hz;
	h.ts_start = o->ts_start;
	clock_gettime(CLOCK_REALTIME, &now);
	h.wall_start_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	clock_gettime(CLOCK_MONOTONIC, &now);
	h.host_mono_start_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	h.ts_source = o->ts_source;
	h.source_kind = o->source_kind;
	vqp_copy_string(h.producer, sizeof(h.producer), o->producer);
	h.header_crc = vqp_crc32c(0, &h, offsetof(struct vqr_file_header, header_crc));

	iov = (struct iovec){&h, sizeof(h)};
	if (write_all(w, &iov, 1, err, errlen) != VQP_OK) {
		close(w->fd);
		unlink(path);
		free(w->pending);
		free(w);
		return NULL;
	}
	return w;
}

static void set_expect(struct vqp_writer *w, uint32_t generation, uint64_t next_seq)
{
	w->have_expect = true;
	w->expect_generation = generation;
	w->expect_next = next_seq;
}

void vqp_writer_expect(struct vqp_writer *w, uint32_t generation, uint64_t next_seq)
{
	/* Pending records of another generation keep their own baseline: write
	 * them first.  A write error is sticky and reported by the next call. */
	if (w->pending_count && w->pending_generation != generation)
		vqp_writer_flush(w, NULL, 0);
	set_expect(w, generation, next_seq);
}

int vqp_writer_flush(struct vqp_writer *w, char *err, size_t errlen)
{
	struct vqr_events eh;
	int rc;

	if (w->pending_count == 0)
		return w->failed ? (set_err(err, errlen, "%s", w->failure), VQP_IO) : VQP_OK;

	memset(&eh, 0, sizeof(eh));
	eh.first_seq = w->pending_first_seq;
	eh.count = w->pending_count;
	eh.generation = w->pending_generation;
	if (w->have_expect && w->expect_generation == w->pending_generation &&
	    w->pending_first_seq >= w->expect_next)
		eh.lost_before = w->pending_first_seq - w->expect_next;
	eh.host_mono_ns = w->pending_host_mono;
	eh.violations_before = w->pending_violations;
	eh.dropped_before = w->pending_dropped;

	rc = write_chunk(w, VQR_CHUNK_EVENTS, &eh, sizeof(eh), w->pending,
			 (size_t)w->pending_count * sizeof(struct vqt_event), NULL, 0,
			 w->pending[0].ts, w->pending_first_seq, err, errlen);
	if (rc != VQP_OK)
		return rc;
	w->events_written += w->pending_count;
	set_expect(w, w->pending_generation, w->pending_last_seq + 1);
	w->pending_count = 0;
	w->pending_violations = 0;
	w->pending_dropped = 0;
	return VQP_OK;
}

void vqp_writer_dropped(struct vqp_writer *w, uint64_t n)
{
	w->next_dropped += n;
}

int vqp_writer_events(struct vqp_writer *w, uint32_t generation, uint64_t first_seq,
		      const struct vqt_event *ev, size_t count, uint32_t violations,
		      uint64_t host_mono_ns, char *err, size_t errlen)
{
	if (w->pending_count && w->pending_generation != generation &&
	    vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	w->pending_violations += violations;
	/* A u32 on disk: more than 4 G malformed records between two chunks
	 * count as the most that fits (the rest shows as loss). */
	w->next_dropped += w->pending_dropped;
	w->pending_dropped =
	    w->next_dropped > UINT32_MAX ? (uint32_t)UINT32_MAX : (uint32_t)w->next_dropped;
	w->next_dropped = 0;

	for (size_t i = 0; i < count; i++) {
		uint64_t seq = first_seq + (uint32_t)(ev[i].seq - (uint32_t)first_seq);

		if (w->pending_count && seq <= w->pending_last_seq) {
			set_err(err, errlen,
				"record sequence %llu is not after %llu: records must be appended "
				"in order",
				(unsigned long long)seq, (unsigned long long)w->pending_last_seq);
			return VQP_INVALID;
		}
		if (w->pending_count == 0) {
			w->pending_generation = generation;
			w->pending_first_seq = seq;
			w->pending_host_mono = host_mono_ns;
		}
		w->pending[w->pending_count] = ev[i];
		w->pending[w->pending_count].seq = (uint32_t)seq;
		w->pending_count++;
		w->pending_last_seq = seq;
		if (w->pending_count == w->pending_cap &&
		    vqp_writer_flush(w, err, errlen) != VQP_OK)
			return VQP_IO;
	}
	return w->failed ? VQP_IO : VQP_OK;
}

int vqp_writer_queues(struct vqp_writer *w, uint64_t ts, uint32_t generation,
		      const struct vqr_queue_entry *entries, uint32_t count, char *err,
		      size_t errlen)
{
	struct vqr_queues qh = {.ts = ts, .generation = generation, .count = count};

	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_QUEUES, &qh, sizeof(qh), entries,
			   (size_t)count * sizeof(*entries), NULL, 0, 0, 0, err, errlen);
}

int vqp_writer_ring(struct vqp_writer *w, const struct vqr_ring *hdr,
		    const struct vqr_ring_queue *queues, char *err, size_t errlen)
{
	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_RING, hdr, sizeof(*hdr), queues,
			   (size_t)hdr->count * sizeof(*queues), NULL, 0, 0, 0, err, errlen);
}

int vqp_writer_producer(struct vqp_writer *w, const struct vqr_producer *p, char *err,
			size_t errlen)
{
	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_PRODUCER, p, sizeof(*p), NULL, 0, NULL, 0, 0, 0, err,
			   errlen);
}

int vqp_writer_device(struct vqp_writer *w, const struct vqr_device *hdr,
		      const struct vqr_device_queue *queues, char *err, size_t errlen)
{
	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_DEVICE, hdr, sizeof(*hdr), queues,
			   (size_t)hdr->count * sizeof(*queues), NULL, 0, 0, 0, err, errlen);
}

int vqp_writer_annot(struct vqp_writer *w, uint64_t ts, uint32_t kind, const char *text, char *err,
		     size_t errlen)
{
	size_t len = strnlen(text, 65536);
	struct vqr_annot ah = {.ts = ts, .kind = kind, .length = (uint32_t)len};

	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_ANNOT, &ah, sizeof(ah), text, len, NULL, 0, 0, 0, err,
			   errlen);
}

int vqp_writer_region(struct vqp_writer *w, const struct vqr_region *reg, char *err, size_t errlen)
{
	if (vqp_writer_flush(w, err, errlen) != VQP_OK)
		return VQP_IO;
	return write_chunk(w, VQR_CHUNK_REGION, reg, sizeof(*reg), NULL, 0, NULL, 0, 0, 0, err,
			   errlen);
}

static void writer_free(struct vqp_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->pending);
	free(w->index);
	free(w);
}

/* INDEX chunk (entries for every chunk so far) and trailer. */
static int write_index(struct vqp_writer *w, char *err, size_t errlen)
{
	struct vqr_index ih = {.count = w->chunks};
	struct vqr_trailer tr;
	struct iovec iov;
	uint64_t index_offset = w->offset;
	uint32_t chunks = w->chunks;

	if (write_chunk(w, VQR_CHUNK_INDEX, &ih, sizeof(ih), w->index,
			(size_t)chunks * sizeof(*w->index), NULL, 0, 0, 0, err, errlen) != VQP_OK)
		return VQP_IO;
	memset(&tr, 0, sizeof(tr));
	tr.index_offset = index_offset;
	tr.chunks = chunks;
	tr.crc = vqp_crc32c(0, &tr, offsetof(struct vqr_trailer, crc));
	memcpy(tr.magic, VQR_TRAILER_MAGIC, sizeof(tr.magic));
	iov = (struct iovec){&tr, sizeof(tr)};
	return write_all(w, &iov, 1, err, errlen);
}

int vqp_writer_close(struct vqp_writer *w, const struct vqr_close *c, char *err, size_t errlen)
{
	int rc = vqp_writer_flush(w, err, errlen);

	if (rc == VQP_OK && c)
		rc = write_chunk(w, VQR_CHUNK_CLOSE, c, sizeof(*c), NULL, 0, NULL, 0, 0, 0, err,
				 errlen);
	if (rc == VQP_OK)
		rc = write_index(w, err, errlen);
	if (rc == VQP_OK && fsync(w->fd) != 0 && errno != EINVAL) {
		set_err(err, errlen, "fsync: %s", strerror(errno));
		rc = VQP_IO;
	}
	if (close(w->fd) != 0 && rc == VQP_OK) {
		set_err(err, errlen, "close: %s", strerror(errno));
		rc = VQP_IO;
	}
	w->fd = -1;
	writer_free(w);
	return rc;
}

void vqp_writer_abandon(struct vqp_writer *w)
{
	if (w)
		writer_free(w);
}

uint64_t vqp_writer_events_written(const struct vqp_writer *w)
{
	return w->events_written;
}

uint64_t vqp_writer_bytes(const struct vqp_writer *w)
{
	return w->offset;
}

/* ---- reader ------------------------------------------------------------------- */

static int check_header(struct vqp_file *f, char *err, size_t errlen)
{
	struct vqr_file_header h;
	uint32_t crc;

	if (f->size < sizeof(h)) {
		set_err(err, errlen,
			"offset 0x0: file is %zu bytes, too short for the %zu-byte header", f->size,
			sizeof(h));
		return VQP_INVALID;
	}
	memcpy(&h, f->data, sizeof(h));
	if (memcmp(h.magic, VQR_MAGIC, VQR_MAGIC_LEN) != 0) {
		set_err(err, errlen, "offset 0x0: not a vqscope recording (bad magic)");
		return VQP_INVALID;
	}
	if (h.version_major != VQR_VERSION_MAJOR) {
		set_err(err, errlen, "offset 0x8: recording version %u.%u; this vqscope reads %u.x",
			h.version_major, h.version_minor, VQR_VERSION_MAJOR);
		return VQP_INVALID;
	}
	crc = vqp_crc32c(0, &h, offsetof(struct vqr_file_header, header_crc));
	if (crc != h.header_crc) {
		set_err(err, errlen, "offset 0x7c: header CRC32C 0x%08x does not match 0x%08x",
			h.header_crc, crc);
		return VQP_INVALID;
	}
	if (h.header_size < sizeof(h) || h.header_size > 4096 || h.header_size > f->size ||
	    (h.header_size & 7) != 0) {
		set_err(err, errlen,
			"offset 0xc: header size %u is not a multiple of 8 in 128..4096",
			h.header_size);
		return VQP_INVALID;
	}
	if (h.ts_hz == 0) {
		set_err(err, errlen, "offset 0x10: timestamp frequency is 0");
		return VQP_INVALID;
	}
	f->header = h;
	vqp__printable(f->producer, h.producer, VQT_PRODUCER_LEN);
	return VQP_OK;
}

static int add_chunk(struct vqp_file *f, size_t *cap, const struct vqp_chunk_ref *ref)
{
	if (f->nchunks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct vqp_chunk_ref *grown = realloc(f->chunks, ncap * sizeof(*grown));

		if (!grown)
			return -1;
		f->chunks = grown;
		*cap = ncap;
	}
	f->chunks[f->nchunks++] = *ref;
	return 0;
}

/* Is there a whole, CRC-valid chunk at off?  Fills *ch. */
static bool chunk_whole(const struct vqp_file *f, uint64_t off, struct vqr_chunk *ch)
{
	if (off > f->size || f->size - off < sizeof(*ch))
		return false;
	memcpy(ch, f->data + off, sizeof(*ch));
	if (ch->type == 0 || ch->type >= VQR_CHUNK_TYPE_LIMIT || ch->length > VQR_CHUNK_MAX)
		return false;
	if (f->size - off - sizeof(*ch) < ch->length)
		return false;
	return chunk_crc(ch->type, ch->length, f->data + off + sizeof(*ch)) == ch->crc;
}

static void fill_ref(const struct vqp_file *f, uint64_t off, const struct vqr_chunk *ch,
		     struct vqp_chunk_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->offset = off;
	ref->type = ch->type;
	ref->length = ch->length;
	if (ch->type == VQR_CHUNK_EVENTS &&
	    ch->length >= sizeof(struct vqr_events) + sizeof(struct vqt_event)) {
		struct vqr_events eh;
		struct vqt_event first;
		const uint8_t *p = f->data + off + sizeof(*ch);

		memcpy(&eh, p, sizeof(eh));
		memcpy(&first, p + sizeof(eh), sizeof(first));
		ref->first_seq = eh.first_seq;
		ref->first_ts = first.ts;
	}
}

/* Is the rest of the file, from off, a valid trailer? */
static bool is_trailer_at(const struct vqp_file *f, uint64_t off)
{
	struct vqr_trailer tr;

	if (off > f->size || f->size - off != sizeof(tr))
		return false;
	memcpy(&tr, f->data + off, sizeof(tr));
	return memcmp(tr.magic, VQR_TRAILER_MAGIC, sizeof(tr.magic)) == 0;
}

/* Rebuild the chunk list by walking the file from the header. */
static int scan_chunks(struct vqp_file *f, unsigned flags, char *err, size_t errlen)
{
	uint64_t off = f->header.header_size;
	uint32_t last_number = 0;
	bool first = true;
	size_t cap = 0;

	f->nchunks = 0;
	f->whole_bytes = off;
	while (off < f->size) {
		struct vqr_chunk ch;
		struct vqp_chunk_ref ref;

		if (is_trailer_at(f, off))
			return VQP_OK;
		if (!chunk_whole(f, off, &ch)) {
			/* Decide between a torn tail (the writer died here) and
			 * damage in the middle: damage has a whole chunk later. */
			uint64_t next = off + VQR_CHUNK_ALIGN;
			bool later = false, trailer = false;

			for (; next < f->size; next += VQR_CHUNK_ALIGN) {
				struct vqr_chunk probe;

				if (is_trailer_at(f, next)) {
					trailer = true;
					break;
				}
				if (chunk_whole(f, next, &probe)) {
					later = true;
					break;
				}
			}
			if (trailer) {
				snprintf(f->note, sizeof(f->note),
					 "index damaged at offset 0x%llx: rebuilt from %zu chunks",
					 (unsigned long long)off, f->nchunks);
				return VQP_OK;
			}
			if (!later) {
				snprintf(f->note, sizeof(f->note),
					 "not closed cleanly: cut short at offset 0x%llx after %zu "
					 "whole chunks",
					 (unsigned long long)off, f->nchunks);
				return VQP_OK;
			}
			if (!(flags & VQP_OPEN_SALVAGE)) {
				struct vqr_chunk raw;

				if (f->size - off < sizeof(raw)) {
					set_err(err, errlen,
						"offset 0x%llx: %llu stray bytes where chunk %zu "
						"should start (use --salvage)",
						(unsigned long long)off,
						(unsigned long long)(f->size - off), f->nchunks);
					return VQP_INVALID;
				}
				memcpy(&raw, f->data + off, sizeof(raw));
				if (raw.type == 0 || raw.type >= VQR_CHUNK_TYPE_LIMIT)
					set_err(err, errlen,
						"offset 0x%llx: chunk %zu has unknown type %u (use "
						"--salvage to skip damaged chunks)",
						(unsigned long long)off, f->nchunks, raw.type);
				else if (raw.length > VQR_CHUNK_MAX ||
					 raw.length > f->size - off - sizeof(raw))
					set_err(err, errlen,
						"offset 0x%llx: chunk %zu length %u runs past the "
						"end of the file (use --salvage)",
						(unsigned long long)off, f->nchunks, raw.length);
				else
					set_err(err, errlen,
						"offset 0x%llx: chunk %zu: CRC32C 0x%08x does not "
						"match 0x%08x (use --salvage)",
						(unsigned long long)off, f->nchunks, raw.crc,
						chunk_crc(raw.type, raw.length,
							  f->data + off + sizeof(raw)));
				return VQP_INVALID;
			}
			f->damaged++;
			snprintf(f->note, sizeof(f->note), "skipped damaged bytes at offset 0x%llx",
				 (unsigned long long)off);
			off = next;
			continue;
		}
		if (ch.type == VQR_CHUNK_INDEX ||
		    (ch.type >= VQR_CHUNK_TYPE_COUNT && !(flags & OPEN_KEEP_UNKNOWN))) {
			if (ch.type != VQR_CHUNK_INDEX)
				f->unknown++;
			off += sizeof(ch) + pad8(ch.length);
			if (off > f->size)
				off = f->size;
			f->whole_bytes = off;
			continue;
		}
		if (!first && ch.number <= last_number && !(flags & VQP_OPEN_SALVAGE)) {
			set_err(err, errlen, "offset 0x%llx: chunk number %u does not follow %u",
				(unsigned long long)off, ch.number, last_number);
			return VQP_INVALID;
		}
		first = false;
		last_number = ch.number;
		fill_ref(f, off, &ch, &ref);
		if (add_chunk(f, &cap, &ref) != 0) {
			set_err(err, errlen, "out of memory");
			return VQP_IO;
		}
		off += sizeof(ch) + pad8(ch.length);
		if (off > f->size)
			off = f->size;
		f->whole_bytes = off;
	}
	/* Whole chunks up to the end (the writer was killed between two):
	 * say where it ends, as for a torn chunk. */
	if (f->note[0] == 0)
		snprintf(
		    f->note, sizeof(f->note),
		    "not closed cleanly: ends at offset 0x%llx after %zu whole chunks, with no "
		    "index",
		    (unsigned long long)f->whole_bytes, f->nchunks);
	return VQP_OK;
}

/* Take the index from the trailer if everything about it checks out. */
static bool load_index(struct vqp_file *f)
{
	struct vqr_trailer tr;
	struct vqr_chunk ch;
	struct vqr_index ih;
	const uint8_t *p;
	uint64_t prev_end;
	uint32_t crc;

	if (f->size < f->header.header_size + sizeof(tr))
		return false;
	memcpy(&tr, f->data + f->size - sizeof(tr), sizeof(tr));
	if (memcmp(tr.magic, VQR_TRAILER_MAGIC, sizeof(tr.magic)) != 0)
		return false;
	crc = vqp_crc32c(0, &tr, offsetof(struct vqr_trailer, crc));
	if (crc != tr.crc || tr.index_offset < f->header.header_size ||
	    tr.index_offset >= f->size - sizeof(tr))
		return false;
	if (!chunk_whole(f, tr.index_offset, &ch) || ch.type != VQR_CHUNK_INDEX)
		return false;
	if (tr.index_offset + sizeof(ch) + pad8(ch.length) != f->size - sizeof(tr))
		return false;
	p = f->data + tr.index_offset + sizeof(ch);
	if (ch.length < sizeof(ih))
		return false;
	memcpy(&ih, p, sizeof(ih));
	if (ih.count != tr.chunks ||
	    (uint64_t)ih.count * sizeof(struct vqr_index_entry) != ch.length - sizeof(ih))
		return false;

	f->chunks = calloc(ih.count ? ih.count : 1, sizeof(*f->chunks));
	if (!f->chunks)
		return false;
	prev_end = f->header.header_size;
	for (uint32_t i = 0; i < ih.count; i++) {
		struct vqr_index_entry e;
		struct vqr_chunk at;

		memcpy(&e, p + sizeof(ih) + (size_t)i * sizeof(e), sizeof(e));
		/* Entries must tile the file in order up to the index. */
		if (e.offset != prev_end || e.length > VQR_CHUNK_MAX ||
		    e.offset + sizeof(at) + pad8(e.length) > tr.index_offset)
			goto bad;
		memcpy(&at, f->data + e.offset, sizeof(at));
		if (at.type != e.type || at.length != e.length || at.type == VQR_CHUNK_INDEX ||
		    at.type == 0 || at.type >= VQR_CHUNK_TYPE_LIMIT)
			goto bad;
		prev_end = e.offset + sizeof(at) + pad8(e.length);
		if (e.type >= VQR_CHUNK_TYPE_COUNT) {
			f->unknown++;
			continue;
		}
		f->chunks[f->nchunks++] = (struct vqp_chunk_ref){.offset = e.offset,
								 .type = e.type,
								 .length = e.length,
								 .first_ts = e.first_ts,
								 .first_seq = e.first_seq};
	}
	if (prev_end != tr.index_offset)
		goto bad;
	f->whole_bytes = f->size;
	return true;
bad:
	free(f->chunks);
	f->chunks = NULL;
	f->nchunks = 0;
	f->unknown = 0;
	return false;
}

static struct vqp_file *file_open(struct vqp_file *f, unsigned flags, char *err, size_t errlen)
{
	if (check_header(f, err, errlen) != VQP_OK)
		return NULL;
	if (load_index(f)) {
		f->clean = true;
		return f;
	}
	f->index_rebuilt = true;
	if (scan_chunks(f, flags, err, errlen) != VQP_OK)
		return NULL;
	return f;
}

struct vqp_file *vqp_file_open_mem(const void *data, size_t size, unsigned flags, char *err,
				   size_t errlen)
{
	struct vqp_file *f = calloc(1, sizeof(*f));

	if (!f) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	f->data = data;
	f->size = size;
	if (!file_open(f, flags, err, errlen)) {
		free(f->chunks);
		free(f);
		return NULL;
	}
	return f;
}

struct vqp_file *vqp_file_open(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct vqp_file *f;
	struct stat st;
	void *map = NULL;
	size_t len;
	int fd;
	char why[VQP_ERRLEN];

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	len = (size_t)st.st_size;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			set_err(err, errlen, "%s: mmap: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
	}
	close(fd);
	f = vqp_file_open_mem(map, len, flags, why, sizeof(why));
	if (!f) {
		set_err(err, errlen, "%s: %s", path, why);
		if (map)
			munmap(map, len);
		return NULL;
	}
	f->owned_map = map;
	f->owned_len = len;
	return f;
}

void vqp_file_close(struct vqp_file *f)
{
	if (!f)
		return;
	free(f->chunks);
	if (f->owned_map)
		munmap(f->owned_map, f->owned_len);
	free(f);
}

int vqp_file_chunk(const struct vqp_file *f, size_t i, const void **payload, uint32_t *len,
		   char *err, size_t errlen)
{
	const struct vqp_chunk_ref *ref;
	struct vqr_chunk ch;

	if (i >= f->nchunks) {
		set_err(err, errlen, "chunk %zu does not exist (%zu chunks)", i, f->nchunks);
		return VQP_INVALID;
	}
	ref = &f->chunks[i];
	if (ref->offset > f->size || f->size - ref->offset < sizeof(ch) ||
	    f->size - ref->offset - sizeof(ch) < ref->length) {
		set_err(err, errlen, "offset 0x%llx: chunk %zu runs past the end of the file",
			(unsigned long long)ref->offset, i);
		return VQP_INVALID;
	}
	memcpy(&ch, f->data + ref->offset, sizeof(ch));
	if (chunk_crc(ch.type, ch.length, f->data + ref->offset + sizeof(ch)) != ch.crc ||
	    ch.length != ref->length) {
		set_err(err, errlen,
			"offset 0x%llx: chunk %zu: CRC32C 0x%08x does not match its contents",
			(unsigned long long)ref->offset, i, ch.crc);
		return VQP_INVALID;
	}
	*payload = f->data + ref->offset + sizeof(ch);
	*len = ch.length;
	return VQP_OK;
}

/* ---- payload decoders ------------------------------------------------------------ */

void vqp_events_get(const struct vqp_events_view *v, uint32_t i, struct vqt_event *out)
{
	memcpy(out, (const uint8_t *)v->events + (size_t)i * sizeof(*out), sizeof(*out));
}

uint64_t vqp_events_seq(const struct vqp_events_view *v, uint32_t i)
{
	struct vqt_event e;

	vqp_events_get(v, i, &e);
	return v->hdr.first_seq + (uint32_t)(e.seq - (uint32_t)v->hdr.first_seq);
}

int vqp_decode_events(const void *payload, uint32_t len, struct vqp_events_view *out, char *err,
		      size_t errlen)
{
	uint64_t prev = 0;
	char why[VQP_ERRLEN];

	if (len < sizeof(out->hdr)) {
		set_err(err, errlen, "EVENTS chunk of %u bytes is shorter than its %zu-byte header",
			len, sizeof(out->hdr));
		return VQP_INVALID;
	}
	memcpy(&out->hdr, payload, sizeof(out->hdr));
	if ((uint64_t)out->hdr.count * sizeof(struct vqt_event) != len - sizeof(out->hdr)) {
		set_err(err, errlen, "EVENTS chunk says %u records but holds %zu bytes of records",
			out->hdr.count, len - sizeof(out->hdr));
		return VQP_INVALID;
	}
	out->events = (const struct vqt_event *)((const uint8_t *)payload + sizeof(out->hdr));
	out->count = out->hdr.count;
	out->gaps = 0;
	for (uint32_t i = 0; i < out->count; i++) {
		struct vqt_event e;
		uint64_t seq = vqp_events_seq(out, i);

		vqp_events_get(out, i, &e);
		if ((i == 0 && seq != out->hdr.first_seq) || (i > 0 && seq <= prev)) {
			set_err(err, errlen, "EVENTS record %u: sequence %llu does not follow %llu",
				i, (unsigned long long)seq, (unsigned long long)prev);
			return VQP_INVALID;
		}
		if (i > 0)
			out->gaps += seq - prev - 1;
		if (vqp_event_check(&e, VQT_QUEUE_SLOTS_MAX, why, sizeof(why)) != VQP_OK) {
			set_err(err, errlen, "EVENTS record %u (sequence %llu): %s", i,
				(unsigned long long)seq, why);
			return VQP_INVALID;
		}
		prev = seq;
	}
	/* Dropped records are among the missing ones (each was counted as a
	 * violation too, in this chunk or an earlier one). */
	if (out->hdr.dropped_before > out->hdr.lost_before + out->gaps) {
		set_err(err, errlen, "EVENTS chunk: %u dropped records, but %llu missing records",
			out->hdr.dropped_before,
			(unsigned long long)(out->hdr.lost_before + out->gaps));
		return VQP_INVALID;
	}
	out->lost = out->hdr.lost_before + out->gaps - out->hdr.dropped_before;
	return VQP_OK;
}

int vqp_decode_queues(const void *payload, uint32_t len, struct vqr_queues *hdr,
		      const struct vqr_queue_entry **entries, char *err, size_t errlen)
{
	if (len < sizeof(*hdr)) {
		set_err(err, errlen, "QUEUES chunk of %u bytes is shorter than its header", len);
		return VQP_INVALID;
	}
	memcpy(hdr, payload, sizeof(*hdr));
	if ((uint64_t)hdr->count * sizeof(struct vqr_queue_entry) != len - sizeof(*hdr)) {
		set_err(err, errlen, "QUEUES chunk says %u entries but holds %zu bytes", hdr->count,
			len - sizeof(*hdr));
		return VQP_INVALID;
	}
	*entries = (const struct vqr_queue_entry *)((const uint8_t *)payload + sizeof(*hdr));
	for (uint32_t i = 0; i < hdr->count; i++) {
		struct vqr_queue_entry e;
		char why[VQP_ERRLEN];

		memcpy(&e, (const uint8_t *)*entries + (size_t)i * sizeof(e), sizeof(e));
		if (e.slot >= VQT_QUEUE_SLOTS_MAX) {
			set_err(err, errlen, "QUEUES entry %u names slot %u (at most %u)", i,
				e.slot, VQT_QUEUE_SLOTS_MAX - 1);
			return VQP_INVALID;
		}
		if (vqp_queue_check(&e.queue, e.slot, why, sizeof(why)) != VQP_OK) {
			set_err(err, errlen, "QUEUES entry %u: %s", i, why);
			return VQP_INVALID;
		}
	}
	return VQP_OK;
}

int vqp_decode_ring(const void *payload, uint32_t len, struct vqr_ring *hdr,
		    const struct vqr_ring_queue **queues, char *err, size_t errlen)
{
	if (len < sizeof(*hdr)) {
		set_err(err, errlen, "RING chunk of %u bytes is shorter than its header", len);
		return VQP_INVALID;
	}
	memcpy(hdr, payload, sizeof(*hdr));
	if ((uint64_t)hdr->count * sizeof(struct vqr_ring_queue) != len - sizeof(*hdr)) {
		set_err(err, errlen, "RING chunk says %u queues but holds %zu bytes", hdr->count,
			len - sizeof(*hdr));
		return VQP_INVALID;
	}
	*queues = (const struct vqr_ring_queue *)((const uint8_t *)payload + sizeof(*hdr));
	for (uint32_t i = 0; i < hdr->count; i++) {
		struct vqr_ring_queue q;

		memcpy(&q, (const uint8_t *)*queues + (size_t)i * sizeof(q), sizeof(q));
		if (q.slot >= VQT_QUEUE_SLOTS_MAX || q.size == 0 || q.size > VQT_RING_SIZE_MAX) {
			set_err(err, errlen, "RING entry %u: slot %u, queue size %u", i, q.slot,
				q.size);
			return VQP_INVALID;
		}
	}
	return VQP_OK;
}

int vqp_decode_device(const void *payload, uint32_t len, struct vqr_device *hdr,
		      const struct vqr_device_queue **queues, char *err, size_t errlen)
{
	if (len < sizeof(*hdr)) {
		set_err(err, errlen, "DEVICE chunk of %u bytes is shorter than its header", len);
		return VQP_INVALID;
	}
	memcpy(hdr, payload, sizeof(*hdr));
	if ((uint64_t)hdr->count * sizeof(struct vqr_device_queue) != len - sizeof(*hdr)) {
		set_err(err, errlen, "DEVICE chunk says %u queues but holds %zu bytes", hdr->count,
			len - sizeof(*hdr));
		return VQP_INVALID;
	}
	*queues = (const struct vqr_device_queue *)((const uint8_t *)payload + sizeof(*hdr));
	for (uint32_t i = 0; i < hdr->count; i++) {
		struct vqr_device_queue q;

		memcpy(&q, (const uint8_t *)*queues + (size_t)i * sizeof(q), sizeof(q));
		if (q.vring_num > VQT_RING_SIZE_MAX) {
			set_err(err, errlen, "DEVICE entry %u: queue size %u exceeds %u", i,
				q.vring_num, VQT_RING_SIZE_MAX);
			return VQP_INVALID;
		}
	}
	return VQP_OK;
}

int vqp_decode_annot(const void *payload, uint32_t len, struct vqr_annot *hdr, char *buf,
		     size_t buflen, char *err, size_t errlen)
{
	size_t n;

	if (len < sizeof(*hdr)) {
		set_err(err, errlen, "ANNOT chunk of %u bytes is shorter than its header", len);
		return VQP_INVALID;
	}
	memcpy(hdr, payload, sizeof(*hdr));
	if (hdr->length != len - sizeof(*hdr)) {
		set_err(err, errlen, "ANNOT chunk says %u bytes of text but holds %zu", hdr->length,
			len - sizeof(*hdr));
		return VQP_INVALID;
	}
	if (buflen == 0)
		return VQP_OK;
	n = hdr->length < buflen - 1 ? hdr->length : buflen - 1;
	for (size_t i = 0; i < n; i++) {
		char c = ((const char *)payload)[sizeof(*hdr) + i];

		buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	buf[n] = 0;
	return VQP_OK;
}

int vqp_decode_producer(const void *payload, uint32_t len, struct vqr_producer *out, char *err,
			size_t errlen)
{
	if (len != sizeof(*out)) {
		set_err(err, errlen, "PRODUCER chunk is %u bytes, expected %zu", len, sizeof(*out));
		return VQP_INVALID;
	}
	memcpy(out, payload, sizeof(*out));
	return VQP_OK;
}

int vqp_decode_region(const void *payload, uint32_t len, struct vqr_region *out, char *err,
		      size_t errlen)
{
	if (len != sizeof(*out)) {
		set_err(err, errlen, "REGION chunk is %u bytes, expected %zu", len, sizeof(*out));
		return VQP_INVALID;
	}
	memcpy(out, payload, sizeof(*out));
	if (out->ts_hz == 0) {
		set_err(err, errlen, "REGION chunk: timestamp frequency is 0");
		return VQP_INVALID;
	}
	vqp__printable(out->producer, out->producer, VQT_PRODUCER_LEN - 1);
	return VQP_OK;
}

int vqp_decode_close(const void *payload, uint32_t len, struct vqr_close *out, char *err,
		     size_t errlen)
{
	if (len != sizeof(*out)) {
		set_err(err, errlen, "CLOSE chunk is %u bytes, expected %zu", len, sizeof(*out));
		return VQP_INVALID;
	}
	memcpy(out, payload, sizeof(*out));
	if (out->reason > VQR_END_ERROR) {
		set_err(err, errlen, "CLOSE chunk: end reason %u is unknown", out->reason);
		return VQP_INVALID;
	}
	vqp__printable(out->detail, out->detail, sizeof(out->detail) - 1);
	return VQP_OK;
}

/* ---- repair ---------------------------------------------------------------------- */

int vqp_file_repair(const char *path, char *err, size_t errlen)
{
	struct vqp_file *f = vqp_file_open(path, VQP_OPEN_SALVAGE | OPEN_KEEP_UNKNOWN, err, errlen);
	struct vqp_writer w;
	uint64_t whole;
	int rc;

	if (!f)
		return VQP_INVALID;
	if (f->clean) {
		vqp_file_close(f);
		return VQP_OK;
	}
	whole = f->whole_bytes;
	/* Reuse the writer's index code on the chunks we found. */
	memset(&w, 0, sizeof(w));
	w.index_cap = f->nchunks ? f->nchunks : 1;
	w.index = calloc(w.index_cap, sizeof(*w.index));
	if (!w.index) {
		vqp_file_close(f);
		set_err(err, errlen, "out of memory");
		return VQP_IO;
	}
	for (size_t i = 0; i < f->nchunks; i++)
		w.index[i] = (struct vqr_index_entry){.offset = f->chunks[i].offset,
						      .type = f->chunks[i].type,
						      .length = f->chunks[i].length,
						      .first_ts = f->chunks[i].first_ts,
						      .first_seq = f->chunks[i].first_seq};
	w.chunks = (uint32_t)f->nchunks;
	vqp_file_close(f);

	w.fd = open(path, O_WRONLY | O_CLOEXEC);
	if (w.fd < 0 || ftruncate(w.fd, (off_t)whole) != 0 ||
	    lseek(w.fd, (off_t)whole, SEEK_SET) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		if (w.fd >= 0)
			close(w.fd);
		free(w.index);
		return VQP_IO;
	}
	w.offset = whole;
	rc = write_index(&w, err, errlen);
	if (rc == VQP_OK && fsync(w.fd) != 0) {
		set_err(err, errlen, "%s: fsync: %s", path, strerror(errno));
		rc = VQP_IO;
	}
	close(w.fd);
	free(w.index);
	return rc;
}
